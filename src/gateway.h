/* gateway.h: the gateway process's composition root: the configuration in
 * force and its hand-over on reload, the memory tier, the counters, the
 * invalidation listener with its hooks, and the responder's workers,
 * started and stopped together. */
#ifndef BOCACHE_GATEWAY_H
#define BOCACHE_GATEWAY_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"
#include "log.h"
#include "memtier.h"
#include "message.h"
#include "stats.h"
#include "store_log.h"

typedef struct bc_gateway bc_gateway;

/* What the gateway shares with its workers' request path. Workers read it
 * on every request, so it is a plain struct rather than calls; the gateway
 * owns it and it lives as long as the gateway (bc_gateway_shared_of). */
typedef struct bc_gateway_shared {
    bc_memtier *mem; /* NULL when cache.memory_size is 0; fixed at creation */
    bc_stats stats;  /* this process's counters */
    /* Moves with every invalidation message, subscription change and
     * invalidation after an unsafe request: a pass hint, or a stale copy
     * vouched for while Redis cannot answer, is trusted only while it has
     * not moved since it was taken. */
    _Atomic uint64_t hint_gen;
    _Atomic int subscribed;      /* the listener hears invalidations */
    _Atomic unsigned generation; /* moves with every reload */
    bc_store_log store;          /* its events go to every bc_store */
    bc_ratelimit backend_log;    /* backend faults, logged once a while */
    /* The child backend's socket, which overrides backend.address, or
     * NULL. */
    const char *backend_address;
} bc_gateway_shared;

/* Creates a gateway accepting on LISTEN_FD with configuration CFG, which
 * it takes ownership of. BACKEND_ADDRESS, when not NULL, overrides
 * backend.address (the private socket of a child backend; copied).
 * Nothing runs yet. Returns NULL with a message in ERR. */
bc_gateway *bc_gateway_new(bc_config *cfg, int listen_fd,
                           const char *backend_address, char *err,
                           size_t errlen);

/* Starts cfg->workers responder threads and the invalidation listener.
 * Returns 0, or -1 with a message in ERR (bc_gateway_stop and
 * bc_gateway_free still apply). */
int bc_gateway_start(bc_gateway *g, char *err, size_t errlen);

/* Puts CFG (ownership passes) in force for every request that starts from
 * now on; requests in flight finish with the configuration they began
 * with. The listener subscribes afresh, the memory tier off meanwhile.
 * The worker count is fixed at start. */
void bc_gateway_reload(bc_gateway *g, bc_config *cfg);

/* The configuration in force (borrowed; valid until the next reload). For
 * the thread that reloads. */
const bc_config *bc_gateway_config(const bc_gateway *g);

/* Stops accepting, stops the listener, lets requests in flight finish and
 * joins the workers. */
void bc_gateway_stop(bc_gateway *g);

void bc_gateway_free(bc_gateway *g);

/* What the workers share (borrowed; lives as long as G). */
bc_gateway_shared *bc_gateway_shared_of(bc_gateway *g);

/* A configuration held by a worker: it stays valid, even after a reload,
 * until released; the gateway frees it once it is neither in force nor
 * held. */
typedef struct bc_gateway_ref bc_gateway_ref;

/* Holds the configuration in force. Never fails. */
bc_gateway_ref *bc_gateway_hold(bc_gateway *g);

/* The configuration REF holds (borrowed from REF). */
const bc_config *bc_gateway_ref_config(const bc_gateway_ref *ref);

void bc_gateway_release(bc_gateway *g, bc_gateway_ref *ref);

/* Drops what M covers from the memory tier, if there is one; CFG is the
 * configuration M is read with. */
void bc_gateway_drop_covered(bc_gateway *g, const bc_config *cfg,
                             const bc_message *m);

#endif
