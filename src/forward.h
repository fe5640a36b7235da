/* forward.h: one request to the backend and its answer streamed back to
 * the web server: parameters and body passed on unchanged, the head judged
 * for the store, the body collected into the entry being filled, and the
 * backend's faults turned into 502/504, STALE or a cut stream (SPEC 1, 6,
 * 7). */
#ifndef BOCACHE_FORWARD_H
#define BOCACHE_FORWARD_H

#include <stddef.h>

#include "response.h"
#include "worker.h"

/* A worker's backend connection and the buffers of its exchanges. Owned
 * by the worker (bc_worker.fwd). */
typedef struct bc_forward bc_forward;

/* What a forwarded request left for the steps after its response:
 * borrowed from the worker's bc_forward, valid until its next request. */
typedef struct bc_forwarded {
    const bc_response_head *head; /* the backend's head as passed on to the
                                     client; NULL when none was */
    const char *entry; /* the encoded entry to store, ENTRY_LEN bytes */
    size_t entry_len;  /* 0: nothing to store */
    long keep;         /* seconds Redis keeps it (bc_storable_keep) */
    const char *tags;  /* its surrogate keys, space-separated */
    size_t tags_len;
} bc_forwarded;

/* Returns a new forward state, not connected; NULL when out of memory.
 * bc_forward_free frees it and closes its connection. */
bc_forward *bc_forward_new(void);

void bc_forward_free(bc_forward *fw);

/* (Re)creates w->fwd's backend client for w->cfg (the child's socket
 * when there is one). Returns 0, or -1 after logging why; a request then
 * tries again. */
int bc_forward_open(bc_worker *w);

/* Forwards the request in W to the backend and streams its answer to the
 * client, labelled as w->outcome says; updates w->reason with why the
 * answer is not stored. With BC_FILL_FILL, a storable answer is encoded
 * as an entry for bc_fill_end. Fills *OUT. */
void bc_forward_request(bc_worker *w, bc_forwarded *out);

/* Gives back an entry buffer grown past KEEP bytes, and the buffers of a
 * revalidation. */
void bc_forward_trim(bc_forward *fw, size_t keep);

#endif
