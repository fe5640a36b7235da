/* check_memtier.c: unit tests for the in-memory tier. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "bocache/log.h"
#include "bocache/memtier.h"
#include "check_main.h"

/* Times in the tests are offsets from now on the tier's clock (bc_now_ms),
 * so that expired-entry reaping on put sees them as the test means. */
static int64_t t0(void)
{
    static int64_t base;
    if (!base)
        base = bc_now_ms() + 600000; /* far from the present either way */
    return base;
}

static bc_memtier *enabled_tier(size_t budget)
{
    bc_memtier *m = bc_memtier_new(budget);
    ck_assert_ptr_nonnull(m);
    bc_memtier_reset(m, 1);
    return m;
}

static void put_str(bc_memtier *m, const char *key, const char *val,
                    const char *tags, int64_t expires)
{
    bc_memtier_put(m, bc_memtier_generation(m), key, strlen(key), val,
                   strlen(val), tags, strlen(tags), t0() + expires);
}

static int get_eq(bc_memtier *m, const char *key, const char *val,
                  int64_t now)
{
    const bc_memblob *b = bc_memtier_get(m, key, strlen(key), t0() + now);
    if (!b)
        return 0;
    int eq = b->len == strlen(val) && memcmp(b->data, val, b->len) == 0;
    bc_memtier_release(m, b);
    return eq;
}

START_TEST(put_get_expire)
{
    bc_memtier *m = enabled_tier(1 << 20);
    put_str(m, "k1", "v1", "", 1000);
    ck_assert(get_eq(m, "k1", "v1", 999));
    ck_assert(!get_eq(m, "k1", "v1", 1000)); /* expired at its deadline */
    ck_assert_uint_eq(bc_memtier_count(m), 0);
    ck_assert(!get_eq(m, "k2", "v2", 0));
    bc_memtier_free(m);
}
END_TEST

START_TEST(disabled_until_reset)
{
    bc_memtier *m = bc_memtier_new(1 << 20);
    put_str(m, "k", "v", "", 1000);
    ck_assert(!get_eq(m, "k", "v", 0));
    bc_memtier_reset(m, 1);
    put_str(m, "k", "v", "", 1000);
    ck_assert(get_eq(m, "k", "v", 0));
    bc_memtier_reset(m, 0); /* subscription lost: emptied and off */
    ck_assert_uint_eq(bc_memtier_count(m), 0);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
    put_str(m, "k", "v", "", 1000);
    ck_assert(!get_eq(m, "k", "v", 0));
    bc_memtier_free(m);
}
END_TEST

START_TEST(stale_generation_refused)
{
    bc_memtier *m = enabled_tier(1 << 20);
    uint64_t gen = bc_memtier_generation(m);
    bc_memtier_reset(m, 1); /* an invalidation between fetch and put */
    bc_memtier_put(m, gen, "k", 1, "v", 1, "", 0, t0() + 1000);
    ck_assert(!get_eq(m, "k", "v", 0));
    bc_memtier_free(m);
}
END_TEST

static int covers_tag_a(void *ctx, const char *key, size_t klen,
                        const char *tags, size_t tags_len)
{
    (void)ctx;
    (void)key;
    (void)klen;
    return tags_len == 1 && tags[0] == 'a';
}

START_TEST(drop_if_predicate)
{
    bc_memtier *m = enabled_tier(1 << 20);
    put_str(m, "k1", "v1", "a", 1000);
    put_str(m, "k2", "v2", "b", 1000);
    ck_assert_uint_eq(bc_memtier_drop_if(m, covers_tag_a, NULL), 1);
    ck_assert(!get_eq(m, "k1", "v1", 0));
    ck_assert(get_eq(m, "k2", "v2", 0));
    bc_memtier_free(m);
}
END_TEST

START_TEST(budget_and_lru)
{
    size_t budget = 64 * 1024;
    bc_memtier *m = enabled_tier(budget);
    char val[1000], key[32];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put_str(m, key, val, "", 1000);
        ck_assert(get_eq(m, "k0", val, 0)); /* k0 stays most recent */
        ck_assert_uint_le(bc_memtier_bytes(m), budget);
    }
    ck_assert(get_eq(m, "k0", val, 0));
    ck_assert(!get_eq(m, "k1", val, 0)); /* least recently used: evicted */
    ck_assert(get_eq(m, "k199", val, 0));
    /* The budget is used, not wasted: within 5% of it. */
    ck_assert_uint_ge(bc_memtier_bytes(m), budget - budget / 20);
    bc_memtier_free(m);
}
END_TEST

START_TEST(oversize_not_kept)
{
    bc_memtier *m = enabled_tier(8192);
    char big[2048];
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put_str(m, "big", big, "", 1000);
    ck_assert(!get_eq(m, "big", big, 0));
    bc_memtier_free(m);
}
END_TEST

START_TEST(replace_and_reader_survives_drop)
{
    bc_memtier *m = enabled_tier(1 << 20);
    put_str(m, "k", "old", "a", 1000);
    const bc_memblob *b = bc_memtier_get(m, "k", 1, t0());
    ck_assert_ptr_nonnull(b);
    bc_memtier_drop_if(m, covers_tag_a, NULL);
    /* The reader's reference stays valid after the drop. */
    ck_assert_int_eq(memcmp(b->data, "old", 3), 0);
    bc_memtier_release(m, b);
    put_str(m, "k", "v1", "", 1000);
    put_str(m, "k", "v2", "", 1000);
    ck_assert(get_eq(m, "k", "v2", 0));
    ck_assert_uint_eq(bc_memtier_count(m), 1);
    bc_memtier_free(m);
}
END_TEST

static void *hammer(void *arg)
{
    bc_memtier *m = arg;
    char key[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i % 50);
        if (i % 3 == 0)
            put_str(m, key, "value", "a", 1000);
        const bc_memblob *b = bc_memtier_get(m, key, strlen(key), t0());
        if (b) {
            ck_assert_int_eq(memcmp(b->data, "value", 5), 0);
            bc_memtier_release(m, b);
        }
        if (i % 1000 == 0)
            bc_memtier_drop_if(m, covers_tag_a, NULL);
    }
    return NULL;
}

START_TEST(threads)
{
    bc_memtier *m = enabled_tier(1 << 16);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, hammer, m);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    ck_assert_uint_le(bc_memtier_bytes(m), 1 << 16);
    bc_memtier_free(m);
}
END_TEST

START_TEST(expired_reaped_on_put)
{
    bc_memtier *m = enabled_tier(1 << 20);
    int64_t now = bc_now_ms();
    char key[16];
    for (int i = 0; i < 8; i++) {
        snprintf(key, sizeof key, "old%d", i);
        bc_memtier_put(m, bc_memtier_generation(m), key, strlen(key), "v", 1,
                       "", 0, now - 1); /* already expired */
    }
    bc_memtier_put(m, bc_memtier_generation(m), "live", 4, "v", 1, "", 0,
                   now + 60000);
    /* The put freed the expired entries at the tail without a reader. */
    ck_assert_uint_eq(bc_memtier_count(m), 1);
    bc_memtier_free(m);
}
END_TEST

static Suite *memtier_suite(void)
{
    Suite *s = suite_create("memtier");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, put_get_expire);
    tcase_add_test(tc, disabled_until_reset);
    tcase_add_test(tc, stale_generation_refused);
    tcase_add_test(tc, drop_if_predicate);
    tcase_add_test(tc, budget_and_lru);
    tcase_add_test(tc, oversize_not_kept);
    tcase_add_test(tc, replace_and_reader_survives_drop);
    tcase_add_test(tc, threads);
    tcase_add_test(tc, expired_reaped_on_put);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(memtier_suite)
