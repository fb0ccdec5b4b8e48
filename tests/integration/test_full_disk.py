#!/usr/bin/python3
"""
A full disk loses nothing and fools no one (proto/RPC.md, "Limits and flow
control"): imgwd runs under a file size limit (prlimit), so its database
stops growing. Both halves of the promise: every message.send that was
answered with an id is stored and reaches the peer exactly once; every one
that was not (an `internal` answer, or a connection told
[2, "error", [{internal}]] and closed) took no effect: it is not stored and
never delivered, even after space returns. The daemon stays up, serves
reads and says why in session.status. A batch is all or nothing the same way.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (ConnectionClosed, Gateway, Rpc, RpcError, check,  # noqa: E402
                     check_eq, expect_rpc_error, run, wait_for)

import msgpack  # noqa: E402


class LimitedGateway(Gateway):
    """An imgwd whose files may not grow past limit bytes (RLIMIT_FSIZE)."""
    limit = None

    def argv(self):
        argv = super().argv()
        if self.limit is None:
            return argv
        return ["prlimit", "--fsize=%d" % self.limit, "--"] + argv


def error_notes(conn):
    """Codes of the daemon's [2, "error", [...]] notifications on conn."""
    out = []
    for n in conn.notifications:
        if isinstance(n, list) and len(n) == 3 and n[0] == 2 and n[1] == "error":
            for e in n[2] if isinstance(n[2], list) else [n[2]]:
                out.append(e.get("code") if isinstance(e, dict) else e)
    return out


def send_pipelined(gw, reqs):
    """
    Write reqs ([method, args]) in one go on a new connection and read until
    every one is answered or the daemon hangs up. Returns ({index: (err,
    result)}, codes of the final error notifications, closed).
    """
    c = Rpc(gw.sock)
    try:
        blob = b"".join(msgpack.packb([0, i, m, [a]], use_bin_type=True)
                        for i, (m, a) in enumerate(reqs))
        c.send_raw(blob)
        wait_for(lambda: len(c.responses) == len(reqs) or not c.pump(0.2),
                 "answers to %d pipelined requests, or a hang-up" % len(reqs))
        return dict(c.responses), error_notes(c), c.closed
    finally:
        c.close()


def classify(gw, reqs, acked, refused, withdrawn):
    """Send reqs; sort each message id into acked, refused or withdrawn."""
    answers, notes, closed = send_pipelined(gw, reqs)
    if len(answers) < len(reqs):
        # The half promise the old test skipped: the client is TOLD.
        check(closed, "the connection with unanswered requests was closed")
        check_eq(notes, ["internal"], "the final notification on a connection "
                 "whose answers were withdrawn")
    for i, (method, args) in enumerate(reqs):
        if i not in answers:
            withdrawn.append(args["id"])
            continue
        err, res = answers[i]
        if err is not None:
            check_eq(err.get("code"), "internal", "the refusal's code (%r)" % err)
            refused.append(args["id"])
        else:
            check_eq(res["id"], args["id"], "the answered id")
            acked.append(args["id"])


def test_full_disk_loses_nothing(env):
    srv = env.server()
    alice = LimitedGateway(env, "alice", srv.url, env.token("alice"))
    alice.limit = 900 * 1024
    alice.start()
    bob = env.gateway("bob", srv)
    alice.wait_online()
    bob.wait_online()

    acked, refused, withdrawn = [], [], []
    reasons = set()
    text = "磁盘满了也不能丢消息。" * 40
    for i in range(400):
        # Five sends pipelined a connection: a failed commit withdraws
        # several answers at once.
        reqs = [("message.send", {"user": "bob", "id": "fd-%d-%d" % (i, k),
                                  "text": "%d.%d %s" % (i, k, text)})
                for k in range(5)]
        classify(alice, reqs, acked, refused, withdrawn)
        if refused or withdrawn:
            reasons.add(alice.status()["reason"])
        if len(refused) + len(withdrawn) >= 20:
            break
    print("    # acked %d, refused %d, withdrawn %d"
          % (len(acked), len(refused), len(withdrawn)))
    check(len(refused) + len(withdrawn) >= 20,
          "the disk filled up (acked %d)" % len(acked))
    check(withdrawn, "some answers were withdrawn by a failed commit")
    check(alice.proc.alive(), "imgwd is still running")
    check_eq(alice.call("rpc.ping"), "pong", "imgwd still answers")
    for mid in acked:
        check_eq(alice.call("message.get", id=mid)["message"]["id"], mid,
                 "an acknowledged message is stored")
    for mid in refused + withdrawn:
        expect_rpc_error("not_found", "a message whose send was not answered "
                         "(%s) is not stored" % mid, alice.call, "message.get",
                         id=mid)
    # Why, where its user looks: not "online" with an empty reason.
    def says_why():
        reasons.add(alice.status()["reason"])
        return any("cannot store" in r for r in reasons)
    wait_for(says_why, "session.status to say it cannot store (reasons seen "
             "%r)" % reasons)
    print("    # reasons %r" % sorted(reasons))

    # Space again: everything acknowledged reaches bob, once; nothing else.
    alice.stop()
    alice.limit = None
    alice.start()
    alice.wait_online()
    wait_for(lambda: alice.call("db.stats")["outbox"] == 0,
             "alice's outbox to drain", timeout=60)
    got = [m["id"] for m in bob.history_all("alice")]
    check_eq(sorted(set(acked) - set(got)), [], "acknowledged but never delivered")
    check_eq(len(got), len(set(got)), "no message delivered twice")
    check_eq(sorted(set(refused + withdrawn) & set(got)), [],
             "refused or withdrawn, yet delivered")
    check_eq(sorted(set(got) - set(acked)), [], "delivered but never acknowledged")
    for mid in refused + withdrawn:
        expect_rpc_error("not_found", "a withdrawn message (%s) after the "
                         "restart" % mid, alice.call, "message.get", id=mid)


def test_full_disk_batch_all_or_nothing(env):
    """A batch of cache-only calls is one transaction: all stored, or none."""
    srv = env.server()
    alice = LimitedGateway(env, "alice", srv.url, env.token("alice"))
    alice.limit = 900 * 1024
    alice.start()
    alice.wait_online()
    text = "一批一起成功或一起失败。" * 30
    outcomes = []
    for b in range(200):
        ids = ["b%d-%d" % (b, k) for k in range(40)]
        calls = [{"method": "message.send",
                  "params": {"user": "bob", "id": mid, "text": text}}
                 for mid in ids]
        answers, notes, closed = send_pipelined(
            alice, [("batch", {"calls": calls})])
        if 0 not in answers:
            check_eq(notes, ["internal"], "the final notification when a "
                     "batch's commit failed")
            outcomes.append("withdrawn")
            stored = []
            for mid in ids:
                try:
                    stored.append(alice.call("message.get", id=mid)["message"]["id"])
                except RpcError as e:
                    check_eq(e.code, "not_found", "message.get of %s" % mid)
            check_eq(stored, [], "messages of a withdrawn batch that were stored")
            break
        err, res = answers[0]
        check(err is None, "the batch itself answers: %r" % (err,))
        ok = [mid for mid, r in zip(ids, res["results"]) if "result" in r]
        for mid, r in zip(ids, res["results"]):
            if "error" in r:
                check_eq(r["error"]["code"], "internal", "a call's error")
                expect_rpc_error("not_found", "a batch call that failed (%s)"
                                 % mid, alice.call, "message.get", id=mid)
        for mid in ok:
            check_eq(alice.call("message.get", id=mid)["message"]["id"], mid,
                     "a batch call answered with a result is stored")
        outcomes.append("answered")
    print("    # %d batches answered, then %s" % (outcomes.count("answered"),
                                                   outcomes[-1]))
    check_eq(outcomes[-1], "withdrawn", "a batch finally hit the full disk")
    check(outcomes.count("answered") >= 1, "a batch fitted before the disk "
          "filled")
    check_eq(alice.call("rpc.ping"), "pong", "imgwd still answers")


if __name__ == "__main__":
    run()
