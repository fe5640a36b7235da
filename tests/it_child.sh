#!/bin/bash
# it_child.sh: bocache -- BACKEND_CMD: the backend started on a private
# socket, restarted with backoff when it dies, requests failing fast while it
# keeps failing, stopped with its whole process group on SIGTERM, killed by
# the kernel when bocache is SIGKILLed; exec errors; SIGHUP keeps the child.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

[ -x "$BOCACHE" ] || fail "$BOCACHE is not built"
# bocache makes its private directory under TMPDIR: keep it in $WORK.
TMPDIR=$WORK
export TMPDIR

# private_dir: the socket directory named in the log's last start line.
private_dir() {
    sed -n 's/.* started, pid [0-9]*, on \(.*\)\/backend.sock$/\1/p' \
        "$BOCACHE_LOG" | tail -n 1
}

count() { # count WORD: lines of the load that start with WORD
    load_lines k1 | grep -c "^$1" || true
}

start_redis

# --- configuration errors ---------------------------------------------------------
write_config backend.address=@unset
rc=0
out=$("$BOCACHE" -c "$CONFIG" -l "unix:$WORK/none.sock" 2>&1) || rc=$?
assert_eq 1 "$rc" "no backend.address and no --: exit 1"
assert_match "backend.address" "$out" "no backend.address and no --: says so"

rc=0
out=$("$BOCACHE" -c "$CONFIG" -l "unix:$WORK/none.sock" -- \
    "$WORK/no-such-program" arg 2>&1) || rc=$?
assert_eq 1 "$rc" "a missing backend command: exit 1"
assert_match "cannot run $WORK/no-such-program: No such file or directory" \
    "$out" "a missing backend command: a clear error"
assert_eq "" "$(find "$WORK" -maxdepth 1 -type d -name 'bocache.*')" \
    "a missing backend command: no private directory left"

# --- start, MISS and HIT -----------------------------------------------------------
# backend.address is set and ignored: -- wins.
write_config backend.address='"unix:/nonexistent/app.sock"'
start_bocache -- "$TEST_BACKEND"
grep -q "is not used: the backend is the command after --" "$BOCACHE_LOG" ||
    fail "backend.address with --: no info line saying it is not used"
ok "backend.address with --: -- wins, with an info line"
CHILD=$(child_of "$BOCACHE_PID" test_backend)
[ -n "$CHILD" ] || fail "bocache has no child process"
ok "the backend runs as bocache's child (pid $CHILD)"
DIR=$(private_dir)
assert_eq "700" "$(stat -c %a "$DIR")" "the private directory is mode 0700"
assert_eq "600" "$(stat -c %a "$DIR/backend.sock")" "the socket is mode 0600"
assert_eq "$CHILD" "$(ps -o pgid= -p "$CHILD" | tr -d ' ')" \
    "the backend leads its own process group"
tr '\0' '\n' <"/proc/$CHILD/environ" | grep -qx 'PHP_FCGI_CHILDREN=4' ||
    fail "PHP_FCGI_CHILDREN is not set to the worker count"
ok "PHP_FCGI_CHILDREN is the worker count"
fds=$(find "/proc/$CHILD/fd" -mindepth 1 -maxdepth 1 -printf '%f\n' |
    sort -n | tr '\n' ' ')
case $fds in
"0 1 2 "*) ok "the backend inherits fds 0-2 ($fds)" ;;
*) fail "the backend's descriptors: $fds" ;;
esac
[ "$(readlink "/proc/$CHILD/fd/0")" != "$(readlink /proc/$BOCACHE_PID/fd/0)" ] ||
    fail "the backend's fd 0 is bocache's"

req /api/v1/public/child >"$WORK/a1"
assert_eq MISS "$(xcache "$WORK/a1")" "through the child: MISS"
req /api/v1/public/child >"$WORK/a2"
assert_eq HIT "$(xcache "$WORK/a2")" "through the child: HIT"
assert_eq "$(call_of "$WORK/a1")" "$(call_of "$WORK/a2")" "the HIT is the stored answer"

# --- kill -9 the child under load ----------------------------------------------------
start_load k1 1 fcgi_load "/api/v1/uncached/k1?n="
# The kill comes once the load has had answers, however slowly the
# machine forks.
# shellcheck disable=SC2016 # expanded by eval
wait_until 10 eval '[ "$(count ok)" -ge 2 ]' ||
    fail "the load got no answers within 10 s"
kill -KILL "$CHILD"
restarted() {
    local p
    p=$(child_of "$BOCACHE_PID" test_backend)
    [ -n "$p" ] && [ "$p" != "$CHILD" ] && alive "$p" &&
        "$FCGI_GET" -t 2000 "unix:$BOCACHE_SOCK" /api/v1/uncached/probe \
            >/dev/null 2>&1
}
wait_until 5 restarted || fail "the backend was not restarted within 5 s"
NEW=$(child_of "$BOCACHE_PID" test_backend)
ok "kill -9 of the backend: restarted within 5 s (pid $CHILD -> $NEW)"
grep -q "pid $CHILD) was killed by signal 9" "$BOCACHE_LOG" ||
    fail "the backend's death is not logged with its signal"
ok "the backend's death is logged with its signal"
sleep 1
stop_load
during=$(count fail)
echo "# requests around the kill: $(count ok) ok, $during failed" >&8
assert_le 4 "$during" "kill -9: only the requests the backend held failed"
after=0
for i in $(seq 1 20); do
    "$FCGI_GET" -t 5000 "unix:$BOCACHE_SOCK" "/api/v1/uncached/k2?n=$i" \
        >"$WORK/k2" 2>&1 && [ "$(status "$WORK/k2")" = 200 ] ||
        after=$((after + 1))
done
assert_eq 0 "$after" "after the restart: 20 of 20 requests succeed"
CHILD=$NEW

# --- a backend that keeps failing: 502 at once, back when it works ----------------------
# The command is a shell that runs the test backend unless $WORK/down exists.
stop_bocache
: >"$BOCACHE_LOG"
write_config backend.address=@unset backend.timeout_ms=10000
# shellcheck disable=SC2016 # expanded by that shell
start_bocache -- /bin/sh -c \
    '[ -e "$0/down" ] && exit 3; exec "$1"' "$WORK" "$TEST_BACKEND"
CHILD=$(child_of "$BOCACHE_PID" test_backend)
touch "$WORK/down"
kill -KILL "$CHILD"
closed() {
    grep -q "backend socket closed" "$BOCACHE_LOG"
}
wait_until 5 closed || fail "a failing backend: its socket was not closed"
t0=$(now_ms)
"$FCGI_GET" -t 20000 "unix:$BOCACHE_SOCK" /api/v1/uncached/down >"$WORK/d1" || true
t1=$(now_ms)
assert_eq 502 "$(status "$WORK/d1")" "a backend that keeps failing: 502"
assert_le 1000 $((t1 - t0)) "a backend that keeps failing: the 502 comes at once (ms)"
grep -q "exited with status 3" "$BOCACHE_LOG" ||
    fail "the failed restart's exit status is not logged"
ok "the failed restarts' exit status is logged"
delays() {
    sed -n 's/.*restarting the backend in \([0-9]*\) ms/\1/p' "$BOCACHE_LOG" |
        head -n 4 | tr '\n' ' '
}
# shellcheck disable=SC2016 # expanded by eval
wait_until 5 eval '[ "$(delays | wc -w)" -ge 4 ]' || true
delays=$(delays)
assert_eq "100 200 400 800 " "$delays" "restart delays double from 100 ms"
rm -f "$WORK/down"
back() {
    "$FCGI_GET" -t 2000 "unix:$BOCACHE_SOCK" /api/v1/uncached/up >"$WORK/d2" 2>&1 &&
        [ "$(status "$WORK/d2")" = 200 ]
}
wait_until 15 back || fail "the backend did not come back after it was fixed"
ok "a fixed backend is started again and answers"

# --- SIGHUP keeps the child; a bad file keeps serving ------------------------------------
CHILD=$(child_of "$BOCACHE_PID" test_backend)
printf 'workers = 2;\nbackend: { timeout_ms = "slow"; };\n' >"$CONFIG"
kill -HUP "$BOCACHE_PID"
wait_until 5 grep -q "$CONFIG:2:" "$BOCACHE_LOG" ||
    fail "SIGHUP with a bad file: no '$CONFIG:2:' in the log"
ok "SIGHUP with a bad file: the error is logged as FILE:LINE"
req /api/v1/public/after-hup >"$WORK/h1"
assert_eq 200 "$(status "$WORK/h1")" "SIGHUP with a bad file: still serving"
write_config backend.address=@unset
kill -HUP "$BOCACHE_PID"
wait_until 5 grep -q "reloaded" "$BOCACHE_LOG" || fail "SIGHUP: no reload"
req /api/v1/public/after-hup2 >"$WORK/h2"
assert_eq 200 "$(status "$WORK/h2")" "SIGHUP with a good file: serving"
assert_eq "$CHILD" "$(child_of "$BOCACHE_PID" test_backend)" "SIGHUP does not restart the backend"

# --- SIGTERM: exit 0, nothing left ----------------------------------------------------------
DIR=$(private_dir)
stop_bocache TERM
assert_eq 0 "$STOP_RC" "SIGTERM: bocache exits 0"
alive "$CHILD" && fail "SIGTERM: the backend $CHILD still runs"
assert_eq "" "$(group_left "$CHILD")" "SIGTERM: no process of the backend's group left"
[ ! -e "$DIR" ] || fail "SIGTERM: $DIR is still there"
ok "SIGTERM: the private directory is removed"
grep -q "exited with status 0" "$BOCACHE_LOG" || fail "SIGTERM: the backend's exit is not logged"

# --- SIGKILL: the kernel ends the backend -------------------------------------------------------
start_bocache -- "$TEST_BACKEND"
CHILD=$(child_of "$BOCACHE_PID" test_backend)
DIR=$(private_dir)
stop_bocache KILL
wait_until 5 eval "! alive $CHILD" ||
    fail "SIGKILL of bocache: the backend $CHILD still runs after 5 s"
ok "SIGKILL of bocache: the backend dies with it"
rm -rf "$DIR" # nobody is left to remove it
