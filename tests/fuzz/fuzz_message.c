/* fuzz_message.c: fuzzes the invalidation message parser. A message that
 * parses has exactly one kind, strings without NUL within the limits and
 * uris that start with '/'; encoding it and parsing the result gives an
 * equal message. Encoding may fail only for a string that is not valid
 * UTF-8 (JSON cannot carry it). A refused message always has a reason. */
#include <string.h>

#include "fuzz.h"
#include "message.h"

/* Strict UTF-8 as jansson checks it: no overlong forms, no surrogates,
 * nothing above U+10FFFF. */
static int utf8_ok(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s) {
        unsigned c = *s, need, cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if (c >= 0xc2 && c <= 0xdf) {
            need = 1;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            need = 2;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            need = 3;
            cp = c & 0x07;
        } else {
            return 0;
        }
        for (unsigned i = 1; i <= need; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += need + 1;
    }
    return 1;
}

static int all_utf8(const bc_message *m)
{
    if ((m->id && !utf8_ok(m->id)) || (m->pattern && !utf8_ok(m->pattern)) ||
        (m->partner_id && !utf8_ok(m->partner_id)))
        return 0;
    for (size_t i = 0; i < m->nuris; i++)
        if (!utf8_ok(m->uris[i]))
            return 0;
    for (size_t i = 0; i < m->ntags; i++)
        if (!utf8_ok(m->tags[i]))
            return 0;
    return 1;
}

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static void check_valid(const bc_message *m)
{
    int kinds = (m->pattern != NULL) + (m->partner_id != NULL) +
                (m->ntags > 0) + (m->flush != 0);

    FUZZ_CHECK(kinds == 1);
    FUZZ_CHECK(m->flush == 0 || m->flush == 1);
    FUZZ_CHECK(m->nuris == 0 || m->pattern || m->partner_id);
    FUZZ_CHECK((m->uris == NULL) == (m->nuris == 0));
    FUZZ_CHECK((m->tags == NULL) == (m->ntags == 0));
    FUZZ_CHECK(m->nuris <= BC_MESSAGE_MAX_ITEMS);
    FUZZ_CHECK(m->ntags <= BC_MESSAGE_MAX_ITEMS);
    if (m->id)
        FUZZ_CHECK(m->id[0] && strlen(m->id) <= BC_MESSAGE_MAX_ID);
    if (m->pattern)
        FUZZ_CHECK(m->pattern[0] &&
                   strlen(m->pattern) <= BC_MESSAGE_MAX_STRING);
    if (m->partner_id)
        FUZZ_CHECK(m->partner_id[0] &&
                   strlen(m->partner_id) <= BC_MESSAGE_MAX_STRING);
    for (size_t i = 0; i < m->nuris; i++)
        FUZZ_CHECK(m->uris[i] && m->uris[i][0] == '/' &&
                   strlen(m->uris[i]) <= BC_MESSAGE_MAX_STRING + 1);
    for (size_t i = 0; i < m->ntags; i++)
        FUZZ_CHECK(m->tags[i] && m->tags[i][0] &&
                   strlen(m->tags[i]) <= BC_MESSAGE_MAX_STRING);
}

static void check_equal(const bc_message *a, const bc_message *b)
{
    FUZZ_CHECK(str_eq(a->id, b->id));
    FUZZ_CHECK(str_eq(a->pattern, b->pattern));
    FUZZ_CHECK(str_eq(a->partner_id, b->partner_id));
    FUZZ_CHECK(a->flush == b->flush);
    FUZZ_CHECK(a->nuris == b->nuris && a->ntags == b->ntags);
    for (size_t i = 0; i < a->nuris; i++)
        FUZZ_CHECK(strcmp(a->uris[i], b->uris[i]) == 0);
    for (size_t i = 0; i < a->ntags; i++)
        FUZZ_CHECK(strcmp(a->tags[i], b->tags[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bc_message m, again;
    char err[256], err2[256];
    char *payload = malloc(size ? size : 1), *enc;

    FUZZ_CHECK(payload != NULL);
    if (size > 0)
        memcpy(payload, data, size);
    err[0] = '\0';
    if (bc_message_parse(payload, size, &m, err, sizeof err) < 0) {
        FUZZ_CHECK(err[0] != '\0');
        FUZZ_CHECK(memchr(err, '\0', sizeof err) != NULL);
        /* The refused message is left empty. */
        FUZZ_CHECK(m.id == NULL && m.pattern == NULL && m.partner_id == NULL &&
                   m.uris == NULL && m.tags == NULL && m.nuris == 0 &&
                   m.ntags == 0 && m.flush == 0);
        bc_message_free(&m);
        free(payload);
        return 0;
    }
    check_valid(&m);

    enc = bc_message_encode(&m);
    if (enc == NULL) {
        FUZZ_CHECK(!all_utf8(&m));
    } else {
        err2[0] = '\0';
        if (bc_message_parse(enc, strlen(enc), &again, err2, sizeof err2) < 0) {
            fprintf(stderr, "re-parse of %s failed: %s\n", enc, err2);
            /* The only reason allowed: the JSON form of a message that
             * arrived as a compact bare pattern may exceed the payload
             * limit once escaped. */
            FUZZ_CHECK(strlen(enc) > BC_MESSAGE_MAX_PAYLOAD);
        } else {
            check_equal(&m, &again);
            bc_message_free(&again);
        }
        free(enc);
    }
    bc_message_free(&m);
    bc_message_free(&m); /* harmless on an emptied message */
    free(payload);
    return 0;
}
