/* entry.c: encoding and decoding of the binary format of stored responses. */
#include "entry.h"

#include <stdint.h>
#include <string.h>

/* Fixed part: magic (2), version, flags, status u16, reserved u16,
 * created_ms i64, ttl, stale_ttl, error_ttl, initial_age, head_len,
 * tags_len, body_len (u32 each); version 1 lacked error_ttl and
 * initial_age. Integers are little-endian, written byte by byte so the
 * format does not depend on the host's byte order or struct layout. */
#define FIXED_LEN 44
#define FIXED_LEN_V1 36
#define MAGIC0 'B'
#define MAGIC1 'C'

static void put16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | ((uint64_t)get32(p + 4) << 32);
}

size_t bc_entry_encoded_size(const bc_entry *e)
{
    size_t n = FIXED_LEN;

    /* Saturate so that a caller sizing a buffer from this cannot wrap; such
     * an entry is rejected by bc_entry_encode anyway. */
    if (e->head_len > SIZE_MAX - n)
        return SIZE_MAX;
    n += e->head_len;
    if (e->tags_len > SIZE_MAX - n)
        return SIZE_MAX;
    n += e->tags_len;
    if (e->body_len > SIZE_MAX - n)
        return SIZE_MAX;
    return n + e->body_len;
}

static unsigned char *put_bytes(unsigned char *p, const char *s, size_t n)
{
    /* memcpy from NULL is undefined even for 0 bytes, and empty fields may
     * well be NULL. */
    if (n > 0)
        memcpy(p, s, n);
    return p + n;
}

size_t bc_entry_encode(const bc_entry *e, char *out, size_t cap)
{
    unsigned char *p = (unsigned char *)out;
    size_t need;

    if (e->status < 100 || e->status > 599 || e->head_len > UINT32_MAX ||
        e->tags_len > UINT32_MAX || e->body_len > UINT32_MAX)
        return 0;
    need = bc_entry_encoded_size(e);
    if (need == SIZE_MAX || need > cap)
        return 0;
    p[0] = MAGIC0;
    p[1] = MAGIC1;
    p[2] = BC_ENTRY_VERSION;
    p[3] = (unsigned char)(e->flags & 0xffu);
    put16(p + 4, (uint16_t)e->status);
    put16(p + 6, 0);
    put64(p + 8, (uint64_t)e->created_ms);
    put32(p + 16, e->ttl);
    put32(p + 20, e->stale_ttl);
    put32(p + 24, e->error_ttl);
    put32(p + 28, e->initial_age);
    put32(p + 32, (uint32_t)e->head_len);
    put32(p + 36, (uint32_t)e->tags_len);
    put32(p + 40, (uint32_t)e->body_len);
    p += FIXED_LEN;
    p = put_bytes(p, e->head, e->head_len);
    p = put_bytes(p, e->tags, e->tags_len);
    if (e->body != (const char *)p) /* a body already in place stays */
        put_bytes(p, e->body, e->body_len);
    return need;
}

int bc_entry_decode(const char *buf, size_t len, bc_entry *e)
{
    const unsigned char *p = (const unsigned char *)buf;
    uint64_t created, head_len, tags_len, body_len;
    unsigned status;

    if (len < FIXED_LEN_V1 || p[0] != MAGIC0 || p[1] != MAGIC1)
        return -1;
    int v1 = p[2] == 1;
    size_t fixed = v1 ? FIXED_LEN_V1 : FIXED_LEN;
    if ((!v1 && p[2] != BC_ENTRY_VERSION) || len < fixed)
        return -1;
    /* Unknown flag bits and the reserved field are not checked, so a
     * compatible extension can use them without a version bump. */
    status = get16(p + 4);
    if (status < 100 || status > 599)
        return -1;
    const unsigned char *lens = p + fixed - 12;
    head_len = get32(lens);
    tags_len = get32(lens + 4);
    body_len = get32(lens + 8);
    /* Three 32-bit lengths cannot overflow 64 bits, so this sum is exact. */
    if ((uint64_t)fixed + head_len + tags_len + body_len != (uint64_t)len)
        return -1;
    created = get64(p + 8);
    e->status = (int)status;
    /* Two's complement conversion spelled out, since converting an
     * out-of-range unsigned value to a signed type is implementation-defined.
     */
    e->created_ms =
        created <= INT64_MAX ? (int64_t)created : -(int64_t)(~created) - 1;
    e->ttl = get32(p + 16);
    e->stale_ttl = get32(p + 20);
    e->flags = v1 ? 0 : p[3];
    e->error_ttl = v1 ? e->stale_ttl : get32(p + 24);
    e->initial_age = v1 ? 0 : get32(p + 28);
    e->head = buf + fixed;
    e->head_len = (size_t)head_len;
    e->tags = e->head + e->head_len;
    e->tags_len = (size_t)tags_len;
    e->body = e->tags + e->tags_len;
    e->body_len = (size_t)body_len;
    return 0;
}

int64_t bc_entry_age(const bc_entry *e, int64_t now_ms)
{
    /* A clock that went backwards gives age 0. Subtracting as unsigned
     * cannot overflow, unlike now_ms - created_ms for extreme values read
     * from a hostile entry. */
    int64_t in_cache = 0;
    if (now_ms > e->created_ms)
        in_cache =
            (int64_t)(((uint64_t)now_ms - (uint64_t)e->created_ms) / 1000);
    /* in_cache < 2^54 and initial_age < 2^32: the sum cannot overflow. */
    return in_cache + (int64_t)e->initial_age;
}
