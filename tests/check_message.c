/* check_message.c: unit tests of invalidation message parsing/encoding. */
#include "check_main.h"
#include "message.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

Suite *message_suite(void);

static char err[256];

/* Parses P[0..LEN) from an exact-size heap copy, so reads past the end
 * are caught. */
static int parse_n(const char *p, size_t len, bc_message *m)
{
    char *c = malloc(len ? len : 1);
    int rc;

    ck_assert_ptr_nonnull(c);
    memcpy(c, p, len);
    err[0] = '\0';
    rc = bc_message_parse(c, len, m, err, sizeof(err));
    free(c);
    return rc;
}

static int parse(const char *p, bc_message *m)
{
    return parse_n(p, strlen(p), m);
}

static void assert_empty(const bc_message *m)
{
    ck_assert_ptr_null(m->id);
    ck_assert_ptr_null(m->pattern);
    ck_assert_ptr_null(m->partner_id);
    ck_assert_ptr_null(m->uris);
    ck_assert_ptr_null(m->tags);
    ck_assert_uint_eq(m->nuris, 0);
    ck_assert_uint_eq(m->ntags, 0);
    ck_assert_int_eq(m->flush, 0);
}

/* P must be malformed with a reason containing REASON; the message is left
 * empty, and freeing it anyway is harmless. */
static void bad_n(const char *p, size_t len, const char *reason)
{
    bc_message m;

    memset(&m, 0xa5, sizeof(m)); /* garbage in, as from the stack */
    ck_assert_msg(parse_n(p, len, &m) == -1, "'%.80s' parsed", p);
    ck_assert_msg(strstr(err, reason) != NULL,
                  "'%.80s': reason '%s' lacks '%s'", p, err, reason);
    assert_empty(&m);
    bc_message_free(&m);
    bc_message_free(&m);
}

static void bad(const char *p, const char *reason)
{
    bad_n(p, strlen(p), reason);
}

START_TEST(test_pattern)
{
    bc_message m;

    ck_assert_int_eq(parse("{\"id\":\"a1\",\"pattern\":\"*42*\"}", &m), 0);
    ck_assert_str_eq(m.id, "a1");
    ck_assert_str_eq(m.pattern, "*42*");
    ck_assert_ptr_null(m.partner_id);
    ck_assert_uint_eq(m.nuris, 0);
    ck_assert_uint_eq(m.ntags, 0);
    ck_assert_int_eq(m.flush, 0);
    bc_message_free(&m);
    assert_empty(&m);

    ck_assert_int_eq(
        parse(" {\"pattern\":\"*42*\",\"uris\":[\"api/v1/bet_insights/"
              "partner-widgets_settings/\",\"/api/v1/x\"]}\n",
              &m),
        0);
    ck_assert_ptr_null(m.id);
    ck_assert_str_eq(m.pattern, "*42*");
    ck_assert_uint_eq(m.nuris, 2);
    /* A missing leading '/' is added. */
    ck_assert_str_eq(m.uris[0],
                     "/api/v1/bet_insights/partner-widgets_settings/");
    ck_assert_str_eq(m.uris[1], "/api/v1/x");
    bc_message_free(&m);

    /* Order of fields does not matter; unicode escapes are decoded. */
    ck_assert_int_eq(
        parse("{\"uris\":[\"/a\"],\"pattern\":\"\\u00e9*\",\"id\":\"x\"}", &m),
        0);
    ck_assert_str_eq(m.pattern, "\xc3\xa9*");
    ck_assert_str_eq(m.uris[0], "/a");
    bc_message_free(&m);
}
END_TEST

START_TEST(test_partner)
{
    bc_message m;

    ck_assert_int_eq(parse("{\"id\":\"i\",\"partner_id\":\"42\"}", &m), 0);
    ck_assert_str_eq(m.partner_id, "42");
    ck_assert_ptr_null(m.pattern);
    bc_message_free(&m);

    ck_assert_int_eq(parse("{\"partner_id\":42,\"uris\":[\"a\"]}", &m), 0);
    ck_assert_str_eq(m.partner_id, "42");
    ck_assert_uint_eq(m.nuris, 1);
    ck_assert_str_eq(m.uris[0], "/a");
    bc_message_free(&m);

    ck_assert_int_eq(parse("{\"partner_id\":9007199254740993}", &m), 0);
    ck_assert_str_eq(m.partner_id, "9007199254740993");
    bc_message_free(&m);
    ck_assert_int_eq(parse("{\"partner_id\":0}", &m), 0);
    ck_assert_str_eq(m.partner_id, "0");
    bc_message_free(&m);
}
END_TEST

START_TEST(test_tags)
{
    bc_message m;

    ck_assert_int_eq(
        parse("{\"id\":\"t\",\"tags\":[\"partner:42\",\"sports\"]}", &m), 0);
    ck_assert_uint_eq(m.ntags, 2);
    ck_assert_str_eq(m.tags[0], "partner:42");
    ck_assert_str_eq(m.tags[1], "sports");
    ck_assert_ptr_null(m.pattern);
    ck_assert_uint_eq(m.nuris, 0);
    bc_message_free(&m);
}
END_TEST

START_TEST(test_flush)
{
    bc_message m;

    ck_assert_int_eq(parse("{\"id\":\"f\",\"flush\":true}", &m), 0);
    ck_assert_int_eq(m.flush, 1);
    ck_assert_str_eq(m.id, "f");
    ck_assert_ptr_null(m.pattern);
    bc_message_free(&m);
}
END_TEST

START_TEST(test_bare_pattern)
{
    bc_message m;

    ck_assert_int_eq(parse("*42*", &m), 0);
    ck_assert_str_eq(m.pattern, "*42*");
    ck_assert_ptr_null(m.id);
    bc_message_free(&m);

    ck_assert_int_eq(parse(" \t*42*\r\n", &m), 0);
    ck_assert_str_eq(m.pattern, "*42*");
    bc_message_free(&m);

    /* Inner whitespace stays; other JSON values are patterns too. */
    ck_assert_int_eq(parse("  a b  ", &m), 0);
    ck_assert_str_eq(m.pattern, "a b");
    bc_message_free(&m);
    ck_assert_int_eq(parse("[1,2]", &m), 0);
    ck_assert_str_eq(m.pattern, "[1,2]");
    bc_message_free(&m);
    ck_assert_int_eq(parse("\"*42*\"", &m), 0);
    ck_assert_str_eq(m.pattern, "\"*42*\"");
    bc_message_free(&m);

    /* Not NUL-terminated: the length rules. */
    ck_assert_int_eq(parse_n("*4xyz", 2, &m), 0);
    ck_assert_str_eq(m.pattern, "*4");
    bc_message_free(&m);

    /* Bytes that are not UTF-8 are fine in a bare pattern. */
    ck_assert_int_eq(parse("\xff*", &m), 0);
    ck_assert_str_eq(m.pattern, "\xff*");
    bc_message_free(&m);
}
END_TEST

START_TEST(test_malformed_payload)
{
    char *big;

    bad("", "empty message");
    bad(" \r\n\t ", "empty message");
    bad_n("*4\0002", 4, "NUL");
    bad("{", "not valid JSON: ");
    bad("{", "at column");
    bad("{\"pattern\":\"*42*\"", "not valid JSON");
    bad("{\"pattern\":'*42*'}", "not valid JSON");
    bad("{\"pattern\":\"*42*\"} trailing", "not valid JSON");
    bad("{\"pattern\":\"*42*\",}", "not valid JSON");
    bad("{\n\"pattern\":\n}", "line 3");
    bad("{\"pattern\":\"\xff\"}", "not valid JSON");
    bad("{\"pattern\":\"a\",\"pattern\":\"b\"}", "duplicate");
    bad("  {pattern:*}", "not valid JSON");

    big = malloc(BC_MESSAGE_MAX_PAYLOAD + 2);
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', BC_MESSAGE_MAX_PAYLOAD + 1);
    bad_n(big, BC_MESSAGE_MAX_PAYLOAD + 1, "more than the limit of 65536");
    bad_n(big, BC_MESSAGE_MAX_STRING + 1, "pattern is 4097 bytes");
    {
        bc_message m;

        ck_assert_int_eq(parse_n(big, BC_MESSAGE_MAX_STRING, &m), 0);
        ck_assert_uint_eq(strlen(m.pattern), BC_MESSAGE_MAX_STRING);
        bc_message_free(&m);
    }
    free(big);
}
END_TEST

START_TEST(test_malformed_fields)
{
    bad("{}", "no invalidation");
    bad("{\"id\":\"x\"}", "no invalidation");
    bad("{\"id\":\"x\",\"uris\":[\"/a\"]}", "no invalidation");
    bad("{\"patern\":\"*42*\"}", "unknown field \"patern\"");
    bad("{\"pattern\":\"*\",\"uri\":[\"/a\"]}", "unknown field \"uri\"");
    bad("{\"pattern\":\"*\",\"tags\":[\"a\"]}", "pattern and tags");
    bad("{\"partner_id\":\"1\",\"flush\":true}", "partner_id and flush");
    bad("{\"pattern\":\"*\",\"partner_id\":1}", "exactly one");

    bad("{\"pattern\":\"\"}", "pattern is empty");
    bad("{\"pattern\":42}", "pattern must be a string");
    bad("{\"pattern\":null}", "pattern must be a string");
    bad("{\"pattern\":\"a\\u0000b\"}", "pattern contains a NUL");

    bad("{\"partner_id\":\"\"}", "partner_id is empty");
    bad("{\"partner_id\":4.2}", "partner_id must be a string or an integer");
    bad("{\"partner_id\":true}", "partner_id must be a string or an integer");

    bad("{\"tags\":[]}", "tags is an empty array");
    bad("{\"tags\":\"a\"}", "tags must be an array of strings");
    bad("{\"tags\":[\"a\",\"\"]}", "tags[1] is empty");
    bad("{\"tags\":[\"a\",2]}", "tags[1] must be a string");
    bad("{\"tags\":[\"a\\u0000\"]}", "tags[0] contains a NUL");
    bad("{\"tags\":[\"a\"],\"uris\":[\"/a\"]}", "uris can only narrow");

    bad("{\"flush\":false}", "flush must be true");
    bad("{\"flush\":1}", "flush must be true");
    bad("{\"flush\":true,\"uris\":[\"/\"]}", "uris can only narrow");

    bad("{\"pattern\":\"*\",\"uris\":[]}", "uris is an empty array");
    bad("{\"pattern\":\"*\",\"uris\":\"/a\"}", "uris must be an array");
    bad("{\"pattern\":\"*\",\"uris\":[\"/a\",\"\"]}", "uris[1] is empty");
    bad("{\"pattern\":\"*\",\"uris\":[null]}", "uris[0] must be a string");

    bad("{\"id\":\"\",\"flush\":true}", "id is empty");
    bad("{\"id\":7,\"flush\":true}", "id must be a string");
}
END_TEST

/* Builds {"FIELD":[...N strings of LEN bytes...]} or, with N == 0,
 * {"FIELD":"<LEN bytes>"} preceded by PREFIX fields. */
static char *build(const char *prefix, const char *field, size_t n, size_t len)
{
    size_t cap = strlen(prefix) + strlen(field) + (n + 1) * (len + 4) + 16;
    char *s = malloc(cap), *p = s;

    ck_assert_ptr_nonnull(s);
    p += sprintf(p, "{%s\"%s\":", prefix, field);
    if (n > 0)
        *p++ = '[';
    for (size_t i = 0; i < (n > 0 ? n : 1); i++) {
        if (i > 0)
            *p++ = ',';
        *p++ = '"';
        memset(p, 'a', len);
        p += len;
        *p++ = '"';
    }
    if (n > 0)
        *p++ = ']';
    *p++ = '}';
    *p = '\0';
    return s;
}

START_TEST(test_limits)
{
    bc_message m;
    char *s;

    s = build("\"flush\":true,", "id", 0, BC_MESSAGE_MAX_ID);
    ck_assert_int_eq(parse(s, &m), 0);
    bc_message_free(&m);
    free(s);
    s = build("\"flush\":true,", "id", 0, BC_MESSAGE_MAX_ID + 1);
    bad(s, "id is 201 bytes, more than the limit of 200");
    free(s);

    s = build("", "pattern", 0, BC_MESSAGE_MAX_STRING);
    ck_assert_int_eq(parse(s, &m), 0);
    bc_message_free(&m);
    free(s);
    s = build("", "pattern", 0, BC_MESSAGE_MAX_STRING + 1);
    bad(s, "pattern is 4097 bytes");
    free(s);

    s = build("", "tags", BC_MESSAGE_MAX_ITEMS, 3);
    ck_assert_int_eq(parse(s, &m), 0);
    ck_assert_uint_eq(m.ntags, BC_MESSAGE_MAX_ITEMS);
    bc_message_free(&m);
    free(s);
    s = build("", "tags", BC_MESSAGE_MAX_ITEMS + 1, 3);
    bad(s, "tags has 1001 elements, more than the limit of 1000");
    free(s);
    s = build("", "tags", 2, BC_MESSAGE_MAX_STRING + 1);
    bad(s, "tags[0] is 4097 bytes");
    free(s);

    s = build("\"pattern\":\"*\",", "uris", BC_MESSAGE_MAX_ITEMS + 1, 1);
    bad(s, "uris has 1001 elements");
    free(s);
    /* A uri at the limit still gets its '/'. */
    s = build("\"pattern\":\"*\",", "uris", 1, BC_MESSAGE_MAX_STRING);
    ck_assert_int_eq(parse(s, &m), 0);
    ck_assert_uint_eq(strlen(m.uris[0]), BC_MESSAGE_MAX_STRING + 1);
    ck_assert_int_eq(m.uris[0][0], '/');
    bc_message_free(&m);
    free(s);

    /* Within 65536 bytes but over the string limit: the field's reason. */
    s = build("", "tags", 10, 5000);
    bad(s, "tags[0] is 5000 bytes");
    free(s);
    /* Over 65536 bytes: refused before decoding. */
    s = build("", "tags", 20, 4000);
    bad(s, "more than the limit of 65536");
    free(s);
}
END_TEST

START_TEST(test_null_err)
{
    bc_message m;

    ck_assert_int_eq(bc_message_parse("{", 1, &m, NULL, 0), -1);
    assert_empty(&m);
    ck_assert_int_eq(bc_message_parse("{\"x\":1}", 7, &m, err, 1), -1);
    ck_assert_str_eq(err, "");
}
END_TEST

/* Encodes M, checks the JSON is JSON_TEXT (when not NULL), parses it back
 * and returns the parsed message. */
static bc_message round_trip(const bc_message *m, const char *json_text)
{
    bc_message back;
    char *s = bc_message_encode(m);

    ck_assert_ptr_nonnull(s);
    if (json_text != NULL)
        ck_assert_str_eq(s, json_text);
    ck_assert_msg(parse(s, &back) == 0, "'%s' does not parse: %s", s, err);
    free(s);
    return back;
}

START_TEST(test_encode_round_trip)
{
    char *uris[] = {"/api/v1/x/", "/b"};
    char *tags[] = {"partner:42", "sports", "q\"uote\\d"};
    bc_message m = {.id = "id-1", .pattern = "*42*"}, b;

    b = round_trip(&m, "{\"id\":\"id-1\",\"pattern\":\"*42*\"}");
    ck_assert_str_eq(b.id, "id-1");
    ck_assert_str_eq(b.pattern, "*42*");
    bc_message_free(&b);

    m = (bc_message){.pattern = "*42*", .uris = uris, .nuris = 2};
    b = round_trip(&m, "{\"pattern\":\"*42*\",\"uris\":[\"/api/v1/x/\","
                       "\"/b\"]}");
    ck_assert_ptr_null(b.id);
    ck_assert_uint_eq(b.nuris, 2);
    ck_assert_str_eq(b.uris[1], "/b");
    bc_message_free(&b);

    m = (bc_message){.id = "p", .partner_id = "42", .uris = uris, .nuris = 1};
    b = round_trip(&m, "{\"id\":\"p\",\"partner_id\":\"42\",\"uris\":"
                       "[\"/api/v1/x/\"]}");
    ck_assert_str_eq(b.partner_id, "42");
    ck_assert_uint_eq(b.nuris, 1);
    bc_message_free(&b);

    m = (bc_message){.id = "t", .tags = tags, .ntags = 3};
    b = round_trip(&m, NULL);
    ck_assert_uint_eq(b.ntags, 3);
    ck_assert_str_eq(b.tags[0], "partner:42");
    ck_assert_str_eq(b.tags[2], "q\"uote\\d");
    bc_message_free(&b);

    m = (bc_message){.id = "f", .flush = 1};
    b = round_trip(&m, "{\"id\":\"f\",\"flush\":true}");
    ck_assert_int_eq(b.flush, 1);
    bc_message_free(&b);

    /* A pattern with JSON's special characters and non-ASCII. */
    m = (bc_message){.pattern = "a\"b\\c\n\t[^x]*\xc3\xa9/\x01"};
    b = round_trip(&m, NULL);
    ck_assert_str_eq(b.pattern, m.pattern);
    bc_message_free(&b);

    /* JSON cannot carry bytes that are not UTF-8. */
    m = (bc_message){.pattern = "\xff*"};
    ck_assert_ptr_null(bc_message_encode(&m));
}
END_TEST

START_TEST(test_parse_encode_parse)
{
    static const char *const in[] = {
        "{\"id\":\"1\",\"pattern\":\"*42*\",\"uris\":[\"api/a\",\"/b\"]}",
        "{\"partner_id\":42}",
        "{\"tags\":[\"x\",\"y\"]}",
        "{\"flush\":true,\"id\":\"z\"}",
        "*42*",
    };

    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        bc_message a, b;
        char *s;

        ck_assert_int_eq(parse(in[i], &a), 0);
        s = bc_message_encode(&a);
        ck_assert_ptr_nonnull(s);
        ck_assert_int_eq(parse(s, &b), 0);
        ck_assert_int_eq(a.flush, b.flush);
        ck_assert_uint_eq(a.nuris, b.nuris);
        ck_assert_uint_eq(a.ntags, b.ntags);
        for (size_t j = 0; j < a.nuris; j++)
            ck_assert_str_eq(a.uris[j], b.uris[j]);
        for (size_t j = 0; j < a.ntags; j++)
            ck_assert_str_eq(a.tags[j], b.tags[j]);
        ck_assert_pstr_eq(a.id, b.id);
        ck_assert_pstr_eq(a.pattern, b.pattern);
        ck_assert_pstr_eq(a.partner_id, b.partner_id);
        free(s);
        bc_message_free(&a);
        bc_message_free(&b);
    }
}
END_TEST

Suite *message_suite(void)
{
    Suite *s = suite_create("message");
    TCase *tc = tcase_create("parse");

    tcase_add_test(tc, test_pattern);
    tcase_add_test(tc, test_partner);
    tcase_add_test(tc, test_tags);
    tcase_add_test(tc, test_flush);
    tcase_add_test(tc, test_bare_pattern);
    suite_add_tcase(s, tc);

    tc = tcase_create("malformed");
    tcase_add_test(tc, test_malformed_payload);
    tcase_add_test(tc, test_malformed_fields);
    tcase_add_test(tc, test_limits);
    tcase_add_test(tc, test_null_err);
    suite_add_tcase(s, tc);

    tc = tcase_create("encode");
    tcase_add_test(tc, test_encode_round_trip);
    tcase_add_test(tc, test_parse_encode_parse);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(message_suite)
