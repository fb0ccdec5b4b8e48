#!/usr/bin/python3
"""
Delivery across outages: a recipient whose daemon is stopped or killed, a
server that goes away (cache answers, outbox waits) and comes back.
"""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (check, check_eq, is_msg_event, run,  # noqa: E402
                     wait_for)


def sent_ok(alice_ev, msg_id):
    e = alice_ev.wait_event(is_msg_event("message.status", msg_id),
                            "alice's message.status for %s" % msg_id)
    check_eq(e["status"], "SENT", "status of %s" % msg_id)


def synced_lines(gw):
    """How many syncs this run of the daemon has completed (-v log)."""
    return sum(1 for line in gw.log().splitlines()
               if 'msg="synced ' in line and "level=debug" in line)


def wait_synced(gw):
    wait_for(lambda: synced_lines(gw) >= 1,
             "imgwd for %s to log a completed sync" % gw.user)


def check_once_in_order(gw, peer, ids, texts, what):
    hist = gw.history(peer)
    got = [m["id"] for m in hist]
    for i in ids:
        check_eq(got.count(i), 1, "%s: copies of %s in %s's history"
                 % (what, i, gw.user))
    check_eq([i for i in got if i in ids], ids,
             "%s: order of the messages in %s's history" % (what, gw.user))
    by_id = {m["id"]: m for m in hist}
    check_eq([by_id[i]["content"] for i in ids], texts,
             "%s: contents in %s's history" % (what, gw.user))


def offline_recipient(env, stop):
    srv, alice, bob = env.pair()
    alice_ev = alice.rpc()
    alice_ev.subscribe()

    # One message while bob is there, so a cursor exists before the outage.
    first = alice.call("message.send", user="bob", text="在线时的消息")["id"]
    sent_ok(alice_ev, first)
    wait_for(lambda: any(m["id"] == first for m in bob.history("alice")),
             "bob to have the first message")

    stop(bob)
    wait_for(lambda: "user bob of app ak_demo_chat gone" in srv.log(),
             "imserver to see bob's session end")
    texts = ["离线消息 %d" % i for i in (1, 2, 3)]
    ids = []
    for t in texts:
        ids.append(alice.call("message.send", user="bob", text=t)["id"])
    for i in ids:
        sent_ok(alice_ev, i)

    bob.start()
    bob.wait_online()
    all_ids, all_texts = [first] + ids, ["在线时的消息"] + texts
    wait_for(lambda: all(any(m["id"] == i for m in bob.history("alice"))
                         for i in ids),
             "bob to receive the 3 offline messages after restart")
    wait_synced(bob)
    check_once_in_order(bob, "alice", all_ids, all_texts, "after first restart")

    # A restart re-syncs from the persisted cursor: still exactly once. A
    # live marker sent after the sync proves the session is fully up.
    bob.restart()
    bob.wait_online()
    wait_synced(bob)
    marker = alice.call("message.send", user="bob", text="标记")["id"]
    wait_for(lambda: any(m["id"] == marker for m in bob.history("alice")),
             "bob to receive the marker after the second restart")
    check_once_in_order(bob, "alice", all_ids + [marker], all_texts + ["标记"],
                        "after second restart")


def test_offline_recipient_gets_message_once_after_restart(env):
    offline_recipient(env, lambda gw: gw.stop())


def test_offline_recipient_gets_message_once_after_sigkill(env):
    def crash(gw):
        gw.kill()
        check(os.path.exists(gw.sock), "a killed daemon leaves its socket "
              "behind (precondition for the stale-socket restart)")
    offline_recipient(env, crash)


def test_history_answers_with_server_stopped(env):
    srv, alice, bob = env.pair()
    bob_ev = bob.rpc()
    bob_ev.subscribe()
    texts = ["第一条", "第二条"]
    ids = [alice.call("message.send", user="bob", text=t)["id"] for t in texts]
    for i in ids:
        bob_ev.wait_event(is_msg_event("message.new", i), "bob's message.new")
    reply = bob.call("message.send", user="alice", text="收到")["id"]
    bob_ev.wait_event(is_msg_event("message.status", reply), "bob's reply SENT")

    check_eq(srv.stop(), 0, "imserver exit status after SIGTERM")
    st = bob.wait_state(lambda s: s["state"] != "online", "not online")
    check(st["state"] in ("backoff", "connecting"),
          "state after the server stopped: %r" % st)

    r = bob.cli("history", "alice")
    check_eq(r.returncode, 0, "imgw history exit status (stderr %r)" % r.stderr)
    for t in texts + ["收到"]:
        check(t in r.stdout, "imgw history shows %r: %r" % (t, r.stdout))
    r = bob.cli("--json", "history", "alice")
    check_eq(r.returncode, 0, "imgw --json history exit status (stderr %r)"
             % r.stderr)
    got = [m["id"] for m in json.loads(r.stdout)["messages"]]
    check_eq(got, ids + [reply], "ids in imgw --json history while offline")


def test_outbox_sends_when_server_returns(env):
    srv, alice, bob = env.pair()
    alice_ev = alice.rpc()
    alice_ev.subscribe()
    bob_ev = bob.rpc()
    bob_ev.subscribe()

    check_eq(srv.stop(), 0, "imserver exit status after SIGTERM")
    alice.wait_state(lambda s: s["state"] != "online", "not online")

    sent = alice.call("message.send", user="bob", text="服务器回来后发送")
    msg_id = sent["id"]
    check_eq(sent["status"], "SENDING", "status of a message sent offline")
    m = [x for x in alice.history("bob") if x["id"] == msg_id]
    check(len(m) == 1 and m[0]["status"] == "SENDING",
          "alice's history shows it SENDING: %r" % m)

    srv2 = srv.restart()
    # No session.reconnect: the gateways must come back by themselves.
    alice.wait_online(timeout=20)
    e = alice_ev.wait_event(is_msg_event("message.status", msg_id),
                            "alice's message.status after the server returned",
                            timeout=20)
    check_eq(e["status"], "SENT", "status after the server returned")
    bob_ev.wait_event(is_msg_event("message.new", msg_id),
                      "bob's message.new for the queued message", timeout=20)

    # Exactly once at bob, and exactly once at the server.
    bob.wait_online(timeout=20)
    wait_for(lambda: synced_lines(bob) >= 2, "bob's re-sync after reconnect",
             timeout=20)
    hist = bob.history("alice")
    check_eq([x["id"] for x in hist].count(msg_id), 1,
             "copies of the queued message in bob's history")
    check_eq(len(bob_ev.find_events(is_msg_event("message.new", msg_id))), 1,
             "message.new events at bob for the queued message")
    m = [x for x in alice.history("bob") if x["id"] == msg_id]
    check(len(m) == 1 and m[0]["status"] == "SENT",
          "alice's history shows it SENT: %r" % m)
    stored = [line for line in srv2.log().splitlines()
              if "message %s seq" % msg_id in line]
    check_eq(len(stored), 1, "imserver log lines storing the message")


def test_revoke_while_recipient_offline_reaches_it_after_restart(env):
    srv, alice, bob = env.pair()
    mid = alice.call("message.send", user="bob", text="稍后撤回")["id"]
    wait_for(lambda: any(m["id"] == mid for m in bob.history("alice")),
             "bob to have the message")
    bob.stop()
    wait_for(lambda: "user bob of app ak_demo_chat gone" in srv.log(),
             "imserver to see bob's session end")
    alice.call("message.revoke", id=mid)
    bob.start()
    ev = bob.rpc()
    ev.subscribe(since=0)
    e = ev.wait_event(is_msg_event("message.revoked", mid),
                      "bob's message.revoked after restart")
    check_eq(e["message"]["content"], "", "content in message.revoked")
    m = [x for x in bob.history("alice") if x["id"] == mid]
    check_eq([(x["status"], x["content"]) for x in m], [("REVOKED", "")],
             "bob's history after the offline revoke")


def test_outbox_survives_daemon_crash(env):
    srv, alice, bob = env.pair()
    check_eq(srv.stop(), 0, "imserver exit status after SIGTERM")
    alice.wait_state(lambda s: s["state"] != "online", "not online")
    texts = ["崩溃前 %d" % i for i in (1, 2, 3)]
    ids = [alice.call("message.send", user="bob", text=t)["id"] for t in texts]
    alice.kill()
    srv = srv.restart()
    alice.start()
    ev = alice.rpc()
    ev.subscribe(since=0)
    for i in ids:
        e = ev.wait_event(is_msg_event("message.status", i),
                          "alice's message.status for %s after the crash" % i,
                          timeout=20)
        check_eq(e["status"], "SENT", "status of %s after the crash" % i)
    bob.wait_online(timeout=20)
    wait_for(lambda: all(any(m["id"] == i for m in bob.history("alice"))
                         for i in ids),
             "bob to receive the messages queued before the crash", timeout=20)
    check_once_in_order(bob, "alice", ids, texts, "after the sender crashed")


def server_rx_queue(port):
    """Bytes the server has not read yet on its accepted loopback sockets."""
    total = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            parts = line.split()
            if int(parts[1].split(":")[1], 16) == port and parts[3] == "01":
                total += int(parts[4].split(":")[1], 16)
    return total


def test_resend_after_crash_is_not_a_duplicate(env):
    srv, alice, bob = env.pair()
    bob_ev = bob.rpc()
    bob_ev.subscribe()
    # The server is frozen, so alice's SEND waits unread in its socket, and
    # alice dies before any answer: on restart the outbox sends it again.
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        mid = alice.call("message.send", user="bob", text="只收一次")["id"]
        wait_for(lambda: server_rx_queue(srv.port) > 0,
                 "alice's SEND to reach the frozen server's socket")
        alice.kill()
    finally:
        os.kill(srv.pid, signal.SIGCONT)
    bob_ev.wait_event(is_msg_event("message.new", mid),
                      "bob's message.new from the first send")
    alice.start()
    ev = alice.rpc()
    ev.subscribe(since=0)
    e = ev.wait_event(is_msg_event("message.status", mid),
                      "alice's message.status after the resend")
    check_eq(e["status"], "SENT", "status after the resend")
    wait_for(lambda: "resend of %s" % mid in srv.log(),
             "imserver to log the resend of %s" % mid)
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bob_ev.wait_event(is_msg_event("message.new", marker), "bob's marker")
    check_eq(len(bob_ev.find_events(is_msg_event("message.new", mid))), 1,
             "message.new events at bob")
    check_eq([m["id"] for m in bob.history("alice")], [mid, marker],
             "bob's history")
    stored = [line for line in srv.log().splitlines()
              if "message %s seq" % mid in line]
    check_eq(len(stored), 1, "imserver log lines storing the message")


def test_sync_pages_through_many_offline_messages(env):
    srv, alice, bob = env.pair()
    bob.stop()
    wait_for(lambda: "user bob of app ak_demo_chat gone" in srv.log(),
             "imserver to see bob's session end")
    n = 2500	# more than two sync pages of 1000, asked for ahead (sync.next)
    conn = alice.rpc()
    ev = alice.rpc()
    ev.subscribe()
    reqs = [conn.request("message.send", [{"user": "bob", "text": "第%d条" % i}])
            for i in range(n)]
    ids = []
    for r in reqs:
        err, res = conn.response(r)
        check(err is None, "pipelined send: %r" % (err,))
        ids.append(res["id"])
    ev.wait_event(is_msg_event("message.status", ids[-1]),
                  "the last of %d messages to be SENT" % n, timeout=30)
    # Killed in the middle of the sync (whenever the first page is in):
    # the next start finishes it, and nothing is stored twice.
    bob.spawn()
    wait_for(lambda: synced_lines(bob) >= 1, "bob's first sync page",
             timeout=30)
    bob.kill()
    bob.start()
    wait_for(lambda: synced_lines(bob) >= 1, "bob's sync after the restart",
             timeout=30)
    wait_for(lambda: len(bob.history_all("alice")) >= n,
             "bob to have all %d messages" % n, timeout=30)
    got = [m["id"] for m in bob.history_all("alice")]
    check_eq(len(got), n, "messages in bob's history")
    check_eq(got, ids, "bob's history: every message once, in order")


if __name__ == "__main__":
    run()
