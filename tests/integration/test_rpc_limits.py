#!/usr/bin/python3
"""
The local protocol at its limits (proto/RPC.md): 10,000 requests pipelined in
one write, each answered once; replay after a disconnect; topic filters; a
subscriber that stops reading gets "lagged" and is dropped while everyone
else goes on; garbage costs only its own connection; other users are refused
unless allowed; client.hello/client.list and rpc.describe say what they must.
"""
import errno
import json
import os
import random
import re
import socket
import stat
import subprocess
import sys
import threading
import time

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ROOT, ConnectionClosed, TestFailure, check,  # noqa: E402
                     check_eq, is_msg_event, rss_kib, run, wait_for)

MiB = 1 << 20
NOBODY = 65534
PIPELINED = 10000


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def seqs(events):
    return [e["seq"] for e in events]


def send_and_settle(gw, peer, texts):
    """Send texts from gw to peer; wait until all are SENT. Their ids."""
    ids = [gw.call("message.send", user=peer, text=t)["id"] for t in texts]
    wait_for(lambda: all(m["status"] == "SENT" for m in gw.history(peer)
                         if m["id"] in ids) and
             len([m for m in gw.history(peer) if m["id"] in ids]) == len(ids),
             "%d messages to %s to be SENT" % (len(ids), peer), timeout=20)
    return ids


def drain_until(conn, pred, what, timeout=10):
    """Read conn until pred() is true; fail after timeout."""
    deadline = time.monotonic() + timeout
    while not pred():
        left = deadline - time.monotonic()
        if left <= 0:
            raise TestFailure("timed out after %ds waiting for %s" % (timeout, what))
        if not conn.pump(min(left, 0.2)) and not pred():
            raise ConnectionClosed("connection closed while waiting for %s" % what)


def barrier(conn):
    """
    Read conn up to the answer of a ping sent now: everything the daemon
    queued for it in earlier loop turns (events of what has already been
    seen elsewhere, duplicates) arrives before that answer. A condition,
    not a quiet window that a slow machine could make too short.
    """
    check_eq(conn.call("rpc.ping"), "pong", "the barrier's ping")


# ---------------------------------------------------------------- pipelining

def test_pipelined_10000_requests_in_one_write(env):
    srv, alice, bob = env.pair()
    # Something in the cache for message.history and message.get to find.
    sent = send_and_settle(alice, "bob", ["pipelined"])[0]

    # msgids across the whole 32-bit range, with 0 and the largest.
    rnd = random.Random(20240611)
    ids = sorted(set([0, 0xFFFFFFFF] + rnd.sample(range(1, 0xFFFFFFFF), PIPELINED * 2)))
    rnd.shuffle(ids)
    ids = ids[:PIPELINED]
    kinds = ["ping", "status", "history", "get", "missing", "nomethod",
             "badparams"]
    want = {}
    reqs = []
    for n, msgid in enumerate(ids):
        kind = kinds[n % len(kinds)] if n % 3 == 0 else "ping"
        want[msgid] = kind
        if kind == "ping":
            reqs.append([0, msgid, "rpc.ping", []])
        elif kind == "status":
            reqs.append([0, msgid, "session.status", [{}]])
        elif kind == "history":
            reqs.append([0, msgid, "message.history", [{"user": "bob", "limit": 1}]])
        elif kind == "get":
            reqs.append([0, msgid, "message.get", [{"id": sent}]])
        elif kind == "missing":
            reqs.append([0, msgid, "message.get", [{"id": "no-such-%d" % n}]])
        elif kind == "nomethod":
            reqs.append([0, msgid, "no.such.method.%d" % n, [{}]])
        else:
            reqs.append([0, msgid, "message.history", [{"user": 7}]])
    blob = b"".join(pack(r) for r in reqs)

    c = alice.rpc()
    got = {}
    dups = []

    def take(obj):
        if isinstance(obj, list) and len(obj) == 4 and obj[0] == 1:
            if obj[1] in got:
                dups.append(obj[1])
            got[obj[1]] = (obj[2], obj[3])
    c._take = take		# count every response, duplicates too

    # One write of all of it, while this thread reads what comes back.
    wrote = []
    w = threading.Thread(target=lambda: wrote.append(c.send_raw(blob)))
    t0 = time.monotonic()
    w.start()
    drain_until(c, lambda: len(got) >= len(ids) or dups,
                "answers to %d pipelined requests (have %d)" % (len(ids), len(got)),
                timeout=60)
    w.join(10)
    dt = time.monotonic() - t0
    check_eq(wrote, [True], "the one write of %d bytes went through" % len(blob))
    # A duplicate would be queued before the answer to a later request
    # (these are all answered at once, in order): wait for that answer.
    sentinel = next(i for i in range(1, 1 << 32) if i not in want)
    c.send_raw(pack([0, sentinel, "rpc.ping", []]))
    drain_until(c, lambda: sentinel in got, "the answer to a later ping")
    del got[sentinel]
    check_eq(dups, [], "msgids answered twice")
    check_eq(sorted(got), sorted(ids), "the set of answered msgids")

    wrong = []
    for msgid, kind in want.items():
        err, res = got[msgid]
        code = err.get("code") if isinstance(err, dict) else err
        ok = {
            "ping": err is None and res == "pong",
            "status": err is None and isinstance(res, dict) and res.get("state") == "online",
            "history": err is None and isinstance(res, dict) and
            [m["id"] for m in res.get("messages", [])] == [sent],
            "get": err is None and isinstance(res, dict) and
            (res.get("message") or {}).get("id") == sent,
            "missing": code == "not_found" and res is None,
            "nomethod": code == "no_such_method" and res is None,
            "badparams": code == "bad_params" and res is None,
        }[kind]
        if not ok:
            wrong.append((msgid, kind, err, res))
    check(not wrong, "%d answers do not fit their request, e.g. %r"
          % (len(wrong), wrong[:5]))
    check(dt < 30, "10,000 pipelined requests took %.1fs" % dt)
    del c._take
    check_eq(c.call("rpc.ping"), "pong", "the same connection afterwards")


# ---------------------------------------------------------------- replay

def test_replay_after_disconnect_then_live(env):
    srv, alice, bob = env.pair()
    first = alice.rpc()
    head = first.subscribe()
    first.close()				# gone while events happen

    missed = send_and_settle(alice, "bob", ["missed %d" % i for i in range(3)])
    alice.call("conversation.pin", user="bob", pinned=True)
    now = alice.call("events.subscribe")["seq"]	# a throw-away look at head
    check(now >= head + 7, "at least 3 new, 3 status and a conversation event "
          "were logged: head %d -> %d" % (head, now))

    again = alice.rpc()
    again.subscribe(since=head)
    drain_until(again, lambda: any(e["seq"] >= now for e in again.events),
                "the replay up to seq %d" % now)
    got = seqs(again.events)
    check_eq(got[:now - head], list(range(head + 1, now + 1)),
             "replayed seqs: exactly the missed events, once each")
    new = [e["message"]["id"] for e in again.events
           if e["type"] == "message.new"]
    check_eq(new, missed, "message.new events in the replay")
    for i in missed:
        st = [e["status"] for e in again.events
              if is_msg_event("message.status", i)(e)]
        check_eq(st, ["SENT"], "message.status events for %s" % i)
    check(any(e["type"] == "conversation.changed" for e in again.events),
          "the conversation.changed of the pin was replayed")

    # Then live ones, with no gap and no repeat.
    live = send_and_settle(alice, "bob", ["live 1", "live 2"])
    for i in live:
        again.wait_event(is_msg_event("message.status", i),
                         "live message.status for %s" % i)
    got = seqs(again.events)
    check_eq(got, list(range(head + 1, head + 1 + len(got))),
             "seqs of replay then live (no gap, no repeat)")
    check_eq([e["message"]["id"] for e in again.events
              if e["type"] == "message.new"], missed + live,
             "message.new events of replay then live")


# ---------------------------------------------------------------- topics

def test_topics_filter_events(env):
    srv, alice, bob = env.pair()
    everything = alice.rpc()
    head = everything.subscribe()
    only_status = alice.rpc()
    only_status.call("events.subscribe", topics=["message.status"])
    message = alice.rpc()
    message.call("events.subscribe", topics=["message"])
    mixed = alice.rpc()
    mixed.call("events.subscribe", topics=["conversation", "unread.changed"])
    replay = alice.rpc()
    replay.call("events.subscribe", since=0, topics=["session.state"])

    send_and_settle(alice, "bob", ["topic 1", "topic 2"])
    alice.call("conversation.pin", user="bob", pinned=True)
    alice.call("conversation.read", user="bob")
    marker = send_and_settle(alice, "bob", ["marker"])[0]
    for conn in (everything, only_status, message):
        conn.wait_event(is_msg_event("message.status", marker),
                        "the marker's status")
    # mixed sees no message event, replay only its own: once everything
    # has seen the marker, a ping on each is answered after what it missed.
    drain_until(replay, lambda: len(replay.events) >= 3,
                "three replayed session states")
    for conn in (mixed, replay, everything, only_status, message):
        barrier(conn)

    def types(conn):
        return sorted(set(e["type"] for e in conn.events))

    def expect(conn, pred, what):
        want = [e for e in everything.events if pred(e["type"])]
        got = [e for e in conn.events if e["seq"] > head]
        check_eq(got, want, "events of the subscriber to %s (types %r)"
                 % (what, types(conn)))

    check(len(types(everything)) >= 4, "several kinds of events happened: %r"
          % types(everything))
    expect(only_status, lambda t: t == "message.status", "message.status")
    expect(message, lambda t: t.startswith("message."), "message")
    expect(mixed, lambda t: t.startswith("conversation.") or
           t == "unread.changed", "conversation, unread.changed")
    check(mixed.events, "conversation events happened for the pin and read")
    check_eq(sorted(set(e["type"] for e in replay.events)), ["session.state"],
             "types replayed since 0 with topics [session.state]")
    check_eq([e["state"] for e in replay.events][:3],
             ["connecting", "syncing", "online"], "session states replayed")

    # Subscribing again replaces the topics.
    only_status.call("events.subscribe", topics=["message.new"])
    again = send_and_settle(alice, "bob", ["after resubscribe"])[0]
    only_status.wait_event(is_msg_event("message.new", again),
                           "message.new after changing topics")
    message.wait_event(is_msg_event("message.status", again), "status")
    barrier(only_status)
    check(not any(e["type"] == "message.status" and e["id"] == again
                  for e in only_status.events),
          "no message.status after changing topics to message.new")

    # More than 64 topics is refused.
    err, res = alice.rpc().call_params("events.subscribe",
                                       [{"topics": ["t%d" % i for i in range(65)]}])
    code = err.get("code") if isinstance(err, dict) else err
    check(code in ("bad_params", "too_large"),
          "65 topics: expected bad_params (or too_large), got %r %r" % (err, res))


# ---------------------------------------------------------------- slow client

def test_slow_subscriber_gets_lagged_and_is_dropped(env):
    srv = env.server()
    alice = env.gateway("alice", srv, args=["--client-stall", "1"])
    bob = env.gateway("bob", srv)
    alice.wait_online()
    bob.wait_online()

    slow = alice.rpc()
    slow_id = slow.call("client.hello", name="slow")["id"]
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    head = slow.subscribe()		# and from now on, never read
    sender = alice.rpc()
    control = alice.rpc()
    control.call("client.hello", name="control")

    def slow_entry():
        for c in control.call("client.list")["clients"]:
            if c["id"] == slow_id:
                return c
        return None

    text = "慢" * (20 * 1024)		# 60 KiB of UTF-8 a message
    ids, worst, seen = [], 0.0, []
    for i in range(80):			# up to ~5 MiB of message.new alone
        ids.append(sender.call("message.send", user="bob", text=text)["id"])
        t0 = time.monotonic()
        check_eq(control.call("rpc.ping"), "pong", "ping while a client lags")
        worst = max(worst, time.monotonic() - t0)
        e = slow_entry()
        if e is None:
            break
        seen.append(e)
        if i >= 30 and e["queued"] < MiB:
            break			# it is draining somehow: stop producing
    # The daemon lags it (RPC.md): it keeps only the rest of a partly
    # written message, queues "lagged", and waits --client-stall seconds
    # for the client to read that before hanging up. Read it now.
    wait_for(lambda: any("lagged at seq" in ln for ln in alice.log().splitlines()),
             "the daemon to lag the slow client", timeout=10)
    slow.sock.settimeout(5)
    raw = bytearray()
    while True:
        try:
            chunk = slow.sock.recv(1 << 16)
        except socket.timeout:
            break
        except OSError:
            chunk = b""
        if not chunk:
            break
        raw += chunk
    wait_for(lambda: slow_entry() is None,
             "the slow client to be dropped (client.list)", timeout=10)
    check(worst < 2.0, "another client's ping took %.2fs while one lagged" % worst)
    check(max([e["queued"] for e in seen] + [0]) > MiB and
          max([e["lag"] for e in seen] + [0]) > 0,
          "client.list showed the slow subscriber over 1 MiB queued and "
          "lagging: (queued, lag, cursor) %r"
          % [(e["queued"], e["lag"], e["cursor"]) for e in seen])

    # The upstream and the others kept working: every message reached bob.
    check_eq(alice.status()["state"], "online", "alice's session")
    wait_for(lambda: len([m for m in bob.history_all("alice")
                          if m["id"] in set(ids)]) == len(ids),
             "bob to receive all %d messages" % len(ids), timeout=30)

    # What the dropped client was sent: events, "lagged", the end.
    u = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=64 * MiB)
    u.feed(bytes(raw))
    msgs = []
    try:
        for m in u:
            msgs.append(m)
    except Exception as e:		# undecodable: shown below
        msgs.append(("undecodable", repr(e)))
    events = [m[2][0] for m in msgs if isinstance(m, list) and len(m) == 3
              and m[0] == 2 and m[1] == "event"]
    leftover = len(raw) - u.tell()
    lagged = [e for e in events if e.get("type") == "lagged"]
    logged = [ln for ln in alice.log().splitlines() if "stopped reading" in ln]
    got = [e["seq"] for e in events if "seq" in e]
    summary = ("the slow client read %d bytes: %d events (seqs %s..%s), lagged "
               "events %r, %d bytes of a truncated message at the end; the "
               "daemon logged %r" % (len(raw), len(events),
                                     got[0] if got else None,
                                     got[-1] if got else None, lagged,
                                     leftover, logged))
    check(lagged and events[-1] is lagged[0],
          "a 'lagged' event is the last thing a dropped subscriber gets: "
          + summary)
    check_eq(leftover, 0, "bytes of a partial message after 'lagged' (%s)"
             % summary)
    resume = lagged[0].get("resumeFrom")
    check(isinstance(resume, int), "lagged has an integer resumeFrom: %r"
          % lagged[0])
    check_eq(got, list(range(head + 1, head + 1 + len(got))),
             "seqs the slow client got before lagged (no gap)")
    check_eq(got[-1] if got else head, resume,
             "resumeFrom is the last seq the client got (" + summary + ")")

    # Resuming from there loses nothing.
    back = alice.rpc()
    back.subscribe(since=resume)
    back.wait_event(is_msg_event("message.status", ids[-1]),
                    "the resumed stream reaches the last status", timeout=20)
    both = got + seqs(back.events)
    check_eq(both, list(range(head + 1, head + 1 + len(both))),
             "seqs before lagged, then resumed (no gap, no repeat)")
    new = [e["message"]["id"] for e in events + back.events
           if e.get("type") == "message.new"]
    check_eq(new, ids, "message.new events before and after resuming")


# ---------------------------------------------------------------- garbage

def refusal(conn):
    """Codes of the daemon's final "error" notifications on conn."""
    out = []
    for n in conn.notifications:
        if isinstance(n, list) and len(n) == 3 and n[0] == 2 and n[1] == "error":
            for e in n[2] if isinstance(n[2], list) else [n[2]]:
                out.append(e.get("code") if isinstance(e, dict) else e)
    return out


def nested_maps(depth):
    """depth maps, each {"a": inner}, around a nil."""
    return b"\x81\xa1a" * depth + b"\xc0"


def test_garbage_costs_only_its_connection(env):
    srv = env.server()
    gw = env.gateway("alice", srv)
    gw.wait_online()
    control = gw.rpc()
    control.call("client.hello", name="control")
    rss0 = rss_kib(gw.pid)
    problems = []

    def alive(step):
        check(gw.proc.alive(), "imgwd died after: %s" % step)
        try:
            check_eq(control.call("rpc.ping"), "pong",
                     "the control client's ping after: %s" % step)
        except ConnectionClosed:
            raise TestFailure("the control connection was closed after: %s"
                              % step)

    def must_close(name, data, codes=("invalid_request", "too_large")):
        c = gw.rpc()
        c.send_raw(data)
        if not c.wait_closed(5):
            problems.append("%s: connection still open after 5s" % name)
        elif not refusal(c) or not set(refusal(c)) <= set(codes):
            problems.append("%s: closed with notifications %r and answers %r; "
                            "expected a final error %s" % (name, c.notifications,
                                                           c.responses, codes))
        c.close()
        alive(name)

    # 1. Random bytes: answered, dropped, or (incomplete) waited on.
    rnd = random.Random(4242)
    for n in (1, 7, 100, 4096, 65536):
        for k in range(4):
            c = gw.rpc()
            c.send_raw(bytes(rnd.getrandbits(8) for _ in range(n)))
            control.call("rpc.ping")	# c's bytes were read in a turn
            control.call("rpc.ping")	# ... whose output has reached us
            try:
                c.pump(0.001)
            except Exception as e:
                problems.append("random %d bytes: the daemon's answer does not "
                                "decode: %r" % (n, e))
            c.close()
        alive("random %d-byte strings" % n)

    # 2. A request cut at every byte: waits for the rest, then answers.
    req = pack([0, 4711, "message.history", [{"user": "bob", "limit": 5}]])
    for cut in range(1, len(req)):
        c = gw.rpc()
        c.send_raw(req[:cut])
        # A loop turn with the half request, and one after it: whatever the
        # first turn did to c (an answer, a hang-up) has reached us by then.
        control.call("rpc.ping")
        control.call("rpc.ping")
        c.pump(0.001)
        if c.closed or c.responses:
            problems.append("cut at %d of %d bytes: closed %s, answers %r"
                            % (cut, len(req), c.closed, c.responses))
            continue
        c.send_raw(req[cut:])
        err, res = c.response(4711)
        if err is not None or res.get("messages") != []:
            problems.append("cut at %d: answer %r %r" % (cut, err, res))
        c.close()
    # ... and one that hangs up halfway.
    for cut in (1, 5, len(req) - 1):
        c = gw.rpc()
        c.send_raw(req[:cut])
        c.close()
    alive("truncated requests")

    # 3. Nesting: 20 deep is fine, past 32 closes the connection.
    c = gw.rpc()
    c.send_raw(b"\x94\x00\x05\xa8rpc.ping\x91" + b"\x81\xa4deep" +
               nested_maps(20))
    err, res = c.response(5)
    if err is not None or res != "pong":
        problems.append("20-deep arguments: %r %r" % (err, res))
    for depth in (40, 1000, 200000):
        must_close("%d-deep maps" % depth,
                   b"\x94\x00\x06\xa8rpc.ping\x91" + nested_maps(depth))
    must_close("200000-deep arrays", b"\x94\x00\x07\xa1m" + b"\x91" * 200000)

    # 4. Lengths far beyond what came, and beyond the 4 MiB limit.
    for name, head in (("str32", b"\xdb"), ("bin32", b"\xc6"),
                       ("array32", b"\xdd"), ("map32", b"\xdf"),
                       ("ext32", b"\xc9")):
        big = head + b"\xff\xff\xff\xff" + (b"\x01" if name == "ext32" else b"")
        must_close("a bare %s of 4 GiB" % name, big + b"abc")
        must_close("a %s of 4 GiB as the method" % name,
                   b"\x94\x00\x08" + big + b"abc")
    must_close("a 5 MiB string in a request",
               b"\x94\x00\x09\xa8rpc.ping\x91\x81\xa1t\xdb" +
               (5 * MiB).to_bytes(4, "big") + b"x" * 1000, ("too_large",))
    # Declared 3 MiB (within the limit), only a few bytes sent: no
    # allocation from the header. 40 of them at once.
    waiting = []
    for i in range(40):
        c = gw.rpc()
        c.send_raw(b"\x94\x00\x0a\xa8rpc.ping\x91\x81\xa1t\xdb" +
                   (3 * MiB).to_bytes(4, "big") + b"only this")
        waiting.append(c)
    alive("40 requests declaring 3 MiB each")
    grown = rss_kib(gw.pid) - rss0
    if grown > 48 * 1024:
        problems.append("imgwd grew %d KiB with 40 connections declaring 3 "
                        "MiB each and sending a few bytes" % grown)
    for c in waiting:
        c.close()
    alive("closing them")

    # 5. Not MessagePack at all (0xc1 is never used).
    must_close("0xc1", b"\xc1\xc1\xc1", ("invalid_request",))

    check_eq(gw.status()["state"], "online", "the session after the garbage")
    check(not problems, "; ".join(problems))


# ---------------------------------------------------------------- other users

PROBE = r"""
import json, os, socket, sys
import msgpack
out = {"pid": os.getpid(), "uid": os.getuid()}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    out["connect_errno"] = e.errno
    print(json.dumps(out)); sys.exit(0)
answers, notes = {}, []
try:
    s.sendall(b"".join(msgpack.packb(m) for m in (
        [0, 1, "client.hello", [{"name": "nobody-probe"}]],
        [0, 2, "rpc.ping", []], [0, 3, "client.list", []])))
    u = msgpack.Unpacker(raw=False, strict_map_key=False)
    while len(answers) < 3:
        d = s.recv(65536)
        if not d:
            out["closed"] = True
            break
        u.feed(d)
        for m in u:
            if m[0] == 1:
                answers[m[1]] = [m[2], m[3]]
            else:
                notes.append(m)
except OSError as e:
    out["io_errno"] = e.errno
out["answers"] = answers
out["notes"] = notes
print(json.dumps(out))
"""


def as_nobody(sock):
    """Run PROBE as user nobody against sock; its report (a dict)."""
    r = subprocess.run(["setpriv", "--reuid=%d" % NOBODY, "--regid=%d" % NOBODY,
                        "--clear-groups", "/usr/bin/python3", "-I", "-c", PROBE,
                        sock], capture_output=True, text=True, timeout=20,
                       cwd="/", env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"})
    check_eq(r.returncode, 0, "the probe as nobody (stderr %r)" % r.stderr)
    return json.loads(r.stdout)


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_other_uid_refused_unless_allowed(env):
    check_eq(os.getuid(), 0, "this test runs as root (to become nobody)")
    os.chmod(env.dir, 0o711)		# traversable, so only imgwd's modes count
    srv = env.server()
    alice = env.gateway("alice", srv)

    # The 0700 directory keeps nobody out.
    p = as_nobody(alice.sock)
    check_eq(p.get("connect_errno"), errno.EACCES,
             "nobody connecting through the 0700 directory (report %r)" % p)

    # With the modes loosened behind imgwd's back, SO_PEERCRED still refuses.
    os.chmod(os.path.dirname(alice.sock), 0o711)
    os.chmod(alice.sock, 0o666)
    p = as_nobody(alice.sock)
    check("connect_errno" not in p, "nobody can reach the loosened socket: %r" % p)
    check(not p.get("answers"), "nobody is refused by SO_PEERCRED, but got "
          "answers: %r" % p)
    check(p.get("closed") or "io_errno" in p,
          "the daemon hung up on nobody: %r" % p)
    wait_for(lambda: "refused" in alice.log() and str(NOBODY) in alice.log(),
             "imgwd to log the refused uid %d" % NOBODY)
    check_eq(alice.call("rpc.ping"), "pong", "alice's daemon still serves us")

    # --allow-uid: the daemon widens the modes itself and serves nobody.
    bob = env.gateway("bob", srv, args=["--allow-uid", str(NOBODY)])
    check_eq(oct(mode(os.path.dirname(bob.sock))), oct(0o711),
             "mode of the socket directory with --allow-uid")
    check_eq(oct(mode(bob.sock)), oct(0o666), "mode of the socket with --allow-uid")
    p = as_nobody(bob.sock)
    a = p.get("answers", {})
    check_eq(a.get("2"), [None, "pong"], "nobody's rpc.ping with --allow-uid "
             "(report %r)" % p)
    hello = a.get("1", [None, {}])[1] or {}
    me = [c for c in (a.get("3", [None, {}])[1] or {}).get("clients", [])
          if c.get("id") == hello.get("id")]
    check(me and me[0]["uid"] == NOBODY and me[0]["pid"] == p["pid"] and
          me[0]["name"] == "nobody-probe",
          "client.list shows nobody's connection with its uid, pid and name: "
          "%r (report %r)" % (me, p))
    check_eq(bob.call("rpc.ping"), "pong", "bob's daemon still serves us")


# ---------------------------------------------------------------- client.*

def test_client_hello_and_list(env):
    srv = env.server()
    gw = env.gateway("alice", srv)
    a = gw.rpc()
    ha = a.call("client.hello", name="limits-a")
    check(isinstance(ha.get("id"), int) and isinstance(ha.get("version"), str),
          "client.hello answers {id, version}: %r" % ha)
    b = gw.rpc()
    hb = b.call("client.hello", name="limits-b")
    check(hb["id"] != ha["id"], "two connections have two ids: %r %r" % (ha, hb))
    b.call("events.subscribe", topics=["message", "session"])

    # A third client in another process: the Python demo, listening.
    demo = subprocess.Popen(
        ["/usr/bin/python3", os.path.join(ROOT, "examples", "python", "demo.py"),
         "--socket", gw.sock, "--count", "1", "--topics", "no.such.topic"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = demo.stdout.readline()
        check(line.startswith("subscribed "), "the demo subscribed: %r" % line)
        lst = a.call("client.list")
        check_eq(lst.get("you"), ha["id"], "client.list 'you'")
        by = {c["name"]: c for c in lst["clients"]}
        check(set(by) >= {"limits-a", "limits-b", "demo.py"},
              "client.list names: %r" % sorted(by))
        for c in lst["clients"]:
            for k, t in (("id", int), ("name", str), ("pid", int), ("uid", int),
                         ("subscribed", bool), ("cursor", int), ("lag", int),
                         ("queued", int)):
                check(isinstance(c.get(k), t), "client.list field %s of %r"
                      % (k, c))
            check("topics" in c, "client.list field topics of %r" % c)
            check(c["lag"] >= 0 and c["queued"] >= 0, "lag, queued: %r" % c)
        check_eq((by["limits-a"]["pid"], by["limits-a"]["uid"]),
                 (os.getpid(), os.getuid()), "pid and uid of limits-a")
        check_eq(by["demo.py"]["pid"], demo.pid, "pid of the demo's connection")
        check_eq((by["limits-a"]["subscribed"], by["limits-b"]["subscribed"],
                  by["demo.py"]["subscribed"]), (False, True, True),
                 "subscribed flags")
        check_eq(by["limits-b"]["topics"], ["message", "session"],
                 "topics of limits-b")
        check_eq(by["limits-b"]["lag"], 0, "lag of a subscriber that keeps up")
    finally:
        demo.kill()
        demo.wait()
    b.close()
    wait_for(lambda: not {"limits-b", "demo.py"} & {
        c["name"] for c in a.call("client.list")["clients"]},
        "closed connections to leave client.list")


# ---------------------------------------------------------------- rpc.describe

def spec_sections():
    """RPC.md's "## " sections by title."""
    text = open(os.path.join(ROOT, "proto", "RPC.md"), encoding="utf-8").read()
    out = {}
    for part in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = part.partition("\n")
        out[title.strip()] = body
    return out


def spec_args(spec):
    """{name: {required, oneOf}} of an argument list like "{user | group, text?}"."""
    out = {}
    for part in filter(None, (p.strip() for p in spec.strip("{} ").split(","))):
        alts = [a.strip() for a in part.split("|")]
        for a in alts:
            name = a.rstrip("?")
            # "user | group": exactly one, so both carry oneOf; in
            # "user | group?" (at most one) neither is required.
            out[name] = {"required": len(alts) == 1 and not a.endswith("?"),
                         "oneOf": len(alts) > 1 and name in ("user", "group")
                         and not part.endswith("?")}
    return out


def spec_surface():
    """Methods (with arguments), event types and error codes RPC.md names."""
    sec = spec_sections()
    methods = {}
    for line in sec["Methods"].splitlines():
        if line.startswith("### "):
            for name, spec in re.findall(r"`([a-z][\w.]*)` `(\{[^`]*\})`", line):
                methods[name] = spec_args(spec)
            continue
        cells = [c.strip() for c in
                 line.replace("\\|", "/").strip().strip("|").split("|")]
        if not line.startswith("| `") or len(cells) != 3:
            continue
        names = re.findall(r"`([\w.]+)`", cells[0])
        if not names or "." not in names[0]:
            continue			# the session states table
        spec = (re.findall(r"`([^`]*)`", cells[1]) or [""])[0]
        family = names[0].rsplit(".", 1)[0]
        for n in names:			# "`friend.group.create` / `.delete`"
            methods[family + n if n.startswith(".") else n] = spec_args(spec)
    events = set(re.findall(r"^\| `([\w.]+)` \|", sec["Events"], re.M))
    para = sec["Methods"][sec["Methods"].index("The server's events arrive"):]
    para = para[:para.index("\n\n")]
    events |= set(re.findall(r"`([a-z]+(?:\.[a-zA-Z]+)+)`", para))
    errors = set(re.findall(r"^\| `([a-z_]+)` \|", sec["Errors"], re.M))
    return methods, events, errors


def test_rpc_describe_lists_everything(env):
    srv = env.server()
    gw = env.gateway("alice", srv)
    d = gw.call("rpc.describe")
    methods, events, errors = spec_surface()
    check(len(methods) >= 60, "RPC.md names many methods: %d" % len(methods))
    problems = []

    check_eq(d.get("version"), "1.0", "rpc.describe version")
    got = {m["name"]: m for m in d.get("methods", [])}
    for name in sorted(set(methods) - set(got)):
        problems.append("method %s (RPC.md) is missing" % name)
    for name in sorted(set(got) - set(methods)):
        problems.append("method %s is described but not in RPC.md" % name)
    types = {"id", "string", "int", "bool", "array", "object", "token"}
    for name, want in sorted(methods.items()):
        if name not in got:
            continue
        params = {p.get("name"): p for p in got[name].get("params", [])}
        if not isinstance(got[name].get("summary"), str):
            problems.append("%s has no summary" % name)
        for p in params.values():
            if p.get("type") not in types:
                problems.append("%s parameter %s has type %r, not one of RPC.md's"
                                % (name, p.get("name"), p.get("type")))
        for arg, w in want.items():
            p = params.get(arg)
            if p is None:
                problems.append("%s lacks parameter %s" % (name, arg))
                continue
            if bool(p.get("required")) != w["required"]:
                problems.append("%s parameter %s: required %r, RPC.md says %r"
                                % (name, arg, p.get("required"), w["required"]))
            if w["oneOf"] and p.get("oneOf") != "conversation":
                problems.append("%s parameter %s lacks oneOf: conversation"
                                % (name, arg))
        for arg in set(params) - set(want):
            problems.append("%s parameter %s is not in RPC.md" % (name, arg))

    described = {e.get("type") for e in d.get("events", [])}
    for e in d.get("events", []):
        if "fields" not in e:
            problems.append("event %s has no fields" % e.get("type"))
    for t in sorted(events - described):
        problems.append("event %s (RPC.md) is missing" % t)
    check_eq(set(d.get("errors", [])), errors, "error codes")
    check(not problems, "%d differences from RPC.md:\n      " % len(problems) +
          "\n      ".join(problems))


if __name__ == "__main__":
    run()
