"""
scale: bench/run's cache rows (history, search, start-up and memory) at
each cache size of --scale, on caches generated once by gen_cache into
build/bench-cache/, and the rows comparing the largest size with the
smallest (flat: within 1.5x). A part of the Bench class (a mixin): it uses
bench/run's helpers through the __main__ module.
"""
import hashlib
import os
import random
import shutil
import socket
import sqlite3
import subprocess
import time

import msgpack

import __main__ as run
from report import ci_median, decide, fmt_n, med


class Scale:
    def schema_key(self):
        """imgwd's schema as a fresh database has it (sqlite_master)."""
        if getattr(self, "_schema", None):
            return self._schema
        p = self.env.path("schema.db")
        run.sh([run.tool("sqlite_ref"), "schema", p, "1", "1"])
        con = sqlite3.connect(p)
        sql = "\n".join(r[0] for r in con.execute(
            "SELECT sql FROM sqlite_master WHERE sql IS NOT NULL "
            "ORDER BY type, name"))
        con.close()
        self._schema = sql
        return sql

    def cache_db(self, n):
        """The generated cache of n messages, kept in build/bench-cache/."""
        c = self.cfg
        h = hashlib.sha256()
        h.update(self.schema_key().encode())
        with open(os.path.join(run.HERE, "gen_cache.c"), "rb") as f:
            h.update(f.read())
        h.update(("%d/%d" % (n, c["cache_conv"])).encode())
        # Smoke sizes are made in the test directory; the full ones kept.
        cache = self.env.dir if self.cfg is run.SMOKE_CFG else \
            os.path.join(run.BUILD, "bench-cache")
        os.makedirs(cache, exist_ok=True)
        path = os.path.join(cache, "cache-%d-%s.db" % (n, h.hexdigest()[:16]))
        if not os.path.exists(path):
            for old in os.listdir(cache):
                if old.startswith("cache-%d-" % n):
                    os.unlink(os.path.join(cache, old))
            run.log("generating %d messages in %d conversations (once)"
                % (n, c["cache_conv"]))
            t0 = time.monotonic()
            run.sh([run.tool("gen_cache"), path + ".tmp", str(n),
                str(c["cache_conv"])], timeout=3600)
            for ext in ("-wal", "-shm"):
                if os.path.exists(path + ".tmp" + ext):
                    os.unlink(path + ".tmp" + ext)
            os.rename(path + ".tmp", path)
            self.record("cache_generate_s", {"messages": n,
                                             "s": time.monotonic() - t0})
        dst = self.env.path("me.db")
        shutil.copyfile(path, dst)
        return dst

    def cache(self):
        c = self.cfg
        points = c["scale"]
        scale = {}
        for n in points:
            # The ends are compared for flatness: they get reps_max runs.
            scale[n] = self.cache_point(n, n == (1000000 if 1000000 in points
                                                 else points[-1]),
                                        n in (points[0], points[-1]))
        self.plots["scale"] = [[n, med(s["history"]), med(s["search"]),
                                med(s["startup"])] for n, s in
                               sorted(scale.items())]
        if len(points) > 1:
            a, b = points[0], points[-1]
            for key, what in (("history", "history p99"),
                              ("search", "2-char search '北京' p99"),
                              ("startup", "start-up")):
                x, y = scale[b][key], scale[a][key]
                ratio = med(x) / med(y)
                # Decided when the ratio's bounds from both medians'
                # intervals (ci_median; about 90% together) agree.
                (xl, xh), (yl, yh) = ci_median(x), ci_median(y)
                lo, hi = xl / yh, xh / yl
                ok = decide(lo, hi, "<=", 1.5)
                self.rows.append(dict(
                    name="%s, %s cached vs %s" % (what, fmt_n(b), fmt_n(a)),
                    value=med(x), unit="us" if key == "history" else "ms",
                    runs=len(x),
                    spread=[min(x), max(x)], ref=med(y),
                    ref_name="at %s" % fmt_n(a), ref_spread=[min(y), max(y)],
                    ratio=ratio, ratio_spread=[min(x) / max(y),
                                               max(x) / min(y)],
                    target="<= 1.5x (flat)", ci=[lo, hi],
                    decided=ok is not None,
                    ok=ok if ok is not None else ratio <= 1.5, note=""))

    def cache_point(self, n, memory, end):
        c = self.cfg
        reps = c["reps_max"] if end else None
        db = self.cache_db(n)
        run.log("cache of %d messages: start-up, history, search" % n)
        size = "{} cached".format(fmt_n(n))
        gw = run.Gateway(self.env, "me", self.server().url, self.env.token("me"),
                     verbose=False, db=db)
        starts = []

        def start():
            if gw.proc is not None and gw.proc.alive():
                gw.stop()
            t0 = time.monotonic()
            gw.spawn()
            while True:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    s.connect(gw.sock)
                    s.sendall(b"\x94\x00\x01\xa8rpc.ping\x90")
                    s.settimeout(5)
                    if s.recv(64):
                        break
                except OSError:
                    pass
                finally:
                    s.close()
                if not gw.proc.alive():
                    raise SystemExit("bench: imgwd exited while starting")
                time.sleep(0.0005)
            ms = (time.monotonic() - t0) * 1000
            starts.append(ms)
            return ms
        run.repeat(c, start, "<", 100, reps)
        self.record("startup_ms_%d" % n, starts)
        gw.wait_online()
        time.sleep(0.5)
        idle = run.rss_kib(gw.pid)
        self.record("rss_idle_kib_%d" % n, idle)
        # History pages: the newest page, or the page before a random message.
        con = sqlite3.connect(db)
        ids = con.execute("SELECT conv, id FROM messages WHERE rowid % 97 = 0"
                          ).fetchall()
        con.close()
        rng = random.Random(7)
        rng.shuffle(ids)
        hist = self.env.path("hist.msgpack")
        with open(hist, "wb") as f:
            for k, (conv, mid) in enumerate(ids[:1000]):
                a = {"user": conv[2:], "limit": 50}
                if k % 2:
                    a["before"] = mid
                f.write(msgpack.packb([a]))
        out = {}

        def lat_row(key, label, params, count, unit_div, unit, tval, target):
            runs = []
            run.repeat(c, lambda: runs.append(self.record(
                "%s_%d" % (key, n), self.rpc_load(
                    "-s", gw.sock, "call", "-m", label, "-p", params, "-n",
                    count, "-L", timeout=600))) or runs[-1]["p99_us"],
                "<", tval, reps)
            p50 = [r["p50_us"] / unit_div for r in runs]
            p99 = [r["p99_us"] / unit_div for r in runs]
            mid = sorted(runs, key=lambda r: r["p99_us"])[len(runs) // 2]
            self.plots.setdefault("cdf_%s" % key, {})[n] = mid["cdf"]
            out[key] = p99
            return p50, p99

        p50, p99 = lat_row("history", "message.history", hist, c["lat_n"], 1,
                           "us", 1000, "p99 < 1 ms")
        self.row("history page of 50 (p50/p99), " + size + " in {:,} "
                 "conversations".format(c["cache_conv"]), p99, "us",
                 target="p99 < 1 ms", kind="<", tval=1000,
                 value="%.0f / %.0f" % (med(p50), med(p99)),
                 extra={"p50": med(p50), "p99": med(p99)})
        for word, label in (("北京", "common word, ~3% of messages"),
                            ("熊猫", "rare word, ~0.1%")):
            q = self.env.path("search.msgpack")
            with open(q, "wb") as f:
                f.write(msgpack.packb([{"text": word}]))
            key = "search" if word == "北京" else "search_rare"
            p50, p99 = lat_row(key, "message.search", q, c["search_n"],
                               1000, "ms", 50000, "p99 < 50 ms")
            self.row("2-char search '%s' (p50/p99), %s, %s" % (
                word, size, label), p99, "ms", target="p99 < 50 ms",
                kind="<", tval=50, value="%.1f / %.1f" % (med(p50), med(p99)),
                extra={"p50": med(p50), "p99": med(p99)})
        self.row("start-up to ready, " + size, starts, "ms",
                 target="< 100 ms", kind="<", tval=100)
        self.row("resident memory idle, " + size, [idle / 1024], "MiB",
                 target="< 10 MiB", kind="<", tval=10)
        out["startup"] = starts
        if memory:
            holder = subprocess.Popen(run.pin([
                run.tool("rpc_load"), "-s", gw.sock, "hold", "-c",
                str(c["hold"])], run.CPU_LOAD),
                                      stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, text=True)
            line = holder.stdout.readline()
            if line.strip() != "ready":
                raise SystemExit("bench: the %d-client holder failed"
                                 % c["hold"])
            time.sleep(0.3)
            busy = run.rss_kib(gw.pid)
            self.record("rss_clients_kib", busy)
            holder.stdin.close()
            holder.wait()
            self.row("resident memory, %d clients connected, %s" % (
                c["hold"], size), [busy / 1024], "MiB", target="< 64 MiB",
                kind="<", tval=64)
        gw.stop()
        os.unlink(db)
        for ext in ("-wal", "-shm"):
            if os.path.exists(db + ext):
                os.unlink(db + ext)
        return out
