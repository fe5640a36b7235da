/* config.c: loading and validating the configuration file (SPEC section 3). */
#include "bocache/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "address.h"

/* Enum settings are stored through an int pointer, which is only sound if
 * the enums have the size of an int. */
_Static_assert(sizeof(bc_match) == sizeof(int), "bc_match is int-sized");
_Static_assert(sizeof(bc_keytype) == sizeof(int), "bc_keytype is int-sized");
_Static_assert(sizeof(bc_log_level) == sizeof(int), "bc_log_level int-sized");

/* The kinds of value a setting can hold, and so how it is read. */
enum ftype {
    T_INT,       /* int, bounded */
    T_LONG,      /* long, bounded; accepts 64-bit literals (1234L) */
    T_BOOL,      /* int, 0 or 1 */
    T_ENUM,      /* int, the index of the word in names */
    T_STRING,    /* char *, owned */
    T_STRLIST,   /* char **, owned, count at count_off */
    T_INTLIST,   /* int *, owned, count at count_off, elements bounded */
    T_GROUP,     /* a nested group whose fields are in sub */
    T_ENDPOINTS, /* the endpoints list, each entry validated by sub */
};

#define F_REQUIRED 1 /* absence is an error */
#define F_INHERIT 2  /* the default is the int at inherit in bc_config */
#define F_NONEMPTY 4 /* lists: an empty list is an error */

/* A rule a string must satisfy beyond being a string: returns NULL when S
 * is acceptable, else the end of a message ("must be ..."). */
typedef const char *(*str_check)(const char *s);

/* One setting. Offsets are from the start of the record the table fills:
 * bc_config for the top level and its groups, bc_endpoint for endpoints. */
struct field {
    const char *name;
    enum ftype type;
    size_t off;
    size_t count_off;         /* lists: where the length goes */
    long long def;            /* scalars; int lists: the one default element */
    const char *sdef;         /* strings; string lists: the one default */
    long long min, max;       /* ints and int list elements */
    const char *const *names; /* enums: the words, in value order, NULL-ended */
    str_check check;          /* strings and string list elements */
    const struct field *sub;  /* groups and endpoints */
    int flags;
    size_t inherit; /* F_INHERIT: offset in bc_config */
};

/* Where a load is reporting to. FILE is the name used in messages. */
struct loader {
    const char *file;
    char *err;
    size_t errlen;
    bc_config *cfg;
};

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

#define C(m) offsetof(bc_config, m)
#define E(m) offsetof(bc_endpoint, m)

/* Addresses are checked by address.c, by the rules they are parsed by
 * when connecting, so nothing that passes here is refused there. */
static const struct field backend_fields[] = {
    {.name = "address",
     .type = T_STRING,
     .off = C(backend.address),
     .check = bc_address_check},
    {.name = "connect_timeout_ms",
     .type = T_INT,
     .off = C(backend.connect_timeout_ms),
     .def = 1000,
     .min = 1,
     .max = 600000},
    {.name = "timeout_ms",
     .type = T_INT,
     .off = C(backend.timeout_ms),
     .def = 30000,
     .min = 1,
     .max = 86400000},
    {.name = "keepalive", .type = T_BOOL, .off = C(backend.keepalive)},
    {.name = "keepalive_timeout_ms",
     .type = T_INT,
     .off = C(backend.keepalive_timeout_ms),
     .def = 2000,
     .min = 1,
     .max = 3600000},
    {.name = NULL},
};

static const struct field redis_fields[] = {
    {.name = "address",
     .type = T_STRING,
     .off = C(redis.address),
     .sdef = "127.0.0.1:6379",
     .check = bc_address_check},
    {.name = "db", .type = T_INT, .off = C(redis.db), .min = 0, .max = INT_MAX},
    {.name = "password",
     .type = T_STRING,
     .off = C(redis.password),
     .sdef = ""},
    {.name = "timeout_ms",
     .type = T_INT,
     .off = C(redis.timeout_ms),
     .def = 100,
     .min = 1,
     .max = 60000},
    {.name = "prefix",
     .type = T_STRING,
     .off = C(redis.prefix),
     .sdef = "bocache",
     .check = check_prefix},
    {.name = "channel",
     .type = T_STRING,
     .off = C(redis.channel),
     .sdef = "bocache:invalidate",
     .check = check_nonempty},
    {.name = NULL},
};

static const struct field cache_fields[] = {
    {.name = "ttl",
     .type = T_INT,
     .off = C(cache.ttl),
     .def = 300,
     .min = 1,
     .max = MAX_TTL},
    {.name = "stale_ttl",
     .type = T_INT,
     .off = C(cache.stale_ttl),
     .min = 0,
     .max = MAX_TTL},
    {.name = "max_object_size",
     .type = T_LONG,
     .off = C(cache.max_object_size),
     .def = 1048576,
     .min = 1,
     .max = MAX_OBJECT},
    {.name = "memory_size",
     .type = T_LONG,
     .off = C(cache.memory_size),
     .def = 33554432,
     .min = 0,
     .max = LONG_MAX},
    {.name = "memory_ttl",
     .type = T_INT,
     .off = C(cache.memory_ttl),
     .def = 2,
     .min = 0,
     .max = MAX_TTL},
    {.name = "lock_timeout_ms",
     .type = T_INT,
     .off = C(cache.lock_timeout_ms),
     .def = 5000,
     .min = 0,
     .max = 600000},
    {.name = "tags_header",
     .type = T_STRING,
     .off = C(cache.tags_header),
     .sdef = "X-Cache-Tags",
     .check = check_header},
    {.name = "status_header",
     .type = T_STRING,
     .off = C(cache.status_header),
     .sdef = "X-Cache",
     .check = check_header},
    {.name = NULL},
};

static const struct field identity_fields[] = {
    {.name = "api_key_header",
     .type = T_STRING,
     .off = C(identity.api_key_header),
     .sdef = "X-Api-Key",
     .check = check_header},
    {.name = "partner_id_header",
     .type = T_STRING,
     .off = C(identity.partner_id_header),
     .sdef = "X-Partner-Id",
     .check = check_header},
    {.name = "partner_id_param",
     .type = T_STRING,
     .off = C(identity.partner_id_param),
     .sdef = "partner_id",
     .check = check_param},
    {.name = NULL},
};

static const struct field endpoint_fields[] = {
    {.name = "path",
     .type = T_STRING,
     .off = E(path),
     .check = check_path,
     .flags = F_REQUIRED},
    {.name = "match",
     .type = T_ENUM,
     .off = E(match),
     .def = BC_MATCH_EXACT,
     .names = match_names},
    {.name = "key_type",
     .type = T_ENUM,
     .off = E(key_type),
     .def = BC_KEYTYPE_API_KEY,
     .names = keytype_names},
    {.name = "ttl",
     .type = T_INT,
     .off = E(ttl),
     .min = 1,
     .max = MAX_TTL,
     .flags = F_INHERIT,
     .inherit = C(cache.ttl)},
    {.name = "stale_ttl",
     .type = T_INT,
     .off = E(stale_ttl),
     .min = 0,
     .max = MAX_TTL,
     .flags = F_INHERIT,
     .inherit = C(cache.stale_ttl)},
    {.name = "vary",
     .type = T_STRLIST,
     .off = E(vary),
     .count_off = E(nvary),
     .check = check_header},
    {.name = "statuses",
     .type = T_INTLIST,
     .off = E(statuses),
     .count_off = E(nstatuses),
     .def = 200,
     .min = 100,
     .max = 599,
     .flags = F_NONEMPTY},
    {.name = "sort_query", .type = T_BOOL, .off = E(sort_query), .def = 1},
    {.name = "ignore_cookies",
     .type = T_BOOL,
     .off = E(ignore_cookies),
     .def = 0},
    {.name = "ignore_params",
     .type = T_STRLIST,
     .off = E(ignore_params),
     .count_off = E(nignore_params),
     .check = check_param},
    {.name = NULL},
};

/* The top level. Endpoints come last because their defaults are read from
 * the cache group, which must be loaded first whatever the file's order. */
static const struct field root_fields[] = {
    {.name = "workers",
     .type = T_INT,
     .off = C(workers),
     .def = 4,
     .min = 1,
     .max = 256},
    {.name = "log_level",
     .type = T_ENUM,
     .off = C(log_level),
     .def = BC_LOG_INFO,
     .names = log_level_names},
    {.name = "log", .type = T_ENUM, .off = C(log_syslog), .names = log_names},
    {.name = "status_path",
     .type = T_STRING,
     .off = C(status_path),
     .sdef = "",
     .check = check_status_path},
    {.name = "status_allow",
     .type = T_STRLIST,
     .off = C(status_allow),
     .count_off = C(nstatus_allow),
     .sdef = "127.0.0.1",
     .check = check_ip},
    {.name = "backend", .type = T_GROUP, .sub = backend_fields},
    {.name = "redis", .type = T_GROUP, .sub = redis_fields},
    {.name = "cache", .type = T_GROUP, .sub = cache_fields},
    {.name = "identity", .type = T_GROUP, .sub = identity_fields},
    {.name = "endpoints", .type = T_ENDPOINTS, .sub = endpoint_fields},
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

/* Header names as CGI passes them: '-' and '_' both become '_', case is
 * lost. Two names that fold alike are one parameter to the backend. */
static int same_cgi_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a == '-' ? '_' : (char)tolower((unsigned char)*a);
        char y = *b == '-' ? '_' : (char)tolower((unsigned char)*b);
        if (x != y)
            return 0;
    }
    return *a == *b;
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

/* ---- messages ---- */

static int vreport(struct loader *ld, const config_setting_t *s,
                   const char *fmt, va_list ap)
{
    if (ld->err == NULL || ld->errlen == 0)
        return -1;
    /* Scalars in lists and the root carry no line of their own; the nearest
     * enclosing setting that has one is where to look. */
    while (s != NULL && config_setting_source_line(s) == 0)
        s = config_setting_parent(s);
    const char *file = ld->file;
    if (s != NULL && config_setting_source_file(s) != NULL)
        file = config_setting_source_file(s);
    int n;
    if (s != NULL)
        n = snprintf(ld->err, ld->errlen, "%s:%u: ", file,
                     (unsigned)config_setting_source_line(s));
    else
        n = snprintf(ld->err, ld->errlen, "%s: ", file);
    if (n >= 0 && (size_t)n < ld->errlen)
        vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
    return -1;
}

/* Writes "FILE:LINE: message" for setting S into the loader's buffer and
 * returns -1, so that callers can `return report(...)`. */
__attribute__((format(printf, 3, 4))) static int
report(struct loader *ld, const config_setting_t *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vreport(ld, s, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct loader *ld, const config_setting_t *s)
{
    return report(ld, s, "out of memory");
}

/* The dotted name of a setting for messages: "redis.timeout_ms",
 * "endpoints[2].ttl". */
static void join_name(char *buf, size_t len, const char *prefix,
                      const char *name)
{
    if (*prefix)
        snprintf(buf, len, "%s.%s", prefix, name);
    else
        snprintf(buf, len, "%s", name);
}

/* ---- defaults and freeing, both driven by the tables ---- */

static void *at(void *base, size_t off)
{
    return (char *)base + off;
}

static void free_strlist(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

static void free_endpoints(bc_config *cfg);

static void free_fields(const struct field *t, void *base, bc_config *cfg)
{
    for (; t->name; t++) {
        switch (t->type) {
        case T_STRING:
            free(*(char **)at(base, t->off));
            break;
        case T_STRLIST:
            free_strlist(*(char ***)at(base, t->off),
                         *(size_t *)at(base, t->count_off));
            break;
        case T_INTLIST:
            free(*(int **)at(base, t->off));
            break;
        case T_GROUP:
            free_fields(t->sub, base, cfg);
            break;
        case T_ENDPOINTS:
            free_endpoints(cfg);
            break;
        default:
            break;
        }
    }
}

static void free_endpoints(bc_config *cfg)
{
    for (size_t i = 0; i < cfg->nendpoints; i++)
        free_fields(endpoint_fields, &cfg->endpoints[i], cfg);
    free(cfg->endpoints);
    cfg->endpoints = NULL;
    cfg->nendpoints = 0;
}

/* A list of one element, or an empty list when the default is absent.
 * Returns -1 when out of memory. */
static int default_strlist(const struct field *t, void *base)
{
    char **list = NULL;
    if (t->sdef != NULL) {
        list = calloc(1, sizeof *list);
        if (list == NULL || (list[0] = strdup(t->sdef)) == NULL) {
            free(list);
            return -1;
        }
    }
    *(char ***)at(base, t->off) = list;
    *(size_t *)at(base, t->count_off) = list ? 1 : 0;
    return 0;
}

static int default_intlist(const struct field *t, void *base)
{
    int *list = NULL;
    if (t->def != 0) {
        list = malloc(sizeof *list);
        if (list == NULL)
            return -1;
        list[0] = (int)t->def;
    }
    *(int **)at(base, t->off) = list;
    *(size_t *)at(base, t->count_off) = list ? 1 : 0;
    return 0;
}

/* Fills BASE with the defaults of table T. CFG supplies inherited values.
 * Returns -1 when out of memory; what was set is freed by free_fields. */
static int set_defaults(const struct field *t, void *base, bc_config *cfg)
{
    for (; t->name; t++) {
        int rc = 0;
        switch (t->type) {
        case T_INT:
        case T_BOOL:
        case T_ENUM:
            *(int *)at(base, t->off) = t->flags & F_INHERIT
                                           ? *(int *)at(cfg, t->inherit)
                                           : (int)t->def;
            break;
        case T_LONG:
            *(long *)at(base, t->off) = (long)t->def;
            break;
        case T_STRING:
            if (t->sdef != NULL &&
                (*(char **)at(base, t->off) = strdup(t->sdef)) == NULL)
                rc = -1;
            break;
        case T_STRLIST:
            rc = default_strlist(t, base);
            break;
        case T_INTLIST:
            rc = default_intlist(t, base);
            break;
        case T_GROUP:
            rc = set_defaults(t->sub, base, cfg);
            break;
        case T_ENDPOINTS:
            break;
        }
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---- reading values ---- */

static int is_integer(const config_setting_t *s)
{
    int type = config_setting_type(s);
    return type == CONFIG_TYPE_INT || type == CONFIG_TYPE_INT64;
}

static int is_list(const config_setting_t *s)
{
    return config_setting_is_list(s) || config_setting_is_array(s);
}

static int range_error(struct loader *ld, const config_setting_t *s,
                       const char *name, const struct field *t)
{
    return report(ld, s, "'%s' must be between %lld and %lld", name, t->min,
                  t->max);
}

static int load_int(struct loader *ld, const struct field *t,
                    const config_setting_t *s, void *base, const char *name)
{
    if (!is_integer(s))
        return report(ld, s, "'%s' must be an integer", name);
    long long v = config_setting_get_int64(s);
    if (v < t->min || v > t->max)
        return range_error(ld, s, name, t);
    if (t->type == T_LONG)
        *(long *)at(base, t->off) = (long)v;
    else
        *(int *)at(base, t->off) = (int)v;
    return 0;
}

static int load_bool(struct loader *ld, const struct field *t,
                     const config_setting_t *s, void *base, const char *name)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return report(ld, s, "'%s' must be a boolean (true or false)", name);
    *(int *)at(base, t->off) = config_setting_get_bool(s) ? 1 : 0;
    return 0;
}

static int load_enum(struct loader *ld, const struct field *t,
                     const config_setting_t *s, void *base, const char *name)
{
    const char *v = config_setting_get_string(s);
    if (v == NULL)
        return report(ld, s, "'%s' must be a string", name);
    for (int i = 0; t->names[i]; i++) {
        if (strcmp(v, t->names[i]) == 0) {
            *(int *)at(base, t->off) = i;
            return 0;
        }
    }
    char words[128] = "";
    for (int i = 0; t->names[i]; i++) {
        if (i > 0)
            strncat(words, ", ", sizeof words - strlen(words) - 1);
        strncat(words, t->names[i], sizeof words - strlen(words) - 1);
    }
    return report(ld, s, "'%s' must be one of %s", name, words);
}

static int load_string(struct loader *ld, const struct field *t,
                       const config_setting_t *s, void *base, const char *name)
{
    const char *v = config_setting_get_string(s);
    if (v == NULL)
        return report(ld, s, "'%s' must be a string", name);
    const char *why = t->check ? t->check(v) : NULL;
    if (why != NULL)
        return report(ld, s, "'%s' %s", name, why);
    char *copy = strdup(v);
    if (copy == NULL)
        return oom(ld, s);
    char **slot = at(base, t->off);
    free(*slot);
    *slot = copy;
    return 0;
}

/* Reads list S of strings into a new array of N copies; NULL with a
 * message on error. */
static char **read_strlist(struct loader *ld, const struct field *t,
                           const config_setting_t *s, const char *name,
                           size_t n)
{
    char **list = calloc(n ? n : 1, sizeof *list);
    if (list == NULL) {
        oom(ld, s);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        const char *why = v == NULL ? "must be a string" : NULL;
        if (why == NULL && t->check != NULL)
            why = t->check(v);
        if (why != NULL) {
            report(ld, e, "'%s[%zu]' %s", name, i, why);
            goto fail;
        }
        if ((list[i] = strdup(v)) == NULL) {
            oom(ld, e);
            goto fail;
        }
    }
    return list;
fail:
    free_strlist(list, n);
    return NULL;
}

static int load_strlist(struct loader *ld, const struct field *t,
                        const config_setting_t *s, void *base, const char *name)
{
    if (!is_list(s))
        return report(ld, s, "'%s' must be a list of strings", name);
    size_t n = (size_t)config_setting_length(s);
    if (n == 0 && (t->flags & F_NONEMPTY))
        return report(ld, s, "'%s' must not be empty", name);
    char **list = read_strlist(ld, t, s, name, n);
    if (list == NULL)
        return -1;
    char ***slot = at(base, t->off);
    size_t *count = at(base, t->count_off);
    free_strlist(*slot, *count);
    *slot = list;
    *count = n;
    return 0;
}

/* Reads element I of int list S, bounded by T. */
static int read_int_elem(struct loader *ld, const struct field *t,
                         const config_setting_t *s, const char *name, size_t i,
                         int *out)
{
    const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
    if (!is_integer(e))
        return report(ld, e, "'%s[%zu]' must be an integer", name, i);
    long long v = config_setting_get_int64(e);
    if (v < t->min || v > t->max)
        return report(ld, e, "'%s[%zu]' must be between %lld and %lld", name, i,
                      t->min, t->max);
    *out = (int)v;
    return 0;
}

static int load_intlist(struct loader *ld, const struct field *t,
                        const config_setting_t *s, void *base, const char *name)
{
    if (!is_list(s))
        return report(ld, s, "'%s' must be a list of integers", name);
    size_t n = (size_t)config_setting_length(s);
    if (n == 0 && (t->flags & F_NONEMPTY))
        return report(ld, s, "'%s' must not be empty", name);
    int *list = malloc((n ? n : 1) * sizeof *list);
    if (list == NULL)
        return oom(ld, s);
    for (size_t i = 0; i < n; i++) {
        if (read_int_elem(ld, t, s, name, i, &list[i]) != 0) {
            free(list);
            return -1;
        }
    }
    int **slot = at(base, t->off);
    free(*slot);
    *slot = list;
    *(size_t *)at(base, t->count_off) = n;
    return 0;
}

static int load_group(struct loader *ld, const config_setting_t *g,
                      const struct field *t, void *base, const char *prefix);

static int load_endpoint(struct loader *ld, const config_setting_t *e,
                         bc_endpoint *ep, const char *name)
{
    if (!config_setting_is_group(e))
        return report(ld, e, "'%s' must be a group", name);
    ep->line = (int)config_setting_source_line(e);
    if (load_group(ld, e, endpoint_fields, ep, name) != 0)
        return -1;
    /* The vary values go into the key verbatim: the API key header there
     * would put the key itself into Redis (SPEC 4 forbids it); it is in
     * the key already, hashed. */
    for (size_t i = 0; i < ep->nvary; i++)
        if (same_cgi_name(ep->vary[i], ld->cfg->identity.api_key_header))
            return report(ld, e,
                          "'%s.vary' must not name the API key header '%s': "
                          "it is already in the key, hashed",
                          name, ep->vary[i]);
    return 0;
}

static int load_endpoints(struct loader *ld, const config_setting_t *s)
{
    bc_config *cfg = ld->cfg;
    if (!is_list(s))
        return report(ld, s, "'endpoints' must be a list of groups");
    size_t n = (size_t)config_setting_length(s);
    free_endpoints(cfg);
    cfg->endpoints = calloc(n ? n : 1, sizeof *cfg->endpoints);
    if (cfg->endpoints == NULL)
        return oom(ld, s);
    for (size_t i = 0; i < n; i++) {
        bc_endpoint *ep = &cfg->endpoints[i];
        char name[32];
        snprintf(name, sizeof name, "endpoints[%zu]", i);
        /* Counted before it is filled, so that freeing after a failure
         * also frees this entry's partial contents. */
        cfg->nendpoints = i + 1;
        if (set_defaults(endpoint_fields, ep, cfg) != 0)
            return oom(ld, s);
        if (load_endpoint(ld, config_setting_get_elem(s, (unsigned)i), ep,
                          name) != 0)
            return -1;
    }
    return 0;
}

static int load_field(struct loader *ld, const struct field *t,
                      const config_setting_t *s, void *base, const char *name)
{
    switch (t->type) {
    case T_INT:
    case T_LONG:
        return load_int(ld, t, s, base, name);
    case T_BOOL:
        return load_bool(ld, t, s, base, name);
    case T_ENUM:
        return load_enum(ld, t, s, base, name);
    case T_STRING:
        return load_string(ld, t, s, base, name);
    case T_STRLIST:
        return load_strlist(ld, t, s, base, name);
    case T_INTLIST:
        return load_intlist(ld, t, s, base, name);
    case T_GROUP:
        if (!config_setting_is_group(s))
            return report(ld, s, "'%s' must be a group", name);
        return load_group(ld, s, t->sub, base, name);
    case T_ENDPOINTS:
        return load_endpoints(ld, s);
    }
    return report(ld, s, "'%s' has an unknown type", name);
}

static const struct field *find_field(const struct field *t, const char *name)
{
    for (; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* Every setting in G must be one the table knows: a misspelt key would
 * otherwise be silently ignored and its default used. */
static int check_unknown(struct loader *ld, const config_setting_t *g,
                         const struct field *t, const char *prefix)
{
    int n = config_setting_length(g);
    for (int i = 0; i < n; i++) {
        const config_setting_t *s = config_setting_get_elem(g, (unsigned)i);
        const char *key = config_setting_name(s);
        if (find_field(t, key) == NULL) {
            char name[160];
            join_name(name, sizeof name, prefix, key);
            return report(ld, s, "unknown setting '%s'", name);
        }
    }
    return 0;
}

/* Validates group G against table T into BASE, in the table's order; what is
 * absent keeps its default. PREFIX names the group in messages. */
static int load_group(struct loader *ld, const config_setting_t *g,
                      const struct field *t, void *base, const char *prefix)
{
    if (check_unknown(ld, g, t, prefix) != 0)
        return -1;
    for (; t->name; t++) {
        const config_setting_t *s = config_setting_get_member(g, t->name);
        char name[160];
        join_name(name, sizeof name, prefix, t->name);
        if (s == NULL && (t->flags & F_REQUIRED))
            return report(ld, g, "'%s' is required", name);
        if (s != NULL && load_field(ld, t, s, base, name) != 0)
            return -1;
    }
    return 0;
}

/* ---- public entry points ---- */

static bc_config *new_config(const char *file)
{
    bc_config *cfg = calloc(1, sizeof *cfg);
    if (cfg == NULL)
        return NULL;
    cfg->file = strdup(file);
    if (cfg->file == NULL || set_defaults(root_fields, cfg, cfg) != 0) {
        bc_config_free(cfg);
        return NULL;
    }
    return cfg;
}

/* Turns a parsed libconfig tree into a validated configuration. */
static bc_config *build(const config_t *c, const char *file, char *err,
                        size_t errlen)
{
    struct loader ld = {.file = file, .err = err, .errlen = errlen};
    ld.cfg = new_config(file);
    if (ld.cfg == NULL) {
        report(&ld, NULL, "out of memory");
        return NULL;
    }
    if (load_group(&ld, config_root_setting(c), root_fields, ld.cfg, "") != 0) {
        bc_config_free(ld.cfg);
        return NULL;
    }
    return ld.cfg;
}

static void parse_error(const config_t *c, const char *file, char *err,
                        size_t errlen)
{
    const char *where = config_error_file(c) ? config_error_file(c) : file;
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s:%d: %s", where, config_error_line(c),
                 config_error_text(c));
}

/* libconfig reports only "file I/O error"; opening the file again recovers
 * the reason the operator needs ("No such file or directory"). */
static void io_error(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    const char *why = f == NULL ? strerror(errno) : "read error";
    if (f != NULL)
        fclose(f);
    if (err != NULL && errlen > 0)
        snprintf(err, errlen, "%s: cannot read configuration: %s", path, why);
}

bc_config *bc_config_load(const char *path, char *err, size_t errlen)
{
    config_t c;
    config_init(&c);
    bc_config *cfg = NULL;
    if (config_read_file(&c, path) == CONFIG_TRUE)
        cfg = build(&c, path, err, errlen);
    else if (config_error_type(&c) == CONFIG_ERR_FILE_IO)
        io_error(path, err, errlen);
    else
        parse_error(&c, path, err, errlen);
    config_destroy(&c);
    return cfg;
}

bc_config *bc_config_load_string(const char *text, const char *name, char *err,
                                 size_t errlen)
{
    if (name == NULL)
        name = "<string>";
    config_t c;
    config_init(&c);
    bc_config *cfg = NULL;
    if (config_read_string(&c, text) == CONFIG_TRUE)
        cfg = build(&c, name, err, errlen);
    else
        parse_error(&c, name, err, errlen);
    config_destroy(&c);
    return cfg;
}

bc_config *bc_config_default(void)
{
    return new_config("<default>");
}

void bc_config_free(bc_config *cfg)
{
    if (cfg == NULL)
        return;
    free_fields(root_fields, cfg, cfg);
    free(cfg->file);
    free(cfg);
}
