/* passhint.h: a worker's memory of keys whose fills are not stored.
 *
 * A key whose response says it may not be stored (no-store, Set-Cookie,
 * ...) has a "pass" marker in place of its lease in Redis, for a known
 * time. A worker that has seen the marker remembers the key (by hash) until
 * the marker's expiry, together with the invalidation generation of the
 * moment: while nothing has been invalidated since, the request goes to
 * the backend without asking Redis, as the marker would have said. After
 * an invalidation (which may have removed the marker) the hint only says
 * to read entry and marker in one round trip. A hint never yields a wrong
 * answer: at worst a request is forwarded that could have been a fill.
 * Not thread-safe: one per worker. */
#ifndef BOCACHE_PASSHINT_H
#define BOCACHE_PASSHINT_H

#include <stdint.h>

typedef struct bc_passhint bc_passhint;

enum {
    BC_PASSHINT_NONE = 0, /* nothing known: look up as usual */
    BC_PASSHINT_CHECK,    /* passed before an invalidation: ask Redis */
    BC_PASSHINT_TRUST     /* passes: forward without asking */
};

/* Creates an empty table of a fixed number of slots (the newest hint for
 * a slot wins). Returns NULL when out of memory. */
bc_passhint *bc_passhint_new(void);

void bc_passhint_free(bc_passhint *h);

/* Remembers that the key with hash HASH passes until UNTIL_MS, as seen at
 * invalidation generation GEN. */
void bc_passhint_set(bc_passhint *h, uint64_t hash, int64_t until_ms,
                     uint64_t gen);

/* What is known of the key with hash HASH at NOW_MS and generation GEN:
 * a BC_PASSHINT_ value. */
int bc_passhint_get(const bc_passhint *h, uint64_t hash, int64_t now_ms,
                    uint64_t gen);

/* Forgets the key with hash HASH (it was found not passing). */
void bc_passhint_clear(bc_passhint *h, uint64_t hash);

#endif
