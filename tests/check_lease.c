/* check_lease.c: unit tests of the pure parts of the fill lease: its
 * names, its token and its member of the lease set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_main.h"
#include "key.h"
#include "lease.h"

Suite *lease_suite(void);

static void cfg_init(bc_config *cfg, const char *prefix)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->redis.prefix = (char *)prefix;
    cfg->backend.timeout_ms = 30000;
}

/* The names are the keyspace's (key.h), byte for byte. */
START_TEST(init_names_the_lease)
{
    bc_config cfg;
    cfg_init(&cfg, "bocache");
    static bc_lease l;
    const char *key = "bocache:none:-:/a?b=1";
    ck_assert_int_eq(bc_lease_init(&l, &cfg, key), 0);
    ck_assert_ptr_eq(l.key, key);
    ck_assert_ptr_eq(l.cfg, &cfg);
    ck_assert_str_eq(l.name, "bocache:#lease:bocache:none:-:/a?b=1");
    ck_assert_str_eq(l.set, "bocache:#leasez");
    ck_assert_str_eq(l.token, "");
    ck_assert_str_eq(l.fill, "");
    /* A lease outlives the longest fill the backend may take. */
    ck_assert_int_eq(l.ttl_ms, 31000);
}
END_TEST

START_TEST(token_format)
{
    bc_config cfg;
    cfg_init(&cfg, "bocache");
    static bc_lease l;
    ck_assert_int_eq(bc_lease_init(&l, &cfg, "bocache:none:-:/"), 0);
    ck_assert_int_eq(bc_lease_new_token(&l, 0xabcULL, 7), 0);
    ck_assert_str_eq(l.token, "0000000000000abc-7");
    ck_assert_str_eq(l.fill, "bocache:#fill:0000000000000abc-7");
    /* The longest token fits. */
    ck_assert_int_eq(bc_lease_new_token(&l, UINT64_MAX, UINT64_MAX), 0);
    ck_assert_str_eq(l.token, "ffffffffffffffff-18446744073709551615");
    ck_assert_uint_lt(strlen(l.token), BC_LEASE_TOKEN_MAX);
    ck_assert_str_eq(l.fill,
                     "bocache:#fill:ffffffffffffffff-18446744073709551615");
    /* Each attempt its own token. */
    char first[BC_LEASE_TOKEN_MAX];
    bc_lease_new_token(&l, 42, 1);
    snprintf(first, sizeof first, "%s", l.token);
    bc_lease_new_token(&l, 42, 2);
    ck_assert_str_ne(first, l.token);
}
END_TEST

START_TEST(member_format)
{
    bc_config cfg;
    cfg_init(&cfg, "bocache");
    static bc_lease l;
    ck_assert_int_eq(bc_lease_init(&l, &cfg, "bocache:none:-:/x"), 0);
    ck_assert_int_eq(bc_lease_new_token(&l, 1, 2), 0);
    char out[128];
    ck_assert_int_eq(bc_lease_member(&l, out, sizeof out), 0);
    ck_assert_str_eq(out, "bocache:#lease:bocache:none:-:/x "
                          "0000000000000001-2");
    /* Too small: "" and -1, never a truncated member. */
    ck_assert_int_eq(bc_lease_member(&l, out, 20), -1);
    ck_assert_str_eq(out, "");
    ck_assert_int_eq(bc_lease_member(&l, out, 0), -1);
}
END_TEST

/* The lease of the longest key under the longest prefix is named in
 * full; a prefix longer than SPEC 4 allows (only a configuration built
 * by hand has one) fails with "" names rather than truncated ones. */
START_TEST(long_names_fit_or_fail)
{
    static char prefix[200], key[BC_KEY_MAX];
    static bc_lease l;
    bc_config cfg;
    memset(prefix, 'p', 64);
    cfg_init(&cfg, prefix);
    size_t n = (size_t)snprintf(key, sizeof key, "%s:none:-:/", prefix);
    memset(key + n, 'q', BC_KEY_MAX - 1 - n);
    ck_assert_int_eq(bc_lease_init(&l, &cfg, key), 0);
    ck_assert_uint_eq(strlen(l.name), 64 + strlen(":#lease:") + BC_KEY_MAX - 1);
    ck_assert_int_eq(bc_lease_new_token(&l, UINT64_MAX, UINT64_MAX), 0);
    static char member[BC_KEY_INTERNAL_MAX + BC_LEASE_TOKEN_MAX];
    ck_assert_int_eq(bc_lease_member(&l, member, sizeof member), 0);
    memset(prefix, 'p', 190);
    ck_assert_int_eq(bc_lease_init(&l, &cfg, key), -1);
    ck_assert_str_eq(l.name, "");
}
END_TEST

Suite *lease_suite(void)
{
    Suite *s = suite_create("lease");
    TCase *tc = tcase_create("names");
    tcase_add_test(tc, init_names_the_lease);
    tcase_add_test(tc, token_format);
    tcase_add_test(tc, member_format);
    tcase_add_test(tc, long_names_fit_or_fail);
    suite_add_tcase(s, tc);
    return s;
}

BC_CHECK_MAIN(lease_suite)
