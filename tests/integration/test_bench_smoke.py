#!/usr/bin/python3
"""
The benchmarks still start: bench/run --smoke (tiny sizes, one repetition)
runs every measurement against real processes and prints its table, and
every figure it measured is a number that could be true: positive and
finite, latencies as "p50 / p99" with p50 <= p99, every ratio positive,
every verdict computed from a target. The JSON says which commit it
measured and whether the tree differed from it, and bench/plot drew the
three plots from it. Proves nothing about speed; `make bench` measures.
"""
import json
import math
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ROOT, TestFailure, check, check_eq,  # noqa: E402
                     run)

ROWS = ("rpc.ping 1 client", "rpc.ping 50 clients", "ingest upstream",
        "imserver chat.sync alone", "message.search finds it",
        "fan-out to 100 subscribers", "send, acknowledged",
        "gateway-added latency", "history page of 50", "2-char search",
        "start-up to ready", "resident memory idle",
        "resident memory, 50 clients")


def positive(x):
    """Whether x is a finite number > 0 (not a bool)."""
    return (isinstance(x, (int, float)) and not isinstance(x, bool) and
            math.isfinite(x) and x > 0)


def check_figure(name, v):
    """A measured figure: a positive number, or "p50 / p99" latencies."""
    if isinstance(v, str):
        parts = v.split(" / ")
        check(len(parts) == 2, "%s: %r is not 'p50 / p99'" % (name, v))
        try:
            p50, p99 = float(parts[0]), float(parts[1])
        except ValueError:
            raise TestFailure("%s: %r is not two numbers" % (name, v))
        # Rounded to the table's precision a fast p50 may read 0.0.
        check(math.isfinite(p50) and math.isfinite(p99) and 0 <= p50 <= p99
              and p99 > 0, "%s: latencies %r (want 0 <= p50 <= p99, p99 > 0)"
              % (name, v))
    else:
        check(positive(v), "%s: measured %r (want a finite number > 0)"
              % (name, v))


def test_bench_smoke_prints_the_table(env):
    out_json = env.path("smoke.json")
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "run"),
                        "--smoke", "--out", out_json],
                       capture_output=True, text=True,
                       timeout=90, stdin=subprocess.DEVNULL, cwd=env.dir)
    check_eq(r.returncode, 0, "bench/run --smoke exit status (stderr %r)"
             % r.stderr[-2000:])
    out = r.stdout
    check(out.startswith("machine: ") and " cores, " in out,
          "no machine line: %r" % out[:300])
    check("| measurement | imgwd | unit | reference | ratio | target |" in out,
          "no table header in %r" % out[-3000:])
    for row in ROWS:
        check(any(line.startswith("| ") and row in line
                  for line in out.splitlines()),
              "no table row for %r in %r" % (row, out[-3000:]))

    # The figures behind the table, as bench/run wrote them.
    with open(out_json) as f:
        res = json.load(f)
    rows = res["rows"]
    m = res["machine"]
    check(len(m.get("commit", "")) == 40 and isinstance(m.get("dirty"), bool),
          "the JSON does not record the commit and whether the tree was "
          "dirty: %r" % m)
    stem = os.path.splitext(out_json)[0]
    for suffix in ("latency", "scale", "fanout"):
        png = "%s-%s.png" % (stem, suffix)
        check(os.path.exists(png) and os.path.getsize(png) > 1000,
              "bench/plot did not write %s (stdout %r)" % (png, out[-1000:]))
    for row in ROWS:
        check(any(row in x["name"] for x in rows),
              "no result for %r in %s" % (row, out_json))
    for x in rows:
        name = x["name"].strip()
        check_figure(name, x["value"])
        if x["ref"] is not None:
            check(positive(x["ref"]), "%s: reference %r (want a finite "
                  "number > 0)" % (name, x["ref"]))
        if x["ratio"] is not None:
            check(positive(x["ratio"]), "%s: ratio %r (want a finite number "
                  "> 0)" % (name, x["ratio"]))
            check(x["ref"] is not None, "%s: a ratio without a reference"
                  % name)
        check(x["ok"] in (True, False, None), "%s: target verdict %r"
              % (name, x["ok"]))
        check((x["ok"] is None) == (x["target"] is None),
              "%s: a verdict %r for target %r" % (name, x["ok"], x["target"]))
        check(x["runs"] >= 1 and len(x["spread"]) == 2 and
              x["spread"][0] <= x["spread"][1],
              "%s: runs %r, spread %r" % (name, x["runs"], x["spread"]))


if __name__ == "__main__":
    run()
