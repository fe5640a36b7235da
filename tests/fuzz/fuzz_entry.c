/* fuzz_entry.c: fuzzes the decoder of stored entries. What decodes must lie
 * inside the buffer with lengths that add up, and encoding it again gives
 * the same bytes, except the flags byte and the reserved field, which a
 * reader ignores by design (entry.c: left for compatible extensions) and
 * a writer sets to 0. The age is never negative. */
#include <limits.h>
#include <string.h>

#include "entry.h"
#include "fuzz.h"

/* Offsets of the bytes a decoder ignores: flags (3), reserved (6, 7). */
static int ignored_byte(size_t i)
{
    return i == 3 || i == 6 || i == 7;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size ? size : 1), *out;
    bc_entry e, e2;

    FUZZ_CHECK(buf != NULL);
    if (size > 0)
        memcpy(buf, data, size);
    if (bc_entry_decode(buf, size, &e) < 0) {
        free(buf);
        return 0;
    }
    FUZZ_CHECK(e.status >= 100 && e.status <= 599);
    FUZZ_CHECK(e.head >= buf && e.tags == e.head + e.head_len &&
               e.body == e.tags + e.tags_len &&
               e.body + e.body_len == buf + size);
    if (buf[2] == 1) {
        /* Version 1 is read, and written again as the current version,
         * with 8 more fixed bytes and the same fields. */
        FUZZ_CHECK(bc_entry_encoded_size(&e) == size + 8);
        out = malloc(size + 8);
        FUZZ_CHECK(out != NULL);
        FUZZ_CHECK(bc_entry_encode(&e, out, size + 8) == size + 8);
        FUZZ_CHECK(bc_entry_decode(out, size + 8, &e2) == 0);
        FUZZ_CHECK(e2.ttl == e.ttl && e2.stale_ttl == e.stale_ttl &&
                   e2.error_ttl == e.stale_ttl && e2.initial_age == 0 &&
                   e2.flags == 0 && e2.body_len == e.body_len);
        free(out);
        free(buf);
        return 0;
    }
    FUZZ_CHECK(bc_entry_encoded_size(&e) == size);

    out = malloc(size);
    FUZZ_CHECK(out != NULL);
    /* One byte too few is refused, exactly enough is written whole. */
    FUZZ_CHECK(bc_entry_encode(&e, out, size - 1) == 0);
    FUZZ_CHECK(bc_entry_encode(&e, out, size) == size);
    for (size_t i = 0; i < size; i++)
        FUZZ_CHECK(out[i] == buf[i] || (ignored_byte(i) && out[i] == 0));
    FUZZ_CHECK(bc_entry_decode(out, size, &e2) == 0);
    FUZZ_CHECK(e2.status == e.status && e2.created_ms == e.created_ms &&
               e2.ttl == e.ttl && e2.stale_ttl == e.stale_ttl &&
               e2.error_ttl == e.error_ttl && e2.initial_age == e.initial_age &&
               e2.flags == e.flags && e2.head_len == e.head_len &&
               e2.tags_len == e.tags_len && e2.body_len == e.body_len);

    /* Truncated or extended buffers never decode. */
    FUZZ_CHECK(bc_entry_decode(buf, size - 1, &e2) < 0);

    static const int64_t nows[] = {INT64_MIN, -1, 0, 1700000000000LL,
                                   INT64_MAX};
    for (size_t i = 0; i < sizeof nows / sizeof nows[0]; i++)
        FUZZ_CHECK(bc_entry_age(&e, nows[i]) >= 0);
    FUZZ_CHECK(bc_entry_age(&e, e.created_ms) == (int64_t)e.initial_age);

    free(out);
    free(buf);
    return 0;
}
