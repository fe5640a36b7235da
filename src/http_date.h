/* http_date.h: parsing of HTTP-date values (RFC 9110 section 5.6.7), as
 * Expires, Date and Last-Modified carry them. No I/O. */
#ifndef BOCACHE_HTTP_DATE_H
#define BOCACHE_HTTP_DATE_H

#include <stddef.h>
#include <stdint.h>

/* Parses V[0..LEN) (surrounding whitespace already trimmed) as one of the
 * three HTTP-date forms, exactly as RFC 9110 writes them:
 *   IMF-fixdate  "Sun, 06 Nov 1994 08:49:37 GMT"
 *   RFC 850      "Sunday, 06-Nov-94 08:49:37 GMT"
 *   asctime      "Sun Nov  6 08:49:37 1994"
 * Names are case-sensitive; separators are single spaces; the zone is
 * "GMT" (none in asctime); the day must exist in its month (leap years
 * counted); seconds 00-60. A two-digit RFC 850 year that would lie more
 * than 50 years after NOW (unix seconds) is the most recent such year in
 * the past. The weekday must be a weekday name but is not checked against
 * the date. Returns 0 with *OUT set to unix seconds (64-bit: years past
 * 2038 and before 1970 work), or -1 for anything else (a two-digit year
 * in IMF-fixdate, another zone, extra spaces, junk): the caller treats
 * such an Expires as already expired (RFC 9111 section 5.3). */
int bc_http_date_parse(const char *v, size_t len, int64_t now, int64_t *out);

#endif
