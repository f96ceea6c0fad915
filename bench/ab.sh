#!/bin/sh
# bench/ab.sh - A/B of the workerpool contender of the harness between the
# header at git revision REV and the working tree's, on chosen workloads.
# Both binaries are built the same way (as bench/run.sh builds them) and run
# alternately, RUNS times each; prints per workload the medians of both
# (Mjobs/s for throughput workloads, p50 in us for the ping-pongs) and their
# ratio. The Go contender (build/bench-harness/CC/bench-go) and, for
# pingpong_sleep, the condvar and bare-futex wake-up yardsticks (bench-queues
# there) run in the same rounds when built (make bench-smoke builds them).
#   sh bench/ab.sh REV RUNS WORKLOAD...   (e.g. empty_1p2w pingpong_sleep)
# Environment: CC, JOBS (default 1000000; the ping-pongs use 2000),
# SPIN (work1us's spin iterations for ~1 us; default 580, the figure
# bench/run.sh calibrated on the 2-core machine: its report prints it),
# NEW_CFLAGS (extra flags for the working tree's build only, e.g.
# -DWP_SPIN_COUNT=64; with REV = HEAD that compares a knob's settings).
set -eu
rev=${1:?usage: ab.sh REV RUNS WORKLOAD...}
runs=${2:?usage: ab.sh REV RUNS WORKLOAD...}
shift 2
cc=${CC:-cc}
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/old"
git -C "$top" show "$rev:workerpool.h" >"$tmp/old/workerpool.h"
H=$top/bench/harness
# The old header is driven by the adapter of its own revision (the config's
# fields change between versions); the harness itself is this tree's.
git -C "$top" show "$rev:bench/harness/ct_wp.c" >"$tmp/old/ct_wp.c"
flags="-std=c11 -O2 -g -DNDEBUG"
$cc $flags -I"$tmp/old" -I"$H" "$H/harness.c" "$tmp/old/ct_wp.c" -o "$tmp/old_b" -pthread
$cc $flags ${NEW_CFLAGS:-} -I"$top" -I"$H" "$H/harness.c" "$H/ct_wp.c" -o "$tmp/new_b" -pthread
gob=
if [ -x "$top/build/bench-harness/$(basename "$cc")/bench-go" ]; then
    gob=$top/build/bench-harness/$(basename "$cc")/bench-go
fi
field() { # workload line -> number
    case $1 in
    pingpong*) echo "$2" | sed -n 's/.* p50=\([0-9.]*\).*/\1/p' | awk '{printf "%.1f\n", $1 / 1000}';;
    *) echo "$2" | sed -n 's/.* jobs=\([0-9]*\) secs=\([0-9.]*\).*/\1 \2/p' | awk '{printf "%.2f\n", $1 / $2 / 1e6}';;
    esac
}
qb=$top/build/bench-harness/$(basename "$cc")/bench-queues
[ -x "$qb" ] || qb=
median() { sort -n "$1" | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
for w in "$@"; do
    case $w in pingpong_sleep) n=2000;; pingpong_latency) n=100000;; work1us*) n=200000;; *) n=${JOBS:-1000000};; esac
    i=0
    while [ "$i" -lt "$runs" ]; do
        for b in old new go wake futex; do
            case $b in
            go) [ -n "$gob" ] || continue; set -- "$gob" "$w" "$n";;
            wake|futex) [ -n "$qb" ] && [ "$w" = pingpong_sleep ] || continue; set -- "$qb" yardstick "$b" "$n";;
            *) set -- "$tmp/${b}_b" "$w" "$n";;
            esac
            case $w in work1us*) set -- "$@" "${SPIN:-580}";; esac
            l=$(GOMAXPROCS=2 timeout 120 "$@" 2>/dev/null | grep '^RESULT' | tail -n 1)
            case $l in *ok=1*) field "$w" "$l" >>"$tmp/$w.$b";; *) echo "ab: $b $w failed: $l";; esac
        done
        i=$((i + 1))
    done
    o=$(median "$tmp/$w.old"); nw=$(median "$tmp/$w.new")
    g=-; [ -f "$tmp/$w.go" ] && g=$(median "$tmp/$w.go")
    k=; [ -f "$tmp/$w.wake" ] && k="  wake: $(median "$tmp/$w.wake")"
    [ -f "$tmp/$w.futex" ] && k="$k  futex: $(median "$tmp/$w.futex")"
    printf '%-18s %s: %-8s new: %-8s new/old: %s  go: %s%s  (old %s | new %s)\n' "$w" "$rev" "$o" "$nw" \
        "$(awk -v o="$o" -v n="$nw" 'BEGIN {printf "%.2f", n / o}')" "$g" "$k" \
        "$(sort -n "$tmp/$w.old" | tr '\n' ' ')" "$(sort -n "$tmp/$w.new" | tr '\n' ' ')"
done
