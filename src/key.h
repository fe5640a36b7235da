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
    /* Returns the value of the first request header NAME (HTTP spelling,
     * e.g. "X-Api-Key", matched case-insensitively), or NULL when absent,
     * and sets *COUNT to how many times it came (0 when absent): a web
     * server passes a repeated header as repeated parameters, and the
     * backend may read another copy than the key would. */
    const char *(*header)(void *ctx, const char *name, int *count);
    void *ctx;
    /* DOCUMENT_URI as the web server sent it, or NULL: the path after the
     * server's own decoding and rewriting. */
    const char *document_uri;
    /* Nonzero when one of the parameters the key or the endpoint match
     * reads besides headers (REQUEST_URI, QUERY_STRING, DOCUMENT_URI,
     * REQUEST_METHOD) came more than once. */
    int repeated_vars;
} bc_request;

typedef enum {
    BC_KEY_OK = 0,
    BC_KEY_NO_ENDPOINT, /* no endpoint matches the path */
    BC_KEY_METHOD,      /* not GET or HEAD */
    BC_KEY_NO_IDENTITY, /* the endpoint's identity is missing */
    BC_KEY_TOO_LONG,    /* the key would exceed BC_KEY_MAX - 1 bytes */
    BC_KEY_DUPLICATE,   /* a parameter the key or match reads came twice */
    BC_KEY_PATH         /* the path is not in normal form (SPEC 4.1) */
} bc_key_status;

/* The first endpoint of CFG whose path matches PATH, or NULL. */
const bc_endpoint *bc_key_endpoint(const bc_config *cfg, const char *path);

/* Builds the key of REQ into OUT (NUL-terminated, at most OUTLEN bytes;
 * OUTLEN of BC_KEY_MAX is always enough). Sets *EP to the matched endpoint
 * (NULL for BC_KEY_NO_ENDPOINT, BC_KEY_DUPLICATE with repeated_vars, and
 * BC_KEY_PATH). HEAD maps to the GET key. This is the one key function
 * used by the gateway, bocache-ctl and libbocache.
 *
 * The checks come in this order, so the status names the first reason:
 * repeated request-line parameters (BC_KEY_DUPLICATE), the path's normal
 * form and its agreement with document_uri (BC_KEY_PATH), the endpoint,
 * the method, then, while the key is built, a repeated header or query
 * parameter the key reads (BC_KEY_DUPLICATE), a missing identity, and the
 * length. The partner id from the query parameter is percent-decoded
 * ('+' as a space, as applications decode forms) before it is encoded; a
 * partner id given by both the header and the parameter with different
 * values is BC_KEY_DUPLICATE, since the backend may read either. */
bc_key_status bc_key_build(const bc_config *cfg, const bc_request *req,
                           const bc_endpoint **ep, char *out, size_t outlen);

/* Nonzero when PATH[0..LEN) is in normal form (SPEC 4.1): it starts with
 * '/', has no "." or ".." segment (also percent-encoded), no empty segment
 * ("//"), no ';' or '\', no percent-encoded '/', '\' or NUL, and no '%'
 * that does not start a two-digit hex escape. Such a path means the same
 * resource to every server that decodes it, so the endpoint bocache
 * matches is the one the backend routes to. */
int bc_key_path_normal(const char *path, size_t len);

/* Nonzero when DOC (DOCUMENT_URI, NUL-terminated) is PATH[0..LEN) with
 * its percent escapes decoded, i.e. the web server neither rewrote nor
 * normalised the path it passes on. PATH must be in normal form. */
int bc_key_path_is_document(const char *path, size_t len, const char *doc);

/* Percent-decodes a query parameter value SRC[0..LEN) into OUT ('+' is a
 * space, an invalid escape stays as it is). Returns the decoded length,
 * or (size_t)-1 when OUTLEN cannot hold it and its NUL. */
size_t bc_key_query_decode(const char *src, size_t len, char *out,
                           size_t outlen);

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

/* Nonzero when keys of endpoint EP separate responses by request header
 * NAME[0..LEN) (case-insensitive): one of its vary headers, or the
 * identity header its key type reads (the API key header; the partner id
 * header and Origin). The storability verdict asks this of a response's
 * Vary and of a request's credentials. */
int bc_key_reads_header(const bc_config *cfg, const bc_endpoint *ep,
                        const char *name, size_t len);

/* Enough for every name bc_key_internal_raw builds from an entry key (its
 * lease, PREFIX:#lease:KEY): a key is at most BC_KEY_MAX - 1 bytes and
 * redis.prefix at most 64 (SPEC 4). */
#define BC_KEY_INTERNAL_MAX (BC_KEY_MAX + 128)

/* Builds the name of one of bocache's own keys whose name part is not
 * encoded again: PREFIX:#KIND when RAW is NULL (the stats hash, the lease
 * set), else PREFIX:#KIND:RAW with RAW[0..RAW_LEN) copied as it is. RAW
 * must already be free of separators: an entry key (for its lease) or a
 * PATH segment as keys hold it (for a path index). Returns 0, or -1 when
 * it does not fit OUTLEN (OUT is then ""), never a truncated name. */
int bc_key_internal_raw(const bc_config *cfg, const char *kind,
                        const char *raw, size_t raw_len, char *out,
                        size_t outlen);

#endif
