/* fuzz_storable.c: fuzzes the storability verdict on response heads parsed
 * from the input. The first byte says what the request carried
 * (Authorization, Cookie), which endpoint it is for, whether the API key
 * header is Authorization and whether max_object_size is small; the rest
 * is the head (completed with a blank line when it lacks one). The verdict
 * must be what SPEC 4.2 and 6 say, worked out here a second way: stored
 * exactly when the status is listed, there is no Set-Cookie, every Vary
 * name is one the key reads, the Content-Length lines are digits that
 * agree and fit, no Cache-Control line says no-store or private, the
 * credentials are covered by the key or allowed by public / s-maxage, and
 * the lifetime is positive; then its TTL lies in 1..the endpoint's and its
 * content_length is the parsed one. A refusal names a reason that holds,
 * and credentials only ever take a verdict from stored to refused. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bocache/config.h"
#include "cache_control.h"
#include "entry.h"
#include "fuzz.h"
#include "response.h"
#include "storable.h"

enum {
    F_AUTH = 1,
    F_COOKIE = 2,
    F_EP_SHIFT = 2,  /* two bits */
    F_AUTH_KEY = 16, /* identity.api_key_header is Authorization */
    F_SMALL = 32     /* max_object_size of 16 bytes */
};

static char *vary_partner[] = {"Accept-Language"};
static char *vary_cookie[] = {"Cookie", "accept-encoding"};
static int st_200[] = {200};
static int st_api[] = {200, 203, 404};
static int st_partner[] = {200, 301};

static bc_endpoint endpoints[] = {
    {.path = "/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_NONE,
     .ttl = 300,
     .statuses = st_200,
     .nstatuses = 1,
     .sort_query = 1},
    {.path = "/api/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_API_KEY,
     .ttl = 600,
     .statuses = st_api,
     .nstatuses = 3,
     .sort_query = 1},
    {.path = "/p/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_PARTNER_ORIGIN,
     .ttl = 60,
     .vary = vary_partner,
     .nvary = 1,
     .statuses = st_partner,
     .nstatuses = 2,
     .sort_query = 1,
     .ignore_cookies = 1},
    {.path = "/c/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_NONE,
     .ttl = 1,
     .vary = vary_cookie,
     .nvary = 2,
     .statuses = st_200,
     .nstatuses = 1,
     .sort_query = 1},
};

/* The request headers each endpoint's key reads, written out here rather
 * than asked of the key module; [1][0] is the API key header. */
static const char *key_headers[4][4] = {
    {NULL},
    {"X-Api-Key", NULL},
    {"X-Partner-Id", "Origin", "Accept-Language", NULL},
    {"Cookie", "Accept-Encoding", NULL},
};

static bc_config *config(unsigned flags)
{
    static bc_config cfg;
    cfg.file = "<fuzz>";
    cfg.redis.prefix = "bocache";
    cfg.cache.ttl = 300;
    cfg.cache.max_object_size = flags & F_SMALL ? 16 : 1048576;
    cfg.identity.api_key_header =
        flags & F_AUTH_KEY ? "Authorization" : "X-Api-Key";
    cfg.identity.partner_id_header = "X-Partner-Id";
    cfg.identity.partner_id_param = "partner_id";
    cfg.endpoints = endpoints;
    cfg.nendpoints = sizeof endpoints / sizeof endpoints[0];
    key_headers[1][0] = cfg.identity.api_key_header;
    return &cfg;
}

static int name_is(const bc_header *h, const char *name)
{
    return h->name_len == strlen(name) &&
           strncasecmp(h->name, name, h->name_len) == 0;
}

static int key_reads(int e, const char *name, size_t len)
{
    for (const char *const *k = key_headers[e]; *k; k++)
        if (strlen(*k) == len && strncasecmp(*k, name, len) == 0)
            return 1;
    return 0;
}

/* Content-Length by another route than the module's: -1 none, -2 bad. */
static long content_length(const bc_response_head *h)
{
    char max[32];
    int maxlen = snprintf(max, sizeof max, "%ld", LONG_MAX);
    long len = -1;
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *hd = &h->headers[i];
        if (!name_is(hd, "Content-Length"))
            continue;
        const char *v = hd->value;
        size_t n = hd->value_len;
        if (n == 0)
            return -2;
        for (size_t j = 0; j < n; j++)
            if (v[j] < '0' || v[j] > '9')
                return -2;
        while (n > 1 && *v == '0')
            v++, n--;
        if (n > (size_t)maxlen ||
            (n == (size_t)maxlen && memcmp(v, max, n) > 0))
            return -2;
        char buf[32];
        memcpy(buf, v, n);
        buf[n] = '\0';
        long x = strtol(buf, NULL, 10);
        if (len >= 0 && x != len)
            return -2;
        len = x;
    }
    return len;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Directive names seen in the Cache-Control lines, in any form. */
typedef struct {
    int no_store, private_, public_, s_maxage;
} names;

static void cc_names(const char *v, size_t len, names *out)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t s = i;
        while (i < len && is_tchar((unsigned char)v[i]))
            i++;
        size_t n = i - s;
        while (i < len && (v[i] == ' ' || v[i] == '\t'))
            i++;
        if (i < len && v[i] == '=') {
            i++;
            while (i < len && (v[i] == ' ' || v[i] == '\t'))
                i++;
            if (i < len && v[i] == '"') {
                for (i++; i < len && v[i] != '"'; i++)
                    if (v[i] == '\\' && ++i == len)
                        break;
                if (i < len)
                    i++;
            }
        }
        while (i < len && v[i] != ',')
            i++;
#define IS(lit) (n == sizeof lit - 1 && strncasecmp(v + s, lit, n) == 0)
        out->no_store |= IS("no-store");
        out->private_ |= IS("private");
        out->public_ |= IS("public");
        out->s_maxage |= IS("s-maxage");
#undef IS
    }
}

/* Nonzero when every name of the Vary value is one the key reads. */
static int vary_covered(int e, const char *v, size_t len)
{
    for (size_t i = 0; i < len;) {
        size_t n = 0;
        while (i + n < len && v[i + n] != ',' && v[i + n] != ' ' &&
               v[i + n] != '\t')
            n++;
        if (n == 1 && v[i] == '*')
            return 0;
        if (n > 0 && !key_reads(e, v + i, n))
            return 0;
        i += n + 1;
    }
    return 1;
}

static int listed(const bc_endpoint *ep, int status)
{
    for (size_t i = 0; i < ep->nstatuses; i++)
        if (ep->statuses[i] == status)
            return 1;
    return 0;
}

static void check(unsigned flags, const bc_response_head *h)
{
    const bc_config *cfg = config(flags);
    int e = (flags >> F_EP_SHIFT) & 3;
    const bc_endpoint *ep = &endpoints[e];
    unsigned req = flags & (BC_REQ_AUTHORIZATION | BC_REQ_COOKIE);
    bc_verdict v, v0, again;

    bc_storable_judge(cfg, ep, h, req, 1700000000, &v);

    /* The verdict worked out a second way. */
    int set_cookie = 0, vary_ok = 1, timed = 0;
    names nm = {0, 0, 0, 0};
    bc_cache_control cc;
    bc_cache_control_init(&cc);
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *hd = &h->headers[i];
        set_cookie |= name_is(hd, "Set-Cookie");
        /* Freshness from dates, Age and the targeted field is Check's to
         * test (check_storable.c); here they only must keep the bounds. */
        timed |= name_is(hd, "Expires") || name_is(hd, "Date") ||
                 name_is(hd, "Age") || name_is(hd, "Bocache-Cache-Control");
        if (name_is(hd, "Vary"))
            vary_ok &= vary_covered(e, hd->value, hd->value_len);
        if (name_is(hd, "Cache-Control")) {
            bc_cache_control_parse(&cc, hd->value, hd->value_len);
            cc_names(hd->value, hd->value_len, &nm);
        }
    }
    /* What the parser takes for a directive is one by name too. */
    FUZZ_CHECK(!cc.no_store || nm.no_store);
    FUZZ_CHECK(!cc.private_ || nm.private_);
    FUZZ_CHECK(!cc.public_ || nm.public_);
    FUZZ_CHECK(cc.s_maxage < 0 || nm.s_maxage);

    long cl = content_length(h);
    int allowed = cc.public_ || cc.s_maxage >= 0;
    int auth_bad = (req & BC_REQ_AUTHORIZATION) &&
                   !key_reads(e, "Authorization", 13) && !allowed;
    int cookie_bad = (req & BC_REQ_COOKIE) && !ep->ignore_cookies &&
                     !key_reads(e, "Cookie", 6) && !allowed;
    long ttl = bc_cache_control_ttl(&cc, ep->ttl);
    int status_ok = listed(ep, h->status);
    int want = status_ok && !set_cookie && vary_ok && cl != -2 &&
               cl <= cfg->cache.max_object_size && !nm.no_store &&
               !nm.private_ && !auth_bad && !cookie_bad &&
               (ttl > 0 || cc.no_cache);
    if (!timed)
        FUZZ_CHECK((v.reason == NULL) == want);
    /* Stored: fresh on arrival, or no-cache (revalidated on every use). */
    FUZZ_CHECK(v.reason != NULL || v.age < v.ttl ||
               (v.flags & BC_ENTRY_NO_CACHE));
    FUZZ_CHECK(v.ttl <= ep->ttl && v.stale_ttl <= ep->ttl + ep->stale_ttl &&
               v.error_ttl <= ep->ttl + ep->stale_ttl);

    if (v.reason == NULL && !timed) {
        FUZZ_CHECK(v.ttl <= ep->ttl && v.ttl == ttl);
        FUZZ_CHECK(v.content_length == cl);
        FUZZ_CHECK(v.content_length <= cfg->cache.max_object_size);
        FUZZ_CHECK(!set_cookie && !cc.no_store && !cc.private_);
        if ((req & BC_REQ_AUTHORIZATION) && !key_reads(e, "Authorization", 13))
            FUZZ_CHECK(nm.public_ || nm.s_maxage);
    } else {
        const char *r = v.reason;
        FUZZ_CHECK(v.ttl == 0);
        /* The reason named is one that holds. */
        if (strcmp(r, "status") == 0)
            FUZZ_CHECK(!status_ok);
        else if (strcmp(r, "set-cookie") == 0)
            FUZZ_CHECK(set_cookie);
        else if (strcmp(r, "vary") == 0)
            FUZZ_CHECK(!vary_ok);
        else if (strcmp(r, "malformed") == 0)
            FUZZ_CHECK(cl == -2);
        else if (strcmp(r, "too-large") == 0)
            FUZZ_CHECK(cl > cfg->cache.max_object_size &&
                       v.content_length == cl);
        else if (strcmp(r, "no-store") == 0)
            FUZZ_CHECK(cc.no_store);
        else if (strcmp(r, "private") == 0)
            FUZZ_CHECK(cc.private_);
        else if (strcmp(r, "authorization") == 0)
            FUZZ_CHECK(auth_bad);
        else if (strcmp(r, "cookie") == 0)
            FUZZ_CHECK(cookie_bad);
        else if (strcmp(r, "max-age-0") == 0)
            FUZZ_CHECK(ttl <= 0);
        else
            FUZZ_CHECK(!"unknown reason");
        /* Only the response's own reasons are declared. */
        FUZZ_CHECK(bc_storable_declared(r) ==
                   (strcmp(r, "status") != 0 && strcmp(r, "malformed") != 0 &&
                    strcmp(r, "authorization") != 0 &&
                    strcmp(r, "cookie") != 0));
    }

    /* The same again gives the same verdict. */
    bc_storable_judge(cfg, ep, h, req, 1700000000, &again);
    FUZZ_CHECK(again.reason == v.reason && again.ttl == v.ttl &&
               again.content_length == v.content_length);

    /* Credentials only refuse: without them a stored verdict stays stored
     * with the same TTL, and a refusal for the response's own sake is the
     * same refusal. */
    bc_storable_judge(cfg, ep, h, 0, 1700000000, &v0);
    FUZZ_CHECK(v0.reason == NULL || (strcmp(v0.reason, "authorization") != 0 &&
                                     strcmp(v0.reason, "cookie") != 0));
    if (v.reason == NULL)
        FUZZ_CHECK(v0.reason == NULL && v0.ttl == v.ttl);
    else if (strcmp(v.reason, "authorization") == 0 ||
             strcmp(v.reason, "cookie") == 0)
        FUZZ_CHECK(req != 0 &&
                   (v0.reason == NULL || strcmp(v0.reason, "max-age-0") == 0));
    else
        FUZZ_CHECK(v0.reason != NULL && strcmp(v0.reason, v.reason) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > BC_RESPONSE_MAX_HEAD)
        return 0;
    bc_response_head *h = malloc(sizeof *h);
    FUZZ_CHECK(h != NULL);
    /* An exactly sized copy of the head, as it comes from the backend. */
    size_t n = size - 1;
    char *text = malloc(n ? n : 1);
    FUZZ_CHECK(text != NULL);
    memcpy(text, data + 1, n);
    int rc = bc_response_parse_head(text, n, h);
    if (rc == 0) {
        /* Most inputs lack the blank line: give them one. */
        free(text);
        text = malloc(n + 4);
        FUZZ_CHECK(text != NULL);
        memcpy(text, data + 1, n);
        memcpy(text + n, "\r\n\r\n", 4);
        rc = bc_response_parse_head(text, n + 4, h);
    }
    if (rc == 1)
        check(data[0], h);
    free(text);
    free(h);
    return 0;
}
