/* stats.h: the gateway's counters (SPEC 8): counted per process with
 * atomics, added to a hash in Redis every second so that `bocache-ctl
 * stats` and the status endpoint show sums across processes and hosts. */
#ifndef BOCACHE_STATS_H
#define BOCACHE_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BC_STAT_HIT,
    BC_STAT_HIT_MEMORY,
    BC_STAT_STALE,
    BC_STAT_MISS,
    BC_STAT_BYPASS_NO_ENDPOINT,
    BC_STAT_BYPASS_METHOD,
    BC_STAT_BYPASS_NO_IDENTITY,
    BC_STAT_BYPASS_KEY_TOO_LONG,
    BC_STAT_BYPASS_REDIS,
    BC_STAT_BYPASS_DUPLICATE_HEADER,
    BC_STAT_BYPASS_PATH,
    BC_STAT_STORE,
    BC_STAT_SKIP_STATUS,
    BC_STAT_SKIP_SET_COOKIE,
    BC_STAT_SKIP_NO_STORE,
    BC_STAT_SKIP_PRIVATE,
    BC_STAT_SKIP_VARY,
    BC_STAT_SKIP_MAX_AGE_0,
    BC_STAT_SKIP_EXPIRED,
    BC_STAT_SKIP_TOO_LARGE,
    BC_STAT_SKIP_TOO_MANY_TAGS,
    BC_STAT_SKIP_AUTHORIZATION,
    BC_STAT_SKIP_COOKIE,
    BC_STAT_SKIP_MALFORMED,
    BC_STAT_SKIP_LEASE_LOST,
    BC_STAT_SKIP_PASS,
    BC_STAT_SKIP_OTHER,
    BC_STAT_INVALIDATION_MESSAGES,
    BC_STAT_INVALIDATION_MALFORMED,
    BC_STAT_KEYS_REMOVED,
    BC_STAT_BACKEND_ERRORS,
    BC_STAT_REDIS_ERRORS,
    BC_STAT_LOCK_WAITS,
    BC_STAT_REVALIDATED,
    BC_STAT_COUNT
} bc_stat;

typedef struct bc_stats {
    _Atomic uint64_t v[BC_STAT_COUNT];
} bc_stats;

/* The counter's name in Redis and in metrics, e.g. "bypass_no_identity". */
const char *bc_stat_name(bc_stat s);

/* A one-line description for the Prometheus HELP text. */
const char *bc_stat_help(bc_stat s);

static inline void bc_stats_add(bc_stats *s, bc_stat which, uint64_t n)
{
    atomic_fetch_add_explicit(&s->v[which], n, memory_order_relaxed);
}

/* The store-skip counter for a Cache-Status detail token ("set-cookie",
 * "vary", "lock-timeout", ...), as the reason table (reason.h) has it;
 * BC_STAT_SKIP_OTHER for NULL, unknown tokens and bypass reasons. */
bc_stat bc_stat_skip_for(const char *detail);

/* The bypass counter for a bypass detail token ("no-identity", ...);
 * BC_STAT_BYPASS_NO_ENDPOINT for NULL, unknown tokens and store-skip
 * reasons. */
bc_stat bc_stat_bypass_for(const char *detail);

#endif
