#!/bin/bash
# it_hostile_backend.sh: SPEC 6 "whole and clean" and "never sent twice",
# and SPEC 7's row on backends that serve one connection at a time.
#
# [1] tests/hostile_backend breaks the FastCGI protocol on request (see its
#     header), with backend.keepalive false and true, one worker so that
#     every request goes over the same backend connection: no caller ever
#     receives another request's bytes or another caller's body, nothing
#     unclean is stored, a stray END_REQUEST does not shift the answers
#     that follow, a POST is executed once when the backend closed the kept
#     connection, OVERLOADED is not stored, a 304 to a revalidation whose
#     exchange is unclean serves the stored copy and refreshes nothing.
# [2] two bocache processes (4 workers each) in front of one php-cgi with
#     PHP_FCGI_CHILDREN=4, keepalive false: distinct requests through both
#     answer promptly (each its own 5 s bound).
# [3] PHP_FCGI_CHILDREN=2 bocache -- php-cgi with 4 workers: a third and a
#     fourth concurrent request do not hang.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

HOSTILE=$top_builddir/tests/hostile_backend
[ -x "$HOSTILE" ] || skip "$HOSTILE is not built (make check builds it)"
HSOCK=$WORK/hostile.sock

# h CONTROL: a control value of the hostile backend (count, strays, closed).
h() {
    "$FCGI_GET" -t 3000 -b "unix:$HSOCK" "/__$1"
}

start_hostile() {
    launch_backend hostile_backend "$HSOCK" "$WORK/backend.log" \
        "$HOSTILE" -l "unix:$HSOCK"
}

# hreq NAME CALLER [fcgi_get option]... URI: a request through bocache as
# CALLER (X-Api-Key key-CALLER, X-Partner-Id CALLER), each with its own
# 5 s bound; the answer goes to $WORK/NAME. Whatever came back must hold
# no byte of another request and name no other caller.
hreq() {
    local name=$1 who=$2 n
    shift 2
    n=$#
    "$FCGI_GET" -t 5000 -H "X-Api-Key: key-$who" -H "X-Partner-Id: $who" \
        "${@:1:n-1}" "unix:$BOCACHE_SOCK" "${!n}" >"$WORK/$name" \
        2>"$WORK/$name.err" || true
    if grep -aq LEAK "$WORK/$name"; then
        fail "$name: another request's bytes reached $who: $(grep -a LEAK "$WORK/$name")"
    fi
    if grep -ao 'hostile call=.*' "$WORK/$name" |
        grep -av " partner=$who key=key-$who " >"$WORK/$name.foreign"; then
        fail "$name: $who got another caller's body: $(cat "$WORK/$name.foreign")"
    fi
}

# own NAME CALLER WHAT: the answer is a 200 with CALLER's own whole body.
own() {
    assert_eq 200 "$(status "$WORK/$1")" "$3: 200"
    assert_match "^hostile call=[0-9]+ mode=[a-z_]+ method=[A-Z]+ partner=$2 key=key-$2 uri=" \
        "$(body "$WORK/$1" | tr -d '\r')" "$3: $2 gets its own whole body"
}

call_of_h() {
    sed -n 's/.*hostile call=\([0-9]*\) .*/\1/p' "$WORK/$1" | head -n 1
}

# not_stored NAME CALLER URI WHAT: the next request for URI is no HIT and
# reaches the backend, and Redis holds no entry for it (one worker: the
# first request's store, if any, is done before the second is read).
not_stored() {
    local before
    before=$(h count)
    hreq "$1.again" "$2" "$3"
    assert_ne HIT "$(xcache "$WORK/$1.again")" "$4: the next request is no HIT"
    assert_eq $((before + 1)) "$(h count)" "$4: the next request reaches the backend"
    assert_eq "" "$(redis_keys "bocache:*:${3%%\?*}*")" "$4: no entry in Redis"
}

start_redis
redis_open
start_hostile

# run_hostile KEEPALIVE: every mode through one bocache worker.
run_hostile() {
    local ka=$1 U=/api/v1/sports/h-$1 before c i
    write_config "backend.address=\"unix:$HSOCK\"" workers=1 \
        "backend.keepalive=$ka" backend.keepalive_timeout_ms=60000 \
        backend.timeout_ms=3000
    start_bocache
    echo "# --- keepalive = $ka"

    # A normal answer names its caller; another caller has its own entry.
    hreq n1 A "$U/normal"
    own n1 A "keepalive=$ka normal"
    assert_eq MISS "$(xcache "$WORK/n1")" "keepalive=$ka normal: MISS"
    hreq n2 A "$U/normal"
    assert_eq "HIT $(call_of_h n1)" "$(xcache "$WORK/n2") $(call_of_h n2)" \
        "keepalive=$ka normal: the same caller again is a HIT of its entry"
    hreq n3 B "$U/normal"
    own n3 B "keepalive=$ka normal, another caller"
    assert_eq MISS "$(xcache "$WORK/n3")" "keepalive=$ka normal, another caller: MISS"

    # A second END_REQUEST in the same write as the answer.
    hreq se A "$U/stray_end?mode=stray_end"
    own se A "keepalive=$ka stray END_REQUEST in the same write"
    not_stored se A "$U/stray_end?mode=stray_end" "keepalive=$ka stray END_REQUEST in the same write"
    before=$(h count)
    for i in 1 2 3; do
        hreq "se.next$i" "C$i" "$U/after-stray-end-$i"
        own "se.next$i" "C$i" "keepalive=$ka after a stray END_REQUEST, request $i"
        assert_eq $((before + i)) "$(call_of_h "se.next$i")" \
            "keepalive=$ka after a stray END_REQUEST, request $i: its own call, not shifted"
    done

    # A second END_REQUEST ~50 ms after the answer, on the idle connection.
    c=$(h strays)
    hreq sl A "$U/stray_late?mode=stray_late"
    own sl A "keepalive=$ka late stray END_REQUEST"
    if [ "$ka" = true ]; then
        wait_until 5 eval "[ \$(h strays) -gt $c ]" ||
            fail "the hostile backend did not send its late END_REQUEST"
        ok "keepalive=$ka: the late END_REQUEST went out on the kept connection"
    fi
    before=$(h count)
    for i in 1 2 3 4; do
        hreq "sl.next$i" "D$i" "$U/after-stray-late-$i"
        own "sl.next$i" "D$i" "keepalive=$ka after a late stray END_REQUEST, request $i"
        assert_eq $((before + i)) "$(call_of_h "sl.next$i")" \
            "keepalive=$ka after a late stray END_REQUEST, request $i: its own call, not shifted"
    done

    # STDOUT and END_REQUEST of request id 2 inside our answer.
    hreq il A "$U/interleave?mode=interleave"
    own il A "keepalive=$ka another request id interleaved"
    not_stored il A "$U/interleave?mode=interleave" "keepalive=$ka another request id interleaved"
    # ... and before anything of ours.
    hreq ff A "$U/foreign_first?mode=foreign_first"
    assert_eq 502 "$(status "$WORK/ff")" "keepalive=$ka another request id first: 502"
    not_stored ff A "$U/foreign_first?mode=foreign_first" "keepalive=$ka another request id first"

    # FCGI_OVERLOADED, alone and after a whole answer.
    hreq ov A "$U/overloaded?mode=overloaded"
    assert_eq 502 "$(status "$WORK/ov")" "keepalive=$ka OVERLOADED: 502"
    not_stored ov A "$U/overloaded?mode=overloaded" "keepalive=$ka OVERLOADED"
    hreq ova A "$U/overloaded_after?mode=overloaded_after"
    own ova A "keepalive=$ka OVERLOADED after the answer"
    not_stored ova A "$U/overloaded_after?mode=overloaded_after" "keepalive=$ka OVERLOADED after the answer"

    # Content-Length: 1000 with 57 bytes of body.
    hreq short A "$U/short?mode=short"
    not_stored short A "$U/short?mode=short" "keepalive=$ka short body (content-length-short)"
    # An empty Content-Length as the last header, digits in the body: the
    # verdict must not read past the header into the body.
    hreq ecl A "$U/empty_cl?mode=empty_cl"
    if [ "$(status "$WORK/ecl")" = 200 ]; then
        assert_match "^99999999 hostile call=[0-9]+ mode=empty_cl method=GET partner=A key=key-A " \
            "$(body "$WORK/ecl" | tr -d '\r')" "keepalive=$ka empty Content-Length: the body as it came"
    fi
    assert_eq "" "$(header Cache-Status "$WORK/ecl" | grep -o 'too-large' || true)" \
        "keepalive=$ka empty Content-Length (content-length-empty): not read as the body's digits"
    not_stored ecl A "$U/empty_cl?mode=empty_cl" "keepalive=$ka empty Content-Length (content-length-empty)"

    # The backend reads the request and closes without a word.
    hreq warm1 A "$U/warm1"
    before=$(h count)
    hreq sg A "$U/silent_get?mode=silent"
    assert_eq 502 "$(status "$WORK/sg")" "keepalive=$ka silent backend, GET: 502"
    c=$(($(h count) - before))
    if [ "$ka" = true ]; then
        assert_eq 2 "$c" "keepalive=$ka silent backend: a GET on the kept connection is sent once more"
    else
        assert_eq 1 "$c" "keepalive=$ka silent backend: a GET on its own connection is sent once"
    fi
    hreq warm2 A "$U/warm2"
    own warm2 A "keepalive=$ka warm-up before a POST"
    before=$(h count)
    hreq sp A -X POST -d 'x=1' "$U/silent_post?mode=silent"
    assert_eq 502 "$(status "$WORK/sp")" "keepalive=$ka silent backend, POST: 502"
    assert_eq $((before + 1)) "$(h count)" \
        "keepalive=$ka silent backend: the POST was executed exactly once"

    # The backend closes the kept connection after a whole answer.
    c=$(h closed)
    hreq ca A "$U/close_after?mode=close_after"
    own ca A "keepalive=$ka close after the answer"
    wait_until 5 eval "[ \$(h closed) -gt $c ]" ||
        fail "the hostile backend did not close the connection"
    before=$(h count)
    hreq cp A -X POST -d 'x=1' "$U/post_after_close"
    own cp A "keepalive=$ka POST after the backend closed the kept connection"
    assert_eq $((before + 1)) "$(h count)" \
        "keepalive=$ka POST after the backend closed the kept connection: executed once"

    # A revalidation whose 304 breaks the protocol (hostile_backend's
    # r304_M modes): the client gets the copy that the 304 confirmed,
    # never another request's bytes, and the entry is not refreshed on
    # the word of an unclean exchange.
    local m R key c1
    for m in overloaded stray_end interleave cut; do
        R="$U/r304_$m?mode=r304_$m"
        hreq "r$m.1" A "$R"
        assert_eq 200 "$(status "$WORK/r$m.1")" "keepalive=$ka r304_$m: the first answer is a 200"
        c1=$(call_of_h "r$m.1")
        wait_key "bocache:*:$U/r304_$m*" || fail "keepalive=$ka r304_$m: the first answer was not stored"
        key=$(redis_keys "bocache:*:$U/r304_$m*")
        for i in 2 3; do
            # An unclean exchange leaves a transient pass marker (SPEC 6:
            # its waiters are released at once); the next revalidation
            # comes once it is gone.
            wait_until 5 eval "! lease_held '$key'" ||
                fail "keepalive=$ka r304_$m: the pass marker stayed"
            before=$(h count)
            hreq "r$m.$i" A "$R"
            assert_eq $((before + 1)) "$(h count)" \
                "keepalive=$ka r304_$m, use $i: no-cache revalidates at the backend"
            assert_eq "200 $c1" "$(status "$WORK/r$m.$i") $(call_of_h "r$m.$i")" \
                "keepalive=$ka r304_$m, use $i: the stored copy is served"
            assert_match 'fwd-status=304' "$(cache_status "$WORK/r$m.$i")" \
                "keepalive=$ka r304_$m, use $i: Cache-Status says the backend answered 304"
        done
        # One worker: use 2's store, had there been one, is done before
        # use 3 was read.
        if entry_has "$key" "X-Reval"; then
            fail "keepalive=$ka r304_$m: the unclean 304 refreshed the stored entry"
        fi
        entry_has "$key" "hostile call=$c1 " ||
            fail "keepalive=$ka r304_$m: the stored entry is no longer the first answer"
        ok "keepalive=$ka r304_$m: the entry is the first answer, not refreshed"
    done

    alive "$BOCACHE_PID" || fail "bocache died"
    stop_bocache
}

run_hostile false
run_hostile true

# --- [2] [3] php-cgi: one connection per child ---------------------------------
if ! command -v php-cgi >/dev/null 2>&1; then
    [ "${CI:-}" != true ] || fail "cannot run: php-cgi not found"
    echo "# SKIP php-cgi sections: php-cgi not found"
    exit 0
fi
mkdir -p "$WORK/www"
cp "$top_srcdir/tests/app.php" "$WORK/www/app.php"
APP=$WORK/www/app.php
PHP_SOCK=$WORK/php.sock
PHP_PARAMS=(-p "SCRIPT_FILENAME=$APP" -p REDIRECT_STATUS=200)

# at_once NAME ADDR URI...: one request per URI at the same time, each
# bounded by 5 s on its own; every one must be a 200 from app.php.
at_once() {
    local name=$1 addr=$2 i=0 p pids="" bad=0 u
    shift 2
    for u in "$@"; do
        i=$((i + 1))
        "$FCGI_GET" -t 5000 "${PHP_PARAMS[@]}" "$addr" "$u" \
            >"$WORK/$name.$i" 2>"$WORK/$name.$i.err" 8>&- &
        pids="$pids $!"
        track "$!"
    done
    i=0
    for p in $pids; do
        i=$((i + 1))
        if ! wait "$p" || [ "$(status "$WORK/$name.$i")" != 200 ] ||
            ! grep -q '^call=' "$WORK/$name.$i"; then
            bad=$((bad + 1))
            echo "# $name.$i ($addr ${!i}): $(status "$WORK/$name.$i") $(cat "$WORK/$name.$i.err")" >&8
        fi
        untrack "$p"
    done
    assert_eq 0 "$bad" "$name: $# concurrent requests each answered within 5 s"
}

# [2] One php-cgi, PHP_FCGI_CHILDREN=4, under two bocache processes.
rm -f "$PHP_SOCK"
PHP_FCGI_CHILDREN=4 php-cgi -b "$PHP_SOCK" >>"$WORK/backend.log" 2>&1 8>&- &
PHP_PID=$!
track "$PHP_PID"
php_up() {
    "$FCGI_GET" -t 2000 "${PHP_PARAMS[@]}" "unix:$PHP_SOCK" /up 2>/dev/null |
        grep -q '^call='
}
wait_until 10 php_up || fail "php-cgi -b did not answer"
for p in $(pgrep -P "$PHP_PID" || true); do track "$p"; done
ok "php-cgi runs with PHP_FCGI_CHILDREN=4 ($(pgrep -c -P "$PHP_PID") children)"

write_config "backend.address=\"unix:$PHP_SOCK\"" workers=4 \
    backend.keepalive=false backend.timeout_ms=10000
start_bocache
start_bocache2
S='sleep_ms=300'
at_once two.a "unix:$BOCACHE_SOCK" "/spec7/a1?$S" "/spec7/a2?$S" "/spec7/a3?$S" "/spec7/a4?$S"
at_once two.b "unix:$BOCACHE_SOCK2" "/spec7/b1?$S" "/spec7/b2?$S" "/spec7/b3?$S" "/spec7/b4?$S"
for round in 1 2; do
    pids=""
    for i in 1 2 3 4; do
        "$FCGI_GET" -t 5000 "${PHP_PARAMS[@]}" "unix:$BOCACHE_SOCK2" \
            "/spec7/d$round-$i?$S" >"$WORK/mix$round.d$i" 2>&1 8>&- &
        pids="$pids $!"
        track "$!"
    done
    at_once "two.mix$round" "unix:$BOCACHE_SOCK" "/spec7/c$round-1?$S" \
        "/spec7/c$round-2?$S" "/spec7/c$round-3?$S" "/spec7/c$round-4?$S"
    bad=0
    for p in $pids; do
        wait "$p" || bad=$((bad + 1))
        untrack "$p"
    done
    assert_eq 0 "$bad" "two.mix$round: the 4 requests through the other process at the same time each answered within 5 s"
done
stop_bocache
stop_pid "$BOCACHE2_PID"
kids=$(pgrep -P "$PHP_PID" || true)
stop_pid "$PHP_PID"
for p in $kids; do stop_pid "$p"; done

# [3] bocache's own php-cgi child with 2 children for 4 workers.
TMPDIR=$WORK
export TMPDIR
write_config backend.address=@unset workers=4 backend.keepalive=false \
    backend.timeout_ms=10000
PHP_FCGI_CHILDREN=2
export PHP_FCGI_CHILDREN
start_bocache -- php-cgi
unset PHP_FCGI_CHILDREN
for round in 1 2; do
    at_once "child.$round" "unix:$BOCACHE_SOCK" "/spec7/e$round-1?$S" \
        "/spec7/e$round-2?$S" "/spec7/e$round-3?$S" "/spec7/e$round-4?$S"
done
stop_bocache
assert_eq 0 "$STOP_RC" "bocache with its php-cgi child stops with status 0"
