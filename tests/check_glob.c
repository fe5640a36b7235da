/* check_glob.c: unit tests of Redis-compatible glob matching. */
#include "check_main.h"
#include "glob.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

Suite *glob_suite(void);

/* Matches with exact-size heap copies, so a read past either length is
 * caught by valgrind or ASan. */
static int gm(const char *p, size_t plen, const char *s, size_t slen)
{
    char *pc = malloc(plen ? plen : 1), *sc = malloc(slen ? slen : 1);
    int r;

    ck_assert_ptr_nonnull(pc);
    ck_assert_ptr_nonnull(sc);
    memcpy(pc, p, plen);
    memcpy(sc, s, slen);
    r = bc_glob_match(pc, plen, sc, slen);
    free(pc);
    free(sc);
    return r;
}

static int m(const char *p, const char *s)
{
    return gm(p, strlen(p), s, strlen(s));
}

struct glob_case {
    const char *pattern;
    const char *str;
    int want;
};

static void run_cases(const struct glob_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(m(c[i].pattern, c[i].str) == c[i].want,
                      "pattern '%s' on '%s': expected %d", c[i].pattern,
                      c[i].str, c[i].want);
}

#define RUN(table) run_cases(table, sizeof(table) / sizeof(table[0]))

START_TEST(test_literal)
{
    static const struct glob_case c[] = {
        {"", "", 1},       {"", "a", 0},
        {"a", "", 0},      {"abc", "abc", 1},
        {"abc", "abd", 0}, {"abc", "ab", 0},
        {"ab", "abc", 0},  {"ABC", "abc", 0},
        {"a.c", "abc", 0}, {"a.c", "a.c", 1},
        {"-", "-", 1},     {"^", "^", 1},
        {"]", "]", 1},     {"a]b", "a]b", 1},
        {"a-b", "a-b", 1}, {"bocache:none:-:/x", "bocache:none:-:/x", 1},
    };
    RUN(c);
}
END_TEST

START_TEST(test_star)
{
    static const struct glob_case c[] = {
        /* Redis's loop never runs on an empty string: "*" misses "". */
        {"*", "", 0},
        {"**", "", 0},
        {"*", "a", 1},
        {"*", "anything at all", 1},
        {"a*", "a", 1},
        {"a**", "a", 1},
        {"a*", "abc", 1},
        {"a*", "ba", 0},
        {"*a", "a", 1},
        {"*a", "ba", 1},
        {"*a", "aa", 1},
        {"*a", "ab", 0},
        {"*42*", "bocache:partner_id_and_origin:p=42,o=x:/a", 1},
        {"*42*", "bocache:partner_id_and_origin:p=142,o=x:/a", 1},
        {"*42*", "bocache:partner_id_and_origin:p=4,o=2:/a", 0},
        {"a*b*c", "abc", 1},
        {"a*b*c", "aXbYc", 1},
        {"a*b*c", "aXcYb", 0},
        {"a*b*c", "abcbc", 1},
        {"a*b*c", "abcb", 0},
        {"a***b", "ab", 1},
        {"*ab*ab*", "abab", 1},
        {"*ab*ab*", "aba", 0},
        {"*a*a*a*", "aaa", 1},
        {"*a*a*a*", "aa", 0},
        {"*?", "a", 1},
        {"?*", "a", 1},
        {"*?*?*", "a", 0},
        {"*?*?*", "ab", 1},
        {"a*", "", 0},
        {"*x*", "yyyxyyy", 1},
        {"*:/api/v1/*", "bocache:none:-:/api/v1/x", 1},
    };
    RUN(c);
}
END_TEST

START_TEST(test_question)
{
    static const struct glob_case c[] = {
        {"?", "", 0},         {"?", "a", 1},     {"?", "ab", 0},
        {"??", "ab", 1},      {"a?c", "abc", 1}, {"a?c", "ac", 0},
        {"?*?", "ab", 1},     {"?*?", "a", 0},   {"h?llo", "hallo", 1},
        {"h?llo", "hllo", 0},
    };
    RUN(c);
}
END_TEST

START_TEST(test_set)
{
    static const struct glob_case c[] = {
        {"[abc]", "a", 1},
        {"[abc]", "c", 1},
        {"[abc]", "d", 0},
        {"[abc]", "", 0},
        {"[abc]", "ab", 0},
        {"h[ae]llo", "hello", 1},
        {"h[ae]llo", "hillo", 0},
        {"[^abc]", "d", 1},
        {"[^abc]", "a", 0},
        {"h[^e]llo", "hallo", 1},
        {"h[^e]llo", "hello", 0},
        {"[a-c]", "b", 1},
        {"[a-c]", "d", 0},
        {"[c-a]", "b", 1}, /* a reversed range is swapped */
        {"[c-a]", "d", 0},
        {"[0-9a-f]", "e", 1},
        {"[0-9a-f]", "g", 0},
        {"[^0-9]", "5", 0},
        {"[^0-9]", "x", 1},
        {"[-a]", "-", 1}, /* '-' first is literal */
        {"[a-]", "^", 1}, /* "a-]" is the range ']'..'a'; the set is open */
        {"[a-]", "`", 1},
        {"[a-]", "-", 0},
        {"[a-]", "b", 0},
        {"[a-]]", "]", 1},
        {"[a-]]x", "]x", 1}, /* the second ']' closes it */
        {"[a-]]x", "]", 0},
        {"[a-]]", "]]", 0},
        {"[a^]", "^", 1}, /* '^' later is literal */
        {"[*?]", "*", 1},
        {"[*?]", "?", 1},
        {"[*?]", "x", 0},
        {"[[]", "[", 1},
        {"[]", "]", 0}, /* ']' right away closes an empty set */
        {"[]", "", 0},
        {"[]a]", "a]", 0},
        {"[]a]", "]", 0},
        {"[^]", "x", 1}, /* the empty set, negated */
        {"[^]a]", "xa]", 1},
        {"[^]a]", "xa", 0},
        {"[^]a]", "x", 0},
        {"[^]a]", "aa]", 1},
        {"[!a]", "!", 1}, /* '!' does not negate in Redis */
        {"[!a]", "b", 0},
    };
    RUN(c);
}
END_TEST

START_TEST(test_unterminated_set)
{
    static const struct glob_case c[] = {
        {"[", "", 0},      {"[", "[", 0},     {"[", "a", 0},
        {"[ab", "a", 1},   {"[ab", "b", 1},   {"[ab", "c", 0},
        {"[ab", "[ab", 0}, {"x[ab", "xb", 1}, {"[^", "z", 1},
        {"[^", "", 0},     {"[^ab", "c", 1},  {"[^ab", "a", 0},
        {"[a-", "a", 1},   {"[a-", "-", 1},   {"[a-", "b", 0},
        {"[a-c", "b", 1},  {"[\\", "\\", 1},  {"[a\\", "\\", 1},
        {"[\\]", "]", 1},  {"[\\]", "\\", 0}, {"*[", "ab", 0},
        {"*[b", "ab", 1},
    };
    RUN(c);
}
END_TEST

START_TEST(test_escape)
{
    static const struct glob_case c[] = {
        {"\\*", "*", 1},     {"\\*", "a", 0},
        {"\\?", "?", 1},     {"\\?", "a", 0},
        {"\\[a]", "[a]", 1}, {"\\[a]", "a", 0},
        {"\\a", "a", 1}, /* an escaped ordinary byte is itself */
        {"\\\\", "\\", 1},   {"\\\\", "\\\\", 0},
        {"\\", "\\", 1}, /* a trailing backslash is literal */
        {"a\\", "a\\", 1},   {"a\\", "a", 0},
        {"*\\", "x\\", 1},   {"*\\*", "ab*", 1},
        {"*\\*", "ab", 0},   {"[\\]]", "]", 1},
        {"[\\^a]", "^", 1},  {"[\\-z]", "-", 1},
        {"[\\-z]", "z", 1},  {"[\\-z]", "m", 0},
        {"[a\\-z]", "m", 0}, /* the escape breaks the range */
        {"[a-\\]", "\\", 1}, /* a range end is not an escape */
        {"[a-\\]", "^", 1},  {"[a-\\]", "b", 0},
        {"[^\\]]", "]", 0},  {"[^\\]]", "x", 1},
    };
    RUN(c);
}
END_TEST

START_TEST(test_binary)
{
    ck_assert_int_eq(gm("a\0b", 3, "a\0b", 3), 1);
    ck_assert_int_eq(gm("a\0b", 3, "a\0c", 3), 0);
    ck_assert_int_eq(gm("a?b", 3, "a\0b", 3), 1);
    ck_assert_int_eq(gm("*\0*", 3, "xx\0yy", 5), 1);
    ck_assert_int_eq(gm("*\0*", 3, "xxyy", 4), 0);
    ck_assert_int_eq(gm("[\0]", 3, "\0", 1), 1);
    ck_assert_int_eq(gm("[^\0]", 4, "\0", 1), 0);
    /* The lengths rule, not a NUL: the pattern "ab" cut to "a". */
    ck_assert_int_eq(gm("ab", 1, "a", 1), 1);
    ck_assert_int_eq(gm("a", 1, "ab", 1), 1);
    /* Ranges compare signed bytes, as Redis on x86-64: 0x80..0xff sort
     * below NUL, so "[a-\xff]" is the range 0xff (-1) .. 'a'. */
    ck_assert_int_eq(gm("[a-\xff]", 5, "\xff", 1), 1);
    ck_assert_int_eq(gm("[a-\xff]", 5, "\x80", 1), 0);
    ck_assert_int_eq(gm("[a-\xff]", 5, "\0", 1), 1);
    ck_assert_int_eq(gm("[a-\xff]", 5, "b", 1), 0);
    ck_assert_int_eq(gm("[\x80-\xff]", 5, "\x90", 1), 1);
    ck_assert_int_eq(gm("[\x80-\xff]", 5, "a", 1), 0);
    ck_assert_int_eq(gm("\xe9*", 2, "\xe9t\xe9", 3), 1);
}
END_TEST

/* Builds "*x" K times (plus a trailing '*' when TRAILING) and "x" K times
 * and matches them. */
static int star_chain(size_t k, int trailing)
{
    char *p = malloc(2 * k + 1), *s = malloc(k);
    int r;

    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < k; i++) {
        p[2 * i] = '*';
        p[2 * i + 1] = 'x';
        s[i] = 'x';
    }
    p[2 * k] = '*';
    r = gm(p, 2 * k + (trailing ? 1 : 0), s, k);
    free(p);
    free(s);
    return r;
}

START_TEST(test_nesting_limit)
{
    /* Redis stops at 1000 nested stars; a trailing star does not nest. */
    ck_assert_int_eq(star_chain(999, 0), 1);
    ck_assert_int_eq(star_chain(1000, 0), 1);
    ck_assert_int_eq(star_chain(1000, 1), 1);
    ck_assert_int_eq(star_chain(1001, 0), 0);
    ck_assert_int_eq(star_chain(1001, 1), 0);
    ck_assert_int_eq(star_chain(5000, 0), 0);
    /* Star runs count once however long they are. */
    {
        char p[3000];
        memset(p, '*', sizeof(p));
        p[sizeof(p) - 1] = 'x';
        ck_assert_int_eq(gm(p, sizeof(p), "aax", 3), 1);
    }
}
END_TEST

START_TEST(test_no_blowup)
{
    /* "a*a*...a*b" on a long run of 'a's takes exponential time in a
     * naive recursive matcher; this one is quadratic at worst. */
    char p[201], s[20001];
    clock_t t0 = clock();

    for (size_t i = 0; i < 100; i++) {
        p[2 * i] = 'a';
        p[2 * i + 1] = '*';
    }
    p[200] = 'b';
    memset(s, 'a', sizeof(s));
    ck_assert_int_eq(gm(p, sizeof(p), s, sizeof(s)), 0);
    s[sizeof(s) - 1] = 'b';
    ck_assert_int_eq(gm(p, sizeof(p), s, sizeof(s)), 1);
    memset(p, '*', sizeof(p));
    for (size_t i = 1; i < sizeof(p); i += 2)
        p[i] = '?';
    p[200] = 'b';
    s[sizeof(s) - 1] = 'a';
    ck_assert_int_eq(gm(p, sizeof(p), s, sizeof(s)), 0);
    ck_assert_msg((double)(clock() - t0) / CLOCKS_PER_SEC < 5.0,
                  "matching took too long");
}
END_TEST

Suite *glob_suite(void)
{
    Suite *s = suite_create("glob");
    TCase *tc = tcase_create("match");

    tcase_add_test(tc, test_literal);
    tcase_add_test(tc, test_star);
    tcase_add_test(tc, test_question);
    tcase_add_test(tc, test_set);
    tcase_add_test(tc, test_unterminated_set);
    tcase_add_test(tc, test_escape);
    tcase_add_test(tc, test_binary);
    suite_add_tcase(s, tc);

    tc = tcase_create("limits");
    tcase_add_test(tc, test_nesting_limit);
    tcase_add_test(tc, test_no_blowup);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(glob_suite)
