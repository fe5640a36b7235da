#!/bin/bash
# it_redis_fault.sh: with Redis down, slow or restarting, requests still go
# to the backend promptly (fail open), caching comes back by itself, and the
# fault is logged once per interval rather than once per request.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

start_redis
start_backend
# At "warn" the log holds faults, not one line per request.
write_config 'log_level="warn"' redis.timeout_ms=100
start_bocache

# miss_then_hit URI WHAT
miss_then_hit() {
    req "$1" >"$WORK/mh1"
    req "$1" >"$WORK/mh2"
    assert_eq MISS "$(xcache "$WORK/mh1")" "$2: first GET is a MISS"
    assert_eq HIT "$(xcache "$WORK/mh2")" "$2: second GET is a HIT"
}

# wait_caching SECONDS NAME: polls with fresh URIs until a GET is a MISS
# (not a BYPASS) again, then until that URI is a HIT 8 times in a row: each
# worker reconnects on its own, so all must have come back.
wait_caching() {
    local limit=$(($(now_ms) + $1 * 1000)) i=0 hits=0 u
    while :; do
        i=$((i + 1))
        u=/api/v1/public/rf/$2-$i
        u=${u// /-}
        req "$u" >"$WORK/wc"
        [ "$(xcache "$WORK/wc")" != MISS ] || break
        [ "$(now_ms)" -lt "$limit" ] ||
            fail "$2: no MISS within $1 s (X-Cache: $(xcache "$WORK/wc"))"
        sleep 0.1
    done
    ok "$2: a GET is a MISS again after $i tries"
    while [ "$hits" -lt 8 ]; do
        req "$u" >"$WORK/wc"
        if [ "$(xcache "$WORK/wc")" = HIT ]; then
            hits=$((hits + 1))
        else
            hits=0
            [ "$(now_ms)" -lt "$limit" ] ||
                fail "$2: no 8 HITs in a row within $1 s (X-Cache: $(xcache "$WORK/wc"))"
            sleep 0.1
        fi
    done
    ok "$2: then 8 HITs in a row on that URI"
}

# redis_blocked: true while a PING gets no answer within 0.2 s.
redis_blocked() {
    ! timeout 0.2 "$REDIS_CLI" "${REDIS_CLI_ARGS[@]}" ping >/dev/null 2>&1
}

miss_then_hit /api/v1/public/rf/warm "Redis up"

# --- Redis down ------------------------------------------------------------------
port=$REDIS_PORT
log_lines=$(wc -l <"$BOCACHE_LOG")
stop_redis KILL
ok "redis-server killed"
start=$(now_ms)
slowest=0
for i in $(seq 1 20); do
    t0=$(now_ms)
    req -t 10000 "/api/v1/public/rf/down-$i" >"$WORK/d$i" ||
        fail "request $i with Redis down failed"
    t=$(($(now_ms) - t0))
    [ "$t" -le "$slowest" ] || slowest=$t
    [ "$(status "$WORK/d$i")" = 200 ] ||
        fail "request $i with Redis down: status $(status "$WORK/d$i")"
    [ "$(xcache "$WORK/d$i")" = BYPASS ] ||
        fail "request $i with Redis down: X-Cache $(xcache "$WORK/d$i")"
done
total=$(($(now_ms) - start))
ok "Redis down: 20 requests answered 200 with X-Cache: BYPASS"
assert_le 20000 "$total" "Redis down: 20 requests took $total ms in all"
echo "# slowest request with Redis down: $slowest ms"
req /api/v1/public/rf/warm >"$WORK/w2"
assert_eq 200 "$(status "$WORK/w2")" "Redis down: a formerly cached URI answers 200"

down_lines=$(tail -n +"$((log_lines + 1))" "$BOCACHE_LOG" | grep -ci redis || true)
[ "$down_lines" -ge 1 ] || fail "Redis down: nothing about Redis in the log"
assert_le 5 "$down_lines" "Redis down: lines about Redis in the log for 21 requests"

# --- Redis back at the same address ------------------------------------------------
start_redis "$port"
ok "redis-server restarted at $REDIS_ADDR"
wait_caching 15 "Redis restarted"
alive "$BOCACHE_PID" || fail "bocache died"
ok "the same bocache process went on"

# --- Redis slow --------------------------------------------------------------------
rcli DEBUG SLEEP 2 >/dev/null 2>&1 &
sleeper=$!
track "$sleeper"
# DEBUG SLEEP blocks the whole server: wait until a PING goes unanswered.
wait_until 3 redis_blocked || fail "DEBUG SLEEP did not block redis-server"
t0=$(now_ms)
req -t 10000 /api/v1/public/rf/slow >"$WORK/slow"
t=$(($(now_ms) - t0))
assert_eq 200 "$(status "$WORK/slow")" "Redis slow: the request answers 200"
assert_le 1500 "$t" "Redis slow: the request took $t ms (redis.timeout_ms = 100)"
wait_until 5 eval "! alive $sleeper" || true
stop_pid "$sleeper"
wait_until 5 redis_ping || fail "redis-server did not wake up"
wait_caching 15 "Redis slow, then fast"

# --- a lease granted after its request gave up -------------------------------------
# A lease attempt that times out may still be run by Redis when it wakes:
# a stalled server runs what was queued. That lease, which nobody fills or
# releases, must not block the key for long: a lease is first taken for
# twice redis.timeout_ms (at least 200 ms) and extended only by the request
# that saw it granted. One worker, after 3 misses in a row on the endpoint,
# so that its next lookup is the lease attempt itself.
stop_bocache
write_config 'log_level="warn"' redis.timeout_ms=100 workers=1 \
    cache.lock_timeout_ms=5000
start_bocache
for i in 1 2 3; do req "/api/v1/public/orphan/streak$i" >/dev/null; done
calls() { # calls CMD: how often Redis ran CMD so far
    rcli INFO commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\\([0-9]*\\),.*/\\1/p"
}
sets0=$(calls set)
rcli DEBUG SLEEP 1 >/dev/null 2>&1 &
sleeper=$!
track "$sleeper"
wait_until 3 redis_blocked || fail "DEBUG SLEEP did not block redis-server"
OK_KEY='bocache:#lease:bocache:none:-:/api/v1/public/orphan/k'
req -t 10000 /api/v1/public/orphan/k >"$WORK/orphan1"
assert_eq BYPASS "$(xcache "$WORK/orphan1")" "orphan lease: the request whose lease attempt timed out is a BYPASS"
wait_until 5 eval "! alive $sleeper" || true
stop_pid "$sleeper"
wait_until 5 redis_ping || fail "redis-server did not wake up"
# Precondition: Redis did run the queued lease attempt (its SET).
[ "$(calls set)" -gt "$sets0" ] ||
    fail "orphan lease: Redis never ran the timed-out lease attempt (no SET), nothing to test"
pttl=$(rcli PTTL "$OK_KEY")
assert_le 200 "$pttl" "orphan lease: the lease Redis granted after the request gave up lives at most 200 ms (PTTL ms)"
t0=$(now_ms)
req -t 10000 /api/v1/public/orphan/k >"$WORK/orphan2"
t=$(($(now_ms) - t0))
assert_eq MISS "$(xcache "$WORK/orphan2")" "orphan lease: the key's next request is a fill (MISS)"
assert_le 1000 "$t" "orphan lease: ... without waiting out lock_timeout_ms (5000) for the orphan (ms)"
req /api/v1/public/orphan/k >"$WORK/orphan3"
assert_eq HIT "$(xcache "$WORK/orphan3")" "orphan lease: ... and its fill is stored (HIT)"
