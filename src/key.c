/* key.c: endpoint matching and the cache key builder (SPEC section 4). */
#include <assert.h>
#include <string.h>
#include <strings.h>

#include <nettle/sha2.h>

#include "key.h"
#include "uri.h"

/* More kept query parameters than this are not worth sorting on the stack of
 * every request; such a request is forwarded uncached like any other key
 * that is too long. */
#define MAX_PARAMS 256

/* Only the first 16 bytes (32 hex digits) of the SHA-256 go into the key:
 * enough to keep callers apart, and the key itself never leaves bocache. */
#define API_KEY_HASH_BYTES 16

/* Flags of put_enc. ',' separates fields inside the IDENTITY and VARY
 * segments, so values placed there encode it too, which keeps two
 * different identities (or vary headers) from ever sharing a key. */
enum { ENC_COMMA = 1, ENC_LOWER = 2 };

/* A bounded output buffer. Once something does not fit, FULL is set and
 * every later write is dropped, so callers check once at the end. */
typedef struct {
    char *buf;
    size_t cap; /* bytes available, the NUL included; always > 0 */
    size_t len;
    int full;
} writer;

/* One query parameter: its bytes and the length of its name. */
typedef struct {
    const char *p;
    size_t len;
    size_t nlen;
} param;

static const char hex_upper[] = "0123456789ABCDEF";
static const char hex_lower[] = "0123456789abcdef";

static void put(writer *w, const char *s, size_t n)
{
    if (w->full)
        return;
    /* len < cap always holds, so the subtraction cannot wrap; one byte is
     * kept for the NUL. */
    if (n >= w->cap - w->len) {
        w->full = 1;
        return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

static void put_str(writer *w, const char *s)
{
    put(w, s, strlen(s));
}

static int must_encode(unsigned char c, unsigned flags)
{
    if (c < 0x20 || c >= 0x7f || c == ' ')
        return 1;
    switch (c) {
    case '%':
    case ':':
    case '*':
    case '?':
    case '[':
    case ']':
    case '\\':
    case '#':
        return 1;
    case ',':
        return (flags & ENC_COMMA) != 0;
    default:
        return 0;
    }
}

static void put_enc(writer *w, const char *s, size_t n, unsigned flags)
{
    for (size_t i = 0; i < n && !w->full; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((flags & ENC_LOWER) && c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (must_encode(c, flags)) {
            char e[3] = {'%', hex_upper[c >> 4], hex_upper[c & 0xf]};
            put(w, e, sizeof e);
        } else {
            char ch = (char)c;
            put(w, &ch, 1);
        }
    }
}

size_t bc_key_encode_segment(const char *src, size_t len, char *out,
                             size_t outlen)
{
    if (outlen == 0)
        return (size_t)-1;
    writer w = {out, outlen, 0, 0};
    put_enc(&w, src, len, 0);
    if (w.full) {
        out[0] = '\0';
        return (size_t)-1;
    }
    out[w.len] = '\0';
    return w.len;
}

static int path_matches(const bc_endpoint *ep, const char *path)
{
    if (ep->path == NULL)
        return 0;
    if (ep->match == BC_MATCH_PREFIX)
        return strncmp(path, ep->path, strlen(ep->path)) == 0;
    return strcmp(path, ep->path) == 0;
}

const bc_endpoint *bc_key_endpoint(const bc_config *cfg, const char *path)
{
    if (cfg == NULL || path == NULL)
        return NULL;
    for (size_t i = 0; i < cfg->nendpoints; i++)
        if (path_matches(&cfg->endpoints[i], path))
            return &cfg->endpoints[i];
    return NULL;
}

/* The value of header NAME, or NULL when it, or the lookup, is missing.
 * A header that came more than once sets *REPEATED. */
static const char *header(const bc_request *req, const char *name,
                          int *repeated)
{
    int count = 0;
    if (req->header == NULL || name == NULL || name[0] == '\0')
        return NULL;
    const char *v = req->header(req->ctx, name, &count);
    if (count > 1)
        *repeated = 1;
    return v;
}

static size_t name_len(const char *p, size_t len)
{
    const char *eq = memchr(p, '=', len);
    return eq ? (size_t)(eq - p) : len;
}

/* Finds the first parameter of QUERY named NAME; sets *VAL and *VLEN to its
 * raw value (empty when it has no '='). Returns how many parameters have
 * that name: applications read the last copy or the first, so a key may
 * only take one when it is the only one. */
static int query_param(const char *query, const char *name, const char **val,
                       size_t *vlen)
{
    int count = 0;
    if (query == NULL || name == NULL || name[0] == '\0')
        return 0;
    size_t want = strlen(name);
    for (const char *p = query;;) {
        size_t len = strcspn(p, "&");
        size_t nlen = name_len(p, len);
        if (nlen == want && memcmp(p, name, want) == 0 && count++ == 0) {
            *val = nlen < len ? p + nlen + 1 : p + len;
            *vlen = nlen < len ? len - nlen - 1 : 0;
        }
        if (p[len] == '\0')
            return count;
        p += len + 1;
    }
}

static int ignored(const bc_endpoint *ep, const char *name, size_t nlen)
{
    for (size_t i = 0; i < ep->nignore_params; i++) {
        const char *ig = ep->ignore_params[i];
        if (ig != NULL && strlen(ig) == nlen && memcmp(ig, name, nlen) == 0)
            return 1;
    }
    return 0;
}

static int name_cmp(const param *a, const param *b)
{
    size_t n = a->nlen < b->nlen ? a->nlen : b->nlen;
    int c = memcmp(a->p, b->p, n);
    if (c != 0)
        return c;
    return (a->nlen > b->nlen) - (a->nlen < b->nlen);
}

/* Insertion sort: stable, so repeated names keep the order the client gave
 * them (a=2&a=1 may mean something different from a=1&a=2), and cheap for
 * the few parameters real requests carry. */
static void sort_params(param *ps, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        param cur = ps[i];
        size_t j = i;
        while (j > 0 && name_cmp(&ps[j - 1], &cur) > 0) {
            ps[j] = ps[j - 1];
            j--;
        }
        ps[j] = cur;
    }
}

/* Writes "?QUERY" with QUERY normalised as the endpoint says, or nothing
 * when no parameter is left. Returns -1 when the key cannot fit. */
static int put_query(writer *w, const bc_endpoint *ep, const char *query)
{
    param ps[MAX_PARAMS];
    size_t n = 0;
    size_t total = 0; /* raw bytes kept, separators included */

    if (query == NULL)
        return 0;
    for (const char *p = query;;) {
        size_t len = strcspn(p, "&");
        if (len > 0) {
            size_t nlen = name_len(p, len);
            if (!ignored(ep, p, nlen)) {
                /* Encoding never shrinks, so a raw length past the cap
                 * already decides: stop before scanning hostile input. */
                total += len + 1;
                if (n == MAX_PARAMS || total > w->cap)
                    return -1;
                ps[n].p = p;
                ps[n].len = len;
                ps[n].nlen = nlen;
                n++;
            }
        }
        if (p[len] == '\0')
            break;
        p += len + 1;
    }
    if (n == 0)
        return 0;
    if (ep->sort_query)
        sort_params(ps, n);
    put(w, "?", 1);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            put(w, "&", 1);
        put_enc(w, ps[i].p, ps[i].len, 0);
    }
    return w->full ? -1 : 0;
}

static void put_vary(writer *w, const bc_endpoint *ep, const bc_request *req,
                     int *repeated)
{
    if (ep->nvary == 0)
        return;
    put(w, ":", 1);
    for (size_t i = 0; i < ep->nvary && !w->full; i++) {
        const char *name = ep->vary[i] ? ep->vary[i] : "";
        const char *val = header(req, name, repeated);
        if (i > 0)
            put(w, ",", 1);
        put_enc(w, name, strlen(name), ENC_LOWER | ENC_COMMA);
        put(w, "=", 1);
        if (val != NULL)
            put_enc(w, val, strlen(val), ENC_COMMA);
    }
}

/* Writes "k=" and the truncated SHA-256 of KEY. */
static void put_api_key(writer *w, const char *key)
{
    uint8_t md[SHA256_DIGEST_SIZE];
    char hex[2 * API_KEY_HASH_BYTES];
    struct sha256_ctx ctx;

    sha256_init(&ctx);
    sha256_update(&ctx, strlen(key), (const uint8_t *)key);
    sha256_digest(&ctx, sizeof md, md);
    for (size_t i = 0; i < API_KEY_HASH_BYTES; i++) {
        hex[2 * i] = hex_lower[md[i] >> 4];
        hex[2 * i + 1] = hex_lower[md[i] & 0xf];
    }
    put(w, "k=", 2);
    put(w, hex, sizeof hex);
}

static const char *keytype_name(bc_keytype t)
{
    switch (t) {
    case BC_KEYTYPE_API_KEY:
        return "api_key";
    case BC_KEYTYPE_PARTNER_ORIGIN:
        return "partner_id_and_origin";
    case BC_KEYTYPE_NONE:
        return "none";
    }
    return "none";
}

/* Writes the IDENTITY segment; returns BC_KEY_NO_IDENTITY when the request
 * lacks what the endpoint keys on. */
/* The partner id: the header's, else the query parameter's, decoded
 * into BUF. Returns the id (NULL when there is none) or sets *REPEATED
 * when the two sources, or two copies of either, could disagree. */
static const char *partner_id(const bc_config *cfg, const bc_request *req,
                              char *buf, size_t cap, size_t *idlen,
                              int *repeated)
{
    const char *hv = header(req, cfg->identity.partner_id_header, repeated);
    const char *raw = NULL;
    size_t rawlen = 0;
    int nparam =
        query_param(req->query, cfg->identity.partner_id_param, &raw, &rawlen);
    size_t n = nparam ? bc_uri_query_decode(raw, rawlen, buf, cap) : 0;
    if (nparam > 1 || n == (size_t)-1) {
        *repeated |= nparam > 1;
        return NULL; /* too long to decode: too long for a key as well */
    }
    if (hv != NULL && hv[0] != '\0') {
        if (nparam && (strlen(hv) != n || memcmp(hv, buf, n) != 0))
            *repeated = 1;
        *idlen = strlen(hv);
        return hv;
    }
    *idlen = n;
    return nparam ? buf : NULL;
}

static bc_key_status put_identity(writer *w, const bc_config *cfg,
                                  const bc_endpoint *ep, const bc_request *req,
                                  int *repeated)
{
    switch (ep->key_type) {
    case BC_KEYTYPE_API_KEY: {
        const char *key = header(req, cfg->identity.api_key_header, repeated);
        if (key == NULL || key[0] == '\0')
            return BC_KEY_NO_IDENTITY;
        put_api_key(w, key);
        return BC_KEY_OK;
    }
    case BC_KEYTYPE_PARTNER_ORIGIN: {
        char buf[BC_KEY_MAX];
        size_t idlen = 0;
        const char *id =
            partner_id(cfg, req, buf, sizeof buf, &idlen, repeated);
        if (id == NULL || idlen == 0)
            return BC_KEY_NO_IDENTITY;
        /* No Origin is a server-to-server call: cached apart from every
         * browser origin rather than bypassed. */
        const char *origin = header(req, "Origin", repeated);
        put(w, "p=", 2);
        put_enc(w, id, idlen, ENC_COMMA);
        put(w, ",o=", 3);
        if (origin != NULL)
            put_enc(w, origin, strlen(origin), ENC_COMMA);
        return BC_KEY_OK;
    }
    case BC_KEYTYPE_NONE:
        put(w, "-", 1);
        return BC_KEY_OK;
    }
    assert(!"unknown key type");
    return BC_KEY_NO_IDENTITY;
}

static int is_cached_method(const char *m)
{
    return m != NULL && (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0);
}

bc_key_status bc_key_build(const bc_config *cfg, const bc_request *req,
                           const bc_endpoint **ep, char *out, size_t outlen)
{
    const bc_endpoint *e;
    bc_key_status st;

    assert(cfg != NULL && req != NULL);
    if (outlen > 0)
        out[0] = '\0';
    if (ep != NULL)
        *ep = NULL;
    if (req->repeated_vars)
        return BC_KEY_DUPLICATE;
    /* An endpoint matched on a path the backend reads otherwise would
     * file one resource's answer under another's key (SPEC 4.1). */
    size_t plen = strlen(req->path);
    if (!bc_uri_path_normal(req->path, plen) ||
        (req->document_uri != NULL &&
         !bc_uri_path_is_document(req->path, plen, req->document_uri)))
        return BC_KEY_PATH;
    e = bc_key_endpoint(cfg, req->path);
    if (ep != NULL)
        *ep = e;
    if (e == NULL)
        return BC_KEY_NO_ENDPOINT;
    if (!is_cached_method(req->method))
        return BC_KEY_METHOD;

    /* An OUTLEN of 0 still gets the identity check, so the status says the
     * most useful thing about the request. */
    char none[1];
    writer w = {out, outlen < BC_KEY_MAX ? outlen : BC_KEY_MAX, 0, 0};
    if (outlen == 0) {
        w.buf = none;
        w.cap = sizeof none;
        w.full = 1;
    }

    put_str(&w, cfg->redis.prefix ? cfg->redis.prefix : "");
    put(&w, ":", 1);
    put_str(&w, keytype_name(e->key_type));
    put(&w, ":", 1);
    int repeated = 0;
    st = put_identity(&w, cfg, e, req, &repeated);
    if (st == BC_KEY_OK) {
        put(&w, ":", 1);
        put_enc(&w, req->path, plen, 0);
        if (put_query(&w, e, req->query) < 0)
            w.full = 1;
        put_vary(&w, e, req, &repeated);
    }
    if (repeated)
        st = BC_KEY_DUPLICATE;
    if (st != BC_KEY_OK)
        goto fail;
    if (w.full) {
        st = BC_KEY_TOO_LONG;
        goto fail;
    }
    w.buf[w.len] = '\0';
    return BC_KEY_OK;
fail:
    if (outlen > 0)
        out[0] = '\0';
    return st;
}

const char *bc_key_status_str(bc_key_status status)
{
    switch (status) {
    case BC_KEY_OK:
        return "cacheable";
    case BC_KEY_NO_ENDPOINT:
        return "no endpoint matches the path";
    case BC_KEY_METHOD:
        return "the method is not GET or HEAD";
    case BC_KEY_NO_IDENTITY:
        return "the identity the endpoint keys on is missing";
    case BC_KEY_TOO_LONG:
        return "the key would be too long";
    case BC_KEY_DUPLICATE:
        return "a header or parameter the key reads came more than once";
    case BC_KEY_PATH:
        return "the path is not in normal form, or the web server rewrote it";
    }
    return "unknown key status";
}

const char *bc_key_status_token(bc_key_status status)
{
    switch (status) {
    case BC_KEY_OK:
        return "ok";
    case BC_KEY_NO_ENDPOINT:
        return "no-endpoint";
    case BC_KEY_METHOD:
        return "method";
    case BC_KEY_NO_IDENTITY:
        return "no-identity";
    case BC_KEY_TOO_LONG:
        return "key-too-long";
    case BC_KEY_DUPLICATE:
        return "duplicate-header";
    case BC_KEY_PATH:
        return "path";
    }
    return "unknown";
}

int bc_key_partner_pattern(const bc_config *cfg, const char *partner_id,
                           char *out, size_t outlen)
{
    if (outlen == 0)
        return -1;
    writer w = {out, outlen, 0, 0};
    put_str(&w, cfg->redis.prefix);
    put_str(&w, ":partner_id_and_origin:p=");
    /* The same encoding as the identity itself: the encoded id holds no
     * glob metacharacter, so it matches literally. */
    put_enc(&w, partner_id, strlen(partner_id), ENC_COMMA);
    put_str(&w, ",o=*");
    if (w.full) {
        out[0] = '\0';
        return -1;
    }
    out[w.len] = '\0';
    return 0;
}

int bc_key_is_entry(const bc_config *cfg, const char *key, size_t len,
                    const char **path, size_t *path_len)
{
    size_t plen = strlen(cfg->redis.prefix);
    if (len <= plen || memcmp(key, cfg->redis.prefix, plen) != 0 ||
        key[plen] != ':')
        return 0;
    const char *p = key + plen + 1, *end = key + len;
    const char *type_end = memchr(p, ':', (size_t)(end - p));
    if (!type_end)
        return 0;
    size_t tlen = (size_t)(type_end - p);
    int known = 0;
    for (int t = BC_KEYTYPE_API_KEY; t <= BC_KEYTYPE_NONE; t++) {
        const char *name = keytype_name((bc_keytype)t);
        known |= strlen(name) == tlen && memcmp(name, p, tlen) == 0;
    }
    const char *id_end =
        known ? memchr(type_end + 1, ':', (size_t)(end - type_end - 1)) : NULL;
    if (!id_end)
        return 0;
    const char *s = id_end + 1, *e = s;
    while (e < end && *e != '?' && *e != ':')
        e++;
    if (path) {
        *path = s;
        *path_len = (size_t)(e - s);
    }
    return 1;
}

uint64_t bc_key_hash(const char *key, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a offset basis */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 0x100000001b3ULL; /* FNV prime */
    }
    return h;
}

static int name_eq(const char *a, const char *name, size_t len)
{
    return a != NULL && strlen(a) == len && strncasecmp(a, name, len) == 0;
}

int bc_key_reads_header(const bc_config *cfg, const bc_endpoint *ep,
                        const char *name, size_t len)
{
    for (size_t i = 0; i < ep->nvary; i++)
        if (name_eq(ep->vary[i], name, len))
            return 1;
    switch (ep->key_type) {
    case BC_KEYTYPE_API_KEY:
        return name_eq(cfg->identity.api_key_header, name, len);
    case BC_KEYTYPE_PARTNER_ORIGIN:
        return name_eq(cfg->identity.partner_id_header, name, len) ||
               name_eq("Origin", name, len);
    case BC_KEYTYPE_NONE:
        return 0;
    }
    return 0;
}

/* ---- bocache's own keys ---- */

/* How an own key's name part is written. */
enum { NAME_NONE, NAME_RAW, NAME_ENCODED };

/* PREFIX:#KIND, then for NAME_RAW and NAME_ENCODED ':' and NAME[0..LEN),
 * as it is or percent-encoded as a segment. The '#' at the start of the
 * second segment is what sets these keys apart from entries, whose second
 * segment is always a key type. */
static int own_name(const bc_config *cfg, const char *kind, int how,
                    const char *name, size_t len, char *out, size_t outlen)
{
    if (outlen == 0)
        return -1;
    writer w = {out, outlen, 0, 0};
    put_str(&w, cfg->redis.prefix);
    put_str(&w, ":#");
    put_str(&w, kind);
    if (how != NAME_NONE)
        put_str(&w, ":");
    if (how == NAME_RAW)
        put(&w, name, len);
    else if (how == NAME_ENCODED)
        put_enc(&w, name, len, 0);
    if (w.full) {
        out[0] = '\0';
        return -1;
    }
    out[w.len] = '\0';
    return 0;
}

int bc_key_lease(const bc_config *cfg, const char *key, size_t len, char *out,
                 size_t outlen)
{
    return own_name(cfg, "lease", NAME_RAW, key, len, out, outlen);
}

const char *bc_key_lease_entry(const bc_config *cfg, const char *name,
                               size_t len, size_t *entry_len)
{
    size_t plen = strlen(cfg->redis.prefix);
    static const char kind[] = ":#lease:";
    size_t klen = sizeof kind - 1;
    if (len <= plen + klen || memcmp(name, cfg->redis.prefix, plen) != 0 ||
        memcmp(name + plen, kind, klen) != 0)
        return NULL;
    *entry_len = len - plen - klen;
    return name + plen + klen;
}

int bc_key_lease_set(const bc_config *cfg, char *out, size_t outlen)
{
    return own_name(cfg, "leasez", NAME_NONE, NULL, 0, out, outlen);
}

int bc_key_fill(const bc_config *cfg, const char *key, size_t len,
                const char *token, char *out, size_t outlen)
{
    (void)key;
    (void)len;
    return own_name(cfg, "fill", NAME_ENCODED, token, strlen(token), out,
                    outlen);
}

int bc_key_tag_index(const bc_config *cfg, const char *tag, size_t len,
                     char *out, size_t outlen)
{
    return own_name(cfg, "tagz", NAME_ENCODED, tag, len, out, outlen);
}

int bc_key_path_index(const bc_config *cfg, const char *encoded_path,
                      size_t len, char *out, size_t outlen)
{
    return own_name(cfg, "pathz", NAME_RAW, encoded_path, len, out, outlen);
}

int bc_key_message_id(const bc_config *cfg, const char *id, char *out,
                      size_t outlen)
{
    return own_name(cfg, "id", NAME_ENCODED, id, strlen(id), out, outlen);
}

int bc_key_stats(const bc_config *cfg, char *out, size_t outlen)
{
    return own_name(cfg, "stats", NAME_NONE, NULL, 0, out, outlen);
}

int bc_key_legacy_lease_set(const bc_config *cfg, char *out, size_t outlen)
{
    return own_name(cfg, "leases", NAME_NONE, NULL, 0, out, outlen);
}

int bc_key_legacy_tag_index(const bc_config *cfg, const char *tag, size_t len,
                            char *out, size_t outlen)
{
    return own_name(cfg, "tag", NAME_ENCODED, tag, len, out, outlen);
}

int bc_key_legacy_path_index(const bc_config *cfg, const char *encoded_path,
                             size_t len, char *out, size_t outlen)
{
    return own_name(cfg, "path", NAME_ENCODED, encoded_path, len, out, outlen);
}

int bc_key_all_pattern(const bc_config *cfg, char *out, size_t outlen)
{
    if (outlen == 0)
        return -1;
    writer w = {out, outlen, 0, 0};
    put_str(&w, cfg->redis.prefix);
    put_str(&w, ":*");
    if (w.full) {
        out[0] = '\0';
        return -1;
    }
    out[w.len] = '\0';
    return 0;
}

int bc_key_is_internal(const bc_config *cfg, const char *key, size_t len)
{
    size_t plen = strlen(cfg->redis.prefix);
    return len > plen + 1 && memcmp(key, cfg->redis.prefix, plen) == 0 &&
           key[plen] == ':' && key[plen + 1] == '#';
}
