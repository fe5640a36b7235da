/* fuzz_key.c: fuzzes the cache key builder against a configuration built
 * by hand with endpoints of all three key types, vary headers and ignored
 * parameters. The input is split at NUL bytes into the request's path,
 * query and header values. A key is always NUL-terminated within its
 * buffer and BC_KEY_MAX; it has exactly its separators, holds no glob
 * metacharacter, control, space or byte >= 0x80 and no bad percent escape;
 * an api_key identity is the truncated SHA-256 of the API key, and the key
 * depends on the API key through that digest alone, so the key itself never
 * reaches Redis; HEAD maps to the GET key. */
#include <string.h>
#include <strings.h>

#include <nettle/sha2.h>

#include "fuzz.h"
#include "key.h"
#include "uri.h"

#define API_KEY_HEADER "X-Api-Key"
#define PARTNER_HEADER "X-Partner-Id"

/* The request's headers, each NULL when absent. */
enum { H_API_KEY, H_PARTNER, H_ORIGIN, H_LANG, H_OTHER, NHEADERS };
static const char *const header_names[NHEADERS] = {
    API_KEY_HEADER, PARTNER_HEADER, "Origin", "Accept-Language", "X-Other"};

typedef struct {
    const char *values[NHEADERS];
} headers;

static const char *get_header(void *ctx, const char *name, int *count)
{
    headers *h = ctx;
    *count = 0;
    for (int i = 0; i < NHEADERS; i++)
        if (strcasecmp(name, header_names[i]) == 0) {
            *count = h->values[i] != NULL;
            return h->values[i];
        }
    return NULL;
}

static char *sports_vary[] = {"Accept-Language"};
static char *sports_ignore[] = {"_", "cb"};
static char *partner_vary[] = {"X-Other", "accept-language"};
static char *partner_ignore[] = {"partner_id"};
static int statuses[] = {200};

static bc_endpoint endpoints[] = {
    {.path = "/exact",
     .match = BC_MATCH_EXACT,
     .key_type = BC_KEYTYPE_API_KEY,
     .ttl = 60,
     .statuses = statuses,
     .nstatuses = 1,
     .sort_query = 1},
    {.path = "/api/v1/sports/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_API_KEY,
     .ttl = 600,
     .vary = sports_vary,
     .nvary = 1,
     .statuses = statuses,
     .nstatuses = 1,
     .sort_query = 1,
     .ignore_params = sports_ignore,
     .nignore_params = 2},
    {.path = "/p/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_PARTNER_ORIGIN,
     .ttl = 300,
     .vary = partner_vary,
     .nvary = 2,
     .statuses = statuses,
     .nstatuses = 1,
     .sort_query = 1,
     .ignore_params = partner_ignore,
     .nignore_params = 1},
    {.path = "/",
     .match = BC_MATCH_PREFIX,
     .key_type = BC_KEYTYPE_NONE,
     .ttl = 300,
     .statuses = statuses,
     .nstatuses = 1,
     .sort_query = 0},
};

static bc_config *config(void)
{
    static bc_config cfg;
    cfg.file = "<fuzz>";
    cfg.redis.prefix = "bocache";
    cfg.identity.api_key_header = API_KEY_HEADER;
    cfg.identity.partner_id_header = PARTNER_HEADER;
    cfg.identity.partner_id_param = "partner_id";
    cfg.endpoints = endpoints;
    cfg.nendpoints = sizeof endpoints / sizeof endpoints[0];
    return &cfg;
}

static int is_hex_upper(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

static size_t count(const char *s, char c)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == c;
    return n;
}

static void check_key(const bc_config *cfg, const bc_endpoint *ep,
                      const bc_request *req, const headers *h, const char *key)
{
    size_t len = strlen(key);

    FUZZ_CHECK(len > 0 && len < BC_KEY_MAX);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)key[i];
        FUZZ_CHECK(c > 0x20 && c < 0x7f);
        FUZZ_CHECK(strchr("*[]\\#", c) == NULL);
        if (c == '%')
            FUZZ_CHECK(i + 2 < len + 0 && is_hex_upper(key[i + 1]) &&
                       is_hex_upper(key[i + 2]));
    }
    /* PREFIX:TYPE:IDENTITY:PATH[?QUERY][:VARY] */
    FUZZ_CHECK(count(key, ':') == (ep->nvary > 0 ? 4u : 3u));
    FUZZ_CHECK(count(key, '?') <= 1);
    FUZZ_CHECK(strncmp(key, "bocache:", 8) == 0);

    const char *type = key + 8;
    const char *ident = strchr(type, ':') + 1;
    const char *path = strchr(ident, ':') + 1;
    const char *q = strchr(path, '?');
    const char *vary = strchr(path, ':');
    if (q != NULL && vary != NULL)
        FUZZ_CHECK(q < vary);
    FUZZ_CHECK(path[0] == '/');

    switch (ep->key_type) {
    case BC_KEYTYPE_API_KEY: {
        static const char hexd[] = "0123456789abcdef";
        const char *api = h->values[H_API_KEY];
        uint8_t md[SHA256_DIGEST_SIZE];
        struct sha256_ctx ctx;
        char want[2 + 32 + 2];

        FUZZ_CHECK(strncmp(type, "api_key:", 8) == 0);
        FUZZ_CHECK(api != NULL && api[0] != '\0');
        sha256_init(&ctx);
        sha256_update(&ctx, strlen(api), (const uint8_t *)api);
        sha256_digest(&ctx, sizeof md, md);
        want[0] = 'k';
        want[1] = '=';
        for (int i = 0; i < 16; i++) {
            want[2 + 2 * i] = hexd[md[i] >> 4];
            want[3 + 2 * i] = hexd[md[i] & 0xf];
        }
        want[34] = ':';
        want[35] = '\0';
        FUZZ_CHECK(strncmp(ident, want, 35) == 0);
        /* The API key reaches the key only through its digest: the key of
         * the same request with another API key differs in the 32 digest
         * digits alone. */
        {
            headers other = *h;
            bc_request r2 = *req;
            char *k2 = malloc(BC_KEY_MAX);
            const bc_endpoint *ep2;
            size_t off = (size_t)(ident - key) + 2;

            FUZZ_CHECK(k2 != NULL);
            other.values[H_API_KEY] =
                strcmp(api, "another key") == 0 ? "a third key" : "another key";
            r2.ctx = &other;
            FUZZ_CHECK(bc_key_build(cfg, &r2, &ep2, k2, BC_KEY_MAX) ==
                       BC_KEY_OK);
            FUZZ_CHECK(strlen(k2) == strlen(key));
            FUZZ_CHECK(memcmp(k2, key, off) == 0);
            FUZZ_CHECK(memcmp(k2 + off, key + off, 32) != 0);
            FUZZ_CHECK(strcmp(k2 + off + 32, key + off + 32) == 0);
            free(k2);
        }
        break;
    }
    case BC_KEYTYPE_PARTNER_ORIGIN:
        FUZZ_CHECK(strncmp(type, "partner_id_and_origin:p=", 24) == 0);
        FUZZ_CHECK(strstr(ident, ",o=") != NULL);
        FUZZ_CHECK(strstr(ident, ",o=") < path);
        /* Only the one ",o=" separator: values encode ','. */
        FUZZ_CHECK(count(ident, ',') - count(path, ',') == 1);
        break;
    case BC_KEYTYPE_NONE:
        FUZZ_CHECK(strncmp(type, "none:-:", 7) == 0);
        break;
    }

    /* The builder agrees with bc_key_is_entry on what the key and its
     * path are. */
    const char *kp;
    size_t kplen;
    FUZZ_CHECK(bc_key_is_entry(cfg, key, len, &kp, &kplen) == 1);
    FUZZ_CHECK(kp == path);
    FUZZ_CHECK(kplen == (size_t)((q ? q : vary ? vary : key + len) - path));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const bc_config *cfg = config();
    char *copy, *fields[2 + NHEADERS] = {0};
    headers h = {{0}};
    bc_request req;
    const bc_endpoint *ep = NULL, *ep2 = NULL;
    char *key, *key2, *small;
    bc_key_status st, st2;
    unsigned flags;

    if (size < 1 || size > 64 * 1024)
        return 0;
    /* First byte: method and which headers are present. */
    flags = data[0];
    copy = malloc(size);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    /* Fields are separated by NUL bytes; missing ones stay NULL. */
    char *p = copy, *end = copy + size - 1;
    for (int i = 0; i < 2 + NHEADERS && p <= end; i++) {
        fields[i] = p;
        p += strlen(p) + 1;
    }
    if (fields[0] == NULL) {
        free(copy);
        return 0;
    }
    for (int i = 0; i < NHEADERS; i++)
        h.values[i] = (flags >> (i + 2)) & 1 ? NULL : fields[2 + i];

    memset(&req, 0, sizeof req);
    req.method = (flags & 3) == 0 ? "POST" : (flags & 3) == 1 ? "HEAD" : "GET";
    req.path = fields[0];
    req.query = (flags & 0x80) ? NULL : fields[1];
    req.header = get_header;
    req.ctx = &h;

    key = malloc(BC_KEY_MAX);
    key2 = malloc(BC_KEY_MAX);
    FUZZ_CHECK(key && key2);
    memset(key, 'x', BC_KEY_MAX);
    st = bc_key_build(cfg, &req, &ep, key, BC_KEY_MAX);
    FUZZ_CHECK(memchr(key, '\0', BC_KEY_MAX) != NULL);
    int normal = bc_uri_path_normal(req.path, strlen(req.path));
    FUZZ_CHECK(st == BC_KEY_PATH ? ep == NULL
                                 : ep == bc_key_endpoint(cfg, req.path));
    /* Every key is built from a path in normal form. */
    FUZZ_CHECK(st != BC_KEY_OK || normal);
    FUZZ_CHECK(normal || st == BC_KEY_PATH);
    switch (st) {
    case BC_KEY_OK:
        FUZZ_CHECK(ep != NULL);
        check_key(cfg, ep, &req, &h, key);
        break;
    case BC_KEY_NO_ENDPOINT:
        FUZZ_CHECK(ep == NULL && key[0] == '\0');
        break;
    case BC_KEY_METHOD:
        FUZZ_CHECK(strcmp(req.method, "POST") == 0 && key[0] == '\0');
        break;
    case BC_KEY_NO_IDENTITY:
    case BC_KEY_TOO_LONG:
    case BC_KEY_DUPLICATE: /* a partner id in the header and the query */
        FUZZ_CHECK(ep != NULL && key[0] == '\0');
        break;
    case BC_KEY_PATH:
        FUZZ_CHECK(key[0] == '\0');
        break;
    default:
        FUZZ_CHECK(!"unknown status");
    }
    FUZZ_CHECK(bc_key_status_str(st) != NULL);

    /* HEAD and GET share a key. */
    if (strcmp(req.method, "POST") != 0) {
        req.method = req.method[0] == 'H' ? "GET" : "HEAD";
        st2 = bc_key_build(cfg, &req, &ep2, key2, BC_KEY_MAX);
        FUZZ_CHECK(st2 == st && ep2 == ep && strcmp(key, key2) == 0);
    }

    /* A smaller buffer, exactly sized so ASan sees any overrun: the key
     * either fits whole or the build says it is too long. */
    size_t outlen = size > 1 ? (size_t)data[size - 1] % 200 : 0;
    small = malloc(outlen ? outlen : 1);
    FUZZ_CHECK(small != NULL);
    st2 = bc_key_build(cfg, &req, &ep2, small, outlen);
    if (st == BC_KEY_OK) {
        size_t klen = strlen(key);
        if (klen < outlen)
            FUZZ_CHECK(st2 == BC_KEY_OK && strcmp(small, key) == 0);
        else
            FUZZ_CHECK(st2 == BC_KEY_TOO_LONG);
    } else {
        FUZZ_CHECK(st2 == st);
    }
    if (outlen > 0)
        FUZZ_CHECK(memchr(small, '\0', outlen) != NULL);

    /* Every segment encoder output is clean too. */
    size_t seglen = strlen(fields[0]);
    char *seg = malloc(3 * seglen + 1);
    FUZZ_CHECK(seg != NULL);
    size_t n = bc_key_encode_segment(fields[0], seglen, seg, 3 * seglen + 1);
    FUZZ_CHECK(n != (size_t)-1 && n <= 3 * seglen && seg[n] == '\0');
    FUZZ_CHECK(strpbrk(seg, ":*?[]\\# ") == NULL);

    free(seg);
    free(small);
    free(key);
    free(key2);
    free(copy);
    return 0;
}
