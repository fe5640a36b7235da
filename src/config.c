/* config.c: loading and validating the configuration file (SPEC section 3). */
#include "bocache/config.h"

#include <ctype.h>
#include <errno.h>
#include <libconfig.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config_table.h"

/* Enum settings are stored through an int pointer, which is only sound if
 * the enums have the size of an int. */
_Static_assert(sizeof(bc_match) == sizeof(int), "bc_match is int-sized");
_Static_assert(sizeof(bc_keytype) == sizeof(int), "bc_keytype is int-sized");
_Static_assert(sizeof(bc_log_level) == sizeof(int), "bc_log_level int-sized");

/* Where a load is reporting to. FILE is the name used in messages. */
struct loader {
    const char *file;
    char *err;
    size_t errlen;
    bc_config *cfg;
};

/* The one rule that relates two settings, so it is the loader's, not the
 * table's. Header names as CGI passes them: '-' and '_' both become '_', case
 * is lost. Two names that fold alike are one parameter to the backend. */
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

static void free_fields(const struct bc_config_field *t, void *base,
                        bc_config *cfg)
{
    for (; t->name; t++) {
        switch (t->type) {
        case BC_FIELD_STRING:
            free(*(char **)at(base, t->off));
            break;
        case BC_FIELD_STRLIST:
            free_strlist(*(char ***)at(base, t->off),
                         *(size_t *)at(base, t->count_off));
            break;
        case BC_FIELD_INTLIST:
            free(*(int **)at(base, t->off));
            break;
        case BC_FIELD_GROUP:
            free_fields(t->sub, base, cfg);
            break;
        case BC_FIELD_ENDPOINTS:
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
        free_fields(bc_config_endpoint_fields, &cfg->endpoints[i], cfg);
    free(cfg->endpoints);
    cfg->endpoints = NULL;
    cfg->nendpoints = 0;
}

/* A list of one element, or an empty list when the default is absent.
 * Returns -1 when out of memory. */
static int default_strlist(const struct bc_config_field *t, void *base)
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

static int default_intlist(const struct bc_config_field *t, void *base)
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
static int set_defaults(const struct bc_config_field *t, void *base,
                        bc_config *cfg)
{
    for (; t->name; t++) {
        int rc = 0;
        switch (t->type) {
        case BC_FIELD_INT:
        case BC_FIELD_BOOL:
        case BC_FIELD_ENUM:
            *(int *)at(base, t->off) = t->flags & BC_FIELD_INHERIT
                                           ? *(int *)at(cfg, t->inherit)
                                           : (int)t->def;
            break;
        case BC_FIELD_LONG:
            *(long *)at(base, t->off) = (long)t->def;
            break;
        case BC_FIELD_STRING:
            if (t->sdef != NULL &&
                (*(char **)at(base, t->off) = strdup(t->sdef)) == NULL)
                rc = -1;
            break;
        case BC_FIELD_STRLIST:
            rc = default_strlist(t, base);
            break;
        case BC_FIELD_INTLIST:
            rc = default_intlist(t, base);
            break;
        case BC_FIELD_GROUP:
            rc = set_defaults(t->sub, base, cfg);
            break;
        case BC_FIELD_ENDPOINTS:
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
                       const char *name, const struct bc_config_field *t)
{
    return report(ld, s, "'%s' must be between %lld and %lld", name, t->min,
                  t->max);
}

static int load_int(struct loader *ld, const struct bc_config_field *t,
                    const config_setting_t *s, void *base, const char *name)
{
    if (!is_integer(s))
        return report(ld, s, "'%s' must be an integer", name);
    long long v = config_setting_get_int64(s);
    if (v < t->min || v > t->max)
        return range_error(ld, s, name, t);
    if (t->type == BC_FIELD_LONG)
        *(long *)at(base, t->off) = (long)v;
    else
        *(int *)at(base, t->off) = (int)v;
    return 0;
}

static int load_bool(struct loader *ld, const struct bc_config_field *t,
                     const config_setting_t *s, void *base, const char *name)
{
    if (config_setting_type(s) != CONFIG_TYPE_BOOL)
        return report(ld, s, "'%s' must be a boolean (true or false)", name);
    *(int *)at(base, t->off) = config_setting_get_bool(s) ? 1 : 0;
    return 0;
}

static int load_enum(struct loader *ld, const struct bc_config_field *t,
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

static int load_string(struct loader *ld, const struct bc_config_field *t,
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
static char **read_strlist(struct loader *ld, const struct bc_config_field *t,
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

static int load_strlist(struct loader *ld, const struct bc_config_field *t,
                        const config_setting_t *s, void *base, const char *name)
{
    if (!is_list(s))
        return report(ld, s, "'%s' must be a list of strings", name);
    size_t n = (size_t)config_setting_length(s);
    if (n == 0 && (t->flags & BC_FIELD_NONEMPTY))
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
static int read_int_elem(struct loader *ld, const struct bc_config_field *t,
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

static int load_intlist(struct loader *ld, const struct bc_config_field *t,
                        const config_setting_t *s, void *base, const char *name)
{
    if (!is_list(s))
        return report(ld, s, "'%s' must be a list of integers", name);
    size_t n = (size_t)config_setting_length(s);
    if (n == 0 && (t->flags & BC_FIELD_NONEMPTY))
        return report(ld, s, "'%s' must not be empty", name);
    int *list = malloc((n ? n : 1) * sizeof *list);
    if (list == NULL)
        return oom(ld, s);
    for (size_t i = 0; i < n; i++) {
        if (read_int_elem(ld, t, s, name, i, &list[i]) != 0) {
            free(list);
            return -1;
        }
        const char *why = t->icheck ? t->icheck(list[i]) : NULL;
        if (why != NULL) {
            free(list);
            return report(ld, config_setting_get_elem(s, (unsigned)i),
                          "'%s' %s", name, why);
        }
    }
    int **slot = at(base, t->off);
    free(*slot);
    *slot = list;
    *(size_t *)at(base, t->count_off) = n;
    return 0;
}

static int load_group(struct loader *ld, const config_setting_t *g,
                      const struct bc_config_field *t, void *base,
                      const char *prefix);

static int load_endpoint(struct loader *ld, const config_setting_t *e,
                         bc_endpoint *ep, const char *name)
{
    if (!config_setting_is_group(e))
        return report(ld, e, "'%s' must be a group", name);
    ep->line = (int)config_setting_source_line(e);
    if (load_group(ld, e, bc_config_endpoint_fields, ep, name) != 0)
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
        if (set_defaults(bc_config_endpoint_fields, ep, cfg) != 0)
            return oom(ld, s);
        if (load_endpoint(ld, config_setting_get_elem(s, (unsigned)i), ep,
                          name) != 0)
            return -1;
    }
    return 0;
}

static int load_field(struct loader *ld, const struct bc_config_field *t,
                      const config_setting_t *s, void *base, const char *name)
{
    switch (t->type) {
    case BC_FIELD_INT:
    case BC_FIELD_LONG:
        return load_int(ld, t, s, base, name);
    case BC_FIELD_BOOL:
        return load_bool(ld, t, s, base, name);
    case BC_FIELD_ENUM:
        return load_enum(ld, t, s, base, name);
    case BC_FIELD_STRING:
        return load_string(ld, t, s, base, name);
    case BC_FIELD_STRLIST:
        return load_strlist(ld, t, s, base, name);
    case BC_FIELD_INTLIST:
        return load_intlist(ld, t, s, base, name);
    case BC_FIELD_GROUP:
        if (!config_setting_is_group(s))
            return report(ld, s, "'%s' must be a group", name);
        return load_group(ld, s, t->sub, base, name);
    case BC_FIELD_ENDPOINTS:
        return load_endpoints(ld, s);
    }
    return report(ld, s, "'%s' has an unknown type", name);
}

static const struct bc_config_field *find_field(const struct bc_config_field *t,
                                                const char *name)
{
    for (; t->name; t++)
        if (strcmp(t->name, name) == 0)
            return t;
    return NULL;
}

/* Every setting in G must be one the table knows: a misspelt key would
 * otherwise be silently ignored and its default used. */
static int check_unknown(struct loader *ld, const config_setting_t *g,
                         const struct bc_config_field *t, const char *prefix)
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
                      const struct bc_config_field *t, void *base,
                      const char *prefix)
{
    if (check_unknown(ld, g, t, prefix) != 0)
        return -1;
    for (; t->name; t++) {
        const config_setting_t *s = config_setting_get_member(g, t->name);
        char name[160];
        join_name(name, sizeof name, prefix, t->name);
        if (s == NULL && (t->flags & BC_FIELD_REQUIRED))
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
    if (cfg->file == NULL ||
        set_defaults(bc_config_root_fields, cfg, cfg) != 0) {
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
    if (load_group(&ld, config_root_setting(c), bc_config_root_fields, ld.cfg,
                   "") != 0) {
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
    free_fields(bc_config_root_fields, cfg, cfg);
    free(cfg->file);
    free(cfg);
}
