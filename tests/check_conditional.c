/* check_conditional.c: unit tests of conditional request evaluation. */
#include "check_main.h"
#include "conditional.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *conditional_suite(void);

#define T1994 784111777LL /* Sun, 06 Nov 1994 08:49:37 GMT */

/* ETAG and LM are passed as exact-size heap copies, so reads past their
 * lengths are caught. */
static int nm(const char *etag, const char *lm, const char *inm,
              const char *ims)
{
    size_t el = etag ? strlen(etag) : 0, ll = lm ? strlen(lm) : 0;
    char *e = etag ? malloc(el ? el : 1) : NULL;
    char *l = lm ? malloc(ll ? ll : 1) : NULL;
    int r;

    if (etag)
        memcpy(e, etag, el);
    if (lm)
        memcpy(l, lm, ll);
    r = bc_conditional_not_modified(e, el, l, ll, inm, ims);
    free(e);
    free(l);
    return r;
}

static long long date(const char *s)
{
    size_t n = strlen(s);
    char *c = malloc(n ? n : 1);
    long long t = -12345;

    ck_assert_ptr_nonnull(c);
    memcpy(c, s, n);
    if (bc_conditional_parse_date(c, n, &t) < 0)
        t = -12345;
    free(c);
    return t;
}

START_TEST(test_dates)
{
    ck_assert_int_eq(date("Sun, 06 Nov 1994 08:49:37 GMT"), T1994);
    ck_assert_int_eq(date("Sunday, 06-Nov-94 08:49:37 GMT"), T1994);
    ck_assert_int_eq(date("Sun Nov  6 08:49:37 1994"), T1994);
    ck_assert_int_eq(date("Sun Nov 06 08:49:37 1994"), T1994);
    ck_assert_int_eq(date("  Sun, 06 Nov 1994 08:49:37 GMT\t"), T1994);
    /* Names are case-insensitive and independent of the locale. */
    ck_assert_int_eq(date("sun, 06 nov 1994 08:49:37 GMT"), T1994);
    ck_assert_int_eq(date("SUNDAY, 06-NOV-94 08:49:37 GMT"), T1994);
    ck_assert_int_eq(date("Thu, 01 Jan 1970 00:00:00 GMT"), 0);
    ck_assert_int_eq(date("Wed, 31 Dec 1969 23:59:59 GMT"), -1);
    ck_assert_int_eq(date("Tue, 29 Feb 2000 12:00:00 GMT"), 951825600LL);
    ck_assert_int_eq(date("Thu, 31 Dec 2037 23:59:59 GMT"), 2145916799LL);
    ck_assert_int_eq(date("Sat, 01 Jan 2100 00:00:00 GMT"), 4102444800LL);
    /* The weekday is not checked against the date. */
    ck_assert_int_eq(date("Mon, 06 Nov 1994 08:49:37 GMT"), T1994);
    /* RFC 850 years: 70..99 are 19xx, 00..69 are 20xx. */
    ck_assert_int_eq(date("Thursday, 01-Jan-70 00:00:00 GMT"), 0);
    ck_assert_int_eq(date("Saturday, 01-Jan-00 00:00:00 GMT"), 946684800LL);
    /* A leap second rolls over. */
    ck_assert_int_eq(date("Sat, 31 Dec 2016 23:59:60 GMT"), 1483228800LL);
    for (int m = 0; m < 12; m++) {
        static const char *const names[] = {"Jan", "Feb", "Mar", "Apr",
                                            "May", "Jun", "Jul", "Aug",
                                            "Sep", "Oct", "Nov", "Dec"};
        char buf[64];
        snprintf(buf, sizeof(buf), "Mon, 01 %s 2001 00:00:00 GMT", names[m]);
        ck_assert_msg(date(buf) >= 978307200LL, "%s", buf);
        if (m > 0) {
            char prev[64];
            snprintf(prev, sizeof(prev), "Mon, 01 %s 2001 00:00:00 GMT",
                     names[m - 1]);
            ck_assert_int_lt(date(prev), date(buf));
        }
    }
}
END_TEST

START_TEST(test_bad_dates)
{
    static const char *const bad[] = {
        "",
        "yesterday",
        "784111777",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun, 06  Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 23:60:00 GMT",
        "Sun, 06 Nov 1994 23:59:61 GMT",
        "Sun, 00 Nov 1994 08:49:37 GMT",
        "Sun, 31 Nov 1994 08:49:37 GMT",
        "Sun, 29 Feb 1900 08:49:37 GMT",
        "Sun, 29 Feb 1999 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sund, 06 Nov 1994 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, -6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(date(bad[i]) == -12345, "'%s' parsed", bad[i]);
    /* Lengths rule: a NUL inside ends nothing, a cut date is invalid. */
    {
        long long t;
        ck_assert_int_eq(
            bc_conditional_parse_date("Sun, 06 Nov 1994 08:49:37 GMT", 28, &t),
            -1);
        ck_assert_int_eq(bc_conditional_parse_date(
                             "Sun, 06 Nov 1994 08:49:37 GMT\0", 30, &t),
                         -1);
    }
}
END_TEST

START_TEST(test_if_none_match)
{
    ck_assert(nm("\"abc\"", NULL, "\"abc\"", NULL));
    ck_assert(!nm("\"abc\"", NULL, "\"abd\"", NULL));
    ck_assert(!nm("\"abc\"", NULL, "\"ab\"", NULL));
    ck_assert(!nm("\"abc\"", NULL, "abc", NULL));
    /* Weak comparison: W/ is ignored on either side. */
    ck_assert(nm("W/\"abc\"", NULL, "\"abc\"", NULL));
    ck_assert(nm("\"abc\"", NULL, "W/\"abc\"", NULL));
    ck_assert(nm("W/\"abc\"", NULL, "W/\"abc\"", NULL));
    ck_assert(!nm("w/\"abc\"", NULL, "\"abc\"", NULL));
    ck_assert(!nm("\"ABC\"", NULL, "\"abc\"", NULL));
    /* Lists. */
    ck_assert(nm("\"b\"", NULL, "\"a\", \"b\", \"c\"", NULL));
    ck_assert(nm("\"c\"", NULL, "\"a\",W/\"b\" ,\t\"c\"", NULL));
    ck_assert(nm("\"b\"", NULL, " , ,\"a\",,\"b\",", NULL));
    ck_assert(!nm("\"d\"", NULL, "\"a\", \"b\", \"c\"", NULL));
    ck_assert(nm("\"a,b\"", NULL, "\"x\", \"a,b\"", NULL));
    ck_assert(!nm("\"a\"", NULL, "\"a,b\"", NULL));
    ck_assert(nm("\"\"", NULL, "\"x\", \"\"", NULL));
    /* A malformed member ends the list. */
    ck_assert(nm("\"a\"", NULL, "\"a\" junk", NULL));
    ck_assert(!nm("\"b\"", NULL, "\"a\" junk, \"b\"", NULL));
    ck_assert(!nm("\"b\"", NULL, "junk, \"b\"", NULL));
    ck_assert(!nm("\"b\"", NULL, "\"a, \"b\"", NULL));
    /* "*" matches any stored response, even one without an ETag. */
    ck_assert(nm("\"abc\"", NULL, "*", NULL));
    ck_assert(nm(NULL, NULL, "*", NULL));
    ck_assert(nm(NULL, NULL, " * ", NULL));
    ck_assert(!nm(NULL, NULL, "\"abc\"", NULL));
    ck_assert(!nm("\"abc\"", NULL, "", NULL));
    ck_assert(!nm("\"abc\"", NULL, "**", NULL));
    /* A stored ETag that is not an entity-tag matches only "*". */
    ck_assert(!nm("abc", NULL, "abc", NULL));
    ck_assert(!nm("abc", NULL, "\"abc\"", NULL));
    ck_assert(!nm("\"abc\" x", NULL, "\"abc\"", NULL));
    ck_assert(!nm("", NULL, "\"\"", NULL));
    ck_assert(nm("abc", NULL, "*", NULL));
    /* Whitespace around the stored value is trimmed. */
    ck_assert(nm(" \"abc\" ", NULL, "\"abc\"", NULL));
}
END_TEST

START_TEST(test_if_modified_since)
{
    const char *lm = "Sun, 06 Nov 1994 08:49:37 GMT";

    ck_assert(nm(NULL, lm, NULL, "Sun, 06 Nov 1994 08:49:37 GMT"));
    ck_assert(nm(NULL, lm, NULL, "Sun, 06 Nov 1994 08:49:38 GMT"));
    ck_assert(!nm(NULL, lm, NULL, "Sun, 06 Nov 1994 08:49:36 GMT"));
    ck_assert(nm(NULL, lm, NULL, "Sunday, 06-Nov-94 08:49:37 GMT"));
    ck_assert(nm(NULL, lm, NULL, "Sun Nov  6 08:49:37 1994"));
    ck_assert(!nm(NULL, lm, NULL, "Sun Nov  6 08:49:36 1994"));
    ck_assert(nm(NULL, "Sun Nov  6 08:49:37 1994", NULL,
                 "Sun, 06 Nov 1994 08:49:37 GMT"));
    ck_assert(nm("\"x\"", lm, NULL, "Fri, 01 Jan 2100 00:00:00 GMT"));
    /* Invalid dates on either side: no 304. */
    ck_assert(!nm(NULL, lm, NULL, "garbage"));
    ck_assert(!nm(NULL, lm, NULL, ""));
    ck_assert(!nm(NULL, lm, NULL, "784111777"));
    ck_assert(!nm(NULL, "garbage", NULL, "Sun, 06 Nov 1994 08:49:37 GMT"));
    ck_assert(!nm(NULL, "", NULL, "Sun, 06 Nov 1994 08:49:37 GMT"));
    ck_assert(!nm(NULL, NULL, NULL, "Sun, 06 Nov 1994 08:49:37 GMT"));
    ck_assert(!nm("\"x\"", lm, NULL, NULL));
    ck_assert(!nm(NULL, NULL, NULL, NULL));
}
END_TEST

START_TEST(test_precedence)
{
    const char *lm = "Sun, 06 Nov 1994 08:49:37 GMT";
    const char *later = "Mon, 07 Nov 1994 08:49:37 GMT";
    const char *earlier = "Sat, 05 Nov 1994 08:49:37 GMT";

    /* With If-None-Match, If-Modified-Since is not looked at. */
    ck_assert(!nm("\"a\"", lm, "\"b\"", later));
    ck_assert(nm("\"a\"", lm, "\"a\"", earlier));
    ck_assert(!nm(NULL, lm, "\"a\"", later));
    ck_assert(!nm("\"a\"", lm, "", later));
    ck_assert(!nm("\"a\"", lm, "junk", later));
    ck_assert(nm(NULL, lm, "*", earlier));
    /* Without it, If-Modified-Since decides. */
    ck_assert(nm("\"a\"", lm, NULL, later));
    ck_assert(!nm("\"a\"", lm, NULL, earlier));
}
END_TEST

START_TEST(test_keep_header)
{
    static const char *const yes[] = {
        "Cache-Control", "cache-control", "CONTENT-LOCATION", "Date", "ETag",
        "etag",          "Expires",       "Last-Modified",    "Vary", "vAry",
    };
    static const char *const no[] = {
        "Content-Type",
        "Content-Length",
        "Set-Cookie",
        "X-Cache-Tags",
        "Dat",
        "Dates",
        "Var",
        "ETag ",
        "",
        "Content-Encoding",
        "Age",
        "Status",
    };

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        ck_assert_msg(bc_conditional_keep_header(yes[i], strlen(yes[i])), "%s",
                      yes[i]);
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        ck_assert_msg(!bc_conditional_keep_header(no[i], strlen(no[i])), "%s",
                      no[i]);
    /* Lengths rule: "ETagX" cut to 4 bytes is ETag, "Vary" cut to 3 is
     * not. */
    ck_assert(bc_conditional_keep_header("ETagX", 4));
    ck_assert(!bc_conditional_keep_header("Vary", 3));
}
END_TEST

Suite *conditional_suite(void)
{
    Suite *s = suite_create("conditional");
    TCase *tc = tcase_create("dates");

    tcase_add_test(tc, test_dates);
    tcase_add_test(tc, test_bad_dates);
    suite_add_tcase(s, tc);

    tc = tcase_create("evaluate");
    tcase_add_test(tc, test_if_none_match);
    tcase_add_test(tc, test_if_modified_since);
    tcase_add_test(tc, test_precedence);
    tcase_add_test(tc, test_keep_header);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(conditional_suite)
