#!/bin/bash
# it_races.sh: guarantees that only a race shows (SPEC 5, 6 and 7):
#  * a stale entry served because the backend failed (stale-if-error) is
#    never one an invalidation removed while the request was at the
#    backend; without the invalidation the same failure is served STALE;
#  * a 304 answered from a stale stand-in says STALE;
#  * SIGHUP empties and disables the memory tier until the listener has
#    subscribed again, so no invalidation can be missed while it serves.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

command -v socat >/dev/null 2>&1 || skip "socat not found"
start_redis
start_backend
write_config workers=2 cache.stale_ttl=60 backend.timeout_ms=1500 \
    cache.memory_size=8388608 cache.memory_ttl=30
start_bocache
CHANNEL=bocache:invalidate

# hang_backend: replaces the backend with one that takes connections and
# never answers (the request then times out: 504, or STALE); its log
# says when a connection came.
hang_backend() {
    stop_backend
    rm -f "$BACKEND_SOCK"
    socat -d -d "UNIX-LISTEN:$BACKEND_SOCK,fork" EXEC:"sleep 30" \
        2>"$WORK/hang.log" 8>&- &
    HANG_PID=$!
    track "$HANG_PID"
    wait_until 5 test -S "$BACKEND_SOCK" || fail "the hanging backend did not start"
}
connections() { grep -c 'accepting connection' "$WORK/hang.log" || true; }

# --- stale-if-error, without and with an invalidation meanwhile ----------------
S1=/api/v1/short/sie1
S2=/api/v1/short/sie2
S3='/api/v1/short/sie3?etag=%22v1%22'
req "$S1" >"$WORK/a1"
req "$S2" >"$WORK/b1"
req "$S3" >"$WORK/c1"
assert_eq MISS "$(xcache "$WORK/a1")" "two entries with ttl = 2 s, stale_ttl = 60 s"
sleep 2.2 # the condition is time itself: both entries must be past their ttl
hang_backend

req "$S1" >"$WORK/a2"
assert_eq STALE "$(xcache "$WORK/a2")" "a stale entry stands in for a backend that times out (STALE)"
assert_eq "$(call_of "$WORK/a1")" "$(call_of "$WORK/a2")" "... with the stored answer"

req -H 'If-None-Match: "v1"' "$S3" >"$WORK/c2"
assert_eq 304 "$(status "$WORK/c2")" "a matching If-None-Match on a stale stand-in: 304"
assert_eq STALE "$(xcache "$WORK/c2")" "... labelled STALE, not HIT"

n=$(connections)
req "$S2" >"$WORK/b2" &
rq=$!
wait_until 5 eval '[ "$(connections)" -gt "$n" ]' ||
    fail "the request for $S2 did not reach the backend"
# The request has read its stale copy and waits on the backend now.
"$top_builddir/bocache-ctl" -c "$CONFIG" invalidate --pattern "bocache:none:-:$S2" \
    >"$WORK/inv" 2>&1 || fail "bocache-ctl invalidate: $(cat "$WORK/inv")"
wait "$rq" || fail "no answer for $S2"
assert_eq 504 "$(status "$WORK/b2")" "an entry invalidated while its refresh was at the backend is not served stale: 504"
assert_ne STALE "$(xcache "$WORK/b2")" "... X-Cache is not STALE"
stop_pid "$HANG_PID"
start_backend

# --- SIGHUP empties the memory tier until the listener is back --------------------
# After a reload the listener subscribes anew; until it has, nothing is
# heard, so the memory tier must not answer. Here the reloaded
# configuration names a Redis that is not there: the listener never gets
# back, and the entry in memory must not be served meanwhile.
M=/api/v1/public/mem-reload
req "$M" >/dev/null
req "$M" >/dev/null
req "$M" >"$WORK/m1"
assert_match 'detail=memory' "$(header Cache-Status "$WORK/m1")" "the entry is served from the memory tier"
before=$(reloads)
write_config workers=2 cache.stale_ttl=60 backend.timeout_ms=1500 \
    cache.memory_size=8388608 cache.memory_ttl=30 'redis.address="127.0.0.1:1"'
kill -HUP "$BOCACHE_PID"
wait_until 10 reloads_since "$before" 1 || fail "SIGHUP was not taken"
req "$M" >"$WORK/m2"
assert_eq BYPASS "$(xcache "$WORK/m2")" "after SIGHUP, with no subscription, the memory tier does not answer (BYPASS, Redis away)"
