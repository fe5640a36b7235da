#!/bin/sh
# it_fuzz_replay.sh: replays every fuzz seed corpus (tests/fuzz/corpus/NAME)
# through its harness built with the normal compiler
# (tests/fuzz_replay_NAME), so a broken invariant or, in the sanitizer
# build, a memory error on a known input fails `make check` without clang.
# Inputs in tests/fuzz/findings are not replayed: they reproduce open bugs.
set -eu
: "${top_srcdir:=$(cd "$(dirname "$0")/.." && pwd)}"
: "${top_builddir:=$top_srcdir}"

failed=0
count=0
for corpus in "$top_srcdir"/tests/fuzz/corpus/*/; do
    name=$(basename "$corpus")
    prog=$top_builddir/tests/fuzz_replay_$name
    count=$((count + 1))
    if [ ! -x "$prog" ]; then
        echo "not ok - $name: $prog is missing"
        failed=$((failed + 1))
    elif out=$("$prog" "$corpus" 2>&1); then
        echo "ok - $name: ${out##*: }"
    else
        echo "not ok - $name"
        echo "$out"
        failed=$((failed + 1))
    fi
done
[ "$count" -gt 0 ] || { echo "not ok - no corpus under $top_srcdir/tests/fuzz/corpus"; exit 1; }
echo "# $count corpora, $failed failed"
[ "$failed" -eq 0 ]
