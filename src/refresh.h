/* refresh.h: a stored response head updated by the header fields of a
 * newer answer for it: a 304 to a revalidation, or a 200 to HEAD whose
 * validators match (RFC 9111 sections 3.2, 4.3.4 and 4.3.5). No I/O. */
#ifndef BOCACHE_REFRESH_H
#define BOCACHE_REFRESH_H

#include <stddef.h>

#include "response.h"

/* Writes to OUT[0..CAP) the header lines of STORED[0..SLEN) (CGI header
 * lines as an entry keeps them, each ending in CRLF or LF, the last
 * possibly without one; no blank line) updated by FRESH's fields:
 *  - a field FRESH carries replaces every stored line of that name
 *    (case-insensitive), at the place of the first of them; FRESH's lines
 *    of that name are written there in their order, as FRESH sent them
 *    (its line, line ending included; a line without an ending gets
 *    CRLF);
 *  - FRESH's fields the stored head lacks are appended, in FRESH's order;
 *  - stored lines of other names stay as they were, in order;
 *  - never taken from FRESH, so the stored lines of these names stay:
 *    Status and Content-Length (the stored body is the one served), and
 *    every name in SKIP (a NULL-terminated list, may be NULL: the caller's
 *    own, such as its tags header, Age or Bocache-Cache-Control);
 *  - lines of STORED without ':' are kept as they are; a last stored
 *    line without an ending gets CRLF.
 * Returns the bytes written, or -1 when they do not fit in CAP (OUT's
 * content is then unspecified). OUT must not overlap STORED. */
long bc_refresh_merge(const char *stored, size_t slen,
                      const bc_response_head *fresh, const char *const *skip,
                      char *out, size_t cap);

#endif
