/* fcgi_client.h: a FastCGI client connection to the backend application,
 * kept alive across requests (FCGI_KEEP_CONN). One per worker; not
 * thread-safe. */
#ifndef BOCACHE_FCGI_CLIENT_H
#define BOCACHE_FCGI_CLIENT_H

#include <stddef.h>

typedef struct bc_fcgi_client bc_fcgi_client;

/* Why a request to the backend failed. */
typedef enum {
    BC_BACKEND_OK = 0,
    BC_BACKEND_REFUSED,  /* could not connect */
    BC_BACKEND_TIMEOUT,  /* no answer within timeout_ms */
    BC_BACKEND_PROTOCOL, /* garbage or a truncated stream */
    BC_BACKEND_ABORTED   /* the sink asked to stop (client went away) */
} bc_backend_status;

/* Receives the backend's output while it arrives. Return 0 to go on, -1 to
 * abort the request (the connection is then closed, not reused). */
typedef struct bc_fcgi_sink {
    int (*stdout_data)(void *ctx, const char *data, size_t len);
    void (*stderr_data)(void *ctx, const char *data, size_t len);
    /* Called when the bytes read so far have been handed over and more must
     * be waited for: the moment to flush to the client. May be NULL. */
    int (*flush)(void *ctx);
    void *ctx;
} bc_fcgi_sink;

/* A request parameter (borrowed). */
typedef struct bc_fcgi_param {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} bc_fcgi_param;

/* Reads request body bytes into BUF; returns bytes read, 0 at the end, -1 on
 * error. */
typedef int (*bc_fcgi_body_reader)(void *ctx, char *buf, size_t cap);

/* Creates a client for ADDRESS ("unix:/path" or "host:port"). Does not
 * connect yet. Returns NULL with a message in ERR when ADDRESS is invalid. */
bc_fcgi_client *bc_fcgi_client_new(const char *address, int connect_timeout_ms,
                                   int timeout_ms, char *err, size_t errlen);

void bc_fcgi_client_free(bc_fcgi_client *c);

/* Sends one request (PARAMS, then the body from READER) and streams the
 * response into SINK. Reuses the kept-alive connection, reconnecting once if
 * the backend had closed it before answering. The body is read (and
 * buffered for a retry) up to the first 64 KiB; larger bodies are streamed
 * and not retried. Returns BC_BACKEND_OK after END_REQUEST. */
bc_backend_status bc_fcgi_client_request(bc_fcgi_client *c,
                                         const bc_fcgi_param *params,
                                         size_t nparams,
                                         bc_fcgi_body_reader reader,
                                         void *reader_ctx,
                                         const bc_fcgi_sink *sink);

/* The last error's description (for logs). */
const char *bc_fcgi_client_error(const bc_fcgi_client *c);

#endif
