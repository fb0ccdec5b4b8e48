#!/usr/bin/python3
"""
A full disk loses nothing and fools no one: imgwd runs under a file size
limit (prlimit), so its database stops growing. Every message.send that was
answered with an id is stored; the others were refused or their connection
was closed with an error; the daemon stays up, serves reads, says why in
session.status, and once space returns (a restart without the limit) the
queued messages go out and the peer gets each exactly once.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ConnectionClosed, Gateway, RpcError, check, check_eq,  # noqa: E402
                     run, wait_for)


class LimitedGateway(Gateway):
    """An imgwd whose files may not grow past limit bytes (RLIMIT_FSIZE)."""
    limit = None

    def argv(self):
        argv = super().argv()
        if self.limit is None:
            return argv
        return ["prlimit", "--fsize=%d" % self.limit, "--"] + argv


def test_full_disk_loses_nothing(env):
    srv = env.server()
    alice = LimitedGateway(env, "alice", srv.url, env.token("alice"))
    alice.limit = 900 * 1024
    alice.start()
    bob = env.gateway("bob", srv)
    alice.wait_online()
    bob.wait_online()

    acked, refused, closed = [], 0, 0
    text = "磁盘满了也不能丢消息。" * 40
    for i in range(2000):
        try:
            acked.append(alice.call("message.send", user="bob",
                                    text="%d %s" % (i, text))["id"])
        except RpcError as e:
            check_eq(e.code, "internal", "the refusal's code")
            refused += 1
        except ConnectionClosed:
            closed += 1
        if refused + closed >= 10:
            break
    print("    # acked %d, refused %d, closed %d" % (len(acked), refused, closed))
    check(refused + closed >= 10, "the disk filled up (acked %d)" % len(acked))
    check(alice.proc.alive(), "imgwd is still running")
    check_eq(alice.call("rpc.ping"), "pong", "imgwd still answers")
    for mid in acked:
        check_eq(alice.call("message.get", id=mid)["message"]["id"], mid,
                 "an acknowledged message is stored")
    wait_for(lambda: "cannot store" in alice.status()["reason"] or
             alice.status()["state"] == "online",
             "session.status to say why (or to be back online)")

    # Space again: everything acknowledged reaches bob, once.
    alice.stop()
    alice.limit = None
    alice.start()
    alice.wait_online()
    wait_for(lambda: alice.call("db.stats")["outbox"] == 0,
             "alice's outbox to drain", timeout=60)
    got = [m["id"] for m in bob.history_all("alice")]
    check_eq(sorted(set(acked) - set(got)), [], "acknowledged but never delivered")
    check_eq(len(got), len(set(got)), "no message delivered twice")


if __name__ == "__main__":
    run()
