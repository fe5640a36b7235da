/* responder.h: the gateway's FastCGI responder: worker threads that accept
 * requests, serve hits from the cache and forward misses to the backend.
 * The gateway (gateway.h) creates, starts and stops it. */
#ifndef BOCACHE_RESPONDER_H
#define BOCACHE_RESPONDER_H

#include <stddef.h>

#include "gateway.h"

typedef struct bc_responder bc_responder;

/* Creates a responder for gateway G (borrowed: it must outlive the
 * responder) accepting on LISTEN_FD. Returns NULL when out of memory. */
bc_responder *bc_responder_new(bc_gateway *g, int listen_fd);

/* Starts NWORKERS threads. Returns 0, or -1 with a message in ERR (the
 * threads already started run until bc_responder_stop). */
int bc_responder_start(bc_responder *r, int nworkers, char *err, size_t errlen);

/* Stops accepting; returns at once. Requests in flight go on. */
void bc_responder_stop(bc_responder *r);

/* After bc_responder_stop: lets requests in flight finish and joins the
 * workers. */
void bc_responder_join(bc_responder *r);

/* Frees R and its workers, which release the configurations they hold. */
void bc_responder_free(bc_responder *r);

#endif
