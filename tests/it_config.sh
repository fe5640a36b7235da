#!/bin/bash
# it_config.sh: bocache -t, -V, configuration errors as FILE:LINE, SIGHUP
# reloads (keeping the old file when the new one is bad), SIGTERM exits 0.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"

[ -x "$BOCACHE" ] || fail "$BOCACHE is not built"

# check_bad WHAT LINE TEXT: a file holding TEXT is rejected at LINE.
check_bad() {
    local f=$WORK/bad.conf rc=0 out
    printf '%s\n' "$3" >"$f"
    out=$("$BOCACHE" -t -c "$f" 2>&1) || rc=$?
    assert_eq 1 "$rc" "$1: bocache -t exits 1"
    assert_match "^$f:$2: ." "$out" "$1: the message starts with FILE:$2:"
}

# --- -V and -t -------------------------------------------------------------------
rc=0
out=$("$BOCACHE" -V 2>&1) || rc=$?
assert_eq 0 "$rc" "bocache -V exits 0"
assert_match '[0-9]+\.[0-9]+' "$out" "bocache -V prints a version ($out)"

write_config
rc=0
out=$("$BOCACHE" -t -c "$CONFIG" 2>&1) || rc=$?
assert_eq 0 "$rc" "bocache -t on the standard test file exits 0"
assert_match 'configuration OK' "$out" "bocache -t prints 'configuration OK'"

cp "$top_srcdir/etc/bocache.conf" "$WORK/example.conf"
rc=0
out=$("$BOCACHE" -t -c "$WORK/example.conf" 2>&1) || rc=$?
assert_eq 0 "$rc" "bocache -t accepts etc/bocache.conf ($out)"

check_bad "a wrong type" 3 '# a comment
log_level = "info";
workers = "four";'
check_bad "an unknown setting" 4 'workers = 2;
cache: {
  ttl = 60;
  no_such_setting = 1;
};'
check_bad "a syntax error" 2 'workers = 2;
workers = ;
log_level = "info";'
check_bad "a bad key_type" 3 'endpoints = (
  { path = "/a/"; key_type = "api_key"; },
  { path = "/b/"; key_type = "nobody"; }
);'
# Statuses an entry cannot answer with (README: freshness table).
check_bad "statuses with a 206" 3 'endpoints = (
  { path = "/a";
    statuses = [200, 206]; }
);'
check_bad "statuses with a 304" 2 'endpoints = (
  { path = "/a"; statuses = [304]; }
);'
check_bad "statuses with a 1xx" 2 'endpoints = (
  { path = "/a"; statuses = [103, 200]; }
);'
printf '%s\n' 'endpoints = ( { path = "/a"; statuses = [200, 203, 204, 300, 301, 302, 308, 404, 405, 410, 414, 500, 501]; } );' >"$WORK/statuses.conf"
rc=0
out=$("$BOCACHE" -t -c "$WORK/statuses.conf" 2>&1) || rc=$?
assert_eq 0 "$rc" "statuses: every heuristically cacheable status, and others, are accepted ($out)"
check_bad "a bad match" 2 'endpoints = (
  { path = "/a/"; match = "regex"; }
);'
check_bad "a negative ttl" 2 'cache: {
  ttl = -5;
};'
check_bad "a bad log_level" 1 'log_level = "loud";'

rc=0
out=$("$BOCACHE" -t -c "$WORK/missing.conf" 2>&1) || rc=$?
assert_eq 1 "$rc" "a missing file: bocache -t exits 1"
assert_match "missing.conf" "$out" "a missing file: the message names it"

# --- SIGHUP and SIGTERM ------------------------------------------------------------
start_redis
start_backend
write_config
start_bocache
req /api/v1/new/x >"$WORK/h1"
assert_eq BYPASS "$(xcache "$WORK/h1")" "before reload: /api/v1/new/ is not cached"

printf 'workers = "four";\n' >"$CONFIG"
kill -HUP "$BOCACHE_PID"
wait_until 5 grep -q "$CONFIG:1:" "$BOCACHE_LOG" ||
    fail "SIGHUP with a bad file: no '$CONFIG:1:' message in the log"
ok "SIGHUP with a bad file: the error is logged as FILE:LINE"
req /api/v1/public/after-bad-hup >"$WORK/h2"
assert_eq 200 "$(status "$WORK/h2")" "SIGHUP with a bad file: requests still answer"
req /api/v1/public/after-bad-hup >"$WORK/h3"
assert_eq HIT "$(xcache "$WORK/h3")" "SIGHUP with a bad file: the old endpoints stay"

write_config endpoint='{ path = "/api/v1/new/"; match = "prefix"; key_type = "none"; }'
kill -HUP "$BOCACHE_PID"
reloaded() {
    req /api/v1/new/x >"$WORK/h4" && [ "$(xcache "$WORK/h4")" != BYPASS ]
}
wait_until 5 reloaded || fail "SIGHUP: the new endpoint is not in force after 5 s"
ok "SIGHUP with a good file: the new endpoint is in force"

stop_bocache TERM
assert_eq 0 "$STOP_RC" "SIGTERM: bocache exits 0"
