"""Checks the formatters' output beyond what a parser or promtool checks.

    validate.py json FILE EXPECTED     FILE parsed by the json module
    validate.py prom FILE EXPECTED     FILE in the Prometheus text format

EXPECTED is emit's `key value` lines (the pool's counts), or - for a fresh
pool named "workerpool" with nothing counted. Exits 1 with a message on the
first problem."""
import json
import math
import re
import sys

NAME = 'mixed "load"\\\tpool\n2'
BUCKETS = 28


def fail(msg):
    print("validate.py:", msg)
    sys.exit(1)


def expect(cond, msg):
    if not cond:
        fail(msg)


def read_expected(path):
    if path == "-":
        return None
    out = {}
    with open(path) as f:
        for line in f:
            key, value = line.split()
            out[key] = int(value)
    return out


def check_latency(name, lat, measured):
    for key in ("count", "sum_ns", "mean_ns", "p50_ns", "p90_ns", "p99_ns", "max_ns", "buckets"):
        expect(key in lat, f"{name}: no {key}")
    b = lat["buckets"]
    expect(len(b) == BUCKETS, f"{name}: {len(b)} buckets")
    bounds = [x["le_ns"] for x in b]
    expect(bounds[-1] is None, f"{name}: the last bucket is not +Inf (null)")
    expect(all(isinstance(x, int) for x in bounds[:-1]), f"{name}: bounds not integers")
    expect(all(a < c for a, c in zip(bounds, bounds[1:-1])), f"{name}: bounds not increasing")
    total = sum(x["count"] for x in b)
    expect(total == lat["count"], f"{name}: buckets sum to {total}, count {lat['count']}")
    if measured:
        expect(lat["count"] > 0, f"{name}: nothing measured")
        expect(lat["mean_ns"] == lat["sum_ns"] // lat["count"], f"{name}: mean")
        expect(0 <= lat["p50_ns"] <= lat["p90_ns"] <= lat["p99_ns"] <= lat["max_ns"],
               f"{name}: percentiles out of order")
        # each percentile is a bucket bound (or max) at or above that rank
        cum, rank_ok = 0, True
        for q, key in ((0.5, "p50_ns"), (0.9, "p90_ns"), (0.99, "p99_ns")):
            rank = max(1, math.ceil(lat["count"] * q - 1e-9))
            cum = 0
            for i, x in enumerate(b):
                cum += x["count"]
                if cum >= rank:
                    bound = bounds[i] if bounds[i] is not None else lat["max_ns"]
                    rank_ok = rank_ok and lat[key] == min(bound, lat["max_ns"])
                    break
        expect(rank_ok, f"{name}: a percentile is not the bound of its bucket")
    else:
        expect(lat["count"] == 0 and lat["max_ns"] == 0, f"{name}: measured without asking")


def check_json(path, expected):
    with open(path) as f:
        doc = json.load(f)
    for key in ("name", "uptime_ns", "workers", "queue", "jobs", "scaling", "last_error", "latency"):
        expect(key in doc, f"no key {key}")
    jobs = doc["jobs"]
    expect(jobs["submitted"] == jobs["completed"] + jobs["failed"] + jobs["canceled"]
           + jobs["expired"] + jobs["evicted"],
           "submitted != completed + failed + canceled + expired + evicted at quiescence")
    expect(jobs["processed"] == jobs["submitted"], "processed != submitted at quiescence")
    q = doc["queue"]
    expect(q["high_water"] <= q["capacity"], "high water above capacity")
    w = doc["workers"]
    expect(w["active"] + w["idle"] == w["total"], "active + idle != total")
    u = w["utilization"]
    expect(isinstance(u, (int, float)) and 0 <= u <= 1, f"utilization {u!r}")
    expect(q["depth"] <= q["capacity"], "depth above capacity")
    measured = expected is not None
    check_latency("queue_wait", doc["latency"]["queue_wait"], measured)
    check_latency("run_time", doc["latency"]["run_time"], measured)
    if expected is None:
        expect(doc["name"] == "workerpool", "the default name")
        expect(doc["last_error"] is None, "last_error of a fresh pool")
        expect(doc["scaling"]["last_up_ns"] == -1, "last_up_ns of a fresh pool")
        return
    expect(doc["name"] == NAME, f"name round trip: {doc['name']!r}")
    for key in ("submitted", "completed", "failed", "canceled", "rejected", "processed"):
        expect(jobs[key] == expected[key], f"jobs.{key} {jobs[key]} != {expected[key]}")
    expect(jobs["rejected"] >= expected["client_rejected_at_least"], "rejected")
    expect(q["high_water"] == q["capacity"], "the queue was full: high water = capacity")
    expect(doc["scaling"]["ups"] >= 1 and doc["scaling"]["last_up_ns"] >= 0, "scale-up")
    le = doc["last_error"]
    expect(le is not None and le["code"] % 4 == 3 and le["worker"] in (0, 1), f"last_error {le}")
    runs = doc["latency"]["run_time"]["count"]
    expect(runs == jobs["completed"] + jobs["failed"], "run_time.count != jobs that ran")


SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)\{(.*)\} (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')


def unescape(v):
    return re.sub(r'\\(.)', lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def check_prom(path, expected):
    types, samples = {}, []
    with open(path) as f:
        text = f.read()
    expect(text.endswith("\n"), "no final newline")
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ")
            expect(fam not in types, f"{fam} TYPE'd twice")
            types[fam] = typ
            continue
        if line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        expect(m, f"not a sample line: {line!r}")
        labels, rest = {}, m.group(2)
        while rest:
            lm = LABEL.match(rest)
            expect(lm, f"bad labels: {m.group(2)!r}")
            labels[lm.group(1)] = unescape(lm.group(2))
            rest = rest[lm.end():]
        samples.append((m.group(1), labels, float(m.group(3))))
    want_name = NAME if expected is not None else "workerpool"
    values = {}
    for metric, labels, value in samples:
        expect(labels.get("pool") == want_name, f"{metric}: pool label {labels.get('pool')!r}")
        fam = re.sub(r'_(bucket|sum|count)$', '', metric)
        expect(metric in types or (fam in types and types[fam] == "histogram"),
               f"{metric}: no TYPE")
        if metric.endswith("_total"):
            expect(types.get(metric) == "counter", f"{metric}: not a counter")
        if "le" not in labels:
            values[metric] = value
    for fam, typ in types.items():
        if typ != "histogram":
            continue
        b = [(s[1]["le"], s[2]) for s in samples if s[0] == fam + "_bucket"]
        expect(len(b) == BUCKETS, f"{fam}: {len(b)} buckets")
        expect(b[-1][0] == "+Inf", f"{fam}: last bucket is not +Inf")
        les = [float(x[0]) for x in b]
        expect(all(a < c for a, c in zip(les, les[1:])), f"{fam}: le not increasing")
        expect(all(a[1] <= c[1] for a, c in zip(b, b[1:])), f"{fam}: buckets not cumulative")
        expect(values[fam + "_count"] == b[-1][1], f"{fam}: _count != +Inf bucket")
        expect(values[fam + "_sum"] >= 0, f"{fam}: negative sum")
    if expected is not None:
        for key, metric in (("submitted", "jobs_submitted_total"), ("completed", "jobs_completed_total"),
                            ("failed", "jobs_failed_total"), ("canceled", "jobs_canceled_total"),
                            ("rejected", "submissions_rejected_total"),
                            ("processed", "jobs_processed_total")):
            got = values["workerpool_" + metric]
            expect(got == expected[key], f"{metric} {got} != {expected[key]}")
        u = values["workerpool_utilization_ratio"]
        expect(0 <= u <= 1, f"utilization_ratio {u}")
        ran = expected["completed"] + expected["failed"]
        expect(values["workerpool_run_seconds_count"] == ran, "run_seconds_count != jobs that ran")


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("json", "prom"):
        fail("usage: validate.py json|prom FILE EXPECTED|-")
    expected = read_expected(sys.argv[3])
    (check_json if sys.argv[1] == "json" else check_prom)(sys.argv[2], expected)
    print("valid")


main()
