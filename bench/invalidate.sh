#!/bin/bash
# bench/invalidate.sh: how long bocache-ctl takes to invalidate by pattern
# over 100,000 and 1,000,000 entries, and by tag (10,000 tagged entries
# among 1,000,000), against a private redis-server. Prints a table.
#
#   bash bench/invalidate.sh                 # builds in _build/bench
#   BUILD=/path/to/build bash bench/invalidate.sh
#   SIZES="100000" bash bench/invalidate.sh  # fewer sizes
#
# Needs redis-server and redis-cli (REDIS_SERVER / REDIS_CLI to choose).
# Entries are entry-shaped keys with a one-byte value: removal cost is SCAN
# plus UNLINK, which does not depend on the value size.
set -eu

TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/_build/bench}
SIZES=${SIZES:-"100000 1000000"}
TAGGED=${TAGGED:-10000}
REDIS_BIN=${REDIS_SERVER:-$(command -v redis-server || true)}
REDIS_CLI=${REDIS_CLI:-$(command -v redis-cli || true)}
[ -n "$REDIS_BIN" ] && [ -n "$REDIS_CLI" ] || {
    echo "bench: redis-server and redis-cli are needed" >&2
    exit 1
}

# --- build ---------------------------------------------------------------------
if [ ! -x "$BUILD/bocache-ctl" ]; then
    echo "# building in $BUILD" >&2
    mkdir -p "$BUILD"
    [ -x "$TOP/configure" ] || (cd "$TOP" && autoreconf -fi)
    [ -f "$BUILD/Makefile" ] || (cd "$BUILD" && "$TOP/configure" >/dev/null)
fi
CTL=$BUILD/bocache-ctl
if ! make -C "$BUILD" -s -j"$(nproc 2>/dev/null || echo 2)" bocache-ctl >&2; then
    [ -x "$CTL" ] || exit 1
    echo "# make failed; timing the bocache-ctl already built" >&2
fi

# --- a private redis-server --------------------------------------------------------
DIR=$(mktemp -d "${TMPDIR:-/tmp}/bc-bench.XXXXXX")
REDIS_PID=""
cleanup() {
    if [ -n "$REDIS_PID" ]; then
        kill "$REDIS_PID" 2>/dev/null || true
        wait "$REDIS_PID" 2>/dev/null || true
    fi
    rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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
PORT=$(free_port)
"$REDIS_BIN" --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$DIR" --logfile "$DIR/redis.log" &
REDIS_PID=$!
rcli() { "$REDIS_CLI" -h 127.0.0.1 -p "$PORT" "$@"; }
for _ in $(seq 1 100); do
    [ "$(rcli ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
[ "$(rcli ping 2>/dev/null)" = PONG ] || {
    echo "bench: redis-server did not start" >&2
    exit 1
}

cat >"$DIR/bench.conf" <<EOF
log_level = "warn";
redis: {
  address = "127.0.0.1:$PORT";
  timeout_ms = 100;
  prefix = "bocache";
  channel = "bocache:invalidate";
};
endpoints = (
  { path = "/api/v1/w/"; match = "prefix"; key_type = "partner_id_and_origin"; }
);
EOF

# fill N [TAGGED]: N entries of 10,000 partners (partner i % 10000, page
# i / 10000), so that p=7* matches 1,111 partners in 10,000 (11 %); with
# TAGGED, every (N / TAGGED)-th entry is also a member of the tag index
# bocache:#tagz:T (a sorted set scored by expiry: here far in the future).
# RESP through redis-cli --pipe.
fill() {
    local n=$1 tagged=${2:-0}
    rcli flushall >/dev/null
    awk -v n="$n" -v tagged="$tagged" 'BEGIN {
        step = tagged > 0 ? int(n / tagged) : 0
        tagkey = "bocache:#tagz:T"
        score = "$13\r\n9999999999999\r\n"
        m = 0; members = ""
        for (i = 0; i < n; i++) {
            k = sprintf("bocache:partner_id_and_origin:p=%d,o=https%%3A//x:/api/v1/w/?page=%d",
                        i % 10000, int(i / 10000))
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$1\r\nv\r\n", length(k), k
            if (step > 0 && i % step == 0) {
                members = members score sprintf("$%d\r\n%s\r\n", length(k), k)
                if (++m == 100) {
                    printf "*%d\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n%s", 2 * m + 2,
                           length(tagkey), tagkey, members
                    m = 0; members = ""
                }
            }
        }
        if (m > 0)
            printf "*%d\r\n$4\r\nZADD\r\n$%d\r\n%s\r\n%s", 2 * m + 2,
                   length(tagkey), tagkey, members
    }' | rcli --pipe >"$DIR/pipe.log" 2>&1 || {
        cat "$DIR/pipe.log" >&2
        exit 1
    }
}

now_ns() { date +%s%N; }

ROWS=()
BASE=0
# timed WHAT SCANNED ARG...: runs bocache-ctl ARG... and records a row:
# the wall time, and the time less the baseline (the start of bocache-ctl,
# its libtool wrapper in a build tree, the claim and the PUBLISH).
timed() {
    local what=$1 scanned=$2 t0 t1 out keys ms
    shift 2
    keys=$(rcli dbsize)
    t0=$(now_ns)
    out=$("$CTL" -c "$DIR/bench.conf" "$@")
    t1=$(now_ns)
    ms=$(((t1 - t0) / 1000000))
    ROWS+=("$(printf '%-44s %10s %10s %10s %9s %9s' "$what" "$keys" "$scanned" \
        "${out%% *}" "$ms" "$((ms > BASE ? ms - BASE : 0))")")
    echo "# $what: $out in $ms ms" >&2
}

START=$(date +%s)
# The baseline: the fastest of 5 invalidations that find nothing to remove.
for _ in 1 2 3 4 5; do
    t0=$(now_ns)
    "$CTL" -c "$DIR/bench.conf" invalidate --tag no-such-tag >/dev/null
    ms=$((($(now_ns) - t0) / 1000000))
    [ "$BASE" -gt 0 ] && [ "$BASE" -le "$ms" ] || BASE=$ms
done
ROWS+=("$(printf '%-44s %10s %10s %10s %9s %9s' \
    'baseline: invalidate --tag (nothing to do)' 0 0 0 "$BASE" 0)")
for n in $SIZES; do
    tagged=0
    [ "$n" -ge 1000000 ] && tagged=$TAGGED
    t0=$(now_ns)
    fill "$n" "$tagged"
    echo "# filled $(rcli dbsize) keys in $((($(now_ns) - t0) / 1000000)) ms" >&2
    if [ "$tagged" -gt 0 ]; then
        timed "invalidate --tag T ($tagged tagged)" "$(rcli zcard bocache:#tagz:T)" \
            invalidate --tag T
    fi
    timed "invalidate --pattern '...:p=7*' ($n)" "$(rcli dbsize)" \
        invalidate --pattern 'bocache:partner_id_and_origin:p=7*'
    timed "invalidate --pattern '*' ($n, the rest)" "$(rcli dbsize)" \
        invalidate --pattern '*'
    if [ "$n" -ge 1000000 ]; then
        fill "$n"
        timed "flush ($n)" "$(rcli dbsize)" flush
    fi
done

echo
printf '%-44s %10s %10s %10s %9s %9s\n' operation 'keys in db' scanned \
    removed ms 'ms - base'
for r in "${ROWS[@]}"; do
    echo "$r"
done
echo
echo "# redis $("$REDIS_BIN" --version | sed -n 's/.*v=\([^ ]*\).*/\1/p'), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# scanned: the keys SCAN visited (pattern, flush) or the members of the tag set (tag)"
echo "# ms: wall time of bocache-ctl; ms - base: less the baseline row (process start, claim, PUBLISH)"
echo "# total $(($(date +%s) - START)) s without the build"
