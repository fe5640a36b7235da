/* check_fcgi_record.c: unit tests of FastCGI record encoding and decoding. */
#include "check_main.h"
#include "fcgi_record.h"

#include <stdlib.h>
#include <string.h>

Suite *fcgi_record_suite(void);

START_TEST(test_header_encode)
{
    uint8_t out[BC_FCGI_HEADER_LEN];
    const uint8_t want[] = {1, 6, 0x12, 0x34, 0xab, 0xcd, 7, 0};

    bc_fcgi_header_encode(out, BC_FCGI_STDOUT, 0x1234, 0xabcd, 7);
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(test_begin_request_encode)
{
    uint8_t out[16];
    const uint8_t want[] = {1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0};

    memset(out, 0xee, sizeof(out));
    bc_fcgi_begin_request_encode(out, 1, BC_FCGI_RESPONDER, BC_FCGI_KEEP_CONN);
    ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(test_nv_size)
{
    ck_assert_uint_eq(bc_fcgi_nv_size(0, 0), 2);
    ck_assert_uint_eq(bc_fcgi_nv_size(127, 127), 2 + 254);
    ck_assert_uint_eq(bc_fcgi_nv_size(128, 127), 5 + 255);
    ck_assert_uint_eq(bc_fcgi_nv_size(127, 128), 5 + 255);
    ck_assert_uint_eq(bc_fcgi_nv_size(128, 128), 8 + 256);
    ck_assert_uint_eq(bc_fcgi_nv_size(SIZE_MAX, 1), SIZE_MAX);
}
END_TEST

/* Encodes a pair of the given lengths and decodes it back. */
static void nv_round_trip(size_t nlen, size_t vlen)
{
    char *name = malloc(nlen + 1), *value = malloc(vlen + 1);
    size_t size = bc_fcgi_nv_size(nlen, vlen);
    uint8_t *buf = malloc(size);
    const uint8_t *n, *v;
    size_t nl, vl;

    ck_assert_ptr_nonnull(name);
    ck_assert_ptr_nonnull(value);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < nlen; i++)
        name[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < vlen; i++)
        value[i] = (char)(i % 256);
    ck_assert_uint_eq(bc_fcgi_nv_encode(buf, name, nlen, value, vlen), size);
    ck_assert_uint_eq(buf[0] & 0x80, nlen < 128 ? 0 : 0x80);
    ck_assert_uint_eq(bc_fcgi_nv_decode(buf, size, &n, &nl, &v, &vl), size);
    ck_assert_uint_eq(nl, nlen);
    ck_assert_uint_eq(vl, vlen);
    ck_assert_mem_eq(n, name, nlen);
    ck_assert_mem_eq(v, value, vlen);
    /* Every proper prefix is incomplete. */
    for (size_t cut = 0; cut < size; cut++)
        ck_assert_uint_eq(bc_fcgi_nv_decode(buf, cut, &n, &nl, &v, &vl), 0);
    free(buf);
    free(value);
    free(name);
}

START_TEST(test_nv_round_trip)
{
    const size_t lens[] = {0, 1, 127, 128, 129, 300, 70000};

    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++)
            nv_round_trip(lens[i], lens[j]);
}
END_TEST

START_TEST(test_nv_encode_bytes)
{
    uint8_t buf[300];
    char value[200];

    memset(value, 'x', sizeof(value));
    ck_assert_uint_eq(bc_fcgi_nv_encode(buf, "AB", 2, value, 128), 2 + 5 + 128);
    ck_assert_uint_eq(buf[0], 2);
    ck_assert_uint_eq(buf[1], 0x80);
    ck_assert_uint_eq(buf[2], 0);
    ck_assert_uint_eq(buf[3], 0);
    ck_assert_uint_eq(buf[4], 128);
    ck_assert_mem_eq(buf + 5, "AB", 2);
    ck_assert_uint_eq(bc_fcgi_nv_encode(buf, "AB", 2, value, 127), 2 + 2 + 127);
    ck_assert_uint_eq(buf[1], 127);
    ck_assert_uint_eq(bc_fcgi_nv_encode(buf, "AB", 0x80000000u, "", 0), 0);
}
END_TEST

START_TEST(test_nv_decode_hostile)
{
    /* A 4-byte length near 2^31 must not wrap the bounds check. */
    const uint8_t big[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 'x'};
    const uint8_t trunc4[] = {0x80, 0, 1};
    const uint8_t *n, *v;
    size_t nl, vl;

    ck_assert_uint_eq(bc_fcgi_nv_decode(big, sizeof(big), &n, &nl, &v, &vl), 0);
    ck_assert_uint_eq(
        bc_fcgi_nv_decode(trunc4, sizeof(trunc4), &n, &nl, &v, &vl), 0);
    ck_assert_uint_eq(bc_fcgi_nv_decode(big, 0, &n, &nl, &v, &vl), 0);
}
END_TEST

/* A stream buffer the tests build records into. */
typedef struct stream {
    uint8_t buf[4096];
    size_t len;
} stream;

static void add_record(stream *s, uint8_t type, uint16_t id, const void *data,
                       uint16_t clen, uint8_t pad)
{
    ck_assert_uint_le(s->len + 8 + clen + pad, sizeof(s->buf));
    bc_fcgi_header_encode(s->buf + s->len, type, id, clen, pad);
    s->len += 8;
    if (clen > 0)
        memcpy(s->buf + s->len, data, clen);
    s->len += clen;
    memset(s->buf + s->len, 0xa5, pad);
    s->len += pad;
}

static void add_end(stream *s, uint16_t id, uint32_t app, uint8_t proto,
                    uint8_t pad)
{
    uint8_t body[8] = {0};

    body[0] = (uint8_t)(app >> 24);
    body[1] = (uint8_t)(app >> 16);
    body[2] = (uint8_t)(app >> 8);
    body[3] = (uint8_t)app;
    body[4] = proto;
    add_record(s, BC_FCGI_END_REQUEST, id, body, 8, pad);
}

/* What a decoder reported over a whole stream. */
typedef struct result {
    char out[4096];
    size_t out_len;
    char err[4096];
    size_t err_len;
    int ends;
    int errors;
    uint32_t app_status;
    uint8_t protocol_status;
    uint16_t end_id;
    int bad_id;  /* a data event carried an id other than 1 */
    int records; /* RECORD events, their types and ids below */
    uint8_t record_type[16];
    uint16_t record_id[16];
} result;

/* Feeds one chunk, collecting events until the decoder needs more bytes. */
static void feed(bc_fcgi_decoder *d, const uint8_t *in, size_t len, result *r)
{
    for (;;) {
        bc_fcgi_event ev;
        size_t n = bc_fcgi_decode(d, in, len, &ev);

        ck_assert_uint_le(n, len);
        in += n;
        len -= n;
        switch (ev.type) {
        case BC_FCGI_EV_NONE:
            ck_assert_uint_eq(len, 0);
            return;
        case BC_FCGI_EV_STDOUT:
        case BC_FCGI_EV_STDERR:
            ck_assert_uint_gt(ev.len, 0);
            if (ev.request_id != 1)
                r->bad_id = 1;
            if (ev.type == BC_FCGI_EV_STDOUT) {
                memcpy(r->out + r->out_len, ev.data, ev.len);
                r->out_len += ev.len;
            } else {
                memcpy(r->err + r->err_len, ev.data, ev.len);
                r->err_len += ev.len;
            }
            break;
        case BC_FCGI_EV_END:
            ck_assert_uint_eq(ev.record_type, BC_FCGI_END_REQUEST);
            r->ends++;
            r->app_status = ev.app_status;
            r->protocol_status = ev.protocol_status;
            r->end_id = ev.request_id;
            break;
        case BC_FCGI_EV_RECORD:
            ck_assert_uint_eq(ev.len, 0);
            ck_assert_int_lt(r->records, 16);
            r->record_type[r->records] = ev.record_type;
            r->record_id[r->records] = ev.request_id;
            r->records++;
            break;
        case BC_FCGI_EV_ERROR:
            r->errors++;
            return;
        }
    }
}

/* A full response: stdout in two padded records, stderr, a management
 * record to skip, the stream ends and END_REQUEST. */
static void build_response(stream *s)
{
    const char *a = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n";
    const char *b = "hello, world\n";
    const char *e = "warning: something";
    const uint8_t mgmt[] = {3, 0, 'a', 'b', 'c'};
    const uint8_t unknown[8] = {99};

    memset(s, 0, sizeof(*s));
    add_record(s, BC_FCGI_STDOUT, 1, a, (uint16_t)strlen(a), 3);
    add_record(s, BC_FCGI_GET_VALUES_RESULT, 0, mgmt, sizeof(mgmt), 3);
    add_record(s, BC_FCGI_STDERR, 1, e, (uint16_t)strlen(e), 6);
    add_record(s, BC_FCGI_UNKNOWN_TYPE, 0, unknown, sizeof(unknown), 0);
    add_record(s, BC_FCGI_STDOUT, 1, b, (uint16_t)strlen(b), 0);
    add_record(s, BC_FCGI_STDERR, 1, NULL, 0, 0);
    add_record(s, BC_FCGI_STDOUT, 1, NULL, 0, 5);
    add_end(s, 1, 0x01020304, 0, 4);
}

static void check_response_result(const result *r)
{
    const char *want_out = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\n"
                           "hello, world\n";
    const char *want_err = "warning: something";

    ck_assert_int_eq(r->errors, 0);
    ck_assert_int_eq(r->bad_id, 0);
    ck_assert_uint_eq(r->out_len, strlen(want_out));
    ck_assert_mem_eq(r->out, want_out, r->out_len);
    ck_assert_uint_eq(r->err_len, strlen(want_err));
    ck_assert_mem_eq(r->err, want_err, r->err_len);
    ck_assert_int_eq(r->ends, 1);
    ck_assert_uint_eq(r->app_status, 0x01020304);
    ck_assert_uint_eq(r->protocol_status, 0);
    ck_assert_uint_eq(r->end_id, 1);
    /* The two management records and the two stream ends, in order. */
    ck_assert_int_eq(r->records, 4);
    ck_assert_uint_eq(r->record_type[0], BC_FCGI_GET_VALUES_RESULT);
    ck_assert_uint_eq(r->record_id[0], 0);
    ck_assert_uint_eq(r->record_type[1], BC_FCGI_UNKNOWN_TYPE);
    ck_assert_uint_eq(r->record_id[1], 0);
    ck_assert_uint_eq(r->record_type[2], BC_FCGI_STDERR);
    ck_assert_uint_eq(r->record_id[2], 1);
    ck_assert_uint_eq(r->record_type[3], BC_FCGI_STDOUT);
    ck_assert_uint_eq(r->record_id[3], 1);
}

START_TEST(test_decode_whole)
{
    stream s;
    result r;
    bc_fcgi_decoder d;

    build_response(&s);
    memset(&r, 0, sizeof(r));
    bc_fcgi_decoder_init(&d);
    feed(&d, s.buf, s.len, &r);
    check_response_result(&r);
}
END_TEST

START_TEST(test_decode_byte_by_byte)
{
    stream s;
    result r;
    bc_fcgi_decoder d;

    build_response(&s);
    memset(&r, 0, sizeof(r));
    bc_fcgi_decoder_init(&d);
    for (size_t i = 0; i < s.len; i++) {
        /* The END event appears exactly when its last padding byte does. */
        ck_assert_int_eq(r.ends, 0);
        feed(&d, s.buf + i, 1, &r);
    }
    check_response_result(&r);
}
END_TEST

START_TEST(test_decode_random_splits)
{
    stream s;

    build_response(&s);
    srand(12345);
    for (int round = 0; round < 500; round++) {
        result r;
        bc_fcgi_decoder d;
        size_t pos = 0;

        memset(&r, 0, sizeof(r));
        bc_fcgi_decoder_init(&d);
        while (pos < s.len) {
            size_t n = (size_t)rand() % 24;
            if (n > s.len - pos)
                n = s.len - pos;
            feed(&d, s.buf + pos, n, &r);
            pos += n;
        }
        check_response_result(&r);
    }
}
END_TEST

START_TEST(test_decode_end_long_body)
{
    /* END_REQUEST content longer than 8 bytes: the extra is skipped. */
    stream s;
    result r;
    bc_fcgi_decoder d;
    const uint8_t body[12] = {0xff, 0xff, 0xff, 0xfe, 3, 0, 0, 0, 9, 9, 9, 9};

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_END_REQUEST, 7, body, sizeof(body), 2);
    memset(&r, 0, sizeof(r));
    bc_fcgi_decoder_init(&d);
    for (size_t i = 0; i < s.len; i++)
        feed(&d, s.buf + i, 1, &r);
    ck_assert_int_eq(r.ends, 1);
    ck_assert_uint_eq(r.app_status, 0xfffffffe);
    ck_assert_uint_eq(r.protocol_status, 3);
    ck_assert_uint_eq(r.end_id, 7);
}
END_TEST

START_TEST(test_decode_request_id)
{
    stream s;
    bc_fcgi_decoder d;
    bc_fcgi_event ev;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_STDOUT, 0xbeef, "x", 1, 0);
    bc_fcgi_decoder_init(&d);
    ck_assert_uint_eq(bc_fcgi_decode(&d, s.buf, s.len, &ev), s.len);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_STDOUT);
    ck_assert_uint_eq(ev.request_id, 0xbeef);
    ck_assert_uint_eq(ev.len, 1);
    ck_assert_ptr_eq(ev.data, s.buf + 8);
}
END_TEST

START_TEST(test_decode_skip_only)
{
    /* Records without content to deliver, including the empty stream ends,
     * produce one RECORD event each and no data. */
    stream s;
    result r;
    bc_fcgi_decoder d;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_UNKNOWN_TYPE, 0, "abcdefgh", 8, 0);
    add_record(&s, BC_FCGI_GET_VALUES_RESULT, 0, "\x01\x01xy", 4, 4);
    add_record(&s, BC_FCGI_STDOUT, 1, NULL, 0, 0);
    add_record(&s, BC_FCGI_STDERR, 1, NULL, 0, 7);
    add_record(&s, 200, 1, "zz", 2, 255);
    memset(&r, 0, sizeof(r));
    bc_fcgi_decoder_init(&d);
    feed(&d, s.buf, s.len, &r);
    ck_assert_uint_eq(r.out_len, 0);
    ck_assert_uint_eq(r.err_len, 0);
    ck_assert_int_eq(r.ends, 0);
    ck_assert_int_eq(r.errors, 0);
    ck_assert_int_eq(r.records, 5);
    ck_assert_uint_eq(r.record_type[0], BC_FCGI_UNKNOWN_TYPE);
    ck_assert_uint_eq(r.record_type[2], BC_FCGI_STDOUT);
    ck_assert_uint_eq(r.record_type[4], 200);
    ck_assert_uint_eq(r.record_id[4], 1);
    /* And it is still in sync afterwards. */
    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_STDOUT, 1, "ok", 2, 0);
    feed(&d, s.buf, s.len, &r);
    ck_assert_uint_eq(r.out_len, 2);
    ck_assert_mem_eq(r.out, "ok", 2);
}
END_TEST

START_TEST(test_decode_foreign_ids)
{
    /* Records of other requests are reported with their ids, whatever
     * their type, so that a client can refuse them. */
    stream s;
    result r;
    bc_fcgi_decoder d;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_STDOUT, 1, "mine", 4, 4);
    add_record(&s, BC_FCGI_STDOUT, 2, NULL, 0, 0);
    add_end(&s, 2, 0, 0, 0);
    add_end(&s, 1, 0, 2, 0);
    memset(&r, 0, sizeof(r));
    bc_fcgi_decoder_init(&d);
    for (size_t i = 0; i < s.len; i++)
        feed(&d, s.buf + i, 1, &r);
    ck_assert_uint_eq(r.out_len, 4);
    ck_assert_int_eq(r.records, 1);
    ck_assert_uint_eq(r.record_type[0], BC_FCGI_STDOUT);
    ck_assert_uint_eq(r.record_id[0], 2);
    ck_assert_int_eq(r.ends, 2);
    ck_assert_uint_eq(r.end_id, 1);
    ck_assert_uint_eq(r.protocol_status, 2);
}
END_TEST

START_TEST(test_decode_record_boundary)
{
    /* A RECORD event comes with the last byte of its record, padding
     * included, and consumes nothing of the next record. */
    stream s;
    bc_fcgi_decoder d;
    bc_fcgi_event ev;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_GET_VALUES_RESULT, 0, "abc", 3, 5);
    add_record(&s, BC_FCGI_STDOUT, 1, "x", 1, 0);
    bc_fcgi_decoder_init(&d);
    ck_assert_uint_eq(bc_fcgi_decode(&d, s.buf, 15, &ev), 15);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_NONE);
    ck_assert_uint_eq(bc_fcgi_decode(&d, s.buf + 15, s.len - 15, &ev), 1);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_RECORD);
    ck_assert_uint_eq(ev.record_type, BC_FCGI_GET_VALUES_RESULT);
    ck_assert_uint_eq(ev.request_id, 0);
    ck_assert_uint_eq(bc_fcgi_decode(&d, s.buf + 16, s.len - 16, &ev), 9);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_STDOUT);
    ck_assert_uint_eq(ev.record_type, BC_FCGI_STDOUT);
    ck_assert_uint_eq(ev.request_id, 1);
}
END_TEST

START_TEST(test_decode_bad_version)
{
    stream s;
    bc_fcgi_decoder d;
    bc_fcgi_event ev;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_STDOUT, 1, "abc", 3, 0);
    s.buf[0] = 2;
    bc_fcgi_decoder_init(&d);
    bc_fcgi_decode(&d, s.buf, s.len, &ev);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_ERROR);
    /* It stays in error, even when fed a valid record afterwards. */
    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_STDOUT, 1, "abc", 3, 0);
    ck_assert_uint_eq(bc_fcgi_decode(&d, s.buf, s.len, &ev), s.len);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_ERROR);
    bc_fcgi_decode(&d, s.buf, 0, &ev);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_ERROR);
}
END_TEST

START_TEST(test_decode_bad_version_after_data)
{
    /* Data before the bad header is still reported, then the error. */
    stream s;
    result r;
    bc_fcgi_decoder d;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_STDOUT, 1, "abc", 3, 1);
    add_record(&s, BC_FCGI_STDOUT, 1, "def", 3, 0);
    s.buf[12] = 0;
    memset(&r, 0, sizeof(r));
    bc_fcgi_decoder_init(&d);
    feed(&d, s.buf, s.len, &r);
    ck_assert_uint_eq(r.out_len, 3);
    ck_assert_int_eq(r.errors, 1);
}
END_TEST

START_TEST(test_decode_short_end)
{
    stream s;
    bc_fcgi_decoder d;
    bc_fcgi_event ev;

    memset(&s, 0, sizeof(s));
    add_record(&s, BC_FCGI_END_REQUEST, 1, "\0\0\0\0\0\0\0", 7, 1);
    bc_fcgi_decoder_init(&d);
    bc_fcgi_decode(&d, s.buf, s.len, &ev);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_ERROR);
    bc_fcgi_decode(&d, s.buf, s.len, &ev);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_ERROR);
}
END_TEST

START_TEST(test_decode_truncated)
{
    /* Every proper prefix of a response yields data but never END. */
    stream s;

    build_response(&s);
    for (size_t cut = 0; cut < s.len; cut++) {
        result r;
        bc_fcgi_decoder d;

        memset(&r, 0, sizeof(r));
        bc_fcgi_decoder_init(&d);
        feed(&d, s.buf, cut, &r);
        ck_assert_int_eq(r.ends, 0);
        ck_assert_int_eq(r.errors, 0);
    }
}
END_TEST

START_TEST(test_decode_header_only)
{
    /* A header with no content yet: NONE, nothing consumed beyond input. */
    uint8_t h[BC_FCGI_HEADER_LEN];
    bc_fcgi_decoder d;
    bc_fcgi_event ev;

    bc_fcgi_header_encode(h, BC_FCGI_STDOUT, 1, 100, 0);
    bc_fcgi_decoder_init(&d);
    ck_assert_uint_eq(bc_fcgi_decode(&d, h, sizeof(h), &ev), sizeof(h));
    ck_assert_int_eq(ev.type, BC_FCGI_EV_NONE);
    ck_assert_uint_eq(bc_fcgi_decode(&d, h, 0, &ev), 0);
    ck_assert_int_eq(ev.type, BC_FCGI_EV_NONE);
}
END_TEST

START_TEST(test_decode_garbage)
{
    /* Random bytes with a valid version byte here and there must never
     * crash, never report more than they were given, and never hang. */
    uint8_t buf[2048];

    srand(777);
    for (int round = 0; round < 200; round++) {
        bc_fcgi_decoder d;
        size_t pos = 0;

        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (uint8_t)(rand() % 4 == 0 ? 1 : rand());
        bc_fcgi_decoder_init(&d);
        while (pos < sizeof(buf)) {
            bc_fcgi_event ev;
            size_t chunk = 1 + (size_t)rand() % 64;
            if (chunk > sizeof(buf) - pos)
                chunk = sizeof(buf) - pos;
            size_t n = bc_fcgi_decode(&d, buf + pos, chunk, &ev);
            ck_assert_uint_le(n, chunk);
            if (ev.type == BC_FCGI_EV_STDOUT || ev.type == BC_FCGI_EV_STDERR)
                ck_assert(ev.data >= buf + pos &&
                          ev.data + ev.len <= buf + pos + chunk);
            if (ev.type == BC_FCGI_EV_NONE)
                ck_assert_uint_eq(n, chunk);
            if (ev.type == BC_FCGI_EV_ERROR)
                break;
            pos += n;
        }
    }
}
END_TEST

Suite *fcgi_record_suite(void)
{
    Suite *s = suite_create("fcgi_record");
    TCase *tc = tcase_create("encode");

    tcase_add_test(tc, test_header_encode);
    tcase_add_test(tc, test_begin_request_encode);
    tcase_add_test(tc, test_nv_size);
    tcase_add_test(tc, test_nv_round_trip);
    tcase_add_test(tc, test_nv_encode_bytes);
    tcase_add_test(tc, test_nv_decode_hostile);
    suite_add_tcase(s, tc);

    tc = tcase_create("decode");
    tcase_add_test(tc, test_decode_whole);
    tcase_add_test(tc, test_decode_byte_by_byte);
    tcase_add_test(tc, test_decode_random_splits);
    tcase_add_test(tc, test_decode_end_long_body);
    tcase_add_test(tc, test_decode_request_id);
    tcase_add_test(tc, test_decode_skip_only);
    tcase_add_test(tc, test_decode_foreign_ids);
    tcase_add_test(tc, test_decode_record_boundary);
    tcase_add_test(tc, test_decode_bad_version);
    tcase_add_test(tc, test_decode_bad_version_after_data);
    tcase_add_test(tc, test_decode_short_end);
    tcase_add_test(tc, test_decode_truncated);
    tcase_add_test(tc, test_decode_header_only);
    tcase_add_test(tc, test_decode_garbage);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(fcgi_record_suite)
