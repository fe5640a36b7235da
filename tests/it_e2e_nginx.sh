#!/bin/bash
# it_e2e_nginx.sh: end to end through a real nginx: nginx -> bocache (under
# spawn-fcgi) -> php-cgi running tests/app.php as bocache's child. MISS, HIT,
# invalidation, php-cgi killed under load, SIGHUP under load, SIGTERM.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/e2e_setup"
. "$top_srcdir/tests/nginx_setup"

nginx_locations() {
    cat <<LOC
        location /api/ {
            include $FASTCGI_PARAMS;
            fastcgi_param SCRIPT_FILENAME $APP;
            fastcgi_pass unix:$BOCACHE_SOCK;
        }
LOC
}

start_redis
write_config backend.address=@unset workers=2
start_spawned_bocache
start_nginx /none
e2e_all
stop_pid "$NGINX_PID" QUIT
