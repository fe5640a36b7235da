/* message.c: parsing and encoding of invalidation messages (SPEC 5). */
#include "message.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KNOWN_FIELDS "id, pattern, partner_id, uris, tags, flush"

static void set_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
           c == '\f';
}

static char *copy_bytes(const char *s, size_t n)
{
    char *c = malloc(n + 1);

    if (c != NULL) {
        memcpy(c, s, n);
        c[n] = '\0';
    }
    return c;
}

static void free_list(char **v, size_t n)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void bc_message_free(bc_message *m)
{
    if (m == NULL)
        return;
    free(m->id);
    free(m->pattern);
    free(m->partner_id);
    free_list(m->uris, m->nuris);
    free_list(m->tags, m->ntags);
    memset(m, 0, sizeof(*m));
}

/* Checks that V is a string fit for field WHAT (non-empty, at most MAX
 * bytes, no NUL) and copies it, with a '/' in front when SLASH and it has
 * none. Returns NULL with ERR set on failure. */
static char *take_string(const json_t *v, const char *what, size_t max,
                         int slash, char *err, size_t errlen)
{
    const char *s;
    size_t n;
    char *c;

    if (!json_is_string(v)) {
        set_err(err, errlen, "%s must be a string", what);
        return NULL;
    }
    s = json_string_value(v);
    n = json_string_length(v);
    if (n == 0) {
        set_err(err, errlen, "%s is empty", what);
        return NULL;
    }
    if (n > max) {
        set_err(err, errlen, "%s is %zu bytes, more than the limit of %zu",
                what, n, max);
        return NULL;
    }
    if (memchr(s, '\0', n) != NULL) {
        set_err(err, errlen, "%s contains a NUL character (\\u0000)", what);
        return NULL;
    }
    if (slash && s[0] != '/') {
        c = malloc(n + 2);
        if (c != NULL) {
            c[0] = '/';
            memcpy(c + 1, s, n + 1);
        }
    } else {
        c = copy_bytes(s, n);
    }
    if (c == NULL)
        set_err(err, errlen, "out of memory");
    return c;
}

/* Copies the array V of field WHAT into *OUT / *N: a non-empty array of
 * at most BC_MESSAGE_MAX_ITEMS strings, each checked by take_string. */
static int take_list(const json_t *v, const char *what, int slash, char ***out,
                     size_t *n, char *err, size_t errlen)
{
    size_t count;

    if (!json_is_array(v)) {
        set_err(err, errlen, "%s must be an array of strings", what);
        return -1;
    }
    count = json_array_size(v);
    if (count == 0) {
        set_err(err, errlen, "%s is an empty array (leave it out instead)",
                what);
        return -1;
    }
    if (count > BC_MESSAGE_MAX_ITEMS) {
        set_err(err, errlen, "%s has %zu elements, more than the limit of %d",
                what, count, BC_MESSAGE_MAX_ITEMS);
        return -1;
    }
    *out = calloc(count, sizeof(**out));
    if (*out == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        char name[32];

        snprintf(name, sizeof(name), "%s[%zu]", what, i);
        (*out)[i] = take_string(json_array_get(v, i), name,
                                BC_MESSAGE_MAX_STRING, slash, err, errlen);
        if ((*out)[i] == NULL)
            return -1; /* the caller frees what was taken so far */
        *n = i + 1;
    }
    return 0;
}

/* partner_id: a string, or an integer stored as its decimal form. */
static char *take_partner(const json_t *v, char *err, size_t errlen)
{
    char buf[32];

    if (json_is_integer(v)) {
        snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
                 json_integer_value(v));
        char *c = copy_bytes(buf, strlen(buf));
        if (c == NULL)
            set_err(err, errlen, "out of memory");
        return c;
    }
    if (!json_is_string(v)) {
        set_err(err, errlen, "partner_id must be a string or an integer");
        return NULL;
    }
    return take_string(v, "partner_id", BC_MESSAGE_MAX_STRING, 0, err, errlen);
}

/* Fills M from the JSON object OBJ; M is empty on entry and may hold part
 * of the message on failure. */
static int from_object(json_t *obj, bc_message *m, char *err, size_t errlen)
{
    const char *key, *kinds[4];
    json_t *v, *uris = NULL;
    size_t nkinds = 0;

    /* The iterator calls rather than json_object_foreach, which
     * clang-format cannot lay out as a loop. */
    for (void *it = json_object_iter(obj); it != NULL;
         it = json_object_iter_next(obj, it)) {
        key = json_object_iter_key(it);
        v = json_object_iter_value(it);
        if (strcmp(key, "id") == 0) {
            m->id = take_string(v, "id", BC_MESSAGE_MAX_ID, 0, err, errlen);
            if (m->id == NULL)
                return -1;
        } else if (strcmp(key, "pattern") == 0) {
            kinds[nkinds++] = "pattern";
            m->pattern = take_string(v, "pattern", BC_MESSAGE_MAX_STRING, 0,
                                     err, errlen);
            if (m->pattern == NULL)
                return -1;
        } else if (strcmp(key, "partner_id") == 0) {
            kinds[nkinds++] = "partner_id";
            m->partner_id = take_partner(v, err, errlen);
            if (m->partner_id == NULL)
                return -1;
        } else if (strcmp(key, "tags") == 0) {
            kinds[nkinds++] = "tags";
            if (take_list(v, "tags", 0, &m->tags, &m->ntags, err, errlen) < 0)
                return -1;
        } else if (strcmp(key, "flush") == 0) {
            kinds[nkinds++] = "flush";
            if (!json_is_true(v)) {
                set_err(err, errlen, "flush must be true");
                return -1;
            }
            m->flush = 1;
        } else if (strcmp(key, "uris") == 0) {
            uris = v; /* checked once the kind is known */
        } else {
            set_err(err, errlen, "unknown field \"%.64s\" (known: %s)", key,
                    KNOWN_FIELDS);
            return -1;
        }
    }
    /* Duplicate keys are refused by the decoder, so each kind counts once
     * and kinds[] cannot overflow. */
    if (nkinds == 0) {
        set_err(err, errlen,
                "no invalidation: give one of pattern, partner_id, tags or "
                "flush");
        return -1;
    }
    if (nkinds > 1) {
        set_err(err, errlen,
                "%s and %s in one message: give exactly one of pattern, "
                "partner_id, tags or flush",
                kinds[0], kinds[1]);
        return -1;
    }
    if (uris != NULL) {
        if (m->pattern == NULL && m->partner_id == NULL) {
            set_err(err, errlen, "uris can only narrow pattern or partner_id");
            return -1;
        }
        if (take_list(uris, "uris", 1, &m->uris, &m->nuris, err, errlen) < 0)
            return -1;
    }
    return 0;
}

static int parse_json(const char *payload, size_t len, bc_message *m, char *err,
                      size_t errlen)
{
    json_error_t jerr;
    json_t *root;
    int rc;

    /* NULs are let through the decoder so that the error names the
     * field; duplicate keys are refused since one would silently win. */
    root = json_loadb(payload, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL,
                      &jerr);
    if (root == NULL) {
        if (jerr.line > 1)
            set_err(err, errlen, "not valid JSON: %s at line %d, column %d",
                    jerr.text, jerr.line, jerr.column);
        else
            set_err(err, errlen, "not valid JSON: %s at column %d", jerr.text,
                    jerr.column);
        return -1;
    }
    rc = from_object(root, m, err, errlen);
    json_decref(root);
    return rc;
}

static int parse_bare(const char *p, size_t len, bc_message *m, char *err,
                      size_t errlen)
{
    if (len > BC_MESSAGE_MAX_STRING) {
        set_err(err, errlen, "pattern is %zu bytes, more than the limit of %d",
                len, BC_MESSAGE_MAX_STRING);
        return -1;
    }
    if (memchr(p, '\0', len) != NULL) {
        set_err(err, errlen, "pattern contains a NUL byte");
        return -1;
    }
    m->pattern = copy_bytes(p, len);
    if (m->pattern == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int bc_message_parse(const char *payload, size_t len, bc_message *out,
                     char *err, size_t errlen)
{
    size_t b = 0, e = len;
    int rc;

    memset(out, 0, sizeof(*out));
    if (len > BC_MESSAGE_MAX_PAYLOAD) {
        set_err(err, errlen, "message is %zu bytes, more than the limit of %d",
                len, BC_MESSAGE_MAX_PAYLOAD);
        return -1;
    }
    while (b < e && is_space(payload[b]))
        b++;
    while (e > b && is_space(payload[e - 1]))
        e--;
    if (b == e) {
        set_err(err, errlen, "empty message: send a pattern or a JSON object");
        return -1;
    }
    if (payload[b] == '{')
        rc = parse_json(payload, len, out, err, errlen);
    else
        rc = parse_bare(payload + b, e - b, out, err, errlen);
    if (rc < 0)
        bc_message_free(out);
    return rc;
}

/* Adds the strings V[0..N) as an array named NAME to OBJ. */
static int put_list(json_t *obj, const char *name, char *const *v, size_t n)
{
    json_t *a = json_array();

    if (a == NULL || json_object_set_new(obj, name, a) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (json_array_append_new(a, json_string(v[i])) < 0)
            return -1;
    return 0;
}

static int put_string(json_t *obj, const char *name, const char *s)
{
    /* json_string() returns NULL for invalid UTF-8, and setting NULL
     * fails, so one check covers both. */
    return json_object_set_new(obj, name, json_string(s));
}

char *bc_message_encode(const bc_message *m)
{
    json_t *obj = json_object();
    char *s = NULL;
    int bad = obj == NULL;

    if (!bad && m->id != NULL)
        bad = put_string(obj, "id", m->id) < 0;
    if (!bad && m->pattern != NULL)
        bad = put_string(obj, "pattern", m->pattern) < 0;
    if (!bad && m->partner_id != NULL)
        bad = put_string(obj, "partner_id", m->partner_id) < 0;
    if (!bad && m->ntags > 0)
        bad = put_list(obj, "tags", m->tags, m->ntags) < 0;
    if (!bad && m->flush)
        bad = json_object_set_new(obj, "flush", json_true()) < 0;
    if (!bad && m->nuris > 0)
        bad = put_list(obj, "uris", m->uris, m->nuris) < 0;
    if (!bad)
        s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(obj);
    return s;
}
