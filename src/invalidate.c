/* invalidate.c: applying invalidation messages to Redis (SCAN + UNLINK,
 * tag and path indexes) and deciding which entry keys a message covers. */
#include "bocache/invalidate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bocache/glob.h"
#include "bocache/key.h"

/* Keys asked of each SCAN step: large enough that a million keys take a
 * thousand round trips, small enough that each step stays well under a
 * millisecond of Redis time. */
#define SCAN_COUNT 1000

/* SPEC 5: a uri without its leading '/' means the same path, whoever
 * built the message (the parser adds it too, libbocache callers may not). */
static int path_starts_with_uri(const char *path, size_t plen,
                                const char *uri)
{
    char enc[BC_KEY_MAX];
    size_t n = 0;
    if (uri[0] != '/')
        enc[n++] = '/';
    size_t m = bc_key_encode_segment(uri, strlen(uri), enc + n, sizeof enc - n);
    if (m == (size_t)-1)
        return 0;
    n += m;
    return n <= plen && memcmp(path, enc, n) == 0;
}

static int uris_allow(const bc_message *m, const char *path, size_t plen)
{
    if (m->nuris == 0)
        return 1;
    for (size_t i = 0; i < m->nuris; i++)
        if (path_starts_with_uri(path, plen, m->uris[i]))
            return 1;
    return 0;
}

/* Whether the space-separated list TAGS holds TAG as a whole word. */
static int has_tag(const char *tags, size_t len, const char *tag)
{
    size_t tl = strlen(tag);
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && tags[e] != ' ')
            e++;
        if (e - i == tl && memcmp(tags + i, tag, tl) == 0)
            return 1;
        i = e + 1;
    }
    return 0;
}

int bc_invalidate_covers(const bc_config *cfg, const bc_message *m,
                         const char *key, size_t len, const char *tags,
                         size_t tags_len)
{
    const char *path;
    size_t plen;
    if (!bc_key_is_entry(cfg, key, len, &path, &plen))
        return 0;
    if (m->flush)
        return 1;
    for (size_t i = 0; i < m->ntags; i++)
        if (has_tag(tags, tags_len, m->tags[i]))
            return 1;
    if (m->pattern)
        return bc_glob_match(m->pattern, strlen(m->pattern), key, len) &&
               uris_allow(m, path, plen);
    if (m->partner_id) {
        char pat[BC_KEY_MAX];
        return bc_key_partner_pattern(cfg, m->partner_id, pat, sizeof pat) ==
                   0 &&
               bc_glob_match(pat, strlen(pat), key, len) &&
               uris_allow(m, path, plen);
    }
    return 0;
}

int bc_invalidate_claim(bc_store *st, const bc_config *cfg, const char *id)
{
    char key[BC_KEY_MAX];
    if (bc_key_internal(cfg, "id", id, strlen(id), key, sizeof key) < 0)
        return -1;
    return bc_store_claim(st, key, BC_INVALIDATE_ID_TTL);
}

int bc_invalidate_tag_index(const bc_config *cfg, const char *tag,
                            size_t len, char *out, size_t outlen)
{
    return bc_key_internal(cfg, "tag", tag, len, out, outlen);
}

int bc_invalidate_path_index(const bc_config *cfg, const char *encoded_path,
                             size_t len, char *out, size_t outlen)
{
    return bc_key_internal(cfg, "path", encoded_path, len, out, outlen);
}

int bc_invalidate_lease_key(const bc_config *cfg, const char *key, char *out,
                            size_t outlen)
{
    int n = snprintf(out, outlen, "%s:#lease:%s", cfg->redis.prefix, key);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int bc_invalidate_lease_set(const bc_config *cfg, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s:#leases", cfg->redis.prefix);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

/* What a scan takes: entries a message covers, every entry listed in an
 * index, or the leases of the entries a message (or a path) covers. */
typedef enum { TAKE_COVERED, TAKE_ENTRY, TAKE_LEASE } take_mode;

/* Keys found by one scan step, waiting for their UNLINK. */
typedef struct batch {
    const bc_config *cfg;
    take_mode mode;
    const bc_message *m; /* TAKE_COVERED, TAKE_LEASE (NULL: every lease) */
    const char *path;    /* TAKE_LEASE by path, when not NULL */
    size_t path_len;
    char **keys;
    size_t *lens;
    size_t n, cap;
    int oom;
} batch;

/* Whether the lease KEY belongs to an entry the batch's message or path
 * covers. A tag message voids every lease: a fill's tags are unknown until
 * its response is in, so any fill in flight may carry the tag. */
static int lease_covered(const batch *b, const char *key, size_t len)
{
    size_t plen = strlen(b->cfg->redis.prefix) + sizeof ":#lease:" - 1;
    if (len <= plen)
        return 0;
    const char *entry = key + plen, *path;
    size_t elen = len - plen, path_len;
    if (!bc_key_is_entry(b->cfg, entry, elen, &path, &path_len))
        return 0;
    if (b->path)
        return path_len == b->path_len &&
               memcmp(path, b->path, path_len) == 0;
    return !b->m || b->m->ntags > 0 ||
           bc_invalidate_covers(b->cfg, b->m, entry, elen, "", 0);
}

static int take(const batch *b, const char *key, size_t len)
{
    switch (b->mode) {
    case TAKE_COVERED:
        return bc_invalidate_covers(b->cfg, b->m, key, len, "", 0);
    case TAKE_ENTRY:
        return bc_key_is_entry(b->cfg, key, len, NULL, NULL);
    case TAKE_LEASE:
        return lease_covered(b, key, len);
    }
    return 0;
}

static int collect(void *ctx, const char *key, size_t len)
{
    batch *b = ctx;
    if (!take(b, key, len))
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        char **k = realloc(b->keys, cap * sizeof *k);
        size_t *l = k ? realloc(b->lens, cap * sizeof *l) : NULL;
        if (k)
            b->keys = k;
        if (!l) {
            b->oom = 1;
            return -1;
        }
        b->lens = l;
        b->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        b->oom = 1;
        return -1;
    }
    memcpy(copy, key, len);
    copy[len] = '\0';
    b->keys[b->n] = copy;
    b->lens[b->n++] = len;
    return 0;
}

static long flush_batch(bc_store *st, batch *b)
{
    long removed = bc_store_unlink(st, b->keys, b->lens, b->n);
    for (size_t i = 0; i < b->n; i++)
        free(b->keys[i]);
    b->n = 0;
    return removed;
}

/* Scans with PATTERN (or the members of index SET) and unlinks what the
 * message covers, one SCAN step at a time so memory stays bounded. */
static long scan_remove(bc_store *st, const char *set, const char *pattern,
                        batch b)
{
    unsigned long long cursor = 0;
    long total = 0;
    do {
        if (bc_store_scan(st, set, &cursor, pattern, SCAN_COUNT, collect,
                          &b) < 0) {
            total = -1;
            break;
        }
        long n = flush_batch(st, &b);
        if (n < 0) {
            total = -1;
            break;
        }
        total += n;
    } while (cursor != 0);
    for (size_t i = 0; i < b.n; i++)
        free(b.keys[i]);
    free(b.keys);
    free(b.lens);
    return b.oom ? -1 : total;
}

/* Removes the entries listed in index INDEX, then the index itself. */
static long remove_index(bc_store *st, const bc_config *cfg,
                         const char *index)
{
    batch b = {.cfg = cfg, .mode = TAKE_ENTRY};
    long n = scan_remove(st, index, NULL, b);
    if (n < 0)
        return -1;
    char *keys[1] = {(char *)index};
    size_t lens[1] = {strlen(index)};
    return bc_store_unlink(st, keys, lens, 1) < 0 ? -1 : n;
}

static long remove_tags(bc_store *st, const bc_config *cfg,
                        const bc_message *m)
{
    long total = 0;
    for (size_t i = 0; i < m->ntags; i++) {
        char index[BC_KEY_MAX];
        if (bc_invalidate_tag_index(cfg, m->tags[i], strlen(m->tags[i]),
                                    index, sizeof index) < 0)
            continue;
        long n = remove_index(st, cfg, index);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

/* Voids the leases of fills in flight that the message (or the path)
 * covers, so none of them stores a response computed before this
 * invalidation. Runs before the removal: a fill finishing in between then
 * fails its lease check instead of storing behind the removal's back. */
static long void_leases(bc_store *st, const bc_config *cfg,
                        const bc_message *m, const char *path,
                        size_t path_len)
{
    char set[BC_KEY_MAX];
    if (bc_invalidate_lease_set(cfg, set, sizeof set) < 0)
        return -1;
    batch b = {.cfg = cfg,
               .mode = TAKE_LEASE,
               .m = m,
               .path = path,
               .path_len = path_len};
    return scan_remove(st, set, NULL, b);
}

long bc_invalidate_apply(bc_store *st, const bc_config *cfg,
                         const bc_message *m, char *err, size_t errlen)
{
    char pat[BC_KEY_MAX];
    const char *pattern = m->pattern;
    long voided = void_leases(st, cfg, m, NULL, 0);
    long n;
    if (m->ntags > 0) {
        n = remove_tags(st, cfg, m);
    } else {
        if (m->flush) {
            snprintf(pat, sizeof pat, "%s:*", cfg->redis.prefix);
            pattern = pat;
        } else if (m->partner_id &&
                   bc_key_partner_pattern(cfg, m->partner_id, pat,
                                          sizeof pat) == 0) {
            pattern = pat;
        }
        batch b = {.cfg = cfg, .mode = TAKE_COVERED, .m = m};
        n = pattern ? scan_remove(st, NULL, pattern, b) : 0;
    }
    if (n < 0 || voided < 0) {
        snprintf(err, errlen, "redis %s: removal failed part-way; entries "
                              "left expire with their TTL",
                 cfg->redis.address);
        return -1;
    }
    return n;
}

long bc_invalidate_path(bc_store *st, const bc_config *cfg,
                        const char *encoded_path, size_t len)
{
    char index[BC_KEY_MAX];
    if (bc_invalidate_path_index(cfg, encoded_path, len, index,
                                 sizeof index) < 0 ||
        void_leases(st, cfg, NULL, encoded_path, len) < 0)
        return -1;
    return remove_index(st, cfg, index);
}
