#!/bin/bash
# shellcheck disable=SC2119,SC2154 # stamp VAR sets VAR with printf -v
# it_leases.sh: the lease protocol of SPEC 6 and 7. Concurrent misses for
# one key make one backend call, in one gateway process or across two, also
# when they arrive while the fill is being stored and when the lookups are
# lease attempts; a fill that an invalidation overtook is never stored; a
# fill that turns out not storable releases its waiters at once and leaves
# a pass marker that spares Redis a round trip per request; waiters give up
# after lock_timeout_ms; after a streak of misses the lookup is the lease
# attempt itself. (Stale serving is it_stale.sh's, Vary and conditional
# requests it_conditional.sh's, client aborts it_aborts.sh's.)
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

BOCACHE_CTL=$top_builddir/bocache-ctl
CHANNEL=bocache:invalidate

# --- helpers -------------------------------------------------------------------

# scan FILE: reads a saved answer; sets A_X (X-Cache) and A_CALL (the
# backend call number in the body).
scan() {
    local line head=1
    A_X="" A_CALL=""
    while IFS= read -r line || [ -n "$line" ]; do
        line=${line%$'\r'}
        if [ "$head" = 1 ]; then
            case ${line,,} in
            '') head=0 ;;
            x-cache:*) A_X=${line#*: } ;;
            esac
        else
            [[ $line =~ ^call=([0-9]+)\  ]] && A_CALL=${BASH_REMATCH[1]}
            break
        fi
    done <"$1"
}

# count_x LABEL FILE...: how many saved answers have X-Cache LABEL.
count_x() {
    local label=$1 f n=0
    shift
    for f in "$@"; do
        [ "$(xcache "$f")" = "$label" ] && n=$((n + 1))
    done
    echo "$n"
}

# same_bodies FILE...: true when every answer has the first one's body.
same_bodies() {
    local first=$1 f
    body "$first" >"$WORK/sb.first"
    for f in "$@"; do
        body "$f" | cmp -s - "$WORK/sb.first" || return 1
    done
}

# batch NAME N URI: N requests for URI through gateway 1, spawned to wait
# at the gate (tests/setup's spawn); their answers' files are in FILES.
batch() {
    local i
    files=()
    GATED=1
    for i in $(seq 1 "$2"); do
        spawn "$WORK/$1.$i" "$BOCACHE_SOCK" "$3"
        files+=("$WORK/$1.$i")
    done
    GATED=0
}

# coalesce LABEL NAME URI: 20 concurrent cold requests for URI, started
# together, must make one backend call and all get its body; their answers
# are left in FILES.
coalesce() {
    local label=$1 name=$2 uri=$3 before
    before=$(backend_count)
    batch "$name" 20 "$uri"
    release
    reap
    assert_eq $((before + 1)) "$(backend_count)" \
        "$label 20 concurrent cold requests made exactly one backend call"
    same_bodies "${files[@]}" ||
        fail "$label the 20 answers do not all carry the same body"
    ok "$label all 20 answers carry the same body"
}

# The endpoints this script adds in front of the standard ones. sleep_ms
# (and for the stale endpoint status and garbage) are left out of the key,
# so that a slow or failing request names the same entry as a fast one.
EP_RACE='{ path = "/api/v1/race/"; match = "prefix"; key_type = "none"; ignore_params = ["sleep_ms"]; }'
EP_STALE='{ path = "/api/v1/stale/"; match = "prefix"; key_type = "none"; ttl = 1; stale_ttl = 30; ignore_params = ["sleep_ms", "status", "garbage"]; }'

# redis.timeout_ms is generous: on a loaded test machine a 100 ms bound
# turns lookups into BYPASS answers, which is not what is tested here.
config() {
    write_config workers=24 redis.timeout_ms=1000 endpoint="$EP_RACE" \
        endpoint="$EP_STALE" "$@"
}

# The backend must take the connections of 2 x 24 workers at once.
start_redis
start_backend -n 64
redis_open

# ============================================================================
# Configuration 1: lock_timeout_ms 5000, 24 workers
# ============================================================================
config cache.lock_timeout_ms=5000
start_bocache

# --- 1. coalescing in one process ---------------------------------------------
coalesce "[1 coalesce]" c1 '/api/v1/public/coalesce?sleep_ms=300'
assert_eq "1 19" "$(count_x MISS "${files[@]}") $(count_x HIT "${files[@]}")" \
    "[1 coalesce] 1 MISS + 19 HIT"

# --- 2. arrivals while the fill is being stored ------------------------------
# A request whose lookup misses just before the fill stores its entry is a
# concurrent miss as well: it must not become a second fill. Each round
# releases 20 requests at about the time the 300 ms fill ends, so their
# lookups straddle the store.
for r in 1 2 3; do
    U1b="/api/v1/public/straddle$r?sleep_ms=300"
    batch s1b 20 "$U1b"
    at_gate
    before=$(backend_count)
    spawn "$WORK/s1b.fill" "$BOCACHE_SOCK" "$U1b"
    wait_lease "bocache:none:-:$U1b" ||
        fail "[2 straddle] round $r: the fill holds no lease"
    sleep 0.2
    open_gate
    reap
    calls=$(($(backend_count) - before))
    if [ "$calls" != 1 ]; then
        fail "[2 straddle] round $r: 21 requests for one key (a 300 ms fill and 20 arriving as it is stored) made $calls backend calls, not 1; answers: $(for f in "${files[@]}" "$WORK/s1b.fill"; do printf '%s/call=%s ' "$(xcache "$f")" "$(call_of "$f")"; done)"
    fi
done
ok "[2 straddle] 3 rounds: requests arriving while the fill was stored made no second backend call"

# --- 3. coalescing across two gateway processes ---------------------------------
start_bocache2
U2='/api/v1/public/coalesce2?sleep_ms=300'
before=$(backend_count)
files=()
GATED=1
for i in $(seq 1 10); do
    spawn "$WORK/c2a.$i" "$BOCACHE_SOCK" "$U2"
    spawn "$WORK/c2b.$i" "$BOCACHE_SOCK2" "$U2"
    files+=("$WORK/c2a.$i" "$WORK/c2b.$i")
done
release
reap
GATED=0
assert_eq $((before + 1)) "$(backend_count)" \
    "[3 coalesce x2] 10 + 10 concurrent requests on two gateways made one backend call"
same_bodies "${files[@]}" ||
    fail "[3 coalesce x2] the 20 answers do not all carry the same body"
ok "[3 coalesce x2] all 20 answers carry the same body"
assert_eq "1 19" "$(count_x MISS "${files[@]}") $(count_x HIT "${files[@]}")" \
    "[3 coalesce x2] 1 MISS + 19 HIT across both gateways"
stop_pid "$BOCACHE2_PID"
assert_eq 0 "$STOP_RC" "[3 coalesce x2] the second gateway exits 0 on SIGTERM"

# --- 4. an invalidation overtakes a slow fill: the fill is never stored ------------
# Each round: the backend is held with SIGSTOP, so that however loaded the
# machine is the fill cannot finish before the invalidation; a fill takes
# its lease and sends its request; a waiter for the same key parks behind
# it; an invalidation covering the key lands (odd rounds: PUBLISH with an
# id, applied by the listener; even rounds: bocache-ctl, synchronous); the
# backend resumes and the fill completes. Neither Redis, nor the waiter,
# nor the next request may then hold the fill's body.
ROUNDS=50
# The odd rounds' messages must reach the one gateway: the second one has
# gone, and this one subscribed in its own time.
wait_subscribed "$CHANNEL" 1 ||
    fail "[4 stale fill] $(subscribers "$CHANNEL") clients subscribed to $CHANNEL, not the one gateway"
for i in $(seq 1 $ROUNDS); do
    P=/api/v1/race/r$i
    K=bocache:none:-:$P
    kill -STOP "$BACKEND_PID"
    spawn "$WORK/r.slow" "$BOCACHE_SOCK" "$P?sleep_ms=50"
    wait_lease "$K" || {
        kill -CONT "$BACKEND_PID"
        fail "[4 stale fill] round $i: no lease bocache:#lease:$K while the fill is in flight"
    }
    rcmd GET "bocache:#lease:$K"
    token=$REPLY_VAL
    spawn "$WORK/r.wait" "$BOCACHE_SOCK" "$P"
    if [ $((i % 2)) = 1 ]; then
        how="PUBLISH"
        rcmd PUBLISH "$CHANNEL" "{\"id\":\"leases-race-$$-$i\",\"pattern\":\"$K\"}"
        [ "$REPLY_VAL" = 1 ] || {
            kill -CONT "$BACKEND_PID"
            fail "[4 stale fill] PUBLISH reached $REPLY_VAL subscribers, not 1"
        }
        # The listener applies it on its own time: wait until the fill's
        # lease is gone (voided; the waiter may have taken a new one).
        for ((j = 0; j < 400; j++)); do
            rcmd GET "bocache:#lease:$K"
            [ "$REPLY_VAL" = "$token" ] || break
            nap 0.005
        done
    else
        how="bocache-ctl"
        "$BOCACHE_CTL" -c "$CONFIG" invalidate --pattern "$K" >/dev/null 2>"$WORK/ctl.err" || {
            kill -CONT "$BACKEND_PID"
            fail "[4 stale fill] bocache-ctl invalidate failed: $(cat "$WORK/ctl.err")"
        }
        rcmd GET "bocache:#lease:$K"
    fi
    kill -CONT "$BACKEND_PID"
    [ "$REPLY_VAL" != "$token" ] ||
        fail "[4 stale fill] round $i: the $how invalidation did not void the fill's lease (within 2 s)"
    reap
    scan "$WORK/r.slow"
    old=$A_CALL
    [ -n "$old" ] || fail "[4 stale fill] round $i: the slow fill has no call number"
    [ "$A_X" = MISS ] ||
        fail "[4 stale fill] round $i: the slow fill is a $A_X, not a MISS"
    scan "$WORK/r.wait"
    [ "$A_CALL" != "$old" ] ||
        fail "[4 stale fill] round $i ($how): the waiter parked behind the voided fill got its body (call=$old, $A_X)"
    entry_has "$K" "call=$old " &&
        fail "[4 stale fill] round $i ($how): Redis holds the fill that the invalidation overtook (call=$old) under $K"
    req "$P" >"$WORK/r.next"
    scan "$WORK/r.next"
    [ "$A_CALL" != "$old" ] ||
        fail "[4 stale fill] round $i ($how): the request after the invalidation got the overtaken fill's body (call=$old, $A_X)"
done
ok "[4 stale fill] $ROUNDS rounds (PUBLISH and bocache-ctl): a fill overtaken by an invalidation was never stored or served afterwards"
# A fill's value is staged under a private key and moved into place by the
# compare-and-set; a fill whose lease was voided drops it. None is left.
assert_eq "" "$(redis_keys 'bocache:#fill:*')" \
    "[4 stale fill] no staged fill value is left behind (stored ones were moved, voided ones dropped)"

# --- 5. a non-storable fill releases its waiters at once -------------------------
U4='/api/v1/public/cookie?cookie=1&sleep_ms=300'
before=$(backend_count)
batch k 10 "$U4"
release
stamp t0
reap
stamp t1
assert_le 3000 $((t1 - t0)) \
    "[5 pass] 10 concurrent requests for a Set-Cookie answer finish long before lock_timeout_ms 5000 (ms)"
assert_eq 0 "$(count_x HIT "${files[@]}")" "[5 pass] none of them is a HIT"
assert_eq $((before + 10)) "$(backend_count)" \
    "[5 pass] each of the 10 got its own backend answer"
npass=0
nsc=0
for f in "${files[@]}"; do
    case $(cache_status "$f") in
    *detail=pass*) npass=$((npass + 1)) ;;
    *detail=set-cookie*) nsc=$((nsc + 1)) ;;
    esac
done
assert_eq "1 9" "$nsc $npass" \
    "[5 pass] 1 fill says detail=set-cookie, 9 released waiters say detail=pass"
assert_eq "" "$(redis_keys 'bocache:none:-:/api/v1/public/cookie*')" \
    "[5 pass] nothing is stored for the Set-Cookie URL"

# --- 6. how long a pass marker lasts, and the one-round-trip pass path ----------
# A response that declares itself not storable (here Set-Cookie) leaves a
# 10 s marker; an error status, which may pass, a marker of at most 1 s.
K4='bocache:none:-:/api/v1/public/cookie?cookie=1&sleep_ms=300'
rcmd PTTL "bocache:#lease:$K4"
assert_le "$REPLY_VAL" 2000 "[6 pass marker] a Set-Cookie fill leaves a pass marker of about 10 s, not 1 s (PTTL ms, at least)"
assert_le 10000 "$REPLY_VAL" "[6 pass marker] ... and no longer than 10 s (PTTL ms, at most)"
U4E='/api/v1/public/err4b?status=500'
req "$U4E" >"$WORK/k4e.a"
assert_match 'detail=status' "$(cache_status "$WORK/k4e.a")" "[6 pass marker] a 500 is not stored (detail=status)"
rcmd PTTL 'bocache:#lease:bocache:none:-:/api/v1/public/err4b?status=500'
assert_le 1000 "$REPLY_VAL" "[6 pass marker] ... and leaves a marker of at most 1 s (PTTL ms)"
# A worker that saw the marker forwards the key's requests without asking
# Redis while the marker lasts and nothing was invalidated: no lease attempt
# (SET) and no lookup (GET) per request.
U4N='/api/v1/public/nostore4b?cc=no-store'
stamp t_fill4n
req "$U4N" >"$WORK/k4n.0"
assert_match 'detail=no-store' "$(cache_status "$WORK/k4n.0")" "[6 pass marker] the no-store fill says so"
sets_before=$(redis_calls set)
gets_before=$(redis_calls get)
before=$(backend_count)
npass=0
nsent=0
# 40 requests fit well inside the marker's 10 s even on a slow (ASan) run;
# 24 workers see them in turn, so without hints there would be 40 lease
# attempts and 40 lookups. On an overloaded machine the requests stop 9 s
# after the fill, while the marker surely lasts.
for i in $(seq 1 40); do
    stamp t
    [ $((t - t_fill4n)) -lt 9000 ] || break
    req "$U4N" >"$WORK/k4n.x"
    nsent=$((nsent + 1))
    case $(cache_status "$WORK/k4n.x") in *fwd=miss*detail=pass*) npass=$((npass + 1)) ;; esac
done
sets_after=$(redis_calls set)
gets_after=$(redis_calls get)
[ "$nsent" = 40 ] ||
    echo "# [6 pass marker] a slow machine: $nsent of 40 requests fit in the marker's first 9 s" >&8
assert_eq "$nsent" "$npass" "[6 pass marker] $nsent requests for the no-store URL all go to the backend as MISS, detail=pass"
assert_eq $((before + nsent)) "$(backend_count)" "[6 pass marker] ... each one backend call"
assert_le 30 $((sets_after - sets_before)) \
    "[6 pass marker] ... with at most one lease attempt per worker (24), not one per request (SET calls for $nsent requests)"
# A worker's first request reads the entry twice (the lookup, and again
# with its lease attempt): without hints that would be 80 GETs.
assert_le 50 $((gets_after - gets_before)) \
    "[6 pass marker] ... and at most one lookup per worker, not one per request (GET calls for $nsent requests)"
# Hints are trusted only while invalidations are heard: once the
# subscription is cut (and again once it is back) every worker reads the
# marker from Redis before it trusts it again.
rcli CLIENT KILL TYPE pubsub >/dev/null
gets_before=$(redis_calls get)
for i in $(seq 1 20); do req "$U4N" >"$WORK/k4n.y"; done
gets_after=$(redis_calls get)
assert_le $((gets_after - gets_before)) 20 \
    "[6 pass marker] after the subscription was cut, 20 requests ask Redis again (GET calls, at least)"
assert_match 'detail=pass' "$(cache_status "$WORK/k4n.y")" "[6 pass marker] ... and still pass"
# An invalidation covering the key removes its marker: the next request
# is a fill again. It is published once the gateway has subscribed again:
# a message published before that never reaches it.
publish_when_heard "$CHANNEL" 1 "{\"id\":\"leases-4b-$$\",\"pattern\":\"bocache:none:-:/api/v1/public/nostore4b*\"}"
lease_gone() { ! lease_held "$1"; }
wait_until 3 lease_gone 'bocache:none:-:/api/v1/public/nostore4b?cc=no-store' ||
    fail "[6 pass marker] the invalidation did not remove the pass marker"
req "$U4N" >"$WORK/k4n.z"
assert_match 'detail=no-store' "$(cache_status "$WORK/k4n.z")" \
    "[6 pass marker] after an invalidation the next request fills again (detail=no-store, not pass)"

# ============================================================================
# Configuration 2: lock_timeout_ms 300
# ============================================================================
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config cache.lock_timeout_ms=300
start_bocache

# --- 7. lock timeout --------------------------------------------------------------
U5='/api/v1/public/lt?sleep_ms=2500'
K5='bocache:none:-:/api/v1/public/lt?sleep_ms=2500'
before=$(backend_count)
spawn "$WORK/lt.1" "$BOCACHE_SOCK" "$U5"
wait_lease "$K5" || fail "[7 lock timeout] the slow fill holds no lease"
stamp t0
spawn "$WORK/lt.2" "$BOCACHE_SOCK" "$U5"
wait_until 3 eval "[ \$(backend_count) -ge $((before + 2)) ]" ||
    fail "[7 lock timeout] the waiter never reached the backend"
stamp t1
[ -e "$WORK/lt.1.rc" ] &&
    fail "[7 lock timeout] the waiter reached the backend only after the 2.5 s fill ended"
assert_le 2000 $((t1 - t0)) \
    "[7 lock timeout] the waiter gave up after ~300 ms and went to the backend while the fill ran (ms)"
reap
assert_eq MISS "$(xcache "$WORK/lt.2")" "[7 lock timeout] the waiter's answer is a MISS"
assert_match 'fwd=miss; detail=lock-timeout' "$(cache_status "$WORK/lt.2")" \
    "[7 lock timeout] ... with Cache-Status detail=lock-timeout"
assert_eq $((before + 2)) "$(call_of "$WORK/lt.2")" \
    "[7 lock timeout] ... and its own backend answer"
req "$U5" >"$WORK/lt.3"
assert_eq "HIT $(call_of "$WORK/lt.1")" "$(xcache "$WORK/lt.3") $(call_of "$WORK/lt.3")" \
    "[7 lock timeout] the lease holder's fill is what got stored"

# ============================================================================
# Configuration 3: one worker, so that its miss streak is known
# ============================================================================
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config workers=1
start_bocache

# --- 8. first misses on an endpoint that keeps missing -------------------------
# After BC_MISSPRED_STREAK (3) misses in a row on an endpoint, the worker's
# lookup is the lease attempt, whose pipeline reads the entry too: one round
# trip before the backend instead of two. GETs counted by Redis: one per
# lookup, one per lease pipeline, one in each store's compare-and-set
# script (and in the release script).
gets0=$(redis_calls get)
sets0=$(redis_calls set)
before=$(backend_count)
for i in 1 2 3 4 5 6; do
    req "/api/v1/public/first11/u$i" >"$WORK/f11.$i"
    assert_eq MISS "$(xcache "$WORK/f11.$i")" "[8 first miss] new URL $i is a MISS"
done
assert_eq $((before + 6)) "$(backend_count)" "[8 first miss] ... each one backend call"
wait_key 'bocache:none:-:/api/v1/public/first11/u6' ||
    fail "[8 first miss] the 6th fill was not stored"
assert_eq $((gets0 + 3 + 6 + 6)) "$(redis_calls get)" \
    "[8 first miss] 6 fills: 3 lookups, then the lease attempt alone (GET calls: 3 lookups + 6 lease pipelines + 6 store scripts)"
assert_eq $((sets0 + 12)) "$(redis_calls set)" \
    "[8 first miss] ... each fill one lease attempt and one staged store (SET calls)"
# A wrong guess: the entry is there. It is served from the lease pipeline's
# reply, and the lease given back before the answer ends.
gets0=$(redis_calls get)
sets0=$(redis_calls set)
req /api/v1/public/first11/u1 >"$WORK/f11.h1"
assert_eq "HIT $(call_of "$WORK/f11.1")" "$(xcache "$WORK/f11.h1") $(call_of "$WORK/f11.h1")" \
    "[8 first miss] a stored URL asked for while misses were expected is a HIT with its entry"
assert_eq "2 1" "$(($(redis_calls get) - gets0)) $(($(redis_calls set) - sets0))" \
    "[8 first miss] ... read by the lease pipeline (GETs: the pipeline's and the release script's; 1 SET)"
lease_held 'bocache:none:-:/api/v1/public/first11/u1' &&
    fail "[8 first miss] the lease taken for a HIT was not given back"
ok "[8 first miss] ... and its lease was given back"
# That hit ended the streak: the next lookup is a plain GET.
gets0=$(redis_calls get)
sets0=$(redis_calls set)
req /api/v1/public/first11/u2 >"$WORK/f11.h2"
assert_eq HIT "$(xcache "$WORK/f11.h2")" "[8 first miss] the next stored URL is a HIT"
assert_eq "1 0" "$(($(redis_calls get) - gets0)) $(($(redis_calls set) - sets0))" \
    "[8 first miss] ... from a plain lookup after the hit ended the streak (1 GET, no SET)"
assert_eq $((before + 6)) "$(backend_count)" "[8 first miss] the HITs did not reach the backend"
# A HEAD miss takes no lease, streak or not, and stores nothing.
for i in 7 8 9; do req "/api/v1/public/first11/u$i" >/dev/null; done
sets0=$(redis_calls set)
req -X HEAD /api/v1/public/first11/u10 >"$WORK/f11.head"
assert_eq MISS "$(xcache "$WORK/f11.head")" "[8 first miss] a HEAD after a streak of misses is a MISS"
assert_eq 0 $(($(redis_calls set) - sets0)) "[8 first miss] ... with no lease attempt (SET calls)"
req /api/v1/public/first11/u10 >"$WORK/f11.10"
assert_eq MISS "$(xcache "$WORK/f11.10")" "[8 first miss] the GET that follows is the fill"
req /api/v1/public/first11/u10 >"$WORK/f11.10b"
assert_eq "HIT $(call_of "$WORK/f11.10")" "$(xcache "$WORK/f11.10b") $(call_of "$WORK/f11.10b")" \
    "[8 first miss] ... and its entry is what is served next"
# A stale entry found by the lease pipeline is refreshed by this request,
# and served when the backend fails.
for i in 1 2 3; do req "/api/v1/stale/first11-$i" >/dev/null; done
req /api/v1/stale/first11-s >"$WORK/f11.s0"
for i in 4 5 6; do req "/api/v1/stale/first11-$i" >/dev/null; done
sleep 1.2
req '/api/v1/stale/first11-s?status=500' >"$WORK/f11.s1"
assert_eq "200 STALE $(call_of "$WORK/f11.s0")" \
    "$(status "$WORK/f11.s1") $(xcache "$WORK/f11.s1") $(call_of "$WORK/f11.s1")" \
    "[8 first miss] an expired entry within stale_ttl, backend failing: the stale entry"
req /api/v1/stale/first11-s >"$WORK/f11.s2"
assert_eq MISS "$(xcache "$WORK/f11.s2")" "[8 first miss] ... and the next request goes to the backend again (MISS)"
[ "$(call_of "$WORK/f11.s2")" -gt "$(call_of "$WORK/f11.s0")" ] ||
    fail "[8 first miss] the refresh did not get a new backend answer"
ok "[8 first miss] ... with a new backend answer"

# --- 9. coalescing when the lookups are lease attempts --------------------------
# 8 workers, each shown a streak of new URLs, then 20 concurrent requests
# for one new key: one backend call, whichever way each worker looked up.
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config workers=8
start_bocache
GATED=1
for i in $(seq 1 40); do spawn "$WORK/w12.$i" "$BOCACHE_SOCK" "/api/v1/race/warm12-$i"; done
release
reap
GATED=0
coalesce "[9 coalesce, lease lookups]" c12 '/api/v1/race/first12?sleep_ms=300'
