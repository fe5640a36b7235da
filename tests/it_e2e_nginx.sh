#!/bin/bash
# it_e2e_nginx.sh: end to end through a real nginx: nginx -> bocache (under
# spawn-fcgi) -> php-cgi running tests/app.php as bocache's child. MISS, HIT,
# invalidation, php-cgi killed under load, SIGHUP under load, SIGTERM.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/e2e_setup"

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
need "$NGINX"
FASTCGI_PARAMS=/etc/nginx/fastcgi_params
[ -r "$FASTCGI_PARAMS" ] || skip "$FASTCGI_PARAMS not found"

# write_nginx_conf PORT: a foreground nginx with every path in $WORK.
write_nginx_conf() {
    local user=""
    # Workers of an nginx started as root would run as nobody and could not
    # reach the socket in $WORK (mode 0700).
    [ "$(id -u)" -ne 0 ] || user="user root;"
    mkdir -p "$WORK/nginx"
    cat >"$WORK/nginx.conf" <<CONF
# written by tests/it_e2e_nginx.sh
daemon off;
$user
worker_processes 1;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/error.log info;
events { worker_connections 256; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/body;
    fastcgi_temp_path $WORK/nginx/fastcgi;
    proxy_temp_path $WORK/nginx/proxy;
    uwsgi_temp_path $WORK/nginx/uwsgi;
    scgi_temp_path $WORK/nginx/scgi;
    server {
        listen 127.0.0.1:$1;
        root $WORK/www;
        location /api/ {
            include $FASTCGI_PARAMS;
            fastcgi_param SCRIPT_FILENAME $APP;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
    }
}
CONF
}

http_ready() {
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
        "http://127.0.0.1:$HTTP_PORT/none")" != 000 ]
}

start_nginx() {
    for _ in 1 2 3 4 5; do
        HTTP_PORT=$(free_port)
        write_nginx_conf "$HTTP_PORT"
        "$NGINX" -e "$WORK/nginx/error.log" -c "$WORK/nginx.conf" \
            >>"$WORK/nginx/out.log" 2>&1 8>&- &
        NGINX_PID=$!
        track "$NGINX_PID"
        if wait_until 10 eval "alive $NGINX_PID && http_ready"; then
            ok "nginx answers on 127.0.0.1:$HTTP_PORT"
            return 0
        fi
        stop_pid "$NGINX_PID" KILL
    done
    tail -n 5 "$WORK/nginx/error.log" 2>/dev/null
    fail "nginx did not start"
}

start_redis
write_config backend.address=@unset workers=2
start_spawned_bocache
start_nginx
e2e_all
stop_pid "$NGINX_PID" QUIT
