#!/bin/bash
# shellcheck disable=SC2119,SC2154 # stamp VAR sets VAR with printf -v
# it_stale.sh: stale serving (SPEC 6). An entry past its ttl but within
# stale_ttl is served STALE, at once and with its Age, while one request
# refreshes it, and the refresh replaces it; when the backend answers 500,
# answers garbage, times out or refuses the connection, the stale entry is
# served instead of the error.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

# ttl 1, stale_ttl 30; sleep_ms, status and garbage are left out of the
# key, so that a slow or failing request names the same entry as a fast
# one.
EP_STALE='{ path = "/api/v1/stale/"; match = "prefix"; key_type = "none"; ttl = 1; stale_ttl = 30; ignore_params = ["sleep_ms", "status", "garbage"]; }'

# redis.timeout_ms is generous: on a loaded test machine a 100 ms bound
# turns lookups into BYPASS answers, which is not what is tested here.
config() {
    write_config redis.timeout_ms=1000 cache.lock_timeout_ms=5000 \
        endpoint="$EP_STALE" "$@"
}

start_redis
start_backend
redis_open

# ============================================================================
# Configuration 1: backend.timeout_ms 10000
# ============================================================================
config
start_bocache

# --- 1. stale while one request refreshes ----------------------------------------
S6=/api/v1/stale/s6
req "$S6" >"$WORK/s6.a"
stamp t_made
a=$(call_of "$WORK/s6.a")
assert_eq MISS "$(xcache "$WORK/s6.a")" "[1 stale refresh] the first request fills the entry (ttl 1, stale_ttl 30)"
stamp t
d=$((1200 - (t - t_made)))
[ "$d" -le 0 ] || nap "$((d / 1000)).$(printf '%03d' $((d % 1000)))"
spawn "$WORK/s6.r" "$BOCACHE_SOCK" "$S6?sleep_ms=600"
wait_lease "bocache:none:-:$S6" ||
    fail "[1 stale refresh] the refreshing request holds no lease"
stamp t0
req "$S6" >"$WORK/s6.b"
stamp t1
assert_eq STALE "$(xcache "$WORK/s6.b")" \
    "[1 stale refresh] 1.2 s later, a request during the refresh is served STALE"
assert_eq "$a" "$(call_of "$WORK/s6.b")" "[1 stale refresh] the STALE answer is the old entry"
assert_eq 200 "$(status "$WORK/s6.b")" "[1 stale refresh] the STALE answer has the stored status"
assert_le 400 $((t1 - t0)) \
    "[1 stale refresh] the STALE answer does not wait for the 600 ms refresh (ms)"
assert_match '^[1-9][0-9]*$' "$(header Age "$WORK/s6.b")" \
    "[1 stale refresh] the STALE answer carries Age >= 1"
reap
r=$(call_of "$WORK/s6.r")
assert_eq MISS "$(xcache "$WORK/s6.r")" "[1 stale refresh] the refreshing request is a MISS"
[ "$r" -gt "$a" ] || fail "[1 stale refresh] the refresh got call=$r, not newer than $a"
entry_has "bocache:none:-:$S6" "call=$r " ||
    fail "[1 stale refresh] the refresh (call=$r) did not replace the entry"
ok "[1 stale refresh] the refresh replaced the entry"
read -r end_us <"$WORK/s6.r.end"
stamp t
req "$S6" >"$WORK/s6.c"
if [ $((t - end_us / 1000)) -lt 800 ]; then
    assert_eq "HIT $r" "$(xcache "$WORK/s6.c") $(call_of "$WORK/s6.c")" \
        "[1 stale refresh] right after the refresh, a HIT with the newer body"
else
    # The refreshed entry (ttl 1) may already be stale again.
    echo "# [1 stale refresh] the machine took $((t - end_us / 1000)) ms to ask again; not checking for a HIT" >&8
fi

# ============================================================================
# Configuration 2: backend.timeout_ms 500
# ============================================================================
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
config backend.timeout_ms=500
start_bocache

# --- 2. stale beats a backend failure ----------------------------------------------
for n in f7 g7 t7 r7; do
    req "/api/v1/stale/$n" >"$WORK/s7.$n"
    [ "$(xcache "$WORK/s7.$n")" = MISS ] ||
        fail "[2 stale on failure] filling /api/v1/stale/$n gave $(xcache "$WORK/s7.$n"), not a MISS"
done
sleep 1.2
req '/api/v1/stale/f7?status=500' >"$WORK/s7.f"
assert_eq "200 STALE" "$(status "$WORK/s7.f") $(xcache "$WORK/s7.f")" \
    "[2 stale on failure] backend answers 500: the stale entry is served, not the 500"
assert_eq "$(call_of "$WORK/s7.f7")" "$(call_of "$WORK/s7.f")" \
    "[2 stale on failure] ... with the entry's body"
req '/api/v1/stale/g7?garbage=1' >"$WORK/s7.g"
assert_eq "200 STALE" "$(status "$WORK/s7.g") $(xcache "$WORK/s7.g")" \
    "[2 stale on failure] backend answers garbage: STALE, not 502"
stamp t0
req '/api/v1/stale/t7?sleep_ms=1500' >"$WORK/s7.t"
stamp t1
assert_eq "200 STALE" "$(status "$WORK/s7.t") $(xcache "$WORK/s7.t")" \
    "[2 stale on failure] backend times out (timeout_ms 500): STALE, not 504"
assert_le 1400 $((t1 - t0)) "[2 stale on failure] ... after about backend.timeout_ms (ms)"
assert_eq "$(call_of "$WORK/s7.t7")" "$(call_of "$WORK/s7.t")" \
    "[2 stale on failure] ... with the entry's body"
stop_backend KILL
req /api/v1/public/nobackend >"$WORK/s7.nb"
assert_eq 502 "$(status "$WORK/s7.nb")" "[2 stale on failure] with the backend killed an uncached URL gets 502"
req '/api/v1/stale/r7' >"$WORK/s7.r"
assert_eq "200 STALE" "$(status "$WORK/s7.r") $(xcache "$WORK/s7.r")" \
    "[2 stale on failure] backend refuses (killed): STALE, not 502"
assert_eq "$(call_of "$WORK/s7.r7")" "$(call_of "$WORK/s7.r")" \
    "[2 stale on failure] ... with the entry's body"
req '/api/v1/stale/r7' >"$WORK/s7.r2"
assert_eq "200 STALE" "$(status "$WORK/s7.r2") $(xcache "$WORK/s7.r2")" \
    "[2 stale on failure] and again right after the failed refresh: STALE"
start_backend
alive "$BOCACHE_PID" || fail "bocache died"
