#!/bin/sh
# deps.sh: the Debian 12 packages that building, testing and the demo need.
#   sh tools/deps.sh           installs the missing ones (apt-get, as root or
#                              through sudo); tools/test.sh --install-deps,
#                              tools/demo.sh --install-deps and bench/run.sh
#                              run it
#   sh tools/deps.sh --check [TOOL]...
#                              installs nothing: names each missing tool
#                              (of the TOOLs named in BOCACHE_DEPS below,
#                              or of all) and the package that brings it,
#                              one line each, and exits 1 when one is
#                              missing
set -eu

# What each package is needed for: TOOL PACKAGE, where TOOL is a command
# (also looked for in /usr/sbin, which a user's PATH may lack) or pc:MODULE,
# a pkg-config module.
BOCACHE_DEPS="autoconf:autoconf automake:automake libtoolize:libtool
pkg-config:pkg-config make:make gcc:gcc
pc:fcgi:libfcgi-dev pc:hiredis:libhiredis-dev pc:libconfig:libconfig-dev
pc:check:check pc:nettle:nettle-dev pc:jansson:libjansson-dev
redis-server:redis-server redis-cli:redis-tools nginx:nginx-light curl:curl
spawn-fcgi:spawn-fcgi php-cgi:php-cgi apache2:apache2 socat:socat
strace:strace valgrind:valgrind clang-format:clang-format
uwsgi:uwsgi-core uwsgi_python3:uwsgi-plugin-python3
django-admin:python3-django"

# have TOOL: whether TOOL (a command or pc:MODULE) is there.
have() {
    case $1 in
    pc:*) command -v pkg-config >/dev/null 2>&1 &&
        pkg-config --exists "${1#pc:}" ;;
    *) command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ;;
    esac
}

if [ "${1:-}" = --check ]; then
    shift
    status=0
    for d in $BOCACHE_DEPS; do
        tool=${d%:*}
        case " ${*:-$tool} " in *" $tool "*) ;; *) continue ;; esac
        have "$tool" && continue
        case $tool in
        pc:*) what="the pkg-config module ${tool#pc:}" ;;
        *) what=$tool ;;
        esac
        echo "deps: $what is missing: install the Debian package ${d##*:}"
        status=1
    done
    [ $status -eq 0 ] ||
        echo "deps: apt-get install them, or run with --install-deps"
    exit $status
fi
[ $# -eq 0 ] || { echo "usage: sh tools/deps.sh [--check]" >&2; exit 2; }

missing=""
for d in $BOCACHE_DEPS; do
    p=${d##*:}
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "deps: installing$missing"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    # shellcheck disable=SC2086 # one word a package
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends $missing >/dev/null
fi
