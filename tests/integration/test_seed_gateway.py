#!/usr/bin/python3
"""
imgwd against the vendor's kind of server: a Spring simple broker that speaks
only the seed (proto/UPSTREAM.md) - no RECEIPT, no replies, no events, no
seq, no end marker to a sync. `imserver --seed-only` imitates it,
`--seed-echo` also echoes a one-to-one message to all the sender's sessions,
`--seed-receipts` answers RECEIPT for SEND and SUBSCRIBE.

The messaging and fault scenarios run against four server profiles (full
imserver and the three seed-only ones; the case name starts with the
profile): a message settles (SENT) within seconds of going out and arrives
once, offline messages arrive by the seed sync, revokes, groups followed by
hand, a killed gateway and a killed server mid-stream. The rest is about what
the gateway says of the server (session.status capabilities and profile,
imgw status) and methods a seed-only server cannot answer: they fail at once
with `unsupported`, or answer from the cache, never after a 30 s wait.
"""
import collections
import os
import re
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (IMGWD, IMSERVER, ConnectionClosed, Gateway,  # noqa: E402
                     RpcError, TestFailure, check, check_eq, hold_for,
                     is_msg_event, run, wait_for)

# What full imserver advertises in CONNECTED im-extensions.
EXTENSIONS = ["replies", "events", "seq", "group", "friend", "conversation",
              "blacklist", "profile", "chat.edit", "chat.read", "chat.history",
              "sync.next"]

# Bounds that tell "settles at once" from the old 30 s waits while leaving
# room for a busy 2-core machine (and the sanitizer build).
SENT_BOUND = 3.0	# s from a send going out to its message.status SENT
UNSUPPORTED_BOUND = 1.0	# s for a method the server cannot serve to fail
ONLINE_BOUND = 3.0	# s from the daemon answering to its session online
REVOKE_BOUND = 3.0	# s for message.revoke to be answered
BURST = 20		# messages in the burst that must all settle
STREAM = 60		# messages in the killed-server / killed-gateway streams
GW_ARGS = ["--backoff-max", "1"]

Profile = collections.namedtuple("Profile", "name args seed echo receipts")
PROFILES = (
    Profile("full", [], False, False, False),
    Profile("seed_noecho", ["--seed-only"], True, False, False),
    Profile("seed_echo", ["--seed-only", "--seed-echo"], True, True, False),
    Profile("seed_receipts", ["--seed-only", "--seed-receipts"], True, False,
            True),
)
FULL, SEED = PROFILES[0], PROFILES[1]


# ---------------------------------------------------------------- helpers

class Stream:
    """An event subscription that notes when each event arrived."""

    def __init__(self, gw, since=None):
        self.gw = gw
        self.rpc = gw.rpc()
        self.rpc.subscribe(since)
        self.at = []

    @property
    def events(self):
        return self.rpc.events

    def pump(self, timeout=0.01):
        self.rpc.pump(timeout)
        now = time.monotonic()
        while len(self.at) < len(self.rpc.events):
            self.at.append(now)

    def find(self, pred):
        self.pump(0)
        return [e for e in self.rpc.events if pred(e)]

    def first(self, pred):
        """(event, arrival time) of the first event matching pred, or None."""
        self.pump(0)
        for e, t in zip(self.rpc.events, self.at):
            if pred(e):
                return e, t
        return None

    def wait(self, pred, what, timeout=10.0):
        def look():
            self.pump(0.02)
            return self.first(pred)
        return wait_for(look, "%s's event: %s" % (self.gw.user, what),
                        timeout, interval=0)


def status_is(msg_id, status):
    return lambda e: e.get("type") == "message.status" and \
        e.get("id") == msg_id and e.get("status") == status


def start_server(env, prof, **kw):
    return env.server(args=prof.args, **kw)


def start_gateways(env, srv, users=("alice", "bob"), args=()):
    """One online gateway per user; checks each came online at once."""
    gws = [Gateway(env, u, srv.url, env.token(u), args=GW_ARGS + list(args))
           for u in users]
    for g in gws:
        g.spawn()
    for g in gws:
        g.wait_ready()
        wait_online_fast(g)
    return gws


def wait_online_fast(gw):
    """
    The session is online within ONLINE_BOUND of the daemon answering (a seed
    server gives no end to a sync: no 30 s 'syncing'), with no reason.
    """
    t0 = time.monotonic()
    st = gw.wait_online(timeout=40)
    dt = time.monotonic() - t0
    check(dt <= ONLINE_BOUND, "%s's session took %.2fs to come online (bound "
          "%.1fs); status %r" % (gw.user, dt, ONLINE_BOUND, st))
    check_eq(st.get("reason"), "", "%s's session.status reason when online"
             % gw.user)
    return st


def setup(env, prof, users=("alice", "bob"), args=()):
    srv = start_server(env, prof)
    return (srv,) + tuple(start_gateways(env, srv, users, args))


def history_ids(gw, peer=None, group=None):
    args = {"limit": 1000, "order": "oldest"}
    if group is not None:
        args["group"] = group
    else:
        args["user"] = peer
    return [m["id"] for m in gw.call("message.history", **args)["messages"]]


def history_msg(gw, peer, msg_id, group=None):
    args = {"limit": 1000, "order": "oldest"}
    if group is not None:
        args["group"] = group
    else:
        args["user"] = peer
    return [m for m in gw.call("message.history", **args)["messages"]
            if m["id"] == msg_id]


def outbox(gw):
    return gw.call("db.stats")["outbox"]


def wait_outbox_empty(gw, timeout=SENT_BOUND):
    wait_for(lambda: outbox(gw) == 0, "%s's outbox to drain (db.stats outbox "
             "%d)" % (gw.user, outbox(gw)), timeout)


def dups(ids):
    return sorted(set(i for i in ids if ids.count(i) > 1))


def send_burst(gw, stream, peer, texts, group=None):
    """
    Pipeline one message.send per text; returns [(id, time written)] and
    checks each was answered SENDING or SENT.
    """
    conn = gw.rpc()
    reqs = []
    for t in texts:
        args = {"text": t}
        if group is not None:
            args["group"] = group
        else:
            args["user"] = peer
        reqs.append((conn.request("message.send", [args]), time.monotonic()))
        stream.pump(0)
    out = []
    for r, t0 in reqs:
        err, res = conn.response(r)
        check(err is None, "message.send answered an error: %r" % (err,))
        check(res.get("status") in ("SENDING", "SENT"),
              "message.send answer %r" % res)
        out.append((res["id"], t0))
        stream.pump(0)
    return out


def wait_all_sent(stream, sent, bound=SENT_BOUND, what="burst"):
    """Every (id, t0) gets message.status SENT within bound of t0."""
    def all_in():
        stream.pump(0.02)
        return all(stream.first(status_is(i, "SENT")) for i, _ in sent)
    try:
        wait_for(all_in, "message.status SENT for all %d messages of the %s"
                 % (len(sent), what), timeout=bound + 3, interval=0)
    except TestFailure:
        missing = [i for i, _ in sent if not stream.first(status_is(i, "SENT"))]
        other = [(e.get("id"), e.get("status"), e.get("error")) for e in
                 stream.find(lambda e: e.get("type") == "message.status")
                 if e.get("status") != "SENT"]
        raise TestFailure("%d of %d never SENT (e.g. %s); other statuses "
                             "seen %r; %s's outbox %d" % (
                                 len(missing), len(sent), missing[:3],
                                 other[:5], stream.gw.user,
                                 outbox(stream.gw)))
    late = []
    for i, t0 in sent:
        _, t = stream.first(status_is(i, "SENT"))
        if t - t0 > bound:
            late.append((i, round(t - t0, 2)))
    check(not late, "%d of %d messages of the %s took longer than %.1fs to "
          "be SENT: %r" % (len(late), len(sent), what, bound, late[:5]))
    bad = [(e.get("id"), e.get("status")) for e in stream.find(
        lambda e: e.get("type") == "message.status" and
        e.get("id") in dict(sent) and e.get("status") != "SENT")]
    check_eq(bad, [], "other message.status events for the %s" % what)


def subscriptions(srv, dest):
    """imserver's sessions that subscribed to dest (its -v log)."""
    pat = re.compile(r"session (\d+): subscribed %s as " % re.escape(dest))
    return set(pat.findall(srv.log()))


def wait_subscriptions(srv, dest, n, timeout=10.0):
    wait_for(lambda: len(subscriptions(srv, dest)) >= n,
             "%d sessions subscribed to %s at imserver" % (n, dest), timeout)


def make_group(env, srv, gid, owner, *members):
    """imserver group: a group made out of band, in the server's database."""
    argv = [IMSERVER, "group", "--db", srv.db, gid, owner] + list(members)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL)
    check_eq(r.returncode, 0, "%s exit status (stdout %r, stderr %r)"
             % (" ".join(argv[1:]), r.stdout, r.stderr))


def server_deliveries(srv, user, ids):
    """
    For a failure message only: what imserver's database says it delivered
    to user, {id: (delivered, seq)} (its private schema; None if unreadable).
    """
    try:
        import sqlite3
        db = sqlite3.connect("file:%s?mode=ro" % srv.db, uri=True, timeout=2)
        try:
            return {i: db.execute("SELECT delivered, seq FROM deliveries "
                                  "WHERE user_id = ? AND msg_id = ?",
                                  (user, i)).fetchall() for i in ids}
        finally:
            db.close()
    except Exception as e:	# noqa: BLE001 - diagnostics never fail a test
        return "unreadable (%s)" % e


def gone(srv, user):
    return "user %s of app ak_demo_chat gone" % user in srv.log()


def timed_call(gw, method, **args):
    """(error code or None, result or message, seconds)."""
    r = gw.rpc()
    t0 = time.monotonic()
    try:
        res = r.call(method, _timeout=40, **args)
        return None, res, time.monotonic() - t0
    except RpcError as e:
        return e.code, e.message, time.monotonic() - t0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ---------------------------------------------------------------- scenarios,
# each run against every profile (see the bottom of the file)

def scenario_send_settles(env, prof):
    """One message, then a burst of BURST: SENT at once, received once."""
    srv, alice, bob = setup(env, prof)
    aev = Stream(alice)
    bev = Stream(bob)

    t0 = time.monotonic()
    r = alice.call("message.send", user="bob", text="你好，种子服务器")
    check(r.get("status") in ("SENDING", "SENT"), "message.send answer %r" % r)
    one = r["id"]
    e, _ = bev.wait(is_msg_event("message.new", one), "bob's message.new")
    check_eq((e["message"]["content"], e["message"]["from"],
              e["message"]["conversation"]),
             ("你好，种子服务器", "alice", {"user": "alice"}),
             "bob's message.new (content, from, conversation)")
    wait_all_sent(aev, [(one, t0)], what="first message")

    sent = send_burst(alice, aev, "bob", ["连发 %d" % i for i in range(BURST)])
    ids = [i for i, _ in sent]
    check_eq(len(set(ids)), BURST, "distinct ids of the burst")
    wait_all_sent(aev, sent)
    wait_outbox_empty(alice)

    wait_for(lambda: set(ids) <= set(history_ids(bob, "alice")),
             "bob to have all %d messages of the burst" % BURST)
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bev.wait(is_msg_event("message.new", marker), "bob's marker")
    aev.wait(status_is(marker, "SENT"), "alice's marker SENT")
    got = history_ids(bob, "alice")
    check_eq(dups(got), [], "messages bob has more than once")
    check_eq(got, [one] + ids + [marker], "bob's history")
    for i in [one] + ids:
        n = len(bev.find(is_msg_event("message.new", i)))
        check_eq(n, 1, "bob's message.new events for %s" % i)
        # Our own message: one message.new when queued, none for an echo.
        n = len(aev.find(is_msg_event("message.new", i)))
        check(n <= 1, "alice got %d message.new events for her own %s" % (n, i))
    mine = alice.call("message.history", user="bob", limit=1000,
                      order="oldest")["messages"]
    check_eq([m["id"] for m in mine], [one] + ids + [marker],
             "alice's history (one copy each, an echo is not a second)")
    check_eq(sorted(set(m["status"] for m in mine)), ["SENT"],
             "statuses in alice's history")
    # A late RECEIPT, pong or echo changes nothing.
    hold_for(lambda: not aev.find(lambda e: e.get("type") == "message.status"
                                  and e.get("status") != "SENT"), 0.3,
             "a message.status other than SENT after everything settled")


def scenario_offline_sync(env, prof):
    """Messages sent while bob's gateway is stopped arrive once after it starts."""
    srv, alice, bob = setup(env, prof)
    aev = Stream(alice)
    t0 = time.monotonic()
    first = alice.call("message.send", user="bob", text="在线时的消息")["id"]
    wait_all_sent(aev, [(first, t0)], what="first message")
    wait_for(lambda: first in history_ids(bob, "alice"),
             "bob to have the first message")

    bob.stop()
    wait_for(lambda: gone(srv, "bob"), "imserver to see bob's session end")
    texts = ["离线消息 %d" % i for i in range(1, 6)]
    sent = send_burst(alice, aev, "bob", texts)
    ids = [i for i, _ in sent]
    wait_all_sent(aev, sent, what="messages to the offline bob")
    wait_outbox_empty(alice)

    bob.start()
    wait_online_fast(bob)
    wait_for(lambda: set(ids) <= set(history_ids(bob, "alice")),
             "bob to receive the %d offline messages after his start"
             % len(ids))
    marker = alice.call("message.send", user="bob", text="标记")["id"]
    wait_for(lambda: marker in history_ids(bob, "alice"), "bob's marker")
    got = history_ids(bob, "alice")
    check_eq(got, [first] + ids + [marker],
             "bob's history: every message once, in order")
    texts_got = [m["content"] for m in bob.history("alice")]
    check_eq(texts_got, ["在线时的消息"] + texts + ["标记"], "bob's texts")
    bev = Stream(bob, since=0)
    bev.wait(is_msg_event("message.new", marker), "bob's logged marker")
    for i in [first] + ids:
        check_eq(len(bev.find(is_msg_event("message.new", i))), 1,
                 "bob's logged message.new events for %s" % i)

    # Another start syncs again: nothing comes twice.
    bob.restart()
    wait_online_fast(bob)
    marker2 = alice.call("message.send", user="bob", text="标记2")["id"]
    wait_for(lambda: marker2 in history_ids(bob, "alice"),
             "bob's second marker")
    check_eq(history_ids(bob, "alice"), [first] + ids + [marker, marker2],
             "bob's history after a second start")


def scenario_revoke(env, prof):
    """A revoke is answered quickly, seen by both; a revoked message stays so."""
    srv, alice, bob = setup(env, prof)
    aev = Stream(alice)
    bev = Stream(bob)
    t0 = time.monotonic()
    mid = alice.call("message.send", user="bob", text="撤回我")["id"]
    bev.wait(is_msg_event("message.new", mid), "bob's message.new")
    wait_all_sent(aev, [(mid, t0)], what="message to revoke")

    err, res, dt = timed_call(alice, "message.revoke", id=mid)
    check(err is None, "message.revoke failed: %s %s (after %.2fs)"
          % (err, res, dt))
    check(isinstance(res, dict), "message.revoke answered %r" % (res,))
    check(dt <= REVOKE_BOUND, "message.revoke took %.2fs (bound %.1fs)"
          % (dt, REVOKE_BOUND))
    for who, ev in (("alice", aev), ("bob", bev)):
        e, _ = ev.wait(is_msg_event("message.revoked", mid),
                       "%s's message.revoked" % who)
        check_eq((e["message"]["status"], e["message"]["content"]),
                 ("REVOKED", ""), "(status, content) in %s's message.revoked"
                 % who)
    for who, gw, peer in (("alice", alice, "bob"), ("bob", bob, "alice")):
        m = history_msg(gw, peer, mid)
        check_eq([(x["status"], x["content"]) for x in m], [("REVOKED", "")],
                 "%s's history of the revoked message" % who)

    # Revoked while still on its way: the late proof (RECEIPT, pong, echo)
    # of the send does not bring it back, and it is never sent again.
    rid = "rv-%s-%d" % (prof.name, os.getpid())
    conn = alice.rpc()
    q1 = conn.request("message.send", [{"user": "bob", "text": "马上撤回",
                                        "id": rid}])
    q2 = conn.request("message.revoke", [{"id": rid}])
    err1, res1 = conn.response(q1, timeout=10)
    check(err1 is None, "message.send: %r" % (err1,))
    err2, res2 = conn.response(q2, timeout=10)
    if err2 is not None:
        # Refusing to revoke what is not yet sent is fair; it is then sent.
        check_eq(err2.get("code"), "conflict", "error revoking a message on "
                 "its way (%r)" % (err2,))
        final = "SENT"
    else:
        final = "REVOKED"
    wait_for(lambda: [x["status"] for x in history_msg(alice, "bob", rid)] ==
             [final], "alice's history to show %s %s (revoke answered %r)"
             % (rid, final, err2 or res2))
    if final == "REVOKED":
        aev.wait(is_msg_event("message.revoked", rid), "alice's message.revoked")
    wait_outbox_empty(alice)
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bev.wait(is_msg_event("message.new", marker), "bob's marker")
    aev.wait(status_is(marker, "SENT"), "alice's marker SENT")
    m = history_msg(alice, "bob", rid)
    check_eq([x["status"] for x in m], [final],
             "alice's history of %s after later traffic" % rid)
    if final == "REVOKED":
        check_eq(m[0]["content"], "", "content of the revoked %s" % rid)
        # No SENT after the revoke (events are in order).
        seq_rv = min(e["seq"] for e in aev.find(
            is_msg_event("message.revoked", rid)))
        late = [e for e in aev.find(status_is(rid, "SENT"))
                if e["seq"] > seq_rv]
        check_eq(late, [], "message.status SENT events after the revoke")
        mb = history_msg(bob, "alice", rid)
        check(not mb or [(x["status"], x["content"]) for x in mb] ==
              [("REVOKED", "")], "bob's copy of the revoked %s: %r"
              % (rid, mb))

    # Restarted: the outbox does not send it again, nothing comes back.
    alice.restart()
    wait_online_fast(alice)
    aev2 = Stream(alice)
    marker2 = alice.call("message.send", user="bob", text="marker2")["id"]
    bev.wait(is_msg_event("message.new", marker2), "bob's second marker")
    aev2.wait(status_is(marker2, "SENT"), "alice's second marker SENT")
    check_eq([x["status"] for x in history_msg(alice, "bob", rid)], [final],
             "alice's history of %s after a restart" % rid)
    check_eq([x["status"] for x in history_msg(alice, "bob", mid)],
             ["REVOKED"], "alice's history of %s after a restart" % mid)
    check(len(bev.find(is_msg_event("message.new", rid))) <= 1,
          "bob got %s more than once" % rid)
    check_eq(outbox(alice), 0, "alice's outbox after the restart")


def scenario_group_follow(env, prof):
    """A group made out of band, followed by hand: messages both ways, once."""
    srv, alice, bob = setup(env, prof)
    gid = "seedgrp-%s" % prof.name.replace("_", "-")
    topic = "/topic/group/%s" % gid
    make_group(env, srv, gid, "alice", "bob")
    aev = Stream(alice)
    bev = Stream(bob)
    for gw in (alice, bob):
        r = gw.call("group.follow", group=gid)
        check(isinstance(r, dict) and "group" in r and
              r.get("following") is True,
              "%s's group.follow answered %r" % (gw.user, r))
        g = r["group"]
        check(g == gid or (isinstance(g, dict) and g.get("groupId") == gid),
              "%s's group.follow names the group: %r" % (gw.user, r))
        check(gid in gw.call("group.followed")["groups"],
              "%s's group.followed lists %s" % (gw.user, gid))
    wait_subscriptions(srv, topic, 2)

    t0 = time.monotonic()
    g1 = alice.call("message.send", group=gid, text="大家好")["id"]
    e, _ = bev.wait(is_msg_event("message.new", g1), "bob's group message")
    check_eq((e["message"]["conversation"], e["message"]["from"],
              e["message"]["content"]), ({"group": gid}, "alice", "大家好"),
             "bob's copy of the group message (conversation, from, content)")
    wait_all_sent(aev, [(g1, t0)], what="group message")
    t0 = time.monotonic()
    b1 = bob.call("message.send", group=gid, text="收到")["id"]
    aev.wait(is_msg_event("message.new", b1), "alice's copy of bob's message")
    wait_all_sent(bev, [(b1, t0)], what="bob's group message")
    sent = send_burst(alice, aev, None, ["群 %d" % i for i in range(5)],
                      group=gid)
    wait_all_sent(aev, sent, what="group burst")
    ids = [g1, b1] + [i for i, _ in sent]
    for gw in (alice, bob):
        wait_for(lambda: set(ids) <= set(history_ids(gw, group=gid)),
                 "%s to have every group message" % gw.user)
    for gw in (alice, bob):
        wait_outbox_empty(gw)
        got = history_ids(gw, group=gid)
        check_eq(dups(got), [], "group messages %s has more than once"
                 % gw.user)
        check_eq(sorted(got), sorted(ids), "%s's group history" % gw.user)
    for i in ids:
        for who, ev in (("alice", aev), ("bob", bev)):
            n = len(ev.find(is_msg_event("message.new", i)))
            check_eq(n, 1, "%s's message.new events for %s" % (who, i))

    # The follow is kept: after a restart alice subscribes again by herself.
    alice.restart()
    wait_online_fast(alice)
    check(gid in alice.call("group.followed")["groups"],
          "alice's group.followed lists %s after a restart" % gid)
    wait_subscriptions(srv, topic, 3)
    aev = Stream(alice)
    b2 = bob.call("message.send", group=gid, text="重启之后")["id"]
    aev.wait(is_msg_event("message.new", b2),
             "alice's copy of a group message after her restart")
    check_eq(history_ids(alice, group=gid).count(b2), 1,
             "copies of %s in alice's group history" % b2)

    # ... and after every connect: a new server, new sessions.
    check_eq(srv.stop(), 0, "imserver exit status after SIGTERM")
    srv = srv.restart()
    for gw in (alice, bob):
        gw.wait_online(timeout=20)
    wait_subscriptions(srv, topic, 2)
    b3 = bob.call("message.send", group=gid, text="服务器重启之后")["id"]
    aev.wait(is_msg_event("message.new", b3),
             "alice's copy of a group message after the server restarted")

    r = alice.call("group.unfollow", group=gid)
    check(isinstance(r, dict), "group.unfollow answered %r" % (r,))
    check(gid not in alice.call("group.followed")["groups"],
          "alice's group.followed after group.unfollow")
    alice.restart()
    wait_online_fast(alice)
    check(gid not in alice.call("group.followed")["groups"],
          "alice's group.followed after group.unfollow and a restart")
    if prof.seed:
        # Not followed, not subscribed: a group message does not come live
        # (a one-to-one message sent after it arrives first).
        aev = Stream(alice)
        g = bob.call("message.send", group=gid, text="不再关注")["id"]
        m = bob.call("message.send", user="alice", text="私信")["id"]
        aev.wait(is_msg_event("message.new", m), "alice's one-to-one marker")
        check_eq(aev.find(is_msg_event("message.new", g)), [],
                 "alice's message.new for a group she unfollowed")


def scenario_gateway_sigkill(env, prof):
    """imgwd killed mid-stream: every answered send is SENT and arrives once."""
    srv, alice, bob = setup(env, prof)
    conn = alice.rpc()
    reqs = [conn.request("message.send", [{"user": "bob",
                                           "text": "流 %d" % i}])
            for i in range(STREAM)]
    answered = []
    try:
        for r in reqs:
            err, res = conn.response(r)
            check(err is None, "message.send: %r" % (err,))
            answered.append(res["id"])
            if len(answered) == STREAM // 3:
                # Some are answered, some SENDING, some maybe not read yet.
                alice.kill()
    except ConnectionClosed:
        pass
    check(STREAM // 3 <= len(answered), "answers before the kill: %d"
          % len(answered))
    alice.start()
    wait_online_fast(alice)
    ev = Stream(alice, since=0)

    def settled():
        ev.pump(0.02)
        return all(ev.first(status_is(i, "SENT")) for i in answered)
    wait_for(settled, "every answered send SENT after the restart",
             timeout=15, interval=0)
    wait_outbox_empty(alice, timeout=10)
    mine = alice.call("message.history", user="bob", limit=1000,
                      order="oldest")["messages"]
    check_eq(dups([m["id"] for m in mine]), [], "alice's duplicates")
    check(set(answered) <= set(m["id"] for m in mine),
          "alice's history has every answered send")
    check_eq(sorted(set(m["status"] for m in mine)), ["SENT"],
             "statuses in alice's history (nothing stuck SENDING)")
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    ev.wait(status_is(marker, "SENT"), "alice's marker SENT")
    wait_for(lambda: set(answered + [marker]) <= set(history_ids(bob, "alice")),
             "bob to have every answered message and the marker", timeout=15)
    got = history_ids(bob, "alice")
    check_eq(dups(got), [], "messages bob has more than once")
    check_eq(sorted(got), sorted(history_ids(alice, "bob")),
             "bob's messages are the ones in alice's history")
    bev = Stream(bob, since=0)
    bev.wait(is_msg_event("message.new", marker), "bob's logged marker")
    twice = [i for i in got if len(bev.find(is_msg_event("message.new", i))) != 1]
    check_eq(twice, [], "messages not logged exactly once at bob")


def scenario_server_sigkill(env, prof):
    """imserver killed mid-stream and restarted: nothing lost or twice."""
    srv, alice, bob = setup(env, prof)
    ev = Stream(alice)
    conn = alice.rpc()
    first = STREAM * 3 // 4
    reqs = [conn.request("message.send", [{"user": "bob",
                                           "text": "流 %d" % i}])
            for i in range(first)]
    wait_for(lambda: len(history_ids(bob, "alice")) >= 5,
             "bob to receive the first messages of the stream", interval=0.002)
    srv.kill()
    ids = []
    for r in reqs:
        err, res = conn.response(r)
        check(err is None, "message.send: %r" % (err,))
        ids.append(res["id"])
    before = len(history_ids(bob, "alice"))
    reqs = []
    for i in range(first, STREAM):
        reqs.append(conn.request("message.send",
                                 [{"user": "bob", "text": "流 %d" % i}]))
        if i == (first + STREAM) // 2:
            srv = srv.restart()
    for r in reqs:
        err, res = conn.response(r)
        check(err is None, "message.send: %r" % (err,))
        ids.append(res["id"])
    check(before < STREAM, "the server died mid-stream (bob had %d of %d)"
          % (before, STREAM))

    def settled():
        ev.pump(0.02)
        return all(ev.first(status_is(i, "SENT")) for i in ids)
    try:
        wait_for(settled, "alice's message.status SENT for all %d" % STREAM,
                 timeout=20, interval=0)
    except TestFailure:
        mine = alice.history_all("bob")
        raise TestFailure("not all SENT: statuses in alice's history %r, "
                             "outbox %d" % (collections.Counter(
                                 m["status"] for m in mine), outbox(alice)))
    wait_outbox_empty(alice, timeout=10)
    mine = alice.history_all("bob")
    got = [m["id"] for m in mine]
    check_eq(dups(got), [], "messages alice has more than once")
    check_eq(sorted(got), sorted(ids), "the set of alice's messages")
    # One clock for our own messages, however each was settled.
    check_eq(got, ids, "the order of alice's history")
    check_eq(sorted(set(m["status"] for m in mine)), ["SENT"],
             "statuses in alice's history")
    bob.wait_online(timeout=20)
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    try:
        wait_for(lambda: set(ids + [marker]) <= set(history_ids(bob, "alice")),
                 "bob to have all %d messages and the marker" % STREAM,
                 timeout=20)
    except TestFailure:
        got = history_ids(bob, "alice")
        lost = sorted(set(ids) - set(got))
        raise TestFailure("bob lacks %d of the %d messages (marker %s); "
                          "imserver's deliveries rows for them: %s" % (
                              len(lost), STREAM,
                              "in" if marker in got else "missing",
                              server_deliveries(srv, "bob", lost)))
    got = history_ids(bob, "alice")
    check_eq(dups(got), [], "messages bob has more than once")
    check_eq(sorted(got), sorted(ids + [marker]), "the set of bob's messages")
    check_eq(got, ids + [marker], "the order of bob's history")


SCENARIOS = (scenario_send_settles, scenario_offline_sync, scenario_revoke,
             scenario_group_follow, scenario_gateway_sigkill,
             scenario_server_sigkill)


# ---------------------------------------------------------------- seed vs full

def test_seed_unproven_send_is_resent_after_reconnect(env):
    """
    No RECEIPT, no echo: a SEND the server never read is not SENT (it stays
    SENDING), and after the connection is lost it goes again, once.
    """
    srv, alice, bob = setup(env, SEED)
    aev = Stream(alice)
    bev = Stream(bob)
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        mid = alice.call("message.send", user="bob", text="未证实")["id"]
        hold_for(lambda: not aev.find(status_is(mid, "SENT")) and
                 [m["status"] for m in history_msg(alice, "bob", mid)] ==
                 ["SENDING"], 1.5,
                 lambda: "a message the frozen server never read was settled:"
                 " history %r" % history_msg(alice, "bob", mid))
        check_eq(outbox(alice), 1, "alice's outbox with the server frozen")
        srv.kill()		# what it had not read is lost
    finally:
        try:
            os.kill(srv.pid, signal.SIGCONT)
        except ProcessLookupError:
            pass
    srv = srv.restart()
    aev.wait(status_is(mid, "SENT"), "alice's message.status SENT after the "
             "server came back", timeout=20)
    bev.wait(is_msg_event("message.new", mid), "bob's copy", timeout=20)
    wait_outbox_empty(alice)
    marker = alice.call("message.send", user="bob", text="marker")["id"]
    bev.wait(is_msg_event("message.new", marker), "bob's marker")
    check_eq(history_ids(bob, "alice"), [mid, marker], "bob's history")
    check_eq(len(bev.find(is_msg_event("message.new", mid))), 1,
             "bob's message.new events for the resent message")


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


def test_seed_sends_settle_after_server_pause(env):
    """
    Two SENDs, each followed by its ping, wait unread while the server is
    paused; it then reads them in one go. A server may answer only one of
    several pings in flight (RFC 6455 5.5.3; imserver's libwebsockets answers
    the first and drops the rest): both messages must still settle, and a
    revoke waiting behind a dropped ping must still be answered.
    """
    srv, alice, bob = setup(env, SEED)
    aev = Stream(alice)
    t0 = time.monotonic()
    m0 = alice.call("message.send", user="bob", text="热身")["id"]
    wait_all_sent(aev, [(m0, t0)], what="first message")
    for rounds in range(2):
        os.kill(srv.pid, signal.SIGSTOP)
        try:
            conn = alice.rpc()
            base = server_rx_queue(srv.port)
            rid = "pause-%d" % rounds
            a = conn.request("message.send", [{"user": "bob", "text": "甲",
                                               "id": rid}])
            check(conn.response(a)[0] is None, "message.send")
            wait_for(lambda: server_rx_queue(srv.port) > base,
                     "the first SEND to reach the paused server's socket")
            base = server_rx_queue(srv.port)
            t0 = time.monotonic()
            if rounds == 0:
                q = conn.request("message.send", [{"user": "bob",
                                                   "text": "乙"}])
            else:
                q = conn.request("message.revoke", [{"id": rid}])
            wait_for(lambda: server_rx_queue(srv.port) > base,
                     "the second request to reach the paused server's socket")
        finally:
            os.kill(srv.pid, signal.SIGCONT)
        err, res = conn.response(q, timeout=REVOKE_BOUND + 10)
        dt = time.monotonic() - t0
        check(err is None, "second request answered %r" % (err,))
        if rounds == 0:
            wait_all_sent(aev, [(rid, t0), (res["id"], t0)],
                          what="two SENDs read together")
        else:
            check(dt <= REVOKE_BOUND, "message.revoke behind a paused server "
                  "answered after %.2fs (bound %.1fs)" % (dt, REVOKE_BOUND))
    wait_outbox_empty(alice)


def check_status_profile(st, profile, caps, what):
    check_eq(st.get("profile"), profile, "%s: session.status profile (%r)"
             % (what, st))
    check(isinstance(st.get("capabilities"), list),
          "%s: session.status capabilities is a list: %r" % (what, st))
    check_eq(sorted(st["capabilities"]), sorted(caps),
             "%s: session.status capabilities" % what)


def test_seed_status_capabilities(env):
    """unknown before any CONNECTED, seed after it, kept across a restart."""
    port = free_port()
    alice = Gateway(env, "alice", "ws://127.0.0.1:%d/ws/im" % port,
                    env.token("alice"), args=GW_ARGS)
    alice.start()
    st = alice.wait_state(lambda s: s["state"] in ("backoff", "connecting"),
                          "not connected")
    check_eq(st.get("profile"), "unknown",
             "profile before any CONNECTED (%r)" % st)
    check_eq(st.get("capabilities"), [], "capabilities before any CONNECTED")

    srv = env.server(port=port, args=SEED.args)
    st = wait_online_fast(alice)
    check_status_profile(st, "seed", [], "seed-only server")
    r = alice.cli("status")
    check_eq(r.returncode, 0, "imgw status exit status (stderr %r)" % r.stderr)
    line = [x for x in r.stdout.splitlines() if x.startswith("capabilities:")]
    check(len(line) == 1 and
          re.match(r"capabilities:\s+none \(seed-only server\b", line[0]),
          "imgw status says 'capabilities: none (seed-only server...)': %r"
          % r.stdout)

    # Known without a connection after a restart (kept in the cache).
    srv.stop()
    alice.restart()
    st = alice.status()
    check(st["state"] != "online", "state with the server stopped: %r" % st)
    check_status_profile(st, "seed", [], "restarted with the server stopped")


def test_full_status_capabilities(env):
    srv, alice = setup(env, FULL, ("alice",))
    check_status_profile(alice.status(), "extended", EXTENSIONS, "full imserver")
    r = alice.cli("status")
    check_eq(r.returncode, 0, "imgw status exit status (stderr %r)" % r.stderr)
    line = [x for x in r.stdout.splitlines() if x.startswith("capabilities:")]
    check_eq(len(line), 1, "capabilities lines in imgw status (%r)" % r.stdout)
    for name in EXTENSIONS:
        check(re.search(r"(^|[\s,:])%s([\s,]|$)" % re.escape(name), line[0]),
              "imgw status line %r names %s" % (line[0], name))
    check("none" not in line[0], "imgw status line %r" % line[0])
    r = alice.cli("--json", "status")
    check_eq(r.returncode, 0, "imgw --json status exit status")
    check('"capabilities"' in r.stdout, "imgw --json status: %r" % r.stdout)


def unsupported_calls(msg_id):
    """(method, arguments, the extension the error must name)."""
    return [
        ("group.create", {"name": "x"}, "group"),
        ("group.join", {"group": "g1"}, "group"),
        ("friend.request", {"user": "bob"}, "friend"),
        ("friend.requests", {}, "friend"),
        ("blacklist.add", {"users": ["bob"]}, "blacklist"),
        ("profile.set", {"nickname": "A"}, "profile"),
        ("message.edit", {"id": msg_id, "text": "改"}, "chat.edit"),
        ("message.fetch", {"user": "bob"}, "chat.history"),
    ]


def check_unsupported(gw, calls, what):
    for method, args, ext in calls:
        code, msg, dt = timed_call(gw, method, **args)
        check_eq(code, "unsupported", "%s: error code of %s (message %r, "
                 "after %.2fs)" % (what, method, msg, dt))
        check(ext in (msg or ""), "%s: the error of %s names %s: %r"
              % (what, method, ext, msg))
        check(dt < UNSUPPORTED_BOUND, "%s: %s failed after %.2fs (bound %.1fs)"
              % (what, method, dt, UNSUPPORTED_BOUND))


def test_seed_unsupported_fails_at_once(env):
    srv, alice, bob = setup(env, SEED)
    aev = Stream(alice)
    t0 = time.monotonic()
    mid = alice.call("message.send", user="bob", text="待编辑")["id"]
    wait_all_sent(aev, [(mid, t0)], what="message to edit")
    check_unsupported(alice, unsupported_calls(mid), "seed-only server")
    d = alice.call("rpc.describe")
    check("unsupported" in d.get("errors", []),
          "rpc.describe errors list unsupported: %r" % d.get("errors"))
    # Nothing was harmed: still online, still sending.
    check_eq(alice.status()["state"], "online", "state after the refusals")
    t0 = time.monotonic()
    m2 = alice.call("message.send", user="bob", text="之后")["id"]
    wait_all_sent(aev, [(m2, t0)], what="message after the refusals")
    check_eq([m["content"] for m in history_msg(alice, "bob", mid)], ["待编辑"],
             "the message message.edit was refused for")

    # The CLI says so and exits non-zero, at once.
    t0 = time.monotonic()
    r = alice.cli("group", "create", "--name", "x")
    dt = time.monotonic() - t0
    check(r.returncode != 0, "imgw group create exit status %d (stdout %r)"
          % (r.returncode, r.stdout))
    check("unsupported" in r.stderr and "group" in r.stderr,
          "imgw group create stderr says unsupported and names group: %r"
          % r.stderr)
    check(len(r.stderr.strip().splitlines()) == 1,
          "the CLI's error is one line: %r" % r.stderr)
    check(dt < 5, "imgw group create took %.2fs" % dt)


def test_seed_cached_reads_answer_at_once(env):
    srv, alice, bob = setup(env, SEED)
    gid = "seed-cached"
    make_group(env, srv, gid, "alice", "bob")
    reads = [("group.list", {}), ("friend.list", {}), ("blacklist.list", {}),
             ("profile.get", {"users": ["bob"]})]
    for method, args in reads:
        code, res, dt = timed_call(alice, method, **args)
        check(code is None, "%s on a seed-only server: error %s %r"
              % (method, code, res))
        check(dt < UNSUPPORTED_BOUND, "%s took %.2fs (bound %.1fs)"
              % (method, dt, UNSUPPORTED_BOUND))
        if method in ("group.list", "friend.list", "blacklist.list"):
            check_eq(res, [], "%s from an empty cache" % method)
        else:
            check(isinstance(res, list), "%s answered %r" % (method, res))
    # A followed group whose details the cache never had: an answer (or a
    # refusal) at once, never a wait for a server that cannot answer.
    alice.call("group.follow", group=gid)
    for method in ("group.info", "group.members"):
        code, res, dt = timed_call(alice, method, group=gid)
        check(code in (None, "not_found", "unsupported"),
              "%s of a followed group: %s %r" % (method, code, res))
        check(dt < UNSUPPORTED_BOUND, "%s took %.2fs (bound %.1fs)"
              % (method, dt, UNSUPPORTED_BOUND))


def test_cached_reads_after_switch_to_seed(env):
    """
    What the cache learnt from full imserver is answered, at once, by a
    gateway that now treats the server as seed-only.
    """
    srv, alice, bob = setup(env, FULL)
    aev = Stream(alice)
    g = alice.call("group.create", name="缓存群", users=["bob"], group="cg1")
    check_eq(g.get("groupId"), "cg1", "group.create on full imserver")
    alice.call("friend.request", user="bob")
    wait_for(lambda: bob.call("friend.requests")["incoming"],
             "bob to see alice's friend request")
    bob.call("friend.respond", user="alice", accept=True)
    wait_for(lambda: [f["userId"] for f in alice.call("friend.list")] ==
             ["bob"], "alice's friend.list to list bob")
    alice.call("blacklist.add", users=["carol"])
    alice.call("profile.set", nickname="爱丽丝")
    aev.wait(lambda e: e.get("type") == "group.created", "group.created")

    alice.args += ["--server-profile", "seed"]
    alice.restart()
    wait_online_fast(alice)
    check_eq(alice.status()["profile"], "seed", "profile after the switch")
    reads = [
        ("group.list", {}, lambda r: [x["groupId"] for x in r] == ["cg1"]),
        ("group.info", {"group": "cg1"}, lambda r: r.get("name") == "缓存群"),
        ("group.members", {"group": "cg1"},
         lambda r: sorted(m["userId"] for m in r["members"]) ==
         ["alice", "bob"]),
        ("friend.list", {}, lambda r: [f["userId"] for f in r] == ["bob"]),
        ("blacklist.list", {}, lambda r: r == ["carol"]),
        ("profile.get", {"users": ["alice"]},
         lambda r: [p.get("nickname") for p in r] == ["爱丽丝"]),
    ]
    for method, args, ok in reads:
        code, res, dt = timed_call(alice, method, **args)
        check(code is None, "%s from the cache: %s %r" % (method, code, res))
        check(ok(res), "%s from the cache answered %r" % (method, res))
        check(dt < UNSUPPORTED_BOUND, "%s took %.2fs (bound %.1fs)"
              % (method, dt, UNSUPPORTED_BOUND))
    check_unsupported(alice, unsupported_calls("no-such-id"),
                      "switched to seed")
    bev = Stream(bob)
    t0 = time.monotonic()
    mid = alice.call("message.send", group="cg1", text="切换之后")["id"]
    bev.wait(is_msg_event("message.new", mid), "bob's copy of the group message")
    wait_all_sent(Stream(alice, since=0), [(mid, t0)], what="group message")


def test_full_extensions_still_served(env):
    """The control: full imserver still serves what the seed lacks."""
    srv, alice, bob = setup(env, FULL)
    code, res, dt = timed_call(alice, "group.create", name="x", users=["bob"])
    check(code is None and isinstance(res, dict) and res.get("groupId"),
          "group.create on full imserver: %s %r" % (code, res))
    gid = res["groupId"]
    check_eq(alice.call("friend.request", user="bob").get("status"), "PENDING",
             "friend.request on full imserver")
    check(any(g["groupId"] == gid for g in alice.call("group.list")),
          "group.list on full imserver lists the new group")
    check_eq(alice.status()["profile"], "extended", "profile")


def test_forced_seed_profile_on_full_server(env):
    srv = start_server(env, FULL)
    alice, = start_gateways(env, srv, ("alice",),
                            args=["--server-profile", "seed"])
    bob, = start_gateways(env, srv, ("bob",))
    check_status_profile(alice.status(), "seed", [], "--server-profile seed")
    check_status_profile(bob.status(), "extended", EXTENSIONS, "auto")
    check_unsupported(alice, unsupported_calls("no-such-id")[:1],
                      "--server-profile seed on full imserver")
    aev = Stream(alice)
    bev = Stream(bob)
    sent = send_burst(alice, aev, "bob", ["强制种子 %d" % i for i in range(5)])
    wait_all_sent(aev, sent, what="sends with --server-profile seed")
    for i, _ in sent:
        bev.wait(is_msg_event("message.new", i), "bob's copy of %s" % i)
    wait_outbox_empty(alice)
    r = alice.cli("group", "create", "--name", "x")
    check(r.returncode != 0 and "unsupported" in r.stderr,
          "imgw group create with --server-profile seed: status %d, %r"
          % (r.returncode, r.stderr))
    # bob (auto) still has the extensions on the same server.
    code, res, _ = timed_call(bob, "group.create", name="y")
    check(code is None, "bob's group.create: %s %r" % (code, res))


def test_server_profile_option_checked(env):
    r = subprocess.run([IMGWD,
                        "--upstream", "ws://127.0.0.1:1/ws/im",
                        "--server-profile", "vendor", "--check-config"],
                       capture_output=True, text=True, timeout=10,
                       stdin=subprocess.DEVNULL,
                       env=dict(os.environ, IMGW_TOKEN="x.y",
                                XDG_CONFIG_HOME=env.path("cfg")))
    check(r.returncode != 0 and "server-profile" in r.stderr,
          "imgwd --server-profile vendor: status %d, stderr %r"
          % (r.returncode, r.stderr))


# ---------------------------------------------------------------- the matrix

def _case(scenario, prof):
    def case(env):
        scenario(env, prof)
    case.__name__ = "test_%s_%s" % (prof.name,
                                    scenario.__name__[len("scenario_"):])
    case.__doc__ = scenario.__doc__
    return case


for _sc in SCENARIOS:
    for _p in PROFILES:
        _c = _case(_sc, _p)
        globals()[_c.__name__] = _c


if __name__ == "__main__":
    run()
