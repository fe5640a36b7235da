/* fuzz_fcgi_record.c: fuzzes the FastCGI record decoder and the
 * name-value pair codec. The stream is decoded whole, split in two at a
 * point taken from the data, and one byte at a time; all three must yield
 * the same STDOUT and STDERR bytes, END events and error, and every event
 * must point inside the bytes of the call that reported it. */
#include <string.h>

#include "fcgi_record.h"
#include "fuzz.h"

/* What decoding a stream produced. */
typedef struct {
    uint8_t *out; /* STDOUT then STDERR bytes, in stream order, tagged */
    size_t out_len;
    size_t stdout_len, stderr_len;
    unsigned ends;
    unsigned records; /* RECORD events */
    uint32_t last_app_status;
    uint8_t last_protocol_status;
    int error;
} result;

static void append(result *r, uint8_t tag, const uint8_t *p, size_t n)
{
    /* Each piece is stored as its tag and bytes; pieces may be cut
     * differently by different feedings, so consecutive bytes of one
     * stream are merged by storing the tag per byte. */
    for (size_t i = 0; i < n; i++) {
        r->out[r->out_len++] = tag;
        r->out[r->out_len++] = p[i];
    }
}

/* Feeds IN[0..LEN) to D as one call sequence on an exactly sized copy. */
static void feed(bc_fcgi_decoder *d, const uint8_t *in, size_t len, result *r)
{
    uint8_t *copy = malloc(len ? len : 1);
    size_t pos = 0;

    FUZZ_CHECK(copy != NULL);
    if (len > 0)
        memcpy(copy, in, len);
    while (!r->error) {
        bc_fcgi_event ev;
        size_t n = bc_fcgi_decode(d, copy + pos, len - pos, &ev);

        FUZZ_CHECK(n <= len - pos);
        if (ev.type == BC_FCGI_EV_STDOUT || ev.type == BC_FCGI_EV_STDERR) {
            FUZZ_CHECK(ev.len > 0);
            FUZZ_CHECK(ev.data >= copy + pos);
            FUZZ_CHECK(ev.data + ev.len <= copy + pos + n);
            append(r, ev.type == BC_FCGI_EV_STDOUT ? 1 : 2, ev.data, ev.len);
            if (ev.type == BC_FCGI_EV_STDOUT)
                r->stdout_len += ev.len;
            else
                r->stderr_len += ev.len;
        } else if (ev.type == BC_FCGI_EV_END) {
            r->ends++;
            r->last_app_status = ev.app_status;
            r->last_protocol_status = ev.protocol_status;
        } else if (ev.type == BC_FCGI_EV_RECORD) {
            FUZZ_CHECK(ev.len == 0);
            r->records++;
        } else if (ev.type == BC_FCGI_EV_ERROR) {
            r->error = 1;
            FUZZ_CHECK(n == len - pos); /* swallows the rest */
        } else {
            FUZZ_CHECK(ev.type == BC_FCGI_EV_NONE);
            FUZZ_CHECK(n == len - pos); /* NONE only when input ran out */
        }
        pos += n;
        if (ev.type == BC_FCGI_EV_NONE || pos == len)
            break;
    }
    /* An error state is sticky. */
    if (r->error && len > pos) {
        bc_fcgi_event ev;
        (void)bc_fcgi_decode(d, copy + pos, len - pos, &ev);
        FUZZ_CHECK(ev.type == BC_FCGI_EV_ERROR);
    }
    free(copy);
}

static void same(const result *a, const result *b)
{
    FUZZ_CHECK(a->out_len == b->out_len);
    FUZZ_CHECK(memcmp(a->out, b->out, a->out_len) == 0);
    FUZZ_CHECK(a->stdout_len == b->stdout_len);
    FUZZ_CHECK(a->stderr_len == b->stderr_len);
    FUZZ_CHECK(a->ends == b->ends);
    FUZZ_CHECK(a->records == b->records);
    FUZZ_CHECK(a->last_app_status == b->last_app_status);
    FUZZ_CHECK(a->last_protocol_status == b->last_protocol_status);
    FUZZ_CHECK(a->error == b->error);
}

static void fuzz_nv(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1);
    size_t pos = 0;

    FUZZ_CHECK(copy != NULL);
    if (size > 0)
        memcpy(copy, data, size);
    while (pos < size) {
        const uint8_t *name, *value;
        size_t nlen, vlen;
        size_t n = bc_fcgi_nv_decode(copy + pos, size - pos, &name, &nlen,
                                     &value, &vlen);
        if (n == 0)
            break;
        FUZZ_CHECK(n <= size - pos);
        FUZZ_CHECK(name >= copy + pos && name + nlen <= copy + pos + n);
        FUZZ_CHECK(value >= name + nlen && value + vlen <= copy + pos + n);
        /* Re-encoding gives a pair that decodes to the same bytes. The
         * encoder picks the shortest length form, which may differ from
         * the input's, so only the contents are compared. */
        size_t need = bc_fcgi_nv_size(nlen, vlen);
        uint8_t *enc = malloc(need);
        FUZZ_CHECK(enc != NULL);
        FUZZ_CHECK(bc_fcgi_nv_encode(enc, (const char *)name, nlen,
                                     (const char *)value, vlen) == need);
        const uint8_t *n2, *v2;
        size_t n2len, v2len;
        FUZZ_CHECK(bc_fcgi_nv_decode(enc, need, &n2, &n2len, &v2, &v2len) ==
                   need);
        FUZZ_CHECK(n2len == nlen && memcmp(n2, name, nlen) == 0);
        FUZZ_CHECK(v2len == vlen && memcmp(v2, value, vlen) == 0);
        /* One byte short is never a complete pair. */
        FUZZ_CHECK(bc_fcgi_nv_decode(enc, need - 1, &n2, &n2len, &v2, &v2len) ==
                   0);
        free(enc);
        pos += n;
    }
    free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_fcgi_decoder d;
    result whole = {0}, split = {0}, bytes = {0};
    size_t cut;

    if (size > 1 << 20)
        return 0;
    whole.out = malloc(2 * size + 1);
    split.out = malloc(2 * size + 1);
    bytes.out = malloc(2 * size + 1);
    FUZZ_CHECK(whole.out && split.out && bytes.out);

    bc_fcgi_decoder_init(&d);
    feed(&d, data, size, &whole);

    /* The split point comes from the data, so the fuzzer can steer it
     * into headers, contents and paddings alike. */
    cut = size >= 2
              ? ((size_t)data[size - 1] << 8 | data[size - 2]) % (size + 1)
              : size;
    bc_fcgi_decoder_init(&d);
    feed(&d, data, cut, &split);
    feed(&d, data + cut, size - cut, &split);
    same(&whole, &split);

    bc_fcgi_decoder_init(&d);
    for (size_t i = 0; i < size; i++)
        feed(&d, data + i, 1, &bytes);
    same(&whole, &bytes);

    free(whole.out);
    free(split.out);
    free(bytes.out);

    fuzz_nv(data, size);
    return 0;
}
