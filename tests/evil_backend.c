/* evil_backend.c: a libfcgi application that answers with response heads
 * that try to smuggle something past a strict parser, for
 * tests/it_security.sh.
 *
 * Usage: evil_backend -l ADDR
 *
 * ADDR is "unix:/path" or "host:port". /__count answers the number of
 * counted requests so far; every other request is counted and answered
 * after the query string's mode=:
 *   cr      a header value with a bare CR inside ("X-Evil: a\rSet-Cookie: x=1")
 *   nul     a header value with a NUL inside ("X-Evil: a\0Set-Cookie: x=1")
 *   crlf    "X-Evil: a\r\nSet-Cookie: x=1": a split attempt, which on the
 *           wire is simply two header lines, the second a Set-Cookie
 *   fold    an obsolete line folding (a line starting with a space)
 *   lf      a header value ending in a bare CR before the LF ("a\r\r\n")
 *   (none)  a plain, cacheable 200
 * The body is "evil call=<n> mode=<mode>\n". THREADS threads, so that a
 * gateway's kept-alive connections do not wait on each other (accepting
 * as in tests/test_backend.c). */
#include <fcgiapp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 16

static atomic_ulong calls;
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd;

static void mode_of(const char *qs, char *out, size_t cap)
{
    const char *m = qs != NULL ? strstr(qs, "mode=") : NULL;
    size_t n;

    out[0] = '\0';
    if (m == NULL)
        return;
    m += 5;
    n = strcspn(m, "&");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, m, n);
    out[n] = '\0';
}

static void put(FCGX_Request *r, const char *s, size_t n)
{
    FCGX_PutStr(s, (int)n, r->out);
}

#define PUT(r, lit) put((r), (lit), sizeof(lit) - 1)

static void handle(FCGX_Request *r)
{
    const char *uri = FCGX_GetParam("REQUEST_URI", r->envp);
    const char *qs = FCGX_GetParam("QUERY_STRING", r->envp);
    char mode[32];
    unsigned long n;

    if (uri != NULL && strncmp(uri, "/__count", 8) == 0) {
        FCGX_FPrintF(r->out,
                     "Status: 200 OK\r\nContent-Type: text/plain\r\n"
                     "\r\n%lu",
                     (unsigned long)atomic_load(&calls));
        return;
    }
    n = atomic_fetch_add(&calls, 1) + 1;
    mode_of(qs, mode, sizeof(mode));
    PUT(r, "Status: 200 OK\r\nContent-Type: text/plain\r\n");
    if (strcmp(mode, "cr") == 0)
        PUT(r, "X-Evil: a\rSet-Cookie: x=1\r\n");
    else if (strcmp(mode, "nul") == 0)
        PUT(r, "X-Evil: a\0Set-Cookie: x=1\r\n");
    else if (strcmp(mode, "crlf") == 0)
        PUT(r, "X-Evil: a\r\nSet-Cookie: x=1\r\n");
    else if (strcmp(mode, "fold") == 0)
        PUT(r, "X-Evil: a\r\n Set-Cookie: x=1\r\n");
    else if (strcmp(mode, "lf") == 0)
        PUT(r, "X-Evil: a\r\r\n");
    PUT(r, "\r\n");
    FCGX_FPrintF(r->out, "evil call=%lu mode=%s\n", n, mode[0] ? mode : "none");
}

static void *worker(void *arg)
{
    FCGX_Request req;

    (void)arg;
    if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
        return NULL;
    for (;;) {
        int rc;

        if (req.ipcFd < 0) {
            pthread_mutex_lock(&accept_lock);
            rc = FCGX_Accept_r(&req);
            pthread_mutex_unlock(&accept_lock);
        } else {
            rc = FCGX_Accept_r(&req);
        }
        if (rc < 0)
            break;
        handle(&req);
        FCGX_Finish_r(&req);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    pthread_t threads[THREADS];
    sigset_t set;
    int opt, sig;

    while ((opt = getopt(argc, argv, "l:")) != -1) {
        if (opt != 'l') {
            fprintf(stderr, "usage: evil_backend [-l ADDR]\n");
            return 2;
        }
        addr = optarg;
    }
    if (FCGX_Init() != 0)
        return 1;
    listen_fd = 0;
    if (addr != NULL) {
        if (strncmp(addr, "unix:", 5) == 0) {
            addr += 5;
            unlink(addr);
        }
        listen_fd = FCGX_OpenSocket(addr, 64);
        if (listen_fd < 0) {
            fprintf(stderr, "evil_backend: cannot listen on '%s'\n", addr);
            return 1;
        }
    }
    /* libfcgi catches SIGTERM for itself: the threads never see it, main
     * waits for it and exits (as tests/test_backend.c does). */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < THREADS; i++) {
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0)
            return 1;
    }
    sigwait(&set, &sig);
    if (addr != NULL)
        unlink(addr);
    return 0;
}
