/* gateway.c: the composition root of a gateway process: configuration
 * hand-over, memory tier, counters, the invalidation listener and the
 * responder, created, started, reloaded and stopped together. */
#include "gateway.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "invalidate.h"
#include "key.h"
#include "listener.h"
#include "responder.h"

/* A configuration and the number of workers still using it. */
struct bc_gateway_ref {
    bc_config *cfg;
    int users;
};

struct bc_gateway {
    bc_gateway_shared sh;
    pthread_mutex_t lock; /* guards cur and the users counts; taken on
                             reload and when a worker changes config */
    bc_gateway_ref *cur;
    char *backend_override; /* owned; sh.backend_address reads it */
    bc_responder *responder;
    bc_listener *listener;
    bc_gateway_ref *listener_ref; /* the configuration the listener runs
                                     with */
};

/* ---- configuration hand-over ---- */

bc_gateway_ref *bc_gateway_hold(bc_gateway *g)
{
    pthread_mutex_lock(&g->lock);
    bc_gateway_ref *ref = g->cur;
    ref->users++;
    pthread_mutex_unlock(&g->lock);
    return ref;
}

const bc_config *bc_gateway_ref_config(const bc_gateway_ref *ref)
{
    return ref->cfg;
}

void bc_gateway_release(bc_gateway *g, bc_gateway_ref *ref)
{
    pthread_mutex_lock(&g->lock);
    int dead = --ref->users == 0 && ref != g->cur;
    pthread_mutex_unlock(&g->lock);
    if (dead) {
        bc_config_free(ref->cfg);
        free(ref);
    }
}

const bc_config *bc_gateway_config(const bc_gateway *g)
{
    return g->cur->cfg;
}

bc_gateway_shared *bc_gateway_shared_of(bc_gateway *g)
{
    return &g->sh;
}

/* ---- the memory tier and invalidations ---- */

typedef struct drop_ctx {
    const bc_config *cfg;
    const bc_message *m;
} drop_ctx;

static int covers(void *ctx, const char *key, size_t klen, const char *tags,
                  size_t tags_len)
{
    const drop_ctx *d = ctx;
    return bc_invalidate_covers(d->cfg, d->m, key, klen, tags, tags_len);
}

/* Drops what M covers from the memory tier MEM. With uris (and neither
 * flush nor tags, which cover entries on any path) M covers only entries
 * whose PATH starts with one of them, so only those paths' entries are
 * looked at; each uri is encoded exactly as bc_invalidate_covers compares
 * it (a leading '/' added when missing). */
static void drop_covered(bc_memtier *mem, const bc_config *cfg,
                         const bc_message *m)
{
    drop_ctx d = {cfg, m};
    if (m->nuris == 0 || m->flush || m->ntags > 0) {
        bc_memtier_drop_if(mem, covers, &d);
        return;
    }
    /* Encoding takes at most 3 bytes a byte, the '/' and a NUL. */
    size_t chars = 0;
    for (size_t i = 0; i < m->nuris; i++)
        chars += 3 * strlen(m->uris[i]) + 2;
    size_t arrays = m->nuris * (sizeof(char *) + sizeof(size_t));
    char *block = malloc(arrays + chars);
    if (!block) {
        bc_memtier_drop_if(mem, covers, &d); /* slower, as complete */
        return;
    }
    const char **pre = (const char **)(void *)block;
    size_t *lens = (size_t *)(void *)(block + m->nuris * sizeof(char *));
    char *p = block + arrays, *end = block + arrays + chars;
    for (size_t i = 0; i < m->nuris; i++) {
        const char *uri = m->uris[i];
        size_t n = 0;
        if (uri[0] != '/')
            p[n++] = '/';
        size_t e = bc_key_encode_segment(uri, strlen(uri), p + n,
                                         (size_t)(end - p) - n);
        if (e == (size_t)-1) { /* cannot happen: sized above */
            free(block);
            bc_memtier_drop_if(mem, covers, &d);
            return;
        }
        pre[i] = p;
        lens[i] = n + e;
        p += n + e + 1;
    }
    bc_memtier_drop_under(mem, pre, lens, m->nuris, covers, &d);
    free(block);
}

void bc_gateway_drop_covered(bc_gateway *g, const bc_config *cfg,
                             const bc_message *m)
{
    if (g->sh.mem)
        drop_covered(g->sh.mem, cfg, m);
}

/* The listener's hooks, on its thread. The memory tier follows the
 * subscription: it is only used while no invalidation can be missed. */
static void on_message(void *ctx, const bc_message *m)
{
    bc_gateway *g = ctx;
    atomic_fetch_add(&g->sh.hint_gen, 1);
    if (g->sh.mem)
        drop_covered(g->sh.mem, g->listener_ref->cfg, m);
}

static void on_lost(void *ctx)
{
    bc_gateway *g = ctx;
    atomic_store(&g->sh.subscribed, 0);
    atomic_fetch_add(&g->sh.hint_gen, 1);
    if (g->sh.mem)
        bc_memtier_reset(g->sh.mem, 0);
}

static void on_subscribed(void *ctx)
{
    bc_gateway *g = ctx;
    atomic_fetch_add(&g->sh.hint_gen, 1);
    atomic_store(&g->sh.subscribed, 1);
    if (g->sh.mem)
        bc_memtier_reset(g->sh.mem, 1);
}

/* Runs the invalidation listener with the configuration in force. */
static int start_listener(bc_gateway *g, char *err, size_t errlen)
{
    bc_listener_hooks hooks = {on_message, on_lost, on_subscribed, g};
    g->listener_ref = bc_gateway_hold(g);
    g->listener = bc_listener_start(g->listener_ref->cfg, &g->sh.store.events,
                                    &hooks, &g->sh.stats, err, errlen);
    if (!g->listener) {
        bc_gateway_release(g, g->listener_ref);
        g->listener_ref = NULL;
        return -1;
    }
    return 0;
}

static void stop_listener(bc_gateway *g)
{
    if (!g->listener)
        return;
    bc_listener_stop(g->listener);
    g->listener = NULL;
    bc_gateway_release(g, g->listener_ref);
    g->listener_ref = NULL;
}

/* ---- lifecycle ---- */

bc_gateway *bc_gateway_new(bc_config *cfg, int listen_fd,
                           const char *backend_address, char *err,
                           size_t errlen)
{
    if (!backend_address && !cfg->backend.address) {
        snprintf(err, errlen,
                 "%s: no backend: set backend.address or give a command "
                 "after --",
                 cfg->file);
        return NULL;
    }
    bc_gateway *g = calloc(1, sizeof *g);
    bc_gateway_ref *ref = calloc(1, sizeof *ref);
    char *override = backend_address ? strdup(backend_address) : NULL;
    if (!g || !ref || (backend_address && !override)) {
        free(g);
        free(ref);
        free(override);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    g->responder = bc_responder_new(g, listen_fd);
    if (!g->responder) {
        free(g);
        free(ref);
        free(override);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    ref->cfg = cfg;
    g->cur = ref;
    g->backend_override = override;
    g->sh.backend_address = override;
    bc_store_log_init(&g->sh.store, &g->sh.stats);
    if (cfg->cache.memory_size > 0)
        g->sh.mem = bc_memtier_new((size_t)cfg->cache.memory_size);
    pthread_mutex_init(&g->lock, NULL);
    return g;
}

int bc_gateway_start(bc_gateway *g, char *err, size_t errlen)
{
    if (bc_responder_start(g->responder, g->cur->cfg->workers, err, errlen) < 0)
        return -1;
    return start_listener(g, err, errlen);
}

void bc_gateway_reload(bc_gateway *g, bc_config *cfg)
{
    bc_gateway_ref *ref = calloc(1, sizeof *ref);
    if (!ref) {
        bc_log(BC_LOG_ERROR, "reload: out of memory; old configuration kept");
        bc_config_free(cfg);
        return;
    }
    ref->cfg = cfg;
    pthread_mutex_lock(&g->lock);
    bc_gateway_ref *old = g->cur;
    g->cur = ref;
    int dead = old->users == 0;
    pthread_mutex_unlock(&g->lock);
    atomic_fetch_add(&g->sh.generation, 1);
    if (dead) {
        bc_config_free(old->cfg);
        free(old);
    }
    /* The channel or Redis may have changed: subscribe afresh. Until the
     * new subscription stands no invalidation is heard, so the memory
     * tier is emptied and off meanwhile, as after a lost subscription;
     * after the old listener has stopped, so that it cannot turn the
     * tier back on. */
    char err[256];
    stop_listener(g);
    on_lost(g);
    if (start_listener(g, err, sizeof err) < 0)
        bc_log(BC_LOG_ERROR, "reload: invalidation listener: %s", err);
}

void bc_gateway_stop(bc_gateway *g)
{
    bc_responder_stop(g->responder);
    stop_listener(g);
    bc_responder_join(g->responder);
}

void bc_gateway_free(bc_gateway *g)
{
    if (!g)
        return;
    /* The workers release the configurations they hold. */
    bc_responder_free(g->responder);
    bc_memtier_free(g->sh.mem);
    bc_config_free(g->cur->cfg);
    free(g->cur);
    free(g->backend_override);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
