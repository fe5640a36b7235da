#!/bin/bash
# bench/soak.sh: a long mixed run against two bocache processes, watching
# for leaks. A private redis-server and the counting test backend, two
# bocache gateways (-l unix:, one socket each, sharing Redis) and, in the
# background, LOOPS client loops (tests/fcgi_get) doing a mix of
#   hits            a small hot set of URIs on three key types
#   misses          fresh URIs on a 2 s endpoint (stored, then expiring)
#   uncached        non-endpoint paths, Set-Cookie and 404 answers
#   invalidations   bocache-ctl (pattern, tag, partner) and bare PUBLISH
# Every SAMPLE seconds the RSS (ps -o rss), open descriptors
# (/proc/PID/fd) and threads (/proc/PID/status) of each bocache process are
# printed; at the end they must have stayed flat: RSS after warm-up grows
# less than RSS_GROWTH_PCT, descriptors and threads stay within FD_SLACK
# and THREAD_SLACK of their warm-up values. Exit 0 when flat, 1 otherwise.
#
#   top_builddir=/path/to/build bash bench/soak.sh        # 10 minutes
#   DURATION=60 SAMPLE=5 top_builddir=... bash bench/soak.sh
#
# Knobs: DURATION (s, 600), SAMPLE (s, 10), WARMUP (s, DURATION/5, at
# least one sample), LOOPS (client loops, 4), RSS_GROWTH_PCT (10),
# FD_SLACK (4), THREAD_SLACK (1), MEMORY_SIZE (cache.memory_size; unset:
# the default). The memtier columns are bocache_memory_bytes (kB) from each
# process's status_path: RSS that follows them is the memory tier filling
# up to memory_size, not a leak. Needs a build (make check builds
# tests/fcgi_get and tests/test_backend) and redis-server.
#
# MODE=keyspace watches Redis instead: every request is a new URL (on the
# 2 s endpoint, tagged; some not storable, leaving pass markers), with a
# tag invalidation and a POST every few seconds, and every SAMPLE seconds
# (30 by default in this mode) Redis's used_memory, DBSIZE and the size of
# every index are printed: ZCARD of PREFIX:#leasez, of the tag indexes
# #tagz:soak and #tagz:t0, of the path index that every stored request
# shares, and the number of path index keys (one per path, most of them
# for a single request). At the end each must have stayed flat: its
# maximum over the second half of the run within KS_GROWTH_PCT (50) % +
# KS_SLACK (50) of its maximum during warm-up (used_memory: in kB, without
# the slack). Unbounded indexes grow with every request, by far more.
#
#   MODE=keyspace top_builddir=/path/to/build bash bench/soak.sh

MODE=${MODE:-mixed}
DURATION=${DURATION:-600}
if [ "$MODE" = keyspace ]; then
    SAMPLE=${SAMPLE:-30}
else
    SAMPLE=${SAMPLE:-10}
fi
WARMUP=${WARMUP:-$((DURATION / 5))}
[ "$WARMUP" -ge "$SAMPLE" ] || WARMUP=$SAMPLE
LOOPS=${LOOPS:-4}
RSS_GROWTH_PCT=${RSS_GROWTH_PCT:-10}
FD_SLACK=${FD_SLACK:-4}
THREAD_SLACK=${THREAD_SLACK:-1}

# tests/setup: $WORK, start_redis, start_backend, write_config, the
# EXIT trap that stops every tracked process by PID.
. "${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}/tests/setup"
CTL=$top_builddir/bocache-ctl
[ -x "$CTL" ] || skip "$CTL is not built"

start_redis
start_backend -n 64
# info: reloads, reconnects and faults only, not one line per request.
extra=()
[ -z "${MEMORY_SIZE:-}" ] || extra+=("cache.memory_size=$MEMORY_SIZE")
write_config workers=4 'log_level="info"' cache.memory_ttl=2 \
    'status_path="/bocache/status"' 'status_allow=["127.0.0.1"]' \
    "${extra[@]+"${extra[@]}"}"
start_bocache
PID1=$BOCACHE_PID
SOCK1=$BOCACHE_SOCK
SOCK2=$WORK/bocache2.sock
"$BOCACHE" -c "$CONFIG" -l "unix:$SOCK2" >>"$WORK/bocache2.log" 2>&1 8>&- &
PID2=$!
track "$PID2"
wait_until 10 eval "[ -S $SOCK2 ] && \"$FCGI_GET\" -t 2000 unix:$SOCK2 /__count >/dev/null 2>&1" ||
    fail "the second bocache did not answer"
ok "two bocache processes: $PID1 ($SOCK1), $PID2 ($SOCK2)"

# --- MODE=keyspace: Redis's own keys stay flat ---------------------------------
if [ "$MODE" = keyspace ]; then
    KS_GROWTH_PCT=${KS_GROWTH_PCT:-50}
    KS_SLACK=${KS_SLACK:-50}
    # ks_client N: new URLs only, until $WORK/stop; counts into
    # $WORK/client.N ("requests failures").
    ks_client() {
        local n=$1 i=0 fail=0 sock u r out=$WORK/c$1.out
        while [ ! -e "$WORK/stop" ]; do
            i=$((i + 1))
            if [ $((i % 2)) = 0 ]; then sock=$SOCK1; else sock=$SOCK2; fi
            r=$((RANDOM % 100))
            if [ "$r" -lt 70 ]; then # stored, 2 s, one shared path
                u="/api/v1/short/ksq?u=$n-$i&tags=soak,t$((i % 10))"
            elif [ "$r" -lt 85 ]; then # stored, a path of its own
                u="/api/v1/short/ksp/$n-$i?tags=soak"
            elif [ "$r" -lt 95 ]; then # a 10 s pass marker
                u="/api/v1/public/ksn/$n-$i?cc=no-store"
            else # a 1 s pass marker
                u="/api/v1/public/kse/$n-$i?status=500"
            fi
            "$FCGI_GET" -t 10000 "unix:$sock" "$u" >"$out" 2>&1 || fail=$((fail + 1))
            if [ $((i % 50)) = 0 ]; then
                echo "$i $fail" >"$WORK/client.$n.tmp" && mv "$WORK/client.$n.tmp" "$WORK/client.$n"
            fi
        done
        echo "$i $fail" >"$WORK/client.$n.tmp" && mv "$WORK/client.$n.tmp" "$WORK/client.$n"
    }
    # ks_invalidator: every 5 s a tag invalidation or a POST to the shared
    # path, so indexes are read and their members forgotten too.
    ks_invalidator() {
        local i=0
        while [ ! -e "$WORK/stop" ]; do
            i=$((i + 1))
            if [ $((i % 2)) = 0 ]; then
                "$CTL" -c "$CONFIG" invalidate --tag "t$((RANDOM % 10))" >/dev/null
            else
                "$FCGI_GET" -X POST -t 10000 "unix:$SOCK1" /api/v1/short/ksq >/dev/null
            fi 2>>"$WORK/invalidator.err" ||
                echo "invalidation $i failed" >>"$WORK/invalidator.err"
            echo "$i" >"$WORK/invalidations"
            sleep 5
        done
    }
    rm -f "$WORK/stop"
    for n in $(seq 1 "$LOOPS"); do
        ks_client "$n" 8>&- &
        track "$!"
    done
    ks_invalidator 8>&- &
    track "$!"
    requests() {
        cat "$WORK"/client.[0-9] "$WORK"/client.[0-9][0-9] 2>/dev/null | awk '{ n += $1; f += $2 } END { print n + 0, f + 0 }'
    }
    used_kb() {
        rcli INFO memory | tr -d '\r' | awk -F: '$1 == "used_memory" { printf "%d", $2 / 1024 }'
    }
    path_keys() {
        rcli --scan --pattern 'bocache:#path*' | wc -l
    }
    # card NEW OLD: members of the index NEW, a sorted set, plus those of
    # OLD, the SET an older bocache kept instead, so that the table of a
    # run against an older build (top_builddir) shows its growth too.
    card() {
        local k n=0
        for k in "$@"; do
            case $(rcli TYPE "$k") in
            zset) n=$((n + $(rcli ZCARD "$k"))) ;;
            set) n=$((n + $(rcli SCARD "$k"))) ;;
            esac
        done
        echo "$n"
    }
    TABLE=$WORK/table
    printf '%5s %9s %7s %7s %9s %7s %9s %9s %9s %6s %6s\n' t used_kB dbsize leasez \
        tag_soak tag_t0 path_ksq path_keys requests fails inval | tee "$TABLE.head" >&8
    start=$(now_ms)
    t=0
    while [ "$t" -lt "$DURATION" ]; do
        next=$((start + (t + SAMPLE) * 1000))
        while [ "$(now_ms)" -lt "$next" ]; do sleep 0.5; done
        t=$((t + SAMPLE))
        alive "$PID1" || fail "bocache $PID1 died at ${t}s"
        alive "$PID2" || fail "bocache $PID2 died at ${t}s"
        read -r nreq nfail <<<"$(requests)"
        printf '%5s %9s %7s %7s %9s %7s %9s %9s %9s %6s %6s\n' "$t" "$(used_kb)" \
            "$(rcli DBSIZE)" "$(card 'bocache:#leasez' 'bocache:#leases')" \
            "$(card 'bocache:#tagz:soak' 'bocache:#tag:soak')" \
            "$(card 'bocache:#tagz:t0' 'bocache:#tag:t0')" \
            "$(card 'bocache:#pathz:/api/v1/short/ksq' 'bocache:#path:/api/v1/short/ksq')" \
            "$(path_keys)" \
            "$nreq" "$nfail" "$(cat "$WORK/invalidations" 2>/dev/null || echo 0)" |
            tee -a "$TABLE" >&8
    done
    touch "$WORK/stop"
    sleep 2
    read -r nreq nfail <<<"$(requests)"
    echo "# $nreq requests, $nfail without a complete answer, $(cat "$WORK/invalidations") invalidations" >&8
    [ "$nreq" -gt 0 ] || fail "no requests were made"
    assert_eq 0 "$nfail" "every request got a complete answer"
    [ ! -s "$WORK/invalidator.err" ] ||
        fail "invalidations failed: $(head -n 3 "$WORK/invalidator.err")"
    ok "every invalidation succeeded"
    # ks_flat COLUMN NAME SLACK: the second half's maximum against the
    # warm-up maximum.
    ks_flat() {
        local warm late
        warm=$(awk -v c="$1" -v w="$WARMUP" '$1 <= w && $c > m { m = $c } END { print m + 0 }' "$TABLE")
        late=$(awk -v c="$1" -v h=$((DURATION / 2)) '$1 > h && $c > m { m = $c } END { print m + 0 }' "$TABLE")
        assert_le $((warm + warm * KS_GROWTH_PCT / 100 + $3)) "$late" \
            "$2: the second half's maximum within $KS_GROWTH_PCT % + $3 of the warm-up maximum $warm"
    }
    if [ "$DURATION" -gt "$WARMUP" ]; then
        ks_flat 2 "Redis used_memory (kB)" 0
        ks_flat 3 "DBSIZE" "$KS_SLACK"
        ks_flat 4 "ZCARD #leasez" "$KS_SLACK"
        ks_flat 5 "ZCARD #tagz:soak" "$KS_SLACK"
        ks_flat 6 "ZCARD #tagz:t0" "$KS_SLACK"
        ks_flat 7 "ZCARD #pathz:/api/v1/short/ksq" "$KS_SLACK"
        ks_flat 8 "path index keys" "$KS_SLACK"
    fi
    exit 0
fi

# --- the load ------------------------------------------------------------------

# client N: one loop until $WORK/stop; counts into $WORK/client.N
# ("requests failures").
client() {
    local n=$1 i=0 fail=0 sock u r out=$WORK/c$1.out
    local hot=(
        "/api/v1/public/hot/a" "/api/v1/public/hot/b?x=1&y=2"
        "/api/v1/public/hot/c?tags=soak,t$n" "/api/v1/public/hot/size?size=20000"
    )
    while [ ! -e "$WORK/stop" ]; do
        i=$((i + 1))
        if [ $((i % 2)) = 0 ]; then sock=$SOCK1; else sock=$SOCK2; fi
        r=$((RANDOM % 100))
        if [ "$r" -lt 55 ]; then
            u=${hot[$((RANDOM % ${#hot[@]}))]}
            "$FCGI_GET" -t 10000 "unix:$sock" "$u" >"$out" 2>&1 || fail=$((fail + 1))
        elif [ "$r" -lt 65 ]; then
            "$FCGI_GET" -t 10000 -H "X-Api-Key: soak-key-$((RANDOM % 20))" \
                "unix:$sock" "/api/v1/sports/live?n=$((RANDOM % 5))" >"$out" 2>&1 ||
                fail=$((fail + 1))
        elif [ "$r" -lt 75 ]; then
            "$FCGI_GET" -t 10000 -H "X-Partner-Id: $((RANDOM % 50))" \
                -H "Origin: https://w$((RANDOM % 3)).example.com" \
                "unix:$sock" "/api/v1/partner/widgets/?tags=partner:$((RANDOM % 50))" \
                >"$out" 2>&1 || fail=$((fail + 1))
        elif [ "$r" -lt 90 ]; then
            # a miss that is stored and expires after 2 s
            "$FCGI_GET" -t 10000 "unix:$sock" "/api/v1/short/miss/$n-$i" \
                >"$out" 2>&1 || fail=$((fail + 1))
        elif [ "$r" -lt 95 ]; then
            "$FCGI_GET" -t 10000 "unix:$sock" "/uncached/$n/$i?cookie=1" \
                >"$out" 2>&1 || fail=$((fail + 1))
        else
            "$FCGI_GET" -t 10000 "unix:$sock" "/api/v1/public/nf/$((RANDOM % 10))?status=404" \
                >"$out" 2>&1 || fail=$((fail + 1))
        fi
        if [ $((i % 50)) = 0 ]; then
            echo "$i $fail" >"$WORK/client.$n.tmp" && mv "$WORK/client.$n.tmp" "$WORK/client.$n"
        fi
    done
    echo "$i $fail" >"$WORK/client.$n.tmp" && mv "$WORK/client.$n.tmp" "$WORK/client.$n"
}

# invalidator: one invalidation a second, rotating over the kinds.
invalidator() {
    local i=0
    while [ ! -e "$WORK/stop" ]; do
        i=$((i + 1))
        case $((i % 5)) in
        0) "$CTL" -c "$CONFIG" invalidate --pattern '*hot/a*' ;;
        1) "$CTL" -c "$CONFIG" invalidate --tag soak ;;
        2) "$CTL" -c "$CONFIG" invalidate --pattern '*p='"$((RANDOM % 50))"',*' ;;
        3) rcli PUBLISH bocache:invalidate '*hot/b*' ;;
        4) rcli PUBLISH bocache:invalidate \
            '{"id":"soak-'"$i"'","tags":["partner:'"$((RANDOM % 50))"'"]}' ;;
        esac >/dev/null 2>>"$WORK/invalidator.err" ||
            echo "invalidation $i failed" >>"$WORK/invalidator.err"
        echo "$i" >"$WORK/invalidations"
        sleep 1
    done
}

rm -f "$WORK/stop"
for n in $(seq 1 "$LOOPS"); do
    client "$n" 8>&- &
    track "$!"
done
invalidator 8>&- &
track "$!"

# --- sampling -------------------------------------------------------------------

# sample PID: "rss fds threads" of one process.
sample() {
    local rss fds thr
    rss=$(ps -o rss= -p "$1" | tr -d ' ')
    fds=$(ls "/proc/$1/fd" 2>/dev/null | wc -l)
    thr=$(awk '/^Threads:/ { print $2 }' "/proc/$1/status" 2>/dev/null)
    echo "${rss:-0} ${fds:-0} ${thr:-0}"
}

# memtier SOCK: the answering process's memory tier in kB.
memtier() {
    "$FCGI_GET" -b -p REMOTE_ADDR=127.0.0.1 "unix:$1" /bocache/status 2>/dev/null |
        awk '/^bocache_memory_bytes[ {]/ { printf "%d", $NF / 1024; f = 1 } END { if (!f) print "-" }'
}

requests() {
    cat "$WORK"/client.[0-9] "$WORK"/client.[0-9][0-9] 2>/dev/null | awk '{ n += $1; f += $2 } END { print n + 0, f + 0 }'
}

TABLE=$WORK/table
printf '%6s  %9s %4s %3s  %9s %4s %3s  %8s %6s %6s  %8s %8s\n' t rss1_kB fd1 th1 \
    rss2_kB fd2 th2 requests fails inval memtier1 memtier2 | tee "$TABLE.head" >&8
start=$(now_ms)
t=0
while [ "$t" -lt "$DURATION" ]; do
    next=$((start + (t + SAMPLE) * 1000))
    while [ "$(now_ms)" -lt "$next" ]; do sleep 0.5; done
    t=$((t + SAMPLE))
    alive "$PID1" || fail "bocache $PID1 died at ${t}s"
    alive "$PID2" || fail "bocache $PID2 died at ${t}s"
    read -r r1 f1 h1 <<<"$(sample "$PID1")"
    read -r r2 f2 h2 <<<"$(sample "$PID2")"
    read -r nreq nfail <<<"$(requests)"
    inv=$(cat "$WORK/invalidations" 2>/dev/null || echo 0)
    printf '%6s  %9s %4s %3s  %9s %4s %3s  %8s %6s %6s  %8s %8s\n' "$t" "$r1" "$f1" \
        "$h1" "$r2" "$f2" "$h2" "$nreq" "$nfail" "$inv" "$(memtier "$SOCK1")" \
        "$(memtier "$SOCK2")" | tee -a "$TABLE" >&8
done
touch "$WORK/stop"
sleep 2

# --- verdict ---------------------------------------------------------------------

# summary COLUMN NAME: first, warm-up, last and max of a column.
summary() {
    awk -v c="$1" -v w="$WARMUP" -v name="$2" '
        NR == 1 { first = $c; max = $c }
        $1 <= w { warm = $c }
        { last = $c; if ($c > max) max = $c }
        END { printf "%-8s first %8s  after warm-up %8s  last %8s  max %8s\n",
              name, first, warm, last, max }' "$TABLE"
}
echo "# summary (warm-up ${WARMUP}s):" >&8
summary 2 rss1_kB >&8
summary 3 fd1 >&8
summary 4 threads1 >&8
summary 5 rss2_kB >&8
summary 6 fd2 >&8
summary 7 threads2 >&8
summary 11 memtier1_kB >&8
summary 12 memtier2_kB >&8
read -r nreq nfail <<<"$(requests)"
echo "# $nreq requests, $nfail without a complete answer, $(cat "$WORK/invalidations") invalidations" >&8
[ "$nreq" -gt 0 ] || fail "no requests were made"
assert_eq 0 "$nfail" "every request got a complete answer"
[ ! -s "$WORK/invalidator.err" ] ||
    fail "invalidations failed: $(head -n 3 "$WORK/invalidator.err")"
ok "every invalidation command succeeded"

# flat COLUMN NAME: the last value against the warm-up value.
flat_rss() {
    local warm last max
    warm=$(awk -v c="$1" -v w="$WARMUP" '$1 <= w { v = $c } END { print v }' "$TABLE")
    last=$(awk -v c="$1" '{ v = $c } END { print v }' "$TABLE")
    max=$(awk -v c="$1" -v w="$WARMUP" '$1 > w && $c > m { m = $c } END { print m + 0 }' "$TABLE")
    assert_le $((warm + warm * RSS_GROWTH_PCT / 100)) "$last" \
        "$2: RSS at the end (kB) within $RSS_GROWTH_PCT % of $warm after warm-up (max $max)"
}
flat_count() {
    local warm lo hi
    warm=$(awk -v c="$1" -v w="$WARMUP" '$1 <= w { v = $c } END { print v }' "$TABLE")
    lo=$(awk -v c="$1" -v w="$WARMUP" '$1 > w { if (m == "" || $c < m) m = $c } END { print m + 0 }' "$TABLE")
    hi=$(awk -v c="$1" -v w="$WARMUP" '$1 > w && $c > m { m = $c } END { print m + 0 }' "$TABLE")
    [ "$DURATION" -gt "$WARMUP" ] || { lo=$warm; hi=$warm; }
    if [ "$hi" -le $((warm + $3)) ] && [ "$lo" -ge $((warm - $3)) ]; then
        ok "$2 stayed within $warm +- $3 after warm-up ($lo..$hi)"
    else
        fail "$2 left $warm +- $3 after warm-up ($lo..$hi)"
    fi
}
if [ "$DURATION" -gt "$WARMUP" ]; then
    flat_rss 2 "bocache 1"
    flat_rss 5 "bocache 2"
fi
flat_count 3 "bocache 1: open descriptors" "$FD_SLACK"
flat_count 6 "bocache 2: open descriptors" "$FD_SLACK"
flat_count 4 "bocache 1: threads" "$THREAD_SLACK"
flat_count 7 "bocache 2: threads" "$THREAD_SLACK"
for l in "$BOCACHE_LOG" "$WORK/bocache2.log"; do
    echo "# $(basename "$l"): $(wc -l <"$l") lines" >&8
done
