/* check_reason.c: unit tests of the reason table and of the counters the
 * reasons map to (their names are the fields of the stats hash in Redis). */
#include "check_main.h"
#include "reason.h"
#include "stats.h"
#include "storable.h"

#include <string.h>

Suite *reason_suite(void);

/* The counters' names in Redis: `bocache-ctl stats` and dashboards read
 * these, so they never change. */
static const char *const stat_names[BC_STAT_COUNT] = {
    "hits",
    "hits_memory",
    "stale",
    "misses",
    "bypass_no_endpoint",
    "bypass_method",
    "bypass_no_identity",
    "bypass_key_too_long",
    "bypass_redis_unavailable",
    "bypass_duplicate_header",
    "bypass_path",
    "stores",
    "store_skip_status",
    "store_skip_set_cookie",
    "store_skip_no_store",
    "store_skip_private",
    "store_skip_vary",
    "store_skip_max_age_0",
    "store_skip_expired",
    "store_skip_too_large",
    "store_skip_too_many_tags",
    "store_skip_authorization",
    "store_skip_cookie",
    "store_skip_malformed",
    "store_skip_lease_lost",
    "store_skip_pass",
    "store_skip_other",
    "invalidation_messages",
    "invalidation_malformed",
    "keys_removed",
    "backend_errors",
    "redis_errors",
    "lock_waits",
    "revalidated",
};

START_TEST(stat_names_are_stable)
{
    for (int i = 0; i < BC_STAT_COUNT; i++) {
        ck_assert_str_eq(bc_stat_name((bc_stat)i), stat_names[i]);
        ck_assert_ptr_nonnull(bc_stat_help((bc_stat)i));
    }
}
END_TEST

START_TEST(tokens_round_trip)
{
    ck_assert_ptr_null(bc_reason_token(BC_REASON_NONE));
    ck_assert_ptr_null(bc_reason_token(BC_REASON_COUNT));
    ck_assert_ptr_null(bc_reason_token((bc_reason)-1));
    for (int i = 1; i < BC_REASON_COUNT; i++) {
        const char *t = bc_reason_token((bc_reason)i);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(bc_reason_find(t), i);
        for (int j = 1; j < i; j++)
            ck_assert_str_ne(t, bc_reason_token((bc_reason)j));
    }
}
END_TEST

START_TEST(find_is_exact)
{
    ck_assert_int_eq(bc_reason_find(NULL), BC_REASON_NONE);
    ck_assert_int_eq(bc_reason_find(""), BC_REASON_NONE);
    ck_assert_int_eq(bc_reason_find("no-stor"), BC_REASON_NONE);
    ck_assert_int_eq(bc_reason_find("no-store "), BC_REASON_NONE);
    ck_assert_int_eq(bc_reason_find("NO-STORE"), BC_REASON_NONE);
    ck_assert_int_eq(bc_reason_find("no_store"), BC_REASON_NONE);
    ck_assert_int_eq(bc_reason_find("no-store"), BC_REASON_NO_STORE);
    ck_assert_int_eq(bc_reason_find("redis-unavailable"),
                     BC_REASON_REDIS_UNAVAILABLE);
}
END_TEST

/* A counter is named after its prefix and the token ('_' for '-'), except
 * the shared and catch-all ones. */
START_TEST(counters_follow_tokens)
{
    static const struct {
        bc_reason r;
        const char *name;
    } odd[] = {
        {BC_REASON_NONE, "store_skip_other"},
        {BC_REASON_HEAD, "store_skip_other"},
        {BC_REASON_LOCK_TIMEOUT, "store_skip_pass"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++)
        ck_assert_str_eq(bc_stat_name(bc_reason_stat(odd[i].r)), odd[i].name);
    for (int i = 1; i < BC_REASON_COUNT; i++) {
        bc_reason r = (bc_reason)i;
        if (r == BC_REASON_HEAD || r == BC_REASON_LOCK_TIMEOUT)
            continue;
        const char *prefix = bc_reason_is_bypass(r) ? "bypass_" : "store_skip_";
        char want[64];
        size_t n = strlen(prefix);
        memcpy(want, prefix, n);
        for (const char *t = bc_reason_token(r); *t; t++)
            want[n++] = *t == '-' ? '_' : *t;
        want[n] = '\0';
        ck_assert_str_eq(bc_stat_name(bc_reason_stat(r)), want);
    }
}
END_TEST

/* is_bypass holds exactly for the reasons whose counter is bypass_*. */
START_TEST(bypass_means_bypass_counter)
{
    for (int i = 0; i < BC_REASON_COUNT; i++) {
        const char *n = bc_stat_name(bc_reason_stat((bc_reason)i));
        ck_assert_int_eq(bc_reason_is_bypass((bc_reason)i) != 0,
                         strncmp(n, "bypass_", 7) == 0);
    }
    ck_assert(bc_reason_is_bypass(BC_REASON_REDIS_UNAVAILABLE));
    ck_assert(bc_reason_is_bypass(BC_REASON_PATH));
    ck_assert(!bc_reason_is_bypass(BC_REASON_NONE));
    ck_assert(!bc_reason_is_bypass(BC_REASON_PASS));
}
END_TEST

START_TEST(stat_for_detail)
{
    ck_assert_int_eq(bc_stat_skip_for("set-cookie"), BC_STAT_SKIP_SET_COOKIE);
    ck_assert_int_eq(bc_stat_skip_for("max-age-0"), BC_STAT_SKIP_MAX_AGE_0);
    ck_assert_int_eq(bc_stat_skip_for("too-many-tags"),
                     BC_STAT_SKIP_TOO_MANY_TAGS);
    ck_assert_int_eq(bc_stat_skip_for("lease-lost"), BC_STAT_SKIP_LEASE_LOST);
    ck_assert_int_eq(bc_stat_skip_for("pass"), BC_STAT_SKIP_PASS);
    ck_assert_int_eq(bc_stat_skip_for("lock-timeout"), BC_STAT_SKIP_PASS);
    ck_assert_int_eq(bc_stat_skip_for("head"), BC_STAT_SKIP_OTHER);
    ck_assert_int_eq(bc_stat_skip_for(NULL), BC_STAT_SKIP_OTHER);
    ck_assert_int_eq(bc_stat_skip_for("nonsense"), BC_STAT_SKIP_OTHER);
    /* A bypass reason is not a store skip. */
    ck_assert_int_eq(bc_stat_skip_for("no-identity"), BC_STAT_SKIP_OTHER);

    ck_assert_int_eq(bc_stat_bypass_for("no-identity"),
                     BC_STAT_BYPASS_NO_IDENTITY);
    ck_assert_int_eq(bc_stat_bypass_for("redis-unavailable"),
                     BC_STAT_BYPASS_REDIS);
    ck_assert_int_eq(bc_stat_bypass_for("duplicate-header"),
                     BC_STAT_BYPASS_DUPLICATE_HEADER);
    ck_assert_int_eq(bc_stat_bypass_for("path"), BC_STAT_BYPASS_PATH);
    ck_assert_int_eq(bc_stat_bypass_for(NULL), BC_STAT_BYPASS_NO_ENDPOINT);
    ck_assert_int_eq(bc_stat_bypass_for("pass"), BC_STAT_BYPASS_NO_ENDPOINT);
}
END_TEST

START_TEST(declared_ones)
{
    static const bc_reason declared[] = {
        BC_REASON_SET_COOKIE,    BC_REASON_VARY,    BC_REASON_TOO_LARGE,
        BC_REASON_NO_STORE,      BC_REASON_PRIVATE, BC_REASON_MAX_AGE_0,
        BC_REASON_TOO_MANY_TAGS, BC_REASON_EXPIRED,
    };
    for (int i = 0; i < BC_REASON_COUNT; i++) {
        int want = 0;
        for (size_t j = 0; j < sizeof declared / sizeof *declared; j++)
            want |= (int)declared[j] == i;
        ck_assert_int_eq(bc_reason_declared((bc_reason)i) != 0, want);
        /* storable.c answers from the same table. */
        ck_assert_int_eq(
            bc_storable_declared(bc_reason_token((bc_reason)i)) != 0, want);
    }
    ck_assert(!bc_reason_declared(BC_REASON_COUNT));
}
END_TEST

START_TEST(key_statuses)
{
    static const bc_key_status st[] = {
        BC_KEY_NO_ENDPOINT, BC_KEY_METHOD,    BC_KEY_NO_IDENTITY,
        BC_KEY_TOO_LONG,    BC_KEY_DUPLICATE, BC_KEY_PATH,
    };
    ck_assert_int_eq(bc_reason_for_key(BC_KEY_OK), BC_REASON_NONE);
    for (size_t i = 0; i < sizeof st / sizeof *st; i++) {
        bc_reason r = bc_reason_for_key(st[i]);
        ck_assert(bc_reason_is_bypass(r));
        /* The key builder's token and the table's are the same. */
        ck_assert_str_eq(bc_reason_token(r), bc_key_status_token(st[i]));
    }
}
END_TEST

Suite *reason_suite(void)
{
    Suite *s = suite_create("reason");
    TCase *tc = tcase_create("table");
    tcase_add_test(tc, stat_names_are_stable);
    tcase_add_test(tc, tokens_round_trip);
    tcase_add_test(tc, find_is_exact);
    tcase_add_test(tc, counters_follow_tokens);
    tcase_add_test(tc, bypass_means_bypass_counter);
    tcase_add_test(tc, stat_for_detail);
    tcase_add_test(tc, declared_ones);
    tcase_add_test(tc, key_statuses);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(reason_suite)
