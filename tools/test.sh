#!/bin/sh
# test.sh [--install-deps]: builds bocache with warnings as errors and runs
# the test suite in three builds: a plain one (first `make format-check`,
# then the suites, followed by the integration suites that start a Redis
# once more, against a Redis on a unix socket, and by the unit suites and
# fuzz corpora under valgrind memcheck), one with AddressSanitizer and
# UndefinedBehaviorSanitizer, and one with ThreadSanitizer running the
# threaded integration suites, where any TSan report fails. Prints every
# test log so Check's summary line of each suite is visible. Exits non-zero
# on failure.
#
# With --install-deps, or BOCACHE_INSTALL_DEPS=1 (CI and the README's
# command), it first installs the Debian 12 packages that are missing
# (tools/deps.sh). Otherwise it installs nothing: it names each missing tool
# and its package, and the suites that need one skip it; under CI=true a
# missing tool fails the run.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
case ${1:-} in
--install-deps) BOCACHE_INSTALL_DEPS=1 ;;
"") ;;
*)
    echo "usage: sh tools/test.sh [--install-deps]" >&2
    exit 2
    ;;
esac
rc=0
if [ "${BOCACHE_INSTALL_DEPS:-}" = 1 ]; then
    sh "$top/tools/deps.sh"
fi
if ! sh "$top/tools/deps.sh" --check; then
    if [ "${CI:-}" = true ]; then
        echo "test.sh: tools are missing under CI=true: the run fails"
        rc=1
    else
        echo "test.sh: the suites that need a missing tool skip it"
    fi
fi
cd "$top"
autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

# Integration suites that run bocache's worker and listener threads and have
# no tight timing bounds (ThreadSanitizer slows everything down several
# times; it_invalidate.sh checks a 100 ms bound, the e2e suites need
# nginx and Apache and add no threads of ours).
TSAN_TESTS="tests/it_cache.sh tests/it_identity.sh tests/it_nostore.sh
tests/it_redis_fault.sh tests/it_backend_fault.sh tests/it_child.sh"

# The integration suites that start a Redis: the plain build runs them a
# second time with BC_REDIS=unix (tests/setup), every connection to Redis
# then a unix socket, as SPEC 7 promises it works. it_redis_unix.sh runs
# over a unix socket in every pass anyway.
UNIX_TESTS=$(cd "$top" && grep -l start_redis tests/it_*.sh |
    grep -v '/it_redis_unix\.sh$' | tr '\n' ' ')

# print_logs DIR LABEL TEST...: the logs of TEST... (every test when none
# is named) in build DIR, each under a header naming LABEL.
print_logs() {
    pdir=$1
    label=$2
    shift 2
    if [ $# -eq 0 ]; then
        set -- "$pdir"/tests/*.log
    else
        logs=""
        for t in "$@"; do logs="$logs $pdir/$t.log"; done
        # shellcheck disable=SC2086 # one word a log
        set -- $logs
    fi
    for log in "$@"; do
        case $log in */test-suite*.log) continue ;; esac
        [ -f "$log" ] || continue
        echo "=== $(basename "$log" .log) ($label)"
        cat "$log"
    done
}

# format_check DIR: `make format-check` in the configured build DIR; the
# differences are printed, and fail the run.
format_check() {
    if ! command -v clang-format >/dev/null 2>&1; then
        echo "=== make format-check skipped: clang-format is missing (Debian package clang-format)"
        return 0
    fi
    echo "=== make format-check"
    if make -C "$1" format-check >"$1/format.out" 2>&1; then
        echo "the C sources are laid out as .clang-format says"
    else
        cat "$1/format.out"
        echo "FAIL: format-check: $(grep -c ': error: ' "$1/format.out") places differ from .clang-format (clang-format -i FILE lays a file out)"
        return 1
    fi
}

# $1 = build dir, $2 = target made after check ("" for none), rest =
# configure options. $ONLY_TESTS, when set, limits the tests that run;
# $UNIX_PASS=1 reruns $UNIX_TESTS with BC_REDIS=unix after the check.
run_suite() {
    dir=$1
    after=$2
    shift 2
    rm -rf "$dir"
    mkdir -p "$dir"
    (cd "$dir" && "$top/configure" --enable-werror "$@" >configure.out) ||
        { cat "$dir/config.log"; return 1; }
    status=0
    if [ "${FORMAT_CHECK:-}" = 1 ]; then
        format_check "$dir" || status=1
    fi
    make -C "$dir" -j2 >"$dir/build.out" 2>&1 || { cat "$dir/build.out"; return 1; }
    if [ -n "${ONLY_TESTS:-}" ]; then
        make -C "$dir" -j2 check TESTS="$ONLY_TESTS" >"$dir/check.out" 2>&1 ||
            status=1
    else
        make -C "$dir" -j2 check >"$dir/check.out" 2>&1 || status=1
    fi
    print_logs "$dir" "$*"
    grep -E '^(# |PASS|FAIL|ERROR|XFAIL|SKIP)' "$dir/check.out" || true
    if [ "${UNIX_PASS:-}" = 1 ]; then
        t0=$(date +%s)
        BC_REDIS=unix make -C "$dir" -j2 check TESTS="$UNIX_TESTS" \
            TEST_SUITE_LOG=test-suite-unix.log >"$dir/check-unix.out" 2>&1 ||
            status=1
        # shellcheck disable=SC2086 # one word a test
        print_logs "$dir" "BC_REDIS=unix${*:+ $*}" $UNIX_TESTS
        grep -E '^(# |PASS|FAIL|ERROR|XFAIL|SKIP)' "$dir/check-unix.out" ||
            true
        echo "=== the Redis suites over a unix socket took $(($(date +%s) - t0)) s"
    fi
    if [ "$after" = valgrind ] && ! command -v valgrind >/dev/null 2>&1; then
        echo "=== make valgrind skipped: valgrind is missing (Debian package valgrind)"
    elif [ -n "$after" ]; then
        echo "=== make $after ($*)"
        make -C "$dir" "$after" >"$dir/$after.out" 2>&1 || status=1
        cat "$dir/$after.out"
    fi
    return $status
}

UNIX_PASS=1
FORMAT_CHECK=1
run_suite "$top/_build/plain" valgrind || rc=1
UNIX_PASS=
FORMAT_CHECK=
run_suite "$top/_build/sanitize" "" --enable-sanitizers || rc=1
# bocache runs in the background of the integration scripts, so its TSan
# reports are collected from files rather than from exit statuses.
tsan_logs=$top/_build/tsan-reports
rm -rf "$tsan_logs"
mkdir -p "$tsan_logs"
(
    TSAN_OPTIONS="log_path=$tsan_logs/report second_deadlock_stack=1"
    export TSAN_OPTIONS
    ONLY_TESTS=$(echo "$TSAN_TESTS" | tr '\n' ' ')
    run_suite "$top/_build/tsan" "" --enable-tsan
) || rc=1
for report in "$tsan_logs"/report.*; do
    [ -e "$report" ] || continue
    echo "=== ThreadSanitizer: $report"
    cat "$report"
    rc=1
done
[ $rc -eq 0 ] && echo "all test suites passed" || echo "TEST SUITE FAILED"
exit $rc
