/* fuzz_http_date.c: fuzzes HTTP-date parsing. The first byte picks NOW
 * (one of a few instants, or the next eight bytes as raw unix seconds);
 * the rest is the value. A value the parser accepts must read the same
 * twice, lie in the range its form allows, have no accepted proper
 * prefix, and be the canonical spelling of its instant: formatted again by
 * this file's own calendar code (not the module's) as IMF-fixdate and as
 * asctime, and as RFC 850 when it came in that form, it parses back to the
 * same instant, and the formatted text matches the input but for the
 * unchecked weekday and a leap second. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "http_date.h"

#define DAY 86400
/* 0000-01-01 and 10000-01-01 in unix seconds: the four-digit years. */
#define MIN_T (-62167219200LL)
#define END_T 253402300800LL

static const char *const wkday[] = {"Sun", "Mon", "Tue", "Wed",
                                    "Thu", "Fri", "Sat"};
static const char *const weekday[] = {"Sunday",    "Monday",   "Tuesday",
                                      "Wednesday", "Thursday", "Friday",
                                      "Saturday"};
static const char *const month[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int leap(long y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 0000-01-01 to Y-01-01, for 0 <= Y <= 10000: the leap years
 * before Y are those divisible by 4, less by 100, plus by 400. */
static int64_t days_before_year(long y)
{
    return 365LL * y + (y + 3) / 4 - (y + 99) / 100 + (y + 399) / 400;
}

typedef struct tm_ {
    long year;
    int mon, day, hour, min, sec, wday; /* mon 0-11, wday 0 = Sunday */
} tm_;

/* T (MIN_T <= T < END_T) broken down, by search rather than by formula. */
static void breakdown(int64_t t, tm_ *out)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int64_t s = t - MIN_T, days = s / DAY, rem = s % DAY;
    long lo = 0, hi = 10000;

    /* The largest year whose first day is at most DAYS. */
    while (lo < hi) {
        long mid = (lo + hi + 1) / 2;
        if (days_before_year(mid) <= days)
            lo = mid;
        else
            hi = mid - 1;
    }
    out->year = lo;
    days -= days_before_year(lo);
    out->mon = 0;
    for (;;) {
        int n = mdays[out->mon] + (out->mon == 1 && leap(lo));
        if (days < n)
            break;
        days -= n;
        out->mon++;
    }
    out->day = (int)days + 1;
    out->hour = (int)(rem / 3600);
    out->min = (int)(rem / 60 % 60);
    out->sec = (int)(rem % 60);
    /* 0000-01-01 was a Saturday (proleptic Gregorian). */
    out->wday = (int)((s / DAY + 6) % 7);
}

static int parse(const char *s, size_t n, int64_t now, int64_t *t)
{
    /* An exactly sized copy, so over-reads are caught. */
    char *copy = malloc(n ? n : 1);
    FUZZ_CHECK(copy != NULL);
    memcpy(copy, s, n);
    int rc = bc_http_date_parse(copy, n, now, t);
    free(copy);
    FUZZ_CHECK(rc == 0 || rc == -1);
    return rc;
}

/* The formatted text F[0..N) must parse to T, and when the input V[0..LEN)
 * is in the same form, equal it from just after the weekday (CUT bytes of
 * F, VCUT of V) unless the input says second 60. */
static void again(const char *f, int64_t now, int64_t t, const char *v,
                  size_t len, size_t cut, size_t vcut, int same_form)
{
    int64_t u = 0;
    size_t n = strlen(f);

    FUZZ_CHECK(parse(f, n, now, &u) == 0 && u == t);
    if (same_form && memmem(v, len, ":60", 3) == NULL)
        FUZZ_CHECK(len - vcut == n - cut &&
                   memcmp(v + vcut, f + cut, n - cut) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int64_t nows[] = {
        1700000000, 0, -2208988800, 4083955200, 253402300799, -62135596800};
    int64_t now, t = 0, t2 = 1;

    if (size < 1)
        return 0;
    unsigned pick = data[0] % 8;
    const char *v = (const char *)data + 1;
    size_t len = size - 1;
    if (pick < 6) {
        now = nows[pick];
    } else if (pick == 6 && len >= 8) {
        uint64_t raw = 0;
        for (int i = 0; i < 8; i++)
            raw = raw << 8 | data[1 + i];
        memcpy(&now, &raw, sizeof now);
        v += 8;
        len -= 8;
    } else {
        now = 1796248105; /* 2026-12-02 21:48:25 */
    }

    int rc = parse(v, len, now, &t);
    FUZZ_CHECK(parse(v, len, now, &t2) == rc);
    if (rc != 0)
        return 0;
    FUZZ_CHECK(t2 == t);
    /* The longest form: "Wednesday, 09-Nov-94 08:49:37 GMT". */
    FUZZ_CHECK(len >= 24 && len <= 33);
    for (size_t k = 0; k < len; k++)
        FUZZ_CHECK(parse(v, k, now, &t2) == -1);

    /* Which form came in shows at the fourth byte: IMF-fixdate's comma,
     * asctime's space, or RFC 850's longer weekday name. */
    int form = v[3] == ',' ? 0 : v[3] == ' ' ? 2 : 1;
    if (form == 1) {
        /* Within 50 years (and a leap day) after NOW, and at most a
         * century before that. */
        if (now < 0 || now > 4000000000LL * 86400) {
            FUZZ_CHECK(t <= now + 51LL * 366 * DAY);
        } else {
            FUZZ_CHECK(t <= now + 50LL * 366 * DAY);
            FUZZ_CHECK(t > now + 50LL * 365 * DAY - 100LL * 366 * DAY);
        }
    } else {
        /* A leap second on the last day of 9999 is the only way past. */
        FUZZ_CHECK(t >= MIN_T && t <= END_T);
    }
    if (t < MIN_T || t >= END_T)
        return 0;

    tm_ tm;
    char f[64];
    breakdown(t, &tm);
    snprintf(f, sizeof f, "%s, %02d %s %04ld %02d:%02d:%02d GMT",
             wkday[tm.wday], tm.day, month[tm.mon], tm.year, tm.hour, tm.min,
             tm.sec);
    again(f, now, t, v, len, 3, 3, form == 0);
    /* asctime's day is padded with a space; "06" is accepted too. */
    snprintf(f, sizeof f, "%s %s %2d %02d:%02d:%02d %04ld", wkday[tm.wday],
             month[tm.mon], tm.day, tm.hour, tm.min, tm.sec, tm.year);
    again(f, now, t, v, len, 3, 3, form == 2 && v[8] != '0');
    if (form == 1) {
        const char *comma = memchr(v, ',', len);
        FUZZ_CHECK(comma != NULL);
        snprintf(f, sizeof f, "%s, %02d-%s-%02ld %02d:%02d:%02d GMT",
                 weekday[tm.wday], tm.day, month[tm.mon], tm.year % 100,
                 tm.hour, tm.min, tm.sec);
        again(f, now, t, v, len, strlen(weekday[tm.wday]), (size_t)(comma - v),
              1);
    }
    return 0;
}
