/* config_table.h: the settings as a table, which config.c's loader walks. */
#ifndef BOCACHE_CONFIG_TABLE_H
#define BOCACHE_CONFIG_TABLE_H

#include <stddef.h>

/* The kinds of value a setting can hold, and so how it is read. */
enum bc_config_ftype {
    BC_FIELD_INT,       /* int, bounded */
    BC_FIELD_LONG,      /* long, bounded; accepts 64-bit literals (1234L) */
    BC_FIELD_BOOL,      /* int, 0 or 1 */
    BC_FIELD_ENUM,      /* int, the index of the word in names */
    BC_FIELD_STRING,    /* char *, owned */
    BC_FIELD_STRLIST,   /* char **, owned, count at count_off */
    BC_FIELD_INTLIST,   /* int *, owned, count at count_off, elements bounded */
    BC_FIELD_GROUP,     /* a nested group whose fields are in sub */
    BC_FIELD_ENDPOINTS, /* the endpoints list, each entry validated by sub */
};

/* Flags. INHERIT: the default is the int at inherit in bc_config. */
#define BC_FIELD_REQUIRED 1 /* absence is an error */
#define BC_FIELD_INHERIT 2
#define BC_FIELD_NONEMPTY 4 /* lists: an empty list is an error */

/* A rule a string must satisfy beyond being a string: returns NULL when S
 * is acceptable, else the end of a message ("must be ..."). */
typedef const char *(*bc_config_str_check)(const char *s);

/* The same for an int list element. */
typedef const char *(*bc_config_int_check)(long long v);

/* One setting. Offsets are from the start of the record the table fills:
 * bc_config for the top level and its groups, bc_endpoint for endpoints. */
struct bc_config_field {
    const char *name;
    enum bc_config_ftype type;
    size_t off;
    size_t count_off;         /* lists: where the length goes */
    long long def;            /* scalars; int lists: the one default element */
    const char *sdef;         /* strings; string lists: the one default */
    long long min, max;       /* ints and int list elements */
    const char *const *names; /* enums: the words, in value order, NULL-ended */
    bc_config_str_check check;         /* strings and string list elements */
    bc_config_int_check icheck;        /* int list elements */
    const struct bc_config_field *sub; /* groups and endpoints */
    int flags;
    size_t inherit; /* BC_FIELD_INHERIT: offset in bc_config */
};

/* The top level, in load order: its groups, then the endpoints. Offsets
 * are in bc_config. */
extern const struct bc_config_field bc_config_root_fields[];

/* One entry of the endpoints list. Offsets are in bc_endpoint; inherited
 * defaults are read from bc_config. */
extern const struct bc_config_field bc_config_endpoint_fields[];

#endif
