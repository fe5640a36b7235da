/* refresh.c: a stored response head updated by a newer answer's header
 * fields (RFC 9111 3.2, 4.3.4, 4.3.5). */
#include "refresh.h"

#include <string.h>
#include <strings.h>

/* One line of a stored head: [p, next) with the name [p, p + name_len);
 * name_len is 0 for a line without ':'. */
typedef struct line {
    const char *p, *next;
    size_t name_len;
} line;

/* Reads the line at P (before END) into *L. */
static void read_line(const char *p, const char *end, line *l)
{
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    l->p = p;
    l->next = eol ? eol + 1 : end;
    const char *colon = memchr(p, ':', (size_t)(l->next - p));
    l->name_len = colon ? (size_t)(colon - p) : 0;
}

static int name_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && strncasecmp(a, b, alen) == 0;
}

static int listed(const char *name, size_t len, const char *const *names)
{
    for (; names && *names; names++)
        if (name_eq(name, len, *names, strlen(*names)))
            return 1;
    return 0;
}

/* Whether FRESH's field NAME[0..LEN) replaces the stored ones. */
static int taken(const bc_response_head *fresh, const char *name, size_t len,
                 const char *const *skip)
{
    static const char *const never[] = {"Status", "Content-Length", NULL};
    if (len == 0 || listed(name, len, never) || listed(name, len, skip))
        return 0;
    for (size_t i = 0; i < fresh->nheaders; i++)
        if (name_eq(fresh->headers[i].name, fresh->headers[i].name_len, name,
                    len))
            return 1;
    return 0;
}

/* Whether the stored head has a line named NAME[0..LEN). */
static int stored_has(const char *stored, size_t slen, const char *name,
                      size_t len)
{
    line l;
    for (const char *p = stored, *end = stored + slen; p < end; p = l.next) {
        read_line(p, end, &l);
        if (l.name_len && name_eq(p, l.name_len, name, len))
            return 1;
    }
    return 0;
}

/* Appends N bytes of S to OUT at *AT; -1 when they do not fit. */
static int put(char *out, size_t cap, size_t *at, const char *s, size_t n)
{
    if (n > cap - *at)
        return -1;
    memcpy(out + *at, s, n);
    *at += n;
    return 0;
}

/* Appends header H as FRESH sent it, with CRLF when it had no ending. */
static int put_header(char *out, size_t cap, size_t *at, const bc_header *h)
{
    size_t n = h->line_len;
    int ended = n > 0 && h->line[n - 1] == '\n';
    if (put(out, cap, at, h->line, n) < 0)
        return -1;
    return ended ? 0 : put(out, cap, at, "\r\n", 2);
}

/* Appends every FRESH line named NAME[0..LEN), in FRESH's order. */
static int put_fresh(char *out, size_t cap, size_t *at,
                     const bc_response_head *fresh, const char *name,
                     size_t len)
{
    for (size_t i = 0; i < fresh->nheaders; i++) {
        const bc_header *h = &fresh->headers[i];
        if (name_eq(h->name, h->name_len, name, len) &&
            put_header(out, cap, at, h) < 0)
            return -1;
    }
    return 0;
}

/* Whether FRESH's header I is the first of its name in FRESH. */
static int first_of_name(const bc_response_head *fresh, size_t i)
{
    const bc_header *h = &fresh->headers[i];
    for (size_t j = 0; j < i; j++)
        if (name_eq(fresh->headers[j].name, fresh->headers[j].name_len, h->name,
                    h->name_len))
            return 0;
    return 1;
}

/* The stored lines, each replaced field written once at its first place. */
static int merge_stored(const char *stored, size_t slen,
                        const bc_response_head *fresh, const char *const *skip,
                        char *out, size_t cap, size_t *at)
{
    line l;
    for (const char *p = stored, *end = stored + slen; p < end; p = l.next) {
        read_line(p, end, &l);
        if (!taken(fresh, p, l.name_len, skip)) {
            size_t n = (size_t)(l.next - p);
            if (put(out, cap, at, p, n) < 0)
                return -1;
            /* A last line without an ending gets one if more follow. */
            if (l.next == end && n > 0 && p[n - 1] != '\n' &&
                put(out, cap, at, "\r\n", 2) < 0)
                return -1;
            continue;
        }
        if (stored_has(stored, (size_t)(p - stored), p, l.name_len))
            continue; /* written at its first place already */
        if (put_fresh(out, cap, at, fresh, p, l.name_len) < 0)
            return -1;
    }
    return 0;
}

long bc_refresh_merge(const char *stored, size_t slen,
                      const bc_response_head *fresh, const char *const *skip,
                      char *out, size_t cap)
{
    size_t at = 0;
    if (merge_stored(stored, slen, fresh, skip, out, cap, &at) < 0)
        return -1;
    for (size_t i = 0; i < fresh->nheaders; i++) {
        const bc_header *h = &fresh->headers[i];
        if (!first_of_name(fresh, i) ||
            !taken(fresh, h->name, h->name_len, skip) ||
            stored_has(stored, slen, h->name, h->name_len))
            continue;
        if (put_fresh(out, cap, &at, fresh, h->name, h->name_len) < 0)
            return -1;
    }
    return (long)at;
}
