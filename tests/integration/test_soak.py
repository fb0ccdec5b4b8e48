#!/usr/bin/python3
"""
Soak: three gateways, fifty local clients, random sends, revokes, group
messages and group changes for about half a minute while the
server restarts three times. Afterwards every message acknowledged to its
sender (message.status SENT) is in every recipient's history exactly once,
and every gateway's event log replays from 0 without a gap.

SOAK_SECONDS (default 24) and SOAK_SEED (default: random, printed) change
the run; a failure prints the seed that reproduces its choices.
"""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ConnectionClosed, RpcError, TestFailure,  # noqa: E402
                     check, check_eq, run, wait_for)

USERS = ("ann", "ben", "cat")
CLIENTS = 50
SECONDS = float(os.environ.get("SOAK_SECONDS", "24"))
RESTARTS = 3


def replay_log(gw, timeout=30):
    """Every event of gw's log, by events.subscribe since 0, up to its head."""
    r = gw.rpc()
    head = r.subscribe(since=0)
    deadline = time.monotonic() + timeout
    while not r.events or r.events[-1]["seq"] < head:
        if time.monotonic() > deadline:
            raise TestFailure("%s: replay stopped at seq %s of %d" % (
                gw.user, r.events[-1]["seq"] if r.events else None, head))
        if not r.pump(0.2):
            raise TestFailure("%s closed the replay" % gw.user)
    r.close()
    return [e for e in r.events if e["seq"] <= head]


def check_contiguous(gw, events):
    seqs = [e["seq"] for e in events]
    check(seqs, "%s's event log is empty" % gw.user)
    check_eq(seqs[0], 1, "%s: first seq of the replay from 0" % gw.user)
    gaps = [(a, b) for a, b in zip(seqs, seqs[1:]) if b != a + 1]
    check(not gaps, "%s: event log gaps or repeats (previous, next): %s"
          % (gw.user, gaps[:10]))


def whole_history(gw, conv):
    """A conversation's whole cached history ({"user"} or {"group"})."""
    out, before = [], None
    while True:
        args = dict(conv, limit=1000, order="oldest")
        if before is not None:
            args["before"] = before
        page = gw.call("message.history", **args)
        out = page["messages"] + out
        if not page["more"] or not page["messages"]:
            return out
        before = page["messages"][0]["id"]


def test_soak_restarts(env):
    seed = int(os.environ.get("SOAK_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    print("    # seed %d, %.0fs" % (seed, SECONDS), flush=True)
    srv = env.server()
    gws = [env.gateway(u, srv, args=["--backoff-max", "1"]) for u in USERS]
    for g in gws:
        g.wait_online()

    # One group of all three. imserver has groups: a group.create that
    # fails is a failure, not a soak quietly shrunk to one-to-one.
    try:
        group = gws[0].call("group.create", name="soak",
                            users=list(USERS[1:]))["groupId"]
    except RpcError as e:
        raise TestFailure("group.create: %s: %s" % (e.code, e.message))
    for g in gws[1:]:
        wait_for(lambda g=g: any(x.get("groupId") == group for x in
                                 g.call("group.list")),
                 "%s to know group %s" % (g.user, group))

    clients = [(i % len(gws), gws[i % len(gws)].rpc()) for i in range(CLIENTS)]
    sent = {g.user: [] for g in gws}	# ids each gateway accepted
    convs = {}				# id -> (sender index, conversation)
    counts = dict(send=0, group=0, revoke=0, revoked=0, update=0,
                  refused=0)
    restart_at = [SECONDS * (k + 1) / (RESTARTS + 1) for k in range(RESTARTS)]
    t0 = time.monotonic()
    n = 0
    while time.monotonic() - t0 < SECONDS:
        if restart_at and time.monotonic() - t0 >= restart_at[0]:
            restart_at.pop(0)
            srv.stop()
            time.sleep(rng.uniform(0.2, 1.0))
            srv = srv.restart()
        gi, r = rng.choice(clients)
        g = gws[gi]
        n += 1
        what = rng.random()
        try:
            if what < 0.65:
                peer = rng.choice([u for u in USERS if u != g.user])
                mid = "soak-%d-%s-%d" % (seed, g.user, n)
                r.call("message.send", user=peer, text="soak %d 你好" % n,
                       id=mid)
                sent[g.user].append(mid)
                convs[mid] = (gi, {"user": peer})
                counts["send"] += 1
            elif what < 0.8:
                mid = "soak-%d-%s-%d" % (seed, g.user, n)
                r.call("message.send", group=group, text="group %d" % n,
                       id=mid)
                sent[g.user].append(mid)
                convs[mid] = (gi, {"group": group})
                counts["group"] += 1
            elif what < 0.95:
                if sent[g.user]:
                    counts["revoke"] += 1
                    r.call("message.revoke", id=rng.choice(sent[g.user]))
                    counts["revoked"] += 1
            else:
                counts["update"] += 1
                gws[0].call("group.update", group=group,
                            notice="notice %d" % n)
        except RpcError as e:
            # Offline, still sending, or already revoked: all expected here.
            check(e.code in ("offline", "conflict", "not_found", "upstream",
                             "forbidden", "busy"),
                  "unexpected error %s: %s" % (e.code, e.message))
            counts["refused"] += 1
        except ConnectionClosed:
            raise TestFailure("%s closed a client connection" % g.user)
        time.sleep(rng.uniform(0, 0.01))
    print("    # %s" % counts, flush=True)

    for g in gws:
        g.wait_online(timeout=20)
    wait_for(lambda: all(g.call("db.stats")["outbox"] == 0 for g in gws),
             "every outbox to drain", timeout=30)

    # What each sender was told was SENT, from its own event log.
    logs = {}
    acked = {}
    for gi, g in enumerate(gws):
        logs[g.user] = replay_log(g)
        check_contiguous(g, logs[g.user])
        for e in logs[g.user]:
            if e["type"] == "message.status" and e["status"] == "SENT" and \
                    e["id"] in convs:
                acked[e["id"]] = convs[e["id"]]
    check(len(acked) > 50, "only %d messages were acknowledged" % len(acked))
    check(any("group" in conv for _, conv in acked.values()),
          "no group message was acknowledged (seed %d): the soak checked "
          "one-to-one conversations only" % seed)

    # Every acknowledged message, once, in the history of sender and recipients.
    def missing():
        problems = []
        cache = {}
        for mid, (gi, conv) in acked.items():
            sender = gws[gi]
            if "user" in conv:
                holders = [(sender, conv),
                           (gws[USERS.index(conv["user"])],
                            {"user": sender.user})]
            else:
                holders = [(g, conv) for g in gws]
            for g, c in holders:
                key = (g.user, tuple(sorted(c.items())))
                if key not in cache:
                    cache[key] = [m["id"] for m in whole_history(g, c)]
                k = cache[key].count(mid)
                if k != 1:
                    problems.append("%s in %s's history of %s: %d copies"
                                    % (mid, g.user, c, k))
        return problems

    def settled():
        return not missing()
    try:
        wait_for(settled, "every acknowledged message in every recipient's "
                 "history exactly once", timeout=30, interval=0.5)
    except TestFailure:
        p = missing()
        raise TestFailure("%d problems (seed %d), first: %s"
                          % (len(p), seed, p[:8]))

    # The logs stayed contiguous after the convergence too.
    for g in gws:
        check_contiguous(g, replay_log(g))


if __name__ == "__main__":
    run()
