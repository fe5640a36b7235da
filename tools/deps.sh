#!/bin/sh
# deps.sh: installs the Debian 12 packages that building, testing and the
# demo need, when they are missing. Sourced or run by tools/demo.sh and
# tools/test.sh.
set -eu

BOCACHE_PACKAGES="autoconf automake libtool pkg-config make gcc
libfcgi-dev libhiredis-dev libconfig-dev check nettle-dev
libjansson-dev redis-server redis-tools nginx-light curl spawn-fcgi php-cgi
apache2 socat strace"

missing=""
for p in $BOCACHE_PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null
fi
