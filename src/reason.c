/* reason.c: the one table of bypass and store-skip reasons. */
#include "reason.h"

#include <string.h>

/* A reason's token, its counter, and whether the response declared it.
 * The counters keep their names in Redis (stats.c); a token is the
 * counter's name after its prefix, '-' for '_', except where two reasons
 * share a counter (pass and lock-timeout both count as store_skip_pass)
 * or none fits (head: store_skip_other). */
static const struct {
    const char *token;
    bc_stat stat;
    int declared;
} table[BC_REASON_COUNT] = {
    [BC_REASON_NONE] = {NULL, BC_STAT_SKIP_OTHER, 0},
    [BC_REASON_NO_ENDPOINT] = {"no-endpoint", BC_STAT_BYPASS_NO_ENDPOINT, 0},
    [BC_REASON_METHOD] = {"method", BC_STAT_BYPASS_METHOD, 0},
    [BC_REASON_NO_IDENTITY] = {"no-identity", BC_STAT_BYPASS_NO_IDENTITY, 0},
    [BC_REASON_KEY_TOO_LONG] = {"key-too-long", BC_STAT_BYPASS_KEY_TOO_LONG, 0},
    [BC_REASON_DUPLICATE_HEADER] = {"duplicate-header",
                                    BC_STAT_BYPASS_DUPLICATE_HEADER, 0},
    [BC_REASON_PATH] = {"path", BC_STAT_BYPASS_PATH, 0},
    [BC_REASON_REDIS_UNAVAILABLE] = {"redis-unavailable", BC_STAT_BYPASS_REDIS,
                                     0},
    [BC_REASON_HEAD] = {"head", BC_STAT_SKIP_OTHER, 0},
    [BC_REASON_PASS] = {"pass", BC_STAT_SKIP_PASS, 0},
    [BC_REASON_LOCK_TIMEOUT] = {"lock-timeout", BC_STAT_SKIP_PASS, 0},
    [BC_REASON_STATUS] = {"status", BC_STAT_SKIP_STATUS, 0},
    [BC_REASON_SET_COOKIE] = {"set-cookie", BC_STAT_SKIP_SET_COOKIE, 1},
    [BC_REASON_VARY] = {"vary", BC_STAT_SKIP_VARY, 1},
    [BC_REASON_TOO_LARGE] = {"too-large", BC_STAT_SKIP_TOO_LARGE, 1},
    [BC_REASON_NO_STORE] = {"no-store", BC_STAT_SKIP_NO_STORE, 1},
    [BC_REASON_PRIVATE] = {"private", BC_STAT_SKIP_PRIVATE, 1},
    [BC_REASON_MAX_AGE_0] = {"max-age-0", BC_STAT_SKIP_MAX_AGE_0, 1},
    [BC_REASON_EXPIRED] = {"expired", BC_STAT_SKIP_EXPIRED, 1},
    [BC_REASON_TOO_MANY_TAGS] = {"too-many-tags", BC_STAT_SKIP_TOO_MANY_TAGS,
                                 1},
    [BC_REASON_AUTHORIZATION] = {"authorization", BC_STAT_SKIP_AUTHORIZATION,
                                 0},
    [BC_REASON_COOKIE] = {"cookie", BC_STAT_SKIP_COOKIE, 0},
    [BC_REASON_MALFORMED] = {"malformed", BC_STAT_SKIP_MALFORMED, 0},
    [BC_REASON_LEASE_LOST] = {"lease-lost", BC_STAT_SKIP_LEASE_LOST, 0},
};

static int valid(bc_reason r)
{
    return (unsigned)r < BC_REASON_COUNT;
}

const char *bc_reason_token(bc_reason r)
{
    return valid(r) ? table[r].token : NULL;
}

bc_reason bc_reason_find(const char *token)
{
    if (!token)
        return BC_REASON_NONE;
    for (int i = 1; i < BC_REASON_COUNT; i++)
        if (strcmp(token, table[i].token) == 0)
            return (bc_reason)i;
    return BC_REASON_NONE;
}

bc_stat bc_reason_stat(bc_reason r)
{
    return valid(r) ? table[r].stat : BC_STAT_SKIP_OTHER;
}

int bc_reason_is_bypass(bc_reason r)
{
    bc_stat s = bc_reason_stat(r);
    return s >= BC_STAT_BYPASS_NO_ENDPOINT && s <= BC_STAT_BYPASS_PATH;
}

bc_stat bc_reason_bypass_stat(bc_reason r)
{
    return bc_reason_is_bypass(r) ? bc_reason_stat(r)
                                  : BC_STAT_BYPASS_NO_ENDPOINT;
}

bc_stat bc_reason_skip_stat(bc_reason r)
{
    return bc_reason_is_bypass(r) ? BC_STAT_SKIP_OTHER : bc_reason_stat(r);
}

int bc_reason_declared(bc_reason r)
{
    return valid(r) && table[r].declared;
}

bc_reason bc_reason_for_key(bc_key_status status)
{
    switch (status) {
    case BC_KEY_OK:
        return BC_REASON_NONE;
    case BC_KEY_NO_ENDPOINT:
        return BC_REASON_NO_ENDPOINT;
    case BC_KEY_METHOD:
        return BC_REASON_METHOD;
    case BC_KEY_NO_IDENTITY:
        return BC_REASON_NO_IDENTITY;
    case BC_KEY_TOO_LONG:
        return BC_REASON_KEY_TOO_LONG;
    case BC_KEY_DUPLICATE:
        return BC_REASON_DUPLICATE_HEADER;
    case BC_KEY_PATH:
        return BC_REASON_PATH;
    }
    return BC_REASON_NONE;
}
