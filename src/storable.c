/* storable.c: whether a backend's response may be stored, and for how long
 * (SPEC 4.2 and 6). */
#include "storable.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "cache_control.h"
#include "key.h"

long bc_storable_content_length(const char *v, size_t len)
{
    long n = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        int d = v[i] - '0';
        if (n > (LONG_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    return n;
}

static int status_listed(const bc_endpoint *ep, int status)
{
    for (size_t i = 0; i < ep->nstatuses; i++)
        if (ep->statuses[i] == status)
            return 1;
    return 0;
}

/* Checks a Vary value: "*" or a header outside the key forbids storing. */
static int vary_ok(const bc_config *cfg, const bc_endpoint *ep, const char *v,
                   size_t len)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && v[i] != ',' && v[i] != ' ' && v[i] != '\t')
            i++;
        if (i == s)
            continue;
        if ((i - s == 1 && v[s] == '*') ||
            !bc_key_reads_header(cfg, ep, v + s, i - s))
            return 0;
    }
    return 1;
}

/* The reason request credentials keep the response out of the cache, or
 * BC_REASON_NONE (RFC 9111 3.5): the key must tell the callers apart, or
 * the response must say a shared cache may keep it anyway. */
static bc_reason credentials(const bc_config *cfg, const bc_endpoint *ep,
                             const bc_cache_control *cc, unsigned flags)
{
    static const char auth[] = "Authorization", cookie[] = "Cookie";
    if (cc->public_ || cc->s_maxage >= 0)
        return BC_REASON_NONE;
    if ((flags & BC_REQ_AUTHORIZATION) &&
        !bc_key_reads_header(cfg, ep, auth, sizeof auth - 1))
        return BC_REASON_AUTHORIZATION;
    if ((flags & BC_REQ_COOKIE) && !ep->ignore_cookies &&
        !bc_key_reads_header(cfg, ep, cookie, sizeof cookie - 1))
        return BC_REASON_COOKIE;
    return BC_REASON_NONE;
}

/* The declared body length: -1 when none, -2 when invalid or two
 * Content-Length lines disagree (a framing the web server and the backend
 * may read differently). */
static long declared_length(const bc_response_head *h)
{
    long len = -1;
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *hd = &h->headers[i];
        if (!bc_header_is(hd, "Content-Length"))
            continue;
        long n = bc_storable_content_length(hd->value, hd->value_len);
        if (n < 0 || (len >= 0 && n != len))
            return -2;
        len = n;
    }
    return len;
}

static bc_reason judge(const bc_config *cfg, const bc_endpoint *ep,
                       const bc_response_head *h, unsigned flags, bc_verdict *v)
{
    bc_cache_control cc;
    bc_cache_control_init(&cc);
    if (!status_listed(ep, h->status))
        return BC_REASON_STATUS;
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *hd = &h->headers[i];
        if (bc_header_is(hd, "Set-Cookie"))
            return BC_REASON_SET_COOKIE;
        if (bc_header_is(hd, "Vary") &&
            !vary_ok(cfg, ep, hd->value, hd->value_len))
            return BC_REASON_VARY;
        if (bc_header_is(hd, "Cache-Control"))
            bc_cache_control_parse(&cc, hd->value, hd->value_len);
    }
    long len = declared_length(h);
    if (len == -2)
        return BC_REASON_MALFORMED;
    v->content_length = len;
    if (len > cfg->cache.max_object_size)
        return BC_REASON_TOO_LARGE;
    if (cc.no_store)
        return BC_REASON_NO_STORE;
    if (cc.private_)
        return BC_REASON_PRIVATE;
    bc_reason cred = credentials(cfg, ep, &cc, flags);
    if (cred != BC_REASON_NONE)
        return cred;
    v->ttl = bc_cache_control_ttl(&cc, ep->ttl);
    return v->ttl > 0 ? BC_REASON_NONE : BC_REASON_MAX_AGE_0;
}

void bc_storable_judge(const bc_config *cfg, const bc_endpoint *ep,
                       const bc_response_head *head, unsigned request_flags,
                       bc_verdict *v)
{
    v->ttl = 0;
    v->content_length = -1;
    v->why = judge(cfg, ep, head, request_flags, v);
    v->reason = bc_reason_token(v->why);
    if (v->reason)
        v->ttl = 0;
}

int bc_storable_declared(const char *reason)
{
    return bc_reason_declared(bc_reason_find(reason));
}
