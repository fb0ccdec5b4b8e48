#!/usr/bin/python3
"""
The event log: events.subscribe {since} replays what a client missed, in
order with increasing seq, then continues live with no gap and no repeat;
without since only new events come; the log survives a daemon restart.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (check, check_eq, is_msg_event, run, wait_for)  # noqa: E402


def seqs(conn):
    return [e["seq"] for e in conn.events]


def wait_seq(conn, seq, what):
    """Wait until conn has received the event with this seq."""
    conn.wait_event(lambda e: e.get("seq", 0) >= seq, what)


def check_contiguous(conn, first, what):
    s = seqs(conn)
    check_eq(s, list(range(first, first + len(s))),
             "%s: seqs (increasing by one, no gap, no repeat)" % what)


def send_and_settle(alice, texts):
    ids = [alice.call("message.send", user="bob", text=t)["id"] for t in texts]
    wait_for(lambda: all(m["status"] == "SENT" for m in alice.history("bob")
                         if m["id"] in ids), "alice's messages to be SENT")
    return ids


def test_events_replay_since(env):
    srv, alice, bob = env.pair()
    ids = send_and_settle(alice, ["一", "二", "三"])

    # Replay from the start of the log.
    r1 = alice.rpc()
    head = r1.subscribe(since=0)
    check(head >= 8, "head after connecting and 3 sends is >= 8: %d" % head)
    wait_seq(r1, head, "replay up to head %d" % head)
    check_contiguous(r1, 1, "replay since 0")
    types = [e["type"] for e in r1.events]
    states = [e for e in r1.events if e["type"] == "session.state"]
    check_eq(types[:1], ["session.state"], "first event of the log")
    check_eq([e["state"] for e in states[:3]],
             ["connecting", "syncing", "online"],
             "the first three session states")
    check("sync.progress" in types, "a sync.progress event was logged")
    new = [e["message"]["id"] for e in r1.events if e["type"] == "message.new"]
    check_eq(new, ids, "message.new events in send order")
    for i in ids:
        pos_new = next(k for k, e in enumerate(r1.events)
                       if is_msg_event("message.new", i)(e))
        st = [k for k, e in enumerate(r1.events)
              if is_msg_event("message.status", i)(e)]
        check(len(st) == 1 and st[0] > pos_new and
              r1.events[st[0]]["status"] == "SENT",
              "one message.status SENT after message.new for %s: %r" % (i, st))

    # A subscriber without since sees only what comes next.
    r3 = alice.rpc()
    head3 = r3.subscribe()
    check_eq(head3, head, "head reported to a later subscriber")

    # Live: continues right after the replay, with no gap.
    more = send_and_settle(alice, ["四", "五"])
    for i in more:
        r1.wait_event(is_msg_event("message.status", i),
                      "live message.status for %s" % i)
    check_contiguous(r1, 1, "replay then live")
    check(seqs(r1)[-1] > head, "live events after the replay")
    r3.wait_event(is_msg_event("message.status", more[-1]),
                  "the later subscriber's live events")
    check(min(seqs(r3)) == head + 1,
          "a subscriber without since starts right after head: %r" % seqs(r3))
    check_contiguous(r3, head + 1, "subscriber without since")

    # Replay from the middle gives exactly the tail of the log, same bodies.
    mid = head // 2
    r2 = alice.rpc()
    r2.subscribe(since=mid)
    last = seqs(r1)[-1]
    wait_seq(r2, last, "replay since %d up to %d" % (mid, last))
    check_contiguous(r2, mid + 1, "replay since %d" % mid)
    check_eq(r2.events, [e for e in r1.events if e["seq"] > mid],
             "events replayed since %d equal those seen live" % mid)

    # since beyond head: nothing old, only new.
    r4 = alice.rpc()
    r4.subscribe(since=last + 1000)
    extra = send_and_settle(alice, ["六"])
    r4.wait_event(is_msg_event("message.status", extra[0]),
                  "live event after subscribing beyond head")
    check(min(seqs(r4)) == last + 1, "subscribing beyond head replays nothing: "
          "%r (head was %d)" % (seqs(r4), last))

    # bob's log has the received messages as message.new, once each.
    b = bob.rpc()
    bh = b.subscribe(since=0)
    wait_seq(b, bh, "bob's replay")
    got = [e["message"]["id"] for e in b.events if e["type"] == "message.new"]
    check_eq(got, ids + more + extra, "message.new events in bob's log")

    # The log survives a restart: same events, same seqs, then new ones.
    before = [e for e in r1.events]
    alice.restart()
    alice.wait_online()
    r5 = alice.rpc()
    h5 = r5.subscribe(since=0)
    wait_seq(r5, h5, "replay after restart")
    check_contiguous(r5, 1, "replay after restart")
    check_eq(r5.events[:len(before)], before,
             "events before the restart, replayed after it")
    own = [(e["type"], e.get("state")) for e in r5.events[len(before):]]
    check_eq([x for x in own if x[0] == "session.state"][-3:],
             [("session.state", "connecting"), ("session.state", "syncing"),
              ("session.state", "online")],
             "the restart's own session states at the end of the log")


def test_replay_and_live_race_has_no_gap(env):
    srv, alice, bob = env.pair()
    sender = alice.rpc()
    for round_ in range(5):
        # A send is in flight while a new subscriber asks for the whole log.
        pending = sender.request("message.send",
                                 [{"user": "bob", "text": "竞争 %d" % round_}])
        sub = alice.rpc()
        sub.subscribe(since=0)
        err, res = sender.response(pending)
        check(err is None, "send in round %d: %r" % (round_, err))
        sub.wait_event(is_msg_event("message.status", res["id"]),
                       "round %d: the in-flight message's status" % round_)
        check_contiguous(sub, 1, "round %d" % round_)


if __name__ == "__main__":
    run()
