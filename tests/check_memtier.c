/* check_memtier.c: unit tests for the in-memory tier. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "log.h"
#include "memtier.h"

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

static void put_path(bc_memtier *m, const char *key, const char *path,
                     const char *val, const char *tags, int64_t expires)
{
    bc_memtier_put(m, bc_memtier_generation(m), key, strlen(key), path,
                   path ? strlen(path) : 0, val, strlen(val), tags,
                   strlen(tags), t0() + expires);
}

static void put_str(bc_memtier *m, const char *key, const char *val,
                    const char *tags, int64_t expires)
{
    put_path(m, key, NULL, val, tags, expires);
}

static int get_eq(bc_memtier *m, const char *key, const char *val, int64_t now)
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
    bc_memtier_put(m, gen, "k", 1, "/p", 2, "v", 1, "", 0, t0() + 1000);
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

static int covers_any(void *ctx, const char *key, size_t klen, const char *tags,
                      size_t tags_len)
{
    (void)ctx;
    (void)key;
    (void)klen;
    (void)tags;
    (void)tags_len;
    return 1;
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
            put_path(m, key, i % 2 ? "/odd" : "/even", "value", "a", 1000);
        const bc_memblob *b = bc_memtier_get(m, key, strlen(key), t0());
        if (b) {
            ck_assert_int_eq(memcmp(b->data, "value", 5), 0);
            bc_memtier_release(m, b);
        }
        if (i % 1000 == 0)
            bc_memtier_drop_if(m, covers_tag_a, NULL);
        if (i % 1000 == 500) {
            const char *pre[] = {"/odd"};
            size_t lens[] = {4};
            bc_memtier_drop_under(m, pre, lens, 1, covers_tag_a, NULL);
        }
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
    bc_memtier_reset(m, 1);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
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
        bc_memtier_put(m, bc_memtier_generation(m), key, strlen(key), key,
                       strlen(key), "v", 1, "", 0,
                       now - 1); /* already expired */
    }
    bc_memtier_put(m, bc_memtier_generation(m), "live", 4, NULL, 0, "v", 1, "",
                   0, now + 60000);
    /* The put freed the expired entries at the tail without a reader, and
     * their paths with them. */
    ck_assert_uint_eq(bc_memtier_count(m), 1);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    bc_memtier_free(m);
}
END_TEST

/* ---- the path index ---- */

/* Counts the predicate's calls per key, covering keys with tag "a" (or
 * every key when ALL). */
typedef struct calls {
    int all;
    int n;
    char seen[64][32];
} calls;

static int covers_counted(void *ctx, const char *key, size_t klen,
                          const char *tags, size_t tags_len)
{
    calls *c = ctx;
    for (int i = 0; i < c->n; i++)
        ck_assert_msg(strlen(c->seen[i]) != klen ||
                          memcmp(c->seen[i], key, klen) != 0,
                      "predicate called twice for %.*s", (int)klen, key);
    ck_assert_int_lt(c->n, 64);
    ck_assert_uint_lt(klen, sizeof c->seen[0]);
    memcpy(c->seen[c->n], key, klen);
    c->seen[c->n][klen] = '\0';
    c->n++;
    return c->all || (tags_len == 1 && tags[0] == 'a');
}

static size_t drop_under1(bc_memtier *m, const char *prefix,
                          bc_memtier_pred covers, void *ctx)
{
    const char *pre[] = {prefix};
    size_t lens[] = {strlen(prefix)};
    return bc_memtier_drop_under(m, pre, lens, 1, covers, ctx);
}

static int present(bc_memtier *m, const char *key)
{
    const bc_memblob *b = bc_memtier_get(m, key, strlen(key), t0());
    if (b)
        bc_memtier_release(m, b);
    return b != NULL;
}

/* Keys named after their paths; "nopath" has none. */
static const char *const sample[][2] = {
    {"k/a", "/a"},      {"k/a/", "/a/"},     {"k/a/b", "/a/b"},
    {"k/a/b2", "/a/b"}, {"k/ab", "/ab"},     {"k/b", "/b"},
    {"k/", "/"},        {"k/a%3A", "/a%3A"}, {"nopath", NULL},
};
#define NSAMPLE (sizeof sample / sizeof *sample)

static bc_memtier *sample_tier(const char *tags)
{
    bc_memtier *m = enabled_tier(1 << 20);
    for (size_t i = 0; i < NSAMPLE; i++)
        put_path(m, sample[i][0], sample[i][1], "v", tags, 1000);
    ck_assert_uint_eq(bc_memtier_count(m), NSAMPLE);
    ck_assert_uint_eq(bc_memtier_paths(m), NSAMPLE - 2); /* /a/b twice */
    return m;
}

START_TEST(drop_under_prefix_only)
{
    bc_memtier *m = sample_tier("");
    calls c = {.all = 1};
    ck_assert_uint_eq(drop_under1(m, "/a/", covers_counted, &c), 3);
    /* Only the entries under the prefix were looked at. */
    ck_assert_int_eq(c.n, 3);
    ck_assert(!present(m, "k/a/"));
    ck_assert(!present(m, "k/a/b"));
    ck_assert(!present(m, "k/a/b2"));
    const char *kept[] = {"k/a", "k/ab", "k/b", "k/", "k/a%3A", "nopath"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        ck_assert_msg(present(m, kept[i]), "%s dropped", kept[i]);
    ck_assert_uint_eq(bc_memtier_paths(m), NSAMPLE - 2 - 2);

    /* A prefix that no path starts with looks at nothing. */
    c.n = 0;
    ck_assert_uint_eq(drop_under1(m, "/c", covers_counted, &c), 0);
    ck_assert_uint_eq(drop_under1(m, "/a/b/c", covers_counted, &c), 0);
    ck_assert_uint_eq(drop_under1(m, "", covers_counted, &c), 5);
    /* The empty prefix is under every path, never under a pathless key. */
    ck_assert_int_eq(c.n, 5);
    ck_assert(present(m, "nopath"));
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    bc_memtier_free(m);
}
END_TEST

START_TEST(drop_under_asks_predicate)
{
    bc_memtier *m = enabled_tier(1 << 20);
    put_path(m, "x1", "/p/1", "v", "a", 1000);
    put_path(m, "x2", "/p/1", "v", "b", 1000);
    put_path(m, "x3", "/p/2", "v", "a", 1000);
    put_path(m, "x4", "/q", "v", "a", 1000);
    calls c = {0};
    ck_assert_uint_eq(drop_under1(m, "/p", covers_counted, &c), 2);
    ck_assert_int_eq(c.n, 3);
    ck_assert(!present(m, "x1"));
    ck_assert(present(m, "x2"));
    ck_assert(!present(m, "x3"));
    ck_assert(present(m, "x4"));
    ck_assert_uint_eq(bc_memtier_paths(m), 2); /* /p/1 keeps x2 */
    bc_memtier_free(m);
}
END_TEST

START_TEST(drop_under_overlapping_prefixes)
{
    bc_memtier *m = sample_tier("");
    /* Overlapping and repeated prefixes, more than fit on the stack: each
     * entry is looked at and counted once. */
    const char *pre[40];
    size_t lens[40];
    for (int i = 0; i < 40; i++) {
        static const char *const some[] = {"/a/b", "/a", "/a/", "/zz", "/a"};
        pre[i] = some[i % 5];
        lens[i] = strlen(pre[i]);
    }
    calls c = {.all = 1};
    /* /a, /a/, /a/b twice, /ab, /a%3A */
    ck_assert_uint_eq(
        bc_memtier_drop_under(m, pre, lens, 40, covers_counted, &c), 6);
    ck_assert_int_eq(c.n, 6);
    ck_assert(present(m, "k/b"));
    ck_assert(present(m, "k/"));
    ck_assert(present(m, "nopath"));
    ck_assert_uint_eq(bc_memtier_count(m), 3);

    c.n = 0;
    const char *two[] = {"/b", "/"};
    size_t two_lens[] = {2, 1};
    ck_assert_uint_eq(
        bc_memtier_drop_under(m, two, two_lens, 2, covers_counted, &c), 2);
    ck_assert_int_eq(c.n, 2);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    bc_memtier_free(m);
}
END_TEST

START_TEST(drop_under_moves_generation)
{
    bc_memtier *m = enabled_tier(1 << 20);
    uint64_t gen = bc_memtier_generation(m);
    calls c = {.all = 1};
    /* Even when it drops nothing: the entry being fetched may be one. */
    ck_assert_uint_eq(drop_under1(m, "/p", covers_counted, &c), 0);
    ck_assert_uint_ne(bc_memtier_generation(m), gen);
    bc_memtier_put(m, gen, "k", 1, "/p", 2, "v", 1, "", 0, t0() + 1000);
    ck_assert(!present(m, "k"));
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
    bc_memtier_free(m);
}
END_TEST

START_TEST(reader_survives_drop_under)
{
    bc_memtier *m = enabled_tier(1 << 20);
    put_path(m, "k", "/p", "old", "", 1000);
    const bc_memblob *b = bc_memtier_get(m, "k", 1, t0());
    ck_assert_ptr_nonnull(b);
    calls c = {.all = 1};
    ck_assert_uint_eq(drop_under1(m, "/p", covers_counted, &c), 1);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
    ck_assert_int_eq(memcmp(b->data, "old", 3), 0);
    bc_memtier_release(m, b);
    bc_memtier_free(m);
}
END_TEST

START_TEST(groups_freed_with_last_entry)
{
    bc_memtier *m = enabled_tier(1 << 20);

    /* Expiry found by a lookup. */
    put_path(m, "e", "/exp", "v", "", 1000);
    ck_assert_uint_eq(bc_memtier_paths(m), 1);
    ck_assert(!get_eq(m, "e", "v", 1000));
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);

    /* Replacement: the same path keeps its group, another frees it. */
    put_path(m, "r", "/one", "v1", "", 1000);
    size_t one = bc_memtier_bytes(m);
    put_path(m, "r", "/one", "v2", "", 1000);
    ck_assert_uint_eq(bc_memtier_bytes(m), one);
    ck_assert_uint_eq(bc_memtier_paths(m), 1);
    put_path(m, "r", "/two", "v3", "", 1000);
    ck_assert_uint_eq(bc_memtier_paths(m), 1);
    ck_assert_uint_eq(bc_memtier_bytes(m), one);
    ck_assert(get_eq(m, "r", "v3", 0));
    calls c = {.all = 1};
    ck_assert_uint_eq(drop_under1(m, "/one", covers_counted, &c), 0);
    ck_assert_uint_eq(drop_under1(m, "/two", covers_counted, &c), 1);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
    /* A replacement without a path leaves no group behind. */
    put_path(m, "r", "/one", "v1", "", 1000);
    put_path(m, "r", NULL, "v2", "", 1000);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    c.n = 0;
    ck_assert_uint_eq(drop_under1(m, "/", covers_counted, &c), 0);
    ck_assert(present(m, "r"));

    /* Two entries of a path: the group goes with the second. */
    put_path(m, "d1", "/d", "v", "a", 1000);
    put_path(m, "d2", "/d", "v", "b", 1000);
    ck_assert_uint_eq(bc_memtier_drop_if(m, covers_tag_a, NULL), 1);
    ck_assert_uint_eq(bc_memtier_paths(m), 1);
    c.n = 0;
    ck_assert_uint_eq(drop_under1(m, "/d", covers_counted, &c), 1);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);

    /* Reset. */
    put_path(m, "s1", "/s", "v", "", 1000);
    put_path(m, "s2", "/t", "v", "", 1000);
    bc_memtier_reset(m, 1);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
    bc_memtier_free(m);
}
END_TEST

START_TEST(groups_in_budget_and_eviction)
{
    size_t budget = 64 * 1024;
    bc_memtier *m = enabled_tier(budget);
    char val[1000], key[32], path[32];
    memset(val, 'x', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    /* Each entry its own path: evictions free the groups too. */
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "k%d", i);
        snprintf(path, sizeof path, "/p/%d", i);
        put_path(m, key, path, val, "", 1000);
        ck_assert_uint_le(bc_memtier_bytes(m), budget);
        ck_assert_uint_eq(bc_memtier_paths(m), bc_memtier_count(m));
    }
    ck_assert_uint_lt(bc_memtier_count(m), 300);
    ck_assert(present(m, "k299"));
    ck_assert(!present(m, "k0"));
    /* One path for all: the evictions empty the group the put joins, and
     * it stays. */
    for (int i = 0; i < 300; i++) {
        snprintf(key, sizeof key, "s%d", i);
        put_path(m, key, "/same", val, "", 1000);
        ck_assert_uint_le(bc_memtier_bytes(m), budget);
    }
    ck_assert_uint_eq(bc_memtier_paths(m), 1);
    size_t n = bc_memtier_count(m);
    const char *pre[] = {"/same"};
    size_t lens[] = {5};
    ck_assert_uint_eq(
        bc_memtier_drop_under(m, pre, lens, 1, covers_tag_a, NULL), 0);
    ck_assert_uint_eq(bc_memtier_count(m), n);
    ck_assert_uint_eq(bc_memtier_drop_if(m, covers_any, NULL), n);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
    ck_assert_uint_eq(bc_memtier_paths(m), 0);
    bc_memtier_free(m);
}
END_TEST

/* A model of the tier's contents checked against drop_under over many
 * random puts, drops and expiries, with enough distinct paths to
 * rebalance the tree often. */
#define MODEL_KEYS 512

static unsigned lcg(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (*s >> 8) & 0xffffff;
}

static void model_path(unsigned r, char *out, size_t len)
{
    /* Depths and shared prefixes vary: /a, /a1, /a1/b7, ... */
    snprintf(out, len, "/%c%u/%u", 'a' + (char)(r % 3), (r / 3) % 40,
             (r / 120) % 9);
    if (r % 5 == 0)
        out[2] = '\0'; /* "/a" alone */
}

START_TEST(drop_under_matches_model)
{
    bc_memtier *m = enabled_tier(1 << 24);
    char paths[MODEL_KEYS][32] = {{0}};
    int live[MODEL_KEYS] = {0}, tag_a[MODEL_KEYS] = {0};
    unsigned seed = 42;
    for (int step = 0; step < 20000; step++) {
        unsigned r = lcg(&seed);
        int k = (int)(r % MODEL_KEYS);
        char key[16];
        snprintf(key, sizeof key, "m%d", k);
        if (r % 10 < 7) {
            model_path(lcg(&seed), paths[k], sizeof paths[k]);
            tag_a[k] = lcg(&seed) % 2;
            put_path(m, key, paths[k], "v", tag_a[k] ? "a" : "b", 1000);
            live[k] = 1;
        } else if (r % 10 < 9) {
            char pre[2][32];
            const char *pp[2] = {pre[0], pre[1]};
            size_t lens[2];
            for (int j = 0; j < 2; j++) {
                model_path(lcg(&seed), pre[j], sizeof pre[j]);
                lens[j] = strlen(pre[j]) - lcg(&seed) % 3;
            }
            size_t want = 0;
            for (int i = 0; i < MODEL_KEYS; i++) {
                int under = 0;
                for (int j = 0; j < 2; j++)
                    under |= strlen(paths[i]) >= lens[j] &&
                             memcmp(paths[i], pre[j], lens[j]) == 0;
                if (live[i] && under && tag_a[i]) {
                    live[i] = 0;
                    want++;
                }
            }
            ck_assert_uint_eq(
                bc_memtier_drop_under(m, pp, lens, 2, covers_tag_a, NULL),
                want);
        } else if (live[k]) {
            ck_assert(!get_eq(m, key, "v", 1000)); /* expired: freed */
            live[k] = 0;
        }
        if (step % 500 == 0) {
            size_t count = 0, distinct = 0;
            for (int i = 0; i < MODEL_KEYS; i++) {
                snprintf(key, sizeof key, "m%d", i);
                ck_assert_int_eq(present(m, key), live[i]);
                count += live[i];
                int first = live[i];
                for (int j = 0; j < i && first; j++)
                    first = !(live[j] && strcmp(paths[j], paths[i]) == 0);
                distinct += first;
            }
            ck_assert_uint_eq(bc_memtier_count(m), count);
            ck_assert_uint_eq(bc_memtier_paths(m), distinct);
        }
    }
    bc_memtier_reset(m, 1);
    ck_assert_uint_eq(bc_memtier_bytes(m), 0);
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
    TCase *paths = tcase_create("paths");
    tcase_add_test(paths, drop_under_prefix_only);
    tcase_add_test(paths, drop_under_asks_predicate);
    tcase_add_test(paths, drop_under_overlapping_prefixes);
    tcase_add_test(paths, drop_under_moves_generation);
    tcase_add_test(paths, reader_survives_drop_under);
    tcase_add_test(paths, groups_freed_with_last_entry);
    tcase_add_test(paths, groups_in_budget_and_eviction);
    tcase_add_test(paths, drop_under_matches_model);
    suite_add_tcase(s, paths);
    return s;
}

BC_CHECK_MAIN(memtier_suite)
