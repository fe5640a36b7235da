#!/bin/bash
# it_poison_nginx.sh: no caller is ever served another caller's answer,
# through a real nginx in front of bocache and php-cgi (tests/caller.php,
# which answers for the caller as PHP reads it: a repeated parameter's last
# copy). SPEC 4, 4.1 and 4.2:
#  * repeated identity, Origin and vary headers, and a repeated partner_id
#    parameter, bypass (detail=duplicate-header) instead of keying on one
#    copy while the backend answers for the other;
#  * raw paths the web server or the backend read otherwise (%2e%2e, //,
#    ;, %2f, a rewrite that changes DOCUMENT_URI) bypass (detail=path);
#  * answers to requests with Authorization or Cookie are stored only when
#    the key covers the header, the answer says public or s-maxage, or the
#    endpoint sets ignore_cookies; DRF-style API keys in Authorization;
#  * ?partner_id=4%32 is partner 42, and {"partner_id":"42"} removes it.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/e2e_setup"
. "$top_srcdir/tests/nginx_setup"

cp "$top_srcdir/tests/caller.php" "$WORK/www/caller.php"
CALLER=$WORK/www/caller.php

# Kept-alive connections from nginx to bocache, for the unread-body case.
nginx_http() {
    cat <<HTTP
    upstream bocache_kept {
        server unix:$BOCACHE_SOCK;
        keepalive 2;
    }
HTTP
}

nginx_locations() {
    cat <<LOC
        location /api/v1/public/kept/ {
            include $FASTCGI_PARAMS;
            fastcgi_param SCRIPT_FILENAME $CALLER;
            fastcgi_keep_conn on;
            client_max_body_size 8m;
            fastcgi_pass bocache_kept;
        }
        # A rewrite inside the server: DOCUMENT_URI is no longer the path
        # the client sent.
        location = /api/v1/public/alias {
            rewrite ^ /api/v1/account break;
            include $FASTCGI_PARAMS;
            fastcgi_param SCRIPT_FILENAME $CALLER;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
        location /api/ {
            include $FASTCGI_PARAMS;
            fastcgi_param SCRIPT_FILENAME $CALLER;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
LOC
}

# creq NAME [CURL ARGS...] PATH: a GET through nginx; head and body in
# $WORK/NAME (curl -i), with a bound of its own.
creq() {
    local name=$1 n
    shift
    n=$#
    curl -s -i --path-as-is --max-time 10 "${@:1:n-1}" \
        "http://127.0.0.1:$HTTP_PORT${!n}" >"$WORK/$name" ||
        fail "no answer from nginx to ${!n}"
}

# field NAME KEY: a field of caller.php's body line ("partner=42").
field() {
    body "$WORK/$1" | sed -n "s/.* $2=\([^ ]*\).*/\1/p" | head -n 1
}
cs() { cache_status "$WORK/$1"; }
xc() { xcache "$WORK/$1"; }
callno() { call_of "$WORK/$1"; }

start_redis
write_config backend.address=@unset workers=2 \
    'endpoint={ path = "/api/v1/widgets/"; match = "prefix"; key_type = "none"; ignore_cookies = true; }'
start_spawned_bocache
start_nginx /none

# --- 1. repeated headers ---------------------------------------------------------
P=/api/v1/partner/dup
creq d1 -H 'X-Partner-Id: 42' -H 'X-Partner-Id: 43' "$P"
assert_eq 43 "$(field d1 partner)" "[dup] php-cgi reads the last X-Partner-Id copy (43): the attack's premise"
assert_eq BYPASS "$(xc d1)" "[dup] a repeated X-Partner-Id is not looked up or stored"
assert_match 'fwd=bypass; detail=duplicate-header' "$(cs d1)" "[dup] ... Cache-Status says detail=duplicate-header"
creq d2 -H 'X-Partner-Id: 42' "$P"
assert_eq 42 "$(field d2 partner)" "[dup] partner 42's next request gets partner 42's answer"
assert_eq MISS "$(xc d2)" "[dup] ... as a MISS: nothing was stored under p=42 by the attack"
creq d3 -H 'X-Partner-Id: 42' "$P"
assert_eq HIT "$(xc d3)" "[dup] ... then a HIT"
assert_eq 42 "$(field d3 partner)" "[dup] ... still partner 42's"

creq o1 -H 'X-Partner-Id: 7' -H 'Origin: https://a.example' -H 'Origin: https://b.example' "$P"
assert_match 'detail=duplicate-header' "$(cs o1)" "[dup] a repeated Origin bypasses"
creq o2 -H 'X-Partner-Id: 7' -H 'Origin: https://a.example' "$P"
assert_eq MISS "$(xc o2)" "[dup] ... and left nothing under origin a"
assert_eq https://a.example "$(field o2 origin)" "[dup] ... which answers for origin a"

V=/api/v1/vary/
creq v1 -H 'Accept-Language: en' -H 'Accept-Language: de' "$V"
assert_match 'detail=duplicate-header' "$(cs v1)" "[dup] a repeated vary header bypasses"
creq v2 -H 'Accept-Language: en' "$V"
assert_eq MISS "$(xc v2)" "[dup] ... and left nothing under lang=en"
assert_eq en "$(field v2 lang)" "[dup] ... which answers in en"

creq q1 "$P?partner_id=42&partner_id=43"
assert_eq 43 "$(field q1 qpartner)" "[dup] PHP reads the last partner_id parameter"
assert_match 'detail=duplicate-header' "$(cs q1)" "[dup] a repeated partner_id parameter bypasses"
creq q2 -H 'X-Partner-Id: 42' "$P?partner_id=43"
assert_match 'detail=duplicate-header' "$(cs q2)" "[dup] a header and a parameter naming different partners bypass"

# --- partner ids from the query are decoded ---------------------------------------
Q=/api/v1/partner/decoded
creq p1 "$Q?partner_id=4%32"
assert_eq MISS "$(xc p1)" "[partner] ?partner_id=4%32 is cached"
rkeys=$(rcli --scan --pattern 'bocache:partner_id_and_origin:*decoded*')
assert_match '^bocache:partner_id_and_origin:p=42,o=:' "$rkeys" "[partner] ... as partner p=42"
entry_gone() { [ -z "$(rcli --scan --pattern 'bocache:partner_id_and_origin:p=42,o=:/api/v1/partner/decoded*')" ]; }
# Pub/sub is at-most-once: publish only once the gateway listens.
publish_when_heard bocache:invalidate 1 '{"id":"poison-p42-'$$'","partner_id":"42"}'
wait_until 5 entry_gone || fail "[partner] {\"partner_id\":\"42\"} left the ?partner_id=4%32 entry"
ok "[partner] {\"partner_id\":\"42\"} removes the entry of ?partner_id=4%32"

# --- 2. raw paths ---------------------------------------------------------------------
# A browser with a session cookie is lured to a path nginx and PHP route
# to /api/v1/account while it looks like the shared /api/v1/public/.
for raw in '/api/v1/public/%2e%2e/account' '/api/v1/public/%2E%2E/account' \
    '/api/v1/public/../account' '/api/v1/public/./x' '/api/v1/public//x' \
    '/api/v1/public/x;a=b' '/api/v1/public%2f..%2faccount' '/api/v1/public/x%5c..'; do
    creq w1 -H 'Cookie: session=victim' "$raw"
    creq w2 "$raw"
    assert_match 'detail=path' "$(cs w1)" "[path] $raw bypasses (detail=path)"
    assert_ne victim "$(field w2 cookie | sed 's/.*=//')" "[path] ... the next caller without a cookie never gets the victim's answer"
    assert_eq BYPASS "$(xc w2)" "[path] ... and is not served from the cache"
done
creq r1 -H 'Cookie: session=victim' /api/v1/public/alias
assert_eq /api/v1/account "$(field r1 doc)" "[path] nginx rewrote /api/v1/public/alias (DOCUMENT_URI=/api/v1/account)"
assert_match 'detail=path' "$(cs r1)" "[path] ... so bocache bypasses: DOCUMENT_URI is not the request path"
creq r2 /api/v1/public/alias
assert_eq BYPASS "$(xc r2)" "[path] ... and stores nothing for it"
creq n1 '/api/v1/public/normal%20name'
assert_eq MISS "$(xc n1)" "[path] an encoded byte that is not a separator still caches"
creq n2 '/api/v1/public/normal%20name'
assert_eq HIT "$(xc n2)" "[path] ... and hits"
assert_eq 0 "$(rcli --scan --pattern 'bocache:none:*account*' | wc -l)" "[path] no entry anywhere names account"

# --- a HIT leaves no unread body in a kept-alive connection ---------------------
K=/api/v1/public/kept/x
creq b1 "$K"
creq b2 "$K"
assert_eq HIT "$(xc b2)" "[body] a kept-alive location caches (HIT)"
head -c 65536 /dev/zero | tr '\0' b >"$WORK/body64k"
head -c 2000000 /dev/zero | tr '\0' b >"$WORK/body2m"
for i in 1 2 3; do
    creq b3 -H "Expect:" -X GET --data-binary @"$WORK/body64k" "$K"
    assert_eq HIT "$(xc b3)" "[body] GET with a 64 KiB body is answered from the cache ($i)"
    creq b4 "$K"
    assert_eq "HTTP/1.1 200 OK" "$(head -n 1 "$WORK/b4" | tr -d '\r')" \
        "[body] ... and the next request on the kept connection is answered ($i)"
    assert_eq HIT "$(xc b4)" "[body] ... from the cache ($i)"
done
# Past the drain bound bocache closes the connection instead.
creq b5 -H "Expect:" -X GET --data-binary @"$WORK/body2m" "$K"

assert_eq HIT "$(xc b5)" "[body] GET with a 2 MB body is answered from the cache"
creq b6 "$K"
assert_eq HIT "$(xc b6)" "[body] ... and the next request still is"
if grep -q 'upstream prematurely closed\|upstream sent invalid' "$WORK/nginx/error.log"; then
    fail "[body] nginx saw a broken upstream connection: $(grep upstream "$WORK/nginx/error.log" | tail -n 2)"
fi
ok "[body] nginx logged no broken upstream connection"

# --- 3. credentials ---------------------------------------------------------------------
A=/api/v1/public/cred
creq c1 -H 'Authorization: Token victim-token' "$A"
assert_match 'fwd=miss; detail=authorization' "$(cs c1)" "[cred] an answer to a request with Authorization on a shared endpoint is not stored"
creq c2 "$A"
assert_eq MISS "$(xc c2)" "[cred] ... the next caller reaches the backend"
assert_eq - "$(field c2 auth)" "[cred] ... and gets its own answer"
creq c3 -H 'Authorization: Token victim-token' "$A?cc=public"
assert_eq MISS "$(xc c3)" "[cred] Cache-Control: public with Authorization: MISS"
creq c4 "$A?cc=public"
assert_eq HIT "$(xc c4)" "[cred] ... is stored (the answer said public)"
creq c5 -H 'Authorization: Token t' "$A?cc=s-maxage=60"
creq c6 "$A?cc=s-maxage=60"
assert_eq HIT "$(xc c6)" "[cred] ... and so is one that says s-maxage"
creq k1 -H 'Cookie: session=victim' "$A/cookie"
assert_match 'detail=cookie' "$(cs k1)" "[cred] an answer to a request with Cookie is not stored"
creq k2 "$A/cookie"
assert_eq MISS "$(xc k2)" "[cred] ... the next caller reaches the backend"
assert_eq - "$(field k2 cookie)" "[cred] ... and gets its own answer"
creq g1 -H 'Cookie: _ga=analytics' /api/v1/widgets/w
assert_eq MISS "$(xc g1)" "[cred] ignore_cookies = true: a cookie does not stop the store"
creq g2 /api/v1/widgets/w
assert_eq HIT "$(xc g2)" "[cred] ... the widget is stored"
# A lookup is made as usual: a shared entry answers a request with a cookie.
creq g3 -H 'Cookie: session=x' "$A?cc=public"
assert_eq HIT "$(xc g3)" "[cred] a stored shared entry still answers a request with a cookie"

# --- DRF TokenAuthentication: the API key is the Authorization header -------------
stop_pid "$BOCACHE_PID"
write_config backend.address=@unset workers=2 'identity.api_key_header="Authorization"'
start_spawned_bocache
S=/api/v1/sports/drf
creq t1 -H 'Authorization: Token alice' "$S"
assert_eq MISS "$(xc t1)" "[drf] api_key_header = \"Authorization\": Token alice: MISS"
creq t2 -H 'Authorization: Token alice' "$S"
assert_eq HIT "$(xc t2)" "[drf] ... stored under alice's key: HIT"
creq t3 -H 'Authorization: Token bob' "$S"
assert_eq MISS "$(xc t3)" "[drf] Token bob does not get alice's answer"
assert_eq "Token bob" "$(body "$WORK/t3" | sed -n 's/.* auth=\(.*\) cookie=.*/\1/p')" "[drf] ... bob's own"
creq t4 -H 'Authorization: Token alice' -H 'Authorization: Token bob' "$S"
# nginx 1.22 refuses a repeated Authorization itself (400); a server that
# passed both would get detail=duplicate-header from bocache.
t4=$(head -n 1 "$WORK/t4" | cut -d" " -f2)
[ "$t4" = 400 ] || assert_match 'detail=duplicate-header' "$(cs t4)" "[drf] two Authorization headers bypass"
assert_ne HIT "$(xc t4)" "[drf] two Authorization headers never get a stored answer (status $t4)"
assert_eq 0 "$(rcli --scan | grep -c -e alice -e bob || true)" "[drf] no token appears in a Redis key"
