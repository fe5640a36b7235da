/* invalidate.h: applying invalidation messages (SPEC 5) to Redis and
 * deciding which entry keys a message covers.
 *
 * bocache's own keys in Redis (names built here and in key.c):
 *
 *   PREFIX:#lease:KEY   string   a fill's lease (its token) or a "pass"
 *                                marker; the filling worker writes it, the
 *                                fill's store or release, an invalidation
 *                                or its PX expiry removes it
 *   PREFIX:#fill:TOKEN  string   a fill's staged value, renamed into KEY
 *   PREFIX:#leasez      zset     "LEASE TOKEN" per lease attempt, scored
 *                                by expiry (ms, Redis clock); the worker
 *                                adds it before calling the backend and
 *                                removes it when the fill is stored or
 *                                dropped, a pass marker's stays until the
 *                                marker expires; trimmed by every add
 *   PREFIX:#tagz:TAG    zset     entry keys carrying TAG, scored by the
 *   PREFIX:#pathz:PATH  zset     entry's expiry; PATH as keys hold it;
 *                                the fill adds, trimming expired members;
 *                                invalidations remove what they removed
 *   PREFIX:#id:ID       string   a claimed message id, EX 3600
 *   PREFIX:#stats       hash     the fleet's counters
 *
 * Each sorted set expires with its last member. Readers ignore members
 * past their score. Versions before the sorted sets kept SETs under
 * PREFIX:#leases, PREFIX:#tag:TAG and PREFIX:#path:PATH (PATH encoded
 * again); invalidations still read those too (they expire by themselves
 * within the longest entry TTL), so entries an older gateway stored are
 * not missed during an upgrade. */
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

/* Writes the name of the tag index of TAG into OUT (BC_KEY_MAX bytes). */
int bc_invalidate_tag_index(const bc_config *cfg, const char *tag, size_t len,
                            char *out, size_t outlen);

/* Writes the name of the fill lease of entry KEY: PREFIX:#lease:KEY
 * (BC_KEY_INTERNAL_MAX bytes are enough). Returns 0, or -1 with OUT ""
 * when it does not fit. */
int bc_invalidate_lease_key(const bc_config *cfg, const char *key, char *out,
                            size_t outlen);

/* Writes the name of the sorted set registering the leases of fills in
 * flight and pass markers. Returns 0, or -1 with OUT "". */
int bc_invalidate_lease_set(const bc_config *cfg, char *out, size_t outlen);

/* Writes the name of the path index of ENCODED_PATH (a PATH segment as
 * keys hold it, so it fits wherever its key does) into OUT. */
int bc_invalidate_path_index(const bc_config *cfg, const char *encoded_path,
                             size_t len, char *out, size_t outlen);

#endif
