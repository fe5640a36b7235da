/* stats.c: names and help texts of the gateway's counters. */
#include "stats.h"

#include "reason.h"

static const struct {
    const char *name;
    const char *help;
} table[BC_STAT_COUNT] = {
    [BC_STAT_HIT] = {"hits", "Requests served from Redis."},
    [BC_STAT_HIT_MEMORY] = {"hits_memory",
                            "Requests served from the in-memory tier."},
    [BC_STAT_STALE] = {"stale", "Requests served a stale entry."},
    [BC_STAT_REVALIDATED] = {"revalidated",
                             "Stored entries the backend confirmed with a "
                             "304 and that were served refreshed."},
    [BC_STAT_MISS] = {"misses", "Cacheable requests sent to the backend."},
    [BC_STAT_BYPASS_NO_ENDPOINT] = {"bypass_no_endpoint",
                                    "Requests for paths no endpoint caches."},
    [BC_STAT_BYPASS_METHOD] = {"bypass_method",
                               "Requests with a method other than GET/HEAD."},
    [BC_STAT_BYPASS_NO_IDENTITY] =
        {"bypass_no_identity", "Requests lacking the endpoint's identity."},
    [BC_STAT_BYPASS_KEY_TOO_LONG] = {"bypass_key_too_long",
                                     "Requests whose key would be too long."},
    [BC_STAT_BYPASS_REDIS] = {"bypass_redis_unavailable",
                              "Requests forwarded because Redis was down."},
    [BC_STAT_BYPASS_DUPLICATE_HEADER] = {"bypass_duplicate_header",
                                         "Requests repeating a parameter "
                                         "the key reads."},
    [BC_STAT_BYPASS_PATH] = {"bypass_path",
                             "Requests whose path is not in normal form."},
    [BC_STAT_STORE] = {"stores", "Responses stored."},
    [BC_STAT_SKIP_STATUS] = {"store_skip_status",
                             "Not stored: status not cacheable."},
    [BC_STAT_SKIP_SET_COOKIE] = {"store_skip_set_cookie",
                                 "Not stored: Set-Cookie."},
    [BC_STAT_SKIP_NO_STORE] = {"store_skip_no_store",
                               "Not stored: Cache-Control no-store."},
    [BC_STAT_SKIP_PRIVATE] = {"store_skip_private",
                              "Not stored: Cache-Control private."},
    [BC_STAT_SKIP_VARY] = {"store_skip_vary",
                           "Not stored: Vary outside the key."},
    [BC_STAT_SKIP_MAX_AGE_0] = {"store_skip_max_age_0",
                                "Not stored: a lifetime of 0."},
    [BC_STAT_SKIP_EXPIRED] = {"store_skip_expired",
                              "Not stored: stale on arrival (Expires, Age)."},
    [BC_STAT_SKIP_TOO_LARGE] = {"store_skip_too_large",
                                "Not stored: body over max_object_size."},
    [BC_STAT_SKIP_TOO_MANY_TAGS] = {"store_skip_too_many_tags",
                                    "Not stored: more tags than indexed."},
    [BC_STAT_SKIP_AUTHORIZATION] = {"store_skip_authorization",
                                    "Not stored: Authorization outside the "
                                    "key."},
    [BC_STAT_SKIP_COOKIE] = {"store_skip_cookie",
                             "Not stored: Cookie outside the key."},
    [BC_STAT_SKIP_MALFORMED] = {"store_skip_malformed",
                                "Not stored: the backend's answer was not "
                                "whole and clean."},
    [BC_STAT_SKIP_LEASE_LOST] =
        {"store_skip_lease_lost",
         "Not stored: an invalidation voided the fill."},
    [BC_STAT_SKIP_PASS] = {"store_skip_pass",
                           "Forwarded without filling (pass or lock "
                           "timeout)."},
    [BC_STAT_SKIP_OTHER] = {"store_skip_other",
                            "Not stored: backend error or client gone."},
    [BC_STAT_INVALIDATION_MESSAGES] = {"invalidation_messages",
                                       "Invalidation messages applied."},
    [BC_STAT_INVALIDATION_MALFORMED] = {"invalidation_malformed",
                                        "Invalidation messages ignored as "
                                        "malformed."},
    [BC_STAT_KEYS_REMOVED] = {"keys_removed",
                              "Entries removed from Redis by invalidations."},
    [BC_STAT_BACKEND_ERRORS] = {"backend_errors",
                                "Backend refusals, timeouts and garbage."},
    [BC_STAT_REDIS_ERRORS] = {"redis_errors", "Redis faults."},
    [BC_STAT_LOCK_WAITS] = {"lock_waits",
                            "Misses that waited for another fill."},
};

const char *bc_stat_name(bc_stat s)
{
    return table[s].name;
}

const char *bc_stat_help(bc_stat s)
{
    return table[s].help;
}

/* The reason table (reason.c) says which counter a token counts under. */
bc_stat bc_stat_skip_for(const char *detail)
{
    return bc_reason_skip_stat(bc_reason_find(detail));
}

bc_stat bc_stat_bypass_for(const char *detail)
{
    return bc_reason_bypass_stat(bc_reason_find(detail));
}
