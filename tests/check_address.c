/* check_address.c: unit tests of the address rules and parser. */
#include <stdio.h>
#include <string.h>

#include "address.h"
#include "check_main.h"

Suite *address_suite(void);

#define FORM "must be \"unix:/absolute/path\" or \"host:port\""
#define PORT "must end in a port between 1 and 65535"

START_TEST(tcp_addresses)
{
    static const struct {
        const char *text, *host;
        int port;
    } good[] = {{"127.0.0.1:6379", "127.0.0.1", 6379},
                {"localhost:1", "localhost", 1},
                {"h:65535", "h", 65535},
                {"redis-1.example.com:6380", "redis-1.example.com", 6380},
                {"under_score:80", "under_score", 80},
                {"[::1]:6379", "::1", 6379},
                {"[2001:db8::7]:9000", "2001:db8::7", 9000}};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        bc_address a;
        char err[256] = "";
        ck_assert_ptr_null(bc_address_check(good[i].text));
        ck_assert_msg(bc_address_parse(good[i].text, &a, err, sizeof err) == 0,
                      "%s: %s", good[i].text, err);
        ck_assert_int_eq(a.is_unix, 0);
        ck_assert_str_eq(a.host, good[i].host);
        ck_assert_int_eq(a.port, good[i].port);
    }
}
END_TEST

START_TEST(unix_addresses)
{
    bc_address a;
    char err[256];
    ck_assert_int_eq(bc_address_parse("unix:/run/redis.sock", &a, err, 256), 0);
    ck_assert_int_eq(a.is_unix, 1);
    ck_assert_str_eq(a.path, "/run/redis.sock");
    /* sun_path holds 107 bytes and the NUL. */
    char text[128] = "unix:/";
    memset(text + 6, 'a', 106);
    text[112] = '\0';
    ck_assert_int_eq(bc_address_parse(text, &a, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(a.path), 107);
    strcat(text, "a");
    ck_assert_str_eq(bc_address_check(text),
                     "has a unix socket path that is too long");
    ck_assert_str_eq(bc_address_check("unix:run/redis.sock"),
                     "must be \"unix:/absolute/path\" (the path must be "
                     "absolute)");
    ck_assert_str_eq(bc_address_check("unix:"),
                     "must be \"unix:/absolute/path\" (the path must be "
                     "absolute)");
}
END_TEST

/* What the configuration check reports for each, after the name. */
START_TEST(bad_addresses)
{
    static const struct {
        const char *text, *why;
    } bad[] = {{"localhost", FORM},       {"", FORM},
               {":9000", FORM},           {"::1:6379", FORM},
               {"[::1:6379", FORM},       {"[nothost]:6379", FORM},
               {"[]:6379", FORM},         {"a b:80", FORM},
               {"host/x:80", FORM},       {"127.0.0.1:0", PORT},
               {"127.0.0.1:65536", PORT}, {"127.0.0.1:80x", PORT},
               {"127.0.0.1:+80", PORT},   {"127.0.0.1:-1", PORT},
               {"127.0.0.1:", PORT},      {"127.0.0.1:000080", PORT}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        const char *why = bc_address_check(bad[i].text);
        ck_assert_msg(why && strcmp(why, bad[i].why) == 0, "%s: %s",
                      bad[i].text, why ? why : "(accepted)");
    }
}
END_TEST

/* A host of 255 bytes is the longest DNS name and fits; 256 do not. */
START_TEST(host_length)
{
    char text[300];
    memset(text, 'h', 255);
    strcpy(text + 255, ":80");
    bc_address a;
    char err[512];
    ck_assert_int_eq(bc_address_parse(text, &a, err, sizeof err), 0);
    ck_assert_uint_eq(strlen(a.host), 255);
    memset(text, 'h', 256);
    strcpy(text + 256, ":80");
    ck_assert_str_eq(bc_address_check(text), FORM);
}
END_TEST

/* The parser's message names the text, so it stands on its own. */
START_TEST(parse_message)
{
    bc_address a;
    char err[256];
    ck_assert_int_eq(bc_address_parse("localhost", &a, err, sizeof err), -1);
    ck_assert_str_eq(err, "'localhost' " FORM);
    ck_assert_int_eq(bc_address_parse("h:0", &a, err, sizeof err), -1);
    ck_assert_str_eq(err, "'h:0' " PORT);
}
END_TEST

Suite *address_suite(void)
{
    Suite *s = suite_create("address");
    TCase *tc = tcase_create("rules");
    tcase_add_test(tc, tcp_addresses);
    tcase_add_test(tc, unix_addresses);
    tcase_add_test(tc, bad_addresses);
    tcase_add_test(tc, host_length);
    tcase_add_test(tc, parse_message);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(address_suite)
