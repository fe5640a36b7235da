/* ref_minimal.c: the FastCGI reference for the benchmark: a threaded libfcgi
 * responder that does nothing but answer a fixed body. Its throughput is the
 * ceiling of any FastCGI responder behind the same web server.
 *
 * Usage: ref_minimal [-l ADDR] [-n THREADS]
 *
 * Without -l it accepts on fd 0 (spawn-fcgi); ADDR is "unix:/path" or
 * "host:port". The body is BODY_SIZE bytes of 'x' (environment, default
 * 1024), or size=N from the query string when present (at most 1 MiB). */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_THREADS 1024
#define MAX_BODY (1L << 20)

static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd;
static long default_size = 1024;
static char *body;

/* size=N from the query string, else the default. */
static long body_size(const char *qs)
{
    for (const char *p = qs; p != NULL && *p != '\0';) {
        if (strncmp(p, "size=", 5) == 0) {
            long n = strtol(p + 5, NULL, 10);
            return n < 0 ? 0 : n > MAX_BODY ? MAX_BODY : n;
        }
        p = strchr(p, '&');
        if (p != NULL)
            p++;
    }
    return default_size;
}

static void *worker(void *arg)
{
    FCGX_Request req;

    (void)arg;
    if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
        return NULL;
    for (;;) {
        int rc;

        /* New connections are accepted under a lock, as in libfcgi's
         * threaded.c; a kept-alive connection is read without it. */
        if (req.ipcFd < 0) {
            pthread_mutex_lock(&accept_lock);
            rc = FCGX_Accept_r(&req);
            pthread_mutex_unlock(&accept_lock);
        } else {
            rc = FCGX_Accept_r(&req);
        }
        if (rc < 0)
            break;
        long n = body_size(FCGX_GetParam("QUERY_STRING", req.envp));
        FCGX_FPrintF(req.out,
                     "Status: 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %ld\r\n\r\n",
                     n);
        FCGX_PutStr(body, (int)n, req.out);
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

    while ((opt = getopt(argc, argv, "l:n:")) != -1) {
        if (opt == 'l')
            addr = optarg;
        else if (opt == 'n')
            nthreads = atoi(optarg);
        else
            goto usage;
    }
    if (optind != argc || nthreads < 1 || nthreads > MAX_THREADS)
        goto usage;
    if (env != NULL)
        default_size = atol(env);
    if (default_size < 0 || default_size > MAX_BODY)
        default_size = 1024;
    body = malloc(MAX_BODY);
    if (body == NULL || FCGX_Init() != 0)
        return 1;
    memset(body, 'x', MAX_BODY);
    listen_fd = open_listener(addr);
    if (listen_fd < 0) {
        fprintf(stderr, "ref_minimal: cannot listen on %s\n", addr);
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
    fprintf(stderr, "usage: ref_minimal [-l unix:/path|host:port] "
                    "[-n THREADS]\n");
    return 2;
}
