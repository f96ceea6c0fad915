#!/bin/sh
# Compares empty-job pool throughput (bench/pool_bench.c) between the header
# at a git revision and the working tree's header: both are built the same
# way and run alternately, RUNS times each (default 11); prints both medians
# and their ratio. Usage: sh bench/compare-headers.sh REV [RUNS]
set -e
rev=${1:?usage: compare-headers.sh REV [RUNS]}
runs=${2:-11}
cc=${CC:-cc}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old"
git -C "$top" show "$rev:workerpool.h" >"$tmp/old/workerpool.h"
flags="-std=c11 -O2 -DNDEBUG"
$cc $flags -I"$tmp/old" "$top/bench/pool_bench.c" -o "$tmp/old_bench" -pthread
$cc $flags -I"$top" "$top/bench/pool_bench.c" -o "$tmp/new_bench" -pthread
i=0
while [ $i -lt "$runs" ]; do
    BENCH_PASSES=1 "$tmp/old_bench" | awk '/median/ {print $3}' >>"$tmp/old.txt"
    BENCH_PASSES=1 "$tmp/new_bench" | awk '/median/ {print $3}' >>"$tmp/new.txt"
    i=$((i + 1))
done
median() { sort -n "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
old=$(median "$tmp/old.txt")
new=$(median "$tmp/new.txt")
echo "empty_1p2w, $runs alternating runs each ($cc $flags):"
echo "  $rev: median $old Mjobs/s"
echo "  working tree: median $new Mjobs/s"
awk -v o="$old" -v n="$new" 'BEGIN {printf "  ratio new/old: %.2f\n", n / o}'
