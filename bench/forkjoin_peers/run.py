#!/usr/bin/env python3
"""Runs the fork-join comparison (bench/forkjoin.sh builds the binaries).

Pass k runs every workload once in every contender, each contender in a
process of its own (no runtime's idle threads compete with another's), the
contenders' order rotating from pass to pass. Each process makes one untimed
warm-up run and REPS timed runs per variant and reports their median; the
table shows the median over the passes (min-max beside it), and the ratio
lines divide medians of this same run (time ratio: below 1 = ours faster).

  run.py BINDIR THREADS PASSES REPS full|smoke CONTENDER...
Ends with "forkjoin: N passed, N failed" (one per contender and workload
whose every run finished with the right answer).
"""
import re
import statistics
import subprocess
import sys

WORKLOADS = ["for", "saxpy", "fib", "frame"]
TITLES = {
    "for": "parallel_for, 1,000,000 (smoke: 10,000) trivial iterations (one relaxed add each)",
    "saxpy": "SAXPY, 16 M floats",
    "fib": "fib(32) (smoke: 24), serial below 20, one fork per call",
    "frame": "frame: 10,000 entities, physics -> animation -> render prep",
}
BINARY = {"ours": "fj-wp", "openmp": "fj-omp", "onetbb": "fj-tbb"}


def rotate(xs, k):
    k %= len(xs)
    return xs[k:] + xs[:k]


def main():
    bindir, threads, passes, reps, size = sys.argv[1:6]
    contenders = sys.argv[6:]
    passes, reps = int(passes), int(reps)
    smoke = size == "smoke"
    limit = 30 if smoke else 300
    # (contender, variant, workload) -> list of {field: value} per pass
    runs = {}
    failed = set()
    for p in range(passes):
        for w in WORKLOADS:
            sums = {}
            for c in rotate(contenders, p):
                cmd = [f"{bindir}/{BINARY[c]}", w, threads, str(reps), size]
                try:
                    r = subprocess.run(cmd, capture_output=True, text=True, timeout=limit)
                    out, rc, err = r.stdout, r.returncode, r.stderr
                except subprocess.TimeoutExpired:
                    out, rc, err = "", -1, f"no answer in {limit} s"
                lines = [l.split() for l in out.splitlines() if l.startswith("RESULT ")]
                if rc != 0 or not lines:
                    failed.add((c, w))
                    print(f"forkjoin: {c} {w} FAILED (exit {rc}): {err.strip()[:300]}")
                    continue
                for f in lines:
                    fields = dict(kv.split("=", 1) for kv in f[4:])
                    runs.setdefault((f[1], f[2], w), []).append(fields)
                    if fields.get("ok") != "1":
                        failed.add((c, w))
                    if "sum" in fields:
                        sums[c] = fields["sum"]
            if len(set(sums.values())) > 1:
                print(f"forkjoin: frame checksums differ in pass {p + 1}: {sums}")
                for c in sums:
                    failed.add((c, w))
        if not smoke:
            print(f"forkjoin: pass {p + 1}/{passes} done", flush=True)

    def med(key, field):
        xs = [float(r[field]) for r in runs.get(key, [])]
        return (statistics.median(xs), min(xs), max(xs)) if xs else None

    print()
    print(f"fork-join, {threads} threads in every contender, {passes} interleaved "
          f"passes x {reps} timed runs (median of the runs per pass; median of the "
          f"passes, min-max of the passes), microseconds")
    for w in WORKLOADS:
        keys = [k for k in runs if k[2] == w]
        keys.sort(key=lambda k: (list(BINARY).index(k[0]), k[1]))
        print()
        print(f"{w}: {TITLES[w]}")
        if w == "frame":
            print(f"  {'contender':<16} {'grain':>7} {'p50':>20} {'p99':>20} {'mean':>9}")
            for k in keys:
                a, b, m = med(k, "p50"), med(k, "p99"), med(k, "mean")
                g = runs[k][0].get("grain", "-")
                print(f"  {k[0] + ' ' + k[1]:<16} {g:>7} {a[0]:>8.0f} ({a[1]:.0f}-{a[2]:.0f})"
                      f" {b[0]:>8.0f} ({b[1]:.0f}-{b[2]:.0f}) {m[0]:>9.0f}")
        else:
            print(f"  {'contender':<16} {'grain':>7} {'time':>24}")
            for k in keys:
                a = med(k, "us")
                g = runs[k][0].get("grain", "-")
                print(f"  {k[0] + ' ' + k[1]:<16} {g:>7} {a[0]:>10.0f} ({a[1]:.0f}-{a[2]:.0f})")
        # ratio lines: ours at the common grain against each peer variant
        field = "p99" if w == "frame" else "us"
        ours = [k for k in keys if k[0] == "ours"]
        mine = next((k for k in ours if k[1] in ("grain", "-")), None)
        if mine is None:
            continue
        parts = []
        fastest = []
        for k in keys:
            if k[0] == "ours" or med(k, field) is None:
                continue
            parts.append(f"ours/{k[0]}({k[1]}) {med(mine, field)[0] / med(k, field)[0]:.2f}")
            fastest.append(f"ours/{k[0]}({k[1]}) {med(mine, field)[1] / med(k, field)[1]:.2f}")
        if w == "frame":
            for k in keys:
                if k[0] != "ours":
                    parts.append(f"p50 ours/{k[0]} {med(mine, 'p50')[0] / med(k, 'p50')[0]:.2f}")
        auto = next((k for k in ours if k[1] == "auto"), None)
        if auto:
            best = min((med(k, field)[0] for k in keys if k[0] != "ours"), default=None)
            if best:
                parts.append(f"ours(auto)/best peer {med(auto, field)[0] / best:.2f}")
        if parts:
            print(f"  ratio {w}{' p99' if w == 'frame' else ''}: " + "; ".join(parts))
        # Interference from other load only ever slows a pass down: the
        # fastest pass of each is the other estimate worth a look.
        if fastest and passes > 1:
            print(f"  ratio {w}{' p99' if w == 'frame' else ''}, fastest passes: " + "; ".join(fastest))
    ok = len(contenders) * len(WORKLOADS) - len(failed)
    print()
    print(f"forkjoin: {ok} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
