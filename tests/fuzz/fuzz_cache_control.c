/* fuzz_cache_control.c: fuzzes Cache-Control parsing and the TTL derived
 * from it. The first four bytes give the endpoint TTL; the rest is split
 * at newlines into several header values parsed into one result. The TTL
 * must lie in [0, endpoint TTL], be 0 under no-cache, and never grow when
 * another header is added (but for a first s-maxage). */
#include <limits.h>
#include <string.h>

#include "cache_control.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_cache_control cc;
    long endpoint_ttl, prev = -1, prev_s = -1;
    const uint8_t *p, *end;

    if (size < 4)
        return 0;
    /* Mostly realistic TTLs, sometimes 0, negative or huge ones. */
    uint32_t raw = (uint32_t)data[0] | (uint32_t)data[1] << 8 |
                   (uint32_t)data[2] << 16 | (uint32_t)data[3] << 24;
    switch (raw >> 30) {
    case 0:
        endpoint_ttl = (long)(raw % 86400) + 1;
        break;
    case 1:
        endpoint_ttl = (long)(raw & 0x7fffffff);
        break;
    case 2:
        endpoint_ttl = -(long)(raw & 0xff);
        break;
    default:
        endpoint_ttl = raw & 1 ? LONG_MAX : 0;
        break;
    }
    p = data + 4;
    end = data + size;

    bc_cache_control_init(&cc);
    FUZZ_CHECK(bc_cache_control_ttl(&cc, endpoint_ttl) ==
               (endpoint_ttl > 0 ? endpoint_ttl : 0));
    for (;;) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        /* An exactly sized copy of the value, as the gateway hands over a
         * slice of the head. */
        char *v = malloc(n ? n : 1);
        FUZZ_CHECK(v != NULL);
        if (n > 0)
            memcpy(v, p, n);
        bc_cache_control_parse(&cc, v, n);
        free(v);

        FUZZ_CHECK(cc.max_age >= -1 && cc.max_age <= 2147483647L);
        FUZZ_CHECK(cc.s_maxage >= -1 && cc.s_maxage <= 2147483647L);
        long ttl = bc_cache_control_ttl(&cc, endpoint_ttl);
        FUZZ_CHECK(ttl >= 0);
        FUZZ_CHECK(ttl <= (endpoint_ttl > 0 ? endpoint_ttl : 0));
        FUZZ_CHECK(cc.stale_while_revalidate >= -1 &&
                   cc.stale_while_revalidate <= 2147483647L);
        FUZZ_CHECK(cc.stale_if_error >= -1 && cc.stale_if_error <= 2147483647L);
        /* More directives only ever shorten the lifetime or keep it, except
         * that a first s-maxage overrides max-age (RFC 9111 5.2.2.10). */
        if (prev >= 0 && !(prev_s < 0 && cc.s_maxage >= 0))
            FUZZ_CHECK(ttl <= prev);
        prev = ttl;
        prev_s = cc.s_maxage;
        if (nl == NULL)
            break;
        p = nl + 1;
    }
    return 0;
}
