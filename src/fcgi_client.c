/* fcgi_client.c: the FastCGI client connection to the backend: one
 * request at a time, the answer accepted as clean only when it arrived
 * whole, and a kept connection closed once idle. */
#include "fcgi_client.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "fcgi_record.h"

/* Every request on a connection uses id 1: one request at a time per
 * connection, as nearly every FastCGI application supports (and as nginx
 * and Apache send). */
#define REQUEST_ID 1
/* Record content limit kept a multiple of 8 so no padding is needed. */
#define RECORD_MAX 65528
/* Request bodies up to this size are buffered so that a request can be sent
 * again on a fresh connection when the kept-alive one turns out closed. */
#define RETRY_BODY_MAX 65536

#define IN_SIZE 32768 /* bytes read from the backend at a time */
/* The watchdog only waits on a condition variable. */
#define WATCHDOG_STACK (64 * 1024)

struct bc_fcgi_client {
    bc_address addr;
    bc_fcgi_client_settings set;
    int fd;
    uint8_t *out; /* encoded request, reused across requests */
    size_t out_len, out_cap;
    /* IN_SIZE bytes, allocated with the first request: a worker whose
     * requests are all hits never touches it, and a calloc'ed inline
     * buffer cost 2 MiB of RSS with 64 workers. */
    uint8_t *in;
    char err[256];

    /* With keepalive: the connection between requests. The worker owns fd
     * while a request runs; while idle is set, the watchdog may close it.
     * The lock guards fd, idle and idle_since_ms at the hand-overs. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int idle;              /* fd is a kept connection no request uses */
    int64_t idle_since_ms; /* monotonic */
    int watching;          /* the watchdog thread runs */
    int watch_waiting;     /* it waits for a connection to become idle */
    int stopping;
    pthread_t watchdog;
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bc_fcgi_client *bc_fcgi_client_new(const char *address,
                                   const bc_fcgi_client_settings *s, char *err,
                                   size_t errlen)
{
    bc_fcgi_client *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (bc_address_parse(address, &c->addr, err, errlen) < 0) {
        free(c);
        return NULL;
    }
    c->set = *s;
    c->fd = -1;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&c->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&c->lock, NULL);
    return c;
}

/* Closes the connection. With keepalive the watchdog may be closing an
 * idle one at the same moment, hence the lock. */
static void close_conn(bc_fcgi_client *c)
{
    if (c->set.keepalive)
        pthread_mutex_lock(&c->lock);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->idle = 0;
    if (c->set.keepalive)
        pthread_mutex_unlock(&c->lock);
}

void bc_fcgi_client_close(bc_fcgi_client *c)
{
    close_conn(c);
}

void bc_fcgi_client_free(bc_fcgi_client *c)
{
    if (!c)
        return;
    if (c->watching) {
        pthread_mutex_lock(&c->lock);
        c->stopping = 1;
        pthread_cond_signal(&c->wake);
        pthread_mutex_unlock(&c->lock);
        pthread_join(c->watchdog, NULL);
    }
    close_conn(c);
    pthread_cond_destroy(&c->wake);
    pthread_mutex_destroy(&c->lock);
    free(c->out);
    free(c->in);
    free(c);
}

const char *bc_fcgi_client_error(const bc_fcgi_client *c)
{
    return c->err;
}

/* ---- the idle watchdog (keepalive only) ---- */

/* Closes the kept connection once it has been idle for
 * keepalive_timeout_ms. A worker waiting for web server connections cannot
 * do it itself, and a backend that serves one connection at a time (each
 * php-cgi child) would be held by it meanwhile. */
static void *watch(void *arg)
{
    bc_fcgi_client *c = arg;
    pthread_mutex_lock(&c->lock);
    while (!c->stopping) {
        if (!c->idle || c->fd < 0) {
            c->watch_waiting = 1;
            pthread_cond_wait(&c->wake, &c->lock);
            c->watch_waiting = 0;
            continue;
        }
        int64_t due = c->idle_since_ms + c->set.keepalive_timeout_ms;
        if (mono_ms() >= due) {
            close(c->fd);
            c->fd = -1;
            c->idle = 0;
            continue;
        }
        /* A connection used and parked again meanwhile has a later due
         * time, found when this wait ends. */
        struct timespec ts = {.tv_sec = due / 1000,
                              .tv_nsec = (due % 1000) * 1000000};
        pthread_cond_timedwait(&c->wake, &c->lock, &ts);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

static void start_watchdog(bc_fcgi_client *c)
{
    pthread_attr_t attr;
    sigset_t all, old;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, WATCHDOG_STACK);
    /* No signal is for the watchdog: it starts with all of them blocked. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    /* Without a watchdog, kept connections are still checked before use. */
    c->watching = pthread_create(&c->watchdog, &attr, watch, c) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
}

/* Keeps the connection for the next request. */
static void park_conn(bc_fcgi_client *c)
{
    if (!c->watching)
        start_watchdog(c);
    pthread_mutex_lock(&c->lock);
    c->idle = 1;
    c->idle_since_ms = mono_ms();
    if (c->watch_waiting)
        pthread_cond_signal(&c->wake);
    pthread_mutex_unlock(&c->lock);
}

/* Takes the kept connection back for a request, closing it when it has
 * been idle too long or is not quiet: a readable connection holds bytes
 * nobody asked for (a late record of an earlier answer), a hung-up one was
 * closed by the backend. */
static void take_conn(bc_fcgi_client *c)
{
    if (!c->set.keepalive)
        return;
    pthread_mutex_lock(&c->lock);
    c->idle = 0;
    int fd = c->fd;
    pthread_mutex_unlock(&c->lock);
    if (fd < 0)
        return;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (mono_ms() - c->idle_since_ms >= c->set.keepalive_timeout_ms ||
        poll(&p, 1, 0) != 0)
        close_conn(c);
}

/* ---- encoding the request ---- */

static int reserve(bc_fcgi_client *c, size_t more)
{
    if (c->out_len + more <= c->out_cap)
        return 0;
    size_t cap = c->out_cap ? c->out_cap : 4096;
    while (cap < c->out_len + more)
        cap *= 2;
    uint8_t *p = realloc(c->out, cap);
    if (!p)
        return -1;
    c->out = p;
    c->out_cap = cap;
    return 0;
}

/* Appends one record of TYPE with content DATA[0..LEN), LEN <= RECORD_MAX. */
static int put_record(bc_fcgi_client *c, uint8_t type, const void *data,
                      size_t len)
{
    size_t pad = (8 - len % 8) % 8;
    if (reserve(c, BC_FCGI_HEADER_LEN + len + pad) < 0)
        return -1;
    bc_fcgi_header_encode(c->out + c->out_len, type, REQUEST_ID, (uint16_t)len,
                          (uint8_t)pad);
    c->out_len += BC_FCGI_HEADER_LEN;
    if (len)
        memcpy(c->out + c->out_len, data, len);
    memset(c->out + c->out_len + len, 0, pad);
    c->out_len += len + pad;
    return 0;
}

/* Appends a stream's bytes as records of TYPE. */
static int put_stream(bc_fcgi_client *c, uint8_t type, const uint8_t *data,
                      size_t len)
{
    while (len > 0) {
        size_t n = len < RECORD_MAX ? len : RECORD_MAX;
        if (put_record(c, type, data, n) < 0)
            return -1;
        data += n;
        len -= n;
    }
    return 0;
}

/* Encodes the params stream. Pairs are packed whole into records, because
 * some applications (PHP's SAPI among them) parse each PARAMS record on its
 * own; only a pair larger than a record is split. */
static int put_params(bc_fcgi_client *c, const bc_fcgi_param *params, size_t n)
{
    uint8_t rec[RECORD_MAX];
    size_t fill = 0;
    for (size_t i = 0; i < n; i++) {
        const bc_fcgi_param *p = &params[i];
        size_t sz = bc_fcgi_nv_size(p->name_len, p->value_len);
        if (fill + sz > RECORD_MAX && fill > 0) {
            if (put_record(c, BC_FCGI_PARAMS, rec, fill) < 0)
                return -1;
            fill = 0;
        }
        if (sz > RECORD_MAX) {
            uint8_t *big = malloc(sz);
            if (!big ||
                bc_fcgi_nv_encode(big, p->name, p->name_len, p->value,
                                  p->value_len) == 0 ||
                put_stream(c, BC_FCGI_PARAMS, big, sz) < 0) {
                free(big);
                return -1;
            }
            free(big);
            continue;
        }
        bc_fcgi_nv_encode(rec + fill, p->name, p->name_len, p->value,
                          p->value_len);
        fill += sz;
    }
    if (fill > 0 && put_record(c, BC_FCGI_PARAMS, rec, fill) < 0)
        return -1;
    return put_record(c, BC_FCGI_PARAMS, NULL, 0);
}

/* Reads the body into STDIN records, up to RETRY_BODY_MAX. Returns 1 when
 * the whole body was read, 0 when more remains, -1 on error. */
static int put_body(bc_fcgi_client *c, bc_fcgi_body_reader reader, void *ctx)
{
    uint8_t buf[8192];
    size_t total = 0;
    if (!reader)
        return put_record(c, BC_FCGI_STDIN, NULL, 0) < 0 ? -1 : 1;
    while (total < RETRY_BODY_MAX) {
        int n = reader(ctx, (char *)buf, sizeof buf);
        if (n < 0)
            return -1;
        if (n == 0)
            return put_record(c, BC_FCGI_STDIN, NULL, 0) < 0 ? -1 : 1;
        if (put_stream(c, BC_FCGI_STDIN, buf, (size_t)n) < 0)
            return -1;
        total += (size_t)n;
    }
    return 0;
}

/* Sends P[0..LEN); *WROTE counts the bytes the kernel took. */
static int send_all(bc_fcgi_client *c, const uint8_t *p, size_t len,
                    size_t *wrote)
{
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
        *wrote += (size_t)n;
    }
    return 0;
}

/* Sends the rest of a large body straight from the reader. */
static int stream_body(bc_fcgi_client *c, bc_fcgi_body_reader reader, void *ctx)
{
    char buf[RECORD_MAX];
    for (;;) {
        int n = reader(ctx, buf, sizeof buf);
        if (n < 0)
            return -1;
        size_t wrote = 0;
        c->out_len = 0;
        if (put_record(c, BC_FCGI_STDIN, buf, (size_t)n) < 0 ||
            send_all(c, c->out, c->out_len, &wrote) < 0)
            return -1;
        if (n == 0)
            return 0;
    }
}

static int connect_backend(bc_fcgi_client *c)
{
    c->fd = bc_address_connect(&c->addr, c->set.connect_timeout_ms);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {.tv_sec = c->set.timeout_ms / 1000,
                         .tv_usec = (c->set.timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return 0;
}

typedef enum { READ_DONE, READ_EMPTY_EOF, READ_FAILED } read_result;

static const char *protocol_status_name(unsigned ps)
{
    switch (ps) {
    case 1:
        return "cannot multiplex";
    case 2:
        return "overloaded";
    case 3:
        return "unknown role";
    default:
        return "unknown";
    }
}

/* Whether a record the decoder reported belongs to this exchange: STDOUT,
 * STDERR and END_REQUEST of our request, never another id's (nor a
 * management record: we send no management requests). */
static int ours(const bc_fcgi_event *ev)
{
    if (ev->request_id != REQUEST_ID)
        return 0;
    return ev->type != BC_FCGI_EV_RECORD || ev->record_type == BC_FCGI_STDOUT ||
           ev->record_type == BC_FCGI_STDERR;
}

/* Whether bytes are already waiting on the connection. */
static int pending(int fd)
{
    char b;
    return recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

/* Reads records until our END_REQUEST and judges the exchange (see
 * bc_backend_status). A deviation before any STDOUT ends the read at once;
 * after it, the rest of our answer is still passed on and the status is
 * UNCLEAN. READ_EMPTY_EOF means the connection was closed before a single
 * byte came back, which on a reused connection means the backend had
 * closed it while idle. */
static read_result read_response(bc_fcgi_client *c, const bc_fcgi_sink *sink,
                                 bc_backend_status *st)
{
    bc_fcgi_decoder dec;
    bc_fcgi_decoder_init(&dec);
    size_t got = 0;
    int output = 0;  /* STDOUT bytes went to the sink */
    int unclean = 0; /* a deviation after output; c->err says which */
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&p, 1, c->set.timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            snprintf(c->err, sizeof c->err, "no answer within %d ms",
                     c->set.timeout_ms);
            *st = BC_BACKEND_TIMEOUT;
            return READ_FAILED;
        }
        ssize_t n = recv(c->fd, c->in, IN_SIZE, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(c->err, sizeof c->err, "connection closed %s",
                     got ? "mid-response" : "before any answer");
            *st = BC_BACKEND_PROTOCOL;
            return got == 0 && n == 0 ? READ_EMPTY_EOF : READ_FAILED;
        }
        got += (size_t)n;
        const uint8_t *in = c->in;
        size_t left = (size_t)n;
        while (left > 0) {
            bc_fcgi_event ev;
            size_t used = bc_fcgi_decode(&dec, in, left, &ev);
            in += used;
            left -= used;
            if (ev.type == BC_FCGI_EV_NONE)
                continue;
            if (ev.type == BC_FCGI_EV_ERROR) {
                snprintf(c->err, sizeof c->err, "malformed FastCGI record");
                *st = BC_BACKEND_PROTOCOL;
                return READ_FAILED;
            }
            if (!ours(&ev)) {
                /* Its content is dropped: another request's bytes never
                 * reach this request's client. */
                if (!unclean)
                    snprintf(c->err, sizeof c->err,
                             "a record of type %u for request %u in the "
                             "answer to request %u",
                             ev.record_type, ev.request_id, REQUEST_ID);
                if (!output) {
                    *st = BC_BACKEND_PROTOCOL;
                    return READ_FAILED;
                }
                unclean = 1;
                continue;
            }
            switch (ev.type) {
            case BC_FCGI_EV_STDOUT:
                output = 1;
                if (sink->stdout_data(sink->ctx, (const char *)ev.data,
                                      ev.len) < 0) {
                    snprintf(c->err, sizeof c->err, "client went away");
                    *st = BC_BACKEND_ABORTED;
                    return READ_FAILED;
                }
                break;
            case BC_FCGI_EV_STDERR:
                if (sink->stderr_data)
                    sink->stderr_data(sink->ctx, (const char *)ev.data, ev.len);
                break;
            case BC_FCGI_EV_END:
                if (!output) {
                    snprintf(c->err, sizeof c->err,
                             "END_REQUEST (protocolStatus %u) before any "
                             "output",
                             ev.protocol_status);
                    *st = BC_BACKEND_PROTOCOL;
                    return READ_FAILED;
                }
                if (!unclean && ev.protocol_status != 0) {
                    snprintf(c->err, sizeof c->err,
                             "END_REQUEST with protocolStatus %u (%s)",
                             ev.protocol_status,
                             protocol_status_name(ev.protocol_status));
                    unclean = 1;
                }
                if (!unclean && (left > 0 || pending(c->fd))) {
                    snprintf(c->err, sizeof c->err, "bytes after END_REQUEST");
                    unclean = 1;
                }
                *st = unclean ? BC_BACKEND_UNCLEAN : BC_BACKEND_OK;
                return READ_DONE;
            default: /* our own stream ends */
                break;
            }
        }
        if (sink->flush && sink->flush(sink->ctx) < 0) {
            snprintf(c->err, sizeof c->err, "client went away");
            *st = BC_BACKEND_ABORTED;
            return READ_FAILED;
        }
    }
}

/* Whether sending the request twice is harmless: its method is GET or
 * HEAD. Every REQUEST_METHOD parameter counts (a backend may read any
 * copy); a request without one is not resent. */
static int resendable(const bc_fcgi_param *params, size_t n)
{
    int seen = 0;
    for (size_t i = 0; i < n; i++) {
        const bc_fcgi_param *p = &params[i];
        if (p->name_len != 14 || memcmp(p->name, "REQUEST_METHOD", 14) != 0)
            continue;
        if (!((p->value_len == 3 && memcmp(p->value, "GET", 3) == 0) ||
              (p->value_len == 4 && memcmp(p->value, "HEAD", 4) == 0)))
            return 0;
        seen = 1;
    }
    return seen;
}

bc_backend_status
bc_fcgi_client_request(bc_fcgi_client *c, const bc_fcgi_param *params,
                       size_t nparams, bc_fcgi_body_reader reader,
                       void *reader_ctx, const bc_fcgi_sink *sink)
{
    uint8_t begin[16];
    bc_fcgi_begin_request_encode(begin, REQUEST_ID, BC_FCGI_RESPONDER,
                                 c->set.keepalive ? BC_FCGI_KEEP_CONN : 0);
    c->out_len = 0;
    int whole;
    if (!c->in && !(c->in = malloc(IN_SIZE)))
        goto oom;
    if (reserve(c, sizeof begin) < 0)
        goto oom;
    memcpy(c->out, begin, sizeof begin);
    c->out_len = sizeof begin;
    if (put_params(c, params, nparams) < 0 ||
        (whole = put_body(c, reader, reader_ctx)) < 0)
        goto oom;
    int again = resendable(params, nparams);

    take_conn(c);
    for (int attempt = 0;; attempt++) {
        int reused = c->fd >= 0;
        if (!reused && connect_backend(c) < 0)
            return BC_BACKEND_REFUSED;
        bc_backend_status st;
        read_result rr = READ_FAILED;
        size_t wrote = 0;
        int sent = send_all(c, c->out, c->out_len, &wrote) == 0 &&
                   (whole || stream_body(c, reader, reader_ctx) == 0);
        int gone = !sent && (errno == EPIPE || errno == ECONNRESET);
        if (sent)
            rr = read_response(c, sink, &st);
        else {
            snprintf(c->err, sizeof c->err, "send: %s", strerror(errno));
            st = errno == EAGAIN ? BC_BACKEND_TIMEOUT : BC_BACKEND_PROTOCOL;
        }
        if (rr == READ_DONE && st == BC_BACKEND_OK && c->set.keepalive) {
            park_conn(c);
            return st;
        }
        close_conn(c);
        if (rr == READ_DONE)
            return st;
        /* A kept connection that failed before any answer: the request is
         * sent again if the backend cannot have seen it (not a byte went
         * out to a peer that was gone), or if doing it twice is harmless. */
        if (reused && whole && attempt == 0 &&
            ((gone && wrote == 0) ||
             (again && (rr == READ_EMPTY_EOF || !sent))))
            continue;
        return st;
    }
oom:
    snprintf(c->err, sizeof c->err, "out of memory or body read error");
    close_conn(c);
    return BC_BACKEND_PROTOCOL;
}
