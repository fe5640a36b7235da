/* check_key.c: unit tests of endpoint matching, the key builder and the
 * names of bocache's own keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "check_main.h"
#include "key.h"
#include "uri.h"

/* SHA-256 of "secret-key-123" and "other-key", from sha256sum. */
#define HASH_SECRET "dc87f94e8f44b5018e54a588eebeaae6"
#define HASH_OTHER "580843d03d2216ff1a275d0991bad66e"

#define PARTNER_PATH "/api/v1/bet_insights/partner-widgets_settings/"

typedef struct {
    const char *name;
    const char *value;
} hdr;

/* Everything one test needs, built by hand so these tests do not depend on
 * the configuration loader. */
typedef struct {
    bc_config cfg;
    bc_endpoint ep[4];
    hdr h[8];
    size_t nh;
    bc_request req;
    const bc_endpoint *matched;
    char out[BC_KEY_MAX];
} fx;

static const char *lookup(void *ctx, const char *name, int *count)
{
    fx *f = ctx;
    const char *first = NULL;
    *count = 0;
    for (size_t i = 0; i < f->nh; i++)
        if (strcasecmp(f->h[i].name, name) == 0 && (*count)++ == 0)
            first = f->h[i].value;
    return first;
}

static void fx_init(fx *f)
{
    memset(f, 0, sizeof *f);
    f->cfg.redis.prefix = (char *)"bocache";
    f->cfg.identity.api_key_header = (char *)"X-Api-Key";
    f->cfg.identity.partner_id_header = (char *)"X-Partner-Id";
    f->cfg.identity.partner_id_param = (char *)"partner_id";
    f->cfg.endpoints = f->ep;
}

static bc_endpoint *fx_add(fx *f, const char *path, bc_match m, bc_keytype t)
{
    ck_assert_uint_lt(f->cfg.nendpoints, 4);
    bc_endpoint *e = &f->ep[f->cfg.nendpoints++];
    e->path = (char *)path;
    e->match = m;
    e->key_type = t;
    e->ttl = 300;
    e->sort_query = 1;
    return e;
}

static void fx_header(fx *f, const char *name, const char *value)
{
    ck_assert_uint_lt(f->nh, 8);
    f->h[f->nh].name = name;
    f->h[f->nh].value = value;
    f->nh++;
}

static bc_key_status fx_build_n(fx *f, const char *method, const char *path,
                                const char *query, size_t outlen)
{
    f->req.method = method;
    f->req.path = path;
    f->req.query = query;
    f->req.header = lookup;
    f->req.ctx = f;
    f->matched = (const bc_endpoint *)1; /* must be overwritten */
    return bc_key_build(&f->cfg, &f->req, &f->matched, f->out, outlen);
}

static bc_key_status fx_build(fx *f, const char *method, const char *path,
                              const char *query)
{
    return fx_build_n(f, method, path, query, sizeof f->out);
}

/* Builds a GET of PATH?QUERY and checks that the key is EXPECT. */
#define ck_key(f, path, query, expect)                                         \
    do {                                                                       \
        ck_assert_int_eq(fx_build((f), "GET", (path), (query)), BC_KEY_OK);    \
        ck_assert_str_eq((f)->out, (expect));                                  \
    } while (0)

static char *repeat(const char *head, char c, size_t n)
{
    size_t hl = strlen(head);
    char *s = malloc(hl + n + 1);
    ck_assert_ptr_nonnull(s);
    memcpy(s, head, hl);
    memset(s + hl, c, n);
    s[hl + n] = '\0';
    return s;
}

START_TEST(spec_api_key)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/api/v1/sports/", BC_MATCH_PREFIX, BC_KEYTYPE_API_KEY);
    fx_header(&f, "x-api-key", "secret-key-123");
    ck_key(&f, "/api/v1/sports/", "page=2&lang=en",
           "bocache:api_key:k=" HASH_SECRET ":/api/v1/sports/?lang=en&page=2");
    ck_assert_ptr_eq(f.matched, &f.ep[0]);
    ck_assert_ptr_null(strstr(f.out, "secret"));
}
END_TEST

START_TEST(spec_partner)
{
    fx f;
    fx_init(&f);
    fx_add(&f, PARTNER_PATH, BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    fx_header(&f, "X-Partner-Id", "42");
    fx_header(&f, "Origin", "https://w.example.com");
    ck_key(&f, PARTNER_PATH, NULL,
           "bocache:partner_id_and_origin:p=42,o=https%3A//"
           "w.example.com:" PARTNER_PATH);
}
END_TEST

START_TEST(spec_none)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/api/v1/public/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    ck_key(&f, "/api/v1/public/", NULL, "bocache:none:-:/api/v1/public/");
}
END_TEST

START_TEST(match_exact_and_prefix)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/e/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    fx_add(&f, "/p/", BC_MATCH_PREFIX, BC_KEYTYPE_NONE);
    ck_assert_ptr_eq(bc_key_endpoint(&f.cfg, "/e/"), &f.ep[0]);
    ck_assert_ptr_null(bc_key_endpoint(&f.cfg, "/e/x"));
    ck_assert_ptr_null(bc_key_endpoint(&f.cfg, "/e"));
    ck_assert_ptr_eq(bc_key_endpoint(&f.cfg, "/p/"), &f.ep[1]);
    ck_assert_ptr_eq(bc_key_endpoint(&f.cfg, "/p/x/y"), &f.ep[1]);
    ck_assert_ptr_null(bc_key_endpoint(&f.cfg, "/p"));
    ck_assert_ptr_null(bc_key_endpoint(&f.cfg, "/q/"));
    ck_assert_ptr_null(bc_key_endpoint(&f.cfg, NULL));

    ck_assert_int_eq(fx_build(&f, "GET", "/e/x", NULL), BC_KEY_NO_ENDPOINT);
    ck_assert_ptr_null(f.matched);
    ck_assert_str_eq(f.out, "");
    ck_key(&f, "/p/x/y", NULL, "bocache:none:-:/p/x/y");
    ck_assert_ptr_eq(f.matched, &f.ep[1]);
}
END_TEST

START_TEST(match_first_wins)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/api/", BC_MATCH_PREFIX, BC_KEYTYPE_NONE);
    fx_add(&f, "/api/x/", BC_MATCH_EXACT, BC_KEYTYPE_API_KEY);
    ck_key(&f, "/api/x/", NULL, "bocache:none:-:/api/x/");
    ck_assert_ptr_eq(f.matched, &f.ep[0]);
}
END_TEST

START_TEST(method_head_is_get)
{
    fx f;
    char get[BC_KEY_MAX];
    fx_init(&f);
    fx_add(&f, "/a/", BC_MATCH_PREFIX, BC_KEYTYPE_API_KEY);
    fx_header(&f, "X-Api-Key", "secret-key-123");
    ck_assert_int_eq(fx_build(&f, "GET", "/a/b", "x=1"), BC_KEY_OK);
    strcpy(get, f.out);
    ck_assert_int_eq(fx_build(&f, "HEAD", "/a/b", "x=1"), BC_KEY_OK);
    ck_assert_str_eq(f.out, get);
}
END_TEST

START_TEST(method_other)
{
    static const char *const methods[] = {"POST", "PUT",  "DELETE", "PATCH",
                                          "get",  "GETX", ""};
    fx f;
    fx_init(&f);
    fx_add(&f, "/a/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++) {
        ck_assert_int_eq(fx_build(&f, methods[i], "/a/", NULL), BC_KEY_METHOD);
        ck_assert_ptr_eq(f.matched, &f.ep[0]);
        ck_assert_str_eq(f.out, "");
    }
    ck_assert_int_eq(fx_build(&f, NULL, "/a/", NULL), BC_KEY_METHOD);
    /* The endpoint is checked first. */
    ck_assert_int_eq(fx_build(&f, "POST", "/b/", NULL), BC_KEY_NO_ENDPOINT);
    ck_assert_ptr_null(f.matched);
}
END_TEST

START_TEST(identity_missing)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/k/", BC_MATCH_EXACT, BC_KEYTYPE_API_KEY);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    fx_add(&f, "/n/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    fx_header(&f, "Origin", "https://w.example.com");

    ck_assert_int_eq(fx_build(&f, "GET", "/k/", NULL), BC_KEY_NO_IDENTITY);
    ck_assert_ptr_eq(f.matched, &f.ep[0]);
    ck_assert_str_eq(f.out, "");
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", "partner_id="),
                     BC_KEY_NO_IDENTITY);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", "partner_id"),
                     BC_KEY_NO_IDENTITY);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", "partner_idx=1"),
                     BC_KEY_NO_IDENTITY);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_NO_IDENTITY);
    ck_assert_ptr_eq(f.matched, &f.ep[1]);
    ck_key(&f, "/n/", NULL, "bocache:none:-:/n/");

    /* Empty headers are as good as absent. */
    fx_header(&f, "X-Api-Key", "");
    fx_header(&f, "X-Partner-Id", "");
    ck_assert_int_eq(fx_build(&f, "GET", "/k/", NULL), BC_KEY_NO_IDENTITY);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_NO_IDENTITY);

    /* No header callback at all. */
    f.req.header = NULL;
    ck_assert_int_eq(bc_key_build(&f.cfg, &f.req, NULL, f.out, sizeof f.out),
                     BC_KEY_NO_IDENTITY);
}
END_TEST

START_TEST(partner_from_query)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    ck_key(&f, "/p/", "a=1&partner_id=42",
           "bocache:partner_id_and_origin:p=42,o=:/p/?a=1&partner_id=42");
    /* SPEC 4: decoded before it is encoded, so 4%32 is partner 42 and
     * 4%2C2 is the id "4,2", whose comma the identity encodes. */
    ck_key(&f, "/p/", "partner_id=4%32",
           "bocache:partner_id_and_origin:p=42,o=:/p/?partner_id=4%2532");
    ck_key(&f, "/p/", "partner_id=4%2C2",
           "bocache:partner_id_and_origin:p=4%2C2,o=:/p/?partner_id=4%252C2");
    /* '+' is a space to the applications that read the parameter. */
    ck_key(&f, "/p/", "partner_id=4+2",
           "bocache:partner_id_and_origin:p=4%202,o=:/p/?partner_id=4+2");
    /* An empty header falls back to the parameter. */
    fx_header(&f, "X-Partner-Id", "");
    ck_key(&f, "/p/", "partner_id=42",
           "bocache:partner_id_and_origin:p=42,o=:/p/?partner_id=42");
}
END_TEST

/* The backend may read the first copy or the last (Django and PHP read
 * the last): a key may only take a partner id that has one value. */
START_TEST(partner_repeated_param)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", "partner_id=42&partner_id=7"),
                     BC_KEY_DUPLICATE);
    ck_assert_str_eq(f.out, "");
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", "partner_id=42&partner_id=42"),
                     BC_KEY_DUPLICATE);
    /* A longer name that starts alike is another parameter. */
    ck_key(&f, "/p/", "partner_id=42&partner_idx=7",
           "bocache:partner_id_and_origin:p=42,o=:/p/"
           "?partner_id=42&partner_idx=7");
}
END_TEST

START_TEST(partner_header_preferred)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    fx_header(&f, "x-partner-id", "42");
    /* The same partner both ways is one identity ... */
    ck_key(&f, "/p/", "partner_id=4%32",
           "bocache:partner_id_and_origin:p=42,o=:/p/?partner_id=4%2532");
    /* ... two different ones are a request the backend may read either
     * way: not cached. */
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", "partner_id=43"),
                     BC_KEY_DUPLICATE);
}
END_TEST

START_TEST(header_repeated)
{
    static const struct {
        bc_keytype type;
        const char *name;
    } t[] = {{BC_KEYTYPE_API_KEY, "X-Api-Key"},
             {BC_KEYTYPE_PARTNER_ORIGIN, "X-Partner-Id"},
             {BC_KEYTYPE_PARTNER_ORIGIN, "Origin"},
             {BC_KEYTYPE_NONE, "Accept-Language"}};
    static char *vary[] = {"Accept-Language"};
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        fx f;
        fx_init(&f);
        bc_endpoint *e = fx_add(&f, "/p/", BC_MATCH_EXACT, t[i].type);
        e->vary = vary;
        e->nvary = 1;
        fx_header(&f, "X-Api-Key", "k");
        fx_header(&f, "X-Partner-Id", "42");
        fx_header(&f, "Origin", "https://a.example");
        fx_header(&f, "Accept-Language", "en");
        ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_OK);
        /* The same value twice is still two copies. */
        fx_header(&f, t[i].name, i == 0 ? "k" : "other");
        ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_DUPLICATE);
        ck_assert_ptr_eq(f.matched, &f.ep[0]);
        ck_assert_str_eq(f.out, "");
    }
    /* A header the key does not read may repeat. */
    fx f;
    fx_init(&f);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    fx_header(&f, "X-Partner-Id", "42");
    fx_header(&f, "X-Partner-Id", "43");
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_OK);
    /* Repeated request-line variables, whatever the endpoint. */
    f.req.repeated_vars = 1;
    f.req.method = "GET";
    f.req.path = "/p/";
    f.req.header = NULL;
    ck_assert_int_eq(
        bc_key_build(&f.cfg, &f.req, &f.matched, f.out, sizeof f.out),
        BC_KEY_DUPLICATE);
    ck_assert_ptr_null(f.matched);
}
END_TEST

START_TEST(partner_separators_encoded)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    fx_header(&f, "X-Partner-Id", "4:2,o=x");
    fx_header(&f, "Origin", "a,b");
    ck_key(&f, "/p/", NULL,
           "bocache:partner_id_and_origin:p=4%3A2%2Co=x,o=a%2Cb:/p/");
}
END_TEST

START_TEST(identity_isolation)
{
    fx f;
    char a[BC_KEY_MAX], b[BC_KEY_MAX];
    fx_init(&f);
    fx_add(&f, "/k/", BC_MATCH_EXACT, BC_KEYTYPE_API_KEY);
    fx_add(&f, "/p/", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);

    fx_header(&f, "X-Api-Key", "secret-key-123");
    ck_key(&f, "/k/", NULL, "bocache:api_key:k=" HASH_SECRET ":/k/");
    f.h[0].value = "other-key";
    ck_key(&f, "/k/", NULL, "bocache:api_key:k=" HASH_OTHER ":/k/");
    ck_assert_ptr_null(strstr(f.out, "other-key"));

    f.nh = 0;
    fx_header(&f, "X-Partner-Id", "42");
    ck_key(&f, "/p/", NULL, "bocache:partner_id_and_origin:p=42,o=:/p/");
    fx_header(&f, "Origin", "https://a.example.com");
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_OK);
    strcpy(a, f.out);
    f.h[1].value = "https://b.example.com";
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_OK);
    strcpy(b, f.out);
    ck_assert_str_ne(a, b);
    ck_assert_str_ne(a, "bocache:partner_id_and_origin:p=42,o=:/p/");
    f.h[0].value = "43";
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_OK);
    ck_assert_str_ne(f.out, b);
}
END_TEST

START_TEST(query_sorting)
{
    fx f;
    fx_init(&f);
    bc_endpoint *e = fx_add(&f, "/q/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    ck_key(&f, "/q/", "b=1&a=2&c=3", "bocache:none:-:/q/?a=2&b=1&c=3");
    /* Stable: repeated names keep the client's order. */
    ck_key(&f, "/q/", "a=2&b=0&a=1", "bocache:none:-:/q/?a=2&a=1&b=0");
    ck_key(&f, "/q/", "a=2&a=1", "bocache:none:-:/q/?a=2&a=1");
    ck_key(&f, "/q/", "z&a=9&a", "bocache:none:-:/q/?a=9&a&z");
    /* By name only, bytewise, a name before its extensions. */
    ck_key(&f, "/q/", "ab=1&a=2&B=3", "bocache:none:-:/q/?B=3&a=2&ab=1");
    /* Empty parameters are dropped. */
    ck_key(&f, "/q/", "&b=1&&a=2&", "bocache:none:-:/q/?a=2&b=1");

    e->sort_query = 0;
    ck_key(&f, "/q/", "b=1&a=2&c=3", "bocache:none:-:/q/?b=1&a=2&c=3");
    ck_key(&f, "/q/", "&b=1&&a=2&", "bocache:none:-:/q/?b=1&a=2");
}
END_TEST

START_TEST(query_ignore_params)
{
    static char *ignore[] = {"utm_source", "_"};
    fx f;
    fx_init(&f);
    bc_endpoint *e = fx_add(&f, "/q/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    e->ignore_params = ignore;
    e->nignore_params = 2;
    ck_key(&f, "/q/", "utm_source=x&page=2&utm_source&_=123",
           "bocache:none:-:/q/?page=2");
    /* Exact byte comparison of the name only. */
    ck_key(&f, "/q/", "UTM_SOURCE=1&utm_sourcex=2&x=utm_source",
           "bocache:none:-:/q/?UTM_SOURCE=1&utm_sourcex=2&x=utm_source");
    ck_key(&f, "/q/", "_=1&utm_source=2", "bocache:none:-:/q/");
}
END_TEST

START_TEST(query_empty)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/q/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    ck_key(&f, "/q/", NULL, "bocache:none:-:/q/");
    ck_key(&f, "/q/", "", "bocache:none:-:/q/");
    ck_key(&f, "/q/", "&&&", "bocache:none:-:/q/");
    ck_key(&f, "/q/", "=", "bocache:none:-:/q/?=");
}
END_TEST

START_TEST(query_encoded)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/q/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    ck_key(&f, "/q/", "t=a:b*c?d#e f%20",
           "bocache:none:-:/q/?t=a%3Ab%2Ac%3Fd%23e%20f%2520");
}
END_TEST

START_TEST(vary_headers)
{
    static char *vary[] = {"Accept-Language", "X-Device"};
    static char *reversed[] = {"X-Device", "Accept-Language"};
    fx f;
    fx_init(&f);
    bc_endpoint *e = fx_add(&f, "/v/", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    e->vary = vary;
    e->nvary = 2;
    fx_header(&f, "x-device", "mobile");
    fx_header(&f, "accept-language", "en-US,en;q=0.9");
    ck_key(&f, "/v/", "a=1",
           "bocache:none:-:/v/?a=1:accept-language=en-US%2Cen;q=0.9,"
           "x-device=mobile");
    e->vary = reversed;
    ck_key(&f, "/v/", NULL,
           "bocache:none:-:/v/:x-device=mobile,"
           "accept-language=en-US%2Cen;q=0.9");
    f.nh = 1;
    ck_key(&f, "/v/", NULL,
           "bocache:none:-:/v/:x-device=mobile,accept-language=");
    f.nh = 0;
    ck_key(&f, "/v/", NULL, "bocache:none:-:/v/:x-device=,accept-language=");
    fx_header(&f, "X-Device", "a:b*");
    ck_key(&f, "/v/", NULL,
           "bocache:none:-:/v/:x-device=a%3Ab%2A,accept-language=");
}
END_TEST

START_TEST(encode_each_byte)
{
    char out[8];
    for (unsigned c = 1; c < 256; c++) {
        char in = (char)c;
        int special = c < 0x20 || c >= 0x7f || c == ' ' || c == '%' ||
                      c == ':' || c == '*' || c == '?' || c == '[' ||
                      c == ']' || c == '\\' || c == '#';
        size_t n = bc_key_encode_segment(&in, 1, out, sizeof out);
        if (special) {
            char want[4];
            snprintf(want, sizeof want, "%%%02X", c);
            ck_assert_uint_eq(n, 3);
            ck_assert_str_eq(out, want);
        } else {
            ck_assert_uint_eq(n, 1);
            ck_assert_int_eq(out[0], in);
            ck_assert_int_eq(out[1], '\0');
        }
    }
    ck_assert_uint_eq(bc_key_encode_segment("\0", 1, out, sizeof out), 3);
    ck_assert_str_eq(out, "%00");
}
END_TEST

START_TEST(encode_segment_bounds)
{
    char out[32];
    ck_assert_uint_eq(
        bc_key_encode_segment("https://w.example.com", 21, out, sizeof out),
        23);
    ck_assert_str_eq(out, "https%3A//w.example.com");
    ck_assert_uint_eq(bc_key_encode_segment("a&b=c,d/e", 9, out, sizeof out),
                      9);
    ck_assert_str_eq(out, "a&b=c,d/e");
    ck_assert_uint_eq(bc_key_encode_segment("\xff\x80", 2, out, sizeof out), 6);
    ck_assert_str_eq(out, "%FF%80");
    ck_assert_uint_eq(bc_key_encode_segment("", 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "");

    /* Exactly fitting, one byte short, and no room at all. */
    ck_assert_uint_eq(bc_key_encode_segment("a:", 2, out, 5), 4);
    ck_assert_str_eq(out, "a%3A");
    ck_assert_uint_eq(bc_key_encode_segment("a:", 2, out, 4), (size_t)-1);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(bc_key_encode_segment("abc", 3, out, 3), (size_t)-1);
    ck_assert_str_eq(out, "");
    out[0] = 'x';
    ck_assert_uint_eq(bc_key_encode_segment("a", 1, out, 0), (size_t)-1);
    ck_assert_int_eq(out[0], 'x');
}
END_TEST

START_TEST(glob_chars_encoded)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/p/", BC_MATCH_PREFIX, BC_KEYTYPE_PARTNER_ORIGIN);
    fx_header(&f, "X-Partner-Id", "42");
    fx_header(&f, "Origin", "https://[::1]");
    /* A '\\' in the path is not normal form (SPEC 4.1); in the query it
     * is encoded like the rest. */
    ck_key(&f, "/p/*4?[2]#", "x=*&y=?\\",
           "bocache:partner_id_and_origin:p=42,o=https%3A//%5B%3A%3A1%5D:"
           "/p/%2A4%3F%5B2%5D%23?x=%2A&y=%3F%5C");
    /* Only the '?' that starts QUERY is left. */
    ck_assert_ptr_null(strpbrk(f.out, "*[]\\#"));
    ck_assert_ptr_eq(strchr(f.out, '?'), strrchr(f.out, '?'));
}
END_TEST

START_TEST(too_long_small_outlen)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/n/", BC_MATCH_PREFIX, BC_KEYTYPE_NONE);
    const char *want = "bocache:none:-:/n/x";
    size_t len = strlen(want);

    ck_assert_int_eq(fx_build_n(&f, "GET", "/n/x", NULL, len + 1), BC_KEY_OK);
    ck_assert_str_eq(f.out, want);
    memset(f.out, 'z', sizeof f.out);
    ck_assert_int_eq(fx_build_n(&f, "GET", "/n/x", NULL, len), BC_KEY_TOO_LONG);
    ck_assert_str_eq(f.out, "");
    /* Nothing written past OUTLEN. */
    ck_assert_int_eq(f.out[len], 'z');
    ck_assert_int_eq(fx_build_n(&f, "GET", "/n/x", NULL, 1), BC_KEY_TOO_LONG);
    ck_assert_str_eq(f.out, "");
    ck_assert_int_eq(fx_build_n(&f, "GET", "/n/x", "a=1", len + 1),
                     BC_KEY_TOO_LONG);
    f.out[0] = 'z';
    ck_assert_int_eq(fx_build_n(&f, "GET", "/n/x", NULL, 0), BC_KEY_TOO_LONG);
    ck_assert_int_eq(f.out[0], 'z');
    ck_assert_ptr_eq(f.matched, &f.ep[0]);
}
END_TEST

START_TEST(too_long_at_key_max)
{
    static char big[2 * BC_KEY_MAX];
    fx f;
    fx_init(&f);
    fx_add(&f, "/n/", BC_MATCH_PREFIX, BC_KEYTYPE_NONE);
    size_t head = strlen("bocache:none:-:");

    /* BC_KEY_MAX - 1 bytes fit even when OUTLEN is larger; one more does
     * not. */
    char *path = repeat("/n/", 'a', BC_KEY_MAX - 1 - head - 3);
    f.req = (bc_request){"GET", path, NULL, lookup, &f, NULL, 0};
    ck_assert_int_eq(bc_key_build(&f.cfg, &f.req, NULL, big, sizeof big),
                     BC_KEY_OK);
    ck_assert_uint_eq(strlen(big), BC_KEY_MAX - 1);
    f.req.query = "b";
    ck_assert_int_eq(bc_key_build(&f.cfg, &f.req, NULL, big, sizeof big),
                     BC_KEY_TOO_LONG);
    ck_assert_str_eq(big, "");
    free(path);

    /* Encoding triples a byte: a path that fits raw may not fit encoded. */
    path = repeat("/n/", ':', BC_KEY_MAX / 3);
    ck_assert_int_eq(fx_build(&f, "GET", path, NULL), BC_KEY_TOO_LONG);
    free(path);
}
END_TEST

START_TEST(too_long_huge_input)
{
    static char *vary[] = {"X-V"};
    fx f;
    fx_init(&f);
    bc_endpoint *e = fx_add(&f, "/n/", BC_MATCH_PREFIX, BC_KEYTYPE_NONE);
    fx_add(&f, "/p/", BC_MATCH_PREFIX, BC_KEYTYPE_PARTNER_ORIGIN);
    size_t huge = 4u << 20;

    char *s = repeat("/n/", '*', huge);
    ck_assert_int_eq(fx_build(&f, "GET", s, NULL), BC_KEY_TOO_LONG);
    free(s);

    /* A huge query: long, many parameters, or all dropped. */
    s = repeat("a=", 'x', huge);
    ck_assert_int_eq(fx_build(&f, "GET", "/n/", s), BC_KEY_TOO_LONG);
    memset(s, '&', strlen(s));
    ck_assert_int_eq(fx_build(&f, "GET", "/n/", s), BC_KEY_OK);
    ck_assert_str_eq(f.out, "bocache:none:-:/n/");
    for (size_t i = 0; i + 1 < huge; i += 2)
        s[i] = 'a';
    ck_assert_int_eq(fx_build(&f, "GET", "/n/", s), BC_KEY_TOO_LONG);

    /* Past the stack bound of kept parameters, even though it would fit. */
    char many[257 * 2];
    for (size_t i = 0; i < 257; i++) {
        many[2 * i] = 'a';
        many[2 * i + 1] = '&';
    }
    many[sizeof many - 1] = '\0';
    ck_assert_int_eq(fx_build(&f, "GET", "/n/", many), BC_KEY_TOO_LONG);
    many[2 * 256 - 1] = '\0';
    ck_assert_int_eq(fx_build(&f, "GET", "/n/", many), BC_KEY_OK);

    /* Huge header values. */
    memset(s, 'v', huge);
    e->vary = vary;
    e->nvary = 1;
    fx_header(&f, "X-V", s);
    ck_assert_int_eq(fx_build(&f, "GET", "/n/", NULL), BC_KEY_TOO_LONG);
    f.nh = 0;
    fx_header(&f, "X-Partner-Id", s);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_TOO_LONG);
    f.h[0].value = "42";
    fx_header(&f, "Origin", s);
    ck_assert_int_eq(fx_build(&f, "GET", "/p/", NULL), BC_KEY_TOO_LONG);
    free(s);
}
END_TEST

/* SPEC 4.1: the paths a key may be built from. */
START_TEST(path_normal_form)
{
    static const struct {
        const char *path;
        int normal;
    } t[] = {
        {"/", 1},
        {"/api/v1/public/", 1},
        {"/api/v1/public/x", 1},
        {"/a/b.c/.d/..e/e..", 1},
        {"/a%20b/%41", 1},
        {"/a%25/", 1},
        {"", 0},
        {"api/", 0},
        {"http://h/api/", 0},
        {"/api/v1/public/%2e%2e/account", 0},
        {"/api/v1/public/%2E%2E/account", 0},
        {"/api/v1/public/../account", 0},
        {"/a/./b", 0},
        {"/a/%2e/b", 0},
        {"/a/.%2e/b", 0},
        {"/a/%2e./b", 0},
        {"/a/..", 0},
        {"/a/.", 0},
        {"/.", 0},
        {"/..", 0},
        {"/a//b", 0},
        {"//a", 0},
        {"/a//", 0},
        {"//", 0},
        {"/a;b", 0},
        {"/a/;jsessionid=1", 0},
        {"/a\\b", 0},
        {"/a%2fb", 0},
        {"/a%2Fb", 0},
        {"/a%5cb", 0},
        {"/a%5Cb", 0},
        {"/a%00b", 0},
        {"/a%", 0},
        {"/a%2", 0},
        {"/a%zz", 0},
        {"/a%2g", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        ck_assert_msg(bc_uri_path_normal(t[i].path, strlen(t[i].path)) ==
                          t[i].normal,
                      "%s: expected %s", t[i].path,
                      t[i].normal ? "normal" : "not normal");
    /* The length is what counts, not a NUL. */
    ck_assert_int_eq(bc_uri_path_normal("/a/..", 3), 1);
    ck_assert_int_eq(bc_uri_path_normal("/a\0b", 4), 0);
}
END_TEST

START_TEST(path_document_uri)
{
    static const struct {
        const char *path, *doc;
        int same;
    } t[] = {
        {"/api/v1/x", "/api/v1/x", 1},
        {"/a%20b", "/a b", 1},
        {"/a%41", "/aA", 1},
        {"/a%2B", "/a+", 1},
        {"/a", "/a/", 0},
        {"/a/", "/a", 0},
        {"/api/v1/public/x", "/api/v1/account", 0},
        {"/index.php", "/index.php/x", 0},
        {"/", "/index.php", 0},
        {"/a%20b", "/a%20b", 0},
        {"/ab", "/a", 0},
        {"/a", "", 0},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++)
        ck_assert_msg(bc_uri_path_is_document(t[i].path, strlen(t[i].path),
                                              t[i].doc) == t[i].same,
                      "%s vs %s", t[i].path, t[i].doc);
}
END_TEST

START_TEST(path_bypass_in_build)
{
    fx f;
    fx_init(&f);
    fx_add(&f, "/api/v1/public/", BC_MATCH_PREFIX, BC_KEYTYPE_NONE);
    ck_assert_int_eq(fx_build(&f, "GET", "/api/v1/public/%2e%2e/account", NULL),
                     BC_KEY_PATH);
    ck_assert_ptr_null(f.matched);
    ck_assert_str_eq(f.out, "");
    /* Before the method: a POST to such a path says so too. */
    ck_assert_int_eq(fx_build(&f, "POST", "/api/v1/public//x", NULL),
                     BC_KEY_PATH);
    /* The web server's DOCUMENT_URI must be the decoded path. */
    f.req.document_uri = "/api/v1/account";
    ck_assert_int_eq(fx_build(&f, "GET", "/api/v1/public/x", NULL),
                     BC_KEY_PATH);
    f.req.document_uri = "/api/v1/public/x y";
    ck_key(&f, "/api/v1/public/x%20y", NULL,
           "bocache:none:-:/api/v1/public/x%2520y");
    f.req.document_uri = NULL;
    ck_key(&f, "/api/v1/public/x", NULL, "bocache:none:-:/api/v1/public/x");
}
END_TEST

START_TEST(query_decode)
{
    char out[16];
    ck_assert_uint_eq(bc_uri_query_decode("4%32", 4, out, sizeof out), 2);
    ck_assert_str_eq(out, "42");
    ck_assert_uint_eq(bc_uri_query_decode("a+b%2", 5, out, sizeof out), 5);
    ck_assert_str_eq(out, "a b%2");
    ck_assert_uint_eq(bc_uri_query_decode("%zz%", 4, out, sizeof out), 4);
    ck_assert_str_eq(out, "%zz%");
    ck_assert_uint_eq(bc_uri_query_decode("", 0, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    ck_assert_uint_eq(bc_uri_query_decode("%00", 3, out, sizeof out), 1);
    ck_assert_int_eq(out[0], '\0');
    ck_assert_uint_eq(bc_uri_query_decode("abc", 3, out, 3), (size_t)-1);
    ck_assert_uint_eq(bc_uri_query_decode("abc", 3, out, 4), 3);
    ck_assert_uint_eq(bc_uri_query_decode("", 0, out, 0), (size_t)-1);
}
END_TEST

START_TEST(reads_header)
{
    fx f;
    fx_init(&f);
    static char *vary[] = {"Accept-Language"};
    bc_endpoint *a = fx_add(&f, "/a", BC_MATCH_EXACT, BC_KEYTYPE_API_KEY);
    bc_endpoint *p =
        fx_add(&f, "/p", BC_MATCH_EXACT, BC_KEYTYPE_PARTNER_ORIGIN);
    bc_endpoint *n = fx_add(&f, "/n", BC_MATCH_EXACT, BC_KEYTYPE_NONE);
    n->vary = vary;
    n->nvary = 1;
    ck_assert(bc_key_reads_header(&f.cfg, a, "x-api-key", 9));
    ck_assert(!bc_key_reads_header(&f.cfg, a, "x-api-ke", 8));
    ck_assert(!bc_key_reads_header(&f.cfg, a, "Origin", 6));
    ck_assert(bc_key_reads_header(&f.cfg, p, "X-Partner-Id", 12));
    ck_assert(bc_key_reads_header(&f.cfg, p, "origin", 6));
    ck_assert(!bc_key_reads_header(&f.cfg, p, "X-Api-Key", 9));
    ck_assert(bc_key_reads_header(&f.cfg, n, "accept-language", 15));
    ck_assert(!bc_key_reads_header(&f.cfg, n, "Cookie", 6));
    f.cfg.identity.api_key_header = (char *)"Authorization";
    ck_assert(bc_key_reads_header(&f.cfg, a, "authorization", 13));
}
END_TEST

START_TEST(status_strings)
{
    static const struct {
        bc_key_status st;
        const char *token;
    } t[] = {{BC_KEY_OK, "ok"},
             {BC_KEY_NO_ENDPOINT, "no-endpoint"},
             {BC_KEY_METHOD, "method"},
             {BC_KEY_NO_IDENTITY, "no-identity"},
             {BC_KEY_TOO_LONG, "key-too-long"},
             {BC_KEY_DUPLICATE, "duplicate-header"},
             {BC_KEY_PATH, "path"}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        ck_assert_str_eq(bc_key_status_token(t[i].st), t[i].token);
        ck_assert_ptr_nonnull(bc_key_status_str(t[i].st));
        ck_assert_uint_gt(strlen(bc_key_status_str(t[i].st)), 0);
    }
    ck_assert_str_eq(bc_key_status_str(BC_KEY_NO_ENDPOINT),
                     "no endpoint matches the path");
    ck_assert_str_eq(bc_key_status_token((bc_key_status)99), "unknown");
}
END_TEST

/* ---- bocache's own keys ---- */

/* Every own key's exact name, as Redis holds it today: a change here is a
 * change of the keyspace, which older gateways and operators' scripts
 * read. */
START_TEST(own_key_names)
{
    fx f;
    fx_init(&f);
    char out[BC_KEY_INTERNAL_MAX];
    const char *key = "bocache:none:-:/a?b=1";
    ck_assert_int_eq(bc_key_lease(&f.cfg, key, strlen(key), out, sizeof out),
                     0);
    ck_assert_str_eq(out, "bocache:#lease:bocache:none:-:/a?b=1");
    ck_assert_int_eq(bc_key_lease_set(&f.cfg, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#leasez");
    ck_assert_int_eq(
        bc_key_fill(&f.cfg, key, strlen(key), "00ff-7", out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#fill:00ff-7");
    /* A tag is encoded as a segment; a path is taken as keys hold it. */
    ck_assert_int_eq(bc_key_tag_index(&f.cfg, "a:b c", 5, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#tagz:a%3Ab%20c");
    ck_assert_int_eq(bc_key_path_index(&f.cfg, "/x%25y/", 7, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "bocache:#pathz:/x%25y/");
    ck_assert_int_eq(bc_key_message_id(&f.cfg, "ab:*", out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#id:ab%3A%2A");
    ck_assert_int_eq(bc_key_stats(&f.cfg, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#stats");
    ck_assert_int_eq(bc_key_all_pattern(&f.cfg, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:*");
}
END_TEST

/* The older versions' SET names, still read during an upgrade: the path
 * is encoded once more, as those versions did. */
START_TEST(legacy_key_names)
{
    fx f;
    fx_init(&f);
    char out[BC_KEY_MAX];
    ck_assert_int_eq(bc_key_legacy_lease_set(&f.cfg, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#leases");
    ck_assert_int_eq(
        bc_key_legacy_tag_index(&f.cfg, "a:b c", 5, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#tag:a%3Ab%20c");
    ck_assert_int_eq(
        bc_key_legacy_path_index(&f.cfg, "/x%25y/", 7, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#path:/x%2525y/");
}
END_TEST

/* Each builder fills its buffer exactly or fails with "": never a
 * truncated name, which could be another key's. */
START_TEST(own_key_names_fit_or_fail)
{
    fx f;
    fx_init(&f);
    char out[32];
    /* "bocache:#leasez" is 15 bytes: 16 fit it, 15 do not. */
    ck_assert_int_eq(bc_key_lease_set(&f.cfg, out, 16), 0);
    ck_assert_str_eq(out, "bocache:#leasez");
    ck_assert_int_eq(bc_key_lease_set(&f.cfg, out, 15), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(bc_key_stats(&f.cfg, out, 0), -1);
    ck_assert_int_eq(
        bc_key_tag_index(&f.cfg, "xxxxxxxxxxxxxxxxxxxx", 20, out, sizeof out),
        -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(bc_key_all_pattern(&f.cfg, out, 9), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(bc_key_all_pattern(&f.cfg, out, 10), 0);
}
END_TEST

/* The lease of the longest key under the longest prefix fits
 * BC_KEY_INTERNAL_MAX, and its entry key is found in it again. */
START_TEST(lease_name_round_trip)
{
    fx f;
    fx_init(&f);
    static char prefix[65], key[BC_KEY_MAX], out[BC_KEY_INTERNAL_MAX];
    memset(prefix, 'p', 64);
    f.cfg.redis.prefix = prefix;
    size_t n = (size_t)snprintf(key, sizeof key, "%s:none:-:/", prefix);
    memset(key + n, 'q', BC_KEY_MAX - 1 - n);
    size_t klen = BC_KEY_MAX - 1;
    ck_assert_int_eq(bc_key_lease(&f.cfg, key, klen, out, sizeof out), 0);
    ck_assert_uint_eq(strlen(out), 64 + strlen(":#lease:") + klen);
    size_t elen = 0;
    const char *e = bc_key_lease_entry(&f.cfg, out, strlen(out), &elen);
    ck_assert_ptr_eq(e, out + 64 + strlen(":#lease:"));
    ck_assert_uint_eq(elen, klen);
    ck_assert_int_eq(memcmp(e, key, klen), 0);
    /* Not lease names: another kind, another prefix, nothing after. */
    static const char *const not_leases[] = {
        "bocache:#leasez", "bocache:#lease:", "other:#lease:bocache:none:-:/",
        "bocache:none:-:/", "boc"};
    fx_init(&f);
    for (size_t i = 0; i < sizeof not_leases / sizeof *not_leases; i++)
        ck_assert_ptr_null(bc_key_lease_entry(&f.cfg, not_leases[i],
                                              strlen(not_leases[i]), &elen));
}
END_TEST

START_TEST(internal_keys_told_apart)
{
    fx f;
    fx_init(&f);
    static const char *const own[] = {"bocache:#leasez", "bocache:#stats",
                                      "bocache:#tagz:x",
                                      "bocache:#lease:bocache:none:-:/a"};
    static const char *const not_own[] = {"bocache:none:-:/a",
                                          "bocachex:#stats", "other:#stats",
                                          "bocache", "bocache:"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
        ck_assert(bc_key_is_internal(&f.cfg, own[i], strlen(own[i])));
        ck_assert(!bc_key_is_entry(&f.cfg, own[i], strlen(own[i]), NULL, NULL));
    }
    for (size_t i = 0; i < sizeof not_own / sizeof *not_own; i++)
        ck_assert_msg(
            !bc_key_is_internal(&f.cfg, not_own[i], strlen(not_own[i])), "%s",
            not_own[i]);
}
END_TEST

Suite *key_suite(void);

Suite *key_suite(void)
{
    Suite *s = suite_create("key");
    TCase *tc;

    tc = tcase_create("spec");
    tcase_add_test(tc, spec_api_key);
    tcase_add_test(tc, spec_partner);
    tcase_add_test(tc, spec_none);
    suite_add_tcase(s, tc);

    tc = tcase_create("match");
    tcase_add_test(tc, match_exact_and_prefix);
    tcase_add_test(tc, match_first_wins);
    tcase_add_test(tc, method_head_is_get);
    tcase_add_test(tc, method_other);
    suite_add_tcase(s, tc);

    tc = tcase_create("identity");
    tcase_add_test(tc, identity_missing);
    tcase_add_test(tc, partner_from_query);
    tcase_add_test(tc, partner_repeated_param);
    tcase_add_test(tc, partner_header_preferred);
    tcase_add_test(tc, header_repeated);
    tcase_add_test(tc, partner_separators_encoded);
    tcase_add_test(tc, identity_isolation);
    suite_add_tcase(s, tc);

    tc = tcase_create("query");
    tcase_add_test(tc, query_sorting);
    tcase_add_test(tc, query_ignore_params);
    tcase_add_test(tc, query_empty);
    tcase_add_test(tc, query_encoded);
    tcase_add_test(tc, vary_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("path");
    tcase_add_test(tc, path_normal_form);
    tcase_add_test(tc, path_document_uri);
    tcase_add_test(tc, path_bypass_in_build);
    tcase_add_test(tc, query_decode);
    tcase_add_test(tc, reads_header);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_test(tc, encode_each_byte);
    tcase_add_test(tc, encode_segment_bounds);
    tcase_add_test(tc, glob_chars_encoded);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, too_long_small_outlen);
    tcase_add_test(tc, too_long_at_key_max);
    tcase_add_test(tc, too_long_huge_input);
    tcase_add_test(tc, status_strings);
    suite_add_tcase(s, tc);

    tc = tcase_create("own keys");
    tcase_add_test(tc, own_key_names);
    tcase_add_test(tc, legacy_key_names);
    tcase_add_test(tc, own_key_names_fit_or_fail);
    tcase_add_test(tc, lease_name_round_trip);
    tcase_add_test(tc, internal_keys_told_apart);
    suite_add_tcase(s, tc);

    return s;
}

BC_CHECK_MAIN(key_suite)
