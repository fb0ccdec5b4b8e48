#!/usr/bin/python3
"""
session.logout: the gateway says DISCONNECT, stays offline and keeps
queueing sends, across a restart of the daemon too, until session.reconnect
(or session.login) connects it again; what was queued then goes out.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check, check_eq, hold_for, run, wait_for  # noqa: E402


def sessions_of(srv, user):
    """How many sessions of user imserver saw connect."""
    return srv.log().count("user %s of app ak_demo_chat connected" % user)


def test_logout_stays_offline_until_reconnect(env):
    srv, alice, bob = env.pair()
    n = sessions_of(srv, "alice")
    r = alice.call("session.logout")
    check_eq(r["state"], "logged_out", "session.logout answers the state")
    wait_for(lambda: "user alice of app ak_demo_chat gone" in srv.log(),
             "imserver to see alice go")
    st = alice.status()
    check_eq(st["state"], "logged_out", "session.status after logout")
    queued = alice.call("message.send", user="bob", text="written offline")
    check_eq(queued["status"], "SENDING", "a send while logged out queues")
    # No reconnect by itself: the back-off would have retried by now.
    hold_for(lambda: alice.status()["state"] == "logged_out", 1.0,
             "alice stays logged out")
    check_eq(sessions_of(srv, "alice"), n, "no new session while logged out")
    out = alice.cli("logout")
    check_eq(out.returncode, 0, "imgw logout works when already out")

    # A restart keeps the logout.
    alice.stop()
    alice.start()
    hold_for(lambda: alice.status()["state"] == "logged_out", 1.0,
             "alice stays logged out after a restart")
    check_eq(sessions_of(srv, "alice"), n, "no session after the restart")

    alice.call("session.reconnect")
    alice.wait_online()
    wait_for(lambda: any(m["id"] == queued["id"] for m in bob.history("alice")),
             "bob to get what alice wrote while logged out")
    # And a restart now connects as usual.
    alice.stop()
    alice.start()
    alice.wait_online()


if __name__ == "__main__":
    run()
