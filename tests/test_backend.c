/* test_backend.c: a counting libfcgi application that the integration tests
 * put behind bocache; its answer is steered by the request's query string.
 *
 * Usage: test_backend [-l ADDR] [-n THREADS]
 *
 * Without -l it accepts on fd 0 (the spawn-fcgi convention); ADDR is
 * "unix:/path" or "host:port". Every request except the control paths
 * (below) increments a call counter and is answered with
 *
 *   call=<n> method=<m> uri=<REQUEST_URI> key=<X-Api-Key> partner=<...>
 *   origin=<...>    (one line)
 *
 * followed by the request body, so a test can tell a hit (old call number)
 * from a miss. Query parameters change the answer: status=N, cc=VALUE
 * (Cache-Control, percent-decoded), cookie=1, size=N, sleep_ms=N, tags=a,b,
 * vary=VALUE, location=URI, clocation=URI (Content-Location), etag=V,
 * lm=DATE, hdr=LINE (a header line, up to 4), stderr=1, garbage=1, nohead=1,
 * drop=1, drip_ms=N, hold=PATH (the answer waits until the file PATH
 * exists, at most 30 s: a test holds a request in the backend until it
 * has seen what it waits for); see handle() for what each does.
 *
 * cond=1 makes the answer conditional (RFC 9110 13.1.1, 13.1.3): when the
 * request's If-None-Match names the etag= value ("*", or one member of its
 * list by weak comparison, W/"x" matching "x"), or, when it has no
 * If-None-Match, its If-Modified-Since is byte for byte the lm= value, the
 * answer is "Status: 304 Not Modified" with the Cache-Control, Vary,
 * Content-Location, ETag, Last-Modified and hdr= lines a 200 would carry,
 * and the hdr304=LINE lines (up to 4, sent on a 304 only, each in place of
 * the hdr= lines of its name), and no body and no Content-Length;
 * etag304=V and lm304=DATE put another ETag or Last-Modified on the 304
 * than the ones it was matched by (a 304 about another representation). A
 * test that
 * needs one entry answered differently over time (a new ETag, cond=0 for a 200
 * to a revalidation) lists those knobs in its endpoint's ignore_params, so the
 * key stays the same.
 *
 * Control paths, not counted: /__count answers how many requests were
 * counted (304s included), /__count304 how many of them were 304s,
 * /__last the conditional headers of the last counted request as one line
 *
 *   inm=<If-None-Match or -> ims=<If-Modified-Since or -> method=<m>
 *   uri=<REQUEST_URI>
 *
 * and /__reset sets both counters to 0 and forgets the last request. */
#include <errno.h>
#include <fcgiapp.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_THREADS 16
#define MAX_THREADS 256
#define PARAM_MAX 1024
#define CHUNK 65536

static atomic_ulong calls;
static atomic_ulong calls304;
/* /__last's line; guarded by last_lock, as the threads share it. */
static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static char last_line[4 * PARAM_MAX];
static pthread_mutex_t accept_lock = PTHREAD_MUTEX_INITIALIZER;
static int listen_fd;

/* What the query string asks for. Strings are decoded copies. */
struct tweaks {
    int status;
    char cc[PARAM_MAX];
    int cookie;
    long size;
    long sleep_ms;
    char hold[PARAM_MAX];
    char tags[PARAM_MAX];
    char vary[PARAM_MAX];
    char location[PARAM_MAX];
    char clocation[PARAM_MAX];
    char etag[PARAM_MAX];
    char lm[PARAM_MAX];
    char hdr[4][PARAM_MAX]; /* hdr=Name:%20value, up to 4, sent as given */
    int nhdr;
    int cond;
    char hdr304[4][PARAM_MAX]; /* hdr304=Name:%20value, on a 304 only */
    char etag304[PARAM_MAX];   /* the 304's ETag instead of etag= */
    char lm304[PARAM_MAX];     /* the 304's Last-Modified instead of lm= */
    int nhdr304;
    int err_line;
    int garbage;
    int nohead;
    int drop;
    long drip_ms;
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes IN[0..LEN) into OUT (always terminated, truncated to
 * CAP - 1 bytes); '+' stands for a space as in forms. */
static void decode(char *out, size_t cap, const char *in, size_t len)
{
    size_t o = 0;

    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (in[i] == '%' && i + 2 < len && hexval(in[i + 1]) >= 0 &&
            hexval(in[i + 2]) >= 0) {
            out[o++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else if (in[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = in[i];
        }
    }
    out[o] = '\0';
}

static long to_long(const char *s)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || end == s)
        return 0;
    return v;
}

static void parse_query(const char *qs, struct tweaks *t)
{
    memset(t, 0, sizeof(*t));
    t->status = 200;
    t->size = -1;
    if (qs == NULL)
        return;
    while (*qs != '\0') {
        const char *amp = strchr(qs, '&');
        size_t len = amp != NULL ? (size_t)(amp - qs) : strlen(qs);
        const char *eq = memchr(qs, '=', len);
        char name[64], value[PARAM_MAX];

        if (eq != NULL) {
            decode(name, sizeof(name), qs, (size_t)(eq - qs));
            decode(value, sizeof(value), eq + 1, len - (size_t)(eq - qs) - 1);
        } else {
            decode(name, sizeof(name), qs, len);
            value[0] = '\0';
        }
        if (strcmp(name, "status") == 0)
            t->status = (int)to_long(value);
        else if (strcmp(name, "cc") == 0)
            snprintf(t->cc, sizeof(t->cc), "%s", value);
        else if (strcmp(name, "cookie") == 0)
            t->cookie = to_long(value) != 0;
        else if (strcmp(name, "size") == 0)
            t->size = to_long(value);
        else if (strcmp(name, "sleep_ms") == 0)
            t->sleep_ms = to_long(value);
        else if (strcmp(name, "hold") == 0)
            snprintf(t->hold, sizeof(t->hold), "%s", value);
        else if (strcmp(name, "tags") == 0)
            snprintf(t->tags, sizeof(t->tags), "%s", value);
        else if (strcmp(name, "vary") == 0)
            snprintf(t->vary, sizeof(t->vary), "%s", value);
        else if (strcmp(name, "location") == 0)
            snprintf(t->location, sizeof(t->location), "%s", value);
        else if (strcmp(name, "clocation") == 0)
            snprintf(t->clocation, sizeof(t->clocation), "%s", value);
        else if (strcmp(name, "etag") == 0)
            snprintf(t->etag, sizeof(t->etag), "%s", value);
        else if (strcmp(name, "lm") == 0)
            snprintf(t->lm, sizeof(t->lm), "%s", value);
        else if (strcmp(name, "hdr") == 0 && t->nhdr < 4)
            snprintf(t->hdr[t->nhdr++], sizeof(t->hdr[0]), "%s", value);
        else if (strcmp(name, "etag304") == 0)
            snprintf(t->etag304, sizeof(t->etag304), "%s", value);
        else if (strcmp(name, "lm304") == 0)
            snprintf(t->lm304, sizeof(t->lm304), "%s", value);
        else if (strcmp(name, "cond") == 0)
            t->cond = to_long(value) != 0;
        else if (strcmp(name, "hdr304") == 0 && t->nhdr304 < 4)
            snprintf(t->hdr304[t->nhdr304++], sizeof(t->hdr304[0]), "%s",
                     value);
        else if (strcmp(name, "stderr") == 0)
            t->err_line = to_long(value) != 0;
        else if (strcmp(name, "garbage") == 0)
            t->garbage = to_long(value) != 0;
        else if (strcmp(name, "nohead") == 0)
            t->nohead = to_long(value) != 0;
        else if (strcmp(name, "drop") == 0)
            t->drop = to_long(value) != 0;
        else if (strcmp(name, "drip_ms") == 0)
            t->drip_ms = to_long(value);
        qs += len;
        if (*qs == '&')
            qs++;
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts;

    if (ms <= 0)
        return;
    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Waits until the file PATH exists, at most 30 s ("" waits not at all). */
static void hold(const char *path)
{
    for (int i = 0; path[0] && i < 6000 && access(path, F_OK) != 0; i++)
        sleep_ms(5);
}

static const char *reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 201:
        return "Created";
    case 204:
        return "No Content";
    case 301:
        return "Moved Permanently";
    case 304:
        return "Not Modified";
    case 400:
        return "Bad Request";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 500:
        return "Internal Server Error";
    case 503:
        return "Service Unavailable";
    default:
        return "Status";
    }
}

static const char *param_or_dash(FCGX_Request *r, const char *name)
{
    const char *v = FCGX_GetParam(name, r->envp);

    return v != NULL && *v != '\0' ? v : "-";
}

/* Reads CONTENT_LENGTH bytes of request body; the caller frees. */
static char *read_body(FCGX_Request *r, size_t *len)
{
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", r->envp);
    long want = cl != NULL ? to_long(cl) : 0;
    char *buf;
    int got;

    *len = 0;
    if (want <= 0 || want > INT_MAX)
        return NULL;
    buf = malloc((size_t)want);
    if (buf == NULL)
        return NULL;
    got = FCGX_GetStr(buf, (int)want, r->in);
    *len = got > 0 ? (size_t)got : 0;
    return buf;
}

/* Writes N bytes of 'x', flushing and pausing between pieces when
 * DRIP_MS asks the body to arrive slowly. */
static void pad(FCGX_Request *r, long n, long drip_ms)
{
    char piece[CHUNK];

    memset(piece, 'x', sizeof(piece));
    while (n > 0) {
        int k = n > CHUNK ? CHUNK : (int)n;

        if (FCGX_PutStr(piece, k, r->out) != k)
            return;
        n -= k;
        if (drip_ms > 0 && n > 0) {
            FCGX_FFlush(r->out);
            sleep_ms(drip_ms);
        }
    }
}

/* Remembers R's conditional headers for /__last. */
static void note_last(FCGX_Request *r, const char *method, const char *uri)
{
    pthread_mutex_lock(&last_lock);
    snprintf(last_line, sizeof(last_line), "inm=%s ims=%s method=%s uri=%s",
             param_or_dash(r, "HTTP_IF_NONE_MATCH"),
             param_or_dash(r, "HTTP_IF_MODIFIED_SINCE"), method, uri);
    pthread_mutex_unlock(&last_lock);
}

static int is_control(const char *path)
{
    return strcmp(path, "/__count") == 0 || strcmp(path, "/__reset") == 0 ||
           strcmp(path, "/__count304") == 0 || strcmp(path, "/__last") == 0;
}

static void control(FCGX_Request *r, const char *path)
{
    char line[sizeof(last_line)];

    if (strcmp(path, "/__reset") == 0) {
        atomic_store(&calls, 0);
        atomic_store(&calls304, 0);
        pthread_mutex_lock(&last_lock);
        last_line[0] = '\0';
        pthread_mutex_unlock(&last_lock);
    }
    if (strcmp(path, "/__last") == 0) {
        pthread_mutex_lock(&last_lock);
        snprintf(line, sizeof(line), "%s",
                 last_line[0] != '\0' ? last_line
                                      : "inm=- ims=- method=- uri=-");
        pthread_mutex_unlock(&last_lock);
    } else {
        snprintf(
            line, sizeof(line), "%lu",
            atomic_load(strcmp(path, "/__count304") == 0 ? &calls304 : &calls));
    }
    FCGX_FPrintF(r->out, "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n%s",
                 line);
}

/* TAG without a weak prefix: the opaque-tag weak comparison compares. */
static const char *opaque(const char *tag, size_t *len)
{
    if (strncmp(tag, "W/", 2) == 0)
        tag += 2;
    *len = strlen(tag);
    return tag;
}

/* Whether the If-None-Match value INM names ETAG: "*", or a member of the
 * list that equals it by weak comparison (RFC 9110 8.8.3.2). A quoted
 * member may hold commas; an unquoted one ends at the next comma. */
static int none_match(const char *inm, const char *etag)
{
    size_t want_len, len;
    const char *want = opaque(etag, &want_len);

    while (*inm != '\0') {
        const char *start;

        while (*inm == ' ' || *inm == '\t' || *inm == ',')
            inm++;
        if (*inm == '\0')
            break;
        if (*inm == '*')
            return 1;
        if (strncmp(inm, "W/", 2) == 0)
            inm += 2;
        start = inm;
        if (*inm == '"') {
            const char *close = strchr(inm + 1, '"');

            inm = close != NULL ? close + 1 : inm + strlen(inm);
        } else {
            inm += strcspn(inm, ",");
        }
        len = (size_t)(inm - start);
        while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t'))
            len--;
        if (len == want_len && memcmp(start, want, len) == 0)
            return 1;
    }
    return 0;
}

/* Whether a cond=1 request is answered 304: If-None-Match decides when
 * the request has one (RFC 9110 13.2.2), else If-Modified-Since equal to
 * the lm= value byte for byte. */
static int not_modified(FCGX_Request *r, const struct tweaks *t)
{
    const char *inm = FCGX_GetParam("HTTP_IF_NONE_MATCH", r->envp);
    const char *ims = FCGX_GetParam("HTTP_IF_MODIFIED_SINCE", r->envp);

    if (!t->cond)
        return 0;
    if (inm != NULL)
        return t->etag[0] != '\0' && none_match(inm, t->etag);
    return ims != NULL && t->lm[0] != '\0' && strcmp(ims, t->lm) == 0;
}

/* Whether the header line LINE (an hdr= value) has a namesake among the
 * hdr304= lines, which a 304 sends in its place. */
static int replaced_on_304(const struct tweaks *t, const char *line)
{
    size_t len = strcspn(line, ":");

    for (int i = 0; i < t->nhdr304; i++)
        if (strcspn(t->hdr304[i], ":") == len &&
            strncasecmp(t->hdr304[i], line, len) == 0)
            return 1;
    return 0;
}

/* The 304: the validator and caching lines a 200 would carry, the hdr=
 * and hdr304= lines, and no body. */
static void answer_304(FCGX_Request *r, const struct tweaks *t)
{
    FCGX_PutS("Status: 304 Not Modified\r\n", r->out);
    if (t->cc[0] != '\0')
        FCGX_FPrintF(r->out, "Cache-Control: %s\r\n", t->cc);
    if (t->vary[0] != '\0')
        FCGX_FPrintF(r->out, "Vary: %s\r\n", t->vary);
    if (t->clocation[0] != '\0')
        FCGX_FPrintF(r->out, "Content-Location: %s\r\n", t->clocation);
    if (t->etag[0] != '\0' || t->etag304[0] != '\0')
        FCGX_FPrintF(r->out, "ETag: %s\r\n",
                     t->etag304[0] != '\0' ? t->etag304 : t->etag);
    if (t->lm[0] != '\0' || t->lm304[0] != '\0')
        FCGX_FPrintF(r->out, "Last-Modified: %s\r\n",
                     t->lm304[0] != '\0' ? t->lm304 : t->lm);
    for (int i = 0; i < t->nhdr; i++)
        if (!replaced_on_304(t, t->hdr[i]))
            FCGX_FPrintF(r->out, "%s\r\n", t->hdr[i]);
    for (int i = 0; i < t->nhdr304; i++)
        FCGX_FPrintF(r->out, "%s\r\n", t->hdr304[i]);
    FCGX_PutS("X-Backend: test_backend\r\n\r\n", r->out);
}

static void handle(FCGX_Request *r)
{
    const char *uri = param_or_dash(r, "REQUEST_URI");
    const char *method = param_or_dash(r, "REQUEST_METHOD");
    const char *qs = FCGX_GetParam("QUERY_STRING", r->envp);
    char path[PARAM_MAX], line[4 * PARAM_MAX];
    struct tweaks t;
    unsigned long n;
    size_t body_len, path_len;
    char *body;
    int line_len;

    path_len = strcspn(uri, "?");
    snprintf(path, sizeof(path), "%.*s", (int)path_len, uri);
    if (is_control(path)) {
        control(r, path);
        return;
    }
    n = atomic_fetch_add(&calls, 1) + 1;
    note_last(r, method, uri);
    parse_query(qs, &t);
    body = read_body(r, &body_len);
    sleep_ms(t.sleep_ms);
    hold(t.hold);

    if (t.err_line)
        FCGX_FPrintF(r->err, "test_backend: stderr line for call %lu\n", n);
    if (t.nohead) {
        free(body);
        return;
    }
    if (t.garbage) {
        FCGX_PutS("this is not a header\r\n\r\nbody\n", r->out);
        free(body);
        return;
    }
    if (not_modified(r, &t)) {
        atomic_fetch_add(&calls304, 1);
        answer_304(r, &t);
        free(body);
        return;
    }

    FCGX_FPrintF(r->out, "Status: %d %s\r\nContent-Type: text/plain\r\n",
                 t.status, reason(t.status));
    if (t.cc[0] != '\0')
        FCGX_FPrintF(r->out, "Cache-Control: %s\r\n", t.cc);
    if (t.cookie)
        FCGX_FPrintF(r->out, "Set-Cookie: session=s%lu; Path=/\r\n", n);
    if (t.tags[0] != '\0')
        FCGX_FPrintF(r->out, "X-Cache-Tags: %s\r\n", t.tags);
    if (t.vary[0] != '\0')
        FCGX_FPrintF(r->out, "Vary: %s\r\n", t.vary);
    if (t.location[0] != '\0')
        FCGX_FPrintF(r->out, "Location: %s\r\n", t.location);
    if (t.clocation[0] != '\0')
        FCGX_FPrintF(r->out, "Content-Location: %s\r\n", t.clocation);
    if (t.etag[0] != '\0')
        FCGX_FPrintF(r->out, "ETag: %s\r\n", t.etag);
    if (t.lm[0] != '\0')
        FCGX_FPrintF(r->out, "Last-Modified: %s\r\n", t.lm);
    for (int i = 0; i < t.nhdr; i++)
        FCGX_FPrintF(r->out, "%s\r\n", t.hdr[i]);
    FCGX_PutS("X-Backend: test_backend\r\n\r\n", r->out);

    line_len = snprintf(
        line, sizeof(line),
        "call=%lu method=%s uri=%s key=%s partner=%s origin=%s\n", n, method,
        uri, param_or_dash(r, "HTTP_X_API_KEY"),
        param_or_dash(r, "HTTP_X_PARTNER_ID"), param_or_dash(r, "HTTP_ORIGIN"));
    if (line_len < 0 || (size_t)line_len >= sizeof(line))
        line_len = (int)strlen(line);
    FCGX_PutStr(line, line_len, r->out);
    if (body_len > 0)
        FCGX_PutStr(body, (int)body_len, r->out);
    free(body);

    if (t.drop) {
        /* A crash mid-response: the stream ends without END_REQUEST. */
        FCGX_FFlush(r->out);
        shutdown(r->ipcFd, SHUT_RDWR);
        return;
    }
    if (t.size > (long)body_len)
        pad(r, t.size - (long)body_len, t.drip_ms);
}

static void *worker(void *arg)
{
    FCGX_Request req;

    (void)arg;
    if (FCGX_InitRequest(&req, listen_fd, 0) != 0)
        return NULL;
    for (;;) {
        int rc;

        /* Accepting a new connection is serialised as in libfcgi's
         * threaded.c. A connection the client kept alive (ipcFd still open
         * after FCGX_Finish_r) is read without the lock: waiting on it while
         * holding the lock would stall every other thread. */
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

static void usage(void)
{
    fprintf(stderr, "usage: test_backend [-l unix:/path|host:port] "
                    "[-n THREADS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *addr = NULL, *unix_path = NULL;
    pthread_t threads[MAX_THREADS];
    int nthreads = DEFAULT_THREADS, opt, sig;
    sigset_t set;

    while ((opt = getopt(argc, argv, "l:n:")) != -1) {
        switch (opt) {
        case 'l':
            addr = optarg;
            break;
        case 'n':
            nthreads = (int)to_long(optarg);
            if (nthreads < 1 || nthreads > MAX_THREADS)
                usage();
            break;
        default:
            usage();
        }
    }
    if (optind != argc)
        usage();

    if (FCGX_Init() != 0) {
        fprintf(stderr, "test_backend: FCGX_Init failed\n");
        return 1;
    }
    listen_fd = 0;
    if (addr != NULL) {
        char bind_addr[PARAM_MAX];

        if (strncmp(addr, "unix:", 5) == 0) {
            unix_path = addr + 5;
            unlink(unix_path);
            snprintf(bind_addr, sizeof(bind_addr), "%s", unix_path);
        } else if (strchr(addr, ':') != NULL) {
            /* libfcgi binds every address for ":port". */
            snprintf(bind_addr, sizeof(bind_addr), "%s", addr);
        } else {
            fprintf(stderr, "test_backend: bad address '%s'\n", addr);
            return 2;
        }
        listen_fd = FCGX_OpenSocket(bind_addr, 128);
        if (listen_fd < 0) {
            fprintf(stderr, "test_backend: cannot listen on '%s'\n", addr);
            return 1;
        }
    }

    /* The workers never see SIGTERM/SIGINT: main waits for them below and
     * exits, which ends the threads blocked in accept. */
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&threads[i], NULL, worker, NULL) != 0) {
            fprintf(stderr, "test_backend: pthread_create failed\n");
            return 1;
        }
    }
    sigwait(&set, &sig);
    if (unix_path != NULL)
        unlink(unix_path);
    return 0;
}
