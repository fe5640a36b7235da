/* fcgi_out.c: writing the response to the web server around libfcgi's
 * buffer, finishing it, and draining a request body nobody read. */
#include "fcgi_out.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* A request body nobody read (the request was a hit, or answered by an
 * error page before the backend took it) would stay in a kept-alive web
 * server connection ahead of the next request, which would then fail. It
 * is read away, up to DRAIN_MAX bytes; past that the connection is closed
 * after this response instead. */
#define DRAIN_MAX (1024 * 1024)

void bc_fcgi_out_init(bc_fcgi_out *o, FCGX_Request *req)
{
    memset(o, 0, sizeof *o);
    o->req = req;
}

void bc_fcgi_out_free(bc_fcgi_out *o)
{
    free(o->text);
    o->text = NULL;
    o->len = o->cap = 0;
}

void bc_fcgi_out_begin(bc_fcgi_out *o)
{
    o->queued = 0;
    o->client_gone = 0;
    o->cut = 0;
}

void bc_fcgi_out_trim(bc_fcgi_out *o, size_t keep)
{
    if (o->cap > keep)
        bc_fcgi_out_free(o);
    o->len = 0;
}

int bc_fcgi_out_grow(bc_fcgi_out *o, size_t more)
{
    if (o->len + more <= o->cap)
        return 0;
    size_t cap = o->cap ? o->cap : 4096;
    while (cap < o->len + more)
        cap *= 2;
    char *p = realloc(o->text, cap);
    if (!p)
        return -1;
    o->text = p;
    o->cap = cap;
    return 0;
}

int bc_fcgi_out_printf(bc_fcgi_out *o, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof buf)
        return -1;
    return bc_fcgi_out_add(o, buf, (size_t)n);
}

static int write_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t wr = writev(fd, iov, n);
        if (wr < 0 && errno == EINTR)
            continue;
        if (wr <= 0)
            return -1;
        while (n > 0 && (size_t)wr >= iov->iov_len) {
            wr -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + wr;
            iov->iov_len -= (size_t)wr;
        }
    }
    return 0;
}

/* libfcgi's buffer goes first: the queued records follow what it holds. */
int bc_fcgi_out_flush(bc_fcgi_out *o)
{
    o->queued |= o->npend > 0;
    if (!o->req->out) { /* the response was finished already */
        o->npend = 0;
        return 0;
    }
    if (o->client_gone)
        return -1;
    int rc = FCGX_FFlush(o->req->out) < 0 ? -1 : 0;
    if (rc == 0 && o->npend > 0)
        rc = write_all(o->req->ipcFd, o->pend, o->npend);
    o->npend = 0;
    if (rc < 0)
        o->client_gone = 1;
    return rc;
}

static void drain_body(bc_fcgi_out *o)
{
    FCGX_Request *req = o->req;
    char buf[8192];
    size_t total = 0;
    int n;
    if (!req->in || FCGX_HasSeenEOF(req->in) == EOF)
        return;
    while ((n = FCGX_GetStr(buf, sizeof buf, req->in)) > 0)
        if ((total += (size_t)n) > DRAIN_MAX) {
            req->keepConnection = 0;
            return;
        }
}

void bc_fcgi_out_finish(bc_fcgi_out *o)
{
    if (o->npend > 0)
        bc_fcgi_out_flush(o);
    drain_body(o);
    FCGX_Finish_r(o->req);
}

void bc_fcgi_out_end(bc_fcgi_out *o)
{
    /* The body read with the backend's last records may still be queued
     * (the client's read loop ends without a flush). */
    if (o->npend > 0)
        bc_fcgi_out_flush(o);
    if (o->cut)
        FCGX_Free(o->req, 1);
    else
        bc_fcgi_out_finish(o);
}
