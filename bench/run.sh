#!/bin/sh
# bench/run.sh - builds and runs the pool benchmark harness (make bench,
# make bench-smoke). Every pass runs every available contender on every
# workload (the contenders' order rotates from pass to pass), then the machine
# yardsticks; bench/report.py turns the RESULT lines into bench/results.md,
# bench/results.svg and the table in bench/README.md (between the bench markers);
# the RESULT lines themselves are kept in bench/results-raw.txt.
#
#   sh bench/run.sh           full sizes, BENCH_PASSES passes (default 5)
#   sh bench/run.sh --smoke   every contender and workload once at tiny sizes;
#                             ends with "bench: N passed, N failed" (contenders
#                             whose every run finished with the right job count)
# Environment: CC (default cc), CXX (default c++), BENCH_PASSES,
# BENCH_NO_INSTALL=1 (never apt-get the contenders' packages), and, for
# running binaries built elsewhere (bench/pack.sh, bench/scale.sh):
#   BENCH_OUT=dir        the binaries' folder (default build/bench-harness/<cc>)
#   BENCH_BUILD_ONLY=1   install + build into BENCH_OUT, then stop
#   BENCH_PREBUILT=1     no install, no build: run the binaries in BENCH_OUT
#                        (contenders.txt and versions.txt there, written by
#                        the build, name the contenders and the versions)
#   BENCH_CPUS=list      run every process under `taskset -c list`
#   BENCH_LIBS=dir       put dir first on LD_LIBRARY_PATH for the bench
#                        binaries only (the libraries bench/pack.sh carries),
#                        not for the shell tools and python3 around them
#   BENCH_RESULTS=prefix write prefix.md, prefix.svg, prefix-raw.txt instead
#                        of bench/results.* and leave bench/README.md alone
#   BENCH_SMOKE_SIZES=1  the smoke run's tiny sizes in a full run (a test)
# Flag lists and contender lists are split into words on purpose:
# shellcheck disable=SC2086,SC2046
set -u
abspath() { case $1 in /*) echo "$1";; *) echo "$(pwd)/$1";; esac; }
[ -n "${BENCH_OUT:-}" ] && BENCH_OUT=$(abspath "$BENCH_OUT")
[ -n "${BENCH_RESULTS:-}" ] && BENCH_RESULTS=$(abspath "$BENCH_RESULTS")
[ -n "${BENCH_LIBS:-}" ] && BENCH_LIBS=$(abspath "$BENCH_LIBS")
cd "$(dirname "$0")/.." || exit 2
mode=full
[ "${1:-}" = "--smoke" ] && mode=smoke
CC=${CC:-cc}
CXX=${CXX:-c++}
passes=${BENCH_PASSES:-5}
[ "$mode" = smoke ] && passes=1
case $passes in ''|*[!0-9]*) echo "bench: BENCH_PASSES must be a number"; exit 2;; esac
out=${BENCH_OUT:-build/bench-harness/$(basename "$CC")}
mkdir -p "$out"
outabs=$(cd "$out" && pwd)
prebuilt=${BENCH_PREBUILT:-0}
STRICT="-std=c11 -Wall -Wextra -Wpedantic -Wstrict-prototypes -Wshadow -Werror"
CFLAGS="-O2 -g -DNDEBUG"
pin=
if [ -n "${BENCH_CPUS:-}" ]; then
    if command -v taskset >/dev/null 2>&1; then pin="taskset -c $BENCH_CPUS"
    else echo "bench: taskset not found: BENCH_CPUS=$BENCH_CPUS ignored, nothing pinned"; fi
fi
# What every bench process runs under (word-split: no spaces in these paths).
pre=$pin
[ -n "${BENCH_LIBS:-}" ] && pre="env LD_LIBRARY_PATH=$BENCH_LIBS${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH} $pin"

if [ "$prebuilt" != 1 ]; then

# --- contenders' packages ----------------------------------------------------
pkgs="libglib2.0-dev libuv1-dev libtbb-dev libck-dev golang-go pkg-config"
if [ "${BENCH_NO_INSTALL:-0}" != 1 ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    missing=
    for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        echo "bench: installing$missing"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get -o DPkg::Lock::Timeout=900 update -q &&
          apt-get -o DPkg::Lock::Timeout=900 install -y -q --no-install-recommends $missing; } >"$out/apt.log" 2>&1 ||
            echo "bench: apt-get failed (see $out/apt.log); absent contenders are skipped"
    fi
fi

# --- build -------------------------------------------------------------------
H=bench/harness
pool_cts=
skipped=
skip() { echo "bench: skipping $1: $2"; skipped="$skipped $1"; }
build_c() { # name extra-flags... ; builds harness + ct_name.c
    n=$1; shift
    $CC $STRICT $CFLAGS -I. -I$H "$@" -o "$out/bench-$n" 2>"$out/$n.err"
}
sysinc() { pkg-config --cflags "$1" 2>/dev/null | sed 's/-I/-isystem /g'; }

if build_c workerpool $H/harness.c $H/ct_wp.c -pthread; then pool_cts="$pool_cts workerpool"
else cat "$out/workerpool.err"; echo "bench: cannot build the workerpool contender"; exit 1; fi
if build_c naive $H/harness.c $H/ct_naive.c -pthread; then pool_cts="$pool_cts naive"
else cat "$out/naive.err"; exit 1; fi
if pkg-config --exists glib-2.0 2>/dev/null; then
    if build_c glib $(sysinc glib-2.0) $H/harness.c $H/ct_glib.c $(pkg-config --libs glib-2.0) -pthread
    then pool_cts="$pool_cts glib"; else skip glib "build failed: $(head -c 300 "$out/glib.err")"; fi
else skip glib "GLib not found (Debian: libglib2.0-dev)"; fi
if [ -f /usr/include/uv.h ] || pkg-config --exists libuv 2>/dev/null; then
    if build_c libuv $(sysinc libuv) $H/harness.c $H/ct_uv.c -luv -pthread
    then pool_cts="$pool_cts libuv"; else skip libuv "build failed: $(head -c 300 "$out/libuv.err")"; fi
else skip libuv "libuv not found (Debian: libuv1-dev)"; fi
if build_c openmp -fopenmp $H/harness.c $H/ct_omp.c -pthread; then pool_cts="$pool_cts openmp"
else skip openmp "$CC -fopenmp failed (gcc has libgomp; clang needs libomp-dev)"; fi
if [ -f /usr/include/oneapi/tbb/task_group.h ] && command -v "$CXX" >/dev/null 2>&1; then
    if $CC $STRICT $CFLAGS -I. -I$H -c $H/harness.c -o "$out/harness.o" 2>"$out/onetbb.err" &&
       $CXX -std=c++17 -Wall -Wextra -Werror $CFLAGS -I$H $H/ct_tbb.cpp "$out/harness.o" -o "$out/bench-onetbb" -ltbb -pthread 2>>"$out/onetbb.err"
    then pool_cts="$pool_cts onetbb"; else skip onetbb "build failed: $(head -c 300 "$out/onetbb.err")"; fi
else skip onetbb "oneTBB or a C++ compiler not found (Debian: libtbb-dev, g++)"; fi
if command -v go >/dev/null 2>&1; then
    if (cd bench/go && GOCACHE="${GOCACHE:-$outabs/gocache}" GOFLAGS=-mod=mod go build -o "$outabs/bench-go" .) 2>"$out/go.err"
    then pool_cts="$pool_cts go"; else skip go "build failed: $(head -c 300 "$out/go.err")"; fi
else skip go "go not found (Debian: golang-go)"; fi
queue_cts="wp_queue ring"
qflags=
if [ -f /usr/include/ck_ring.h ]; then qflags=-DHAVE_CK; queue_cts="$queue_cts ck_ring"
else skip ck_ring "ck_ring.h not found (Debian: libck-dev)"; fi
if ! $CC $STRICT $CFLAGS -I. $qflags $H/queues.c -o "$out/bench-queues" -pthread 2>"$out/queues.err"; then
    cat "$out/queues.err"; echo "bench: cannot build the queue benchmark"; exit 1
fi
case " $pool_cts " in *" go "*) queue_cts="$queue_cts go";; esac

# What was built, and with what, for a run elsewhere (BENCH_PREBUILT=1).
printf 'pool:%s\nqueue: %s\nskipped:%s\n' "$pool_cts" "$queue_cts" "$skipped" >"$out/contenders.txt"
{
    echo "cc: $($CC --version 2>/dev/null | head -n 1)"
    echo "cxx: $($CXX --version 2>/dev/null | head -n 1)"
    echo "go: $(go version 2>/dev/null | cut -d' ' -f3)"
    echo "cflags: $STRICT $CFLAGS"
    printf 'packages:'
    for p in libglib2.0-dev libuv1-dev libtbb-dev libck-dev golang-go; do
        v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null) && printf ' %s=%s' "$p" "$v"
    done
    echo
    echo "built: $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null | head -n 1), $(uname -m), $(date -u +%Y-%m-%d)"
} >"$out/versions.txt"
if [ "${BENCH_BUILD_ONLY:-0}" = 1 ]; then
    echo "bench: built into $out: contenders:$pool_cts | queues: $queue_cts"
    exit 0
fi

else # BENCH_PREBUILT=1: the binaries, contenders.txt and versions.txt in $out
    if [ ! -f "$out/bench-workerpool" ] || [ ! -f "$out/bench-queues" ]; then
        echo "bench: BENCH_PREBUILT=1 but no bench-workerpool/bench-queues in $out"; exit 1
    fi
    if [ -f "$out/contenders.txt" ]; then
        pool_cts=$(sed -n 's/^pool://p' "$out/contenders.txt")
        queue_cts=$(sed -n 's/^queue: //p' "$out/contenders.txt")
        skipped=$(sed -n 's/^skipped://p' "$out/contenders.txt")
    else
        pool_cts=
        skipped=
        for c in workerpool naive glib libuv openmp onetbb go; do
            [ -f "$out/bench-$c" ] && pool_cts="$pool_cts $c"
        done
        queue_cts="wp_queue ring"
        case " $pool_cts " in *" go "*) queue_cts="$queue_cts go";; esac
    fi
    # A binary whose libraries cannot be loaded exits 127: skip it, say why.
    kept=
    for c in $pool_cts; do
        $pre "$out/bench-$c" >/dev/null 2>"$out/load.err"
        if [ $? = 127 ]; then echo "bench: skipping $c: $(head -c 300 "$out/load.err")"; skipped="$skipped $c"
        else kept="$kept $c"; fi
    done
    pool_cts=$kept
    case " $pool_cts " in *" go "*) ;; *) queue_cts=$(echo "$queue_cts" | sed 's/ go$//;s/ go / /');; esac
fi

# --- run ---------------------------------------------------------------------
# A run that loses a job never sees its last job end: the time limit turns
# that into a failure.
run_limit=300
[ "$mode" = smoke ] && run_limit=30
if [ "$mode" = smoke ] || [ "${BENCH_SMOKE_SIZES:-0}" = 1 ]; then
    N_EMPTY=20000 N_WORK=2000 N_PP=200 N_SLEEP=20 N_QUEUE=100000 N_RTT=10000 N_WAKE=20
else
    N_EMPTY=1000000 N_WORK=200000 N_PP=100000 N_SLEEP=2000 N_QUEUE=10000000 N_RTT=1000000 N_WAKE=2000
fi
raw=$out/raw.txt
: >"$raw"
iters=$($pre "$out/bench-queues" calibrate | sed -n 's/^CALIBRATE iters_per_us=//p')
[ -n "$iters" ] || { echo "bench: calibration failed"; exit 1; }
echo "bench: work1us job = $iters spin iterations (calibrated); contenders:$pool_cts | queues: $queue_cts"

# rotate "a b c" by k
rotate() { k=$1; shift; n=$#; i=0; s=
    for x in "$@"; do [ $i -ge $((k % n)) ] && s="$s $x"; i=$((i + 1)); done
    i=0; for x in "$@"; do [ $i -lt $((k % n)) ] && s="$s $x"; i=$((i + 1)); done
    echo $s; }

one() { # pass contender workload command...
    p=$1 c=$2 w=$3; shift 3
    line=$(GOMAXPROCS=2 timeout "$run_limit" $pre "$@" 2>"$out/last.err" | grep '^RESULT' | tail -n 1)
    if [ -z "$line" ]; then
        echo "pass=$p FAIL $c $w $(tr '\n' ' ' <"$out/last.err" | head -c 200)" >>"$raw"
        echo "bench: $c $w FAILED: $(head -c 300 "$out/last.err")"
    else
        echo "pass=$p $line" >>"$raw"
        grep -q fallback "$out/last.err" && echo "bench: note: $(head -n 1 "$out/last.err")" | sort -u
    fi
}

start=$(date +%s)
pass=1
while [ $pass -le "$passes" ]; do
    for w in empty_1p2w empty_2p2w batch_1p2w work1us_1p2w pingpong_latency pingpong_sleep; do
        case $w in
            work1us_1p2w) n=$N_WORK;; pingpong_latency) n=$N_PP;; pingpong_sleep) n=$N_SLEEP;; *) n=$N_EMPTY;;
        esac
        for c in $(rotate $pass $pool_cts); do one $pass $c $w "$out/bench-$c" $w $n $iters; done
    done
    for w in queue_1p1c queue_2p2c; do
        for c in $(rotate $pass $queue_cts); do
            if [ $c = go ]; then one $pass $c $w "$out/bench-go" $w $N_QUEUE
            else one $pass $c $w "$out/bench-queues" $c $w $N_QUEUE; fi
        done
    done
    one $pass yardstick rtt "$out/bench-queues" yardstick rtt $N_RTT
    one $pass yardstick wake "$out/bench-queues" yardstick wake $N_WAKE
    case $(uname -s) in Linux) one $pass yardstick futex "$out/bench-queues" yardstick futex $N_WAKE;; esac
    echo "bench: pass $pass/$passes done ($(( $(date +%s) - start )) s)"
    pass=$((pass + 1))
done
secs=$(( $(date +%s) - start ))

# --- report ------------------------------------------------------------------
# The compilers and packages are those of the build (versions.txt, written
# when the binaries were built, here or on the machine that packed them).
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo 2>/dev/null | head -n 1)
vfield() { sed -n "s/^$1: \{0,1\}//p" "$out/versions.txt" 2>/dev/null | head -n 1; }
ccv=$(vfield cc)
cxxv=$(vfield cxx)
gov=$(vfield go)
versions=$(vfield packages)
[ -n "$versions" ] && versions=" $versions"
machine="$(nproc) CPUs online, ${cpu:-unknown CPU}; $(uname -sr); C: $ccv, $STRICT $CFLAGS; C++: $cxxv, -std=c++17 $CFLAGS; ${gov:-no go}, GOMAXPROCS=2"
[ "$prebuilt" = 1 ] && machine="$machine; binaries built on $(vfield built)"
if [ -n "$pin" ]; then
    smt=$(cat /sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list 2>/dev/null | sort -un | tr '\n' ' ')
    machine="$machine; every run pinned with $pin (SMT sibling sets: ${smt:-unknown})"
fi
md=bench/results.md svg=bench/results.svg rawcopy=bench/results-raw.txt
set -- --readme bench/README.md
if [ -n "${BENCH_RESULTS:-}" ]; then
    md=$BENCH_RESULTS.md svg=$BENCH_RESULTS.svg rawcopy=$BENCH_RESULTS-raw.txt
    set --
fi
if [ "$mode" = smoke ]; then
    python3 bench/report.py --smoke "$raw" "$pool_cts" "$queue_cts"
else
    python3 bench/report.py "$raw" "$pool_cts" "$queue_cts" --machine "$machine" \
        --method "$passes passes, interleaved, $secs s in all; work1us job = $iters spin iterations; packages:$versions" \
        --skipped "$skipped" --md "$md" --svg "$svg" "$@"
    cp "$raw" "$rawcopy"
fi
