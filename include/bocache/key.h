/* key.h: endpoint matching and the cache key builder (SPEC section 4). */
#ifndef BOCACHE_KEY_H
#define BOCACHE_KEY_H

#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"

/* Keys longer than this are not built: the request is forwarded uncached. */
#define BC_KEY_MAX 4096

/* A request as the key builder sees it. Every pointer is borrowed. */
typedef struct bc_request {
    const char *method; /* "GET", "HEAD", ... */
    const char *path;   /* the path as the client sent it, without query */
    const char *query;  /* the query string without '?', or NULL */
    /* Returns the value of request header NAME (HTTP spelling, e.g.
     * "X-Api-Key", matched case-insensitively), or NULL when absent. */
    const char *(*header)(void *ctx, const char *name);
    void *ctx;
} bc_request;

typedef enum {
    BC_KEY_OK = 0,
    BC_KEY_NO_ENDPOINT, /* no endpoint matches the path */
    BC_KEY_METHOD,      /* not GET or HEAD */
    BC_KEY_NO_IDENTITY, /* the endpoint's identity is missing */
    BC_KEY_TOO_LONG     /* the key would exceed BC_KEY_MAX - 1 bytes */
} bc_key_status;

/* The first endpoint of CFG whose path matches PATH, or NULL. */
const bc_endpoint *bc_key_endpoint(const bc_config *cfg, const char *path);

/* Builds the key of REQ into OUT (NUL-terminated, at most OUTLEN bytes;
 * OUTLEN of BC_KEY_MAX is always enough). Sets *EP to the matched endpoint
 * (NULL for BC_KEY_NO_ENDPOINT). HEAD maps to the GET key. This is the one
 * key function used by the gateway, bocache-ctl and libbocache. */
bc_key_status bc_key_build(const bc_config *cfg, const bc_request *req,
                           const bc_endpoint **ep, char *out, size_t outlen);

/* A short human reason for STATUS, e.g. "no endpoint matches the path". */
const char *bc_key_status_str(bc_key_status status);

/* A short token for STATUS, for metrics and Cache-Status ("no-endpoint",
 * "method", "no-identity", "key-too-long"). */
const char *bc_key_status_token(bc_key_status status);

/* Percent-encodes SRC[0..LEN) into OUT as SPEC 4 requires of every segment
 * (%, :, *, ?, [, ], \, #, controls, space, bytes >= 0x80). Returns the
 * length written, or (size_t)-1 when OUTLEN is too small; OUT is always
 * NUL-terminated when OUTLEN > 0. */
size_t bc_key_encode_segment(const char *src, size_t len, char *out,
                             size_t outlen);

/* A 64-bit FNV-1a hash of KEY[0..LEN), for in-process tables of keys. */
uint64_t bc_key_hash(const char *key, size_t len);

/* Builds the glob pattern matching every entry of partner PARTNER_ID, for
 * any origin, path and query: PREFIX:partner_id_and_origin:p=ID,o=*.
 * Returns 0, or -1 when it does not fit OUTLEN. */
int bc_key_partner_pattern(const bc_config *cfg, const char *partner_id,
                           char *out, size_t outlen);

/* Builds the name of one of bocache's own keys, PREFIX:#KIND:NAME with NAME
 * percent-encoded as a segment. Internal keys start with '#' in the second
 * segment, which no entry key can (it is always a key type), so no pattern
 * invalidation ever takes them for entries. Returns 0 or -1 (too long). */
int bc_key_internal(const bc_config *cfg, const char *kind, const char *name,
                    size_t name_len, char *out, size_t outlen);

/* Nonzero when KEY[0..LEN) is an entry key under CFG's prefix (its second
 * segment is a key type). Sets *PATH and *PATH_LEN to its PATH segment
 * (without query or vary) when PATH is not NULL. */
int bc_key_is_entry(const bc_config *cfg, const char *key, size_t len,
                    const char **path, size_t *path_len);

#endif
