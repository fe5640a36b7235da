#!/bin/sh
# stress.sh: the test suite on a busy machine. Clones this repository's
# HEAD into a temporary directory, builds that clone over and over with
# make -j2 in the background, and meanwhile runs sh tools/test.sh N times
# (default 3) in this checkout, one after the other. Prints PASS or FAIL and
# the time of each run, keeps each run's output, stops the background
# builds by their process group, and exits non-zero when any run failed.
#   sh tools/stress.sh [N]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-3}
case $runs in
'' | *[!0-9]*) echo "usage: sh tools/stress.sh [RUNS]" >&2; exit 2 ;;
esac

work=$(mktemp -d "${TMPDIR:-/tmp}/bocache-stress.XXXXXX")
loop_pid=""
stop_loop() {
    [ -n "$loop_pid" ] || return 0
    # The loop runs in a session of its own (setsid): its process group,
    # whose id is its PID, holds the loop and the make it is running.
    kill -TERM "-$loop_pid" 2>/dev/null || true
    wait "$loop_pid" 2>/dev/null || true
    loop_pid=""
}
trap 'stop_loop; rm -rf "$work/clone"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "stress: cloning HEAD ($(git -C "$top" rev-parse --short HEAD)) into $work/clone"
git clone -q "$top" "$work/clone"
(
    cd "$work/clone"
    autoreconf -fi >"$work/load-setup.log" 2>&1
    ./configure >>"$work/load-setup.log" 2>&1
) || { cat "$work/load-setup.log"; exit 1; }

# Every round rebuilds from scratch, so that the load never runs out; -k
# keeps it a whole build's worth of work even when HEAD does not build.
# shellcheck disable=SC2016 # expanded by that shell
setsid sh -c '
    cd "$1"
    n=0
    while :; do
        n=$((n + 1))
        make clean >/dev/null 2>&1 || true
        make -k -j2 >"$2/load-build.log" 2>&1 ||
            echo "stress: background build $n failed"
        echo "$n" >"$2/load-rounds"
    done
' stress-load "$work/clone" "$work" </dev/null >>"$work/load.log" 2>&1 &
loop_pid=$!
echo "stress: background make -j2 loop running (pid $loop_pid)"

failed=0
i=0
while [ "$i" -lt "$runs" ]; do
    i=$((i + 1))
    t0=$(date +%s)
    if sh "$top/tools/test.sh" >"$work/run$i.log" 2>&1; then
        verdict=PASS
    else
        verdict=FAIL
        failed=$((failed + 1))
    fi
    echo "stress: run $i of $runs: $verdict in $(($(date +%s) - t0)) s ($work/run$i.log)"
    if [ "$verdict" = FAIL ]; then
        grep -E '^(not ok|FAIL|ERROR)' "$work/run$i.log" | head -n 20 |
            sed 's/^/    /'
    fi
done

stop_loop
rounds=$(cat "$work/load-rounds" 2>/dev/null || echo 0)
broken=$(grep -c 'background build' "$work/load.log" 2>/dev/null || true)
echo "stress: $((runs - failed)) of $runs runs passed beside $rounds finished background builds; logs in $work"
if [ "${broken:-0}" -gt 0 ]; then
    echo "stress: $broken background builds failed (make -k went on; see $work/load-build.log)"
fi
[ "$failed" -eq 0 ]
