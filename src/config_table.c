/* config_table.c: each setting's name, type, default and bounds, and the
 * rules its value must follow (SPEC section 3). */
#include "config_table.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "address.h"
#include "bocache/config.h"

static const char *const log_level_names[] = {"error", "warn", "info", "debug",
                                              NULL};
static const char *const log_names[] = {"stderr", "syslog", NULL};
static const char *const match_names[] = {"exact", "prefix", NULL};
static const char *const keytype_names[] = {"api_key", "partner_id_and_origin",
                                            "none", NULL};

/* The longest TTL accepted. A year is far beyond any sensible entry life, and
 * it keeps ttl + stale_ttl well inside an int wherever it is summed. */
#define MAX_TTL 31536000

/* Redis refuses string values over 512 MiB, so no larger entry can be kept. */
#define MAX_OBJECT 536870912L

static const char *check_prefix(const char *s);
static const char *check_nonempty(const char *s);
static const char *check_header(const char *s);
static const char *check_param(const char *s);
static const char *check_status_path(const char *s);
static const char *check_ip(const char *s);
static const char *check_path(const char *s);
static const char *check_status(long long v);

#define C(m) offsetof(bc_config, m)
#define E(m) offsetof(bc_endpoint, m)

/* Addresses are checked by address.c, by the rules they are parsed by
 * when connecting, so nothing that passes here is refused there. */
static const struct bc_config_field backend_fields[] = {
    {.name = "address",
     .type = BC_FIELD_STRING,
     .off = C(backend.address),
     .check = bc_address_check},
    {.name = "connect_timeout_ms",
     .type = BC_FIELD_INT,
     .off = C(backend.connect_timeout_ms),
     .def = 1000,
     .min = 1,
     .max = 600000},
    {.name = "timeout_ms",
     .type = BC_FIELD_INT,
     .off = C(backend.timeout_ms),
     .def = 30000,
     .min = 1,
     .max = 86400000},
    {.name = "keepalive", .type = BC_FIELD_BOOL, .off = C(backend.keepalive)},
    {.name = "keepalive_timeout_ms",
     .type = BC_FIELD_INT,
     .off = C(backend.keepalive_timeout_ms),
     .def = 2000,
     .min = 1,
     .max = 3600000},
    {.name = NULL},
};

static const struct bc_config_field redis_fields[] = {
    {.name = "address",
     .type = BC_FIELD_STRING,
     .off = C(redis.address),
     .sdef = "127.0.0.1:6379",
     .check = bc_address_check},
    {.name = "db",
     .type = BC_FIELD_INT,
     .off = C(redis.db),
     .min = 0,
     .max = INT_MAX},
    {.name = "password",
     .type = BC_FIELD_STRING,
     .off = C(redis.password),
     .sdef = ""},
    {.name = "timeout_ms",
     .type = BC_FIELD_INT,
     .off = C(redis.timeout_ms),
     .def = 100,
     .min = 1,
     .max = 60000},
    {.name = "prefix",
     .type = BC_FIELD_STRING,
     .off = C(redis.prefix),
     .sdef = "bocache",
     .check = check_prefix},
    {.name = "channel",
     .type = BC_FIELD_STRING,
     .off = C(redis.channel),
     .sdef = "bocache:invalidate",
     .check = check_nonempty},
    {.name = NULL},
};

static const struct bc_config_field cache_fields[] = {
    {.name = "ttl",
     .type = BC_FIELD_INT,
     .off = C(cache.ttl),
     .def = 300,
     .min = 1,
     .max = MAX_TTL},
    {.name = "stale_ttl",
     .type = BC_FIELD_INT,
     .off = C(cache.stale_ttl),
     .min = 0,
     .max = MAX_TTL},
    {.name = "max_object_size",
     .type = BC_FIELD_LONG,
     .off = C(cache.max_object_size),
     .def = 1048576,
     .min = 1,
     .max = MAX_OBJECT},
    {.name = "memory_size",
     .type = BC_FIELD_LONG,
     .off = C(cache.memory_size),
     .def = 33554432,
     .min = 0,
     .max = LONG_MAX},
    {.name = "memory_ttl",
     .type = BC_FIELD_INT,
     .off = C(cache.memory_ttl),
     .def = 2,
     .min = 0,
     .max = MAX_TTL},
    {.name = "lock_timeout_ms",
     .type = BC_FIELD_INT,
     .off = C(cache.lock_timeout_ms),
     .def = 5000,
     .min = 0,
     .max = 600000},
    {.name = "tags_header",
     .type = BC_FIELD_STRING,
     .off = C(cache.tags_header),
     .sdef = "X-Cache-Tags",
     .check = check_header},
    {.name = "status_header",
     .type = BC_FIELD_STRING,
     .off = C(cache.status_header),
     .sdef = "X-Cache",
     .check = check_header},
    {.name = NULL},
};

static const struct bc_config_field identity_fields[] = {
    {.name = "api_key_header",
     .type = BC_FIELD_STRING,
     .off = C(identity.api_key_header),
     .sdef = "X-Api-Key",
     .check = check_header},
    {.name = "partner_id_header",
     .type = BC_FIELD_STRING,
     .off = C(identity.partner_id_header),
     .sdef = "X-Partner-Id",
     .check = check_header},
    {.name = "partner_id_param",
     .type = BC_FIELD_STRING,
     .off = C(identity.partner_id_param),
     .sdef = "partner_id",
     .check = check_param},
    {.name = NULL},
};

const struct bc_config_field bc_config_endpoint_fields[] = {
    {.name = "path",
     .type = BC_FIELD_STRING,
     .off = E(path),
     .check = check_path,
     .flags = BC_FIELD_REQUIRED},
    {.name = "match",
     .type = BC_FIELD_ENUM,
     .off = E(match),
     .def = BC_MATCH_EXACT,
     .names = match_names},
    {.name = "key_type",
     .type = BC_FIELD_ENUM,
     .off = E(key_type),
     .def = BC_KEYTYPE_API_KEY,
     .names = keytype_names},
    {.name = "ttl",
     .type = BC_FIELD_INT,
     .off = E(ttl),
     .min = 1,
     .max = MAX_TTL,
     .flags = BC_FIELD_INHERIT,
     .inherit = C(cache.ttl)},
    {.name = "stale_ttl",
     .type = BC_FIELD_INT,
     .off = E(stale_ttl),
     .min = 0,
     .max = MAX_TTL,
     .flags = BC_FIELD_INHERIT,
     .inherit = C(cache.stale_ttl)},
    {.name = "vary",
     .type = BC_FIELD_STRLIST,
     .off = E(vary),
     .count_off = E(nvary),
     .check = check_header},
    {.name = "statuses",
     .type = BC_FIELD_INTLIST,
     .off = E(statuses),
     .count_off = E(nstatuses),
     .def = 200,
     .min = 100,
     .max = 599,
     .icheck = check_status,
     .flags = BC_FIELD_NONEMPTY},
    {.name = "sort_query",
     .type = BC_FIELD_BOOL,
     .off = E(sort_query),
     .def = 1},
    {.name = "ignore_cookies",
     .type = BC_FIELD_BOOL,
     .off = E(ignore_cookies),
     .def = 0},
    {.name = "ignore_params",
     .type = BC_FIELD_STRLIST,
     .off = E(ignore_params),
     .count_off = E(nignore_params),
     .check = check_param},
    {.name = NULL},
};

/* The top level. Endpoints come last because their defaults are read from
 * the cache group, which must be loaded first whatever the file's order. */
const struct bc_config_field bc_config_root_fields[] = {
    {.name = "workers",
     .type = BC_FIELD_INT,
     .off = C(workers),
     .def = 4,
     .min = 1,
     .max = 256},
    {.name = "log_level",
     .type = BC_FIELD_ENUM,
     .off = C(log_level),
     .def = BC_LOG_INFO,
     .names = log_level_names},
    {.name = "log",
     .type = BC_FIELD_ENUM,
     .off = C(log_syslog),
     .names = log_names},
    {.name = "status_path",
     .type = BC_FIELD_STRING,
     .off = C(status_path),
     .sdef = "",
     .check = check_status_path},
    {.name = "status_allow",
     .type = BC_FIELD_STRLIST,
     .off = C(status_allow),
     .count_off = C(nstatus_allow),
     .sdef = "127.0.0.1",
     .check = check_ip},
    {.name = "backend", .type = BC_FIELD_GROUP, .sub = backend_fields},
    {.name = "redis", .type = BC_FIELD_GROUP, .sub = redis_fields},
    {.name = "cache", .type = BC_FIELD_GROUP, .sub = cache_fields},
    {.name = "identity", .type = BC_FIELD_GROUP, .sub = identity_fields},
    {.name = "endpoints",
     .type = BC_FIELD_ENDPOINTS,
     .sub = bc_config_endpoint_fields},
    {.name = NULL},
};

#undef C
#undef E

/* ---- value rules ---- */

/* The prefix starts every key and is used in SCAN patterns, so it must hold
 * neither the key separator nor a glob metacharacter; SPEC 4 narrows it to
 * a short name so that every key bocache builds fits BC_KEY_MAX. */
#define PREFIX_MAX 64

static const char *check_prefix(const char *s)
{
    size_t n = strlen(s);
    if (n == 0)
        return "must not be empty";
    if (n > PREFIX_MAX)
        return "must be at most 64 bytes";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (!isalnum(c) && c != '_' && c != '.' && c != '-')
            return "may only hold letters, digits, '_', '.' and '-'";
    }
    return NULL;
}

static const char *check_nonempty(const char *s)
{
    return *s ? NULL : "must not be empty";
}

/* RFC 9110 token characters, which are all a header name may hold. */
static int is_tchar(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *check_header(const char *s)
{
    if (*s == '\0')
        return "must be a header name, not empty";
    for (; *s; s++)
        if (!is_tchar((unsigned char)*s))
            return "must be a valid header name";
    return NULL;
}

/* A query parameter name as it is compared against the raw query string:
 * the query's own delimiters could never match. */
static const char *check_param(const char *s)
{
    if (*s == '\0')
        return "must be a query parameter name, not empty";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '&' || c == '=' || c == '#' || isspace(c) || iscntrl(c))
            return "must be a query parameter name (no '&', '=', '#' or "
                   "spaces)";
    }
    return NULL;
}

static const char *check_status_path(const char *s)
{
    return *s == '\0' || *s == '/' ? NULL : "must be empty or start with '/'";
}

/* REMOTE_ADDR is always a numeric address, so anything else (a host name,
 * a stray space) could never match and is surely a mistake. */
static const char *check_ip(const char *s)
{
    struct in6_addr a;
    if (inet_pton(AF_INET, s, &a) == 1 || inet_pton(AF_INET6, s, &a) == 1)
        return NULL;
    return "must be an IPv4 or IPv6 address";
}

static const char *check_path(const char *s)
{
    if (*s != '/')
        return "must start with '/'";
    /* Endpoints match the request path, which never holds the query. */
    if (strchr(s, '?') != NULL)
        return "must not contain '?'";
    return NULL;
}

/* A status a stored entry can answer with: a final one, not a 304 (which
 * answers a conditional request, and bocache answers those itself) nor a
 * 206 (bocache answers Range requests uncached). Statuses RFC 9110 15.1
 * does not call heuristically cacheable are stored only with explicit
 * freshness (storable.c). */
static const char *check_status(long long v)
{
    if (v < 200)
        return "must hold final statuses (200-599), not 1xx";
    if (v == 206)
        return "must not hold 206: bocache answers Range requests uncached";
    if (v == 304)
        return "must not hold 304: bocache answers conditional requests "
               "from the stored 200";
    return NULL;
}
