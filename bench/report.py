#!/usr/bin/env python3
"""bench/report.py - turns the RESULT lines of bench/run.sh into the tables
(bench/results.md), the chart (bench/results.svg) and the targets of issue 6.
Ratios are taken within each pass and then their median is reported, so a
pass disturbed by the machine affects its own ratios only."""
import argparse
import statistics
import sys
from collections import defaultdict

THROUGHPUT = ["empty_1p2w", "empty_2p2w", "batch_1p2w", "work1us_1p2w"]
LATENCY = ["pingpong_latency", "pingpong_sleep"]
QUEUES = ["queue_1p1c", "queue_2p2c"]
CALLER_RUNS, BOUNDED, BATCH, FALLBACK = 4, 1, 2, 8

ap = argparse.ArgumentParser()
ap.add_argument("raw")
ap.add_argument("pool_cts")
ap.add_argument("queue_cts")
ap.add_argument("--smoke", action="store_true")
ap.add_argument("--machine", default="")
ap.add_argument("--method", default="")
ap.add_argument("--skipped", default="")
ap.add_argument("--md")
ap.add_argument("--svg")
ap.add_argument("--readme", help="a Markdown file (bench/README.md): replace the "
                "block between its bench markers with the compact table")
a = ap.parse_args()
pool_cts = a.pool_cts.split()
queue_cts = a.queue_cts.split()

res = {}  # (pass, contender, workload) -> dict
fails = []
flags = {}
for line in open(a.raw):
    f = line.split()
    p = int(f[0].split("=")[1])
    if f[1] == "FAIL":
        fails.append((p, f[2], f[3]))
        continue
    c, w = f[2], f[3]
    kv = dict(x.split("=", 1) for x in f[4:])
    d = {k: float(v) for k, v in kv.items()}
    if d["ok"] != 1:
        fails.append((p, c, w))
        continue
    flags[c] = int(d["flags"])
    res[(p, c, w)] = d

if a.smoke:
    bad = {c for _, c, _ in fails}
    ran = {c for (_, c, _) in res}
    ok = 0
    for c in pool_cts + [q for q in queue_cts if q not in pool_cts] + ["yardstick"]:
        good = c in ran and c not in bad
        print(f"  {'ok ' if good else 'FAIL'} {c}")
        ok += good
    n = len(pool_cts) + len([q for q in queue_cts if q not in pool_cts]) + 1
    print(f"bench: {ok} passed, {n - ok} failed")
    sys.exit(0 if ok == n else 1)

passes = sorted({p for (p, _, _) in res})


def value(p, c, w):
    d = res.get((p, c, w))
    if d is None:
        return None
    if w in LATENCY:
        return d["p50"] / 1000.0  # us
    if w in ("rtt", "wake", "futex"):
        return d["p50"]
    return d["jobs"] / d["secs"] / 1e6 if d["secs"] > 0 else None  # M/s


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def per_pass(c, w, f):
    return [f(p) for p in passes if value(p, c, w) is not None]


def ratio_best(c, w, among, higher=True):
    out = []
    for p in passes:
        v = value(p, c, w)
        vals = [value(p, o, w) for o in among]
        vals = [x for x in vals if x is not None]
        if v is None or not vals:
            continue
        best = max(vals) if higher else min(vals)
        out.append(v / best)
    return med(out)


def ratio_to(c, w, c2, w2):
    out = []
    for p in passes:
        v, y = value(p, c, w), value(p, c2, w2)
        if v is not None and y:
            out.append(v / y)
    return med(out)


def fmt(x, nd=2):
    return "–" if x is None else f"{x:.{nd}f}"


def rng(c, w, nd=2):
    xs = [value(p, c, w) for p in passes]
    xs = [x for x in xs if x is not None]
    return f"{min(xs):.{nd}f}–{max(xs):.{nd}f}" if xs else "–"


def p99(c, w):
    return med([res[(p, c, w)]["p99"] / 1000.0 for p in passes if (p, c, w) in res])


md = []
W = md.append
W("# workerpool.h against other pools: results\n")
W(f"machine: {a.machine}\n")
W(f"method: {a.method}. Each cell: median over the passes (min–max). Ratios are "
  "computed within each pass, then the median is shown.\n")
if a.skipped.strip():
    W(f"skipped (not installed): {a.skipped.strip()}\n")
if fails:
    W("failed runs: " + ", ".join(f"{c} {w} (pass {p})" for p, c, w in fails) + "\n")

notes = {
    "workerpool": "fixed pool, lock-free bounded queue, default config (one job per claim)",
    "naive": "mutex + 2 condvars, bounded ring (written in the bench)",
    "glib": "GThreadPool, exclusive threads, unbounded GAsyncQueue",
    "libuv": "uv_queue_work, UV_THREADPOOL_SIZE=2, one loop per producer, malloc per request",
    "openmp": "task per job in a team of 2 (libgomp); when many tasks are queued libgomp "
              "runs new ones at once on the creating thread; its idle threads spin before "
              "sleeping",
    "onetbb": "task_group::run in a task_arena with 2 worker slots",
    "go": "buffered channel (1024) + 2 goroutines, GOMAXPROCS=2; in the ping-pongs the "
          "runtime hands the job to the worker goroutine on the submitter's own thread (a "
          "goroutine switch, no thread wake-up)",
}
W("| contender | bounded, blocking submit | batch call | jobs run on the submitting thread | how |")
W("|---|---|---|---|---|")
for c in pool_cts:
    fl = flags.get(c, 0)
    W(f"| {c} | {'yes' if fl & BOUNDED else 'no (unbounded)'} | "
      f"{'yes' if fl & BATCH else ('no (fallback: one by one)' if fl & FALLBACK else 'no (one by one)')} | "
      f"{'yes' if fl & CALLER_RUNS else 'no'} | {notes.get(c, '')} |")
W("")

best_of = {}
for w in THROUGHPUT:
    W(f"## {w}\n")
    extra = " | efficiency" if w == "work1us_1p2w" else ""
    yard = " | / wp_queue queue_1p1c" if w == "empty_1p2w" else ""
    W(f"| contender | Mjobs/s | min–max | / best{yard}{extra} |")
    W("|---|---:|---:|---:|" + ("---:|" if yard else "") + ("---:|" if extra else ""))
    for c in pool_cts:
        m = med(per_pass(c, w, lambda p: value(p, c, w)))
        row = f"| {c} | {fmt(m)} | {rng(c, w)} | {fmt(ratio_best(c, w, pool_cts))} |"
        if yard:
            row += f" {fmt(ratio_to(c, w, 'wp_queue', 'queue_1p1c'))} |"
        if extra:
            eff = med([res[(p, c, w)]["jobs"] * 1e-6 / (res[(p, c, w)]["secs"] * res[(p, c, w)].get("workers", 2))
                       for p in passes if (p, c, w) in res])
            row += f" {fmt(eff)} |"
        W(row)
    W("")
for w in LATENCY:
    ys = "rtt" if w == "pingpong_latency" else "wake"
    yname = "cache-line round trip" if ys == "rtt" else "thread wake-up"
    W(f"## {w}\n")
    W(f"| contender | p50 µs | min–max | p99 µs | p50 / best | p50 / {yname} |")
    W("|---|---:|---:|---:|---:|---:|")
    for c in pool_cts:
        m = med(per_pass(c, w, lambda p: value(p, c, w)))
        r = None
        out = []
        for p in passes:
            v, y = value(p, c, w), value(p, "yardstick", ys)
            if v is not None and y:
                out.append(v * 1000.0 / y)
        r = med(out)
        W(f"| {c} | {fmt(m, 1)} | {rng(c, w, 1)} | {fmt(p99(c, w), 1)} | "
          f"{fmt(ratio_best(c, w, pool_cts, higher=False))} | {fmt(r)} |")
    W("")
for w in QUEUES:
    W(f"## {w}\n")
    W("| contender | Mitems/s | min–max | / best | / ring |")
    W("|---|---:|---:|---:|---:|")
    for c in queue_cts:
        m = med(per_pass(c, w, lambda p: value(p, c, w)))
        W(f"| {c} | {fmt(m)} | {rng(c, w)} | {fmt(ratio_best(c, w, queue_cts))} | "
          f"{fmt(ratio_to(c, w, 'ring', w))} |")
    W("")
W("## machine yardsticks\n")
W("| yardstick | median ns | min–max |")
W("|---|---:|---:|")
W(f"| cache-line round trip between 2 threads | {fmt(med(per_pass('yardstick', 'rtt', lambda p: value(p, 'yardstick', 'rtt'))), 1)} | {rng('yardstick', 'rtt', 1)} |")
W(f"| wake-up of a thread sleeping on a condvar (p50) | {fmt(med(per_pass('yardstick', 'wake', lambda p: value(p, 'yardstick', 'wake'))), 0)} | {rng('yardstick', 'wake', 0)} |")
if any((p, "yardstick", "futex") in res for p in passes):
    W(f"| round trip to a thread parked on a bare futex, as its waker sees it (p50) | {fmt(med(per_pass('yardstick', 'futex', lambda p: value(p, 'yardstick', 'futex'))), 0)} | {rng('yardstick', 'futex', 0)} |")
W("")

# ---- targets ---------------------------------------------------------------
OURS = ("workerpool",)
others = [c for c in pool_cts if c not in OURS]
workers_only = [c for c in others if not flags.get(c, 0) & CALLER_RUNS]


def targets_for(wp):
    def vs_best_other(w, among):
        out = []
        for p in passes:
            v = value(p, wp, w)
            vals = [value(p, o, w) for o in among if value(p, o, w) is not None]
            if v is not None and vals:
                out.append(v / max(vals))
        return med(out)

    def pp_ratio(w, ys):
        out = []
        for p in passes:
            v, y = value(p, wp, w), value(p, "yardstick", ys)
            if v is not None and y:
                out.append(v * 1000.0 / y)
        return med(out)

    eff = med([res[(p, wp, "work1us_1p2w")]["jobs"] * 1e-6 / (res[(p, wp, "work1us_1p2w")]["secs"] * res[(p, wp, "work1us_1p2w")].get("workers", 2))
               for p in passes if (p, wp, "work1us_1p2w") in res])
    targets = [
        ("empty_1p2w / best other contender", vs_best_other("empty_1p2w", others), ">=", 1.5),
        ("(for information) empty_1p2w / best contender running jobs on its workers ("
         + ", ".join(workers_only) + ")", vs_best_other("empty_1p2w", workers_only), ">=", 1.5),
        ("empty_1p2w / wp_queue queue_1p1c", ratio_to(wp, "empty_1p2w", "wp_queue", "queue_1p1c"), ">=", 0.5),
        ("empty_2p2w / best contender running jobs on its workers (" + ", ".join(workers_only) + ")",
         vs_best_other("empty_2p2w", workers_only), ">=", 1.5),
        ("batch_1p2w / our empty_1p2w", ratio_to(wp, "batch_1p2w", wp, "empty_1p2w"), ">=", 2.0),
        ("work1us_1p2w efficiency", eff, ">=", 0.8),
        ("pingpong_latency p50 / cache-line round trip", pp_ratio("pingpong_latency", "rtt"), "<=", 3.5),
        ("pingpong_latency p99 (µs)", p99(wp, "pingpong_latency"), "<=", 5.0),
        ("pingpong_sleep p50 / thread wake-up", pp_ratio("pingpong_sleep", "wake"), "<=", 1.3),
        ("pingpong_sleep p50 / bare-futex round trip", pp_ratio("pingpong_sleep", "futex"), "<=", 1.2),
        ("queue_1p1c wp_queue / ring", ratio_to("wp_queue", "queue_1p1c", "ring", "queue_1p1c"), ">=", 0.9),
        ("queue_2p2c wp_queue / ring", ratio_to("wp_queue", "queue_2p2c", "ring", "queue_2p2c"), ">=", 0.9),
    ]
    what = "default config"
    W(f"## targets of issue 6: workerpool.h, {what}, this run\n")
    W("| target | measured | goal | |")
    W("|---|---:|---:|---|")
    for name, v, op, goal in targets:
        met = v is not None and (v >= goal if op == ">=" else v <= goal)
        W(f"| {name} | {fmt(v)} | {op} {goal} | {'met' if met else 'MISSED'} |")
    W("")


for wp in OURS:
    if wp in pool_cts:
        targets_for(wp)
wp = "workerpool"

text = "\n".join(md)
print(text)
if a.md:
    open(a.md, "w").write(text)

# ---- bench/README.md's compact table ---------------------------------------
if a.readme:
    t = []
    t.append("| contender | empty_1p2w Mjobs/s | empty_2p2w | batch_1p2w | work1us efficiency "
             "| pingpong p50 / p99 µs | pingpong_sleep p50 µs |")
    t.append("|---|---:|---:|---:|---:|---:|---:|")
    for c in pool_cts:
        def m(w):
            return med(per_pass(c, w, lambda p: value(p, c, w)))
        e = med([res[(p, c, "work1us_1p2w")]["jobs"] * 1e-6 / (res[(p, c, "work1us_1p2w")]["secs"] * res[(p, c, "work1us_1p2w")].get("workers", 2))
                 for p in passes if (p, c, "work1us_1p2w") in res])
        name = f"**{c}**" if c in OURS else c
        t.append(f"| {name} | {fmt(m('empty_1p2w'))} | {fmt(m('empty_2p2w'))} | {fmt(m('batch_1p2w'))} | "
                 f"{fmt(e)} | {fmt(m('pingpong_latency'), 1)} / {fmt(p99(c, 'pingpong_latency'), 1)} | "
                 f"{fmt(m('pingpong_sleep'), 1)} |")
    t.append("")
    q = []
    for w in QUEUES:
        q.append(f"{w} Mitems/s: " + ", ".join(
            f"{c} {fmt(med(per_pass(c, w, lambda p: value(p, c, w))))}" for c in queue_cts))
    t.append("; ".join(q) + ". Yardsticks: cache-line round trip "
             f"{fmt(med(per_pass('yardstick', 'rtt', lambda p: value(p, 'yardstick', 'rtt'))), 0)} ns, "
             f"thread wake-up {fmt(med(per_pass('yardstick', 'wake', lambda p: value(p, 'yardstick', 'wake'))) / 1000.0, 1)} µs.")
    t.append("")
    t.append(f"Machine: {a.machine}. {len(passes)} passes, medians.")
    block = "\n".join(t)
    r = open(a.readme).read()
    b, e = "<!-- bench:begin -->", "<!-- bench:end -->"
    if b in r and e in r:
        r = r[:r.index(b) + len(b)] + "\n" + block + "\n" + r[r.index(e):]
        open(a.readme, "w").write(r)

# ---- chart -----------------------------------------------------------------
if a.svg:
    panels = [(w, pool_cts, "Mjobs/s, higher is better") for w in THROUGHPUT]
    panels += [(w, pool_cts, "p50 µs, lower is better") for w in LATENCY]
    panels += [(w, queue_cts, "Mitems/s, higher is better") for w in QUEUES]
    colors = {"workerpool": "#d62728", "wp_queue": "#d62728", "naive": "#7f7f7f",
              "glib": "#1f77b4", "libuv": "#2ca02c", "openmp": "#9467bd",
              "onetbb": "#8c564b", "go": "#17becf", "ring": "#ff7f0e", "ck_ring": "#bcbd22"}
    pw, bar, gap, head, left = 440, 16, 5, 40, 90
    ph = head + max(len(pool_cts), len(queue_cts)) * (bar + gap) + 10
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    top = 50
    Wd, Ht = cols * (pw + 20) + 20, top + rows * (ph + 10) + 20
    s = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{Wd}" height="{Ht}" '
         f'font-family="sans-serif" font-size="11">',
         f'<rect width="{Wd}" height="{Ht}" fill="white"/>',
         f'<text x="20" y="22" font-size="15" font-weight="bold">workerpool.h vs other pools '
         f'(median of {len(passes)} passes; whiskers: min–max)</text>',
         f'<text x="20" y="40" fill="#555">{a.machine[:150].replace("&", "&amp;").replace("<", "&lt;")}</text>']
    for i, (w, cts, unit) in enumerate(panels):
        x0 = 20 + (i % cols) * (pw + 20)
        y0 = top + (i // cols) * (ph + 10)
        s.append(f'<rect x="{x0}" y="{y0}" width="{pw}" height="{ph}" fill="#fafafa" stroke="#ddd"/>')
        s.append(f'<text x="{x0 + 8}" y="{y0 + 16}" font-weight="bold">{w}</text>')
        s.append(f'<text x="{x0 + 8}" y="{y0 + 30}" fill="#555">{unit}</text>')
        vals = {}
        for c in cts:
            xs = [value(p, c, w) for p in passes]
            xs = [x for x in xs if x is not None]
            if xs:
                vals[c] = (statistics.median(xs), min(xs), max(xs))
        if not vals:
            continue
        top_v = max(v[2] for v in vals.values()) or 1
        width = pw - left - 70
        for j, c in enumerate(cts):
            y = y0 + head + j * (bar + gap)
            s.append(f'<text x="{x0 + left - 6}" y="{y + 12}" text-anchor="end">{c}</text>')
            if c not in vals:
                s.append(f'<text x="{x0 + left + 4}" y="{y + 12}" fill="#999">no result</text>')
                continue
            m, lo, hi = vals[c]
            bw = max(1.0, width * m / top_v)
            s.append(f'<rect x="{x0 + left}" y="{y}" width="{bw:.1f}" height="{bar}" '
                     f'fill="{colors.get(c, "#444")}"/>')
            xl, xh = x0 + left + width * lo / top_v, x0 + left + width * hi / top_v
            s.append(f'<line x1="{xl:.1f}" x2="{xh:.1f}" y1="{y + bar / 2}" y2="{y + bar / 2}" stroke="black"/>')
            s.append(f'<text x="{x0 + left + width + 6}" y="{y + 12}">{m:.2f}</text>')
    s.append("</svg>")
    open(a.svg, "w").write("\n".join(s) + "\n")
