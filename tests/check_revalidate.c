/* check_revalidate.c: unit tests of the pure part of revalidation: a
 * kept copy's validators, a HEAD's match, and the entry a 304 makes of
 * the copy (SPEC 6; RFC 9111 4.3.3 to 4.3.5). */
#include "check_main.h"
#include "revalidate.h"

#include <stdlib.h>
#include <string.h>

Suite *revalidate_suite(void);

/* The refresh time: Tue, 14 Nov 2023 22:13:20 GMT, in ms. */
#define NOW_MS 1700000000000LL

static bc_config cfg;
static bc_endpoint ep;
static int statuses[1] = {200};
static bc_response_head *fresh;
static char *buf;
static bc_refreshed r;

static void setup(void)
{
    memset(&cfg, 0, sizeof cfg);
    memset(&ep, 0, sizeof ep);
    cfg.file = (char *)"<test>";
    cfg.redis.prefix = (char *)"bocache";
    cfg.cache.ttl = 300;
    cfg.cache.max_object_size = 1000;
    cfg.cache.tags_header = (char *)"X-Cache-Tags";
    cfg.endpoints = &ep;
    cfg.nendpoints = 1;
    ep.path = (char *)"/";
    ep.match = BC_MATCH_PREFIX;
    ep.key_type = BC_KEYTYPE_NONE;
    ep.ttl = 300;
    ep.stale_ttl = 10;
    ep.statuses = statuses;
    ep.nstatuses = 1;
    fresh = malloc(sizeof *fresh);
    buf = malloc(BC_REVALIDATE_BUF);
    ck_assert_ptr_nonnull(fresh);
    ck_assert_ptr_nonnull(buf);
}

static void teardown(void)
{
    free(fresh);
    free(buf);
}

/* A stored entry with HEAD (stored form: no blank line), old and stale. */
static bc_entry entry(const char *head)
{
    bc_entry e;
    memset(&e, 0, sizeof e);
    e.status = 200;
    e.created_ms = NOW_MS - 600000;
    e.ttl = 60;
    e.head = head;
    e.head_len = strlen(head);
    e.tags = "t1 t2";
    e.tags_len = 5;
    e.body = "hello";
    e.body_len = 5;
    return e;
}

static void parse_fresh(const char *text)
{
    ck_assert_int_eq(bc_response_parse_head(text, strlen(text), fresh), 1);
}

/* Refreshes E by the 304 TEXT into r. */
static void refresh(const bc_entry *e, const char *text)
{
    parse_fresh(text);
    ck_assert_int_eq(
        bc_revalidate_refresh(&cfg, &ep, e, fresh, 0, NOW_MS, buf, &r), 0);
}

static void ck_head(const char *want)
{
    ck_assert_uint_eq(r.entry.head_len, strlen(want));
    ck_assert_int_eq(memcmp(r.entry.head, want, strlen(want)), 0);
}

START_TEST(validators)
{
    bc_validators v;
    bc_entry e = entry("ETag: \"a\"\r\nLast-Modified: Mon, 13 Nov 2023 "
                       "10:00:00 GMT\r\n");
    ck_assert(bc_revalidate_validators(&e, &v));
    ck_assert_uint_eq(v.etag_len, 3);
    ck_assert_int_eq(memcmp(v.etag, "\"a\"", 3), 0);
    ck_assert_uint_eq(v.lm_len, 29);
    e = entry("Last-Modified: Mon, 13 Nov 2023 10:00:00 GMT\r\n");
    ck_assert(bc_revalidate_validators(&e, &v));
    ck_assert_ptr_null(v.etag);
    e = entry("Content-Type: text/plain\r\nETag:\r\n");
    ck_assert(!bc_revalidate_validators(&e, &v)); /* an empty one is none */
}
END_TEST

START_TEST(head_match)
{
    bc_validators v;
    bc_entry e = entry("ETag: \"a\"\r\n");
    bc_revalidate_validators(&e, &v);
    parse_fresh("ETag: \"a\"\r\nContent-Length: 5\r\n\r\n");
    ck_assert(bc_revalidate_matches(&v, fresh, 5));
    ck_assert(!bc_revalidate_matches(&v, fresh, 6)); /* another length */
    parse_fresh("ETag: \"b\"\r\n\r\n");
    ck_assert(!bc_revalidate_matches(&v, fresh, 5));
    parse_fresh("ETag: W/\"a\"\r\n\r\n");
    ck_assert(!bc_revalidate_matches(&v, fresh, 5));
    parse_fresh("Last-Modified: Mon, 13 Nov 2023 10:00:00 GMT\r\n\r\n");
    ck_assert(!bc_revalidate_matches(&v, fresh, 5)); /* no ETag to match */
    e = entry("Last-Modified: Mon, 13 Nov 2023 10:00:00 GMT\r\n");
    bc_revalidate_validators(&e, &v);
    ck_assert(bc_revalidate_matches(&v, fresh, 5));
}
END_TEST

/* Whether the 304 TEXT selects the entry whose head is HEAD. */
static int selects(const char *head, const char *text)
{
    bc_validators v;
    bc_entry e = entry(head);
    bc_revalidate_validators(&e, &v);
    parse_fresh(text);
    return bc_revalidate_selects(&v, fresh);
}

START_TEST(a_304_selects_the_stored_response)
{
    const char *lm = "Last-Modified: Mon, 13 Nov 2023 10:00:00 GMT\r\n";
    const char *lm2 = "Last-Modified: Mon, 13 Nov 2023 10:00:01 GMT\r\n\r\n";
    /* Strong ETags: strong comparison. */
    ck_assert(selects("ETag: \"a\"\r\n", "ETag: \"a\"\r\n\r\n"));
    ck_assert(!selects("ETag: \"a\"\r\n", "ETag: \"b\"\r\n\r\n"));
    ck_assert(!selects("ETag: W/\"a\"\r\n", "ETag: \"a\"\r\n\r\n"));
    ck_assert(!selects("ETag: \"a\"\r\n", "ETag: \"ab\"\r\n\r\n"));
    /* A weak ETag in the 304: weak comparison. */
    ck_assert(selects("ETag: W/\"a\"\r\n", "ETag: W/\"a\"\r\n\r\n"));
    ck_assert(selects("ETag: \"a\"\r\n", "ETag: W/\"a\"\r\n\r\n"));
    ck_assert(!selects("ETag: W/\"a\"\r\n", "ETag: W/\"b\"\r\n\r\n"));
    ck_assert(!selects("ETag: \"W/\"\r\n", "ETag: W/\r\n\r\n"));
    /* The ETag decides, even when the Last-Modified differs. */
    ck_assert(selects("ETag: \"a\"\r\nLast-Modified: x\r\n",
                      "ETag: \"a\"\r\nLast-Modified: y\r\n\r\n"));
    /* An ETag where the stored response has none names another one. */
    ck_assert(!selects(lm, "ETag: \"a\"\r\n\r\n"));
    /* Last-Modified alone: byte for byte. */
    ck_assert(
        selects(lm, "Last-Modified: Mon, 13 Nov 2023 10:00:00 GMT\r\n\r\n"));
    ck_assert(!selects(lm, lm2));
    ck_assert(!selects("ETag: \"a\"\r\n", lm2));
    /* A 304 with no validator answers what it was asked. */
    ck_assert(selects("ETag: \"a\"\r\n", "Cache-Control: max-age=60\r\n\r\n"));
    ck_assert(selects(lm, "Status: 304 Not Modified\r\n\r\n"));
}
END_TEST

START_TEST(refresh_updates_head_and_lifetime)
{
    bc_entry e = entry("Status: 200 OK\r\nCache-Control: max-age=60\r\n"
                       "ETag: \"a\"\r\nX-Keep: 1\r\nContent-Length: 5\r\n");
    refresh(&e, "Status: 304 Not Modified\r\nCache-Control: max-age=120\r\n"
                "Content-Length: 0\r\nX-Cache-Tags: other\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_NONE);
    ck_head("Status: 200 OK\r\nCache-Control: max-age=120\r\nETag: \"a\"\r\n"
            "X-Keep: 1\r\nContent-Length: 5\r\n");
    ck_assert_int_eq(r.entry.status, 200);
    ck_assert_uint_eq(r.entry.ttl, 120);
    ck_assert_uint_eq(r.entry.stale_ttl, 10);
    ck_assert_int_eq(r.entry.created_ms, NOW_MS);
    ck_assert_uint_eq(r.entry.initial_age, 0);
    /* The stored tags and body, not the 304's tags header. */
    ck_assert_uint_eq(r.entry.tags_len, 5);
    ck_assert_int_eq(memcmp(r.entry.tags, "t1 t2", 5), 0);
    ck_assert_ptr_eq(r.entry.body, e.body);
    ck_assert_uint_eq(r.entry.body_len, 5);
    ck_assert(bc_entry_fresh(&r.entry, 0));
}
END_TEST

START_TEST(refresh_counts_age_but_does_not_store_it)
{
    bc_entry e = entry("Cache-Control: max-age=60\r\nETag: \"a\"\r\n");
    refresh(&e, "Status: 304\r\nAge: 20\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_NONE);
    ck_assert_uint_eq(r.entry.initial_age, 20);
    ck_assert_uint_eq(r.entry.ttl, 60);
    ck_head("Cache-Control: max-age=60\r\nETag: \"a\"\r\n");
    /* Older than its lifetime: not stored, still the answer. */
    refresh(&e, "Status: 304\r\nAge: 61\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_EXPIRED);
    ck_head("Cache-Control: max-age=60\r\nETag: \"a\"\r\n");
}
END_TEST

START_TEST(refresh_judges_the_merged_head)
{
    bc_entry e = entry("Cache-Control: max-age=60\r\nETag: \"a\"\r\n");
    refresh(&e, "Status: 304\r\nCache-Control: no-store\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_NO_STORE);
    refresh(&e, "Status: 304\r\nSet-Cookie: s=1\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_SET_COOKIE);
    ck_head("Cache-Control: max-age=60\r\nETag: \"a\"\r\nSet-Cookie: s=1\r\n");
    /* no-cache: stored, flagged, revalidated before every use. */
    refresh(&e, "Status: 304\r\nCache-Control: no-cache\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_NONE);
    ck_assert(r.entry.flags & BC_ENTRY_NO_CACHE);
    ck_assert(!bc_entry_fresh(&r.entry, 0));
    /* A stored Content-Length the body does not have: never stored. */
    e = entry("Content-Length: 7\r\nETag: \"a\"\r\n");
    refresh(&e, "Status: 304\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_MALFORMED);
}
END_TEST

START_TEST(refresh_keeps_the_targeted_policy)
{
    /* The 304 does not repeat Bocache-Cache-Control: the stored one still
     * rules, Cache-Control no-store is the browsers'. */
    bc_entry e = entry("Cache-Control: no-store\r\nETag: \"a\"\r\n"
                       "Bocache-Cache-Control: max-age=30\r\n");
    e.flags = BC_ENTRY_TARGETED;
    refresh(&e, "Status: 304\r\nETag: \"a\"\r\n\r\n");
    ck_assert_int_eq(r.verdict.why, BC_REASON_NONE);
    ck_assert_uint_eq(r.entry.ttl, 30);
    ck_assert(r.entry.flags & BC_ENTRY_TARGETED);
    /* One that it carries replaces it. */
    refresh(&e, "Status: 304\r\nBocache-Cache-Control: max-age=90\r\n\r\n");
    ck_assert_uint_eq(r.entry.ttl, 90);
    ck_head("Cache-Control: no-store\r\nETag: \"a\"\r\n"
            "Bocache-Cache-Control: max-age=90\r\n");
    /* Without any, Cache-Control rules. */
    e = entry("Cache-Control: max-age=60\r\nETag: \"a\"\r\n");
    refresh(&e, "Status: 304\r\n\r\n");
    ck_assert(!(r.entry.flags & BC_ENTRY_TARGETED));
}
END_TEST

START_TEST(refresh_that_does_not_fit)
{
    /* A 304 whose fields would push the head past its bound. */
    size_t n = BC_RESPONSE_MAX_HEAD - 100;
    char *big = malloc(n + 40);
    ck_assert_ptr_nonnull(big);
    memcpy(big, "Status: 304\r\nX-Big: ", 20);
    memset(big + 20, 'x', n - 20);
    memcpy(big + n, "\r\n\r\n", 5);
    ck_assert_int_eq(bc_response_parse_head(big, n + 4, fresh), 1);
    char *stored = malloc(n + 20);
    ck_assert_ptr_nonnull(stored);
    memcpy(stored, "X-Old: ", 7);
    memset(stored + 7, 'y', n - 7);
    memcpy(stored + n, "\r\nETag: \"a\"\r\n", 14);
    bc_entry e = entry(stored);
    ck_assert_int_eq(
        bc_revalidate_refresh(&cfg, &ep, &e, fresh, 0, NOW_MS, buf, &r), -1);
    free(stored);
    free(big);
}
END_TEST

Suite *revalidate_suite(void)
{
    Suite *s = suite_create("revalidate");
    TCase *tc = tcase_create("revalidate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, validators);
    tcase_add_test(tc, head_match);
    tcase_add_test(tc, a_304_selects_the_stored_response);
    tcase_add_test(tc, refresh_updates_head_and_lifetime);
    tcase_add_test(tc, refresh_counts_age_but_does_not_store_it);
    tcase_add_test(tc, refresh_judges_the_merged_head);
    tcase_add_test(tc, refresh_keeps_the_targeted_policy);
    tcase_add_test(tc, refresh_that_does_not_fit);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(revalidate_suite)
