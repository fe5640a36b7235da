/* reason.h: why a request was not looked up or its response not stored,
 * in one table: each reason's Cache-Status detail token, the counter it is
 * counted under and whether the response itself declared it (SPEC 4.1, 6
 * and 8). Pure: no state, no I/O. */
#ifndef BOCACHE_REASON_H
#define BOCACHE_REASON_H

#include "key.h"
#include "stats.h"

typedef enum bc_reason {
    BC_REASON_NONE = 0, /* nothing to say: stored, or the reason is unknown */
    /* The request: no lookup was made (X-Cache: BYPASS). */
    BC_REASON_NO_ENDPOINT,
    BC_REASON_METHOD,
    BC_REASON_NO_IDENTITY,
    BC_REASON_KEY_TOO_LONG,
    BC_REASON_DUPLICATE_HEADER,
    BC_REASON_PATH,
    BC_REASON_REDIS_UNAVAILABLE,
    /* The lookup: forwarded as a miss that does not fill. */
    BC_REASON_HEAD,
    BC_REASON_PASS,
    BC_REASON_LOCK_TIMEOUT,
    /* The response: the fill was not stored. */
    BC_REASON_STATUS,
    BC_REASON_SET_COOKIE,
    BC_REASON_VARY,
    BC_REASON_TOO_LARGE,
    BC_REASON_NO_STORE,
    BC_REASON_PRIVATE,
    BC_REASON_MAX_AGE_0,
    BC_REASON_EXPIRED, /* stale on arrival: Expires, Age (RFC 9111 4.2) */
    BC_REASON_TOO_MANY_TAGS,
    BC_REASON_AUTHORIZATION,
    BC_REASON_COOKIE,
    BC_REASON_MALFORMED,
    BC_REASON_LEASE_LOST,
    BC_REASON_COUNT
} bc_reason;

/* The Cache-Status detail token of R ("set-cookie", "no-identity", ...),
 * a static string; NULL for BC_REASON_NONE and out-of-range values. */
const char *bc_reason_token(bc_reason r);

/* The reason whose token is TOKEN, compared exactly; BC_REASON_NONE for
 * NULL and for tokens not in the table. */
bc_reason bc_reason_find(const char *token);

/* The counter R is counted under: a bypass_* counter for the reasons a
 * request is not looked up, a store_skip_* one for the others
 * (store_skip_other for BC_REASON_NONE). */
bc_stat bc_reason_stat(bc_reason r);

/* Nonzero when R's counter is a bypass_* one: R says why no lookup was
 * made, not why a response was not stored. */
int bc_reason_is_bypass(bc_reason r);

/* The counter of a request forwarded without a lookup for R: R's own when
 * it is a bypass reason, else bypass_no_endpoint. */
bc_stat bc_reason_bypass_stat(bc_reason r);

/* The counter of a miss not stored for R: R's own unless it is a bypass
 * reason, then store_skip_other. */
bc_stat bc_reason_skip_stat(bc_reason r);

/* Nonzero when the response itself declared R (Set-Cookie, Vary, no-store,
 * ...), so the key's next fill will most likely be refused again; zero
 * for causes that may pass (an error status, the request's credentials, a
 * malformed answer, a lookup that did not fill). */
int bc_reason_declared(bc_reason r);

/* The reason a key status STATUS gives for a bypass; BC_REASON_NONE for
 * BC_KEY_OK. Its token is bc_key_status_token's. */
bc_reason bc_reason_for_key(bc_key_status status);

#endif
