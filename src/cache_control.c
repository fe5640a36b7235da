/* cache_control.c: parsing of Cache-Control response directives. */
#include "cache_control.h"

#include <stddef.h>
#include <string.h>

/* RFC 9111 section 1.2.2: a delta-seconds too large to represent counts as
 * 2^31, or the largest value at hand; 2^31 - 1 fits even a 32-bit long. */
#define DELTA_MAX 2147483647L

void bc_cache_control_init(bc_cache_control *cc)
{
    cc->no_store = 0;
    cc->private_ = 0;
    cc->no_cache = 0;
    cc->public_ = 0;
    cc->must_revalidate = 0;
    cc->malformed = 0;
    cc->directives = 0;
    cc->max_age = -1;
    cc->s_maxage = -1;
    cc->stale_while_revalidate = -1;
    cc->stale_if_error = -1;
}

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* RFC 9110 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        (c >= '0' && c <= '9'))
        return 1;
    return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Case-insensitive comparison of S[0..N) with the lower-case LIT. */
static int name_is(const char *s, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (lit[i] == '\0' || c != lit[i])
            return 0;
    }
    return lit[i] == '\0';
}

/* Delta-seconds from S[0..N) with any quoting already removed; -1 when it
 * is not all digits. Large values clamp instead of overflowing. */
static long parse_delta(const char *s, size_t n)
{
    long v = 0;

    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        if (v > (DELTA_MAX - (s[i] - '0')) / 10)
            v = DELTA_MAX;
        else
            v = v * 10 + (s[i] - '0');
    }
    return v;
}

/* Records a stale-while-revalidate or stale-if-error value (RFC 5861): a
 * repeated or invalid one widens nothing. */
static void set_window(long *slot, int *seen, int valid, const char *s,
                       size_t n)
{
    long v = valid ? parse_delta(s, n) : -1;
    *slot = *seen ? -1 : v;
    *seen = 1;
}

/* Records a max-age or s-maxage value. A second occurrence, in this header
 * or an earlier one, or an invalid value makes the response stale at once:
 * RFC 9111 section 4.2.1 allows that, and it is the safe reading. */
static void set_delta(long *slot, int valid, const char *s, size_t n)
{
    long v = valid ? parse_delta(s, n) : -1;

    if (*slot >= 0 || v < 0)
        *slot = 0;
    else
        *slot = v;
}

void bc_cache_control_parse(bc_cache_control *cc, const char *v, size_t len)
{
    size_t i = 0;
    int swr_seen = cc->stale_while_revalidate >= 0,
        sie_seen = cc->stale_if_error >= 0;

    while (i < len) {
        const char *name, *val = NULL;
        size_t name_len, val_len = 0;
        int ok = 1;

        /* Empty list elements and whitespace are allowed around commas. */
        while (i < len && (is_ows(v[i]) || v[i] == ','))
            i++;
        if (i == len)
            break;
        name = v + i;
        while (i < len && is_tchar((unsigned char)v[i]))
            i++;
        name_len = (size_t)(v + i - name);
        while (i < len && is_ows(v[i]))
            i++;
        if (i < len && v[i] == '=') {
            i++;
            while (i < len && is_ows(v[i]))
                i++;
            if (i < len && v[i] == '"') {
                /* Quoted string: the unescaped content is only needed for
                 * delta-seconds, where an escape makes it invalid anyway,
                 * so VAL points at the raw content. */
                val = v + ++i;
                while (i < len && v[i] != '"') {
                    if (v[i] == '\\') {
                        ok = 0;
                        if (++i == len)
                            break;
                    }
                    i++;
                }
                if (i == len)
                    ok = 0; /* unterminated */
                val_len = (size_t)(v + i - val);
                if (i < len)
                    i++;
            } else {
                val = v + i;
                while (i < len && is_tchar((unsigned char)v[i]))
                    i++;
                val_len = (size_t)(v + i - val);
            }
            while (i < len && is_ows(v[i]))
                i++;
        }
        /* Anything else before the next comma makes the element malformed;
         * skip it, not letting a quote hide the comma, and remember. */
        if (i < len && v[i] != ',') {
            ok = 0;
            while (i < len && v[i] != ',')
                i++;
        }
        if (name_len == 0 || !ok)
            cc->malformed = 1;
        else
            cc->directives++;
        if (name_len == 0)
            continue;

        /* no-store, private and no-cache count in any form, qualified or
         * malformed: storing too little is safe, too much is not. */
        if (name_is(name, name_len, "no-store"))
            cc->no_store = 1;
        else if (name_is(name, name_len, "private"))
            cc->private_ = 1;
        else if (name_is(name, name_len, "no-cache"))
            cc->no_cache = 1;
        else if (name_is(name, name_len, "must-revalidate") ||
                 name_is(name, name_len, "proxy-revalidate"))
            cc->must_revalidate = 1;
        else if (name_is(name, name_len, "stale-while-revalidate"))
            set_window(&cc->stale_while_revalidate, &swr_seen, ok && val, val,
                       val_len);
        else if (name_is(name, name_len, "stale-if-error"))
            set_window(&cc->stale_if_error, &sie_seen, ok && val, val, val_len);
        else if (name_is(name, name_len, "public")) {
            /* public lets a shared cache store what credentials would
             * keep private (RFC 9111 3.5): only a clean, bare one does. */
            if (ok && !val)
                cc->public_ = 1;
        } else if (name_is(name, name_len, "max-age"))
            set_delta(&cc->max_age, ok && val, val, val_len);
        else if (name_is(name, name_len, "s-maxage"))
            set_delta(&cc->s_maxage, ok && val, val, val_len);
    }
}

long bc_cache_control_ttl(const bc_cache_control *cc, long endpoint_ttl)
{
    long ttl = endpoint_ttl;

    /* no-cache does not count here: such an entry is stored and never
     * served without the backend (entry.h, BC_ENTRY_NO_CACHE). */
    if (ttl <= 0)
        return 0;
    /* A shared cache uses s-maxage in preference to max-age. */
    if (cc->s_maxage >= 0) {
        if (cc->s_maxage < ttl)
            ttl = cc->s_maxage;
    } else if (cc->max_age >= 0) {
        if (cc->max_age < ttl)
            ttl = cc->max_age;
    }
    return ttl;
}
