#!/bin/bash
# it_freshness.sh: freshness as RFC 9111 says (SPEC 6), through a real nginx
# in front of bocache and the test backend: Expires (and invalid ones),
# the backend's Age counted and one Age on the way out, Bocache-Cache-Control
# (RFC 9213), no-cache, must-revalidate, stale-if-error /
# stale-while-revalidate (RFC 5861) and the statuses stored only with
# explicit freshness. The backend's headers come from its hdr= knob.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/nginx_setup"

# ttl 300, no stale window; status and sleep_ms are left out of the key so
# a failing or slow request names the same entry.
EP_FR='{ path = "/api/v1/fr/"; match = "prefix"; key_type = "none"; ttl = 300; stale_ttl = 0; ignore_params = ["status", "sleep_ms"]; }'
# The same with a 30 s stale window, for must-revalidate.
EP_MR='{ path = "/api/v1/mr/"; match = "prefix"; key_type = "none"; ttl = 300; stale_ttl = 30; ignore_params = ["status", "sleep_ms"]; }'
EP_ST='{ path = "/api/v1/st/"; match = "prefix"; key_type = "none"; statuses = [200, 302, 404]; }'

nginx_locations() {
    cat <<LOC
        location /api/ {
            include $FASTCGI_PARAMS;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
LOC
}

# enc TEXT: TEXT as a query value (the backend percent-decodes it).
enc() {
    local s=$1
    s=${s//%/%25}
    s=${s// /%20}
    s=${s//,/%2C}
    s=${s//+/%2B}
    s=${s//\"/%22}
    s=${s//&/%26}
    printf '%s' "$s"
}

# httpdate FORMAT OFFSET: now + OFFSET seconds in strftime FORMAT, GMT.
httpdate() {
    LC_ALL=C date -u -d "@$(($(date +%s) + $2))" "+$1"
}
IMF='%a, %d %b %Y %H:%M:%S GMT'

# fetch FILE PATH: a GET through nginx, head and body into FILE.
fetch() {
    curl -s --max-time 15 -D - -o - "http://127.0.0.1:$HTTP_PORT$2" >"$1" ||
        true
}

# two PATH: two GETs of PATH into $WORK/a and $WORK/b.
two() {
    fetch "$WORK/a" "$1"
    fetch "$WORK/b" "$1"
}

# header_lines NAME FILE: how many lines of FILE's head are header NAME.
header_lines() {
    sed -n '1,/^\r\{0,1\}$/p' "$2" | grep -ic "^$1:" || true
}

# cs_ttl FILE: the ttl= of the Cache-Status in FILE.
cs_ttl() {
    cache_status "$1" | sed -n 's/.*ttl=\(-\{0,1\}[0-9]*\).*/\1/p'
}

start_redis
start_backend
write_config redis.timeout_ms=2000 cache.lock_timeout_ms=5000 \
    endpoint="$EP_FR" endpoint="$EP_MR" endpoint="$EP_ST"
start_bocache
start_nginx /api/v1/fr/ready

# --- 1. Expires ----------------------------------------------------------------
# expires_row NAME VALUE STORED: a response with Expires: VALUE (and no
# Cache-Control) is stored (HIT on the second request) or not (expired).
n=0
expires_row() {
    n=$((n + 1))
    two "/api/v1/fr/e$n?hdr=$(enc "Expires: $2")"
    if [ "$3" = stored ]; then
        assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
            "[1 expires] $1 ($2): stored"
    else
        assert_eq "MISS MISS" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
            "[1 expires] $1 ($2): not stored"
        assert_match 'detail=expired' "$(cache_status "$WORK/a")" \
            "[1 expires] $1: Cache-Status says detail=expired"
    fi
}
expires_row "an hour ahead" "$(httpdate "$IMF" 3600)" stored
assert_le 300 "$(cs_ttl "$WORK/b")" "[1 expires] an hour ahead: the endpoint's ttl caps it"
expires_row "30 s ahead" "$(httpdate "$IMF" 30)" stored
assert_le 30 "$(cs_ttl "$WORK/b")" "[1 expires] 30 s ahead: ttl <= 30"
assert_le "$(cs_ttl "$WORK/b")" 25 "[1 expires] 30 s ahead: ttl >= 25"
expires_row "RFC 850, ahead" "$(httpdate '%A, %d-%b-%y %H:%M:%S GMT' 3600)" stored
expires_row "asctime, ahead" "$(httpdate '%a %b %e %H:%M:%S %Y' 3600)" stored
expires_row "a month ago" "$(httpdate "$IMF" -2592000)" expired
expires_row "zero" "0" expired
expires_row "a two-digit year" "$(httpdate '%a, %d %b %y %H:%M:%S GMT' 3600)" expired
expires_row "UTC" "$(httpdate '%a, %d %b %Y %H:%M:%S UTC' 3600)" expired
expires_row "+0000" "$(httpdate '%a, %d %b %Y %H:%M:%S +0000' 3600)" expired
expires_row "junk" "tomorrow" expired
# max-age and s-maxage win over Expires.
two "/api/v1/fr/e-ma?hdr=$(enc "Cache-Control: max-age=60")&hdr=$(enc "Expires: $(httpdate "$IMF" -2592000)")"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
    "[1 expires] max-age=60 beside an Expires in the past: stored"
assert_le 60 "$(cs_ttl "$WORK/b")" "[1 expires] ... for max-age's 60 s"

# --- 2. Age --------------------------------------------------------------------
A="/api/v1/fr/age?hdr=$(enc "Age: 30")&hdr=$(enc "Cache-Control: max-age=100")"
two "$A"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" "[2 age] Age: 30 with max-age=100 is stored"
assert_eq 1 "$(header_lines Age "$WORK/b")" "[2 age] the HIT carries exactly one Age header"
age=$(header Age "$WORK/b")
assert_le "$age" 30 "[2 age] ... at least the backend's 30 ($age)"
assert_eq 100 $(($(cs_ttl "$WORK/b") + age)) "[2 age] Cache-Status ttl + Age is the lifetime, 100"
age_grew() {
    fetch "$WORK/c" "$A"
    [ "$(header Age "$WORK/c")" -ge $((age + 1)) ]
}
wait_until 5 age_grew || fail "[2 age] Age did not grow with the time in the cache"
ok "[2 age] Age grows with the time in the cache ($(header Age "$WORK/c"))"
assert_eq 1 "$(header_lines Age "$WORK/c")" "[2 age] ... still one Age header"
two "/api/v1/fr/age-old?hdr=$(enc "Age: 200")&hdr=$(enc "Cache-Control: max-age=100")"
assert_eq "MISS MISS" "$(xcache "$WORK/a") $(xcache "$WORK/b")" "[2 age] Age: 200 with max-age=100 is not stored"
assert_match 'detail=expired' "$(cache_status "$WORK/a")" "[2 age] ... detail=expired"
two "/api/v1/fr/age-huge?hdr=$(enc "Age: 99999999999")"
assert_eq "MISS MISS" "$(xcache "$WORK/a") $(xcache "$WORK/b")" "[2 age] a huge Age saturates: not stored"
two "/api/v1/fr/age-bad?hdr=$(enc "Age: abc")"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" "[2 age] Age: abc is ignored: stored"
assert_le 5 "$(header Age "$WORK/b")" "[2 age] ... and the HIT's Age is the time in the cache"
two "/api/v1/fr/age-two?hdr=$(enc "Age: 10")&hdr=$(enc "Age: 500")"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" "[2 age] two Age lines: the first (10) wins"
assert_le "$(header Age "$WORK/b")" 10 "[2 age] ... and counts"

# --- 3. Bocache-Cache-Control (RFC 9213) ----------------------------------------
T="/api/v1/fr/t1?hdr=$(enc "Cache-Control: no-store")&hdr=$(enc "Bocache-Cache-Control: max-age=60")"
two "$T"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
    "[3 targeted] Cache-Control: no-store with Bocache-Cache-Control: max-age=60 is stored"
assert_eq "no-store no-store" "$(header Cache-Control "$WORK/a") $(header Cache-Control "$WORK/b")" \
    "[3 targeted] the client gets the backend's Cache-Control untouched, on the MISS and the HIT"
assert_eq "0 0" "$(header_lines Bocache-Cache-Control "$WORK/a") $(header_lines Bocache-Cache-Control "$WORK/b")" \
    "[3 targeted] Bocache-Cache-Control never reaches the client"
two "/api/v1/fr/t2?hdr=$(enc "Cache-Control: max-age=60")&hdr=$(enc "Bocache-Cache-Control: no-store")"
assert_eq "MISS MISS" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
    "[3 targeted] Bocache-Cache-Control: no-store beats Cache-Control: max-age=60"
two "/api/v1/fr/t3?hdr=$(enc "Cache-Control: no-store")&hdr=$(enc "Bocache-Cache-Control: max-age=60 junk junk")"
assert_eq "MISS MISS" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
    "[3 targeted] a malformed Bocache-Cache-Control is ignored: Cache-Control decides"

# --- 4. no-cache ---------------------------------------------------------------
NC="/api/v1/fr/nc?hdr=$(enc "Cache-Control: no-cache")"
fetch "$WORK/a" "$NC"
# The store is sent after the response: wait for it.
nc_stored() { [ -n "$(redis_keys 'bocache:none:-:/api/v1/fr/nc*')" ]; }
wait_until 5 nc_stored || fail "[4 no-cache] a no-cache response is not stored"
ok "[4 no-cache] a no-cache response is stored"
fetch "$WORK/b" "$NC"
assert_eq MISS "$(xcache "$WORK/b")" "[4 no-cache] ... and never served without the backend"
[ "$(call_of "$WORK/b")" -gt "$(call_of "$WORK/a")" ] ||
    fail "[4 no-cache] the second request did not reach the backend"
ok "[4 no-cache] the second request reached the backend"

# --- 5. stale-if-error, must-revalidate (RFC 5861, RFC 9111 5.2.2.2) ------------
# stale_after FILE: waits (bounded) until the entry fetched into FILE is
# past its 1 s lifetime by the gateway's clock, as Cache-Status would say.
stale_after() {
    local t0 t
    stamp t0
    wait_until 5 eval 'stamp t; [ $((t - t0)) -ge 1100 ]' ||
        fail "the clock did not move"
}
SIE="/api/v1/fr/sie?hdr=$(enc "Cache-Control: max-age=1, stale-if-error=30")"
fetch "$WORK/a" "$SIE"
stale_after
fetch "$WORK/b" "$SIE&status=500"
assert_eq STALE "$(xcache "$WORK/b")" "[5 sie] stale-if-error=30: a 500 after expiry is answered STALE"
assert_eq "$(call_of "$WORK/a")" "$(call_of "$WORK/b")" "[5 sie] ... with the stored body"
PLAIN="/api/v1/fr/plain?hdr=$(enc "Cache-Control: max-age=1")"
fetch "$WORK/a" "$PLAIN"
stale_after
fetch "$WORK/b" "$PLAIN&status=500"
assert_match '^HTTP/[0-9.]+ 500' "$(head -n 1 "$WORK/b")" \
    "[5 sie] without stale-if-error (stale_ttl 0) the 500 goes through"
MR="/api/v1/mr/mr?hdr=$(enc "Cache-Control: max-age=1, must-revalidate")"
fetch "$WORK/a" "$MR"
stale_after
fetch "$WORK/b" "$MR&status=500"
assert_match '^HTTP/[0-9.]+ 500' "$(head -n 1 "$WORK/b")" \
    "[5 must-revalidate] stale_ttl 30 but must-revalidate: the 500 goes through, not STALE"
MP="/api/v1/mr/plain?hdr=$(enc "Cache-Control: max-age=1")"
fetch "$WORK/a" "$MP"
stale_after
fetch "$WORK/b" "$MP&status=500"
assert_eq STALE "$(xcache "$WORK/b")" "[5 must-revalidate] the same without must-revalidate is STALE"
PR="/api/v1/mr/pr?hdr=$(enc "Cache-Control: max-age=1, proxy-revalidate")"
fetch "$WORK/a" "$PR"
stale_after
fetch "$WORK/b" "$PR&status=500"
assert_match '^HTTP/[0-9.]+ 500' "$(head -n 1 "$WORK/b")" \
    "[5 must-revalidate] proxy-revalidate too"

# --- 6. statuses ----------------------------------------------------------------
two "/api/v1/st/404?status=404"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" "[6 statuses] a listed 404 is stored with the endpoint ttl"
two "/api/v1/st/302?status=302"
assert_eq "MISS MISS" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
    "[6 statuses] a listed 302 without explicit freshness is not stored"
assert_match 'detail=status' "$(cache_status "$WORK/a")" "[6 statuses] ... detail=status"
two "/api/v1/st/302ma?status=302&hdr=$(enc "Cache-Control: max-age=60")"
assert_eq "MISS HIT" "$(xcache "$WORK/a") $(xcache "$WORK/b")" \
    "[6 statuses] a listed 302 with max-age=60 is stored"

