/* http_date.c: strict parsing of the three HTTP-date forms. */
#include "http_date.h"

#include <string.h>

/* Calendar arithmetic on 64-bit days is exact far beyond any date a
 * two-digit year can name; a clock further off than this from 1970 has no
 * meaningful century, and refusing it keeps every product in range. */
#define NOW_BOUND ((int64_t)1000000000 * 86400 * 365)

static const char *const wkday[] = {"Mon", "Tue", "Wed", "Thu",
                                    "Fri", "Sat", "Sun"};
static const char *const weekday[] = {"Monday",   "Tuesday", "Wednesday",
                                      "Thursday", "Friday",  "Saturday",
                                      "Sunday"};
static const char *const month[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* A cursor over the value: every reader advances it or fails. */
typedef struct cur {
    const char *p, *end;
} cur;

/* A broken-down UTC time; mon is 1-12. */
typedef struct civil {
    int64_t year;
    int mon, day, hour, min, sec;
} civil;

static int lit(cur *c, const char *s)
{
    size_t n = strlen(s);

    if ((size_t)(c->end - c->p) < n || memcmp(c->p, s, n) != 0)
        return 0;
    c->p += n;
    return 1;
}

/* Exactly N digits into *V. */
static int digits(cur *c, int n, int *v)
{
    int x = 0;

    if (c->end - c->p < n)
        return 0;
    for (int i = 0; i < n; i++) {
        if (c->p[i] < '0' || c->p[i] > '9')
            return 0;
        x = x * 10 + (c->p[i] - '0');
    }
    c->p += n;
    *v = x;
    return 1;
}

/* One of NAMES[0..N), whole and case-sensitive: its index, or -1. No name
 * in a table is a prefix of another, so the first match is the only one. */
static int name(cur *c, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (lit(c, names[i]))
            return i;
    return -1;
}

/* "HH:MM:SS", seconds up to 60 for a leap second. */
static int clock_(cur *c, civil *t)
{
    return digits(c, 2, &t->hour) && lit(c, ":") && digits(c, 2, &t->min) &&
           lit(c, ":") && digits(c, 2, &t->sec) && t->hour <= 23 &&
           t->min <= 59 && t->sec <= 60;
}

static int leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in(int64_t y, int mon)
{
    static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    return mon == 2 && leap(y) ? 29 : d[mon - 1];
}

/* Floor division and its remainder, for days and years before the epoch
 * (B > 0). */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

static int64_t floor_mod(int64_t a, int64_t b)
{
    return a - floor_div(a, b) * b;
}

/* Days from 1970-01-01 to Y-M-D (M 1-12), proleptic Gregorian: Howard
 * Hinnant's days_from_civil, over 400-year eras. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * 146097 + doe - 719468;
}

/* The inverse, for NOW: the civil date and time of unix seconds T. */
static void civil_from_unix(int64_t t, civil *out)
{
    int64_t days = floor_div(t, 86400), secs = t - days * 86400;
    int64_t z = days + 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;

    out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
    out->year = yoe + era * 400 + (out->mon <= 2);
    out->hour = (int)(secs / 3600);
    out->min = (int)(secs / 60 % 60);
    out->sec = (int)(secs % 60);
}

/* Compares A and B as points in time, field by field (so a 29 February
 * needs no counterpart in the other year): <0, 0 or >0. */
static int civil_cmp(const civil *a, const civil *b)
{
    if (a->year != b->year)
        return a->year < b->year ? -1 : 1;
    int da[] = {a->mon, a->day, a->hour, a->min, a->sec};
    int db[] = {b->mon, b->day, b->hour, b->min, b->sec};
    for (int i = 0; i < 5; i++)
        if (da[i] != db[i])
            return da[i] < db[i] ? -1 : 1;
    return 0;
}

static int finish(const civil *t, int64_t *out)
{
    if (t->day < 1 || t->day > days_in(t->year, t->mon))
        return -1;
    *out = days_from_civil(t->year, t->mon, t->day) * 86400 + t->hour * 3600 +
           t->min * 60 + t->sec;
    return 0;
}

/* "Sun, 06 Nov 1994 08:49:37 GMT" */
static int imf(cur *c, int64_t *out)
{
    civil t;
    int y;

    if (name(c, wkday, 7) < 0 || !lit(c, ", ") || !digits(c, 2, &t.day) ||
        !lit(c, " ") || (t.mon = name(c, month, 12) + 1) == 0 || !lit(c, " ") ||
        !digits(c, 4, &y) || !lit(c, " ") || !clock_(c, &t) ||
        !lit(c, " GMT") || c->p != c->end)
        return -1;
    t.year = y;
    return finish(&t, out);
}

/* "Sunday, 06-Nov-94 08:49:37 GMT" */
static int rfc850(cur *c, int64_t now, int64_t *out)
{
    civil t, limit;
    int yy;

    if (name(c, weekday, 7) < 0 || !lit(c, ", ") || !digits(c, 2, &t.day) ||
        !lit(c, "-") || (t.mon = name(c, month, 12) + 1) == 0 || !lit(c, "-") ||
        !digits(c, 2, &yy) || !lit(c, " ") || !clock_(c, &t) ||
        !lit(c, " GMT") || c->p != c->end)
        return -1;
    if (now > NOW_BOUND || now < -NOW_BOUND)
        return -1;
    /* RFC 9110 5.6.7: a date that appears to be more than 50 years in the
     * future is in the most recent past year with the same last two
     * digits. So the year is the latest one ending in YY whose date is at
     * most 50 years after NOW, to the second. */
    civil_from_unix(now, &limit);
    limit.year += 50;
    t.year = limit.year - floor_mod(limit.year - yy, 100);
    if (civil_cmp(&t, &limit) > 0)
        t.year -= 100;
    return finish(&t, out);
}

/* "Sun Nov  6 08:49:37 1994" */
static int asctime_(cur *c, int64_t *out)
{
    civil t;
    int y;

    if (name(c, wkday, 7) < 0 || !lit(c, " ") ||
        (t.mon = name(c, month, 12) + 1) == 0 || !lit(c, " "))
        return -1;
    /* The day is two digits or a space and one digit. */
    if (lit(c, " ") ? !digits(c, 1, &t.day) : !digits(c, 2, &t.day))
        return -1;
    if (!lit(c, " ") || !clock_(c, &t) || !lit(c, " ") || !digits(c, 4, &y) ||
        c->p != c->end)
        return -1;
    t.year = y;
    return finish(&t, out);
}

int bc_http_date_parse(const char *v, size_t len, int64_t now, int64_t *out)
{
    cur c = {v, v + len};
    int64_t t;

    /* Each form fails at once where it differs from the others (after the
     * weekday name), so trying them in turn costs little. *OUT is only
     * written on success. */
    if (imf(&c, &t) == 0 || (c.p = v, rfc850(&c, now, &t) == 0) ||
        (c.p = v, asctime_(&c, &t) == 0)) {
        *out = t;
        return 0;
    }
    return -1;
}
