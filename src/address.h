/* address.h: "unix:/path" and "host:port" socket addresses, parsed and
 * connected with a timeout. */
#ifndef BOCACHE_ADDRESS_H
#define BOCACHE_ADDRESS_H

#include <stddef.h>

typedef struct bc_address {
    int is_unix;
    char path[108]; /* sun_path size on Linux */
    char host[256];
    int port;
} bc_address;

/* Parses TEXT into OUT. Returns 0, or -1 with a message in ERR saying what
 * form is expected. */
int bc_address_parse(const char *text, bc_address *out, char *err,
                     size_t errlen);

/* Opens a blocking stream socket connected to ADDR within TIMEOUT_MS, with
 * close-on-exec and (for TCP) TCP_NODELAY. Returns the descriptor, or -1
 * with errno set (ETIMEDOUT when the time ran out). */
int bc_address_connect(const bc_address *addr, int timeout_ms);

#endif
