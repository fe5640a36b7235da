/* ctl.c: bocache-ctl, the operator's and application's command line:
 * invalidate, flush, key, show, stats. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bocache/client.h"
#include "entry.h"
#include "key.h"
#include "log.h"
#include "stats.h"
#include "store.h"

#define DEFAULT_CONFIG SYSCONFDIR "/bocache.conf"
#define EXIT_USAGE 2
#define MAX_ARGS 256

static int usage(void)
{
    fprintf(stderr,
            "usage: bocache-ctl [-c FILE] COMMAND\n"
            "  invalidate --pattern GLOB [--uri URI]...\n"
            "  invalidate --partner-id ID [--uri URI]...\n"
            "  invalidate --tag TAG...\n"
            "  flush\n"
            "  key [-H 'Name: value']... [-X METHOD] URI\n"
            "  show KEY\n"
            "  stats [--json]\n"
            "  -c FILE  configuration file (default %s)\n",
            DEFAULT_CONFIG);
    return EXIT_USAGE;
}

static int fail(bc_client *c)
{
    fprintf(stderr, "bocache-ctl: %s\n", bc_client_error(c));
    return EXIT_FAILURE;
}

typedef struct inv_args {
    const char *pattern;
    const char *partner;
    const char *uris[MAX_ARGS];
    size_t nuris;
    const char *tags[MAX_ARGS];
    size_t ntags;
} inv_args;

/* Parses invalidate's options; returns 0 or EXIT_USAGE. */
static int parse_invalidate(int argc, char **argv, inv_args *a)
{
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i];
        int has_value = i + 1 < argc;
        if (strcmp(o, "--pattern") == 0 && has_value)
            a->pattern = argv[++i];
        else if (strcmp(o, "--partner-id") == 0 && has_value)
            a->partner = argv[++i];
        else if (strcmp(o, "--uri") == 0 && has_value && a->nuris < MAX_ARGS)
            a->uris[a->nuris++] = argv[++i];
        else if (strcmp(o, "--tag") == 0 && has_value) {
            /* --tag a b c and --tag a --tag b both work. */
            while (i + 1 < argc && strncmp(argv[i + 1], "--", 2) != 0 &&
                   a->ntags < MAX_ARGS)
                a->tags[a->ntags++] = argv[++i];
        } else
            return usage();
    }
    int kinds = !!a->pattern + !!a->partner + (a->ntags > 0);
    if (kinds != 1 || (a->ntags > 0 && a->nuris > 0)) {
        fprintf(stderr, "bocache-ctl: invalidate takes exactly one of "
                        "--pattern, --partner-id or --tag (--uri goes with "
                        "the first two)\n");
        return EXIT_USAGE;
    }
    return 0;
}

static int cmd_invalidate(bc_client *c, int argc, char **argv)
{
    inv_args a = {0};
    int rc = parse_invalidate(argc, argv, &a);
    if (rc != 0)
        return rc;
    long removed = 0;
    if (a.pattern)
        rc = bc_client_invalidate_pattern(c, a.pattern, a.uris, a.nuris,
                                          &removed);
    else if (a.partner)
        rc = bc_client_invalidate_partner(c, a.partner, a.uris, a.nuris,
                                          &removed);
    else
        rc = bc_client_invalidate_tags(c, a.tags, a.ntags, &removed);
    if (rc < 0)
        return fail(c);
    printf("%ld entries removed\n", removed);
    return 0;
}

static int cmd_flush(bc_client *c, int argc)
{
    long removed = 0;
    if (argc != 0)
        return usage();
    if (bc_client_flush(c, &removed) < 0)
        return fail(c);
    printf("%ld entries removed\n", removed);
    return 0;
}

static int cmd_key(bc_client *c, int argc, char **argv)
{
    bc_client_header h[MAX_ARGS];
    char *copies[MAX_ARGS];
    size_t nh = 0;
    const char *method = "GET", *uri = NULL;
    int rc = 0;
    for (int i = 0; i < argc && rc == 0; i++) {
        if (strcmp(argv[i], "-X") == 0 && i + 1 < argc) {
            method = argv[++i];
        } else if (strcmp(argv[i], "-H") == 0 && i + 1 < argc &&
                   nh < MAX_ARGS) {
            char *line = strdup(argv[++i]);
            char *colon = line ? strchr(line, ':') : NULL;
            copies[nh] = line;
            if (!colon) {
                fprintf(stderr, "bocache-ctl: -H wants 'Name: value'\n");
                free(line);
                rc = EXIT_USAGE;
                break;
            }
            *colon = '\0';
            h[nh].name = line;
            h[nh++].value = colon + 1 + strspn(colon + 1, " \t");
        } else if (!uri && argv[i][0] != '-') {
            uri = argv[i];
        } else {
            rc = usage();
        }
    }
    if (rc == 0 && !uri)
        rc = usage();
    char key[BC_KEY_MAX];
    if (rc == 0 && bc_client_key(c, method, uri, h, nh, key, sizeof key) < 0)
        rc = fail(c);
    else if (rc == 0)
        printf("%s\n", key);
    for (size_t i = 0; i < nh; i++)
        free(copies[i]);
    return rc;
}

static int cmd_show(bc_client *c, int argc, char **argv)
{
    if (argc != 1)
        return usage();
    bc_store *st = bc_store_new(bc_client_config(c), NULL);
    if (!st) {
        fprintf(stderr, "bocache-ctl: out of memory\n");
        return EXIT_FAILURE;
    }
    const char *data;
    size_t len;
    int rc = bc_store_get(st, argv[0], &data, &len);
    bc_entry e;
    if (rc < 0)
        fprintf(stderr, "bocache-ctl: Redis at %s is unavailable: %s\n",
                bc_client_config(c)->redis.address, bc_store_error(st));
    else if (rc == 0)
        fprintf(stderr, "bocache-ctl: no entry %s\n", argv[0]);
    else if (bc_entry_decode(data, len, &e) < 0)
        fprintf(stderr,
                "bocache-ctl: %s is not a bocache entry of a "
                "version this program knows\n",
                argv[0]);
    else {
        long ttl = bc_store_ttl(st, argv[0]);
        printf("key:     %s\nstatus:  %d\nage:     %lld s\n"
               "ttl:     %ld s fresh, %ld s left in Redis\n"
               "size:    %zu bytes (head %zu, body %zu)\ntags:    %.*s\n",
               argv[0], e.status, (long long)bc_entry_age(&e, bc_wall_ms()),
               (long)e.ttl, ttl, len, e.head_len, e.body_len, (int)e.tags_len,
               e.tags);
        bc_store_free(st);
        return 0;
    }
    bc_store_free(st);
    return EXIT_FAILURE;
}

typedef struct counts {
    const bc_config *cfg;
    long entries, indexes, other;
} counts;

static int count_key(void *ctx, const char *key, size_t len)
{
    counts *n = ctx;
    if (bc_key_is_entry(n->cfg, key, len, NULL, NULL))
        n->entries++;
    else if (bc_key_is_internal(n->cfg, key, len))
        n->indexes++;
    else
        n->other++;
    return 0;
}

static void take_counter(void *ctx, const char *field, const char *value)
{
    unsigned long long *totals = ctx;
    for (int i = 0; i < BC_STAT_COUNT; i++)
        if (strcmp(field, bc_stat_name((bc_stat)i)) == 0)
            totals[i] = strtoull(value, NULL, 10);
}

static void print_stats(const counts *n, const unsigned long long *totals,
                        int json)
{
    if (json)
        printf("{\"entries\":%ld,\"index_keys\":%ld", n->entries, n->indexes);
    else
        printf("%-28s %ld\n%-28s %ld\n", "entries", n->entries, "index_keys",
               n->indexes);
    for (int i = 0; i < BC_STAT_COUNT; i++) {
        if (json)
            printf(",\"%s\":%llu", bc_stat_name((bc_stat)i), totals[i]);
        else
            printf("%-28s %llu\n", bc_stat_name((bc_stat)i), totals[i]);
    }
    if (json)
        printf("}\n");
}

static int cmd_stats(bc_client *c, int argc, char **argv)
{
    int json = argc == 1 && strcmp(argv[0], "--json") == 0;
    if (argc > 1 || (argc == 1 && !json))
        return usage();
    const bc_config *cfg = bc_client_config(c);
    bc_store *st = bc_store_new(cfg, NULL);
    if (!st) {
        fprintf(stderr, "bocache-ctl: out of memory\n");
        return EXIT_FAILURE;
    }
    bc_store_set_timeout(st, 5000);
    counts n = {.cfg = cfg};
    char pattern[BC_KEY_MAX], key[BC_KEY_MAX];
    if (bc_key_all_pattern(cfg, pattern, sizeof pattern) < 0 ||
        bc_key_stats(cfg, key, sizeof key) < 0) {
        bc_store_free(st);
        fprintf(stderr, "bocache-ctl: redis.prefix is too long\n");
        return EXIT_FAILURE;
    }
    unsigned long long cursor = 0;
    int rc = 0;
    do
        rc = bc_store_scan(st, NULL, &cursor, pattern, 1000, count_key, &n);
    while (rc == 0 && cursor != 0);
    unsigned long long totals[BC_STAT_COUNT] = {0};
    if (rc == 0)
        rc = bc_store_hgetall(st, key, take_counter, totals);
    if (rc < 0)
        fprintf(stderr, "bocache-ctl: Redis at %s is unavailable: %s\n",
                cfg->redis.address, bc_store_error(st));
    bc_store_free(st);
    if (rc < 0)
        return EXIT_FAILURE;
    print_stats(&n, totals, json);
    return 0;
}

static int run(bc_client *c, const char *cmd, int argc, char **argv)
{
    if (strcmp(cmd, "invalidate") == 0)
        return cmd_invalidate(c, argc, argv);
    if (strcmp(cmd, "flush") == 0)
        return cmd_flush(c, argc);
    if (strcmp(cmd, "key") == 0)
        return cmd_key(c, argc, argv);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(c, argc, argv);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(c, argc, argv);
    fprintf(stderr, "bocache-ctl: unknown command '%s'\n", cmd);
    return usage();
}

int main(int argc, char **argv)
{
    const char *config = DEFAULT_CONFIG;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            config = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return usage() == EXIT_USAGE ? 0 : 0;
        else
            return usage();
    }
    if (i >= argc)
        return usage();
    char err[512];
    bc_client *c = bc_client_new(config, err, sizeof err);
    if (!c) {
        fprintf(stderr, "bocache-ctl: %s\n", err);
        return EXIT_FAILURE;
    }
    int rc = run(c, argv[i], argc - i - 1, argv + i + 1);
    bc_client_free(c);
    return rc;
}
