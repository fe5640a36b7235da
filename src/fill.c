/* fill.c: the lookup policy of a cacheable request and the end of its
 * fill: the memory tier, pass hints, miss prediction, the lease as a
 * lookup, waiting, the stale copy, and the store or release afterwards. */
#include "fill.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "deliver.h"
#include "entry.h"
#include "invalidate.h"
#include "key.h"
#include "lease.h"
#include "log.h"
#include "memtier.h"
#include "misspred.h"
#include "passhint.h"
#include "revalidate.h"
#include "store.h"

struct bc_fill {
    /* This request's. */
    int leased;          /* it holds the key's fill lease */
    int has_copy;        /* stale holds an entry past its freshness */
    int has_stale;       /* ... which may be served while another refreshes */
    int has_fallback;    /* ... which may be served when the backend fails */
    int refreshable;     /* ... which has a validator: the fill revalidates */
    int64_t fresh_since; /* entries stored at or after this wall time (ms)
                            answer the request even if not fresh: a fill it
                            waited for (no-cache entries are never fresh) */
    int lease_named;     /* lease is this key's */
    uint64_t mem_gen;    /* memory tier generation before the lookup */
    uint64_t key_hash;   /* bc_key_hash of the key */
    uint64_t hint_gen;   /* sh->hint_gen before the lookup */
    bc_lease lease;      /* the key's fill lease and this request's attempt */
    /* The worker's, across requests. */
    uint64_t token_base, fills;
    bc_passhint *hints; /* keys recently found passing */
    bc_misspred *pred;  /* endpoints whose lookups keep missing */
    char *stale;        /* a copy of a stale entry kept while refreshing it */
    size_t stale_len, stale_cap;
    char idx[BC_MAX_INDEXES][BC_KEY_MAX]; /* index keys of the entry */
};

bc_fill *bc_fill_new(void)
{
    bc_fill *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    f->hints = bc_passhint_new();
    f->pred = bc_misspred_new();
    if (!f->hints || !f->pred) {
        bc_fill_free(f);
        return NULL;
    }
    /* Lease tokens must differ across workers, processes and hosts. */
    if (getrandom(&f->token_base, sizeof f->token_base, 0) !=
        (ssize_t)sizeof f->token_base)
        f->token_base = (uint64_t)bc_wall_ms() ^ (uint64_t)(uintptr_t)f;
    return f;
}

void bc_fill_free(bc_fill *f)
{
    if (!f)
        return;
    bc_passhint_free(f->hints);
    bc_misspred_free(f->pred);
    free(f->stale);
    free(f);
}

void bc_fill_reconfigure(bc_fill *f)
{
    bc_misspred_reset(f->pred);
}

void bc_fill_begin(bc_fill *f)
{
    f->leased = 0;
    f->has_copy = 0;
    f->has_stale = 0;
    f->has_fallback = 0;
    f->refreshable = 0;
    f->fresh_since = INT64_MAX;
    f->lease_named = 0;
}

void bc_fill_trim(bc_fill *f, size_t keep)
{
    if (f->stale_cap > keep) {
        free(f->stale);
        f->stale = NULL;
        f->stale_cap = 0;
    }
}

int bc_fill_has_stale(const bc_fill *f)
{
    return f->has_fallback;
}

int bc_fill_copy(const bc_fill *f, bc_entry *e)
{
    return f->has_copy && f->refreshable &&
           bc_entry_decode(f->stale, f->stale_len, e) == 0;
}

/* Whether E, AGE seconds old, is past its windows for serving stale. */
static int past_windows(const bc_entry *e, long age)
{
    long w = (long)(e->stale_ttl > e->error_ttl ? e->stale_ttl : e->error_ttl);
    return age >= (long)e->ttl + w;
}

/* Keeps a copy of a stale entry E (DATA[0..LEN)), AGE seconds old, that
 * has a validator when REFRESHABLE: the store's reply buffer is reused by
 * the next command. */
static int keep_stale(bc_worker *w, const bc_entry *e, long age,
                      const char *data, size_t len, int refreshable)
{
    bc_fill *f = w->fill;
    if (len > f->stale_cap) {
        char *p = realloc(f->stale, len);
        if (!p)
            return -1;
        f->stale = p;
        f->stale_cap = len;
    }
    memcpy(f->stale, data, len);
    f->stale_len = len;
    f->has_copy = 1;
    f->refreshable = refreshable;
    /* A no-cache entry is never served without the backend's word, not
     * even within its lifetime. */
    int never = (e->flags & BC_ENTRY_NO_CACHE) != 0;
    f->has_stale = !never && age < (long)e->ttl + (long)e->stale_ttl;
    f->has_fallback = !never && age < (long)e->ttl + (long)e->error_ttl;
    return 0;
}

void bc_fill_serve_stale(bc_worker *w)
{
    bc_fill *f = w->fill;
    bc_entry e;
    if (bc_entry_decode(f->stale, f->stale_len, &e) < 0)
        return;
    long age = (long)bc_entry_age(&e, bc_wall_ms());
    /* A newer fill found by bc_fill_stale_stands may be fresh. */
    bc_deliver_entry(w, &e, age,
                     bc_entry_fresh(&e, age) ? BC_SERVED_HIT : BC_SERVED_STALE);
}

/* Keeps a fresh entry in the memory tier for memory_ttl, never past its
 * own freshness. */
static void remember(bc_worker *w, const bc_entry *e, const char *data,
                     size_t len, long age)
{
    bc_memtier *mem = w->sh->mem;
    if (!mem)
        return;
    long left_ms = ((long)e->ttl - age) * 1000;
    long mem_ms = (long)w->cfg->cache.memory_ttl * 1000;
    size_t klen = strlen(w->key), plen = 0;
    const char *path = NULL;
    /* The tier's path index is what path invalidations drop by. */
    if (!bc_key_is_entry(w->cfg, w->key, klen, &path, &plen))
        plen = 0;
    bc_memtier_put(mem, w->fill->mem_gen, w->key, klen, path, plen, data, len,
                   e->tags, e->tags_len,
                   bc_now_ms() + (left_ms < mem_ms ? left_ms : mem_ms));
}

/* Serves DATA when fresh, keeps it when stale. */
static bc_fill_look classify(bc_worker *w, const char *data, size_t len)
{
    bc_entry e;
    if (bc_entry_decode(data, len, &e) < 0) {
        bc_log(BC_LOG_DEBUG, "entry %s: unknown format, treated as a miss",
               w->key);
        return BC_LOOK_MISS;
    }
    long age = (long)bc_entry_age(&e, bc_wall_ms());
    if (bc_entry_fresh(&e, age)) {
        bc_deliver_entry(w, &e, age, BC_SERVED_HIT);
        remember(w, &e, data, len, age);
        return BC_LOOK_HIT;
    }
    if (e.created_ms >= w->fill->fresh_since) {
        bc_deliver_entry(w, &e, age, BC_SERVED_HIT);
        return BC_LOOK_HIT;
    }
    /* A copy with a validator is kept past its windows too: the fill
     * revalidates it instead of fetching it whole (SPEC 6). */
    bc_validators v;
    int refreshable = bc_revalidate_validators(&e, &v);
    if ((refreshable || !past_windows(&e, age)) &&
        keep_stale(w, &e, age, data, len, refreshable) == 0)
        return BC_LOOK_STALE;
    return BC_LOOK_MISS;
}

/* The entry is read again; the copy stands while Redis still holds it,
 * and a newer fill within its stale window takes its place. When Redis
 * cannot answer, the copy stands only if no invalidation has arrived since
 * the lookup and the listener is hearing them. */
int bc_fill_stale_stands(bc_worker *w)
{
    bc_fill *f = w->fill;
    const char *data;
    size_t len;
    bc_entry mine, now;
    if (!f->has_fallback)
        return 0;
    if (bc_entry_decode(f->stale, f->stale_len, &mine) < 0)
        return 0;
    int rc = bc_store_get(w->store, w->key, &data, &len);
    if (rc < 0)
        return atomic_load(&w->sh->hint_gen) == f->hint_gen &&
               atomic_load(&w->sh->subscribed);
    if (rc == 0 || bc_entry_decode(data, len, &now) < 0)
        return 0;
    if (now.created_ms == mine.created_ms)
        return 1;
    long age = (long)bc_entry_age(&now, bc_wall_ms());
    bc_validators v;
    return age < (long)now.ttl + (long)now.error_ttl &&
           keep_stale(w, &now, age, data, len,
                      bc_revalidate_validators(&now, &v)) == 0 &&
           f->has_fallback;
}

/* Serves the key from the memory tier when it holds it fresh. */
static int memory_hit(bc_worker *w)
{
    bc_memtier *mem = w->sh->mem;
    w->fill->mem_gen = bc_memtier_generation(mem);
    const bc_memblob *b =
        bc_memtier_get(mem, w->key, strlen(w->key), bc_now_ms());
    if (!b)
        return 0;
    bc_entry e;
    int hit = 0;
    if (bc_entry_decode(b->data, b->len, &e) == 0) {
        long age = (long)bc_entry_age(&e, bc_wall_ms());
        if (bc_entry_fresh(&e, age)) {
            bc_deliver_entry(w, &e, age, BC_SERVED_MEMORY);
            hit = 1;
        }
    }
    bc_memtier_release(mem, b);
    return hit;
}

/* Remembers that the key's fills are not stored, for the LEFT_MS its pass
 * marker has left. A key with a stale entry is not remembered: its
 * lookups must keep fetching that entry, the fallback when the backend
 * fails. */
static void hint_pass(bc_worker *w, long left_ms)
{
    bc_fill *f = w->fill;
    if (left_ms <= 0 || f->has_copy)
        return;
    bc_passhint_set(f->hints, f->key_hash, bc_now_ms() + left_ms, f->hint_gen);
}

/* Names the key's lease, once per request and only when a miss needs it:
 * a hit never does. A name that does not fit is "", and the lease calls
 * then fail: the request goes uncached. */
static void name_lease(bc_worker *w)
{
    bc_fill *f = w->fill;
    if (f->lease_named)
        return;
    bc_lease_init(&f->lease, w->cfg, w->key);
    f->lease_named = 1;
}

/* Looks the entry up together with its lease state, one round trip, for
 * a key believed to pass: a hit is served as usual; a pass marker sends
 * the request on to the backend without a second round trip. */
static bc_fill_look lookup_hinted(bc_worker *w, bc_fill_facts *facts)
{
    bc_fill *f = w->fill;
    const char *data;
    size_t len;
    int lease;
    long left = 0;
    name_lease(w);
    int rc = bc_lease_check(w->store, &f->lease, &data, &len, &lease, &left);
    if (rc < 0)
        return BC_LOOK_DOWN;
    bc_fill_look look = rc == 0 ? BC_LOOK_MISS : classify(w, data, len);
    if (look == BC_LOOK_HIT)
        return look;
    bc_passhint_clear(f->hints, f->key_hash);
    if (lease == BC_LEASE_PASS) {
        facts->claim = BC_CLAIM_PASS;
        hint_pass(w, left);
    }
    return look;
}

/* A key that passes, as far as this worker knows: trusted while nothing
 * was invalidated since and invalidations are being heard. */
static int passhint(bc_worker *w)
{
    bc_fill *f = w->fill;
    int h = bc_passhint_get(f->hints, f->key_hash, bc_now_ms(), f->hint_gen);
    if (h == BC_PASSHINT_TRUST && !atomic_load(&w->sh->subscribed))
        return BC_PASSHINT_CHECK;
    return h;
}

/* Tries to become the key's filler; LR also carries the entry as read in
 * the same round trip. */
static bc_fill_claim take_lease(bc_worker *w, bc_lease_result *lr)
{
    bc_fill *f = w->fill;
    name_lease(w);
    /* A staging name that does not fit fails the store, not the lease. */
    bc_lease_new_token(&f->lease, f->token_base, ++f->fills);
    int rc = bc_lease_take(w->store, &f->lease, lr);
    f->leased = rc == 1;
    if (rc < 0)
        return BC_CLAIM_DOWN;
    if (rc == 1)
        return BC_CLAIM_TAKEN;
    /* A pass marker: a fill found the response not storable, so go to the
     * backend without waiting. */
    return lr->state == BC_LEASE_PASS ? BC_CLAIM_PASS : BC_CLAIM_HELD;
}

/* Gives back a lease that was taken for an entry found fresh after all. */
static void give_back_lease(bc_worker *w)
{
    bc_fill *f = w->fill;
    bc_lease_release(w->store, &f->lease, 0);
    f->leased = 0;
}

static size_t endpoint_number(const bc_worker *w)
{
    return (size_t)(w->ep - w->cfg->endpoints);
}

/* The lookup of a key whose endpoint keeps missing (bc_misspred): the
 * lease attempt, which reads the entry in the same round trip, so a first
 * miss asks Redis once before the backend instead of twice. An entry
 * found is served as a plain lookup would have, and a lease taken for it
 * given back; otherwise FACTS gets what the attempt found. */
static bc_fill_look lookup_leasing(bc_worker *w, bc_fill_facts *facts)
{
    bc_fill *f = w->fill;
    bc_lease_result lr;
    bc_fill_claim claim = take_lease(w, &lr);
    if (claim == BC_CLAIM_DOWN) {
        /* While Redis is in trouble, no more lease attempts in passing. */
        bc_misspred_learn(f->pred, endpoint_number(w), 0);
        return BC_LOOK_DOWN;
    }
    bc_fill_look look = lr.data ? classify(w, lr.data, lr.len) : BC_LOOK_MISS;
    bc_misspred_learn(f->pred, endpoint_number(w), look != BC_LOOK_HIT);
    if (look == BC_LOOK_HIT) {
        if (f->leased)
            give_back_lease(w);
        return look;
    }
    if (claim == BC_CLAIM_PASS)
        hint_pass(w, lr.left_ms); /* after classify: has_stale is known */
    facts->claim = claim;
    return look;
}

/* Reads the entry: from the memory tier, else from Redis, in the way the
 * key's recent history suggests. A fresh entry is served. */
static bc_fill_look lookup(bc_worker *w, bc_fill_facts *facts)
{
    bc_fill *f = w->fill;
    const char *data;
    size_t len;
    if (w->sh->mem && memory_hit(w))
        return BC_LOOK_HIT;
    f->key_hash = bc_key_hash(w->key, strlen(w->key));
    /* Read before Redis is: a marker seen after an invalidation began is
     * then remembered with a generation that invalidation moved past. */
    f->hint_gen = atomic_load(&w->sh->hint_gen);
    int hint = passhint(w);
    if (hint == BC_PASSHINT_TRUST) {
        facts->claim = BC_CLAIM_PASS;
        return BC_LOOK_MISS;
    }
    if (hint == BC_PASSHINT_CHECK)
        return lookup_hinted(w, facts);
    /* A HEAD miss takes no lease (see bc_fill_policy_next). */
    size_t ep = endpoint_number(w);
    if (bc_misspred_expect_miss(f->pred, ep) && !w->v.head)
        return lookup_leasing(w, facts);
    int rc = bc_store_get(w->store, w->key, &data, &len);
    if (rc < 0)
        return BC_LOOK_DOWN;
    bc_fill_look look = rc == 0 ? BC_LOOK_MISS : classify(w, data, len);
    bc_misspred_learn(f->pred, ep, look != BC_LOOK_HIT);
    return look;
}

/* Becomes the filler unless the fill it would duplicate has just landed:
 * the lookup and the lease are separate round trips, so another fill may
 * have stored the entry and dropped its lease in between; the lease
 * attempt reads the entry again in its own round trip, and serves it. */
static bc_fill_claim claim_fill(bc_worker *w)
{
    bc_lease_result lr;
    bc_fill_claim claim = take_lease(w, &lr);
    if (claim == BC_CLAIM_PASS)
        hint_pass(w, lr.left_ms);
    if (claim != BC_CLAIM_TAKEN || !lr.data ||
        classify(w, lr.data, lr.len) != BC_LOOK_HIT)
        return claim;
    give_back_lease(w);
    return BC_CLAIM_SERVED;
}

/* Waits for another request's fill of the key, up to lock_timeout_ms. */
static bc_fill_wait wait_fill(bc_worker *w)
{
    const bc_config *cfg = w->cfg;
    int64_t deadline = bc_now_ms() + cfg->cache.lock_timeout_ms;
    long pause_ms = 1;
    /* The fill waited for answers this request, also when it is not fresh
     * for later ones (no-cache): it is as recent as a fetch of its own. */
    w->fill->fresh_since = bc_wall_ms();
    bc_stats_add(&w->sh->stats, BC_STAT_LOCK_WAITS, 1);
    while (bc_now_ms() < deadline) {
        struct timespec ts = {0, pause_ms * 1000000L};
        nanosleep(&ts, NULL);
        /* A short ceiling: a waiter learns of the fill at most 10 ms
         * late, for two small GETs per wait step. */
        pause_ms = pause_ms * 2 > 10 ? 10 : pause_ms * 2;
        const char *data;
        size_t len;
        int lease;
        long left = 0;
        int rc = bc_lease_check(w->store, &w->fill->lease, &data, &len, &lease,
                                &left);
        if (rc < 0)
            return BC_WAIT_DOWN;
        if (rc == 1 && classify(w, data, len) == BC_LOOK_HIT)
            return BC_WAIT_SERVED;
        if (lease == BC_LEASE_PASS) {
            hint_pass(w, left);
            return BC_WAIT_PASS;
        }
        if (lease != BC_LEASE_FREE)
            continue;
        switch (claim_fill(w)) {
        case BC_CLAIM_HELD: /* someone else was quicker: wait on */
        case BC_CLAIM_UNTRIED:
            break;
        case BC_CLAIM_SERVED:
            return BC_WAIT_SERVED;
        case BC_CLAIM_TAKEN:
            return BC_WAIT_TAKEN;
        case BC_CLAIM_PASS:
            return BC_WAIT_PASS;
        case BC_CLAIM_DOWN:
            return BC_WAIT_DOWN;
        }
    }
    return BC_WAIT_TIMEOUT;
}

/* Serves the key from the cache if it can, and says how the request is
 * answered (bc_fill_policy_next decides; this does the I/O it asks for);
 * sets w->reason. */
bc_fill_outcome bc_fill_lookup(bc_worker *w)
{
    bc_fill_facts facts = {.look = BC_LOOK_MISS};
    bc_fill_outcome outcome = BC_FILL_BYPASS;
    facts.look = lookup(w, &facts);
    facts.head = w->v.head;
    for (;;) {
        facts.stale = w->fill->has_stale;
        facts.refresh = w->fill->has_copy && w->fill->refreshable;
        switch (bc_fill_policy_next(&facts, &outcome, &w->reason)) {
        case BC_FILL_STEP_DONE:
            return outcome;
        case BC_FILL_STEP_CLAIM:
            facts.claim = claim_fill(w);
            break;
        case BC_FILL_STEP_WAIT:
            facts.wait = wait_fill(w);
            break;
        case BC_FILL_STEP_STALE:
            bc_fill_serve_stale(w);
            return outcome;
        }
    }
}

/* Sends the store of the encoded entry with its tag and path index
 * memberships, kept only if the fill's lease still holds. Returns 1 sent,
 * -1 fault (the lease is then released as a pass marker). */
static int store_entry(bc_worker *w, const bc_forwarded *res)
{
    bc_fill *f = w->fill;
    const bc_config *cfg = w->cfg;
    char *idx[BC_MAX_INDEXES];
    size_t n = 0;
    const char *path;
    size_t plen;
    /* An entry missing from one of its indexes would outlive the path or
     * tag invalidation that should remove it: no index, no store. */
    if (!bc_key_is_entry(cfg, w->key, strlen(w->key), &path, &plen) ||
        bc_key_path_index(cfg, path, plen, f->idx[n], BC_KEY_MAX) < 0)
        return -1;
    idx[n] = f->idx[n], n++;
    for (size_t i = 0; i < res->tags_len;) {
        size_t e = i;
        while (e < res->tags_len && res->tags[e] != ' ')
            e++;
        if (n == BC_MAX_INDEXES || bc_key_tag_index(cfg, res->tags + i, e - i,
                                                    f->idx[n], BC_KEY_MAX) < 0)
            return -1;
        idx[n] = f->idx[n], n++;
        i = e + 1;
    }
    int rc = bc_lease_store(w->store, &f->lease, res->entry, res->entry_len,
                            res->keep, idx, n);
    /* The outcome is not known yet (see bc_lease_store), so the entry
     * is not put into the memory tier here: the first HIT from Redis does
     * that, and an entry whose store lost its lease never gets there. */
    return rc;
}

/* After the response: store the fill, or release its waiters with a pass
 * marker (bc_fill_policy_pass_ms). */
void bc_fill_end(bc_worker *w, const bc_forwarded *res)
{
    bc_fill *f = w->fill;
    if (!f->leased)
        return;
    if (res->entry_len > 0 && store_entry(w, res) >= 0)
        return;
    int whole = res->head && !w->out.cut && !w->out.client_gone;
    /* A HEAD fill that did not refresh the entry says nothing of whether
     * the GET's answer may be stored: the key's next GET fills as usual. */
    long ms = w->v.head ? 0
                        : bc_fill_policy_pass_ms(w->cfg->cache.lock_timeout_ms,
                                                 whole, w->reason);
    if (ms == BC_FILL_PASS_DECLARED_MS)
        hint_pass(w, ms);
    bc_lease_release(w->store, &f->lease, ms);
}
