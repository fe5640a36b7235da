/* invalidate.h: applying invalidation messages (SPEC 5) to Redis and
 * deciding which entry keys a message covers. */
#ifndef BOCACHE_INVALIDATE_H
#define BOCACHE_INVALIDATE_H

#include <stddef.h>

#include "bocache/config.h"
#include "bocache/message.h"
#include "bocache/store.h"

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

/* Claims message id ID for this process in Redis. Returns 1 when this
 * caller is the first (and so must remove), 0 when someone else was, -1 on
 * a Redis fault. */
int bc_invalidate_claim(bc_store *st, const bc_config *cfg, const char *id);

/* Removes from Redis every entry M covers: SCAN MATCH + UNLINK in batches
 * for patterns, partner ids and flush, the tag index for tags. Returns the
 * number of keys removed, or -1 with a message in ERR. */
long bc_invalidate_apply(bc_store *st, const bc_config *cfg,
                         const bc_message *m, char *err, size_t errlen);

/* Removes every entry whose PATH segment is ENCODED_PATH (any identity,
 * query or vary), through the path index. Returns the number removed or
 * -1. */
long bc_invalidate_path(bc_store *st, const bc_config *cfg,
                        const char *encoded_path, size_t len);

/* Writes the name of the tag index of TAG into OUT (BC_KEY_MAX bytes). */
int bc_invalidate_tag_index(const bc_config *cfg, const char *tag,
                            size_t len, char *out, size_t outlen);

/* Writes the name of the fill lease of entry KEY: PREFIX:#lease:KEY. */
int bc_invalidate_lease_key(const bc_config *cfg, const char *key, char *out,
                            size_t outlen);

/* Writes the name of the set listing the leases of fills in flight. */
int bc_invalidate_lease_set(const bc_config *cfg, char *out, size_t outlen);

/* Writes the name of the path index of ENCODED_PATH into OUT. */
int bc_invalidate_path_index(const bc_config *cfg, const char *encoded_path,
                             size_t len, char *out, size_t outlen);

#endif
