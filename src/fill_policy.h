/* fill_policy.h: the decisions of a cache lookup, pure: from what the
 * lookup, the attempt to become the key's filler and the wait for another
 * request's fill found, the next step, and in the end one outcome with its
 * reason; and how long a fill that was not stored keeps others from
 * waiting (SPEC 6). fill.c does the I/O; Check tests the decisions. */
#ifndef BOCACHE_FILL_POLICY_H
#define BOCACHE_FILL_POLICY_H

#include "reason.h"

/* How a cacheable request is answered. */
typedef enum bc_fill_outcome {
    BC_FILL_SERVED, /* from the cache (HIT or STALE): nothing to forward */
    BC_FILL_FILL,   /* forwarded as a MISS by the key's filler (it holds the
                       lease): the response is stored if it may be */
    BC_FILL_PASS,   /* forwarded as a MISS that does not fill */
    BC_FILL_BYPASS, /* forwarded uncached, no lookup counted (X-Cache:
                       BYPASS): Redis did not answer, or there is no key */
} bc_fill_outcome;

/* Whether a request answered as O was looked up (X-Cache: MISS, counted
 * as a miss) rather than forwarded without a lookup. */
static inline int bc_fill_keyed(bc_fill_outcome o)
{
    return o == BC_FILL_FILL || o == BC_FILL_PASS;
}

/* The X-Cache value of a forwarded request answered as O. */
static inline const char *bc_fill_xcache(bc_fill_outcome o)
{
    return bc_fill_keyed(o) ? "MISS" : "BYPASS";
}

/* What reading the entry found. */
typedef enum bc_fill_look {
    BC_LOOK_MISS,  /* absent, unreadable or past its stale window */
    BC_LOOK_HIT,   /* fresh, and served */
    BC_LOOK_STALE, /* past its freshness, within stale_ttl: a copy is kept */
    BC_LOOK_DOWN,  /* Redis did not answer */
} bc_fill_look;

/* What the attempt to become the key's filler found. */
typedef enum bc_fill_claim {
    BC_CLAIM_UNTRIED, /* not attempted yet */
    BC_CLAIM_TAKEN,   /* this request holds the lease */
    BC_CLAIM_HELD,    /* another request is filling */
    BC_CLAIM_PASS,    /* a pass marker: fills of the key are not stored */
    BC_CLAIM_SERVED,  /* a fill had landed meanwhile, and was served */
    BC_CLAIM_DOWN,    /* Redis did not answer */
} bc_fill_claim;

/* What waiting for another request's fill found. */
typedef enum bc_fill_wait {
    BC_WAIT_NONE,    /* not waited */
    BC_WAIT_SERVED,  /* the fill landed, and was served */
    BC_WAIT_TAKEN,   /* the lease came free and this request took it */
    BC_WAIT_PASS,    /* the fill was not stored: a pass marker */
    BC_WAIT_TIMEOUT, /* lock_timeout_ms went by */
    BC_WAIT_DOWN,    /* Redis did not answer */
} bc_fill_wait;

/* Everything a lookup has found so far; zeroed, it has found nothing. */
typedef struct bc_fill_facts {
    bc_fill_look look;
    bc_fill_claim claim; /* also set by a lookup that made the attempt */
    bc_fill_wait wait;
    int head;    /* a HEAD request: its miss cannot fill the GET entry */
    int stale;   /* a stale copy within stale_ttl is kept */
    int refresh; /* a copy with a validator is kept: a HEAD may refresh
                    its headers (RFC 9111 4.3.5) */
} bc_fill_facts;

typedef enum bc_fill_step {
    BC_FILL_STEP_DONE,  /* the lookup is over: *OUTCOME and *REASON say how */
    BC_FILL_STEP_CLAIM, /* try to become the filler; then ask again */
    BC_FILL_STEP_WAIT,  /* wait for the other fill; then ask again */
    BC_FILL_STEP_STALE, /* serve the stale copy (another request refreshes
                           it): the outcome is then *OUTCOME, SERVED */
} bc_fill_step;

/* The next step of a lookup that has found F. For DONE and STALE, sets
 * *OUTCOME and *REASON (the Cache-Status detail, BC_REASON_NONE for none):
 * a HIT is SERVED; Redis faults BYPASS (redis-unavailable); a HEAD miss
 * PASSes (head) without claiming, unless it may refresh a copy: it then
 * claims, and PASSes (head) or is served the stale copy instead of
 * waiting when another request fills; a taken lease FILLs; a pass marker
 * PASSes (pass); when another request fills, a stale copy is served, else
 * the request waits, which ends as its last check found (a timeout PASSes
 * as lock-timeout). */
bc_fill_step bc_fill_policy_next(const bc_fill_facts *f,
                                 bc_fill_outcome *outcome, bc_reason *reason);

/* A fill that was not stored leaves a pass marker, so requests for the key
 * go to the backend without queueing behind fills that would not be
 * stored either. Its life is short when the cause may pass, longer when
 * the response declared itself not storable; an invalidation covering the
 * key removes it either way. */
#define BC_FILL_PASS_TRANSIENT_MS 1000
#define BC_FILL_PASS_DECLARED_MS 10000

/* The life in ms of the pass marker a fill leaves that was not stored for
 * REASON, given cache.lock_timeout_ms LOCK_TIMEOUT_MS; WHOLE is nonzero
 * when the response went to the client whole (its head was passed on, it
 * was not cut, the client stayed). 0 means no marker: nobody waits. */
long bc_fill_policy_pass_ms(long lock_timeout_ms, int whole, bc_reason reason);

#endif
