/* store.h: all Redis access, behind one interface, so that Sentinel or
 * Cluster support can come later without touching callers. Each gateway
 * worker, the listener and each libbocache client own their bc_store (one
 * connection); a store is not thread-safe.
 *
 * Errors follow hiredis: a call that fails returns -1 (or NULL) and
 * bc_store_error says why in words an operator can act on. The store
 * itself never logs and never counts: what its return values cannot carry
 * (a fault that starts the reconnect backoff, the recovery, a refusal in
 * a pipeline that otherwise went through, the outcome of a store sent
 * without waiting) it reports through the optional bc_store_events given
 * to bc_store_new. The gateway turns those into its log lines and
 * counters (store_log.h); libbocache and bocache-ctl install none and
 * print bc_store_error themselves. */
#ifndef BOCACHE_STORE_H
#define BOCACHE_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"

typedef struct bc_store bc_store;

/* What a store reports besides return values. */
typedef enum bc_store_event {
    /* A command failed and the connection was dropped (down, slow beyond
     * the timeout, a server error such as LOADING or NOAUTH): the store is
     * in reconnect backoff, its calls fail at once until the next attempt
     * is due. bc_store_error says what failed and why. */
    BC_STORE_FAULT,
    /* Connected again after a fault. */
    BC_STORE_RECOVERED,
    /* Redis refused part of a pipeline (an error reply) that did not cost
     * the connection; bc_store_error says which part and why. */
    BC_STORE_REFUSED,
    /* Something works, but less well than it could (TCP keepalive on the
     * subscription could not be enabled); bc_store_error says what. */
    BC_STORE_DEGRADED,
    /* The outcome of a conditional write sent without waiting
     * (bc_store_defer with a verdict): it was written; its condition did
     * not hold (for a fill: its lease was voided or expired); or it was
     * written, but a write before it in its batch had failed (an index
     * entry), so it was removed again (a BC_STORE_REFUSED said so). */
    BC_STORE_WRITTEN,
    BC_STORE_NOT_WRITTEN,
    BC_STORE_UNDONE
} bc_store_event;

/* Receives a store's events. ON_EVENT runs on the thread that made the
 * call on ST, inside that call; it may call bc_store_error and
 * bc_store_address on ST, and nothing else on it. */
typedef struct bc_store_events {
    void (*on_event)(void *ctx, const bc_store *st, bc_store_event ev);
    void *ctx; /* borrowed: must outlive every store it is given to */
} bc_store_events;

/* Creates a store for CFG (borrowed: it must outlive the store or be
 * replaced with bc_store_reconfigure). EVENTS is copied; NULL reports
 * nothing. Does not connect yet: the first command does. Returns NULL
 * only when out of memory. Free with bc_store_free. */
bc_store *bc_store_new(const bc_config *cfg, const bc_store_events *events);

void bc_store_free(bc_store *st);

/* Why the last call on ST that failed did, or what the last event was
 * about: "WHAT: DETAIL", e.g. "connect: Connection refused" or "GET: no
 * answer within redis.timeout_ms". "" before the first. Valid until the
 * next call on ST; names neither the address (bc_store_address) nor a
 * key. */
const char *bc_store_error(const bc_store *st);

/* The Redis address ST uses (redis.address of its configuration;
 * borrowed). */
const char *bc_store_address(const bc_store *st);

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
 * server's clock. Their writer (bc_store_append_index_add, which lease.c
 * uses) trims the expired members of each index it adds to, and gives a
 * member written again a higher score each time. */

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

/* ---- Pipelines, for the modules that run a protocol over the store ----
 *
 * lease.c builds its own pipelines: bc_store_begin, then commands
 * appended, then either bc_store_read (send, wait, take the replies) or
 * bc_store_defer (send now, the next call on ST reads the replies). At
 * most one deferred batch is outstanding: bc_store_begin with SETTLE reads
 * it first; without, its replies are read by bc_store_read after the new
 * commands went out, so the two round trips overlap. */

struct redisReply;

/* Starts a pipeline: frees the reply the last lookup handed out (its data
 * pointers become invalid), with SETTLE reads a deferred batch's replies,
 * and connects if needed. Returns 0, or -1 when Redis is unavailable
 * (bc_store_error says why). */
int bc_store_begin(bc_store *st, int settle);

/* Appends one command. ARGL may be NULL (every argument NUL-terminated);
 * the arguments are copied. */
void bc_store_append(bc_store *st, int argc, const char *const *argv,
                     const size_t *argl);

/* Appends the index writer script for sorted set INDEX: each of
 * MEMBERS[0..N) (at most 4) scored now + LIFE_MS by the Redis clock; RAISE
 * gives a member already there a higher score than it had (an entry
 * listed again), else its score is set as it is (a registration only its
 * writer updates). Expired members are trimmed and the set expires with
 * its last member. Refused when Redis is out of memory. */
void bc_store_append_index_add(bc_store *st, const char *index, long life_ms,
                               int raise, const char *const *members, size_t n);

/* Sends what was appended and reads its N replies into R[0..N), after
 * those of a deferred batch. The caller owns them: free each with
 * bc_store_reply_free, or hand one to bc_store_keep. Returns 0, or -1 after
 * a transport fault named WHAT (R then holds nothing). */
int bc_store_read(bc_store *st, size_t n, struct redisReply **r,
                  const char *what);

void bc_store_reply_free(struct redisReply *r);

/* Makes R the reply whose bytes the caller hands out: freed by the next
 * call on ST. */
void bc_store_keep(bc_store *st, struct redisReply *r);

/* Sends what was appended without waiting for its N replies (at most
 * 64): the next call on ST reads them, and reports an error reply as
 * BC_STORE_REFUSED, "LABELS[i]: the error" (LABELS are borrowed: string
 * literals). VERDICT (1-based, 0 for none) marks the reply of a
 * conditional write, whose integer 1 or 0 is reported as
 * BC_STORE_WRITTEN or BC_STORE_NOT_WRITTEN; when a reply of this batch
 * before the verdict was an error but the write landed, UNDO_KEY (copied;
 * may be NULL) is unlinked again and BC_STORE_UNDONE reported. Returns 0,
 * or -1 after a fault. */
int bc_store_defer(bc_store *st, const char *const *labels, int n, int verdict,
                   const char *undo_key);

/* Records a refusal found in a reply: sets bc_store_error to the
 * formatted text and reports BC_STORE_REFUSED. Returns -1. */
int bc_store_refused(bc_store *st, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records a fault found in a reply (a reply of the wrong type): as a
 * transport fault, the connection is dropped. Returns -1. */
int bc_store_fault(bc_store *st, const char *what, const char *detail);

/* The bound on connect and on every command of ST, in ms. */
int bc_store_timeout_ms(const bc_store *st);

#endif
