/* response.h: parser for the CGI response head a FastCGI responder sends
 * ("Status: 200 OK", header lines, blank line). No I/O. */
#ifndef BOCACHE_RESPONSE_H
#define BOCACHE_RESPONSE_H

#include <stddef.h>

#define BC_RESPONSE_MAX_HEADERS 100
#define BC_RESPONSE_MAX_HEAD 65536

typedef struct bc_header {
    const char *name; /* points into the parsed buffer, not NUL-terminated */
    size_t name_len;
    const char *value; /* leading and trailing whitespace trimmed */
    size_t value_len;
    const char *line; /* the whole line including its line ending */
    size_t line_len;
} bc_header;

typedef struct bc_response_head {
    int status; /* from Status:, else 302 when Location: is present, else 200 */
    size_t head_len; /* bytes of the head including the blank line */
    size_t nheaders;
    bc_header headers[BC_RESPONSE_MAX_HEADERS];
} bc_response_head;

/* Parses the head at the start of BUF[0..LEN). Lines end in CRLF or LF.
 * Returns 1 when a complete, valid head was parsed into OUT (pointers borrow
 * from BUF); 0 when more bytes are needed; -1 when the head is malformed: a
 * line without ':', an empty or invalid name, a NUL/CR/LF inside a line, a
 * bad Status value, more than BC_RESPONSE_MAX_HEADERS lines, or no blank line
 * within BC_RESPONSE_MAX_HEAD bytes. */
int bc_response_parse_head(const char *buf, size_t len, bc_response_head *out);

/* The first header named NAME (case-insensitive), or NULL. */
const bc_header *bc_response_find(const bc_response_head *head,
                                  const char *name);

/* Nonzero when header H is named NAME (case-insensitive). */
int bc_header_is(const bc_header *h, const char *name);

/* Finds the first header NAME (case-insensitive) in a stored head
 * HEAD[0..LEN): header lines each ending in CRLF or LF (the last may lack
 * its ending), no blank line. Returns 1 with *VALUE / *VALUE_LEN set to
 * its value, whitespace trimmed, pointing into HEAD; 0 when absent. Lines
 * without ':' are skipped. */
int bc_response_find_line(const char *head, size_t len, const char *name,
                          const char **value, size_t *value_len);

/* The path a Location or Content-Location value V[0..LEN) names on the
 * request's own origin, for RFC 9111 4.4 invalidation: an absolute-path
 * reference ("/a/b?q"), or an http(s) URI whose authority is HOST (the
 * request's Host, compared case-insensitively; NULL matches nothing).
 * Returns 1 with *PATH / *PATH_LEN set to the path without query or
 * fragment, pointing into V; 0 for other origins and relative
 * references, which are never invalidated. */
int bc_response_location_path(const char *v, size_t len, const char *host,
                              const char **path, size_t *path_len);

#endif
