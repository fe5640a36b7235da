/* lease.h: the fill lease (SPEC 6), the whole protocol in one place.
 *
 * Concurrent misses for one key cause one backend request: the request
 * that takes the key's lease fills it, the others wait for the entry or
 * for a "pass" marker that sends them to the backend on their own. A fill
 * is stored only while its lease still holds its token, and an
 * invalidation voids the leases of what it covers (invalidate.c reads the
 * lease set), so a response the backend computed before an invalidation
 * is never stored after it.
 *
 * In Redis (names from key.h):
 *
 *   PREFIX:#lease:KEY   the lease: TOKEN while a fill holds it, "pass"
 *                       while fills of KEY are known not to be stored
 *   PREFIX:#leasez      every attempt registered as "LEASE TOKEN", scored
 *                       by expiry, before the backend is called
 *   PREFIX:#fill:TOKEN  the fill's value, staged before the
 *                       compare-and-set renames it into KEY
 *
 * A bc_lease is a value: bc_lease_init names a key's lease once per
 * request, bc_lease_new_token starts each attempt, and the calls below do
 * the Redis side over a bc_store. Taking a lease needs Redis >= 7.0
 * (SET NX GET). */
#ifndef BOCACHE_LEASE_H
#define BOCACHE_LEASE_H

#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"
#include "key.h"
#include "store.h"

/* Room for a token: 16 hex digits, '-', a decimal count. */
#define BC_LEASE_TOKEN_MAX 48

/* The lease of one entry key, and this request's attempt at it. Every
 * string is NUL-terminated; a name that could not be built is "", and
 * the Redis calls then fail with -1 (the request goes uncached). */
typedef struct bc_lease {
    const bc_config *cfg; /* borrowed */
    const char *key;      /* the entry key; borrowed, must stay unchanged */
    long ttl_ms;          /* how long a lease taken holds */
    char name[BC_KEY_INTERNAL_MAX]; /* PREFIX:#lease:KEY */
    char set[BC_KEY_MAX];           /* PREFIX:#leasez */
    char token[BC_LEASE_TOKEN_MAX]; /* this attempt's; "" before the first */
    /* PREFIX:#fill:TOKEN; room for SPEC 10's PREFIX:#fill:{KEY}:TOKEN */
    char fill[BC_KEY_INTERNAL_MAX + BC_LEASE_TOKEN_MAX];
} bc_lease;

/* What the lease of a key is. */
enum { BC_LEASE_FREE = 0, BC_LEASE_HELD, BC_LEASE_PASS };

/* What a lease attempt found. */
typedef struct bc_lease_result {
    int state;        /* not taken: BC_LEASE_HELD or BC_LEASE_PASS */
    long left_ms;     /* not taken: the holder's or marker's life left */
    const char *data; /* the entry KEY held at that moment, or NULL; valid
                         until the next call on the store */
    size_t len;
} bc_lease_result;

/* Names the lease of entry key KEY under CFG (both borrowed: they must
 * outlive L's use) and sets its ttl_ms to backend.timeout_ms + 1 s: a
 * lease outlives the longest fill the backend may take, so a slow but
 * legitimate fill is not mistaken for a voided one. Clears the token.
 * Pure. Returns 0, or -1 when a name does not fit. */
int bc_lease_init(bc_lease *l, const bc_config *cfg, const char *key);

/* Starts an attempt: the token becomes BASE as 16 hex digits, '-', and
 * SEQ in decimal ("%016llx-%llu"), and the staging name follows it. BASE
 * is random per worker and SEQ counts the worker's attempts, so tokens
 * differ across attempts, workers, processes and hosts. Pure. Returns 0,
 * or -1 (the staging name did not fit: bc_lease_store then fails). */
int bc_lease_new_token(bc_lease *l, uint64_t base, uint64_t seq);

/* Writes L's member of the lease set, "NAME TOKEN" (a lease name holds no
 * space: every segment of its entry key has them encoded), into OUT.
 * One member per attempt, so a request removes its own and never the one
 * a later holder of the same lease registered. Pure. Returns 0, or -1
 * when it does not fit OUTLEN (OUT is then ""). */
int bc_lease_member(const bc_lease *l, char *out, size_t outlen);

/* Tries to take L with its token, in one round trip with two more reads:
 * SET NX PX GET, the registration in the lease set (scored for twice
 * ttl_ms), the lease's PTTL, and a GET of the entry, so a fill that
 * landed since the caller's lookup is seen without another trip. The
 * lease is first set for a short time (twice the store's timeout, at
 * least 200 ms) and extended to ttl_ms by a PEXPIRE sent, without
 * waiting, once the reply is in: a lease that Redis grants after the
 * caller gave up waiting soon frees the key. An attempt that did not take
 * the lease removes its registration the same way; one whose
 * registration failed gives the lease back (no invalidation could find
 * it). Returns 1 when taken, 0 when not, -1 on a fault or a refusal
 * (bc_store_error says which); fills *OUT. */
int bc_lease_take(bc_store *st, const bc_lease *l, bc_lease_result *out);

/* Stores DATA[0..LEN) under L's key for TTL seconds, listed in each of
 * INDEXES[0..N) (tag and path indexes, scored with the entry's expiry;
 * at most 60), but only while L still holds its token, and then drops the
 * lease's registration. The value goes to L's staging key with a plain
 * SET, the index entries are written, and a small Lua script renames the
 * value into place if the lease holds: Redis copies a value passed to
 * Lua twice, which made large stores cost ~50x a SET. Sent, not waited
 * for: the next call on ST reads the replies and reports the outcome
 * (BC_STORE_WRITTEN, BC_STORE_NOT_WRITTEN when the lease was lost,
 * BC_STORE_UNDONE when an index write failed and the entry was removed
 * again), so a worker does not hold its web server connection for a
 * round trip after the response. Returns 1 when sent, -1 on a fault. */
int bc_lease_store(bc_store *st, const bc_lease *l, const char *data,
                   size_t len, long ttl, char *const *indexes, size_t n);

/* Ends an attempt that is not stored: if L still holds its token it
 * becomes a "pass" marker for PASS_MS, which releases the waiters at once
 * (they go to the backend themselves) and stays registered until it
 * expires, so invalidations find it; with PASS_MS 0 the lease and its
 * registration are simply dropped. Returns 0 or -1. */
int bc_lease_release(bc_store *st, const bc_lease *l, long pass_ms);

/* GET of L's key and the state of L in one round trip: returns 1 with the
 * entry in *DATA and *LEN (valid until the next call on ST), 0 when
 * absent, -1 when Redis is unavailable; sets *STATE to a BC_LEASE_ value
 * and, unless LEFT_MS is NULL, *LEFT_MS to the lease's remaining life
 * (PTTL). */
int bc_lease_check(bc_store *st, const bc_lease *l, const char **data,
                   size_t *len, int *state, long *left_ms);

#endif
