#!/usr/bin/python3
"""
Servers that fail right after the handshake (tests/integration/fake_server.py):
a strict STOMP broker that accepts CONNECT and answers the first SUBSCRIBE
with ERROR. imgwd must back off as from a refused connection (capped,
growing, jittered), not reconnect at once after every CONNECTED, and the
session must go straight from syncing to backoff, never through online.
"""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_server import FakeServer, connected  # noqa: E402
from harness import check, run, wait_for  # noqa: E402


def strict_broker(conn, f):
    if f.command == "CONNECT":
        connected(conn, "alice")
    elif f.command == "SUBSCRIBE":
        conn.send("ERROR", {"message": "subscriptions to %s are not allowed"
                            % f.headers.get("destination")})
        conn.close()


def test_error_after_connected_backs_off_like_a_refusal(env):
    srv = FakeServer(strict_broker)
    try:
        gw = env.gateway("alice", srv, args=["--backoff-max", "2"])
        ev = gw.rpc()
        ev.subscribe()
        # Back-off from 0.25 s doubling to the 2 s cap: the 6th connection
        # comes after about 0.25+0.5+1+2+2 s. Reset at every CONNECTED, it
        # came after 5 x 0.25 s.
        wait_for(lambda: len(srv.connections) >= 6,
                 "six connection attempts", timeout=30)
        opened = [c.opened for c in srv.connections[:6]]
        gaps = [b - a for a, b in zip(opened, opened[1:])]
        check(gaps[-1] >= 1.2 and gaps[-2] >= 1.2,
              "the last gaps reach the cap (jitter 0.75-1.25 of 2 s), "
              "not a fresh 0.25 s: %s" % ["%.2f" % g for g in gaps])
        check(sum(gaps) >= 3.5, "five waits add up to the growing back-off, "
              "got %.2f s: %s" % (sum(gaps), ["%.2f" % g for g in gaps]))
        ev.pump(0.05)
        states = [(e["state"], e.get("reason", "")) for e in ev.events
                  if e.get("type") == "session.state"]
        check(any(s == "syncing" for s, _ in states),
              "the CONNECTED was seen (syncing): %r" % states)
        check(not any(s == "online" for s, _ in states),
              "a session that dropped never showed online: %r" % states)
        check(any(s == "backoff" and "not allowed" in r for s, r in states),
              "backoff says the server's ERROR: %r" % states)
        # Once the server behaves, the session comes up.
        srv.on_frame = lambda c, f: (connected(c, "alice")
                                     if f.command == "CONNECT" else None)
        gw.call("session.reconnect")
        gw.wait_online(timeout=10)
    finally:
        srv.stop()


def test_healthy_session_starts_the_back_off_over(env):
    drops = []

    def flaky(conn, f):
        # The first two sessions fail at once; then sessions stay up until
        # the test drops them.
        if f.command == "CONNECT":
            connected(conn, "alice")
        elif f.command == "SUBSCRIBE" and len(drops) < 2:
            drops.append(time.monotonic())
            conn.close()

    srv = FakeServer(flaky)
    try:
        gw = env.gateway("alice", srv, args=["--backoff-max", "4"])
        gw.wait_online(timeout=15)
        check(len(srv.connections) == 3, "two failures, then the third "
              "connection stays: %d" % len(srv.connections))
        # Online for more than 5 s proves it healthy: the next drop retries
        # after the first step again (0.25 s, jittered), not 1 s or more.
        up = srv.connections[-1]
        wait_for(lambda: time.monotonic() - up.opened > 5.5,
                 "the session to stay online past 5 s", timeout=10,
                 interval=0.1)
        gw_state = gw.status()
        check(gw_state["state"] == "online", "still online: %r" % gw_state)
        t = time.monotonic()
        up.close()
        wait_for(lambda: len(srv.connections) >= 4, "a reconnect", timeout=10)
        took = srv.connections[3].opened - t
        check(took < 0.9, "reconnected after the first back-off step "
              "(at most 0.31 s, plus slack): took %.2f s" % took)
    finally:
        srv.stop()


def test_later_sessions_must_prove_healthy_too(env):
    """
    After one healthy session, later ones that drop soon after going online
    meet a growing back-off again. (A libev timer restarted without being
    set again fires at once: every later session looked healthy the moment
    it went online, and the back-off started over at each one.)
    """
    mode = {"drop": False}

    def dropping(conn, f):
        if f.command == "CONNECT":
            connected(conn, "alice")
            if mode["drop"]:
                threading.Timer(0.4, conn.close).start()

    srv = FakeServer(dropping)
    try:
        gw = env.gateway("alice", srv, args=["--backoff-max", "2"])
        gw.wait_online(timeout=15)
        up = srv.connections[-1]
        wait_for(lambda: time.monotonic() - up.opened > 5.5,
                 "the first session to prove healthy", timeout=10,
                 interval=0.1)
        ev = gw.rpc()
        ev.subscribe()
        mode["drop"] = True
        n0 = len(srv.connections)
        up.close()
        # Sessions live 0.4 s; back-off 0.25, 0.5, 1, 2, 2 s (x0.75-1.25).
        wait_for(lambda: len(srv.connections) >= n0 + 5,
                 "five reconnects", timeout=30)
        opened = [c.opened for c in srv.connections[n0:n0 + 5]]
        gaps = [b - a for a, b in zip(opened, opened[1:])]
        ev.pump(0.05)
        online = sum(1 for e in ev.events if e.get("type") ==
                     "session.state" and e["state"] == "online")
        check(online >= 3, "the short sessions went online: %d" % online)
        check(gaps[-1] >= 0.4 + 1.5 and gaps[-2] >= 0.4 + 0.75,
              "the back-off grows past short sessions (gaps %s), not 0.25 s "
              "after each" % ["%.2f" % g for g in gaps])
    finally:
        srv.stop()


if __name__ == "__main__":
    run()
