/* fill.h: the lookup policy and the end of a fill: the memory tier, pass
 * hints, miss prediction, the lease as a lookup, waiting for another
 * request's fill and the stale copy that may stand in for the backend,
 * ending in one bc_fill_outcome (fill_policy.h); after the response, the
 * store of the entry or the release of its waiters (SPEC 6). */
#ifndef BOCACHE_FILL_H
#define BOCACHE_FILL_H

#include <stddef.h>

#include "entry.h"
#include "fill_policy.h"
#include "forward.h"
#include "worker.h"

/* Index sets an entry joins: its path and up to this many tags less one. A
 * response with more tags is not stored (a tag invalidation must never miss
 * an entry). */
#define BC_MAX_INDEXES 33

/* A worker's lookup state: its pass hints, miss predictions, lease token
 * and stale copy. Owned by the worker (bc_worker.fill). */
typedef struct bc_fill bc_fill;

/* Returns a new state, NULL when out of memory; bc_fill_free frees it. */
bc_fill *bc_fill_new(void);

void bc_fill_free(bc_fill *f);

/* After a reload: the endpoints the predictions are kept by may be
 * numbered anew. */
void bc_fill_reconfigure(bc_fill *f);

/* Starts a new request: no lease held, no stale copy. */
void bc_fill_begin(bc_fill *f);

/* Gives back a stale copy buffer grown past KEEP bytes. */
void bc_fill_trim(bc_fill *f, size_t keep);

/* Looks w->key up for endpoint w->ep and serves it from the cache if it
 * can (bc_fill_policy_next decides each step; this does the I/O it asks
 * for). Returns the outcome and sets w->reason. With BC_FILL_FILL this
 * request holds the key's lease until bc_fill_end. */
bc_fill_outcome bc_fill_lookup(bc_worker *w);

/* Nonzero when the lookup kept a stale copy within its stale window. */
int bc_fill_has_stale(const bc_fill *f);

/* The copy of the entry the lookup kept, to be revalidated by this
 * request's fill (SPEC 6): nonzero with *E decoded from it (borrowed
 * until the next request) when there is one with a validator. */
int bc_fill_copy(const bc_fill *f, bc_entry *e);

/* Whether the stale copy may stand in for the backend's failure (SPEC 7):
 * never one that an invalidation removed after this request read it (SPEC
 * 6). Zero when there is none. May read the entry again, and then keep
 * a newer copy. */
int bc_fill_stale_stands(bc_worker *w);

/* Serves the stale copy (labelled HIT if a newer fill has made it fresh). */
void bc_fill_serve_stale(bc_worker *w);

/* After the response of a request that holds the lease: stores the
 * entry RES carries (res->entry_len 0: nothing to store), or releases the
 * waiters with a pass marker. */
void bc_fill_end(bc_worker *w, const bc_forwarded *res);

#endif
