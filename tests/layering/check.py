#!/usr/bin/python3
"""
layering: the daemon's files call one way (DESIGN, STYLE "Data flows one
way"). Reads the symbols each daemon object defines and uses (nm), draws an
edge A -> B when A uses a function or variable B defines, and fails on any
cycle (two files calling each other, directly or around a loop). main.c is
the wiring: it may call anyone and nobody calls it.

    tests/layering/check.py [BUILD_OBJ_DIR]   (default build/obj)
"""
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def symbols(obj):
    out = subprocess.run(["nm", obj], capture_output=True, text=True,
                         check=True).stdout
    defined, used = set(), set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "U":
            used.add(parts[1])
        elif len(parts) == 3 and parts[1] in "TDBR":
            defined.add(parts[2])
    return defined, used


def sccs(nodes, edges):
    """Tarjan's strongly connected components."""
    index, low, stack, on, out = {}, {}, [], set(), []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            out.append(sorted(comp))
    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return out


def main():
    objdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build",
                                                                "obj")
    ddir = os.path.join(objdir, "daemon")
    objs = sorted(f for f in os.listdir(ddir) if f.endswith(".o"))
    owner, uses = {}, {}
    for f in objs:
        name = f[:-2]
        d, u = symbols(os.path.join(ddir, f))
        for s in d:
            owner[s] = name
        uses[name] = u
    edges = {}
    for a, u in uses.items():
        for s in u:
            b = owner.get(s)
            if b is not None and b != a:
                edges.setdefault(a, {}).setdefault(b, set()).add(s)
    print("plan 2")
    bad = [c for c in sccs(uses.keys(), edges) if len(c) > 1]
    if bad:
        print("FAIL no_call_cycle_among_daemon_files")
        for c in bad:
            print("    cycle among: %s" % ", ".join(c))
            for a in c:
                for b in c:
                    if b in edges.get(a, {}):
                        print("      %s -> %s: %s" % (a, b, ", ".join(
                            sorted(edges[a][b])[:6])))
    else:
        print("ok no_call_cycle_among_daemon_files")
    callers = sorted(a for a in edges if "main" in edges[a])
    if callers:
        print("FAIL nobody_calls_main")
        for a in callers:
            print("    %s -> main: %s" % (a, ", ".join(sorted(edges[a]["main"]))))
    else:
        print("ok nobody_calls_main")
    return 1 if bad or callers else 0


if __name__ == "__main__":
    sys.exit(main())
