#!/usr/bin/env bash
# Smoke checks of the examples: each one runs, exits 0 and prints its expected
# line. http_server gets a load test: wrk (or parallel curls) overloads it;
# every request must get 200 or 503 (some 503s among them), nothing may hang,
# and SIGTERM must stop it cleanly. metrics is scraped twice with curl and
# each scrape validated by promtool. backpressure is left to `make demo`.
# Installs nothing: without wrk and curl the load test is skipped. Ends with
# one line: "examples: N passed, N failed".
#
#   CC=clang .ci/examples-check.sh      checks the examples built by clang
#   EXAMPLES_HTTP_CLIENT=curl ...       load test with curl even if wrk is here
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

cc=${CC:-cc}
bin=build/$(basename "${cc%% *}")/examples   # as the Makefile names it
passed=0
failed=0
tmp=$(mktemp -d)
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then kill -KILL "$server_pid" 2>/dev/null; fi
    rm -rf "$tmp"
}
trap cleanup EXIT

pass() { echo "ok   $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

# Runs an example with a time limit; passes when it exits 0 and prints a line
# matching the extended regex.   check NAME REGEX COMMAND...
check() {
    local name=$1 want=$2
    shift 2
    local start=$SECONDS rc
    timeout 120 "$@" >"$tmp/$name.out" 2>&1 </dev/null
    rc=$?
    sed 's/^/    /' "$tmp/$name.out"
    if [ "$rc" -ne 0 ]; then
        fail "$name: exit $rc"
        return 1
    fi
    if ! grep -Eq "$want" "$tmp/$name.out"; then
        fail "$name: no line matching /$want/"
        return 1
    fi
    pass "$name ($((SECONDS - start)) s)"
}

echo "::: make examples CC=$cc"
if ! make examples CC="$cc"; then
    fail "make examples"
    echo "examples: $passed passed, $failed failed"
    exit 1
fi

# --- quickstart -------------------------------------------------------------
check quickstart '^10 squared is 100$' "$bin/quickstart"

# --- streaming --------------------------------------------------------------
check streaming '^streamed 100000 jobs through a queue of 128' "$bin/streaming"

# --- image_pipeline: a valid P6 file and the speed-up line --------------------
ppm=$tmp/mandelbrot.ppm
if check image_pipeline '^speed-up [0-9]+\.[0-9]x on [0-9]+ workers?$' \
        "$bin/image_pipeline" "$ppm"; then
    # The header is three lines, "P6", "W H", "255"; the pixels follow.
    read -r magic < <(head -n 1 "$ppm")
    read -r w h < <(sed -n 2p "$ppm")
    read -r maxval < <(sed -n 3p "$ppm")
    header_bytes=$(head -n 3 "$ppm" | wc -c)
    size=$(wc -c <"$ppm")
    if [ "$magic" = P6 ] && [ "$maxval" = 255 ] && [ "${w:-0}" -gt 0 ] && [ "${h:-0}" -gt 0 ] \
            && [ "$size" -eq $((header_bytes + w * h * 3)) ]; then
        pass "image_pipeline: $ppm is a ${w}x${h} P6 image of $size bytes"
    else
        fail "image_pipeline: bad PPM (magic '$magic', ${w:-?}x${h:-?}, max '$maxval', $size bytes)"
    fi
fi

# --- batch_results, game_frame, merge_sort, rate_limit_retry: their own checks, then the
# line each prints only when every check passed ----------------------------------
check batch_results '^all [0-9]+ ids came back exactly once, every checksum matches$' \
    "$bin/batch_results"
check game_frame '^simulation matches the single-threaded run bit for bit$' "$bin/game_frame"
check merge_sort '^output is sorted and a permutation of the input$' "$bin/merge_sort"
check rate_limit_retry '^retry: [0-9]+ attempts.*: ([0-9]+) of \1 jobs in, [0-9]+ refusals retried, none given up$' \
    "$bin/rate_limit_retry"

# --- http_server under overload -------------------------------------------------
client=${EXAMPLES_HTTP_CLIENT:-}
if [ -z "$client" ]; then
    if command -v wrk >/dev/null; then client=wrk
    elif command -v curl >/dev/null; then client=curl
    fi
fi
if [ -z "$client" ] || ! command -v "$client" >/dev/null; then
    echo "skip http_server load test: ${client:-neither wrk nor curl} not installed (apt-get install wrk curl)"
else
    # Curl is slower to open connections than wrk, so it gets slower requests
    # to overload the 2 workers and queue of 16 just the same.
    work_ms=2
    [ "$client" = curl ] && work_ms=10
    log=$tmp/http_server.out
    "$bin/http_server" 0 "$work_ms" >"$log" 2>&1 </dev/null &
    server_pid=$!
    port=
    for _ in $(seq 50); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/$|\1|p' "$log")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    url=http://127.0.0.1:$port/
    ok=0 busy=0 other=0 load_ok=1 detail=
    if [ -z "$port" ]; then
        load_ok=0 detail="the server printed no port"
    elif [ "$client" = wrk ]; then
        echo "::: wrk -t 2 -c 64 -d 5s --timeout 2s $url"
        wrk -t 2 -c 64 -d 5s --timeout 2s "$url" >"$tmp/wrk.out" 2>&1
        rc=$?
        sed 's/^/    /' "$tmp/wrk.out"
        total=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$tmp/wrk.out")
        busy=$(sed -n 's/^ *Non-2xx or 3xx responses: *\([0-9][0-9]*\).*/\1/p' "$tmp/wrk.out")
        rps=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' "$tmp/wrk.out")
        sockerr=$(grep -E '^ *Socket errors:' "$tmp/wrk.out")
        total=${total:-0} busy=${busy:-0}
        ok=$((total - busy))
        if [ "$rc" -ne 0 ]; then load_ok=0 detail="wrk exit $rc"
        elif [ "$total" -eq 0 ]; then load_ok=0 detail="no request completed"
        elif [ -n "$sockerr" ]; then load_ok=0 detail="wrk saw${sockerr#*Socket errors:}"
        fi
    else
        # 3000 requests: 32 curls at a time, 25 sequential requests each.
        n=3000
        echo "::: $n requests, 32 curls in parallel: $url"
        start_ns=$(date +%s%N)
        # Each curl writes its status codes to a file of its own (lines from
        # parallel writers can interleave); -w's %{stderr} keeps bodies out.
        mkdir "$tmp/codes.d"
        # shellcheck disable=SC2016  # $@, $0 and $$ are for the inner sh
        seq "$n" | sed "s|.*|$url|" \
            | xargs -P 32 -n 25 sh -c \
                'exec curl -s --max-time 5 -w "%{stderr}%{http_code}\n" "$@" >/dev/null 2>"$0/$$"' \
                "$tmp/codes.d"
        cat "$tmp"/codes.d/* >"$tmp/codes"
        elapsed_ns=$(( $(date +%s%N) - start_ns ))
        total=$(grep -c . "$tmp/codes")
        ok=$(grep -cx 200 "$tmp/codes")
        busy=$(grep -cx 503 "$tmp/codes")
        other=$((total - ok - busy))
        rps=$(awk -v n="$total" -v ns="$elapsed_ns" 'BEGIN { printf "%.0f", n * 1e9 / ns }')
        if [ "$total" -ne "$n" ]; then load_ok=0 detail="$total of $n requests answered"
        elif [ "$other" -ne 0 ]; then
            load_ok=0 detail="$other requests got neither 200 nor 503: $(grep -vx '200\|503' "$tmp/codes" | sort | uniq -c | tr -s ' \n' ' ')"
        fi
    fi

    # Stop it: SIGTERM must drain the pool and exit 0 within a few seconds;
    # a watchdog kills it after 5 (exit 137 then).
    kill -TERM "$server_pid" 2>/dev/null
    (sleep 5 && kill -KILL "$server_pid" 2>/dev/null) &
    watchdog=$!
    stop_start=$(date +%s%N)
    wait "$server_pid"
    stop_rc=$?
    stop_ms=$(( ($(date +%s%N) - stop_start) / 1000000 ))
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    server_pid=
    sed 's/^/    /' "$log"

    # The server's own counts must agree: it answered only 200, 503 (and no
    # 400), at least as many of each as the client saw.
    summary=$(grep -E '^[0-9]+ connections in ' "$log")
    s_ok=$(echo "$summary" | sed -n 's/.*200 OK \([0-9]*\),.*/\1/p')
    s_busy=$(echo "$summary" | sed -n 's/.*503 \([0-9]*\),.*/\1/p')
    s_bad=$(echo "$summary" | sed -n 's/.*400 \([0-9]*\),.*/\1/p')
    if [ "$load_ok" -eq 1 ]; then
        if [ -z "$summary" ]; then load_ok=0 detail="the server printed no counts"
        elif [ "$s_bad" -ne 0 ]; then load_ok=0 detail="the server answered 400 $s_bad times"
        elif [ "$ok" -gt "$s_ok" ] || [ "$busy" -gt "$s_busy" ]; then
            load_ok=0 detail="the client counted more answers than the server sent"
        elif [ "$busy" -eq 0 ]; then load_ok=0 detail="no 503 under overload"
        elif [ "$ok" -eq 0 ]; then load_ok=0 detail="no 200 at all"
        fi
    fi
    if [ "$load_ok" -eq 1 ]; then
        pass "http_server: $client: $ok x 200, $busy x 503, no other answers, no hangs; $rps requests/s"
    else
        fail "http_server: $client: $detail"
    fi
    if [ "$stop_rc" -eq 0 ]; then
        pass "http_server: SIGTERM: drained and exited 0 in $stop_ms ms"
    elif [ "$stop_rc" -eq 137 ]; then
        fail "http_server: SIGTERM: still running after 5 s, killed"
    else
        fail "http_server: SIGTERM: exit $stop_rc"
    fi
fi

# --- metrics: scrape /metrics with curl, validate with promtool -----------------
if ! command -v curl >/dev/null || ! command -v promtool >/dev/null; then
    echo "skip metrics scrape: curl or promtool not installed (apt-get install curl prometheus)"
else
    # Bounded: the example stops by itself after 60 s even if nothing stops it.
    log=$tmp/metrics.out
    "$bin/metrics" --port 0 --seconds 60 >"$log" 2>&1 </dev/null &
    server_pid=$!
    port=
    for _ in $(seq 50); do
        port=$(sed -n 's|^listening on http://127\.0\.0\.1:\([0-9][0-9]*\)/metrics$|\1|p' "$log")
        [ -n "$port" ] && break
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    url=http://127.0.0.1:$port
    scrape_ok=1 detail=
    if [ -z "$port" ]; then
        scrape_ok=0 detail="the example printed no port"
    else
        sleep 1   # let the load run for a while
        ctype=$(curl -s --max-time 5 -o "$tmp/m1.prom" -w '%{content_type}' "$url/metrics")
        sleep 1
        curl -s --max-time 5 -o "$tmp/m2.prom" "$url/metrics"
        curl -s --max-time 5 -o "$tmp/m.json" "$url/stats.json"
        code404=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$url/nothing")
        value() { sed -n "s/^workerpool_$1{pool=\"metrics-demo\"} \([0-9.e+-]*\)\$/\1/p" "$2"; }
        c1=$(value jobs_completed_total "$tmp/m1.prom")
        c2=$(value jobs_completed_total "$tmp/m2.prom")
        runs=$(value run_seconds_count "$tmp/m2.prom")
        if ! promtool check metrics <"$tmp/m1.prom" >"$tmp/promtool.out" 2>&1; then
            scrape_ok=0 detail="promtool: $(head -n 3 "$tmp/promtool.out" | tr '\n' ' ')"
        elif ! promtool check metrics <"$tmp/m2.prom" >/dev/null 2>&1; then
            scrape_ok=0 detail="promtool rejects the second scrape"
        elif [ "${ctype#text/plain; version=0.0.4}" = "$ctype" ]; then
            scrape_ok=0 detail="Content-Type '$ctype'"
        elif [ -z "$c1" ] || [ -z "$c2" ] || [ "$c2" -le "$c1" ]; then
            scrape_ok=0 detail="jobs_completed_total did not grow between scrapes ('$c1', '$c2')"
        elif [ -z "$runs" ] || [ "$runs" -eq 0 ]; then
            scrape_ok=0 detail="no run-time histogram samples"
        elif ! python3 -m json.tool "$tmp/m.json" >/dev/null 2>&1; then
            scrape_ok=0 detail="/stats.json is not valid JSON"
        elif [ "$code404" != 404 ]; then
            scrape_ok=0 detail="/nothing answered $code404, not 404"
        fi
    fi
    kill -TERM "$server_pid" 2>/dev/null
    (sleep 10 && kill -KILL "$server_pid" 2>/dev/null) &
    watchdog=$!
    wait "$server_pid"
    stop_rc=$?
    kill "$watchdog" 2>/dev/null
    wait "$watchdog" 2>/dev/null
    server_pid=
    sed 's/^/    /' "$log" | tail -n 14
    if [ "$scrape_ok" -eq 1 ]; then
        pass "metrics: two scrapes pass promtool check metrics; completed $c1 -> $c2; /stats.json parses"
    else
        fail "metrics: $detail"
    fi
    if [ "$stop_rc" -eq 0 ]; then
        pass "metrics: SIGTERM: drained, counts and hooks agree, exit 0"
    else
        fail "metrics: exit $stop_rc after SIGTERM"
    fi
fi

echo "examples: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
