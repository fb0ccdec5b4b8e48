#!/usr/bin/python3
"""
A broken or hostile server (issue 15, proto/UPSTREAM.md "What imgwd does
with a broken server"), played by tests/integration/fake_server.py. For each
behaviour: imgwd stays up, a local client is answered (rpc.ping,
session.status, message.history) within SERVED_S, imgwd's RSS stays under
RSS_MAX_KIB, and what is refused is logged once, not once per frame.

The memory bound: imgwd idles at about 11 MiB. What a server can make it
hold is the STOMP input buffer (one frame, at most 1 MiB, in a buffer of at
most 2 MiB), one parsed JSON body (jansson, a few times the frame), the
event ring (at most 8 MiB, daemon/events.c), SQLite's page cache (2 MiB) and
libwebsockets' 64 KiB reads. 64 MiB leaves room for all of it at once and
for the allocator; before the ring had a budget, 300 frames of 1 MiB took
imgwd past 600 MiB.
"""
import itertools
import json
import os
import re
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_server import FakeServer, connected  # noqa: E402
from harness import (Rpc, RpcError, check, check_eq,  # noqa: E402
                     expect_rpc_error, rss_kib, run, wait_for)
from stomp_client import encode_frame  # noqa: E402

RSS_MAX_KIB = 64 * 1024
SERVED_S = 2.0          # a local call must be answered within this
LOG_MAX = 3             # lines a refused kind of frame may leave in the log
_ids = itertools.count(1)


def chat(msg_id, content="hi", frm="bob", to="alice", **kw):
    """A chat message object (UPSTREAM.md) as JSON bytes."""
    d = {"id": msg_id, "fromId": frm, "toId": to, "chatType": "SINGLE",
         "msgType": "TEXT", "content": content, "status": "SENT",
         "createdAt": int(time.time() * 1000)}
    d.update(kw)
    return json.dumps(d).encode()


def message(body, dest="/user/queue/messages", headers=None):
    """A MESSAGE frame (with content-length) as bytes."""
    h = {"destination": dest, "subscription": "sub-1",
         "message-id": "x%d" % next(_ids),
         "content-type": "application/json"}
    h.update(headers or {})
    return encode_frame("MESSAGE", h, body)


class Watch:
    """Samples imgwd's RSS while a scenario runs; keeps the peak."""

    def __init__(self, pid):
        self.pid, self.peak, self._stop = pid, rss_kib(pid), False
        self._t = threading.Thread(target=self._run, daemon=True)
        self._t.start()

    def _run(self):
        while not self._stop:
            try:
                self.peak = max(self.peak, rss_kib(self.pid))
            except OSError:
                return
            time.sleep(0.02)

    def stop(self):
        self._stop = True
        self._t.join()
        return self.peak


def online_server(user="alice", extensions=None):
    """A fake server that answers CONNECT for user and nothing else."""
    ext = {"im-extensions": extensions} if extensions else {}

    def behave(conn, f):
        if f.command == "CONNECT":
            connected(conn, user, ext)
    return FakeServer(behave)


def start(env, srv, args=()):
    """imgwd (not verbose: only what it logs by default counts) online."""
    gw = env.gateway("alice", srv, verbose=False,
                     args=["--user", "alice"] + list(args))
    gw.wait_online()
    conn = srv.connections[-1]
    wait_for(lambda: any(f.command == "SUBSCRIBE" for f in conn.frames),
             "imgwd to subscribe")
    return gw, conn


def served(gw, peer="bob", limit=1000):
    """The local checks: alive, and three calls answered within SERVED_S."""
    check(gw.proc.alive(), "imgwd is alive (exit status %s)"
          % gw.proc.returncode())
    t = time.monotonic()
    r = Rpc(gw.sock, timeout=SERVED_S)
    try:
        r.call("rpc.ping", _timeout=SERVED_S)
        st = r.call("session.status", _timeout=SERVED_S)
        hist = r.call("message.history", _timeout=SERVED_S, user=peer,
                      limit=limit, order="oldest")["messages"]
    finally:
        r.close()
    took = time.monotonic() - t
    check(took < SERVED_S, "three local calls took %.2f s" % took)
    return st, hist


def delivered(gw, msg_id, timeout=15):
    """Wait until message msg_id is in the cache."""
    def look():
        try:
            return gw.call("message.get", id=msg_id)["message"]
        except Exception:
            return None
    return wait_for(look, "message %s to be stored" % msg_id, timeout=timeout)


def log_count(gw, pattern):
    return sum(1 for line in gw.log().splitlines() if re.search(pattern, line))


def check_logged_once(gw, pattern, what):
    n = log_count(gw, pattern)
    check(1 <= n <= LOG_MAX, "%s: logged %d times (want 1 to %d): %r"
          % (what, n, LOG_MAX, [x for x in gw.log().splitlines()
                                if re.search(pattern, x)][:5]))


def check_rss(watch, what):
    peak = watch.stop()
    check(peak < RSS_MAX_KIB, "%s: imgwd's RSS peaked at %d KiB (bound %d)"
          % (what, peak, RSS_MAX_KIB))
    return peak


# ------------------------------------------------------------------ cases

def test_frames_at_the_size_limits(env):
    """Frames up to 1 MiB are read; what breaks the 64 KiB limits is refused."""
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        w = Watch(gw.pid)
        at_limit = "é" * (32 * 1024)            # 64 KiB of UTF-8, the limit
        big = "x" * (1024 * 1024 - 400)          # a frame just under 1 MiB
        frames = [message(chat("ok-1"))]
        frames += [message(chat("big-%d" % i, big)) for i in range(40)]
        frames += [message(chat("wide-%d" % i, payload={
            "k%d" % j: j for j in range(40000)})) for i in range(40)]
        frames += [message(chat("limit-%d" % i, at_limit,
                                payload={"blob": "y" * 60000}))
                   for i in range(300)]
        frames += [message(chat("ok-2"))]
        conn.send_frames(frames, per_message=1)
        delivered(gw, "ok-2", timeout=40)
        # A page of 20 such messages (2.5 MiB) stays under the 4 MiB a
        # local client decodes (RPC_MAX_MESSAGE): see the report on paging.
        st, hist = served(gw, limit=20)
        check_eq(st["state"], "online", "still online")
        check_eq(hist[-1]["id"], "ok-2", "the last message")
        check_eq(gw.call("db.stats")["messages"], 302, "the two small "
                 "messages and the 300 at the limits are stored, no more")
        for i in ("big-0", "big-39", "wide-0", "wide-39"):
            expect_rpc_error("not_found", "over 64 KiB: not stored",
                             gw.call, "message.get", id=i)
        check_eq(gw.call("message.get", id="limit-7")["message"]["content"],
                 at_limit, "content at the limit comes back whole")
        check_logged_once(gw, "content is over 64 KiB", "oversized content")
        check_logged_once(gw, "are over 64 KiB", "oversized payload")
        check_rss(w, "frames at the limits")
    finally:
        srv.stop()


def test_frames_past_the_limits_back_off(env):
    """A frame over 1 MiB or 32 headers: dropped, reconnect with back-off."""
    srv = online_server()
    try:
        gw, conn = start(env, srv, args=["--backoff-max", "1"])
        w = Watch(gw.pid)
        big = b"x" * (1024 * 1024 + 10)

        def hostile(c, f):
            if f.command == "CONNECT":
                connected(c, "alice")
            elif f.command == "SUBSCRIBE" and \
                    f.headers.get("destination") == "/user/queue/messages":
                n = len(srv.connections)
                if n % 3 == 0:      # 33 headers
                    c.send_raw(message(chat("h"), headers={
                        "x-%d" % i: "1" for i in range(30)}))
                elif n % 3 == 1:    # content-length past the limit
                    c.send_raw(message(big))
                else:               # no content-length, no NUL: endless
                    c.send_split(b"MESSAGE\ndestination:/user/queue/messages"
                                 b"\n\n" + big, size=60000)
        srv.on_frame = hostile
        gw.call("session.reconnect")
        wait_for(lambda: len(srv.connections) >= 7, "six more connections",
                 timeout=20)
        opened = [c.opened for c in srv.connections[1:7]]
        gaps = [b - a for a, b in zip(opened, opened[1:])]
        check(min(gaps[2:]) >= 0.5, "reconnects back off to the 1 s cap "
              "(jittered), no storm: gaps %s" % ["%.2f" % g for g in gaps])
        st, _ = served(gw)
        check(st["state"] in ("backoff", "connecting", "syncing"),
              "not online: %r" % st)
        log = gw.log()
        for cause in ("too many headers", "frame too large"):
            check("malformed frame from server: %s" % cause in log,
                  "the log says %r" % cause)
        drops = log_count(gw, "level=warn.*malformed frame from server")
        check(drops <= len(srv.connections),
              "one warning per connection, at most: %d lines, %d connections"
              % (drops, len(srv.connections)))
        check_rss(w, "frames past the limits")
        # A server that behaves again gets the session back.
        srv.on_frame = lambda c, f: connected(c, "alice") \
            if f.command == "CONNECT" else None
        gw.wait_online(timeout=10)
    finally:
        srv.stop()


def test_one_frame_in_one_byte_messages(env):
    """An endless frame, one byte per WebSocket message: dropped at 1 MiB."""
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        w = Watch(gw.pid)
        endless = b"MESSAGE\ndestination:/user/queue/messages\n\n" + \
            b"y" * (1024 * 1024 + 100)
        t = time.monotonic()
        done = threading.Event()
        threading.Thread(target=lambda: (conn.send_split(endless, size=1),
                                         done.set()), daemon=True).start()
        slowest = 0.0
        while not conn.closed and time.monotonic() - t < 10:
            c0 = time.monotonic()
            served(gw)
            slowest = max(slowest, time.monotonic() - c0)
            time.sleep(0.05)
        took = time.monotonic() - t
        check(conn.closed, "imgwd hung up within 10 s (no rescan per byte)")
        st, _ = served(gw)
        check("frame too large" in st.get("reason", "") or
              "frame too large" in gw.log(),
              "the reason is the frame limit: %r" % st)
        check_rss(w, "a frame in one-byte messages")
        print("    # 1 MiB in 1-byte messages: dropped after %.1f s; slowest "
              "local answers %.3f s" % (took, slowest))
    finally:
        srv.stop()


def test_flood_faster_than_the_disk(env):
    """Small MESSAGE frames as fast as the socket takes them."""
    n = 100000
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        now = int(time.time() * 1000)
        frames = [message(chat("f%d" % i, "flood %d" % i, createdAt=now + i))
                  for i in range(n)]
        w = Watch(gw.pid)
        t = time.monotonic()
        threading.Thread(target=conn.send_frames, args=(frames, 200),
                         daemon=True).start()
        slowest = 0.0

        def last_stored():
            nonlocal slowest
            c0 = time.monotonic()
            check(gw.proc.alive(), "imgwd is alive")
            r = Rpc(gw.sock, timeout=SERVED_S)
            try:
                r.call("rpc.ping", _timeout=SERVED_S)
                r.call("session.status", _timeout=SERVED_S)
                try:
                    r.call("message.get", _timeout=SERVED_S, id="f%d" % (n - 1))
                    found = True
                except RpcError as e:
                    check_eq(e.code, "not_found", "message.get: %s" % e)
                    found = False
            finally:
                r.close()
            slowest = max(slowest, time.monotonic() - c0)
            return found
        wait_for(last_stored, "the flood's last message", timeout=40,
                 interval=0.1)
        took = time.monotonic() - t
        peak = check_rss(w, "a flood of %d messages" % n)
        check(slowest < SERVED_S, "local calls during the flood took up to "
              "%.2f s" % slowest)
        hist = gw.call("message.history", user="bob", limit=5)["messages"]
        check_eq(hist[0]["id"], "f%d" % (n - 1), "the newest is the last sent")
        print("    # %d messages stored in %.1f s (%.0f/s); peak RSS %d KiB; "
              "slowest local answers %.3f s" % (n, took, n / took, peak, slowest))
    finally:
        srv.stop()


def test_deep_and_wide_json(env):
    """Bodies nested deeper than 16 levels are refused; wide ones are read."""
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        ev = gw.rpc()
        ev.subscribe()
        w = Watch(gw.pid)
        deep_parse = b"[" * 500000 + b"]" * 500000     # past jansson's limit
        nest = {"v": 1}
        for _ in range(30):
            nest = {"n": nest}
        deep_payload = chat("deep", payload=nest)      # parses; too deep
        wide_body = json.loads(chat("wide"))
        wide_body.update({"x%d" % i: i for i in range(50000)})
        frames = [message(deep_parse)] * 20 + \
            [message(deep_payload)] * 200 + \
            [message(json.dumps(wide_body).encode())] + \
            [message(chat("after"))]
        conn.send_frames(frames, per_message=1)
        delivered(gw, "after", timeout=20)
        _, hist = served(gw)
        ids = [m["id"] for m in hist]
        check("deep" not in ids, "the deep payload is not stored")
        check("wide" in ids, "a wide body with a sound message is stored")
        # The subscribed client still decodes its events (nothing deeper
        # than RPC_MAX_DEPTH reached it).
        ev.wait_event(lambda e: e.get("type") == "message.new" and
                      e["message"]["id"] == "after", "the last message.new")
        check(not ev.closed, "the subscribed client is still connected")
        check_logged_once(gw, "not a JSON object", "unparseable bodies")
        check_logged_once(gw, "nested deeper than 16", "deep bodies")
        check_rss(w, "deep and wide JSON")
    finally:
        srv.stop()


def test_invalid_utf8_and_nul(env):
    """Invalid UTF-8 and NUL (\\u0000, or a raw byte) are refused."""
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        bad_utf8 = chat("u8", "AAAA").replace(b"AAAA", b"\xff\xfe\xc3")
        nul_escape = chat("nul", "a\u0000b")
        assert b"\\u0000" in nul_escape
        nul_raw = chat("raw", "aZb").replace(b"Z", b"\0")
        frames = [message(bad_utf8)] * 1000 + [message(nul_escape)] * 1000 + \
            [message(nul_raw)] * 1000 + [message(chat("fine", "naïve ☃"))]
        conn.send_frames(frames, per_message=50)
        delivered(gw, "fine")
        _, hist = served(gw)
        check_eq([m["id"] for m in hist], ["fine"], "only the sound message")
        check_eq(hist[0]["content"], "naïve ☃", "UTF-8 comes back intact")
        n = log_count(gw, "not a JSON object")
        check(1 <= n <= LOG_MAX, "3000 unparseable bodies, %d log lines" % n)
    finally:
        srv.stop()


def test_ids_outside_the_alphabet(env):
    """Message, user and group ids outside [A-Za-z0-9_.@-] are refused."""
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        bad = ["", "a b", "../../etc", "x" * 129, "é", "id\n", "a/b", "'--"]
        frames = []
        for _ in range(100):
            frames += [message(chat(b)) for b in bad]
            frames += [message(chat("f-" + str(next(_ids)), frm=b))
                       for b in bad]
            frames += [message(chat("t-" + str(next(_ids)), to=b))
                       for b in bad]
        frames += [message(chat("x" * 128)), message(chat("ok.id@-_1"))]
        conn.send_frames(frames, per_message=100)
        delivered(gw, "ok.id@-_1")
        _, hist = served(gw)
        check_eq(sorted(m["id"] for m in hist), sorted(["x" * 128, "ok.id@-_1"]),
                 "only ids inside the alphabet")
        check_logged_once(gw, "id is not 1-128", "bad message ids")
        check_logged_once(gw, "fromId or toId is not", "bad user ids")
    finally:
        srv.stop()


def test_created_at_far_in_the_future(env):
    """createdAt over a day ahead is taken as the arrival time."""
    srv = online_server()
    try:
        gw, conn = start(env, srv)
        now = int(time.time() * 1000)
        ten_years = now + 10 * 365 * 86400 * 1000
        soon = now + 3600 * 1000
        conn.send_frames([message(chat("future", createdAt=ten_years))] * 3 +
                         [message(chat("skewed", createdAt=soon)),
                          message(chat("later", createdAt=now + 1000))],
                         per_message=10)
        delivered(gw, "later")
        fut = gw.call("message.get", id="future")["message"]
        check(abs(fut["createdAt"] - now) < 60000,
              "clamped to the arrival time: %d (now %d)" % (fut["createdAt"], now))
        check_eq(gw.call("message.get", id="skewed")["message"]["createdAt"],
                 soon, "an hour ahead is kept")
        # Its revoke comes with the same createdAt: the time stays.
        conn.send_raw(message(chat("future", "", status="REVOKED",
                                   createdAt=ten_years)))
        wait_for(lambda: gw.call("message.get", id="future")["message"]
                 ["status"] == "REVOKED", "the revoke")
        check_eq(gw.call("message.get", id="future")["message"]["createdAt"],
                 fut["createdAt"], "the revoke keeps the clamped time")
        _, hist = served(gw)
        check_eq([m["id"] for m in hist], ["future", "later", "skewed"],
                 "history order")
        check_logged_once(gw, "createdAt", "clamped times")
    finally:
        srv.stop()


def test_replies_to_requests_never_made(env):
    """Replies and receipts nobody asked for are ignored; real ones still work."""
    srv = online_server(extensions="replies,events,seq")
    revokes = []

    def behave(conn, f):
        if f.command == "CONNECT":
            connected(conn, "alice", {"im-extensions": "replies,events,seq"})
        elif f.command == "SEND" and f.headers.get("destination") == \
                "/app/chat.sync":
            conn.send_raw(message(b'{"code":0,"data":{"count":0,"seq":0,'
                                  b'"more":false}}', "/user/queue/replies",
                                  {"request-id": f.headers["request-id"]}))
        elif f.command == "SEND" and f.headers.get("destination") == \
                "/app/chat.revoke":
            revokes.append(f)
            junk = [message(b'{"code":0,"data":{"id":"m1"}}',
                            "/user/queue/replies",
                            {"request-id": "~r%d" % (10 ** 6 + i)})
                    for i in range(900)]
            junk += [message(b"not json", "/user/queue/replies",
                             {"request-id": "nobody"})] * 100
            junk += [encode_frame("RECEIPT", {"receipt-id": "r%d" % i})
                     for i in range(1000)]
            revoked = json.loads(chat("m1", "", frm="alice", to="bob",
                                      status="REVOKED"))
            junk.append(message(json.dumps({"code": 0, "message": "ok",
                                            "data": revoked}).encode(),
                                "/user/queue/replies",
                                {"request-id": f.headers["request-id"]}))
            conn.send_frames(junk, per_message=100)
    srv.on_frame = behave
    try:
        gw, conn = start(env, srv)
        conn.send_raw(message(chat("m1", "mine", frm="alice", to="bob")))
        delivered(gw, "m1")
        r = gw.call("message.revoke", id="m1")
        check_eq(r["message"]["status"], "REVOKED", "the real reply answered")
        st, _ = served(gw)
        check_eq(st["state"], "online", "still online")
        check_logged_once(gw, "request never made", "unknown replies")
    finally:
        srv.stop()


def test_connected_for_another_user(env):
    """CONNECTED naming another user: refused, no identity switch, held."""
    def mallory(conn, f):
        if f.command == "CONNECT":
            # The message behind CONNECTED must not be read either.
            conn.send_raw(encode_frame("CONNECTED", {
                "version": "1.2", "heart-beat": "0,0",
                "user-name": "mallory"}) +
                message(chat("planted", frm="eve", to="mallory")))
    srv = FakeServer(mallory)
    try:
        gw = env.gateway("alice", srv, verbose=False, args=["--user", "alice"])
        st = gw.wait_state(lambda s: s["state"] == "auth_failed",
                           "auth_failed")
        check("mallory" in st["reason"] and "alice" in st["reason"],
              "the reason names both users: %r" % st["reason"])
        hold = len(srv.connections)
        time.sleep(1.5)
        check_eq(len(srv.connections), hold, "no reconnect while held")
        check(not any(f.command == "SUBSCRIBE" for c in srv.connections
                      for f in c.frames), "nothing subscribed")
        st, _ = served(gw, peer="eve")
        check_eq(st.get("user"), "alice", "still alice: %r" % st)
        try:
            gw.call("message.get", id="planted")
            check(False, "the message behind CONNECTED was stored")
        except Exception as e:
            check("no message" in str(e), "message.get: %s" % e)
        # A MESSAGE before CONNECTED, and a second CONNECTED: both dropped.
        seen = []

        def early(conn, f):
            if f.command == "CONNECT":
                seen.append(conn)
                if len(seen) == 1:
                    conn.send_raw(message(chat("early")))
                else:
                    connected(conn, "alice")
                    connected(conn, "alice")
        srv.on_frame = early
        gw.call("session.reconnect")
        wait_for(lambda: len(seen) >= 2 and seen[1].closed, "two drops",
                 timeout=15)
        log = gw.log()
        check("server sent MESSAGE before CONNECTED" in log, "early MESSAGE")
        check("server sent CONNECTED again after CONNECTED" in log,
              "second CONNECTED")
        # The right user comes back online.
        srv.on_frame = lambda c, f: connected(c, "alice") \
            if f.command == "CONNECT" else None
        gw.wait_online(timeout=15)
        check(not gw.call("message.history", user="bob")["messages"],
              "nothing from before CONNECTED was stored")
    finally:
        srv.stop()


if __name__ == "__main__":
    run()
