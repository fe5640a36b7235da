#!/bin/bash
# it_spawn_multi.sh: bocache under the real `spawn-fcgi -F 2` (forking, no
# -n: spawn-fcgi starts two processes on one socket and exits), each with its
# own test_backend child started with --. Both processes serve, they share
# entries through Redis, killing one child backend leaves the other process
# serving and gets the killed one restarted, SIGTERM stops both with their
# children.
#
# The processes are not our children: they are found with pgrep -f on the
# configuration path, tracked by PID for the EXIT trap, and stopped by PID;
# their end is polled. Their environment carries TMPDIR=$WORK, which tells
# this script's processes apart from those of scripts running beside it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/e2e_setup"

PIDFILE=$WORK/spawn.pid
N=2

# mine PID: true when PID runs with this script's TMPDIR in its environment.
mine() {
    alive "$1" &&
        tr '\0' '\n' <"/proc/$1/environ" 2>/dev/null | grep -qxF "TMPDIR=$WORK"
}

# bocache_pids: the bocache processes running $CONFIG, one a line, sorted.
# (Before its exec the shell wrapper below matches too: its comm tells.)
bocache_pids() {
    local p
    for p in $(pgrep -f -- "$BOCACHE -c $CONFIG" || true); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = bocache ] && mine "$p" &&
            echo "$p"
    done | sort -n
}

# backend_pids: every test_backend of this script, one a line.
backend_pids() {
    local p
    for p in $(pgrep -f -- "$TEST_BACKEND" || true); do
        mine "$p" && echo "$p"
    done | sort -n
}

# sock_of PID: the path of the unix socket that PID has as fd 0.
sock_of() {
    local ino
    ino=$(readlink "/proc/$1/fd/0" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
    [ -n "$ino" ] || return 0
    awk -v i="$ino" '$7 == i && NF >= 8 { print $8; exit }' /proc/net/unix
}

# count_of PID: the counted requests of the test backend child of bocache PID.
count_of() {
    local c s
    c=$(child_of "$1" test_backend | head -n 1)
    s=$(sock_of "$c")
    [ -n "$s" ] || { echo "?"; return; }
    "$FCGI_GET" -t 2000 -b "unix:$s" /__count 2>/dev/null || echo "?"
}

# Extra cleanup before tests/setup's: whatever of ours is left, by PID.
kill_strays() {
    local p
    for p in $(bocache_pids) $(backend_pids); do
        kill -KILL "$p" 2>/dev/null || true
    done
}
trap 'rc=$?; kill_strays; (exit $rc); cleanup' EXIT

start_redis
write_config backend.address=@unset workers=2 'log_level="debug"' \
    cache.memory_size=0

# --- start: spawn-fcgi -F 2 forks two bocache processes and exits ------------------
rm -f "$BOCACHE_SOCK"
# Forking spawn-fcgi points the children's stdout and stderr at /dev/null;
# the shell redirects bocache's log to $BOCACHE_LOG and execs it, so the
# process spawn-fcgi forked is bocache itself.
rc=0
# shellcheck disable=SC2016 # expanded by that shell
LOG=$BOCACHE_LOG spawn-fcgi -F "$N" -s "$BOCACHE_SOCK" -M 0600 -P "$PIDFILE" \
    -- /bin/sh -c 'exec "$0" "$@" 2>>"$LOG"' "$BOCACHE" -c "$CONFIG" -- \
    "$TEST_BACKEND" >"$WORK/spawn.out" 2>&1 8>&- || rc=$?
assert_eq 0 "$rc" "spawn-fcgi -F $N exits 0 after forking ($(tr '\n' ' ' <"$WORK/spawn.out"))"

all_up() {
    local p
    [ "$(bocache_pids | wc -l)" -eq "$N" ] || return 1
    for p in $(bocache_pids); do
        [ -n "$(child_of "$p" test_backend)" ] || return 1
    done
    "$FCGI_GET" -t 2000 "unix:$BOCACHE_SOCK" /__count >/dev/null 2>&1
}
wait_until 10 all_up || {
    for p in $(bocache_pids); do track "$p"; done
    fail "spawn-fcgi -F $N: $(bocache_pids | wc -l) bocache processes with a child, not $N"
}
read -r -a BC <<<"$(bocache_pids | tr '\n' ' ')"
for p in "${BC[@]}"; do track "$p"; done
assert_eq "$N" "${#BC[@]}" "spawn-fcgi -F $N: $N bocache processes run (${BC[*]})"
assert_eq "$(printf '%s\n' "${BC[@]}")" "$(sort -n "$PIDFILE")" \
    "spawn-fcgi's pid file names exactly those processes"
assert_eq "$(readlink "/proc/${BC[0]}/fd/0")" "$(readlink "/proc/${BC[1]}/fd/0")" \
    "both processes accept on the one socket (fd 0)"

CH=()
DIRS=()
for i in 0 1; do
    kids=$(child_of "${BC[$i]}" test_backend)
    assert_eq 1 "$(echo "$kids" | wc -l)" "bocache ${BC[$i]} has one test_backend child ($kids)"
    CH[i]=$kids
    track "$kids"
    assert_eq "${BC[$i]}" "$(ps -o ppid= -p "$kids" | tr -d ' ')" \
        "test_backend $kids is the child of bocache ${BC[$i]}"
    s=$(sock_of "$kids")
    DIRS[i]=$(dirname "$s")
    case ${DIRS[$i]} in
    "$WORK"/bocache.*) ;;
    *) fail "the backend socket of ${BC[$i]} is $s, not in a private directory" ;;
    esac
    assert_eq 700 "$(stat -c %a "${DIRS[$i]}")" "bocache ${BC[$i]}: private directory ${DIRS[$i]##*/}, mode 0700"
done
assert_ne "${CH[0]}" "${CH[1]}" "the two processes have different children"
assert_ne "${DIRS[0]}" "${DIRS[1]}" "the two children listen in different private directories"
grep -q "bocache\[${BC[0]}\] info: bocache .* started" "$BOCACHE_LOG" &&
    grep -q "bocache\[${BC[1]}\] info: bocache .* started" "$BOCACHE_LOG" ||
    fail "the log does not show both processes started"
ok "the log shows both processes started"

# --- load: both processes get work, every request succeeds --------------------------

# burst NAME LOOPS COUNT URI_PREFIX: LOOPS loops at once, each sending
# COUNT requests URI_PREFIX1 .. URI_PREFIXCOUNT; the answers are appended to
# $WORK/NAME.LOOP, "FAILED" for a request without a complete answer. (Only
# the counts below parse them: a process per request is slow here.)
burst() {
    local name=$1 loops=$2 count=$3 prefix=$4 l i pids=""
    for l in $(seq 1 "$loops"); do
        (
            for i in $(seq 1 "$count"); do
                "$FCGI_GET" -t 10000 "unix:$BOCACHE_SOCK" "$prefix$i" ||
                    echo FAILED
            done >"$WORK/$name.$l" 2>&1
        ) 8>&- &
        pids="$pids $!"
    done
    for l in $pids; do wait "$l"; done
}

# answers NAME: how many complete answers a burst got (bocache puts X-Cache
# on every one).
answers() {
    cat "$WORK/$1".[0-9]* | grep -c '^X-Cache: ' || true
}

# bad NAME: requests without a complete answer or with a status other than
# 200.
bad() {
    cat "$WORK/$1".[0-9]* |
        grep -Ec '^FAILED|^Status: ([013-9]|2[1-9]|20[1-9])' || true
}

# xcount NAME VALUE: answers with X-Cache: VALUE.
xcount() {
    cat "$WORK/$1".[0-9]* | grep -c "^X-Cache: $2" || true
}

c0a=$(count_of "${BC[0]}")
c1a=$(count_of "${BC[1]}")
burst unc 4 20 "/api/v1/uncached/multi?n="
assert_eq "80 0" "$(answers unc) $(bad unc)" \
    "80 uncached requests from 4 concurrent loops: all answered 200"
c0b=$(count_of "${BC[0]}")
c1b=$(count_of "${BC[1]}")
d0=$((c0b - c0a))
d1=$((c1b - c1a))
echo "# backend calls per process: ${BC[0]}: $d0, ${BC[1]}: $d1" >&8
assert_eq 80 $((d0 + d1)) "the two child backends answered 80 calls between them"
[ "$d0" -gt 0 ] && [ "$d1" -gt 0 ] ||
    fail "one process got no work: ${BC[0]}: $d0, ${BC[1]}: $d1"
ok "both processes served requests (${BC[0]}: $d0, ${BC[1]}: $d1)"

# --- entries are shared through Redis ----------------------------------------------
# 30 keys, each filled once (MISS), then read by 4 concurrent loops: with the
# memory tier off and the requests spread over both processes, every read is
# a HIT from Redis and the backends see only the 30 fills.
KEYS=30
req /api/v1/public/shared >"$WORK/m1"
assert_eq MISS "$(xcache "$WORK/m1")" "the first GET of a shared entry: MISS"
wait_key "bocache:none:-:/api/v1/public/shared" ||
    fail "the entry did not reach Redis"
ok "the entry is in Redis"
c0a=$(count_of "${BC[0]}")
c1a=$(count_of "${BC[1]}")
burst fill 1 "$KEYS" /api/v1/public/multi
assert_eq "$KEYS $KEYS 0" "$(answers fill) $(xcount fill MISS) $(bad fill)" \
    "$KEYS distinct entries filled: each a MISS"
burst hit 4 "$KEYS" /api/v1/public/multi
assert_eq "$((4 * KEYS)) 0" "$(answers hit) $(bad hit)" \
    "$((4 * KEYS)) concurrent reads of the $KEYS entries: all 200"
assert_eq "$((4 * KEYS))" "$(xcount hit HIT)" "every read is a HIT"
c0b=$(count_of "${BC[0]}")
c1b=$(count_of "${BC[1]}")
assert_eq "$KEYS" $((c0b - c0a + c1b - c1a)) \
    "the backends saw only the $KEYS fills: the processes share the entries through Redis"
assert_eq "$KEYS" "$(redis_keys 'bocache:none:-:/api/v1/public/multi*' | wc -l)" \
    "$KEYS entries in Redis, one per key"

# --- kill one child backend -----------------------------------------------------------
OLD=${CH[0]}
kill -KILL "$OLD"
untrack "$OLD"
c1a=$(count_of "${BC[1]}")
burst k 4 10 "/api/v1/uncached/afterkill?n="
echo "# requests right after the kill: 40 sent, $(bad k) failed" >&8
assert_le 2 "$(bad k)" "right after kill -9 of ${BC[0]}'s backend: at most 2 of 40 requests fail"
assert_eq "${CH[1]}" "$(child_of "${BC[1]}" test_backend)" "the other process keeps its backend (${CH[1]})"
c1b=$(count_of "${BC[1]}")
[ $((c1b - c1a)) -gt 0 ] || fail "the other process did not serve after the kill"
ok "the other process went on serving ($((c1b - c1a)) calls)"
restarted() {
    local p
    p=$(child_of "${BC[0]}" test_backend)
    [ -n "$p" ] && [ "$p" != "$OLD" ] && [ -n "$(sock_of "$p")" ]
}
wait_until 5 restarted || fail "bocache ${BC[0]} did not restart its backend within 5 s"
CH[0]=$(child_of "${BC[0]}" test_backend)
track "${CH[0]}"
ok "bocache ${BC[0]} restarted its backend ($OLD -> ${CH[0]})"
assert_eq "${DIRS[0]}" "$(dirname "$(sock_of "${CH[0]}")")" \
    "the restarted backend listens in the same private directory"
grep -q "bocache\[${BC[0]}\] error: backend .* (pid $OLD) was killed by signal 9" \
    "$BOCACHE_LOG" || fail "the backend's death is not logged by its process"
ok "the backend's death is logged by its own process"
c0a=$(count_of "${BC[0]}")
c1a=$(count_of "${BC[1]}")
burst after 4 20 "/api/v1/uncached/after?n="
assert_eq "80 0" "$(answers after) $(bad after)" \
    "after the restart: 80 requests from 4 loops, all answered 200"
c0b=$(count_of "${BC[0]}")
c1b=$(count_of "${BC[1]}")
echo "# backend calls per process: ${BC[0]}: $((c0b - c0a)), ${BC[1]}: $((c1b - c1a))" >&8
[ $((c0b - c0a)) -gt 0 ] && [ $((c1b - c1a)) -gt 0 ] ||
    fail "after the restart one process got no work: ${BC[0]}: $((c0b - c0a)), ${BC[1]}: $((c1b - c1a))"
ok "after the restart both processes serve, the restarted backend too"

# --- SIGTERM to both ----------------------------------------------------------------------
kill -TERM "${BC[@]}"
gone() {
    local p
    for p in "${BC[@]}"; do
        ! alive "$p" || return 1
    done
}
wait_until 15 gone || fail "SIGTERM: still running after 15 s: $(bocache_pids | tr '\n' ' ')"
for p in "${BC[@]}" "${CH[@]}"; do untrack "$p"; done
ok "SIGTERM: both bocache processes are gone"
# Not our children, so no exit status to wait for: bocache logs "stopped"
# last, on the path that returns 0 from main (a sanitizer finding after it
# shows in the log and fails the test in the EXIT trap).
for p in "${BC[@]}"; do
    grep -q "bocache\[$p\] info: stopped" "$BOCACHE_LOG" ||
        fail "SIGTERM: bocache $p did not log 'stopped' (exit 0 path)"
    grep -q "bocache\[$p\] info: .*exited with status 0" "$BOCACHE_LOG" ||
        fail "SIGTERM: bocache $p did not log its backend's clean exit"
done
ok "SIGTERM: both processes took the exit-0 path, each stopping its backend"
# shellcheck disable=SC2016 # expanded by eval
wait_until 5 eval '[ -z "$(backend_pids)" ]' ||
    fail "SIGTERM: test_backend processes left: $(backend_pids | tr '\n' ' ')"
ok "SIGTERM: no test_backend is left"
for d in "${DIRS[@]}"; do
    [ ! -e "$d" ] || fail "SIGTERM: $d is still there"
done
ok "SIGTERM: both private directories are removed"
