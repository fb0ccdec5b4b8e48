#!/usr/bin/python3
"""
The benchmarks still start: bench/run --smoke (tiny sizes, one repetition)
runs every measurement against real processes and prints its table. Proves
nothing about speed; `make bench` measures.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import ROOT, check, check_eq, run  # noqa: E402

ROWS = ("rpc.ping 1 client", "rpc.ping 50 clients", "ingest upstream",
        "imserver chat.sync alone", "message.search finds it",
        "fan-out to 100 subscribers", "send, acknowledged",
        "gateway-added latency", "history page of 50", "2-char search",
        "start-up to ready", "resident memory idle",
        "resident memory, 50 clients")


def test_bench_smoke_prints_the_table(env):
    r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "bench", "run"),
                        "--smoke"], capture_output=True, text=True,
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


if __name__ == "__main__":
    run()
