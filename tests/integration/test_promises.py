#!/usr/bin/python3
"""
Promises of proto/RPC.md and the README that no other scenario held the
daemon to, each with both halves (what must happen, and what must not):
the 256-waiting-requests cap, the 64 MiB hard output limit, --allow-group,
events.unsubscribe, db.check finding damage and db.vacuum, conversation.list
paging, the conversation.deleted event, message.history with after (and
not_found for an unknown before/after), --stomp-host and --stomp-login on
the wire, and the limits of message.broadcast, batch and ids.
"""
import base64
import hashlib
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (Gateway, TestFailure, check,  # noqa: E402
                     check_eq, expect_rpc_error, is_msg_event, run, wait_for)
from test_rpc_limits import PROBE  # noqa: E402

MiB = 1 << 20
NOBODY = 65534
WAITING_MAX = 256	# RPC.md: requests of one client that may wait at once


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def code_of(err):
    return err.get("code") if isinstance(err, dict) else err


def offline_gateway(env, user="alice", args=()):
    """An imgwd whose server never answers (a closed port): cache only."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    gw = Gateway(env, user, "ws://127.0.0.1:%d/ws/im" % port, env.token(user),
                 args=args)
    return gw.start()


def sent_all(gw, peer, ids):
    """Whether every id in ids is SENT in gw's conversation with peer."""
    st = {m["id"]: m["status"] for m in gw.history_all(peer)}
    return all(st.get(i) == "SENT" for i in ids)


def stats_messages(gw):
    return gw.call("db.stats")["messages"]


# ---------------------------------------------------------------- busy

def test_256_waiting_requests_then_busy(env):
    srv = env.server()
    # A watchdog too slow to notice the frozen server during the test.
    alice = env.gateway("alice", srv, args=["--ping-interval", "60",
                                            "--ping-timeout", "120"])
    alice.wait_online()
    c = alice.rpc()
    other = alice.rpc()
    n = WAITING_MAX + 4
    # friend.check needs the server; a frozen server never answers it, so
    # every one of them waits (SIGSTOP: the socket stays open, unread).
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        c.send_raw(b"".join(pack([0, i, "friend.check", [{"users": ["bob"]}]])
                            for i in range(1, n + 1)))
        wait_for(lambda: len(c.responses) >= n - WAITING_MAX or not c.pump(0.2),
                 "the requests past %d to be answered at once" % WAITING_MAX)
        early = sorted(c.responses)
        check_eq(early, list(range(WAITING_MAX + 1, n + 1)),
                 "msgids answered while the server is frozen")
        check_eq(sorted(set(code_of(c.responses[i][0]) for i in early)),
                 ["busy"], "the code of the requests past the cap")
        # The cap is per client: another connection's request still waits.
        mine = other.request("friend.check", [{"users": ["bob"]}])
        check_eq(alice.status()["state"], "online",
                 "the session with the server frozen")
    finally:
        os.kill(srv.pid, signal.SIGCONT)
    # The 256 that waited are answered with results, not busy.
    for i in range(1, WAITING_MAX + 1):
        err, res = c.response(i, timeout=30)
        check(err is None and res[0]["userId"] == "bob",
              "request %d that waited: %r %r" % (i, err, res))
    err, res = other.response(mine, timeout=30)
    check(err is None, "the other client's request was not busy: %r" % (err,))
    # Answered, they free the cap: another 256 at once are all accepted.
    c.send_raw(b"".join(pack([0, i, "friend.check", [{"users": ["bob"]}]])
                        for i in range(1000, 1000 + WAITING_MAX)))
    for i in range(1000, 1000 + WAITING_MAX):
        err, res = c.response(i, timeout=30)
        check(err is None, "request %d after the cap freed: %r" % (i, err))


# ---------------------------------------------------------------- 64 MiB

def test_output_over_64_mib_disconnects(env):
    gw = offline_gateway(env)
    text = "x" * 60000
    for i in range(20):
        gw.call("message.send", user="bob", text=text)
    page = gw.call("message.history", user="bob", limit=20)
    check_eq(len(page["messages"]), 20, "messages stored")
    one = len(pack(page))		# ~1.2 MB an answer

    def batch(calls):
        return pack([0, 1, "batch", [{"calls": [
            {"method": "message.history", "params": {"user": "bob",
                                                     "limit": 20}}] * calls}]])

    def queued(name):
        for cl in gw.call("client.list")["clients"]:
            if cl["name"] == name:
                return cl["queued"]
        return None

    # Under the limit (~54 MB unread): kept, and it gets all of it.
    below = 54 * 1000 * 1000 // one
    ok = gw.rpc()
    ok.call("client.hello", name="below")
    ok.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ok.send_raw(batch(below))
    wait_for(lambda: (queued("below") or 0) > 48 * MiB,
             "the daemon to queue ~54 MB for a client not reading")
    check(queued("below") < 64 * MiB, "the answer is under 64 MiB: %d"
          % queued("below"))
    err, res = ok.response(1, timeout=60)
    check(err is None and len(res["results"]) == below and
          all(len(r["result"]["messages"]) == 20 for r in res["results"]),
          "the whole ~54 MB answer arrived")
    check_eq(ok.call("rpc.ping"), "pong", "the client under the limit")

    # Over it (~72 MB in one answer): hung up on; the daemon stays.
    over = 72 * 1000 * 1000 // one
    hog = gw.rpc()
    hog.call("client.hello", name="over")
    hog.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hog.send_raw(batch(over))
    wait_for(lambda: queued("over") is None,
             "the client over 64 MiB to leave client.list", timeout=30)
    check(hog.wait_closed(30), "the connection over 64 MiB was closed")
    check(1 not in hog.responses, "no whole answer over 64 MiB arrived")
    check(gw.proc.alive(), "imgwd is still running")
    check_eq(gw.call("rpc.ping"), "pong", "imgwd still answers")
    check("output limit exceeded" in gw.log(), "imgwd's log says why it "
          "hung up")


# ---------------------------------------------------------------- --allow-group

def probe_as(sock, uid, gid):
    """Run PROBE (test_rpc_limits) as uid:gid, no other groups; its report."""
    r = subprocess.run(["setpriv", "--reuid=%d" % uid, "--regid=%d" % gid,
                        "--clear-groups", "/usr/bin/python3", "-I", "-c", PROBE,
                        sock], capture_output=True, text=True, timeout=20,
                       cwd="/", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    check_eq(r.returncode, 0, "the probe as %d:%d (stderr %r)"
             % (uid, gid, r.stderr))
    return json.loads(r.stdout)


def test_allow_group_end_to_end(env):
    check_eq(os.getuid(), 0, "this test runs as root (to become nobody)")
    os.chmod(env.dir, 0o711)
    group, stranger = 4242, 4343	# numeric gids: no /etc/group needed
    gw = offline_gateway(env, args=["--allow-group", str(group)])
    d = os.path.dirname(gw.sock)
    check_eq(oct(stat.S_IMODE(os.stat(d).st_mode)), oct(0o710),
             "mode of the socket directory with --allow-group")
    check_eq(oct(stat.S_IMODE(os.lstat(gw.sock).st_mode)), oct(0o660),
             "mode of the socket with --allow-group")
    check_eq((os.stat(d).st_gid, os.lstat(gw.sock).st_gid), (group, group),
             "group owner of the directory and the socket")

    p = probe_as(gw.sock, NOBODY, group)
    a = p.get("answers", {})
    check_eq(a.get("2"), [None, "pong"], "rpc.ping of a peer whose primary "
             "group is allowed (report %r)" % p)

    # The other half: another group gets nowhere, by mode or by SO_PEERCRED.
    p = probe_as(gw.sock, NOBODY, stranger)
    check(p.get("connect_errno") is not None or not p.get("answers"),
          "a peer of another group was served: %r" % p)
    os.chmod(d, 0o711)			# loosened behind imgwd's back
    os.chmod(gw.sock, 0o666)
    p = probe_as(gw.sock, NOBODY, stranger)
    check("connect_errno" not in p, "the loosened socket is reachable: %r" % p)
    check(not p.get("answers"), "SO_PEERCRED refuses another group: %r" % p)
    check_eq(gw.call("rpc.ping"), "pong", "the daemon still serves us")


# ---------------------------------------------------------------- events.unsubscribe

def test_events_unsubscribe_stops_the_stream(env):
    srv, alice, bob = env.pair()
    c = alice.rpc()
    me = c.call("client.hello", name="unsub")["id"]
    watcher = alice.rpc()
    watcher.subscribe()
    c.subscribe()
    first = alice.call("message.send", user="bob", text="before")["id"]
    c.wait_event(is_msg_event("message.status", first), "the first status")

    check_eq(c.call("events.unsubscribe"), {}, "events.unsubscribe's answer")
    mine = [x for x in c.call("client.list")["clients"] if x["id"] == me]
    check_eq(mine[0]["subscribed"], False, "client.list after unsubscribing")
    n = len(c.events)
    second = alice.call("message.send", user="bob", text="after")["id"]
    watcher.wait_event(is_msg_event("message.status", second),
                       "another subscriber to get the second status")
    # Events go out in the turn they are committed; an answer asked for
    # after that turn comes after anything that turn queued for c.
    check_eq(c.call("rpc.ping"), "pong", "ping after unsubscribing")
    check_eq(c.events[n:], [], "events after events.unsubscribe")

    # Subscribing again resumes; since replays what was missed.
    c.subscribe(since=max(e["seq"] for e in c.events))
    c.wait_event(is_msg_event("message.status", second),
                 "the missed status after subscribing again")


# ---------------------------------------------------------------- db.*

def test_db_check_finds_damage(env):
    gw = offline_gateway(env)
    for i in range(5):
        gw.call("message.send", user="bob", text="搜索索引 %d" % i)
    check_eq(gw.call("db.check"), {"ok": True}, "db.check of a sound database")
    gw.stop()
    # Take one message out of the trigram index with the wrong content:
    # the index no longer matches the table it indexes.
    r = subprocess.run(["sqlite3", gw.db,
                        "INSERT INTO message_fts(message_fts, rowid, content) "
                        "SELECT 'delete', rowid, 'nothing like it' FROM "
                        "messages LIMIT 1;"],
                       capture_output=True, text=True, timeout=20)
    check_eq(r.returncode, 0, "sqlite3 damaging the index (stderr %r)"
             % r.stderr)
    gw.start()
    res = gw.call("db.check")
    check_eq(res.get("ok"), False, "db.check of a damaged index (%r)" % res)
    check(isinstance(res.get("problem"), str) and res["problem"],
          "db.check names the problem: %r" % res)


def test_db_vacuum_compacts_and_keeps(env):
    srv, alice, bob = env.pair()
    text = "压缩" * 5000
    ids = [alice.call("message.send", user="bob", text=text)["id"]
           for _ in range(60)]
    keep = alice.call("message.send", user="carol", text="留下")["id"]
    wait_for(lambda: sent_all(alice, "bob", ids) and
             sent_all(alice, "carol", [keep]), "the messages to be SENT")
    alice.call("conversation.delete", user="bob")
    before = alice.call("db.stats")
    res = alice.call("db.vacuum")
    for k in ("messages", "conversations", "events", "outbox", "bytes",
              "schema", "path"):
        check(k in res, "db.vacuum answers the stats (%s): %r" % (k, res))
    check(res["bytes"] < before["bytes"] - 1 * MiB,
          "db.vacuum shrank the file: %d -> %d bytes"
          % (before["bytes"], res["bytes"]))
    check_eq(res["messages"], before["messages"], "messages after vacuuming")
    check_eq([m["id"] for m in alice.history("carol")], [keep],
             "carol's conversation after vacuuming")
    check_eq(alice.call("db.check"), {"ok": True}, "db.check after vacuuming")


# ---------------------------------------------------------------- conversations

def test_conversation_list_paging(env):
    gw = offline_gateway(env)
    peers = ["p%d" % i for i in range(7)]
    for p in peers:
        gw.call("message.send", user=p, text="hi " + p)
    gw.call("conversation.pin", user="p2", pinned=True)
    full = gw.call("conversation.list", limit=100)
    check_eq(full["more"], False, "more of the whole list")
    keys = [c["conversation"]["user"] for c in full["conversations"]]
    check_eq(sorted(keys), peers, "conversations listed")
    check_eq(keys[0], "p2", "the pinned conversation first")
    ats = [c["lastAt"] for c in full["conversations"][1:]]
    check_eq(ats, sorted(ats, reverse=True), "then by last activity")

    pages, offset = [], 0
    while True:
        page = gw.call("conversation.list", limit=3, offset=offset)
        got = [c["conversation"]["user"] for c in page["conversations"]]
        pages.append((got, page["more"]))
        offset += 3
        if not page["more"]:
            break
        check(len(pages) < 10, "paging ends")
    check_eq(pages, [(keys[0:3], True), (keys[3:6], True), (keys[6:], False)],
             "pages of 3 (users, more)")
    end = gw.call("conversation.list", limit=3, offset=7)
    check_eq((end["conversations"], end["more"]), ([], False),
             "a page past the end")
    expect_rpc_error("bad_params", "limit 0", gw.call, "conversation.list",
                     limit=0)


def test_conversation_deleted_event(env):
    gw = offline_gateway(env)
    for p in ("bob", "carol"):
        gw.call("message.send", user=p, text="hi " + p)
    c = gw.rpc()
    c.subscribe()
    check_eq(gw.call("conversation.delete", user="bob"), {},
             "conversation.delete's answer")
    e = c.wait_event(lambda e: e["type"] == "conversation.deleted",
                     "conversation.deleted")
    check_eq(e["conversation"], {"user": "bob"}, "the deleted conversation")
    expect_rpc_error("not_found", "conversation.get after deleting",
                     gw.call, "conversation.get", user="bob")
    check_eq(gw.history("bob"), [], "bob's cached messages after deleting")
    # The other conversation is untouched and gets no such event.
    gw.call("conversation.pin", user="carol", pinned=True)
    c.wait_event(lambda e: e["type"] == "conversation.changed" and
                 e["conversation"]["conversation"] == {"user": "carol"},
                 "the marker: carol's conversation.changed")
    check_eq([e["conversation"] for e in c.events
              if e["type"] == "conversation.deleted"], [{"user": "bob"}],
             "conversation.deleted events")
    check_eq(len(gw.history("carol")), 1, "carol's messages")


def test_history_after_and_unknown_anchor(env):
    gw = offline_gateway(env)
    ids = [gw.call("message.send", user="bob", text="m%d" % i)["id"]
           for i in range(6)]

    def page(**kw):
        r = gw.call("message.history", user="bob", **kw)
        return [m["id"] for m in r["messages"]], r["more"]

    check_eq(page(after=ids[1], limit=2, order="oldest"), (ids[2:4], True),
             "after the 2nd, 2 oldest first")
    check_eq(page(after=ids[1], limit=2), ([ids[3], ids[2]], True),
             "after the 2nd, 2 newest first")
    check_eq(page(after=ids[3], limit=5, order="oldest"), (ids[4:], False),
             "after the 4th, to the end")
    check_eq(page(after=ids[5]), ([], False), "after the newest")
    check_eq(page(before=ids[3], limit=2, order="oldest"), (ids[1:3], True),
             "before the 4th, 2")
    for anchor in ("before", "after"):
        expect_rpc_error("not_found", "an unknown %s" % anchor, gw.call,
                         "message.history", user="bob", limit=5,
                         **{anchor: "no-such-message"})
    # Known, but in another conversation: not an anchor here either.
    other = gw.call("message.send", user="carol", text="elsewhere")["id"]
    expect_rpc_error("not_found", "after a message of another conversation",
                     gw.call, "message.history", user="bob", after=other)


# ---------------------------------------------------------------- STOMP CONNECT

def ws_accept(sock, timeout=10):
    """Answer one WebSocket handshake on sock (a server); the request head."""
    sock.settimeout(timeout)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise TestFailure("imgwd closed during the handshake")
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    key = [ln.split(":", 1)[1].strip() for ln in head.split("\r\n")
           if ln.lower().startswith("sec-websocket-key:")][0]
    acc = base64.b64encode(hashlib.sha1(
        (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest())
    sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                 b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc +
                 b"\r\n\r\n")
    return head


def ws_read_text(sock):
    """Read WebSocket frames until a whole text message (clients mask)."""
    buf, text = b"", b""

    def need(n):
        nonlocal buf
        while len(buf) < n:
            chunk = sock.recv(65536)
            if not chunk:
                raise TestFailure("imgwd closed before a whole message")
            buf += chunk
    while True:
        need(2)
        b0, b1 = buf[0], buf[1]
        n, off = b1 & 0x7F, 2
        if n == 126:
            need(4)
            n, off = struct.unpack("!H", buf[2:4])[0], 4
        elif n == 127:
            need(10)
            n, off = struct.unpack("!Q", buf[2:10])[0], 10
        need(off + 4 + n)
        mask, body = buf[off:off + 4], buf[off + 4:off + 4 + n]
        buf = buf[off + 4 + n:]
        body = bytes(x ^ mask[i % 4] for i, x in enumerate(body))
        if b0 & 0x0F in (0, 1):
            text += body
            if b0 & 0x80:
                return text.decode()


def connect_frame(env, gw):
    """Start gw against a one-shot fake upstream; the CONNECT's headers."""
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(1)
    ls.settimeout(10)
    gw.upstream = "ws://127.0.0.1:%d/ws/im" % ls.getsockname()[1]
    gw.start()
    try:
        s, _ = ls.accept()
    finally:
        ls.close()
    try:
        ws_accept(s)
        frame = ws_read_text(s)
    finally:
        s.close()
    gw.stop()
    lines = frame.split("\0", 1)[0].split("\n")
    check_eq(lines[0], "CONNECT", "the first frame's command")
    headers = {}
    for ln in lines[1:]:
        if not ln:
            break
        k, _, v = ln.partition(":")
        headers.setdefault(k, v)
    return headers


def test_stomp_host_and_login_on_the_wire(env):
    srv = env.server()
    # Default: the URL's host, no login.
    plain = Gateway(env, "alice", srv.url, env.token("alice"))
    h = connect_frame(env, plain)
    check_eq(h.get("host"), "127.0.0.1", "host header by default")
    check("login" not in h and "passcode" not in h,
          "no login or passcode without --stomp-login: %r" % sorted(h))

    # Learn our own id from the real server first, then look at the wire.
    gw = Gateway(env, "bob", srv.url, env.token("bob"),
                 args=["--stomp-host", "im-vhost", "--stomp-login"])
    gw.start()
    gw.wait_online()
    gw.stop()
    h = connect_frame(env, gw)
    check_eq(h.get("host"), "im-vhost", "host header with --stomp-host")
    check_eq(h.get("login"), "bob", "login header with --stomp-login")
    check_eq(h.get("passcode"), gw.token, "passcode header with --stomp-login")
    check_eq(h.get("Authorization"), "Bearer " + gw.token,
             "the Authorization header is still sent")


# ---------------------------------------------------------------- limits

def test_broadcast_batch_ids_limits(env):
    srv, alice, bob = env.pair()
    n0 = stats_messages(alice)
    users = ["u%d" % i for i in range(501)]
    expect_rpc_error("bad_params", "broadcast to 501 users", alice.call,
                     "message.broadcast", users=users, text="太多")
    check_eq(stats_messages(alice), n0, "messages stored by a refused broadcast")
    res = alice.call("message.broadcast", users=users[:500], text="五百")
    check_eq(sorted(x["user"] for x in res["messages"]), sorted(users[:500]),
             "users of a broadcast to 500")
    check_eq(len(set(x["id"] for x in res["messages"])), 500,
             "one message each")
    check_eq(stats_messages(alice), n0 + 500, "messages after the broadcast")

    # batch: 1000 calls run, 1001 none (the one send in it stays unsent).
    calls = [{"method": "rpc.ping"}] * 1000
    res = alice.call("batch", calls=calls)["results"]
    check_eq(res, [{"result": "pong"}] * 1000, "a batch of 1000")
    over = calls + [{"method": "message.send",
                     "params": {"user": "bob", "text": "x", "id": "b1001"}}]
    expect_rpc_error("bad_params", "a batch of 1001", alice.call, "batch",
                     calls=over)
    expect_rpc_error("not_found", "the send inside the refused batch",
                     alice.call, "message.get", id="b1001")

    # ids: 1000 are handled, 1001 are refused and nothing is deleted.
    two = [alice.call("message.send", user="bob", text="删 %d" % i)["id"]
           for i in range(2)]
    wait_for(lambda: sent_all(alice, "bob", two), "two messages SENT")
    fake = ["none-%d" % i for i in range(1000)]
    expect_rpc_error("bad_params", "message.delete of 1001 ids", alice.call,
                     "message.delete", ids=[two[0]] + fake)
    check_eq(alice.call("message.get", id=two[0])["message"]["id"], two[0],
             "a message named in a refused delete of 1001")
    r = alice.call("message.delete", ids=[two[0]] + fake[:999])
    check_eq(r["deleted"], [two[0]], "deleted by 1000 ids")
    check_eq(len(r["failed"]), 999, "failed of 1000 ids")
    check_eq(sorted(set(f["error"]["code"] if isinstance(f["error"], dict)
                        else f["error"] for f in r["failed"])),
             ["not_found"], "why unknown ids failed")
    expect_rpc_error("not_found", "the deleted message", alice.call,
                     "message.get", id=two[0])


if __name__ == "__main__":
    run()
