#!/bin/bash
# it_keyspace.sh: bocache's own keys in Redis (src/invalidate.h
# lists them). The tag, path and lease indexes are sorted sets scored by
# expiry: they hold about the live entries and are trimmed by the next
# write once their members expired, which readers ignore meanwhile; a pass
# marker stays findable by every invalidation that covers its key, also
# with one worker that never asks Redis about the key again; a removal
# that fails part-way is retried until it succeeds (SPEC 7); indexes an
# older version left as SETs are still read; a 64-byte prefix with a key
# of almost BC_KEY_MAX bytes still names its lease in full.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

CTL=$top_builddir/bocache-ctl
CHANNEL=bocache:invalidate
TAGS=bocache:#tagz
LEASES=bocache:#leasez

# zcard KEY / exists KEY: as Redis says.
zcard() {
    rcli ZCARD "$1"
}
exists() {
    rcli EXISTS "$1"
}

# redis_ms: the Redis server's clock in ms, the clock of every score.
redis_ms() {
    rcli TIME | awk 'NR == 1 { s = $1 } NR == 2 { printf "%d%03d\n", s, $1 / 1000 }'
}
# past SCORE: true once the Redis clock is beyond SCORE.
past() {
    [ "$(redis_ms)" -gt "${1%.*}" ]
}

# log_count TEXT: how many lines of the gateway's log hold TEXT.
log_count() {
    grep -cF -- "$1" "$BOCACHE_LOG" || true
}
log_has_more() { # log_has_more TEXT N: more than N lines hold TEXT
    [ "$(log_count "$1")" -gt "$2" ]
}

EP_SHORT='{ path = "/api/v1/ks1/"; match = "prefix"; key_type = "none"; ttl = 1; }'

start_redis
start_backend
# One worker: after its first pass it trusts its hint and never asks Redis
# about that key again, so only the marker's own registration can make an
# invalidation find it. debug: "removed by another process" lines.
# Redis gets 2 s, not the suites' 100 ms: this suite reads what a lookup or
# a lease left in Redis, and on a loaded machine a 100 ms timeout turns
# the lookup into a BYPASS that leaves nothing (it_redis_fault tests that).
KS_REDIS_TIMEOUT=redis.timeout_ms=2000
write_config workers=1 'log_level="debug"' cache.lock_timeout_ms=5000 \
    "$KS_REDIS_TIMEOUT" endpoint="$EP_SHORT"
start_bocache
wait_subscribed "$CHANNEL" 1 || fail "the gateway did not subscribe"

# --- 1. index sizes follow the live entries --------------------------------
LONG=/api/v1/public/kslong?tags=kst
req "$LONG" >"$WORK/long"
assert_eq MISS "$(xcache "$WORK/long")" "[1 sizes] a 300 s entry tagged kst is filled"
for i in $(seq 1 20); do
    req "/api/v1/ks1/e$i?tags=kst,kst$i" >"$WORK/e"
    [ "$(xcache "$WORK/e")" = MISS ] || fail "[1 sizes] /api/v1/ks1/e$i is a $(xcache "$WORK/e"), not a MISS"
done
E1='bocache:none:-:/api/v1/ks1/e1?tags=kst,kst1'
E20='bocache:none:-:/api/v1/ks1/e20?tags=kst,kst20'
# A store's replies are read with the worker's next command: wait for it.
wait_until 5 eval '[ "$(zcard "$TAGS:kst")" = 21 ]' ||
    fail "[1 sizes] $TAGS:kst holds $(zcard "$TAGS:kst") members, not 21"
ok "[1 sizes] $TAGS:kst lists the 21 entries"
assert_eq zset "$(rcli TYPE "$TAGS:kst")" "[1 sizes] the tag index is a sorted set"
assert_eq 1 "$(zcard 'bocache:#pathz:/api/v1/ks1/e1')" "[1 sizes] the path index of /api/v1/ks1/e1 lists its entry"
assert_eq 0 "$(zcard "$LEASES")" \
    "[1 sizes] after 21 stored fills the lease set is empty: each fill removed its registration"
S20=$(rcli ZSCORE "$TAGS:kst" "$E20")
now=$(redis_ms)
assert_le $((now + 3000)) "${S20%.*}" "[1 sizes] an index entry of a 1 s entry expires within 3 s (score, ms)"
# Read in one step by Redis itself: the entry's expiry and its score.
outlives=$(rcli EVAL "local t = redis.call('TIME')
local e = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + redis.call('PTTL', KEYS[1])
if tonumber(redis.call('ZSCORE', KEYS[2], KEYS[1])) >= e then return 1 end return 0" \
    2 "bocache:none:-:$LONG" "$TAGS:kst")
assert_eq 1 "$outlives" "[1 sizes] an index entry does not expire before its entry"
# Each index is written by its own script, so the scores of one store may
# differ by a few ms on a loaded machine: wait past the latest of them (a
# key whose expiry is now is not yet expired in Redis).
S20T=$(rcli ZSCORE "$TAGS:kst20" "$E20")
SP1=$(rcli ZSCORE 'bocache:#pathz:/api/v1/ks1/e1' "$E1")
[ -n "$S20T" ] && [ -n "$SP1" ] || fail "[1 sizes] $E20 is not in $TAGS:kst20 or $E1 not in its path index"
SLAST=$(printf '%s\n' "${S20%.*}" "${S20T%.*}" "${SP1%.*}" | sort -n | tail -1)
wait_until 10 past "$SLAST" || fail "[1 sizes] the Redis clock did not pass $SLAST within 10 s"
assert_eq 0 "$(exists "$E20")" "[1 sizes] the 1 s entries expired"
assert_eq 0 "$(exists "$TAGS:kst20")" "[1 sizes] a tag index whose members all expired is gone with them"
assert_eq 0 "$(exists 'bocache:#pathz:/api/v1/ks1/e1')" "[1 sizes] so is such a path index"
assert_eq 21 "$(zcard "$TAGS:kst")" "[1 sizes] reading does not trim: $TAGS:kst still has 21 members"
# A key that an expired member names, but written without the tag: an
# invalidation of the tag must ignore the member past its score.
rcli SET "$E1" untagged EX 60 >/dev/null
req /api/v1/ks1/new?tags=kst >"$WORK/new"
wait_until 5 eval '[ "$(zcard "$TAGS:kst")" = 2 ]' ||
    fail "[1 sizes] the next write did not trim $TAGS:kst ($(zcard "$TAGS:kst") members, not 2)"
ok "[1 sizes] the next write trims $TAGS:kst to its 2 live entries"
# Put an expired member back, as a write that raced the trim would leave.
rcli ZADD "$TAGS:kst" 1 "$E1" >/dev/null
"$CTL" -c "$CONFIG" invalidate --tag kst >"$WORK/ctl.out" 2>"$WORK/ctl.err" ||
    fail "[1 sizes] bocache-ctl invalidate --tag kst failed: $(cat "$WORK/ctl.err")"
assert_eq "2 entries removed" "$(cat "$WORK/ctl.out")" "[1 sizes] the tag invalidation removes the 2 live entries"
assert_eq untagged "$(rcli GET "$E1")" "[1 sizes] ... not the key its expired member names"
assert_eq 0 "$(zcard "$TAGS:kst")" "[1 sizes] ... and forgets the members it read"
rcli DEL "$E1" >/dev/null

# --- 2. a pass marker stays findable until it expires ------------------------
U=/api/v1/public/kspass?cc=no-store
K=bocache:none:-:$U
L=bocache:#lease:$K
req "$U" >"$WORK/p0"
assert_match 'detail=no-store' "$(cache_status "$WORK/p0")" "[2 pass] the no-store fill says so"
assert_eq pass "$(rcli GET "$L")" "[2 pass] and leaves a pass marker"
for i in 1 2 3 4 5; do req "$U" >"$WORK/p1"; done
assert_match 'detail=pass' "$(cache_status "$WORK/p1")" "[2 pass] the next requests pass"
assert_eq 1 "$(zcard "$LEASES")" \
    "[2 pass] the lease set holds the marker's registration only, whatever the number of requests"
# bocache-ctl removes synchronously: the marker is gone when it returns.
heard=$(log_count 'removed by another process')
"$CTL" -c "$CONFIG" invalidate --pattern 'bocache:none:-:/api/v1/public/kspass*' \
    >/dev/null 2>"$WORK/ctl.err" || fail "[2 pass] bocache-ctl failed: $(cat "$WORK/ctl.err")"
assert_eq "" "$(rcli GET "$L")" "[2 pass] bocache-ctl's invalidation removed the pass marker"
wait_until 5 log_has_more 'removed by another process' "$heard" ||
    fail "[2 pass] the gateway did not hear the invalidation"
req "$U" >"$WORK/p2"
assert_match 'detail=no-store' "$(cache_status "$WORK/p2")" \
    "[2 pass] after it the next request fills again (detail=no-store, not pass)"
# The same through the listener, which claims the id and removes.
for i in 1 2 3; do req "$U" >"$WORK/p3"; done
assert_match 'detail=pass' "$(cache_status "$WORK/p3")" "[2 pass] a new marker: requests pass again"
publish_when_heard "$CHANNEL" 1 "{\"id\":\"ks-pass-$$\",\"pattern\":\"bocache:none:-:/api/v1/public/kspass*\"}"
marker_gone() { [ -z "$(rcli GET "$L")" ]; }
wait_until 5 marker_gone || fail "[2 pass] the listener's invalidation did not remove the pass marker"
ok "[2 pass] the listener's invalidation removed the pass marker"
req "$U" >"$WORK/p4"
assert_match 'detail=no-store' "$(cache_status "$WORK/p4")" \
    "[2 pass] after it the next request fills again (detail=no-store, not pass)"
# A marker that may pass (a 500: at most 1 s) leaves the lease set with it.
UE=/api/v1/public/kserr?status=500
req "$UE" >"$WORK/pe"
LE=bocache:#lease:bocache:none:-:$UE
SE=$(rcli ZRANGE "$LEASES" 0 -1 WITHSCORES | grep -A1 -F "$LE " | sed -n 2p)
[ -n "$SE" ] || fail "[2 pass] the 500's marker is not registered in $LEASES"
now=$(redis_ms)
assert_le $((now + 2000)) "${SE%.*}" "[2 pass] a 1 s marker's registration lasts about as long as the marker (score, ms)"
wait_until 10 past "$SE" || fail "[2 pass] the Redis clock did not pass $SE"
req /api/v1/public/kstrim >/dev/null # a lease write trims the set
assert_eq 0 "$(rcli ZRANGE "$LEASES" 0 -1 | grep -cF "$LE " || true)" \
    "[2 pass] once it expired the next lease write trims its registration"

# --- 3. a removal that fails part-way is retried -----------------------------
# Redis refuses UNLINK (ACL) after the id was claimed; the claimer retries
# with backoff and the entries go once Redis takes UNLINK again.
R=/api/v1/public/ksretry
for i in 1 2 3; do req "$R/$i" >/dev/null; done
wait_until 5 eval '[ "$(exists "bocache:none:-:$R/3")" = 1 ]' || fail "[3 retry] the entries were not stored"
rcli ACL SETUSER default -unlink >/dev/null
retrying=$(log_count 'retrying with backoff')
publish_when_heard "$CHANNEL" 1 "{\"id\":\"ks-retry-$$\",\"pattern\":\"bocache:none:-:$R/*\"}"
wait_until 10 log_has_more 'retrying with backoff' "$retrying" || {
    rcli ACL SETUSER default +unlink >/dev/null
    fail "[3 retry] the listener did not log a failed removal to retry"
}
ok "[3 retry] the listener logged the failed removal and that it retries"
assert_eq 3 "$(($(exists "bocache:none:-:$R/1") + $(exists "bocache:none:-:$R/2") + $(exists "bocache:none:-:$R/3")))" \
    "[3 retry] while Redis refuses UNLINK the entries are still there"
rcli ACL SETUSER default +unlink >/dev/null
all_gone() {
    local k
    for k in "$@"; do [ "$(exists "$k")" = 0 ] || return 1; done
}
wait_until 20 all_gone "bocache:none:-:$R/1" "bocache:none:-:$R/2" "bocache:none:-:$R/3" ||
    fail "[3 retry] the entries were not removed within 20 s after Redis took UNLINK again"
ok "[3 retry] once Redis takes UNLINK again the retry removes the entries"
wait_until 5 eval "grep -q 'ks-retry-$$: 3 entries removed on attempt' \"\$BOCACHE_LOG\"" ||
    fail "[3 retry] the successful retry was not logged"
ok "[3 retry] and logs it"

# bocache-ctl retries for a short while, then hands the removal over to the
# gateways, which retry for as long as the entries live.
for i in 4 5; do req "$R/$i" >/dev/null; done
wait_until 5 eval '[ "$(exists "bocache:none:-:$R/5")" = 1 ]' || fail "[3 retry] the entries were not stored"
rcli ACL SETUSER default -unlink >/dev/null
rc=0
"$CTL" -c "$CONFIG" invalidate --pattern "bocache:none:-:$R/*" >/dev/null 2>"$WORK/ctl.err" || rc=$?
assert_eq 1 "$rc" "[3 retry] bocache-ctl exits 1 while Redis refuses UNLINK"
assert_match 'handed over to the 1 gateway' "$(cat "$WORK/ctl.err")" \
    "[3 retry] ... saying it handed the removal over to the gateway"
assert_eq 1 "$(exists "bocache:none:-:$R/4")" "[3 retry] the entries are still there"
rcli ACL SETUSER default +unlink >/dev/null
wait_until 20 all_gone "bocache:none:-:$R/4" "bocache:none:-:$R/5" ||
    fail "[3 retry] the gateway did not remove the entries within 20 s"
ok "[3 retry] the gateway that took it over removed them once Redis took UNLINK again"

# --- 4. indexes of an older version (SETs) are still read --------------------
OLD='bocache:none:-:/api/v1/public/ksold'
rcli SET "$OLD" old EX 60 >/dev/null
rcli SADD 'bocache:#tag:ksold' "$OLD" >/dev/null
"$CTL" -c "$CONFIG" invalidate --tag ksold >"$WORK/ctl.out" 2>"$WORK/ctl.err" ||
    fail "[4 legacy] bocache-ctl failed: $(cat "$WORK/ctl.err")"
assert_eq "1 entries removed" "$(cat "$WORK/ctl.out")" "[4 legacy] a tag invalidation reads the older SET index"
assert_eq 0 "$(exists "$OLD")" "[4 legacy] ... and removes its entry"
OLDL="bocache:#lease:$OLD"
rcli SET "$OLDL" some-token EX 60 >/dev/null
rcli SADD 'bocache:#leases' "$OLDL" >/dev/null
"$CTL" -c "$CONFIG" invalidate --pattern "$OLD" >/dev/null 2>"$WORK/ctl.err" ||
    fail "[4 legacy] bocache-ctl failed: $(cat "$WORK/ctl.err")"
assert_eq 0 "$(exists "$OLDL")" "[4 legacy] an invalidation voids a lease an older gateway registered"

# --- 5. a 64-byte prefix and a key of almost BC_KEY_MAX bytes ---------------
# The lease of such a key is 72 bytes longer than the key: it must still be
# named in full, or an invalidation would not find it and the fill it
# overtook would be stored.
stop_bocache
PFX=$(printf 'p%.0s' $(seq 1 64))
write_config workers=1 "redis.prefix=\"$PFX\"" cache.lock_timeout_ms=5000 \
    "$KS_REDIS_TIMEOUT"
start_bocache
wait_subscribed "$CHANNEL" 1 || fail "the gateway did not subscribe"
Q=$(printf 'a%.0s' $(seq 1 4000))
UL="/api/v1/public/long?q=$Q"
KL="$PFX:none:-:$UL"
assert_le 4095 "${#KL}" "[5 long] the key is $((${#KL})) bytes"
assert_le "${#KL}" 4089 "[5 long] ... so its lease is over BC_KEY_MAX + 64 bytes"
kill -STOP "$BACKEND_PID"
"$FCGI_GET" -t 20000 "unix:$BOCACHE_SOCK" "$UL" >"$WORK/long.out" 2>&1 8>&- &
GET_PID=$!
track "$GET_PID"
# The lease is registered in the lease set before the backend is called,
# under its full name; the lease key itself lives 200 ms until its
# extension lands, which a loaded machine can delay past its life (the
# fill then only loses its store), so the registration is what is read.
lease_there() {
    [ "$(exists "$PFX:#lease:$KL")" = 1 ] ||
        rcli ZRANGE "$PFX:#leasez" 0 -1 | grep -qF "$PFX:#lease:$KL "
}
if ! wait_until 10 lease_there; then
    kill -CONT "$BACKEND_PID"
    fail "[5 long] no lease under its full name $PFX:#lease:KEY while the fill is in flight"
fi
ok "[5 long] the fill's lease has its full name ($((${#KL} + 72)) bytes)"
"$CTL" -c "$CONFIG" invalidate --pattern "$PFX:none:-:/api/v1/public/long*" \
    >/dev/null 2>"$WORK/ctl.err" || {
    kill -CONT "$BACKEND_PID"
    fail "[5 long] bocache-ctl failed: $(cat "$WORK/ctl.err")"
}
kill -CONT "$BACKEND_PID"
assert_eq 0 "$(exists "$PFX:#lease:$KL")" "[5 long] the invalidation voided it"
wait "$GET_PID" || fail "[5 long] the long request got no complete answer"
untrack "$GET_PID"
assert_eq MISS "$(xcache "$WORK/long.out")" "[5 long] the overtaken fill answers its client"
# Its store (if any) is sent before the worker's next request is read.
req /api/v1/public/after-long >/dev/null
assert_eq 0 "$(exists "$KL")" "[5 long] ... and is not stored"
