#!/usr/bin/python3
"""
Operations on the local cache in bulk: deleting many messages, clearing a
conversation's history while keeping it listed, and marking everything read
(which also reaches the senders as read receipts).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check, check_eq, run, wait_for  # noqa: E402


def test_delete_many_clear_and_read_all(env):
    srv, alice, bob = env.pair()
    ids = [alice.call("message.send", user="bob", text="第%d条" % i)["id"]
           for i in range(5)]
    wait_for(lambda: len(bob.history("alice")) == 5, "bob to get 5 messages")
    conv = bob.call("conversation.get", user="alice")
    check_eq(conv["unread"], 5, "bob's unread before reading")

    # Many at once: the unknown id fails alone.
    r = bob.call("message.delete", ids=ids[:2] + ["no-such-id"])
    check_eq(r["deleted"], ids[:2], "deleted ids")
    check_eq([(f["id"], f["error"]["code"]) for f in r["failed"]],
             [("no-such-id", "not_found")], "failed ids")
    check_eq([m["id"] for m in bob.history("alice")], ids[2:],
             "bob's history after deleting two")

    # Mark everything read: the count drops, alice learns it was read.
    a = alice.rpc()
    a.subscribe()
    check_eq(bob.call("conversation.readAll")["read"], 1, "conversations read")
    check_eq(bob.call("conversation.unread")["total"], 0, "bob's unread total")
    a.wait_event(lambda e: e.get("type") == "message.read" and
                 e.get("by") == "bob", "alice to get bob's read receipt")
    wait_for(lambda: alice.call("conversation.get", user="bob")["peerReadAt"] > 0,
             "alice's peerReadAt")

    # Clearing keeps the conversation but forgets its messages.
    bob.call("conversation.clear", user="alice")
    check_eq(bob.history("alice"), [], "bob's history after clearing")
    convs = [c["conversation"] for c in
             bob.call("conversation.list")["conversations"]]
    check({"user": "alice"} in convs, "the conversation is still listed: %r"
          % convs)


if __name__ == "__main__":
    run()
