/* deliver.h: answering from the cache: an entry, a 304, STALE, an error
 * page, and the headers bocache adds to every response (X-Cache,
 * Cache-Status, Age). */
#ifndef BOCACHE_DELIVER_H
#define BOCACHE_DELIVER_H

#include "entry.h"
#include "worker.h"

/* How an entry is served. */
typedef enum bc_served {
    BC_SERVED_HIT,         /* fresh, from Redis */
    BC_SERVED_MEMORY,      /* fresh, from the memory tier */
    BC_SERVED_STALE,       /* past its freshness, within its stale window */
    BC_SERVED_REVALIDATED, /* a kept copy the backend's 304 refreshed: a
                              miss that the backend answered without a
                              body (X-Cache: MISS) */
} bc_served;

/* Serves entry E (borrowed; it must stay valid until this returns), AGE
 * seconds old, AS it was found: a 304 when the request's validators match
 * it, else its status, headers and (but for HEAD) body, with our headers.
 * Counts the hit. A large body is written before this returns, a small
 * one waits in libfcgi's buffer for END_REQUEST. */
void bc_deliver_entry(bc_worker *w, const bc_entry *e, long age, bc_served as);

/* Sends an error page STATUS PHRASE (no-store, labelled as w->outcome);
 * only possible while no head has gone out. */
void bc_deliver_error(bc_worker *w, int status, const char *phrase);

/* The headers bocache adds to a response come in two halves around the
 * Cache-Status parameters, all appended to w->out's text: begin with
 * X-Cache: XCACHE, then the parameters (bc_fcgi_out_str), then end with
 * the Age (or -1 for none) and the blank line. Each returns 0 or -1. */
int bc_deliver_begin_headers(bc_worker *w, const char *xcache);
int bc_deliver_end_headers(bc_worker *w, long age);

#endif
