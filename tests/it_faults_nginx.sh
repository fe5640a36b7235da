#!/bin/bash
# it_faults_nginx.sh: faults injected under real HTTP load. A real nginx in
# front of bocache (-l unix:, backend.address = tests/test_backend), LOOPS
# parallel curl loops as clients. For each fault the script counts, over
# the requests made while it was injected:
#   failed   answers that are not 200 (or no answer) where SPEC section 7
#            says the client must not notice the fault
#   wrong    200 answers whose body does not carry the identity (API key or
#            partner + Origin) and the URI it was requested for
#   stored   Redis entries under the fault's paths that are not a whole
#            test_backend answer (an error, garbage or a partial body)
#   log      lines the fault added to the bocache log (at most a few per
#            fault class per 10 s, not one per request)
# Faults: (a) Redis killed and restarted, (b) Redis blocked by DEBUG SLEEP
# beyond redis.timeout_ms, (c) the pub/sub connection killed, (d) the
# backend killed and restarted, (e) the backend answering garbage, a cut
# stream or nothing, (f) clients going away mid-answer, (g) SIGHUP.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

. "$top_srcdir/tests/nginx_setup"
CTL=$top_builddir/bocache-ctl

LOOPS=${LOOPS:-4}
REDIS_TIMEOUT_MS=100
WORKERS=8
LATE_FAIL=""
# A fault may add this many warn/error lines to the log (each phase lasts
# well under 10 s).
LOG_MAX=${LOG_MAX:-10}

# --- nginx -------------------------------------------------------------------------

nginx_locations() {
    cat <<LOC
        location / {
            include $FASTCGI_PARAMS;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
LOC
}

# --- the load ------------------------------------------------------------------------

# loadloop FILE L NS: GETs until stop_load, alternating a hot
# URI (HITs) and fresh URIs (MISSes), on an api_key endpoint and a
# partner_id_and_origin endpoint, one line per request into FILE:
#   END_US CODE CURL_RC BODY_OK X-CACHE SECONDS URI
# BODY_OK is 1 when the body's first line is exactly test_backend's line for
# the URI and the identity the request was made with, 0 when it is not, -
# for non-200.
loadloop() {
    local out=$1 L=$2 ns=$3 i=0 k uri want r rc okb xc line code secs
    local b=$WORK/lb.$ns.$L
    while ! load_stopped; do
        i=$((i + 1))
        # even: the one hot URI of its kind (HITs); odd: a fresh one
        k=0
        [ $((i % 2)) = 0 ] || k=$((i % 4))
        if [ $((i % 3)) = 0 ]; then
            uri=/api/v1/partner/$ns/w$k
            [ $((i % 2)) = 0 ] || uri=$uri-$L-$i
            want="uri=$uri key=- partner=$L$k origin=https://o$L.example.com"
            set -- -H "X-Partner-Id: $L$k" -H "Origin: https://o$L.example.com"
        else
            uri=/api/v1/sports/$ns/s$k?l=$L
            [ $((i % 2)) = 0 ] || uri=/api/v1/sports/$ns/u-$L-$i
            want="uri=$uri key=key-$ns-$L-$k partner=- origin=-"
            set -- -H "X-Api-Key: key-$ns-$L-$k"
        fi
        rc=0
        r=$(curl -s --max-time 10 -o "$b" "$@" \
            -w '%{http_code} %{time_total} %header{x-cache}' \
            "http://127.0.0.1:$HTTP_PORT$uri") || rc=$?
        read -r code secs xc <<<"$r"
        okb=-
        if [ "${code:-000}" = 200 ]; then
            okb=0
            IFS= read -r line <"$b" || true
            [[ $line != "call="*" method=GET $want" ]] || okb=1
        fi
        # the end time in ms without a fork
        echo "${EPOCHREALTIME/./} ${code:-000} $rc $okb ${xc:--} ${secs:-0} $uri"
    done >"$out"
}

# phase_load NAME: LOOPS loops on paths of their own (NAME is the phase),
# the log marked where the phase begins. The fault comes once every loop
# has had an answer (start_load waits for that), however slowly the
# machine forks them.
phase_load() {
    log_mark
    start_load "$1" "$LOOPS" loadloop "$1"
}

# side_loops N FUNCTION: N loops of FUNCTION FILE L (its files
# $WORK/FUNCTION.L) beside the phase's load, until stop_load; stop_side
# waits for them.
side_loops() {
    local i
    SIDE_PIDS=""
    for i in $(seq 1 "$1"); do
        "$2" "$WORK/$2.$i" "$i" 8>&- &
        SIDE_PIDS="$SIDE_PIDS $!"
        track "$!"
    done
}
stop_side() {
    local p
    for p in $SIDE_PIDS; do
        wait "$p" || true
        untrack "$p"
    done
}

# tally NAME [FROM_MS]: "TOTAL FAILED WRONG HITS MAX_MS" over the phase's
# requests that ended at or after FROM_MS.
tally() {
    load_lines "$1" | awk -v from="${2:-0}" '
        { $1 = int($1 / 1000) }
        $1 < from { next }
        { n++ }
        $2 != 200 { f++ }
        $2 == 200 && $4 != 1 { w++ }
        $5 == "HIT" { h++ }
        { ms = $6 * 1000; if (ms > max) max = ms }
        END { printf "%d %d %d %d %d\n", n, f, w, h, max }'
}

# bad_entries PATTERN: entries matching PATTERN that are not a whole
# test_backend answer (no X-Backend header or no call= line), checked in
# one server-side script (entries that expired meanwhile do not count).
bad_entries() {
    local keys
    # shellcheck disable=SC2207
    keys=($(redis_keys "$1"))
    [ "${#keys[@]}" -gt 0 ] || { echo 0; return; }
    rcli EVAL "
        local n = 0
        for _, k in ipairs(KEYS) do
            local v = redis.call('GET', k)
            if v and not (string.find(v, 'X-Backend: test_backend', 1, true)
                          and string.find(v, 'call=%d+ method=GET ')) then
                n = n + 1
            end
        end
        return n" "${#keys[@]}" "${keys[@]}"
}

# log_since [REGEX]: lines the phase added to the bocache log (matching
# REGEX).
log_since() {
    new_lines | grep -Ec -- "${1:-.}" || true
}

# report LETTER WHAT: prints the phase's figures and checks the ones every
# fault shares (no wrong body, nothing bad stored, few log lines); sets
# T_TOTAL T_FAILED T_WRONG T_HITS T_MAX for the phase's own checks.
report() {
    local lines faults stored
    read -r T_TOTAL T_FAILED T_WRONG T_HITS T_MAX <<<"$(tally "$LOAD_NAME")"
    stored=$(bad_entries "bocache:*:/api/v1/*/$LOAD_NAME/*")
    lines=$(log_since)
    faults=$(log_since ' (warn|error): ')
    echo "# ($1) $2: $T_TOTAL requests, $T_FAILED failed, $T_WRONG wrong bodies," \
        "$T_HITS HITs, slowest $T_MAX ms, $stored bad entries stored," \
        "$lines log lines ($faults warn/error)"
    [ "$T_TOTAL" -ge 10 ] || fail "($1) only $T_TOTAL requests under load"
    assert_eq 0 "$T_WRONG" "($1) $2: no body for another identity or URI"
    assert_eq 0 "$stored" "($1) $2: no error or partial answer stored"
    assert_le "$LOG_MAX" "$faults" "($1) $2: warn/error lines added to the log"
    # Recovery notes ("connected again") may come once per connection (8
    # workers, the listener, the stats flusher) in the 10 s interval. A
    # failure here is collected, so that the other faults still run.
    if [ "$lines" -le $((LOG_MAX + WORKERS + 2)) ]; then
        ok "($1) $2: log lines added in all ($lines <= $((LOG_MAX + WORKERS + 2)))"
    else
        echo "not ok - ($1) $2: $lines log lines added in all (> $((LOG_MAX + WORKERS + 2)));" \
            "the repeated ones:" >&8
        new_lines | sed 's/^[^ ]* [^ ]* //' |
            sort | uniq -c | sort -rn | head -n 3 | sed 's/^/#   /' >&8
        LATE_FAIL="$LATE_FAIL ($1)"
    fi
}

# --- set-up -------------------------------------------------------------------------------

start_redis
start_backend -n 64
write_config workers=$WORKERS 'log_level="info"' \
    redis.timeout_ms=$REDIS_TIMEOUT_MS backend.timeout_ms=3000 \
    cache.memory_ttl=30
start_bocache
start_nginx /__count 200
PID0=$BOCACHE_PID

s=$(get /api/v1/public/warm)
assert_eq 200 "$s" "a GET through nginx answers 200"
get /api/v1/public/warm >/dev/null
assert_eq HIT "$(hdr X-Cache)" "the second GET is a HIT"

# A baseline: the load itself gives no failures.
phase_load base
sleep 2.5
stop_load
report base "no fault"
assert_eq 0 "$T_FAILED" "(base) no fault: no failed request"
[ "$T_HITS" -gt 0 ] || fail "(base) the load makes no HITs"

# wait_hits SECONDS WHAT SLUG: through nginx, a fresh URI is a MISS and
# then a HIT, each of 8 workers included (8 HITs in a row).
wait_hits() {
    wait_caching "$1" "$2" "/api/v1/public/resume/$3-" get_header
}

# --- (a) Redis killed and restarted under load ----------------------------------------------
port=$REDIS_PORT
phase_load a
stop_redis KILL
sleep 1.5
start_redis "$port"
sleep 1.5
stop_load
report a "Redis killed and restarted"
assert_eq 0 "$T_FAILED" "(a) Redis killed and restarted: no failed request"
wait_hits 15 "(a) Redis back" a
assert_eq "$PID0" "$BOCACHE_PID" "(a) the same bocache process went on"
alive "$BOCACHE_PID" || fail "(a) bocache died"

# --- (b) Redis blocked beyond redis.timeout_ms -------------------------------------------------
phase_load b
for _ in 1 2; do
    rcli DEBUG SLEEP 1 >/dev/null 2>&1 || fail "(b) DEBUG SLEEP refused"
done
sleep 0.5
stop_load
report b "Redis blocked 2 x 1 s"
assert_eq 0 "$T_FAILED" "(b) Redis blocked: no failed request"
# timeout + backend time (a few ms) + slack for curl, nginx and a loaded
# machine; far below the 1 s the server is blocked.
load_lines b | awk -v l=$((REDIS_TIMEOUT_MS + 500)) '$6 * 1000 > l {
    printf "#   slow: %d ms %s %s %s\n", $6 * 1000, $2, $5, $7 }' | head -n 5
assert_le $((REDIS_TIMEOUT_MS + 500)) "$T_MAX" \
    "(b) Redis blocked: the slowest request (ms) within redis.timeout_ms + slack"
wait_hits 15 "(b) Redis awake" b

# --- (c) the pub/sub connection killed ------------------------------------------------------------
CHANNEL=bocache:invalidate
# After (a) and (b) the listener subscribes again in its own time.
wait_subscribed "$CHANNEL" 1 || true
assert_eq 1 "$(subscribers "$CHANNEL")" "(c) bocache is subscribed to bocache:invalidate"
phase_load c
U=/api/v1/public/c/u
to_memory "$U" get_header || fail "(c) $U never came from the memory tier ($(hdr Cache-Status))"
ok "(c) $U is served from the memory tier"
# Remove it from Redis behind bocache's back: only the memory tier has it.
for k in $(redis_keys "bocache:*:$U"); do rcli UNLINK "$k" >/dev/null; done
get "$U" >/dev/null
assert_match 'detail=memory' "$(hdr Cache-Status)" \
    "(c) removed from Redis silently: still a memory HIT (precondition)"
killed=$(rcli CLIENT KILL TYPE pubsub)
[ "${killed:-0}" -ge 1 ] || fail "(c) CLIENT KILL TYPE pubsub killed nothing"
ok "(c) pub/sub connection killed ($killed)"
wait_subscribed "$CHANNEL" 1 || fail "(c) bocache did not subscribe again within 10 s"
ok "(c) bocache subscribed again (PUBSUB NUMSUB = 1)"
s=$(get "$U")
assert_eq 200 "$s" "(c) $U answers after the kill"
assert_eq MISS "$(hdr X-Cache)" \
    "(c) after resubscribing, the memory tier was emptied ($(hdr Cache-Status))"
# A message published after the resubscription is applied.
V=/api/v1/public/c/v
to_memory "$V" get_header || fail "(c) $V never came from the memory tier"
publish_when_heard "$CHANNEL" 1 '{"id":"faults-c-1","pattern":"*/api/v1/public/c/v"}'
wait_until 3 eval "get '$V' >/dev/null; [ \"\$(hdr X-Cache)\" = MISS ]" ||
    fail "(c) an invalidation published after resubscribing was not applied ($(hdr Cache-Status))"
ok "(c) an invalidation published after resubscribing is applied (MISS)"
# Twice more, each as soon as bocache has subscribed again: still
# subscribed once, messages still applied.
for k in 2 3; do
    killed=$(rcli CLIENT KILL TYPE pubsub)
    [ "${killed:-0}" -ge 1 ] || fail "(c) kill $k: CLIENT KILL TYPE pubsub killed nothing"
    wait_subscribed "$CHANNEL" 1 || fail "(c) not subscribed within 10 s after kill $k"
done
to_memory "$V" get_header || fail "(c) memory tier not used again after repeated kills"
publish_when_heard "$CHANNEL" 1 '*/api/v1/public/c/v'
wait_until 3 eval "get '$V' >/dev/null; [ \"\$(hdr X-Cache)\" = MISS ]" ||
    fail "(c) a bare PUBLISH after repeated kills was not applied"
ok "(c) after 3 kills: one subscription, later messages applied"
stop_load
report c "pub/sub connection killed x3"
assert_eq 0 "$T_FAILED" "(c) pub/sub killed: no failed request"

# --- (d) the backend killed and restarted under load --------------------------------------------
phase_load d
down_ms=$(now_ms)
stop_backend KILL
sleep 1.5
start_backend -n 64
up_ms=$(now_ms)
sleep 2
stop_load
report d "backend killed for 1.5 s"
read -r _ during _ _ _ <<<"$(tally d "$down_ms")"
read -r after_n after_f _ _ _ <<<"$(tally d $((up_ms + 300)))"
echo "# (d) failed requests: $T_FAILED in all ($during from the kill on), $after_f of $after_n from 300 ms after the restart"
all502=$(load_lines d | awk '$2 != 200 && $2 != 502 { n++ } END { print n + 0 }')
assert_eq 0 "$all502" "(d) every failed request got a 502 (no hang, no cut)"
before_down=$(load_lines d | awk -v t="$down_ms" '$1 / 1000 < t && $2 != 200 { n++ } END { print n + 0 }')
assert_eq 0 "$before_down" "(d) no failure before the kill"
assert_eq 0 "$after_f" "(d) no failure from 300 ms after the restart ($after_n requests)"

# --- (e) the backend answers garbage, a cut stream or nothing -------------------------------------
# badloop FILE L: until stop_load, one bad request after another, two
# rounds over each URI; lines: KIND CODE CURL_RC BODY_BYTES OWN, OWN 1 when
# a body's first line is test_backend's line for this very request (or
# there is no such line), 0 when it belongs to another request.
badloop() {
    local i=0 kind q code rc u own line
    while ! load_stopped; do
        i=$((i + 1))
        case $((i % 3)) in
        0) kind=garbage q='garbage=1' ;;
        1) kind=drop q='drop=1&size=3000' ;;
        2) kind=nohead q='nohead=1' ;;
        esac
        rc=0
        u=/api/v1/sports/ebad/$kind-$2-$((i / 6))?$q
        code=$(curl -s --max-time 10 -o "$WORK/bad.$2" -H "X-Api-Key: bad-$2" \
            -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT$u") || rc=$?
        own=1
        line=
        IFS= read -r line <"$WORK/bad.$2" || true
        case $line in
        call=*" method=GET uri=$u key=bad-$2 partner=- origin=-") ;;
        call=*) own=0 ;;
        esac
        echo "$kind ${code:-000} $rc $(wc -c <"$WORK/bad.$2" 2>/dev/null || echo 0) $own"
    done >"$1"
}
phase_load e
side_loops 2 badloop
sleep 3
stop_load
stop_side
report e "backend garbage / cut / no head"
assert_eq 0 "$T_FAILED" "(e) the normal requests alongside: no failure"
cat "$WORK"/badloop.* | awk '
    { n[$1]++ }
    $2 == 502 { e[$1]++ }
    $2 == 200 && $3 != 0 { cut[$1]++ }
    $2 == 200 && $3 == 0 { whole[$1]++ }
    END { for (k in n) printf "# (e) %s: %d requests, %d 502, %d cut, %d complete 200\n",
          k, n[k], e[k], cut[k], whole[k] }'
for kind in garbage nohead; do
    n=$(cat "$WORK"/badloop.* | awk -v k=$kind '$1 == k && $2 != 502 { n++ } END { print n + 0 }')
    assert_eq 0 "$n" "(e) backend $kind: every answer is a 502"
done
n=$(cat "$WORK"/badloop.* | awk '$5 != 1 { n++ } END { print n + 0 }')
assert_eq 0 "$n" "(e) bad answers: no body of another request"
n=$(cat "$WORK"/badloop.* | awk '$1 == "drop" && !($2 == 502 || $3 != 0) { n++ } END { print n + 0 }')
if [ "$n" -gt 0 ]; then
    # nginx (1.22 at least) ends the HTTP answer normally when a FastCGI
    # stream closes without END_REQUEST, so the client cannot tell. What
    # bocache owes nginx is the cut itself: check it on the FastCGI side.
    echo "# (e) nginx passed $n cut streams on as complete answers (an nginx limitation); checking bocache's FastCGI stream"
    rc=0
    "$FCGI_GET" -H 'X-Api-Key: bad-direct' "unix:$BOCACHE_SOCK" \
        '/api/v1/sports/ebad/drop-direct?drop=1&size=3000' >"$WORK/dd" 2>"$WORK/dd.err" || rc=$?
    if [ "$rc" -ne 0 ] && grep -q 'END_REQUEST' "$WORK/dd.err"; then
        ok "(e) backend cut mid-answer: bocache cuts the FastCGI stream (no END_REQUEST)"
    elif [ "$(status "$WORK/dd")" = 502 ]; then
        ok "(e) backend cut mid-answer: bocache answers 502"
    else
        fail "(e) backend cut mid-answer: bocache ended the FastCGI stream as complete ($(status "$WORK/dd"))"
    fi
else
    ok "(e) backend cut mid-answer: a 502 or a cut stream, never a complete answer"
fi
assert_eq "" "$(redis_keys 'bocache:*:/api/v1/sports/ebad/*')" "(e) nothing stored for bad answers"
n=$(cat "$WORK"/badloop.* | wc -l)
[ "$n" -ge 6 ] || fail "(e) only $n bad requests"

# --- (f) clients going away mid-answer under load --------------------------------------------------
# 800 kB dripped in 64 kB pieces every 100 ms; the clients give up at 300 ms.
DRIP='/api/v1/public/f/drip?size=800000&drip_ms=100'
abortloop() {
    local n=0
    while ! load_stopped; do
        n=$((n + 1))
        curl -s --max-time 0.3 -o /dev/null "http://127.0.0.1:$HTTP_PORT$DRIP" || true
    done
    echo "$n" >"$1"
}
phase_load f
side_loops 6 abortloop
sleep 3
stop_load
stop_side
aborted=$(cat "$WORK"/abortloop.* | awk '{ n += $1 } END { print n + 0 }')
report f "$aborted clients gone mid-answer"
assert_eq 0 "$T_FAILED" "(f) clients going away: the other clients see no failure"
assert_le 3000 "$T_MAX" "(f) clients going away: the slowest other request (ms)"
sleep 1.5 # the dripping answers end within 1.3 s
stored=$(redis_keys 'bocache:*:/api/v1/public/f/drip*' | wc -l)
s=$(get "$DRIP")
first=$(head -n 1 "$WORK/body" | wc -c)
echo "# (f) drip entries in Redis after the aborts: $stored; then $(hdr X-Cache) with $(wc -c <"$WORK/body") bytes"
assert_eq 200 "$s" "(f) after the aborts the dripping URI answers 200"
assert_eq $((first + 800000)) "$(wc -c <"$WORK/body")" \
    "(f) after the aborts the answer is whole ($(hdr X-Cache)): nothing partial stored"

# --- (g) SIGHUP under load --------------------------------------------------------------------------
reloads0=$(reloads)
phase_load g
# Each SIGHUP is sent once the one before has been handled, and 0.4 s
# after it.
reload_times 5 0.4 "(g)"
sleep 0.5
stop_load
# Each SIGHUP may log a line or two: five of them are allowed on top.
LOG_MAX=$((LOG_MAX + 10))
report g "SIGHUP x5"
assert_eq 0 "$T_FAILED" "(g) SIGHUP x5 under load: no failed request"
reloads=$(($(reloads) - reloads0))
assert_eq 5 "$reloads" "(g) five reloads logged"
alive "$BOCACHE_PID" || fail "bocache died"
assert_eq "$PID0" "$BOCACHE_PID" "the same bocache process served every phase"
alive "$NGINX_PID" || fail "nginx died"
stop_pid "$NGINX_PID" QUIT
[ -z "$LATE_FAIL" ] || fail "too many log lines for the faults$LATE_FAIL"
