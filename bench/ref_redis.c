/* ref_redis.c: the Redis-hit reference for the benchmark: a threaded libfcgi
 * responder that does exactly one Redis GET per request and answers the
 * value. Its throughput is the ceiling of a cache that serves hits from
 * Redis behind the same web server.
 *
 * Usage: ref_redis [-l ADDR] [-n THREADS] [-r REDIS]
 *
 * Without -l it accepts on fd 0 (spawn-fcgi); ADDR is "unix:/path" or
 * "host:port". REDIS is "host:port" or "unix:/path" (default
 * 127.0.0.1:6379, or $REDIS_ADDR). Each thread has its own Redis connection.
 * The key read is "bench:body:N", N from size=N in the query string, else
 * $BODY_SIZE, else 1024; a missing key or a Redis error answers 500. */
#include <fcgiapp.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 1024

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd;
static long default_size = 1024;
static const char *redis_addr = "127.0.0.1:6379";

static long body_size(const char *qs)
{
    for (const char *p = qs; p != NULL && *p != '\0';) {
        if (strncmp(p, "size=", 5) == 0)
            return strtol(p + 5, NULL, 10);
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return default_size;
}

static redisContext *connect_redis(void)
{
    struct timeval tv = {.tv_sec = 1};
    redisContext *c;

    if (strncmp(redis_addr, "unix:", 5) == 0) {
        c = redisConnectUnixWithTimeout(redis_addr + 5, tv);
    } else {
        char host[256];
        const char *colon = strrchr(redis_addr, ':');
        int port = colon != NULL ? atoi(colon + 1) : 6379;
        size_t n =
            colon != NULL ? (size_t)(colon - redis_addr) : strlen(redis_addr);
        snprintf(host, sizeof host, "%.*s", (int)n, redis_addr);
        c = redisConnectWithTimeout(host, port, tv);
    }
    if (c != NULL && c->err != 0) {
        fprintf(stderr, "ref_redis: %s\n", c->errstr);
        redisFree(c);
        return NULL;
    }
    return c;
}

static void answer(FCGX_Request *req, redisContext **rc)
{
    long n = body_size(FCGX_GetParam("QUERY_STRING", req->envp));
    redisReply *r = NULL;

    if (*rc == NULL)
        *rc = connect_redis();
    if (*rc != NULL)
        r = redisCommand(*rc, "GET bench:body:%ld", n);
    if (r == NULL || r->type != REDIS_REPLY_STRING) {
        if (r == NULL && *rc != NULL) {
            redisFree(*rc);
            *rc = NULL;
        }
        FCGX_PutS("Status: 500 Internal Server Error\r\n"
                  "Content-Type: text/plain\r\n\r\nno value\n",
                  req->out);
    } else {
        FCGX_FPrintF(req->out,
                     "Status: 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %ld\r\n\r\n",
                     (long)r->len); /* libfcgi's printf knows no %zu */
        FCGX_PutStr(r->str, (int)r->len, req->out);
    }
    if (r != NULL)
        freeReplyObject(r);
}

static void *worker(void *arg)
{
    FCGX_Request req;
    redisContext *rc = NULL;

    (void)arg;
    if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
        return NULL;
    for (;;) {
        int rv;

        if (req.ipcFd < 0) {
            pthread_mutex_lock(&accept_lock);
            rv = FCGX_Accept_r(&req);
            pthread_mutex_unlock(&accept_lock);
        } else {
            rv = FCGX_Accept_r(&req);
        }
        if (rv < 0)
            break;
        answer(&req, &rc);
        FCGX_Finish_r(&req);
    }
    return NULL;
}

static int open_listener(const char *addr)
{
    if (addr == NULL)
        return 0;
    if (strncmp(addr, "unix:", 5) == 0) {
        unlink(addr + 5);
        return FCGX_OpenSocket(addr + 5, 1024);
    }
    return FCGX_OpenSocket(addr, 1024);
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *env = getenv("BODY_SIZE");
    int nthreads = 16, opt, sig;
    sigset_t set;

    if (getenv("REDIS_ADDR") != NULL)
        redis_addr = getenv("REDIS_ADDR");
    while ((opt = getopt(argc, argv, "l:n:r:")) != -1) {
        if (opt == 'l')
            addr = optarg;
        else if (opt == 'n')
            nthreads = atoi(optarg);
        else if (opt == 'r')
            redis_addr = optarg;
        else
            goto usage;
    }
    if (optind != argc || nthreads < 1 || nthreads > MAX_THREADS)
        goto usage;
    if (env != NULL)
        default_size = atol(env);
    if (FCGX_Init() != 0)
        return 1;
    listen_fd = open_listener(addr);
    if (listen_fd < 0) {
        fprintf(stderr, "ref_redis: cannot listen on %s\n", addr);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < nthreads; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, worker, NULL) != 0)
            return 1;
    }
    sigwait(&set, &sig);
    if (addr != NULL && strncmp(addr, "unix:", 5) == 0)
        unlink(addr + 5);
    return 0;
usage:
    fprintf(stderr, "usage: ref_redis [-l unix:/path|host:port] "
                    "[-n THREADS] [-r host:port|unix:/path]\n");
    return 2;
}
