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

/* The one set of rules for an address, shared by the configuration
 * check and everything that parses one: "unix:" and an absolute path that
 * fits a sockaddr_un, or a host and a port after the last ':'. The host
 * is a name or IPv4 address of letters, digits, '.', '-' and '_' (at most
 * 255 bytes), or an IPv6 address in brackets; the port is 1 to 65535 in
 * decimal digits only. Returns NULL when TEXT follows them, else what it
 * must be, as a phrase to follow its name ("must end in a port between 1
 * and 65535"); a static string. Pure. */
const char *bc_address_check(const char *text);

/* Parses TEXT into OUT by bc_address_check's rules ("[::1]:6379" gives
 * host "::1"). Returns 0, or -1 with "'TEXT' PHRASE" in ERR. */
int bc_address_parse(const char *text, bc_address *out, char *err,
                     size_t errlen);

/* Opens a blocking stream socket connected to ADDR within TIMEOUT_MS, with
 * close-on-exec and (for TCP) TCP_NODELAY. Returns the descriptor, or -1
 * with errno set (ETIMEDOUT when the time ran out). */
int bc_address_connect(const bc_address *addr, int timeout_ms);

#endif
