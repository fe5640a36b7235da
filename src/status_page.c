/* status_page.c: the Prometheus text endpoint. */
#include "status_page.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "key.h"
#include "memtier.h"
#include "stats.h"

/* Whether the caller, REMOTE_ADDR as the web server passes it, is listed
 * in status_allow. */
static int status_allowed(bc_worker *w)
{
    const bc_config *cfg = w->cfg;
    const char *addr = FCGX_GetParam("REMOTE_ADDR", w->req.envp);
    for (size_t i = 0; addr && i < cfg->nstatus_allow; i++)
        if (strcmp(addr, cfg->status_allow[i]) == 0)
            return 1;
    return 0;
}

/* Keeps the total of a counter this build knows from the stats hash. */
static void take_stat(void *ctx, const char *field, const char *value)
{
    unsigned long long *totals = ctx;
    for (int i = 0; i < BC_STAT_COUNT; i++)
        if (strcmp(field, bc_stat_name((bc_stat)i)) == 0)
            totals[i] = strtoull(value, NULL, 10);
}

/* Prometheus text format: the fleet's counters from Redis, and this
 * process's memory tier. */
void bc_status_page_serve(bc_worker *w)
{
    const bc_config *cfg = w->cfg;
    w->out.len = 0;
    if (!status_allowed(w)) {
        bc_fcgi_out_printf(
            &w->out, "Status: 403 Forbidden\r\nContent-Type: text/plain\r\n"
                     "\r\nforbidden: this address is not in "
                     "status_allow\n");
        bc_fcgi_out_send_text(&w->out);
        return;
    }
    unsigned long long totals[BC_STAT_COUNT] = {0};
    char key[BC_KEY_MAX];
    int up = bc_key_stats(cfg, key, sizeof key) == 0 &&
             bc_store_hgetall(w->store, key, take_stat, totals) == 0;
    bc_fcgi_out_printf(&w->out,
                       "Status: 200 OK\r\nContent-Type: text/plain; "
                       "version=0.0.4\r\nCache-Control: no-store\r\n\r\n");
    bc_fcgi_out_printf(&w->out,
                       "# HELP bocache_redis_up Whether Redis answered.\n"
                       "# TYPE bocache_redis_up gauge\nbocache_redis_up %d\n",
                       up);
    for (int i = 0; i < BC_STAT_COUNT && up; i++) {
        const char *n = bc_stat_name((bc_stat)i);
        bc_fcgi_out_printf(
            &w->out,
            "# HELP bocache_%s_total %s\n# TYPE bocache_%s_total "
            "counter\nbocache_%s_total %llu\n",
            n, bc_stat_help((bc_stat)i), n, n, totals[i]);
    }
    if (w->sh->mem)
        bc_fcgi_out_printf(
            &w->out,
            "# HELP bocache_memory_bytes Bytes in this process's "
            "memory tier.\n# TYPE bocache_memory_bytes gauge\n"
            "bocache_memory_bytes{pid=\"%ld\"} %zu\n",
            (long)getpid(), bc_memtier_bytes(w->sh->mem));
    bc_fcgi_out_send_text(&w->out);
}
