/* listener.h: the invalidation listener: one thread per gateway process
 * SUBSCRIBEd to redis.channel, applying each message (SPEC 5). */
#ifndef BOCACHE_LISTENER_H
#define BOCACHE_LISTENER_H

#include <stddef.h>

#include "bocache/config.h"
#include "message.h"
#include "stats.h"
#include "store.h"

/* What the gateway does beside Redis: drop entries from its in-memory
 * tier. Both hooks run on the listener thread; either may be NULL. */
typedef struct bc_listener_hooks {
    /* A valid message arrived: drop what it covers. */
    void (*message)(void *ctx, const bc_message *m);
    /* The subscription was lost: messages may have been missed, so drop
     * everything before serving from memory again. */
    void (*lost)(void *ctx);
    /* The subscription is (again) in place: from now on no message is
     * missed, so the tier may be used again. */
    void (*subscribed)(void *ctx);
    void *ctx;
} bc_listener_hooks;

typedef struct bc_listener bc_listener;

/* Starts the listener thread for CFG (borrowed; must outlive the listener)
 * with HOOKS (copied); its Redis connections report to EVENTS (copied;
 * NULL reports nothing). Returns NULL with a message in ERR. */
/* The thread also adds the process's counters in STATS (borrowed) to the
 * fleet's totals in Redis every second. */
bc_listener *bc_listener_start(const bc_config *cfg,
                               const bc_store_events *events,
                               const bc_listener_hooks *hooks, bc_stats *stats,
                               char *err, size_t errlen);

/* Stops the thread (within half a second) and frees L. */
void bc_listener_stop(bc_listener *l);

#endif
