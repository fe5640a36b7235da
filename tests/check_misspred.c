/* check_misspred.c: unit tests of the per-worker miss predictor. */
#include "check_main.h"
#include "misspred.h"

Suite *misspred_suite(void);

static void learn_n(bc_misspred *p, size_t ep, int missed, int n)
{
    for (int i = 0; i < n; i++)
        bc_misspred_learn(p, ep, missed);
}

START_TEST(new_predictor_expects_nothing)
{
    bc_misspred *p = bc_misspred_new();
    ck_assert_ptr_nonnull(p);
    for (size_t ep = 0; ep < 200; ep++)
        ck_assert_int_eq(bc_misspred_expect_miss(p, ep), 0);
    bc_misspred_free(p);
}
END_TEST

START_TEST(streak_of_misses_is_needed)
{
    bc_misspred *p = bc_misspred_new();
    learn_n(p, 2, 1, BC_MISSPRED_STREAK - 1);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 2), 0);
    bc_misspred_learn(p, 2, 1);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 2), 1);
    /* More misses keep the guess; the counter saturates. */
    learn_n(p, 2, 1, 1000);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 2), 1);
    bc_misspred_free(p);
}
END_TEST

START_TEST(one_hit_ends_the_guess)
{
    bc_misspred *p = bc_misspred_new();
    learn_n(p, 0, 1, 1000);
    bc_misspred_learn(p, 0, 0);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 0), 0);
    /* Saturation did not bank misses: a new full streak is needed. */
    learn_n(p, 0, 1, BC_MISSPRED_STREAK - 1);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 0), 0);
    bc_misspred_learn(p, 0, 1);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 0), 1);
    bc_misspred_free(p);
}
END_TEST

START_TEST(hits_between_misses_never_trigger)
{
    bc_misspred *p = bc_misspred_new();
    for (int i = 0; i < 100; i++) {
        learn_n(p, 5, 1, BC_MISSPRED_STREAK - 1);
        bc_misspred_learn(p, 5, 0);
        ck_assert_int_eq(bc_misspred_expect_miss(p, 5), 0);
    }
    bc_misspred_free(p);
}
END_TEST

START_TEST(endpoints_are_apart)
{
    bc_misspred *p = bc_misspred_new();
    learn_n(p, 1, 1, BC_MISSPRED_STREAK);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 1), 1);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 0), 0);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 2), 0);
    bc_misspred_learn(p, 3, 0);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 1), 1);
    bc_misspred_free(p);
}
END_TEST

START_TEST(large_endpoint_numbers_are_accepted)
{
    bc_misspred *p = bc_misspred_new();
    size_t big = (size_t)-1;
    learn_n(p, big, 1, BC_MISSPRED_STREAK);
    ck_assert_int_eq(bc_misspred_expect_miss(p, big), 1);
    bc_misspred_learn(p, big, 0);
    ck_assert_int_eq(bc_misspred_expect_miss(p, big), 0);
    bc_misspred_free(p);
}
END_TEST

START_TEST(reset_forgets_every_endpoint)
{
    bc_misspred *p = bc_misspred_new();
    learn_n(p, 0, 1, BC_MISSPRED_STREAK);
    learn_n(p, 7, 1, BC_MISSPRED_STREAK);
    bc_misspred_reset(p);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 0), 0);
    ck_assert_int_eq(bc_misspred_expect_miss(p, 7), 0);
    bc_misspred_free(p);
}
END_TEST

Suite *misspred_suite(void)
{
    Suite *s = suite_create("misspred");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, new_predictor_expects_nothing);
    tcase_add_test(tc, streak_of_misses_is_needed);
    tcase_add_test(tc, one_hit_ends_the_guess);
    tcase_add_test(tc, hits_between_misses_never_trigger);
    tcase_add_test(tc, endpoints_are_apart);
    tcase_add_test(tc, large_endpoint_numbers_are_accepted);
    tcase_add_test(tc, reset_forgets_every_endpoint);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(misspred_suite)
