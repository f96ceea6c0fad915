#!/bin/sh
# bench/forkjoin.sh - workerpool.h's fork-join (wp_parallel_for, groups)
# against OpenMP and oneTBB on the same workloads and thread count
# (bench/forkjoin_peers/; make bench-forkjoin, part of make bench). Builds
# the three contenders into build/bench, then bench/forkjoin_peers/run.py
# runs the interleaved passes and prints the table and the ratio lines.
#
#   sh bench/forkjoin.sh           full sizes, BENCH_PASSES passes (default 5)
#   sh bench/forkjoin.sh --smoke   every contender and workload once at tiny
#                                  sizes; ends with "forkjoin: N passed, N failed"
# Environment: CC (default cc; needs -fopenmp for the OpenMP contender),
# CXX (default c++; with oneTBB's headers and -ltbb for the oneTBB one),
# BENCH_THREADS (threads in every contender, the calling thread included;
# default: online CPUs), BENCH_PASSES, BENCH_REPS (timed runs per process,
# default 5). A contender that cannot be built is skipped with the reason;
# workerpool.h alone still runs.
# shellcheck disable=SC2086
set -u
cd "$(dirname "$0")/.." || exit 2
mode=full
[ "${1:-}" = "--smoke" ] && mode=smoke
CC=${CC:-cc}
CXX=${CXX:-c++}
passes=${BENCH_PASSES:-5}
reps=${BENCH_REPS:-5}
if [ "$mode" = smoke ]; then passes=1 reps=1; fi
threads=${BENCH_THREADS:-$(nproc 2>/dev/null || getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
for v in "$passes" "$reps" "$threads"; do
    case $v in ''|*[!0-9]*) echo "forkjoin: BENCH_PASSES, BENCH_REPS and BENCH_THREADS must be numbers"; exit 2;; esac
done
command -v python3 >/dev/null 2>&1 || { echo "forkjoin: skipped: python3 not found"; exit 0; }

out=build/bench
mkdir -p "$out"
STRICT="-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror"
CFLAGS="-O2 -g -DNDEBUG"
P=bench/forkjoin_peers
cts=
if $CC $STRICT $CFLAGS -I. $P/fj_wp.c -o $out/fj-wp -pthread 2>$out/fj-wp.err; then cts=ours
else cat $out/fj-wp.err; echo "forkjoin: cannot build the workerpool.h contender"; exit 1; fi
if $CC $STRICT $CFLAGS -fopenmp $P/fj_omp.c -o $out/fj-omp 2>$out/fj-omp.err; then cts="$cts openmp"
else echo "forkjoin: skipping openmp: $CC -fopenmp failed (gcc has libgomp; clang needs libomp-dev): $(head -c 200 $out/fj-omp.err)"; fi
if [ ! -f /usr/include/oneapi/tbb/task_group.h ] && [ ! -f /usr/local/include/oneapi/tbb/task_group.h ]; then
    echo "forkjoin: skipping onetbb: oneapi/tbb/task_group.h not found (Debian: libtbb-dev)"
elif ! command -v "$CXX" >/dev/null 2>&1; then
    echo "forkjoin: skipping onetbb: no C++ compiler ($CXX)"
elif $CXX -std=c++17 -Wall -Wextra -Wpedantic -Wshadow -Werror $CFLAGS $P/fj_tbb.cpp -o $out/fj-tbb -ltbb -pthread 2>$out/fj-tbb.err; then
    cts="$cts onetbb"
else echo "forkjoin: skipping onetbb: build failed: $(head -c 200 $out/fj-tbb.err)"; fi

if [ "$mode" = full ]; then
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
    echo "forkjoin: $(nproc 2>/dev/null) CPUs online, ${cpu:-unknown CPU}; $(uname -sr); load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
    echo "forkjoin: $($CC --version 2>/dev/null | head -n 1); $($CXX --version 2>/dev/null | head -n 1); libtbb-dev $(dpkg-query -W -f='${Version}' libtbb-dev 2>/dev/null)"
    echo "forkjoin: contenders: $cts; $threads threads, $passes passes, $reps timed runs each"
fi
exec python3 $P/run.py "$out" "$threads" "$passes" "$reps" "$mode" $cts
