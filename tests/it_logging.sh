#!/bin/bash
# it_logging.sh: `log` and `log_level`. To stderr: each level lets through
# what it should and no more; at debug, an API key sent in X-Api-Key or in the
# query string is never in the log, and never in a Redis key. To syslog:
# bocache sends its lines through syslog(3) to /dev/log, tagged bocache[PID],
# with the level as the priority, and writes nothing to stderr.
#
# glibc's syslog always writes to /dev/log, and CI has no syslog daemon: as
# root, a private mount namespace gets a tmpfs /dev (the usual device nodes
# bound back in) whose /dev/log is a datagram socket that socat (or
# python3) reads, and bocache runs in that namespace (nsenter). Otherwise
# bocache runs under strace, which shows it sending to, or at least trying,
# /dev/log.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

[ -x "$BOCACHE" ] || fail "$BOCACHE is not built"

API_KEY=sekret-XYZ
KEY_HASH=$(api_key_hash "$API_KEY")

# A query parameter is part of the cache key (the contract: QUERY is the
# query string less the endpoint's ignore_params); only the X-Api-Key
# header is the API key that bocache hashes. An operator keeps a key sent as
# ?api_key= out of Redis with ignore_params, as these endpoints do.
NOKEY=(
    'endpoint={ path = "/api/v1/sports/"; match = "prefix"; key_type = "api_key"; ignore_params = ["api_key"]; }'
    'endpoint={ path = "/api/v1/partner/"; match = "prefix"; key_type = "partner_id_and_origin"; ignore_params = ["api_key"]; }'
    'endpoint={ path = "/api/v1/public/"; match = "prefix"; key_type = "none"; ignore_params = ["api_key"]; }'
)

start_redis
start_backend

# lines LEVEL: the stderr log lines at LEVEL.
lines() {
    grep -c "bocache\[[0-9]*\] $1: " "$BOCACHE_LOG" || true
}

# traffic: requests that carry the API key in every place a client may put
# it, on cached, uncached and partner endpoints, a HIT, and a POST whose
# invalidation bocache logs at debug level.
traffic() {
    req -H "X-Api-Key: $API_KEY" /api/v1/sports/log >"$WORK/t1"
    assert_eq MISS "$(xcache "$WORK/t1")" "$1: an api_key GET: MISS"
    req -H "X-Api-Key: $API_KEY" /api/v1/sports/log >"$WORK/t2"
    assert_eq HIT "$(xcache "$WORK/t2")" "$1: again: HIT"
    req -H "X-Api-Key: $API_KEY" "/api/v1/sports/other?api_key=$API_KEY&x=1" \
        >/dev/null
    req "/api/v1/public/log?api_key=$API_KEY" >/dev/null
    req -H "X-Api-Key: $API_KEY" "/api/v1/uncached/log?api_key=$API_KEY" \
        >"$WORK/t3"
    assert_eq BYPASS "$(xcache "$WORK/t3")" "$1: an uncached path with the key: BYPASS"
    req -H "X-Api-Key: $API_KEY" -H "X-Partner-Id: 7" \
        "/api/v1/partner/log?api_key=$API_KEY" >/dev/null
    # A 2xx POST invalidates the path's entries: a debug line.
    req -X POST -H "X-Api-Key: $API_KEY" -d "api_key=$API_KEY" \
        "/api/v1/sports/log?api_key=$API_KEY" >"$WORK/t4"
    assert_eq 200 "$(status "$WORK/t4")" "$1: a POST with the key: 200"
    req -H "X-Api-Key: $API_KEY" /api/v1/sports/log >"$WORK/t5"
    assert_eq MISS "$(xcache "$WORK/t5")" "$1: after the POST: MISS"
}

# no_key_in_redis WHAT: no Redis key holds the API key (with NOKEY's
# ignore_params for the query string); the header key's hash is there.
no_key_in_redis() {
    local all
    all=$(rcli --scan --pattern '*')
    assert_eq "" "$(printf '%s\n' "$all" | grep -F "$API_KEY" || true)" \
        "$1: no Redis key contains the API key"
    printf '%s\n' "$all" | grep -qF "bocache:api_key:k=$KEY_HASH:/api/v1/sports/log" ||
        fail "$1: no entry keyed by the API key's hash k=$KEY_HASH"
    ok "$1: the entry is keyed by the key's SHA-256 prefix"
}

# --- log = "stderr" ----------------------------------------------------------------

# error: the info "started" line and every other info line are suppressed.
write_config 'log="stderr"' 'log_level="error"'
start_bocache
req /api/v1/public/level >/dev/null
req "/api/v1/public/level?api_key=$API_KEY" >/dev/null
stop_bocache
assert_eq 0 "$STOP_RC" "log_level error: exit 0 on SIGTERM"
assert_eq 0 "$(grep -c 'started' "$BOCACHE_LOG" || true)" \
    "log_level error: no 'started' line"
assert_eq "0 0 0" "$(lines info) $(lines debug) $(lines warn)" \
    "log_level error: no info, debug or warn lines"
# An error does get through at level error.
stop_backend
start_bocache
req /api/v1/uncached/down >"$WORK/down"
assert_eq 502 "$(status "$WORK/down")" "log_level error: a backend that is down: 502"
stop_bocache
[ "$(lines error)" -ge 1 ] || fail "log_level error: the backend error is not logged"
ok "log_level error: the backend error is logged ($(lines error) error lines)"
assert_eq 0 "$(lines info)" "log_level error: still no info line"
start_backend

# info: "started" and "stopped", no debug line.
: >"$BOCACHE_LOG"
write_config 'log="stderr"' 'log_level="info"'
start_bocache
traffic "log_level info"
stop_bocache
assert_eq 0 "$STOP_RC" "log_level info: exit 0 on SIGTERM"
grep -q "bocache\[$BOCACHE_PID\] info: bocache .* started: " "$BOCACHE_LOG" ||
    fail "log_level info: no 'started' line"
ok "log_level info: the 'started' line, tagged bocache[PID] info"
grep -q "bocache\[$BOCACHE_PID\] info: stopped" "$BOCACHE_LOG" ||
    fail "log_level info: no 'stopped' line"
ok "log_level info: the 'stopped' line"
assert_eq 0 "$(lines debug)" "log_level info: no debug line"
assert_eq "" "$(grep -F "$API_KEY" "$BOCACHE_LOG" || true)" \
    "log_level info: the API key is not in the log"

# debug: debug lines appear, still without the key.
rcli flushdb >/dev/null
: >"$BOCACHE_LOG"
write_config 'log="stderr"' 'log_level="debug"' "${NOKEY[@]}"
start_bocache
traffic "log_level debug"
debug_seen() {
    grep -q "bocache\[$BOCACHE_PID\] debug: /api/v1/sports/log: [0-9]* entries invalidated" \
        "$BOCACHE_LOG"
}
wait_until 3 debug_seen ||
    fail "log_level debug: no debug line for the POST's invalidation"
ok "log_level debug: debug lines are logged ($(lines debug))"
no_key_in_redis "log_level debug"
stop_bocache
assert_eq 0 "$STOP_RC" "log_level debug: exit 0 on SIGTERM"
assert_eq "" "$(grep -F "$API_KEY" "$BOCACHE_LOG" || true)" \
    "log_level debug: the API key (header, query string, body) is not in the log"
assert_eq "" "$(grep -F "sekret" "$BOCACHE_LOG" || true)" \
    "log_level debug: no part of it either"

# --- log = "syslog" ---------------------------------------------------------------------
: >"$BOCACHE_LOG"
rcli flushdb >/dev/null
write_config 'log="syslog"' 'log_level="debug"' "${NOKEY[@]}"

# syslog_listener: in a new mount namespace, /dev becomes a tmpfs with the
# usual nodes bound back in and /dev/log a datagram socket whose messages
# go to $WORK/syslog.out (messages() splits them, one a line). Sets LISTEN_PID; false if that
# cannot be done here.
syslog_listener() {
    local reader
    [ "$(id -u)" -eq 0 ] || return 1
    command -v unshare >/dev/null && command -v nsenter >/dev/null || return 1
    if command -v socat >/dev/null; then
        # The datagrams go back to back; each starts with <PRI>.
        # shellcheck disable=SC2016 # expanded by the namespace shell
        reader='exec socat -u UNIX-RECV:/dev/log,mode=0666 OPEN:"$1/syslog.out",append'
    elif command -v python3 >/dev/null; then
        # shellcheck disable=SC2016 # expanded by the namespace shell
        reader='exec python3 -c "
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(\"/dev/log\")
with open(sys.argv[1] + \"/syslog.out\", \"ab\", 0) as f:
    while True:
        f.write(s.recv(65536) + b\"\n\")
" "$1"'
    else
        return 1
    fi
    : >"$WORK/syslog.out"
    # shellcheck disable=SC2016 # expanded by that shell
    unshare -m -- /bin/bash -c '
        set -e
        mkdir "$1/olddev"
        mount --rbind /dev "$1/olddev"
        mount -t tmpfs -o mode=0755 bocache-test-dev /dev
        for n in null zero full random urandom tty; do
            [ -e "$1/olddev/$n" ] || continue
            touch "/dev/$n"
            mount --bind "$1/olddev/$n" "/dev/$n"
        done
        ln -s /proc/self/fd /dev/fd
        ln -s /proc/self/fd/0 /dev/stdin
        ln -s /proc/self/fd/1 /dev/stdout
        ln -s /proc/self/fd/2 /dev/stderr
        umount -l "$1/olddev"
        '"$reader" bash "$WORK" >>"$WORK/listener.log" 2>&1 8>&- &
    LISTEN_PID=$!
    track "$LISTEN_PID"
    # shellcheck disable=SC2016 # expanded by eval
    if ! wait_until 5 eval 'alive $LISTEN_PID && nsenter -t $LISTEN_PID -m -- test -S /dev/log'; then
        cat "$WORK/listener.log" >&8
        stop_pid "$LISTEN_PID" KILL
        return 1
    fi
}

# start_bocache_in NSPID: start_bocache, in the mount namespace of NSPID.
start_bocache_in() {
    launch_gateway bocache "$BOCACHE_SOCK" "$BOCACHE_LOG" \
        nsenter -t "$1" -m -- "$BOCACHE" -c "$CONFIG" -l "unix:$BOCACHE_SOCK"
    BOCACHE_PID=$LAUNCHED_PID
}

# messages: what the listener got, one message a line.
messages() {
    sed 's/</\n</g' "$WORK/syslog.out" | grep -v '^$' || true
}

if syslog_listener; then
    ok "a private /dev/log socket in a mount namespace"
    start_bocache_in "$LISTEN_PID"
    traffic "syslog"
    # The priority is LOG_DAEMON (3) * 8 + the level: 30 info, 31 debug.
    got() {
        messages | grep -q "^<$1>.*bocache\[$BOCACHE_PID\]: $2"
    }
    wait_until 3 got 30 "bocache .* started: " ||
        fail "syslog: no 'started' message at <30> (daemon.info) from bocache[$BOCACHE_PID]: $(head -c 300 "$WORK/syslog.out")"
    ok "syslog: '<30>... bocache[$BOCACHE_PID]: bocache ... started' (daemon.info)"
    wait_until 3 got 31 "/api/v1/sports/log: [0-9]* entries invalidated" ||
        fail "syslog: no debug message at <31> (daemon.debug)"
    ok "syslog: the debug line at <31> (daemon.debug)"
    no_key_in_redis "syslog"
    stop_bocache
    assert_eq 0 "$STOP_RC" "syslog: exit 0 on SIGTERM"
    wait_until 3 got 30 "stopped" || fail "syslog: no 'stopped' message"
    ok "syslog: the 'stopped' message"
    echo "# $(messages | wc -l) syslog messages" >&8
    assert_eq "" "$(grep -F sekret "$WORK/syslog.out" || true)" \
        "syslog: the API key is in no message"
    assert_eq "" "$(grep 'bocache\[' "$BOCACHE_LOG" || true)" \
        "syslog: nothing logged to stderr"
    stop_pid "$LISTEN_PID"
elif command -v strace >/dev/null; then
    # No namespace: strace shows where the lines go. Without a syslog daemon
    # glibc's connect fails and the message is dropped, so the attempts are
    # what can be seen; with one, the messages themselves.
    echo "# no private /dev/log here (needs root, unshare, socat or python3): strace" >&8
    launch_gateway "bocache under strace" "$BOCACHE_SOCK" "$BOCACHE_LOG" \
        strace -f -qq -o "$WORK/strace.out" -s 300 \
        -e trace=connect,sendto,sendmsg \
        "$BOCACHE" -c "$CONFIG" -l "unix:$BOCACHE_SOCK"
    STRACE_PID=$LAUNCHED_PID
    traffic "syslog (strace)"
    BOCACHE_PID=$(pgrep -P "$STRACE_PID" | head -n 1)
    [ -n "$BOCACHE_PID" ] || fail "no bocache under strace"
    kill -TERM "$BOCACHE_PID"
    stop_pid "$STRACE_PID" CONT
    assert_eq 0 "$STOP_RC" "syslog: exit 0 on SIGTERM (strace passes it on)"
    grep -q 'connect(.*sun_path="/dev/log"' "$WORK/strace.out" ||
        fail "syslog: bocache never connects to /dev/log"
    ok "syslog: bocache sends its lines to /dev/log ($(grep -c 'sun_path="/dev/log"' "$WORK/strace.out") connects)"
    if [ -S /dev/log ]; then
        grep -Eq 'send(to|msg)\(.*<30>.*bocache\[[0-9]*\]: bocache .* started' \
            "$WORK/strace.out" || fail "syslog: no 'started' message sent"
        ok "syslog: the 'started' message goes to /dev/log at <30>"
    fi
    assert_eq "" "$(grep -F sekret "$WORK/strace.out" | grep '/dev/log\|<[0-9]*>' || true)" \
        "syslog: the API key is in no message"
    assert_eq "" "$(grep 'bocache\[' "$BOCACHE_LOG" || true)" \
        "syslog: nothing logged to stderr"
else
    skip "syslog: no way to see /dev/log here (root with unshare and socat or python3, or strace)"
fi
