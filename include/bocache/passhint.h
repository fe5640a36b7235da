/* passhint.h: a worker's memory of keys whose fills were not storable.
 *
 * A key whose response says it may not be stored (no-store, Set-Cookie,
 * ...) has a "pass" marker in place of its lease in Redis. A lookup of such
 * a key normally costs two round trips: GET finds no entry, then the lease
 * attempt finds the marker. With a hint the lookup asks for the entry and
 * the lease state in one pipelined round trip instead. A hint is only ever
 * a guess: a wrong one costs one small GET, never a wrong answer, so keys
 * are remembered by hash alone. Not thread-safe: one per worker. */
#ifndef BOCACHE_PASSHINT_H
#define BOCACHE_PASSHINT_H

#include <stdint.h>

typedef struct bc_passhint bc_passhint;

/* Creates an empty table of a fixed number of slots (the newest hint for
 * a slot wins). Returns NULL when out of memory. */
bc_passhint *bc_passhint_new(void);

void bc_passhint_free(bc_passhint *h);

/* Remembers that the key with hash HASH passes until UNTIL_MS. */
void bc_passhint_set(bc_passhint *h, uint64_t hash, int64_t until_ms);

/* Whether the key with hash HASH is remembered as passing at NOW_MS. */
int bc_passhint_get(const bc_passhint *h, uint64_t hash, int64_t now_ms);

/* Forgets the key with hash HASH (its lease was found not passing). */
void bc_passhint_clear(bc_passhint *h, uint64_t hash);

#endif
