/* store.h: all Redis access of the gateway, behind one interface, so that
 * Sentinel or Cluster support can come later without touching callers. Each
 * worker owns one bc_store (one connection); a store is not thread-safe. */
#ifndef BOCACHE_STORE_H
#define BOCACHE_STORE_H

#include <stddef.h>

#include "bocache/config.h"
#include "bocache/log.h"

typedef struct bc_store bc_store;

/* State shared by every store of one process: the fault log limiter. The
 * owner (main) keeps it alive longer than every store. */
typedef struct bc_store_shared {
    bc_ratelimit down_log;
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
int bc_store_get(bc_store *st, const char *key, const char **data,
                 size_t *len);

/* Stores DATA under KEY for TTL seconds. Returns 0, or -1 when Redis is
 * unavailable. */
int bc_store_set(bc_store *st, const char *key, const char *data, size_t len,
                 long ttl);

/* Nonzero while the store is in reconnect backoff (for X-Cache reasons). */
int bc_store_down(const bc_store *st);

#endif
