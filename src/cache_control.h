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
    /* must-revalidate or proxy-revalidate, in any form: a shared cache
     * never serves the response stale (RFC 9111 5.2.2.2, 5.2.2.8). */
    unsigned must_revalidate : 1;
    unsigned malformed : 1; /* some element was not a well-formed
                               directive (RFC 9213 2.1 reads such a
                               targeted field as absent) */
    unsigned directives;    /* well-formed directives seen, of any name */
    long max_age;           /* seconds, -1 when absent or invalid */
    long s_maxage;          /* seconds, -1 when absent or invalid */
    /* RFC 5861, seconds; -1 when absent, invalid or repeated (no widening
     * is the safe reading). */
    long stale_while_revalidate;
    long stale_if_error;
} bc_cache_control;

/* Resets CC to "no directives seen". */
void bc_cache_control_init(bc_cache_control *cc);

/* Adds the directives in the header value V[0..LEN) to CC, so several
 * Cache-Control headers can be parsed into one result. Directive names are
 * case-insensitive; values may be quoted; unknown directives are ignored; a
 * repeated or invalid max-age/s-maxage makes it count as 0 (stale at once),
 * per RFC 9111 section 4.2.1. */
void bc_cache_control_parse(bc_cache_control *cc, const char *v, size_t len);

/* The freshness lifetime the directives give, capped by ENDPOINT_TTL:
 * s-maxage, else max-age, else ENDPOINT_TTL (Expires is the caller's:
 * storable.c). no-cache does not shorten it: such a response is stored
 * and revalidated before every use (bc_cache_control.no_cache). */
long bc_cache_control_ttl(const bc_cache_control *cc, long endpoint_ttl);

#endif
