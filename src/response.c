/* response.c: parser for the CGI response head a FastCGI responder sends. */
#include "response.h"

#include <string.h>
#include <strings.h>

/* RFC 9110 section 5.6.2 tchar, as a table: this runs on every header byte
 * of every backend response. */
/* clang-format off */
static const unsigned char tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1,
    ['*'] = 1, ['+'] = 1, ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1,
    ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};
/* clang-format on */

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of S[0..N) with the NUL-terminated NAME,
 * independent of the locale. */
static int equal_ci(const char *s, size_t n, const char *name)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (name[i] == '\0' ||
            lower((unsigned char)s[i]) != lower((unsigned char)name[i]))
            return 0;
    return name[i] == '\0';
}

/* The status in a Status value: three digits 100..599, then the end or
 * whitespace and a reason phrase; -1 for anything else. */
static int parse_status(const char *v, size_t n)
{
    int s;

    if (n < 3 || v[0] < '1' || v[0] > '5' || v[1] < '0' || v[1] > '9' ||
        v[2] < '0' || v[2] > '9')
        return -1;
    if (n > 3 && !is_ows(v[3]))
        return -1;
    s = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return s;
}

/* Splits and checks one line LINE[0..LEN), LEN excluding its ending. */
static int parse_line(const char *line, size_t len, bc_header *h)
{
    const char *colon, *end = line + len, *v;

    /* memchr is fast on the long values; NUL and CR are rare enough that
     * a second pass over the line costs little. */
    if (memchr(line, '\0', len) != NULL || memchr(line, '\r', len) != NULL)
        return -1;
    colon = memchr(line, ':', len);
    if (colon == NULL || colon == line)
        return -1;
    /* A leading space or tab (an obs-fold continuation) is not a tchar, so
     * this rejects it too. */
    for (const char *p = line; p < colon; p++)
        if (!tchar[(unsigned char)*p])
            return -1;
    v = colon + 1;
    while (v < end && is_ows(*v))
        v++;
    while (end > v && is_ows(end[-1]))
        end--;
    h->name = line;
    h->name_len = (size_t)(colon - line);
    h->value = v;
    h->value_len = (size_t)(end - v);
    return 0;
}

int bc_response_parse_head(const char *buf, size_t len, bc_response_head *out)
{
    size_t limit = len < BC_RESPONSE_MAX_HEAD ? len : BC_RESPONSE_MAX_HEAD;
    size_t pos = 0;
    int status = -1, location = 0;

    out->status = 0;
    out->head_len = 0;
    out->nheaders = 0;
    for (;;) {
        const char *line = NULL, *lf = NULL;
        size_t content;
        bc_header *h;

        if (pos < limit) {
            line = buf + pos;
            lf = memchr(line, '\n', limit - pos);
        }
        if (lf == NULL)
            /* Lines already complete were checked, so a malformed head is
             * reported as soon as its bad line is in; otherwise wait, up
             * to the size limit. */
            return len >= BC_RESPONSE_MAX_HEAD ? -1 : 0;
        content = (size_t)(lf - line);
        if (content > 0 && line[content - 1] == '\r')
            content--;
        pos = (size_t)(lf - buf) + 1;
        if (content == 0)
            break;
        if (out->nheaders == BC_RESPONSE_MAX_HEADERS)
            return -1;
        h = &out->headers[out->nheaders];
        if (parse_line(line, content, h) < 0)
            return -1;
        h->line = line;
        h->line_len = (size_t)(lf + 1 - line);
        out->nheaders++;
        if (equal_ci(h->name, h->name_len, "status")) {
            /* Two Status lines leave the status ambiguous. */
            if (status >= 0)
                return -1;
            status = parse_status(h->value, h->value_len);
            if (status < 0)
                return -1;
        } else if (equal_ci(h->name, h->name_len, "location")) {
            location = 1;
        }
    }
    if (status < 0)
        status = location ? 302 : 200;
    out->status = status;
    out->head_len = pos;
    return 1;
}

int bc_header_is(const bc_header *h, const char *name)
{
    return equal_ci(h->name, h->name_len, name);
}

const bc_header *bc_response_find(const bc_response_head *head,
                                  const char *name)
{
    for (size_t i = 0; i < head->nheaders; i++)
        if (bc_header_is(&head->headers[i], name))
            return &head->headers[i];
    return NULL;
}

int bc_response_find_line(const char *head, size_t len, const char *name,
                          const char **value, size_t *value_len)
{
    const char *p = head, *end = head + len;

    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        const char *le = eol != NULL ? eol : end, *colon, *v, *ve;

        if (le > p && le[-1] == '\r')
            le--;
        colon = memchr(p, ':', (size_t)(le - p));
        if (colon != NULL && equal_ci(p, (size_t)(colon - p), name)) {
            v = colon + 1;
            ve = le;
            while (v < ve && is_ows(*v))
                v++;
            while (ve > v && is_ows(ve[-1]))
                ve--;
            *value = v;
            *value_len = (size_t)(ve - v);
            return 1;
        }
        if (eol == NULL)
            break;
        p = eol + 1;
    }
    return 0;
}

/* Nonzero when HOST[0..LEN) names AUTHORITY (case-insensitive). */
static int same_host(const char *a, size_t alen, const char *host)
{
    return host != NULL && strlen(host) == alen &&
           strncasecmp(a, host, alen) == 0;
}

int bc_response_location_path(const char *v, size_t len, const char *host,
                              const char **path, size_t *path_len)
{
    const char *end = v + len, *p = v;
    if (len >= 2 && v[0] == '/' && v[1] == '/')
        return 0; /* network-path reference: another authority */
    if (len > 0 && v[0] != '/') {
        /* Absolute form: http(s)://AUTHORITY/PATH, same-origin only. */
        size_t scheme = 0;
        if (len > 7 && strncasecmp(v, "http://", 7) == 0)
            scheme = 7;
        else if (len > 8 && strncasecmp(v, "https://", 8) == 0)
            scheme = 8;
        if (scheme == 0)
            return 0; /* relative to the request path, or another scheme */
        const char *auth = v + scheme;
        const char *slash = memchr(auth, '/', (size_t)(end - auth));
        if (slash == NULL)
            slash = end;
        if (!same_host(auth, (size_t)(slash - auth), host))
            return 0;
        p = slash;
    }
    const char *q = p;
    while (q < end && *q != '?' && *q != '#')
        q++;
    if (q == p)
        return 0;
    *path = p;
    *path_len = (size_t)(q - p);
    return 1;
}
