#!/bin/sh
# The JetStream end-to-end test (make test-jetstream): a real nats-server on
# 127.0.0.1, 100,000 messages, three worker nodes; one is killed with
# kill -9 mid-run, one is stopped with SIGTERM, the last finishes the queue.
# Then jsctl check proves: every id's effect recorded exactly once in the
# SQLite sink, none lost; the ids made to fail always (divisible by 997)
# dead-lettered once each; the ids made to fail once (divisible by 101)
# retried and applied; the killed node's in-flight messages redelivered to
# the others; the stopped node left nothing unreplied; the broker empty.
#
#   sh examples/jetstream/test.sh BUILD_DIR    (the directory holding worker
#                                               and jsctl; make builds them)
#   JS_COUNT=20000 sh ...                      fewer messages (default 100000)
#   JS_KEEP=1 sh ...                           keep the logs, journals and sink
#
# Bounded: gives up after JS_LIMIT seconds (default 330) in all; every
# process it started is killed on every way out. Last line:
# "jetstream: N passed, N failed".
set -u

bin=${1:?usage: test.sh BUILD_DIR}
count=${JS_COUNT:-100000}
limit=${JS_LIMIT:-330}
fail_every=997
flaky_every=101
max_deliver=4
ack_wait_ms=3000

t0=$(date +%s)
tmp=$(mktemp -d)
pids=""
passed=0
failed=0
show_logs=0

pass() { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); show_logs=1; }
elapsed() { echo $(($(date +%s) - t0)); }
left() { echo $((limit - $(elapsed))); }

# pids: the processes started and not yet waited for (a pid already waited
# for may belong to someone else by now, so it leaves the list).
forget() { pids=$(echo " $pids " | sed "s/ $1 / /"); }
cleanup() {
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    if [ "$show_logs" = 1 ]; then
        for f in "$tmp"/*.log; do
            [ -f "$f" ] || continue
            echo "--- last lines of $(basename "$f")"
            tail -n 15 "$f"
        done
    fi
    if [ -n "${JS_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
    echo "jetstream: $passed passed, $failed failed"
}
trap cleanup EXIT
trap 'fail "interrupted by a signal"; exit 1' INT TERM HUP

# Gives up on the whole test (the EXIT trap cleans up and prints the total).
abort() { fail "$*"; exit 1; }

# wait_for SECONDS COMMAND...: runs COMMAND every 0.2 s until it succeeds or
# SECONDS (capped at what is left of the limit) pass.
wait_for() {
    secs=$1
    shift
    [ "$secs" -gt "$(left)" ] && secs=$(left)
    end=$(($(date +%s) + secs))
    while [ "$(date +%s)" -lt "$end" ]; do
        "$@" && return 0
        sleep 0.2
    done
    return 1
}

# exit_status PID SECONDS: waits up to SECONDS for PID to end; sets st to
# its exit status, or to "running". (Not in a $(...) subshell: only this
# shell can wait for its children.)
exit_status() {
    if wait_for "$2" eval "! kill -0 $1 2>/dev/null"; then
        wait "$1"
        st=$?
        forget "$1"
    else
        st=running
    fi
}

# scrape NODE: fetches the node's /metrics into $tmp/NODE.metrics.
# metric NODE NAME: jetstream_messages_NAME{,_total} from that scrape, or -1.
scrape() {
    eval "mport=\$port_$1"
    "$bin/jsctl" scrape "$mport" >"$tmp/$1.metrics" 2>/dev/null || : >"$tmp/$1.metrics"
}
metric() {
    v=$(sed -n "s/^jetstream_messages_$2\(_total\)\{0,1\}{node=\"$1\"} \([0-9]*\)$/\2/p" "$tmp/$1.metrics")
    echo "${v:--1}"
}

for tool in nats-server "$bin/worker" "$bin/jsctl"; do
    command -v "$tool" >/dev/null || abort "$tool not found (Debian: nats-server; make builds the rest)"
done

# --- the broker ----------------------------------------------------------------
nats-server -js -a 127.0.0.1 -p -1 -sd "$tmp/store" >"$tmp/nats.log" 2>&1 &
pids="$pids $!"
wait_for 15 grep -q 'Server is ready' "$tmp/nats.log" || abort "nats-server did not start"
port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/nats.log")
url=nats://127.0.0.1:$port
pass "nats-server $(nats-server --version | sed 's/.*v//') on $url, store in a temp directory ($(elapsed) s)"

timeout 30 "$bin/jsctl" setup --url "$url" --ack-wait-ms $ack_wait_ms || abort "jsctl setup"
timeout 120 "$bin/jsctl" publish --url "$url" --count "$count" || abort "jsctl publish"
pass "published ids 1..$count, each once ($(elapsed) s)"

# --- three nodes -----------------------------------------------------------------
# A wedges after count/50 acks: its replies hang, each worker between a
# job's sink commit and its ack, so the kill finds messages committed and
# not acknowledged (the case the idempotent sink exists for) besides the
# ones waiting in its queue.
wedge=$((count / 50))
for node in A B C; do
    fault=""
    [ $node = A ] && fault="--wedge-after $wedge"
    "$bin/worker" --url "$url" --node $node --sink "$tmp/sink.db" --journal "$tmp/$node.journal" \
        --metrics-port 0 --until-drained --workers 2 --capacity 64 $fault \
        --fail-every $fail_every --flaky-every $flaky_every --max-deliver $max_deliver \
        --max-seconds "$(left)" >"$tmp/$node.log" 2>&1 &
    eval "pid_$node=$!"
    pids="$pids $!"
done
for node in A B C; do
    wait_for 15 grep -qs '^metrics on ' "$tmp/$node.log" || abort "node $node did not start"
    eval "port_$node=\$(sed -n 's|^metrics on http://127.0.0.1:\([0-9]*\)/metrics$|\1|p' \"\$tmp/\$node.log\")"
done
pass "nodes A, B, C pulling (2 workers, queue capacity 64 each), /metrics up ($(elapsed) s)"

# --- kill -9 A mid-run, while it holds messages ------------------------------------
# Wedged, A holds no more than its pool has room for (64 queued + 2 in its
# workers) and pulls nothing more: its pull rate is its pool's room.
pulled=-1
a_wedged() {
    before=$pulled
    scrape A
    a=$(metric A acked)
    held=$(metric A in_flight)
    pulled=$(metric A fetched)
    [ "$a" -ge $wedge ] && [ "$held" -gt 0 ] && [ "$pulled" = "$before" ]
}
# (each try scrapes 1 s after the one before: a wedged node's pulls stop)
wait_for 150 eval 'sleep 0.8; a_wedged' || abort "node A never wedged (acked $a, holding $held)"
if [ "$held" -le 66 ]; then
    pass "A wedged after $a acks: holds $held messages (at most queue 64 + 2 workers), pulls none"
else
    fail "A wedged after $a acks: holds $held messages, more than queue 64 + 2 workers"
fi
kill -KILL "$pid_A"
exit_status "$pid_A" 10
[ "$st" = 137 ] && pass "kill -9 A ($(elapsed) s)" || fail "kill -9 A: exit status $st"

# --- SIGTERM B a little later ---------------------------------------------------------
scrape B
b0=$(metric B acked)
b_more() {
    kill -0 "$pid_B" 2>/dev/null || abort "node B ended before its SIGTERM (too few messages?)"
    scrape B && [ "$(metric B acked)" -ge $((b0 + count / 20)) ]
}
wait_for 150 b_more || abort "node B stalled after A died"
if command -v promtool >/dev/null; then
    promtool check metrics <"$tmp/B.metrics" >"$tmp/promtool.log" 2>&1 &&
        pass "B's /metrics passes promtool check metrics" || fail "B's /metrics: promtool check metrics failed"
fi
scrape B
b=$(metric B acked)
kill -TERM "$pid_B"
exit_status "$pid_B" 45
[ "$st" = 0 ] && pass "SIGTERM B after $b acks: drained, replied, exit 0 ($(elapsed) s); $(tail -n 1 "$tmp/B.log")" ||
    fail "SIGTERM B: exit status $st"

# --- C finishes the queue alone ----------------------------------------------------------
exit_status "$pid_C" "$(left)"
[ "$st" = 0 ] && pass "C emptied the queue and exited 0 ($(elapsed) s); $(tail -n 1 "$tmp/C.log")" ||
    fail "C: exit status $st"

# --- the accounting -------------------------------------------------------------------------
timeout 30 "$bin/jsctl" status --url "$url"
timeout 120 "$bin/jsctl" check --url "$url" --sink "$tmp/sink.db" --count "$count" \
    --fail-every $fail_every --flaky-every $flaky_every --max-deliver $max_deliver \
    --killed A --killed-journal "$tmp/A.journal" --stopped B --stopped-journal "$tmp/B.journal" \
    >"$tmp/check.out" 2>&1
rc=$?
grep -v '^check: ' "$tmp/check.out"
p=$(sed -n 's/^check: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$tmp/check.out")
f=$(sed -n 's/^check: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$tmp/check.out")
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
if [ "$rc" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then fail "jsctl check: exit status $rc"; fi
[ "${f:-0}" -gt 0 ] && show_logs=1
echo "total time $(elapsed) s"
[ "$failed" -eq 0 ]
