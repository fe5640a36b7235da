/* worker.h: what one worker thread holds for the request it serves, the
 * context the request-path files (responder, fill, deliver, forward,
 * status_page) hand each other. */
#ifndef BOCACHE_WORKER_H
#define BOCACHE_WORKER_H

#include <fcgiapp.h>
#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"
#include "fcgi_out.h"
#include "fill_policy.h"
#include "gateway.h"
#include "key.h"
#include "reason.h"
#include "store.h"

/* The CGI variables a request is served by, found in one pass over the
 * parameters (FCGX_GetParam scans them all for every name); borrowed from
 * the request's environment. */
typedef struct bc_req_vars {
    const char *request_uri, *document_uri, *script_name, *method, *query,
        *if_none_match, *if_modified_since, *authorization, *cookie;
    int repeated; /* a variable the key or match reads came twice */
    int head;     /* the method is HEAD */
} bc_req_vars;

/* One worker's request context. The responder owns it (one per thread)
 * and sets it up; what it points to is owned as noted. */
typedef struct bc_worker {
    bc_gateway *g;          /* borrowed */
    bc_gateway_shared *sh;  /* the gateway's, borrowed */
    const bc_config *cfg;   /* this request's (the responder holds it) */
    bc_store *store;        /* owned: this worker's Redis connection */
    struct bc_fill *fill;   /* owned: its lookup state (fill.h) */
    struct bc_forward *fwd; /* owned: its backend exchange (forward.h) */
    FCGX_Request req;
    bc_fcgi_out out; /* the response to the web server */
    bc_req_vars v;   /* this request's variables */
    /* The cache key and its endpoint, when one was built. */
    const bc_endpoint *ep;
    char key[BC_KEY_MAX];
    bc_fill_outcome outcome; /* how the lookup ended, or BYPASS unkeyed */
    bc_reason reason;        /* the Cache-Status detail */
} bc_worker;

#endif
