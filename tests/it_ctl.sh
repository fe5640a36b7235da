#!/bin/bash
# it_ctl.sh: bocache-ctl (SPEC 2, 4, 5): usage errors exit 2; `key` prints
# the key the gateway stores, or why there is none; `show` and `stats`
# describe what is stored; invalidate and flush remove synchronously, so
# they work with no gateway listening, then publish for the gateways; a
# Redis that does not answer is exit 1 with its address.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

CTL=$top_builddir/bocache-ctl
[ -x "$CTL" ] || fail "$CTL is not built"
CHANNEL=bocache:invalidate

# ctl [-c FILE] ARG...: runs bocache-ctl with $CONFIG unless -c is given;
# stdout in $WORK/out, stderr in $WORK/err, the exit status in CTL_RC.
ctl() {
    CTL_RC=0
    if [ "${1:-}" = -c ]; then
        "$CTL" "$@" >"$WORK/out" 2>"$WORK/err" || CTL_RC=$?
    else
        "$CTL" -c "$CONFIG" "$@" >"$WORK/out" 2>"$WORK/err" || CTL_RC=$?
    fi
}
out() { cat "$WORK/out"; }
err() { cat "$WORK/err"; }

# ctl_ok WHAT ARG...: the command must exit 0.
ctl_ok() {
    local what=$1
    shift
    ctl "$@"
    [ "$CTL_RC" = 0 ] ||
        fail "$what: bocache-ctl $* exited $CTL_RC: $(err)"
}

# ctl_usage WHAT ARG...: the command must exit 2 with the usage or a
# message on stderr and nothing on stdout.
ctl_usage() {
    local what=$1
    shift
    ctl "$@"
    assert_eq 2 "$CTL_RC" "usage error exits 2: $what"
    [ -s "$WORK/err" ] || fail "$what: no message on stderr"
    [ ! -s "$WORK/out" ] || fail "$what: output on stdout: $(out)"
}

# Entries (tests/setup's prime) are named "HEADER|URI" (HEADER may be
# empty, or several headers separated by ';').
entry_opts() {
    local h=${1%%|*} IFS=';' x
    for x in $h; do
        printf '%s\n' -H "$x"
    done
}
entry_uri() {
    printf '%s\n' "${1#*|}"
}

# The entry keys in Redis, sorted: under the prefix, not an index key, not
# the foreign guard key.
entry_keys() {
    redis_keys 'bocache:*' | grep -v '^bocache:#' |
        grep -vx 'bocache:foreign:42' | sort || true
}
# removed_since SNAPSHOT: the entry keys in SNAPSHOT that are gone now.
removed_since() {
    comm -23 <(printf '%s\n' "$1" | sed '/^$/d') <(entry_keys)
}

start_redis
start_backend
# A generous Redis bound: a busy test machine must not turn fills into
# BYPASSes; timeouts are it_redis_fault's business.
write_config 'log_level="debug"' redis.timeout_ms=1000
start_bocache

rcli set other:42 keep >/dev/null
rcli set bocache:foreign:42 keep >/dev/null

# --- usage errors: exit 2 -----------------------------------------------------
ctl_usage 'no command' 
ctl_usage 'unknown command' frobnicate
ctl_usage 'unknown option' -x stats
ctl_usage 'invalidate without a kind' invalidate
ctl_usage 'invalidate --pattern without a value' invalidate --pattern
ctl_usage 'invalidate with two kinds' invalidate --pattern '*' --tag a
ctl_usage 'invalidate --pattern and --partner-id' invalidate --pattern '*' \
    --partner-id 42
ctl_usage 'invalidate --tag with --uri' invalidate --tag a --uri /x
ctl_usage 'invalidate --uri alone' invalidate --uri /x
ctl_usage 'invalidate with an unknown option' invalidate --bogus
ctl_usage 'flush with an argument' flush now
ctl_usage 'key without a URI' key
ctl_usage 'key -H without a colon' key -H 'NoColon' /api/v1/public/a
ctl_usage 'show without a key' show
ctl_usage 'show with two keys' show a b
ctl_usage 'stats with an unknown option' stats --xml
assert_match '^usage: bocache-ctl' "$(head -n 1 "$WORK/err")" \
    "a usage error prints the usage"
"$CTL" --help >"$WORK/out" 2>&1 || fail "bocache-ctl --help did not exit 0"
assert_match 'invalidate --pattern GLOB' "$(out)" "--help shows the commands"

ctl -c "$WORK/nonexistent.conf" stats
assert_eq 1 "$CTL_RC" "a missing configuration file exits 1"
assert_match 'nonexistent\.conf' "$(err)" \
    "the message names the missing configuration file"

# --- key: the key the gateway stores -------------------------------------------
SECRET='sEcReT-api-key-0001'
check_key() { # check_key WHAT URI [-H 'Name: value']...
    local what=$1 uri=$2
    shift 2
    local before
    before=$(entry_keys)
    req "$@" "$uri" >"$WORK/r"
    assert_eq MISS "$(xcache "$WORK/r")" "$what: the gateway missed"
    wait_until 3 eval '[ -n "$(comm -13 <(printf "%s\n" "$before" | sed "/^$/d") <(entry_keys))" ]' ||
        fail "$what: the gateway stored no new key"
    STORED=$(comm -13 <(printf '%s\n' "$before" | sed '/^$/d') <(entry_keys))
    ctl_ok "$what" key "$@" "$uri"
    assert_eq "$STORED" "$(out)" "$what: bocache-ctl key prints the stored key"
}
check_key 'api_key' '/api/v1/sports/list?page=2&lang=en' \
    -H "X-Api-Key: $SECRET"
K_API=$STORED
assert_match '^bocache:api_key:k=[0-9a-f]{32}:/api/v1/sports/list\?lang=en&page=2$' \
    "$K_API" "api_key: the key has k= and 32 hex digits, the query sorted"
! grep -qF "$SECRET" "$WORK/out" "$WORK/err" ||
    fail "the raw API key appears in bocache-ctl's output"
ok "api_key: the raw API key is not in bocache-ctl's output"

check_key 'partner (header)' '/api/v1/partner/a?b=2&a=1' \
    -H 'X-Partner-Id: 42' -H 'Origin: https://w.example.com'
K_P42=$STORED
assert_eq 'bocache:partner_id_and_origin:p=42,o=https%3A//w.example.com:/api/v1/partner/a?a=1&b=2' \
    "$K_P42" "partner (header): the key is p=ID,o=ORIGIN with the path"
check_key 'partner (query parameter)' '/api/v1/partner/q?z=1&partner_id=142' \
    -H 'Origin: https://w.example.com'
K_P142=$STORED
assert_match '^bocache:partner_id_and_origin:p=142,o=https%3A//w\.example\.com:/api/v1/partner/q' \
    "$K_P142" "partner (query parameter): the key names partner 142"
check_key 'public with vary' '/api/v1/vary/?vary=Accept-Language' \
    -H 'Accept-Language: fr'
assert_match ':accept-language=fr$' "$STORED" "vary: the key ends in the vary segment"
ctl_ok 'HEAD' key -X HEAD -H 'X-Partner-Id: 42' -H 'Origin: https://w.example.com' \
    '/api/v1/partner/a?a=1&b=2'
assert_eq "$K_P42" "$(out)" "key -X HEAD maps to the GET entry's key"

not_cacheable() { # not_cacheable WHAT REGEX ARG...
    local what=$1 re=$2
    shift 2
    ctl key "$@"
    assert_eq 1 "$CTL_RC" "key for $what exits 1"
    assert_eq "" "$(out)" "key for $what prints no key"
    assert_match "$re" "$(err)" "key for $what says why"
}
not_cacheable 'a POST' 'method' -X POST /api/v1/public/a
not_cacheable 'a path without endpoint' 'no endpoint' /not/cached
not_cacheable 'a partner endpoint without partner id' 'identity' \
    -H 'Origin: https://w.example.com' /api/v1/partner/a
not_cacheable 'an api_key endpoint without API key' 'identity' /api/v1/sports/x

# --- show ------------------------------------------------------------------------
TAGGED='|/api/v1/public/tagged?tags=blue,red'
prime "$TAGGED" '|/api/v1/statuses/s?status=404'
ctl_ok 'key of the tagged entry' key '/api/v1/public/tagged?tags=blue,red'
K_TAG=$(out)
ctl_ok 'show' show "$K_TAG"
show_field() { sed -n "s/^$1: *//p" "$WORK/out"; }
assert_eq "$K_TAG" "$(show_field key)" "show: key"
assert_eq 200 "$(show_field status)" "show: status"
assert_match '^[0-9]+ s$' "$(show_field age)" "show: age in seconds"
assert_match '^300 s fresh, (29[0-9]|300) s left in Redis$' "$(show_field ttl)" \
    "show: the TTL, fresh and left in Redis"
assert_match '^[0-9]+ bytes \(head [0-9]+, body [0-9]+\)$' "$(show_field size)" \
    "show: size with head and body"
assert_eq 'blue red' "$(show_field tags)" "show: the entry's tags"
assert_eq "$(rcli strlen "$K_TAG") bytes" \
    "$(show_field size | sed 's/ (.*//')" "show: the size is the stored value's"
ctl_ok 'key of the 404 entry' key '/api/v1/statuses/s?status=404'
ctl_ok 'show 404' show "$(out)"
assert_eq 404 "$(show_field status)" "show: a stored 404 says status 404"
ctl_ok 'show api_key' show "$K_API"
! grep -qF "$SECRET" "$WORK/out" || fail "show prints the raw API key"
ok "show of an api_key entry does not print the API key"
ctl show 'bocache:none:-:/no/such/entry'
assert_eq 1 "$CTL_RC" "show of a missing key exits 1"
assert_match 'no entry' "$(err)" "show of a missing key says there is no entry"
ctl show other:42
assert_eq 1 "$CTL_RC" "show of a key that is not an entry exits 1"
assert_match 'not a bocache entry' "$(err)" "and says it is not an entry"

# --- stats -----------------------------------------------------------------------
# The gateway writes its own keys on its own (its counters, a store's
# indexes, which are sent after the response): count, ask, and count
# again, until the keyspace held still while stats read it (bounded).
counted_still() {
    N_ENTRIES=$(entry_keys | sed '/^$/d' | wc -l)
    N_INDEX=$(redis_keys 'bocache:#*' | wc -l)
    ctl_ok 'stats' stats >/dev/null
    [ "$N_ENTRIES $N_INDEX" = \
        "$(entry_keys | sed '/^$/d' | wc -l) $(redis_keys 'bocache:#*' | wc -l)" ]
}
wait_until 10 counted_still || fail "stats: the keyspace never held still"
assert_match "^entries +$N_ENTRIES\$" "$(grep -E '^entries ' "$WORK/out")" \
    "stats: counts the $N_ENTRIES entries"
assert_match "^index[ _]keys +$N_INDEX\$" "$(grep -E '^index[ _]keys ' "$WORK/out")" \
    "stats: counts the $N_INDEX index keys"
ctl_ok 'stats --json' stats --json
if command -v python3 >/dev/null; then
    python3 -m json.tool "$WORK/out" >/dev/null ||
        fail "stats --json is not valid JSON: $(out)"
    ok "stats --json is valid JSON (python3 -m json.tool)"
    assert_eq "$N_ENTRIES" "$(python3 -c 'import json,sys; print(json.load(sys.stdin)["entries"])' <"$WORK/out")" \
        "stats --json: entries"
else
    assert_match '^\{.*"entries": *[0-9]+.*\}$' "$(out)" \
        "stats --json looks like a JSON object"
fi

# --- invalidate with a gateway listening: removes, then publishes --------------
# Not through rcli: SUB_PID must be redis-cli's own.
"$REDIS_CLI" "${REDIS_CLI_ARGS[@]}" SUBSCRIBE "$CHANNEL" >"$WORK/sub" 2>&1 8>&- &
SUB_PID=$!
track "$SUB_PID"
wait_subscribed "$CHANNEL" 2 ||
    fail "the gateway and redis-cli did not both subscribe ($(subscribers "$CHANNEL"))"
P7='X-Partner-Id: 7;Origin: https://w.example.com|/api/v1/partner/a'
prime "$P7"
SNAP=$(entry_keys)
log_mark
ctl_ok 'invalidate --partner-id 7' invalidate --partner-id 7
assert_eq '1 entries removed' "$(out)" "invalidate prints how many entries it removed"
assert_eq 'bocache:partner_id_and_origin:p=7,o=https%3A//w.example.com:/api/v1/partner/a' \
    "$(removed_since "$SNAP")" "invalidate --partner-id 7 removed partner 7's entry at once"
wait_until 3 eval 'grep -q partner_id "$WORK/sub"' ||
    fail "bocache-ctl published nothing on $CHANNEL"
MSG=$(grep partner_id "$WORK/sub" | tail -n 1)
assert_match '"partner_id": *"7"' "$MSG" "the published message names partner 7"
ID=$(printf '%s\n' "$MSG" | sed -n 's/.*"id": *"\([^"]*\)".*/\1/p')
assert_match '^.{8,}$' "$ID" "the published message has an id ($ID)"
assert_eq 1 "$(rcli exists "bocache:#id:$ID")" "bocache-ctl claimed the id in Redis"
# shellcheck disable=SC2016 # expanded by eval
wait_until 3 eval 'new_lines | grep -q "$ID: removed by another process"' ||
    fail "the gateway did not see that bocache-ctl had removed message $ID"
ok "the gateway took bocache-ctl's message as already removed"
stop_pid "$SUB_PID"

# --- invalidate with no gateway running: synchronous removal -------------------
E_P42A='X-Partner-Id: 42;Origin: https://w.example.com|/api/v1/partner/a'
E_P42B='X-Partner-Id: 42;Origin: https://w.example.com|/api/v1/partner/b'
E_P142A='X-Partner-Id: 142;Origin: https://w.example.com|/api/v1/partner/a'
E_P7A='X-Partner-Id: 7;Origin: https://w.example.com|/api/v1/partner/a'
E_P7C='X-Partner-Id: 7;Origin: https://w.example.com|/api/v1/partner/c'
E_BLUE='|/api/v1/public/x?tags=blue'
E_RED='|/api/v1/public/y?tags=red,green'
E_CD='|/api/v1/public/c/d'
E_Z='|/api/v1/public/z'
# Start from an empty cache, so that the counts below are exact.
ctl_ok 'flush before the fixture' flush
assert_eq "" "$(entry_keys)" "flush empties the cache"
prime "$E_P42A" "$E_P42B" "$E_P142A" "$E_P7A" "$E_P7C" "$E_BLUE" "$E_RED" \
    "$E_CD" "$E_Z"
stop_bocache
# Redis sees the gone gateway's connection close in its own time.
wait_subscribed "$CHANNEL" 0 || true
assert_eq 0 "$(subscribers "$CHANNEL")" \
    "no gateway is listening on $CHANNEL"

# step WHAT EXPECTED_COUNT EXPECTED_KEY_REGEX ARG...: runs bocache-ctl ARG...
# and checks its output and which entry keys went.
step() {
    local what=$1 n=$2 re=$3 snap gone
    shift 3
    snap=$(entry_keys)
    ctl_ok "$what" "$@"
    assert_eq "$n entries removed" "$(out)" "$what: prints '$n entries removed'"
    gone=$(removed_since "$snap")
    assert_eq "$n" "$(printf '%s\n' "$gone" | sed '/^$/d' | wc -l)" \
        "$what: $n entry keys are gone from Redis"
    if [ "$n" -gt 0 ]; then
        printf '%s\n' "$gone" | grep -Evq -- "$re" &&
            fail "$what: removed a key it should not have: $(printf '%s\n' "$gone" | grep -Ev -- "$re")"
        ok "$what: only matching keys went"
    fi
}
step 'partner 42 under /api/v1/partner/b' 1 'p=42,.*:/api/v1/partner/b$' \
    invalidate --partner-id 42 --uri /api/v1/partner/b
step 'partner 42' 1 'p=42,.*:/api/v1/partner/a$' invalidate --partner-id 42
step "pattern '*p=7,*' under /api/v1/partner/c" 1 'p=7,.*:/api/v1/partner/c$' \
    invalidate --pattern '*p=7,*' --uri /api/v1/partner/c
step 'tags blue and red' 2 ':/api/v1/public/(x\?tags=blue|y\?tags=red,green)$' \
    invalidate --tag blue red
step 'an unknown tag' 0 '' invalidate --tag no-such-tag
step "pattern '*42*' (partner 142)" 1 'p=142,' invalidate --pattern '*42*'
REST=$(entry_keys | sed '/^$/d' | wc -l)
[ "$REST" -gt 0 ] || fail "no entries left for flush"
INTERNAL=$(redis_keys 'bocache:#*' | sort)
step 'flush' "$REST" '^bocache:' flush
assert_eq "" "$(entry_keys)" "flush: no entry key is left"
assert_eq keep "$(rcli get other:42)" "flush: other:42 survives"
assert_eq keep "$(rcli get bocache:foreign:42)" "flush: bocache:foreign:42 survives"
assert_eq "" "$(comm -23 <(printf '%s\n' "$INTERNAL") \
    <(redis_keys 'bocache:#*' | sort))" \
    "flush: every #tag/#path/#id key survives"
assert_match . "$(redis_keys 'bocache:#tagz:*' | head -n 1)" \
    "flush: #tag keys survive"
assert_match . "$(redis_keys 'bocache:#id:*' | head -n 1)" \
    "flush: the #id keys survive"
step 'flush of an empty cache' 0 '' flush

# --- Redis down: exit 1 naming the address -------------------------------------
# An address where nothing answers, of the suite's transport.
if [ "$BC_REDIS" = unix ]; then
    DEAD=unix:$WORK/dead-redis.sock
else
    DEAD=127.0.0.1:$(free_port)
fi
sed "s|\"$REDIS_ADDR\"|\"$DEAD\"|" "$CONFIG" >"$WORK/down.conf"
grep -qF "\"$DEAD\"" "$WORK/down.conf" || fail "could not write down.conf"
for cmd in 'invalidate --pattern *' 'invalidate --partner-id 42' \
    'invalidate --tag blue' flush stats 'stats --json' \
    'show bocache:none:-:/api/v1/public/z'; do
    read -ra args <<<"$cmd"
    ctl -c "$WORK/down.conf" "${args[@]}"
    assert_eq 1 "$CTL_RC" "Redis down: '$cmd' exits 1"
    msg=$(grep '^bocache-ctl:' "$WORK/err" | tail -n 1)
    assert_match "${DEAD//./\\.}" "$msg" \
        "Redis down: '$cmd' says so naming the address ($msg)"
done
ctl -c "$WORK/down.conf" key /api/v1/public/z
assert_eq 0 "$CTL_RC" "Redis down: key needs no Redis and exits 0"
assert_eq 'bocache:none:-:/api/v1/public/z' "$(out)" "Redis down: key still prints the key"

# --- a --uri without its leading / (SPEC 5: the / is added) --------------------
# Last, so that a failure here hides no other check.
start_bocache
prime "$E_CD" "$E_Z" "$E_P7A"
stop_bocache
step 'pattern * with --uri api/v1/public/c/ (no leading /)' 1 \
    ':/api/v1/public/c/d$' invalidate --pattern '*' --uri api/v1/public/c/
step 'partner 7 with --uri api/v1/partner/a (no leading /)' 1 \
    'p=7,.*:/api/v1/partner/a$' invalidate --partner-id 7 --uri api/v1/partner/a
