#!/usr/bin/python3
"""
test_node_binding: the Node package (bindings/node). Installs its pinned
dependency (npm ci, from the lock file) when missing or stale, then runs its
node --test suite against live daemons: calls, events with resume after
"lagged", api.d.ts against the daemon's rpc.describe, tsc on the
declarations, and npm pack + npm install of the tarball. Prints one
"ok"/"FAIL" line per test, for tests/run.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..")
ROOT = os.path.abspath(ROOT)
PKG = os.path.join(ROOT, "bindings", "node")


def indent(lines, limit=40):
    if len(lines) > limit:
        lines = lines[:limit // 2] + ["..."] + lines[-limit // 2:]
    return "\n".join("    " + x for x in lines)


def npm_ci():
    """npm ci when node_modules is older than the lock file; None or why not."""
    lock = os.path.join(PKG, "package-lock.json")
    done = os.path.join(PKG, "node_modules", ".package-lock.json")
    if os.path.exists(done) and os.path.getmtime(done) >= os.path.getmtime(lock):
        return None
    r = subprocess.run(["npm", "ci", "--prefer-offline", "--no-audit",
                        "--no-fund", "--loglevel=error"], cwd=PKG,
                       capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL)
    return None if r.returncode == 0 else (r.stdout + r.stderr)


def main():
    why = npm_ci()
    if why is not None:
        print("plan 1")
        print("FAIL npm_ci")
        print(indent(why.splitlines()))
        return 1
    tests = sorted(os.path.join("test", n) for n in os.listdir(
        os.path.join(PKG, "test")) if n.endswith(".test.js"))
    r = subprocess.run(["node", "--test", "--test-reporter=tap"] + tests,
                       cwd=PKG, capture_output=True, text=True, timeout=600,
                       stdin=subprocess.DEVNULL)
    results, cur = [], None		# (passed, name, skip, detail lines)
    for line in r.stdout.splitlines():
        m = re.match(r"^(not ok|ok) \d+ - (.*?)( # SKIP.*)?$", line)
        if m:
            cur = []
            results.append((m.group(1) == "ok" and not m.group(3),
                            re.sub(r"\W+", "_", m.group(2)).strip("_"),
                            m.group(3) or "", cur))
        elif cur is not None and line.startswith("  "):
            cur.append(line)
        elif not line.startswith("#"):
            cur = None
    broken = not results or (r.returncode != 0 and all(x[0] for x in results))
    print("plan %d" % (1 + len(results) + (1 if broken else 0)))
    print("ok npm_ci")
    for ok, name, skip, lines in results:
        if ok:
            print("ok %s" % name)
        else:
            print("FAIL %s%s" % (name, skip))
            print(indent(lines))
    if broken:
        print("FAIL node_test_run")
        print(indent((r.stdout + r.stderr).splitlines()))
    return 0 if r.returncode == 0 and not broken else 1


if __name__ == "__main__":
    sys.exit(main())
