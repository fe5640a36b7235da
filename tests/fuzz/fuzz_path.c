/* fuzz_path.c: fuzzes the request path checks of SPEC 4.1 and the query
 * value decoder. The input, NUL bytes and all, is a path judged by
 * bc_uri_path_normal, which must agree with a second, segment by segment
 * reading of the rule written here; a path judged normal decodes to the
 * same segments as it has raw (no '/' or '\' from an escape, no "." or ".."
 * segment, no empty one but the last). bc_uri_path_is_document accepts
 * exactly the decoded path, and the raw one only when it has no escape.
 * The text before the first NUL is also a DOCUMENT_URI for the path after
 * it. The same input is a query value for bc_uri_query_decode, whose
 * output must be the plain decoding, never longer than the input, and fit
 * an OUTLEN exactly when it holds the result and its NUL. */
#include <string.h>

#include "fuzz.h"
#include "key.h"
#include "uri.h"

static int hex(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes every valid escape of S[0..LEN) into OUT (room for LEN + 1),
 * leaving the other bytes as they are; '+' stays unless PLUS. Returns the
 * length written, and sets *BAD when a '%' starts no valid escape. */
static size_t decode(const char *s, size_t len, char *out, int plus, int *bad)
{
    size_t n = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] == '%' && i + 2 < len && hex((unsigned char)s[i + 1]) >= 0 &&
            hex((unsigned char)s[i + 2]) >= 0) {
            out[n++] = (char)(hex((unsigned char)s[i + 1]) * 16 +
                              hex((unsigned char)s[i + 2]));
            i += 3;
            continue;
        }
        if (s[i] == '%' && bad)
            *bad = 1;
        out[n++] = plus && s[i] == '+' ? ' ' : s[i];
        i++;
    }
    out[n] = '\0';
    return n;
}

/* SPEC 4.1 read segment by segment: each raw segment between '/'s is
 * decoded on its own and must not hold what would split it or climb. */
static int oracle_normal(const char *path, size_t len, char *scratch)
{
    if (len == 0 || path[0] != '/')
        return 0;
    size_t start = 1;
    for (;;) {
        const char *slash = memchr(path + start, '/', len - start);
        size_t end = slash ? (size_t)(slash - path) : len;
        const char *seg = path + start;
        size_t seglen = end - start;
        int bad = 0;
        if (memchr(seg, ';', seglen) || memchr(seg, '\\', seglen) ||
            memchr(seg, '\0', seglen))
            return 0;
        size_t n = decode(seg, seglen, scratch, 0, &bad);
        if (bad || memchr(scratch, '/', n) || memchr(scratch, '\\', n) ||
            memchr(scratch, '\0', n))
            return 0;
        if ((n == 1 && scratch[0] == '.') ||
            (n == 2 && scratch[0] == '.' && scratch[1] == '.'))
            return 0;
        if (seglen == 0 && slash)
            return 0; /* an empty segment that is not the last */
        if (!slash)
            return 1;
        start = end + 1;
    }
}

static size_t count(const char *s, size_t len, char c)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += s[i] == c;
    return n;
}

/* The checks a normal path must pass on its decoded form. */
static void check_normal(const char *path, size_t len, char *dec)
{
    size_t n = decode(path, len, dec, 0, NULL);

    FUZZ_CHECK(path[0] == '/');
    FUZZ_CHECK(memmem(path, len, "//", 2) == NULL);
    FUZZ_CHECK(memchr(path, ';', len) == NULL);
    FUZZ_CHECK(memchr(path, '\\', len) == NULL);
    /* Decoding adds no separator and leaves no segment to climb. */
    FUZZ_CHECK(memchr(dec, '\0', n) == NULL);
    FUZZ_CHECK(count(dec, n, '/') == count(path, len, '/'));
    FUZZ_CHECK(memchr(dec, '\\', n) == NULL);
    FUZZ_CHECK(memmem(dec, n, "//", 2) == NULL);
    FUZZ_CHECK(memmem(dec, n, "/./", 3) == NULL);
    FUZZ_CHECK(memmem(dec, n, "/../", 4) == NULL);
    FUZZ_CHECK(!(n >= 2 && memcmp(dec + n - 2, "/.", 2) == 0));
    FUZZ_CHECK(!(n >= 3 && memcmp(dec + n - 3, "/..", 3) == 0));

    /* The web server that decoded it and changed nothing passes it on. */
    FUZZ_CHECK(bc_uri_path_is_document(path, len, dec));
    /* The raw path is its own decoding only when it holds no escape. */
    char *raw = malloc(len + 1);
    FUZZ_CHECK(raw != NULL);
    memcpy(raw, path, len);
    raw[len] = '\0';
    FUZZ_CHECK(bc_uri_path_is_document(path, len, raw) ==
               (memchr(path, '%', len) == NULL));
    free(raw);
    /* Anything else is a rewrite: one byte more, one less, one changed. */
    char *other = malloc(n + 2);
    FUZZ_CHECK(other != NULL);
    memcpy(other, dec, n);
    other[n] = 'x';
    other[n + 1] = '\0';
    FUZZ_CHECK(!bc_uri_path_is_document(path, len, other));
    other[n] = '\0';
    if (n > 0) {
        other[n - 1] = '\0';
        FUZZ_CHECK(!bc_uri_path_is_document(path, len, other));
        other[n - 1] = dec[n - 1] == 'a' ? 'b' : 'a';
        FUZZ_CHECK(!bc_uri_path_is_document(path, len, other));
    }
    free(other);
}

static void check_document(const char *doc, const char *path, size_t len,
                           char *dec)
{
    int normal = bc_uri_path_normal(path, len);
    int is_doc = bc_uri_path_is_document(path, len, doc);
    if (!normal)
        return; /* the contract asks for a normal path; it must not crash */
    size_t n = decode(path, len, dec, 0, NULL);
    FUZZ_CHECK(is_doc == (strlen(doc) == n && memcmp(doc, dec, n) == 0));
}

static void check_query(const char *s, size_t len, char *want)
{
    size_t wn = decode(s, len, want, 1, NULL);
    char *out = malloc(len + 1);
    FUZZ_CHECK(out != NULL);
    size_t n = bc_uri_query_decode(s, len, out, len + 1);
    FUZZ_CHECK(n == wn && n <= len);
    FUZZ_CHECK(memcmp(out, want, n) == 0 && out[n] == '\0');
    free(out);

    /* Exactly sized buffers, so ASan sees a write past the end: n + 1
     * holds it, n does not, and neither does 0. */
    out = malloc(n + 1);
    FUZZ_CHECK(out != NULL);
    FUZZ_CHECK(bc_uri_query_decode(s, len, out, n + 1) == n);
    FUZZ_CHECK(memcmp(out, want, n) == 0 && out[n] == '\0');
    free(out);
    if (n > 0) {
        out = malloc(n);
        FUZZ_CHECK(out != NULL);
        FUZZ_CHECK(bc_uri_query_decode(s, len, out, n) == (size_t)-1);
        free(out);
    }
    char none[1] = {'x'};
    FUZZ_CHECK(bc_uri_query_decode(s, len, none, 0) == (size_t)-1);
    FUZZ_CHECK(none[0] == 'x');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = (const char *)data;

    if (size > 64 * 1024)
        return 0;
    char *scratch = malloc(size + 1), *dec = malloc(size + 1);
    FUZZ_CHECK(scratch != NULL && dec != NULL);

    int normal = bc_uri_path_normal(path, size);
    FUZZ_CHECK(normal == 0 || normal == 1);
    FUZZ_CHECK(normal == oracle_normal(path, size, scratch));
    if (normal)
        check_normal(path, size, dec);
    /* Memory safety on any path, whatever the answer. */
    (void)bc_uri_path_is_document(path, size, "");

    /* DOC NUL PATH: a web server's DOCUMENT_URI for the rest. */
    const char *nul = memchr(path, '\0', size);
    if (nul != NULL)
        check_document(path, nul + 1, size - (size_t)(nul + 1 - path), dec);

    check_query(path, size, scratch);
    free(scratch);
    free(dec);
    return 0;
}
