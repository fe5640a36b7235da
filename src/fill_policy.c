/* fill_policy.c: what a cache lookup does next, and how it ends. */
#include "fill_policy.h"

static bc_fill_step done(bc_fill_outcome *outcome, bc_reason *reason,
                         bc_fill_outcome o, bc_reason r)
{
    *outcome = o;
    *reason = r;
    return BC_FILL_STEP_DONE;
}

bc_fill_step bc_fill_policy_next(const bc_fill_facts *f,
                                 bc_fill_outcome *outcome, bc_reason *reason)
{
    if (f->look == BC_LOOK_HIT)
        return done(outcome, reason, BC_FILL_SERVED, BC_REASON_NONE);
    if (f->look == BC_LOOK_DOWN)
        return done(outcome, reason, BC_FILL_BYPASS,
                    BC_REASON_REDIS_UNAVAILABLE);
    /* A HEAD miss is forwarded as HEAD and cannot fill the GET entry, so
     * it neither takes the lease nor waits for one. */
    if (f->head && !f->refresh)
        return done(outcome, reason, BC_FILL_PASS, BC_REASON_HEAD);
    /* A HEAD that may refresh the copy claims, but never waits: what it
     * would wait for is a GET's fill, not its own answer. */
    if (f->head && f->claim == BC_CLAIM_HELD) {
        if (!f->stale)
            return done(outcome, reason, BC_FILL_PASS, BC_REASON_HEAD);
        done(outcome, reason, BC_FILL_SERVED, BC_REASON_NONE);
        return BC_FILL_STEP_STALE;
    }
    switch (f->claim) {
    case BC_CLAIM_UNTRIED:
        return BC_FILL_STEP_CLAIM;
    case BC_CLAIM_TAKEN:
        return done(outcome, reason, BC_FILL_FILL, BC_REASON_NONE);
    case BC_CLAIM_PASS:
        return done(outcome, reason, BC_FILL_PASS, BC_REASON_PASS);
    case BC_CLAIM_SERVED:
        return done(outcome, reason, BC_FILL_SERVED, BC_REASON_NONE);
    case BC_CLAIM_DOWN:
        return done(outcome, reason, BC_FILL_BYPASS,
                    BC_REASON_REDIS_UNAVAILABLE);
    case BC_CLAIM_HELD:
        break;
    }
    /* Another request fills: its stale copy answers at once, if there is
     * one, else the request waits for that fill. */
    switch (f->wait) {
    case BC_WAIT_NONE:
        if (!f->stale)
            return BC_FILL_STEP_WAIT;
        done(outcome, reason, BC_FILL_SERVED, BC_REASON_NONE);
        return BC_FILL_STEP_STALE;
    case BC_WAIT_SERVED:
        return done(outcome, reason, BC_FILL_SERVED, BC_REASON_NONE);
    case BC_WAIT_TAKEN:
        return done(outcome, reason, BC_FILL_FILL, BC_REASON_NONE);
    case BC_WAIT_PASS:
        return done(outcome, reason, BC_FILL_PASS, BC_REASON_PASS);
    case BC_WAIT_TIMEOUT:
        return done(outcome, reason, BC_FILL_PASS, BC_REASON_LOCK_TIMEOUT);
    case BC_WAIT_DOWN:
        break;
    }
    return done(outcome, reason, BC_FILL_BYPASS, BC_REASON_REDIS_UNAVAILABLE);
}

long bc_fill_policy_pass_ms(long lock_timeout_ms, int whole, bc_reason reason)
{
    if (lock_timeout_ms <= 0)
        return 0; /* nobody waits: no marker */
    if (whole && bc_reason_declared(reason))
        return BC_FILL_PASS_DECLARED_MS;
    return lock_timeout_ms < BC_FILL_PASS_TRANSIENT_MS
               ? lock_timeout_ms
               : BC_FILL_PASS_TRANSIENT_MS;
}
