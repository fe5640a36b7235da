/* glob.c: Redis-compatible glob matching of keys against patterns. */
#include "glob.h"

#include <stddef.h>

/* Redis 7 gives up on a pattern whose star recursion nests deeper than
 * this (the CVE-2022-36021 fix); the equivalent rule here is a count. */
#define NESTING_MAX 1000

/* Matches the set that starts after a '[' at P[I], against the byte C.
 * Returns the index just past the set and stores the result in *HIT. The
 * order of the tests follows Redis: an escape, the closing ']', a range
 * (whose end is taken as it is, even ']' or '\'), a literal. */
static size_t match_set(const char *p, size_t plen, size_t i, char c, int *hit)
{
    int negate = 0, found = 0;

    if (i < plen && p[i] == '^') {
        negate = 1;
        i++;
    }
    for (;;) {
        if (i >= plen)
            break; /* unterminated: the set ends with the pattern */
        if (p[i] == '\\' && plen - i >= 2) {
            if (p[i + 1] == c)
                found = 1;
            i += 2;
        } else if (p[i] == ']') {
            i++;
            break;
        } else if (plen - i >= 3 && p[i + 1] == '-') {
            /* Redis compares plain chars, signed on x86-64. */
            int lo = (signed char)p[i], hi = (signed char)p[i + 2];
            int v = (signed char)c;

            if (lo > hi) {
                int t = lo;
                lo = hi;
                hi = t;
            }
            if (v >= lo && v <= hi)
                found = 1;
            i += 3;
        } else {
            if (p[i] == c)
                found = 1;
            i++;
        }
    }
    *hit = negate ? !found : found;
    return i;
}

/* Matches the one-byte token (anything but '*') at P[I] against C; returns
 * the index of the next token and stores the result in *HIT. Where a token
 * ends never depends on C, so the pattern splits into the same tokens
 * whatever it is matched against. */
static size_t match_token(const char *p, size_t plen, size_t i, char c,
                          int *hit)
{
    switch (p[i]) {
    case '?':
        *hit = 1;
        return i + 1;
    case '[':
        return match_set(p, plen, i + 1, c, hit);
    case '\\':
        if (plen - i >= 2) {
            *hit = p[i + 1] == c;
            return i + 2;
        }
        break; /* a trailing backslash is literal */
    default:
        break;
    }
    *hit = p[i] == c;
    return i + 1;
}

/* The number of star runs followed by more pattern. Redis recurses once
 * per such run, and a match must pass through every one of them, so more
 * than NESTING_MAX of them means Redis never matches. */
static size_t inner_star_runs(const char *p, size_t plen)
{
    size_t i = 0, n = 0;
    int hit;

    while (i < plen) {
        if (p[i] == '*') {
            while (i < plen && p[i] == '*')
                i++;
            if (i < plen)
                n++;
        } else {
            i = match_token(p, plen, i, '\0', &hit);
        }
    }
    return n;
}

/* Every token but '*' consumes exactly one byte, so the classic matcher
 * with one backtrack point (the last star seen) is equivalent to Redis's
 * recursion: if what follows the last star matches at no later position,
 * letting an earlier star swallow more cannot help either. */
int bc_glob_match(const char *pattern, size_t plen, const char *str,
                  size_t slen)
{
    size_t pi = 0, si = 0, star_pi = 0, star_si = 0;
    int have_star = 0, hit;

    /* Redis's loop runs only while both are non-empty. */
    if (slen == 0)
        return plen == 0;
    if (inner_star_runs(pattern, plen) > NESTING_MAX)
        return 0;
    while (si < slen) {
        if (pi < plen && pattern[pi] == '*') {
            while (pi < plen && pattern[pi] == '*')
                pi++;
            if (pi == plen)
                return 1; /* a trailing star takes the rest */
            have_star = 1;
            star_pi = pi;
            star_si = si;
            continue;
        }
        if (pi < plen) {
            size_t next = match_token(pattern, plen, pi, str[si], &hit);

            if (hit) {
                pi = next;
                si++;
                continue;
            }
        }
        /* A mismatch, or pattern left over: let the last star take one
         * more byte and retry what follows it. */
        if (!have_star || star_si + 1 >= slen)
            return 0;
        star_si++;
        si = star_si;
        pi = star_pi;
    }
    /* The string is used up; stars that remain match the empty rest. */
    while (pi < plen && pattern[pi] == '*')
        pi++;
    return pi == plen;
}
