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
 * NULL (RFC 9111 3.5): the key must tell the callers apart, or the
 * response must say a shared cache may keep it anyway. */
static const char *credentials(const bc_config *cfg, const bc_endpoint *ep,
                               const bc_cache_control *cc, unsigned flags)
{
    static const char auth[] = "Authorization", cookie[] = "Cookie";
    if (cc->public_ || cc->s_maxage >= 0)
        return NULL;
    if ((flags & BC_REQ_AUTHORIZATION) &&
        !bc_key_reads_header(cfg, ep, auth, sizeof auth - 1))
        return "authorization";
    if ((flags & BC_REQ_COOKIE) && !ep->ignore_cookies &&
        !bc_key_reads_header(cfg, ep, cookie, sizeof cookie - 1))
        return "cookie";
    return NULL;
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

static const char *judge(const bc_config *cfg, const bc_endpoint *ep,
                         const bc_response_head *h, unsigned flags,
                         bc_verdict *v)
{
    bc_cache_control cc;
    bc_cache_control_init(&cc);
    if (!status_listed(ep, h->status))
        return "status";
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *hd = &h->headers[i];
        if (bc_header_is(hd, "Set-Cookie"))
            return "set-cookie";
        if (bc_header_is(hd, "Vary") &&
            !vary_ok(cfg, ep, hd->value, hd->value_len))
            return "vary";
        if (bc_header_is(hd, "Cache-Control"))
            bc_cache_control_parse(&cc, hd->value, hd->value_len);
    }
    long len = declared_length(h);
    if (len == -2)
        return "malformed";
    v->content_length = len;
    if (len > cfg->cache.max_object_size)
        return "too-large";
    if (cc.no_store)
        return "no-store";
    if (cc.private_)
        return "private";
    const char *cred = credentials(cfg, ep, &cc, flags);
    if (cred)
        return cred;
    v->ttl = bc_cache_control_ttl(&cc, ep->ttl);
    return v->ttl > 0 ? NULL : "max-age-0";
}

void bc_storable_judge(const bc_config *cfg, const bc_endpoint *ep,
                       const bc_response_head *head, unsigned request_flags,
                       bc_verdict *v)
{
    v->ttl = 0;
    v->content_length = -1;
    v->reason = judge(cfg, ep, head, request_flags, v);
    if (v->reason)
        v->ttl = 0;
}

int bc_storable_declared(const char *reason)
{
    static const char *const declared[] = {
        "set-cookie", "vary",      "too-large",    "no-store",
        "private",    "max-age-0", "too-many-tags"};
    if (!reason)
        return 0;
    for (size_t i = 0; i < sizeof declared / sizeof *declared; i++)
        if (strcmp(reason, declared[i]) == 0)
            return 1;
    return 0;
}
