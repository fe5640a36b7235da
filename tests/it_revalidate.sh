#!/bin/bash
# shellcheck disable=SC2119 # start_redis, start_bocache take no script args
# it_revalidate.sh: revalidation with the backend (SPEC 6, RFC 9111 4.3),
# through a real nginx in front of bocache. A stale or no-cache entry with
# an ETag or a Last-Modified is filled by asking the backend with the stored
# validators (never the client's own); the backend's 304 refreshes the
# stored head (its fields replace the stored ones, never Content-Length)
# and lifetime and the client gets the stored status and body; a 200
# replaces the entry. Also: no-cache entries revalidated on every use, 20
# concurrent requests making one revalidation (waiting, or STALE within
# stale_ttl; also through two gateway processes), a reload in the middle
# of a revalidation, must-revalidate never STALE, a HEAD refreshing the
# head, the stale entry on a backend 500, the revalidated counter on the
# status page; and the same against real applications that answer 304
# themselves: php-cgi running tests/revalidate.php and Django's
# ConditionalGetMiddleware (tests/django_app) under uWSGI over FastCGI.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/nginx_setup"

CTL=$top_builddir/bocache-ctl
[ -x "$CTL" ] || fail "$CTL is not built"

# The test backend's knobs are left out of the key, so that one entry can
# be asked for with another ETag, another Cache-Control, cond=0 or a 500:
# each section has a path of its own. /api/v1/rv/ has no stale window,
# /api/v1/rvs/ 30 s.
KNOBS='ignore_params = ["cond", "etag", "lm", "cc", "hdr", "hdr304", "etag304", "lm304", "sleep_ms", "hold", "status"];'
EP_RV="{ path = \"/api/v1/rv/\"; match = \"prefix\"; key_type = \"none\"; ttl = 300; stale_ttl = 0; $KNOBS }"
EP_RVS="{ path = \"/api/v1/rvs/\"; match = \"prefix\"; key_type = \"none\"; ttl = 300; stale_ttl = 30; $KNOBS }"

# The gateways in front of php-cgi and of Django, with configurations of
# their own.
PHP_CONF=$WORK/php.conf
PHP_GW_SOCK=$WORK/php-gw.sock
PHP_STATE=$WORK/php-state
DJ_CONF=$WORK/django.conf
DJ_GW_SOCK=$WORK/django-gw.sock
DJ_SOCK=$WORK/django.sock
DJ_STATE=$WORK/django-state
mkdir -p "$WORK/www" "$PHP_STATE" "$DJ_STATE"
cp "$top_srcdir/tests/revalidate.php" "$WORK/www/revalidate.php"
# bocache's private socket directory for php-cgi goes into $WORK.
TMPDIR=$WORK
export TMPDIR

# /api/v1/rv/pair/ goes round-robin to two gateway processes on one Redis;
# X-Upstream says which one answered.
nginx_http() {
    cat <<HTTP
    upstream bocache_pair {
        server unix:$BOCACHE_SOCK;
        server unix:$BOCACHE_SOCK2;
    }
HTTP
}

nginx_locations() {
    cat <<LOC
        location /api/v1/rv/pair/ {
            include $FASTCGI_PARAMS;
            fastcgi_pass bocache_pair;
            add_header X-Upstream \$upstream_addr always;
        }
        location /api/ {
            include $FASTCGI_PARAMS;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
        location /bocache/ {
            include $FASTCGI_PARAMS;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
        location /php/ {
            include $FASTCGI_PARAMS;
            fastcgi_param SCRIPT_FILENAME $WORK/www/revalidate.php;
            fastcgi_param REVALIDATE_STATE $PHP_STATE;
            fastcgi_pass unix:$PHP_GW_SOCK;
        }
        location /dj/ {
            include $FASTCGI_PARAMS;
            fastcgi_param PATH_INFO \$uri;
            fastcgi_pass unix:$DJ_GW_SOCK;
        }
LOC
}

# --- helpers -------------------------------------------------------------------

LM='Tue, 15 Nov 2022 08:12:31 GMT'
LMQ='Tue,%2015%20Nov%202022%2008:12:31%20GMT'

# fetch FILE PATH [curl option]...: a GET (or what the options say)
# through nginx, head and body into FILE.
fetch() {
    local f=$1 p=$2
    shift 2
    curl -s --max-time 15 -D - -o - "$@" "http://127.0.0.1:$HTTP_PORT$p" \
        >"$f" || fail "no answer from nginx to $p"
}

# code FILE: the status code of an answer fetch saved.
code() {
    head -n 1 "$1" | awk '{ print $2 }'
}

# lines NAME FILE: how many lines of FILE's head are the header NAME.
lines() {
    sed -n '1,/^\r\{0,1\}$/p' "$2" | grep -ic "^$1:" || true
}

# last: the test backend's /__last line without its uri= field;
# count304: its /__count304.
last() {
    breq -b /__last | sed 's/ uri=.*//'
}
count304() {
    breq -b /__count304
}

# key_of PATH [CONF]: the entry key of a GET of PATH.
key_of() {
    "$CTL" -c "${2:-$CONFIG}" key "$1"
}

# stored PATH [CONF]: whether the entry of PATH is in Redis.
stored() {
    key_exists "$(key_of "$@")"
}
wait_stored() { # wait_stored WHAT PATH [CONF]
    local what=$1
    shift
    wait_until 5 stored "$@" || fail "$what: the entry of $1 was not stored"
}

# is_stale PATH [CONF]: whether the stored entry of PATH is past its
# freshness lifetime, as bocache-ctl show says (age >= fresh ttl).
is_stale() {
    local k out age ttl
    k=$(key_of "$@")
    out=$("$CTL" -c "${2:-$CONFIG}" show "$k" 2>/dev/null) || return 1
    age=$(printf '%s\n' "$out" | sed -n 's/^age: *\([0-9]*\) s.*/\1/p')
    ttl=$(printf '%s\n' "$out" | sed -n 's/^ttl: *\([0-9]*\) s fresh.*/\1/p')
    [ -n "$age" ] && [ -n "$ttl" ] && [ "$age" -ge "$ttl" ]
}
# wait_stale WHAT PATH [CONF]: waits (up to 5 s) until the entry is stale.
wait_stale() {
    local what=$1
    shift
    wait_until 5 is_stale "$@" ||
        fail "$what: the entry of $1 did not become stale within 5 s ($(
            "$CTL" -c "${2:-$CONFIG}" show "$(key_of "$@")" 2>&1 |
                grep -E '^(age|ttl)|rror|not' | tr '\n' ' '))"
}

# counter NAME: bocache_NAME_total on the status page (the fleet's
# counters in Redis, which each process adds to every second), "none" when
# absent; hits: the HITs from Redis and from the memory tier.
counter() {
    local n
    n=$(curl -s --max-time 5 "http://127.0.0.1:$HTTP_PORT/bocache/status" |
        sed -n "s/^bocache_$1_total \\([0-9]*\\).*/\\1/p")
    echo "${n:-none}"
}
hits() {
    echo $(($(counter hits) + $(counter hits_memory)))
}
hits_above() { # hits_above N
    [ "$(hits)" -gt "$1" ]
}

# cspawn OUT PATH: one GET through nginx in the background, waiting at
# tests/setup's gate (release opens it, reap waits and checks), its answer
# (head and body) in OUT.
cspawn() {
    local out=$1 p=$2
    [ -p "$GATE" ] || mkfifo "$GATE"
    echo 0 >"$out.gate"
    (
        rc=0
        echo 1 >"$out.gate"
        exec 3<"$GATE"
        curl -s --max-time 15 -D - -o - "http://127.0.0.1:$HTTP_PORT$p" \
            >"$out" 2>"$out.err" 3<&- || rc=$?
        echo "$rc" >"$out.rc"
    ) 8>&- &
    BG+=("$!")
    BG_OUT+=("$out")
    GATED_OUT+=("$out")
}

# batch NAME N PATH: N gated GETs of PATH, released together and reaped;
# their answers are $WORK/NAME.1 ... $WORK/NAME.N.
batch() {
    local i
    for i in $(seq 1 "$2"); do
        cspawn "$WORK/$1.$i" "$3"
    done
    release
    reap
}

# tally NAME N: "STATUS X-CACHE CALL" of each answer of a batch, counted
# (uniq -c), one kind a line.
tally() {
    local i f
    for i in $(seq 1 "$2"); do
        f=$WORK/$1.$i
        echo "$(code "$f") $(xcache "$f") $(call_of "$f")"
    done | sort | uniq -c | sed 's/^ *//'
}

# state DIR NAME: a counter file an application keeps (0 when absent).
state() {
    local v=0
    [ ! -s "$1/$2" ] || read -r v <"$1/$2"
    echo "$v"
}

# part_skip WHAT WHY: a part of the test that cannot run here is left out
# with its reason; under CI that is a failure, as tests/setup's skip is.
part_skip() {
    [ "${CI:-}" != true ] || fail "cannot run the $1 part: $2"
    echo "# SKIP $1 part: $2" >&8
}

# --- start -----------------------------------------------------------------------

start_redis
# 20 concurrent requests need 20 gateway workers and backend threads.
start_backend -n 64
redis_open

write_config workers=2 backend.address=@unset redis.timeout_ms=2000 \
    endpoint='{ path = "/php/"; match = "prefix"; key_type = "none"; ttl = 300; }'
mv "$CONFIG" "$PHP_CONF"
write_config workers=4 "backend.address=\"unix:$DJ_SOCK\"" \
    redis.timeout_ms=2000 \
    endpoint='{ path = "/dj/"; match = "prefix"; key_type = "none"; ttl = 300; }'
mv "$CONFIG" "$DJ_CONF"
write_config workers=24 redis.timeout_ms=2000 cache.lock_timeout_ms=5000 \
    'status_path="/bocache/status"' 'status_allow=["127.0.0.1"]' \
    endpoint="$EP_RV" endpoint="$EP_RVS"
start_bocache
start_bocache2
start_nginx /api/v1/rv/ready

# --- 1. a stale entry with an ETag: the backend's 304 refreshes it ---------------
P=/api/v1/rv/etag
fetch "$WORK/1a" "$P?etag=%22e1%22&cond=1&cc=max-age%3D1&hdr=X-Version:%201&hdr=X-Keep:%20k"
c1=$(call_of "$WORK/1a")
assert_eq "200 MISS" "$(code "$WORK/1a") $(xcache "$WORK/1a")" "[1 etag] the first GET fills the entry"
wait_stored "[1 etag]" "$P"
wait_stale "[1 etag]" "$P"
n0=$(backend_count)
m0=$(count304)
r0=$(counter revalidated)
[ "$r0" != none ] || fail "[1 etag] no bocache_revalidated_total on the status page"
fetch "$WORK/1b" "$P?etag=%22e1%22&cond=1&cc=max-age%3D60&hdr304=X-Version:%202"
assert_eq "inm=\"e1\" ims=- method=GET" "$(last)" \
    "[1 etag] the fill asks the backend with If-None-Match: the stored ETag"
assert_eq "$((n0 + 1)) $((m0 + 1))" "$(backend_count) $(count304)" \
    "[1 etag] one backend request, answered 304"
assert_eq 200 "$(code "$WORK/1b")" "[1 etag] the client gets the stored status, 200"
assert_eq "$c1" "$(call_of "$WORK/1b")" "[1 etag] ... and the stored body (call $c1)"
assert_eq MISS "$(xcache "$WORK/1b")" "[1 etag] X-Cache: MISS"
assert_match 'fwd=stale' "$(cache_status "$WORK/1b")" "[1 etag] Cache-Status says fwd=stale"
assert_match 'fwd-status=304' "$(cache_status "$WORK/1b")" "[1 etag] Cache-Status says fwd-status=304"
assert_eq "2 1" "$(header X-Version "$WORK/1b") $(lines X-Version "$WORK/1b")" \
    "[1 etag] the 304's X-Version: 2 replaces the stored X-Version: 1"
assert_eq k "$(header X-Keep "$WORK/1b")" "[1 etag] a stored header the 304 lacks stays"
assert_match '^text/plain' "$(header Content-Type "$WORK/1b")" \
    "[1 etag] the stored Content-Type stays (the 304 has none)"
assert_eq max-age=60 "$(header Cache-Control "$WORK/1b")" "[1 etag] the 304's Cache-Control replaces the stored one"
h0=$(hits)
fetch "$WORK/1c" "$P?etag=%22e1%22&cond=1&cc=max-age%3D60"
assert_eq "HIT $c1" "$(xcache "$WORK/1c") $(call_of "$WORK/1c")" \
    "[1 etag] the refreshed entry is stored: the next GET is a HIT with the stored body"
assert_eq "2 k" "$(header X-Version "$WORK/1c") $(header X-Keep "$WORK/1c")" \
    "[1 etag] ... carrying the refreshed header and the kept one"
assert_le 60 "$(cache_status "$WORK/1c" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p')" \
    "[1 etag] ... with the 304's lifetime (Cache-Status ttl)"
assert_le 30 $((60 - $(cache_status "$WORK/1c" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p'))) \
    "[1 etag] ... not the stored max-age=1 (60 - ttl)"
assert_eq "$((n0 + 1))" "$(backend_count)" "[1 etag] the HIT made no backend request"
# The HIT is counted after the revalidation, so once the status page
# shows it, it shows the revalidation's count too.
wait_until 5 hits_above "$h0" ||
    fail "[1 etag] the HIT was not counted on the status page within 5 s"
assert_eq "$((r0 + 1))" "$(counter revalidated)" \
    "[1 etag] the status page counts one revalidation (bocache_revalidated_total)"

# --- 2. Content-Length is never taken from a 304 ---------------------------------
P=/api/v1/rv/clen
fetch "$WORK/2a" "$P?etag=%22cl%22&cond=1&cc=max-age%3D1"
c1=$(call_of "$WORK/2a")
blen=$(body "$WORK/2a" | wc -c)
wait_stored "[2 content-length]" "$P"
wait_stale "[2 content-length]" "$P"
m0=$(count304)
fetch "$WORK/2b" "$P?etag=%22cl%22&cond=1&cc=max-age%3D60&hdr304=Content-Length:%205"
assert_eq "$((m0 + 1))" "$(count304)" "[2 content-length] the backend answered 304 with Content-Length: 5"
assert_eq "200 $c1 $blen" "$(code "$WORK/2b") $(call_of "$WORK/2b") $(body "$WORK/2b" | wc -c)" \
    "[2 content-length] the client gets the whole stored body ($blen bytes)"
assert_match "^($blen)?\$" "$(header Content-Length "$WORK/2b")" \
    "[2 content-length] ... and no Content-Length but the body's"
fetch "$WORK/2c" "$P?etag=%22cl%22&cc=max-age%3D60"
assert_eq "HIT $c1 $blen" "$(xcache "$WORK/2c") $(call_of "$WORK/2c") $(body "$WORK/2c" | wc -c)" \
    "[2 content-length] the next GET is a HIT with the whole body"
assert_match "^($blen)?\$" "$(header Content-Length "$WORK/2c")" \
    "[2 content-length] ... and the stored head has no Content-Length: 5"

# --- 3. Last-Modified only: If-Modified-Since --------------------------------------
P=/api/v1/rv/lm
fetch "$WORK/3a" "$P?lm=$LMQ&cond=1&cc=max-age%3D1&hdr=X-Version:%201"
c1=$(call_of "$WORK/3a")
wait_stored "[3 last-modified]" "$P"
wait_stale "[3 last-modified]" "$P"
m0=$(count304)
fetch "$WORK/3b" "$P?lm=$LMQ&cond=1&cc=max-age%3D60&hdr304=X-Version:%202"
assert_eq "inm=- ims=$LM method=GET" "$(last)" \
    "[3 last-modified] the fill asks with If-Modified-Since: the stored Last-Modified"
assert_eq "$((m0 + 1))" "$(count304)" "[3 last-modified] the backend answered 304"
assert_eq "200 MISS $c1 2" \
    "$(code "$WORK/3b") $(xcache "$WORK/3b") $(call_of "$WORK/3b") $(header X-Version "$WORK/3b")" \
    "[3 last-modified] the client gets 200, the stored body and the 304's X-Version"
assert_match 'fwd-status=304' "$(cache_status "$WORK/3b")" "[3 last-modified] Cache-Status says fwd-status=304"
fetch "$WORK/3c" "$P?lm=$LMQ&cc=max-age%3D60"
assert_eq "HIT $c1 2" "$(xcache "$WORK/3c") $(call_of "$WORK/3c") $(header X-Version "$WORK/3c")" \
    "[3 last-modified] the next GET is a HIT with the refreshed header"

# --- 4. the client's own conditional headers are never passed on a fill ---------
P=/api/v1/rv/client
INM_C='"client-tag"'
IMS_C='Wed, 16 Nov 2022 00:00:00 GMT'
fetch "$WORK/4a" "$P?etag=%22c4%22&lm=$LMQ&cc=max-age%3D1" \
    -H "If-None-Match: $INM_C" -H "If-Modified-Since: $IMS_C"
c1=$(call_of "$WORK/4a")
assert_eq "inm=- ims=- method=GET" "$(last)" \
    "[4 client] a fill without an entry sends neither the client's If-None-Match nor its If-Modified-Since"
wait_stored "[4 client]" "$P"
wait_stale "[4 client]" "$P"
fetch "$WORK/4b" "$P?etag=%22c4%22&lm=$LMQ&cc=max-age%3D60" \
    -H "If-None-Match: $INM_C" -H "If-Modified-Since: $IMS_C"
l=$(last)
assert_match '^inm="c4" ' "$l" "[4 client] a revalidation sends the stored ETag, not the client's ($l)"
assert_match " ims=(-|$LM) method=GET\$" "$l" \
    "[4 client] ... and the stored Last-Modified or none, not the client's If-Modified-Since"
# Without cond=1 the backend answers 200: it replaces the entry.
assert_eq MISS "$(xcache "$WORK/4b")" "[4 client] the backend's 200 is a MISS"
c2=$(call_of "$WORK/4b")
[ -z "$c2" ] || [ "$c2" -gt "$c1" ] ||
    fail "[4 client] the 200 carried call $c2, not newer than $c1"
ok "[4 client] ... with the backend's new answer"

# The client's own If-None-Match is answered by bocache, as for a HIT:
# matching the revalidated entry, a 304.
P=/api/v1/rv/client304
fetch "$WORK/4c" "$P?etag=%22c5%22&cond=1&cc=max-age%3D1"
wait_stored "[4 client 304]" "$P"
wait_stale "[4 client 304]" "$P"
m0=$(count304)
fetch "$WORK/4d" "$P?etag=%22c5%22&cond=1&cc=max-age%3D60" -H 'If-None-Match: "c5"'
assert_eq "inm=\"c5\" ims=- method=GET $((m0 + 1))" "$(last) $(count304)" \
    "[4 client 304] the revalidation asks with the stored ETag and gets a 304"
assert_eq "304 0" "$(code "$WORK/4d") $(body "$WORK/4d" | wc -c)" \
    "[4 client 304] the client's matching If-None-Match gets a 304 from bocache, no body"
fetch "$WORK/4e" "$P?etag=%22c5%22&cc=max-age%3D60"
assert_eq "200 HIT $(call_of "$WORK/4c")" "$(code "$WORK/4e") $(xcache "$WORK/4e") $(call_of "$WORK/4e")" \
    "[4 client 304] then a plain GET is a HIT with the stored body"

# --- 5. a 200 to the revalidation replaces the entry ------------------------------
P=/api/v1/rv/replace
fetch "$WORK/5a" "$P?etag=%22r1%22&cond=1&cc=max-age%3D1"
c1=$(call_of "$WORK/5a")
wait_stored "[5 replace]" "$P"
wait_stale "[5 replace]" "$P"
n0=$(backend_count)
m0=$(count304)
# The backend's data changed: its ETag is now "r2", so "r1" does not match.
fetch "$WORK/5b" "$P?etag=%22r2%22&cond=1&cc=max-age%3D60"
assert_eq 'inm="r1"' "$(last | sed 's/ .*//')" "[5 replace] the fill asks with the stored ETag r1"
assert_eq "$((n0 + 1)) $m0" "$(backend_count) $(count304)" "[5 replace] one backend request, no 304"
c2=$(call_of "$WORK/5b")
assert_eq "200 MISS $((n0 + 1))" "$(code "$WORK/5b") $(xcache "$WORK/5b") $c2" \
    "[5 replace] the client gets the backend's new 200 (call $c2, not $c1)"
assert_match 'fwd=stale' "$(cache_status "$WORK/5b")" "[5 replace] Cache-Status says fwd=stale"
# RFC 9211 2.3: without fwd-status, it is the status sent (200).
assert_match '^(200)?$' "$(cache_status "$WORK/5b" | sed -n 's/.*fwd-status=\([0-9]*\).*/\1/p')" \
    "[5 replace] ... and fwd-status 200 or none (which means the status sent)"
assert_eq '"r2"' "$(header ETag "$WORK/5b")" "[5 replace] ... with the new ETag"
wait_until 5 entry_has "$(key_of "$P")" "call=$c2 " ||
    fail "[5 replace] the new answer (call $c2) did not replace the entry"
fetch "$WORK/5c" "$P?etag=%22r2%22&cond=1&cc=max-age%3D60"
assert_eq "HIT $c2 \"r2\"" "$(xcache "$WORK/5c") $(call_of "$WORK/5c") $(header ETag "$WORK/5c")" \
    "[5 replace] the next GET is a HIT with the new body and ETag"

# --- 5b. a 304 that names another representation: asked again, never refreshing ----
# RFC 9111 4.3.4: a 304 whose ETag (or, without one, Last-Modified) is not
# the stored response's must not refresh it; the copy is not what the
# backend has, so the request goes again without validators.
for kind in etag lm; do
    P=/api/v1/rv/other-$kind
    if [ "$kind" = etag ]; then
        V="etag=%22o1%22"
        OTHER="etag304=%22o2%22"
    else
        V="lm=$LMQ"
        OTHER="lm304=Wed,%2016%20Nov%202022%2008:12:31%20GMT"
    fi
    fetch "$WORK/5o$kind.a" "$P?$V&cond=1&cc=max-age%3D1"
    c1=$(call_of "$WORK/5o$kind.a")
    wait_stored "[5b other $kind]" "$P"
    wait_stale "[5b other $kind]" "$P"
    n0=$(backend_count)
    m0=$(count304)
    fetch "$WORK/5o$kind.b" "$P?$V&$OTHER&cond=1&cc=max-age%3D60&hdr304=X-Refreshed:%20yes"
    assert_eq "$((n0 + 2)) $((m0 + 1))" "$(backend_count) $(count304)" \
        "[5b other $kind] two backend requests: the revalidation (304) and the request again"
    assert_eq "inm=- ims=- method=GET" "$(last)" \
        "[5b other $kind] the request went again without validators"
    c2=$(call_of "$WORK/5o$kind.b")
    assert_eq "200 MISS $((n0 + 2)) " \
        "$(code "$WORK/5o$kind.b") $(xcache "$WORK/5o$kind.b") $c2 $(header X-Refreshed "$WORK/5o$kind.b")" \
        "[5b other $kind] the client gets the backend's 200 (call $c2, not the copy's $c1), not the 304's fields"
    assert_eq "bocache; fwd=stale" "$(cache_status "$WORK/5o$kind.b")" \
        "[5b other $kind] Cache-Status: fwd=stale, no fwd-status=304"
    wait_until 5 entry_has "$(key_of "$P")" "call=$c2 " ||
        fail "[5b other $kind] the backend's 200 (call $c2) did not replace the entry"
    ok "[5b other $kind] the backend's 200 replaced the entry"
done
assert_match "a 304 to a revalidation named another ETag or Last-Modified" \
    "$(grep -m 1 'named another' "$BOCACHE_LOG")" "[5b] the gateway logs why it asked again"

# --- 6. no-cache: stored, revalidated before every use ------------------------------
P=/api/v1/rv/nocache
U="$P?etag=%22n1%22&cond=1&cc=no-cache"
fetch "$WORK/6a" "$U"
c1=$(call_of "$WORK/6a")
wait_stored "[6 no-cache]" "$P"
for i in 1 2 3; do
    n0=$(backend_count)
    m0=$(count304)
    fetch "$WORK/6b.$i" "$U"
    assert_eq "$((n0 + 1)) $((m0 + 1))" "$(backend_count) $(count304)" \
        "[6 no-cache] use $i: one backend request, answered 304"
    assert_eq "200 MISS $c1" "$(code "$WORK/6b.$i") $(xcache "$WORK/6b.$i") $(call_of "$WORK/6b.$i")" \
        "[6 no-cache] use $i: 200 MISS with the stored body, never a HIT"
    assert_match 'fwd=stale.*fwd-status=304' "$(cache_status "$WORK/6b.$i")" \
        "[6 no-cache] use $i: Cache-Status fwd=stale, fwd-status=304"
done
assert_eq 'inm="n1"' "$(last | sed 's/ .*//')" "[6 no-cache] each asks with the stored ETag"

# --- 7. 20 concurrent requests on a no-cache entry: one revalidation --------------
# burst20 WHAT PATH ETAG NAME: stores PATH as a no-cache entry with ETAG,
# then sends 20 concurrent GETs of it ($WORK/NAME.1 ... NAME.20): one
# backend request, a 304; the others wait for it and get the stored body.
# The revalidation is held in the backend (hold=) until the other 19 are
# seen waiting for it (the fleet's lock_waits), however loaded the machine.
burst20() {
    local what=$1 p=$2 tag=$3 name=$4 c1 n0 m0 w0 t i h=$WORK/hold-$4
    fetch "$WORK/$name.first" "$p?etag=%22$tag%22&cond=1&cc=no-cache"
    c1=$(call_of "$WORK/$name.first")
    wait_stored "$what" "$p"
    n0=$(backend_count)
    m0=$(count304)
    w0=$(counter lock_waits)
    for i in $(seq 1 20); do
        cspawn "$WORK/$name.$i" "$p?etag=%22$tag%22&cond=1&cc=no-cache&hold=$h"
    done
    release
    waiting19() { [ "$(counter lock_waits)" -ge $((w0 + 19)) ]; }
    wait_until 20 waiting19 || {
        touch "$h"
        fail "$what $(($(counter lock_waits) - w0)) requests waited for the revalidation, not 19"
    }
    touch "$h"
    reap
    assert_eq "$((n0 + 1)) $((m0 + 1))" "$(backend_count) $(count304)" \
        "$what 20 concurrent GETs made one backend request, a 304"
    # The one that revalidated is a MISS; the others waited for it and were
    # served what it validated (HIT or MISS, never STALE: stale_ttl is 0).
    t=$(tally "$name" 20)
    assert_eq 20 "$(printf '%s\n' "$t" | awk -v c="$c1" '$2 == 200 && ($3 == "HIT" || $3 == "MISS") && $4 == c { n += $1 } END { print n + 0 }')" \
        "$what all 20 got 200 with the stored body (call $c1): $(printf '%s' "$t" | tr '\n' ',')"
}
burst20 "[7 concurrent no-cache]" /api/v1/rv/nc20 n20 c7

# --- 7b. the same through two gateway processes: one revalidation for both ---------
burst20 "[7b two gateways]" /api/v1/rv/pair/nc20 p20 c7b
g1=0 g2=0
for i in $(seq 1 20); do
    case $(header X-Upstream "$WORK/c7b.$i") in
    "unix:$BOCACHE_SOCK") g1=$((g1 + 1)) ;;
    "unix:$BOCACHE_SOCK2") g2=$((g2 + 1)) ;;
    esac
done
if [ "$g1" -eq 0 ] || [ "$g2" -eq 0 ] || [ $((g1 + g2)) -ne 20 ]; then
    fail "[7b two gateways] answers by gateway 1 and 2: $g1 and $g2, of 20"
fi
ok "[7b two gateways] both gateway processes answered ($g1 and $g2 of 20)"

# --- 7c. a reload (SIGHUP) while a revalidation is in the backend -------------------
P=/api/v1/rv/reload
fetch "$WORK/7ca" "$P?etag=%22h1%22&cond=1&cc=no-cache&hdr=X-Version:%201"
c1=$(call_of "$WORK/7ca")
wait_stored "[7c reload]" "$P"
n0=$(backend_count)
r0=$(grep -c "reloaded" "$BOCACHE_LOG" || true)
H=$WORK/hold7c
cspawn "$WORK/c7c" "$P?etag=%22h1%22&cond=1&cc=no-cache&hdr304=X-Version:%202&hold=$H"
release
in_backend() { [ "$(backend_count)" -gt "$n0" ]; }
wait_until 10 in_backend || {
    touch "$H"
    fail "[7c reload] the revalidation did not reach the backend"
}
kill -HUP "$BOCACHE_PID"
reloaded() { [ "$(grep -c "reloaded" "$BOCACHE_LOG")" -gt "$r0" ]; }
wait_until 10 reloaded || {
    touch "$H"
    fail "[7c reload] no 'reloaded' line after SIGHUP"
}
touch "$H"
reap
assert_eq "200 MISS $c1 2" "$(code "$WORK/c7c") $(xcache "$WORK/c7c") $(call_of "$WORK/c7c") $(header X-Version "$WORK/c7c")" \
    "[7c reload] the revalidation begun before the reload ends after it: the stored body with the 304's X-Version"
assert_match 'fwd-status=304' "$(cache_status "$WORK/c7c")" "[7c reload] ... answered by the backend's 304"
stored_v2() { entry_has "$(key_of "$P")" "X-Version: 2"; }
wait_until 5 stored_v2 || fail "[7c reload] the refreshed head was not stored"
ok "[7c reload] the refreshed head is stored"
alive "$BOCACHE_PID" || fail "[7c reload] bocache died"

# --- 8. 20 concurrent requests on a stale entry within stale_ttl ---------------------
P=/api/v1/rvs/st20
fetch "$WORK/8a" "$P?etag=%22s20%22&cond=1&cc=max-age%3D1"
c1=$(call_of "$WORK/8a")
wait_stored "[8 concurrent stale]" "$P"
wait_stale "[8 concurrent stale]" "$P"
n0=$(backend_count)
m0=$(count304)
# The revalidation is held in the backend until the other 19 have been
# answered (STALE, from the entry).
H=$WORK/hold8
for i in $(seq 1 20); do
    cspawn "$WORK/c8.$i" "$P?etag=%22s20%22&cond=1&cc=max-age%3D60&hold=$H"
done
release
answered19() { [ "$(cat "$WORK"/c8.*.rc 2>/dev/null | grep -c '^0$')" -ge 19 ]; }
wait_until 20 answered19 || {
    touch "$H"
    fail "[8 concurrent stale] $(cat "$WORK"/c8.*.rc 2>/dev/null | grep -c '^0$') requests were answered while the revalidation ran, not 19"
}
touch "$H"
reap
assert_eq "$((n0 + 1)) $((m0 + 1))" "$(backend_count) $(count304)" \
    "[8 concurrent stale] 20 concurrent GETs made one backend request, a 304"
assert_eq "$(printf '1 200 MISS %s\n19 200 STALE %s' "$c1" "$c1")" "$(tally c8 20)" \
    "[8 concurrent stale] one revalidated (MISS), 19 served STALE meanwhile, all with the stored body"
fetch "$WORK/8b" "$P?etag=%22s20%22&cc=max-age%3D60"
assert_eq "HIT $c1" "$(xcache "$WORK/8b") $(call_of "$WORK/8b")" \
    "[8 concurrent stale] then a HIT: the 304 refreshed the entry"

# --- 9. must-revalidate: never STALE, revalidated ------------------------------------
P=/api/v1/rvs/mr
fetch "$WORK/9a" "$P?etag=%22m1%22&cond=1&cc=max-age%3D1,must-revalidate"
c1=$(call_of "$WORK/9a")
wait_stored "[9 must-revalidate]" "$P"
wait_stale "[9 must-revalidate]" "$P"
n0=$(backend_count)
m0=$(count304)
w0=$(counter lock_waits)
# A revalidation held in the backend; a second request meanwhile waits
# for it and is not answered STALE (stale_ttl 30 notwithstanding): the
# backend lets the revalidation go once that request waits, or has been
# answered without waiting (which the checks below then catch).
H=$WORK/hold9
rm -f "$WORK/9r" "$WORK/9r.rc" "$WORK/9b" "$WORK/9b.rc"
(
    curl -s --max-time 30 -D - -o - \
        "http://127.0.0.1:$HTTP_PORT$P?etag=%22m1%22&cond=1&cc=max-age%3D1,must-revalidate&hold=$H" \
        >"$WORK/9r" 2>/dev/null
    echo $? >"$WORK/9r.rc"
) 8>&- &
bg9=$!
wait_lease "$(key_of "$P")" || { touch "$H"; fail "[9 must-revalidate] the revalidation holds no lease"; }
(
    curl -s --max-time 30 -D - -o - \
        "http://127.0.0.1:$HTTP_PORT$P?etag=%22m1%22&cond=1&cc=max-age%3D1,must-revalidate" \
        >"$WORK/9b" 2>/dev/null
    echo $? >"$WORK/9b.rc"
) 8>&- &
bg9b=$!
waits_or_answered() { [ -e "$WORK/9b.rc" ] || [ "$(counter lock_waits)" -gt "$w0" ]; }
wait_until 20 waits_or_answered || { touch "$H"; fail "[9 must-revalidate] the second request neither waited nor was answered"; }
touch "$H"
wait "$bg9" || true
wait "$bg9b" || true
assert_eq 0 "$(cat "$WORK/9b.rc")" "[9 must-revalidate] the request during the revalidation got an answer"
assert_eq 0 "$(cat "$WORK/9r.rc")" "[9 must-revalidate] the slow revalidation got an answer"
assert_ne STALE "$(xcache "$WORK/9b")" "[9 must-revalidate] a request during the revalidation is not served STALE"
assert_eq "200 $c1" "$(code "$WORK/9b") $(call_of "$WORK/9b")" \
    "[9 must-revalidate] ... it gets 200 with the stored body"
assert_eq "200 MISS $c1" "$(code "$WORK/9r") $(xcache "$WORK/9r") $(call_of "$WORK/9r")" \
    "[9 must-revalidate] the revalidation: 200 MISS with the stored body"
assert_match 'fwd-status=304' "$(cache_status "$WORK/9r")" "[9 must-revalidate] ... by a 304"
assert_eq "$((n0 + 1)) $((m0 + 1))" "$(backend_count) $(count304)" \
    "[9 must-revalidate] one backend request, a revalidation answered 304: the waiter took its answer"

# --- 10. HEAD on a stale entry ----------------------------------------------------------
# 10a: forwarded as HEAD with the stored validators; the 304 refreshes.
P=/api/v1/rv/head304
fetch "$WORK/10a" "$P?etag=%22h1%22&cond=1&cc=max-age%3D1&hdr=X-Version:%201"
c1=$(call_of "$WORK/10a")
wait_stored "[10 HEAD 304]" "$P"
wait_stale "[10 HEAD 304]" "$P"
m0=$(count304)
fetch "$WORK/10b" "$P?etag=%22h1%22&cond=1&cc=max-age%3D60&hdr304=X-Version:%202" -I
assert_eq 'inm="h1" ims=- method=HEAD' "$(last)" \
    "[10 HEAD 304] the HEAD is forwarded as HEAD with the stored ETag"
assert_eq "$((m0 + 1))" "$(count304)" "[10 HEAD 304] the backend answered 304"
assert_eq 200 "$(code "$WORK/10b")" "[10 HEAD 304] the client's HEAD gets 200"
n0=$(backend_count)
fetch "$WORK/10c" "$P?etag=%22h1%22&cond=1&cc=max-age%3D60"
assert_eq "HIT $c1 2" "$(xcache "$WORK/10c") $(call_of "$WORK/10c") $(header X-Version "$WORK/10c")" \
    "[10 HEAD 304] the next GET is a HIT with the old body and the 304's header"
assert_eq "$n0" "$(backend_count)" "[10 HEAD 304] ... without a backend request"
assert_match "method=GET" "$(body "$WORK/10c")" "[10 HEAD 304] ... the body is the GET's"
# 10b: a 200 to the HEAD with the stored ETag refreshes the head too.
P=/api/v1/rv/head200
fetch "$WORK/10d" "$P?etag=%22h2%22&cc=max-age%3D1&hdr=X-Version:%201"
c1=$(call_of "$WORK/10d")
wait_stored "[10 HEAD 200]" "$P"
wait_stale "[10 HEAD 200]" "$P"
m0=$(count304)
fetch "$WORK/10e" "$P?etag=%22h2%22&cc=max-age%3D60&hdr=X-Version:%203" -I
assert_eq 'inm="h2" ims=- method=HEAD' "$(last)" \
    "[10 HEAD 200] the HEAD is forwarded as HEAD with the stored ETag"
assert_eq "$m0 200" "$(count304) $(code "$WORK/10e")" "[10 HEAD 200] the backend answered 200 (no cond=1)"
n0=$(backend_count)
fetch "$WORK/10f" "$P?etag=%22h2%22&cc=max-age%3D60"
assert_eq "HIT $c1 3" "$(xcache "$WORK/10f") $(call_of "$WORK/10f") $(header X-Version "$WORK/10f")" \
    "[10 HEAD 200] same ETag: the next GET is a HIT with the old body and the HEAD's header"
assert_match "method=GET" "$(body "$WORK/10f")" "[10 HEAD 200] ... the body is the GET's, not the HEAD's"
# 10c: a 200 to the HEAD with another ETag leaves the entry as it was.
P=/api/v1/rv/head200x
fetch "$WORK/10g" "$P?etag=%22h3%22&cc=max-age%3D1&hdr=X-Version:%201"
c1=$(call_of "$WORK/10g")
wait_stored "[10 HEAD other]" "$P"
wait_stale "[10 HEAD other]" "$P"
fetch "$WORK/10h" "$P?etag=%22h3x%22&cc=max-age%3D60&hdr=X-Version:%203" -I
assert_eq 'inm="h3" method=HEAD' "$(last | sed 's/ ims=.* method=/ method=/')" \
    "[10 HEAD other] the HEAD is forwarded with the stored ETag"
k=$(key_of "$P")
if ! entry_has "$k" 'X-Version: 1' || ! entry_has "$k" '"h3"' ||
    entry_has "$k" '"h3x"' || entry_has "$k" 'X-Version: 3'; then
    fail "[10 HEAD other] the entry changed"
fi
ok "[10 HEAD other] another ETag: the entry keeps its ETag and headers"
m0=$(count304)
fetch "$WORK/10i" "$P?etag=%22h3%22&cond=1&cc=max-age%3D60"
assert_eq 'inm="h3"' "$(last | sed 's/ .*//')" "[10 HEAD other] the next GET revalidates with the old ETag"
assert_eq "$((m0 + 1)) 200 $c1 1" \
    "$(count304) $(code "$WORK/10i") $(call_of "$WORK/10i") $(header X-Version "$WORK/10i")" \
    "[10 HEAD other] ... a 304, and the client gets the old body and headers"

# --- 11. a 5xx to the revalidation within stale-if-error: the stale entry ---------
P=/api/v1/rvs/err
fetch "$WORK/11a" "$P?etag=%22x1%22&cond=1&cc=max-age%3D1"
c1=$(call_of "$WORK/11a")
wait_stored "[11 error]" "$P"
wait_stale "[11 error]" "$P"
n0=$(backend_count)
fetch "$WORK/11b" "$P?etag=%22x1%22&status=500&cc=max-age%3D1"
assert_eq 'inm="x1"' "$(last | sed 's/ .*//')" "[11 error] the fill asked with the stored ETag"
assert_eq "$((n0 + 1))" "$(backend_count)" "[11 error] one backend request (answered 500)"
assert_eq "200 STALE $c1" "$(code "$WORK/11b") $(xcache "$WORK/11b") $(call_of "$WORK/11b")" \
    "[11 error] stale_ttl 30: the client gets the stale entry, not the 500"

# --- 12. php-cgi answering 304 itself (tests/revalidate.php) -------------------------
php_part() {
    local c1 p0
    launch_gateway "bocache in front of php-cgi" "$PHP_GW_SOCK" "$WORK/php-gw.log" \
        "$BOCACHE" -c "$PHP_CONF" -l "unix:$PHP_GW_SOCK" -- php-cgi
    ok "bocache runs php-cgi with tests/revalidate.php"
    fetch "$WORK/12a" /php/rv
    c1=$(call_of "$WORK/12a")
    [ -n "$c1" ] || fail "[12 php] the answer is not revalidate.php's: $(head -c 300 "$WORK/12a")"
    assert_eq "200 MISS \"rv-1\" 1 0" \
        "$(code "$WORK/12a") $(xcache "$WORK/12a") $(header ETag "$WORK/12a") $(state "$PHP_STATE" count200) $(state "$PHP_STATE" count304)" \
        "[12 php] the first GET: PHP's 200 with ETag \"rv-1\""
    wait_stored "[12 php]" /php/rv "$PHP_CONF"
    wait_stale "[12 php]" /php/rv "$PHP_CONF"
    fetch "$WORK/12b" /php/rv
    assert_eq 'inm="rv-1"' "$(sed 's/ .*//' "$PHP_STATE/last")" \
        "[12 php] the revalidation sends PHP If-None-Match: \"rv-1\""
    assert_eq "1 1" "$(state "$PHP_STATE" count200) $(state "$PHP_STATE" count304)" \
        "[12 php] PHP answered it 304 (one 200, one 304 in all)"
    assert_eq "200 MISS $c1" "$(code "$WORK/12b") $(xcache "$WORK/12b") $(call_of "$WORK/12b")" \
        "[12 php] the client gets 200 with the stored body (call $c1)"
    assert_match 'fwd-status=304' "$(cache_status "$WORK/12b")" "[12 php] Cache-Status says fwd-status=304"
    # A new version of the data: PHP's ETag changes, its 200 replaces.
    echo 2 >"$PHP_STATE/version"
    p0=$(state "$PHP_STATE" count200)
    wait_stale "[12 php]" /php/rv "$PHP_CONF"
    fetch "$WORK/12c" /php/rv
    assert_eq "$((p0 + 1)) \"rv-2\"" "$(state "$PHP_STATE" count200) $(header ETag "$WORK/12c")" \
        "[12 php] new data: PHP answers 200 with ETag \"rv-2\", passed on"
    assert_match 'version=2' "$(body "$WORK/12c")" "[12 php] ... and its new body"
}
if command -v php-cgi >/dev/null 2>&1; then
    php_part
else
    part_skip php "php-cgi not found (Debian: php-cgi)"
fi

# --- 13. Django's ConditionalGetMiddleware under uWSGI (tests/django_app) ----------
# start_django: uWSGI serving tests/django_app over FastCGI on $DJ_SOCK;
# false, with the reason in DJ_WHY, when it cannot run here.
start_django() {
    local why
    DJ_WHY=
    if ! command -v uwsgi >/dev/null 2>&1; then
        DJ_WHY="uwsgi not found (Debian: uwsgi-core, uwsgi-plugin-python3, python3-django)"
        return 1
    fi
    REVALIDATE_STATE=$DJ_STATE PYTHONDONTWRITEBYTECODE=1 \
        uwsgi --plugin python3 --fastcgi-socket "$DJ_SOCK" \
        --pythonpath "$top_srcdir/tests" --module django_app.wsgi:application \
        --master --processes 2 --die-on-term --need-app --disable-logging \
        >>"$WORK/uwsgi.log" 2>&1 8>&- &
    DJ_PID=$!
    track "$DJ_PID"
    # /ready is outside the project's URLs: a 404 that no check counts.
    if wait_until 15 eval "! alive $DJ_PID || \"\$FCGI_GET\" -t 1000 'unix:$DJ_SOCK' /ready >/dev/null 2>&1" &&
        alive "$DJ_PID"; then
        return 0
    fi
    why=$(grep -m 1 -E "unable to load|No module named|ImportError|Error" "$WORK/uwsgi.log" || true)
    DJ_WHY="uWSGI did not serve tests/django_app: ${why:-$(tail -n 1 "$WORK/uwsgi.log")}"
    if alive "$DJ_PID"; then stop_pid "$DJ_PID"; fi
    return 1
}
django_part() {
    local x1 j1
    launch_gateway "bocache in front of Django" "$DJ_GW_SOCK" "$WORK/django-gw.log" \
        "$BOCACHE" -c "$DJ_CONF" -l "unix:$DJ_GW_SOCK"
    ok "uWSGI serves tests/django_app over FastCGI behind bocache"
    fetch "$WORK/13a" /dj/items
    x1=$(header X-Call "$WORK/13a")
    j1=$(body "$WORK/13a")
    assert_eq "200 MISS \"items-v1\" 1 0" \
        "$(code "$WORK/13a") $(xcache "$WORK/13a") $(header ETag "$WORK/13a") $(state "$DJ_STATE" count200) $(state "$DJ_STATE" count304)" \
        "[13 django] the first GET: the view's 200 with ETag \"items-v1\""
    assert_match '^\[\{"id": 1' "$j1" "[13 django] ... a JSON list"
    wait_stored "[13 django]" /dj/items "$DJ_CONF"
    wait_stale "[13 django]" /dj/items "$DJ_CONF"
    fetch "$WORK/13b" /dj/items
    assert_eq 'inm="items-v1"' "$(sed 's/ .*//' "$DJ_STATE/last")" \
        "[13 django] the revalidation sends Django If-None-Match: \"items-v1\""
    assert_eq "1 1" "$(state "$DJ_STATE" count200) $(state "$DJ_STATE" count304)" \
        "[13 django] ConditionalGetMiddleware answered it 304"
    assert_eq "200 MISS" "$(code "$WORK/13b") $(xcache "$WORK/13b")" \
        "[13 django] the client gets 200 (MISS)"
    assert_eq "$j1" "$(body "$WORK/13b")" "[13 django] ... with the stored JSON body"
    assert_eq "$x1" "$(header X-Call "$WORK/13b")" \
        "[13 django] ... and the stored X-Call (the middleware's 304 drops it)"
    assert_match 'fwd-status=304' "$(cache_status "$WORK/13b")" "[13 django] Cache-Status says fwd-status=304"
    assert_match '^application/json' "$(header Content-Type "$WORK/13b")" \
        "[13 django] the stored Content-Type stays"
}
if start_django; then
    django_part
else
    part_skip django "$DJ_WHY"
fi

stop_pid "$NGINX_PID" QUIT
