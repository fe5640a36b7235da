/* uri.c: the request path's normal form and percent-decoding (SPEC 4 and
 * 4.1): what a key may be built from. */
#include "uri.h"

#include <string.h>

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The byte a valid escape at P[0..3) stands for, or -1. */
static int escape_at(const char *p, const char *end)
{
    if (end - p < 3 || p[0] != '%')
        return -1;
    int hi = hex_value((unsigned char)p[1]),
        lo = hex_value((unsigned char)p[2]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

/* Nonzero when the segment S[0..LEN) decodes to "." or "..". */
static int dot_segment(const char *s, size_t len)
{
    size_t dots = 0;
    for (const char *p = s, *end = s + len; p < end; dots++) {
        if (*p == '.')
            p++;
        else if (escape_at(p, end) == '.')
            p += 3;
        else
            return 0;
    }
    return dots == 1 || dots == 2;
}

int bc_uri_path_normal(const char *path, size_t len)
{
    const char *end = path + len;
    if (len == 0 || path[0] != '/')
        return 0;
    for (const char *seg = path + 1;;) {
        const char *p = seg;
        while (p < end && *p != '/') {
            if (*p == ';' || *p == '\\' || *p == '\0')
                return 0;
            if (*p == '%') {
                int c = escape_at(p, end);
                if (c < 0 || c == '/' || c == '\\' || c == '\0')
                    return 0;
                p += 3;
            } else
                p++;
        }
        if (dot_segment(seg, (size_t)(p - seg)))
            return 0;
        /* Only the last segment may be empty: "/a/" is a path, "/a//b"
         * and "//" are not. */
        if (p == seg && p < end)
            return 0;
        if (p == end)
            return 1;
        seg = p + 1;
    }
}

int bc_uri_path_is_document(const char *path, size_t len, const char *doc)
{
    const char *end = path + len;
    for (const char *p = path; p < end; doc++) {
        int c = (unsigned char)*p;
        if (c == '%') {
            c = escape_at(p, end);
            if (c < 0)
                return 0;
            p += 3;
        } else
            p++;
        if (*doc == '\0' || (unsigned char)*doc != c)
            return 0;
    }
    return *doc == '\0';
}

size_t bc_uri_query_decode(const char *src, size_t len, char *out,
                           size_t outlen)
{
    size_t n = 0;
    const char *end = src + len;
    for (const char *p = src; p < end; n++) {
        if (n + 1 >= outlen)
            return (size_t)-1;
        int c = escape_at(p, end);
        if (c >= 0) {
            out[n] = (char)c;
            p += 3;
        } else {
            out[n] = *p == '+' ? ' ' : *p;
            p++;
        }
    }
    if (outlen == 0)
        return (size_t)-1;
    out[n] = '\0';
    return n;
}
