/* revalidate.h: revalidation with the backend, pure: the validators a kept
 * copy of an entry is revalidated with, whether a HEAD's 200 carries
 * them, and the entry that copy becomes when the backend says it is still
 * current (SPEC 6; RFC 9111 4.3). forward.c does the exchange. */
#ifndef BOCACHE_REVALIDATE_H
#define BOCACHE_REVALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "bocache/config.h"
#include "entry.h"
#include "response.h"
#include "storable.h"

/* An entry's validators, pointing into its head; NULL when absent. */
typedef struct bc_validators {
    const char *etag;
    size_t etag_len;
    const char *lm; /* Last-Modified */
    size_t lm_len;
} bc_validators;

/* Finds E's validators into *V; nonzero when it has one. */
int bc_revalidate_validators(const bc_entry *e, bc_validators *v);

/* Whether FRESH, a 200 to HEAD, describes the stored response whose
 * validators are V and whose body is BODY_LEN bytes (RFC 9111 4.3.5): its
 * ETag equals V's byte for byte (or, when V has no ETag, its
 * Last-Modified equals V's), and a Content-Length it carries is
 * BODY_LEN. */
int bc_revalidate_matches(const bc_validators *v, const bc_response_head *fresh,
                          size_t body_len);

/* Whether FRESH, the backend's 304 to a revalidation with V, is about
 * the stored response (RFC 9111 4.3.4): an ETag it carries names the
 * stored one (a strong ETag by strong comparison, a weak one by weak
 * comparison); else a Last-Modified it carries is the stored one byte for
 * byte; a 304 with neither answers the question it was asked and selects
 * the stored response too (RFC 9111 selects it only when the stored one
 * has no validator either; bocache asked with the stored validators).
 * Zero means the 304 names another representation: the copy is not what
 * the backend has, and must not be refreshed by it. */
int bc_revalidate_selects(const bc_validators *v,
                          const bc_response_head *fresh);

/* What a refresh made of a kept copy. */
typedef struct bc_refreshed {
    bc_verdict verdict; /* the updated head's, judged as a response of the
                           backend: why is BC_REASON_NONE when it may be
                           stored */
    bc_entry entry;     /* the updated entry, created NOW_MS; its head
                           points into the caller's buffer, tags and body
                           into the copy */
} bc_refreshed;

/* The room bc_revalidate_refresh needs in its buffer. */
#define BC_REVALIDATE_BUF (2 * BC_RESPONSE_MAX_HEAD + 2)

/* Updates copy E of an entry of endpoint EP by FRESH, the backend's 304
 * to a revalidation (or a 200 to HEAD that bc_revalidate_matches): the
 * stored lines take FRESH's fields (bc_refresh_merge; never its tags
 * header), the result is judged as the backend's answer to a request
 * that carried REQUEST_FLAGS (bc_storable_judge at NOW_MS, FRESH's Age
 * counting), and *OUT gets the verdict and the entry to serve and, when
 * the verdict allows, to store. The entry keeps E's status, tags and
 * body, and any Bocache-Cache-Control lines (BC_ENTRY_TARGETED); it
 * stores no Age. BUF holds BC_REVALIDATE_BUF bytes. Returns 0, or -1
 * when the updated head does not fit or does not parse (E then stands as
 * it was, unstored). */
int bc_revalidate_refresh(const bc_config *cfg, const bc_endpoint *ep,
                          const bc_entry *e, const bc_response_head *fresh,
                          unsigned request_flags, int64_t now_ms, char *buf,
                          bc_refreshed *out);

#endif
