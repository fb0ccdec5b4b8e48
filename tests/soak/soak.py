#!/usr/bin/python3
"""
soak: hours of load (make soak; not part of make check). One imserver, four
gateways (ann, ben, cat, dan) and 1,000 local clients spread over them for
SOAK_SECONDS (default 600): one-to-one sends, group sends and notices,
revokes, subscribers that stall (stop reading) and resume (after `lagged`,
with events.subscribe {since: resumeFrom}), an imserver restart every
SOAK_RESTART seconds and a restart of dan's gateway every SOAK_GW_RESTART
seconds. Every SOAK_SAMPLE seconds (5) it samples, for every imgwd and the
imserver: RSS, open descriptors, and the database's size (file, -wal and
-shm) divided by the messages stored in it.

It fails if
- a sample series grows without bound. The rule: the samples of the first
  quarter of the run are warm-up; the largest sample of the last quarter
  (Q4) must not exceed the largest of the second quarter (Q2) by more than
  a tolerance: RSS  Q4 <= 1.10 * Q2 + 4 MiB; descriptors  Q4 <= Q2 + 4;
  database bytes per stored message  Q4 <= 1.10 * Q2. imgwd's RSS rightly
  grows until its ring of 4,096 recent encoded events is full, a few
  minutes into the run; the warm-up quarter is there for that. A leak
  linear in time puts Q4's peak above Q2's by half the run's growth, so an
  hour's run fails a leak of more than 10% of the RSS + 4 MiB per half
  hour (about 16 MiB an hour for imgwd's 40 MiB) and any steady loss of
  descriptors (more than 4 per half hour). Peaks, not a fitted line, so
  that the sawtooth of a restarted process is judged fairly; the JSON also
  records each series' least-squares slope over its second half, for
  information;
- any message whose send was answered is not, after a quiet period, in the
  history of its sender and of each recipient exactly once, is still
  SENDING or FAILED, or is revoked on one side and not the other (and
  every revoke that was answered must be REVOKED everywhere);
- any subscriber missed, repeated or reordered an event (seqs must run
  1, 2, 3, ... across its lagged resumes and reconnects up to the head).

The samples go to SOAK_OUT (default tests/soak/results) as
soak-YYYYMMDD-HHMM.json and a gnuplot plot soak-YYYYMMDD-HHMM.png.
Other knobs: SOAK_CLIENTS (1000), SOAK_RATE (operations a second, 25),
SOAK_SEED (default random, printed), IMGW_BUILD (the programs' directory,
default build/), SOAK_COMMIT (recorded in the JSON; default git HEAD). Most
clients are light: connected, with an occasional send, revoke or status
call; history pages come from 40 of them. On failure the run's directory
(logs, databases) is kept and named.
"""
import json
import os
import random
import resource
import select
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))

from harness import (ROOT, ConnectionClosed, Env, Rpc, RpcError,  # noqa: E402
                     TestFailure, rss_kib, wait_for)

USERS = ("ann", "ben", "cat", "dan")
RESTARTED_GW = 3		# dan's gateway is the one that restarts


def env_num(name, default):
    return float(os.environ.get(name, default))


SECONDS = env_num("SOAK_SECONDS", 600)
CLIENTS = int(env_num("SOAK_CLIENTS", 1000))
RATE = env_num("SOAK_RATE", 25)
SAMPLE = env_num("SOAK_SAMPLE", 5)
RESTART = env_num("SOAK_RESTART", min(120, max(20, SECONDS / 8)))
GW_RESTART = env_num("SOAK_GW_RESTART", min(900, max(60, SECONDS / 3)))
OUT = os.environ.get("SOAK_OUT", os.path.join(ROOT, "tests", "soak", "results"))
CLIENT_STALL = 5		# imgwd --client-stall for the run
STALLERS = 1			# subscribers per gateway that stall and resume
STEADY = 1			# subscribers per gateway that always read
READERS = 40			# clients that read history pages

# The growth rule (see the header): (relative, absolute) tolerance of Q4's
# peak over Q2's.
TOLERANCE = {"rss_kib": (0.10, 4096), "fds": (0.0, 4), "bytes_per_msg": (0.10, 0)}


def raise_fd_limit(need):
    """Raise our soft RLIMIT_NOFILE (the children inherit it) to cover need."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        new = need if hard == resource.RLIM_INFINITY else min(need, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft != resource.RLIM_INFINITY and soft < need:
        sys.exit("soak: RLIMIT_NOFILE is %d, %d needed" % (soft, need))
    return soft


def fd_count(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def rss_anon_kib(pid):
    """The heap's part of the RSS (RssAnon), KiB; for information."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def db_bytes(path):
    return sum(os.path.getsize(p) for p in (path, path + "-wal", path + "-shm")
               if os.path.exists(p))


class Subscriber:
    """
    One events.subscribe stream from seq 0. It checks that seqs run on by
    one across resumes, keeps no event bodies, and can stall: while stalled
    it is not read from, so the daemon lags it once its output passes 1 MiB
    for --client-stall seconds.
    """

    def __init__(self, soak, gi, stalls):
        self.soak = soak
        self.gi = gi
        self.stalls = stalls
        self.rpc = None
        self.last = 0			# last seq received
        self.events = 0
        self.lagged = 0
        self.resumes = 0
        self.resume_from = None
        self.problems = []
        self.stalled_until = 0.0
        self.next_stall = time.monotonic() + soak.rng.uniform(10, 30)
        self.stall_count = 0
        self.connect()

    @property
    def name(self):
        return "%s subscriber %s" % (USERS[self.gi],
                                     "staller" if self.stalls else "steady")

    def connect(self):
        """(Re)subscribe since the last seq; False if the daemon is away."""
        since = self.last
        if self.resume_from is not None:
            # RPC.md: resume with since = resumeFrom; a mismatch with what
            # we received shows up as a gap or a repeat below.
            since = self.resume_from
            self.resume_from = None
        try:
            self.rpc = Rpc(self.soak.gws[self.gi].sock)
            self.rpc.subscribe(since=since)
        except (OSError, ConnectionClosed, TestFailure):
            if self.rpc:
                self.rpc.close()
            self.rpc = None
            return False
        return True

    def stalled(self, now):
        if not self.stalls:
            return False
        if self.stalled_until > now:
            return True
        if now >= self.next_stall and not self.soak.quiet:
            self.stalled_until = now + self.soak.rng.uniform(40, 90)
            self.next_stall = self.stalled_until + self.soak.rng.uniform(10, 30)
            self.stall_count += 1
            return True
        return False

    def take(self):
        r = self.rpc
        for e in r.events:
            if e.get("type") == "lagged":
                self.lagged += 1
                self.resume_from = e.get("resumeFrom")
                continue
            if e.get("type") == "shutdown":	# not logged, no seq
                continue
            seq = e.get("seq")
            if seq != self.last + 1 and len(self.problems) < 20:
                self.problems.append("%s: seq %s after %d" % (self.name, seq,
                                                              self.last))
            self.last = seq if isinstance(seq, int) else self.last
            self.events += 1
        r.events.clear()
        for n in r.notifications:
            if len(self.problems) < 20:
                self.problems.append("%s: notification %r" % (self.name, n))
        r.notifications.clear()

    def pump(self):
        """Read what is waiting (unless stalled); resume after an EOF."""
        if self.rpc is None:
            if self.soak.gw_down == self.gi or not self.connect():
                return
            self.resumes += 1
        if self.stalled(time.monotonic()):
            return
        for _ in range(64):
            if not select.select([self.rpc.sock], [], [], 0)[0]:
                break
            alive = self.rpc.pump(0.001)
            self.take()
            if not alive:
                self.rpc.close()
                self.rpc = None
                return


class Soak:
    def __init__(self):
        self.seed = int(os.environ.get("SOAK_SEED", random.randrange(1 << 30)))
        self.rng = random.Random(self.seed)
        self.env = Env("soak")
        self.quiet = False
        self.gw_down = None
        self.samples = []
        self.restarts = []		# (t, what)
        self.counts = dict(send=0, group=0, notice=0, revoke=0, revoked=0,
                           refused=0, calls=0, server_restarts=0,
                           gateway_restarts=0)
        self.sent = {}			# id -> (sender index, conversation)
        self.by_sender = [[] for _ in USERS]
        self.revoked = set()		# revokes that were answered
        self.problems = []

    # ------------------------------------------------------------ set-up

    def start(self):
        env = self.env
        self.srv = env.server(verbose=False)
        args = ["--backoff-max", "1", "--client-stall", str(CLIENT_STALL)]
        self.gws = [env.gateway(u, self.srv, verbose=False, args=args)
                    for u in USERS]
        for g in self.gws:
            g.wait_online(timeout=30)
        try:
            self.group = self.gws[0].call("group.create", name="soak",
                                          users=list(USERS[1:]))["groupId"]
        except RpcError as e:
            raise TestFailure("group.create: %s: %s" % (e.code, e.message))
        for g in self.gws[1:]:
            wait_for(lambda g=g: any(x.get("groupId") == self.group for x in
                                     g.call("group.list")),
                     "%s to know group %s" % (g.user, self.group))
        self.clients = [[i % len(USERS), None] for i in range(CLIENTS)]
        for c in self.clients:
            c[1] = Rpc(self.gws[c[0]].sock)
        self.subs = []
        for gi in range(len(USERS)):
            self.subs += [Subscriber(self, gi, False) for _ in range(STEADY)]
            self.subs += [Subscriber(self, gi, True) for _ in range(STALLERS)]
        self.checkers = [None] * len(USERS)

    def reconnect_clients(self, gi):
        for c in self.clients:
            if c[0] == gi:
                c[1].close()
                c[1] = Rpc(self.gws[gi].sock)

    # ------------------------------------------------------------ traffic

    def text(self, n):
        # Mostly short; one in five 8 KiB, so a stalled subscriber's output
        # passes the daemon's 1 MiB mark within its stall.
        if self.rng.random() < 0.2:
            return ("soak %d 大块 " % n) + "x" * 8192
        return "soak %d 你好 %s" % (n, "y" * self.rng.randrange(60))

    def op(self, n):
        c = self.rng.choice(self.clients)
        gi, r = c
        g = self.gws[gi]
        what = self.rng.random()
        self.counts["calls"] += 1
        try:
            if what < 0.55:
                peer = self.rng.choice([u for u in USERS if u != g.user])
                mid = "soak-%d-%s-%d" % (self.seed, g.user, n)
                r.call("message.send", user=peer, text=self.text(n), id=mid)
                self.record(mid, gi, {"user": peer}, "send")
            elif what < 0.72:
                mid = "soak-%d-%s-%d" % (self.seed, g.user, n)
                r.call("message.send", group=self.group, text=self.text(n),
                       id=mid)
                self.record(mid, gi, {"group": self.group}, "group")
            elif what < 0.80:
                if self.by_sender[gi]:
                    self.counts["revoke"] += 1
                    mid = self.rng.choice(self.by_sender[gi][-200:])
                    r.call("message.revoke", id=mid)
                    self.revoked.add(mid)
                    self.counts["revoked"] += 1
            elif what < 0.81:
                self.counts["notice"] += 1
                r2 = self.gws[0]
                r2.call("group.update", group=self.group, notice="notice %d" % n)
            elif what < 0.90:
                # History pages come from a pool of READERS clients: imgwd
                # keeps a client's buffers at their largest size until it
                # goes, so history reads spread over all 1,000 clients
                # would raise RSS for as long as new clients get their
                # first large answer (bounded: clients x largest answer).
                gi, r = c = self.rng.choice(self.clients[:READERS])
                g = self.gws[gi]
                peer = self.rng.choice([u for u in USERS if u != g.user])
                r.call("message.history", user=peer, limit=20)
            else:
                r.call("session.status")
        except RpcError as e:
            # Offline, still sending, already revoked: expected around restarts.
            if e.code not in ("offline", "conflict", "not_found", "upstream",
                              "forbidden", "busy"):
                self.problem("unexpected error %s: %s" % (e.code, e.message))
            self.counts["refused"] += 1
        except (ConnectionClosed, TestFailure, OSError) as e:
            self.problem("client of %s: %s" % (g.user, e))
            c[1].close()
            c[1] = Rpc(g.sock)

    def record(self, mid, gi, conv, kind):
        self.sent[mid] = (gi, conv)
        self.by_sender[gi].append(mid)
        self.counts[kind] += 1

    def problem(self, what):
        if len(self.problems) < 50:
            self.problems.append(what)
        print("    # problem: %s" % what, flush=True)

    def restart_server(self, t):
        self.srv.stop()
        self.restarts.append((t, "imserver"))
        time.sleep(self.rng.uniform(0.2, 2.0))
        self.srv = self.srv.restart()
        self.counts["server_restarts"] += 1

    def restart_gateway(self, t):
        g = self.gws[RESTARTED_GW]
        self.gw_down = RESTARTED_GW
        g.stop()
        self.restarts.append((t, "imgwd[%s]" % g.user))
        g.start()
        self.gw_down = None
        self.reconnect_clients(RESTARTED_GW)
        self.counts["gateway_restarts"] += 1

    # ------------------------------------------------------------ samples

    def sample(self, t):
        s = {"t": round(t, 1), "sent": len(self.sent), "procs": {}}
        for gi, g in enumerate(self.gws):
            if self.gw_down == gi:
                continue
            try:
                st = self.checker(gi).call("db.stats")
            except (ConnectionClosed, TestFailure, OSError):
                self.checkers[gi] = None
                continue
            size = db_bytes(g.db)
            s["procs"]["imgwd-" + g.user] = {
                "pid": g.pid, "rss_kib": rss_kib(g.pid),
                "rss_anon_kib": rss_anon_kib(g.pid), "fds": fd_count(g.pid),
                "db_bytes": size, "messages": st["messages"],
                "events": st["events"],
                "bytes_per_msg": round(size / max(st["messages"], 1), 1)}
        size = db_bytes(self.srv.db)
        s["procs"]["imserver"] = {
            "pid": self.srv.pid, "rss_kib": rss_kib(self.srv.pid),
            "fds": fd_count(self.srv.pid), "db_bytes": size,
            "messages": len(self.sent),
            "bytes_per_msg": round(size / max(len(self.sent), 1), 1)}
        s["driver_fds"] = fd_count(os.getpid())
        self.samples.append(s)

    def checker(self, gi):
        if self.checkers[gi] is None:
            self.checkers[gi] = Rpc(self.gws[gi].sock, timeout=30)
        return self.checkers[gi]

    # ------------------------------------------------------------ the run

    def pump_subs(self, until):
        """Read the subscribers until the monotonic time until."""
        while True:
            for s in self.subs:
                s.pump()
            left = until - time.monotonic()
            if left <= 0:
                return
            socks = [s.rpc.sock for s in self.subs if s.rpc is not None and
                     not s.stalled(time.monotonic())]
            if socks:
                select.select(socks, [], [], min(left, 0.05))
            else:
                time.sleep(min(left, 0.05))

    def run(self):
        t0 = time.monotonic()
        next_op = next_sample = t0
        next_restart = t0 + RESTART
        next_gw = t0 + GW_RESTART
        last_print = t0
        n = 0
        while True:
            now = time.monotonic()
            t = now - t0
            if t >= SECONDS:
                break
            if now >= next_sample:
                self.sample(t)
                next_sample += SAMPLE
            if now >= next_restart:
                self.restart_server(t)
                next_restart += RESTART
            if now >= next_gw:
                self.restart_gateway(t)
                next_gw += GW_RESTART
            if now - last_print >= 60:
                last_print = now
                p = self.samples[-1]["procs"]
                print("    # %4.0fs %s rss(KiB) %s" % (t, self.counts, {
                    k: v["rss_kib"] for k, v in p.items()}), flush=True)
            n += 1
            self.op(n)
            next_op = max(next_op + 1.0 / RATE, time.monotonic() - 1.0)
            self.pump_subs(next_op)
        self.duration = time.monotonic() - t0
        self.t0 = t0
        self.sample(self.duration)

    # ------------------------------------------------------------ verdict

    def quiesce(self):
        self.quiet = True
        for s in self.subs:
            s.stalled_until = 0
        for g in self.gws:
            g.wait_online(timeout=60)
        wait_for(lambda: all(self.checker(gi).call("db.stats")["outbox"] == 0
                             for gi in range(len(USERS))),
                 "every outbox to drain", timeout=120, interval=0.5)

    def history(self, gi, conv):
        out, before = [], None
        while True:
            args = dict(conv, limit=1000, order="oldest")
            if before is not None:
                args["before"] = before
            page = self.checker(gi).call("message.history", **args)
            out = page["messages"] + out
            if not page["more"] or not page["messages"]:
                return out
            before = page["messages"][0]["id"]

    def delivery_problems(self):
        """Every answered send once everywhere, settled, revoked consistently."""
        convs = {}
        for gi, u in enumerate(USERS):
            for p in USERS:
                if p != u:
                    convs[(gi, "user", p)] = self.history(gi, {"user": p})
            convs[(gi, "group", self.group)] = self.history(gi, {"group": self.group})
        index = {}
        for key, msgs in convs.items():
            for m in msgs:
                index.setdefault((key, m["id"]), []).append(m.get("status"))
        problems = []
        for mid, (gi, conv) in self.sent.items():
            if "user" in conv:
                pi = USERS.index(conv["user"])
                holders = [(gi, "user", conv["user"]), (pi, "user", USERS[gi])]
            else:
                holders = [(h, "group", self.group) for h in range(len(USERS))]
            states = []
            for h in holders:
                st = index.get((h, mid), [])
                if len(st) != 1:
                    problems.append("%s: %d copies in %s's history of %s"
                                    % (mid, len(st), USERS[h[0]], h[2]))
                states += st
            if any(s in ("SENDING", "FAILED") for s in states):
                problems.append("%s: stuck %s" % (mid, states))
            rev = [s == "REVOKED" for s in states]
            if any(rev) and not all(rev):
                problems.append("%s: revoked on one side only: %s"
                                % (mid, states))
            if mid in self.revoked and not all(rev):
                problems.append("%s: revoke answered but %s" % (mid, states))
        return problems

    def verdict(self):
        self.quiesce()
        try:
            wait_for(lambda: not self.delivery_problems(), "every answered "
                     "send delivered once and settled", timeout=120,
                     interval=2)
        except TestFailure:
            p = self.delivery_problems()
            self.problem("%d delivery problems, first: %s" % (len(p), p[:8]))
        # Subscribers: every event up to the head, once, in order.
        heads = [self.checker(gi).call("events.subscribe")["seq"]
                 for gi in range(len(USERS))]
        for gi in range(len(USERS)):
            self.checkers[gi].close()
            self.checkers[gi] = None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and \
                any(s.last < heads[s.gi] for s in self.subs):
            self.pump_subs(time.monotonic() + 0.2)
        for s in self.subs:
            if s.last < heads[s.gi]:
                self.problem("%s stopped at seq %d of %d" % (s.name, s.last,
                                                             heads[s.gi]))
            for p in s.problems:
                self.problem(p)
        lagged = sum(s.lagged for s in self.subs if s.stalls)
        if lagged == 0 and self.duration >= 300:
            self.problem("no stalled subscriber was ever lagged: the resume "
                         "after 'lagged' went untested")
        self.growth = self.growth_rule()
        for g in self.growth:
            if not g["ok"]:
                self.problem("%s %s grows: Q4 peak %s > allowed %s (Q2 peak %s)"
                             % (g["proc"], g["series"], g["q4_max"],
                                g["allowed"], g["q2_max"]))

    def growth_rule(self):
        out = []
        procs = sorted({p for s in self.samples for p in s["procs"]})
        T = self.duration
        for p in procs:
            for series, (rel, ab) in TOLERANCE.items():
                pts = [(s["t"], s["procs"][p][series]) for s in self.samples
                       if p in s["procs"] and
                       s["procs"][p].get(series) is not None]
                q2 = [v for t, v in pts if T / 4 <= t < T / 2]
                q4 = [v for t, v in pts if t >= 3 * T / 4]
                if not q2 or not q4:
                    continue
                allowed = max(q2) * (1 + rel) + ab
                half = [(t, v) for t, v in pts if t >= T / 2]
                out.append({"proc": p, "series": series, "q2_max": max(q2),
                            "q4_max": max(q4), "allowed": round(allowed, 1),
                            "ok": max(q4) <= allowed,
                            "slope_per_hour": round(slope(half) * 3600, 2)})
        return out

    # ------------------------------------------------------------ output

    def write(self):
        os.makedirs(OUT, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M")
        base = os.path.join(OUT, "soak-%s" % stamp)
        peak = lambda k, series: max((s["procs"][k][series] for s in
                                      self.samples if k in s["procs"]),
                                     default=None)
        procs = sorted({p for s in self.samples for p in s["procs"]})
        subs = [{"name": s.name, "events": s.events, "last": s.last,
                 "stalls": s.stall_count, "lagged": s.lagged,
                 "resumes": s.resumes} for s in self.subs]
        doc = {"seed": self.seed, "seconds": round(self.duration, 1),
               "commit": os.environ.get("SOAK_COMMIT") or git_head(),
               "clients": CLIENTS, "users": list(USERS), "rate": RATE,
               "sample_seconds": SAMPLE, "client_stall": CLIENT_STALL,
               "counts": self.counts, "messages": len(self.sent),
               "revokes_answered": len(self.revoked),
               "restarts": self.restarts, "subscribers": subs,
               "peaks": {p: {"rss_kib": peak(p, "rss_kib"),
                             "fds": peak(p, "fds"),
                             "db_bytes": peak(p, "db_bytes")} for p in procs},
               "growth_rule": "after a warm-up quarter, max(Q4) <= max(Q2) * "
                              "(1 + rel) + abs; tolerances %s" % TOLERANCE,
               "growth": self.growth, "problems": self.problems,
               "verdict": "pass" if not self.problems else "FAIL",
               "samples": self.samples}
        with open(base + ".json", "w") as f:
            json.dump(doc, f, indent=1, ensure_ascii=False)
            f.write("\n")
        plot(base, doc, procs)
        return base, doc


def git_head():
    r = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                       capture_output=True, text=True)
    return r.stdout.strip() or None


def slope(pts):
    """Least-squares slope of (t, v) points, per second (0 if too few)."""
    if len(pts) < 2:
        return 0.0
    n = len(pts)
    mt = sum(t for t, _ in pts) / n
    mv = sum(v for _, v in pts) / n
    den = sum((t - mt) ** 2 for t, _ in pts)
    return sum((t - mt) * (v - mv) for t, v in pts) / den if den else 0.0


def plot(base, doc, procs):
    """The samples as a PNG beside the JSON (gnuplot; skipped without it)."""
    if shutil.which("gnuplot") is None:
        print("    # no gnuplot (scripts/install-deps installs gnuplot-nox): "
              "no plot", flush=True)
        return
    dat = base + ".dat"
    with open(dat, "w") as f:
        for p in procs:
            f.write("# %s\n" % p)
            for s in doc["samples"]:
                if p in s["procs"]:
                    v = s["procs"][p]
                    f.write("%.1f %.2f %s %.1f %d\n" % (
                        s["t"] / 60, v["rss_kib"] / 1024.0, v["fds"],
                        v["bytes_per_msg"], v["messages"]))
            f.write("\n\n")
    arrows = "".join(
        "set arrow from %.2f, graph 0 to %.2f, graph 1 nohead lc rgb '%s' "
        "dt 3\n" % (t / 60, t / 60, "#bbbbbb" if w == "imserver" else "#ff9999")
        for t, w in doc["restarts"])

    def panel(col, title, ylabel, log=False):
        lines = ", ".join("'%s' index %d using 1:%d with lines title '%s'"
                          % (dat, i, col, p) for i, p in enumerate(procs))
        return ("set title '%s'\nset ylabel '%s'\n%s%s\nplot %s\n"
                % (title, ylabel, "set logscale y\n" if log else
                   "unset logscale y\n", arrows, lines))
    script = (
        "set terminal pngcairo size 1200,1100 font ',9'\n"
        "set output '%s.png'\n"
        "set multiplot layout 3,1 title 'imgw soak: %d clients, %d messages, "
        "%.0f min, %s (dotted: grey imserver restart, red imgwd[dan] "
        "restart)'\n"
        "set xlabel 'minutes'\nset key outside right\nset grid\n"
        % (base, doc["clients"], doc["messages"], doc["seconds"] / 60,
           doc["verdict"])
        + panel(2, "resident memory", "MiB")
        + panel(3, "open descriptors", "fds")
        + panel(4, "database bytes per stored message (file + wal + shm)",
                "bytes", log=True)
        + "unset multiplot\n")
    r = subprocess.run(["gnuplot"], input=script, text=True,
                       capture_output=True)
    if r.returncode != 0:
        print("    # gnuplot: %s" % r.stderr.strip()[-500:], flush=True)
    else:
        os.remove(dat)


def main():
    raise_fd_limit(CLIENTS + 4 * len(USERS) * 2 + 200)
    soak = Soak()
    print("soak: seed %d, %.0fs, %d clients, %d ops/s, imserver restart every "
          "%.0fs, imgwd[dan] every %.0fs; in %s" % (
              soak.seed, SECONDS, CLIENTS, RATE, RESTART, GW_RESTART,
              soak.env.dir), flush=True)
    ok = False
    try:
        soak.start()
        soak.run()
        soak.verdict()
        base, doc = soak.write()
        ok = not soak.problems
        print("soak: %s: %.0fs, %d messages (%d group), %d revokes answered, "
              "%d/%d restarts, lagged %d; wrote %s.json" % (
                  doc["verdict"], doc["seconds"], doc["messages"],
                  soak.counts["group"], len(soak.revoked),
                  soak.counts["server_restarts"],
                  soak.counts["gateway_restarts"],
                  sum(s["lagged"] for s in doc["subscribers"]), base),
              flush=True)
        for p, v in doc["peaks"].items():
            print("    # peak %s: rss %d KiB, fds %d, db %d bytes"
                  % (p, v["rss_kib"], v["fds"], v["db_bytes"]), flush=True)
        for p in soak.problems:
            print("    FAIL: %s" % p, flush=True)
    except (TestFailure, RpcError, ConnectionClosed, OSError) as e:
        print("soak: FAIL: %s" % e, flush=True)
    finally:
        problems = soak.env.teardown()
        for p in problems:
            print("soak: after the run: %s" % p, flush=True)
            ok = False
        if ok:
            soak.env.remove()
        else:
            print("soak: kept %s" % soak.env.dir, flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
