/* check_storable.c: unit tests of the storability verdict (SPEC 4.2, 6). */
#include "check_main.h"
#include "storable.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bocache/config.h"
#include "entry.h"
#include "response.h"

/* The judging time: Tue, 14 Nov 2023 22:13:20 GMT. */
#define NOW 1700000000

Suite *storable_suite(void);

/* A configuration built by hand, so most tests do not depend on the
 * loader: one endpoint, shared by every caller, that stores 200s for 300 s
 * and bodies up to 1000 bytes. Tests change the fields they are about. */
static bc_config cfg;
static bc_endpoint ep;
static int statuses[4];
static char *vary[4];
/* The parse result lives on the heap: it holds 100 headers. */
static bc_response_head *head;
/* An exact-size copy of the head text, so over-reads are caught. */
static char *copy;
static bc_verdict v;

static void setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    memset(&ep, 0, sizeof ep);
    cfg.file = (char *)"<test>";
    cfg.redis.prefix = (char *)"bocache";
    cfg.cache.ttl = 300;
    cfg.cache.max_object_size = 1000;
    cfg.identity.api_key_header = (char *)"X-Api-Key";
    cfg.identity.partner_id_header = (char *)"X-Partner-Id";
    cfg.identity.partner_id_param = (char *)"partner_id";
    cfg.endpoints = &ep;
    cfg.nendpoints = 1;
    ep.path = (char *)"/";
    ep.match = BC_MATCH_PREFIX;
    ep.key_type = BC_KEYTYPE_NONE;
    ep.ttl = 300;
    statuses[0] = 200;
    ep.statuses = statuses;
    ep.nstatuses = 1;
    ep.vary = vary;
    ep.nvary = 0;
    ep.sort_query = 1;
    head = malloc(sizeof *head);
    ck_assert_ptr_nonnull(head);
    copy = NULL;
}

static void teardown(void)
{
    free(copy);
    free(head);
}

/* Parses the head TEXT (a complete head, blank line included) from a
 * fresh heap copy. */
static void parse(const char *text)
{
    size_t n = strlen(text);
    free(copy);
    copy = malloc(n ? n : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, text, n);
    ck_assert_int_eq(bc_response_parse_head(copy, n, head), 1);
}

/* The verdict of CONFIG and ENDPOINT on head TEXT for a request that
 * carried FLAGS; the whole verdict is left in v. */
static const char *judge_with(const bc_config *c, const bc_endpoint *e,
                              const char *text, unsigned flags)
{
    parse(text);
    memset(&v, 0x5a, sizeof v); /* every field must be written */
    bc_storable_judge(c, e, head, flags, NOW, &v);
    /* A refusal never carries a lifetime, a verdict to store does unless
     * the response is no-cache (revalidated on every use). */
    if (v.reason)
        ck_assert_int_eq(v.ttl, 0);
    else if (!(v.flags & BC_ENTRY_NO_CACHE))
        ck_assert_int_gt(v.ttl, v.age);
    return v.reason;
}

static const char *judge(const char *text, unsigned flags)
{
    return judge_with(&cfg, &ep, text, flags);
}

/* Asserts that head TEXT is refused for REASON (NULL: stored). */
#define ck_reason(text, flags, reason)                                         \
    ck_assert_pstr_eq(judge((text), (flags)), (reason))

/* Asserts that head TEXT is stored for TTL seconds. */
#define ck_stored(text, flags, want_ttl)                                       \
    do {                                                                       \
        ck_assert_pstr_eq(judge((text), (flags)), NULL);                       \
        ck_assert_int_eq(v.ttl, (want_ttl));                                   \
    } while (0)

START_TEST(test_plain)
{
    ck_stored("Content-Type: text/plain\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.content_length, -1);
    /* No header at all is a 200 too. */
    ck_stored("\r\n", 0, 300);
    ck_stored("Status: 200 OK\n\n", 0, 300);
    ep.ttl = 1;
    ck_stored("\n", 0, 1);
}
END_TEST

START_TEST(test_status)
{
    ck_reason("Status: 404 Not Found\r\n\r\n", 0, "status");
    ck_assert_int_eq(v.content_length, -1);
    ck_reason("Status: 500\r\n\r\n", 0, "status");
    ck_reason("Status: 203\r\n\r\n", 0, "status");
    /* Location without Status is a 302. */
    ck_reason("Location: /elsewhere\r\n\r\n", 0, "status");
    statuses[1] = 404;
    statuses[2] = 302;
    ep.nstatuses = 3;
    ck_stored("Status: 404 Not Found\r\n\r\n", 0, 300);
    /* A 302 is not heuristically cacheable: explicit freshness only. */
    ck_reason("Location: /elsewhere\r\n\r\n", 0, "status");
    ck_stored("Location: /elsewhere\r\nCache-Control: max-age=60\r\n\r\n", 0,
              60);
    ck_reason("Status: 301\r\n\r\n", 0, "status");
    /* The status comes first: a refused status says so whatever else. */
    ck_reason("Status: 500\r\nSet-Cookie: a=1\r\nContent-Length: x\r\n"
              "Cache-Control: no-store\r\n\r\n",
              BC_REQ_AUTHORIZATION, "status");
    /* An endpoint without statuses stores nothing. */
    ep.nstatuses = 0;
    ck_reason("Status: 200\r\n\r\n", 0, "status");
}
END_TEST

START_TEST(test_set_cookie)
{
    ck_reason("Set-Cookie: sid=1\r\n\r\n", 0, "set-cookie");
    ck_reason("Content-Type: text/html\r\nset-cookie: sid=1; Path=/\r\n\r\n", 0,
              "set-cookie");
    ck_reason("SET-COOKIE:\r\n\r\n", 0, "set-cookie");
    /* Only the header itself. */
    ck_stored("Set-Cookies: x\r\nX-Set-Cookie: y\r\n\r\n", 0, 300);
    /* public does not make a Set-Cookie shareable. */
    ck_reason("Cache-Control: public, s-maxage=60\r\nSet-Cookie: a=b\r\n\r\n",
              0, "set-cookie");
}
END_TEST

START_TEST(test_vary)
{
    ck_reason("Vary: *\r\n\r\n", 0, "vary");
    ck_reason("Vary: Accept-Encoding, *\r\n\r\n", 0, "vary");
    /* A header outside the key. */
    ck_reason("Vary: Accept-Encoding\r\n\r\n", 0, "vary");
    ck_reason("Vary: X-Api-Key\r\n\r\n", 0, "vary"); /* key_type none */
    /* An empty Vary, or one of commas only, names nothing. */
    ck_stored("Vary:\r\n\r\n", 0, 300);
    ck_stored("Vary: , ,\t,\r\n\r\n", 0, 300);

    /* The identity header the key reads. */
    ep.key_type = BC_KEYTYPE_API_KEY;
    ck_stored("Vary: X-Api-Key\r\n\r\n", 0, 300);
    ck_stored("Vary: x-api-key\r\n\r\n", 0, 300);
    ck_reason("Vary: X-Api-Keys\r\n\r\n", 0, "vary");
    ck_reason("Vary: X-Api-Key, Origin\r\n\r\n", 0, "vary");
    ep.key_type = BC_KEYTYPE_PARTNER_ORIGIN;
    ck_stored("Vary: Origin,X-Partner-Id\r\n\r\n", 0, 300);
    ck_reason("Vary: X-Api-Key\r\n\r\n", 0, "vary");

    /* A vary header of the endpoint. */
    vary[0] = (char *)"Accept-Language";
    ep.nvary = 1;
    ck_stored("Vary: accept-language, Origin\r\n\r\n", 0, 300);
    ck_reason("Vary: Accept-Language, Accept-Encoding\r\n\r\n", 0, "vary");
    /* Every Vary line counts, not only the first. */
    ck_reason("Vary: Origin\r\nVary: Accept-Encoding\r\n\r\n", 0, "vary");
    ck_stored("Vary: Origin\r\nVary: Accept-Language\r\n\r\n", 0, 300);
}
END_TEST

START_TEST(test_no_store_private)
{
    ck_reason("Cache-Control: no-store\r\n\r\n", 0, "no-store");
    ck_reason("Cache-Control: max-age=60, No-Store\r\n\r\n", 0, "no-store");
    ck_reason("Cache-Control: private\r\n\r\n", 0, "private");
    /* A qualified private forbids a shared cache all the same. */
    ck_reason("Cache-Control: private=\"Set-Cookie\"\r\n\r\n", 0, "private");
    ck_reason("Cache-Control: public\r\nCache-Control: private\r\n\r\n", 0,
              "private");
    /* Either line of several. */
    ck_reason("Cache-Control: max-age=60\r\ncache-control: no-store\r\n\r\n", 0,
              "no-store");
    /* no-store is named before private. */
    ck_reason("Cache-Control: private, no-store\r\n\r\n", 0, "no-store");
    /* A directive inside another's quoted value is not one. */
    ck_stored("Cache-Control: x=\"no-store, private\"\r\n\r\n", 0, 300);
}
END_TEST

START_TEST(test_lifetime)
{
    ck_reason("Cache-Control: max-age=0\r\n\r\n", 0, "max-age-0");
    ck_reason("Cache-Control: s-maxage=0, max-age=60\r\n\r\n", 0, "max-age-0");
    /* A repeated or invalid lifetime is stale at once (RFC 9111 4.2.1). */
    ck_reason("Cache-Control: max-age=60, max-age=60\r\n\r\n", 0, "max-age-0");
    ck_reason("Cache-Control: max-age=soon\r\n\r\n", 0, "max-age-0");
    /* max-age and s-maxage shorten the endpoint's TTL, never lengthen. */
    ck_stored("Cache-Control: max-age=60\r\n\r\n", 0, 60);
    ck_stored("Cache-Control: max-age=3600\r\n\r\n", 0, 300);
    ck_stored("Cache-Control: s-maxage=30\r\n\r\n", 0, 30);
    ck_stored("Cache-Control: s-maxage=3600\r\n\r\n", 0, 300);
    /* A shared cache takes s-maxage over max-age, either way round. */
    ck_stored("Cache-Control: max-age=10, s-maxage=100\r\n\r\n", 0, 100);
    ck_stored(
        "Cache-Control: max-age=100\r\nCache-Control: s-maxage=10\r\n\r\n", 0,
        10);
    ck_stored("Cache-Control: s-maxage=1\r\n\r\n", 0, 1);
}
END_TEST

START_TEST(test_too_large)
{
    ck_stored("Content-Length: 1000\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.content_length, 1000);
    ck_reason("Content-Length: 1001\r\n\r\n", 0, "too-large");
    ck_assert_int_eq(v.content_length, 1001);
    cfg.cache.max_object_size = 0;
    ck_stored("Content-Length: 0\r\n\r\n", 0, 300);
    ck_reason("Content-Length: 1\r\n\r\n", 0, "too-large");
    /* Without Content-Length the caller checks the body as it comes. */
    ck_stored("\r\n", 0, 300);
    ck_assert_int_eq(v.content_length, -1);
    /* too-large is named before the response's own directives. */
    ck_reason("Content-Length: 5\r\nCache-Control: no-store\r\n\r\n", 0,
              "too-large");
}
END_TEST

START_TEST(test_content_length_parse)
{
#define CL(s) bc_storable_content_length((s), sizeof(s) - 1)
    ck_assert_int_eq(CL(""), -1);
    ck_assert_int_eq(CL("0"), 0);
    ck_assert_int_eq(CL("12"), 12);
    ck_assert_int_eq(CL("007"), 7);
    ck_assert_int_eq(CL("1 2"), -1);
    ck_assert_int_eq(CL(" 12"), -1);
    ck_assert_int_eq(CL("12 "), -1);
    ck_assert_int_eq(CL("+1"), -1);
    ck_assert_int_eq(CL("-1"), -1);
    ck_assert_int_eq(CL("0x10"), -1);
    ck_assert_int_eq(CL("12a"), -1);
    ck_assert_int_eq(CL("1.5"), -1);
    ck_assert_int_eq(CL("12, 12"), -1);
    /* The length bounds the read: the bytes after it are not looked at. */
    ck_assert_int_eq(bc_storable_content_length("12x", 2), 12);
    static const char nul_inside[] = {'1', '\0', '2'};
    ck_assert_int_eq(bc_storable_content_length(nul_inside, 3), -1);
    /* 20 digits overflow even a 64-bit long; LONG_MAX itself does not. */
    ck_assert_int_eq(CL("99999999999999999999"), -1);
    ck_assert_int_eq(CL("18446744073709551616"), -1);
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld", LONG_MAX);
    ck_assert_int_eq(bc_storable_content_length(buf, (size_t)n), LONG_MAX);
    buf[n - 1]++; /* LONG_MAX + 1: its last digit is 7, never 9 */
    ck_assert_int_eq(bc_storable_content_length(buf, (size_t)n), -1);
#undef CL
}
END_TEST

START_TEST(test_content_length_head)
{
    /* The head trims the value, so surrounding blanks are fine. */
    ck_stored("Content-Length:   12  \r\n\r\n", 0, 300);
    ck_assert_int_eq(v.content_length, 12);
    ck_stored("content-length: 0\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.content_length, 0);
    ck_reason("Content-Length:\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: 1 2\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: +1\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: -1\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: 0x10\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: 12a\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: 99999999999999999999\r\n\r\n", 0, "malformed");
    ck_reason("Content-Length: 12, 12\r\n\r\n", 0, "malformed");
    /* Two lines that agree are one length; two that differ are a framing
     * the web server and the backend may read differently. */
    ck_stored("Content-Length: 12\r\nContent-Length: 12\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.content_length, 12);
    ck_reason("Content-Length: 12\r\nContent-Length: 13\r\n\r\n", 0,
              "malformed");
    ck_reason("Content-Length: 12\r\nContent-Length: x\r\n\r\n", 0,
              "malformed");
    ck_reason("Content-Length: 0\r\nX: y\r\nContent-Length: 00\r\n\r\n", 0,
              NULL);
    /* malformed is named before too-large, whatever the order. */
    ck_reason("Content-Length: 5000\r\nContent-Length: 12\r\n\r\n", 0,
              "malformed");
    ck_reason("Content-Length: 12\r\nContent-Length: 5000\r\n\r\n", 0,
              "malformed");
}
END_TEST

/* The configurations of SPEC 4.2 as an operator writes them. */
static bc_config *load(const char *identity, const char *endpoint)
{
    char text[1024], err[256];
    snprintf(text, sizeof text,
             "identity: { %s };\n"
             "endpoints = ( { path = \"/e/\"; match = \"prefix\"; %s } );\n",
             identity, endpoint);
    err[0] = '\0';
    bc_config *c = bc_config_load_string(text, "t.conf", err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    ck_assert_uint_eq(c->nendpoints, 1);
    return c;
}

START_TEST(test_authorization)
{
    const unsigned A = BC_REQ_AUTHORIZATION;
    /* The key covers the header: each caller has its own entries. */
    bc_config *c =
        load("api_key_header = \"Authorization\";", "key_type = \"api_key\";");
    ck_assert_pstr_eq(judge_with(c, c->endpoints, "\r\n", A), NULL);
    ck_assert_int_eq(v.ttl, 300);
    bc_config_free(c);

    /* Shared by every caller: only the response can allow it. */
    c = load("", "key_type = \"none\"; ttl = 120;");
    const bc_endpoint *e = c->endpoints;
    ck_assert_pstr_eq(judge_with(c, e, "\r\n", A), "authorization");
    ck_assert_pstr_eq(judge_with(c, e, "\r\n", 0), NULL);
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: public\r\n\r\n", A),
                      NULL);
    ck_assert_int_eq(v.ttl, 120);
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: PUBLIC\r\n\r\n", A),
                      NULL);
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: s-maxage=60\r\n\r\n", A),
                      NULL);
    ck_assert_int_eq(v.ttl, 60);
    ck_assert_pstr_eq(
        judge_with(c, e, "Cache-Control: public, max-age=30\r\n\r\n", A), NULL);
    ck_assert_int_eq(v.ttl, 30);
    /* max-age alone is for any cache, not a shared one's permission. */
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: max-age=60\r\n\r\n", A),
                      "authorization");
    /* A malformed public does not count. */
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: public=1\r\n\r\n", A),
                      "authorization");
    ck_assert_pstr_eq(
        judge_with(c, e, "Cache-Control: public=\"yes\"\r\n\r\n", A),
        "authorization");
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: publicx\r\n\r\n", A),
                      "authorization");
    /* public does not override what the response forbids. */
    ck_assert_pstr_eq(
        judge_with(c, e, "Cache-Control: public, private\r\n\r\n", A),
        "private");
    ck_assert_pstr_eq(
        judge_with(c, e, "Cache-Control: public, max-age=0\r\n\r\n", A),
        "max-age-0");
    /* The permission is read from every Cache-Control line. */
    ck_assert_pstr_eq(judge_with(c, e,
                                 "Cache-Control: max-age=60\r\n"
                                 "Cache-Control: public\r\n\r\n",
                                 A),
                      NULL);
    ck_assert_int_eq(v.ttl, 60);
    bc_config_free(c);

    /* The API key in another header leaves Authorization outside the key. */
    c = load("", "key_type = \"api_key\";");
    ck_assert_pstr_eq(judge_with(c, c->endpoints, "\r\n", A), "authorization");
    bc_config_free(c);

    /* A vary header the key reads covers it as well. */
    c = load("", "key_type = \"none\"; vary = [\"authorization\"];");
    ck_assert_pstr_eq(judge_with(c, c->endpoints, "\r\n", A), NULL);
    bc_config_free(c);
}
END_TEST

START_TEST(test_cookie)
{
    const unsigned C = BC_REQ_COOKIE;
    bc_config *c = load("", "key_type = \"none\";");
    const bc_endpoint *e = c->endpoints;
    ck_assert_int_eq(e->ignore_cookies, 0); /* the default */
    ck_assert_pstr_eq(judge_with(c, e, "\r\n", C), "cookie");
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: public\r\n\r\n", C),
                      NULL);
    ck_assert_pstr_eq(judge_with(c, e, "Cache-Control: s-maxage=5\r\n\r\n", C),
                      NULL);
    ck_assert_int_eq(v.ttl, 5);
    /* With both, Authorization is named first. */
    ck_assert_pstr_eq(judge_with(c, e, "\r\n", C | BC_REQ_AUTHORIZATION),
                      "authorization");
    bc_config_free(c);

    c = load("", "key_type = \"none\"; ignore_cookies = true;");
    e = c->endpoints;
    ck_assert_pstr_eq(judge_with(c, e, "\r\n", C), NULL);
    /* ignore_cookies says nothing about Authorization. */
    ck_assert_pstr_eq(judge_with(c, e, "\r\n", C | BC_REQ_AUTHORIZATION),
                      "authorization");
    bc_config_free(c);

    c = load("", "key_type = \"none\"; vary = [\"Cookie\"];");
    ck_assert_pstr_eq(judge_with(c, c->endpoints, "\r\n", C), NULL);
    bc_config_free(c);

    /* An identity header named Cookie covers it too. */
    c = load("api_key_header = \"Cookie\";", "key_type = \"api_key\";");
    ck_assert_pstr_eq(judge_with(c, c->endpoints, "\r\n", C), NULL);
    bc_config_free(c);
}
END_TEST

/* The credentials rule comes after what the response declares: a response
 * refused for itself is refused for the same reason with or without them. */
START_TEST(test_order)
{
    const unsigned both = BC_REQ_AUTHORIZATION | BC_REQ_COOKIE;
    ck_reason("Set-Cookie: a=1\r\n\r\n", both, "set-cookie");
    ck_reason("Vary: *\r\n\r\n", both, "vary");
    ck_reason("Content-Length: 1 2\r\n\r\n", both, "malformed");
    ck_reason("Content-Length: 5000\r\n\r\n", both, "too-large");
    ck_reason("Cache-Control: no-store\r\n\r\n", both, "no-store");
    ck_reason("Cache-Control: private\r\n\r\n", both, "private");
    ck_reason("Cache-Control: max-age=0\r\n\r\n", both, "authorization");
    /* Set-Cookie and Vary are named in the order of their lines. */
    ck_reason("Vary: *\r\nSet-Cookie: a=1\r\n\r\n", 0, "vary");
    ck_reason("Set-Cookie: a=1\r\nVary: *\r\n\r\n", 0, "set-cookie");
}
END_TEST

START_TEST(test_declared)
{
    /* Reasons the response gave itself: its next fill is refused again. */
    ck_assert_int_ne(bc_storable_declared("set-cookie"), 0);
    ck_assert_int_ne(bc_storable_declared("vary"), 0);
    ck_assert_int_ne(bc_storable_declared("too-large"), 0);
    ck_assert_int_ne(bc_storable_declared("no-store"), 0);
    ck_assert_int_ne(bc_storable_declared("private"), 0);
    ck_assert_int_ne(bc_storable_declared("max-age-0"), 0);
    ck_assert_int_ne(bc_storable_declared("too-many-tags"), 0);
    /* Causes that may pass with the next request. */
    ck_assert_int_eq(bc_storable_declared("status"), 0);
    ck_assert_int_eq(bc_storable_declared("authorization"), 0);
    ck_assert_int_eq(bc_storable_declared("cookie"), 0);
    ck_assert_int_eq(bc_storable_declared("malformed"), 0);
    ck_assert_int_eq(bc_storable_declared(NULL), 0);
    ck_assert_int_eq(bc_storable_declared(""), 0);
    ck_assert_int_eq(bc_storable_declared("no-stor"), 0);
    ck_assert_int_eq(bc_storable_declared("NO-STORE"), 0);
    /* Every reason the verdict gives is one or the other. */
    ck_assert_int_eq(bc_storable_declared(judge("Set-Cookie: a\r\n\r\n", 0)),
                     1);
    ck_assert_int_eq(bc_storable_declared(judge("\r\n", BC_REQ_AUTHORIZATION)),
                     0);
}
END_TEST

/* RFC 9111 4.2.1 and 5.3: Expires - Date, capped by the endpoint ttl;
 * an invalid Expires is in the past; Cache-Control's lifetime wins. */
START_TEST(test_expires)
{
    static const char *const expired[] = {
        "Expires: Sat, 14 Oct 2023 22:13:20 GMT\r\n\r\n", /* a month ago */
        "Expires: 0\r\n\r\n",
        "Expires: Tue, 14 Nov 23 23:13:20 GMT\r\n\r\n", /* 2-digit year */
        "Expires: Tue, 14 Nov 2023 23:13:20 UTC\r\n\r\n",
        "Expires: Tue, 14 Nov 2023 23:13:20 +0000\r\n\r\n",
        "Expires: soon\r\n\r\n",
        "Expires: Tue, 14 Nov 2023 22:13:20 GMT\r\n\r\n", /* now */
        "Date: Tue, 14 Nov 2023 23:13:20 GMT\r\n"
        "Expires: Tue, 14 Nov 2023 23:13:20 GMT\r\n\r\n", /* = Date */
    };
    for (size_t i = 0; i < sizeof expired / sizeof *expired; i++)
        ck_reason(expired[i], 0, "expired");
    /* An hour ahead: capped by the endpoint's 300 s. */
    ck_stored("Expires: Tue, 14 Nov 2023 23:13:20 GMT\r\n\r\n", 0, 300);
    /* 30 s ahead, in each of the three forms. */
    ck_stored("Expires: Tue, 14 Nov 2023 22:13:50 GMT\r\n\r\n", 0, 30);
    ck_stored("Expires: Tuesday, 14-Nov-23 22:13:50 GMT\r\n\r\n", 0, 30);
    ck_stored("Expires: Tue Nov 14 22:13:50 2023\r\n\r\n", 0, 30);
    /* Against the backend's Date, not bocache's clock. */
    ck_stored("Date: Tue, 14 Nov 2023 22:12:20 GMT\r\n"
              "Expires: Tue, 14 Nov 2023 22:14:20 GMT\r\n\r\n",
              0, 120);
    ck_assert_int_eq(v.age, 60); /* apparent age: NOW - Date */
    /* An invalid Date is the time of arrival. */
    ck_stored("Date: yesterday\r\n"
              "Expires: Tue, 14 Nov 2023 22:13:50 GMT\r\n\r\n",
              0, 30);
    /* max-age and s-maxage win over Expires. */
    ck_stored("Cache-Control: max-age=60\r\n"
              "Expires: Sat, 14 Oct 2023 22:13:20 GMT\r\n\r\n",
              0, 60);
    ck_stored("Expires: 0\r\nCache-Control: s-maxage=20, max-age=60\r\n\r\n", 0,
              20);
}
END_TEST

/* RFC 9111 4.2.3: the age on arrival counts against the lifetime. */
START_TEST(test_age)
{
    ck_stored("Age: 30\r\nCache-Control: max-age=100\r\n\r\n", 0, 100);
    ck_assert_int_eq(v.age, 30);
    ck_reason("Age: 100\r\nCache-Control: max-age=100\r\n\r\n", 0, "expired");
    ck_reason("Age: 200\r\nCache-Control: max-age=100\r\n\r\n", 0, "expired");
    ck_reason("Age: 99999999999\r\n\r\n", 0, "expired");
    ck_reason("Age: 400\r\n\r\n", 0, "expired"); /* endpoint ttl 300 */
    /* Ignored when not delta-seconds. */
    ck_stored("Age: abc\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.age, 0);
    ck_stored("Age: -5\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.age, 0);
    /* The first line wins. */
    ck_stored("Age: 10\r\nAge: 500\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.age, 10);
    ck_reason("Age: 500\r\nAge: 10\r\n\r\n", 0, "expired");
    /* A Date older than the Age says more. */
    ck_stored("Age: 5\r\nDate: Tue, 14 Nov 2023 22:12:20 GMT\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.age, 60);
    /* A Date in the future gives no negative age. */
    ck_stored("Date: Tue, 14 Nov 2023 23:13:20 GMT\r\n\r\n", 0, 300);
    ck_assert_int_eq(v.age, 0);
}
END_TEST

START_TEST(test_age_parse)
{
    ck_assert_int_eq(bc_storable_age("0", 1), 0);
    ck_assert_int_eq(bc_storable_age("30", 2), 30);
    ck_assert_int_eq(bc_storable_age("2147483648", 10), 2147483648L);
    ck_assert_int_eq(bc_storable_age("99999999999999999999", 20), 2147483648L);
    ck_assert_int_eq(bc_storable_age("", 0), -1);
    ck_assert_int_eq(bc_storable_age("-5", 2), -1);
    ck_assert_int_eq(bc_storable_age("3 0", 3), -1);
    ck_assert_int_eq(bc_storable_age("1.5", 3), -1);
    /* Only the given bytes are read. */
    ck_assert_int_eq(bc_storable_age("12x", 2), 12);
}
END_TEST

/* no-cache, must-revalidate and RFC 5861's windows, per entry. */
START_TEST(test_directives)
{
    ep.stale_ttl = 10;
    ck_assert_pstr_eq(judge("Cache-Control: no-cache\r\n\r\n", 0), NULL);
    ck_assert_uint_eq(v.flags, BC_ENTRY_NO_CACHE);
    ck_assert_int_eq(v.stale_ttl, 0);
    ck_assert_int_eq(v.error_ttl, 0);
    /* Stored even when its lifetime is 0: it is revalidated anyway. */
    ck_assert_pstr_eq(judge("Cache-Control: no-cache, max-age=0\r\n\r\n", 0),
                      NULL);
    ck_stored("Cache-Control: max-age=60, must-revalidate\r\n\r\n", 0, 60);
    ck_assert_uint_eq(v.flags, BC_ENTRY_MUST_REVALIDATE);
    ck_assert_int_eq(v.stale_ttl, 0);
    ck_assert_int_eq(v.error_ttl, 0);
    ck_stored("Cache-Control: max-age=60, proxy-revalidate\r\n\r\n", 0, 60);
    ck_assert_uint_eq(v.flags, BC_ENTRY_MUST_REVALIDATE);
    /* The endpoint's window, widened by the response... */
    ck_stored("Cache-Control: max-age=60\r\n\r\n", 0, 60);
    ck_assert_int_eq(v.stale_ttl, 10);
    ck_assert_int_eq(v.error_ttl, 10);
    ck_stored("Cache-Control: max-age=60, stale-while-revalidate=30\r\n\r\n", 0,
              60);
    ck_assert_int_eq(v.stale_ttl, 30);
    ck_assert_int_eq(v.error_ttl, 10);
    ck_stored("Cache-Control: max-age=60, stale-if-error=40\r\n\r\n", 0, 60);
    ck_assert_int_eq(v.stale_ttl, 10);
    ck_assert_int_eq(v.error_ttl, 40);
    /* ...never narrowed by it, and widened at most to the ttl. */
    ck_stored("Cache-Control: max-age=60, stale-while-revalidate=5\r\n\r\n", 0,
              60);
    ck_assert_int_eq(v.stale_ttl, 10);
    ck_stored("Cache-Control: max-age=60, stale-if-error=99999\r\n\r\n", 0, 60);
    ck_assert_int_eq(v.error_ttl, 300);
}
END_TEST

/* RFC 9213: Bocache-Cache-Control is the policy when well-formed. */
START_TEST(test_targeted)
{
    ck_stored("Cache-Control: no-store\r\n"
              "Bocache-Cache-Control: max-age=60\r\n\r\n",
              0, 60);
    ck_reason("Cache-Control: max-age=60\r\n"
              "Bocache-Cache-Control: no-store\r\n\r\n",
              0, "no-store");
    /* It replaces Expires too. */
    ck_stored("Expires: 0\r\nBocache-Cache-Control: max-age=60\r\n\r\n", 0, 60);
    ck_stored("Expires: Tue, 14 Nov 2023 22:13:50 GMT\r\n"
              "Bocache-Cache-Control: public\r\n\r\n",
              0, 300);
    /* A malformed or empty one is as if absent. */
    ck_reason("Cache-Control: no-store\r\n"
              "Bocache-Cache-Control: max-age=60 junk junk\r\n\r\n",
              0, "no-store");
    ck_reason("Cache-Control: no-store\r\nBocache-Cache-Control: \r\n\r\n", 0,
              "no-store");
    /* The first well-formed one counts. */
    ck_stored("Bocache-Cache-Control: ,,junk junk\r\n"
              "Bocache-Cache-Control: max-age=20\r\n"
              "Bocache-Cache-Control: max-age=40\r\n\r\n",
              0, 20);
}
END_TEST

/* RFC 9110 15.1: a listed status that is not heuristically cacheable is
 * stored only with explicit freshness. */
START_TEST(test_statuses)
{
    statuses[0] = 404;
    statuses[1] = 302;
    statuses[2] = 500;
    ep.nstatuses = 3;
    ck_stored("Status: 404 Not Found\r\n\r\n", 0, 300);
    ck_reason("Status: 302 Found\r\n\r\n", 0, "status");
    ck_stored("Status: 302 Found\r\nCache-Control: max-age=60\r\n\r\n", 0, 60);
    ck_stored("Status: 500\r\nCache-Control: s-maxage=5\r\n\r\n", 0, 5);
    ck_stored("Status: 302 Found\r\n"
              "Expires: Tue, 14 Nov 2023 22:13:50 GMT\r\n\r\n",
              0, 30);
    ck_reason("Status: 500\r\nCache-Control: public\r\n\r\n", 0, "status");
    ck_stored("Status: 302\r\nBocache-Cache-Control: max-age=9\r\n\r\n", 0, 9);
}
END_TEST

START_TEST(test_keep)
{
    ep.stale_ttl = 10;
    judge("Cache-Control: max-age=60, stale-if-error=40\r\n\r\n", 0);
    ck_assert_int_eq(bc_storable_keep(&v), 100);
    judge("Cache-Control: no-cache, max-age=0\r\n\r\n", 0);
    ck_assert_int_eq(bc_storable_keep(&v), 1);
    ck_assert_int_eq(v.revalidate_ttl, 0);
    /* A validator keeps it for another endpoint ttl, to be revalidated. */
    judge("Cache-Control: no-cache, max-age=0\r\nETag: \"a\"\r\n\r\n", 0);
    ck_assert_int_eq(v.revalidate_ttl, (long)ep.ttl);
    ck_assert_int_eq(bc_storable_keep(&v), (long)ep.ttl);
    judge("Cache-Control: max-age=60, stale-if-error=40\r\n"
          "Last-Modified: Tue, 14 Nov 2023 22:13:50 GMT\r\n\r\n",
          0);
    ck_assert_int_eq(bc_storable_keep(&v),
                     60 + (ep.ttl > 40 ? (long)ep.ttl : 40));
    /* Not storable: nothing is kept. */
    judge("Cache-Control: no-store\r\nETag: \"a\"\r\n\r\n", 0);
    ck_assert_int_eq(v.revalidate_ttl, 0);
}
END_TEST

Suite *storable_suite(void)
{
    Suite *s = suite_create("storable");
    TCase *tc = tcase_create("response");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plain);
    tcase_add_test(tc, test_status);
    tcase_add_test(tc, test_set_cookie);
    tcase_add_test(tc, test_vary);
    tcase_add_test(tc, test_no_store_private);
    tcase_add_test(tc, test_lifetime);
    tcase_add_test(tc, test_too_large);
    tcase_add_test(tc, test_order);
    suite_add_tcase(s, tc);

    tc = tcase_create("content_length");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_content_length_parse);
    tcase_add_test(tc, test_content_length_head);
    suite_add_tcase(s, tc);

    tc = tcase_create("credentials");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_authorization);
    tcase_add_test(tc, test_cookie);
    suite_add_tcase(s, tc);

    tc = tcase_create("freshness");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_expires);
    tcase_add_test(tc, test_age);
    tcase_add_test(tc, test_age_parse);
    tcase_add_test(tc, test_directives);
    tcase_add_test(tc, test_targeted);
    tcase_add_test(tc, test_keep);
    tcase_add_test(tc, test_statuses);
    suite_add_tcase(s, tc);

    tc = tcase_create("declared");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_declared);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(storable_suite)
