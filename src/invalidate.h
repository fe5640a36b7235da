/* invalidate.h: applying invalidation messages (SPEC 5) to Redis and
 * deciding which entry keys a message covers. The names of the keys involved
 * (leases, indexes, claimed ids) are built in key.h, which lists them all. */
#ifndef BOCACHE_INVALIDATE_H
#define BOCACHE_INVALIDATE_H

#include <stddef.h>

#include "bocache/config.h"
#include "message.h"
#include "store.h"

/* How long a claimed message id is remembered: far longer than any
 * publisher retries or pub/sub delivery takes. */
#define BC_INVALIDATE_ID_TTL 3600

/* Nonzero when entry key KEY[0..LEN), stored with the space-separated
 * surrogate tags TAGS[0..TAGS_LEN), is covered by M. Keys that are not
 * entry keys under CFG's prefix are never covered. Pure: used for the
 * in-memory tier and to double-check what a SCAN returned. */
int bc_invalidate_covers(const bc_config *cfg, const bc_message *m,
                         const char *key, size_t len, const char *tags,
                         size_t tags_len);

/* Claims message id ID for this thread of this process on this host in
 * Redis. Returns 1 when this caller is the first (and so must remove),
 * also when it claimed it before and retries, 0 when someone else was, -1
 * on a Redis fault (trying again is safe). */
int bc_invalidate_claim(bc_store *st, const bc_config *cfg, const char *id);

/* Room for a message id from bc_invalidate_new_id: 32 hex digits. */
#define BC_INVALIDATE_ID_SIZE 33

/* Writes a fresh 128-bit message id in hex into OUT (a buffer of
 * BC_INVALIDATE_ID_SIZE bytes): unique without coordination. Returns 0,
 * or -1 when the system has no random bytes to give. */
int bc_invalidate_new_id(char out[BC_INVALIDATE_ID_SIZE]);

/* The one publish path of this project's publishers (libbocache,
 * bocache-ctl, the gateway's unsafe requests and the listener's
 * follow-ups): publishes M on redis.channel once its Redis side is done,
 * so that every gateway drops what it covers from its memory tier and no
 * listener removes anything again (SPEC 5). M goes out under M->id when
 * that is set (an id the caller claimed before removing), else under a
 * fresh id claimed here first; M itself is not changed. Returns the
 * number of processes that heard it (0 when no gateway listens), or -1
 * with the reason in ERR when the id could not be claimed or the message
 * not encoded or published. */
long bc_invalidate_announce(bc_store *st, const bc_config *cfg,
                            const bc_message *m, char *err, size_t errlen);

/* How long after a message its removal is worth retrying (ms): the
 * longest any key it removes may live (entries: an endpoint's ttl +
 * stale_ttl; leases and pass markers). Past that everything it covered
 * has expired. */
long bc_invalidate_retry_ms(const bc_config *cfg);

/* Removes from Redis every entry M covers: first voids the leases (and
 * pass markers) of the keys it covers, then reads the indexes and removes:
 * SCAN MATCH + UNLINK in batches for patterns, partner ids and flush, the
 * tag indexes for tags. Safe to call again after a failure. Returns the
 * number of keys removed, or -1 with a message in ERR. */
long bc_invalidate_apply(bc_store *st, const bc_config *cfg,
                         const bc_message *m, char *err, size_t errlen);

/* Removes every entry whose PATH segment is ENCODED_PATH (any identity,
 * query or vary), through the path index. Returns the number removed or
 * -1. */
long bc_invalidate_path(bc_store *st, const bc_config *cfg,
                        const char *encoded_path, size_t len);

#endif
