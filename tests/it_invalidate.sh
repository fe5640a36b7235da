#!/bin/bash
# it_invalidate.sh: invalidation messages on redis.channel, applied by two
# gateway processes sharing one Redis and one backend (SPEC 5): each message
# kind removes exactly what it covers, only entry keys under the prefix are
# ever removed, a message with an id is removed from Redis once for the
# fleet, a bad message is ignored, a lost subscription comes back, and a
# successful unsafe request invalidates its path (SPEC 6).
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

CHANNEL=bocache:invalidate

# Entries (tests/setup's prime and probe) are named "PARTNER URI" ("- URI"
# for a public endpoint).
entry_opts() {
    local p=${1%% *}
    if [ "$p" != - ]; then
        printf '%s\n' -H "X-Partner-Id: $p" -H 'Origin: https://a.example'
    fi
}
entry_uri() {
    printf '%s\n' "${1#* }"
}

# expect_gone WHAT ENTRY... / expect_kept WHAT ENTRY...: on both gateways.
expect_gone() {
    local what=$1 e g
    shift
    for e in "$@"; do
        for g in 1 2; do
            [ "$(probe "$g" "$e")" = MISS ] ||
                fail "$what: '$e' is still served by gateway $g"
        done
    done
    ok "$what: removed: $(printf '[%s] ' "$@")"
}
# expect_gone_soon WHAT ENTRY...: as expect_gone, allowing each gateway up
# to 3 s (another process' in-memory tier may hold an entry that an unsafe
# request removed from Redis for up to cache.memory_ttl).
expect_gone_soon() {
    local what=$1 e g
    shift
    for e in "$@"; do
        for g in 1 2; do
            wait_until 3 eval '[ "$(probe "$g" "$e")" = MISS ]' ||
                fail "$what: '$e' is still served by gateway $g after 3 s"
        done
    done
    ok "$what: removed: $(printf '[%s] ' "$@")"
}
expect_kept() {
    local what=$1 e g
    shift
    for e in "$@"; do
        for g in 1 2; do
            [ "$(probe "$g" "$e")" = HIT ] ||
                fail "$what: '$e' was removed but should have been kept"
        done
    done
    ok "$what: kept: $(printf '[%s] ' "$@")"
}

# pub PAYLOAD: publishes on the channel once both gateways are subscribed;
# both must receive it.
pub() {
    publish_when_heard "$CHANNEL" 2 "$1"
}

# removals TEXT: the "N entries removed" lines since log_mark that hold
# TEXT, from both gateways.
removals() {
    { new_lines 1; new_lines 2; } | grep -F -- "$1" |
        grep -E 'entries removed' || true
}
removed_sum() {
    removals "$1" | sed -n 's/.*: \([0-9]*\) entries removed.*/\1/p' |
        awk '{ s += $1 } END { print s + 0 }'
}

# send_id ID JSON_REST EXPECTED WHAT: publishes {"id":ID,JSON_REST}, waits
# for the one process that claims ID to log its removal, and checks that it
# removed EXPECTED entries and that only one process removed.
send_id() {
    local id=$1 rest=$2 want=$3 what=$4
    log_mark
    pub "{\"id\":\"$id\",$rest}"
    wait_until 5 eval '[ -n "$(removals "\"$id\"")" ]' ||
        fail "$what: no gateway logged the removal of message $id"
    sleep 0.1
    assert_eq 1 "$(removals "\"$id\"" | wc -l)" \
        "$what: one gateway process removed for id $id"
    assert_eq "$want" "$(removed_sum "\"$id\"")" \
        "$what: the removal counted $want entries"
}

guard_keys() {
    rcli get other:42
    rcli get bocacheX:42
    rcli get bocache:foreign:42
}

SEQ=0
# next_id: sets ID to a fresh message id.
next_id() {
    SEQ=$((SEQ + 1))
    ID="it-inv-$$-$SEQ"
}

start_redis
start_backend
# A generous Redis bound: a busy test machine must not turn fills into
# BYPASSes; timeouts are it_redis_fault's business.
write_config 'log_level="debug"' redis.timeout_ms=1000
start_bocache
start_bocache2

wait_subscribed "$CHANNEL" 2 ||
    fail "the two gateways did not both subscribe to $CHANNEL: $(subscribers "$CHANNEL")"
ok "both gateway processes are subscribed to $CHANNEL"

# Keys that are not bocache entries: none may ever be removed.
rcli set other:42 keep >/dev/null
rcli set bocacheX:42 keep >/dev/null
rcli set bocache:foreign:42 keep >/dev/null
GUARD=$(guard_keys | tr '\n' ' ')
check_guard() {
    assert_eq "$GUARD" "$(guard_keys | tr '\n' ' ')" \
        "$1: other:42, bocacheX:42 and bocache:foreign:42 are untouched"
}

P42A='42 /api/v1/partner/a'
P42B='42 /api/v1/partner/b?x=1'
P142A='142 /api/v1/partner/a'
P420A='420 /api/v1/partner/a'
P7A='7 /api/v1/partner/a'
P7AB='7 /api/v1/partner/ab'
P7B='7 /api/v1/partner/b'
PUBA='- /api/v1/public/a'
PUBC='- /api/v1/public/c/d?y=2'
ALL=("$P42A" "$P42B" "$P142A" "$P420A" "$P7A" "$P7AB" "$P7B" "$PUBA" "$PUBC")

# --- pattern: *42* over-invalidates partners 142 and 420 ----------------------
prime "${ALL[@]}"
assert_eq 'bocache:partner_id_and_origin:p=42,o=https%3A//a.example:/api/v1/partner/a' \
    "$(redis_keys 'bocache:partner_id_and_origin:p=42,*/a')" \
    "partner entries have the key the pattern is written against"
next_id
send_id "$ID" '"pattern":"*42*"' 4 'pattern *42*'
expect_gone 'pattern *42*' "$P42A" "$P42B" "$P142A" "$P420A"
expect_kept 'pattern *42*' "$P7A" "$P7AB" "$P7B" "$PUBA" "$PUBC"
check_guard 'pattern *42*'

# --- partner_id: exactly partner 42 ---------------------------------------------
prime "${ALL[@]}"
next_id
send_id "$ID" '"partner_id":"42"' 2 'partner_id 42'
expect_gone 'partner_id 42' "$P42A" "$P42B"
expect_kept 'partner_id 42' "$P142A" "$P420A" "$P7A" "$P7AB" "$P7B" "$PUBA" "$PUBC"
check_guard 'partner_id 42'
prime "${ALL[@]}"
next_id
send_id "$ID" '"partner_id":42' 2 'partner_id as a JSON integer'
expect_gone 'partner_id 42 (integer)' "$P42A" "$P42B"
expect_kept 'partner_id 42 (integer)' "$P142A" "$P420A" "$P7A"

# --- pattern + uris ---------------------------------------------------------------
prime "${ALL[@]}"
next_id
send_id "$ID" '"pattern":"*","uris":["/api/v1/partner/a","api/v1/public/c/"]' \
    6 'pattern * with uris'
expect_gone 'pattern + uris' "$P42A" "$P142A" "$P420A" "$P7A" "$P7AB" "$PUBC"
expect_kept 'pattern + uris' "$P42B" "$P7B" "$PUBA"
ok "pattern + uris: a uri without its leading / (api/v1/public/c/) works"
check_guard 'pattern + uris'

prime "${ALL[@]}"
next_id
send_id "$ID" '"pattern":"*p=7,*","uris":["/api/v1/partner/b"]' \
    1 'pattern *p=7,* with a uri'
expect_gone 'pattern + one uri' "$P7B"
expect_kept 'pattern + one uri' "$P7A" "$P7AB" "$P42B" "$P42A"

# --- partner_id + uris ------------------------------------------------------------
prime "${ALL[@]}"
next_id
send_id "$ID" '"partner_id":"42","uris":["api/v1/partner/a"]' 1 \
    'partner_id 42 with uris'
expect_gone 'partner_id + uris' "$P42A"
expect_kept 'partner_id + uris' "$P42B" "$P142A" "$P420A" "$P7A" "$PUBA"

# --- bare PUBLISH: a pattern applied by every process ----------------------------
prime "${ALL[@]}"
log_mark
pub '*42*'
wait_until 5 eval '[ "$(removals "invalidation *42*:" | wc -l)" -ge 2 ]' ||
    fail "bare '*42*': not both gateways logged applying it: $(removals '*42*')"
ok "bare PUBLISH '*42*' (no id) is applied by both gateway processes"
assert_eq 4 "$(removed_sum 'invalidation *42*:')" \
    "bare '*42*': the two processes removed 4 entries between them"
expect_gone "bare '*42*'" "$P42A" "$P42B" "$P142A" "$P420A"
expect_kept "bare '*42*'" "$P7A" "$P7B" "$PUBA"
check_guard "bare '*42*'"

# --- a malformed message is logged and ignored --------------------------------
prime "${ALL[@]}"
log_mark
pub '{"id":"bad-1","pattern":'
pub '{"id":"bad-2","nonsense":"*"}'
pub '{"id":"bad-3","pattern":"*","tags":["x"]}'
pub '{"id":"bad-4","flush":"yes"}'
for g in 1 2; do
    wait_until 3 eval 'new_lines $g | grep -q "invalidation message ignored"' ||
        fail "gateway $g did not log the malformed message"
done
assert_match 'invalidation message ignored: not valid JSON' \
    "$(new_lines 1 | grep 'message ignored' | head -n 1)" \
    "a malformed message is logged with its reason"
alive "$BOCACHE_PID" && alive "$BOCACHE2_PID" ||
    fail "a gateway died on a malformed message"
ok "both gateways still run after malformed messages"
assert_eq "" "$(rcli --scan --pattern 'bocache:#id:bad-*')" \
    "no id of a malformed message was claimed"
expect_kept 'malformed messages' "${ALL[@]}"
next_id
send_id "$ID" '"partner_id":"7"' 3 'a valid message after malformed ones'
expect_gone 'after malformed' "$P7A" "$P7AB" "$P7B"

# --- tags -----------------------------------------------------------------------
T1='- /api/v1/public/t1?tags=red,blue'
T2='- /api/v1/public/t2?tags=blue'
T3='- /api/v1/public/t3?tags=green'
T4='- /api/v1/public/t4'
gw 1 "${T1#* }" >"$WORK/t1"
assert_eq MISS "$(xcache "$WORK/t1")" "a tagged answer is a MISS first"
assert_eq "" "$(header X-Cache-Tags "$WORK/t1")" \
    "X-Cache-Tags is not passed to the client on a MISS"
prime "$T1" "$T2" "$T3" "$T4" "${ALL[@]}"
gw 2 "${T1#* }" >"$WORK/t1h"
assert_eq HIT "$(xcache "$WORK/t1h")" "the tagged answer is a HIT"
assert_eq "" "$(header X-Cache-Tags "$WORK/t1h")" \
    "X-Cache-Tags is not passed to the client on a HIT"
for t in red blue green; do
    [ "$(rcli exists "bocache:#tagz:$t")" = 1 ] ||
        fail "no tag index bocache:#tagz:$t"
done
ok "tag indexes bocache:#tagz:red, blue and green exist"
next_id
send_id "$ID" '"tags":["red"]' 1 'tags [red]'
expect_gone 'tags [red]' "$T1"
expect_kept 'tags [red]' "$T2" "$T3" "$T4" "${ALL[@]}"
next_id
send_id "$ID" '"tags":["blue","green"]' 2 'tags [blue, green]'
expect_gone 'tags [blue, green]' "$T2" "$T3"
expect_kept 'tags [blue, green]' "$T4" "${ALL[@]}"
next_id
send_id "$ID" '"tags":["nosuchtag"]' 0 'an unknown tag'
expect_kept 'an unknown tag' "$T4" "$P42A"
check_guard 'tags'

# --- pattern * and flush: entries only -----------------------------------------
internal() {
    rcli --scan --pattern 'bocache:#*' | sort
}
# The entry keys in Redis: keys under the prefix but the index keys and the
# foreign guard key.
entry_count() {
    rcli --scan --pattern 'bocache:*' | grep -v '^bocache:#' |
        grep -cvx 'bocache:foreign:42' || true
}
prime "$T1" "$T2" "$T4" "${ALL[@]}"
N=$(entry_count)
assert_eq $((${#ALL[@]} + 3)) "$N" "$N entries are stored before pattern *"
INTERNAL=$(internal)
assert_match '^bocache:#id:' "$(printf '%s\n' "$INTERNAL" | grep '#id:' | head -n 1)" \
    "claimed ids are kept as bocache:#id: keys"
assert_match '^bocache:#pathz:' "$(printf '%s\n' "$INTERNAL" | grep '#pathz:' | head -n 1)" \
    "path indexes exist as bocache:#pathz: keys"
next_id
send_id "$ID" '"pattern":"*"' "$N" 'pattern *'
expect_gone 'pattern *' "$T1" "$T2" "$T4" "${ALL[@]}"
assert_eq 0 "$(entry_count)" "pattern *: no entry key is left"
check_guard 'pattern *'
assert_eq 0 "$(comm -23 <(printf '%s\n' "$INTERNAL") <(internal) | wc -l)" \
    "pattern *: no #tag/#path/#id key was removed"

prime "$T1" "$T2" "${ALL[@]}"
INTERNAL=$(internal)
N=$(entry_count)
next_id
send_id "$ID" '"flush":true' "$N" 'flush'
expect_gone 'flush' "$T1" "$T2" "${ALL[@]}"
assert_eq 0 "$(entry_count)" "flush: no entry key is left"
check_guard 'flush'
assert_eq 0 "$(comm -23 <(printf '%s\n' "$INTERNAL") <(internal) | wc -l)" \
    "flush: no #tag/#path/#id key was removed"

# --- one removal per id for the whole fleet (MONITOR) ----------------------------
prime "${ALL[@]}"
# Not through rcli: MON_PID must be redis-cli's own.
"$REDIS_CLI" "${REDIS_CLI_ARGS[@]}" MONITOR >"$WORK/monitor" 2>&1 8>&- &
MON_PID=$!
track "$MON_PID"
wait_until 5 eval 'grep -q "^OK" "$WORK/monitor"' || fail "MONITOR did not start"
next_id
send_id "$ID" '"pattern":"*42*"' 4 'monitored *42*'
# The other process' claim may trail the first process' removal: it has
# been made once that process logs it lost. Redis feeds MONITOR in the
# order it runs commands, so once a marker sent after that shows, every
# command before it is in the file.
# shellcheck disable=SC2016 # expanded by eval
wait_until 5 eval '{ new_lines 1; new_lines 2; } |
    grep -q "$ID: removed by another process"' ||
    fail "the other process did not log 'removed by another process' for $ID"
rcli ECHO "monitor-end-$ID" >/dev/null
wait_until 5 grep -q "monitor-end-$ID" "$WORK/monitor" ||
    fail "MONITOR did not show the marker sent after the removal"
stop_pid "$MON_PID"
assert_eq 2 "$(grep -c "\"SET\" \"bocache:#id:$ID\".*\"NX\"" "$WORK/monitor")" \
    "each of the two processes tried to claim id $ID with SET NX"
grep '"UNLINK"' "$WORK/monitor" >"$WORK/unlinks" || true
[ -s "$WORK/unlinks" ] || fail "Redis saw no UNLINK for id $ID"
# MONITOR names a TCP client by its address and port; every client of a
# unix socket by the socket's path, so there this says less, and the
# "removed by another process" line above tells the processes apart.
clients=$(sed 's/^[0-9.]* \[[0-9]* \([^]]*\)\].*/\1/' "$WORK/unlinks" | sort -u)
assert_eq 1 "$(printf '%s\n' "$clients" | wc -l)" \
    "every UNLINK came from one connection (one process removed; $BC_REDIS)"
assert_eq 4 "$(grep -o '"bocache:partner_id_and_origin:[^"]*"' "$WORK/unlinks" |
    sort | uniq | wc -l)" "the 4 entries were each unlinked"
assert_eq 0 "$(grep -o '"bocache:partner_id_and_origin:[^"]*"' "$WORK/unlinks" |
    sort | uniq -d | wc -l)" "no entry was unlinked twice"
# Redis' own clock: from the PUBLISH to the last UNLINK of its removal.
t_publish=$(grep '"PUBLISH"' "$WORK/monitor" | grep -F "$ID" | head -n 1 |
    cut -d' ' -f1)
t_unlink=$(tail -n 1 "$WORK/unlinks" | cut -d' ' -f1)
[ -n "$t_publish" ] || fail "MONITOR did not show the PUBLISH of $ID"
assert_le 100 "$(awk -v a="$t_publish" -v b="$t_unlink" \
    'BEGIN { printf "%d", (b - a) * 1000 + 0.5 }')" \
    "Redis saw the removal end within 100 ms of the PUBLISH (MONITOR clock, ms)"
assert_eq 1 "$({ new_lines 1; new_lines 2; } |
    grep -c "$ID: removed by another process")" \
    "the other process logged 'removed by another process' once"

# --- both processes stop serving removed entries within 100 ms -----------------
# Spawning programs costs tens of ms on a busy machine, so the timed part
# spawns as little as it can: the PUBLISH goes over a Redis connection
# opened beforehand (redis_open), the clock is $EPOCHREALTIME, and each round
# probes both gateways at once (one fcgi_get each) and reads the answers with
# builtins. The bound is checked against the end of the probe that saw the
# MISS, so it is never understated.
xcache_of() { # xcache_of FILE VAR
    local _line _v=""
    while IFS= read -r _line; do
        _line=${_line%$'\r'}
        [ -n "$_line" ] || break
        case ${_line,,} in x-cache:*) _v=${_line#*:} _v=${_v# } ;; esac
    done <"$1"
    printf -v "$2" '%s' "$_v"
}
P42_HDR=(-H 'X-Partner-Id: 42' -H 'Origin: https://a.example')
prime "$P42A" "$P142A" "$P7A"
# The probes' own cost (starting two programs, slow under sanitizers on a
# busy machine) is not the gateways': the slower of two rounds timed just
# before, one on the cached entry and one on an uncached URI (a MISS goes
# on to the backend, as the probes after the PUBLISH do), is added to the
# 100 ms bound.
probe_round() { # probe_round [URI]
    local g sock pids="" uri=${1:-${P42A#* }}
    for g in 1 2; do
        [ "$g" = 1 ] && sock=$BOCACHE_SOCK || sock=$BOCACHE_SOCK2
        "$FCGI_GET" -X HEAD "${P42_HDR[@]}" "unix:$sock" "$uri" \
            >"$WORK/timed$g" 2>/dev/null &
        pids="$pids $!"
    done
    # shellcheck disable=SC2086
    wait $pids || true
}
b0=0 b1=0
stamp b0
probe_round
stamp b1
xcache_of "$WORK/timed1" g1
xcache_of "$WORK/timed2" g2
[ "$g1" = HIT ] && [ "$g2" = HIT ] ||
    fail "before the timed PUBLISH the gateways say $g1 and $g2, not HIT"
probe_ms=$((b1 - b0))
stamp b0
probe_round "/api/v1/partner/probe-miss-$$"
stamp b1
xcache_of "$WORK/timed1" g1
xcache_of "$WORK/timed2" g2
[ "$g1" = MISS ] && [ "$g2" = MISS ] ||
    fail "the timing round on an uncached URI says $g1 and $g2, not MISS"
[ $((b1 - b0)) -le "$probe_ms" ] || probe_ms=$((b1 - b0))
bound=$((100 + probe_ms))
next_id
MSG="{\"id\":\"$ID\",\"partner_id\":\"42\"}"
t0=0 t_pub=0
redis_open
wait_subscribed "$CHANNEL" 2 ||
    fail "before the timed PUBLISH $(subscribers "$CHANNEL") clients are subscribed, not the 2 gateways"
stamp t0
rcmd PUBLISH "$CHANNEL" "$MSG"
stamp t_pub
[ "$REPLY_VAL" = 2 ] ||
    fail "the timed PUBLISH reached '$REPLY_VAL' subscribers, not 2"
g1=HIT g2=HIT rounds=0 t=$t0
while [ "$g1" != MISS ] || [ "$g2" != MISS ]; do
    [ $((t - t0)) -le $bound ] ||
        fail "$((t - t0)) ms after the PUBLISH gateway 1 says $g1 and gateway 2 says $g2 for '$P42A' (the entry should be gone from both within 100 ms plus the probe's own $probe_ms ms)"
    rounds=$((rounds + 1))
    probe_round
    stamp t
    xcache_of "$WORK/timed1" g1
    xcache_of "$WORK/timed2" g2
done
assert_le $bound $((t - t0)) \
    "both gateways answer MISS for the removed entry within 100 ms of the PUBLISH plus the probe's own $probe_ms ms ($rounds probe round(s), the PUBLISH round trip took $((t_pub - t0)) ms)"
expect_kept 'within 100 ms' "$P142A" "$P7A"

# --- a killed subscription is re-established ------------------------------------
log_mark
killed=$(rcli CLIENT KILL TYPE pubsub)
assert_eq 2 "$killed" "CLIENT KILL TYPE pubsub closed both subscriptions"
wait_subscribed "$CHANNEL" 2 ||
    fail "the gateways did not subscribe again within 10 s (NUMSUB $(subscribers "$CHANNEL"))"
ok "both gateways subscribed again after CLIENT KILL"
for g in 1 2; do
    new_lines "$g" | grep -q 'subscription lost' ||
        fail "gateway $g did not log the lost subscription"
done
ok "both gateways logged the lost subscription"
prime "${ALL[@]}"
next_id
send_id "$ID" '"partner_id":"142"' 1 'a message after resubscribing'
expect_gone 'after resubscribing' "$P142A"
expect_kept 'after resubscribing' "$P42A" "$P420A"
log_mark
pub '*p=420,*'
wait_until 5 eval '[ "$(removals "invalidation *p=420,*:" | wc -l)" -ge 2 ]' ||
    fail "a bare message after resubscribing was not applied by both gateways"
expect_gone 'bare message after resubscribing' "$P420A"

# --- unsafe methods invalidate their exact path -------------------------------
U42='42 /api/v1/partner/u'
U7='7 /api/v1/partner/u?page=2'
U9B='9 /api/v1/partner/u?page=3'
USIB='42 /api/v1/partner/uv'
USUB='42 /api/v1/partner/u/sub'
UPUB='- /api/v1/public/u'
prime "$U42" "$U7" "$U9B" "$USIB" "$USUB" "$UPUB"
gw 2 -X POST -d x=1 -H 'X-Partner-Id: 7' '/api/v1/partner/u?status=500' \
    >"$WORK/p500"
assert_eq 500 "$(status "$WORK/p500")" "the backend answered the POST 500"
sleep 0.5
expect_kept 'a POST answered 500' "$U42" "$U7" "$U9B" "$USIB" "$USUB"
gw 2 -X POST -d x=1 -H 'X-Partner-Id: 7' -H 'Origin: https://a.example' \
    /api/v1/partner/u >"$WORK/p200"
assert_eq 200 "$(status "$WORK/p200")" "the backend answered the POST 200"
wait_until 3 eval '[ "$(probe 1 "$U42")" = MISS ]' ||
    fail "a 200 POST to /api/v1/partner/u did not invalidate partner 42's entry"
expect_gone_soon 'a POST answered 200' "$U42" "$U7" "$U9B"
expect_kept 'a POST answered 200' "$USIB" "$USUB" "$UPUB"
prime "$U42" "$U7"
gw 1 -X DELETE '/api/v1/partner/u?status=204' >/dev/null
wait_until 3 eval '[ "$(probe 2 "$U7")" = MISS ]' ||
    fail "a 204 DELETE without identity did not invalidate the path"
expect_gone_soon 'a DELETE answered 204, without identity' "$U42" "$U7"
prime "$UPUB" "$U42"
gw 1 -X PUT -d y '/api/v1/public/u?status=303' >/dev/null
wait_until 3 eval '[ "$(probe 2 "$UPUB")" = MISS ]' ||
    fail "a 303 PUT did not invalidate its path"
expect_gone_soon 'a PUT answered 303' "$UPUB"
expect_kept 'a PUT answered 303' "$U42" "$USIB"
check_guard 'unsafe methods'
