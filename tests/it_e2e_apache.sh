#!/bin/bash
# it_e2e_apache.sh: end to end through a real Apache 2.4 with mod_proxy_fcgi:
# Apache -> bocache (under spawn-fcgi) -> php-cgi running tests/app.php as
# bocache's child. The same checks as it_e2e_nginx.sh.
. "${top_srcdir:-$(dirname "$0")/..}/tests/setup"
. "$top_srcdir/tests/e2e_setup"

APACHE=${APACHE:-/usr/sbin/apache2}
APACHE_MODULES=${APACHE_MODULES:-/usr/lib/apache2/modules}
need "$APACHE"
for m in mpm_event authz_core proxy proxy_fcgi; do
    [ -r "$APACHE_MODULES/mod_$m.so" ] || skip "mod_$m not found in $APACHE_MODULES"
done

# write_apache_conf PORT: a foreground Apache with every path in $WORK.
write_apache_conf() {
    local user=""
    # Apache refuses to serve as root: its children run as www-data, which
    # must reach the socket, so the test opens $WORK (0700 from mktemp) and
    # spawn-fcgi makes the socket 0666. Real setups use -U/-G/-M 0660.
    if [ "$(id -u)" -eq 0 ]; then
        user="User www-data
Group www-data"
        chmod 0755 "$WORK"
    fi
    mkdir -p "$WORK/apache"
    cat >"$WORK/httpd.conf" <<CONF
# written by tests/it_e2e_apache.sh
ServerName localhost
ServerRoot $WORK/apache
DefaultRuntimeDir $WORK/apache
PidFile $WORK/apache/httpd.pid
ErrorLog $WORK/apache/error.log
LogLevel warn
Listen 127.0.0.1:$1
LoadModule mpm_event_module $APACHE_MODULES/mod_mpm_event.so
LoadModule authz_core_module $APACHE_MODULES/mod_authz_core.so
LoadModule proxy_module $APACHE_MODULES/mod_proxy.so
LoadModule proxy_fcgi_module $APACHE_MODULES/mod_proxy_fcgi.so
<IfModule !unixd_module>
LoadModule unixd_module $APACHE_MODULES/mod_unixd.so
</IfModule>
$user
DocumentRoot $WORK/www
<Directory />
    Require all granted
</Directory>
ProxyPass "/api/" "unix:$BOCACHE_SOCK|fcgi://localhost/api/"
# php-cgi needs a script to run and, with cgi.force_redirect on,
# REDIRECT_STATUS; nginx's fastcgi_params sends both.
ProxyFCGISetEnvIf "true" SCRIPT_FILENAME "$APP"
ProxyFCGISetEnvIf "true" REDIRECT_STATUS "200"
CONF
}

# start_apache: Apache on a free port, once it answers; sets APACHE_PID.
start_apache() {
    mkdir -p "$WORK/apache"
    start_http Apache write_apache_conf /none "" "$WORK/apache/error.log" \
        "$APACHE" -f "$WORK/httpd.conf" -DFOREGROUND
    APACHE_PID=$HTTP_PID
}

start_redis
write_config backend.address=@unset workers=2
start_spawned_bocache
start_apache
e2e_all
stop_pid "$APACHE_PID" TERM
