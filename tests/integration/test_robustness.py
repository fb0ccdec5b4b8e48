#!/usr/bin/python3
"""
Hostile or broken local clients: malformed MessagePack, huge length headers,
oversized requests, wrong methods and arguments. Each costs at most its own
connection; the daemon stays up, small, and keeps answering everyone else.
"""
import os
import socket
import sys

import msgpack

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ConnectionClosed, TestFailure, check, check_eq,  # noqa: E402
                     is_msg_event, rss_kib, run, wait_for)

MiB = 1 << 20
RSS_GROWTH_MAX = 64 * 1024	# KiB the daemon may grow over the whole test


def pack(obj):
    return msgpack.packb(obj, use_bin_type=True)


def error_code(err):
    return err.get("code") if isinstance(err, dict) else err


def refusal_codes(conn):
    """Error codes of "error" notifications the daemon sent before hanging up."""
    out = []
    for n in conn.notifications:
        if isinstance(n, list) and len(n) == 3 and n[0] == 2 and n[1] == "error":
            for e in n[2] if isinstance(n[2], list) else [n[2]]:
                out.append(error_code(e))
    return out


def test_bad_input_keeps_daemon_up(env):
    srv = env.server()
    gw = env.gateway("alice", srv)
    gw.wait_online()
    control = gw.rpc()
    control.call("session.status")
    rss0 = rss_kib(gw.pid)

    def still_serving(step):
        check(gw.proc.alive(), "imgwd died after: %s" % step)
        st = control.call("session.status")
        check_eq(st["state"], "online",
                 "state seen by the control client after: %s" % step)

    # 1. Bytes that are not MessagePack (0xc1 is never used): hang up on them.
    c = gw.rpc()
    c.send_raw(b"\xc1" * 8 + b"garbage")
    check(c.wait_closed(), "connection sending 0xc1 garbage was closed")
    check_eq(refusal_codes(c), ["invalid_request"],
             "error notification before closing on garbage (all: %r)"
             % c.notifications)
    still_serving("0xc1 garbage")

    # 2. A 6-byte array32 header claiming 4 G elements: no allocation from it.
    conns = []
    for _ in range(20):
        c = gw.rpc()
        c.send_raw(b"\xdd\xff\xff\xff\xff\x00")
        conns.append(c)
    still_serving("huge array32 headers")
    grown = rss_kib(gw.pid) - rss0
    check(grown < RSS_GROWTH_MAX, "imgwd grew %d KiB after 20 huge-array "
          "headers" % grown)
    closed = sum(1 for c in conns if c.wait_closed())
    check_eq(closed, len(conns), "connections sending a 4 G element array "
             "header that were closed")
    still_serving("huge array32 headers (after close)")

    # 3. A request over the 4 MiB message limit is refused, not read whole.
    c = gw.rpc()
    big = pack([0, 1, "message.send", [{"user": "bob",
                                        "text": "x" * (5 * MiB)}]])
    check(len(big) > 4 * MiB, "the request is over 4 MiB")
    c.send_raw(big)
    c.wait_closed()
    check(1 not in c.responses or c.responses[1][0] is not None,
          "an over-size request got a result: %r" % (c.responses.get(1),))
    seen = refusal_codes(c) + [error_code(r[0]) for r in c.responses.values()]
    check(c.closed, "the connection with the over-size request was closed")
    check_eq(seen, ["too_large"], "codes for the over-size request")
    still_serving("over-size request")
    grown = rss_kib(gw.pid) - rss0
    check(grown < RSS_GROWTH_MAX, "imgwd grew %d KiB after a 5 MiB request"
          % grown)

    # A text over the 64 KiB content limit, inside a small enough message, is
    # an ordinary error and the connection stays usable.
    c = gw.rpc()
    err, res = c.call_params("message.send", [{"user": "bob",
                                               "text": "y" * (100 * 1024)}])
    check_eq(error_code(err), "too_large", "code for a 100 KiB text")
    check_eq(c.call("session.status")["state"], "online",
             "same connection after a too_large error")

    # 4. Unknown methods, bad params, missing arguments: errors, not hang-ups.
    c = gw.rpc()
    cases = [
        ("no.such.method", [{}], "no_such_method"),
        ("session.status", [1], "bad_params"),
        ("session.status", ["x"], "bad_params"),
        ("session.status", [{}, {}], "bad_params"),
        ("message.history", [{}], "bad_params"),
        ("message.history", [{"user": 42}], "bad_params"),
        ("message.history", [{"user": "bad id!"}], "bad_params"),
        ("message.history", [{"user": "bob", "group": "g1"}], "bad_params"),
        ("message.history", [{"user": "bob", "limit": 0}], "bad_params"),
        ("message.send", [{"text": "没有收件人"}], "bad_params"),
        ("message.send", [{"user": "bob"}], "bad_params"),
        ("message.send", [{"user": "bob", "text": ""}], "bad_params"),
        ("message.get", [{}], "bad_params"),
        ("message.get", [{"id": "nope"}], "not_found"),
    ]
    for method, params, want in cases:
        err, res = c.call_params(method, params)
        check_eq(error_code(err), want, "error for %s %r (result %r)"
                 % (method, params, res))
        check(res is None, "%s %r: result is nil with an error" % (method, params))
    # params that are a map, not an array: refused on this request only.
    err, _ = c.call_params("session.status", {"a": 1})
    check(error_code(err) in ("bad_params", "invalid_request"),
          "error for params given as a map: %r" % (err,))
    check_eq(c.call("session.status")["state"], "online",
             "same connection after the argument errors")
    still_serving("argument errors")

    # 5. Well-formed MessagePack that is not an RPC message: answered or
    # skipped, and the connection goes on.
    c = gw.rpc()
    c.send_raw(pack([0, 77, 5, []]))		# method is not a string
    c.send_raw(pack({"hello": "world"}))	# not an array at all
    c.send_raw(pack([9, 1, 2, 3]))		# unknown message type
    check_eq(c.call("session.status")["state"], "online",
             "connection after non-RPC MessagePack")
    check(77 in c.responses and c.responses[77][0] is not None,
          "request 77 with a non-string method got an error answer: %r"
          % (c.responses.get(77),))
    check_eq(error_code(c.responses[77][0]), "invalid_request",
             "code for a non-string method")

    # 6. Nesting deeper than the decoder allows: that connection is closed.
    c = gw.rpc()
    c.send_raw(b"\x94\x00\x01\xa1m" + b"\x91" * 200 + b"\xc0")
    check(c.wait_closed(), "connection with 200-deep nesting was closed")
    still_serving("deep nesting")

    # 7. Pipelined requests in one write, and a client dying mid-request.
    c = gw.rpc()
    c.send_raw(b"".join(pack([0, i, "session.status", [{}]]) for i in (1, 2, 3)))
    for i in (1, 2, 3):
        err, res = c.response(i)
        check(err is None and res["state"] == "online",
              "pipelined request %d: %r %r" % (i, err, res))
    c = gw.rpc()
    c.send_raw(pack([0, 1, "message.history", [{"user": "bob"}]])[:7])
    c.close()
    still_serving("a client that died mid-request")

    # The control connection never noticed any of it.
    try:
        check_eq(control.call("rpc.describe")["version"], "1.0",
                 "rpc.describe on the control connection")
    except ConnectionClosed:
        raise TestFailure("the control connection was closed")
    grown = rss_kib(gw.pid) - rss0
    check(grown < RSS_GROWTH_MAX, "imgwd grew %d KiB over the test" % grown)


def test_ids_with_nul_are_refused(env):
    srv, alice, bob = env.pair()
    c = alice.rpc()
    wrong = []
    for method, params in (
            ("message.send", [{"user": "bob\x00mallory", "text": "hi"}]),
            ("message.history", [{"user": "bob\x00x"}]),
            ("message.send", [{"user": "bob", "text": "hi", "id": "a\x00b"}])):
        err, res = c.call_params(method, params)
        if error_code(err) != "bad_params":
            wrong.append("%s %r answered %r, not bad_params"
                         % (method, params, err or res))
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    wait_for(lambda: any(m["id"] == marker for m in bob.history("alice")),
             "bob to get the marker")
    leaked = [(m["id"], m["content"]) for m in bob.history("alice")
              if m["id"] != marker]
    check(not wrong and not leaked, "; ".join(wrong) +
          "; messages that reached bob: %r" % leaked)


def test_slow_subscriber_neither_blocks_nor_loses_events(env):
    srv, alice, bob = env.pair()
    slow = alice.rpc()
    head = slow.subscribe()		# then never reads, for now
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sender = alice.rpc()
    text = "慢" * (20 * 1024)		# 60 KiB of UTF-8 per message
    ids = []
    for i in range(40):			# ~2.4 MiB of message.new events alone
        ids.append(sender.call("message.send", user="bob", text=text)["id"])
        check_eq(sender.call("session.status")["state"], "online",
                 "the daemon answers others while a subscriber lags (%d)" % i)
    live = alice.rpc()
    live.subscribe(since=head)
    live.wait_event(is_msg_event("message.status", ids[-1]),
                    "a reading subscriber gets every status", timeout=20)
    # Now the slow one reads: everything, in order, nothing missing.
    slow.wait_event(is_msg_event("message.status", ids[-1]),
                    "the slow subscriber catches up", timeout=20)
    got = [e["seq"] for e in slow.events]
    check_eq(got, list(range(head + 1, head + 1 + len(got))),
             "the slow subscriber's seqs (no gap, no repeat)")
    check_eq(len([e for e in slow.events if e["type"] == "message.new"]), 40,
             "message.new events the slow subscriber got")


if __name__ == "__main__":
    run()
