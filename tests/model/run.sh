#!/bin/sh
# Checks each Promela model in this directory exhaustively with spin, and
# each deliberately broken variant, which spin must catch.
#   sh tests/model/run.sh [build-dir]
# A model passes with 0 errors over a complete search (no "max search depth
# too small"); a BROKEN=n variant passes when spin reports an error. Prints a
# line per run (states stored and transitions explored) and ends with
# "model: N passed, N failed".
# SPIN, CC and MODEL_MAXDEPTH may be set in the environment.
SPIN=${SPIN:-spin}
CC=${CC:-cc}
DEPTH=${MODEL_MAXDEPTH:-200000}
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build/model}
mkdir -p "$build" || exit 1
build=$(cd "$build" && pwd)
passed=0
failed=0

if ! command -v "$SPIN" >/dev/null; then
    echo "model: $SPIN not found (Debian: apt-get install spin)"
    echo "model: 0 passed, 1 failed"
    exit 1
fi

# check MODEL BROKEN [live] [condvar] [small]: runs one model; BROKEN=0 must
# hold, BROKEN>0 must fail. With "live", the model's LTL property is checked
# for acceptance cycles under weak fairness (-DLIVENESS, pan -a -f), with one
# job per producer. The wait sets park on the address wait (futex), or with
# "condvar" on the mutex + condition variable fallback (-DWS_CONDVAR).
# "small": one job per producer (-DPER_PROD=1), where the full size takes
# minutes and gigabytes.
check() {
    model=$1 broken=$2 live=$3 backend=$4 small=$5
    dir="$build/$model-$broken${live:+-live}${backend:+-$backend}${small:+-small}"
    defs="-DBROKEN=$broken" panflags="-m$DEPTH"
    model_name=$model
    if [ -n "$small" ]; then
        defs="$defs -DPER_PROD=1"
        model_name="$model_name (one job per producer)"
    fi
    if [ -n "$live" ]; then
        defs="$defs -DLIVENESS -DPER_PROD=1" panflags="$panflags -a -f"
        model_name="$model_name (liveness)"
    fi
    if [ "$backend" = condvar ]; then
        defs="$defs -DWS_CONDVAR"
        model_name="$model_name [condvar]"
    fi
    rm -rf "$dir" && mkdir -p "$dir" && cp "$here"/*.pml "$dir"/ || return 1
    (
        cd "$dir" &&
        "$SPIN" $defs -a "$model.pml" >spin.log 2>&1 &&
        $CC -w -O2 -DCOLLAPSE -DNFAIR=3 -o pan pan.c >cc.log 2>&1
    ) || { echo "!! $model BROKEN=$broken: spin or the C compiler failed"; cat "$dir"/*.log; return 1; }
    model=$model_name
    start=$(date +%s)
    (cd "$dir" && ./pan $panflags >pan.log 2>&1)
    secs=$(( $(date +%s) - start ))
    log="$dir/pan.log"
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
    stored=$(awk '/states, stored/ { print $1 }' "$log" | tail -n 1)
    trans=$(awk '/ transitions \(= / { print $1 }' "$log" | tail -n 1)
    what=$(grep -E 'assertion violated|invalid end state|acceptance cycle' "$log" | head -n 1 | sed 's/^pan:[0-9]*: *//')
    if [ -z "$errors" ]; then
        echo "!! $model BROKEN=$broken: no result from pan"; cat "$log"; return 1
    fi
    if [ "$broken" = 0 ]; then
        if [ "$errors" -eq 0 ] && ! grep -q 'max search depth too small' "$log"; then
            echo "ok  $model: 0 errors, exhaustive; $stored states stored, $trans transitions explored (${secs} s)"
            return 0
        fi
        echo "!! $model: $errors errors ($what); $stored states stored"; cat "$log"
        return 1
    fi
    if [ "$errors" -gt 0 ]; then
        echo "ok  $model BROKEN=$broken caught: $what (after $stored states)"
        return 0
    fi
    echo "!! $model BROKEN=$broken: spin found no error, so the model cannot catch that bug"
    return 1
}

# MODEL:BROKEN[:live[:condvar[:small]]]. The fallback's park model runs
# small (with two jobs per producer: 41 million states, 2.5 GB); close.pml
# uses the wait sets as park.pml does and runs on the default backend only.
for run in park:0 park:1 park:2 park:3 park:4 park:0:live park:1:live park:2:live \
           park:0::condvar:small park:1::condvar park:2::condvar park:3::condvar \
           park:4::condvar park:5::condvar park:0:live:condvar \
           close:0 close:1 close:2 scale:0 scale:1 scale:0::condvar \
           wake:0 wake:1 wake:2 wake:0::condvar wake:1::condvar; do
    IFS=: read -r m b l v z <<EOF2
$run
EOF2
    if check "$m" "$b" "$l" "$v" "$z"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "model: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
