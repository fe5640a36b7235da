#!/bin/bash
# shellcheck disable=SC2119,SC2154 # stamp VAR sets VAR with printf -v
# it_aborts.sh: a client that goes away mid-response (SPEC 6). Nothing of
# the cut answer is stored, the fill's lease is given back at once, so that
# the key's next request is neither held for lock_timeout_ms nor served a
# partial body; once every worker has seen a client go the gateway still
# answers promptly, and later the key fills and is served as usual.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

# sleep_ms, drip_ms and size are left out of the key, so that a dripping
# request names the same entry as a plain one.
EP_DRIP='{ path = "/api/v1/drip/"; match = "prefix"; key_type = "none"; ignore_params = ["sleep_ms", "drip_ms", "size"]; }'

start_redis
# The aborted requests' backend calls drip on while the next ones come.
start_backend -n 64
redis_open
# redis.timeout_ms is generous: on a loaded test machine a 100 ms bound
# turns lookups into BYPASS answers, which is not what is tested here.
write_config workers=24 redis.timeout_ms=1000 cache.lock_timeout_ms=5000 \
    endpoint="$EP_DRIP"
start_bocache

# --- 1. the aborted fill: nothing stored, no lease left -----------------------
D=/api/v1/drip/d10
DK=bocache:none:-:$D
before=$(backend_count)
stamp t0
"$FCGI_GET" -a 1 "unix:$BOCACHE_SOCK" "$D?size=400000&drip_ms=50" \
    >"$WORK/d.1" 2>"$WORK/d.1.err" || fail "[abort] fcgi_get -a 1 failed: $(cat "$WORK/d.1.err")"
[ -s "$WORK/d.1" ] || fail "[abort] the aborting client got no first byte"
# A request for the same key right away: it must not sit out
# lock_timeout_ms (5 s) behind a lease the gone client's fill left.
stamp t1
req "$D" >"$WORK/d.2"
stamp t2
assert_eq 200 "$(status "$WORK/d.2")" "[abort] the next request for the key answers 200"
assert_le 1500 $((t2 - t1)) \
    "[abort] the next request for the key is not held by a lease (ms)"
assert_ne HIT "$(xcache "$WORK/d.2")" "[abort] the next request is not a HIT on a partial body"
# Let the dripping backend call end (7 pieces x 50 ms) and the worker see
# the client gone, then look at Redis.
sleep 0.6
if key_exists "$DK"; then
    n=$(rcli strlen "$DK")
    # Only d.2's full fill may have been stored; never the cut one.
    rcli get "$DK" | grep -aq "call=$((before + 1)) " &&
        fail "[abort] Redis holds the aborted fill under $DK ($n bytes)"
fi
ok "[abort] nothing of the aborted response is stored"
wait_until 3 eval "! lease_held $DK" ||
    fail "[abort] the lease bocache:#lease:$DK is still held"
ok "[abort] no lease is left for the key"

# --- 2. every worker sees a client go ---------------------------------------
# Every worker (24) aborted in turn: a worker that stayed stuck on a gone
# client would leave none to answer.
for i in $(seq 1 30); do
    "$FCGI_GET" -a 1 "unix:$BOCACHE_SOCK" "/api/v1/drip/m$i?size=400000&drip_ms=50" \
        >/dev/null 2>&1 || fail "[abort] fcgi_get -a 1 (round $i) failed"
done
stamp t0
req '/api/v1/public/after-aborts' >"$WORK/d.3"
stamp t1
assert_eq 200 "$(status "$WORK/d.3")" "[abort] after 30 aborted clients bocache still answers"
assert_le 2000 $((t1 - t0)) "[abort] ... promptly (ms)"
alive "$BOCACHE_PID" || fail "[abort] bocache died"

# --- 3. later, the key fills as usual ------------------------------------------
# Once the release marker has lapsed the key fills and serves normally.
sleep 1.1
req "$D?size=20000" >/dev/null
req "$D?size=20000" >"$WORK/d.4"
assert_eq HIT "$(xcache "$WORK/d.4")" "[abort] later the key fills and is served normally"
