/* fcgi_client.h: a FastCGI client connection to the backend application.
 * One per worker and not thread-safe, except that with keepalive a
 * watchdog thread of its own closes the connection while it lies idle. */
#ifndef BOCACHE_FCGI_CLIENT_H
#define BOCACHE_FCGI_CLIENT_H

#include <stddef.h>

typedef struct bc_fcgi_client bc_fcgi_client;

/* How a request to the backend ended. Every status but BC_BACKEND_OK
 * closes the connection. */
typedef enum {
    /* The answer arrived whole and clean: STDOUT, then END_REQUEST for
     * this request's id with protocolStatus FCGI_REQUEST_COMPLETE (0); no
     * record of another request id; no byte after END_REQUEST, neither in
     * what was read nor already waiting on the socket. */
    BC_BACKEND_OK = 0,
    BC_BACKEND_REFUSED, /* could not connect; nothing was sent */
    BC_BACKEND_TIMEOUT, /* no answer within timeout_ms */
    /* The answer is not whole: malformed records, the connection closed
     * before END_REQUEST, END_REQUEST without any STDOUT, or one of the
     * deviations listed under BC_BACKEND_UNCLEAN before the first STDOUT
     * byte (nothing was then passed to the sink's stdout_data). STDOUT
     * bytes passed before a close are a truncated answer. */
    BC_BACKEND_PROTOCOL,
    BC_BACKEND_ABORTED, /* the sink asked to stop (client went away) */
    /* The answer was passed on as it came, every STDOUT byte of this
     * request up to its END_REQUEST, but the exchange was not clean: after
     * the first STDOUT byte a record of another request id came (its
     * content is never passed to the sink), or END_REQUEST carried a
     * protocolStatus other than 0, or bytes followed END_REQUEST. It may be
     * ended normally to the client; it must not be stored. The connection
     * was closed. */
    BC_BACKEND_UNCLEAN
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

/* The backend settings a client follows (backend.* of the configuration). */
typedef struct bc_fcgi_client_settings {
    int connect_timeout_ms;
    int timeout_ms; /* the longest wait for each piece of the answer */
    /* 0: every request opens its own connection, without FCGI_KEEP_CONN,
     * and closes it after the answer, so an idle client never holds a
     * backend process that serves one connection at a time. 1: the
     * connection is kept (FCGI_KEEP_CONN) for the next request. */
    int keepalive;
    /* With keepalive, a connection idle this long is closed: by the
     * client's watchdog thread (started with the first kept connection)
     * even when no request follows, and in any case before a request would
     * use it. */
    int keepalive_timeout_ms;
} bc_fcgi_client_settings;

/* Creates a client for ADDRESS ("unix:/path" or "host:port") with the
 * settings S (copied). Does not connect yet. Returns NULL with a message in
 * ERR when ADDRESS is invalid; the caller frees the client with
 * bc_fcgi_client_free. */
bc_fcgi_client *bc_fcgi_client_new(const char *address,
                                   const bc_fcgi_client_settings *s, char *err,
                                   size_t errlen);

/* Closes the connection and stops the watchdog thread; NULL is a no-op. */
void bc_fcgi_client_free(bc_fcgi_client *c);

/* Sends one request (PARAMS, then the body from READER) and streams the
 * response into SINK; returns how it ended (see bc_backend_status). Only
 * STDOUT and STDERR content of this request reaches the sink.
 *
 * A kept connection is checked before it is used: one that was idle for
 * keepalive_timeout_ms, or that is readable or hung up (a late record or a
 * close while idle), is closed and a new one opened. The request is sent a
 * second time, once, on a new connection only when a kept connection
 * failed before a byte of the answer came back, the whole request is in
 * hand (the body is buffered up to its first 64 KiB; larger bodies are
 * streamed and never sent twice), and either not a byte of it could be
 * written (the backend cannot have seen it) or its method is GET or HEAD:
 * the REQUEST_METHOD parameter is read from PARAMS, and a request without
 * one, or with a copy naming another method, is never sent twice. */
bc_backend_status
bc_fcgi_client_request(bc_fcgi_client *c, const bc_fcgi_param *params,
                       size_t nparams, bc_fcgi_body_reader reader,
                       void *reader_ctx, const bc_fcgi_sink *sink);

/* Closes the connection if one is open, so that the next request opens a
 * new one: for a caller that finds an answer unusable although the client
 * returned BC_BACKEND_OK (a CGI head that never ended, say). */
void bc_fcgi_client_close(bc_fcgi_client *c);

/* The last error's description (for logs). */
const char *bc_fcgi_client_error(const bc_fcgi_client *c);

#endif
