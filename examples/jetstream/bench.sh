#!/bin/sh
# The JetStream throughput measurement (make bench-jetstream): messages/s
# through 1, 2 and 3 worker nodes sharing one durable pull consumer, with
# each node's pool queue capacity swept (the most it pulls at once).
#
#   sh examples/jetstream/bench.sh BUILD_DIR
#   JS_BENCH_COUNT=30000       messages per run (default 30000)
#   JS_BENCH_CAPS="4 16 64 256 1024"   capacities to sweep
#   JS_BENCH_WORK_US=0         extra time per job, a sleep (default 0:
#                              each job is its SQLite transaction only)
#   JS_BENCH_WORKERS=2         pool workers per node
#
# One nats-server (127.0.0.1, store in a temp directory) for every run; each
# run recreates the stream, publishes the messages, starts the nodes with a
# fresh SQLite sink and waits for them to empty the queue. The rate is
# messages / (last reply - first pull) over all nodes of the run. Every
# process it starts is killed on every way out; a run that takes longer
# than 300 s fails the benchmark.
set -u

bin=${1:?usage: bench.sh BUILD_DIR}
count=${JS_BENCH_COUNT:-30000}
caps=${JS_BENCH_CAPS:-4 16 64 256 1024}
work_us=${JS_BENCH_WORK_US:-0}
workers=${JS_BENCH_WORKERS:-2}

tmp=$(mktemp -d)
pids=""
# pids: the processes started and not yet waited for (a pid already waited
# for may belong to someone else by now, so it leaves the list).
forget() { pids=$(echo " $pids " | sed "s/ $1 / /"); }
cleanup() {
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    for p in $pids; do wait "$p" 2>/dev/null; done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

die() { echo "bench-jetstream: $*" >&2; exit 1; }

nats-server -js -a 127.0.0.1 -p -1 -sd "$tmp/store" >"$tmp/nats.log" 2>&1 &
pids="$pids $!"
i=0
until grep -q 'Server is ready' "$tmp/nats.log"; do
    i=$((i + 1))
    [ $i -le 75 ] || die "nats-server did not start"
    sleep 0.2
done
port=$(sed -n 's/.*Listening for client connections on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/nats.log")
url=nats://127.0.0.1:$port

echo "bench-jetstream: $count messages per run, $workers workers per node, SQLite sink," \
    "extra work per job ${work_us} us; nats-server $(nats-server --version | sed 's/.*v//');" \
    "$(nproc) CPUs"
printf '%-10s %14s %14s %14s\n' capacity "1 node" "2 nodes" "3 nodes"
for cap in $caps; do
    line=$(printf '%-10s' "$cap")
    for nodes in 1 2 3; do
        timeout 30 "$bin/jsctl" setup --url "$url" >/dev/null || die "setup"
        timeout 120 "$bin/jsctl" publish --url "$url" --count "$count" >/dev/null || die "publish"
        rm -f "$tmp"/sink.db* "$tmp"/node*.log
        run_pids=""
        n=1
        while [ $n -le $nodes ]; do
            "$bin/worker" --url "$url" --node n$n --sink "$tmp/sink.db" --workers "$workers" \
                --capacity "$cap" --work-us "$work_us" --until-drained --max-seconds 300 \
                >"$tmp/node$n.log" 2>&1 &
            run_pids="$run_pids $!"
            pids="$pids $!"
            n=$((n + 1))
        done
        for p in $run_pids; do
            wait "$p" || die "a node failed (capacity $cap, $nodes nodes): $(cat "$tmp"/node*.log)"
            forget "$p"
        done
        # messages / (last reply - first pull), over the nodes of this run
        rate=$(cat "$tmp"/node*.log | awk -v n="$count" '
            /^node / { for (i = 1; i < NF; i++) {
                           if ($i == "first_fetch_ns" && $(i+1) > 0 && (f == 0 || $(i+1) < f)) f = $(i+1)
                           if ($i == "last_reply_ns" && $(i+1) > l) l = $(i+1) } }
            END { if (l > f && f > 0) printf "%.0f", n / ((l - f) / 1e9); else print "?" }')
        line="$line $(printf '%14s' "$rate")"
    done
    echo "$line"
done
