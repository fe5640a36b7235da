/* check_passhint.c: unit tests of the per-worker pass hints and the key
 * hash they use. */
#include "check_main.h"
#include "key.h"
#include "passhint.h"

#include <string.h>

Suite *passhint_suite(void);

static uint64_t h(const char *key)
{
    return bc_key_hash(key, strlen(key));
}

START_TEST(key_hash_is_fnv1a)
{
    /* Published FNV-1a 64 test vectors. */
    ck_assert_uint_eq(bc_key_hash("", 0), 0xcbf29ce484222325ULL);
    ck_assert_uint_eq(h("a"), 0xaf63dc4c8601ec8cULL);
    ck_assert_uint_eq(h("foobar"), 0x85944171f73967e8ULL);
    /* Only LEN bytes count. */
    ck_assert_uint_eq(bc_key_hash("foobarX", 6), h("foobar"));
}
END_TEST

START_TEST(empty_table_has_no_hint)
{
    bc_passhint *p = bc_passhint_new();
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(bc_passhint_get(p, h("bocache:none:-:/a"), 0, 0),
                     BC_PASSHINT_NONE);
    /* A zero hash in a zeroed slot is not a hint either. */
    ck_assert_int_eq(bc_passhint_get(p, 0, 0, 0), BC_PASSHINT_NONE);
    bc_passhint_free(p);
}
END_TEST

START_TEST(hint_lasts_until_its_time)
{
    bc_passhint *p = bc_passhint_new();
    uint64_t k = h("bocache:none:-:/api/v1/x");
    bc_passhint_set(p, k, 1000, 7);
    ck_assert_int_eq(bc_passhint_get(p, k, 0, 7), BC_PASSHINT_TRUST);
    ck_assert_int_eq(bc_passhint_get(p, k, 999, 7), BC_PASSHINT_TRUST);
    ck_assert_int_eq(bc_passhint_get(p, k, 1000, 7), BC_PASSHINT_NONE);
    ck_assert_int_eq(bc_passhint_get(p, k, 5000, 7), BC_PASSHINT_NONE);
    bc_passhint_free(p);
}
END_TEST

START_TEST(invalidation_turns_trust_into_check)
{
    bc_passhint *p = bc_passhint_new();
    uint64_t k = h("bocache:none:-:/api/v1/x");
    bc_passhint_set(p, k, 1000, 7);
    /* The generation moved: the marker may be gone, ask Redis. */
    ck_assert_int_eq(bc_passhint_get(p, k, 10, 8), BC_PASSHINT_CHECK);
    /* Seen again after the invalidation: trusted at the new generation. */
    bc_passhint_set(p, k, 2000, 8);
    ck_assert_int_eq(bc_passhint_get(p, k, 10, 8), BC_PASSHINT_TRUST);
    /* Past its time a hint is nothing, whatever the generation. */
    ck_assert_int_eq(bc_passhint_get(p, k, 2000, 9), BC_PASSHINT_NONE);
    bc_passhint_free(p);
}
END_TEST

START_TEST(clear_forgets_only_that_key)
{
    bc_passhint *p = bc_passhint_new();
    uint64_t a = h("bocache:none:-:/a"), b = h("bocache:none:-:/b");
    bc_passhint_set(p, a, 1000, 0);
    bc_passhint_set(p, b, 1000, 0);
    bc_passhint_clear(p, a);
    ck_assert_int_eq(bc_passhint_get(p, a, 0, 0), BC_PASSHINT_NONE);
    ck_assert_int_eq(bc_passhint_get(p, b, 0, 0), BC_PASSHINT_TRUST);
    bc_passhint_free(p);
}
END_TEST

START_TEST(colliding_slot_keeps_the_newest)
{
    bc_passhint *p = bc_passhint_new();
    /* Same low bits, different hashes: one slot, newest wins, and the
     * other key is not mistaken for it. */
    uint64_t a = 0x1234000000000007ULL, b = 0x9876000000000007ULL;
    bc_passhint_set(p, a, 1000, 0);
    bc_passhint_set(p, b, 1000, 0);
    ck_assert_int_eq(bc_passhint_get(p, a, 0, 0), BC_PASSHINT_NONE);
    ck_assert_int_eq(bc_passhint_get(p, b, 0, 0), BC_PASSHINT_TRUST);
    /* Clearing a key that lost its slot leaves the slot's owner alone. */
    bc_passhint_clear(p, a);
    ck_assert_int_eq(bc_passhint_get(p, b, 0, 0), BC_PASSHINT_TRUST);
    bc_passhint_free(p);
}
END_TEST

Suite *passhint_suite(void)
{
    Suite *s = suite_create("passhint");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, key_hash_is_fnv1a);
    tcase_add_test(tc, empty_table_has_no_hint);
    tcase_add_test(tc, hint_lasts_until_its_time);
    tcase_add_test(tc, invalidation_turns_trust_into_check);
    tcase_add_test(tc, clear_forgets_only_that_key);
    tcase_add_test(tc, colliding_slot_keeps_the_newest);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(passhint_suite)
