#!/bin/sh
# bench/callgrind.sh - instructions per job of bench/pool_bench.c (empty_1p2w:
# 1 producer, 2 workers, queue 1024, WP_BLOCK), counted by callgrind over the
# whole program and per thread (thread 1 submits, the others are workers).
#   sh bench/callgrind.sh [REV] [RUNS]   REV: a git revision for the header
#                                        (default: the working tree's); RUNS: 3
# Environment: CC (cc), JOBS (500000), VG_FLAGS (extra valgrind flags, e.g.
# --fair-sched=yes). Prints one line per run and the medians. Under valgrind
# the threads run one at a time, so the workers' share includes how often
# they spin on an empty queue while the producer is not scheduled: compare
# the producer's figure across headers, and the workers' over several runs.
set -eu
rev=${1:-}
runs=${2:-3}
jobs=${JOBS:-500000}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -n "$rev" ]; then git -C "$top" show "$rev:workerpool.h" >"$tmp/workerpool.h"; else cp "$top/workerpool.h" "$tmp/"; fi
${CC:-cc} -std=c11 -O2 -g -DNDEBUG -I"$tmp" "$top/bench/pool_bench.c" -o "$tmp/pb" -pthread
i=0
while [ "$i" -lt "$runs" ]; do
    (cd "$tmp" && BENCH_PASSES=1 BENCH_JOBS=$jobs valgrind --tool=callgrind ${VG_FLAGS:-} \
        --separate-threads=yes --callgrind-out-file=cg.$i ./pb >/dev/null 2>vg.$i.log)
    total=0 producer=0 workers=0
    for f in "$tmp"/cg.$i-*; do
        n=$(sed -n 's/^summary: *//p;s/^totals: *//p' "$f" | head -n 1)
        total=$((total + n))
        case $f in *-01) producer=$n;; *) workers=$((workers + n));; esac
    done
    echo "$total $producer $workers" | awk -v j="$jobs" -v r="${rev:-worktree}" -v i="$i" \
        '{printf "%s run %d: %.1f instructions per job (producer %.1f, workers %.1f)\n", r, i, $1/j, $2/j, $3/j}' |
        tee -a "$tmp/lines"
    rm -f "$tmp"/cg.$i-*
    i=$((i + 1))
done
med() { sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
printf '%s median of %d: %s per job (producer %s, workers %s)\n' "${rev:-worktree}" "$runs" \
    "$(awk '{print $4}' "$tmp/lines" | med)" "$(sed 's/.*producer \([0-9.]*\).*/\1/' "$tmp/lines" | med)" \
    "$(sed 's/.*workers \([0-9.]*\)).*/\1/' "$tmp/lines" | med)"
