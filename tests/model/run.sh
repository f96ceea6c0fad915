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

# check MODEL BROKEN: runs one model; BROKEN=0 must hold, BROKEN>0 must fail.
check() {
    model=$1 broken=$2
    dir="$build/$model-$broken"
    rm -rf "$dir" && mkdir -p "$dir" && cp "$here"/*.pml "$dir"/ || return 1
    (
        cd "$dir" &&
        "$SPIN" -DBROKEN="$broken" -a "$model.pml" >spin.log 2>&1 &&
        $CC -w -O2 -DCOLLAPSE -o pan pan.c >cc.log 2>&1
    ) || { echo "!! $model BROKEN=$broken: spin or the C compiler failed"; cat "$dir"/*.log; return 1; }
    start=$(date +%s)
    (cd "$dir" && ./pan -m"$DEPTH" >pan.log 2>&1)
    secs=$(( $(date +%s) - start ))
    log="$dir/pan.log"
    errors=$(sed -n 's/.*errors: \([0-9][0-9]*\).*/\1/p' "$log" | tail -n 1)
    stored=$(awk '/states, stored/ { print $1 }' "$log" | tail -n 1)
    trans=$(awk '/transitions \(= stored\+matched\)/ { print $1 }' "$log" | tail -n 1)
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

for run in park:0 park:1 park:2 close:0 close:1 close:2 scale:0 scale:1; do
    if check "${run%%:*}" "${run#*:}"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "model: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
