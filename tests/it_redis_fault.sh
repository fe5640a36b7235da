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

# redis_blocked: true while a PING gets no answer within 0.2 s.
redis_blocked() {
    ! timeout 0.2 "$REDIS_CLI" "${REDIS_CLI_ARGS[@]}" ping >/dev/null 2>&1
}

# block_redis SECONDS: DEBUG SLEEP SECONDS in the background, which blocks
# the whole server; returns once a PING goes unanswered.
block_redis() {
    rcli DEBUG SLEEP "$1" >/dev/null 2>&1 &
    SLEEPER=$!
    track "$SLEEPER"
    wait_until 3 redis_blocked || fail "DEBUG SLEEP did not block redis-server"
}

# redis_awake: waits for the DEBUG SLEEP to end and Redis to answer again.
redis_awake() {
    wait_until 5 eval "! alive $SLEEPER" || true
    stop_pid "$SLEEPER"
    wait_until 5 redis_ping || fail "redis-server did not wake up"
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
wait_caching 15 "Redis restarted" /api/v1/public/rf/restarted-
alive "$BOCACHE_PID" || fail "bocache died"
ok "the same bocache process went on"

# --- Redis slow --------------------------------------------------------------------
block_redis 2
t0=$(now_ms)
req -t 10000 /api/v1/public/rf/slow >"$WORK/slow"
t=$(($(now_ms) - t0))
assert_eq 200 "$(status "$WORK/slow")" "Redis slow: the request answers 200"
assert_le 1500 "$t" "Redis slow: the request took $t ms (redis.timeout_ms = 100)"
redis_awake
wait_caching 15 "Redis slow, then fast" /api/v1/public/rf/slow-then-fast-

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
sets0=$(redis_calls set)
block_redis 1
OK_KEY='bocache:#lease:bocache:none:-:/api/v1/public/orphan/k'
req -t 10000 /api/v1/public/orphan/k >"$WORK/orphan1"
assert_eq BYPASS "$(xcache "$WORK/orphan1")" "orphan lease: the request whose lease attempt timed out is a BYPASS"
redis_awake
# Precondition: Redis did run the queued lease attempt (its SET).
[ "$(redis_calls set)" -gt "$sets0" ] ||
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
