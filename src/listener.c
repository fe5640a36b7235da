/* listener.c: the invalidation listener thread: SUBSCRIBE, parse, claim the
 * id, remove, resubscribe after a loss. */
#include "bocache/listener.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bocache/invalidate.h"
#include "bocache/log.h"

/* How often the thread looks at its stop flag while the channel is quiet. */
#define POLL_MS 250
/* Removal may scan the whole keyspace: its commands get a longer bound
 * than a request's lookups. */
#define WORK_TIMEOUT_MS 5000

struct bc_listener {
    const bc_config *cfg;
    bc_listener_hooks hooks;
    bc_store *sub;  /* the subscribed connection */
    bc_store *work; /* the connection that claims and removes */
    pthread_t thread;
    _Atomic int stop;
    bc_ratelimit bad_log;
    bc_ratelimit lost_log;
    bc_stats *stats;
    int64_t next_flush_ms;
};

#define FLUSH_MS 1000

/* Adds the counts since the last flush to PREFIX:#stats; on a fault they
 * are put back and go with the next flush. */
static void flush_stats(bc_listener *l)
{
    const char *fields[BC_STAT_COUNT];
    uint64_t deltas[BC_STAT_COUNT];
    bc_stat which[BC_STAT_COUNT];
    size_t n = 0;
    char key[256];
    if (!l->stats)
        return;
    snprintf(key, sizeof key, "%s:#stats", l->cfg->redis.prefix);
    for (int i = 0; i < BC_STAT_COUNT; i++) {
        uint64_t d = atomic_exchange(&l->stats->v[i], 0);
        if (d == 0)
            continue;
        which[n] = (bc_stat)i;
        fields[n] = bc_stat_name((bc_stat)i);
        deltas[n++] = d;
    }
    if (bc_store_hincr(l->work, key, fields, deltas, n) < 0)
        for (size_t i = 0; i < n; i++)
            bc_stats_add(l->stats, which[i], deltas[i]);
}

static void apply(bc_listener *l, const bc_message *m, const char *payload,
                  size_t len)
{
    if (l->hooks.message)
        l->hooks.message(l->hooks.ctx, m);
    int mine = m->id ? bc_invalidate_claim(l->work, l->cfg, m->id) : 1;
    if (mine < 0) {
        bc_log(BC_LOG_WARN, "invalidation %.*s: cannot claim its id; entries "
                            "expire with their TTL",
               (int)(len > 200 ? 200 : len), payload);
        return;
    }
    if (mine == 0) {
        bc_log(BC_LOG_DEBUG, "invalidation %s: removed by another process",
               m->id);
        return;
    }
    char err[256];
    int64_t t0 = bc_now_ms();
    long n = bc_invalidate_apply(l->work, l->cfg, m, err, sizeof err);
    if (l->stats && n > 0)
        bc_stats_add(l->stats, BC_STAT_KEYS_REMOVED, (uint64_t)n);
    if (n < 0)
        bc_log(BC_LOG_WARN, "invalidation: %s", err);
    else
        bc_log(BC_LOG_INFO, "invalidation %.*s: %ld entries removed in %lld ms",
               (int)(len > 200 ? 200 : len), payload, n,
               (long long)(bc_now_ms() - t0));
}

static void handle(bc_listener *l, const char *payload, size_t len)
{
    bc_message m;
    char err[256];
    if (bc_message_parse(payload, len, &m, err, sizeof err) < 0) {
        bc_log_limited(&l->bad_log, BC_LOG_WARN,
                       "invalidation message ignored: %s", err);
        if (l->stats)
            bc_stats_add(l->stats, BC_STAT_INVALIDATION_MALFORMED, 1);
        return;
    }
    if (l->stats)
        bc_stats_add(l->stats, BC_STAT_INVALIDATION_MESSAGES, 1);
    apply(l, &m, payload, len);
    bc_message_free(&m);
}

static void lost(bc_listener *l)
{
    if (l->hooks.lost)
        l->hooks.lost(l->hooks.ctx);
}

static void pause_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *run(void *arg)
{
    bc_listener *l = arg;
    int subscribed = 0;
    while (!atomic_load(&l->stop)) {
        if (bc_now_ms() >= l->next_flush_ms) {
            flush_stats(l);
            l->next_flush_ms = bc_now_ms() + FLUSH_MS;
        }
        if (!subscribed) {
            if (bc_store_subscribe(l->sub, l->cfg->redis.channel) < 0) {
                pause_ms(POLL_MS);
                continue;
            }
            subscribed = 1;
            if (l->hooks.subscribed)
                l->hooks.subscribed(l->hooks.ctx);
            bc_log(BC_LOG_INFO, "listening for invalidations on %s",
                   l->cfg->redis.channel);
        }
        const char *msg;
        size_t len;
        int rc = bc_store_next_message(l->sub, POLL_MS, &msg, &len);
        if (rc > 0) {
            handle(l, msg, len);
        } else if (rc < 0) {
            subscribed = 0;
            lost(l);
            bc_log_limited(&l->lost_log, BC_LOG_WARN,
                           "invalidation subscription lost; resubscribing");
        }
    }
    return NULL;
}

bc_listener *bc_listener_start(const bc_config *cfg, bc_store_shared *shared,
                               const bc_listener_hooks *hooks,
                               bc_stats *stats, char *err, size_t errlen)
{
    bc_listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->cfg = cfg;
    l->stats = stats;
    if (hooks)
        l->hooks = *hooks;
    l->sub = bc_store_new(cfg, shared);
    l->work = bc_store_new(cfg, shared);
    if (!l->sub || !l->work) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    bc_store_set_timeout(l->work, WORK_TIMEOUT_MS);
    if (pthread_create(&l->thread, NULL, run, l) != 0) {
        snprintf(err, errlen, "cannot start the invalidation listener");
        goto fail;
    }
    return l;
fail:
    bc_store_free(l->sub);
    bc_store_free(l->work);
    free(l);
    return NULL;
}

void bc_listener_stop(bc_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    flush_stats(l); /* the last counts of a stopping gateway */
    bc_store_free(l->sub);
    bc_store_free(l->work);
    free(l);
}
