#!/bin/sh
# Instructions per empty job, counted by callgrind (stable where wall-clock
# figures on a shared machine are not): bench/pool_bench.c's empty_1p2w
# (1 producer, 2 workers, queue 1024, WP_BLOCK) with BENCH_JOBS jobs
# (default 500000), whole program and per thread kind, median of RUNS (3).
# The producer waits by closing the pool (BENCH_WAIT=close), so that no
# spin of the benchmark itself is counted.
#
#   sh bench/callgrind.sh                  this tree's workerpool.h
#   sh bench/callgrind.sh 1d10662          also the header at a commit, for a ratio
# It first prints the bare queue's push+pop against the textbook ring.
set -eu
cd "$(dirname "$0")/.."
JOBS=${BENCH_JOBS:-500000}
RUNS=${RUNS:-3}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# count DIR LABEL: builds pool_bench against DIR/workerpool.h and prints
# "LABEL total T producer P workers W" (instructions per job, medians).
count() {
    $CC -std=c11 -O2 -g -DNDEBUG -I"$1" bench/pool_bench.c -o "$tmp/pb" -pthread
    : > "$tmp/runs"
    i=0
    while [ $i -lt "$RUNS" ]; do
        rm -f "$tmp"/cg.*
        BENCH_PASSES=1 BENCH_JOBS=$JOBS BENCH_WAIT=close \
            valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$tmp/cg.%p" \
            "$tmp/pb" >/dev/null 2>&1
        # thread 1 is the producer; the others are the pool's workers
        p=$(grep -h '^summary' "$tmp"/cg.*-01 | awk '{print $2}')
        w=$(cat "$tmp"/cg.*-0[2-9] | awk '/^summary/ {s += $2} END {print s}')
        echo "$p $w" >> "$tmp/runs"
        i=$((i + 1))
    done
    # the run with the median total
    awk '{ print $1 + $2, $1, $2 }' "$tmp/runs" | sort -n | sed -n "$(( (RUNS + 1) / 2 ))p" |
        awk -v jobs="$JOBS" -v label="$2" -v runs="$RUNS" '{
            printf "%s total %.0f producer %.0f workers %.0f (instructions per job, median of %d)\n",
                   label, $1 / jobs, $2 / jobs, $3 / jobs, runs }'
}

# queue_count: instructions per item of one push and one pop, the bare
# wp_queue against the textbook ring (bench/harness/queues.c, queue_1t: one
# thread, no contention), as the difference between runs of 1,310,720 and
# 262,144 items, so that setup and exit cancel out.
queue_count() {
    $CC -std=c11 -O2 -g -DNDEBUG -I. -Ibench/harness bench/harness/queues.c -o "$tmp/bq" -pthread
    for c in wp_queue ring; do
        for n in 262144 1310720; do
            valgrind --tool=callgrind --callgrind-out-file="$tmp/q.$c.$n" "$tmp/bq" $c queue_1t $n >/dev/null 2>&1
        done
        echo "$c $(grep -h '^summary' "$tmp/q.$c.262144" | awk '{print $2}') $(grep -h '^summary' "$tmp/q.$c.1310720" | awk '{print $2}')"
    done | awk '{ per[$1] = ($3 - $2) / 1048576 }
        END { printf "queue push+pop: wp_queue %.1f ring %.1f instructions per item (ratio %.2f)\n",
                     per["wp_queue"], per["ring"], per["wp_queue"] / per["ring"] }'
}

command -v valgrind >/dev/null || { echo "callgrind: valgrind is not installed"; exit 1; }
queue_count
count . "$(git rev-parse --short HEAD 2>/dev/null || echo tree)+tree"
if [ $# -gt 0 ]; then
    mkdir -p "$tmp/old"
    git show "$1:workerpool.h" > "$tmp/old/workerpool.h"
    count "$tmp/old" "$1"
fi
