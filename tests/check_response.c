/* check_response.c: unit tests of the CGI response head parser. */
#include "check_main.h"
#include "response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *response_suite(void);

/* The parse result lives on the heap: it holds 100 headers. */
static bc_response_head *head;
/* An exact-size copy of the input, so over-reads are caught. */
static char *copy;

static void setup(void)
{
    head = malloc(sizeof(*head));
    ck_assert_ptr_nonnull(head);
    copy = NULL;
}

static void teardown(void)
{
    free(copy);
    free(head);
}

/* Parses the first LEN bytes of S from a fresh heap copy. */
static int parse_n(const char *s, size_t len)
{
    free(copy);
    copy = malloc(len ? len : 1);
    ck_assert_ptr_nonnull(copy);
    memcpy(copy, s, len);
    return bc_response_parse_head(copy, len, head);
}

static int parse(const char *s)
{
    return parse_n(s, strlen(s));
}

/* Asserts header I has NAME and VALUE. */
static void assert_header(size_t i, const char *name, const char *value)
{
    const bc_header *h = &head->headers[i];

    ck_assert_uint_lt(i, head->nheaders);
    ck_assert_uint_eq(h->name_len, strlen(name));
    ck_assert_mem_eq(h->name, name, h->name_len);
    ck_assert_uint_eq(h->value_len, strlen(value));
    ck_assert_mem_eq(h->value, value, h->value_len);
}

START_TEST(test_basic)
{
    const char *s = "Status: 404 Not Found\r\n"
                    "Content-Type: text/html\r\n"
                    "X-Empty:\r\n"
                    "\r\n"
                    "<html>body";

    ck_assert_int_eq(parse(s), 1);
    ck_assert_int_eq(head->status, 404);
    ck_assert_uint_eq(head->head_len, strlen(s) - strlen("<html>body"));
    ck_assert_uint_eq(head->nheaders, 3);
    assert_header(0, "Status", "404 Not Found");
    assert_header(1, "Content-Type", "text/html");
    assert_header(2, "X-Empty", "");
}
END_TEST

START_TEST(test_raw_lines)
{
    const char *s = "A: 1\r\nB:2\nC:  3 \t\r\n\n";

    ck_assert_int_eq(parse(s), 1);
    ck_assert_uint_eq(head->nheaders, 3);
    ck_assert_ptr_eq(head->headers[0].line, copy);
    ck_assert_uint_eq(head->headers[0].line_len, 6);
    ck_assert_mem_eq(head->headers[0].line, "A: 1\r\n", 6);
    ck_assert_ptr_eq(head->headers[1].line, copy + 6);
    ck_assert_uint_eq(head->headers[1].line_len, 4);
    ck_assert_mem_eq(head->headers[1].line, "B:2\n", 4);
    ck_assert_uint_eq(head->headers[2].line_len, 9);
    ck_assert_mem_eq(head->headers[2].line, "C:  3 \t\r\n", 9);
    assert_header(2, "C", "3");
    ck_assert_uint_eq(head->head_len, strlen(s));
}
END_TEST

START_TEST(test_line_endings)
{
    ck_assert_int_eq(parse("A: b\n\n"), 1);
    ck_assert_uint_eq(head->head_len, 6);
    ck_assert_int_eq(parse("A: b\r\n\n"), 1);
    ck_assert_uint_eq(head->head_len, 7);
    ck_assert_int_eq(parse("A: b\n\r\n"), 1);
    ck_assert_uint_eq(head->head_len, 7);
    /* No headers at all. */
    ck_assert_int_eq(parse("\r\nbody"), 1);
    ck_assert_uint_eq(head->head_len, 2);
    ck_assert_uint_eq(head->nheaders, 0);
    ck_assert_int_eq(head->status, 200);
    ck_assert_int_eq(parse("\n"), 1);
    ck_assert_uint_eq(head->head_len, 1);
}
END_TEST

START_TEST(test_trim)
{
    ck_assert_int_eq(parse("X-A: \t value with  spaces \t \r\n"
                           "X-B:\t\t\r\n"
                           "X-C:v\r\n\r\n"),
                     1);
    assert_header(0, "X-A", "value with  spaces");
    assert_header(1, "X-B", "");
    assert_header(2, "X-C", "v");
}
END_TEST

START_TEST(test_status_default)
{
    ck_assert_int_eq(parse("Content-Type: text/plain\r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 200);
    ck_assert_int_eq(parse("location: /elsewhere\r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 302);
    /* An explicit Status wins over Location. */
    ck_assert_int_eq(parse("Location: /x\r\nStatus: 301 Moved\r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 301);
}
END_TEST

START_TEST(test_status_values)
{
    ck_assert_int_eq(parse("Status: 200\r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 200);
    ck_assert_int_eq(parse("STATUS:   100 Continue  \r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 100);
    ck_assert_int_eq(parse("status: 599\tWhatever it says\r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 599);
    ck_assert_int_eq(parse("Status: 204 \r\n\r\n"), 1);
    ck_assert_int_eq(head->status, 204);
}
END_TEST

START_TEST(test_status_bad)
{
    const char *bad[] = {
        "Status: 99 Low\r\n\r\n",
        "Status: 600 High\r\n\r\n",
        "Status: 099\r\n\r\n",
        "Status: 2000\r\n\r\n",
        "Status: 20\r\n\r\n",
        "Status:\r\n\r\n",
        "Status: OK 200\r\n\r\n",
        "Status: 200OK\r\n\r\n",
        "Status: -200\r\n\r\n",
        "Status: 2a0\r\n\r\n",
        "Status: 200\r\nStatus: 200\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse(bad[i]) == -1, "accepted %s", bad[i]);
}
END_TEST

START_TEST(test_malformed_lines)
{
    const char *bad[] = {
        "No colon here\r\n\r\n",
        ": empty name\r\n\r\n",
        "Bad Name: x\r\n\r\n",
        "Name : x\r\n\r\n",
        "Bad(name): x\r\n\r\n",
        "Bad\"name: x\r\n\r\n",
        "Bad/name: x\r\n\r\n",
        "Bad\x7fname: x\r\n\r\n",
        "N\xc3\xa4me: x\r\n\r\n",
        "A: b\r\n continued\r\n\r\n",
        "A: b\r\n\tcontinued: x\r\n\r\n",
        " Leading: space\r\n\r\n",
        "A: b\rc\r\n\r\n",
        "A: b\r\r\n\r\n",
        "A\r: b\r\n\r\n",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ck_assert_msg(parse(bad[i]) == -1, "accepted %s", bad[i]);
    /* A malformed line is reported even before the head is complete. */
    ck_assert_int_eq(parse("Good: 1\r\nBad line\r\nMore: "), -1);
}
END_TEST

START_TEST(test_nul)
{
    const char s[] = "A: b\0c\r\n\r\n";
    const char n[] = "A\0: b\r\n\r\n";

    ck_assert_int_eq(parse_n(s, sizeof(s) - 1), -1);
    ck_assert_int_eq(parse_n(n, sizeof(n) - 1), -1);
    /* A NUL after the head is body, not our business. */
    ck_assert_int_eq(parse_n("A: b\r\n\r\n\0", 9), 1);
}
END_TEST

START_TEST(test_token_chars)
{
    ck_assert_int_eq(parse("X-!#$%&'*+-.^_`|~09az-AZ: v\r\n\r\n"), 1);
    ck_assert_uint_eq(head->headers[0].name_len,
                      strlen("X-!#$%&'*+-.^_`|~09az-AZ"));
}
END_TEST

START_TEST(test_max_headers)
{
    char buf[4096];
    size_t n = 0;

    for (int i = 0; i < BC_RESPONSE_MAX_HEADERS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "H%d: v\r\n", i);
    memcpy(buf + n, "\r\n", 3);
    ck_assert_int_eq(parse(buf), 1);
    ck_assert_uint_eq(head->nheaders, BC_RESPONSE_MAX_HEADERS);
    assert_header(BC_RESPONSE_MAX_HEADERS - 1, "H99", "v");
    memcpy(buf + n, "X: y\r\n\r\n", 9);
    ck_assert_int_eq(parse(buf), -1);
}
END_TEST

START_TEST(test_max_head)
{
    size_t size = BC_RESPONSE_MAX_HEAD + 100;
    char *big = malloc(size);
    size_t vlen;

    ck_assert_ptr_nonnull(big);
    /* A head of exactly BC_RESPONSE_MAX_HEAD bytes is accepted. */
    memset(big, 'v', size);
    memcpy(big, "X: ", 3);
    vlen = BC_RESPONSE_MAX_HEAD - 3 - 4;
    memcpy(big + 3 + vlen, "\r\n\r\n", 4);
    ck_assert_int_eq(parse_n(big, size), 1);
    ck_assert_uint_eq(head->head_len, BC_RESPONSE_MAX_HEAD);
    ck_assert_uint_eq(head->headers[0].value_len, vlen);
    /* One byte more and it is too large, however much input follows. */
    memset(big, 'v', size);
    memcpy(big, "X: ", 3);
    memcpy(big + 3 + vlen + 1, "\r\n\r\n", 4);
    ck_assert_int_eq(parse_n(big, size), -1);
    ck_assert_int_eq(parse_n(big, BC_RESPONSE_MAX_HEAD), -1);
    /* Fewer bytes without a blank line: need more. */
    ck_assert_int_eq(parse_n(big, BC_RESPONSE_MAX_HEAD - 1), 0);
    free(big);
}
END_TEST

START_TEST(test_every_split)
{
    const char *s = "Status: 201 Created\r\n"
                    "Location: /items/7\r\n"
                    "Content-Type: application/json\n"
                    "Cache-Control: max-age=60\r\n"
                    "\r\n"
                    "{\"id\":7}";
    size_t head_len = strlen(s) - strlen("{\"id\":7}");

    for (size_t cut = 0; cut < head_len; cut++)
        ck_assert_msg(parse_n(s, cut) == 0, "cut %zu", cut);
    for (size_t cut = head_len; cut <= strlen(s); cut++) {
        ck_assert_int_eq(parse_n(s, cut), 1);
        ck_assert_uint_eq(head->head_len, head_len);
        ck_assert_int_eq(head->status, 201);
        ck_assert_uint_eq(head->nheaders, 4);
    }
}
END_TEST

START_TEST(test_find)
{
    const bc_header *h;

    ck_assert_int_eq(parse("Content-Type: a\r\nSet-Cookie: x=1\r\n"
                           "set-cookie: y=2\r\n\r\n"),
                     1);
    h = bc_response_find(head, "SET-COOKIE");
    ck_assert_ptr_eq(h, &head->headers[1]);
    h = bc_response_find(head, "content-type");
    ck_assert_ptr_eq(h, &head->headers[0]);
    ck_assert_ptr_null(bc_response_find(head, "Content"));
    ck_assert_ptr_null(bc_response_find(head, "Content-Type-X"));
    ck_assert_ptr_null(bc_response_find(head, "Vary"));
    ck_assert(bc_header_is(&head->headers[2], "Set-Cookie"));
    ck_assert(!bc_header_is(&head->headers[2], "Set-Cooki"));
    ck_assert(!bc_header_is(&head->headers[2], "Set-Cookies"));
    ck_assert(!bc_header_is(&head->headers[2], ""));
}
END_TEST

/* bc_response_find_line on the exact-size heap copy of S. */
static int find_line(const char *s, const char *name, char *out, size_t cap)
{
    size_t n = strlen(s), vlen = 0;
    char *buf = malloc(n ? n : 1);
    const char *v = NULL;
    int r;

    ck_assert_ptr_nonnull(buf);
    memcpy(buf, s, n);
    r = bc_response_find_line(buf, n, name, &v, &vlen);
    out[0] = '\0';
    if (r) {
        ck_assert(v >= buf && v + vlen <= buf + n);
        ck_assert_uint_lt(vlen, cap);
        memcpy(out, v, vlen);
        out[vlen] = '\0';
    }
    free(buf);
    return r;
}

START_TEST(test_find_line)
{
    const char *h = "Status: 200 OK\r\nContent-Type:  text/plain \r\n"
                    "ETag: \"a\"\nX-Empty:\r\netag: \"second\"\r\n"
                    "Last-Modified:\tSun, 06 Nov 1994 08:49:37 GMT\t\r\n";
    char v[128];

    ck_assert_int_eq(find_line(h, "content-type", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "text/plain");
    ck_assert_int_eq(find_line(h, "ETAG", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "\"a\""); /* the first of two */
    ck_assert_int_eq(find_line(h, "status", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "200 OK");
    ck_assert_int_eq(find_line(h, "X-Empty", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "");
    ck_assert_int_eq(find_line(h, "Last-Modified", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "Sun, 06 Nov 1994 08:49:37 GMT");
    ck_assert_int_eq(find_line(h, "Content", v, sizeof(v)), 0);
    ck_assert_int_eq(find_line(h, "Content-Type-X", v, sizeof(v)), 0);
    ck_assert_int_eq(find_line(h, "Vary", v, sizeof(v)), 0);
    ck_assert_int_eq(find_line(h, "", v, sizeof(v)), 0);
    /* The name is what comes before the first colon only. */
    ck_assert_int_eq(find_line(h, "Status: 200 OK", v, sizeof(v)), 0);
    /* A last line without its ending, a line without a colon. */
    ck_assert_int_eq(find_line("junk\nA: 1\r\nB: 2", "b", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "2");
    ck_assert_int_eq(find_line("A: 1\r", "a", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "1");
    ck_assert_int_eq(find_line("junk\n", "junk", v, sizeof(v)), 0);
    ck_assert_int_eq(find_line("", "a", v, sizeof(v)), 0);
    ck_assert_int_eq(find_line("\n\n", "a", v, sizeof(v)), 0);
    ck_assert_int_eq(find_line("A: 1\nB:", "B", v, sizeof(v)), 1);
    ck_assert_str_eq(v, "");
}
END_TEST

START_TEST(test_empty_input)
{
    ck_assert_int_eq(bc_response_parse_head(NULL, 0, head), 0);
    ck_assert_int_eq(parse("Status: 200"), 0);
    ck_assert_int_eq(parse("Status: 200\r"), 0);
    ck_assert_int_eq(parse("Status: 200\r\n\r"), 0);
}
END_TEST

Suite *response_suite(void)
{
    Suite *s = suite_create("response");
    TCase *tc = tcase_create("parse");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_raw_lines);
    tcase_add_test(tc, test_line_endings);
    tcase_add_test(tc, test_trim);
    tcase_add_test(tc, test_status_default);
    tcase_add_test(tc, test_status_values);
    tcase_add_test(tc, test_status_bad);
    tcase_add_test(tc, test_malformed_lines);
    tcase_add_test(tc, test_nul);
    tcase_add_test(tc, test_token_chars);
    tcase_add_test(tc, test_max_headers);
    tcase_add_test(tc, test_max_head);
    tcase_add_test(tc, test_every_split);
    tcase_add_test(tc, test_find);
    tcase_add_test(tc, test_find_line);
    tcase_add_test(tc, test_empty_input);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(response_suite)
