/* memtier.h: the per-process in-memory tier in front of Redis: encoded
 * entries by key, bounded in bytes, LRU-evicted, each with a short
 * lifetime, dropped by invalidations, indexed by path so that a path
 * invalidation looks only at that path's entries. Thread-safe. */
#ifndef BOCACHE_MEMTIER_H
#define BOCACHE_MEMTIER_H

#include <stddef.h>
#include <stdint.h>

typedef struct bc_memtier bc_memtier;

/* A stored entry, shared by readers: valid until bc_memtier_release. */
typedef struct bc_memblob {
    const char *data; /* the encoded entry (entry.h format) */
    size_t len;
} bc_memblob;

/* Creates a tier holding at most BUDGET bytes of keys, entries and
 * bookkeeping. It starts disabled (see bc_memtier_enable). Returns NULL
 * when out of memory. */
bc_memtier *bc_memtier_new(size_t budget);

void bc_memtier_free(bc_memtier *m);

/* A generation number that changes whenever entries are dropped. Read it
 * before fetching what will be put, and pass it to bc_memtier_put: an
 * entry fetched before an invalidation is then never put after it. */
uint64_t bc_memtier_generation(const bc_memtier *m);

/* Looks KEY up. Returns a reference to the entry if present, enabled and
 * not past its lifetime at NOW_MS, else NULL. Release it after use. */
const bc_memblob *bc_memtier_get(bc_memtier *m, const char *key, size_t klen,
                                 int64_t now_ms);

void bc_memtier_release(bc_memtier *m, const bc_memblob *b);

/* Stores a copy of DATA under KEY with TAGS (space-separated) and
 * PATH[0..PATH_LEN) until EXPIRES_MS, unless the generation moved past
 * GEN or the tier is disabled. PATH is what bc_memtier_drop_under matches
 * prefixes against: for an entry key, its PATH segment (bc_key_is_entry);
 * PATH_LEN 0 (PATH may then be NULL) for keys that no path invalidation
 * may drop. The tier keeps its own copies. EXPIRES_MS is on the
 * bc_now_ms() clock; expired entries at the LRU tail are freed on the
 * way. Evicts least recently used entries to stay within budget, the
 * index of distinct paths counted in it; entries larger than an eighth of
 * the budget are not kept, nor is anything when memory runs out. */
void bc_memtier_put(bc_memtier *m, uint64_t gen, const char *key, size_t klen,
                    const char *path, size_t path_len, const char *data,
                    size_t len, const char *tags, size_t tags_len,
                    int64_t expires_ms);

/* Decides whether an entry is dropped. Called with the tier's lock held:
 * it must not call into the tier. */
typedef int (*bc_memtier_pred)(void *ctx, const char *key, size_t klen,
                               const char *tags, size_t tags_len);

/* Drops every entry for which COVERS returns nonzero, looking at all of
 * them. Moves the generation first. Returns the number dropped. */
size_t bc_memtier_drop_if(bc_memtier *m, bc_memtier_pred covers, void *ctx);

/* Drops every entry whose PATH (as put) starts with one of the NPREFIXES
 * byte strings PREFIXES[i][0..LENS[i]) and for which COVERS returns
 * nonzero. Only those paths' entries are looked at, each at most once
 * however the prefixes overlap, so the cost follows what is under the
 * prefixes, not the size of the tier; entries put without a PATH are never
 * looked at. Use it instead of bc_memtier_drop_if only when COVERS is known
 * to hold for no entry outside the prefixes (an invalidation with uris):
 * those would be left in place. Moves the generation first, as
 * bc_memtier_drop_if does. Returns the number dropped. */
size_t bc_memtier_drop_under(bc_memtier *m, const char *const *prefixes,
                             const size_t *lens, size_t nprefixes,
                             bc_memtier_pred covers, void *ctx);

/* Empties the tier and sets whether it may be used: it is disabled while
 * invalidations may be missed (no subscription) and enabled again, empty,
 * once subscribed. */
void bc_memtier_reset(bc_memtier *m, int enabled);

/* Bytes accounted to the tier now, entries held, and distinct paths
 * among them. */
size_t bc_memtier_bytes(const bc_memtier *m);
size_t bc_memtier_count(const bc_memtier *m);
size_t bc_memtier_paths(const bc_memtier *m);

#endif
