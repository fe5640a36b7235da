/* storable.c: whether a backend's response may be stored, and for how long
 * (SPEC 4.2 and 6). */
#include "storable.h"

#include <limits.h>
#include <string.h>
#include <strings.h>

#include "cache_control.h"
#include "entry.h"
#include "http_date.h"
#include "key.h"

/* RFC 9111 1.2.2: an Age too large to represent is 2^31. */
#define AGE_MAX 2147483648L

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

long bc_storable_age(const char *v, size_t len)
{
    long n = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        n = n > (AGE_MAX - (v[i] - '0')) / 10 ? AGE_MAX : n * 10 + (v[i] - '0');
    }
    return n;
}

/* The first well-formed, non-empty Bocache-Cache-Control field parsed
 * into *CC: 1; 0 when there is none, and *CC is then reset. */
static int targeted(const bc_response_head *h, bc_cache_control *cc)
{
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *hd = &h->headers[i];
        if (!bc_header_is(hd, "Bocache-Cache-Control"))
            continue;
        bc_cache_control_init(cc);
        bc_cache_control_parse(cc, hd->value, hd->value_len);
        if (cc->directives > 0 && !cc->malformed)
            return 1;
    }
    bc_cache_control_init(cc);
    return 0;
}

/* The date of the first header NAME: 1 with *T set, 0 when absent, -1
 * when present and invalid. */
static int header_date(const bc_response_head *h, const char *name, int64_t now,
                       int64_t *t)
{
    const bc_header *hd = bc_response_find(h, name);
    if (!hd)
        return 0;
    return bc_http_date_parse(hd->value, hd->value_len, now, t) == 0 ? 1 : -1;
}

/* The lifetime Expires - Date gives, capped by CAP; -1 without Expires. */
static long expires_lifetime(const bc_response_head *h, int64_t now, long cap)
{
    int64_t exp, date;
    int has = header_date(h, "Expires", now, &exp);
    if (has == 0)
        return -1;
    if (has < 0)
        return 0; /* an invalid Expires is in the past (RFC 9111 5.3) */
    if (header_date(h, "Date", now, &date) != 1)
        date = now;
    if (exp <= date)
        return 0;
    return exp - date < (int64_t)cap ? (long)(exp - date) : cap;
}

/* RFC 9111 4.2.3: the larger of the Age the response carries and the
 * time since its Date (never negative; saturated). */
static long initial_age(const bc_response_head *h, int64_t now)
{
    long age = 0;
    const bc_header *hd = bc_response_find(h, "Age");
    if (hd) {
        long a = bc_storable_age(hd->value, hd->value_len);
        if (a > 0)
            age = a;
    }
    int64_t date;
    if (header_date(h, "Date", now, &date) == 1 && now > date &&
        now - date > (int64_t)age)
        age = now - date > AGE_MAX ? AGE_MAX : (long)(now - date);
    return age;
}

static long longer(long a, long b)
{
    return a > b ? a : b;
}

static long shorter(long a, long b)
{
    return a < b ? a : b;
}

bc_reason bc_storable_freshness(const bc_endpoint *ep,
                                const bc_response_head *h, int64_t now,
                                bc_cache_control *cc, bc_verdict *v)
{
    int target = targeted(h, cc);
    for (size_t i = 0; !target && i < h->nheaders; i++)
        if (bc_header_is(&h->headers[i], "Cache-Control"))
            bc_cache_control_parse(cc, h->headers[i].value,
                                   h->headers[i].value_len);
    long life = bc_cache_control_ttl(cc, ep->ttl);
    int explicit_ = cc->s_maxage >= 0 || cc->max_age >= 0;
    if (!explicit_ && !target) {
        long e = expires_lifetime(h, now, ep->ttl);
        if (e >= 0)
            life = e;
    }
    v->ttl = life < 0 ? 0 : life;
    v->explicit_ = explicit_ || (!target && bc_response_find(h, "Expires"));
    v->age = initial_age(h, now);
    v->flags = (cc->no_cache ? BC_ENTRY_NO_CACHE : 0u) |
               (cc->must_revalidate ? BC_ENTRY_MUST_REVALIDATE : 0u);
    /* RFC 5861 widens the endpoint's window to the response's value, at
     * most to the endpoint's ttl, so the configuration still bounds how
     * long an entry lives; must-revalidate and no-cache close it (RFC
     * 9111 4.2.4, 5.2.2). */
    v->stale_ttl =
        longer(ep->stale_ttl, shorter(cc->stale_while_revalidate, ep->ttl));
    v->error_ttl = longer(ep->stale_ttl, shorter(cc->stale_if_error, ep->ttl));
    if (v->flags) {
        v->stale_ttl = 0;
        v->error_ttl = 0;
    }
    if (cc->no_cache)
        return BC_REASON_NONE; /* stored, and never fresh (entry.h) */
    if (explicit_ && v->ttl == 0)
        return BC_REASON_MAX_AGE_0;
    return v->age >= v->ttl ? BC_REASON_EXPIRED : BC_REASON_NONE;
}

long bc_storable_keep(const bc_verdict *v)
{
    long keep =
        v->ttl + longer(longer(v->stale_ttl, v->error_ttl), v->revalidate_ttl);
    return keep > 0 ? keep : 1;
}

/* RFC 9110 15.1: statuses a cache may store without explicit freshness
 * (206 aside: the configuration refuses it). */
static int heuristic(int status)
{
    static const int ok[] = {200, 203, 204, 300, 301, 308,
                             404, 405, 410, 414, 501};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        if (ok[i] == status)
            return 1;
    return 0;
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
                       const bc_response_head *h, unsigned flags, int64_t now,
                       bc_verdict *v)
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
    }
    bc_reason fresh = bc_storable_freshness(ep, h, now, &cc, v);
    if (!heuristic(h->status) && !v->explicit_)
        return BC_REASON_STATUS;
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
    return fresh;
}

void bc_storable_judge(const bc_config *cfg, const bc_endpoint *ep,
                       const bc_response_head *head, unsigned request_flags,
                       int64_t now, bc_verdict *v)
{
    v->ttl = 0;
    v->age = 0;
    v->stale_ttl = 0;
    v->error_ttl = 0;
    v->flags = 0;
    v->explicit_ = 0;
    v->content_length = -1;
    v->revalidate_ttl = 0;
    v->why = judge(cfg, ep, head, request_flags, now, v);
    v->reason = bc_reason_token(v->why);
    if (!v->reason && (bc_response_find(head, "ETag") ||
                       bc_response_find(head, "Last-Modified")))
        v->revalidate_ttl = (long)ep->ttl;
    if (v->reason)
        v->ttl = 0;
}

int bc_storable_declared(const char *reason)
{
    return bc_reason_declared(bc_reason_find(reason));
}
