#!/bin/bash
# demo.sh [--install-deps]: builds bocache and shows it working: a private
# redis-server, php-cgi as the application, bocache in front of it and
# nginx in front of bocache, all on loopback in a temp dir; then MISS, HIT,
# another caller's MISS, and invalidations published with redis-cli and
# with bocache-ctl. Stops everything it started. With --install-deps (or
# BOCACHE_INSTALL_DEPS=1) it first installs the Debian 12 packages that are
# missing (tools/deps.sh); otherwise it names what is missing and stops.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
--install-deps) BOCACHE_INSTALL_DEPS=1 ;;
"") ;;
*)
    echo "usage: bash tools/demo.sh [--install-deps]" >&2
    exit 2
    ;;
esac
[ "${BOCACHE_INSTALL_DEPS:-}" != 1 ] || sh "$top/tools/deps.sh"
sh "$top/tools/deps.sh" --check autoconf automake libtoolize pkg-config make \
    gcc pc:fcgi pc:hiredis pc:libconfig pc:check pc:nettle pc:jansson \
    redis-server redis-cli php-cgi nginx curl ||
    { echo "demo: cannot run without them" >&2; exit 1; }
build="$top/_build/demo"
if [ ! -f "$build/Makefile" ]; then
    (cd "$top" && autoreconf -fi >/dev/null 2>&1)
    mkdir -p "$build"
    (cd "$build" && "$top/configure" >/dev/null)
fi
make -C "$build" -j2 >/dev/null

work=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

free_port() {
    local p
    for _ in $(seq 1 100); do
        p=$((20000 + RANDOM % 12000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}
wait_for() { # wait_for SECONDS COMMAND...
    local n=$(($1 * 10))
    shift
    until "$@" 2>/dev/null; do
        n=$((n - 1))
        [ $n -gt 0 ] || { echo "demo: timed out waiting for: $*" >&2; exit 1; }
        sleep 0.1
    done
}

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$work" --logfile "$work/redis.log" &
pids+=($!)
wait_for 10 redis-cli -p "$redis_port" ping

bocache_port=$(free_port)
cat >"$work/bocache.conf" <<CONF
workers = 4;
redis: { address = "127.0.0.1:$redis_port"; };
endpoints = (
  { path = "/api/v1/sports/"; match = "prefix"; key_type = "api_key"; ttl = 600; }
);
CONF
# bocache wraps the application: php-cgi runs as its child on a private
# socket (PHP_FCGI_CHILDREN defaults to bocache's worker count).
"$build/bocache" -c "$work/bocache.conf" -l "127.0.0.1:$bocache_port" \
    -- php-cgi 2>"$work/bocache.log" &
pids+=($!)
wait_for 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$bocache_port"

http_port=$(free_port)
mkdir -p "$work/nginx"
cat >"$work/nginx.conf" <<CONF
daemon off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$http_port;
        location / {
            include /etc/nginx/fastcgi_params;
            fastcgi_param SCRIPT_FILENAME $top/demo/app.php;
            fastcgi_pass 127.0.0.1:$bocache_port;
        }
    }
}
CONF
nginx -c "$work/nginx.conf" -e "$work/nginx-error.log" &
pids+=($!)
wait_for 10 curl -fs -o /dev/null "http://127.0.0.1:$http_port/"

url="http://127.0.0.1:$http_port/api/v1/sports/?lang=en&page=1"
show() { # show TITLE CURL-ARGS...
    local title=$1
    shift
    echo
    echo "== $title"
    echo "\$ curl -s -i $*"
    curl -s -i -w '(%{time_total} s)\n' "$@" |
        grep -iE '^(HTTP/|x-cache|cache-status|age:|\{|\()' || true
}
echo "bocache demo: nginx :$http_port -> bocache :$bocache_port -> php-cgi," \
    "redis :$redis_port"
show "first request: MISS, the application takes 200 ms" \
    -H 'X-Api-Key: demo-key-1' "$url"
show "same caller again: HIT from Redis, the application is not called" \
    -H 'X-Api-Key: demo-key-1' "$url"
show "query order does not matter: HIT" \
    -H 'X-Api-Key: demo-key-1' "http://127.0.0.1:$http_port/api/v1/sports/?page=1&lang=en"
show "another API key: MISS (entries are per caller)" \
    -H 'X-Api-Key: demo-key-2' "$url"
echo
echo "== the entries in Redis (the API keys themselves are never stored)"
redis-cli -p "$redis_port" --scan --pattern 'bocache:*' | grep -v '^bocache:#'

echo
echo "== the application changes its data and publishes an invalidation"
echo "   (the response carried X-Cache-Tags: sports)"
msg='{"id":"demo-1","tags":["sports"]}'
# Pub/sub is at-most-once: publish once bocache listens, and show the next
# request once the entries are gone (bocache drops its in-memory copies
# before it removes them from Redis).
rcli="redis-cli -p $redis_port"
wait_for 10 sh -c "[ \"\$($rcli PUBSUB NUMSUB bocache:invalidate | sed -n 2p)\" = 1 ]"
echo "\$ redis-cli PUBLISH bocache:invalidate '$msg'"
$rcli PUBLISH bocache:invalidate "$msg" >/dev/null
wait_for 10 sh -c "! $rcli --scan --pattern 'bocache:api_key:*' | grep -q ."
show "after the invalidation: MISS, fresh data" \
    -H 'X-Api-Key: demo-key-1' "$url"
show "and cached again: HIT" -H 'X-Api-Key: demo-key-1' "$url"

echo
echo "== an operator invalidates with bocache-ctl"
ctl="$build/bocache-ctl -c $work/bocache.conf"
echo "\$ bocache-ctl key -H 'X-Api-Key: demo-key-1' '/api/v1/sports/?page=1&lang=en'"
$ctl key -H 'X-Api-Key: demo-key-1' '/api/v1/sports/?page=1&lang=en'
echo "\$ bocache-ctl invalidate --pattern 'bocache:api_key:*' --uri /api/v1/sports/"
$ctl invalidate --pattern 'bocache:api_key:*' --uri /api/v1/sports/
show "after bocache-ctl: MISS" -H 'X-Api-Key: demo-key-1' "$url"
echo
echo "demo done; stopping everything it started"
