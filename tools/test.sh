#!/bin/sh
# test.sh: installs what is missing, builds bocache with warnings as errors
# and runs the whole test suite twice: a plain build, then one with
# AddressSanitizer and UndefinedBehaviorSanitizer. Prints every test log so
# Check's summary line of each suite is visible. Exits non-zero on failure.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
sh "$top/tools/deps.sh"
cd "$top"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

run_suite() { # $1 = build dir, rest = configure options
    dir=$1
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out) ||
        { cat "$dir/config.log"; return 1; }
    status=0
    make -C "$dir" -j2 >"$dir/build.out" 2>&1 || { cat "$dir/build.out"; return 1; }
    make -C "$dir" -j2 check >"$dir/check.out" 2>&1 || status=1
    for log in "$dir"/tests/*.log; do
        case $log in */test-suite.log) continue ;; esac
        echo "=== $(basename "$log" .log) ($*)"
        cat "$log"
    done
    grep -E '^(# |PASS|FAIL|ERROR|XFAIL|SKIP)' "$dir/check.out" || true
    return $status
}

rc=0
run_suite "$top/_build/plain" || rc=1
run_suite "$top/_build/sanitize" --enable-sanitizers || rc=1
[ $rc -eq 0 ] && echo "all test suites passed" || echo "TEST SUITE FAILED"
exit $rc
