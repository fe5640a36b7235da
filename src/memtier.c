/* memtier.c: the per-process in-memory tier: a chained hash table with an
 * LRU list under one mutex, and reference-counted entries so a hit is
 * served without holding the lock or copying the entry. */
#include "bocache/memtier.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "bocache/key.h"
#include "bocache/log.h"

typedef struct node {
    bc_memblob blob; /* first: a blob pointer is a node pointer */
    struct node *hnext;
    struct node *prev, *next; /* LRU list, most recent first */
    uint64_t hash;
    int64_t expires_ms;
    int refs;   /* readers holding it; guarded by the lock */
    int linked; /* in the table; freed when unlinked and unreferenced */
    size_t cost;
    const char *key, *tags;
    size_t klen, tags_len;
    char storage[]; /* key, tags, data */
} node;

struct bc_memtier {
    pthread_mutex_t lock;
    node **buckets;
    size_t nbuckets; /* a power of two */
    node *head, *tail;
    size_t budget, bytes, count;
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

/* Takes N out of the table and the list; frees it unless a reader holds
 * it (the last release frees it then). Called with the lock held. */
static void unlink_node(bc_memtier *m, node *n)
{
    node **pp = &m->buckets[n->hash & (m->nbuckets - 1)];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    lru_unlink(m, n);
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
                    const char *data, size_t len, const char *tags,
                    size_t tags_len, int64_t expires_ms)
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
    while (m->tail && m->bytes + n->cost > m->budget)
        unlink_node(m, m->tail);
    n->linked = 1;
    size_t b = n->hash & (m->nbuckets - 1);
    n->hnext = m->buckets[b];
    m->buckets[b] = n;
    lru_push(m, n);
    m->bytes += n->cost;
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

void bc_memtier_reset(bc_memtier *m, int enabled)
{
    pthread_mutex_lock(&m->lock);
    atomic_fetch_add(&m->generation, 1);
    while (m->head)
        unlink_node(m, m->head);
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
