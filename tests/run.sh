#!/bin/sh
# Runs each test binary given as an argument, echoes its output, and ends with
# one line that sums them all up: "total: N passed, N failed". A binary that
# crashes, hangs (5 minutes) or prints no summary line counts as one failure.
# WP_TEST_RUNNER, when set, runs each binary (`make test-windows` sets it to
# wine).
passed=0
failed=0
for bin in "$@"; do
    echo "== $bin"
    out=$(mktemp)
    timeout 300 ${WP_TEST_RUNNER:-} "$bin" >"$out" 2>&1
    rc=$?
    # (without carriage returns: Windows programs end their lines with CRLF)
    tr -d '\r' <"$out"
    line=$(tr -d '\r' <"$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
    rm -f "$out"
    p=0
    f=0
    if [ -n "$line" ]; then
        p=$(echo "$line" | cut -d' ' -f1)
        f=$(echo "$line" | cut -d' ' -f3)
    fi
    passed=$((passed + p))
    failed=$((failed + f))
    if [ -z "$line" ] || { [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; }; then
        echo "!! $bin exited with status $rc without a clean summary"
        failed=$((failed + 1))
    fi
done
echo "total: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
