#!/bin/bash
# it_security.sh: the promises of SECURITY.md, from the outside.
#  * an API key never appears in Redis (keys and values), in the log (at
#    log_level debug), in bocache-ctl output or in bocache's own answers;
#  * a backend head with a bare CR, a NUL or an obsolete folding in a
#    header gives 502 and is never stored or replayed (tests/evil_backend);
#  * oversize request parameters are forwarded uncached, bocache goes on;
#  * connections that send nothing hold up one worker each, nothing more;
#  * status_path answers allowed REMOTE_ADDRs only (403 otherwise);
#  * redis.password: right password caches, wrong one fails open and logs;
#  * the -l unix: socket is not world-writable; the child's socket
#    directory is 0700.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

CTL=$top_builddir/bocache-ctl
EVIL=$top_builddir/tests/evil_backend
[ -x "$CTL" ] || skip "$CTL is not built"
[ -x "$EVIL" ] || skip "$EVIL is not built (make check builds it)"

SECRET=sk-live-$RANDOM$RANDOM-SeCrEt-$$
start_redis
start_backend
write_config 'log_level="debug"' 'status_path="/bocache/status"' \
    'status_allow=["127.0.0.1"]' backend.timeout_ms=2000
start_bocache

# --- the API key stays secret ---------------------------------------------------------
K=(-H "X-Api-Key: $SECRET")
req "${K[@]}" '/api/v1/sports/sec?tags=t1,t2' >"$WORK/a1"
req "${K[@]}" '/api/v1/sports/sec?tags=t1,t2' >"$WORK/a2"
assert_eq MISS "$(xcache "$WORK/a1")" "a GET with an API key: MISS"
assert_eq HIT "$(xcache "$WORK/a2")" "the same GET: HIT"
req "${K[@]}" -X HEAD '/api/v1/sports/sec?tags=t1,t2' >"$WORK/a3"
req "${K[@]}" -H 'If-None-Match: "x"' '/api/v1/sports/sec?tags=t1,t2&etag=%22x%22' >"$WORK/a4"
req "${K[@]}" -H 'If-None-Match: "x"' '/api/v1/sports/sec?tags=t1,t2&etag=%22x%22' >"$WORK/a5"
req "${K[@]}" '/api/v1/sports/sec2?cookie=1' >"$WORK/a6"
req "${K[@]}" '/api/v1/sports/sec3?status=500' >"$WORK/a7"
req "${K[@]}" -X POST -d 'x=1' '/api/v1/sports/sec' >"$WORK/a8"
req "${K[@]}" "/api/v1/sports/long?q=$(head -c 5000 /dev/zero | tr '\0' q)" >"$WORK/a9"
# The key in the query string of a non-endpoint path and in a bad header.
req "${K[@]}" '/api/v1/sports/sec4?garbage=1' >"$WORK/a10"
# dump_redis: every key into $WORK/keys, every value by its type into
# $WORK/values (appended).
dump_redis() {
    local k
    rcli --scan >>"$WORK/keys"
    rcli --scan | while IFS= read -r k; do
        case $(rcli TYPE "$k") in
        string) rcli GET "$k" ;;
        hash) rcli HGETALL "$k" ;;
        set) rcli SMEMBERS "$k" ;;
        zset) rcli ZRANGE "$k" 0 -1 WITHSCORES ;;
        list) rcli LRANGE "$k" 0 -1 ;;
        esac
    done >>"$WORK/values"
}
sleep 1.2 # the counters reach Redis every second
dump_redis
"$CTL" -c "$CONFIG" invalidate --tag t1 >"$WORK/ctl.inv" 2>&1 ||
    fail "bocache-ctl invalidate --tag failed: $(cat "$WORK/ctl.inv")"
req "${K[@]}" '/api/v1/sports/sec?tags=t1,t2' >"$WORK/a11"
req "${K[@]}" '/api/v1/sports/sec?tags=t1,t2' >"$WORK/a12"
# With the backend down: the 502 with the key in the request.
stop_backend
req "${K[@]}" '/api/v1/sports/down' >"$WORK/a13"
assert_eq 502 "$(status "$WORK/a13")" "backend down: 502"
start_backend
sleep 1.2 # the counters reach Redis every second

# Redis, before and after the invalidations: every key, every value.
dump_redis
[ -s "$WORK/keys" ] || fail "Redis holds no keys"
echo "# Redis: $(sort -u "$WORK/keys" | wc -l) keys seen, $(wc -c <"$WORK/values") bytes of values"
assert_eq 0 "$(grep -c -- "$SECRET" "$WORK/keys" || true)" "the API key is in no Redis key"
# The stored body echoes key=... from test_backend: the application's own
# output is stored as it is. Everything else must not hold the key.
grep -a -- "$SECRET" "$WORK/values" | grep -av "key=$SECRET partner=" >"$WORK/leak" || true
assert_eq 0 "$(wc -l <"$WORK/leak")" "the API key is in no Redis value (except the backend's own body)"
hash=$(grep -o 'k=[0-9a-f]*' "$WORK/keys" | head -n 1)
assert_match '^k=[0-9a-f]{32}$' "$hash" "entries are keyed by k=<32 hex>"

assert_eq 0 "$(grep -c -- "$SECRET" "$BOCACHE_LOG" || true)" \
    "the API key is not in the log ($(wc -l <"$BOCACHE_LOG") lines at debug)"
grep -q 'debug' "$BOCACHE_LOG" || echo "# note: no debug line in the log"

for f in "$WORK"/a[0-9]*; do
    # bocache's own part of the answer: the head, and the whole of an
    # answer the backend did not make (502).
    if [ "$(status "$f")" = 502 ]; then cat "$f"; else headers "$f"; fi
done >"$WORK/answers"
assert_eq 0 "$(grep -c -- "$SECRET" "$WORK/answers" || true)" \
    "the API key is in no response head and no error answer"

"$CTL" -c "$CONFIG" stats >"$WORK/ctl.out" 2>&1 || fail "bocache-ctl stats failed"
"$CTL" -c "$CONFIG" stats --json >>"$WORK/ctl.out" 2>&1 || fail "bocache-ctl stats --json failed"
"$CTL" -c "$CONFIG" key "${K[@]}" /api/v1/sports/sec >>"$WORK/ctl.out" 2>&1 ||
    fail "bocache-ctl key failed"
grep -q 'k=[0-9a-f]\{32\}' "$WORK/ctl.out" || fail "bocache-ctl key printed no hashed identity"
for k in $(redis_keys 'bocache:api_key:*'); do
    "$CTL" -c "$CONFIG" show "$k" >>"$WORK/ctl.out" 2>&1 || true
done
"$CTL" -c "$CONFIG" show "bocache:api_key:$SECRET:/x" >>"$WORK/ctl.out" 2>&1 || true
grep -c '' "$WORK/ctl.out" >/dev/null
# `show` of a made-up key that contains the key echoes what it was given:
# that is the operator's own input, so only look at the other output.
grep -v "bocache:api_key:$SECRET:/x" "$WORK/ctl.out" >"$WORK/ctl.checked" || true
assert_eq 0 "$(grep -c -- "$SECRET" "$WORK/ctl.checked" || true)" \
    "the API key is not in bocache-ctl stats / key / show output"

s=$("$FCGI_GET" -p REMOTE_ADDR=127.0.0.1 "unix:$BOCACHE_SOCK" /bocache/status)
assert_eq 0 "$(printf '%s' "$s" | grep -c -- "$SECRET" || true)" "the API key is not in the status page"

# --- status_path: allowed and refused REMOTE_ADDR -------------------------------------
"$FCGI_GET" -p REMOTE_ADDR=127.0.0.1 "unix:$BOCACHE_SOCK" /bocache/status >"$WORK/st1"
assert_eq 200 "$(status "$WORK/st1")" "status_path from 127.0.0.1: 200"
assert_match '^bocache_[a-z_]+(_total)? ' "$(body "$WORK/st1" | grep '^bocache_' | head -n 1)" \
    "status_path: Prometheus text"
"$FCGI_GET" -p REMOTE_ADDR=10.9.9.9 "unix:$BOCACHE_SOCK" /bocache/status >"$WORK/st2"
assert_eq 403 "$(status "$WORK/st2")" "status_path from 10.9.9.9: 403"
assert_eq 0 "$(body "$WORK/st2" | grep -c '^bocache_' || true)" "the 403 carries no counters"
before=$(backend_count)
"$FCGI_GET" -p REMOTE_ADDR=10.9.9.9 "unix:$BOCACHE_SOCK" '/bocache/status?x=1' >"$WORK/st3"
assert_eq 403 "$(status "$WORK/st3")" "status_path with a query from 10.9.9.9: 403"
assert_eq "$before" "$(backend_count)" "the refused status request is not forwarded"

# --- a backend head with CR, NUL or folding ----------------------------------------------
EVIL_SOCK=$WORK/evil.sock
launch_backend evil_backend "$EVIL_SOCK" "$WORK/evil.log" \
    "$EVIL" -l "unix:$EVIL_SOCK"
EVIL_PID=$LAUNCHED_PID
sed "s|unix:$BACKEND_SOCK|unix:$EVIL_SOCK|" "$CONFIG" >"$WORK/evil.conf"
EBC_SOCK=$WORK/evil-bocache.sock
launch_gateway "bocache in front of evil_backend" "$EBC_SOCK" \
    "$WORK/evil-bocache.log" "$BOCACHE" -c "$WORK/evil.conf" -l "unix:$EBC_SOCK"
EBC_PID=$LAUNCHED_PID
evil_count() {
    "$FCGI_GET" -b "unix:$EVIL_SOCK" /__count
}
"$FCGI_GET" "unix:$EBC_SOCK" /api/v1/public/evil/plain >"$WORK/e0"
wait_until 3 eval "\"$FCGI_GET\" unix:$EBC_SOCK /api/v1/public/evil/plain >\"$WORK/e0b\"; [ \"\$(xcache \"$WORK/e0b\")\" = HIT ]" ||
    fail "evil_backend's plain answer is not cached (control): $(header Cache-Status "$WORK/e0b"); $(tail -n 3 "$WORK/evil-bocache.log")"
ok "evil_backend's plain answer is cached (control)"
for mode in cr nul fold lf; do
    before=$(evil_count)
    for i in 1 2; do
        "$FCGI_GET" "unix:$EBC_SOCK" "/api/v1/public/evil/$mode?mode=$mode" \
            >"$WORK/e.$mode.$i" || fail "backend head with $mode: no complete answer"
    done
    assert_eq 502 "$(status "$WORK/e.$mode.1")" "backend head with $mode: 502"
    assert_eq 502 "$(status "$WORK/e.$mode.2")" "backend head with $mode, again: 502 (not replayed)"
    assert_eq 0 "$(grep -aci 'set-cookie\|X-Evil' "$WORK/e.$mode.1" || true)" \
        "backend head with $mode: nothing of it reaches the client"
    assert_eq $((before + 2)) "$(evil_count)" "backend head with $mode: asked again each time"
    assert_eq "" "$(redis_keys "bocache:*:/api/v1/public/evil/$mode*")" \
        "backend head with $mode: nothing stored"
done
# "X-Evil: a\r\nSet-Cookie: x=1" is two well-formed lines on the wire, the
# second a Set-Cookie: passed through, never stored.
for i in 1 2; do
    "$FCGI_GET" "unix:$EBC_SOCK" '/api/v1/public/evil/crlf?mode=crlf' >"$WORK/e.crlf.$i"
done
assert_eq 200 "$(status "$WORK/e.crlf.1")" "backend head with CRLF X-Evil + Set-Cookie: 200"
assert_ne HIT "$(xcache "$WORK/e.crlf.2")" "backend head with Set-Cookie: not replayed"
assert_eq "" "$(redis_keys 'bocache:*:/api/v1/public/evil/crlf*')" \
    "backend head with Set-Cookie: nothing stored"
alive "$EBC_PID" || fail "bocache in front of evil_backend died"
stop_pid "$EBC_PID"
stop_pid "$EVIL_PID"

# --- oversize request parameters -------------------------------------------------------------
big=$(head -c 102400 /dev/zero | tr '\0' a)
before=$(backend_count)
req -H "X-Big: $big" /api/v1/public/big-header >"$WORK/o1"
assert_eq 200 "$(status "$WORK/o1")" "a 100 KiB request header: 200"
assert_match '^call=' "$(body "$WORK/o1" | head -n 1)" "a 100 KiB request header: the backend's answer"
q=$(head -c 10240 /dev/zero | tr '\0' q)
for i in 1 2; do
    req "/api/v1/public/big-query?q=$q" >"$WORK/o2.$i"
done
assert_eq 200 "$(status "$WORK/o2.1")" "a 10 KiB query: 200"
assert_eq BYPASS "$(xcache "$WORK/o2.2")" "a 10 KiB query: forwarded uncached"
p=/api/v1/public/$(head -c 16384 /dev/zero | tr '\0' p)
for i in 1 2; do
    req "$p" >"$WORK/o3.$i"
done
assert_eq 200 "$(status "$WORK/o3.1")" "a 16 KiB path: 200"
assert_eq BYPASS "$(xcache "$WORK/o3.2")" "a 16 KiB path: forwarded uncached"
assert_eq $((before + 5)) "$(backend_count)" "oversize requests: each one reached the backend"
alive "$BOCACHE_PID" || fail "bocache died on oversize parameters"
req /api/v1/public/after-oversize >"$WORK/o4"
req /api/v1/public/after-oversize >"$WORK/o5"
assert_eq HIT "$(xcache "$WORK/o5")" "after oversize requests bocache still caches"

# --- connections that send nothing ------------------------------------------------------------
# Idle workers wait for new connections one at a time (a lock), but the
# lock covers only the wait: a connection that never sends its request
# holds up the one worker reading it, not the accepting of the rest.
command -v socat >/dev/null || fail "socat is needed (tools/deps.sh installs it)"
silent=()
for i in 1 2; do
    # -u: socat only reads from the connection, so it sends nothing.
    socat -u "UNIX-CONNECT:$BOCACHE_SOCK" /dev/null 2>/dev/null &
    silent+=("$!")
    track "$!"
done
sleep 0.3 # both connections are accepted and read from
# A request held up behind them would never be answered: each gets 3 s
# (req fails the test on an incomplete answer), far more than it needs
# even under sanitizers.
for i in $(seq 1 10); do
    req -t 3000 /api/v1/public/beside-silent >"$WORK/s.$i"
done
assert_eq "200 HIT" "$(status "$WORK/s.10") $(xcache "$WORK/s.10")" \
    "2 silent connections open (4 workers): 10 requests are each answered within 3 s"
for pid in "${silent[@]}"; do stop_pid "$pid"; done
# Their workers see the connections close and go back to waiting for new
# ones (the listening socket is non-blocking: none is pending for them).
for i in $(seq 1 8); do
    req -t 3000 "/api/v1/public/after-silent$i" >"$WORK/s2.$i"
done
assert_eq 200 "$(status "$WORK/s2.8")" "after the silent connections closed, every worker answers"
alive "$BOCACHE_PID" || fail "bocache died after silent connections"

# --- Redis with a password ------------------------------------------------------------------
PW=pw-$RANDOM$RANDOM-redis
WRONG=wrong-$RANDOM$RANDOM-pw
# A second Redis of the suite's transport (BC_REDIS), with a password.
auth_answers() {
    [ "$("$REDIS_CLI" "${LAUNCHED_CLI[@]}" ping 2>&1)" != '' ] &&
        "$REDIS_CLI" "${LAUNCHED_CLI[@]}" --no-auth-warning -a "$PW" ping \
            2>/dev/null | grep -q PONG
}
for _ in 1 2 3 4 5; do
    launch_redis redis-auth "$(free_port)" --requirepass "$PW"
    APID=$LAUNCHED_PID
    AADDR=$LAUNCHED_ADDR
    if wait_until 10 eval "alive $APID && auth_answers"; then
        break
    fi
    stop_pid "$APID" KILL
    APID=""
done
[ -n "$APID" ] || fail "redis-server --requirepass did not start"
ok "redis-server --requirepass at $AADDR"

# auth_bocache PASSWORD NAME: a bocache on that Redis, its socket in
# $WORK/NAME.sock and log in $WORK/NAME.log.
auth_bocache() {
    sed -e "s|\"$REDIS_ADDR\"|\"$AADDR\"|" \
        -e "s|^redis: {|redis: {\n  password = \"$1\";|" \
        -e 's|log_level = "debug"|log_level = "info"|' "$CONFIG" >"$WORK/$2.conf"
    grep -qF "\"$AADDR\"" "$WORK/$2.conf" || fail "could not write $2.conf"
    launch_gateway "bocache with redis.password ($2)" "$WORK/$2.sock" \
        "$WORK/$2.log" "$BOCACHE" -c "$WORK/$2.conf" -l "unix:$WORK/$2.sock"
    AB_PID=$LAUNCHED_PID
}
auth_bocache "$PW" goodpw
"$FCGI_GET" "unix:$WORK/goodpw.sock" /api/v1/public/auth >"$WORK/p1"
wait_until 3 eval "\"$FCGI_GET\" \"unix:$WORK/goodpw.sock\" /api/v1/public/auth >\"$WORK/p2\"; [ \"\$(xcache \"$WORK/p2\")\" = HIT ]" ||
    fail "right redis.password: no HIT ($(xcache "$WORK/p2"))"
ok "right redis.password: MISS then HIT"
stop_pid "$AB_PID"
auth_bocache "$WRONG" badpw
for i in 1 2 3; do
    "$FCGI_GET" "unix:$WORK/badpw.sock" /api/v1/public/auth-bad >"$WORK/q$i" ||
        fail "wrong redis.password: no answer"
done
assert_eq 200 "$(status "$WORK/q3")" "wrong redis.password: the request answers 200"
assert_eq BYPASS "$(xcache "$WORK/q3")" "wrong redis.password: fails open (BYPASS)"
wait_until 3 grep -qi 'auth' "$WORK/badpw.log" ||
    fail "wrong redis.password: no AUTH error in the log: $(tail -n 3 "$WORK/badpw.log")"
ok "wrong redis.password: logged ($(grep -i -m1 'auth' "$WORK/badpw.log" | cut -c1-160))"
assert_eq 0 "$(cat "$WORK/goodpw.log" "$WORK/badpw.log" | grep -c -- "$PW\|$WRONG" || true)" \
    "the Redis password is not in the log"
stop_pid "$AB_PID"

# --- socket modes ----------------------------------------------------------------------------
mode=$(stat -c %a "$BOCACHE_SOCK")
echo "# umask $(umask); bocache -l unix: socket mode $mode"
[ $((8#$mode & 8#002)) -eq 0 ] || fail "the -l unix: socket is world-writable ($mode)"
ok "the -l unix: socket is not world-writable ($mode)"
# The child backend's private directory and socket.
export TMPDIR=$WORK
write_config backend.address=@unset
CSOCK=$WORK/child-bocache.sock
launch_gateway "bocache -- test_backend" "$CSOCK" "$WORK/child.log" \
    "$BOCACHE" -c "$CONFIG" -l "unix:$CSOCK" -- "$TEST_BACKEND"
CPID=$LAUNCHED_PID
dir=$(find "$WORK" -maxdepth 1 -type d -name 'bocache.*' | head -n 1)
[ -n "$dir" ] || fail "no private socket directory bocache.* under TMPDIR=$WORK"
assert_eq 700 "$(stat -c %a "$dir")" "the child backend's socket directory is 0700"
for s in "$dir"/*; do
    [ -S "$s" ] || continue
    assert_eq 600 "$(stat -c %a "$s")" "the child backend's socket is 0600"
done
"$FCGI_GET" "unix:$CSOCK" /api/v1/public/child >"$WORK/c1"
assert_eq 200 "$(status "$WORK/c1")" "bocache -- test_backend answers"
stop_pid "$CPID"
alive "$BOCACHE_PID" || fail "bocache died"
