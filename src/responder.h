/* responder.h: the gateway's FastCGI responder: worker threads that accept
 * requests, serve hits from Redis and forward misses to the backend. */
#ifndef BOCACHE_RESPONDER_H
#define BOCACHE_RESPONDER_H

#include "bocache/config.h"

typedef struct bc_responder bc_responder;

/* Creates a responder accepting on LISTEN_FD with configuration CFG, which
 * it takes ownership of. BACKEND_ADDRESS, when not NULL, overrides
 * backend.address (the private socket of a child backend). Returns NULL
 * with a message in ERR. */
bc_responder *bc_responder_new(bc_config *cfg, int listen_fd,
                               const char *backend_address, char *err,
                               size_t errlen);

/* Starts cfg->workers threads. Returns 0, or -1 with a message in ERR. */
int bc_responder_start(bc_responder *r, char *err, size_t errlen);

/* Puts CFG (ownership passes) in force for every request that starts from
 * now on; requests in flight finish with the configuration they began
 * with. The worker count is fixed at start. */
void bc_responder_reload(bc_responder *r, bc_config *cfg);

/* The configuration in force (borrowed; valid until the next reload). */
const bc_config *bc_responder_config(const bc_responder *r);

/* Stops accepting, lets requests in flight finish and joins the workers. */
void bc_responder_stop(bc_responder *r);

void bc_responder_free(bc_responder *r);

#endif
