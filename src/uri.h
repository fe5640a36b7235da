/* uri.h: the request path's normal form and percent-decoding (SPEC 4 and
 * 4.1). Pure functions over bytes, used by the key builder. */
#ifndef BOCACHE_URI_H
#define BOCACHE_URI_H

#include <stddef.h>

/* Nonzero when PATH[0..LEN) is in normal form (SPEC 4.1): it starts with
 * '/', has no "." or ".." segment (also percent-encoded), no empty segment
 * ("//"), no ';' or '\', no percent-encoded '/', '\' or NUL, and no '%'
 * that does not start a two-digit hex escape. Such a path means the same
 * resource to every server that decodes it, so the endpoint bocache
 * matches is the one the backend routes to. */
int bc_uri_path_normal(const char *path, size_t len);

/* Nonzero when DOC (DOCUMENT_URI, NUL-terminated) is PATH[0..LEN) with
 * its percent escapes decoded, i.e. the web server neither rewrote nor
 * normalised the path it passes on. PATH must be in normal form. */
int bc_uri_path_is_document(const char *path, size_t len, const char *doc);

/* Percent-decodes a query parameter value SRC[0..LEN) into OUT ('+' is a
 * space, an invalid escape stays as it is). Returns the decoded length,
 * or (size_t)-1 when OUTLEN cannot hold it and its NUL. */
size_t bc_uri_query_decode(const char *src, size_t len, char *out,
                           size_t outlen);

#endif
