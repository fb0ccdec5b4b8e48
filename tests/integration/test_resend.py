#!/usr/bin/python3
"""
A refused message re-sent with message.resend goes out whole: its type,
payload, mentions and reply reference, not only its text.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check_eq, is_msg_event, run, wait_for  # noqa: E402


def test_resend_keeps_the_extras(env):
    srv, alice, bob = env.pair()
    bob.call("blacklist.add", users=["alice"])
    a = alice.rpc()
    a.subscribe()
    payload = {"url": "https://example.invalid/p.png", "size": 1234,
               "mime": "image/png", "width": 64, "height": 48}
    mid = alice.call("message.send", user="bob", text="[图片]", type="IMAGE",
                     payload=payload, mentions=["bob"], replyTo="m-0")["id"]
    e = a.wait_event(lambda e: is_msg_event("message.status", mid)(e) and
                     e["status"] == "FAILED", "the blocked message to fail")
    check_eq(e["status"], "FAILED", "status while blocked")

    bob.call("blacklist.remove", users=["alice"])
    b = bob.rpc()
    b.subscribe()
    check_eq(alice.call("message.resend", id=mid)["status"], "SENDING",
             "message.resend")
    e = b.wait_event(is_msg_event("message.new", mid), "bob to get the message")
    m = e["message"]
    check_eq((m["type"], m["content"], m.get("payload"), m.get("mentions"),
              m.get("replyTo")),
             ("IMAGE", "[图片]", payload, ["bob"], "m-0"),
             "what bob got from the re-sent message")
    wait_for(lambda: alice.call("message.get", id=mid)["message"]["status"] ==
             "SENT", "alice's copy to be SENT")


if __name__ == "__main__":
    run()
