#!/bin/bash
# it_identity.sh: entries are kept apart by the caller's identity (API key,
# partner and origin), API keys never show in Redis keys or logs, and a
# request without the identity its endpoint needs is not cached.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

start_redis
start_backend
write_config 'log_level="debug"'
start_bocache

KEY_A='alpha-SeCrEt-0001'
KEY_B='beta-SeCrEt-0002'

# --- api_key ---------------------------------------------------------------
S='/api/v1/sports/list?page=1'
req -H "X-Api-Key: $KEY_A" "$S" >"$WORK/a1"
req -H "X-Api-Key: $KEY_A" "$S" >"$WORK/a2"
req -H "X-Api-Key: $KEY_B" "$S" >"$WORK/b1"
req -H "X-Api-Key: $KEY_A" "$S" >"$WORK/a3"
assert_eq MISS "$(xcache "$WORK/a1")" "api_key: key A is a MISS"
assert_eq HIT "$(xcache "$WORK/a2")" "api_key: key A again is a HIT"
assert_eq MISS "$(xcache "$WORK/b1")" "api_key: key B is a MISS (not A's entry)"
assert_match "key=$KEY_B" "$(body "$WORK/b1" | head -n 1)" \
    "api_key: key B got the backend's answer for B"
assert_eq "$(call_of "$WORK/a1")" "$(call_of "$WORK/a3")" \
    "api_key: key A still gets A's entry"
assert_eq 2 "$(backend_count)" "api_key: two keys, two backend calls"

KA="bocache:api_key:k=$(api_key_hash "$KEY_A"):/api/v1/sports/list?page=1"
wait_key "$KA" || fail "no entry $KA; keys: $(redis_keys | tr '\n' ' ')"
ok "api_key: the entry key holds k= and 32 hex digits of SHA-256"
ttl=$(rcli ttl "$KA")
[ "$ttl" -gt 590 ] && [ "$ttl" -le 600 ] ||
    fail "the endpoint's ttl = 600 should be the entry's TTL, got $ttl"
ok "api_key: the entry has the endpoint's TTL ($ttl s)"

if redis_keys '*' | grep -q -e "$KEY_A" -e "$KEY_B" -e SeCrEt; then
    fail "a raw API key appears in the Redis keys"
fi
ok "no raw API key appears in the Redis keys"
if grep -q -e "$KEY_A" -e "$KEY_B" -e SeCrEt "$BOCACHE_LOG"; then
    fail "a raw API key appears in the bocache log (debug level)"
fi
ok "no raw API key appears in the bocache log (debug level)"

# --- partner_id_and_origin ----------------------------------------------------
P=/api/v1/partner/widgets
OX='https://x.example.com'
OY='https://y.example.com'
preq() {
    req -H "X-Partner-Id: $1" -H "Origin: $2" "$3"
}
preq 42 "$OX" "$P" >"$WORK/p1"
preq 42 "$OX" "$P" >"$WORK/p2"
preq 42 "$OY" "$P" >"$WORK/p3"
preq 43 "$OX" "$P" >"$WORK/p4"
preq 42 "$OX" "$P" >"$WORK/p5"
assert_eq MISS "$(xcache "$WORK/p1")" "partner 42, origin X is a MISS"
assert_eq HIT "$(xcache "$WORK/p2")" "partner 42, origin X again is a HIT"
assert_eq MISS "$(xcache "$WORK/p3")" "partner 42, origin Y is another entry"
assert_eq MISS "$(xcache "$WORK/p4")" "partner 43, origin X is another entry"
assert_eq "$(call_of "$WORK/p1")" "$(call_of "$WORK/p5")" \
    "partner 42, origin X still gets its own entry"
PK='bocache:partner_id_and_origin:p=42,o=https%3A//x.example.com:/api/v1/partner/widgets'
wait_key "$PK" || fail "no entry $PK; keys: $(redis_keys | tr '\n' ' ')"
ok "partner: the entry key is p=42,o=ORIGIN with ':' percent-encoded"

# The partner id may come from the query when the header is absent.
Q='/api/v1/partner/widgets?partner_id=44'
req -H "Origin: $OX" "$Q" >"$WORK/q1"
req -H "Origin: $OX" "$Q" >"$WORK/q2"
assert_eq MISS "$(xcache "$WORK/q1")" "partner id from ?partner_id=44 is a MISS"
assert_eq HIT "$(xcache "$WORK/q2")" "and then a HIT"
wait_key 'bocache:partner_id_and_origin:p=44,*' ||
    fail "no entry with p=44: $(redis_keys | tr '\n' ' ')"
ok "partner: ?partner_id=44 is the identity p=44"
# SPEC 4.1: the backend may read the header or the parameter, so two
# different partners in one request are never keyed on either.
preq 45 "$OX" "$Q" >"$WORK/q3"
assert_eq BYPASS "$(xcache "$WORK/q3")" "X-Partner-Id: 45 with ?partner_id=44 bypasses"
assert_match 'detail=duplicate-header' "$(header Cache-Status "$WORK/q3")" "... as detail=duplicate-header"
preq 44 "$OX" "$Q" >"$WORK/q4"
assert_eq HIT "$(xcache "$WORK/q4")" "X-Partner-Id: 44 with ?partner_id=44 is the same partner: HIT"

# --- a missing identity bypasses the cache --------------------------------------
before=$(backend_count)
req "$S" >"$WORK/n1"
req "$S" >"$WORK/n2"
assert_eq BYPASS "$(xcache "$WORK/n1")" "api_key endpoint without X-Api-Key: BYPASS"
assert_eq BYPASS "$(xcache "$WORK/n2")" "and again BYPASS"
assert_match '^bocache; fwd=bypass' "$(header Cache-Status "$WORK/n1")" \
    "Cache-Status says fwd=bypass"
assert_eq "$(body "$WORK/n2" | head -n 1 | sed 's/^call=[0-9]* //')" \
    "method=GET uri=$S key=- partner=- origin=-" \
    "the backend saw the request without a key"
req -H "Origin: $OX" "$P" >"$WORK/n3"
req -H "Origin: $OX" "$P" >"$WORK/n4"
assert_eq BYPASS "$(xcache "$WORK/n3")" "partner endpoint without a partner id: BYPASS"
assert_eq BYPASS "$(xcache "$WORK/n4")" "and again BYPASS"
assert_eq $((before + 4)) "$(backend_count)" \
    "requests without identity reach the backend every time"

# --- key_type none is shared by every caller -----------------------------------
req -H "X-Api-Key: $KEY_A" /api/v1/public/shared >"$WORK/s1"
req -H "X-Api-Key: $KEY_B" /api/v1/public/shared >"$WORK/s2"
preq 42 "$OY" /api/v1/public/shared >"$WORK/s3"
req /api/v1/public/shared >"$WORK/s4"
assert_eq MISS "$(xcache "$WORK/s1")" "none: the first caller is a MISS"
assert_eq HIT "$(xcache "$WORK/s2")" "none: another API key is a HIT"
assert_eq HIT "$(xcache "$WORK/s3")" "none: a partner is a HIT"
assert_eq HIT "$(xcache "$WORK/s4")" "none: an anonymous caller is a HIT"
assert_eq "$(call_of "$WORK/s1")" "$(call_of "$WORK/s4")" \
    "none: all callers got the same backend answer"

# --- SPEC 4.1: what the web server passes twice, or rewrote ----------------------
# fcgi_get -P appends a second copy of a parameter, as nginx passes a
# repeated header (or a configuration that sets a variable twice).
U=/api/v1/public/rules
req "$U" >"$WORK/r0"
assert_eq MISS "$(xcache "$WORK/r0")" "rules: a plain request is cached (MISS)"
for dup in REQUEST_URI=/api/v1/public/other QUERY_STRING=x=1 \
    DOCUMENT_URI=/api/v1/public/other REQUEST_METHOD=POST \
    HTTP_X_PARTNER_ID=43; do
    case $dup in
    HTTP_X_PARTNER_ID=*) r=(-H 'X-Partner-Id: 42' -H "Origin: $OX" /api/v1/partner/rules) ;;
    *) r=("$U") ;;
    esac
    req -P "$dup" "${r[@]}" >"$WORK/r1"
    assert_match 'fwd=bypass; detail=duplicate-header' "$(header Cache-Status "$WORK/r1")" \
        "a second ${dup%%=*} bypasses (detail=duplicate-header)"
done
req -p DOCUMENT_URI=/api/v1/account "$U" >"$WORK/r2"
assert_match 'fwd=bypass; detail=path' "$(header Cache-Status "$WORK/r2")" \
    "a DOCUMENT_URI other than the decoded path bypasses (detail=path)"
req "$U" >"$WORK/r3"
assert_eq HIT "$(xcache "$WORK/r3")" "... and none of them touched the entry (HIT)"
assert_eq "$(call_of "$WORK/r0")" "$(call_of "$WORK/r3")" "... which is still the first answer"
