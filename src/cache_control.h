/* cache_control.h: parsing of Cache-Control response directives (RFC 9111
 * section 5.2.2) as far as a shared cache needs them. No I/O. */
#ifndef BOCACHE_CACHE_CONTROL_H
#define BOCACHE_CACHE_CONTROL_H

#include <stddef.h>

typedef struct bc_cache_control {
    unsigned no_store : 1;
    unsigned private_ : 1; /* "private" */
    unsigned no_cache : 1;
    unsigned public_ : 1; /* a well-formed, bare "public" */
    long max_age;         /* seconds, -1 when absent or invalid */
    long s_maxage;        /* seconds, -1 when absent or invalid */
} bc_cache_control;

/* Resets CC to "no directives seen". */
void bc_cache_control_init(bc_cache_control *cc);

/* Adds the directives in the header value V[0..LEN) to CC, so several
 * Cache-Control headers can be parsed into one result. Directive names are
 * case-insensitive; values may be quoted; unknown directives are ignored; a
 * repeated or invalid max-age/s-maxage makes it count as 0 (stale at once),
 * per RFC 9111 section 4.2.1. */
void bc_cache_control_parse(bc_cache_control *cc, const char *v, size_t len);

/* The TTL to store with: ENDPOINT_TTL shortened by s-maxage, else by
 * max-age. Returns 0 when the response must not be stored for freshness
 * reasons (a lifetime of 0). */
long bc_cache_control_ttl(const bc_cache_control *cc, long endpoint_ttl);

#endif
