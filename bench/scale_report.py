#!/usr/bin/env python3
"""bench/scale_report.py - turns the raw lines of bench/scale.sh into
bench/scaling.md: one table per workload and producer count, a row per
contender, a column per worker count W; each cell the median Mjobs/s over the
passes (min-max). For work1us also the efficiency, jobs x 1 us / (seconds x W),
and the throughput over the `direct` yardstick's at the same W (taken within
each pass, then the median). Standard library only.

Raw lines (bench/scale.sh):
  pass=N cpus=C RESULT <contender> <workload> jobs=.. secs=.. ... workers=W producers=P
  pass=N cpus=C FAIL <contender> <workload> workers=W producers=P <message>
"""
import argparse
import statistics
from collections import defaultdict

ap = argparse.ArgumentParser()
ap.add_argument("raw")
ap.add_argument("--contenders", default="", help="row order")
ap.add_argument("--md", help="write the tables here (they are printed too)")
ap.add_argument("--machine", default="")
ap.add_argument("--method", default="")
a = ap.parse_args()

runs = defaultdict(dict)   # (workload, P, W, contender) -> {pass: result dict}
cpus = {}                  # (P, W) -> pinned CPU count
fails = []
for line in open(a.raw):
    f = line.split()
    if len(f) < 5:
        continue
    p = int(f[0].split("=", 1)[1])
    ncpu = int(f[1].split("=", 1)[1])
    if f[2] == "FAIL":
        kv = dict(x.split("=", 1) for x in f[5:7] if "=" in x)
        fails.append((p, f[3], f[4], kv.get("workers", "?"), kv.get("producers", "?")))
        continue
    c, w = f[3], f[4]
    d = {}
    for x in f[5:]:
        k, _, v = x.partition("=")
        try:
            d[k] = float(v)
        except ValueError:
            pass
    if d.get("ok") != 1:
        fails.append((p, c, w, int(d.get("workers", 0)), int(d.get("producers", 0))))
        continue
    if w == "work1us_direct":
        c, w = "direct", "work1us_1p2w"
    W, P = int(d["workers"]), int(d["producers"])
    cpus[(P, W)] = ncpu
    runs[(w, P, W, c)][p] = d

order = a.contenders.split()
present = sorted({k[3] for k in runs})
rows = [c for c in order if c in present] + [c for c in present if c not in order and c != "direct"]
if "direct" in present:
    rows.append("direct")


def mjobs(d):
    return d["jobs"] / d["secs"] / 1e6 if d["secs"] > 0 else None


def eff(d):
    return d["jobs"] * 1e-6 / (d["secs"] * d["workers"]) if d["secs"] > 0 else None


def cell(vals, nd=2):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    m = statistics.median(vals)
    if len(vals) == 1:
        return f"{m:.{nd}f}"
    return f"{m:.{nd}f} ({min(vals):.{nd}f}–{max(vals):.{nd}f})"


notes = {
    "openmp": "team of max(W,P) threads: the producer is one of the W (at W=1, P=1 the "
              "team is the producer alone and every task runs at once, inline)",
    "onetbb": "the producers run jobs too (in wait())",
    "direct": "yardstick: W plain threads, the jobs split evenly, no queue",
    "libuv": "one loop per producer, one shared thread pool",
    "go": "GOMAXPROCS = pinned CPUs",
}

md = ["# Scaling past 2 cores\n"]
md.append(f"machine: {a.machine}\n")
md.append(f"method: {a.method}. Each cell: median Mjobs/s over the passes "
          "(min–max); `–`: no successful run.\n")
over = sorted((P, W) for (P, W), n in cpus.items() if P + W > n)
if over:
    md.append("oversubscribed (more threads than pinned CPUs): "
              + ", ".join(f"P={P} W={W} on {cpus[(P, W)]} CPUs" for P, W in over) + "\n")
if fails:
    md.append("failed runs: " + ", ".join(f"{c} {w} W={W} P={P} (pass {p})"
                                          for p, c, w, W, P in fails) + "\n")

for w in ["empty_1p2w", "work1us_1p2w"]:
    for P in sorted({k[1] for k in runs if k[0] == w}):
        Ws = sorted({k[2] for k in runs if k[0] == w and k[1] == P})
        title = "empty (one atomic increment per job)" if w == "empty_1p2w" else "work1us (~1 µs of compute per job)"
        md.append(f"## {title}, {P} producer{'s' if P > 1 else ''}\n")
        md.append("pinned CPUs per W: " + ", ".join(f"W={W}: {cpus.get((P, W), '?')}" for W in Ws) + "\n")
        md.append("| contender | " + " | ".join(f"W={W}" for W in Ws) + " |")
        md.append("|---|" + "---:|" * len(Ws))
        for c in rows:
            if not any((w, P, W, c) in runs for W in Ws):
                continue
            cells = [cell([mjobs(d) for d in runs[(w, P, W, c)].values()]) if (w, P, W, c) in runs else "–"
                     for W in Ws]
            name = f"**{c}**" if c == "workerpool" else c
            md.append(f"| {name} | " + " | ".join(cells) + " |")
        md.append("")
        if w == "work1us_1p2w":
            md.append("Efficiency, jobs × 1 µs / (seconds × W) (1 µs is the calibrated "
                      "single-core time; clock speed falls as more cores are busy, which "
                      "`direct` shows), and throughput / `direct` at the same W (within "
                      "each pass, then the median):\n")
            md.append("| contender | " + " | ".join(f"W={W} eff. | / direct" for W in Ws) + " |")
            md.append("|---|" + "---:|---:|" * len(Ws))
            for c in rows:
                if not any((w, P, W, c) in runs for W in Ws):
                    continue
                cells = []
                for W in Ws:
                    r = runs.get((w, P, W, c), {})
                    e = [eff(d) for d in r.values()]
                    y = runs.get((w, P, W, "direct"), {})
                    ratio = [mjobs(r[p]) / mjobs(y[p]) for p in r if p in y and mjobs(r[p]) and mjobs(y[p])]
                    cells.append(cell(e))
                    cells.append(f"{statistics.median(ratio):.2f}" if ratio else "–")
                name = f"**{c}**" if c == "workerpool" else c
                md.append(f"| {name} | " + " | ".join(cells) + " |")
            md.append("")
shown = [c for c in rows if c in notes]
if shown:
    md.append("Notes: " + "; ".join(f"{c}: {notes[c]}" for c in shown) + ".\n")

text = "\n".join(md)
print(text)
if a.md:
    with open(a.md, "w") as fh:
        fh.write(text)
