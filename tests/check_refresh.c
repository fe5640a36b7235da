/* check_refresh.c: unit tests of the stored head's update by a 304 or a
 * HEAD's 200 (RFC 9111 4.3.4, 4.3.5). */
#include "check_main.h"
#include "refresh.h"

#include <string.h>

Suite *refresh_suite(void);

static bc_response_head fresh;
static char out[4096];

/* Parses TEXT (a complete CGI head) into FRESH. */
static void parse_fresh(const char *text)
{
    ck_assert_int_eq(bc_response_parse_head(text, strlen(text), &fresh), 1);
}

/* Merges STORED with FRESH (SKIP may be NULL) and checks the result. */
static void check_merge(const char *stored, const char *const *skip,
                        const char *want)
{
    long n =
        bc_refresh_merge(stored, strlen(stored), &fresh, skip, out, sizeof out);
    ck_assert_int_ge(n, 0);
    ck_assert_str_eq((out[n] = '\0', out), want);
}

START_TEST(replaces_at_first_place)
{
    parse_fresh("Status: 304 Not Modified\r\nETag: \"v2\"\r\n\r\n");
    check_merge("Status: 200 OK\r\nETag: \"v1\"\r\nX-A: 1\r\n", NULL,
                "Status: 200 OK\r\nETag: \"v2\"\r\nX-A: 1\r\n");
}
END_TEST

START_TEST(keeps_what_the_304_lacks)
{
    parse_fresh("Status: 304\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT\r\n\r\n");
    check_merge("Content-Type: text/plain\r\nDate: Mon, 30 Nov 2026 10:00:00 "
                "GMT\r\nX-Keep: yes\r\n",
                NULL,
                "Content-Type: text/plain\r\nDate: Tue, 01 Dec 2026 10:00:00 "
                "GMT\r\nX-Keep: yes\r\n");
}
END_TEST

START_TEST(appends_new_fields_in_order)
{
    parse_fresh("Status: 304\r\nX-New: a\r\nETag: \"e\"\r\nX-Other: b\r\n\r\n");
    check_merge("ETag: \"d\"\r\n", NULL,
                "ETag: \"e\"\r\nX-New: a\r\nX-Other: b\r\n");
}
END_TEST

START_TEST(replaces_every_stored_line_of_a_name)
{
    /* Two stored lines of one name become the 304's lines, once, where
     * the first stood; the 304's two lines keep their order. */
    parse_fresh("Status: 304\r\nLink: <c>\r\nLink: <d>\r\n\r\n");
    check_merge("Link: <a>\r\nX-Mid: m\r\nlink: <b>\r\nX-End: e\r\n", NULL,
                "Link: <c>\r\nLink: <d>\r\nX-Mid: m\r\nX-End: e\r\n");
}
END_TEST

START_TEST(case_insensitive_names)
{
    parse_fresh("Status: 304\r\ncache-control: max-age=60\r\n\r\n");
    check_merge("Cache-Control: max-age=1\r\n", NULL,
                "cache-control: max-age=60\r\n");
}
END_TEST

START_TEST(never_status_or_content_length)
{
    parse_fresh("Status: 304 Not Modified\r\nContent-Length: 0\r\n"
                "X-V: 2\r\n\r\n");
    check_merge("Status: 200 OK\r\nContent-Length: 5\r\nX-V: 1\r\n", NULL,
                "Status: 200 OK\r\nContent-Length: 5\r\nX-V: 2\r\n");
    /* Nor added when the stored head lacks them. */
    check_merge("X-V: 1\r\n", NULL, "X-V: 2\r\n");
}
END_TEST

START_TEST(skip_list)
{
    static const char *const skip[] = {"X-Cache-Tags", "Age", NULL};
    parse_fresh("Status: 304\r\nAge: 5\r\nX-Cache-Tags: b\r\nX-V: 2\r\n\r\n");
    check_merge("X-Cache-Tags: a\r\nX-V: 1\r\n", skip,
                "X-Cache-Tags: a\r\nX-V: 2\r\n");
    /* Without the skip list the 304's Age is taken like any field. */
    check_merge("X-V: 1\r\n", NULL, "X-V: 2\r\nAge: 5\r\nX-Cache-Tags: b\r\n");
}
END_TEST

START_TEST(skip_none_appends_age)
{
    parse_fresh("Status: 304\r\nAge: 5\r\n\r\n");
    check_merge("X-V: 1\r\n", NULL, "X-V: 1\r\nAge: 5\r\n");
}
END_TEST

START_TEST(line_endings)
{
    /* LF-only lines of the 304 are kept as sent; a stored last line
     * without an ending gets CRLF. */
    parse_fresh("Status: 304\nX-New: n\n\n");
    check_merge("X-A: a\nX-B: b", NULL, "X-A: a\nX-B: b\r\nX-New: n\n");
}
END_TEST

START_TEST(lines_without_colon_stay)
{
    parse_fresh("Status: 304\r\nX-V: 2\r\n\r\n");
    check_merge("junk line\r\nX-V: 1\r\n", NULL, "junk line\r\nX-V: 2\r\n");
}
END_TEST

START_TEST(empty_stored_and_empty_fresh)
{
    parse_fresh("Status: 304\r\n\r\n");
    check_merge("X-V: 1\r\n", NULL, "X-V: 1\r\n");
    parse_fresh("Status: 304\r\nX-V: 2\r\n\r\n");
    check_merge("", NULL, "X-V: 2\r\n");
}
END_TEST

START_TEST(does_not_fit)
{
    parse_fresh("Status: 304\r\nX-Long: 0123456789\r\n\r\n");
    const char stored[] = "X-A: a\r\n";
    char small[16];
    ck_assert_int_eq(bc_refresh_merge(stored, strlen(stored), &fresh, NULL,
                                      small, sizeof small),
                     -1);
    /* Exactly enough room: 8 + 20 bytes. */
    char exact[28];
    ck_assert_int_eq(bc_refresh_merge(stored, strlen(stored), &fresh, NULL,
                                      exact, sizeof exact),
                     28);
    ck_assert_int_eq(memcmp(exact, "X-A: a\r\nX-Long: 0123456789\r\n", 28), 0);
}
END_TEST

Suite *refresh_suite(void)
{
    Suite *s = suite_create("refresh");
    TCase *tc = tcase_create("merge");
    tcase_add_test(tc, replaces_at_first_place);
    tcase_add_test(tc, keeps_what_the_304_lacks);
    tcase_add_test(tc, appends_new_fields_in_order);
    tcase_add_test(tc, replaces_every_stored_line_of_a_name);
    tcase_add_test(tc, case_insensitive_names);
    tcase_add_test(tc, never_status_or_content_length);
    tcase_add_test(tc, skip_list);
    tcase_add_test(tc, skip_none_appends_age);
    tcase_add_test(tc, line_endings);
    tcase_add_test(tc, lines_without_colon_stay);
    tcase_add_test(tc, empty_stored_and_empty_fresh);
    tcase_add_test(tc, does_not_fit);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(refresh_suite)
