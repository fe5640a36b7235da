/* store.h: all Redis access of the gateway, behind one interface, so that
 * Sentinel or Cluster support can come later without touching callers. Each
 * worker owns one bc_store (one connection); a store is not thread-safe. */
#ifndef BOCACHE_STORE_H
#define BOCACHE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"
#include "log.h"
#include "stats.h"

typedef struct bc_store bc_store;

/* State shared by every store of one process: the fault log limiter. The
 * owner (main) keeps it alive longer than every store. */
typedef struct bc_store_shared {
    bc_ratelimit down_log;
    bc_ratelimit up_log; /* "connected again": once per interval too */
    bc_stats *stats;     /* counts Redis faults when not NULL */
} bc_store_shared;

/* Creates a store for CFG (borrowed: it must outlive the store or be
 * replaced with bc_store_reconfigure). Does not connect yet: the first
 * command does. Returns NULL only when out of memory. */
bc_store *bc_store_new(const bc_config *cfg, bc_store_shared *shared);

void bc_store_free(bc_store *st);

/* Switches ST to CFG after a reload; reconnects if the Redis settings
 * changed. */
void bc_store_reconfigure(bc_store *st, const bc_config *cfg);

/* Looks KEY up. Returns 1 and sets *DATA and *LEN to the stored bytes (valid
 * until the next call on ST), 0 when absent, -1 when Redis is unavailable
 * (down, slow beyond redis.timeout_ms, or in backoff): the caller fails
 * open. */
int bc_store_get(bc_store *st, const char *key, const char **data, size_t *len);

/* Ends a request's use of the store: frees the reply the last lookup
 * returned (its data pointers become invalid) and, after a reply over
 * 1 MiB, hiredis's read buffer, which would otherwise stay at that size
 * until the next command. A worker serving from the memory tier may issue
 * no command for a long time. */
void bc_store_idle(bc_store *st);

/* Sets the bound on connect and every command for ST (the gateway's
 * workers use redis.timeout_ms; invalidation and bocache-ctl allow more). */
void bc_store_set_timeout(bc_store *st, int timeout_ms);

/* Called with each key a scan returns; return -1 to stop the scan. */
typedef int (*bc_store_key_fn)(void *ctx, const char *key, size_t len);

/* Runs one SCAN step: MATCH PATTERN COUNT COUNT from *CURSOR (start at 0),
 * calling FN for each key returned and updating *CURSOR (0 when the scan is
 * complete). SET, when not NULL, makes it an SSCAN of that set instead
 * (PATTERN may then be NULL). Returns 0, or -1 on a Redis fault or when FN
 * stopped. */
int bc_store_scan(bc_store *st, const char *set, unsigned long long *cursor,
                  const char *pattern, int count, bc_store_key_fn fn,
                  void *ctx);

/* UNLINKs N keys in pipelined batches. Returns the number Redis removed,
 * or -1 on a fault, a refusal (NOPERM, ...) included. */
long bc_store_unlink(bc_store *st, char *const *keys, const size_t *lens,
                     size_t n);

/* SET KEY OWNER NX GET EX TTL: returns 1 when KEY is OWNER's (created now,
 * or by OWNER's earlier attempt whose reply was lost), 0 when it is
 * someone else's, -1 on a fault. */
int bc_store_claim(bc_store *st, const char *key, const char *owner, long ttl);

/* The Redis server's clock (TIME) in ms, the clock every index score is
 * set by; -1 on a fault. */
int64_t bc_store_time_ms(bc_store *st);

/* Index sets are sorted sets scored by expiry time: ms by the Redis
 * server's clock. The writers here (bc_store_lease_take,
 * bc_store_put_leased, bc_store_lease_release) trim the expired members of
 * each index they add to, and give a member written again a higher score
 * each time. */

/* Called with each member of a sorted set and its score. */
typedef int (*bc_store_member_fn)(void *ctx, const char *member, size_t len,
                                  int64_t score);

/* Runs one ZSCAN step of sorted set KEY from *CURSOR (start at 0), calling
 * FN for each member, and updates *CURSOR (0 when complete). Every member
 * present for the whole scan is seen at least once. Returns 0, or -1 on a
 * Redis fault or when FN stopped. */
int bc_store_zscan(bc_store *st, const char *key, unsigned long long *cursor,
                   int count, bc_store_member_fn fn, void *ctx);

/* Removes from INDEX each of MEMBERS[0..N) whose score is still
 * SCORES[i], the one its caller read: a member written again since then
 * stays. Returns 0 or -1. */
int bc_store_index_forget(bc_store *st, const char *index, char *const *members,
                          const size_t *lens, const int64_t *scores, size_t n);

enum { BC_LEASE_FREE = 0, BC_LEASE_HELD, BC_LEASE_PASS };

/* What a lease attempt found. */
typedef struct bc_lease_result {
    int state;        /* not taken: BC_LEASE_HELD or BC_LEASE_PASS */
    long left_ms;     /* not taken: the holder's or marker's life left */
    const char *data; /* the entry KEY held at that moment, or NULL; valid
                         until the next call on the store */
    size_t len;
} bc_lease_result;

/* Takes the fill lease LEASE for TTL_MS with value TOKEN (SET NX PX GET,
 * Redis >= 7.0), registers it in the lease set LEASES (a sorted set, the
 * member "LEASE TOKEN", so TOKEN holds no space) and reads KEY, in one
 * round trip: a fill that landed since the caller's lookup is seen without
 * another. The lease is first set for a short time (twice
 * redis.timeout_ms, at least 200 ms) and extended to TTL_MS by a PEXPIRE
 * sent once the reply is in, so a lease that Redis grants after the caller
 * gave up waiting soon frees the key; an attempt that did not take the
 * lease removes its registration the same way. Returns 1 when taken, 0
 * when not, -1 on a fault or when LEASE or LEASES is "" (a name that could
 * not be built); fills *OUT. */
int bc_store_lease_take(bc_store *st, const char *lease, const char *token,
                        long ttl_ms, const char *leases, const char *key,
                        bc_lease_result *out);

/* Stores DATA under KEY for TTL seconds, listed in each index of INDEXES
 * (tag and path indexes, scored with the entry's expiry), but only while
 * LEASE still holds TOKEN, and then drops the lease and its registration
 * in LEASES. The value goes to the private key STAGING with a plain SET,
 * the index entries are written, and a small Lua script moves the value
 * into place (RENAME) if the lease holds: Redis copies a value passed to
 * Lua twice, which made large stores cost ~50x a SET. The commands are
 * sent, not waited for: their replies are read, and the outcome counted
 * (stores, store_skip_lease_lost), by the next call on ST, so a worker
 * does not hold its web server connection for a round trip after the
 * response; an entry that landed although an index write failed is
 * removed again then. Returns 1 when sent, -1 on a fault. */
int bc_store_put_leased(bc_store *st, const char *key, const char *data,
                        size_t len, long ttl, char *const *indexes,
                        size_t nindexes, const char *lease, const char *token,
                        const char *leases, const char *staging);

/* Ends a fill that is not stored: if LEASE still holds TOKEN it becomes a
 * "pass" marker for PASS_MS, which releases the waiters at once (they go
 * to the backend themselves) and stays registered in LEASES until it
 * expires, so invalidations find it; with PASS_MS 0 the lease and its
 * registration are simply dropped. Returns 0 or -1. */
int bc_store_lease_release(bc_store *st, const char *lease, const char *token,
                           const char *leases, long pass_ms);

/* GET KEY and the state of LEASE in one round trip: returns as
 * bc_store_get and sets *LEASE_STATE to a BC_LEASE_ value and, unless
 * LEFT_MS is NULL, *LEFT_MS to the lease's remaining life (PTTL). */
int bc_store_get_check(bc_store *st, const char *key, const char *lease,
                       const char **data, size_t *len, int *lease_state,
                       long *left_ms);

/* HINCRBY each FIELDS[i] of hash KEY by DELTAS[i], pipelined. Returns 0
 * or -1. */
int bc_store_hincr(bc_store *st, const char *key, const char *const *fields,
                   const uint64_t *deltas, size_t n);

/* HGETALL KEY, calling FN with each field and value. Returns 0 or -1. */
int bc_store_hgetall(bc_store *st, const char *key,
                     void (*fn)(void *ctx, const char *field,
                                const char *value),
                     void *ctx);

/* Seconds KEY has left (TTL); -2 when absent, -1 when it has no expiry,
 * -3 on a fault. */
long bc_store_ttl(bc_store *st, const char *key);

/* PUBLISH; returns the number of receivers or -1. */
long bc_store_publish(bc_store *st, const char *channel, const char *msg,
                      size_t len);

/* Turns ST into a subscriber of CHANNEL (it can then only wait for
 * messages). Returns 0 or -1. */
int bc_store_subscribe(bc_store *st, const char *channel);

/* Waits up to TIMEOUT_MS for a message on the subscribed channel. Returns 1
 * with the payload in *MSG and *LEN (valid until the next call), 0 when the
 * time ran out, -1 when the subscription was lost (the caller subscribes
 * again). */
int bc_store_next_message(bc_store *st, int timeout_ms, const char **msg,
                          size_t *len);

/* Ends ST's reconnect backoff: the next command connects at once. For
 * callers that keep their own retry schedule (a failed removal's). */
void bc_store_retry_now(bc_store *st);

#endif
