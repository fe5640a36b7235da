/* fcgi_out.h: the response to the web server: STDOUT records through
 * libfcgi's buffer or queued for one writev, flush, finish, the drain of
 * an unread request body, and noticing that the client has gone. */
#ifndef BOCACHE_FCGI_OUT_H
#define BOCACHE_FCGI_OUT_H

#include <fcgiapp.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/uio.h>

#include "fcgi_record.h"

/* Output records one writev sends at most (BC_FCGI_OUT_IOV / 2 records). */
#define BC_FCGI_OUT_IOV 64

/* The largest STDOUT record queued: a multiple of 8 below 64 KiB. Records
 * carry no padding: FastCGI recommends 8-byte alignment but does not
 * require it. */
#define BC_FCGI_OUT_RECORD 65528

/* One worker's output state, embedded in the worker and reset for every
 * request. Its fields are this module's: other files read client_gone and
 * cut, set cut, and compose text with the functions below. The struct is
 * visible only so that the helpers on the hit path can be inline.
 *
 * libfcgi copies output through an 8 KiB buffer and writes one record per
 * buffer: 32 writes for a 256 KiB body. Data that does not fit in what is
 * left of that buffer, and everything after it, is instead queued as
 * STDOUT records pointing at the caller's bytes (record headers here) and
 * written with one writev by bc_fcgi_out_flush. Small answers still go out
 * in one write with the END_REQUEST record. Knowing what is left of the
 * buffer takes reading libfcgi's FCGX_Stream fields (stop, wrNext), and
 * writing around it takes its connection (ipcFd), fields fcgiapp.h marks
 * private: libfcgi has no call for either. This module is the only one
 * that touches them, so a libfcgi that changes them breaks one file. */
typedef struct bc_fcgi_out {
    FCGX_Request *req; /* the request answered (borrowed: the worker's) */
    /* Output records queued for one writev: header, data, header, ... */
    struct iovec pend[BC_FCGI_OUT_IOV];
    uint8_t pend_hdr[BC_FCGI_OUT_IOV / 2][BC_FCGI_HEADER_LEN];
    int npend;
    int queued;      /* output went out as queued records */
    int client_gone; /* a write to the web server failed */
    int cut;         /* end the web server's connection without END_REQUEST */
    /* Text composed for the response (heads, error pages): reused across
     * requests. A forwarded response's head stays here until the request
     * ends, since its entry stores those bytes. */
    char *text;
    size_t len, cap;
} bc_fcgi_out;

/* Sets O up to answer REQ (borrowed; must outlive O's use). */
void bc_fcgi_out_init(bc_fcgi_out *o, FCGX_Request *req);

/* Frees what O holds (not O itself). */
void bc_fcgi_out_free(bc_fcgi_out *o);

/* Starts a new response: no output queued, the client present. */
void bc_fcgi_out_begin(bc_fcgi_out *o);

/* Gives back a composition buffer grown past KEEP bytes, so that a process
 * with many workers does not keep every worker's largest head. */
void bc_fcgi_out_trim(bc_fcgi_out *o, size_t keep);

/* Writes what libfcgi buffered, then the queued records. Returns 0, or -1
 * when the client has gone (client_gone is then set). */
int bc_fcgi_out_flush(bc_fcgi_out *o);

/* Ends the response (END_REQUEST follows): flushes, reads away an unread
 * request body (closing a kept-alive connection after a large one) and
 * finishes the libfcgi request. */
void bc_fcgi_out_finish(bc_fcgi_out *o);

/* Ends the request, once its handling is over: writes what is still
 * queued, then finishes it as bc_fcgi_out_finish does, or, when it was
 * cut, closes the connection without END_REQUEST, so the web server sees
 * a truncated response. */
void bc_fcgi_out_end(bc_fcgi_out *o);

/* Whether the web server connection of the last request is still open
 * (kept alive), so that the next request comes on it. */
static inline int bc_fcgi_out_kept_alive(const bc_fcgi_out *o)
{
    return o->req->ipcFd >= 0;
}

/* Grows the text buffer to take MORE bytes; 0 or -1. */
int bc_fcgi_out_grow(bc_fcgi_out *o, size_t more);

/* Appends a formatted line of at most 511 bytes to the text; 0 or -1. */
int bc_fcgi_out_printf(bc_fcgi_out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Bytes libfcgi's output buffer still takes without writing. */
static inline size_t bc_fcgi_out_room(const bc_fcgi_out *o)
{
    const FCGX_Stream *s = o->req->out;
    return s && s->stop > s->wrNext ? (size_t)(s->stop - s->wrNext) : 0;
}

/* Queues N bytes at S as STDOUT records pointing at them; they must stay
 * valid until the next flush. Returns 0 or -1 (the client has gone). */
static inline int bc_fcgi_out_queue(bc_fcgi_out *o, const char *s, size_t n)
{
    while (n > 0) {
        if (o->npend == BC_FCGI_OUT_IOV && bc_fcgi_out_flush(o) < 0)
            return -1;
        size_t c = n < BC_FCGI_OUT_RECORD ? n : BC_FCGI_OUT_RECORD;
        uint8_t *hdr = o->pend_hdr[o->npend / 2];
        bc_fcgi_header_encode(hdr, BC_FCGI_STDOUT, (uint16_t)o->req->requestId,
                              (uint16_t)c, 0);
        o->pend[o->npend++] = (struct iovec){hdr, BC_FCGI_HEADER_LEN};
        o->pend[o->npend++] = (struct iovec){(void *)s, c};
        s += c;
        n -= c;
    }
    return 0;
}

/* Sends N bytes at S to the client; they must stay valid until the next
 * flush. Once a response has queued output, the rest of it is queued too:
 * one writev per flush instead of a write of libfcgi's buffer and a
 * writev. Returns 0 or -1 (the client has gone). */
static inline int bc_fcgi_out_put(bc_fcgi_out *o, const char *s, size_t n)
{
    if (n == 0 || o->client_gone)
        return o->client_gone ? -1 : 0;
    if (o->npend > 0 || o->queued || n > bc_fcgi_out_room(o))
        return bc_fcgi_out_queue(o, s, n);
    if (FCGX_PutStr(s, (int)n, o->req->out) != (int)n) {
        o->client_gone = 1;
        return -1;
    }
    return 0;
}

/* Appends N bytes at S to the text; 0 or -1. */
static inline int bc_fcgi_out_add(bc_fcgi_out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap && bc_fcgi_out_grow(o, n) < 0)
        return -1;
    memcpy(o->text + o->len, s, n);
    o->len += n;
    return 0;
}

static inline int bc_fcgi_out_str(bc_fcgi_out *o, const char *s)
{
    return bc_fcgi_out_add(o, s, strlen(s));
}

/* Appends V in decimal: the hit path formats without stdio. */
static inline int bc_fcgi_out_long(bc_fcgi_out *o, long v)
{
    char buf[24], *p = buf + sizeof buf;
    unsigned long u = v < 0 ? 0UL - (unsigned long)v : (unsigned long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    return bc_fcgi_out_add(o, p, (size_t)(buf + sizeof buf - p));
}

/* Sends the text composed so far. It may be queued by reference: the text
 * must not change until the next flush. */
static inline int bc_fcgi_out_send_text(bc_fcgi_out *o)
{
    return bc_fcgi_out_put(o, o->text, o->len);
}

#endif
