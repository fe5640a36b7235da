#!/bin/bash
# it_nostore.sh: answers that must not be stored reach the client whole but
# leave no entry, so the next request goes to the backend again.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

start_redis
start_backend
write_config cache.max_object_size=4096
start_bocache

# not_stored WHAT EXPECTED_STATUS PATH_UNDER_PUBLIC[?QUERY]
not_stored() {
    local what=$1 want=$2 uri=/api/v1/public/ns/$3 before
    local name=${3%%\?*}
    before=$(backend_count)
    req "$uri" >"$WORK/$name.1"
    req "$uri" >"$WORK/$name.2"
    assert_eq "$want" "$(status "$WORK/$name.1")" "$what: the client gets $want"
    assert_ne HIT "$(xcache "$WORK/$name.2")" "$what: the second request is no HIT"
    assert_eq $((before + 2)) "$(backend_count)" \
        "$what: the backend is called again"
    case $(header Cache-Status "$WORK/$name.1") in
    *stored*) fail "$what: Cache-Status says stored" ;;
    esac
    assert_eq "" "$(redis_keys "bocache:*:/api/v1/public/ns/$name*")" \
        "$what: no entry in Redis"
}

# A control: a plain answer on the same endpoint is stored.
req /api/v1/public/ns/plain >"$WORK/c1"
req /api/v1/public/ns/plain >"$WORK/c2"
assert_eq HIT "$(xcache "$WORK/c2")" "control: a plain 200 is stored"
wait_key 'bocache:none:-:/api/v1/public/ns/plain' ||
    fail "control: no Redis entry for the plain 200"

not_stored "status 500 (not in statuses)" 500 's500?status=500'
not_stored "status 404 (default statuses = [200])" 404 's404?status=404'
req '/api/v1/statuses/nf?status=404' >"$WORK/st1"
req '/api/v1/statuses/nf?status=404' >"$WORK/st2"
assert_eq 404 "$(status "$WORK/st2")" "statuses = [200, 404]: 404 is passed on"
assert_eq HIT "$(xcache "$WORK/st2")" "statuses = [200, 404]: a 404 is stored"

not_stored "Set-Cookie" 200 'cookie?cookie=1'
assert_match '^session=' "$(header Set-Cookie "$WORK/cookie.1")" \
    "Set-Cookie: the cookie reaches the client"
not_stored "Cache-Control: no-store" 200 'nostore?cc=no-store'
not_stored "Cache-Control: private" 200 'private?cc=private'
not_stored "Cache-Control: private, max-age=60" 200 \
    'private60?cc=private%2C%20max-age%3D60'
not_stored "Cache-Control: max-age=0" 200 'maxage0?cc=max-age%3D0'
not_stored "Vary: *" 200 'varystar?vary=*'
not_stored "Vary on a header the endpoint does not key on" 200 \
    'varycookie?vary=Cookie'

# Over max_object_size (4096): streamed whole, not stored.
not_stored "body over max_object_size" 200 'big?size=10000'
first=$(body "$WORK/big.1" | head -n 1 | wc -c)
assert_eq $((first + 10000)) "$(body "$WORK/big.2" | wc -c)" \
    "body over max_object_size: all $((first + 10000)) bytes arrive"
assert_eq 0 "$(body "$WORK/big.2" | tail -c 10000 | tr -d x | wc -c)" \
    "body over max_object_size: the padding is intact"
# Just under the limit is stored (the limit is not off by far).
req '/api/v1/public/ns/small?size=3000' >/dev/null
req '/api/v1/public/ns/small?size=3000' >"$WORK/small"
assert_eq HIT "$(xcache "$WORK/small")" "a body under max_object_size is stored"

# A backend head that is not a CGI head.
not_stored "a garbage backend head" 502 'garbage?garbage=1'
body "$WORK/garbage.1" | grep -q 'this is not a header' &&
    fail "the garbage went to the client"
ok "a garbage backend head is not passed to the client"
