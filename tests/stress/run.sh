#!/bin/sh
# Runs the stress matrix binaries given after the mode and the jobs per cell
# (empty: the binary's default), echoes their output, and ends with one line
# summing them up: "stress: N passed, N failed". A binary that crashes
# (sanitizer reports abort it) or prints no summary counts as one failure.
mode=$1
jobs=$2
shift 2
passed=0
failed=0
for bin in "$@"; do
    echo "== $bin $mode $jobs"
    out=$(mktemp)
    # (streamed as it runs; the exit status goes through a file, since a
    # POSIX shell has no PIPESTATUS)
    # shellcheck disable=SC2086 # $jobs is empty or one number
    { timeout 1800 "$bin" "$mode" $jobs 2>&1; echo $? >"$out.rc"; } | tee "$out"
    rc=$(cat "$out.rc")
    rm -f "$out.rc"
    line=$(grep -E '^stress: [0-9]+ passed, [0-9]+ failed$' "$out" | tail -n 1)
    rm -f "$out"
    p=0
    f=0
    if [ -n "$line" ]; then
        p=$(echo "$line" | cut -d' ' -f2)
        f=$(echo "$line" | cut -d' ' -f4)
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
        echo "!! $bin exited with status $rc without a clean summary"
        failed=$((failed + 1))
    fi
done
echo "stress: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
