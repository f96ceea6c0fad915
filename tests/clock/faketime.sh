#!/bin/sh
# Runs tests/clock/waits (one binary per backend, given as arguments: the
# backend is read from the name, waits-c11 or waits-pthread) under
# libfaketime with the wall clock shifted and jumping, and ends with one
# line: "faketime: N passed, N failed".
#
# Scenarios, each a run of the three bounded waits (submit, recv, close):
#   +1h and -10y offsets, with CLOCK_MONOTONIC faked too (libfaketime's
#   default: the offset applies to it as well) and with it left real
#   (FAKETIME_DONT_FAKE_MONOTONIC=1);
#   the wall clock jumping in the middle of each wait (FAKETIME_TIMESTAMP_FILE
#   rewritten mid-wait, FAKETIME_NO_CACHE=1), monotonic left real.
# The waits time themselves on the raw CLOCK_MONOTONIC_RAW system call,
# which libfaketime does not intercept.
#
# libfaketime fakes what a program reads, not the clock the kernel sleeps
# on; it translates pthread_cond_timedwait deadlines but not C11's
# cnd_timedwait (glibc calls its internal function). A C11 program then
# sleeps for the whole offset whenever the faked wall clock is ahead of the
# real one, whatever the library does. The C11 binary's `probe` detects
# this; where it holds, the C11 runs keep to offsets at or behind the real
# clock (-10y, -1h) and the forward ones are reported as not run.
LIB=${FAKETIME_LIB:-}
if [ -z "$LIB" ]; then
    for f in /usr/lib/*/faketime/libfaketimeMT.so.1 /usr/lib/faketime/libfaketimeMT.so.1 \
             /usr/local/lib/faketime/libfaketimeMT.so.1; do
        [ -e "$f" ] && LIB=$f && break
    done
fi
if [ -z "$LIB" ]; then
    echo "libfaketime not found (Debian: apt-get install faketime)"
    echo "faketime: 0 passed, 1 failed"
    exit 1
fi
passed=0
failed=0
log=$(mktemp)
stamp=$(mktemp)
trap 'rm -f "$log" "$stamp" "$stamp.tmp"' EXIT

# run NAME ENV... -- BINARY ARGS...: one scenario, summed into the totals.
run() {
    name=$1
    shift
    echo "--- $name"
    env "$@" >"$log" 2>&1
    rc=$?
    cat "$log"
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(echo "$line" | cut -d' ' -f1)
        f=$(echo "$line" | cut -d' ' -f3)
    else
        p=0
        f=1
    fi
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        f=1
    fi
    passed=$((passed + p))
    failed=$((failed + f))
}

for bin in "$@"; do
    case $bin in
    *c11*) backend=c11 ;;
    *) backend=pthread ;;
    esac
    echo "=== $bin ($backend backend, $LIB)"
    forward="+1h"
    jumps="+1h -10y +0 -1h"
    if [ "$backend" = c11 ]; then
        if ! env LD_PRELOAD="$LIB" FAKETIME="+1h" FAKETIME_DONT_FAKE_MONOTONIC=1 timeout 10 "$bin" probe; then
            echo "note: this libfaketime does not translate cnd_timedwait deadlines: the C11 runs"
            echo "      with the wall clock ahead of the real one (+1h) are not run"
            forward=""
            jumps="-10y -1h -10y -1h"
        fi
    fi
    for offset in $forward -10y; do
        run "$backend: wall clock $offset, monotonic faked too" \
            LD_PRELOAD="$LIB" FAKETIME="$offset" timeout 120 "$bin"
        run "$backend: wall clock $offset, monotonic real" \
            LD_PRELOAD="$LIB" FAKETIME="$offset" FAKETIME_DONT_FAKE_MONOTONIC=1 timeout 120 "$bin"
    done
    echo "+0" >"$stamp"
    run "$backend: wall clock jumping mid-wait ($jumps), monotonic real" \
        LD_PRELOAD="$LIB" FAKETIME_TIMESTAMP_FILE="$stamp" FAKETIME_NO_CACHE=1 \
        FAKETIME_DONT_FAKE_MONOTONIC=1 WP_CLOCK_JUMPS="$jumps" timeout 120 "$bin" jump
done
echo "faketime: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
