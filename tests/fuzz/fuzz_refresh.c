/* fuzz_refresh.c: fuzzes the update of a stored head by a backend's 304
 * (bc_refresh_merge) and the refreshed entry made of it
 * (bc_revalidate_refresh). The input is a stored head (entry form: lines,
 * no blank line), a NUL byte, and the 304's head (completed with a blank
 * line when it lacks one; an input without a valid one is skipped). The
 * merge must fit exactly the room it reports and no byte less; every
 * stored line of a name the 304 does not replace comes out unchanged and
 * in order; every 304 line of a name it may replace comes out; Status,
 * Content-Length and the skipped names never come from the 304; and the
 * refreshed entry's head is the merge without Age, with the copy's
 * status, tags and body. Whether the 304 selects the stored response
 * (bc_revalidate_selects): always without validators, never with an ETag
 * (or, without one, a Last-Modified) the stored head lacks, always with the
 * stored ETag byte for byte. */
#include <string.h>
#include <strings.h>

#include "bocache/config.h"
#include "fuzz.h"
#include "refresh.h"
#include "response.h"
#include "revalidate.h"

#define HEAD_MAX 8192

static int statuses[] = {200};
static bc_endpoint ep = {.path = "/",
                         .match = BC_MATCH_PREFIX,
                         .key_type = BC_KEYTYPE_NONE,
                         .ttl = 300,
                         .stale_ttl = 5,
                         .statuses = statuses,
                         .nstatuses = 1,
                         .sort_query = 1};
static bc_config cfg = {.file = "<fuzz>",
                        .cache = {.ttl = 300,
                                  .max_object_size = 1000,
                                  .tags_header = "X-Cache-Tags"},
                        .endpoints = &ep,
                        .nendpoints = 1};

static bc_response_head fresh;
static char out[2 * HEAD_MAX + 64];
static char small[2 * HEAD_MAX + 64];
static char rbuf[BC_REVALIDATE_BUF];

static int is_name(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

/* Whether the merge takes the 304's lines of NAME[0..LEN) (SKIP: the
 * caller's skip list). */
static int replaced(const char *name, size_t len, const char *const *skip)
{
    if (len == 0 || is_name(name, len, "Status") ||
        is_name(name, len, "Content-Length"))
        return 0;
    for (; skip && *skip; skip++)
        if (is_name(name, len, *skip))
            return 0;
    for (size_t i = 0; i < fresh.nheaders; i++)
        if (fresh.headers[i].name_len == len &&
            strncasecmp(fresh.headers[i].name, name, len) == 0)
            return 1;
    return 0;
}

/* Finds N bytes of S at the start of a line of O[FROM..OLEN); returns
 * the offset after them, or -1. */
static long find_from(const char *o, size_t olen, size_t from, const char *s,
                      size_t n)
{
    if (n == 0)
        return (long)from;
    for (size_t i = from; i + n <= olen; i++)
        if ((i == 0 || o[i - 1] == '\n') && memcmp(o + i, s, n) == 0)
            return (long)(i + n);
    return -1;
}

/* The stored lines the merge keeps come out unchanged and in order. */
static void check_kept(const char *stored, size_t slen, const char *o,
                       size_t olen, const char *const *skip)
{
    size_t at = 0;
    for (const char *p = stored, *end = stored + slen; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        const char *colon = memchr(p, ':', (size_t)(next - p));
        size_t nlen = colon ? (size_t)(colon - p) : 0;
        if (!replaced(p, nlen, skip)) {
            /* A last line without an ending gets CRLF: compare without. */
            long f = find_from(o, olen, at, p, (size_t)(next - p));
            FUZZ_CHECK(f >= 0);
            at = (size_t)f;
        }
        p = next;
    }
}

/* Every 304 line of a replaced name comes out; no other one does. */
static void check_taken(const char *o, size_t olen, const char *stored,
                        size_t slen, const char *const *skip)
{
    for (size_t i = 0; i < fresh.nheaders; i++) {
        const bc_header *h = &fresh.headers[i];
        int in_out = find_from(o, olen, 0, h->line, h->line_len) >= 0;
        /* A stored last line may lack the ending the merge gives it. */
        size_t bare = h->line_len;
        while (bare > 0 &&
               (h->line[bare - 1] == '\n' || h->line[bare - 1] == '\r'))
            bare--;
        int in_stored = find_from(stored, slen, 0, h->line, bare) >= 0;
        if (replaced(h->name, h->name_len, skip))
            FUZZ_CHECK(in_out);
        else if (!in_stored)
            FUZZ_CHECK(!in_out);
    }
}

static void check_merge(const char *stored, size_t slen,
                        const char *const *skip)
{
    long n = bc_refresh_merge(stored, slen, &fresh, skip, out, sizeof out);
    FUZZ_CHECK(n >= 0); /* both heads are bounded, the room is enough */
    FUZZ_CHECK(bc_refresh_merge(stored, slen, &fresh, skip, small, (size_t)n) ==
               n);
    FUZZ_CHECK(memcmp(out, small, (size_t)n) == 0);
    if (n > 0)
        FUZZ_CHECK(bc_refresh_merge(stored, slen, &fresh, skip, small,
                                    (size_t)n - 1) == -1);
    check_kept(stored, slen, out, (size_t)n, skip);
    check_taken(out, (size_t)n, stored, slen, skip);
}

static void check_refreshed(const char *stored, size_t slen)
{
    static const char *const stored_skip[] = {"X-Cache-Tags", "Age", NULL};
    bc_entry e = {.status = 203,
                  .created_ms = 1700000000000LL,
                  .ttl = 60,
                  .head = stored,
                  .head_len = slen,
                  .tags = "t",
                  .tags_len = 1,
                  .body = "body",
                  .body_len = 4};
    bc_refreshed r;
    if (bc_revalidate_refresh(&cfg, &ep, &e, &fresh, 0, 1700000600000LL, rbuf,
                              &r) < 0)
        return;
    long n =
        bc_refresh_merge(stored, slen, &fresh, stored_skip, out, sizeof out);
    FUZZ_CHECK(n >= 0 && (size_t)n == r.entry.head_len);
    FUZZ_CHECK(memcmp(out, r.entry.head, (size_t)n) == 0);
    FUZZ_CHECK(r.entry.status == 203 && r.entry.body == e.body &&
               r.entry.tags == e.tags);
    if (r.verdict.why == BC_REASON_NONE)
        FUZZ_CHECK((long)r.entry.ttl <= (long)ep.ttl);
}

static void check_selects(const char *stored, size_t slen)
{
    bc_entry e = {.head = stored, .head_len = slen};
    bc_validators v;
    bc_revalidate_validators(&e, &v);
    int s = bc_revalidate_selects(&v, &fresh);
    const bc_header *etag = bc_response_find(&fresh, "ETag");
    const bc_header *lm = bc_response_find(&fresh, "Last-Modified");
    if (!etag && !lm)
        FUZZ_CHECK(s);
    if (etag && !v.etag)
        FUZZ_CHECK(!s);
    if (!etag && lm && !v.lm)
        FUZZ_CHECK(!s);
    if (etag && v.etag && etag->value_len == v.etag_len &&
        memcmp(etag->value, v.etag, v.etag_len) == 0)
        FUZZ_CHECK(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char fresh_text[HEAD_MAX + 4];
    const char *split = memchr(data, '\0', size);
    if (!split)
        return 0;
    size_t slen = (size_t)(split - (const char *)data);
    size_t flen = size - slen - 1;
    if (slen > HEAD_MAX || flen > HEAD_MAX)
        return 0;
    memcpy(fresh_text, split + 1, flen);
    if (bc_response_parse_head(fresh_text, flen, &fresh) != 1) {
        memcpy(fresh_text + flen, "\r\n\r\n", 4);
        if (bc_response_parse_head(fresh_text, flen + 4, &fresh) != 1)
            return 0;
    }
    static const char *const skip[] = {"X-Cache-Tags", "Age", NULL};
    check_merge((const char *)data, slen, NULL);
    check_merge((const char *)data, slen, skip);
    check_refreshed((const char *)data, slen);
    check_selects((const char *)data, slen);
    return 0;
}
