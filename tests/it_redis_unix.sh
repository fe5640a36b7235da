#!/bin/bash
# it_redis_unix.sh: Redis on a unix socket (SPEC 7: everything works exactly
# as over TCP), whatever BC_REDIS says for the other suites. The invalidation
# listener stays subscribed message after message, an invalidation message
# removes the entries it covers from Redis and drops them from the memory
# tier, and the listener never reports its subscription lost. (hiredis's
# TCP keepalive on the unix socket once left an error in the subscribed
# connection: every message read as "subscription lost" and was not applied.)
BC_REDIS=unix
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

CHANNEL=bocache:invalidate

start_redis
start_backend
# memory_ttl far beyond the test's length: an entry leaves the memory tier
# only when something drops it.
write_config 'log_level="debug"' redis.timeout_ms=1000 cache.memory_ttl=60
start_bocache

assert_match "^unix:$WORK/redis.sock\$" "$REDIS_ADDR" "the test's Redis is on a unix socket"
grep -qF "address = \"unix:$WORK/redis.sock\";" "$CONFIG" ||
    fail "the configuration does not name the unix socket"
assert_eq 0 "$(rcli CONFIG GET port | sed -n 2p)" "the test's Redis listens on no TCP port"
wait_subscribed "$CHANNEL" 1 ||
    fail "bocache did not subscribe to $CHANNEL over the unix socket ($(subscribers "$CHANNEL"))"
ok "bocache subscribed to $CHANNEL over the unix socket"

# in_memory URI: GETs until the answer comes from the memory tier.
in_memory() {
    to_memory "$1" ||
        fail "$1 never came from the memory tier ($(cache_status "$WORK/fetched"))"
}
# removed ID: the gateway's "N entries removed" line for message ID.
removed() {
    grep -F "\"id\":\"$1\"" "$BOCACHE_LOG" | grep 'entries removed' || true
}

# M is only in the memory tier: its Redis entry is removed behind bocache's
# back, so only a dropped memory entry can make it a MISS. R is in Redis.
M=/api/v1/public/unix/m
R=/api/v1/public/unix/r
req "$M" >/dev/null
in_memory "$M"
ok "$M is served from the memory tier"
rcli UNLINK "bocache:none:-:$M" >/dev/null
assert_match 'detail=memory' "$(req "$M" | header Cache-Status)" \
    "$M, gone from Redis, is still a memory HIT (precondition)"
req "$R" >/dev/null
wait_key "bocache:none:-:$R" || fail "no entry for $R"
assert_eq HIT "$(req "$R" | xcache /dev/stdin)" "$R is a HIT"

ID=it-unix-$$-1
publish_when_heard "$CHANNEL" 1 \
    "{\"id\":\"$ID\",\"pattern\":\"bocache:none:-:/api/v1/public/unix/*\"}"
removal_logged() { [ -n "$(removed "$ID")" ]; }
wait_until 5 removal_logged ||
    fail "the message was not applied: no removal logged for $ID"
assert_match ': 1 entries removed' "$(removed "$ID")" \
    "the message removed the one entry left in Redis"
assert_eq "" "$(redis_keys 'bocache:none:-:/api/v1/public/unix/*')" \
    "no entry under /api/v1/public/unix/ is left in Redis"
assert_eq MISS "$(req "$M" | xcache /dev/stdin)" "the message dropped $M from the memory tier"
assert_eq MISS "$(req "$R" | xcache /dev/stdin)" "$R is a MISS after the message"

# A second message, without id: the subscription still delivers.
in_memory "$R"
log_mark
publish_when_heard "$CHANNEL" 1 'bocache:none:-:/api/v1/public/unix/r'
applied() {
    new_lines | grep -qF 'invalidation bocache:none:-:/api/v1/public/unix/r: 1 entries removed'
}
wait_until 5 applied || fail "a second message (no id) was not applied"
ok "a second message (no id) is applied too"
assert_eq MISS "$(req "$R" | xcache /dev/stdin)" "the second message dropped $R from the memory tier"

assert_eq 1 "$(subscribers "$CHANNEL")" "bocache is still subscribed once"
assert_eq "" "$(grep -E 'subscription (lost|:)|Operation not supported' "$BOCACHE_LOG" || true)" \
    "the listener never lost its subscription"
assert_eq 1 "$(grep -c 'listening for invalidations' "$BOCACHE_LOG")" \
    "the listener subscribed once"
stop_bocache
assert_eq 0 "$STOP_RC" "bocache exits 0 on SIGTERM"
