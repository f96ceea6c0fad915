#!/bin/sh
# bench/scale.sh - how the pools scale past 2 cores. For each workload below,
# each contender of bench/run.sh runs with W workers and P producers
# (BENCH_WORKERS, BENCH_PRODUCERS: see bench/harness/harness.c), passes
# interleaved (the contenders' order rotates from pass to pass);
# bench/scale_report.py writes bench/scaling.md: a table per workload,
# contender x W, median Mjobs/s (min-max), and for work1us the efficiency
# jobs x 1 us / (seconds x W) and the ratio to `direct`.
#
#   empty   P=1 and P=4 producers, SCALE_EMPTY_JOBS (1,000,000) jobs of one
#           atomic increment
#   work1us P=1, 200,000 x W jobs of ~1 us (~0.2 s at full efficiency)
#   direct  the yardstick of work1us: the same jobs split evenly over W plain
#           threads with no queue (bench-naive work1us_direct), pinned like
#           the P=1 runs: what W of these cores do when nothing is shared
# Those job counts are cut to what ~1.5 s takes (at least 100,000 jobs) or
# raised to what ~0.1 s takes, at the rate the contender last showed in the
# same workload and producer count (the previous W of the pass, or the same
# W in the previous pass): the pools that stop scaling run 0.2 Mjobs/s at 15
# workers on a 16-core VM, which made one pass at fixed counts take 3
# minutes. A run under 50 ms is done again at once with enough jobs for
# ~0.1 s (the short one is dropped). Mjobs/s does not depend on the count.
#
# Workers: 1 2 4 8 and N-P, where N is the CPU count (nproc), so that W+P
# never exceeds N (on 16 CPUs: W = 1 2 4 8 15 with P=1, 1 2 4 8 12 with
# P=4). Every run is pinned with `taskset -c` to the first W+P CPUs of a list
# that has one CPU of each physical core first (from the SMT sibling lists
# in /sys; on a machine without SMT, or with siblings numbered N/2 apart,
# that is simply CPUs 0..W+P-1): one CPU per thread the run starts, the same
# set for every contender, and no two on one core while cores remain. OpenMP's team is
# max(W,P) threads (the producers are members of the team) and oneTBB's
# producers run jobs in their wait(), so those two use fewer or more busy
# threads than W; the tables say so. GOMAXPROCS is the number of pinned CPUs
# (Go's own default under taskset), so the Go runtime may use W+P threads
# like the C pools.
#
# SCALE_WORKERS="1 2" (one list for every P) overrides the worker counts; a
# run whose W+P exceeds N is then pinned to all N CPUs and marked
# oversubscribed in the tables (how to try the sweep on a 2-core machine).
#
# Environment: BENCH_OUT, BENCH_PREBUILT=1, BENCH_LIBS, CC, CXX (as for bench/run.sh:
# without BENCH_PREBUILT=1 the contenders are built first), SCALE_PASSES (3),
# SCALE_PRODUCERS ("1 4": the producer counts of empty), SCALE_WORKERS,
# SCALE_EMPTY_JOBS (1000000), SCALE_WORK_JOBS (200000, per worker),
# SCALE_CONTENDERS (default: every contender built), SCALE_RESULTS (prefix,
# default bench/scaling: writes .md and -raw.txt), SCALE_BUDGET (seconds,
# default 420: no new pass starts once the passes so far say it would end
# past it), SCALE_LIMIT (seconds per run, default 60).
# shellcheck disable=SC2086,SC2046
set -u
abspath() { case $1 in /*) echo "$1";; *) echo "$(pwd)/$1";; esac; }
[ -n "${BENCH_OUT:-}" ] && BENCH_OUT=$(abspath "$BENCH_OUT")
[ -n "${SCALE_RESULTS:-}" ] && SCALE_RESULTS=$(abspath "$SCALE_RESULTS")
[ -n "${BENCH_LIBS:-}" ] && BENCH_LIBS=$(abspath "$BENCH_LIBS")
libenv= # the carried libraries, for the bench binaries only
[ -n "${BENCH_LIBS:-}" ] && libenv="env LD_LIBRARY_PATH=$BENCH_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
cd "$(dirname "$0")/.." || exit 2
CC=${CC:-cc}
out=${BENCH_OUT:-build/bench-harness/$(basename "$CC")}
results=${SCALE_RESULTS:-bench/scaling}
passes=${SCALE_PASSES:-3}
prods=${SCALE_PRODUCERS:-1 4}
n_empty=${SCALE_EMPTY_JOBS:-1000000}
n_work=${SCALE_WORK_JOBS:-200000}
budget=${SCALE_BUDGET:-420}
limit=${SCALE_LIMIT:-60}
for v in "$passes" "$n_empty" "$n_work" "$budget" "$limit"; do
    case $v in ''|*[!0-9]*) echo "scale: SCALE_PASSES, _EMPTY_JOBS, _WORK_JOBS, _BUDGET, _LIMIT must be numbers"; exit 2;; esac
done

if [ "${BENCH_PREBUILT:-0}" != 1 ]; then
    BENCH_BUILD_ONLY=1 BENCH_OUT=$out sh bench/run.sh || { echo "scale: build failed"; exit 1; }
fi
[ -f "$out/contenders.txt" ] || { echo "scale: no $out/contenders.txt (build first, or set BENCH_OUT)"; exit 1; }
cts=${SCALE_CONTENDERS:-$(sed -n 's/^pool://p' "$out/contenders.txt")}
# A binary whose libraries cannot be loaded exits 127: leave it out.
kept=
for c in $cts; do
    [ -x "$out/bench-$c" ] || { echo "scale: no $out/bench-$c, left out"; continue; }
    $libenv "$out/bench-$c" >/dev/null 2>"$out/load.err"
    if [ $? = 127 ]; then echo "scale: $c left out: $(head -c 300 "$out/load.err")"; continue; fi
    kept="$kept $c"
done
cts=$kept
[ -n "$cts" ] || { echo "scale: no contender to run"; exit 1; }
direct=no # the yardstick runs in bench-naive (any harness binary would do)
[ -x "$out/bench-naive" ] && direct=yes

ncpu=$(nproc)
havetaskset=yes
command -v taskset >/dev/null 2>&1 || { havetaskset=no; echo "scale: taskset not found: nothing is pinned"; }

# The worker counts for P producers.
wlist() {
    if [ -n "${SCALE_WORKERS:-}" ]; then echo "$SCALE_WORKERS"; return; fi
    top=$((ncpu - $1)) l=
    for w in 1 2 4 8; do [ $w -le $top ] && l="$l $w"; done
    [ $top -gt 8 ] && l="$l $top"
    echo $l
}
# The runs of one pass: "workload producers workers" (empty, then work1us).
configs=
for p in $prods; do
    ws=$(wlist "$p")
    [ -n "$ws" ] || { echo "scale: P=$p leaves no CPU for a worker on $ncpu CPUs; skipped"; continue; }
    for w in $ws; do configs="$configs empty_1p2w:$p:$w"; done
done
for w in $(wlist 1); do configs="$configs work1us_1p2w:1:$w"; done
[ "$direct" = yes ] && for w in $(wlist 1); do configs="$configs work1us_direct:1:$w"; done

# The CPUs this process may use, one per physical core first.
sib() { cat "/sys/devices/system/cpu/cpu$1/topology/thread_siblings_list" 2>/dev/null; }
allowed=$(taskset -pc $$ 2>/dev/null | sed 's/.*: //' | tr ',' ' ')
cpulist=
for r in $allowed; do
    case $r in *-*) cpulist="$cpulist $(seq "${r%-*}" "${r#*-}" | tr '\n' ' ')";; *) cpulist="$cpulist $r";; esac
done
[ -n "$cpulist" ] || cpulist=$(seq 0 $((ncpu - 1)) | tr '\n' ' ')
first=''
second=''
for c in $cpulist; do
    s=$(sib "$c"); lead=$(echo "${s:-$c}" | sed 's/[,-].*//')
    if [ "$lead" = "$c" ]; then first="$first $c"; else second="$second $c"; fi
done
order=$(printf '%s ' $first $second)
smt=$(cat /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list 2>/dev/null | sort -un | tr '\n' ' ')
cpus_for() { # workers producers -> how many CPUs the run is pinned to
    n=$(($1 + $2)); [ $n -gt "$ncpu" ] && n=$ncpu; echo $n; }
pin_for() { # cpu count -> the taskset prefix
    [ $havetaskset = yes ] && echo "taskset -c $(echo $order | cut -d' ' -f1-"$1" | tr ' ' ',')"; }

raw=$out/scale-raw.txt
: >"$raw"
iters=$($libenv $(pin_for 1) "$out/bench-queues" calibrate | sed -n 's/^CALIBRATE iters_per_us=//p')
[ -n "$iters" ] || { echo "scale: calibration failed"; exit 1; }
echo "scale: $ncpu CPUs, pinning order $order (SMT sibling sets: ${smt:-unknown}); work1us job = $iters spin iterations (calibrated on CPU 0);" \
     "contenders:$cts; $passes passes of:$configs"

rotate() { k=$1; shift; n=$#; i=0; s=
    for x in "$@"; do [ $i -ge $((k % n)) ] && s="$s $x"; i=$((i + 1)); done
    i=0; for x in "$@"; do [ $i -lt $((k % n)) ] && s="$s $x"; i=$((i + 1)); done
    echo $s; }

# one PASS CONTENDER WORKLOAD P W JOBS: one process; prints its Mjobs/s or
# FAIL, appends its RESULT line (or a FAIL line) to $raw; secs in $last_secs.
last_secs=0
one() {
    cpus=$(cpus_for "$5" "$4")
    bin=$out/bench-$2
    [ "$3" = work1us_direct ] && bin=$out/bench-naive
    line=$(BENCH_WORKERS=$5 BENCH_PRODUCERS=$4 GOMAXPROCS=$cpus timeout "$limit" $libenv $(pin_for "$cpus") \
        "$bin" "$3" "$6" "$iters" 2>"$out/last.err" | grep '^RESULT' | tail -n 1)
    if [ -z "$line" ]; then
        echo "pass=$1 cpus=$cpus FAIL $2 $3 workers=$5 producers=$4 $(tr '\n' ' ' <"$out/last.err" | head -c 200)" >>"$raw"
        last_secs=0
        printf ' %s FAIL' "$2"
        return
    fi
    last_secs=$(echo "$line" | sed -n 's/.* secs=\([0-9.]*\).*/\1/p')
    printf ' %s %s' "$2" "$(awk -v n="$6" -v s="$last_secs" 'BEGIN { if (s > 0) printf "%.2f", n / s / 1e6; else print "?" }')"
    echo "pass=$1 cpus=$cpus $line" >>"$raw"
}

report() {
    python3 bench/scale_report.py "$raw" --contenders "$cts" --md "$results.md" \
        --machine "$machine" --method "$1" >/dev/null &&
        cp "$raw" "$results-raw.txt"
}
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
vfield() { sed -n "s/^$1: \{0,1\}//p" "$out/versions.txt" 2>/dev/null | head -n 1; }
machine="$ncpu CPUs, ${cpu:-unknown CPU}; $(uname -sr); C: $(vfield cc), $(vfield cflags); C++: $(vfield cxx); $(vfield go); packages: $(vfield packages); binaries built on $(vfield built)"
pinning="each run pinned with taskset -c to the first min(W+P, $ncpu) CPUs of $(echo $order | tr ' ' ',') (one per physical core first; SMT sibling sets: ${smt:-unknown}), GOMAXPROCS = that CPU count"
[ $havetaskset = no ] && pinning="nothing pinned (no taskset), GOMAXPROCS = min(W+P, $ncpu)"

start=$(date +%s)
pass=1
done_passes=0
while [ $pass -le "$passes" ]; do
    el=$(( $(date +%s) - start ))
    if [ $done_passes -gt 0 ] && [ $((el + el / done_passes)) -gt "$budget" ]; then
        echo "scale: stopping after $done_passes passes: another would end past SCALE_BUDGET=$budget s"
        break
    fi
    for cf in $configs; do
        w=${cf%%:*} rest=${cf#*:}; p=${rest%%:*} nw=${rest#*:}
        printf 'scale: pass %s/%s %s P=%s W=%s (%s CPUs), Mjobs/s:' "$pass" "$passes" "$w" "$p" "$nw" "$(cpus_for "$nw" "$p")"
        if [ "$w" = work1us_direct ]; then cs=direct; else cs=$(rotate $pass $cts); fi
        if [ "$w" = empty_1p2w ]; then def=$n_empty; else def=$((n_work * nw)); fi
        for c in $cs; do
            # The job count: the default, unless the rate this contender
            # showed with this W in the last pass says it would take under
            # 0.1 s (then enough for 0.1 s) or over 1.5 s (then enough for
            # 1.5 s, at least 100,000 jobs); in the first pass, the rate of
            # the previous W (same workload and P) may only cut it: the slow
            # contenders' runs at 8 and 15 workers would otherwise take 5 to
            # 15 s each.
            keys=rate_${c}_${w%%_*}_$p keye=rate_${c}_${w%%_*}_${p}_$nw
            rs=''
            re=''
            eval "rs=\${$keys:-} re=\${$keye:-}"
            n=$(awk -v d="$def" -v rs="$rs" -v re="$re" 'BEGIN { n = d
                if (re != "") { lo = re * 0.1; hi = re * 1.5; if (n < lo) n = lo; if (n > hi) n = hi }
                else if (rs != "" && n > rs * 1.5) n = rs * 1.5
                lo = d < 100000 ? d : 100000; if (n < lo) n = lo; if (n > 50000000) n = 50000000
                printf "%d", (n >= 1000000 ? int((n + 99999) / 100000) * 100000 : int((n + 999) / 1000) * 1000) }')
            one $pass "$c" $w "$p" "$nw" "$n"
            if awk -v s="$last_secs" 'BEGIN { exit !(s > 0 && s < 0.05) }'; then
                # too short to time well: again with enough jobs for ~0.1 s
                n=$(awk -v n="$n" -v s="$last_secs" 'BEGIN { m = int(n * 0.12 / s / 1000 + 1) * 1000; if (m > 50000000) m = 50000000; print m }')
                sed -i '$d' "$raw" # drop the short run
                printf ' (again with %s jobs:' "$n"
                one $pass "$c" $w "$p" "$nw" "$n"
                printf ')'
            fi
            if awk -v s="$last_secs" 'BEGIN { exit !(s > 0) }'; then
                r=$(awk -v n="$n" -v s="$last_secs" 'BEGIN { printf "%d", n / s }')
                eval "$keys=$r $keye=$r"
            fi
        done
        echo " [$(( $(date +%s) - start )) s]"
    done
    done_passes=$pass
    report "$done_passes of $passes passes, interleaved, $(( $(date +%s) - start )) s; work1us job = $iters spin iterations (calibrated on CPU 0); $pinning" ||
        echo "scale: the report failed"
    echo "scale: pass $pass/$passes done ($(( $(date +%s) - start )) s); $results.md written"
    pass=$((pass + 1))
done
