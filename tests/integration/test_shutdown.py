#!/usr/bin/python3
"""
A clean stop with local clients still connected: each gets the "shutdown"
event, the daemon exits 0, and (under tests/sanitize) frees everything it
allocated, so LeakSanitizer has nothing to report at its exit.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import check, check_eq, run, wait_for  # noqa: E402


def test_stop_with_clients_connected(env):
    srv, alice, bob = env.pair()
    subs = [alice.rpc() for _ in range(3)]
    for r in subs:
        r.subscribe()
    idle = [alice.rpc() for _ in range(2)]
    for r in idle:
        r.call("rpc.ping")
    alice.call("message.send", user="bob", text="before the stop")
    check_eq(alice.stop(), 0, "alice's exit status")
    for r in subs:
        check(r.wait_closed(), "a subscriber was not disconnected")
        check([e for e in r.events if e.get("type") == "shutdown"],
              "a subscriber got no shutdown event (got %s)"
              % [e.get("type") for e in r.events])
    for r in idle:
        check(r.wait_closed(), "an idle client was not disconnected")
    wait_for(lambda: not alice.proc.alive(), "alice's imgwd to be gone")


if __name__ == "__main__":
    run()
