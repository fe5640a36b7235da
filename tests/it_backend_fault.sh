#!/bin/bash
# it_backend_fault.sh: a backend that is down, slow, killed or talking
# garbage gives 502/504 with a short body and stores nothing; a client that
# goes away mid-answer leaves bocache serving.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

start_redis
write_config backend.timeout_ms=500 backend.connect_timeout_ms=500
# No backend yet: bocache must start anyway.
start_bocache

# short_error FILE CODE WHAT
short_error() {
    assert_eq "$2" "$(status "$1")" "$3: the client gets $2"
    assert_le 512 "$(body "$1" | wc -c)" "$3: the body is short"
    assert_ne HIT "$(xcache "$1")" "$3: not a HIT"
}

# --- the backend is not running ----------------------------------------------
req /api/v1/public/bf/down >"$WORK/down" || fail "no answer with the backend down"
short_error "$WORK/down" 502 "backend not running"
req /elsewhere >"$WORK/down2" || fail "no answer with the backend down"
short_error "$WORK/down2" 502 "backend not running, non-endpoint path"
assert_eq "" "$(redis_keys 'bocache:*:/api/v1/public/bf/down*')" \
    "backend not running: nothing stored"

start_backend
req /api/v1/public/bf/up >"$WORK/up"
assert_eq 200 "$(status "$WORK/up")" "the backend started: requests answer 200"

# --- the backend is too slow ----------------------------------------------------
t0=$(now_ms)
req -t 10000 '/api/v1/public/bf/slow?sleep_ms=1500' >"$WORK/slow"
t=$(($(now_ms) - t0))
short_error "$WORK/slow" 504 "backend slower than timeout_ms (500)"
assert_le 1400 "$t" "backend timeout: the 504 came after $t ms"
req /api/v1/public/bf/after-timeout >"$WORK/at"
assert_eq 200 "$(status "$WORK/at")" "after a timeout the next request answers 200"
assert_eq "" "$(redis_keys 'bocache:*:/api/v1/public/bf/slow*')" \
    "backend timeout: nothing stored"

# --- the backend is killed and restarted -----------------------------------------
# Warm every worker's kept-alive connection, then replace the backend.
for i in 1 2 3 4 5 6 7 8; do
    req "/elsewhere/warm-$i" >/dev/null
done
stop_backend KILL
ok "backend killed"
req /api/v1/public/bf/killed >"$WORK/killed" || fail "no answer with the backend killed"
short_error "$WORK/killed" 502 "backend killed"
start_backend
for i in 1 2 3 4 5 6 7 8; do
    req "/elsewhere/again-$i" >"$WORK/again" ||
        fail "request $i after the backend restart failed"
    [ "$(status "$WORK/again")" = 200 ] ||
        fail "request $i after the backend restart: status $(status "$WORK/again")"
done
ok "backend restarted: 8 requests in a row answer 200 (connections renewed)"
# And once more without a failed request in between.
stop_backend KILL
start_backend
for i in 1 2 3 4 5 6 7 8; do
    req "/elsewhere/swap-$i" >"$WORK/swap"
    [ "$(status "$WORK/swap")" = 200 ] ||
        fail "request $i after a silent backend swap: status $(status "$WORK/swap")"
done
ok "backend swapped under kept-alive connections: 8 requests answer 200"

# --- the backend answers badly -----------------------------------------------------
for case in 'garbage?garbage=1' 'nohead?nohead=1'; do
    name=${case%%\?*}
    before=$(backend_count)
    req "/api/v1/public/bf/$case" >"$WORK/$name.1" || fail "$name: no answer"
    req "/api/v1/public/bf/$case" >"$WORK/$name.2" || fail "$name: no answer"
    short_error "$WORK/$name.1" 502 "backend $name"
    assert_eq $((before + 2)) "$(backend_count)" \
        "backend $name: the backend is asked again"
    assert_eq "" "$(redis_keys "bocache:*:/api/v1/public/bf/$name*")" \
        "backend $name: nothing stored"
done

# The backend dies after the head and some body went out. A 502 is no longer
# possible once the head is sent; the web server must then see the stream
# cut (no END_REQUEST), never a short answer that looks complete.
before=$(backend_count)
for i in 1 2; do
    rc=0
    "$FCGI_GET" "unix:$BOCACHE_SOCK" '/api/v1/public/bf/drop?drop=1&size=100' \
        >"$WORK/drop.$i" 2>"$WORK/drop.err" || rc=$?
    if [ "$rc" -ne 0 ]; then
        ok "backend dies mid-answer: the client's stream is cut ($(cat "$WORK/drop.err"))"
    elif [ "$(status "$WORK/drop.$i")" = 502 ]; then
        ok "backend dies mid-answer: the client gets 502"
    else
        fail "backend dies mid-answer: the client got a complete-looking $(status "$WORK/drop.$i") answer"
    fi
done
assert_eq $((before + 2)) "$(backend_count)" \
    "backend dies mid-answer: the backend is asked again"
assert_eq "" "$(redis_keys 'bocache:*:/api/v1/public/bf/drop*')" \
    "backend dies mid-answer: nothing stored"
req /api/v1/public/bf/after-drop >"$WORK/ad"
assert_eq 200 "$(status "$WORK/ad")" "after a cut stream the next request answers 200"

# --- a client goes away mid-answer ----------------------------------------------------
# 800 kB dripped in 64 kB pieces every 100 ms: the clients close after 150 ms.
A='/api/v1/public/bf/abort?size=800000&drip_ms=100'
pids=""
for i in 1 2 3 4 5 6; do
    req -a 150 -t 10000 "$A" >"$WORK/abort$i" 2>/dev/null &
    pids="$pids $!"
    track "$!"
done
for p in $pids; do
    wait "$p" || fail "an aborting client failed"
    untrack "$p"
done
ok "6 clients went away mid-answer"
t0=$(now_ms)
req -t 10000 /api/v1/public/bf/next >"$WORK/next" ||
    fail "no answer after clients went away"
assert_eq 200 "$(status "$WORK/next")" "after aborted clients, the next request answers 200"
echo "# it took $(($(now_ms) - t0)) ms"
# The dripping answers end within about 1.3 s: then look for partial entries.
sleep 1.5
req -t 10000 "$A" >"$WORK/full"
first=$(body "$WORK/full" | head -n 1 | wc -c)
assert_eq $((first + 800000)) "$(body "$WORK/full" | wc -c)" \
    "after aborts, the answer for the same URI is whole ($(xcache "$WORK/full"))"
alive "$BOCACHE_PID" || fail "bocache died"
ok "bocache is still running"
