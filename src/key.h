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

/* ---- bocache's own keys ----
 *
 * Every name of a key bocache writes besides the entries is built here,
 * and nowhere else, so that a change of the key format (SPEC 10 plans
 * hash tags) is one change:
 *
 *   PREFIX:#lease:KEY   string   a fill's lease (its token) or a "pass"
 *                                marker (lease.h)
 *   PREFIX:#fill:TOKEN  string   a fill's staged value, renamed into KEY
 *   PREFIX:#leasez      zset     "LEASE TOKEN" per lease attempt, scored
 *                                by expiry (ms, Redis clock)
 *   PREFIX:#tagz:TAG    zset     entry keys carrying TAG, scored by the
 *   PREFIX:#pathz:PATH  zset     entry's expiry; PATH as keys hold it
 *   PREFIX:#id:ID       string   a claimed message id (invalidate.h)
 *   PREFIX:#stats       hash     the fleet's counters
 *
 * Versions before the sorted sets kept SETs under PREFIX:#leases,
 * PREFIX:#tag:TAG and PREFIX:#path:PATH (PATH encoded again); the
 * invalidations still read them (the bc_key_legacy_ names), so entries an
 * older gateway stored are not missed during an upgrade.
 *
 * The second segment of all of them starts with '#', which no entry key's
 * can (it is always a key type), so no pattern invalidation ever takes
 * them for entries. Each builder writes a NUL-terminated name into OUT and
 * returns 0, or -1 when it does not fit OUTLEN (OUT is then "", never a
 * truncated name that could be another key's). */

/* Enough for every own key built from an entry key (its lease,
 * PREFIX:#lease:KEY): a key is at most BC_KEY_MAX - 1 bytes and
 * redis.prefix at most 64 (SPEC 4). Every other own key fits BC_KEY_MAX. */
#define BC_KEY_INTERNAL_MAX (BC_KEY_MAX + 128)

/* PREFIX:#lease:KEY, the fill lease of entry key KEY[0..LEN) (copied as it
 * is: an entry key holds no separator a lease name would need encoded). */
int bc_key_lease(const bc_config *cfg, const char *key, size_t len, char *out,
                 size_t outlen);

/* The entry key inside lease name NAME[0..LEN) (the inverse of
 * bc_key_lease): a pointer into NAME with its length in *ENTRY_LEN, or
 * NULL when NAME is not a lease name under CFG's prefix. Pure. */
const char *bc_key_lease_entry(const bc_config *cfg, const char *name,
                               size_t len, size_t *entry_len);

/* PREFIX:#leasez, the sorted set registering the leases of fills in
 * flight and pass markers. */
int bc_key_lease_set(const bc_config *cfg, char *out, size_t outlen);

/* PREFIX:#fill:TOKEN, where the fill of entry key KEY[0..LEN) holding
 * lease token TOKEN stages its value (TOKEN encoded as a segment). KEY is
 * not part of the name today; SPEC 10's names carry it as a hash tag
 * (PREFIX:#fill:{KEY}:TOKEN), so callers pass it already. */
int bc_key_fill(const bc_config *cfg, const char *key, size_t len,
                const char *token, char *out, size_t outlen);

/* PREFIX:#tagz:TAG, the index of the entries carrying surrogate tag
 * TAG[0..LEN) (encoded as a segment). */
int bc_key_tag_index(const bc_config *cfg, const char *tag, size_t len,
                     char *out, size_t outlen);

/* PREFIX:#pathz:PATH, the index of the entries whose PATH segment is
 * ENCODED_PATH[0..LEN) (as keys hold it, so it fits wherever its key
 * does). */
int bc_key_path_index(const bc_config *cfg, const char *encoded_path,
                      size_t len, char *out, size_t outlen);

/* PREFIX:#id:ID, the claim of invalidation message id ID (encoded). */
int bc_key_message_id(const bc_config *cfg, const char *id, char *out,
                      size_t outlen);

/* PREFIX:#stats, the hash of the fleet's counters. */
int bc_key_stats(const bc_config *cfg, char *out, size_t outlen);

/* The older versions' SETs: PREFIX:#leases, PREFIX:#tag:TAG and
 * PREFIX:#path:PATH (ENCODED_PATH encoded once more). Read, never
 * written. */
int bc_key_legacy_lease_set(const bc_config *cfg, char *out, size_t outlen);
int bc_key_legacy_tag_index(const bc_config *cfg, const char *tag, size_t len,
                            char *out, size_t outlen);
int bc_key_legacy_path_index(const bc_config *cfg, const char *encoded_path,
                             size_t len, char *out, size_t outlen);

/* PREFIX:*, the SCAN pattern of every key under the prefix (entries and
 * own keys alike: callers filter with bc_key_is_entry). */
int bc_key_all_pattern(const bc_config *cfg, char *out, size_t outlen);

/* Nonzero when KEY[0..LEN) is one of bocache's own keys under CFG's
 * prefix (PREFIX:#...). Pure. */
int bc_key_is_internal(const bc_config *cfg, const char *key, size_t len);

#endif
