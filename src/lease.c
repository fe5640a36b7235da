/* lease.c: the fill lease protocol: names, token, scripts, and taking,
 * extending, checking, storing under and releasing a lease in Redis. */
#include "lease.h"

#include <assert.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <string.h>

/* Index entries outlive their entry by this much, for a Redis clock that
 * steps back a little between an entry's SET and its index write. */
#define INDEX_SLACK_MS 1000

/* The most indexes one store lists its entry in (the store's pipeline
 * holds them and four more commands). */
#define MAX_INDEXES 60

/* A lease's member of the lease set: its name, a space, its token. */
#define MEMBER_MAX (BC_KEY_INTERNAL_MAX + BC_LEASE_TOKEN_MAX)

/* KEYS: entry, lease, staged value; ARGV: token. The fill's
 * compare-and-set: the staged value (with the entry's TTL, which RENAME
 * keeps) becomes the entry only while the lease holds the token. It names
 * the entry's keys only; the index entries were written before it, the
 * lease set is updated after it. Refused when Redis is out of memory, as
 * the index writes before it would have been. */
static const char store_lua[] = "#!lua\n"
                                "if redis.call('GET', KEYS[2]) ~= ARGV[1] or\n"
                                "   redis.call('EXISTS', KEYS[3]) == 0 then\n"
                                "  redis.call('DEL', KEYS[3]) return 0 end\n"
                                "redis.call('RENAME', KEYS[3], KEYS[1])\n"
                                "redis.call('DEL', KEYS[2])\n"
                                "return 1\n";

/* KEYS: lease; ARGV: token, pass time in ms. The lease turns into a
 * "pass" marker: waiters and newcomers go to the backend on their own
 * instead of queueing for fills that would not be stored either. */
static const char release_lua[] =
    "if redis.call('GET', KEYS[1]) == ARGV[1] then\n"
    "  if ARGV[2] == '0' then redis.call('DEL', KEYS[1])\n"
    "  else redis.call('SET', KEYS[1], 'pass', 'PX', ARGV[2]) end\n"
    "  return 1\n"
    "end\n"
    "return 0\n";

int bc_lease_init(bc_lease *l, const bc_config *cfg, const char *key)
{
    l->cfg = cfg;
    l->key = key;
    l->ttl_ms = (long)cfg->backend.timeout_ms + 1000;
    l->token[0] = '\0';
    l->fill[0] = '\0';
    int a = bc_key_lease(cfg, key, strlen(key), l->name, sizeof l->name);
    int b = bc_key_lease_set(cfg, l->set, sizeof l->set);
    return a < 0 || b < 0 ? -1 : 0;
}

int bc_lease_new_token(bc_lease *l, uint64_t base, uint64_t seq)
{
    snprintf(l->token, sizeof l->token, "%016llx-%llu",
             (unsigned long long)base, (unsigned long long)seq);
    return bc_key_fill(l->cfg, l->key, strlen(l->key), l->token, l->fill,
                       sizeof l->fill);
}

int bc_lease_member(const bc_lease *l, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s %s", l->name, l->token);
    if (n < 0 || (size_t)n >= outlen) {
        if (outlen > 0)
            out[0] = '\0';
        return -1;
    }
    return 0;
}

/* Whether L can be used in Redis: every name built and a token given. A
 * name that could not be built is never a lease: the caller fails open. */
static int usable(const bc_lease *l)
{
    return l->name[0] && l->set[0] && l->token[0];
}

/* How long a lease is first taken for: twice the time a round trip may
 * take, and at least 200 ms, so that the extension sent right after the
 * reply arrives in time even on a busy Redis. */
static long probe_ms(const bc_store *st)
{
    long t = bc_store_timeout_ms(st);
    return 2 * t > 200 ? 2 * t : 200;
}

static void append(bc_store *st, int argc, const char *const *argv)
{
    bc_store_append(st, argc, argv, NULL);
}

/* Sends what follows a lease attempt, without waiting: a lease taken is
 * extended to its ttl (a lease whose extension is lost, when the
 * connection broke, expires early; another request may then fill the key
 * too, and this fill's store is skipped as having lost its lease); an
 * attempt that did not take it removes its registration. */
static int after_attempt(bc_store *st, const bc_lease *l, int taken,
                         const char *member)
{
    static const char *const labels[] = {"lease"};
    char ttl[24];
    snprintf(ttl, sizeof ttl, "%ld", l->ttl_ms);
    const char *extend[] = {"PEXPIRE", l->name, ttl};
    const char *unregister[] = {"ZREM", l->set, member};
    append(st, 3, taken ? extend : unregister);
    return bc_store_defer(st, labels, 1, 0, NULL);
}

/* Drops a lease just taken whose registration failed: without it no
 * invalidation would find the lease, and its fill could store what an
 * invalidation meant to remove. Sent without waiting. */
static void give_back(bc_store *st, const bc_lease *l)
{
    static const char *const labels[] = {"lease"};
    const char *argv[] = {"EVAL", release_lua, "1", l->name, l->token, "0"};
    append(st, 6, argv);
    bc_store_defer(st, labels, 1, 0, NULL);
}

int bc_lease_take(bc_store *st, const bc_lease *l, bc_lease_result *out)
{
    memset(out, 0, sizeof *out);
    char member[MEMBER_MAX];
    if (!usable(l) || bc_lease_member(l, member, sizeof member) < 0)
        return -1;
    if (bc_store_begin(st, 0) < 0)
        return -1;
    /* GET returns what held the lease, so a pass marker is seen at once,
     * without a wait-and-poll round. The lease is taken for a short time
     * and extended once its reply is in: if this round trip times out,
     * Redis may still run the SET later (a stalled server runs what was
     * queued when it wakes), and that lease, which nobody will fill or
     * release, then blocks the key for probe_ms, not for its ttl. The
     * registration in the lease set, before the backend is called, is
     * what lets an invalidation void the fill; it is scored for twice the
     * ttl, which covers the delay between it and the lease's extension by
     * far (a member left behind by a process that died is trimmed then). */
    long probe = probe_ms(st);
    char px[24];
    snprintf(px, sizeof px, "%ld", probe < l->ttl_ms ? probe : l->ttl_ms);
    const char *set[] = {"SET", l->name, l->token, "NX", "PX", px, "GET"};
    append(st, 7, set);
    const char *members[1] = {member};
    bc_store_append_index_add(st, l->set, 2 * l->ttl_ms, 0, members, 1);
    const char *pttl[] = {"PTTL", l->name};
    append(st, 2, pttl);
    const char *get[] = {"GET", l->key};
    append(st, 2, get);
    redisReply *r[4];
    if (bc_store_read(st, 4, r, "lease") < 0)
        return -1;
    int rc = r[0]->type == REDIS_REPLY_NIL ? 1 : 0;
    if (rc == 0) {
        out->state =
            r[0]->type == REDIS_REPLY_STRING && strcmp(r[0]->str, "pass") == 0
                ? BC_LEASE_PASS
                : BC_LEASE_HELD;
        out->left_ms =
            r[2]->type == REDIS_REPLY_INTEGER ? (long)r[2]->integer : 0;
    }
    if (rc == 0 && r[0]->type == REDIS_REPLY_ERROR)
        rc = bc_store_refused(st,
                              "SET NX GET: %s (bocache needs Redis 7.0 or "
                              "later)",
                              r[0]->str);
    if (rc >= 0 && r[1]->type == REDIS_REPLY_ERROR) {
        bc_store_refused(st, "lease registration: %s; serving uncached",
                         r[1]->str);
        if (rc == 1)
            give_back(st, l);
        rc = -1;
    }
    if (rc >= 0 && after_attempt(st, l, rc == 1, member) < 0)
        rc = -1;
    if (rc >= 0 && r[3]->type == REDIS_REPLY_STRING) {
        bc_store_keep(st, r[3]); /* kept: OUT points into it */
        out->data = r[3]->str;
        out->len = (size_t)r[3]->len;
        r[3] = NULL;
    }
    for (int i = 0; i < 4; i++)
        bc_store_reply_free(r[i]);
    return rc;
}

int bc_lease_store(bc_store *st, const bc_lease *l, const char *data,
                   size_t len, long ttl, char *const *indexes, size_t n)
{
    const char *labels[MAX_INDEXES + 3];
    assert(n <= MAX_INDEXES);
    char member[MEMBER_MAX];
    if (bc_store_begin(st, 1) < 0)
        return -1;
    if (!usable(l) || !l->fill[0] ||
        bc_lease_member(l, member, sizeof member) < 0)
        return -1;
    /* In this order, each command naming keys of one slot only (SPEC 10):
     * the value staged, the entry listed in each index (before the
     * compare-and-set, so an invalidation that reads an index after the
     * entry landed finds it), the compare-and-set, the lease's
     * registration dropped. The staged value comes first so that the
     * index entries, scored from their own later time, outlive it. */
    char ttls[24];
    snprintf(ttls, sizeof ttls, "%ld", ttl);
    const char *set[] = {"SET", l->fill, data, "EX", ttls};
    size_t setl[] = {3, strlen(l->fill), len, 2, strlen(ttls)};
    bc_store_append(st, 5, set, setl);
    const char *members[1] = {l->key};
    for (size_t i = 0; i < n; i++)
        bc_store_append_index_add(st, indexes[i], ttl * 1000 + INDEX_SLACK_MS,
                                  1, members, 1);
    const char *cas[] = {"EVAL",  store_lua, "3",     l->key,
                         l->name, l->fill,   l->token};
    append(st, 7, cas);
    const char *unregister[] = {"ZREM", l->set, member};
    append(st, 3, unregister);
    /* How each reply's error is reported; the compare-and-set's is the
     * verdict. */
    labels[0] = "store";
    for (size_t i = 0; i < n; i++)
        labels[1 + i] = "index";
    labels[n + 1] = "store";
    labels[n + 2] = "lease";
    if (bc_store_defer(st, labels, (int)n + 3, (int)n + 2, l->key) < 0)
        return -1;
    return 1;
}

int bc_lease_release(bc_store *st, const bc_lease *l, long pass_ms)
{
    char member[MEMBER_MAX];
    if (bc_store_begin(st, 1) < 0)
        return -1;
    if (!usable(l) || bc_lease_member(l, member, sizeof member) < 0)
        return -1;
    char ms[24];
    snprintf(ms, sizeof ms, "%ld", pass_ms);
    const char *argv[] = {"EVAL", release_lua, "1", l->name, l->token, ms};
    append(st, 6, argv);
    /* A pass marker stays registered until it expires, so that every
     * invalidation covering its key finds and removes it (the member is
     * this attempt's own, so its time is set to the marker's); a lease
     * simply dropped takes its registration along. */
    const char *members[1] = {member};
    const char *unregister[] = {"ZREM", l->set, member};
    if (pass_ms > 0)
        bc_store_append_index_add(st, l->set, pass_ms + INDEX_SLACK_MS, 0,
                                  members, 1);
    else
        append(st, 3, unregister);
    redisReply *r[2];
    if (bc_store_read(st, 2, r, "lease release") < 0)
        return -1;
    int rc = 0;
    for (int i = 0; i < 2; i++) {
        if (rc == 0 && r[i]->type == REDIS_REPLY_ERROR)
            rc = bc_store_refused(st, "lease release: %s", r[i]->str);
        bc_store_reply_free(r[i]);
    }
    return rc;
}

int bc_lease_check(bc_store *st, const bc_lease *l, const char **data,
                   size_t *len, int *state, long *left_ms)
{
    if (bc_store_begin(st, 0) < 0)
        return -1;
    const char *get[] = {"GET", l->key};
    const char *lease[] = {"GET", l->name};
    const char *pttl[] = {"PTTL", l->name};
    append(st, 2, get);
    append(st, 2, lease);
    if (left_ms)
        append(st, 2, pttl);
    redisReply *r[3] = {NULL, NULL, NULL};
    if (bc_store_read(st, left_ms ? 3 : 2, r, "GET") < 0)
        return -1;
    if (left_ms)
        *left_ms = r[2]->type == REDIS_REPLY_INTEGER ? (long)r[2]->integer : 0;
    *state = r[1]->type != REDIS_REPLY_STRING ? BC_LEASE_FREE
             : strcmp(r[1]->str, "pass") == 0 ? BC_LEASE_PASS
                                              : BC_LEASE_HELD;
    bc_store_reply_free(r[1]);
    bc_store_reply_free(r[2]);
    if (r[0]->type != REDIS_REPLY_STRING) {
        bc_store_reply_free(r[0]);
        return 0;
    }
    bc_store_keep(st, r[0]);
    *data = r[0]->str;
    *len = (size_t)r[0]->len;
    return 1;
}
