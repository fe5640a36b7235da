/* store_log.h: the gateway's log lines and counters for what its Redis
 * stores report (store.h's events). libbocache and bocache-ctl install
 * none of it, so an application's stderr never shows the gateway's
 * wording. */
#ifndef BOCACHE_STORE_LOG_H
#define BOCACHE_STORE_LOG_H

#include "log.h"
#include "stats.h"
#include "store.h"

/* One per gateway process, shared by every store of it (the workers' and
 * the listener's) and alive longer than all of them. Zero-initialised,
 * then bc_store_log_init. */
typedef struct bc_store_log {
    /* The events to give bc_store_new: they report to this. */
    bc_store_events events;
    /* Faults and refusals: at most one line per interval for the whole
     * process, however many workers meet them. */
    bc_ratelimit down_log;
    bc_ratelimit up_log; /* "connected again": once per interval too */
    bc_stats *stats;     /* counts faults and stores when not NULL */
} bc_store_log;

/* Sets SL up: SL->events logs through SL's limiters and counts into
 * STATS (borrowed; NULL counts nothing). The lines are:
 *
 *   warn   redis ADDR: WHAT: DETAIL; serving uncached (BYPASS) and retrying
 *   info   redis ADDR: connected again; caching resumes
 *   warn   redis ADDR: WHAT: DETAIL              (a refusal, limited)
 *   warn   redis ADDR: WHAT                      (degraded, every time)
 *   debug  a fill was not stored: its lease was voided by an invalidation
 *          or expired
 *
 * and the counters redis_errors (each fault), stores and
 * store_skip_lease_lost (each deferred store's outcome; one undone after
 * a failed index write counts as skipped, without the debug line). */
void bc_store_log_init(bc_store_log *sl, bc_stats *stats);

#endif
