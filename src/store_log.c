/* store_log.c: the gateway's log lines and counters for its Redis stores'
 * faults, recoveries, refusals and deferred stores. */
#include "store_log.h"

static void on_event(void *ctx, const bc_store *st, bc_store_event ev)
{
    bc_store_log *sl = ctx;
    const char *addr = bc_store_address(st), *why = bc_store_error(st);
    switch (ev) {
    case BC_STORE_FAULT:
        if (sl->stats)
            bc_stats_add(sl->stats, BC_STAT_REDIS_ERRORS, 1);
        bc_log_limited(&sl->down_log, BC_LOG_WARN,
                       "redis %s: %s; serving uncached (BYPASS) and retrying",
                       addr, why);
        break;
    case BC_STORE_RECOVERED:
        bc_log_limited(&sl->up_log, BC_LOG_INFO,
                       "redis %s: connected again; caching resumes", addr);
        break;
    case BC_STORE_REFUSED:
        bc_log_limited(&sl->down_log, BC_LOG_WARN, "redis %s: %s", addr, why);
        break;
    case BC_STORE_DEGRADED:
        bc_log(BC_LOG_WARN, "redis %s: %s", addr, why);
        break;
    case BC_STORE_WRITTEN:
        if (sl->stats)
            bc_stats_add(sl->stats, BC_STAT_STORE, 1);
        break;
    case BC_STORE_UNDONE: /* counted as before; the refusal was logged */
        if (sl->stats)
            bc_stats_add(sl->stats, BC_STAT_SKIP_LEASE_LOST, 1);
        break;
    case BC_STORE_NOT_WRITTEN:
        bc_log(BC_LOG_DEBUG, "a fill was not stored: its lease was voided "
                             "by an invalidation or expired");
        if (sl->stats)
            bc_stats_add(sl->stats, BC_STAT_SKIP_LEASE_LOST, 1);
        break;
    }
}

void bc_store_log_init(bc_store_log *sl, bc_stats *stats)
{
    sl->events.on_event = on_event;
    sl->events.ctx = sl;
    sl->stats = stats;
}
