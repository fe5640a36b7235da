/* conditional.c: If-None-Match / If-Modified-Since against stored entries. */
#include "conditional.h"

#include <string.h>
#include <time.h>

static int is_ows(char c)
{
    return c == ' ' || c == '\t';
}

static char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* ASCII case-insensitive equality of S[0..N) with the NUL-terminated LIT,
 * whatever the locale. */
static int equal_ci(const char *s, size_t n, const char *lit)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (lit[i] == '\0' || lower(s[i]) != lower(lit[i]))
            return 0;
    return lit[i] == '\0';
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_ows(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_ows((*s)[*n - 1]))
        (*n)--;
}

/* RFC 9110 etagc: '!', '#'..'~', obs-text. */
static int is_etagc(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x7e) || c >= 0x80;
}

/* Parses the entity-tag at S[*I..N): [W/] DQUOTE *etagc DQUOTE. Returns 0
 * with the opaque tag (quotes included) in *TAG / *TAG_LEN and *I past it,
 * or -1. */
static int parse_etag(const char *s, size_t n, size_t *i, const char **tag,
                      size_t *tag_len)
{
    size_t p = *i, b;

    if (n - p >= 2 && s[p] == 'W' && s[p + 1] == '/')
        p += 2;
    if (p >= n || s[p] != '"')
        return -1;
    b = p++;
    while (p < n && is_etagc((unsigned char)s[p]))
        p++;
    if (p >= n || s[p] != '"')
        return -1;
    p++;
    *tag = s + b;
    *tag_len = p - b;
    *i = p;
    return 0;
}

/* Weak comparison of the stored ETAG with each member of the list INM. */
static int none_match(const char *etag, size_t etag_len, const char *inm)
{
    size_t n = strlen(inm), i = 0, own_len, tag_len;
    const char *own, *tag;

    trim(&inm, &n);
    if (n == 1 && inm[0] == '*')
        return 1;
    if (etag == NULL)
        return 0;
    trim(&etag, &etag_len);
    if (parse_etag(etag, etag_len, &i, &own, &own_len) < 0 || i != etag_len)
        return 0;
    i = 0;
    for (;;) {
        /* #rule lists allow empty members: skip OWS and commas. */
        while (i < n && (is_ows(inm[i]) || inm[i] == ','))
            i++;
        if (i >= n)
            return 0;
        if (parse_etag(inm, n, &i, &tag, &tag_len) < 0)
            return 0; /* a malformed list: no match from here on */
        if (tag_len == own_len && memcmp(tag, own, own_len) == 0)
            return 1;
        while (i < n && is_ows(inm[i]))
            i++;
        if (i < n && inm[i] != ',')
            return 0;
    }
}

/* A cursor over a date being parsed. */
typedef struct cursor {
    const char *s;
    size_t n, i;
} cursor;

static int lit(cursor *c, const char *l)
{
    size_t k = strlen(l);

    if (c->n - c->i < k || memcmp(c->s + c->i, l, k) != 0)
        return -1;
    c->i += k;
    return 0;
}

/* Exactly K digits as a number, or -1. */
static int digits(cursor *c, size_t k)
{
    int v = 0;

    if (c->n - c->i < k)
        return -1;
    for (size_t j = 0; j < k; j++) {
        char d = c->s[c->i + j];
        if (d < '0' || d > '9')
            return -1;
        v = v * 10 + (d - '0');
    }
    c->i += k;
    return v;
}

static const char *const months[12] = {"jan", "feb", "mar", "apr",
                                       "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"};
static const char *const days[7] = {"mon", "tue", "wed", "thu",
                                    "fri", "sat", "sun"};
static const char *const long_days[7] = {"monday",   "tuesday", "wednesday",
                                         "thursday", "friday",  "saturday",
                                         "sunday"};

/* The month name at the cursor (0..11), or -1. */
static int month(cursor *c)
{
    if (c->n - c->i < 3)
        return -1;
    for (int m = 0; m < 12; m++)
        if (equal_ci(c->s + c->i, 3, months[m])) {
            c->i += 3;
            return m;
        }
    return -1;
}

/* The index of the first of NAMES (7 entries) that the cursor starts with,
 * case-insensitive; -1 when none. What follows is left to the caller. */
static int day_name(cursor *c, const char *const *names)
{
    for (int d = 0; d < 7; d++) {
        size_t k = strlen(names[d]);
        if (c->n - c->i >= k && equal_ci(c->s + c->i, k, names[d])) {
            c->i += k;
            return d;
        }
    }
    return -1;
}

/* HH:MM:SS into TM. */
static int clock_time(cursor *c, struct tm *tm)
{
    tm->tm_hour = digits(c, 2);
    if (tm->tm_hour < 0 || tm->tm_hour > 23 || lit(c, ":") < 0)
        return -1;
    tm->tm_min = digits(c, 2);
    if (tm->tm_min < 0 || tm->tm_min > 59 || lit(c, ":") < 0)
        return -1;
    tm->tm_sec = digits(c, 2);
    /* 60: a leap second, which HTTP-date allows. */
    if (tm->tm_sec < 0 || tm->tm_sec > 60)
        return -1;
    return 0;
}

static int days_in_month(int year, int mon)
{
    static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return mon == 1 && leap ? 29 : dim[mon];
}

/* Sun, 06 Nov 1994 08:49:37 GMT (after the day name). */
static int imf_fixdate(cursor *c, struct tm *tm, int *year)
{
    if (lit(c, ", ") < 0 || (tm->tm_mday = digits(c, 2)) < 0 ||
        lit(c, " ") < 0 || (tm->tm_mon = month(c)) < 0 || lit(c, " ") < 0 ||
        (*year = digits(c, 4)) < 0 || lit(c, " ") < 0 ||
        clock_time(c, tm) < 0 || lit(c, " GMT") < 0)
        return -1;
    return 0;
}

/* Sunday, 06-Nov-94 08:49:37 GMT (after the day name). */
static int rfc850_date(cursor *c, struct tm *tm, int *year)
{
    if (lit(c, ", ") < 0 || (tm->tm_mday = digits(c, 2)) < 0 ||
        lit(c, "-") < 0 || (tm->tm_mon = month(c)) < 0 || lit(c, "-") < 0 ||
        (*year = digits(c, 2)) < 0 || lit(c, " ") < 0 ||
        clock_time(c, tm) < 0 || lit(c, " GMT") < 0)
        return -1;
    *year += *year < 70 ? 2000 : 1900;
    return 0;
}

/* Sun Nov  6 08:49:37 1994 (after the day name). */
static int asctime_date(cursor *c, struct tm *tm, int *year)
{
    if (lit(c, " ") < 0 || (tm->tm_mon = month(c)) < 0 || lit(c, " ") < 0)
        return -1;
    if (lit(c, " ") == 0)
        tm->tm_mday = digits(c, 1);
    else
        tm->tm_mday = digits(c, 2);
    if (tm->tm_mday < 0 || lit(c, " ") < 0 || clock_time(c, tm) < 0 ||
        lit(c, " ") < 0 || (*year = digits(c, 4)) < 0)
        return -1;
    return 0;
}

int bc_conditional_parse_date(const char *s, size_t len, long long *out)
{
    cursor c;
    struct tm tm;
    int year = 0, rc;
    time_t t;

    trim(&s, &len);
    c.s = s;
    c.n = len;
    c.i = 0;
    memset(&tm, 0, sizeof(tm));
    /* The long names first: "Sunday" would otherwise read as "Sun". */
    if (day_name(&c, long_days) >= 0)
        rc = rfc850_date(&c, &tm, &year);
    else if (day_name(&c, days) < 0)
        return -1;
    else if (c.i < c.n && c.s[c.i] == ',')
        rc = imf_fixdate(&c, &tm, &year);
    else
        rc = asctime_date(&c, &tm, &year);
    /* The weekday is not checked against the date: RFC 9110 lets a
     * recipient ignore it, and a wrong one says nothing about freshness. */
    if (rc < 0 || c.i != c.n || tm.tm_mday < 1 ||
        tm.tm_mday > days_in_month(year, tm.tm_mon))
        return -1;
    tm.tm_year = year - 1900;
    tm.tm_isdst = 0;
    t = timegm(&tm);
    if (t == (time_t)-1 &&
        !(year == 1969 && tm.tm_mon == 11 && tm.tm_mday == 31 &&
          tm.tm_hour == 23 && tm.tm_min == 59 && tm.tm_sec == 59))
        return -1;
    *out = (long long)t;
    return 0;
}

int bc_conditional_not_modified(const char *etag, size_t etag_len,
                                const char *last_modified, size_t lm_len,
                                const char *if_none_match,
                                const char *if_modified_since)
{
    long long lm, since;

    /* RFC 9110 13.2.2: If-None-Match takes precedence; with it present,
     * If-Modified-Since is not evaluated at all. */
    if (if_none_match != NULL)
        return none_match(etag, etag_len, if_none_match);
    if (if_modified_since == NULL || last_modified == NULL)
        return 0;
    if (bc_conditional_parse_date(if_modified_since, strlen(if_modified_since),
                                  &since) < 0 ||
        bc_conditional_parse_date(last_modified, lm_len, &lm) < 0)
        return 0;
    return lm <= since;
}

int bc_conditional_keep_header(const char *name, size_t len)
{
    static const char *const keep[] = {
        "cache-control", "content-location", "date", "etag",
        "expires",       "last-modified",    "vary",
    };

    for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
        if (equal_ci(name, len, keep[i]))
            return 1;
    return 0;
}
