/* check_entry.c: unit tests of the stored-entry binary format. */
#include "check_main.h"
#include "entry.h"

#include <stdlib.h>
#include <string.h>

Suite *entry_suite(void);

static const char head[] = "Content-Type: application/octet-stream\r\n"
                           "ETag: \"abc\"\n";
static const char tags[] = "user:1 user:2 list";
static const char body[] = {'a', '\0', 'b', '\r', '\n', '\0', '\xff', 'z'};

static bc_entry sample(void)
{
    bc_entry e;

    memset(&e, 0, sizeof(e));
    e.status = 203;
    e.created_ms = 1700000000123LL;
    e.ttl = 300;
    e.stale_ttl = 0xfffffff0u;
    e.error_ttl = 7;
    e.initial_age = 30;
    e.flags = BC_ENTRY_NO_CACHE | BC_ENTRY_MUST_REVALIDATE;
    e.head = head;
    e.head_len = sizeof(head) - 1;
    e.tags = tags;
    e.tags_len = sizeof(tags) - 1;
    e.body = body;
    e.body_len = sizeof(body);
    return e;
}

/* Encodes the sample into a fresh exact-size buffer the caller frees. */
static char *encode_sample(size_t *len)
{
    bc_entry e = sample();
    size_t n = bc_entry_encoded_size(&e);
    char *buf = malloc(n);

    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(bc_entry_encode(&e, buf, n), n);
    *len = n;
    return buf;
}

START_TEST(test_round_trip)
{
    bc_entry in = sample(), out;
    size_t len;
    char *buf = encode_sample(&len);

    ck_assert_uint_eq(len, 44 + in.head_len + in.tags_len + in.body_len);
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), 0);
    ck_assert_int_eq(out.status, in.status);
    ck_assert(out.created_ms == in.created_ms);
    ck_assert_uint_eq(out.ttl, in.ttl);
    ck_assert_uint_eq(out.stale_ttl, in.stale_ttl);
    ck_assert_uint_eq(out.error_ttl, in.error_ttl);
    ck_assert_uint_eq(out.initial_age, in.initial_age);
    ck_assert_uint_eq(out.flags, in.flags);
    ck_assert_uint_eq(out.head_len, in.head_len);
    ck_assert_mem_eq(out.head, in.head, in.head_len);
    ck_assert_uint_eq(out.tags_len, in.tags_len);
    ck_assert_mem_eq(out.tags, in.tags, in.tags_len);
    ck_assert_uint_eq(out.body_len, in.body_len);
    ck_assert_mem_eq(out.body, in.body, in.body_len);
    /* Pointers borrow from the buffer. */
    ck_assert(out.body >= buf && out.body + out.body_len == buf + len);
    free(buf);
}
END_TEST

START_TEST(test_body_in_place)
{
    /* A body collected at its place in the output buffer is left there:
     * the result is the same bytes as encoding from a separate body. */
    size_t len;
    char *want = encode_sample(&len);
    bc_entry e = sample();
    bc_entry bare = e;
    bare.body = NULL;
    bare.body_len = 0;
    size_t off = bc_entry_encoded_size(&bare);
    ck_assert_uint_eq(off + e.body_len, len);
    char *buf = malloc(len);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0x5a, len);
    memcpy(buf + off, body, sizeof(body));
    e.body = buf + off;
    ck_assert_uint_eq(bc_entry_encode(&e, buf, len), len);
    ck_assert_mem_eq(buf, want, len);
    free(buf);
    free(want);
}
END_TEST

START_TEST(test_layout)
{
    size_t len;
    char *buf = encode_sample(&len);
    /* clang-format off */
    const unsigned char want[44] = {
        'B',  'C',  2,    3,    203,  0,    0,    0,    /* magic .. reserved */
        0x7b, 0x68, 0xe5, 0xcf, 0x8b, 0x01, 0x00, 0x00, /* created_ms */
        44,   1,    0,    0,                            /* ttl 300 */
        0xf0, 0xff, 0xff, 0xff,                         /* stale_ttl */
        7,    0,    0,    0,                            /* error_ttl */
        30,   0,    0,    0,                            /* initial_age */
        sizeof(head) - 1, 0, 0, 0,                      /* head_len */
        sizeof(tags) - 1, 0, 0, 0,                      /* tags_len */
        sizeof(body),     0, 0, 0,                      /* body_len */
    };
    /* clang-format on */

    ck_assert_mem_eq(buf, want, sizeof(want));
    ck_assert_mem_eq(buf + 44, head, sizeof(head) - 1);
    free(buf);
}
END_TEST

START_TEST(test_empty_fields)
{
    bc_entry in, out;
    char buf[64];

    memset(&in, 0, sizeof(in));
    in.status = 200;
    in.created_ms = -5;
    ck_assert_uint_eq(bc_entry_encoded_size(&in), 44);
    ck_assert_uint_eq(bc_entry_encode(&in, buf, sizeof(buf)), 44);
    ck_assert_int_eq(bc_entry_decode(buf, 44, &out), 0);
    ck_assert_uint_eq(out.head_len + out.tags_len + out.body_len, 0);
    ck_assert(out.created_ms == -5);
    ck_assert_int_eq(out.status, 200);
}
END_TEST

START_TEST(test_every_truncation_fails)
{
    size_t len;
    char *buf = encode_sample(&len);
    bc_entry out;

    for (size_t cut = 0; cut < len; cut++) {
        /* A copy of exactly CUT bytes so valgrind and ASan catch any read
         * past the given length. */
        char *t = malloc(cut ? cut : 1);
        ck_assert_ptr_nonnull(t);
        memcpy(t, buf, cut);
        ck_assert_int_eq(bc_entry_decode(t, cut, &out), -1);
        free(t);
    }
    free(buf);
}
END_TEST

START_TEST(test_unknown_version)
{
    size_t len;
    char *buf = encode_sample(&len);
    bc_entry out;

    buf[2] = 3;
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    buf[2] = 0;
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    free(buf);
}
END_TEST

START_TEST(test_version_1)
{
    /* An entry written before RFC 9111 freshness: 36 fixed bytes, no
     * error_ttl or initial age; it is served as it was. */
    static const char v1[] = {'B', 'C', 1, 0, (char)200, 0, 0,   0,   1,  0,
                              0,   0,   0, 0, 0,         0, 60,  0,   0,  0,
                              5,   0,   0, 0, 2,         0, 0,   0,   0,  0,
                              0,   0,   1, 0, 0,         0, 'A', ':', 'x'};
    bc_entry out;
    ck_assert_int_eq(bc_entry_decode(v1, sizeof v1, &out), 0);
    ck_assert_int_eq(out.status, 200);
    ck_assert_uint_eq(out.ttl, 60);
    ck_assert_uint_eq(out.stale_ttl, 5);
    ck_assert_uint_eq(out.error_ttl, 5);
    ck_assert_uint_eq(out.initial_age, 0);
    ck_assert_uint_eq(out.flags, 0);
    ck_assert_uint_eq(out.head_len, 2);
    ck_assert_mem_eq(out.head, "A:", 2);
    ck_assert_uint_eq(out.body_len, 1);
    ck_assert_int_eq(out.body[0], 'x');
}
END_TEST

START_TEST(test_age_and_freshness)
{
    bc_entry e = sample();
    e.flags = 0;
    /* The initial age counts, then the seconds in the cache. */
    ck_assert_int_eq(bc_entry_age(&e, e.created_ms), 30);
    ck_assert_int_eq(bc_entry_age(&e, e.created_ms + 2999), 32);
    ck_assert_int_eq(bc_entry_age(&e, e.created_ms - 5000), 30);
    ck_assert(bc_entry_fresh(&e, 299));
    ck_assert(!bc_entry_fresh(&e, 300));
    /* no-cache: never fresh, whatever its lifetime. */
    e.flags = BC_ENTRY_NO_CACHE;
    ck_assert(!bc_entry_fresh(&e, 0));
    e.flags = BC_ENTRY_MUST_REVALIDATE;
    ck_assert(bc_entry_fresh(&e, 0));
}
END_TEST

START_TEST(test_bad_magic)
{
    size_t len;
    char *buf = encode_sample(&len);
    bc_entry out;

    buf[0] = 'b';
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    buf[0] = 'B';
    buf[1] = 'X';
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    free(buf);
}
END_TEST

START_TEST(test_bad_status)
{
    size_t len;
    char *buf = encode_sample(&len);
    bc_entry out;

    buf[4] = 99;
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    buf[4] = (char)(600 & 0xff);
    buf[5] = (char)(600 >> 8);
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    buf[4] = (char)(599 & 0xff);
    buf[5] = (char)(599 >> 8);
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), 0);
    ck_assert_int_eq(out.status, 599);
    free(buf);
}
END_TEST

START_TEST(test_trailing_garbage)
{
    size_t len;
    char *buf = encode_sample(&len);
    char *big = malloc(len + 1);
    bc_entry out;

    ck_assert_ptr_nonnull(big);
    memcpy(big, buf, len);
    big[len] = 'x';
    ck_assert_int_eq(bc_entry_decode(big, len + 1, &out), -1);
    free(big);
    free(buf);
}
END_TEST

START_TEST(test_length_overflow)
{
    size_t len;
    char *buf = encode_sample(&len);
    bc_entry out;

    /* head_len 0xffffffff: a 32-bit sum would wrap. */
    memset(buf + 32, 0xff, 4);
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    /* All three lengths maximal. */
    memset(buf + 32, 0xff, 12);
    ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    /* Lengths chosen so that their 32-bit sum wraps to exactly len - 44. */
    {
        uint32_t want = (uint32_t)(len - 44);
        uint32_t a = 0xffffffffu, b = want + 1;
        unsigned char *p = (unsigned char *)buf;
        for (int i = 0; i < 4; i++) {
            p[32 + i] = (unsigned char)(a >> (8 * i));
            p[36 + i] = (unsigned char)(b >> (8 * i));
            p[40 + i] = 0;
        }
        ck_assert_int_eq(bc_entry_decode(buf, len, &out), -1);
    }
    free(buf);
}
END_TEST

START_TEST(test_encode_small_cap)
{
    bc_entry e = sample();
    size_t need = bc_entry_encoded_size(&e);
    char *buf = malloc(need);

    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(bc_entry_encode(&e, buf, need - 1), 0);
    ck_assert_uint_eq(bc_entry_encode(&e, buf, 0), 0);
    ck_assert_uint_eq(bc_entry_encode(&e, buf, 35), 0);
    ck_assert_uint_eq(bc_entry_encode(&e, buf, need), need);
    free(buf);
}
END_TEST

START_TEST(test_encode_out_of_range)
{
    bc_entry e = sample();
    char buf[256];

    e.status = 99;
    ck_assert_uint_eq(bc_entry_encode(&e, buf, sizeof(buf)), 0);
    e.status = 600;
    ck_assert_uint_eq(bc_entry_encode(&e, buf, sizeof(buf)), 0);
    e = sample();
    e.body_len = SIZE_MAX;
    ck_assert_uint_eq(bc_entry_encoded_size(&e), SIZE_MAX);
    ck_assert_uint_eq(bc_entry_encode(&e, buf, sizeof(buf)), 0);
}
END_TEST

START_TEST(test_age)
{
    bc_entry e = sample();

    e.created_ms = 1000000;
    e.initial_age = 0;
    ck_assert(bc_entry_age(&e, 1000000) == 0);
    ck_assert(bc_entry_age(&e, 1000999) == 0);
    ck_assert(bc_entry_age(&e, 1001000) == 1);
    ck_assert(bc_entry_age(&e, 1061500) == 61);
    /* The clock went backwards. */
    ck_assert(bc_entry_age(&e, 999999) == 0);
    ck_assert(bc_entry_age(&e, 0) == 0);
    ck_assert(bc_entry_age(&e, -1000000) == 0);
    /* Extremes from a hostile entry do not overflow. */
    e.created_ms = INT64_MIN;
    ck_assert(bc_entry_age(&e, INT64_MAX) == (int64_t)(UINT64_MAX / 1000));
    e.created_ms = INT64_MAX;
    ck_assert(bc_entry_age(&e, INT64_MIN) == 0);
}
END_TEST

Suite *entry_suite(void)
{
    Suite *s = suite_create("entry");
    TCase *tc = tcase_create("format");

    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_body_in_place);
    tcase_add_test(tc, test_layout);
    tcase_add_test(tc, test_empty_fields);
    tcase_add_test(tc, test_every_truncation_fails);
    tcase_add_test(tc, test_unknown_version);
    tcase_add_test(tc, test_version_1);
    tcase_add_test(tc, test_age_and_freshness);
    tcase_add_test(tc, test_bad_magic);
    tcase_add_test(tc, test_bad_status);
    tcase_add_test(tc, test_trailing_garbage);
    tcase_add_test(tc, test_length_overflow);
    tcase_add_test(tc, test_encode_small_cap);
    tcase_add_test(tc, test_encode_out_of_range);
    tcase_add_test(tc, test_age);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(entry_suite)
