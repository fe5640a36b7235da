/* client.h: libbocache, the C API for applications and bocache-ctl:
 * publish invalidations and compute cache keys.
 *
 *   bc_client *c = bc_client_new("/etc/bocache/bocache.conf", err, sizeof err);
 *   const char *tags[] = {"partner:42"};
 *   bc_client_invalidate_tags(c, tags, 1, NULL);
 *   bc_client_free(c);
 *
 * A client is not thread-safe: use one per thread. */
#ifndef BOCACHE_CLIENT_H
#define BOCACHE_CLIENT_H

#include <stddef.h>

#include "bocache/config.h"

typedef struct bc_client bc_client;

/* Creates a client from the gateway's configuration file (Redis address,
 * prefix, channel, identity headers, endpoints). Does not connect yet.
 * Returns NULL with "FILE:LINE: message" in ERR. */
bc_client *bc_client_new(const char *config_path, char *err, size_t errlen);

/* As bc_client_new with a loaded configuration, which the client takes
 * over (bc_client_free frees it). */
bc_client *bc_client_new_from_config(bc_config *cfg);

void bc_client_free(bc_client *c);

/* The configuration the client uses (borrowed). */
const bc_config *bc_client_config(const bc_client *c);

/* Why the last call failed, in words an operator can act on. */
const char *bc_client_error(const bc_client *c);

/* Each invalidation claims a fresh message id, removes the covered entries
 * from Redis synchronously, then publishes the message so every gateway
 * drops them from its in-memory tier too (SPEC 5). They return 0 and, when
 * REMOVED is not NULL, the number of entries removed; -1 on failure (see
 * bc_client_error). URIS may be NULL when NURIS is 0. */

/* Entries whose key matches the Redis glob PATTERN, and whose path starts
 * with one of URIS when given. Note that "*42*" also matches partners 142
 * and 420: prefer bc_client_invalidate_partner or tags. */
int bc_client_invalidate_pattern(bc_client *c, const char *pattern,
                                 const char *const *uris, size_t nuris,
                                 long *removed);

/* Exactly partner PARTNER_ID's entries (every origin), optionally only
 * those under URIS. */
int bc_client_invalidate_partner(bc_client *c, const char *partner_id,
                                 const char *const *uris, size_t nuris,
                                 long *removed);

/* Entries whose response carried one of TAGS in the tags header. */
int bc_client_invalidate_tags(bc_client *c, const char *const *tags,
                              size_t ntags, long *removed);

/* Every entry under the prefix (for test fixtures); never other keys. */
int bc_client_flush(bc_client *c, long *removed);

/* A request header for bc_client_key. */
typedef struct bc_client_header {
    const char *name;
    const char *value;
} bc_client_header;

/* Writes into OUT (OUTLEN bytes; 4096 is always enough) the key the
 * gateway would use for METHOD URI with HEADERS. Returns 0, or -1 when the
 * request would not be cached, with the reason in bc_client_error. */
int bc_client_key(bc_client *c, const char *method, const char *uri,
                  const bc_client_header *headers, size_t nheaders, char *out,
                  size_t outlen);

#endif
