/* check_config.c: unit tests of configuration loading and validation. */
#include "bocache/config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check_main.h"

#define NAME "t.conf"

#define ERRLEN 512

/* Loads TEXT under the name "t.conf", with the message in ERR. */
static bc_config *load_text(const char *text, char *err)
{
    err[0] = '\0';
    return bc_config_load_string(text, NAME, err, ERRLEN);
}

/* Writes TEXT to a new temporary file whose name is put in PATH. */
static void write_temp(const char *text, char *path, size_t len)
{
    snprintf(path, len, "/tmp/check_config-XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    size_t n = strlen(text);
    ck_assert_int_eq(write(fd, text, n), (ssize_t)n);
    close(fd);
}

/* Asserts that TEXT is refused with exactly the message WANT. */
static void assert_refused(const char *text, const char *want)
{
    char errbuf[ERRLEN];
    bc_config *cfg = load_text(text, errbuf);
    if (cfg != NULL) {
        bc_config_free(cfg);
        ck_abort_msg("accepted: %s", text);
    }
    ck_assert_str_eq(errbuf, want);
}

/* The defaults of SPEC section 3, checked on any configuration that sets
 * nothing. */
static void assert_defaults(const bc_config *c)
{
    ck_assert_int_eq(c->workers, 4);
    ck_assert_int_eq(c->log_level, BC_LOG_INFO);
    ck_assert_int_eq(c->log_syslog, 0);
    ck_assert_str_eq(c->status_path, "");
    ck_assert_uint_eq(c->nstatus_allow, 1);
    ck_assert_str_eq(c->status_allow[0], "127.0.0.1");
    ck_assert_ptr_null(c->backend.address);
    ck_assert_int_eq(c->backend.connect_timeout_ms, 1000);
    ck_assert_int_eq(c->backend.timeout_ms, 30000);
    ck_assert_int_eq(c->backend.keepalive, 0);
    ck_assert_int_eq(c->backend.keepalive_timeout_ms, 2000);
    ck_assert_str_eq(c->redis.address, "127.0.0.1:6379");
    ck_assert_int_eq(c->redis.db, 0);
    ck_assert_str_eq(c->redis.password, "");
    ck_assert_int_eq(c->redis.timeout_ms, 100);
    ck_assert_str_eq(c->redis.prefix, "bocache");
    ck_assert_str_eq(c->redis.channel, "bocache:invalidate");
    ck_assert_int_eq(c->cache.ttl, 300);
    ck_assert_int_eq(c->cache.stale_ttl, 0);
    ck_assert_int_eq(c->cache.max_object_size, 1048576);
    ck_assert_int_eq(c->cache.memory_size, 33554432);
    ck_assert_int_eq(c->cache.memory_ttl, 2);
    ck_assert_int_eq(c->cache.lock_timeout_ms, 5000);
    ck_assert_str_eq(c->cache.tags_header, "X-Cache-Tags");
    ck_assert_str_eq(c->cache.status_header, "X-Cache");
    ck_assert_str_eq(c->identity.api_key_header, "X-Api-Key");
    ck_assert_str_eq(c->identity.partner_id_header, "X-Partner-Id");
    ck_assert_str_eq(c->identity.partner_id_param, "partner_id");
    ck_assert_uint_eq(c->nendpoints, 0);
    ck_assert_ptr_null(c->endpoints);
}

START_TEST(test_default)
{
    bc_config *c = bc_config_default();
    ck_assert_ptr_nonnull(c);
    assert_defaults(c);
    bc_config_free(c);
}
END_TEST

START_TEST(test_empty_text_gives_defaults)
{
    char errbuf[ERRLEN];
    bc_config *c = load_text("# nothing set\n", errbuf);
    ck_assert_msg(c != NULL, "%s", errbuf);
    assert_defaults(c);
    ck_assert_str_eq(c->file, NAME);
    bc_config_free(c);
}
END_TEST

/* Every setting away from its default, so that a value read into the wrong
 * place or not read at all shows. */
static const char full_text[] =
    "workers = 8;\n"
    "log_level = \"debug\";\n"
    "log = \"syslog\";\n"
    "status_path = \"/bocache/status\";\n"
    "status_allow = [\"10.0.0.1\", \"::1\"];\n"
    "backend: {\n"
    "  address = \"127.0.0.1:9000\";\n"
    "  connect_timeout_ms = 250;\n"
    "  timeout_ms = 5000; keepalive = true; keepalive_timeout_ms = 500;\n"
    "};\n"
    "redis: {\n"
    "  address = \"unix:/run/redis/redis.sock\";\n"
    "  db = 3;\n"
    "  password = \"s3cret\";\n"
    "  timeout_ms = 50;\n"
    "  prefix = \"bc-test\";\n"
    "  channel = \"bc:inv\";\n"
    "};\n"
    "cache: {\n"
    "  ttl = 120;\n"
    "  stale_ttl = 30;\n"
    "  max_object_size = 2097152;\n"
    "  memory_size = 4294967296L;\n"
    "  memory_ttl = 0;\n"
    "  lock_timeout_ms = 700;\n"
    "  tags_header = \"Surrogate-Key\";\n"
    "  status_header = \"X-Bocache\";\n"
    "};\n"
    "identity: {\n"
    "  api_key_header = \"Authorization\";\n"
    "  partner_id_header = \"X-Partner\";\n"
    "  partner_id_param = \"pid\";\n"
    "};\n"
    "endpoints = (\n"
    "  { path = \"/api/v1/sports/\"; match = \"prefix\";\n"
    "    key_type = \"api_key\"; ttl = 600; stale_ttl = 60;\n"
    "    vary = [\"Accept-Language\", \"X-Device\"];\n"
    "    statuses = [200, 203, 404]; sort_query = false;\n"
    "    ignore_params = [\"_\", \"utm_source\"]; },\n"
    "  { path = \"/api/v1/public/\"; key_type = \"none\"; },\n"
    "  { path = \"/api/v1/widgets/\"; key_type = \"partner_id_and_origin\"; }\n"
    ");\n";

static void assert_full(const bc_config *c)
{
    ck_assert_int_eq(c->workers, 8);
    ck_assert_int_eq(c->log_level, BC_LOG_DEBUG);
    ck_assert_int_eq(c->log_syslog, 1);
    ck_assert_str_eq(c->status_path, "/bocache/status");
    ck_assert_uint_eq(c->nstatus_allow, 2);
    ck_assert_str_eq(c->status_allow[0], "10.0.0.1");
    ck_assert_str_eq(c->status_allow[1], "::1");
    ck_assert_str_eq(c->backend.address, "127.0.0.1:9000");
    ck_assert_int_eq(c->backend.connect_timeout_ms, 250);
    ck_assert_int_eq(c->backend.timeout_ms, 5000);
    ck_assert_int_eq(c->backend.keepalive, 1);
    ck_assert_int_eq(c->backend.keepalive_timeout_ms, 500);
    ck_assert_str_eq(c->redis.address, "unix:/run/redis/redis.sock");
    ck_assert_int_eq(c->redis.db, 3);
    ck_assert_str_eq(c->redis.password, "s3cret");
    ck_assert_int_eq(c->redis.timeout_ms, 50);
    ck_assert_str_eq(c->redis.prefix, "bc-test");
    ck_assert_str_eq(c->redis.channel, "bc:inv");
    ck_assert_int_eq(c->cache.ttl, 120);
    ck_assert_int_eq(c->cache.stale_ttl, 30);
    ck_assert_int_eq(c->cache.max_object_size, 2097152);
    if (sizeof(long) > 4)
        ck_assert_int_eq(c->cache.memory_size, 4294967296LL);
    ck_assert_int_eq(c->cache.memory_ttl, 0);
    ck_assert_int_eq(c->cache.lock_timeout_ms, 700);
    ck_assert_str_eq(c->cache.tags_header, "Surrogate-Key");
    ck_assert_str_eq(c->cache.status_header, "X-Bocache");
    ck_assert_str_eq(c->identity.api_key_header, "Authorization");
    ck_assert_str_eq(c->identity.partner_id_header, "X-Partner");
    ck_assert_str_eq(c->identity.partner_id_param, "pid");

    ck_assert_uint_eq(c->nendpoints, 3);
    const bc_endpoint *e = &c->endpoints[0];
    ck_assert_str_eq(e->path, "/api/v1/sports/");
    ck_assert_int_eq(e->match, BC_MATCH_PREFIX);
    ck_assert_int_eq(e->key_type, BC_KEYTYPE_API_KEY);
    ck_assert_int_eq(e->ttl, 600);
    ck_assert_int_eq(e->stale_ttl, 60);
    ck_assert_uint_eq(e->nvary, 2);
    ck_assert_str_eq(e->vary[0], "Accept-Language");
    ck_assert_str_eq(e->vary[1], "X-Device");
    ck_assert_uint_eq(e->nstatuses, 3);
    ck_assert_int_eq(e->statuses[0], 200);
    ck_assert_int_eq(e->statuses[1], 203);
    ck_assert_int_eq(e->statuses[2], 404);
    ck_assert_int_eq(e->sort_query, 0);
    ck_assert_uint_eq(e->nignore_params, 2);
    ck_assert_str_eq(e->ignore_params[0], "_");
    ck_assert_str_eq(e->ignore_params[1], "utm_source");
    ck_assert_int_eq(e->line, 35);
    ck_assert_int_eq(c->endpoints[1].key_type, BC_KEYTYPE_NONE);
    ck_assert_int_eq(c->endpoints[1].line, 40);
    ck_assert_int_eq(c->endpoints[2].key_type, BC_KEYTYPE_PARTNER_ORIGIN);
    ck_assert_str_eq(c->endpoints[2].path, "/api/v1/widgets/");
}

START_TEST(test_full_string)
{
    char errbuf[ERRLEN];
    bc_config *c = load_text(full_text, errbuf);
    ck_assert_msg(c != NULL, "%s", errbuf);
    assert_full(c);
    bc_config_free(c);
}
END_TEST

START_TEST(test_full_file)
{
    char errbuf[ERRLEN];
    char path[64];
    write_temp(full_text, path, sizeof path);
    bc_config *c = bc_config_load(path, errbuf, ERRLEN);
    unlink(path);
    ck_assert_msg(c != NULL, "%s", errbuf);
    assert_full(c);
    ck_assert_str_eq(c->file, path);
    bc_config_free(c);
}
END_TEST

START_TEST(test_example_file)
{
    char errbuf[ERRLEN];
    const char *top = getenv("top_srcdir");
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/etc/bocache.conf", top ? top : ".");
    bc_config *c = bc_config_load(path, errbuf, ERRLEN);
    ck_assert_msg(c != NULL, "%s", errbuf);
    ck_assert_uint_eq(c->nendpoints, 2);
    ck_assert_str_eq(c->endpoints[0].path, "/api/v1/sports/");
    ck_assert_int_eq(c->endpoints[0].match, BC_MATCH_PREFIX);
    ck_assert_int_eq(c->endpoints[0].ttl, 600);
    ck_assert_str_eq(c->endpoints[1].path,
                     "/api/v1/bet_insights/partner-widgets_settings/");
    ck_assert_int_eq(c->endpoints[1].key_type, BC_KEYTYPE_PARTNER_ORIGIN);
    ck_assert_int_eq(c->endpoints[1].ttl, c->cache.ttl);
    ck_assert_int_eq(c->workers, 4);
    ck_assert_str_eq(c->redis.prefix, "bocache");
    bc_config_free(c);
}
END_TEST

/* Endpoint TTLs default to the cache group's even when the endpoints come
 * first in the file. */
START_TEST(test_endpoint_defaults)
{
    char errbuf[ERRLEN];
    bc_config *c = load_text("endpoints = (\n"
                             "  { path = \"/a/\"; },\n"
                             "  { path = \"/b/\"; ttl = 9; stale_ttl = 0; }\n"
                             ");\n"
                             "cache: { ttl = 77; stale_ttl = 11; };\n",
                             errbuf);
    ck_assert_msg(c != NULL, "%s", errbuf);
    ck_assert_uint_eq(c->nendpoints, 2);
    const bc_endpoint *a = &c->endpoints[0];
    ck_assert_int_eq(a->ttl, 77);
    ck_assert_int_eq(a->stale_ttl, 11);
    ck_assert_int_eq(a->match, BC_MATCH_EXACT);
    ck_assert_int_eq(a->key_type, BC_KEYTYPE_API_KEY);
    ck_assert_uint_eq(a->nstatuses, 1);
    ck_assert_int_eq(a->statuses[0], 200);
    ck_assert_int_eq(a->sort_query, 1);
    ck_assert_uint_eq(a->nvary, 0);
    ck_assert_uint_eq(a->nignore_params, 0);
    ck_assert_int_eq(a->line, 2);
    ck_assert_int_eq(c->endpoints[1].ttl, 9);
    ck_assert_int_eq(c->endpoints[1].stale_ttl, 0);
    bc_config_free(c);
}
END_TEST

START_TEST(test_good_addresses)
{
    char errbuf[ERRLEN];
    static const char *const good[] = {
        "unix:/run/redis.sock",     "localhost:6379", "[::1]:6379",
        "redis-1.example.com:6380", "10.0.0.1:1",     "h:65535"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "redis: { address = \"%s\"; };", good[i]);
        bc_config *c = load_text(text, errbuf);
        ck_assert_msg(c != NULL, "%s: %s", good[i], errbuf);
        ck_assert_str_eq(c->redis.address, good[i]);
        bc_config_free(c);
    }
}
END_TEST

struct bad {
    const char *text;
    const char *want;
};

#define ADDR_FORM "must be \"unix:/absolute/path\" or \"host:port\""

/* Each refused configuration with its exact message. Lines are counted in
 * the text, so a wrong line number fails the test. */
static const struct bad bad_cases[] = {
    /* syntax */
    {"workers = 4;\nlog = ;\n", NAME ":2: syntax error"},
    {"workers = 4;\nworkers = 5;\n", NAME ":2: duplicate setting name"},
    /* unknown settings at each level */
    {"workers = 4;\n\nfoo = 1;\n", NAME ":3: unknown setting 'foo'"},
    {"redis: {\n  address = \"127.0.0.1:6379\";\n  tiemout_ms = 5;\n};\n",
     NAME ":3: unknown setting 'redis.tiemout_ms'"},
    {"backend: {\n  adress = \"unix:/a\";\n};\n",
     NAME ":2: unknown setting 'backend.adress'"},
    {"cache: { ttl = 5; }; identity: {\n key = \"X\"; };\n",
     NAME ":2: unknown setting 'identity.key'"},
    {"endpoints = (\n  { path = \"/a/\"; },\n  { path = \"/b/\";\n"
     "    colour = \"red\"; }\n);\n",
     NAME ":4: unknown setting 'endpoints[1].colour'"},
    /* wrong types */
    {"redis: {\n  timeout_ms = \"100\";\n};\n",
     NAME ":2: 'redis.timeout_ms' must be an integer"},
    {"workers = 4.0;\n", NAME ":1: 'workers' must be an integer"},
    {"\nlog_level = 3;\n", NAME ":2: 'log_level' must be a string"},
    {"status_path = 1;\n", NAME ":1: 'status_path' must be a string"},
    {"status_allow = \"127.0.0.1\";\n",
     NAME ":1: 'status_allow' must be a list of strings"},
    {"status_allow = [\n  1 ];\n",
     NAME ":2: 'status_allow[0]' must be a string"},
    {"cache = 5;\n", NAME ":1: 'cache' must be a group"},
    {"cache: { max_object_size = \"1M\"; };\n",
     NAME ":1: 'cache.max_object_size' must be an integer"},
    {"endpoints = 5;\n", NAME ":1: 'endpoints' must be a list of groups"},
    {"endpoints = (\n  \"/a/\" );\n",
     NAME ":2: 'endpoints[0]' must be a group"},
    {"endpoints = ({ path = \"/a/\";\n  sort_query = \"yes\"; });\n",
     NAME ":2: 'endpoints[0].sort_query' must be a boolean (true or false)"},
    {"endpoints = ({ path = \"/a/\";\n  statuses = 200; });\n",
     NAME ":2: 'endpoints[0].statuses' must be a list of integers"},
    {"endpoints = ({ path = \"/a/\";\n  statuses = [\"200\"]; });\n",
     NAME ":2: 'endpoints[0].statuses[0]' must be an integer"},
    /* out of range */
    {"\n\nworkers = 0;\n", NAME ":3: 'workers' must be between 1 and 256"},
    {"workers = 257;\n", NAME ":1: 'workers' must be between 1 and 256"},
    {"cache: {\n  memory_ttl = -1;\n};\n",
     NAME ":2: 'cache.memory_ttl' must be between 0 and 31536000"},
    {"cache: {\n  ttl = 0;\n};\n",
     NAME ":2: 'cache.ttl' must be between 1 and 31536000"},
    {"cache: {\n  max_object_size = 1073741824L;\n};\n",
     NAME ":2: 'cache.max_object_size' must be between 1 and 536870912"},
    {"cache: { memory_size = -1; };\n",
     NAME ":1: 'cache.memory_size' must be between 0 and 9223372036854775807"},
    {"redis: { db = -1; };\n",
     NAME ":1: 'redis.db' must be between 0 and 2147483647"},
    {"backend: { timeout_ms = 0; };\n",
     NAME ":1: 'backend.timeout_ms' must be between 1 and 86400000"},
    {"backend: { keepalive_timeout_ms = 0; };\n",
     NAME ":1: 'backend.keepalive_timeout_ms' must be between 1 and 3600000"},
    {"backend: { keepalive_timeout_ms = 3600001; };\n",
     NAME ":1: 'backend.keepalive_timeout_ms' must be between 1 and 3600000"},
    {"backend: {\n  keepalive = 1; };\n",
     NAME ":2: 'backend.keepalive' must be a boolean (true or false)"},
    {"endpoints = ({ path = \"/a/\";\n  ttl = 0; });\n",
     NAME ":2: 'endpoints[0].ttl' must be between 1 and 31536000"},
    {"endpoints = ({ path = \"/a/\";\n  stale_ttl = -1; });\n",
     NAME ":2: 'endpoints[0].stale_ttl' must be between 0 and 31536000"},
    /* bad enums */
    {"log_level = \"verbose\";\n",
     NAME ":1: 'log_level' must be one of error, warn, info, debug"},
    {"log = \"file\";\n", NAME ":1: 'log' must be one of stderr, syslog"},
    {"endpoints = ({ path = \"/a/\";\n  match = \"regex\"; });\n",
     NAME ":2: 'endpoints[0].match' must be one of exact, prefix"},
    {"endpoints = ({ path = \"/a/\";\n  key_type = \"user\"; });\n",
     NAME ":2: 'endpoints[0].key_type' must be one of api_key, "
          "partner_id_and_origin, none"},
    /* bad addresses */
    {"backend: {\n  address = \"localhost\";\n};\n",
     NAME ":2: 'backend.address' " ADDR_FORM},
    {"backend: { address = \"\"; };\n",
     NAME ":1: 'backend.address' " ADDR_FORM},
    {"backend: { address = \":9000\"; };\n",
     NAME ":1: 'backend.address' " ADDR_FORM},
    {"redis: { address = \"::1:6379\"; };\n",
     NAME ":1: 'redis.address' " ADDR_FORM},
    {"redis: { address = \"unix:run/redis.sock\"; };\n",
     NAME ":1: 'redis.address' must be \"unix:/absolute/path\" (the path must "
          "be absolute)"},
    {"redis: { address = \"127.0.0.1:0\"; };\n",
     NAME ":1: 'redis.address' must end in a port between 1 and 65535"},
    {"redis: { address = \"127.0.0.1:65536\"; };\n",
     NAME ":1: 'redis.address' must end in a port between 1 and 65535"},
    {"redis: { address = \"127.0.0.1:80x\"; };\n",
     NAME ":1: 'redis.address' must end in a port between 1 and 65535"},
    {"redis: { address = \"127.0.0.1:\"; };\n",
     NAME ":1: 'redis.address' must end in a port between 1 and 65535"},
    {"redis: { address = \"[::1:6379\"; };\n",
     NAME ":1: 'redis.address' " ADDR_FORM},
    {"redis: { address = \"[nothost]:6379\"; };\n",
     NAME ":1: 'redis.address' " ADDR_FORM},
    {"redis: { address = \"unix:/"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n",
     NAME ":1: 'redis.address' has a unix socket path that is too long"},
    /* other string rules */
    {"redis: { prefix = \"a:b\"; };\n",
     NAME ":1: 'redis.prefix' may only hold letters, digits, '_', '.' and "
          "'-'"},
    {"redis: { prefix = \"a b\"; };\n",
     NAME ":1: 'redis.prefix' may only hold letters, digits, '_', '.' and "
          "'-'"},
    {"redis: { prefix = \"a*\"; };\n",
     NAME ":1: 'redis.prefix' may only hold letters, digits, '_', '.' and "
          "'-'"},
    {"redis: { prefix = \"a{b}\"; };\n",
     NAME ":1: 'redis.prefix' may only hold letters, digits, '_', '.' and "
          "'-'"},
    {"redis: { prefix = \"caf\xc3\xa9\"; };\n",
     NAME ":1: 'redis.prefix' may only hold letters, digits, '_', '.' and "
          "'-'"},
    /* SPEC 4: 64 bytes at most, so every internal key fits BC_KEY_MAX. */
    {"redis: { prefix = "
     "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
     "aaaaaaaaaa\"; };\n",
     NAME ":1: 'redis.prefix' must be at most 64 bytes"},
    {"redis: { prefix = \"\"; };\n",
     NAME ":1: 'redis.prefix' must not be empty"},
    {"redis: { channel = \"\"; };\n",
     NAME ":1: 'redis.channel' must not be empty"},
    {"status_path = \"status\";\n",
     NAME ":1: 'status_path' must be empty or start with '/'"},
    {"status_allow = [\"127.0.0.1\",\n  \"localhost\"];\n",
     NAME ":2: 'status_allow[1]' must be an IPv4 or IPv6 address"},
    {"cache: { status_header = \"X Cache\"; };\n",
     NAME ":1: 'cache.status_header' must be a valid header name"},
    {"identity: { api_key_header = \"\"; };\n",
     NAME ":1: 'identity.api_key_header' must be a header name, not empty"},
    {"identity: { partner_id_param = \"a=b\"; };\n",
     NAME ":1: 'identity.partner_id_param' must be a query parameter name "
          "(no '&', '=', '#' or spaces)"},
    /* endpoints */
    {"endpoints = (\n  { path = \"/a/\"; },\n  { ttl = 5; }\n);\n",
     NAME ":3: 'endpoints[1].path' is required"},
    {"endpoints = (\n  { path = \"api/\"; }\n);\n",
     NAME ":2: 'endpoints[0].path' must start with '/'"},
    {"endpoints = (\n  { path = \"/a/\";\n    vary = [\"x-api-KEY\"]; }\n);\n",
     NAME ":2: 'endpoints[0].vary' must not name the API key header "
          "'x-api-KEY': it is already in the key, hashed"},
    /* CGI folds '-' and '_': X_Api_Key is the same parameter. */
    {"endpoints = (\n  { path = \"/a/\";\n    vary = [\"X_Api_Key\"]; }\n);\n",
     NAME ":2: 'endpoints[0].vary' must not name the API key header "
          "'X_Api_Key': it is already in the key, hashed"},
    {"endpoints = (\n  { path = \"/a/?x=1\"; }\n);\n",
     NAME ":2: 'endpoints[0].path' must not contain '?'"},
    {"endpoints = ({ path = \"/a/\";\n  statuses = [200,\n    600]; });\n",
     NAME ":3: 'endpoints[0].statuses[1]' must be between 100 and 599"},
    {"endpoints = ({ path = \"/a/\";\n  statuses = [99]; });\n",
     NAME ":2: 'endpoints[0].statuses[0]' must be between 100 and 599"},
    {"endpoints = ({ path = \"/a/\";\n  statuses = []; });\n",
     NAME ":2: 'endpoints[0].statuses' must not be empty"},
    {"endpoints = ({ path = \"/a/\";\n  vary = [\"Accept Language\"]; });\n",
     NAME ":2: 'endpoints[0].vary[0]' must be a valid header name"},
    {"endpoints = ({ path = \"/a/\";\n  ignore_params = [\"\"]; });\n",
     NAME ":2: 'endpoints[0].ignore_params[0]' must be a query parameter "
          "name, not empty"},
};

START_TEST(test_refused)
{
    assert_refused(bad_cases[_i].text, bad_cases[_i].want);
}
END_TEST

START_TEST(test_missing_file)
{
    char errbuf[ERRLEN];
    const char *path = "/nonexistent/bocache.conf";
    bc_config *c = bc_config_load(path, errbuf, ERRLEN);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(errbuf, "/nonexistent/bocache.conf: cannot read "
                             "configuration: No such file or directory");
}
END_TEST

/* Messages from a file name the file, at the right line. */
START_TEST(test_file_errors)
{
    char errbuf[ERRLEN];
    char path[64], want[256];
    write_temp("workers = 2;\n\nredis: {\n  nope = 1;\n};\n", path,
               sizeof path);
    bc_config *c = bc_config_load(path, errbuf, ERRLEN);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof want, "%s:4: unknown setting 'redis.nope'", path);
    ck_assert_str_eq(errbuf, want);
    unlink(path);

    write_temp("workers = 2;\nlog_level = \"info\";\ncache: { ttl = = 3; };\n",
               path, sizeof path);
    c = bc_config_load(path, errbuf, ERRLEN);
    ck_assert_ptr_null(c);
    snprintf(want, sizeof want, "%s:3: syntax error", path);
    ck_assert_str_eq(errbuf, want);
    unlink(path);
}
END_TEST

START_TEST(test_small_error_buffer)
{
    char small[12];
    memset(small, 'x', sizeof small);
    bc_config *c =
        bc_config_load_string("workers = 0;", NAME, small, sizeof small);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(small, "t.conf:1: '");
    ck_assert_ptr_null(bc_config_load_string("workers = 0;", NAME, NULL, 0));
    ck_assert_ptr_null(bc_config_load("/nonexistent", NULL, 0));
}
END_TEST

START_TEST(test_default_name)
{
    char errbuf[ERRLEN];
    bc_config *c = bc_config_load_string("foo = 1;", NULL, errbuf, ERRLEN);
    ck_assert_ptr_null(c);
    ck_assert_str_eq(errbuf, "<string>:1: unknown setting 'foo'");
}
END_TEST

/* Overriding a default list or string replaces it, and a later error frees
 * what was loaded so far (valgrind checks the freeing). */
START_TEST(test_replace_and_partial)
{
    char errbuf[ERRLEN];
    bc_config *c =
        load_text("status_allow = [];\nredis: { prefix = \"p\"; };\n", errbuf);
    ck_assert_msg(c != NULL, "%s", errbuf);
    ck_assert_uint_eq(c->nstatus_allow, 0);
    ck_assert_str_eq(c->redis.prefix, "p");
    bc_config_free(c);
    /* The longest prefix SPEC 4 allows, of every allowed kind of byte. */
    c = load_text("redis: { prefix = \"Az09_.-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                  "aaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n",
                  errbuf);
    ck_assert_msg(c != NULL, "%s", errbuf);
    ck_assert_uint_eq(strlen(c->redis.prefix), 64);
    bc_config_free(c);
    assert_refused("status_allow = [\"::1\"];\n"
                   "endpoints = ({ path = \"/a/\"; vary = [\"A\"];\n"
                   "  ignore_params = [\"x\"]; statuses = [200, 201]; },\n"
                   "  { path = \"/b/\"; vary = [\"B\", \"C D\"]; });\n",
                   NAME ":4: 'endpoints[1].vary[1]' must be a valid header "
                        "name");
    bc_config_free(NULL);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_default);
    tcase_add_test(tc, test_empty_text_gives_defaults);
    tcase_add_test(tc, test_full_string);
    tcase_add_test(tc, test_full_file);
    tcase_add_test(tc, test_example_file);
    tcase_add_test(tc, test_endpoint_defaults);
    tcase_add_test(tc, test_good_addresses);
    tcase_add_test(tc, test_missing_file);
    tcase_add_test(tc, test_file_errors);
    tcase_add_test(tc, test_small_error_buffer);
    tcase_add_test(tc, test_default_name);
    tcase_add_test(tc, test_replace_and_partial);
    suite_add_tcase(s, tc);
    TCase *bad = tcase_create("refused");
    tcase_add_loop_test(bad, test_refused, 0,
                        (int)(sizeof bad_cases / sizeof bad_cases[0]));
    suite_add_tcase(s, bad);
    return s;
}

BC_CHECK_MAIN(config_suite)
