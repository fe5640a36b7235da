/* fuzz_response.c: fuzzes the CGI response head parser. A parsed head
 * must lie inside the buffer, end in its blank line, and hold only names
 * and values free of CR, LF and NUL, so that no stored or replayed header
 * line can split a response. A prefix of a complete head is never complete
 * itself, and bc_response_find_line over the stored lines agrees with
 * bc_response_find. */
#include <string.h>

#include "fuzz.h"
#include "response.h"

static int inside(const char *p, size_t n, const char *buf, size_t len)
{
    return p >= buf && n <= len && (size_t)(p - buf) <= len - n;
}

static int clean(const char *p, size_t n)
{
    return memchr(p, '\r', n) == NULL && memchr(p, '\n', n) == NULL &&
           memchr(p, '\0', n) == NULL;
}

static void check_head(const char *buf, size_t len, const bc_response_head *h)
{
    const char *prev_end = buf;

    FUZZ_CHECK(h->head_len > 0 && h->head_len <= len);
    FUZZ_CHECK(h->head_len <= BC_RESPONSE_MAX_HEAD);
    FUZZ_CHECK(buf[h->head_len - 1] == '\n');
    FUZZ_CHECK(h->nheaders <= BC_RESPONSE_MAX_HEADERS);
    FUZZ_CHECK(h->status >= 100 && h->status <= 599);
    for (size_t i = 0; i < h->nheaders; i++) {
        const bc_header *x = &h->headers[i];

        /* Each line lies within the head, in order, and ends in LF. */
        FUZZ_CHECK(inside(x->line, x->line_len, buf, h->head_len));
        FUZZ_CHECK(x->line == prev_end);
        FUZZ_CHECK(x->line_len > 0 && x->line[x->line_len - 1] == '\n');
        prev_end = x->line + x->line_len;
        /* Name and value lie within their line, before its ending. */
        FUZZ_CHECK(x->name == x->line && x->name_len > 0);
        FUZZ_CHECK(inside(x->name, x->name_len, x->line, x->line_len - 1));
        FUZZ_CHECK(inside(x->value, x->value_len, x->line, x->line_len - 1));
        FUZZ_CHECK(x->value >= x->name + x->name_len + 1);
        FUZZ_CHECK(clean(x->name, x->name_len));
        FUZZ_CHECK(memchr(x->name, ':', x->name_len) == NULL);
        FUZZ_CHECK(memchr(x->name, ' ', x->name_len) == NULL);
        FUZZ_CHECK(clean(x->value, x->value_len));
        /* The whole line, ending excluded, is free of CR and NUL: this is
         * what the gateway stores and replays byte for byte. */
        size_t body = x->line_len - 1;
        if (body > 0 && x->line[body - 1] == '\r')
            body--;
        FUZZ_CHECK(clean(x->line, body));
        if (x->value_len > 0) {
            FUZZ_CHECK(x->value[0] != ' ' && x->value[0] != '\t');
            FUZZ_CHECK(x->value[x->value_len - 1] != ' ' &&
                       x->value[x->value_len - 1] != '\t');
        }
        FUZZ_CHECK(bc_header_is(x, "") == 0);
    }
    /* After the last header line comes the blank line and nothing else. */
    size_t rest = h->head_len - (size_t)(prev_end - buf);
    FUZZ_CHECK(rest == 1 || (rest == 2 && prev_end[0] == '\r'));

    /* The stored form (header lines without the blank line) finds the same
     * first value for the first header's name as the parsed head does. */
    if (h->nheaders > 0) {
        char name[256];
        const bc_header *x = &h->headers[0];
        const char *v;
        size_t vlen;

        if (x->name_len < sizeof name) {
            memcpy(name, x->name, x->name_len);
            name[x->name_len] = '\0';
            const bc_header *f = bc_response_find(h, name);
            FUZZ_CHECK(f == x);
            FUZZ_CHECK(bc_response_find_line(buf, (size_t)(prev_end - buf),
                                             name, &v, &vlen) == 1);
            FUZZ_CHECK(v == f->value && vlen == f->value_len);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_response_head *h = malloc(sizeof *h);
    char *buf = malloc(size ? size : 1);
    int rc;

    FUZZ_CHECK(h != NULL && buf != NULL);
    if (size > 0)
        memcpy(buf, data, size);
    rc = bc_response_parse_head(buf, size, h);
    FUZZ_CHECK(rc >= -1 && rc <= 1);
    if (rc == 1) {
        check_head(buf, size, h);
        /* Every proper prefix of the head is incomplete, never an error or
         * a different head. */
        size_t head_len = h->head_len;
        size_t cut = (size_t)data[0] % head_len;
        FUZZ_CHECK(bc_response_parse_head(buf, cut, h) == 0);
        FUZZ_CHECK(bc_response_parse_head(buf, head_len, h) == 1);
        FUZZ_CHECK(h->head_len == head_len);
    } else if (rc == 0) {
        /* Incomplete only below the size limit. */
        FUZZ_CHECK(size < BC_RESPONSE_MAX_HEAD);
    }
    /* bc_response_find_line reads within any buffer. */
    {
        const char *v;
        size_t vlen;
        if (bc_response_find_line(buf, size, "cache-control", &v, &vlen))
            FUZZ_CHECK(inside(v, vlen, buf, size));
    }
    free(buf);
    free(h);
    return 0;
}
