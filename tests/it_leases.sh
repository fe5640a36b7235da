#!/bin/bash
# shellcheck disable=SC2119,SC2154 # stamp VAR sets VAR with printf -v
# it_leases.sh: the concurrency guarantees of SPEC 6 and 7. Concurrent misses
# for one key make one backend call, in one gateway process or across two; a
# fill that an invalidation overtook is never stored; a fill that turns out
# not storable releases its waiters at once; waiters give up after
# lock_timeout_ms; expired entries are served STALE while one request
# refreshes them and when the backend fails; Vary decides what may be stored;
# conditional requests and HEAD are answered from entries; a client that goes
# away mid-response stores nothing and leaves no lease behind.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

BOCACHE_CTL=$top_builddir/bocache-ctl
CHANNEL=bocache:invalidate

# --- helpers -------------------------------------------------------------------

# Background requests. spawn OUT SOCK [fcgi_get option]... URI starts one;
# its answer goes to OUT, its exit status to OUT.rc and the time it ended
# (ms) to OUT.end. With GATED=1 the request waits at a gate (a FIFO) until
# release opens it, so that a batch starts together: forking is slow enough
# on a loaded machine that a plain loop spreads 20 requests over a second.
# reap waits for every spawned request (closing the gate) and fails unless
# each got a complete answer.
BG=()
BG_OUT=()
GATED_OUT=()
GATED=0
GATE=$WORK/gate
mkfifo "$GATE"
spawn() {
    local out=$1 sock=$2
    shift 2
    local n=$# gated=$GATED
    # OUT.gate says 1 once the request is at the gate (OUT names are
    # reused, so the parent resets it first); builtins only, no fork.
    [ "$gated" = 1 ] && echo 0 >"$out.gate"
    (
        rc=0
        if [ "$gated" = 1 ]; then
            echo 1 >"$out.gate"
            exec 3<"$GATE"
        fi
        "$FCGI_GET" -t 15000 "${@:1:n-1}" "unix:$sock" "${!n}" \
            >"$out" 2>"$out.err" 3<&- 8>&- || rc=$?
        echo "${EPOCHREALTIME/./}" >"$out.end"
        echo "$rc" >"$out.rc"
    ) 8>&- &
    BG+=("$!")
    BG_OUT+=("$out")
    [ "$gated" = 1 ] && GATED_OUT+=("$out")
    return 0
}
# at_gate: waits (up to 10 s: forking is slow on a loaded machine) until
# every gated request spawned so far has reached the gate.
all_at_gate() {
    local f v
    for f in "${GATED_OUT[@]+"${GATED_OUT[@]}"}"; do
        v=
        read -r v <"$f.gate" 2>/dev/null || true
        [ "$v" = 1 ] || return 1
    done
}
at_gate() {
    wait_until 10 all_at_gate ||
        fail "gated requests did not reach the gate within 10 s"
    GATED_OUT=()
}
# release: opens the gate for every gated request spawned so far, once
# they have all reached it.
release() {
    at_gate
    exec 7>"$GATE"
}
reap() {
    local i rc
    for i in "${!BG[@]}"; do
        wait "${BG[$i]}" 2>/dev/null || true
    done
    exec 7>&-
    for i in "${!BG_OUT[@]}"; do
        rc=none
        [ -e "${BG_OUT[$i]}.rc" ] && read -r rc <"${BG_OUT[$i]}.rc"
        [ "$rc" = 0 ] || fail "background request ${BG_OUT[$i]##*/}: no complete answer (fcgi_get exit $rc: $(head -c 300 "${BG_OUT[$i]}.err" 2>/dev/null))"
    done
    BG=()
    BG_OUT=()
}

# cache_status FILE: the Cache-Status header of a saved answer.
cache_status() {
    header Cache-Status "$1"
}

# The machine running the tests may be loaded enough that every fork costs
# tens of ms, so the helpers used in loops stay inside bash: Redis is asked
# over one connection opened beforehand (redis_open), answers are read
# with builtins.
#
# rcmd ARG...: one Redis command; REPLY_VAL is its integer or status reply.
rcmd() {
    local LC_ALL=C a line req="*$#"$'\r\n'
    for a in "$@"; do
        req+="\$${#a}"$'\r\n'"$a"$'\r\n'
    done
    printf '%s' "$req" >&"$REDIS_WFD"
    IFS= read -r -t 5 -u "$REDIS_RFD" line || fail "no answer from Redis to $1"
    line=${line%$'\r'}
    case $line in
    [:+]*) REPLY_VAL=${line:1} ;;
    '$-1') REPLY_VAL="" ;;
    '$'*) # a bulk string; only ASCII one-line values are asked for
        IFS= read -r -t 5 -u "$REDIS_RFD" line || fail "no answer from Redis to $1"
        REPLY_VAL=${line%$'\r'}
        ;;
    *) fail "Redis answered '$line' to $*" ;;
    esac
}
# nap SECONDS: sleep without a fork (a read that times out on a FIFO
# nobody writes to).
nap() {
    read -r -t "$1" -u "$NAPFD" _ || true
}
# stamp VAR: the time in ms into VAR, without a fork.
stamp() {
    local _us=${EPOCHREALTIME/./}
    printf -v "$1" '%s' "${_us:0:-3}"
}

# key_exists KEY / lease_held KEY: whether Redis holds the entry KEY, or a
# fill lease for it.
key_exists() {
    rcmd EXISTS "$1"
    [ "$REPLY_VAL" = 1 ]
}
lease_held() {
    rcmd EXISTS "bocache:#lease:$1"
    [ "$REPLY_VAL" = 1 ]
}
# wait_lease KEY: polls every 5 ms, up to 3 s, for KEY's lease.
wait_lease() {
    local i
    for ((i = 0; i < 600; i++)); do
        lease_held "$1" && return 0
        nap 0.005
    done
    return 1
}
# entry_has KEY TEXT: whether the entry KEY holds TEXT.
entry_has() {
    rcmd EVAL "local v = redis.call('GET', KEYS[1]) if v and string.find(v, ARGV[1], 1, true) then return 1 end return 0" 1 "$1" "$2"
    [ "$REPLY_VAL" = 1 ]
}

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

# coalesce LABEL NAME URI: 20 concurrent cold requests for URI, started
# together, must make one backend call and all get its body; their answers
# are left in FILES.
coalesce() {
    local label=$1 name=$2 uri=$3 before i
    before=$(backend_count)
    files=()
    GATED=1
    for i in $(seq 1 20); do
        spawn "$WORK/$name.$i" "$BOCACHE_SOCK" "$uri"
        files+=("$WORK/$name.$i")
    done
    release
    reap
    GATED=0
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
EP_DRIP='{ path = "/api/v1/drip/"; match = "prefix"; key_type = "none"; ignore_params = ["sleep_ms", "drip_ms", "size"]; }'

# redis.timeout_ms is generous: on a loaded test machine a 100 ms bound
# turns lookups into BYPASS answers, which is not what is tested here.
config() {
    write_config workers=24 redis.timeout_ms=1000 endpoint="$EP_RACE" \
        endpoint="$EP_STALE" endpoint="$EP_DRIP" "$@"
}

# The backend must take the connections of 2 x 24 workers at once.
start_redis
start_backend -n 64
redis_open
mkfifo "$WORK/nap"
exec {NAPFD}<>"$WORK/nap"

# ============================================================================
# Phase 1: lock_timeout_ms 5000, backend.timeout_ms 10000
# ============================================================================
config cache.lock_timeout_ms=5000
start_bocache

# --- 1. coalescing in one process ---------------------------------------------
coalesce "[1 coalesce]" c1 '/api/v1/public/coalesce?sleep_ms=300'
assert_eq "1 19" "$(count_x MISS "${files[@]}") $(count_x HIT "${files[@]}")" \
    "[1 coalesce] 1 MISS + 19 HIT"

# --- 1b. arrivals while the fill is being stored ------------------------------
# A request whose lookup misses just before the fill stores its entry is a
# concurrent miss as well: it must not become a second fill. Each round
# releases 20 requests at about the time the 300 ms fill ends, so their
# lookups straddle the store.
for r in 1 2 3; do
    U1b="/api/v1/public/straddle$r?sleep_ms=300"
    GATED=1
    files=()
    for i in $(seq 1 20); do
        spawn "$WORK/s1b.$i" "$BOCACHE_SOCK" "$U1b"
        files+=("$WORK/s1b.$i")
    done
    GATED=0
    at_gate
    before=$(backend_count)
    spawn "$WORK/s1b.fill" "$BOCACHE_SOCK" "$U1b"
    wait_lease "bocache:none:-:$U1b" ||
        fail "[1b straddle] round $r: the fill holds no lease"
    sleep 0.2
    exec 7>"$GATE"
    reap
    calls=$(($(backend_count) - before))
    if [ "$calls" != 1 ]; then
        fail "[1b straddle] round $r: 21 requests for one key (a 300 ms fill and 20 arriving as it is stored) made $calls backend calls, not 1; answers: $(for f in "${files[@]}" "$WORK/s1b.fill"; do printf '%s/call=%s ' "$(xcache "$f")" "$(call_of "$f")"; done)"
    fi
done
ok "[1b straddle] 3 rounds: requests arriving while the fill was stored made no second backend call"

# --- 2. coalescing across two gateway processes ---------------------------------
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
    "[2 coalesce x2] 10 + 10 concurrent requests on two gateways made one backend call"
same_bodies "${files[@]}" ||
    fail "[2 coalesce x2] the 20 answers do not all carry the same body"
ok "[2 coalesce x2] all 20 answers carry the same body"
assert_eq "1 19" "$(count_x MISS "${files[@]}") $(count_x HIT "${files[@]}")" \
    "[2 coalesce x2] 1 MISS + 19 HIT across both gateways"
stop_pid "$BOCACHE2_PID"
assert_eq 0 "$STOP_RC" "[2 coalesce x2] the second gateway exits 0 on SIGTERM"

# --- 3. an invalidation overtakes a slow fill: the fill is never stored ------------
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
    fail "[3 stale fill] $(subscribers "$CHANNEL") clients subscribed to $CHANNEL, not the one gateway"
for i in $(seq 1 $ROUNDS); do
    P=/api/v1/race/r$i
    K=bocache:none:-:$P
    kill -STOP "$BACKEND_PID"
    spawn "$WORK/r.slow" "$BOCACHE_SOCK" "$P?sleep_ms=50"
    wait_lease "$K" || {
        kill -CONT "$BACKEND_PID"
        fail "[3 stale fill] round $i: no lease bocache:#lease:$K while the fill is in flight"
    }
    rcmd GET "bocache:#lease:$K"
    token=$REPLY_VAL
    spawn "$WORK/r.wait" "$BOCACHE_SOCK" "$P"
    if [ $((i % 2)) = 1 ]; then
        how="PUBLISH"
        rcmd PUBLISH "$CHANNEL" "{\"id\":\"leases-race-$$-$i\",\"pattern\":\"$K\"}"
        [ "$REPLY_VAL" = 1 ] || {
            kill -CONT "$BACKEND_PID"
            fail "[3 stale fill] PUBLISH reached $REPLY_VAL subscribers, not 1"
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
            fail "[3 stale fill] bocache-ctl invalidate failed: $(cat "$WORK/ctl.err")"
        }
        rcmd GET "bocache:#lease:$K"
    fi
    kill -CONT "$BACKEND_PID"
    [ "$REPLY_VAL" != "$token" ] ||
        fail "[3 stale fill] round $i: the $how invalidation did not void the fill's lease (within 2 s)"
    reap
    scan "$WORK/r.slow"
    old=$A_CALL
    [ -n "$old" ] || fail "[3 stale fill] round $i: the slow fill has no call number"
    [ "$A_X" = MISS ] ||
        fail "[3 stale fill] round $i: the slow fill is a $A_X, not a MISS"
    scan "$WORK/r.wait"
    [ "$A_CALL" != "$old" ] ||
        fail "[3 stale fill] round $i ($how): the waiter parked behind the voided fill got its body (call=$old, $A_X)"
    entry_has "$K" "call=$old " &&
        fail "[3 stale fill] round $i ($how): Redis holds the fill that the invalidation overtook (call=$old) under $K"
    req "$P" >"$WORK/r.next"
    scan "$WORK/r.next"
    [ "$A_CALL" != "$old" ] ||
        fail "[3 stale fill] round $i ($how): the request after the invalidation got the overtaken fill's body (call=$old, $A_X)"
done
ok "[3 stale fill] $ROUNDS rounds (PUBLISH and bocache-ctl): a fill overtaken by an invalidation was never stored or served afterwards"
# A fill's value is staged under a private key and moved into place by the
# compare-and-set; a fill whose lease was voided drops it. None is left.
assert_eq "" "$(redis_keys 'bocache:#fill:*')" \
    "[3 stale fill] no staged fill value is left behind (stored ones were moved, voided ones dropped)"

# --- 4. a non-storable fill releases its waiters at once -------------------------
U4='/api/v1/public/cookie?cookie=1&sleep_ms=300'
before=$(backend_count)
files=()
GATED=1
for i in $(seq 1 10); do
    spawn "$WORK/k.$i" "$BOCACHE_SOCK" "$U4"
    files+=("$WORK/k.$i")
done
release
stamp t0
reap
stamp t1
GATED=0
assert_le 3000 $((t1 - t0)) \
    "[4 pass] 10 concurrent requests for a Set-Cookie answer finish long before lock_timeout_ms 5000 (ms)"
assert_eq 0 "$(count_x HIT "${files[@]}")" "[4 pass] none of them is a HIT"
assert_eq $((before + 10)) "$(backend_count)" \
    "[4 pass] each of the 10 got its own backend answer"
npass=0
nsc=0
for f in "${files[@]}"; do
    case $(cache_status "$f") in
    *detail=pass*) npass=$((npass + 1)) ;;
    *detail=set-cookie*) nsc=$((nsc + 1)) ;;
    esac
done
assert_eq "1 9" "$nsc $npass" \
    "[4 pass] 1 fill says detail=set-cookie, 9 released waiters say detail=pass"
assert_eq "" "$(redis_keys 'bocache:none:-:/api/v1/public/cookie*')" \
    "[4 pass] nothing is stored for the Set-Cookie URL"

# --- 4b. how long a pass marker lasts, and the one-round-trip pass path ----------
# A response that declares itself not storable (here Set-Cookie) leaves a
# 10 s marker; an error status, which may pass, a marker of at most 1 s.
K4='bocache:none:-:/api/v1/public/cookie?cookie=1&sleep_ms=300'
rcmd PTTL "bocache:#lease:$K4"
assert_le "$REPLY_VAL" 2000 "[4b pass] a Set-Cookie fill leaves a pass marker of about 10 s, not 1 s (PTTL ms, at least)"
assert_le 10000 "$REPLY_VAL" "[4b pass] ... and no longer than 10 s (PTTL ms, at most)"
U4E='/api/v1/public/err4b?status=500'
req "$U4E" >"$WORK/k4e.a"
assert_match 'detail=status' "$(cache_status "$WORK/k4e.a")" "[4b pass] a 500 is not stored (detail=status)"
rcmd PTTL 'bocache:#lease:bocache:none:-:/api/v1/public/err4b?status=500'
assert_le 1000 "$REPLY_VAL" "[4b pass] ... and leaves a marker of at most 1 s (PTTL ms)"
# A worker that saw the marker forwards the key's requests without asking
# Redis while the marker lasts and nothing was invalidated: no lease attempt
# (SET) and no lookup (GET) per request.
U4N='/api/v1/public/nostore4b?cc=no-store'
stamp t_fill4n
req "$U4N" >"$WORK/k4n.0"
assert_match 'detail=no-store' "$(cache_status "$WORK/k4n.0")" "[4b pass] the no-store fill says so"
calls() { # calls CMD: how often Redis ran CMD so far
    rcli INFO commandstats | tr -d '\r' | sed -n "s/^cmdstat_$1:calls=\\([0-9]*\\),.*/\\1/p"
}
sets_before=$(calls set)
gets_before=$(calls get)
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
sets_after=$(calls set)
gets_after=$(calls get)
[ "$nsent" = 40 ] ||
    echo "# [4b pass] a slow machine: $nsent of 40 requests fit in the marker's first 9 s" >&8
assert_eq "$nsent" "$npass" "[4b pass] $nsent requests for the no-store URL all go to the backend as MISS, detail=pass"
assert_eq $((before + nsent)) "$(backend_count)" "[4b pass] ... each one backend call"
assert_le 30 $((sets_after - sets_before)) \
    "[4b pass] ... with at most one lease attempt per worker (24), not one per request (SET calls for $nsent requests)"
# A worker's first request reads the entry twice (the lookup, and again
# with its lease attempt): without hints that would be 80 GETs.
assert_le 50 $((gets_after - gets_before)) \
    "[4b pass] ... and at most one lookup per worker, not one per request (GET calls for $nsent requests)"
# Hints are trusted only while invalidations are heard: once the
# subscription is cut (and again once it is back) every worker reads the
# marker from Redis before it trusts it again.
rcli CLIENT KILL TYPE pubsub >/dev/null
gets_before=$(calls get)
for i in $(seq 1 20); do req "$U4N" >"$WORK/k4n.y"; done
gets_after=$(calls get)
assert_le $((gets_after - gets_before)) 20 \
    "[4b pass] after the subscription was cut, 20 requests ask Redis again (GET calls, at least)"
assert_match 'detail=pass' "$(cache_status "$WORK/k4n.y")" "[4b pass] ... and still pass"
# An invalidation covering the key removes its marker: the next request
# is a fill again. It is published once the gateway has subscribed again:
# a message published before that never reaches it.
publish_when_heard "$CHANNEL" 1 "{\"id\":\"leases-4b-$$\",\"pattern\":\"bocache:none:-:/api/v1/public/nostore4b*\"}"
lease_gone() { ! lease_held "$1"; }
wait_until 3 lease_gone 'bocache:none:-:/api/v1/public/nostore4b?cc=no-store' ||
    fail "[4b pass] the invalidation did not remove the pass marker"
req "$U4N" >"$WORK/k4n.z"
assert_match 'detail=no-store' "$(cache_status "$WORK/k4n.z")" \
    "[4b pass] after an invalidation the next request fills again (detail=no-store, not pass)"

# --- 6. stale while one request refreshes ----------------------------------------
S6=/api/v1/stale/s6
req "$S6" >"$WORK/s6.a"
stamp t_made
a=$(call_of "$WORK/s6.a")
assert_eq MISS "$(xcache "$WORK/s6.a")" "[6 stale refresh] the first request fills the entry (ttl 1, stale_ttl 30)"
stamp t
d=$((1200 - (t - t_made)))
[ "$d" -le 0 ] || nap "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
spawn "$WORK/s6.r" "$BOCACHE_SOCK" "$S6?sleep_ms=600"
wait_lease "bocache:none:-:$S6" ||
    fail "[6 stale refresh] the refreshing request holds no lease"
stamp t0
req "$S6" >"$WORK/s6.b"
stamp t1
assert_eq STALE "$(xcache "$WORK/s6.b")" \
    "[6 stale refresh] 1.2 s later, a request during the refresh is served STALE"
assert_eq "$a" "$(call_of "$WORK/s6.b")" "[6 stale refresh] the STALE answer is the old entry"
assert_eq 200 "$(status "$WORK/s6.b")" "[6 stale refresh] the STALE answer has the stored status"
assert_le 400 $((t1 - t0)) \
    "[6 stale refresh] the STALE answer does not wait for the 600 ms refresh (ms)"
assert_match '^[1-9][0-9]*$' "$(header Age "$WORK/s6.b")" \
    "[6 stale refresh] the STALE answer carries Age >= 1"
reap
r=$(call_of "$WORK/s6.r")
assert_eq MISS "$(xcache "$WORK/s6.r")" "[6 stale refresh] the refreshing request is a MISS"
[ "$r" -gt "$a" ] || fail "[6 stale refresh] the refresh got call=$r, not newer than $a"
entry_has "bocache:none:-:$S6" "call=$r " ||
    fail "[6 stale refresh] the refresh (call=$r) did not replace the entry"
ok "[6 stale refresh] the refresh replaced the entry"
read -r end_us <"$WORK/s6.r.end"
stamp t
req "$S6" >"$WORK/s6.c"
if [ $((t - end_us / 1000)) -lt 800 ]; then
    assert_eq "HIT $r" "$(xcache "$WORK/s6.c") $(call_of "$WORK/s6.c")" \
        "[6 stale refresh] right after the refresh, a HIT with the newer body"
else
    # The refreshed entry (ttl 1) may already be stale again.
    echo "# [6 stale refresh] the machine took $((t - end_us / 1000)) ms to ask again; not checking for a HIT" >&8
fi

# --- 8. Vary ------------------------------------------------------------------
# Vary: * is never stored.
before=$(backend_count)
req '/api/v1/public/v8?vary=*' >"$WORK/v.1"
req '/api/v1/public/v8?vary=*' >"$WORK/v.2"
assert_eq "MISS MISS" "$(xcache "$WORK/v.1") $(xcache "$WORK/v.2")" \
    "[8 vary] Vary: * is a MISS every time"
assert_match 'detail=vary' "$(cache_status "$WORK/v.1")" \
    "[8 vary] Vary: * says Cache-Status detail=vary"
assert_eq $((before + 2)) "$(backend_count)" "[8 vary] Vary: * reaches the backend every time"
assert_eq "" "$(redis_keys 'bocache:none:-:/api/v1/public/v8*')" \
    "[8 vary] Vary: * leaves no entry"
# A header the endpoint does not key on.
req '/api/v1/public/v8b?vary=Accept-Encoding' >"$WORK/v.3"
req '/api/v1/public/v8b?vary=Accept-Encoding' >"$WORK/v.4"
assert_eq "MISS MISS" "$(xcache "$WORK/v.3") $(xcache "$WORK/v.4")" \
    "[8 vary] Vary: Accept-Encoding on an endpoint without vary is not stored"
assert_match 'detail=vary' "$(cache_status "$WORK/v.3")" \
    "[8 vary] ... and says detail=vary"
# One keyed header plus one that is not: not stored either.
req -H 'Accept-Language: en' '/api/v1/vary/?vary=Accept-Language,Accept-Encoding' >"$WORK/v.5"
req -H 'Accept-Language: en' '/api/v1/vary/?vary=Accept-Language,Accept-Encoding' >"$WORK/v.6"
assert_eq "MISS MISS" "$(xcache "$WORK/v.5") $(xcache "$WORK/v.6")" \
    "[8 vary] Vary: Accept-Language, Accept-Encoding (one header outside the key) is not stored"
# The endpoint's vary list: stored and keyed.
V='/api/v1/vary/?vary=Accept-Language'
req -H 'Accept-Language: en' "$V" >"$WORK/v.en1"
req -H 'Accept-Language: fr' "$V" >"$WORK/v.fr1"
req -H 'Accept-Language: en' "$V" >"$WORK/v.en2"
req -H 'Accept-Language: fr' "$V" >"$WORK/v.fr2"
assert_eq "MISS MISS HIT HIT" \
    "$(xcache "$WORK/v.en1") $(xcache "$WORK/v.fr1") $(xcache "$WORK/v.en2") $(xcache "$WORK/v.fr2")" \
    "[8 vary] Vary: Accept-Language on the endpoint with vary [Accept-Language]: stored per language"
assert_eq "$(call_of "$WORK/v.en1") $(call_of "$WORK/v.fr1")" \
    "$(call_of "$WORK/v.en2") $(call_of "$WORK/v.fr2")" \
    "[8 vary] each language gets its own entry's body"
assert_eq 2 "$(redis_keys 'bocache:none:-:/api/v1/vary/?vary=Accept-Language:*' | wc -l)" \
    "[8 vary] two languages are two entries"
# The identity headers of the key type count as keyed.
A='/api/v1/sports/v8?vary=X-Api-Key'
req -H 'X-Api-Key: k8' "$A" >"$WORK/v.k1"
req -H 'X-Api-Key: k8' "$A" >"$WORK/v.k2"
assert_eq "MISS HIT" "$(xcache "$WORK/v.k1") $(xcache "$WORK/v.k2")" \
    "[8 vary] Vary: X-Api-Key on an api_key endpoint is stored"
O='/api/v1/partner/v8?vary=Origin'
req -H 'X-Partner-Id: 8' -H 'Origin: https://a.example' "$O" >"$WORK/v.o1"
req -H 'X-Partner-Id: 8' -H 'Origin: https://a.example' "$O" >"$WORK/v.o2"
assert_eq "MISS HIT" "$(xcache "$WORK/v.o1") $(xcache "$WORK/v.o2")" \
    "[8 vary] Vary: Origin on a partner_id_and_origin endpoint is stored"

# --- 9. conditional requests and HEAD ------------------------------------------
E='/api/v1/public/e9?etag=%22v9%22'
req "$E" >"$WORK/e.1"
wait_key 'bocache:none:-:/api/v1/public/e9*' || fail "[9 304] no entry for $E"
before=$(backend_count)
req -H 'If-None-Match: "v9"' "$E" >"$WORK/e.2"
assert_eq 304 "$(status "$WORK/e.2")" "[9 304] If-None-Match matching the entry's ETag: 304"
assert_eq 0 "$(body "$WORK/e.2" | wc -c)" "[9 304] the 304 has no body"
assert_eq '"v9"' "$(header ETag "$WORK/e.2")" "[9 304] the 304 carries the ETag"
req -H 'If-None-Match: "x1", "v9"' "$E" >"$WORK/e.3"
assert_eq 304 "$(status "$WORK/e.3")" "[9 304] an If-None-Match list holding the ETag: 304"
req -H 'If-None-Match: W/"v9"' "$E" >"$WORK/e.3w"
assert_eq 304 "$(status "$WORK/e.3w")" "[9 304] If-None-Match W/\"v9\" (weak comparison): 304"
assert_eq "$before" "$(backend_count)" "[9 304] the 304s made no backend call"
req -H 'If-None-Match: "other"' "$E" >"$WORK/e.4"
assert_eq "200 HIT" "$(status "$WORK/e.4") $(xcache "$WORK/e.4")" \
    "[9 304] a non-matching If-None-Match: 200 HIT"
assert_eq "$(call_of "$WORK/e.1")" "$(call_of "$WORK/e.4")" \
    "[9 304] ... with the entry's body"
LM='Tue, 15 Nov 2022 08:12:31 GMT'
L='/api/v1/public/l9?lm=Tue,%2015%20Nov%202022%2008:12:31%20GMT'
req "$L" >"$WORK/l.1"
assert_eq "$LM" "$(header Last-Modified "$WORK/l.1")" "[9 304] the backend's Last-Modified is passed on"
before=$(backend_count)
req -H "If-Modified-Since: $LM" "$L" >"$WORK/l.2"
assert_eq 304 "$(status "$WORK/l.2")" "[9 304] If-Modified-Since equal to Last-Modified: 304"
assert_eq 0 "$(body "$WORK/l.2" | wc -c)" "[9 304] ... with no body"
req -H 'If-Modified-Since: Wed, 16 Nov 2022 00:00:00 GMT' "$L" >"$WORK/l.3"
assert_eq 304 "$(status "$WORK/l.3")" "[9 304] If-Modified-Since after Last-Modified: 304"
req -H 'If-Modified-Since: Mon, 14 Nov 2022 00:00:00 GMT' "$L" >"$WORK/l.4"
assert_eq "200 HIT" "$(status "$WORK/l.4") $(xcache "$WORK/l.4")" \
    "[9 304] If-Modified-Since before Last-Modified: 200 HIT"
assert_eq "$before" "$(backend_count)" "[9 304] the conditional requests made no backend call"
req -X HEAD "$E" >"$WORK/h.1"
assert_eq "200 HIT" "$(status "$WORK/h.1") $(xcache "$WORK/h.1")" "[9 HEAD] HEAD is a HIT on the GET entry"
assert_eq 0 "$(body "$WORK/h.1" | wc -c)" "[9 HEAD] HEAD has no body"
assert_eq '"v9"' "$(header ETag "$WORK/h.1")" "[9 HEAD] HEAD carries the entry's headers"
req -X HEAD -H 'If-None-Match: "v9"' "$E" >"$WORK/h.2"
assert_eq 304 "$(status "$WORK/h.2")" "[9 HEAD] HEAD with a matching If-None-Match: 304"
assert_eq "$before" "$(backend_count)" "[9 HEAD] HEAD made no backend call"

# --- 10. a client that goes away mid-response ---------------------------------
D=/api/v1/drip/d10
DK=bocache:none:-:$D
before=$(backend_count)
stamp t0
"$FCGI_GET" -a 1 "unix:$BOCACHE_SOCK" "$D?size=400000&drip_ms=50" \
    >"$WORK/d.1" 2>"$WORK/d.1.err" || fail "[10 abort] fcgi_get -a 1 failed: $(cat "$WORK/d.1.err")"
[ -s "$WORK/d.1" ] || fail "[10 abort] the aborting client got no first byte"
# A request for the same key right away: it must not sit out
# lock_timeout_ms (5 s) behind a lease the gone client's fill left.
stamp t1
req "$D" >"$WORK/d.2"
stamp t2
assert_eq 200 "$(status "$WORK/d.2")" "[10 abort] the next request for the key answers 200"
assert_le 1500 $((t2 - t1)) \
    "[10 abort] the next request for the key is not held by a lease (ms)"
assert_ne HIT "$(xcache "$WORK/d.2")" "[10 abort] the next request is not a HIT on a partial body"
# Let the dripping backend call end (7 pieces x 50 ms) and the worker see
# the client gone, then look at Redis.
sleep 0.6
if key_exists "$DK"; then
    n=$(rcli strlen "$DK")
    # Only d.2's full fill may have been stored; never the cut one.
    rcli get "$DK" | grep -aq "call=$((before + 1)) " &&
        fail "[10 abort] Redis holds the aborted fill under $DK ($n bytes)"
fi
ok "[10 abort] nothing of the aborted response is stored"
wait_until 3 eval "! lease_held $DK" ||
    fail "[10 abort] the lease bocache:#lease:$DK is still held"
ok "[10 abort] no lease is left for the key"
# Every worker (24) aborted in turn: a worker that stayed stuck on a gone
# client would leave none to answer.
for i in $(seq 1 30); do
    "$FCGI_GET" -a 1 "unix:$BOCACHE_SOCK" "/api/v1/drip/m$i?size=400000&drip_ms=50" \
        >/dev/null 2>&1 || fail "[10 abort] fcgi_get -a 1 (round $i) failed"
done
stamp t0
req '/api/v1/public/after-aborts' >"$WORK/d.3"
stamp t1
assert_eq 200 "$(status "$WORK/d.3")" "[10 abort] after 30 aborted clients bocache still answers"
assert_le 2000 $((t1 - t0)) "[10 abort] ... promptly (ms)"
alive "$BOCACHE_PID" || fail "[10 abort] bocache died"
# Once the release marker has lapsed the key fills and serves normally.
sleep 1.1
req "$D?size=20000" >/dev/null
req "$D?size=20000" >"$WORK/d.4"
assert_eq HIT "$(xcache "$WORK/d.4")" "[10 abort] later the key fills and is served normally"

# ============================================================================
# Phase 2: lock_timeout_ms 300
# ============================================================================
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config cache.lock_timeout_ms=300
start_bocache

# --- 5. lock timeout --------------------------------------------------------------
U5='/api/v1/public/lt?sleep_ms=2500'
K5='bocache:none:-:/api/v1/public/lt?sleep_ms=2500'
before=$(backend_count)
spawn "$WORK/lt.1" "$BOCACHE_SOCK" "$U5"
wait_lease "$K5" || fail "[5 lock timeout] the slow fill holds no lease"
stamp t0
spawn "$WORK/lt.2" "$BOCACHE_SOCK" "$U5"
wait_until 3 eval "[ \$(backend_count) -ge $((before + 2)) ]" ||
    fail "[5 lock timeout] the waiter never reached the backend"
stamp t1
[ -e "$WORK/lt.1.rc" ] &&
    fail "[5 lock timeout] the waiter reached the backend only after the 2.5 s fill ended"
assert_le 2000 $((t1 - t0)) \
    "[5 lock timeout] the waiter gave up after ~300 ms and went to the backend while the fill ran (ms)"
reap
assert_eq MISS "$(xcache "$WORK/lt.2")" "[5 lock timeout] the waiter's answer is a MISS"
assert_match 'fwd=miss; detail=lock-timeout' "$(cache_status "$WORK/lt.2")" \
    "[5 lock timeout] ... with Cache-Status detail=lock-timeout"
assert_eq $((before + 2)) "$(call_of "$WORK/lt.2")" \
    "[5 lock timeout] ... and its own backend answer"
req "$U5" >"$WORK/lt.3"
assert_eq "HIT $(call_of "$WORK/lt.1")" "$(xcache "$WORK/lt.3") $(call_of "$WORK/lt.3")" \
    "[5 lock timeout] the lease holder's fill is what got stored"

# ============================================================================
# Phase 3: backend.timeout_ms 500
# ============================================================================
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config cache.lock_timeout_ms=5000 backend.timeout_ms=500
start_bocache

# --- 7. stale beats a backend failure ----------------------------------------------
for n in f7 g7 t7 r7; do
    req "/api/v1/stale/$n" >"$WORK/s7.$n"
    [ "$(xcache "$WORK/s7.$n")" = MISS ] ||
        fail "[7 stale on failure] filling /api/v1/stale/$n gave $(xcache "$WORK/s7.$n"), not a MISS"
done
sleep 1.2
req '/api/v1/stale/f7?status=500' >"$WORK/s7.f"
assert_eq "200 STALE" "$(status "$WORK/s7.f") $(xcache "$WORK/s7.f")" \
    "[7 stale on failure] backend answers 500: the stale entry is served, not the 500"
assert_eq "$(call_of "$WORK/s7.f7")" "$(call_of "$WORK/s7.f")" \
    "[7 stale on failure] ... with the entry's body"
req '/api/v1/stale/g7?garbage=1' >"$WORK/s7.g"
assert_eq "200 STALE" "$(status "$WORK/s7.g") $(xcache "$WORK/s7.g")" \
    "[7 stale on failure] backend answers garbage: STALE, not 502"
stamp t0
req '/api/v1/stale/t7?sleep_ms=1500' >"$WORK/s7.t"
stamp t1
assert_eq "200 STALE" "$(status "$WORK/s7.t") $(xcache "$WORK/s7.t")" \
    "[7 stale on failure] backend times out (timeout_ms 500): STALE, not 504"
assert_le 1400 $((t1 - t0)) "[7 stale on failure] ... after about backend.timeout_ms (ms)"
assert_eq "$(call_of "$WORK/s7.t7")" "$(call_of "$WORK/s7.t")" \
    "[7 stale on failure] ... with the entry's body"
stop_backend KILL
req /api/v1/public/nobackend >"$WORK/s7.nb"
assert_eq 502 "$(status "$WORK/s7.nb")" "[7 stale on failure] with the backend killed an uncached URL gets 502"
req '/api/v1/stale/r7' >"$WORK/s7.r"
assert_eq "200 STALE" "$(status "$WORK/s7.r") $(xcache "$WORK/s7.r")" \
    "[7 stale on failure] backend refuses (killed): STALE, not 502"
assert_eq "$(call_of "$WORK/s7.r7")" "$(call_of "$WORK/s7.r")" \
    "[7 stale on failure] ... with the entry's body"
req '/api/v1/stale/r7' >"$WORK/s7.r2"
assert_eq "200 STALE" "$(status "$WORK/s7.r2") $(xcache "$WORK/s7.r2")" \
    "[7 stale on failure] and again right after the failed refresh: STALE"
start_backend -n 64
alive "$BOCACHE_PID" || fail "bocache died"

# ============================================================================
# Phase 4: one worker, so that its miss streak is known
# ============================================================================
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config workers=1
start_bocache

# --- 11. first misses on an endpoint that keeps missing -------------------------
# After BC_MISSPRED_STREAK (3) misses in a row on an endpoint, the worker's
# lookup is the lease attempt, whose pipeline reads the entry too: one round
# trip before the backend instead of two. GETs counted by Redis: one per
# lookup, one per lease pipeline, one in each store's compare-and-set
# script (and in the release script).
gets0=$(calls get)
sets0=$(calls set)
before=$(backend_count)
for i in 1 2 3 4 5 6; do
    req "/api/v1/public/first11/u$i" >"$WORK/f11.$i"
    assert_eq MISS "$(xcache "$WORK/f11.$i")" "[11 first miss] new URL $i is a MISS"
done
assert_eq $((before + 6)) "$(backend_count)" "[11 first miss] ... each one backend call"
wait_key 'bocache:none:-:/api/v1/public/first11/u6' ||
    fail "[11 first miss] the 6th fill was not stored"
assert_eq $((gets0 + 3 + 6 + 6)) "$(calls get)" \
    "[11 first miss] 6 fills: 3 lookups, then the lease attempt alone (GET calls: 3 lookups + 6 lease pipelines + 6 store scripts)"
assert_eq $((sets0 + 12)) "$(calls set)" \
    "[11 first miss] ... each fill one lease attempt and one staged store (SET calls)"
# A wrong guess: the entry is there. It is served from the lease pipeline's
# reply, and the lease given back before the answer ends.
gets0=$(calls get)
sets0=$(calls set)
req /api/v1/public/first11/u1 >"$WORK/f11.h1"
assert_eq "HIT $(call_of "$WORK/f11.1")" "$(xcache "$WORK/f11.h1") $(call_of "$WORK/f11.h1")" \
    "[11 first miss] a stored URL asked for while misses were expected is a HIT with its entry"
assert_eq "2 1" "$(($(calls get) - gets0)) $(($(calls set) - sets0))" \
    "[11 first miss] ... read by the lease pipeline (GETs: the pipeline's and the release script's; 1 SET)"
lease_held 'bocache:none:-:/api/v1/public/first11/u1' &&
    fail "[11 first miss] the lease taken for a HIT was not given back"
ok "[11 first miss] ... and its lease was given back"
# That hit ended the streak: the next lookup is a plain GET.
gets0=$(calls get)
sets0=$(calls set)
req /api/v1/public/first11/u2 >"$WORK/f11.h2"
assert_eq HIT "$(xcache "$WORK/f11.h2")" "[11 first miss] the next stored URL is a HIT"
assert_eq "1 0" "$(($(calls get) - gets0)) $(($(calls set) - sets0))" \
    "[11 first miss] ... from a plain lookup after the hit ended the streak (1 GET, no SET)"
assert_eq $((before + 6)) "$(backend_count)" "[11 first miss] the HITs did not reach the backend"
# A HEAD miss takes no lease, streak or not, and stores nothing.
for i in 7 8 9; do req "/api/v1/public/first11/u$i" >/dev/null; done
sets0=$(calls set)
req -X HEAD /api/v1/public/first11/u10 >"$WORK/f11.head"
assert_eq MISS "$(xcache "$WORK/f11.head")" "[11 first miss] a HEAD after a streak of misses is a MISS"
assert_eq 0 $(($(calls set) - sets0)) "[11 first miss] ... with no lease attempt (SET calls)"
req /api/v1/public/first11/u10 >"$WORK/f11.10"
assert_eq MISS "$(xcache "$WORK/f11.10")" "[11 first miss] the GET that follows is the fill"
req /api/v1/public/first11/u10 >"$WORK/f11.10b"
assert_eq "HIT $(call_of "$WORK/f11.10")" "$(xcache "$WORK/f11.10b") $(call_of "$WORK/f11.10b")" \
    "[11 first miss] ... and its entry is what is served next"
# A stale entry found by the lease pipeline is refreshed by this request,
# and served when the backend fails.
for i in 1 2 3; do req "/api/v1/stale/first11-$i" >/dev/null; done
req /api/v1/stale/first11-s >"$WORK/f11.s0"
for i in 4 5 6; do req "/api/v1/stale/first11-$i" >/dev/null; done
sleep 1.2
req '/api/v1/stale/first11-s?status=500' >"$WORK/f11.s1"
assert_eq "200 STALE $(call_of "$WORK/f11.s0")" \
    "$(status "$WORK/f11.s1") $(xcache "$WORK/f11.s1") $(call_of "$WORK/f11.s1")" \
    "[11 first miss] an expired entry within stale_ttl, backend failing: the stale entry"
req /api/v1/stale/first11-s >"$WORK/f11.s2"
assert_eq MISS "$(xcache "$WORK/f11.s2")" "[11 first miss] ... and the next request goes to the backend again (MISS)"
[ "$(call_of "$WORK/f11.s2")" -gt "$(call_of "$WORK/f11.s0")" ] ||
    fail "[11 first miss] the refresh did not get a new backend answer"
ok "[11 first miss] ... with a new backend answer"

# --- 12. coalescing when the lookups are lease attempts --------------------------
# 8 workers, each shown a streak of new URLs, then 20 concurrent requests
# for one new key: one backend call, whichever way each worker looked up.
stop_bocache
config workers=8
start_bocache
GATED=1
for i in $(seq 1 40); do spawn "$WORK/w12.$i" "$BOCACHE_SOCK" "/api/v1/race/warm12-$i"; done
release
reap
GATED=0
coalesce "[12 coalesce, lease lookups]" c12 '/api/v1/race/first12?sleep_ms=300'
