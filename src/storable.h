/* storable.h: the verdict on a backend's response head: whether a shared
 * cache may store it, for how long, and if not, why (SPEC 4.2 and 6). Pure:
 * it reads the parsed head, the endpoint and what the request carried, so
 * Check and the fuzzer test it without a backend. */
#ifndef BOCACHE_STORABLE_H
#define BOCACHE_STORABLE_H

#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"
#include "cache_control.h"
#include "reason.h"
#include "response.h"

/* What the request carried that the verdict depends on (RFC 9111 3.5). */
enum { BC_REQ_AUTHORIZATION = 1u, BC_REQ_COOKIE = 2u };

typedef struct bc_verdict {
    /* NULL when the response may be stored; else the Cache-Status detail
     * token saying why not: "status", "set-cookie", "vary", "too-large",
     * "no-store", "private", "max-age-0", "authorization", "cookie" or
     * "malformed" (an invalid or contradictory Content-Length). Static
     * strings, bc_reason_token(why). */
    const char *reason;
    bc_reason why;       /* the same reason; BC_REASON_NONE when storable */
    long ttl;            /* freshness lifetime in seconds (RFC 9111 4.2.1,
                            capped by the endpoint ttl); > 0 when storable,
                            except for no-cache responses, which may be 0 */
    long age;            /* the response's age on arrival (4.2.3), < ttl */
    long stale_ttl;      /* seconds past ttl it may be served STALE while
                            another request refreshes it */
    long error_ttl;      /* ... and when the backend fails */
    unsigned flags;      /* BC_ENTRY_* (entry.h) */
    long revalidate_ttl; /* seconds past its windows it is kept to be
                            revalidated: the endpoint ttl when it has a
                            validator (ETag or Last-Modified), else 0 */
    int explicit_;       /* the response gave its lifetime (s-maxage,
                            max-age or Expires): a status RFC 9110 does not
                            call heuristically cacheable needs it */
    long content_length; /* the declared body length, -1 when none */
} bc_verdict;

/* Judges HEAD, the backend's answer to a request for endpoint EP of CFG
 * that carried REQUEST_FLAGS (BC_REQ_*), into *V. A response to a request
 * with Authorization or Cookie is storable only when EP's key reads that
 * header (bc_key_reads_header), the response says Cache-Control public or
 * s-maxage, or, for Cookie, EP sets ignore_cookies. The body's length is
 * the caller's to check against v->content_length once it has all come. */
void bc_storable_judge(const bc_config *cfg, const bc_endpoint *ep,
                       const bc_response_head *head, unsigned request_flags,
                       int64_t now, bc_verdict *v);

/* The freshness part of the verdict (SPEC 6), for a response HEAD judged
 * at NOW (unix seconds) for endpoint EP: the policy is the first
 * well-formed Bocache-Cache-Control (RFC 9213), else Cache-Control; the
 * lifetime is s-maxage, else max-age, else Expires - Date (only without
 * a targeted field; an invalid Expires is 0, Date absent or invalid is
 * NOW), else EP's ttl, never more than EP's ttl; the age is the larger of
 * the first Age line (bc_storable_age) and NOW - Date. Sets v->ttl, age,
 * stale_ttl, error_ttl and flags; returns BC_REASON_NONE, or
 * BC_REASON_EXPIRED when the response is already stale on arrival (and
 * not no-cache), BC_REASON_MAX_AGE_0 for a lifetime of 0 from max-age or
 * s-maxage. CC gets the policy directives. */
bc_reason bc_storable_freshness(const bc_endpoint *ep,
                                const bc_response_head *head, int64_t now,
                                bc_cache_control *cc, bc_verdict *v);

/* An Age value V[0..LEN): delta-seconds, saturated at 2147483648; -1 when
 * it is empty or holds anything but digits (ignored, RFC 9111 5.1). */
long bc_storable_age(const char *v, size_t len);

/* Seconds Redis keeps an entry judged V: its lifetime and the longest of
 * its stale windows and its revalidation time. At least 1, so even a
 * no-cache entry is kept. */
long bc_storable_keep(const bc_verdict *v);

/* Parses a Content-Length value V[0..LEN) (whitespace already trimmed):
 * one or more digits and nothing else. Returns the value, or -1 when it is
 * empty, holds anything but digits, or exceeds LONG_MAX. */
long bc_storable_content_length(const char *v, size_t len);

/* Nonzero when REASON (a verdict's reason) is one the response declared
 * itself, so the key's next fill will most likely be refused again; zero
 * for causes that may pass (an error status, the request's credentials,
 * a malformed answer). The reason table (bc_reason_declared) decides. */
int bc_storable_declared(const char *reason);

#endif
