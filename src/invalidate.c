/* invalidate.c: applying invalidation messages to Redis (SCAN + UNLINK,
 * tag and path indexes) and deciding which entry keys a message covers. */
#include "invalidate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "glob.h"
#include "key.h"

/* Keys asked of each SCAN step: large enough that a million keys take a
 * thousand round trips, small enough that each step stays well under a
 * millisecond of Redis time. */
#define SCAN_COUNT 1000

/* SPEC 5: a uri without its leading '/' means the same path, whoever
 * built the message (the parser adds it too, libbocache callers may not). */
static int path_starts_with_uri(const char *path, size_t plen, const char *uri)
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

/* Who claims: this thread of this process on this host. A retry by the
 * same thread recognises its own claim. */
static void claim_owner(char *out, size_t outlen)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    snprintf(out, outlen, "%s/%ld/%ld", host, (long)getpid(), (long)gettid());
}

int bc_invalidate_claim(bc_store *st, const bc_config *cfg, const char *id)
{
    char key[BC_KEY_MAX], owner[320];
    if (bc_key_message_id(cfg, id, key, sizeof key) < 0)
        return -1;
    claim_owner(owner, sizeof owner);
    return bc_store_claim(st, key, owner, BC_INVALIDATE_ID_TTL);
}

int bc_invalidate_new_id(char out[BC_INVALIDATE_ID_SIZE])
{
    unsigned char r[(BC_INVALIDATE_ID_SIZE - 1) / 2];
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r)
        return -1;
    for (size_t i = 0; i < sizeof r; i++)
        snprintf(out + 2 * i, 3, "%02x", r[i]);
    return 0;
}

long bc_invalidate_announce(bc_store *st, const bc_config *cfg,
                            const bc_message *m, char *err, size_t errlen)
{
    char id[BC_INVALIDATE_ID_SIZE];
    bc_message out = *m;
    if (!out.id) {
        if (bc_invalidate_new_id(id) < 0) {
            snprintf(err, errlen, "no random bytes for a message id");
            return -1;
        }
        /* A fresh id is nobody else's: 0 cannot happen, -1 is a fault. */
        if (bc_invalidate_claim(st, cfg, id) != 1) {
            snprintf(err, errlen, "claim: Redis at %s: %s", cfg->redis.address,
                     bc_store_error(st));
            return -1;
        }
        out.id = id;
    }
    char *json = bc_message_encode(&out);
    if (!json) {
        snprintf(err, errlen,
                 "the message cannot be encoded (out of "
                 "memory, or a string that is not UTF-8)");
        return -1;
    }
    long heard = bc_store_publish(st, cfg->redis.channel, json, strlen(json));
    free(json);
    if (heard < 0)
        snprintf(err, errlen, "publish: Redis at %s: %s", cfg->redis.address,
                 bc_store_error(st));
    return heard;
}

/* The longest a pass marker lives (responder.c's PASS_DECLARED_MS). */
#define PASS_MAX_MS 10000

long bc_invalidate_retry_ms(const bc_config *cfg)
{
    long ms = (long)(cfg->cache.ttl + cfg->cache.stale_ttl) * 1000;
    for (size_t i = 0; i < cfg->nendpoints; i++) {
        const bc_endpoint *e = &cfg->endpoints[i];
        /* A response's stale-while-revalidate / stale-if-error widens
         * the stale window up to the ttl (bc_storable_freshness). */
        long window = e->stale_ttl > e->ttl ? e->stale_ttl : e->ttl;
        long t = (long)(e->ttl + window) * 1000;
        ms = t > ms ? t : ms;
    }
    /* A lease's registration lives twice its lease. */
    long lease = 2 * ((long)cfg->backend.timeout_ms + 1000);
    ms = lease > ms ? lease : ms;
    return PASS_MAX_MS > ms ? PASS_MAX_MS : ms;
}

/* What a scan takes: entries a message covers, every live entry listed in
 * an index, or the leases of the entries a message (or a path) covers. */
typedef enum { TAKE_COVERED, TAKE_ENTRY, TAKE_LEASE } take_mode;

/* Keys found by one scan step, waiting for their UNLINK; for an index
 * also every member read, with its score, to be forgotten once the
 * entries are gone. */
typedef struct batch {
    const bc_config *cfg;
    take_mode mode;
    const bc_message *m; /* TAKE_COVERED, TAKE_LEASE (NULL: every lease) */
    const char *path;    /* TAKE_LEASE by path, when not NULL */
    size_t path_len;
    int64_t now_ms; /* sorted sets: members scored up to this expired */
    int forget;     /* keep the members read, for bc_store_index_forget */
    struct list {
        char **keys;
        size_t *lens;
        int64_t *scores;
        size_t n, cap;
    } out, seen;
    int oom;
} batch;

/* Whether the lease KEY belongs to an entry the batch's message or path
 * covers. A tag message voids every lease: a fill's tags are unknown until
 * its response is in, so any fill in flight may carry the tag. */
static int lease_covered(const batch *b, const char *key, size_t len)
{
    size_t elen, path_len;
    const char *entry = bc_key_lease_entry(b->cfg, key, len, &elen), *path;
    if (!entry || !bc_key_is_entry(b->cfg, entry, elen, &path, &path_len))
        return 0;
    if (b->path)
        return path_len == b->path_len && memcmp(path, b->path, path_len) == 0;
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

static int push(batch *b, struct list *l, const char *key, size_t len,
                int64_t score)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        char **k = realloc(l->keys, cap * sizeof *k);
        if (k)
            l->keys = k;
        size_t *n = k ? realloc(l->lens, cap * sizeof *n) : NULL;
        if (n)
            l->lens = n;
        int64_t *s = n ? realloc(l->scores, cap * sizeof *s) : NULL;
        if (!s) {
            b->oom = 1;
            return -1;
        }
        l->scores = s;
        l->cap = cap;
    }
    char *copy = malloc(len + 1);
    if (!copy) {
        b->oom = 1;
        return -1;
    }
    memcpy(copy, key, len);
    copy[len] = '\0';
    l->keys[l->n] = copy;
    l->lens[l->n] = len;
    l->scores[l->n++] = score;
    return 0;
}

static int collect(void *ctx, const char *key, size_t len)
{
    batch *b = ctx;
    return take(b, key, len) ? push(b, &b->out, key, len, 0) : 0;
}

/* A sorted set's member: an index's entry key, or the lease set's
 * "LEASE TOKEN". Members past their score are ignored: their entry or
 * lease has expired (an entry key filled again since would have raised
 * the score). */
static int collect_member(void *ctx, const char *member, size_t len,
                          int64_t score)
{
    batch *b = ctx;
    if (b->forget && push(b, &b->seen, member, len, score) < 0)
        return -1;
    if (score <= b->now_ms)
        return 0;
    if (b->mode == TAKE_LEASE) {
        const char *sp = memrchr(member, ' ', len);
        if (!sp)
            return 0;
        len = (size_t)(sp - member);
    }
    return take(b, member, len) ? push(b, &b->out, member, len, 0) : 0;
}

static void clear(struct list *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->keys[i]);
    l->n = 0;
}

static void release(batch *b)
{
    clear(&b->out);
    clear(&b->seen);
    free(b->out.keys);
    free(b->out.lens);
    free(b->out.scores);
    free(b->seen.keys);
    free(b->seen.lens);
    free(b->seen.scores);
}

/* Unlinks what one step collected; for an index then forgets the members
 * it read (only after their entries are gone: a failure leaves them for
 * the retry to find). Returns the number removed or -1. */
static long flush_batch(bc_store *st, batch *b, const char *zset)
{
    long removed = bc_store_unlink(st, b->out.keys, b->out.lens, b->out.n);
    if (removed >= 0 && b->forget &&
        bc_store_index_forget(st, zset, b->seen.keys, b->seen.lens,
                              b->seen.scores, b->seen.n) < 0)
        removed = -1;
    clear(&b->out);
    clear(&b->seen);
    return removed;
}

/* Scans with PATTERN (or the members of the SET, or of the sorted set
 * ZSET) and unlinks what the batch takes, one step at a time so memory
 * stays bounded. */
static long scan_remove(bc_store *st, const char *set, const char *zset,
                        const char *pattern, batch *b)
{
    unsigned long long cursor = 0;
    long total = 0;
    do {
        int rc = zset ? bc_store_zscan(st, zset, &cursor, SCAN_COUNT,
                                       collect_member, b)
                      : bc_store_scan(st, set, &cursor, pattern, SCAN_COUNT,
                                      collect, b);
        long n = rc < 0 ? -1 : flush_batch(st, b, zset);
        if (n < 0) {
            total = -1;
            break;
        }
        total += n;
    } while (cursor != 0);
    int oom = b->oom;
    release(b);
    return oom ? -1 : total;
}

/* Removes the live entries listed in the sorted set INDEX and forgets the
 * members read, then those of the older version's SET LEGACY. Neither
 * index is deleted: members a fill adds meanwhile must stay. */
static long remove_index(bc_store *st, const bc_config *cfg, const char *index,
                         const char *legacy, int64_t now_ms)
{
    batch b = {.cfg = cfg, .mode = TAKE_ENTRY, .now_ms = now_ms, .forget = 1};
    long n = scan_remove(st, NULL, index, NULL, &b);
    if (n < 0 || !legacy)
        return n;
    batch old = {.cfg = cfg, .mode = TAKE_ENTRY};
    long m = scan_remove(st, legacy, NULL, NULL, &old);
    return m < 0 ? -1 : n + m;
}

static long remove_tags(bc_store *st, const bc_config *cfg, const bc_message *m,
                        int64_t now_ms)
{
    long total = 0;
    for (size_t i = 0; i < m->ntags; i++) {
        char index[BC_KEY_MAX], legacy[BC_KEY_MAX];
        size_t len = strlen(m->tags[i]);
        if (bc_key_tag_index(cfg, m->tags[i], len, index, sizeof index) < 0)
            continue; /* no fill could have indexed it either */
        int old = bc_key_legacy_tag_index(cfg, m->tags[i], len, legacy,
                                          sizeof legacy);
        long n = remove_index(st, cfg, index, old == 0 ? legacy : NULL, now_ms);
        if (n < 0)
            return -1;
        total += n;
    }
    return total;
}

/* Voids the leases (and pass markers) of fills in flight that the message
 * (or the path) covers, so none of them stores a response computed before
 * this invalidation. Runs before the removal: a fill finishing in between
 * then fails its lease check instead of storing behind the removal's
 * back. A registration whose holder has not removed it yet is harmless:
 * its lease is voided, at worst once more. */
static long void_leases(bc_store *st, const bc_config *cfg, const bc_message *m,
                        const char *path, size_t path_len, int64_t now_ms)
{
    char set[BC_KEY_MAX], legacy[BC_KEY_MAX];
    if (bc_key_lease_set(cfg, set, sizeof set) < 0 ||
        bc_key_legacy_lease_set(cfg, legacy, sizeof legacy) < 0)
        return -1;
    batch b = {.cfg = cfg,
               .mode = TAKE_LEASE,
               .m = m,
               .path = path,
               .path_len = path_len,
               .now_ms = now_ms};
    batch old = b;
    long n = scan_remove(st, NULL, set, NULL, &b);
    long k = n < 0 ? -1 : scan_remove(st, legacy, NULL, NULL, &old);
    return k < 0 ? -1 : n + k;
}

long bc_invalidate_apply(bc_store *st, const bc_config *cfg,
                         const bc_message *m, char *err, size_t errlen)
{
    char pat[BC_KEY_MAX];
    const char *pattern = m->pattern;
    int64_t now = bc_store_time_ms(st);
    long n = -1;
    if (now >= 0 && void_leases(st, cfg, m, NULL, 0, now) >= 0) {
        if (m->ntags > 0) {
            n = remove_tags(st, cfg, m, now);
        } else {
            int bad = 0;
            if (m->flush) {
                bad = bc_key_all_pattern(cfg, pat, sizeof pat) < 0;
                pattern = pat;
            } else if (m->partner_id) {
                bad = bc_key_partner_pattern(cfg, m->partner_id, pat,
                                             sizeof pat) < 0;
                pattern = pat;
            }
            batch b = {.cfg = cfg, .mode = TAKE_COVERED, .m = m};
            n = bad       ? -1
                : pattern ? scan_remove(st, NULL, NULL, pattern, &b)
                          : 0;
        }
    }
    if (n < 0) {
        snprintf(err, errlen, "redis %s: removal failed part-way: %s",
                 cfg->redis.address, bc_store_error(st));
        return -1;
    }
    return n;
}

long bc_invalidate_path(bc_store *st, const bc_config *cfg,
                        const char *encoded_path, size_t len)
{
    char index[BC_KEY_MAX], legacy[BC_KEY_MAX];
    if (bc_key_path_index(cfg, encoded_path, len, index, sizeof index) < 0)
        return -1;
    int old =
        bc_key_legacy_path_index(cfg, encoded_path, len, legacy, sizeof legacy);
    int64_t now = bc_store_time_ms(st);
    if (now < 0 || void_leases(st, cfg, NULL, encoded_path, len, now) < 0)
        return -1;
    return remove_index(st, cfg, index, old == 0 ? legacy : NULL, now);
}
