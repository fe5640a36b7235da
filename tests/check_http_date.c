/* check_http_date.c: unit tests of HTTP-date parsing. */
#include "check_main.h"
#include "http_date.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *http_date_suite(void);

/* 2026-12-02 21:48:25 UTC, the NOW of most tests. */
#define NOW 1796248105

/* Parses the first LEN bytes of S from an exact-size heap copy, so reads
 * past the length are caught. */
static int parse_n(const char *s, size_t len, int64_t now, int64_t *out)
{
    char *copy = malloc(len ? len : 1);
    int rc;

    ck_assert_ptr_nonnull(copy);
    memcpy(copy, s, len);
    rc = bc_http_date_parse(copy, len, now, out);
    free(copy);
    return rc;
}

/* S must parse, relative to NOW, to WANT. */
static void valid_at(const char *s, int64_t now, int64_t want)
{
    int64_t t = 0;

    ck_assert_msg(parse_n(s, strlen(s), now, &t) == 0, "\"%s\" refused", s);
    ck_assert_msg(t == want, "\"%s\" gave %lld, not %lld", s, (long long)t,
                  (long long)want);
}

static void valid(const char *s, int64_t want)
{
    valid_at(s, NOW, want);
}

static void invalid(const char *s)
{
    int64_t t = 0;

    ck_assert_msg(parse_n(s, strlen(s), NOW, &t) == -1, "\"%s\" accepted", s);
}

START_TEST(test_forms)
{
    /* RFC 9110 5.6.7's three examples, one instant. */
    valid("Sun, 06 Nov 1994 08:49:37 GMT", 784111777);
    valid("Sunday, 06-Nov-94 08:49:37 GMT", 784111777);
    valid("Sun Nov  6 08:49:37 1994", 784111777);
    /* asctime's day may also be two digits. */
    valid("Sun Nov 06 08:49:37 1994", 784111777);
    valid("Wed Nov 16 08:49:37 1994", 784111777 + 10 * 86400);
    valid("Thu, 01 Jan 1970 00:00:00 GMT", 0);
    /* The weekday is not checked against the date. */
    valid("Fri, 06 Nov 1994 08:49:37 GMT", 784111777);
    valid("Monday, 06-Nov-94 08:49:37 GMT", 784111777);
    valid("Sat Nov  6 08:49:37 1994", 784111777);
}
END_TEST

START_TEST(test_names)
{
    static const char *const wk[] = {"Mon", "Tue", "Wed", "Thu",
                                     "Fri", "Sat", "Sun"};
    static const char *const wkl[] = {"Monday",   "Tuesday", "Wednesday",
                                      "Thursday", "Friday",  "Saturday",
                                      "Sunday"};
    static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    /* The first and last second of each month of 2001 (timegm's). */
    static const int64_t first[] = {
        978307200, 980985600, 983404800, 986083200,  988675200,  991353600,
        993945600, 996624000, 999302400, 1001894400, 1004572800, 1007164800};
    static const int64_t last[] = {
        980985599, 983404799, 986083199,  988675199,  991353599,  993945599,
        996623999, 999302399, 1001894399, 1004572799, 1007164799, 1009843199};
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    char buf[64];

    for (int m = 0; m < 12; m++) {
        const char *w = wk[m % 7], *wl = wkl[m % 7];
        snprintf(buf, sizeof buf, "%s, 01 %s 2001 00:00:00 GMT", w, mon[m]);
        valid(buf, first[m]);
        snprintf(buf, sizeof buf, "%s, %02d %s 2001 23:59:59 GMT", w, mdays[m],
                 mon[m]);
        valid(buf, last[m]);
        snprintf(buf, sizeof buf, "%s, 01-%s-01 00:00:00 GMT", wl, mon[m]);
        valid(buf, first[m]);
        snprintf(buf, sizeof buf, "%s %s  1 00:00:00 2001", w, mon[m]);
        valid(buf, first[m]);
        /* One day past the month's end. */
        snprintf(buf, sizeof buf, "%s, %02d %s 2001 00:00:00 GMT", w,
                 mdays[m] + 1, mon[m]);
        invalid(buf);
    }
    for (int d = 0; d < 7; d++) {
        snprintf(buf, sizeof buf, "%s, 06 Nov 1994 08:49:37 GMT", wk[d]);
        valid(buf, 784111777);
        snprintf(buf, sizeof buf, "%s, 06-Nov-94 08:49:37 GMT", wkl[d]);
        valid(buf, 784111777);
        snprintf(buf, sizeof buf, "%s Nov  6 08:49:37 1994", wk[d]);
        valid(buf, 784111777);
    }
}
END_TEST

START_TEST(test_leap_years)
{
    valid("Thu, 29 Feb 2024 00:00:00 GMT", 1709164800);
    valid("Tue, 29 Feb 2000 12:00:00 GMT", 951825600);
    valid("Tue, 29 Feb 1600 00:00:00 GMT", -11670998400);
    valid("Thu Feb 29 00:00:00 2024", 1709164800);
    valid("Thursday, 29-Feb-24 00:00:00 GMT", 1709164800);
    invalid("Wed, 29 Feb 2023 00:00:00 GMT");
    invalid("Mon, 29 Feb 2100 00:00:00 GMT");
    invalid("Mon, 29 Feb 1900 00:00:00 GMT");
    invalid("Wed Feb 29 00:00:00 2023");
    invalid("Wednesday, 29-Feb-23 00:00:00 GMT");
    invalid("Fri, 30 Feb 2024 00:00:00 GMT");
    invalid("Sat, 31 Apr 2024 00:00:00 GMT");
    invalid("Sat, 00 Jan 2024 00:00:00 GMT");
    invalid("Sat, 32 Jan 2024 00:00:00 GMT");
    invalid("Sat Jan  0 00:00:00 2024");
}
END_TEST

START_TEST(test_range)
{
    /* Past 2038 and 2106, where 32-bit seconds end. */
    valid("Tue, 19 Jan 2038 03:14:08 GMT", 2147483648);
    valid("Sun, 07 Feb 2106 06:28:16 GMT", 4294967296);
    valid("Fri, 31 Dec 9999 23:59:59 GMT", 253402300799);
    valid("Fri Dec 31 23:59:59 9999", 253402300799);
    /* Before 1970: a date can be -1, which is not an error. */
    valid("Wed, 31 Dec 1969 23:59:59 GMT", -1);
    valid("Mon, 01 Jan 1900 00:00:00 GMT", -2208988800);
    valid("Mon, 01 Jan 0001 00:00:00 GMT", -62135596800);
    valid("Sat, 01 Jan 0000 00:00:00 GMT", -62167219200);
}
END_TEST

START_TEST(test_clock)
{
    /* A leap second is accepted, as the instant after :59. */
    valid("Sat, 31 Dec 2016 23:59:60 GMT", 1483228800);
    valid("Sat Dec 31 23:59:60 2016", 1483228800);
    valid("Thu, 01 Jan 1970 23:59:59 GMT", 86399);
    invalid("Sat, 31 Dec 2016 23:59:61 GMT");
    invalid("Sat, 31 Dec 2016 23:60:00 GMT");
    invalid("Sat, 31 Dec 2016 24:00:00 GMT");
    invalid("Sat, 31 Dec 2016 99:99:99 GMT");
}
END_TEST

START_TEST(test_two_digit_years)
{
    /* NOW is 2026-12-02 21:48:25: the limit is that instant in 2076. */
    valid("Wednesday, 02-Dec-76 21:48:25 GMT", 3374171305);
    valid("Thursday, 02-Dec-76 21:48:26 GMT", 218411306);
    valid("Sunday, 06-Nov-94 08:49:37 GMT", 784111777);
    valid("Thursday, 01-Jan-26 00:00:00 GMT", 1767225600);
    valid("Monday, 01-Mar-50 00:00:00 GMT", 2529705600);
    /* At the epoch the limit is 2020-01-01 00:00:00. */
    valid_at("Wednesday, 01-Jan-20 00:00:00 GMT", 0, 1577836800);
    valid_at("Thursday, 01-Jan-20 00:00:01 GMT", 0, -1577923199);
    valid_at("Thursday, 01-Jan-70 00:00:00 GMT", 0, 0);
    /* Late in a century the next one's early years are near. */
    valid_at("Tuesday, 01-Mar-01 00:00:00 GMT", 4083955200, 4139078400);
    valid_at("Tuesday, 15-Jun-49 10:00:00 GMT", 4083955200, 2507364000);
    valid_at("Tuesday, 15-Jun-50 10:00:00 GMT", 4083955200, 2538900000);
    /* Before the epoch, too: NOW 1900-01-01, limit 1950-01-01. */
    valid_at("Monday, 01-Jan-00 00:00:00 GMT", -2208988800, -2208988800);
    valid_at("Monday, 01-Jan-51 00:00:00 GMT", -2208988800, -3755289600);
    /* A 29 February is checked in the year the rule picks: "00" is 2000
     * (leap) now, and was 1900 (not leap) in 1900. */
    valid("Thursday, 29-Feb-24 00:00:00 GMT", 1709164800);
    valid_at("Friday, 29-Feb-24 00:00:00 GMT", -2208988800, -1446595200);
    valid("Tuesday, 29-Feb-00 00:00:00 GMT", 951782400);
    ck_assert_int_eq(parse_n("Tuesday, 29-Feb-00 00:00:00 GMT", 31, -2208988800,
                             &(int64_t){0}),
                     -1);
    invalid("Thursday, 29-Feb-23 00:00:00 GMT");
}
END_TEST

START_TEST(test_invalid)
{
    static const char *const bad[] = {
        "",
        "0",
        "-1",
        "784111777",
        " ",
        /* IMF-fixdate must have a four-digit year and GMT. */
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Sun, 06 Nov 01994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 UTC",
        "Sun, 06 Nov 1994 08:49:37 +0000",
        "Sun, 06 Nov 1994 08:49:37 AEST",
        "Sun, 06 Nov 1994 08:49:37 Z",
        "Sun, 06 Nov 1994 08:49:37 GMT+1",
        "Sun, 06 Nov 1994 08:49:37 gmt",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 ",
        /* Names are case-sensitive and whole. */
        "sun, 06 Nov 1994 08:49:37 GMT",
        "SUN, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 nov 1994 08:49:37 GMT",
        "Sun, 06 NOV 1994 08:49:37 GMT",
        "sunday, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-nov-94 08:49:37 GMT",
        "sun Nov  6 08:49:37 1994",
        "Sun nov  6 08:49:37 1994",
        "Sunday, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sund, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Novem 1994 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Xyz 1994 08:49:37 GMT",
        /* Separators: one space, the comma, the colons. */
        "Sun 06 Nov 1994 08:49:37 GMT",
        "Sunday 06-Nov-94 08:49:37 GMT",
        "Sun,  06 Nov 1994 08:49:37 GMT",
        "Sun, 06  Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov  1994 08:49:37 GMT",
        "Sun, 06 Nov 1994  08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37  GMT",
        "Sun,\t06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994\t08:49:37 GMT",
        "Sun, 06-Nov-1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08.49.37 GMT",
        "Sun, 06 Nov 1994 08-49-37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov   6 08:49:37 1994",
        "Sun Nov  16 08:49:37 1994",
        "Sun, Nov  6 08:49:37 1994",
        "Sun Nov  6 08:49:37  1994",
        "Sunday, 06-Nov-94  08:49:37 GMT",
        "Sunday,  06-Nov-94 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        /* Digits: exactly two (four for IMF and asctime years). */
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 8:49:37 GMT",
        "Sun, 06 Nov 1994 08:9:37 GMT",
        "Sun, 06 Nov 1994 08:49:7 GMT",
        "Sun, 06 Nov 1994 008:49:37 GMT",
        "Sun, 06 Nov 19a4 08:49:37 GMT",
        "Sun, 06 Nov +994 08:49:37 GMT",
        "Sun, 06 Nov -994 08:49:37 GMT",
        "Sun, +6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 +8:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06-Nov-4 08:49:37 GMT",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 01994",
        "Sun Nov  6 8:49:37 1994",
        /* Trailing and leading junk, and a zone in asctime. */
        "Sun, 06 Nov 1994 08:49:37 GMTx",
        "Sun, 06 Nov 1994 08:49:37 GMT,",
        "Sun, 06 Nov 1994 08:49:37 GMT GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT\r\n",
        " Sun, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT ",
        "xSun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT ",
        "Sun Nov  6 08:49:37 1994 ",
        "Sun Nov  6 08:49:37 1994 GMT",
        "Sun Nov  6 08:49:37 GMT 1994",
    };

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        invalid(bad[i]);
}
END_TEST

START_TEST(test_nul_and_length)
{
    const char with_nul[] = "Sun, 06 Nov 1994 08:49:37 GMT\0";
    const char inner_nul[] = "Sun, 06 Nov 1994 08:49:37\0GMT";
    int64_t t = 0;

    /* The length is honoured: a NUL counts as a byte, nothing after the
     * length is read. */
    ck_assert_int_eq(parse_n(with_nul, sizeof with_nul - 1, NOW, &t), -1);
    ck_assert_int_eq(parse_n(with_nul, sizeof with_nul - 2, NOW, &t), 0);
    ck_assert_int_eq(t, 784111777);
    ck_assert_int_eq(parse_n(inner_nul, sizeof inner_nul - 1, NOW, &t), -1);
    ck_assert_int_eq(parse_n("Sun, 06 Nov 1994 08:49:37 GMTGMT", 29, NOW, &t),
                     0);
    ck_assert_int_eq(t, 784111777);
}
END_TEST

START_TEST(test_truncated)
{
    static const char *const good[] = {
        "Sun, 06 Nov 1994 08:49:37 GMT",     "Sunday, 06-Nov-94 08:49:37 GMT",
        "Wednesday, 09-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994",
        "Sun Nov 16 08:49:37 1994",
    };

    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t n = strlen(good[i]);
        int64_t t;
        ck_assert_int_eq(parse_n(good[i], n, NOW, &t), 0);
        /* Every proper prefix, and every proper suffix, is refused. */
        for (size_t k = 0; k < n; k++) {
            ck_assert_msg(parse_n(good[i], k, NOW, &t) == -1,
                          "\"%.*s\" accepted", (int)k, good[i]);
            ck_assert_msg(parse_n(good[i] + n - k, k, NOW, &t) == -1,
                          "\"%s\" accepted", good[i] + n - k);
        }
    }
}
END_TEST

START_TEST(test_out_on_failure)
{
    int64_t t = 42;

    /* A refused value leaves *OUT alone. */
    ck_assert_int_eq(parse_n("Sun, 06 Nov 1994 08:49:37 UTC", 29, NOW, &t), -1);
    ck_assert_int_eq(t, 42);
}
END_TEST

Suite *http_date_suite(void)
{
    Suite *s = suite_create("http_date");
    TCase *tc = tcase_create("valid");

    tcase_add_test(tc, test_forms);
    tcase_add_test(tc, test_names);
    tcase_add_test(tc, test_leap_years);
    tcase_add_test(tc, test_range);
    tcase_add_test(tc, test_clock);
    tcase_add_test(tc, test_two_digit_years);
    suite_add_tcase(s, tc);

    tc = tcase_create("invalid");
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_nul_and_length);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_out_on_failure);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(http_date_suite)
