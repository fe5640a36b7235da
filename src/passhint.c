/* passhint.c: a small direct-mapped table of hashed keys and expiry times.
 * Direct mapping keeps it a fixed few kilobytes with no eviction logic: a
 * collision only drops a hint, which costs a round trip, not correctness. */
#include "passhint.h"

#include <stdlib.h>

#define SLOTS 256 /* a power of two */

typedef struct slot {
    uint64_t hash;
    int64_t until_ms;
    uint64_t gen;
} slot;

struct bc_passhint {
    slot slots[SLOTS];
};

bc_passhint *bc_passhint_new(void)
{
    return calloc(1, sizeof(bc_passhint));
}

void bc_passhint_free(bc_passhint *h)
{
    free(h);
}

static slot *slot_of(const bc_passhint *h, uint64_t hash)
{
    /* The low bits pick the slot; FNV-1a mixes them well enough. */
    return (slot *)&h->slots[hash & (SLOTS - 1)];
}

void bc_passhint_set(bc_passhint *h, uint64_t hash, int64_t until_ms,
                     uint64_t gen)
{
    slot *s = slot_of(h, hash);
    s->hash = hash;
    s->until_ms = until_ms;
    s->gen = gen;
}

int bc_passhint_get(const bc_passhint *h, uint64_t hash, int64_t now_ms,
                    uint64_t gen)
{
    const slot *s = slot_of(h, hash);
    if (s->hash != hash || s->until_ms <= now_ms)
        return BC_PASSHINT_NONE;
    return s->gen == gen ? BC_PASSHINT_TRUST : BC_PASSHINT_CHECK;
}

void bc_passhint_clear(bc_passhint *h, uint64_t hash)
{
    slot *s = slot_of(h, hash);
    if (s->hash == hash)
        s->until_ms = 0;
}
