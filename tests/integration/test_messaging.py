#!/usr/bin/python3
"""
Messaging between two accounts through two gateways and one imserver:
delivery with events, the sender's status changes, and revokes.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (RpcError, check, check_eq,  # noqa: E402
                     expect_rpc_error, is_msg_event, run, wait_for)

TEXT = "你好，世界！今天下午三点开会 🌏"


def ids_of(msgs, msg_id):
    return [m for m in msgs if m["id"] == msg_id]


def test_alice_sends_bob_receives(env):
    srv, alice, bob = env.pair()
    bob_ev = bob.rpc()
    bob_ev.subscribe()
    alice_ev = alice.rpc()
    alice_ev.subscribe()

    sent = alice.call("message.send", user="bob", text=TEXT)
    msg_id = sent["id"]
    check(isinstance(msg_id, str) and msg_id, "message.send gave an id: %r" % sent)
    check(sent.get("status") in ("SENDING", "SENT"),
          "message.send status is SENDING or SENT: %r" % sent)

    e = bob_ev.wait_event(is_msg_event("message.new", msg_id),
                          "bob's message.new for %s" % msg_id)
    m = e["message"]
    check_eq(m["content"], TEXT, "content of bob's message.new")
    check_eq(m["from"], "alice", "from of bob's message.new")
    check_eq(m["to"], "bob", "to of bob's message.new")
    check_eq(m.get("conversation"), {"user": "alice"},
             "conversation of bob's message.new")
    check(isinstance(e.get("seq"), int) and e["seq"] > 0,
          "event has a positive seq: %r" % e)

    hist = bob.history("alice")
    check_eq(len(ids_of(hist, msg_id)), 1,
             "copies of %s in bob's history" % msg_id)
    check_eq(ids_of(hist, msg_id)[0]["content"], TEXT,
             "content in bob's history")

    st = alice_ev.wait_event(is_msg_event("message.status", msg_id),
                             "alice's message.status for %s" % msg_id)
    check_eq(st["status"], "SENT", "status in alice's message.status event")
    check_eq(st.get("conversation"), {"user": "bob"},
             "conversation in alice's message.status event")

    def alice_sees_sent():
        mine = ids_of(alice.history("bob"), msg_id)
        return len(mine) == 1 and mine[0]["status"] == "SENT" and mine
    mine = wait_for(alice_sees_sent, "alice's history to show %s SENT" % msg_id)
    check_eq(mine[0]["content"], TEXT, "content in alice's history")

    # Bob saw exactly one message.new: a later message on the same upstream
    # connection arrives after any repeat of the first would have.
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bob_ev.wait_event(is_msg_event("message.new", marker), "bob's marker")
    check_eq(len(bob_ev.find_events(is_msg_event("message.new", msg_id))), 1,
             "message.new events for %s at bob" % msg_id)


def test_revoke_seen_by_both(env):
    srv, alice, bob = env.pair()
    alice_ev = alice.rpc()
    alice_ev.subscribe()
    bob_ev = bob.rpc()
    bob_ev.subscribe()

    msg_id = alice.call("message.send", user="bob", text="撤回我")["id"]
    bob_ev.wait_event(is_msg_event("message.new", msg_id), "bob's message.new")
    alice_ev.wait_event(is_msg_event("message.status", msg_id),
                        "alice's message.status")

    # Only the sender may revoke (UPSTREAM.md: 403 -> forbidden).
    expect_rpc_error("forbidden", "bob revokes alice's message", bob.call,
                     "message.revoke", id=msg_id)
    m = [x for x in bob.history("alice") if x["id"] == msg_id]
    check(len(m) == 1 and m[0]["status"] == "SENT" and m[0]["content"] == "撤回我",
          "bob's refused revoke changed nothing: %r" % m)

    r = alice.call("message.revoke", id=msg_id)
    check(isinstance(r, dict), "message.revoke answered a map: %r" % r)

    for who, ev in (("alice", alice_ev), ("bob", bob_ev)):
        e = ev.wait_event(is_msg_event("message.revoked", msg_id),
                          "%s's message.revoked" % who)
        check_eq(e["message"]["status"], "REVOKED",
                 "status in %s's message.revoked" % who)
        check_eq(e["message"]["content"], "",
                 "content in %s's message.revoked" % who)
    # The server also pushes the revoke to every session: one event each.
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bob_ev.wait_event(is_msg_event("message.new", marker), "bob's marker")
    alice_ev.wait_event(is_msg_event("message.status", marker), "alice's marker")
    for who, ev in (("alice", alice_ev), ("bob", bob_ev)):
        check_eq(len(ev.find_events(is_msg_event("message.revoked", msg_id))), 1,
                 "message.revoked events at %s" % who)
    for who, gw, peer in (("alice", alice, "bob"), ("bob", bob, "alice")):
        m = [x for x in gw.history(peer) if x["id"] == msg_id]
        check_eq(len(m), 1, "copies of %s in %s's history" % (msg_id, who))
        check_eq((m[0]["status"], m[0]["content"]), ("REVOKED", ""),
                 "(status, content) in %s's history" % who)

    # Revoking an unknown id is not_found, not a crash.
    expect_rpc_error("not_found", "revoking an unknown id", alice.call,
                     "message.revoke", id="no-such-message-id")


def test_sender_other_session_sees_sent_message(env):
    srv, alice, bob = env.pair()
    # alice on a second device: its own gateway, database and socket.
    alice2 = env.gateway("alice", srv, sock=env.path("alice2", "imgwd.sock"),
                         db=env.path("alice2.db"))
    alice2.wait_online()
    ev2 = alice2.rpc()
    ev2.subscribe()
    mid = alice.call("message.send", user="bob", text="另一台设备")["id"]
    e = ev2.wait_event(is_msg_event("message.new", mid),
                       "alice's other gateway's message.new")
    check_eq(e["message"]["conversation"], {"user": "bob"},
             "conversation of one's own message on another device")
    check_eq((e["message"]["from"], e["message"]["to"]), ("alice", "bob"),
             "from and to on the other device")
    h = alice2.history("bob")
    check_eq([m["id"] for m in h], [mid], "the other device's history with bob")
    check_eq(alice2.history("alice"), [],
             "nothing filed under a conversation with oneself")


def test_message_id_reuse(env):
    srv, alice, bob, carol = env.pair(("alice", "bob", "carol"))
    aev = alice.rpc()
    aev.subscribe()
    bev = bob.rpc()
    bev.subscribe()
    r = alice.call("message.send", user="bob", text="原文", id="reused-id-1")
    check_eq(r["id"], "reused-id-1", "id of a send with a caller's id")
    aev.wait_event(is_msg_event("message.status", "reused-id-1"), "SENT")
    bev.wait_event(is_msg_event("message.new", "reused-id-1"), "bob's copy")

    # The same sender repeating an id: the stored message, nothing new.
    r = alice.call("message.send", user="bob", text="原文", id="reused-id-1")
    check_eq(r, {"id": "reused-id-1", "status": "SENT"},
             "answer to a repeated send")
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bev.wait_event(is_msg_event("message.new", marker), "bob's marker")
    check_eq(len(bev.find_events(is_msg_event("message.new", "reused-id-1"))),
             1, "message.new events at bob after a repeated send")

    # Another user taking the id: the server refuses (409), the message FAILs.
    cev = carol.rpc()
    cev.subscribe()
    r = carol.call("message.send", user="bob", text="抢用", id="reused-id-1")
    check_eq(r["status"], "SENDING", "carol's send with alice's id, at first")
    e = cev.wait_event(is_msg_event("message.status", "reused-id-1"),
                       "carol's message.status")
    check_eq(e["status"], "FAILED", "status of carol's send with a taken id")
    check(e.get("error"), "a FAILED status carries an error: %r" % e)
    h = [m for m in carol.history("bob") if m["id"] == "reused-id-1"]
    check_eq([(m["status"], m["content"]) for m in h], [("FAILED", "抢用")],
             "carol's history")
    check_eq([m["content"] for m in bob.history("alice")], ["原文", "marker"],
             "bob's conversation with alice is untouched")

    # bob taking the id of a message he RECEIVED: he must not be told his
    # new text was SENT (it went nowhere) - a conflict error, or FAILED.
    try:
        r = bob.call("message.send", user="alice", text="我的新消息",
                     id="reused-id-1")
    except RpcError as e:
        check_eq(e.code, "conflict", "error for reusing a received message's id")
        r = None
    if r is not None:
        check(r["status"] != "SENT",
              "bob's message.send with the id of a message he received from "
              "alice answered %r: his text was never sent, and history still "
              "holds alice's message %r" % (r, [
                  (m["from"], m["content"]) for m in bob.history("alice")
                  if m["id"] == "reused-id-1"]))


def test_message_text_round_trips_exactly(env):
    srv, alice, bob = env.pair()
    aev = alice.rpc()
    aev.subscribe()
    bev = bob.rpc()
    bev.subscribe()
    texts = [
        "中" * 21845,			# 65535 bytes of UTF-8
        "x" * 65536,			# exactly the 64 KiB limit
        "🌏" * 16384,			# 4-byte characters, 64 KiB
        "行1\n行2\r\n\t\"引号\" \\ 反斜杠 {}[]:,",	# JSON and STOMP specials
        "a\x00b",			# an embedded NUL
    ]
    for t in texts:
        what = "text of %d bytes %r" % (len(t.encode()), t[:12])
        try:
            mid = alice.call("message.send", user="bob", text=t)["id"]
        except RpcError as e:
            # Refusing is fine for NUL only; it must never be truncated.
            check("\x00" in t and e.code == "bad_params",
                  "%s refused: %s" % (what, e))
            continue
        st = aev.wait_event(is_msg_event("message.status", mid), what)
        check_eq(st["status"], "SENT", "status of %s" % what)
        got = bev.wait_event(is_msg_event("message.new", mid), what)
        check(got["message"]["content"] == t,
              "%s arrived as %r" % (what, got["message"]["content"][:40]))
        mine = [m for m in alice.history("bob") if m["id"] == mid]
        check(mine[0]["content"] == t, "%s stored by the sender as %r"
              % (what, mine[0]["content"][:40]))
    expect_rpc_error("too_large", "a text of 65537 bytes", alice.call,
                     "message.send", user="bob", text="x" * 65537)


if __name__ == "__main__":
    run()
