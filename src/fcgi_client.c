/* fcgi_client.c: the FastCGI client connection to the backend, kept alive
 * across requests. */
#include "bocache/fcgi_client.h"

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bocache/address.h"
#include "bocache/fcgi_record.h"

/* Every request on a connection uses id 1: one request at a time per
 * connection, as nearly every FastCGI application supports. */
#define REQUEST_ID 1
/* Record content limit kept a multiple of 8 so no padding is needed. */
#define RECORD_MAX 65528
/* Request bodies up to this size are buffered so that a request can be sent
 * again on a fresh connection when the kept-alive one turns out closed. */
#define RETRY_BODY_MAX 65536

#define IN_SIZE 32768 /* bytes read from the backend at a time */

struct bc_fcgi_client {
    bc_address addr;
    int connect_timeout_ms;
    int timeout_ms;
    int fd;
    uint8_t *out; /* encoded request, reused across requests */
    size_t out_len, out_cap;
    /* IN_SIZE bytes, allocated with the first request: a worker whose
     * requests are all hits never touches it, and a calloc'ed inline
     * buffer cost 2 MiB of RSS with 64 workers. */
    uint8_t *in;
    char err[256];
};

bc_fcgi_client *bc_fcgi_client_new(const char *address, int connect_timeout_ms,
                                   int timeout_ms, char *err, size_t errlen)
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
    c->connect_timeout_ms = connect_timeout_ms;
    c->timeout_ms = timeout_ms;
    c->fd = -1;
    return c;
}

static void close_conn(bc_fcgi_client *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
}

void bc_fcgi_client_free(bc_fcgi_client *c)
{
    if (!c)
        return;
    close_conn(c);
    free(c->out);
    free(c->in);
    free(c);
}

const char *bc_fcgi_client_error(const bc_fcgi_client *c)
{
    return c->err;
}

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
    bc_fcgi_header_encode(c->out + c->out_len, type, REQUEST_ID,
                          (uint16_t)len, (uint8_t)pad);
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
static int put_params(bc_fcgi_client *c, const bc_fcgi_param *params,
                      size_t n)
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
            if (!big || bc_fcgi_nv_encode(big, p->name, p->name_len, p->value,
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

static int send_all(bc_fcgi_client *c, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Sends the rest of a large body straight from the reader. */
static int stream_body(bc_fcgi_client *c, bc_fcgi_body_reader reader,
                       void *ctx)
{
    char buf[RECORD_MAX];
    for (;;) {
        int n = reader(ctx, buf, sizeof buf);
        if (n < 0)
            return -1;
        c->out_len = 0;
        if (put_record(c, BC_FCGI_STDIN, buf, (size_t)n) < 0 ||
            send_all(c, c->out, c->out_len) < 0)
            return -1;
        if (n == 0)
            return 0;
    }
}

static int connect_backend(bc_fcgi_client *c)
{
    c->fd = bc_address_connect(&c->addr, c->connect_timeout_ms);
    if (c->fd < 0) {
        snprintf(c->err, sizeof c->err, "connect: %s", strerror(errno));
        return -1;
    }
    struct timeval tv = {.tv_sec = c->timeout_ms / 1000,
                         .tv_usec = (c->timeout_ms % 1000) * 1000};
    setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return 0;
}

typedef enum { READ_DONE, READ_EMPTY_EOF, READ_FAILED } read_result;

/* Reads records until END_REQUEST. READ_EMPTY_EOF means the connection was
 * closed before a single byte came back, which on a reused connection means
 * the backend had closed it while idle. */
static read_result read_response(bc_fcgi_client *c, const bc_fcgi_sink *sink,
                                 bc_backend_status *st)
{
    bc_fcgi_decoder dec;
    bc_fcgi_decoder_init(&dec);
    size_t got = 0;
    for (;;) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        int pr = poll(&p, 1, c->timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr == 0) {
            snprintf(c->err, sizeof c->err, "no answer within %d ms",
                     c->timeout_ms);
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
            switch (ev.type) {
            case BC_FCGI_EV_NONE:
                break;
            case BC_FCGI_EV_STDOUT:
                if (sink->stdout_data(sink->ctx, (const char *)ev.data,
                                      ev.len) < 0) {
                    snprintf(c->err, sizeof c->err, "client went away");
                    *st = BC_BACKEND_ABORTED;
                    return READ_FAILED;
                }
                break;
            case BC_FCGI_EV_STDERR:
                if (sink->stderr_data)
                    sink->stderr_data(sink->ctx, (const char *)ev.data,
                                      ev.len);
                break;
            case BC_FCGI_EV_END:
                *st = BC_BACKEND_OK;
                return READ_DONE;
            case BC_FCGI_EV_ERROR:
                snprintf(c->err, sizeof c->err, "malformed FastCGI record");
                *st = BC_BACKEND_PROTOCOL;
                return READ_FAILED;
            }
        }
        if (sink->flush && sink->flush(sink->ctx) < 0) {
            snprintf(c->err, sizeof c->err, "client went away");
            *st = BC_BACKEND_ABORTED;
            return READ_FAILED;
        }
    }
}

bc_backend_status bc_fcgi_client_request(bc_fcgi_client *c,
                                         const bc_fcgi_param *params,
                                         size_t nparams,
                                         bc_fcgi_body_reader reader,
                                         void *reader_ctx,
                                         const bc_fcgi_sink *sink)
{
    uint8_t begin[16];
    bc_fcgi_begin_request_encode(begin, REQUEST_ID, BC_FCGI_RESPONDER,
                                 BC_FCGI_KEEP_CONN);
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

    for (int attempt = 0;; attempt++) {
        int reused = c->fd >= 0;
        if (!reused && connect_backend(c) < 0)
            return BC_BACKEND_REFUSED;
        bc_backend_status st;
        read_result rr = READ_FAILED;
        int sent = send_all(c, c->out, c->out_len) == 0 &&
                   (whole || stream_body(c, reader, reader_ctx) == 0);
        if (sent)
            rr = read_response(c, sink, &st);
        else {
            snprintf(c->err, sizeof c->err, "send: %s", strerror(errno));
            st = errno == EAGAIN ? BC_BACKEND_TIMEOUT : BC_BACKEND_PROTOCOL;
        }
        if (rr == READ_DONE)
            return BC_BACKEND_OK;
        close_conn(c);
        /* Only a kept-alive connection that failed before any answer is
         * retried, and only when the whole request is still in hand. */
        if (reused && whole && attempt == 0 &&
            (rr == READ_EMPTY_EOF || !sent))
            continue;
        return st;
    }
oom:
    snprintf(c->err, sizeof c->err, "out of memory or body read error");
    close_conn(c);
    return BC_BACKEND_PROTOCOL;
}
