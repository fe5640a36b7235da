#!/bin/bash
# bench/run.sh: the bocache benchmark. Builds bocache and the two reference
# responders, starts a private redis-server, the references, the 20 ms test
# backend, two bocache gateways (Redis tier only; memory tier on) and nginx,
# all on loopback in a temp dir, measures every case with wrk in interleaved
# rounds, measures instructions per request with callgrind, prints one table
# and stops everything it started (by PID). See bench/README.md.
# The revalidation rows (bc_reval, bc_refetch, bc_reval_fast,
# bc_refetch_fast) are not in the default set; CASES selects them:
#
#   CASES="bc_reval_fast bc_refetch_fast bc_reval bc_refetch" \
#       SIZES="16384 262144" bash bench/run.sh
#
#   bash bench/run.sh              # full run, ~12 minutes incl. the build
#   QUICK=1 bash bench/run.sh      # smoke run, ~2 minutes + the build
#
# Knobs (environment): DURATION (s per wrk run), ROUNDS, CONNS (wrk -c),
# WARM_S (s of wrk warm-up per case and block),
# SIZES, CASES (a subset of the rows, for quick comparisons), RING (keys
# per wrk thread of the revalidation rows, bench/ring.lua), FILL_SMALL,
# FILL_BIG (0 skips the large-fill rows), NGINX_WORKERS, UPSTREAM_KEEPALIVE,
# WORKERS_CLOSE, WORKERS_KEEPALIVE, MODES ("close keepalive"),
# BACKEND_KEEPALIVE (bocache's backend.keepalive, false by default),
# CALLGRIND_N (requests per callgrind phase; 0 skips callgrind),
# BENCH_SRC (worktree | HEAD: what is built; worktree falls back to HEAD
# when it does not build), NO_BUILD=1 (reuse _build/bench), KEEP_WORK=1
# (leave the temp dir).
set -eu -o pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
QUICK=${QUICK:-0}
if [ "$QUICK" = 1 ]; then
    DURATION=${DURATION:-1}
    ROUNDS=${ROUNDS:-1}
    CALLGRIND_N=${CALLGRIND_N:-50}
    SIZES=${SIZES:-"1024 262144"}
    FILL_BIG=${FILL_BIG:-100000}
    WARM_S=${WARM_S:-0}
else
    DURATION=${DURATION:-2}
    ROUNDS=${ROUNDS:-3}
    CALLGRIND_N=${CALLGRIND_N:-200}
fi
CONNS=${CONNS:-32}
WARM_S=${WARM_S:-1}
SIZES=${SIZES:-"1024 16384 262144"}
FILL_SMALL=${FILL_SMALL:-1000}
FILL_BIG=${FILL_BIG:-1000000}
NGINX_WORKERS=${NGINX_WORKERS:-2}
UPSTREAM_KEEPALIVE=${UPSTREAM_KEEPALIVE:-32}
# With fastcgi_keep_conn every upstream connection nginx keeps pins one
# bocache worker (and one thread of each reference), so the keepalive mode
# needs keepalive x nginx workers of them; see README.md.
WORKERS_CLOSE=${WORKERS_CLOSE:-$CONNS}
WORKERS_KEEPALIVE=${WORKERS_KEEPALIVE:-$((UPSTREAM_KEEPALIVE * NGINX_WORKERS))}
MODES=${MODES:-"close keepalive"}
# bocache's backend.keepalive: false (the default, a connection per
# request) or true (each worker keeps its backend connection).
BACKEND_KEEPALIVE=${BACKEND_KEEPALIVE:-false}
BENCH_SRC=${BENCH_SRC:-worktree}
SLOW_MS=20
RING=${RING:-128}
REF_THREADS=$((WORKERS_KEEPALIVE > CONNS ? WORKERS_KEEPALIVE : CONNS))
[ $REF_THREADS -ge 64 ] || REF_THREADS=64
SLOW_THREADS=256 # test_backend's maximum; >= what nginx and bocache open

say() { printf '%s\n' "bench: [$(printf %3d $SECONDS)s] $*" >&2; }
die() { say "$*"; exit 1; }

# --- dependencies ----------------------------------------------------------

sh "$top/tools/deps.sh"
extra=""
for p in wrk valgrind; do
    command -v "$p" >/dev/null 2>&1 || extra="$extra $p"
done
if [ -n "$extra" ]; then
    say "installing$extra"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
        --no-install-recommends $extra >/dev/null
fi
for p in wrk valgrind callgrind_control redis-server redis-cli nginx curl \
    python3 gcc pkg-config; do
    command -v "$p" >/dev/null 2>&1 || die "missing: $p"
done

# --- build -----------------------------------------------------------------
# A copy of the sources is built in _build/bench, so that autoreconf never
# touches the working tree and an edit made while the benchmark runs does
# not change what is measured.

build=$top/_build/bench
build_from() { # build_from worktree|HEAD
    rm -rf "$build/src" "$build/obj"
    mkdir -p "$build/src" "$build/obj"
    if [ "$1" = HEAD ]; then
        git -C "$top" archive HEAD | tar -xf - -C "$build/src"
    else
        (cd "$top" && git ls-files -co --exclude-standard | grep -v '^bench/' |
            tar -cf - -T -) | tar -xf - -C "$build/src"
    fi
    (cd "$build/src" && autoreconf -fi) >"$build/build.log" 2>&1 &&
        (cd "$build/obj" && "$build/src/configure" &&
            make -j"$(nproc)" bocache bocache-ctl tests/test_backend \
                tests/fcgi_get) >>"$build/build.log" 2>&1
}
mkdir -p "$build"
built_from=$BENCH_SRC
if [ "${NO_BUILD:-0}" = 1 ] && [ -x "$build/obj/bocache" ]; then
    say "NO_BUILD=1: using the existing build in $build"
elif ! build_from "$BENCH_SRC"; then
    tail -n 20 "$build/build.log" >&2
    [ "$BENCH_SRC" = worktree ] || die "build failed; see $build/build.log"
    say "the working tree does not build; benchmarking HEAD instead"
    built_from=HEAD
    build_from HEAD || die "build of HEAD failed; see $build/build.log"
fi
BOCACHE=$build/obj/bocache
TEST_BACKEND=$build/obj/tests/test_backend
FCGI_GET=$build/obj/tests/fcgi_get
cflags="-O2 -g -Wall -Wextra"
gcc $cflags -o "$build/ref_minimal" "$top/bench/ref_minimal.c" \
    $(pkg-config --cflags --libs fcgi) -lpthread
gcc $cflags -o "$build/ref_redis" "$top/bench/ref_redis.c" \
    $(pkg-config --cflags --libs fcgi hiredis) -lpthread
rev=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=""
[ "$built_from" = HEAD ] || [ -z "$(git -C "$top" status --porcelain \
    --untracked-files=no -- src include Makefile.am configure.ac 2>/dev/null)" ] ||
    dirty="+uncommitted changes"
say "built bocache from $built_from ($rev$dirty)"

# --- process bookkeeping ---------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/bcbench.XXXXXX")
pids=()
cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP_WORK:-0}" = 1 ]; then say "work dir kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
ulimit -n 65536 2>/dev/null || ulimit -n 8192 2>/dev/null || true

stop_pid() { # stop_pid PID: SIGTERM, wait, forget it
    local p=$1 keep=()
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    for q in "${pids[@]}"; do [ "$q" = "$p" ] || keep+=("$q"); done
    pids=("${keep[@]}")
}
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
wait_for() { # wait_for SECONDS COMMAND...
    local n=$(($1 * 10))
    shift
    until "$@" >/dev/null 2>&1; do
        n=$((n - 1))
        [ $n -gt 0 ] || die "timed out waiting for: $*"
        sleep 0.1
    done
}
rss_kb() { # rss_kb PID...: summed resident set size
    local t=0 r p
    for p in "$@"; do
        r=$(ps -o rss= -p "$p" 2>/dev/null | tr -d ' ') || r=0
        t=$((t + ${r:-0}))
    done
    echo $t
}

# --- redis and the backends ------------------------------------------------

redis_port=$(free_port)
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$work" --logfile "$work/redis.log" &
redis_pid=$!
pids+=($redis_pid)
rcli() { redis-cli -p "$redis_port" "$@"; }
wait_for 10 rcli ping
for s in $SIZES; do
    head -c "$s" /dev/zero | tr '\0' x | rcli -x SET "bench:body:$s" >/dev/null
done

filled=0
fill() { # fill N: make N filler entries exist (keys under bocache's prefix)
    local n=$1 t0=$SECONDS
    [ "$n" -gt "$filled" ] || return 0
    awk -v from="$filled" -v to="$n" 'BEGIN {
        v = sprintf("%0128d", 0); ORS = ""
        for (i = from; i < to; i++) {
            k = "bcr:none:-:/filler/item?id=" i
            printf "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n", length(k), k, length(v), v
        }
    }' | rcli --pipe >"$work/fill.log" 2>&1 || die "fill failed: $(tail -n 3 "$work/fill.log")"
    filled=$n
    say "redis holds $(rcli dbsize) keys (filled in $((SECONDS - t0)) s)"
}

"$build/ref_minimal" -l "unix:$work/min.sock" -n "$REF_THREADS" \
    2>"$work/ref_minimal.log" &
min_pid=$!
pids+=($min_pid)
"$build/ref_redis" -l "unix:$work/redis.sock" -n "$REF_THREADS" \
    -r "127.0.0.1:$redis_port" 2>"$work/ref_redis.log" &
rref_pid=$!
pids+=($rref_pid)
# One 20 ms backend for nginx (direct and fastcgi_cache), one per gateway.
declare -A slow_pid
for b in nginx bcr bcm; do
    "$TEST_BACKEND" -l "unix:$work/slow-$b.sock" -n $SLOW_THREADS \
        2>"$work/slow-$b.log" &
    slow_pid[$b]=$!
    pids+=($!)
done
wait_for 10 test -S "$work/min.sock"
wait_for 10 test -S "$work/redis.sock"
for b in nginx bcr bcm; do wait_for 10 test -S "$work/slow-$b.sock"; done

# --- bocache ---------------------------------------------------------------
# bcr: Redis tier only (memory_size = 0), endpoint /bocache/;
# bcm: memory tier on, endpoint /bocmem/. Both key_type none.

declare -A bc_pid
bc_conf() { # bc_conf NAME WORKERS MEMORY_SIZE REDIS_TIMEOUT_MS
    local name=$1 path=/bocache/
    [ "$name" = bcm ] && path=/bocmem/
    cat >"$work/$name.conf" <<CONF
workers = $2;
log_level = "info";
backend: { address = "unix:$work/slow-${name:0:3}.sock"; timeout_ms = 30000;
           keepalive = $BACKEND_KEEPALIVE; };
redis: { address = "127.0.0.1:$redis_port"; prefix = "${name:0:3}"; timeout_ms = $4; };
cache: { ttl = 3600; max_object_size = 1048576; memory_size = $3; memory_ttl = 60; };
endpoints = (
  { path = "$path"; match = "prefix"; key_type = "none"; ttl = 3600; },
  # bc_fill: every request a new key, stored for 2 s (bounds Redis memory)
  { path = "/bocfill/"; match = "prefix"; key_type = "none"; ttl = ${FILL_TTL:-2}; }
);
CONF
}
start_bocache() { # start_bocache NAME WORKERS TAG
    local name=$1 mem=0
    [ "$name" = bcm ] && mem=67108864
    bc_conf "$name" "$2" "$mem" 100
    rm -f "$work/$name.sock"
    "$BOCACHE" -c "$work/$name.conf" -l "unix:$work/$name.sock" \
        2>>"$work/$name-$3.log" &
    bc_pid[$name]=$!
    pids+=($!)
    wait_for 10 test -S "$work/$name.sock"
}

# --- nginx -----------------------------------------------------------------

http_port=$(free_port)
base=http://127.0.0.1:$http_port
ngx_pid=""
start_nginx() { # start_nginx close|keepalive
    local mode=$1 ka="" kc=""
    if [ "$mode" = keepalive ]; then
        ka="keepalive $UPSTREAM_KEEPALIVE;"
        kc="fastcgi_keep_conn on;"
    fi
    mkdir -p "$work/ngx"
    local user=""
    # As root, workers would run as nobody and not reach the temp dir.
    [ "$(id -u)" -ne 0 ] || user="user $(id -un) $(id -gn);"
    cat >"$work/nginx-$mode.conf" <<CONF
$user
daemon off;
worker_processes $NGINX_WORKERS;
pid $work/nginx.pid;
error_log $work/nginx-$mode-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/ngx;
    fastcgi_temp_path $work/ngx;
    proxy_temp_path $work/ngx;
    uwsgi_temp_path $work/ngx;
    scgi_temp_path $work/ngx;
    # 256 KiB answers stay in memory for every location alike.
    fastcgi_buffer_size 32k;
    fastcgi_buffers 16 32k;
    fastcgi_cache_path $work/ngxcache levels=1:2 keys_zone=bench:16m
        inactive=1h max_size=1g use_temp_path=off;
    upstream min { server unix:$work/min.sock; $ka }
    upstream rref { server unix:$work/redis.sock; $ka }
    upstream slow { server unix:$work/slow-nginx.sock; $ka }
    upstream bcr { server unix:$work/bcr.sock; $ka }
    upstream bcm { server unix:$work/bcm.sock; $ka }
    server {
        listen 127.0.0.1:$http_port reuseport;
        include /etc/nginx/fastcgi_params;
        $kc
        location /min/ { fastcgi_pass min; }
        location /redis/ { fastcgi_pass rref; }
        location /direct/ { fastcgi_pass slow; }
        location /nginxcache/ {
            fastcgi_pass slow;
            fastcgi_cache bench;
            fastcgi_cache_key \$request_uri;
            fastcgi_cache_valid 200 10m;
            fastcgi_cache_lock on;
            add_header X-Nginx-Cache \$upstream_cache_status;
        }
        location /bocache/ { fastcgi_pass bcr; }
        location /bocfill/ { fastcgi_pass bcr; }
        location /bocmem/ { fastcgi_pass bcm; }
    }
}
CONF
    nginx -c "$work/nginx-$mode.conf" -e "$work/nginx-$mode-error.log" &
    ngx_pid=$!
    pids+=($ngx_pid)
    wait_for 10 curl -fs -o /dev/null "$base/min/?size=1"
}
ngx_workers() { ps -o pid= --ppid "$ngx_pid" | tr -d ' '; }

# --- the cases -------------------------------------------------------------
# case name -> URL path and the process whose RSS is reported.

url_of() { # url_of CASE SIZE
    case $1 in
    ref_minimal) echo "/min/?size=$2" ;;
    ref_redis) echo "/redis/?size=$2" ;;
    nginx_cache) echo "/nginxcache/?sleep_ms=$SLOW_MS&size=$2" ;;
    direct) echo "/direct/?sleep_ms=$SLOW_MS&size=$2" ;;
    direct_unique) echo "/direct/?sleep_ms=$SLOW_MS&size=$2" ;; # + &u=...
    bc_redis_hit) echo "/bocache/hit?sleep_ms=$SLOW_MS&size=$2" ;;
    bc_mem_hit) echo "/bocmem/hit?sleep_ms=$SLOW_MS&size=$2" ;;
    bc_miss) echo "/bocache/miss?sleep_ms=$SLOW_MS&size=$2&cc=no-store" ;;
    bc_fill) echo "/bocfill/f?sleep_ms=$SLOW_MS&size=$2" ;; # + &u=... (unique.lua)
    # no-cache entries, revalidated on every use: with a validator (a 304
    # each time) and without (the whole body each time); + &k=... (ring.lua)
    bc_reval) echo "/bocache/reval?sleep_ms=$SLOW_MS&size=$2&cc=no-cache&etag=%22r$2%22&cond=1" ;;
    bc_refetch) echo "/bocache/refetch?sleep_ms=$SLOW_MS&size=$2&cc=no-cache" ;;
    bc_reval_fast) echo "/bocache/revalf?size=$2&cc=no-cache&etag=%22r$2%22&cond=1" ;;
    bc_refetch_fast) echo "/bocache/refetchf?size=$2&cc=no-cache" ;;
    esac
}
is_ring() { case $1 in bc_reval | bc_refetch | bc_reval_fast | bc_refetch_fast) return 0 ;; esac; return 1; }
set_script() { # set_script CASE: the caller's script (wrk -s) and sargs arrays
    script=()
    sargs=()
    case $1 in bc_fill | direct_unique) script=(-s "$top/bench/unique.lua") ;; esac
    if is_ring "$1"; then
        script=(-s "$top/bench/ring.lua")
        sargs=(-- "$RING")
    fi
}
pid_of() {
    case $1 in
    ref_minimal) echo "$min_pid" ;;
    ref_redis) echo "$rref_pid" ;;
    nginx_cache) echo "$ngx_pid" ;;
    direct | direct_unique) echo "${slow_pid[nginx]}" ;;
    bc_redis_hit | bc_miss | bc_fill | bc_reval | bc_refetch | bc_reval_fast | \
        bc_refetch_fast) echo "${bc_pid[bcr]}" ;;
    bc_mem_hit) echo "${bc_pid[bcm]}" ;;
    esac
}
header_of() { # header_of URL NAME: one response header's value
    curl -s -o /dev/null -D - "$base$1" | tr -d '\r' |
        awk -v n="$2" 'index(tolower($0), tolower(n) ":") == 1 && !done {
            sub(/^[^:]*: */, ""); print; done = 1 }'
}

results=$work/results.txt # fill mode case size rps p50 p99 non2xx sockerr rss nginx_rss redis_rss
backend_calls=$work/backend.txt # fill mode case size client_requests backend_calls backend_304s
: >"$backend_calls"
backend_count() { # backend_count /__count|/__count304: the bcr backend's counter
    "$FCGI_GET" -b -t 5000 "unix:$work/slow-bcr.sock" "$1" 2>/dev/null | tr -dc 0-9
}
notes=$work/notes.txt
: >"$results"
: >"$notes"
note() { echo "$*" >>"$notes"; say "$*"; }

to_ms() { # 1.23ms 456.78us 1.02s 2.00m -> milliseconds
    awk -v v="$1" 'BEGIN {
        n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
        if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
        else if (u == "m") n *= 60000; printf "%.3f", n }'
}

run_case() { # run_case FILL MODE CASE SIZE
    local url out p rss=0 r ngx=0 rds=0 pid n0=0 h0=0
    url=$(url_of "$3" "$4")
    pid=$(pid_of "$3")
    out=$work/wrk.out
    local script=() sargs=()
    set_script "$3"
    if is_ring "$3"; then
        n0=$(backend_count /__count)
        h0=$(backend_count /__count304)
    fi
    wrk -t2 -c"$CONNS" -d"${DURATION}s" --latency "${script[@]}" "$base$url" \
        "${sargs[@]}" >"$out" 2>&1 &
    p=$!
    sleep "$(awk -v d="$DURATION" 'BEGIN{print d * 0.6}')"
    rss=$(rss_kb "$pid")
    ngx=$(rss_kb $(ngx_workers))
    rds=$(rss_kb "$redis_pid")
    wait "$p" || true
    r=$(rss_kb "$pid"); [ "$r" -gt "$rss" ] && rss=$r
    if ! kill -0 "$pid" 2>/dev/null; then
        note "PROBLEM: $3 ($pid) is gone after the $2/$4 run (fill $1)"
    fi
    awk -v fill="$1" -v mode="$2" -v c="$3" -v size="$4" -v rss="$rss" \
        -v ngx="$ngx" -v rds="$rds" '
        function ms(v,  n, u) { n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
            if (u == "us") n /= 1000; else if (u == "s") n *= 1000;
            else if (u == "m") n *= 60000; return n }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /Requests\/sec:/ { rps = $2 }
        /Non-2xx or 3xx responses:/ { non2xx = $NF }
        /Socket errors:/ { gsub(/,/, ""); sock = $4 + $6 + $8 + $10 }
        END { if (rps == "") rps = 0
            printf "%s %s %s %s %s %.3f %.3f %d %d %d %d %d\n", fill, mode, c,
                size, rps, p50, p99, non2xx, sock, rss, ngx, rds }' \
        "$out" >>"$results"
    tail -n 1 "$results" | awk '{ printf "bench:   %-8s %-9s %-12s %7s  %9.0f req/s  p50 %7.2f ms  p99 %7.2f ms  errors %d/%d\n", $1, $2, $3, $4, $5, $6, $7, $8, $9 }' >&2
    if is_ring "$3"; then
        # What the backend did for these client requests: one call each,
        # a 304 each for bc_reval*, none for bc_refetch*.
        echo "$1 $2 $3 $4 $(awk '/ requests in / { print $1 }' "$out")" \
            "$(($(backend_count /__count) - n0))" \
            "$(($(backend_count /__count304) - h0))" >>"$backend_calls"
    fi
}

mem_tier=unknown
warm_up() { # warm_up MODE CASES: fill the caches, check HIT/MISS
    local c s url x
    for s in $SIZES; do
        for c in $2; do
            url=$(url_of "$c" "$s")
            if is_ring "$c"; then
                warm_ring "$1" "$c" "$s" "$url"
                continue
            fi
            for _ in 1 2 3; do curl -s -o /dev/null "$base$url" || true; done
            case $c in
            bc_redis_hit | bc_mem_hit)
                x=$(header_of "$url" X-Cache)
                [ "$x" = HIT ] || note "PROBLEM: $1: $c $s answers X-Cache '$x' after warm-up, not HIT" ;;
            bc_miss)
                x=$(header_of "$url" X-Cache)
                [ "$x" = MISS ] || note "PROBLEM: $1: $c $s answers X-Cache '$x', not MISS" ;;
            bc_fill)
                x=$(header_of "$url&u=warm$RANDOM$RANDOM" X-Cache)
                [ "$x" = MISS ] || note "PROBLEM: $1: $c $s answers X-Cache '$x' for a new URL, not MISS" ;;
            nginx_cache)
                x=$(header_of "$url" X-Nginx-Cache)
                [ "$x" = HIT ] || note "PROBLEM: $1: nginx cache answers '$x' after warm-up" ;;
            esac
        done
    done
    # Short load so keepalive pools and thread stacks exist before timing.
    [ "$WARM_S" -gt 0 ] || return 0
    local script sargs
    for c in $2; do
        set_script "$c"
        # The ring cases warm up on their first size: their keys are stored.
        s=1024
        is_ring "$c" && s=${SIZES%% *}
        wrk -t2 -c"$CONNS" -d"${WARM_S}s" "${script[@]}" "$base$(url_of "$c" "$s")" \
            "${sargs[@]}" >/dev/null 2>&1 || true
    done
}
# warm_ring MODE CASE SIZE URL: stores every key of the case's rings
# (bench/ring.lua: &k=THREAD-I for wrk's 2 threads), 16 requests at a time,
# and checks that a stored key is answered the way the row claims.
warm_ring() {
    local t i cs x
    for t in 1 2; do
        for i in $(seq 0 $((RING - 1))); do echo "$base$4&k=$t-$i"; done
    done | xargs -P 16 -n 16 curl -s >/dev/null || true
    x=$(header_of "$4&k=1-1" X-Cache)
    cs=$(header_of "$4&k=1-1" Cache-Status)
    case $2 in
    bc_reval | bc_reval_fast)
        case $cs in *"fwd=stale; fwd-status=304"*) ;; *)
            note "PROBLEM: $1: $2 $3 answers X-Cache '$x', Cache-Status '$cs', not a 304 revalidation" ;;
        esac ;;
    *)
        case $x/$cs in "MISS/bocache; fwd=miss") ;; *)
            note "PROBLEM: $1: $2 $3 answers X-Cache '$x', Cache-Status '$cs', not a MISS" ;;
        esac ;;
    esac
}

# Is the memory tier working? Store a probe entry, delete it from Redis
# behind bocache's back, and ask again: a HIT can only come from memory.
probe_memory() {
    local url=/bocmem/probe?size=100 k x cs
    curl -s -o /dev/null "$base$url"
    curl -s -o /dev/null "$base$url"
    x=$(header_of "$url" X-Cache)
    k=$(rcli --scan --pattern 'bcm:*probe*' | head -n 1)
    if [ "$x" != HIT ] || [ -z "$k" ]; then
        mem_tier=no
        note "memory tier: probe not stored (X-Cache '$x', Redis key '$k')"
        return
    fi
    rcli DEL "$k" >/dev/null
    x=$(header_of "$url" X-Cache)
    cs=$(header_of "$url" Cache-Status)
    if [ "$x" = HIT ]; then
        mem_tier=yes
        note "memory tier: working (a HIT after the Redis entry was deleted; Cache-Status: $cs)"
    else
        mem_tier=no
        note "memory tier: not working (X-Cache '$x' once the Redis entry is gone) -> memory rows n/a"
    fi
}

run_block() { # run_block FILL MODE CASES
    local fill=$1 mode=$2 cases=$3 workers r c s
    workers=$WORKERS_CLOSE
    [ "$mode" = keepalive ] && workers=$WORKERS_KEEPALIVE
    start_bocache bcr "$workers" "$mode"
    start_bocache bcm "$workers" "$mode"
    start_nginx "$mode"
    [ "$mem_tier" != unknown ] || probe_memory
    [ "$mem_tier" = yes ] || cases=${cases//bc_mem_hit/}
    say "== $mode mode, $fill filler entries, bocache workers $workers: warm-up"
    warm_up "$mode" "$cases"
    for r in $(seq 1 "$ROUNDS"); do
        say "round $r/$ROUNDS"
        for s in $SIZES; do
            for c in $cases; do run_case "$fill" "$mode" "$c" "$s"; done
        done
    done
    case " $cases " in *" bc_fill "*)
        echo "after $mode/$fill: bc_fill entries stored within the last 2 s (TTL): $(rcli --scan --pattern 'bcr:none:-:/bocfill/*' | wc -l)" >>"$notes" ;;
    esac
    for c in $cases; do
        case $c in bc_fill) continue ;; bc_*) ;; *) continue ;; esac
        if is_ring "$c"; then
            s=${SIZES%% *}
            x="$(header_of "$(url_of "$c" "$s")&k=2-3" X-Cache), Cache-Status: $(header_of "$(url_of "$c" "$s")&k=2-3" Cache-Status) ($s B)"
        else
            x=$(header_of "$(url_of "$c" 1024)" X-Cache)
        fi
        echo "after $mode/$fill: $c answers X-Cache: $x" >>"$notes"
    done
    stop_pid "$ngx_pid"
    stop_pid "${bc_pid[bcr]}"
    stop_pid "${bc_pid[bcm]}"
}

ALL_CASES=${CASES:-"ref_minimal ref_redis nginx_cache direct direct_unique bc_redis_hit bc_mem_hit bc_miss bc_fill"}
HIT_CASES=""
for c in ref_redis bc_redis_hit bc_mem_hit; do
    case " $ALL_CASES " in *" $c "*) HIT_CASES="$HIT_CASES $c" ;; esac
done

t_start=$SECONDS
say "wrk -t2 -c$CONNS -d${DURATION}s, $ROUNDS rounds, sizes $SIZES, nginx workers $NGINX_WORKERS"
fill "$FILL_SMALL"
for mode in $MODES; do run_block "$FILL_SMALL" "$mode" "$ALL_CASES"; done
if [ -n "$HIT_CASES" ] && [ "$FILL_BIG" -gt "$FILL_SMALL" ]; then
    fill "$FILL_BIG"
    for mode in $MODES; do run_block "$FILL_BIG" "$mode" "$HIT_CASES"; done
fi
t_wrk=$((SECONDS - t_start))

# --- callgrind: instructions per request -----------------------------------
# A gateway (2 workers) runs under callgrind on its own socket, in front of
# the test backend without the 20 ms sleep. After a warm-up the counters are
# zeroed; an idle period and each phase of CALLGRIND_N requests (tests/fcgi_get
# -n, one connection per request) are dumped separately; the idle cost per
# second is taken off each phase.

cg_results=$work/cg.txt
: >"$cg_results"
cg_total() { # cg_total FILE: the Ir total of one dump
    awk '/^(summary|totals):/ { print $2; exit }' "$1"
}
cg_dump() { # cg_dump PID: dump, echo the newest dump file
    local before after
    before=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
    callgrind_control -d "$1" >/dev/null 2>&1 || return 1
    for _ in $(seq 1 100); do
        after=$(ls "$work"/cg.out.* 2>/dev/null | wc -l)
        [ "$after" -gt "$before" ] && break
        sleep 0.1
    done
    ls -t "$work"/cg.out.* | head -n 1
}
now() { date +%s.%N; }
cg_phase() { # cg_phase PID LABEL ADDR URI IDLE_IR_PER_S: measure one phase
    local t0 t1 f ir sec
    t0=$(now)
    "$FCGI_GET" -t 20000 -n "$CALLGRIND_N" "$3" "$4" >"$work/cg-last.txt" 2>&1 ||
        note "PROBLEM: callgrind $2: fcgi_get failed: $(tail -n 1 "$work/cg-last.txt")"
    t1=$(now)
    f=$(cg_dump "$1") || { note "callgrind_control failed"; return; }
    ir=$(cg_total "$f")
    sec=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}')
    # X-Cache, and the backend's status when bocache revalidated (a 304).
    x=$(tr -d '\r' <"$work/cg-last.txt" | awk '
        tolower($0) ~ /^x-cache:/ && x == "" { x = $2 }
        tolower($0) ~ /^cache-status:/ && match($0, /fwd-status=[0-9]+/) {
            f = "," substr($0, RSTART, RLENGTH) }
        END { print x f }')
    echo "$2 $ir $sec $5 $CALLGRIND_N $x" >>"$cg_results"
}
callgrind_gateway() { # callgrind_gateway NAME MEMORY_SIZE PHASES...
    local name=$1 mem=$2 pid f ir0 t0 t1 idle_rate addr phase label uri
    shift 2
    bc_conf "$name" 2 "$mem" 5000
    addr=unix:$work/$name.sock
    rm -f "$work/$name.sock" "$work"/cg.out.*
    valgrind --tool=callgrind --dump-instr=no --collect-systime=no \
        --callgrind-out-file="$work/cg.out" \
        "$BOCACHE" -c "$work/$name.conf" -l "$addr" 2>"$work/$name-callgrind.log" &
    pid=$!
    pids+=($pid)
    wait_for 60 test -S "$work/$name.sock"
    for phase in "$@"; do # warm-up: store the HIT entries
        uri=${phase#*=}
        for _ in 1 2 3; do "$FCGI_GET" -t 20000 "$addr" "$uri" >/dev/null 2>&1 || true; done
    done
    sleep 1
    callgrind_control -z "$pid" >/dev/null 2>&1 || note "callgrind_control -z failed"
    t0=$(now)
    sleep 3
    f=$(cg_dump "$pid") || true
    t1=$(now)
    ir0=$(cg_total "$f")
    idle_rate=$(awk -v i="$ir0" -v a="$t0" -v b="$t1" 'BEGIN{printf "%.0f", i / (b - a)}')
    echo "idle_$name $ir0 $(awk -v a="$t0" -v b="$t1" 'BEGIN{print b - a}') $idle_rate 0 -" >>"$cg_results"
    for phase in "$@"; do
        label=${phase%%=*}
        uri=${phase#*=}
        cg_phase "$pid" "$label" "$addr" "$uri" "$idle_rate"
    done
    stop_pid "$pid"
    grep -E 'ERROR|==[0-9]+== (Invalid|Conditional|Use of)' "$work/$name-callgrind.log" |
        head -n 5 >>"$notes" || true
}
# With the revalidation rows selected: no-cache entries revalidated (a 304
# each time) and refetched whole (no validator), each request sequential.
cg_reval=()
for c in $ALL_CASES; do
    is_ring "$c" || continue
    cg_reval=("reval_16k=/bocache/cgreval?size=16384&cc=no-cache&etag=%22c%22&cond=1"
        "refetch_16k=/bocache/cgrefetch?size=16384&cc=no-cache"
        "reval_256k=/bocache/cgreval?size=262144&cc=no-cache&etag=%22c%22&cond=1"
        "refetch_256k=/bocache/cgrefetch?size=262144&cc=no-cache")
    break
done
if [ "$CALLGRIND_N" -gt 0 ]; then
    say "== callgrind: $CALLGRIND_N requests per phase"
    callgrind_gateway bcr 0 \
        "redis_hit_1k=/bocache/cg?size=1024" \
        "redis_hit_256k=/bocache/cg?size=262144" \
        "miss_1k=/bocache/cgmiss?size=1024&cc=no-store" \
        "miss_256k=/bocache/cgmiss?size=262144&cc=no-store" "${cg_reval[@]}"
    if [ "$mem_tier" = yes ]; then
        callgrind_gateway bcm 67108864 \
            "memory_hit_1k=/bocmem/cg?size=1024" \
            "memory_hit_256k=/bocmem/cg?size=262144"
    fi
fi

# --- logs: errors and warnings ---------------------------------------------

for f in "$work"/bc*-*.log "$work"/nginx-*-error.log; do
    [ -s "$f" ] || continue
    n=$(grep -ciE 'error|warn|crit|alert|emerg' "$f" || true)
    [ "$n" -gt 0 ] || continue
    echo "log $(basename "$f"): $n warning/error lines, e.g.:" >>"$notes"
    grep -iE 'error|warn|crit|alert|emerg' "$f" |
        sed -E 's/^[0-9TZ:.\/+ -]+//; s/[0-9]+#[0-9]+/N#N/; s/\[[0-9]+\]/[N]/; s/\*[0-9]+ /*N /' |
        sort | uniq -c | sort -rn | head -n 5 | sed 's/^/    /' >>"$notes"
done

# --- report ----------------------------------------------------------------

python3 - "$results" "$cg_results" "$notes" "$backend_calls" <<PY
import statistics, sys
from collections import defaultdict

res_file, cg_file, notes_file, backend_file = sys.argv[1:5]
runs = defaultdict(list)
for line in open(res_file):
    f = line.split()
    if len(f) < 12:
        continue
    key = (int(f[0]), f[1], f[2], int(f[3]))
    runs[key].append(dict(rps=float(f[4]), p50=float(f[5]), p99=float(f[6]),
                          non2xx=int(f[7]), sock=int(f[8]), rss=int(f[9]),
                          ngx=int(f[10]), rds=int(f[11])))
agg = {}
for k, rs in runs.items():
    agg[k] = dict(rps=statistics.median(r["rps"] for r in rs),
                  p50=statistics.median(r["p50"] for r in rs),
                  p99=statistics.median(r["p99"] for r in rs),
                  non2xx=sum(r["non2xx"] for r in rs),
                  sock=sum(r["sock"] for r in rs),
                  rss=max(r["rss"] for r in rs), ngx=max(r["ngx"] for r in rs),
                  rds=max(r["rds"] for r in rs), n=len(rs))

def size_name(s):
    return f"{s // 1024} KiB" if s % 1024 == 0 else f"{s} B"

small = $FILL_SMALL
def ref(fill, mode, case, size):
    return agg.get((fill, mode, case, size)) or agg.get((small, mode, case, size))

order = ["ref_minimal", "ref_redis", "nginx_cache", "direct", "direct_unique",
         "bc_redis_hit", "bc_mem_hit", "bc_miss", "bc_fill",
         "bc_reval_fast", "bc_refetch_fast", "bc_reval", "bc_refetch"]
mem_ok = "$mem_tier" == "yes"
print()
print(f"bocache benchmark: wrk -t2 -c$CONNS -d${DURATION}s --latency, median of "
      f"$ROUNDS interleaved rounds; nginx $NGINX_WORKERS workers; "
      f"$(nproc) CPUs; 20 ms backend"
      + (" (_fast rows: no sleep)" if any(k[2].endswith("_fast") for k in agg) else "")
      + f"; bocache built from $built_from ($rev$dirty)")
print("bocache workers: close mode $WORKERS_CLOSE, keepalive mode "
      "$WORKERS_KEEPALIVE (upstream keepalive $UPSTREAM_KEEPALIVE x $NGINX_WORKERS nginx workers); "
      "backend.keepalive = $BACKEND_KEEPALIVE")
print()
hdr = ("| entries | nginx->upstream | case | body | req/s | p50 ms | p99 ms | "
       "non-2xx / sock err | RSS MB (server) | RSS MB (nginx wrk.) | vs reference |")
print(hdr)
print("|---" * (hdr.count("|") - 1) + "|")
fills = sorted({k[0] for k in agg})
modes = [m for m in "$MODES".split()]
sizes = [int(s) for s in "$SIZES".split()]
for fill in fills:
    for mode in modes:
        for case in order:
            for size in sizes:
                a = agg.get((fill, mode, case, size))
                if a is None:
                    if case == "bc_mem_hit" and not mem_ok and (fill, mode, "bc_redis_hit", size) in agg:
                        print(f"| {fill:,} | {mode} | {case} | {size_name(size)} | n/a | n/a | n/a | | | | memory tier not working |")
                    continue
                cmp = ""
                if case == "bc_redis_hit":
                    r = ref(fill, mode, "ref_redis", size)
                    n = agg.get((small, mode, "nginx_cache", size))
                    if r:
                        cmp = f"{a['rps']/r['rps']:.2f}x ref_redis req/s, p99 {a['p99']/r['p99']:.2f}x"
                    if n:
                        cmp += f"; {a['rps']/n['rps']:.2f}x nginx_cache"
                elif case == "bc_mem_hit":
                    r = ref(fill, mode, "ref_minimal", size)
                    n = agg.get((small, mode, "nginx_cache", size))
                    if r:
                        cmp = f"{a['rps']/r['rps']:.2f}x ref_minimal req/s, p99 {a['p99']/r['p99']:.2f}x"
                    if n:
                        cmp += f"; {a['rps']/n['rps']:.2f}x nginx_cache"
                elif case in ("bc_miss", "bc_fill"):
                    # bc_fill's client sends a new URL each time (wrk -s),
                    # so its reference is the backend under the same client.
                    r = ref(fill, mode, "direct_unique" if case == "bc_fill" else "direct", size)
                    if r:
                        cmp = f"{a['rps']/r['rps']:.2f}x {'direct_unique' if case == 'bc_fill' else 'direct'} req/s, p50 {a['p50']-r['p50']:+.2f} ms"
                elif case in ("bc_reval", "bc_reval_fast"):
                    # The same entries and work, but a 304 from the backend
                    # instead of the whole body.
                    name = case.replace("reval", "refetch")
                    r = agg.get((fill, mode, name, size))
                    if r:
                        cmp = (f"{a['rps']/r['rps']:.2f}x {name} req/s, p50 {a['p50']/r['p50']:.2f}x, "
                               f"p99 {a['p99']/r['p99']:.2f}x")
                elif case == "bc_refetch":
                    r = ref(fill, mode, "direct", size)
                    if r:
                        cmp = f"{a['rps']/r['rps']:.2f}x direct req/s, p50 {a['p50']-r['p50']:+.2f} ms"
                elif case == "ref_redis":
                    r = ref(fill, mode, "ref_minimal", size)
                    if r:
                        cmp = f"{a['rps']/r['rps']:.2f}x ref_minimal"
                elif case == "nginx_cache":
                    r = ref(fill, mode, "ref_minimal", size)
                    if r:
                        cmp = f"{a['rps']/r['rps']:.2f}x ref_minimal"
                rss = a["rss"] / 1024
                print(f"| {fill:,} | {mode} | {case} | {size_name(size)} | {a['rps']:,.0f} | "
                      f"{a['p50']:.2f} | {a['p99']:.2f} | {a['non2xx']} / {a['sock']} | "
                      f"{rss:.1f} | {a['ngx']/1024:.1f} | {cmp} |")
print()
print("RSS (server): the process answering the case (bocache, a reference, the "
      "test backend; nginx_cache: the nginx master), max over rounds, sampled mid-run.")
rds = max((a["rds"] for a in agg.values()), default=0)
print(f"redis-server RSS peak: {rds/1024:.1f} MB")

calls = defaultdict(lambda: [0, 0, 0])
for line in open(backend_file):
    f = line.split()
    if len(f) == 7 and all(x.lstrip("-").isdigit() for x in f[4:]):
        c = calls[(int(f[0]), f[1], f[2], int(f[3]))]
        for i in range(3):
            c[i] += int(f[4 + i])
if calls:
    print()
    print("revalidation rows: what the backend did, summed over the rounds (a few "
          "requests in flight when wrk stops reach the backend but are not counted by wrk)")
    print("| entries | nginx->upstream | case | body | client requests | backend calls | of them 304 | 304 per request |")
    print("|---|---|---|---|---|---|---|---|")
    for fill in fills:
        for mode in modes:
            for case in order:
                for size in sizes:
                    c = calls.get((fill, mode, case, size))
                    if c is None:
                        continue
                    per = f"{c[2]/c[0]:.3f}" if c[0] else "-"
                    print(f"| {fill:,} | {mode} | {case} | {size_name(size)} | {c[0]:,} | {c[1]:,} | {c[2]:,} | {per} |")

cg = [l.split() for l in open(cg_file) if l.strip()]
if cg:
    print()
    print(f"callgrind: instructions (Ir) per request, tests/fcgi_get -n, one connection per request")
    print("| phase | requests | X-Cache of last | Ir total | idle Ir taken off | Ir per request |")
    print("|---|---|---|---|---|---|")
    for f in cg:
        name, ir, sec, rate, n, x = f[0], int(f[1] or 0), float(f[2]), float(f[3]), int(f[4]), f[5] if len(f) > 5 else "-"
        if name.startswith("idle_"):
            print(f"| {name} ({sec:.1f} s) | 0 | - | {ir:,} | - | ({rate:,.0f} Ir/s idle) |")
            continue
        idle = rate * sec
        per = (ir - idle) / n if n else 0
        print(f"| {name} | {n} | {x} | {ir:,} | {idle:,.0f} | {per:,.0f} |")
    if not mem_ok:
        print("| memory_hit | - | - | - | - | n/a (memory tier not working) |")

notes = open(notes_file).read().strip()
if notes:
    print()
    print("notes:")
    for l in notes.splitlines():
        print("  " + l)
PY
say "done in $((SECONDS - t_start)) s (wrk part $t_wrk s); stopping everything"
