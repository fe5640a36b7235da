/* check_invalidate.c: unit tests of the names of bocache's own keys, of
 * what a message covers and of how long a failed removal is retried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "invalidate.h"
#include "key.h"

Suite *invalidate_suite(void);

/* A configuration by hand, so these tests do not depend on the loader. */
typedef struct {
    bc_config cfg;
    bc_endpoint ep[2];
} fx;

static void fx_init(fx *f, const char *prefix)
{
    memset(f, 0, sizeof *f);
    f->cfg.redis.prefix = (char *)prefix;
    f->cfg.cache.ttl = 300;
    f->cfg.backend.timeout_ms = 30000;
    f->cfg.endpoints = f->ep;
}

/* A prefix of N bytes (SPEC 4 allows 64), in a static buffer. */
static const char *prefix_of(size_t n)
{
    static char p[128];
    memset(p, 'p', n);
    p[n] = '\0';
    return p;
}

START_TEST(internal_names)
{
    fx f;
    fx_init(&f, "bocache");
    char out[BC_KEY_INTERNAL_MAX];
    ck_assert_int_eq(bc_key_lease_set(&f.cfg, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#leasez");
    ck_assert_int_eq(bc_key_stats(&f.cfg, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#stats");
    ck_assert_int_eq(
        bc_key_lease(&f.cfg, "bocache:none:-:/a?b=1", 21, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#lease:bocache:none:-:/a?b=1");
    /* A tag is encoded as a segment; a path is taken as keys hold it. */
    ck_assert_int_eq(bc_key_tag_index(&f.cfg, "a:b c", 5, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#tagz:a%3Ab%20c");
    ck_assert_int_eq(bc_key_path_index(&f.cfg, "/x%25y/", 7, out, sizeof out),
                     0);
    ck_assert_str_eq(out, "bocache:#pathz:/x%25y/");
}
END_TEST

/* The lease of the longest key under the longest prefix is named in full
 * in BC_KEY_INTERNAL_MAX bytes; a buffer too small gets "" and -1, never
 * a truncated name that would be another key's lease. */
START_TEST(long_prefix_names_fit_or_fail)
{
    fx f;
    fx_init(&f, prefix_of(64));
    static char key[BC_KEY_MAX], out[BC_KEY_INTERNAL_MAX];
    size_t n = (size_t)snprintf(key, sizeof key, "%s:none:-:/", prefix_of(64));
    memset(key + n, 'q', BC_KEY_MAX - 1 - n);
    key[BC_KEY_MAX - 1] = '\0';
    ck_assert_int_eq(bc_key_lease(&f.cfg, key, strlen(key), out, sizeof out),
                     0);
    ck_assert_uint_eq(strlen(out), 64 + strlen(":#lease:") + BC_KEY_MAX - 1);
    ck_assert_int_eq(strncmp(out + 64, ":#lease:", 8), 0);
    ck_assert_str_eq(out + 72, key);
    ck_assert_int_eq(
        bc_key_lease(&f.cfg, key, strlen(key), out, BC_KEY_MAX + 64), -1);
    ck_assert_str_eq(out, "");
    char small[16];
    ck_assert_int_eq(bc_key_lease_set(&f.cfg, small, sizeof small), -1);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(bc_key_stats(&f.cfg, small, sizeof small), -1);
    ck_assert_str_eq(small, "");
    ck_assert_int_eq(bc_key_stats(&f.cfg, small, 0), -1);
}
END_TEST

/* A path index is never longer than a key with that path, so it fits
 * wherever the key did, even when the path is mostly escapes. */
START_TEST(path_index_fits_where_its_key_did)
{
    fx f;
    fx_init(&f, prefix_of(64));
    static char path[BC_KEY_MAX], out[BC_KEY_MAX];
    size_t len = BC_KEY_MAX - 1 - (64 + strlen(":none:-:"));
    for (size_t i = 0; i < len; i++)
        path[i] = "%25"[i % 3];
    path[0] = '/';
    ck_assert_int_eq(bc_key_path_index(&f.cfg, path, len, out, sizeof out), 0);
    ck_assert_uint_eq(strlen(out), 64 + strlen(":#pathz:") + len);
}
END_TEST

START_TEST(internal_keys_are_never_covered)
{
    fx f;
    fx_init(&f, "bocache");
    bc_message flush = {.flush = 1}, star = {.pattern = (char *)"*"};
    const char *own[] = {"bocache:#leasez", "bocache:#tagz:x",
                         "bocache:#pathz:/a", "bocache:#stats",
                         "bocache:#lease:bocache:none:-:/a"};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++) {
        ck_assert(!bc_invalidate_covers(&f.cfg, &flush, own[i], strlen(own[i]),
                                        "", 0));
        ck_assert(!bc_invalidate_covers(&f.cfg, &star, own[i], strlen(own[i]),
                                        "", 0));
    }
    const char *entry = "bocache:none:-:/a";
    ck_assert(bc_invalidate_covers(&f.cfg, &star, entry, strlen(entry), "", 0));
}
END_TEST

START_TEST(retry_lasts_as_long_as_what_it_removes)
{
    fx f;
    fx_init(&f, "bocache");
    /* Leases: twice backend.timeout_ms + 1 s. */
    ck_assert_int_eq(bc_invalidate_retry_ms(&f.cfg), 300000);
    f.cfg.backend.timeout_ms = 200000;
    ck_assert_int_eq(bc_invalidate_retry_ms(&f.cfg), 402000);
    f.cfg.backend.timeout_ms = 1000;
    f.ep[0].ttl = 600;
    f.ep[0].stale_ttl = 30;
    f.ep[1].ttl = 10;
    f.cfg.nendpoints = 2;
    /* A response may widen its stale window up to its ttl. */
    ck_assert_int_eq(bc_invalidate_retry_ms(&f.cfg), 1200000);
    /* Never shorter than a pass marker's 10 s. */
    f.cfg.cache.ttl = 1;
    f.ep[0].ttl = 1;
    f.ep[0].stale_ttl = 0;
    f.ep[1].ttl = 1;
    ck_assert_int_eq(bc_invalidate_retry_ms(&f.cfg), 10000);
}
END_TEST

Suite *invalidate_suite(void)
{
    Suite *s = suite_create("invalidate");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, internal_names);
    tcase_add_test(tc, long_prefix_names_fit_or_fail);
    tcase_add_test(tc, path_index_fits_where_its_key_did);
    suite_add_tcase(s, tc);
    tc = tcase_create("covers");
    tcase_add_test(tc, internal_keys_are_never_covered);
    tcase_add_test(tc, retry_lasts_as_long_as_what_it_removes);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(invalidate_suite)
