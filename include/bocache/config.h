/* config.h: the loaded bocache configuration (SPEC section 3). */
#ifndef BOCACHE_CONFIG_H
#define BOCACHE_CONFIG_H

#include <stddef.h>

typedef enum { BC_MATCH_EXACT = 0, BC_MATCH_PREFIX } bc_match;

typedef enum {
    BC_KEYTYPE_API_KEY = 0,
    BC_KEYTYPE_PARTNER_ORIGIN,
    BC_KEYTYPE_NONE
} bc_keytype;

typedef enum {
    BC_LOG_ERROR = 0,
    BC_LOG_WARN,
    BC_LOG_INFO,
    BC_LOG_DEBUG
} bc_log_level;

/* One cached endpoint. Defaults from the cache section are already applied
 * (ttl, stale_ttl), so callers never look elsewhere. */
typedef struct bc_endpoint {
    char *path;
    bc_match match;
    bc_keytype key_type;
    int ttl;       /* seconds, > 0 */
    int stale_ttl; /* seconds, >= 0 */
    char **vary;   /* request header names, as written in the file */
    size_t nvary;
    int *statuses; /* cacheable statuses, default {200} */
    size_t nstatuses;
    int sort_query; /* default 1 */
    /* Responses never depend on cookies: a request's Cookie does not
     * keep its response from being stored (SPEC 4.2). Default 0. */
    int ignore_cookies;
    char **ignore_params;
    size_t nignore_params;
    int line; /* line in the configuration file, for messages */
} bc_endpoint;

/* The whole configuration. It is a plain read-only record on purpose: it is
 * loaded once, never modified, shared by every thread, and replaced whole on
 * SIGHUP. All strings are owned by the record and freed by bc_config_free. */
typedef struct bc_config {
    char *file; /* path it was loaded from, or "<string>" */
    int workers;
    bc_log_level log_level;
    int log_syslog;    /* 0 = stderr */
    char *status_path; /* "" = off */
    char **status_allow;
    size_t nstatus_allow;

    struct {
        char *address; /* NULL when absent (the gateway then needs `--`) */
        int connect_timeout_ms;
        int timeout_ms;
        int keepalive;            /* keep connections between requests */
        int keepalive_timeout_ms; /* ...closing one idle this long */
    } backend;

    struct {
        char *address;
        int db;
        char *password; /* "" = no AUTH */
        int timeout_ms;
        char *prefix;
        char *channel;
    } redis;

    struct {
        int ttl;
        int stale_ttl;
        long max_object_size;
        long memory_size;
        int memory_ttl;
        int lock_timeout_ms;
        char *tags_header;
        char *status_header;
    } cache;

    struct {
        char *api_key_header;
        char *partner_id_header;
        char *partner_id_param;
    } identity;

    bc_endpoint *endpoints;
    size_t nendpoints;
} bc_config;

/* Loads and validates the file at PATH. Returns a new configuration that the
 * caller frees with bc_config_free, or NULL with "FILE:LINE: message" (or
 * "FILE: message" when no line applies) written to ERR. */
bc_config *bc_config_load(const char *path, char *err, size_t errlen);

/* As bc_config_load, from the text TEXT; NAME stands for the file name in
 * messages. */
bc_config *bc_config_load_string(const char *text, const char *name, char *err,
                                 size_t errlen);

/* A configuration with every default and no endpoints; caller frees. */
bc_config *bc_config_default(void);

void bc_config_free(bc_config *cfg);

#endif
