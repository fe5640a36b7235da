/* listener.c: the invalidation listener thread: SUBSCRIBE, parse, claim the
 * id, remove (retrying a failed removal), resubscribe after a loss. */
#include "listener.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "invalidate.h"
#include "key.h"
#include "log.h"

/* How often the thread looks at its stop flag while the channel is quiet. */
#define POLL_MS 250
/* Removal may scan the whole keyspace: its commands get a longer bound
 * than a request's lookups. */
#define WORK_TIMEOUT_MS 5000

/* SPEC 7: a removal that failed part-way is retried with backoff until it
 * succeeds or everything it covers has expired. At most RETRY_MAX wait at
 * a time (a long Redis outage fails every message); more are logged and
 * left to their TTL. */
#define RETRY_MAX 256
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 5000
/* Follow-ups (announce_removed) remembered; more than are in flight. */
#define FOLLOWUPS 16

/* A message whose removal failed, waiting for its next attempt. */
typedef struct retry {
    bc_message m;  /* owned */
    char what[80]; /* its id, or the head of its payload, for the log */
    int claimed;   /* its id is this thread's (or it has none) */
    int attempts;
    int backoff_ms;
    int64_t next_ms, until_ms;
} retry;

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
    retry *retries; /* RETRY_MAX slots, the first NRETRIES in use */
    size_t nretries;
    bc_ratelimit retry_log;
    /* The ids of the follow-ups this thread published last: its claim
     * of them is its own, so without this it would take its own
     * follow-up for a message to remove again. */
    char followups[FOLLOWUPS][BC_INVALIDATE_ID_SIZE];
    unsigned nfollowups;
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
    char key[BC_KEY_MAX];
    if (!l->stats || bc_key_stats(l->cfg, key, sizeof key) < 0)
        return;
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

/* One attempt at M's Redis side: claims its id unless *CLAIMED says it
 * was claimed before, then removes. Returns 1 when finished (removed, or
 * another process's to remove), 0 when it must be tried again, with the
 * reason in ERR. */
static int attempt(bc_listener *l, const bc_message *m, int *claimed,
                   long *removed, char *err, size_t errlen)
{
    *removed = 0;
    if (!*claimed) {
        int mine = bc_invalidate_claim(l->work, l->cfg, m->id);
        if (mine < 0) {
            snprintf(err, errlen, "cannot claim its id in Redis");
            return 0;
        }
        if (mine == 0) {
            bc_log(BC_LOG_DEBUG, "invalidation %s: removed by another process",
                   m->id);
            return 1;
        }
        *claimed = 1;
    }
    long n = bc_invalidate_apply(l->work, l->cfg, m, err, errlen);
    if (n < 0)
        return 0;
    *removed = n;
    if (l->stats && n > 0)
        bc_stats_add(l->stats, BC_STAT_KEYS_REMOVED, (uint64_t)n);
    return 1;
}

/* After this process removed what M covers, tells every process to drop
 * it from its memory tier once more: between a process's first drop (when
 * M arrived) and this removal, its requests could read the old entries
 * from Redis and put them back into memory for up to memory_ttl. The
 * follow-up carries M's coverage under a fresh id that is claimed here
 * first, so nobody removes anything again and it has no follow-up of its
 * own. Best effort: a lost follow-up leaves the window as it was. */
static void announce_removed(bc_listener *l, const bc_message *m)
{
    char id[BC_INVALIDATE_ID_SIZE], err[256];
    if (bc_invalidate_new_id(id) < 0 ||
        bc_invalidate_claim(l->work, l->cfg, id) != 1)
        return;
    memcpy(l->followups[l->nfollowups++ % FOLLOWUPS], id, sizeof id);
    bc_message again = *m;
    again.id = id;
    if (bc_invalidate_announce(l->work, l->cfg, &again, err, sizeof err) < 0)
        bc_log(BC_LOG_DEBUG, "invalidation %s: follow-up not published: %s",
               m->id, err);
}

static int is_followup(const bc_listener *l, const char *id)
{
    for (unsigned i = 0; id && *id && i < FOLLOWUPS; i++)
        if (strcmp(l->followups[i], id) == 0)
            return 1;
    return 0;
}

/* Queues M (taken over) for another attempt; returns 0, or -1 when the
 * queue is full (M is then the caller's still). */
static int queue_retry(bc_listener *l, bc_message *m, const char *what,
                       int claimed, const char *err)
{
    if (l->nretries == RETRY_MAX) {
        bc_log_limited(&l->retry_log, BC_LOG_WARN,
                       "invalidation %s: %s; %d removals already wait for "
                       "Redis, so this one is not retried: its entries "
                       "expire with their TTL",
                       what, err, RETRY_MAX);
        return -1;
    }
    int64_t now = bc_now_ms();
    retry *r = &l->retries[l->nretries++];
    r->m = *m;
    memset(m, 0, sizeof *m);
    snprintf(r->what, sizeof r->what, "%s", what);
    r->claimed = claimed;
    r->attempts = 1;
    r->backoff_ms = RETRY_MIN_MS;
    r->next_ms = now + r->backoff_ms;
    r->until_ms = now + bc_invalidate_retry_ms(l->cfg);
    bc_log(BC_LOG_WARN,
           "invalidation %s: %s; retrying with backoff for up "
           "to %lld s",
           what, err, (long long)((r->until_ms - now) / 1000));
    return 0;
}

/* Runs the retries that are due. */
static void run_retries(bc_listener *l)
{
    int64_t now = bc_now_ms();
    for (size_t i = 0; i < l->nretries;) {
        retry *r = &l->retries[i];
        if (r->next_ms > now) {
            i++;
            continue;
        }
        char err[256];
        long n;
        r->attempts++;
        bc_store_retry_now(l->work); /* the retry has its own backoff */
        int done = attempt(l, &r->m, &r->claimed, &n, err, sizeof err);
        now = bc_now_ms();
        if (done) {
            bc_log(BC_LOG_INFO,
                   "invalidation %s: %ld entries removed on attempt %d",
                   r->what, n, r->attempts);
            /* Entries read from Redis before the removal may have gone
             * into memory tiers meanwhile: this one's, and others'. */
            if (l->hooks.message)
                l->hooks.message(l->hooks.ctx, &r->m);
            if (r->m.id && n > 0)
                announce_removed(l, &r->m);
        } else if (now >= r->until_ms) {
            bc_log(BC_LOG_WARN,
                   "invalidation %s: %s after %d attempts; "
                   "given up, as everything it covered has "
                   "expired by now",
                   r->what, err, r->attempts);
        } else {
            r->backoff_ms = r->backoff_ms * 2 > RETRY_MAX_MS
                                ? RETRY_MAX_MS
                                : r->backoff_ms * 2;
            r->next_ms = now + r->backoff_ms;
            bc_log_limited(&l->retry_log, BC_LOG_WARN,
                           "invalidation %s: attempt %d: %s; next in %d ms",
                           r->what, r->attempts, err, r->backoff_ms);
            i++;
            continue;
        }
        bc_message_free(&r->m);
        l->retries[i] = l->retries[--l->nretries];
    }
}

/* How long the thread may wait for a message before a retry is due. */
static int wait_ms(const bc_listener *l)
{
    int64_t now = bc_now_ms(), ms = POLL_MS;
    for (size_t i = 0; i < l->nretries; i++) {
        int64_t left = l->retries[i].next_ms - now;
        ms = left < ms ? left : ms;
    }
    return ms < 0 ? 0 : (int)ms;
}

static void apply(bc_listener *l, bc_message *m, const char *payload,
                  size_t len)
{
    if (l->hooks.message)
        l->hooks.message(l->hooks.ctx, m);
    char what[80], err[256];
    if (m->id)
        snprintf(what, sizeof what, "%.70s", m->id);
    else
        snprintf(what, sizeof what, "%.*s", (int)(len > 70 ? 70 : len),
                 payload);
    int claimed = m->id == NULL; /* a message without id: every process */
    long n;
    if (is_followup(l, m->id))
        return; /* its memory drop above is all it is for */
    int64_t t0 = bc_now_ms();
    if (!attempt(l, m, &claimed, &n, err, sizeof err)) {
        queue_retry(l, m, what, claimed, err);
        return;
    }
    if (claimed)
        bc_log(BC_LOG_INFO, "invalidation %.*s: %ld entries removed in %lld ms",
               (int)(len > 200 ? 200 : len), payload, n,
               (long long)(bc_now_ms() - t0));
    if (claimed && m->id && n > 0)
        announce_removed(l, m);
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
        run_retries(l);
        const char *msg;
        size_t len;
        int rc = bc_store_next_message(l->sub, wait_ms(l), &msg, &len);
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

bc_listener *bc_listener_start(const bc_config *cfg,
                               const bc_store_events *events,
                               const bc_listener_hooks *hooks, bc_stats *stats,
                               char *err, size_t errlen)
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
    l->sub = bc_store_new(cfg, events);
    l->work = bc_store_new(cfg, events);
    l->retries = calloc(RETRY_MAX, sizeof *l->retries);
    if (!l->sub || !l->work || !l->retries) {
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
    free(l->retries);
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
    for (size_t i = 0; i < l->nretries; i++) {
        bc_log(BC_LOG_WARN,
               "invalidation %s: stopping with its removal "
               "still failed; its entries expire with their "
               "TTL",
               l->retries[i].what);
        bc_message_free(&l->retries[i].m);
    }
    free(l->retries);
    bc_store_free(l->sub);
    bc_store_free(l->work);
    free(l);
}
