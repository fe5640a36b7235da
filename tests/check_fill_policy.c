/* check_fill_policy.c: unit tests of a lookup's decisions: from what the
 * lookup, the lease attempt and the wait found, the next step and the
 * outcome with its reason. */
#include "check_main.h"
#include "fill_policy.h"

Suite *fill_policy_suite(void);

/* The step for F, with the outcome and reason in *O and *R (left at
 * sentinel values when the step sets none). */
static bc_fill_step next(bc_fill_facts f, bc_fill_outcome *o, bc_reason *r)
{
    *o = (bc_fill_outcome)-1;
    *r = (bc_reason)-1;
    return bc_fill_policy_next(&f, o, r);
}

/* Asserts that F ends the lookup (DONE) as OUTCOME for REASON. */
#define ck_done(f, outcome, reason)                                            \
    do {                                                                       \
        bc_fill_outcome o_;                                                    \
        bc_reason r_;                                                          \
        ck_assert_int_eq(next((f), &o_, &r_), BC_FILL_STEP_DONE);              \
        ck_assert_int_eq(o_, (outcome));                                       \
        ck_assert_int_eq(r_, (reason));                                        \
    } while (0)

/* Asserts that F leads to STEP, which sets no outcome. */
#define ck_step(f, step)                                                       \
    do {                                                                       \
        bc_fill_outcome o_;                                                    \
        bc_reason r_;                                                          \
        ck_assert_int_eq(next((f), &o_, &r_), (step));                         \
        ck_assert_int_eq((int)o_, -1);                                         \
        ck_assert_int_eq((int)r_, -1);                                         \
    } while (0)

static bc_fill_facts facts(bc_fill_look look, bc_fill_claim claim,
                           bc_fill_wait wait, int head, int stale)
{
    bc_fill_facts f = {look, claim, wait, head, stale, 0};
    return f;
}

START_TEST(hit_is_served)
{
    ck_done(facts(BC_LOOK_HIT, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 0, 0),
            BC_FILL_SERVED, BC_REASON_NONE);
    /* HEAD is answered from the GET entry. */
    ck_done(facts(BC_LOOK_HIT, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 1, 0),
            BC_FILL_SERVED, BC_REASON_NONE);
}
END_TEST

START_TEST(redis_down_bypasses)
{
    ck_done(facts(BC_LOOK_DOWN, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 0, 0),
            BC_FILL_BYPASS, BC_REASON_REDIS_UNAVAILABLE);
    /* Before the HEAD rule: a HEAD that found Redis down is a bypass. */
    ck_done(facts(BC_LOOK_DOWN, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 1, 0),
            BC_FILL_BYPASS, BC_REASON_REDIS_UNAVAILABLE);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_DOWN, BC_WAIT_NONE, 0, 0),
            BC_FILL_BYPASS, BC_REASON_REDIS_UNAVAILABLE);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_DOWN, 0, 0),
            BC_FILL_BYPASS, BC_REASON_REDIS_UNAVAILABLE);
}
END_TEST

START_TEST(head_miss_passes_without_claiming)
{
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 1, 0),
            BC_FILL_PASS, BC_REASON_HEAD);
    ck_done(facts(BC_LOOK_STALE, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 1, 1),
            BC_FILL_PASS, BC_REASON_HEAD);
    /* A pass marker seen by the lookup does not change that. */
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_PASS, BC_WAIT_NONE, 1, 0),
            BC_FILL_PASS, BC_REASON_HEAD);
}
END_TEST

/* A HEAD that may refresh a kept copy (RFC 9111 4.3.5) claims the lease
 * and fills with it, but never waits for another request's fill. */
START_TEST(head_refresh_claims_without_waiting)
{
    bc_fill_facts f =
        facts(BC_LOOK_STALE, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 1, 0);
    f.refresh = 1;
    ck_step(f, BC_FILL_STEP_CLAIM);
    f.claim = BC_CLAIM_TAKEN;
    ck_done(f, BC_FILL_FILL, BC_REASON_NONE);
    f.claim = BC_CLAIM_HELD;
    ck_done(f, BC_FILL_PASS, BC_REASON_HEAD);
    f.claim = BC_CLAIM_PASS;
    ck_done(f, BC_FILL_PASS, BC_REASON_PASS);
    f.claim = BC_CLAIM_DOWN;
    ck_done(f, BC_FILL_BYPASS, BC_REASON_REDIS_UNAVAILABLE);
    /* Another fill in flight and a copy within its stale window: STALE. */
    f.claim = BC_CLAIM_HELD;
    f.stale = 1;
    bc_fill_outcome o;
    bc_reason r;
    ck_assert_int_eq(next(f, &o, &r), BC_FILL_STEP_STALE);
    ck_assert_int_eq(o, BC_FILL_SERVED);
    ck_assert_int_eq(r, BC_REASON_NONE);
}
END_TEST

START_TEST(miss_claims_first)
{
    ck_step(facts(BC_LOOK_MISS, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 0, 0),
            BC_FILL_STEP_CLAIM);
    ck_step(facts(BC_LOOK_STALE, BC_CLAIM_UNTRIED, BC_WAIT_NONE, 0, 1),
            BC_FILL_STEP_CLAIM);
}
END_TEST

START_TEST(claim_results)
{
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_TAKEN, BC_WAIT_NONE, 0, 0),
            BC_FILL_FILL, BC_REASON_NONE);
    /* The filler of a stale entry refreshes it. */
    ck_done(facts(BC_LOOK_STALE, BC_CLAIM_TAKEN, BC_WAIT_NONE, 0, 1),
            BC_FILL_FILL, BC_REASON_NONE);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_PASS, BC_WAIT_NONE, 0, 0),
            BC_FILL_PASS, BC_REASON_PASS);
    /* A pass marker wins over a stale copy: the backend is asked. */
    ck_done(facts(BC_LOOK_STALE, BC_CLAIM_PASS, BC_WAIT_NONE, 0, 1),
            BC_FILL_PASS, BC_REASON_PASS);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_SERVED, BC_WAIT_NONE, 0, 0),
            BC_FILL_SERVED, BC_REASON_NONE);
}
END_TEST

START_TEST(held_serves_stale_or_waits)
{
    bc_fill_outcome o;
    bc_reason r;
    ck_assert_int_eq(
        next(facts(BC_LOOK_STALE, BC_CLAIM_HELD, BC_WAIT_NONE, 0, 1), &o, &r),
        BC_FILL_STEP_STALE);
    ck_assert_int_eq(o, BC_FILL_SERVED);
    ck_assert_int_eq(r, BC_REASON_NONE);
    ck_step(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_NONE, 0, 0),
            BC_FILL_STEP_WAIT);
}
END_TEST

START_TEST(wait_results)
{
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_SERVED, 0, 0),
            BC_FILL_SERVED, BC_REASON_NONE);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_TAKEN, 0, 0),
            BC_FILL_FILL, BC_REASON_NONE);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_PASS, 0, 0),
            BC_FILL_PASS, BC_REASON_PASS);
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_TIMEOUT, 0, 0),
            BC_FILL_PASS, BC_REASON_LOCK_TIMEOUT);
    /* A stale copy found while waiting does not end the wait early. */
    ck_done(facts(BC_LOOK_MISS, BC_CLAIM_HELD, BC_WAIT_TIMEOUT, 0, 1),
            BC_FILL_PASS, BC_REASON_LOCK_TIMEOUT);
}
END_TEST

/* Whatever the claim and the wait find, a lookup ends after at most one
 * claim and one wait, with an outcome whose reason fits it: none for a
 * fill or a hit, a bypass reason for a bypass, a non-bypass one for a
 * pass. */
START_TEST(every_lookup_ends)
{
    for (int look = BC_LOOK_MISS; look <= BC_LOOK_DOWN; look++)
        for (int claim = BC_CLAIM_TAKEN; claim <= BC_CLAIM_DOWN; claim++)
            for (int wait = BC_WAIT_SERVED; wait <= BC_WAIT_DOWN; wait++)
                for (int bits = 0; bits < 8; bits++) {
                    bc_fill_facts f = {(bc_fill_look)look, BC_CLAIM_UNTRIED,
                                       BC_WAIT_NONE,       bits & 1,
                                       (bits >> 1) & 1,    bits >> 2};
                    bc_fill_outcome o = (bc_fill_outcome)-1;
                    bc_reason r = (bc_reason)-1;
                    int steps = 0;
                    bc_fill_step s;
                    while ((s = bc_fill_policy_next(&f, &o, &r)) ==
                               BC_FILL_STEP_CLAIM ||
                           s == BC_FILL_STEP_WAIT) {
                        ck_assert_int_lt(++steps, 3);
                        if (s == BC_FILL_STEP_CLAIM) {
                            ck_assert_int_eq(f.claim, BC_CLAIM_UNTRIED);
                            f.claim = (bc_fill_claim)claim;
                        } else {
                            ck_assert_int_eq(f.claim, BC_CLAIM_HELD);
                            ck_assert_int_eq(f.wait, BC_WAIT_NONE);
                            ck_assert(!f.stale);
                            ck_assert(!f.head); /* a HEAD never waits */
                            f.wait = (bc_fill_wait)wait;
                        }
                    }
                    if (s == BC_FILL_STEP_STALE)
                        ck_assert_int_eq(o, BC_FILL_SERVED);
                    switch (o) {
                    case BC_FILL_SERVED:
                    case BC_FILL_FILL:
                        ck_assert_int_eq(r, BC_REASON_NONE);
                        break;
                    case BC_FILL_BYPASS:
                        ck_assert(bc_reason_is_bypass(r));
                        break;
                    case BC_FILL_PASS:
                        ck_assert_int_ne(r, BC_REASON_NONE);
                        ck_assert(!bc_reason_is_bypass(r));
                        break;
                    default:
                        ck_abort_msg("no outcome");
                    }
                    /* Only a request that took the lease fills. */
                    if (o == BC_FILL_FILL)
                        ck_assert(f.claim == BC_CLAIM_TAKEN ||
                                  f.wait == BC_WAIT_TAKEN);
                }
}
END_TEST

START_TEST(pass_marker_life)
{
    /* Nobody waits: no marker. */
    ck_assert_int_eq(bc_fill_policy_pass_ms(0, 1, BC_REASON_NO_STORE), 0);
    ck_assert_int_eq(bc_fill_policy_pass_ms(-1, 1, BC_REASON_NONE), 0);
    /* Declared by a response that came whole: long. */
    ck_assert_int_eq(bc_fill_policy_pass_ms(5000, 1, BC_REASON_NO_STORE),
                     BC_FILL_PASS_DECLARED_MS);
    ck_assert_int_eq(bc_fill_policy_pass_ms(50, 1, BC_REASON_SET_COOKIE),
                     BC_FILL_PASS_DECLARED_MS);
    /* Anything that may pass: short, never past the lock timeout. */
    ck_assert_int_eq(bc_fill_policy_pass_ms(5000, 0, BC_REASON_NO_STORE),
                     BC_FILL_PASS_TRANSIENT_MS);
    ck_assert_int_eq(bc_fill_policy_pass_ms(5000, 1, BC_REASON_STATUS),
                     BC_FILL_PASS_TRANSIENT_MS);
    ck_assert_int_eq(bc_fill_policy_pass_ms(5000, 1, BC_REASON_NONE),
                     BC_FILL_PASS_TRANSIENT_MS);
    ck_assert_int_eq(bc_fill_policy_pass_ms(300, 1, BC_REASON_MALFORMED), 300);
}
END_TEST

Suite *fill_policy_suite(void)
{
    Suite *s = suite_create("fill_policy");
    TCase *tc = tcase_create("next");
    tcase_add_test(tc, hit_is_served);
    tcase_add_test(tc, redis_down_bypasses);
    tcase_add_test(tc, head_miss_passes_without_claiming);
    tcase_add_test(tc, head_refresh_claims_without_waiting);
    tcase_add_test(tc, miss_claims_first);
    tcase_add_test(tc, claim_results);
    tcase_add_test(tc, held_serves_stale_or_waits);
    tcase_add_test(tc, wait_results);
    tcase_add_test(tc, every_lookup_ends);
    suite_add_tcase(s, tc);
    tc = tcase_create("pass_marker");
    tcase_add_test(tc, pass_marker_life);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(fill_policy_suite)
