#!/bin/bash
# demo.sh: installs what is missing, builds bocache, and shows it working:
# a private redis-server, php-cgi as the application, bocache in front of
# it and nginx in front of bocache, all on loopback in a temp dir; then
# MISS, HIT and another caller's MISS with curl. Stops everything it started.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/tools/deps.sh"
build="$top/_build/demo"
if [ ! -x "$build/bocache" ]; then
    (cd "$top" && autoreconf -fi >/dev/null 2>&1)
    mkdir -p "$build"
    (cd "$build" && "$top/configure" >/dev/null && make -j2 >/dev/null)
fi

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

# php-cgi serves one request per process; bocache keeps one connection per
# worker, so start as many PHP children as bocache has workers.
PHP_FCGI_CHILDREN=4 PHP_FCGI_MAX_REQUESTS=10000 \
    php-cgi -b "$work/php.sock" -d "auto_prepend_file=" &
pids+=($!)
wait_for 10 test -S "$work/php.sock"

bocache_port=$(free_port)
cat >"$work/bocache.conf" <<CONF
workers = 4;
backend: { address = "unix:$work/php.sock"; };
redis: { address = "127.0.0.1:$redis_port"; };
endpoints = (
  { path = "/api/v1/sports/"; match = "prefix"; key_type = "api_key"; ttl = 600; }
);
CONF
"$build/bocache" -c "$work/bocache.conf" -l "127.0.0.1:$bocache_port" \
    2>"$work/bocache.log" &
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
echo "== the keys in Redis (the API keys themselves are never stored)"
redis-cli -p "$redis_port" --scan --pattern 'bocache:*'
echo
echo "demo done; stopping everything it started"
