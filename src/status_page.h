/* status_page.h: the Prometheus endpoint at status_path (SPEC 8): the
 * fleet's counters from Redis and this process's memory tier, for the
 * addresses in status_allow. */
#ifndef BOCACHE_STATUS_PAGE_H
#define BOCACHE_STATUS_PAGE_H

#include "worker.h"

/* Answers the request in W: 403 unless REMOTE_ADDR is in status_allow,
 * else the counters in Prometheus text format. Reads the stats hash over
 * w->store. */
void bc_status_page_serve(bc_worker *w);

#endif
