/* misspred.h: a worker's guess whether an endpoint's next lookup misses.
 *
 * A first miss costs two Redis round trips before the backend is asked:
 * the lookup, then the lease attempt (which reads the entry again). When
 * an endpoint's lookups keep missing (a new URL per request, entries that
 * expire before they are asked for again) the worker skips the lookup and
 * lets the lease attempt be it: one round trip. When the guess is wrong
 * the entry is served from that same reply and the lease given back, one
 * round trip more than a plain hit. The guess: the endpoint's last
 * BC_MISSPRED_STREAK lookups, as this worker saw them, all missed.
 * Not thread-safe: one per worker. */
#ifndef BOCACHE_MISSPRED_H
#define BOCACHE_MISSPRED_H

#include <stddef.h>

/* Misses in a row after which the next lookup is expected to miss. */
#define BC_MISSPRED_STREAK 3

typedef struct bc_misspred bc_misspred;

/* Creates a predictor that expects nothing. NULL when out of memory. */
bc_misspred *bc_misspred_new(void);

void bc_misspred_free(bc_misspred *p);

/* 1 when the next lookup of endpoint number EP is expected to miss. Any
 * EP is accepted: endpoints share a slot past a fixed number, which only
 * blurs the guess. */
int bc_misspred_expect_miss(const bc_misspred *p, size_t ep);

/* Records how a lookup of endpoint number EP ended: MISSED is 1 for a miss
 * or a stale entry (both want the lease), 0 for a hit. */
void bc_misspred_learn(bc_misspred *p, size_t ep, int missed);

/* Forgets everything (the endpoints were renumbered by a reload). */
void bc_misspred_reset(bc_misspred *p);

#endif
