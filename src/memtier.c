/* memtier.c: the per-process in-memory tier: a chained hash table with an
 * LRU list under one mutex, reference-counted entries so a hit is served
 * without holding the lock or copying the entry, and an ordered index of
 * the entries' paths so a path invalidation visits only its entries. */
#include "memtier.h"

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "key.h"
#include "log.h"

typedef struct group group;

typedef struct node {
    bc_memblob blob; /* first: a blob pointer is a node pointer */
    struct node *hnext;
    struct node *prev, *next;   /* LRU list, most recent first */
    group *group;               /* its path's, NULL without a path */
    struct node *gprev, *gnext; /* the group's entries */
    uint64_t hash;
    int64_t expires_ms;
    int refs;   /* readers holding it; guarded by the lock */
    int linked; /* in the table; freed when unlinked and unreferenced */
    size_t cost;
    const char *key, *tags;
    size_t klen, tags_len;
    char storage[]; /* key, tags, data */
} node;

/* The entries of one distinct path, a node of an AVL tree ordered by path
 * bytes. The paths starting with a given prefix are one contiguous run of
 * that order, so a path invalidation finds them in O(log paths + found)
 * even when paths hold ids and nearly every entry has its own. A group
 * lives while it has entries. */
struct group {
    group *left, *right;
    int height;
    node *nodes;
    group *visit; /* drop_under's list of groups to look at */
    size_t cost;
    size_t plen;
    char path[];
};

struct bc_memtier {
    pthread_mutex_t lock;
    node **buckets;
    size_t nbuckets; /* a power of two */
    node *head, *tail;
    group *paths; /* the root of the path tree */
    size_t budget, bytes, count, npaths;
    _Atomic uint64_t generation;
    int enabled;
};

/* Buckets are sized for entries of a few KiB filling the budget; chains
 * stay short for smaller entries too, since eviction bounds the count. */
#define AVG_ENTRY 2048

bc_memtier *bc_memtier_new(size_t budget)
{
    bc_memtier *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    size_t want = budget / AVG_ENTRY, n = 1024;
    while (n < want && n < ((size_t)1 << 24))
        n <<= 1;
    m->buckets = calloc(n, sizeof *m->buckets);
    if (!m->buckets) {
        free(m);
        return NULL;
    }
    m->nbuckets = n;
    m->budget = budget;
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

static void lru_unlink(bc_memtier *m, node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        m->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        m->tail = n->prev;
    n->prev = n->next = NULL;
}

static void lru_push(bc_memtier *m, node *n)
{
    n->prev = NULL;
    n->next = m->head;
    if (m->head)
        m->head->prev = n;
    m->head = n;
    if (!m->tail)
        m->tail = n;
}

/* ---- the path tree (AVL) ---- */

static int height(const group *g)
{
    return g ? g->height : 0;
}

static int path_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static void fix_height(group *g)
{
    int l = height(g->left), r = height(g->right);
    g->height = 1 + (l > r ? l : r);
}

static group *rotate_right(group *g)
{
    group *l = g->left;
    g->left = l->right;
    l->right = g;
    fix_height(g);
    fix_height(l);
    return l;
}

static group *rotate_left(group *g)
{
    group *r = g->right;
    g->right = r->left;
    r->left = g;
    fix_height(g);
    fix_height(r);
    return r;
}

/* Restores the AVL balance at G after one insertion or removal below it;
 * returns the subtree's new root. */
static group *balance(group *g)
{
    fix_height(g);
    int d = height(g->left) - height(g->right);
    if (d > 1) {
        if (height(g->left->left) < height(g->left->right))
            g->left = rotate_left(g->left);
        return rotate_right(g);
    }
    if (d < -1) {
        if (height(g->right->right) < height(g->right->left))
            g->right = rotate_right(g->right);
        return rotate_left(g);
    }
    return g;
}

static group *tree_find(group *t, const char *path, size_t plen)
{
    while (t) {
        int c = path_cmp(path, plen, t->path, t->plen);
        if (c == 0)
            return t;
        t = c < 0 ? t->left : t->right;
    }
    return NULL;
}

/* Inserts G, whose path the tree does not hold yet. */
static group *tree_insert(group *t, group *g)
{
    if (!t)
        return g;
    if (path_cmp(g->path, g->plen, t->path, t->plen) < 0)
        t->left = tree_insert(t->left, g);
    else
        t->right = tree_insert(t->right, g);
    return balance(t);
}

static group *tree_remove_min(group *t, group **min)
{
    if (!t->left) {
        *min = t;
        return t->right;
    }
    t->left = tree_remove_min(t->left, min);
    return balance(t);
}

/* Removes G, which the tree holds. */
static group *tree_remove(group *t, group *g)
{
    assert(t);
    if (t != g) {
        if (path_cmp(g->path, g->plen, t->path, t->plen) < 0)
            t->left = tree_remove(t->left, g);
        else
            t->right = tree_remove(t->right, g);
        return balance(t);
    }
    if (!g->left || !g->right)
        return g->left ? g->left : g->right;
    group *min;
    group *right = tree_remove_min(g->right, &min);
    min->left = g->left;
    min->right = right;
    return balance(min);
}

/* Where G's path stands to the paths starting with PRE[0..LEN): below
 * them (< 0), one of them (0) or above them (> 0). */
static int range_cmp(const group *g, const char *pre, size_t len)
{
    int c = memcmp(g->path, pre, g->plen < len ? g->plen : len);
    if (c)
        return c;
    return g->plen < len ? -1 : 0;
}

/* Puts the groups of T whose paths start with PRE on *LIST. The recursion
 * goes no deeper than the tree (at most about 1.44 log2 of the paths). */
static void collect(group *t, const char *pre, size_t len, group **list)
{
    while (t) {
        int c = range_cmp(t, pre, len);
        if (c < 0) {
            t = t->right;
        } else if (c > 0) {
            t = t->left;
        } else {
            collect(t->left, pre, len, list);
            t->visit = *list;
            *list = t;
            t = t->right;
        }
    }
}

/* Returns the group of PATH, made (and counted in the budget) if the tree
 * has none; NULL when out of memory. Called with the lock held. */
static group *group_get(bc_memtier *m, const char *path, size_t plen)
{
    group *g = tree_find(m->paths, path, plen);
    if (g)
        return g;
    g = malloc(sizeof *g + plen);
    if (!g)
        return NULL;
    memset(g, 0, sizeof *g);
    memcpy(g->path, path, plen);
    g->plen = plen;
    g->height = 1;
    g->cost = sizeof *g + plen;
    m->paths = tree_insert(m->paths, g);
    m->bytes += g->cost;
    m->npaths++;
    return g;
}

static void group_add(group *g, node *n)
{
    n->group = g;
    n->gprev = NULL;
    n->gnext = g->nodes;
    if (g->nodes)
        g->nodes->gprev = n;
    g->nodes = n;
}

/* Takes N out of its group, and frees the group if N was its last. */
static void group_del(bc_memtier *m, node *n)
{
    group *g = n->group;
    if (n->gprev)
        n->gprev->gnext = n->gnext;
    else
        g->nodes = n->gnext;
    if (n->gnext)
        n->gnext->gprev = n->gprev;
    n->group = NULL;
    n->gprev = n->gnext = NULL;
    if (g->nodes)
        return;
    m->paths = tree_remove(m->paths, g);
    m->bytes -= g->cost;
    m->npaths--;
    free(g);
}

/* ---- entries ---- */

/* Takes N out of the table, the list and its group; frees it unless a
 * reader holds it (the last release frees it then). Called with the lock
 * held. */
static void unlink_node(bc_memtier *m, node *n)
{
    node **pp = &m->buckets[n->hash & (m->nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    lru_unlink(m, n);
    if (n->group)
        group_del(m, n);
    n->linked = 0;
    m->bytes -= n->cost;
    m->count--;
    if (n->refs == 0)
        free(n);
}

static node *find(bc_memtier *m, uint64_t h, const char *key, size_t klen)
{
    for (node *n = m->buckets[h & (m->nbuckets - 1)]; n; n = n->hnext)
        if (n->hash == h && n->klen == klen && memcmp(n->key, key, klen) == 0)
            return n;
    return NULL;
}

void bc_memtier_free(bc_memtier *m)
{
    if (!m)
        return;
    while (m->head)
        unlink_node(m, m->head);
    assert(!m->paths && m->bytes == 0);
    pthread_mutex_destroy(&m->lock);
    free(m->buckets);
    free(m);
}

uint64_t bc_memtier_generation(const bc_memtier *m)
{
    return atomic_load(&m->generation);
}

const bc_memblob *bc_memtier_get(bc_memtier *m, const char *key, size_t klen,
                                 int64_t now_ms)
{
    uint64_t h = bc_key_hash(key, klen);
    pthread_mutex_lock(&m->lock);
    node *n = m->enabled ? find(m, h, key, klen) : NULL;
    if (n && now_ms >= n->expires_ms) {
        unlink_node(m, n);
        n = NULL;
    }
    if (n) {
        n->refs++;
        lru_unlink(m, n);
        lru_push(m, n);
    }
    pthread_mutex_unlock(&m->lock);
    return n ? &n->blob : NULL;
}

void bc_memtier_release(bc_memtier *m, const bc_memblob *b)
{
    node *n = (node *)b;
    pthread_mutex_lock(&m->lock);
    int dead = --n->refs == 0 && !n->linked;
    pthread_mutex_unlock(&m->lock);
    if (dead)
        free(n);
}

static node *make_node(const char *key, size_t klen, const char *data,
                       size_t len, const char *tags, size_t tags_len)
{
    size_t cost = sizeof(node) + klen + tags_len + len;
    node *n = malloc(cost);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    char *p = n->storage;
    memcpy(p, key, klen);
    n->key = p;
    n->klen = klen;
    p += klen;
    if (tags_len)
        memcpy(p, tags, tags_len);
    n->tags = p;
    n->tags_len = tags_len;
    p += tags_len;
    memcpy(p, data, len);
    n->blob.data = p;
    n->blob.len = len;
    n->cost = cost;
    n->hash = bc_key_hash(key, klen);
    return n;
}

/* Entries no one reads again drift to the LRU tail; a few expired ones are
 * freed there on every put, so a tier of short-lived entries stays about
 * as large as what is live instead of filling its whole budget. */
#define REAP_PER_PUT 16

static void reap_expired(bc_memtier *m)
{
    int64_t now = bc_now_ms();
    node *n = m->tail;
    for (int i = 0; n && i < REAP_PER_PUT; i++) {
        node *prev = n->prev;
        if (n->expires_ms <= now)
            unlink_node(m, n);
        n = prev;
    }
}

void bc_memtier_put(bc_memtier *m, uint64_t gen, const char *key, size_t klen,
                    const char *path, size_t path_len, const char *data,
                    size_t len, const char *tags, size_t tags_len,
                    int64_t expires_ms)
{
    /* One huge entry must not flush everything else out. */
    if (sizeof(node) + klen + tags_len + len > m->budget / 8)
        return;
    node *n = make_node(key, klen, data, len, tags, tags_len);
    if (!n)
        return;
    n->expires_ms = expires_ms;
    pthread_mutex_lock(&m->lock);
    if (!m->enabled || atomic_load(&m->generation) != gen) {
        pthread_mutex_unlock(&m->lock);
        free(n);
        return;
    }
    node *old = find(m, n->hash, key, klen);
    if (old)
        unlink_node(m, old);
    reap_expired(m);
    if (path_len) {
        /* An entry missing from the path index would outlive a path
         * invalidation, so without a group it is not kept. */
        group *g = group_get(m, path, path_len);
        if (!g) {
            pthread_mutex_unlock(&m->lock);
            free(n);
            return;
        }
        /* In the group before the evictions, so they cannot free it. */
        group_add(g, n);
    }
    m->bytes += n->cost;
    /* N is not on the LRU list yet: never its own victim. */
    while (m->tail && m->bytes > m->budget)
        unlink_node(m, m->tail);
    n->linked = 1;
    size_t b = n->hash & (m->nbuckets - 1);
    n->hnext = m->buckets[b];
    m->buckets[b] = n;
    lru_push(m, n);
    m->count++;
    pthread_mutex_unlock(&m->lock);
}

size_t bc_memtier_drop_if(bc_memtier *m, bc_memtier_pred covers, void *ctx)
{
    size_t dropped = 0;
    pthread_mutex_lock(&m->lock);
    /* Moving the generation first makes every put of an entry fetched
     * before this point fail, even one that lands after the scan. */
    atomic_fetch_add(&m->generation, 1);
    for (node *n = m->head, *next; n; n = next) {
        next = n->next;
        if (covers(ctx, n->key, n->klen, n->tags, n->tags_len)) {
            unlink_node(m, n);
            dropped++;
        }
    }
    pthread_mutex_unlock(&m->lock);
    return dropped;
}

typedef struct span {
    const char *s;
    size_t len;
} span;

static int span_cmp(const void *a, const void *b)
{
    const span *x = a, *y = b;
    return path_cmp(x->s, x->len, y->s, y->len);
}

/* Sorts the prefixes and keeps those that no other one starts: the paths
 * under those are disjoint runs of the tree and cover all the prefixes'
 * paths, so no group is collected twice. Returns how many are kept. */
static size_t disjoint(span *p, size_t n)
{
    qsort(p, n, sizeof *p, span_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || p[i].len < p[k - 1].len ||
            memcmp(p[i].s, p[k - 1].s, p[k - 1].len) != 0)
            p[k++] = p[i];
    return k;
}

/* Drops the covered entries of the groups on LIST. Called with the lock
 * held. */
static size_t drop_groups(bc_memtier *m, group *list, bc_memtier_pred covers,
                          void *ctx)
{
    size_t dropped = 0;
    while (list) {
        group *g = list;
        list = g->visit; /* G is freed with its last entry */
        for (node *n = g->nodes, *next; n; n = next) {
            next = n->gnext;
            if (covers(ctx, n->key, n->klen, n->tags, n->tags_len)) {
                unlink_node(m, n);
                dropped++;
            }
        }
    }
    return dropped;
}

/* The groups under PREFIXES when they could not be sorted (out of
 * memory): prefix by prefix, each group taken for the first prefix it
 * falls under only. Called with the lock held. */
static size_t drop_unsorted(bc_memtier *m, const char *const *prefixes,
                            const size_t *lens, size_t nprefixes,
                            bc_memtier_pred covers, void *ctx)
{
    size_t dropped = 0;
    for (size_t i = 0; i < nprefixes; i++) {
        group *list = NULL, *unseen = NULL;
        collect(m->paths, prefixes[i], lens[i], &list);
        while (list) {
            group *g = list;
            list = g->visit;
            int seen = 0;
            for (size_t j = 0; j < i && !seen; j++)
                seen = range_cmp(g, prefixes[j], lens[j]) == 0;
            if (!seen) {
                g->visit = unseen;
                unseen = g;
            }
        }
        dropped += drop_groups(m, unseen, covers, ctx);
    }
    return dropped;
}

/* Prefixes sorted on the stack; more take a malloc. */
#define STACK_PREFIXES 16

size_t bc_memtier_drop_under(bc_memtier *m, const char *const *prefixes,
                             const size_t *lens, size_t nprefixes,
                             bc_memtier_pred covers, void *ctx)
{
    span local[STACK_PREFIXES], *p = local;
    if (nprefixes > STACK_PREFIXES)
        p = malloc(nprefixes * sizeof *p);
    size_t n = 0;
    for (size_t i = 0; p && i < nprefixes; i++)
        p[i] = (span){prefixes[i], lens[i]};
    if (p)
        n = disjoint(p, nprefixes);
    size_t dropped;
    pthread_mutex_lock(&m->lock);
    /* As in bc_memtier_drop_if. */
    atomic_fetch_add(&m->generation, 1);
    if (p) {
        group *list = NULL;
        for (size_t i = 0; i < n; i++)
            collect(m->paths, p[i].s, p[i].len, &list);
        dropped = drop_groups(m, list, covers, ctx);
    } else {
        dropped = drop_unsorted(m, prefixes, lens, nprefixes, covers, ctx);
    }
    pthread_mutex_unlock(&m->lock);
    if (p != local)
        free(p);
    return dropped;
}

void bc_memtier_reset(bc_memtier *m, int enabled)
{
    pthread_mutex_lock(&m->lock);
    atomic_fetch_add(&m->generation, 1);
    while (m->head)
        unlink_node(m, m->head);
    assert(!m->paths);
    m->enabled = enabled;
    pthread_mutex_unlock(&m->lock);
}

size_t bc_memtier_bytes(const bc_memtier *m)
{
    return m->bytes;
}

size_t bc_memtier_count(const bc_memtier *m)
{
    return m->count;
}

size_t bc_memtier_paths(const bc_memtier *m)
{
    return m->npaths;
}
