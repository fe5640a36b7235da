/* hostile_backend.c: a raw-socket FastCGI application that breaks the
 * protocol on request, for tests/it_hostile_backend.sh. libfcgi cannot send
 * a record of another request id or bytes after END_REQUEST, so the records
 * are written here by hand with the bc_fcgi_* encoders.
 *
 * Usage: hostile_backend -l ADDR
 *
 * ADDR is "unix:/path" or "host:port". Each connection gets its own thread
 * and is served until the peer closes it, or after one request when
 * BEGIN_REQUEST did not set FCGI_KEEP_CONN. Control paths, not counted:
 *   /__count   the number of counted requests so far
 *   /__strays  how many late stray END_REQUESTs (mode=stray_late) went out
 *   /__closed  how many connections silent and close_after have closed
 * Every other request is counted once it has been read whole (before any
 * answer) and answered after its query string's mode=:
 *   (none)            a normal cacheable 200 whose body names the caller:
 *                     "hostile call=N mode=M method=X partner=P key=K
 *                     uri=U" (P and K: X-Partner-Id and X-Api-Key)
 *   stray_end         the normal answer, END_REQUEST, and a second
 *                     END_REQUEST in the same write
 *   stray_late        the normal answer and END_REQUEST, then ~50 ms later
 *                     a second END_REQUEST
 *   interleave        the head and half the body, then STDOUT and
 *                     END_REQUEST of request id 2 ("LEAK ..."), then the
 *                     rest and our END_REQUEST
 *   foreign_first     STDOUT of request id 2 ("LEAK ...") before anything
 *                     of ours, then the normal answer
 *   overloaded        only END_REQUEST with protocolStatus 2 (OVERLOADED)
 *   overloaded_after  the normal answer, then END_REQUEST with
 *                     protocolStatus 2
 *   short             Content-Length: 1000 and a body of 57 bytes
 *   empty_cl          an empty "Content-Length:" as the last header and a
 *                     body that starts with digits
 *   silent            closes the connection without answering
 *   close_after       the normal answer, then closes the connection even
 *                     with FCGI_KEEP_CONN
 *   r304_M            a revalidation whose 304 breaks the protocol: without
 *                     If-None-Match, the normal answer, clean, with
 *                     'ETag: "h"' and 'Cache-Control: no-cache' (stored,
 *                     revalidated on every use); with it, "Status: 304"
 *                     plus 'X-Reval: 304', broken as M says: overloaded
 *                     (END_REQUEST with protocolStatus 2), stray_end (a
 *                     second END_REQUEST), interleave (STDOUT and
 *                     END_REQUEST of request id 2 after the head) or cut
 *                     (the connection closes after the head, no
 *                     END_REQUEST) */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fcgi_record.h"

#define OTHER_ID 2
#define PARAMS_MAX (256 * 1024)
#define VALUE_MAX 512

static atomic_ulong calls, strays, closes;

/* One connection: its socket, a read buffer and the params collected. */
typedef struct conn {
    int fd;
    uint8_t buf[65536 + 512];
    size_t have, pos;
    uint8_t params[PARAMS_MAX];
} conn;

/* One request as read. */
typedef struct request {
    uint16_t id;
    int keep;
    char uri[VALUE_MAX], query[VALUE_MAX], method[VALUE_MAX];
    char partner[VALUE_MAX], key[VALUE_MAX], inm[VALUE_MAX];
} request;

/* The answer being built, written with one write. */
typedef struct answer {
    uint8_t *p;
    size_t len, cap;
} answer;

static int fill(conn *c, size_t want)
{
    if (c->have - c->pos >= want)
        return 0;
    memmove(c->buf, c->buf + c->pos, c->have - c->pos);
    c->have -= c->pos;
    c->pos = 0;
    while (c->have < want) {
        ssize_t n = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        c->have += (size_t)n;
    }
    return 0;
}

/* Reads one record; CONTENT points into the connection's buffer until the
 * next call. */
static int read_record(conn *c, uint8_t *type, uint16_t *id,
                       const uint8_t **content, size_t *len)
{
    if (fill(c, BC_FCGI_HEADER_LEN) < 0)
        return -1;
    const uint8_t *h = c->buf + c->pos;
    size_t clen = (size_t)(h[4] << 8 | h[5]), pad = h[6];
    if (h[0] != BC_FCGI_VERSION)
        return -1;
    *type = h[1];
    *id = (uint16_t)(h[2] << 8 | h[3]);
    if (fill(c, BC_FCGI_HEADER_LEN + clen + pad) < 0)
        return -1;
    *content = c->buf + c->pos + BC_FCGI_HEADER_LEN;
    *len = clen;
    c->pos += BC_FCGI_HEADER_LEN + clen + pad;
    return 0;
}

static void copy_value(char *out, const uint8_t *v, size_t n)
{
    if (n >= VALUE_MAX)
        n = VALUE_MAX - 1;
    memcpy(out, v, n);
    out[n] = '\0';
}

static void take_params(request *r, const uint8_t *p, size_t len)
{
    static const struct {
        const char *name;
        size_t off;
    } wanted[] = {
        {"REQUEST_URI", offsetof(request, uri)},
        {"QUERY_STRING", offsetof(request, query)},
        {"REQUEST_METHOD", offsetof(request, method)},
        {"HTTP_X_PARTNER_ID", offsetof(request, partner)},
        {"HTTP_X_API_KEY", offsetof(request, key)},
        {"HTTP_IF_NONE_MATCH", offsetof(request, inm)},
    };
    const uint8_t *name, *value;
    size_t nlen, vlen, used;

    while ((used = bc_fcgi_nv_decode(p, len, &name, &nlen, &value, &vlen))) {
        for (size_t i = 0; i < sizeof wanted / sizeof *wanted; i++)
            if (strlen(wanted[i].name) == nlen &&
                memcmp(wanted[i].name, name, nlen) == 0)
                copy_value((char *)r + wanted[i].off, value, vlen);
        p += used;
        len -= used;
    }
}

/* Reads BEGIN_REQUEST, the params and the body. Returns -1 at EOF. */
static int read_request(conn *c, request *r)
{
    uint8_t *params = c->params;
    size_t plen = 0;
    int params_done = 0, stdin_done = 0;
    uint8_t type;
    const uint8_t *content;
    size_t len;

    memset(r, 0, sizeof *r);
    if (read_record(c, &type, &r->id, &content, &len) < 0 ||
        type != BC_FCGI_BEGIN_REQUEST || len < 8)
        return -1;
    r->keep = content[2] & BC_FCGI_KEEP_CONN;
    while (!params_done || !stdin_done) {
        uint16_t id;
        if (read_record(c, &type, &id, &content, &len) < 0)
            return -1;
        if (type == BC_FCGI_PARAMS) {
            if (len == 0)
                params_done = 1;
            else if (plen + len <= PARAMS_MAX) {
                memcpy(params + plen, content, len);
                plen += len;
            }
        } else if (type == BC_FCGI_STDIN && len == 0) {
            stdin_done = 1;
        }
    }
    take_params(r, params, plen);
    return 0;
}

static void put(answer *a, const void *data, size_t len)
{
    if (len == 0)
        return;
    if (a->len + len > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + len)
            cap *= 2;
        a->p = realloc(a->p, cap);
        if (!a->p)
            abort();
        a->cap = cap;
    }
    memcpy(a->p + a->len, data, len);
    a->len += len;
}

static void put_record(answer *a, uint8_t type, uint16_t id, const char *data,
                       size_t len)
{
    static const uint8_t zeros[8];
    uint8_t h[BC_FCGI_HEADER_LEN];
    uint8_t pad = (uint8_t)((8 - len % 8) % 8);

    bc_fcgi_header_encode(h, type, id, (uint16_t)len, pad);
    put(a, h, sizeof h);
    put(a, data, len);
    put(a, zeros, pad);
}

static void put_stdout(answer *a, uint16_t id, const char *s)
{
    put_record(a, BC_FCGI_STDOUT, id, s, strlen(s));
}

static void put_end(answer *a, uint16_t id, uint8_t protocol_status)
{
    char body[8] = {0};

    body[4] = (char)protocol_status;
    put_record(a, BC_FCGI_STDOUT, id, NULL, 0);
    put_record(a, BC_FCGI_END_REQUEST, id, body, sizeof body);
}

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static void mode_of(const char *qs, char *out, size_t cap)
{
    const char *m = strstr(qs, "mode=");
    size_t n;

    out[0] = '\0';
    if (!m)
        return;
    m += 5;
    n = strcspn(m, "&");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, m, n);
    out[n] = '\0';
}

#define HEAD "Status: 200 OK\r\nContent-Type: text/plain\r\n"

/* What the connection does after the answer went out. */
enum after { KEEP, CLOSE, LATE_STRAY };

/* mode=r304_M: BODY, clean and revalidatable, or a 304 broken as M. */
static enum after answer_r304(const request *r, const char *m, const char *body,
                              answer *a)
{
    if (r->inm[0] == '\0') {
        put_stdout(a, r->id,
                   HEAD "ETag: \"h\"\r\nCache-Control: no-cache\r\n\r\n");
        put_stdout(a, r->id, body);
        put_end(a, r->id, 0);
        return KEEP;
    }
    put_stdout(a, r->id,
               "Status: 304 Not Modified\r\nETag: \"h\"\r\n"
               "X-Reval: 304\r\n\r\n");
    if (strcmp(m, "cut") == 0)
        return CLOSE;
    if (strcmp(m, "interleave") == 0) {
        put_stdout(a, OTHER_ID, "LEAK from another request\n");
        put_end(a, OTHER_ID, 0);
    }
    put_end(a, r->id, strcmp(m, "overloaded") == 0 ? 2 : 0);
    if (strcmp(m, "stray_end") == 0)
        put_end(a, r->id, 0);
    return KEEP;
}

static enum after answer_request(const request *r, answer *a)
{
    char mode[64], body[6 * VALUE_MAX];
    const char *m;
    unsigned long n;

    if (strncmp(r->uri, "/__", 3) == 0) {
        atomic_ulong *v = strncmp(r->uri, "/__count", 8) == 0    ? &calls
                          : strncmp(r->uri, "/__strays", 9) == 0 ? &strays
                                                                 : &closes;
        snprintf(body, sizeof body, HEAD "\r\n%lu", atomic_load(v));
        put_stdout(a, r->id, body);
        put_end(a, r->id, 0);
        return KEEP;
    }
    n = atomic_fetch_add(&calls, 1) + 1;
    mode_of(r->query, mode, sizeof mode);
    m = mode[0] ? mode : "none";
    snprintf(body, sizeof body,
             "hostile call=%lu mode=%s method=%s partner=%s key=%s uri=%s\n", n,
             m, r->method, r->partner, r->key, r->uri);

    if (strncmp(m, "r304_", 5) == 0)
        return answer_r304(r, m + 5, body, a);
    if (strcmp(m, "silent") == 0)
        return CLOSE;
    if (strcmp(m, "overloaded") == 0) {
        put_end(a, r->id, 2);
        return KEEP;
    }
    if (strcmp(m, "foreign_first") == 0)
        put_stdout(a, OTHER_ID, HEAD "\r\nLEAK from another request\n");
    if (strcmp(m, "short") == 0) {
        /* 57 bytes where 1000 were declared. */
        put_stdout(a, r->id, HEAD "Content-Length: 1000\r\n\r\n");
        put_stdout(a, r->id,
                   "short body: 57 bytes of the 1000 declared, then END.\n"
                   "...\n");
    } else if (strcmp(m, "empty_cl") == 0) {
        /* A reader that runs past the empty value finds digits. */
        put_stdout(a, r->id, HEAD "Content-Length:\r\n\r\n");
        put_stdout(a, r->id, "99999999 ");
        put_stdout(a, r->id, body);
    } else if (strcmp(m, "interleave") == 0) {
        size_t half = strlen(body) / 2;
        char first[sizeof body];

        memcpy(first, body, half);
        first[half] = '\0';
        put_stdout(a, r->id, HEAD "\r\n");
        put_stdout(a, r->id, first);
        put_stdout(a, OTHER_ID, "LEAK from another request\n");
        put_end(a, OTHER_ID, 0);
        put_stdout(a, r->id, body + half);
    } else {
        put_stdout(a, r->id, HEAD "\r\n");
        put_stdout(a, r->id, body);
    }
    put_end(a, r->id, strcmp(m, "overloaded_after") == 0 ? 2 : 0);
    if (strcmp(m, "stray_end") == 0)
        put_end(a, r->id, 0);
    if (strcmp(m, "stray_late") == 0)
        return LATE_STRAY;
    if (strcmp(m, "close_after") == 0)
        return CLOSE;
    return KEEP;
}

static void *serve(void *arg)
{
    conn *c = arg;
    answer a = {0};
    request r;

    while (read_request(c, &r) == 0) {
        enum after next;

        a.len = 0;
        next = answer_request(&r, &a);
        if (a.len > 0 && write_all(c->fd, a.p, a.len) < 0)
            break;
        if (next == LATE_STRAY) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            answer late = {0};

            nanosleep(&ts, NULL);
            put_end(&late, r.id, 0);
            /* Counted once written, so a test can wait for it. */
            if (write_all(c->fd, late.p, late.len) == 0)
                atomic_fetch_add(&strays, 1);
            free(late.p);
        }
        if (next == CLOSE) {
            /* Counted once closed, so a test can wait for the close. */
            close(c->fd);
            c->fd = -1;
            atomic_fetch_add(&closes, 1);
            break;
        }
        if (!r.keep)
            break;
    }
    if (c->fd >= 0)
        close(c->fd);
    free(a.p);
    free(c);
    return NULL;
}

static int listen_on(const char *addr)
{
    int fd;

    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sun = {.sun_family = AF_UNIX};

        if (strlen(addr + 5) >= sizeof sun.sun_path)
            return -1;
        strcpy(sun.sun_path, addr + 5);
        unlink(sun.sun_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0)
            return -1;
    } else {
        const char *colon = strrchr(addr, ':');
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                                 .ai_flags = AI_PASSIVE};
        struct addrinfo *res;
        char host[256];
        int one = 1;

        if (!colon || (size_t)(colon - addr) >= sizeof host)
            return -1;
        snprintf(host, sizeof host, "%.*s", (int)(colon - addr), addr);
        if (getaddrinfo(host, colon + 1, &hints, &res) != 0)
            return -1;
        fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
            freeaddrinfo(res);
            return -1;
        }
        freeaddrinfo(res);
    }
    return listen(fd, 64) == 0 ? fd : -1;
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    pthread_attr_t attr;
    int opt, lfd;

    while ((opt = getopt(argc, argv, "l:")) != -1) {
        if (opt != 'l') {
            fprintf(stderr, "usage: hostile_backend -l ADDR\n");
            return 2;
        }
        addr = optarg;
    }
    if (!addr) {
        fprintf(stderr, "usage: hostile_backend -l ADDR\n");
        return 2;
    }
    lfd = listen_on(addr);
    if (lfd < 0) {
        fprintf(stderr, "hostile_backend: cannot listen on '%s': %s\n", addr,
                strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    for (;;) {
        conn *c;
        pthread_t t;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            return 1;
        }
        c = calloc(1, sizeof *c);
        if (!c) {
            close(fd);
            continue;
        }
        c->fd = fd;
        if (pthread_create(&t, &attr, serve, c) != 0) {
            close(fd);
            free(c);
        }
    }
}
