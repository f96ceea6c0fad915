#!/bin/sh
# Validates the stats formatters with real tools: the JSON with python3's
# json module, the Prometheus text with `promtool check metrics` (Debian
# package prometheus) plus a python check of what promtool does not look at
# (cumulative buckets, _count = +Inf bucket, the pool label round trip).
# Negative controls show that each validator does reject broken input.
#
#   sh tests/observability/check.sh EMIT_BINARY     (make test-formats)
#
# Ends with one line: "formats: N passed, N failed".
emit=${1:?usage: check.sh EMIT_BINARY}
here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }
# check NAME COMMAND...: passes when the command exits 0; shows its output
# when it fails.
check() {
    name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        pass "$name"
    else
        fail "$name"
        sed 's/^/    /' "$tmp/out"
    fi
}
# reject NAME COMMAND...: passes when the command fails (negative control).
reject() {
    name=$1
    shift
    if "$@" >"$tmp/out" 2>&1; then
        fail "$name (accepted broken input)"
    else
        pass "$name"
    fi
}

if ! "$emit" "$tmp" >"$tmp/expected"; then
    fail "emit: exit status $?"
    echo "formats: $passed passed, $failed failed"
    exit 1
fi
pass "emit wrote the stats of a mixed-load pool"
sed 's/^/    /' "$tmp/expected"

if ! command -v python3 >/dev/null; then
    fail "python3 not found"
else
    check "json: python3 -m json.tool parses stats.json" python3 -m json.tool "$tmp/stats.json"
    check "json: python3 -m json.tool parses empty.json" python3 -m json.tool "$tmp/empty.json"
    check "json: structure and values of stats.json" \
        python3 "$here/validate.py" json "$tmp/stats.json" "$tmp/expected"
    check "json: structure of empty.json" python3 "$here/validate.py" json "$tmp/empty.json" -
    check "prometheus: buckets, counts and labels of metrics.prom" \
        python3 "$here/validate.py" prom "$tmp/metrics.prom" "$tmp/expected"
    check "prometheus: buckets, counts and labels of empty.prom" \
        python3 "$here/validate.py" prom "$tmp/empty.prom" -
    head -c 200 "$tmp/stats.json" >"$tmp/cut.json"
    reject "json: the parser rejects a truncated document" python3 -m json.tool "$tmp/cut.json"
    sed 's/"count":\([0-9]*\)}\]/"count":\1}/' "$tmp/stats.json" >"$tmp/unbalanced.json"
    reject "json: the parser rejects an unclosed array" python3 -m json.tool "$tmp/unbalanced.json"
    awk '/_bucket/ && /le="0.0001"/ { sub(/ [0-9]+$/, " 999999999") } { print }' \
        "$tmp/metrics.prom" >"$tmp/decreasing.prom"
    reject "prometheus: validate.py rejects decreasing buckets" \
        python3 "$here/validate.py" prom "$tmp/decreasing.prom" -
fi

if ! command -v promtool >/dev/null; then
    fail "promtool not found (Debian: apt-get install --no-install-recommends prometheus)"
else
    # promtool prints lint problems and exits nonzero on any of them.
    check "promtool check metrics: metrics.prom" sh -c 'promtool check metrics <"$1"' sh "$tmp/metrics.prom"
    check "promtool check metrics: empty.prom" sh -c 'promtool check metrics <"$1"' sh "$tmp/empty.prom"
    sed 's/jobs_failed_total/jobs_failed/g' "$tmp/metrics.prom" >"$tmp/no_total.prom"
    reject "promtool rejects a counter without _total" sh -c 'promtool check metrics <"$1"' sh "$tmp/no_total.prom"
    sed '/^# HELP workerpool_workers /d' "$tmp/metrics.prom" >"$tmp/no_help.prom"
    reject "promtool rejects a metric without help" sh -c 'promtool check metrics <"$1"' sh "$tmp/no_help.prom"
    sed 's/pool="/pool=/' "$tmp/metrics.prom" >"$tmp/bad_label.prom"
    reject "promtool rejects an unquoted label" sh -c 'promtool check metrics <"$1"' sh "$tmp/bad_label.prom"
fi

if grep -q '^jobs        submitted [0-9]* = completed [0-9]* + failed [0-9]* + canceled [0-9]* + expired [0-9]* + evicted [0-9]*$' "$tmp/table.txt" \
        && grep -q '^run time  ' "$tmp/table.txt" \
        && grep -qF 'pool "mixed \"load\"\\\u0009pool\n2", up ' "$tmp/table.txt"; then
    pass "table: the jobs line, the run-time row and the escaped name"
else
    fail "table: an expected line is missing"
fi
sed 's/^/    /' "$tmp/table.txt"

echo "formats: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
