/* check_log.c: unit tests of log line escaping (log forging). */
#include <string.h>

#include "check_main.h"
#include "log.h"

static const char *esc(const char *in, size_t len, size_t cap)
{
    static char out[256];
    size_t n = bc_log_escape(in, len, out, cap);
    ck_assert_uint_eq(n, strlen(out));
    return out;
}

START_TEST(plain_text_unchanged)
{
    const char *s = "GET /api/v1/x?a=1 \"quoted\" caf\xc3\xa9";
    ck_assert_str_eq(esc(s, strlen(s), 256), s);
}
END_TEST

START_TEST(controls_escaped)
{
    ck_assert_str_eq(esc("a\nb", 3, 256), "a\\x0ab");
    ck_assert_str_eq(esc("a\r\n2026-01-01 bocache: forged", 29, 256),
                     "a\\x0d\\x0a2026-01-01 bocache: forged");
    ck_assert_str_eq(esc("\x1b[31m", 5, 256), "\\x1b[31m");
    ck_assert_str_eq(esc("\x7f\t", 2, 256), "\\x7f\\x09");
    ck_assert_str_eq(esc("a\0b", 3, 256), "a\\x00b");
    /* The escape character itself, so an escaped line reads one way. */
    ck_assert_str_eq(esc("a\\x0ab", 6, 256), "a\\\\x0ab");
}
END_TEST

START_TEST(bounds)
{
    char out[8];
    memset(out, 'z', sizeof out);
    ck_assert_uint_eq(bc_log_escape("abc", 3, out, 0), 0);
    ck_assert_int_eq(out[0], 'z');
    ck_assert_uint_eq(bc_log_escape("abcdefghij", 10, out, sizeof out), 7);
    ck_assert_str_eq(out, "abcdefg");
    /* An escape that does not fit whole is left out, never cut. */
    ck_assert_uint_eq(bc_log_escape("abcde\n", 6, out, sizeof out), 5);
    ck_assert_str_eq(out, "abcde");
    ck_assert_uint_eq(bc_log_escape("abc\n", 4, out, sizeof out), 7);
    ck_assert_str_eq(out, "abc\\x0a");
}
END_TEST

Suite *log_suite(void);

Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("escape");
    tcase_add_test(tc, plain_text_unchanged);
    tcase_add_test(tc, controls_escaped);
    tcase_add_test(tc, bounds);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(log_suite)
