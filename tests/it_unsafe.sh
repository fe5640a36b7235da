#!/bin/bash
# it_unsafe.sh: RFC 9111 4.4 and SPEC 6, read your writes. A successful
# answer to any method but GET, HEAD, OPTIONS and TRACE invalidates the
# request path's entries, and the same-origin paths of its Location and
# Content-Location, before the answer ends: the client's next GET is never
# served the old entry (40 rounds, memory tier on). Unknown methods count
# as unsafe; errors and safe methods invalidate nothing; a Location on
# another origin is left alone; a write while Redis is away is logged.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/nginx_setup"

nginx_locations() {
    cat <<LOC
        location /api/ {
            include $FASTCGI_PARAMS;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
LOC
}

start_redis
start_backend
write_config workers=4 cache.memory_size=8388608 cache.memory_ttl=30
start_bocache

# fresh NAME PATH: PATH's next GET reached the backend (a MISS).
fresh() {
    req "$2" >"$WORK/$1"
    [ "$(xcache "$WORK/$1")" = MISS ]
}

# --- read your writes, 40 rounds ----------------------------------------------
# Through nginx, the GET on the same client connection right behind the
# POST (curl --next): it reaches bocache microseconds after nginx relayed
# the POST's answer, so an invalidation made after END_REQUEST loses the
# race most of the time; one made before it never can.
start_nginx /none
P=/api/v1/public/ryw
U=http://127.0.0.1:$HTTP_PORT$P
stale=0
for i in $(seq 1 40); do
    req "$P" >/dev/null
    req "$P" >"$WORK/h"
    [ "$(xcache "$WORK/h")" = HIT ] || fail "round $i: the second GET was not a HIT"
    curl -s --max-time 10 -o /dev/null -X POST -d "x=$i" "$U" \
        --next -s --max-time 10 -D "$WORK/g" -o /dev/null "$U" ||
        fail "round $i: no answer from nginx"
    [ "$(xcache "$WORK/g")" = MISS ] || stale=$((stale + 1))
done
assert_eq 0 "$stale" "POST then GET, 40 rounds: the GET right after the POST is never the old entry"

# --- which methods invalidate ------------------------------------------------------
for m in PUT PATCH DELETE PURGEX FROB; do
    req "$P" >/dev/null
    req "$P" >"$WORK/h"
    assert_eq HIT "$(xcache "$WORK/h")" "$m: the entry is there (HIT)"
    req -X "$m" "$P" >/dev/null
    fresh g "$P" || fail "$m: the next GET was $(xcache "$WORK/g"), not MISS"
    ok "$m (any method but GET, HEAD, OPTIONS, TRACE) invalidates the path"
done
req "$P" >/dev/null
for m in OPTIONS TRACE; do
    req -X "$m" "$P" >/dev/null
    req "$P" >"$WORK/h"
    assert_eq HIT "$(xcache "$WORK/h")" "$m is safe: it invalidates nothing"
done
req -X POST "$P?status=500" >/dev/null
req "$P" >"$WORK/h"
assert_eq HIT "$(xcache "$WORK/h")" "a POST answered 500 invalidates nothing"

# --- Location and Content-Location ------------------------------------------------
L1=/api/v1/public/loc-target
L2=/api/v1/public/cloc-target
L3=/api/v1/public/other-origin
for u in "$L1" "$L1?page=2" "$L2" "$L3"; do
    req "$u" >/dev/null
    req "$u" >"$WORK/h"
    [ "$(xcache "$WORK/h")" = HIT ] || fail "$u is not cached"
done
req -X POST "/api/v1/public/orders?status=201&location=$L1%3Fid%3D9&clocation=http%3A%2F%2Flocalhost$L2" >"$WORK/w"
assert_eq 201 "$(status "$WORK/w")" "POST answered 201 with Location and Content-Location"
fresh l1 "$L1" || fail "Location: $L1?id=9 did not invalidate $L1"
ok "the Location path is invalidated (query and all)"
fresh l1q "$L1?page=2" || fail "Location: $L1?id=9 did not invalidate $L1?page=2"
ok "... every entry of that path"
fresh l2 "$L2" || fail "Content-Location on this origin (http://localhost) did not invalidate $L2"
ok "a same-origin absolute Content-Location is invalidated"
req -X POST "/api/v1/public/orders?status=201&location=http%3A%2F%2Fevil.example$L3" >/dev/null
req "$L3" >"$WORK/h"
assert_eq HIT "$(xcache "$WORK/h")" "a Location on another origin invalidates nothing"

# --- Redis away at the moment of the write ------------------------------------------
req "$P" >/dev/null
stop_redis
req -X POST "$P" >"$WORK/w"
assert_eq 200 "$(status "$WORK/w")" "a POST while Redis is down is still answered"
wait_until 5 grep -q 'did not take the invalidation after an unsafe request' "$BOCACHE_LOG" ||
    fail "the lost invalidation was not logged"
ok "... and the invalidation it could not make is logged"
