/* check_cache_control.c: unit tests of Cache-Control parsing. */
#include "cache_control.h"
#include "check_main.h"

#include <stdlib.h>
#include <string.h>

Suite *cache_control_suite(void);

/* Parses one header value into a fresh result. */
static bc_cache_control parse(const char *v)
{
    bc_cache_control cc;
    size_t n = strlen(v);
    /* An exact-size heap copy, so reads past the length are caught. */
    char *copy = malloc(n ? n : 1);

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, v, n);
    bc_cache_control_init(&cc);
    bc_cache_control_parse(&cc, copy, n);
    free(copy);
    return cc;
}

START_TEST(test_init)
{
    bc_cache_control cc = parse("");

    ck_assert_uint_eq(cc.no_store, 0);
    ck_assert_uint_eq(cc.private_, 0);
    ck_assert_uint_eq(cc.no_cache, 0);
    ck_assert_int_eq(cc.max_age, -1);
    ck_assert_int_eq(cc.s_maxage, -1);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 300);
}
END_TEST

START_TEST(test_flags)
{
    bc_cache_control cc = parse("no-store");

    ck_assert_uint_eq(cc.no_store, 1);
    ck_assert_uint_eq(cc.private_, 0);
    cc = parse("Private");
    ck_assert_uint_eq(cc.private_, 1);
    ck_assert_uint_eq(cc.no_store, 0);
    cc = parse("NO-CACHE");
    ck_assert_uint_eq(cc.no_cache, 1);
    cc = parse(" public ,\tno-store , max-age=10");
    ck_assert_uint_eq(cc.no_store, 1);
    ck_assert_int_eq(cc.max_age, 10);
    /* Names must match whole. */
    cc = parse("no-stored, xprivate, no-cache-please");
    ck_assert_uint_eq(cc.no_store, 0);
    ck_assert_uint_eq(cc.private_, 0);
    ck_assert_uint_eq(cc.no_cache, 0);
}
END_TEST

START_TEST(test_field_lists)
{
    bc_cache_control cc = parse("private=\"x\"");

    ck_assert_uint_eq(cc.private_, 1);
    cc = parse("private=\"Set-Cookie, X-User\", max-age=60");
    ck_assert_uint_eq(cc.private_, 1);
    /* The comma inside the quotes does not start a directive. */
    ck_assert_int_eq(cc.max_age, 60);
    cc = parse("no-cache=\"Set-Cookie\"");
    ck_assert_uint_eq(cc.no_cache, 1);
    cc = parse("no-cache=Set-Cookie");
    ck_assert_uint_eq(cc.no_cache, 1);
    cc = parse("private=\"a, max-age=5\"");
    ck_assert_uint_eq(cc.private_, 1);
    ck_assert_int_eq(cc.max_age, -1);
}
END_TEST

START_TEST(test_max_age)
{
    bc_cache_control cc = parse("max-age=60");

    ck_assert_int_eq(cc.max_age, 60);
    ck_assert_int_eq(cc.s_maxage, -1);
    cc = parse("Max-Age=0");
    ck_assert_int_eq(cc.max_age, 0);
    cc = parse("max-age=\"120\"");
    ck_assert_int_eq(cc.max_age, 120);
    cc = parse("s-maxage=30");
    ck_assert_int_eq(cc.s_maxage, 30);
    ck_assert_int_eq(cc.max_age, -1);
    cc = parse("public,max-age=5,s-maxage=7");
    ck_assert_int_eq(cc.max_age, 5);
    ck_assert_int_eq(cc.s_maxage, 7);
    cc = parse("max-age = 42");
    ck_assert_int_eq(cc.max_age, 42);
}
END_TEST

START_TEST(test_invalid_values)
{
    const char *bad[] = {
        "max-age",          "max-age=",    "max-age=-1",   "max-age=1.5",
        "max-age=abc",      "max-age=10s", "max-age=\"\"", "max-age=\"12",
        "max-age=\"1\\2\"", "max-age=+5",  "max-age=5 6",  "max-age=0x10",
        "max-age=\"5\"x",   "max-age;5",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        bc_cache_control cc = parse(bad[i]);
        ck_assert_msg(cc.max_age == 0, "%s gave %ld", bad[i], cc.max_age);
        ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 0);
    }
    {
        bc_cache_control cc = parse("s-maxage=soon");
        ck_assert_int_eq(cc.s_maxage, 0);
    }
}
END_TEST

START_TEST(test_duplicates)
{
    bc_cache_control cc = parse("max-age=60, max-age=60");

    ck_assert_int_eq(cc.max_age, 0);
    cc = parse("s-maxage=10, max-age=5, s-maxage=20");
    ck_assert_int_eq(cc.s_maxage, 0);
    ck_assert_int_eq(cc.max_age, 5);
    cc = parse("max-age=x, max-age=5");
    ck_assert_int_eq(cc.max_age, 0);
    /* Repeating a flag is harmless. */
    cc = parse("no-store, no-store");
    ck_assert_uint_eq(cc.no_store, 1);
}
END_TEST

START_TEST(test_huge_numbers)
{
    bc_cache_control cc =
        parse("max-age=99999999999999999999999999999999999999");

    ck_assert_int_eq(cc.max_age, 2147483647L);
    cc = parse("s-maxage=2147483648");
    ck_assert_int_eq(cc.s_maxage, 2147483647L);
    cc = parse("s-maxage=2147483647");
    ck_assert_int_eq(cc.s_maxage, 2147483647L);
    cc = parse("max-age=00000000000000000000000000000000000000000000000030");
    ck_assert_int_eq(cc.max_age, 30);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 100), 30);
}
END_TEST

START_TEST(test_unknown_and_malformed)
{
    bc_cache_control cc =
        parse("must-revalidate, foo=\"bar, baz\", x=\"\\\"\", max-age=9");

    ck_assert_int_eq(cc.max_age, 9);
    ck_assert_uint_eq(cc.no_store, 0);
    cc = parse(",,, ,\t, max-age=3 ,,");
    ck_assert_int_eq(cc.max_age, 3);
    cc = parse("@@@, \"junk\", =5, no-store");
    ck_assert_uint_eq(cc.no_store, 1);
    ck_assert_int_eq(cc.max_age, -1);
    /* An unterminated quote swallows the rest. */
    cc = parse("foo=\"abc, no-store");
    ck_assert_uint_eq(cc.no_store, 0);
    /* Conservative: a malformed no-store still counts. */
    cc = parse("no-store=\"x");
    ck_assert_uint_eq(cc.no_store, 1);
}
END_TEST

START_TEST(test_several_headers)
{
    bc_cache_control cc;
    const char *h1 = "public, max-age=600";
    const char *h2 = "s-maxage=60";
    const char *h3 = "no-cache=\"Set-Cookie\"";

    bc_cache_control_init(&cc);
    bc_cache_control_parse(&cc, h1, strlen(h1));
    bc_cache_control_parse(&cc, h2, strlen(h2));
    ck_assert_int_eq(cc.max_age, 600);
    ck_assert_int_eq(cc.s_maxage, 60);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 60);
    bc_cache_control_parse(&cc, h3, strlen(h3));
    ck_assert_uint_eq(cc.no_cache, 1);
    /* no-cache is stored and revalidated: it leaves the lifetime alone. */
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 60);

    /* A max-age repeated across two headers is a duplicate too. */
    bc_cache_control_init(&cc);
    bc_cache_control_parse(&cc, "max-age=60", 10);
    bc_cache_control_parse(&cc, "max-age=60", 10);
    ck_assert_int_eq(cc.max_age, 0);

    /* The length is honoured: nothing after it is read. */
    bc_cache_control_init(&cc);
    bc_cache_control_parse(&cc, "max-age=123", 9);
    ck_assert_int_eq(cc.max_age, 1);
}
END_TEST

START_TEST(test_ttl)
{
    bc_cache_control cc = parse("max-age=60");

    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 60);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 30), 30);
    cc = parse("max-age=60, s-maxage=120");
    /* s-maxage wins over max-age even when longer. */
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 120);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 100), 100);
    cc = parse("s-maxage=0, max-age=60");
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 0);
    cc = parse("max-age=0");
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 0);
    cc = parse("no-cache, max-age=60");
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 60);
    cc = parse("public");
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 300);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 0), 0);
    ck_assert_int_eq(bc_cache_control_ttl(&cc, -5), 0);
    /* no-store and private are the caller's business: only lifetimes. */
    cc = parse("no-store, max-age=60");
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 60);
    cc = parse("private");
    ck_assert_int_eq(bc_cache_control_ttl(&cc, 300), 300);
}
END_TEST

/* RFC 9111 5.2.2.2 / 5.2.2.8 and RFC 5861. */
START_TEST(test_revalidate_and_windows)
{
    bc_cache_control cc = parse("max-age=60");
    ck_assert_uint_eq(cc.must_revalidate, 0);
    ck_assert_int_eq(cc.stale_while_revalidate, -1);
    ck_assert_int_eq(cc.stale_if_error, -1);
    cc = parse("must-revalidate");
    ck_assert_uint_eq(cc.must_revalidate, 1);
    cc = parse("Proxy-Revalidate");
    ck_assert_uint_eq(cc.must_revalidate, 1);
    cc = parse("must-revalidate=1"); /* any form counts */
    ck_assert_uint_eq(cc.must_revalidate, 1);
    cc = parse("stale-while-revalidate=30, stale-if-error=\"40\"");
    ck_assert_int_eq(cc.stale_while_revalidate, 30);
    ck_assert_int_eq(cc.stale_if_error, 40);
    /* Invalid or repeated: no widening. */
    cc = parse("stale-while-revalidate=soon, stale-if-error");
    ck_assert_int_eq(cc.stale_while_revalidate, -1);
    ck_assert_int_eq(cc.stale_if_error, -1);
    cc = parse("stale-if-error=10, stale-if-error=10");
    ck_assert_int_eq(cc.stale_if_error, -1);
    cc = parse("stale-while-revalidate=99999999999");
    ck_assert_int_eq(cc.stale_while_revalidate, 2147483647L);
}
END_TEST

/* RFC 9213 2.1 reads a targeted field only when it is well formed. */
START_TEST(test_directives_count)
{
    bc_cache_control cc = parse("max-age=60");
    ck_assert_uint_eq(cc.directives, 1);
    ck_assert_uint_eq(cc.malformed, 0);
    cc = parse("max-age=60, public, x-ext=\"q\"");
    ck_assert_uint_eq(cc.directives, 3);
    ck_assert_uint_eq(cc.malformed, 0);
    cc = parse("max-age=60, foo bar");
    ck_assert_uint_eq(cc.malformed, 1);
    cc = parse("max-age=\"60");
    ck_assert_uint_eq(cc.malformed, 1);
    cc = parse("");
    ck_assert_uint_eq(cc.directives, 0);
    ck_assert_uint_eq(cc.malformed, 0);
    cc = parse(" , ,");
    ck_assert_uint_eq(cc.directives, 0);
}
END_TEST

Suite *cache_control_suite(void)
{
    Suite *s = suite_create("cache_control");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_flags);
    tcase_add_test(tc, test_field_lists);
    tcase_add_test(tc, test_max_age);
    tcase_add_test(tc, test_invalid_values);
    tcase_add_test(tc, test_duplicates);
    tcase_add_test(tc, test_huge_numbers);
    tcase_add_test(tc, test_unknown_and_malformed);
    tcase_add_test(tc, test_several_headers);
    suite_add_tcase(s, tc);

    tc = tcase_create("ttl");
    tcase_add_test(tc, test_ttl);
    tcase_add_test(tc, test_revalidate_and_windows);
    tcase_add_test(tc, test_directives_count);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(cache_control_suite)
