/* conditional.h: conditional GET/HEAD requests against a stored entry
 * (RFC 9110 sections 13.1.2, 13.1.3 and 13.2.2). No I/O. */
#ifndef BOCACHE_CONDITIONAL_H
#define BOCACHE_CONDITIONAL_H

#include <stddef.h>

/* Nonzero when a GET/HEAD with IF_NONE_MATCH and IF_MODIFIED_SINCE (either
 * may be NULL; NUL-terminated request header values) should get 304 for a
 * response carrying ETAG[0..ETAG_LEN) and LAST_MODIFIED[0..LM_LEN) (each
 * may be NULL).
 *
 * If-None-Match uses weak comparison ("W/" ignored on both sides), accepts
 * a list of entity-tags and "*" (which matches any stored response, with or
 * without an ETag); a stored ETag that is not a valid entity-tag matches
 * only "*". When If-None-Match is present, If-Modified-Since is ignored.
 *
 * If-Modified-Since is an HTTP-date (IMF-fixdate, RFC 850 or asctime
 * form): 304 when Last-Modified is a valid date no later than it. An
 * invalid date on either side means no 304. RFC 850's two-digit years are
 * read as 1970..2069 (a fixed window, so the answer does not depend on the
 * clock). */
int bc_conditional_not_modified(const char *etag, size_t etag_len,
                                const char *last_modified, size_t lm_len,
                                const char *if_none_match,
                                const char *if_modified_since);

/* Nonzero for the header names a 304 carries from the stored response
 * (RFC 9110 section 15.4.5): Cache-Control, Content-Location, Date, ETag,
 * Expires, Last-Modified, Vary; NAME[0..LEN), case-insensitive. */
int bc_conditional_keep_header(const char *name, size_t len);

/* Parses the HTTP-date S[0..LEN) (surrounding whitespace allowed) into
 * seconds since the epoch in *OUT. Returns 0, or -1 when S is not an
 * IMF-fixdate, RFC 850 date or asctime date. Month and day names are
 * matched without the locale. */
int bc_conditional_parse_date(const char *s, size_t len, long long *out);

#endif
