#!/usr/bin/python3
"""
The full IM surface through the gateways (RPC.md "Groups, friends,
blacklist, profiles", message.send extras, message.edit/forward/broadcast/
fetch, conversation.*, batch, friend/group search): several accounts, each
with its own imgwd, against one imserver. Every change made on one account
must show up as an event on the OTHER accounts' gateways (and on a second
gateway of the same account) and in their caches (group.search,
friend.search and the offline answers read the cache only).
"""
import json
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (TIMEOUT, Gateway, RpcError, TestFailure,  # noqa: E402
                     check, check_eq, expect_rpc_error, hold_for,
                     is_msg_event, run, wait_for)


# ------------------------------------------------------------------ helpers

class Soft:
    """
    Collects failed observations that do not stop a test, so one run shows
    every broken behaviour of a scenario; done() fails with all of them.
    """

    def __init__(self):
        self.failures = []

    def check(self, cond, what):
        if not cond:
            self.failures.append(what)
        return cond

    def eq(self, actual, expected, what):
        return self.check(actual == expected, "%s: expected %r, got %r"
                          % (what, expected, actual))

    def run(self, what, fn, *args, **kw):
        """Run fn; a TestFailure or RpcError is recorded, not raised."""
        try:
            return fn(*args, **kw)
        except (TestFailure, RpcError) as e:
            self.failures.append("%s: %s" % (what, e))
            return None

    def done(self):
        if self.failures:
            raise TestFailure("%d failed observation(s):\n      - %s" % (
                len(self.failures), "\n      - ".join(self.failures)))


class Acct:
    """
    One account's gateway as a test sees it: a connection subscribed to the
    event stream (ev) and one for calls (rpc).
    """

    def __init__(self, gw, since=None):
        self.gw = gw
        self.user = gw.user
        self.connect(since)

    def connect(self, since=None):
        """(Re)open both connections; events from since (a local seq) on."""
        self.ev = self.gw.rpc()
        self.head = self.ev.subscribe(since)
        self.rpc = self.gw.rpc()

    def call(self, method, **args):
        return self.rpc.call(method, **args)

    def refused(self, code, method, words=None, **args):
        """method must fail with code (and a message containing words)."""
        e = expect_rpc_error(code, "%s's %s" % (self.user, method),
                             self.rpc.call, method, **args)
        if words is not None:
            check(words in (e.message or ""), "%s's %s: message %r should "
                  "mention %r" % (self.user, method, e.message, words))
        return e

    def mark(self):
        """A position in the event stream: wait(after=mark) looks past it."""
        self.ev.pump(0.001)
        return len(self.ev.events)

    def wait(self, kind, pred=None, what="", after=0, timeout=TIMEOUT):
        """The first event of type kind (matching pred) past position after."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.ev.events[after:]:
                if e.get("type") == kind and (pred is None or pred(e)):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(
                    "timed out after %.1fs waiting for %s's %s event %s "
                    "(last types seen: %s)" % (timeout, self.user, kind, what,
                                               [x.get("type") for x in
                                                self.ev.events[-15:]]))
            self.ev.pump(min(left, 0.2))

    def events(self, kind, pred=None, after=0):
        self.ev.pump(0.001)
        return [e for e in self.ev.events[after:] if e.get("type") == kind and
                (pred is None or pred(e))]

    def got(self, msg_id, kind="message.new", timeout=TIMEOUT):
        """Wait for a message.* event about msg_id; returns its message."""
        e = self.ev.wait_event(is_msg_event(kind, msg_id), "%s's %s for %s"
                               % (self.user, kind, msg_id), timeout)
        return e if kind == "message.status" else e["message"]

    def status(self, msg_id, timeout=TIMEOUT):
        """The settled message.status event (SENT or FAILED) of msg_id."""
        return self.wait("message.status", lambda e: e.get("id") == msg_id and
                         e.get("status") in ("SENT", "FAILED"),
                         "settling %s" % msg_id, timeout=timeout)

    def sent(self, msg_id):
        e = self.status(msg_id)
        check_eq(e["status"], "SENT", "%s's message %s (error %r)"
                 % (self.user, msg_id, e.get("error")))
        return e

    def send(self, **args):
        """message.send, waiting until the server took it."""
        r = self.call("message.send", **args)
        self.sent(r["id"])
        return r["id"]

    def cached_groups(self, text):
        """Cached group ids matching text (group.search reads the cache)."""
        return sorted(g["groupId"] for g in self.call("group.search",
                                                        text=text))

    def cached_friends(self, text):
        return {f["userId"]: f for f in self.call("friend.search", text=text)}

    def group_ids(self):
        return sorted(g["groupId"] for g in self.call("group.list"))

    def state(self):
        return self.call("session.status")["state"]


def world(env, users=("alice", "bob", "carol")):
    """imserver and one online gateway per user: (srv, Acct, Acct, ...)."""
    srv = env.server()
    gws = [Gateway(env, u, srv.url, env.token(u)) for u in users]
    for g in gws:
        g.spawn()
    for g in gws:
        g.wait_ready()
        g.wait_online()
    return (srv,) + tuple(Acct(g) for g in gws)


def second_gateway(env, srv, user, name):
    """Another imgwd of user (its own socket and database), online."""
    gw = Gateway(env, name, srv.url, env.token(user))
    gw.start()
    gw.wait_online()
    return Acct(gw)


def befriend(a, b):
    a.call("friend.request", user=b.user)
    b.call("friend.respond", user=a.user, accept=True)
    a.wait("friend.added", lambda e: e["userId"] == b.user)
    b.wait("friend.added", lambda e: e["userId"] == a.user)


def member_ids(result):
    return sorted(m["userId"] for m in result["members"])


def has_group(gid):
    return lambda e: (e.get("group") or {}).get("groupId") == gid


def about(gid, user=None):
    """A member event of group gid (about user)."""
    return lambda e: e.get("groupId") == gid and \
        (user is None or e.get("userId") == user or
         (e.get("member") or {}).get("userId") == user)


def wait_subscribed(srv, gid, n, timeout=TIMEOUT):
    """
    Wait until n sessions of the current imserver have subscribed to the
    group's channel (its -v log says so). A message sent before a member's
    gateway subscribed is not delivered to it live (see
    test_group_message_sent_before_a_member_subscribed), so scenarios that
    are about something else wait for this first.
    """
    pat = re.compile(r"session (\d+): subscribed /topic/group/%s as "
                     % re.escape(gid))
    wait_for(lambda: len(set(pat.findall(srv.log()))) >= n,
             "%d sessions on /topic/group/%s" % (n, gid), timeout)


def reconnect_all(*accts):
    for a in accts:
        a.gw.call("session.reconnect")
    for a in accts:
        a.gw.wait_online(timeout=20)


# ------------------------------------------------------------ messages

def test_message_extras_reach_the_peer(env):
    srv, alice, bob, carol = world(env)
    img = {"url": "https://cdn.example/a.png", "size": 2048, "name": "a.png",
           "mime": "image/png", "width": 640, "height": 480}
    loc = {"lat": 39.9042, "lng": 116.4074, "label": "北京"}
    custom = {"kind": "card", "data": {"title": "卡片", "n": [1, 2, 3]}}
    sends = [
        dict(type="IMAGE", text="[image]", payload=img, mentions=["bob"]),
        dict(type="LOCATION", text="我在这里", payload=loc),
        dict(type="CUSTOM", text="{card}", payload=custom),
        dict(type="TEXT", text="@all look", mentions=["@all", "carol"]),
    ]
    ids = []
    for s in sends:
        r = alice.call("message.send", user="bob", **s)
        check_eq(r["status"], "SENDING", "message.send answers at once")
        ids.append(r["id"])
    reply = alice.call("message.send", user="bob", text="re: image",
                       replyTo=ids[0])["id"]
    ids.append(reply)
    sends.append(dict(type="TEXT", text="re: image", replyTo=ids[0]))

    for mid, s in zip(ids, sends):
        alice.sent(mid)
        got = bob.got(mid)
        want = {"type": s["type"], "content": s["text"], "from": "alice",
                "to": "bob", "conversation": {"user": "alice"},
                "status": "SENT"}
        for k in ("payload", "mentions", "replyTo"):
            if k in s:
                want[k] = s[k]
        check_eq({k: got.get(k) for k in want}, want,
                 "bob's message.new for a %s message" % s["type"])
        for k in ("payload", "mentions", "replyTo"):
            if k not in s:
                check(k not in got, "no %s on %r" % (k, got))
        cached = bob.call("message.get", id=mid)["message"]
        check_eq({k: cached.get(k) for k in want}, want,
                 "bob's cached copy (message.get)")
        mine = alice.call("message.get", id=mid)["message"]
        check_eq({k: mine.get(k) for k in ("type", "payload", "mentions",
                                           "replyTo") if k in want},
                 {k: want[k] for k in ("type", "payload", "mentions",
                                       "replyTo") if k in want},
                 "alice's own cached copy")
    hist = bob.call("message.history", user="alice", order="oldest")
    check_eq([m["id"] for m in hist["messages"]], ids, "bob's history")
    # Nothing of this reached carol.
    check_eq(carol.events("message.new"), [], "carol's message.new events")


def test_group_send_edit_revoke_forward_broadcast_fetch_delete(env):
    srv, alice, bob, carol, dave = world(env, ("alice", "bob", "carol",
                                               "dave"))
    alice.call("group.create", name="Team", users=["bob", "carol"],
               group="team")
    for a in (bob, carol):
        a.wait("group.created", has_group("team"))
    wait_subscribed(srv, "team", 3)

    # A group message reaches every member's gateway, cached in the group.
    g1 = alice.call("message.send", group="team", text="大家好",
                    mentions=["bob"])["id"]
    alice.sent(g1)
    for a in (bob, carol):
        m = a.got(g1)
        check_eq((m["conversation"], m["from"], m["to"], m["content"],
                  m.get("mentions")),
                 ({"group": "team"}, "alice", "team", "大家好", ["bob"]),
                 "%s's copy of the group message" % a.user)
        h = a.call("message.history", group="team")["messages"]
        check_eq([x["id"] for x in h], [g1], "%s's group history" % a.user)
    check_eq(dave.events("message.new"), [], "dave (no member) got nothing")

    # Edit: the sender only; message.updated on every side, editedAt set.
    marks = {a.user: a.mark() for a in (alice, bob, carol)}
    bob.refused("forbidden", "message.edit", id=g1, text="not mine")
    ed = alice.call("message.edit", id=g1, text="大家好（改）")
    check_eq(ed["content"], "大家好（改）", "edited content")
    check("editedAt" in ed, "message.edit answer has editedAt: %r" % ed)
    for a in (alice, bob, carol):
        e = a.wait("message.updated", lambda e: e["message"]["id"] == g1,
                   after=marks[a.user])
        check_eq((e["message"]["content"], "editedAt" in e["message"]),
                 ("大家好（改）", True), "%s's message.updated" % a.user)
        check_eq(a.call("message.get", id=g1)["message"]["content"],
                 "大家好（改）", "%s's cached copy after the edit" % a.user)

    # One-to-one edit: both sides.
    p1 = alice.send(user="bob", text="typo hre")
    bob.got(p1)
    mark_a, mark_b = alice.mark(), bob.mark()
    ed = alice.call("message.edit", id=p1, text="typo here")
    for a, mk in ((alice, mark_a), (bob, mark_b)):
        e = a.wait("message.updated", lambda e: e["message"]["id"] == p1,
                   after=mk)
        check_eq((e["message"]["content"], e["message"].get("editedAt")),
                 ("typo here", ed["editedAt"]), "%s's one-to-one edit"
                 % a.user)

    # Revoke by the group's owner of a member's message.
    b1 = bob.send(group="team", text="oops, wrong group")
    carol.got(b1)
    r = alice.call("message.revoke", id=b1)
    check_eq((r["message"]["status"], r["message"]["content"]),
             ("REVOKED", ""), "revoked by the owner")
    for a in (bob, carol):
        m = a.got(b1, "message.revoked")
        check_eq((m["status"], m["content"]), ("REVOKED", ""),
                 "%s's message.revoked" % a.user)
        check_eq(a.call("message.get", id=b1)["message"]["status"],
                 "REVOKED", "%s's cached copy after the revoke" % a.user)
    carol.refused("forbidden", "message.revoke", id=g1)

    # Forward: a copy with type and payload to another conversation.
    pay = {"url": "https://cdn.example/p.jpg", "mime": "image/jpeg",
           "size": 99}
    img = alice.send(user="bob", text="[photo]", type="IMAGE", payload=pay)
    bob.got(img)
    fw = bob.call("message.forward", id=img, user="carol")
    bob.sent(fw["id"])
    m = carol.got(fw["id"])
    check_eq((m["type"], m["content"], m.get("payload"), m["from"],
              m["conversation"]), ("IMAGE", "[photo]", pay, "bob",
                                   {"user": "bob"}), "carol's forwarded copy")
    fg = bob.call("message.forward", id=img, group="team")
    bob.sent(fg["id"])
    m = alice.got(fg["id"])
    check_eq((m["type"], m.get("payload"), m["conversation"]),
             ("IMAGE", pay, {"group": "team"}), "forwarded into the group")
    bob.refused("not_found", "message.forward", id="no-such-msg", user="carol")

    # Broadcast: one message each.
    bc = alice.call("message.broadcast", users=["bob", "carol", "dave"],
                    text="通知：明天放假")["messages"]
    check_eq([x["user"] for x in bc], ["bob", "carol", "dave"],
             "broadcast answer")
    check_eq(len({x["id"] for x in bc}), 3, "distinct ids")
    for x, a in zip(bc, (bob, carol, dave)):
        alice.sent(x["id"])
        m = a.got(x["id"])
        check_eq((m["content"], m["conversation"]),
                 ("通知：明天放假", {"user": "alice"}),
                 "%s's broadcast copy" % a.user)

    # Fetch: dave joins later; the older group messages come from the server.
    check_eq(dave.call("group.join", group="team"), {"status": "JOINED"},
             "dave joins the FREE group")
    dave.wait("group.member.joined", about("team", "dave"))
    check_eq(dave.call("message.history", group="team")["messages"], [],
             "dave's cache before the fetch")
    f = dave.call("message.fetch", group="team", limit=50)
    got = sorted(m["id"] for m in f["messages"])
    check_eq(got, sorted([g1, b1, fg["id"]]), "fetched group messages")
    h = {m["id"]: m for m in
         dave.call("message.history", group="team")["messages"]}
    check_eq(sorted(h), sorted([g1, b1, fg["id"]]),
             "dave's cache after the fetch")
    check_eq((h[g1]["content"], h[b1]["status"]),
             ("大家好（改）", "REVOKED"), "fetched state")
    dave.got(g1)	# announced as message.new

    # Fetch one-to-one after the conversation was deleted locally.
    bob.call("conversation.delete", user="alice")
    check_eq(bob.call("message.history", user="alice")["messages"], [],
             "bob's cache after conversation.delete")
    f = bob.call("message.fetch", user="alice", limit=2)
    check_eq(len(f["messages"]), 2, "a page of 2")
    check_eq(f["more"], True, "more older messages")
    older = bob.call("message.fetch", user="alice",
                     before=min(m["seq"] for m in f["messages"]))
    ids = {m["id"] for m in f["messages"] + older["messages"]}
    check({p1, img, bc[0]["id"]} <= ids, "both pages hold the conversation")
    check_eq(sorted(m["id"] for m in bob.call(
        "message.history", user="alice", limit=100)["messages"]),
        sorted(ids), "bob's cache after two fetches")

    # Delete locally: gone from carol's cache only.
    mk = carol.mark()
    check_eq(carol.call("message.delete", id=g1), {}, "message.delete")
    e = carol.wait("message.deleted", lambda e: e["id"] == g1, after=mk)
    check_eq(e["conversation"], {"group": "team"}, "message.deleted")
    carol.refused("not_found", "message.get", id=g1)
    check(g1 not in [m["id"] for m in carol.call(
        "message.history", group="team")["messages"]],
        "not in carol's history")
    for a in (alice, bob):
        check_eq(a.call("message.get", id=g1)["message"]["id"], g1,
                 "%s keeps its copy" % a.user)


def test_read_receipts_and_a_second_gateway(env):
    srv, alice, bob = world(env, ("alice", "bob"))
    alice2 = second_gateway(env, srv, "alice", "alice2")

    m1 = alice.send(user="bob", text="one")
    m2 = alice.send(user="bob", text="two")
    bob.got(m2)
    alice2.got(m2)	# the sender's other sessions get it too
    check_eq(bob.call("conversation.get", user="alice")["unread"], 2,
             "bob's unread")

    # bob reads: alice's gateways get the receipt; peerReadAt is recorded.
    r = bob.call("conversation.read", user="alice")
    check_eq(r["unread"], 0, "bob's unread after read")
    for a in (alice, alice2):
        e = a.wait("message.read", lambda e: e.get("by") == "bob")
        check_eq(e["messageId"], m2, "%s's read receipt" % a.user)
        c = a.call("conversation.get", user="bob")
        check_eq(c.get("peerReadAt"), e["readAt"],
                 "%s's conversation.get peerReadAt" % a.user)
    check(m1 != m2, "two messages")

    # Settings made on alice's gateway show up on alice2's (not on bob's).
    mk = alice.mark()
    alice.call("conversation.pin", user="bob")
    e = alice2.wait("conversation.updated", lambda e: e.get("pinned"))
    check_eq(e["conversation"], {"peerId": "bob"}, "conversation.updated")
    check_eq(alice2.call("conversation.get", user="bob")["pinned"], True,
             "alice2's pinned")
    alice.call("conversation.mute", user="bob")
    alice2.wait("conversation.updated", lambda e: e.get("muted"))
    check_eq(alice2.call("conversation.get", user="bob")["muted"], True,
             "alice2's muted")
    alice.call("conversation.draft", user="bob", text="半句话")
    alice2.wait("conversation.updated", lambda e: e.get("draft") == "半句话")
    c = alice2.call("conversation.get", user="bob")
    check_eq((c["pinned"], c["muted"], c["draft"]), (True, True, "半句话"),
             "alice2's conversation after three changes")
    alice.call("conversation.pin", user="bob", pinned=False)
    alice2.wait("conversation.updated", lambda e: e.get("pinned") is False)
    check_eq(alice2.call("conversation.get", user="bob")["pinned"], False,
             "alice2's pinned after unpin")
    # alice2's own change comes back to alice.
    alice2.call("conversation.draft", user="bob", text="")
    alice.wait("conversation.updated", lambda e: e.get("draft") == "",
               after=mk)
    check_eq(alice.call("conversation.get", user="bob")["draft"], "",
             "alice's draft after alice2 cleared it")
    check_eq(alice.events("conversation.updated", lambda e: e.get("pinned"),
                          after=mk), [],
             "the acting gateway gets no conversation.updated of its own")
    check_eq(bob.events("conversation.updated"), [], "settings are per user")

    # alice reads bob's message on one gateway: the other follows.
    b1 = bob.send(user="alice", text="three")
    alice2.got(b1)
    alice.got(b1)
    check_eq(alice2.call("conversation.get", user="bob")["unread"], 1,
             "alice2's unread before")
    alice.call("conversation.read", user="bob")
    e = alice2.wait("conversation.read", lambda e: e.get("messageId") == b1)
    check_eq(e["conversation"], {"peerId": "bob"}, "conversation.read")
    check_eq(alice2.call("conversation.get", user="bob")["unread"], 0,
             "alice2's unread after alice read")
    e = bob.wait("message.read", lambda e: e.get("messageId") == b1)
    check_eq(bob.call("conversation.get", user="alice").get("peerReadAt"),
             e["readAt"], "bob's peerReadAt")


# ------------------------------------------------------------ groups

def test_group_create_update_and_join_policies(env):
    srv, alice, bob, carol, dave = world(env, ("alice", "bob", "carol",
                                               "dave"))
    soft = Soft()
    g = alice.call("group.create", name="Team", users=["bob", "carol"],
                   group="team", notice="hello", intro="our team")
    check_eq((g["groupId"], g["ownerId"], g["memberCount"], g["joinPolicy"]),
             ("team", "alice", 3, "FREE"), "created group")
    for a in (bob, carol):
        e = a.wait("group.created", has_group("team"))
        check_eq((e["group"]["name"], e["group"]["memberCount"]),
                 ("Team", 3), "%s's group.created" % a.user)
    for a in (alice, bob, carol):
        check_eq(a.cached_groups("team"), ["team"], "%s's cached groups"
                 % a.user)
        check_eq(a.group_ids(), ["team"], "%s's group.list" % a.user)
    check_eq(dave.cached_groups("team"), [], "dave's cache")
    check_eq(member_ids(bob.call("group.members", group="team")),
             ["alice", "bob", "carol"], "group.members")

    # Update: every member is told and caches the new name.
    marks = {a.user: a.mark() for a in (bob, carol)}
    alice.call("group.update", group="team", name="Team 2",
               notice="new notice")
    for a in (bob, carol):
        e = a.wait("group.updated", has_group("team"), after=marks[a.user])
        check_eq((e["group"]["name"], e["group"]["notice"],
                  e["group"]["intro"]), ("Team 2", "new notice", "our team"),
                 "%s's group.updated" % a.user)
        check_eq(a.cached_groups("Team 2"), ["team"],
                 "%s's cache finds the new name" % a.user)
    bob.refused("forbidden", "group.update", "only the owner and admins",
                group="team", name="Mine")

    # FREE: anyone joins; members hear of it.
    check_eq(dave.call("group.join", group="team"), {"status": "JOINED"},
             "join a FREE group")
    for a in (alice, bob, carol, dave):
        a.wait("group.member.joined", about("team", "dave"))
    check_eq(member_ids(alice.call("group.members", group="team")),
             ["alice", "bob", "carol", "dave"], "members after the join")
    soft.eq(dave.cached_groups("team"), ["team"],
            "dave's cached groups after joining (group.search reads the "
            "cache; group.member.joined is all his gateway heard)")
    check_eq(dave.group_ids(), ["team"], "dave's group.list")

    # APPROVAL: a request goes to the owner and admins, approve lets in.
    alice.call("group.create", name="Club", group="club",
               joinPolicy="APPROVAL", users=["bob"])
    bob.wait("group.created", has_group("club"))
    alice.call("group.role", group="club", user="bob", role="ADMIN")
    bob.wait("group.member.role", about("club", "bob"))
    check_eq(carol.call("group.join", group="club", message="let me in"),
             {"status": "PENDING"}, "join an APPROVAL group")
    for a in (alice, bob):
        e = a.wait("group.request", about("club", "carol"))
        check_eq(e["message"], "let me in", "%s's group.request" % a.user)
    check_eq([(q["userId"], q["message"]) for q in
              alice.call("group.requests", group="club")],
             [("carol", "let me in")], "group.requests")
    check_eq(carol.cached_groups("club"), [], "carol's cache while pending")
    carol.refused("forbidden", "group.requests", group="club")
    bob.call("group.approve", group="club", user="carol", accept=True)
    e = carol.wait("group.member.joined", about("club", "carol"))
    check_eq(e.get("by"), "bob", "approved by")
    alice.wait("group.member.joined", about("club", "carol"))
    soft.eq(carol.cached_groups("club"), ["club"],
            "carol's cached groups after her request was approved")
    check_eq(carol.group_ids(), ["club", "team"], "carol's group.list")
    check_eq(alice.call("group.requests", group="club"), [],
             "no requests left")

    # FORBIDDEN: nobody joins.
    mk = carol.mark()
    alice.call("group.update", group="club", joinPolicy="FORBIDDEN")
    e = carol.wait("group.updated", has_group("club"), after=mk)
    check_eq(e["group"]["joinPolicy"], "FORBIDDEN", "carol's group.updated")
    dave.refused("forbidden", "group.join", "FORBIDDEN", group="club")

    # Quit: the quitter's gateway forgets the group; the others hear of it.
    carol.call("group.quit", group="team")
    for a in (alice, bob, dave):
        a.wait("group.member.left", about("team", "carol"))
    check_eq(carol.cached_groups("team"), [], "carol's cache after quitting")
    check_eq(carol.group_ids(), ["club"], "carol's group.list after quitting")
    alice.refused("forbidden", "group.quit", "owner", group="team")

    # Invite: back in.
    mk = carol.mark()
    check_eq(bob.call("group.invite", group="team", users=["carol"]),
             {"added": ["carol"]}, "a member invites into a FREE group")
    carol.wait("group.member.joined", about("team", "carol"), after=mk)
    soft.eq(carol.cached_groups("team"), ["team"],
            "carol's cached groups after the invite")
    check_eq(carol.group_ids(), ["club", "team"], "carol's groups after "
             "the invite")
    dave.refused("forbidden", "group.invite", group="club", users=["dave"])
    soft.done()


def test_group_permissions_mute_kick_transfer_dismiss(env):
    srv, alice, bob, carol, dave = world(env, ("alice", "bob", "carol",
                                               "dave"))
    alice.call("group.create", name="Ops", group="ops",
               users=["bob", "carol", "dave"])
    for a in (bob, carol, dave):
        a.wait("group.created", has_group("ops"))
    wait_subscribed(srv, "ops", 4)

    # A plain member may not kick, mute or change roles.
    bob.refused("forbidden", "group.kick", "only the owner and admins",
                group="ops", users=["carol"])
    bob.refused("forbidden", "group.mute", group="ops", user="carol",
                seconds=60)
    bob.refused("forbidden", "group.role", "only the owner", group="ops",
                user="carol", role="ADMIN")
    bob.refused("forbidden", "group.muteAll", group="ops", muted=True)
    bob.refused("forbidden", "group.transfer", group="ops", user="bob")
    bob.refused("forbidden", "group.dismiss", group="ops")

    # Roles: bob becomes an admin, everyone hears of it.
    m = alice.call("group.role", group="ops", user="bob", role="ADMIN")
    check_eq(m["role"], "ADMIN", "bob's role")
    for a in (bob, carol, dave):
        e = a.wait("group.member.role", about("ops", "bob"))
        check_eq(e["member"]["role"], "ADMIN", "%s's group.member.role"
                 % a.user)
        check_eq([(x["userId"], x["role"]) for x in a.call(
            "group.member.search", group="ops", text="bob")],
            [("bob", "ADMIN")], "%s's cached member (group.member.search)"
            % a.user)
    bob.refused("forbidden", "group.kick", "owner", group="ops",
                users=["alice"])

    # A muted member's message is queued locally, then refused.
    mm = bob.call("group.mute", group="ops", user="carol", seconds=60)
    check(mm["mutedUntil"] > time.time() * 1000, "mutedUntil ahead")
    for a in (alice, carol):
        e = a.wait("group.member.muted", about("ops", "carol"))
        check_eq(e["member"]["mutedUntil"], mm["mutedUntil"],
                 "%s's group.member.muted" % a.user)
        check_eq([x["mutedUntil"] for x in a.call(
            "group.member.search", group="ops", text="carol")],
            [mm["mutedUntil"]], "%s's cached mutedUntil" % a.user)
    r = carol.call("message.send", group="ops", text="can I speak?")
    check_eq(r["status"], "SENDING", "queued first")
    check_eq(carol.got(r["id"])["status"], "SENDING", "carol's message.new")
    e = carol.status(r["id"])
    check_eq(e["status"], "FAILED", "a muted member's message")
    check("muted until" in (e.get("error") or ""),
          "the reason says muted: %r" % e)
    check_eq(carol.call("message.get", id=r["id"])["message"]["status"],
             "FAILED", "carol's cached copy")
    alice.call("group.mute", group="ops", user="carol", seconds=0)
    carol.wait("group.member.muted", lambda e: about("ops", "carol")(e) and
               e["member"]["mutedUntil"] == 0)
    ok = carol.send(group="ops", text="free again")
    bob.got(ok)
    # A plain member may not revoke another's message; an admin may, and
    # every member's gateway hears of it.
    dave.refused("forbidden", "message.revoke", "only the sender", id=ok)
    r = bob.call("message.revoke", id=ok)
    check_eq(r["message"]["status"], "REVOKED", "revoked by an admin")
    for a in (alice, carol, dave):
        m = a.got(ok, "message.revoked")
        check_eq((m["status"], m["content"]), ("REVOKED", ""),
                 "%s's message.revoked" % a.user)

    # muteAll: members silenced, admins not.
    mk = {a.user: a.mark() for a in (carol, dave)}
    g = bob.call("group.muteAll", group="ops", muted=True)
    check_eq(g["muteAll"], True, "muteAll")
    for a in (carol, dave):
        a.wait("group.updated", lambda e: has_group("ops")(e) and
               e["group"]["muteAll"], after=mk[a.user])
    r = dave.call("message.send", group="ops", text="anyone?")
    e = dave.status(r["id"])
    check_eq(e["status"], "FAILED", "a member's message under muteAll")
    check("muted" in (e.get("error") or ""), "reason: %r" % e)
    carol.got(bob.send(group="ops", text="admins may speak"))
    alice.call("group.muteAll", group="ops", muted=False)

    # Kick: the kicked member's gateway forgets the group.
    check_eq(member_ids(carol.call("group.members", group="ops")),
             ["alice", "bob", "carol", "dave"], "members before the kick")
    check_eq(bob.call("group.kick", group="ops", users=["dave"]),
             {"removed": ["dave"]}, "an admin kicks a member")
    e = dave.wait("group.member.kicked", about("ops", "dave"))
    check_eq(e.get("by"), "bob", "kicked by")
    for a in (alice, carol):
        a.wait("group.member.kicked", about("ops", "dave"))
    check_eq(carol.call("group.member.search", group="ops", text="dave"), [],
             "carol's member cache after the kick")
    check_eq(dave.cached_groups("ops"), [], "dave's cache after the kick")
    check_eq(dave.group_ids(), [], "dave's group.list after the kick")
    check_eq(member_ids(carol.call("group.members", group="ops")),
             ["alice", "bob", "carol"], "members after the kick")
    # A non-member's message is refused.
    r = dave.call("message.send", group="ops", text="let me back")
    e = dave.status(r["id"])
    check_eq(e["status"], "FAILED", "a non-member's message")
    check("not a member" in (e.get("error") or ""), "reason: %r" % e)

    # Transfer: bob owns it, alice is a plain member and loses her rights.
    mk = carol.mark()
    g = alice.call("group.transfer", group="ops", user="bob")
    check_eq(g["ownerId"], "bob", "owner after transfer")
    e = carol.wait("group.updated", lambda e: has_group("ops")(e) and
                   e["group"]["ownerId"] == "bob", after=mk)
    check_eq(carol.cached_groups("ops"), ["ops"], "carol's cache")
    check_eq(carol.call("group.search", text="ops")[0]["ownerId"], "bob",
             "carol's cached owner")
    alice.refused("forbidden", "group.kick", group="ops", users=["carol"])
    alice.refused("forbidden", "group.dismiss", "only the owner", group="ops")

    # Dismiss: every gateway forgets the group.
    bob.call("group.dismiss", group="ops")
    for a in (alice, bob, carol):
        a.wait("group.dismissed", has_group("ops"))
        check_eq(a.cached_groups("ops"), [], "%s's cache after dismiss"
                 % a.user)
        check_eq(a.group_ids(), [], "%s's group.list after dismiss" % a.user)
    carol.refused("not_found", "group.info", group="ops")


def test_group_info_of_a_group_one_is_not_in(env):
    """group.info is for anyone; asking must not make it one of my groups."""
    srv, alice, dave = world(env, ("alice", "dave"))
    alice.call("group.create", name="Private", group="priv")
    g = dave.call("group.info", group="priv")
    check_eq(g["groupId"], "priv", "group.info by a non-member")
    # A server round trip after it: the session must still be the same.
    soft = Soft()
    r = soft.run("dave's friend.check after group.info", dave.call,
                 "friend.check", users=["alice"])
    if r is not None:
        soft.eq(r, [{"userId": "alice", "relation": "NONE"}], "friend.check")
    soft.eq([e["state"] for e in dave.events("session.state")], [],
            "dave's session changes after group.info (the gateway "
            "subscribed to /topic/group/priv, which the server refuses "
            "with ERROR, closing the session)")
    soft.eq(dave.cached_groups("priv"), [],
            "dave's cached groups (group.search) after group.info")
    # Whatever happened, the gateway must settle online (a group it is not
    # in, followed again at each connect, would make that impossible).
    soft.run("dave's gateway back online", dave.gw.wait_online, timeout=3)
    soft.run("dave's gateway stays online", hold_for,
             lambda: dave.gw.status()["state"] == "online", 1.0,
             lambda: "dave's gateway left online again; its log has %d "
             "'session backoff' lines" % dave.gw.log().count(
                 'msg="session backoff'))
    soft.done()


def test_group_message_sent_before_a_member_subscribed(env):
    """
    A member's gateway learns of a new group from group.created and only then
    follows its channel. A message sent in between (here: bob's gateway is
    held with SIGSTOP for that moment, as a busy machine would) must still
    reach bob's gateway, at the latest by a since-sync.
    """
    srv, alice, bob = world(env, ("alice", "bob"))
    bob.gw.signal(signal.SIGSTOP)
    try:
        alice.call("group.create", name="Fast", group="fast", users=["bob"])
        first = alice.send(group="fast", text="第一句话")
    finally:
        bob.gw.signal(signal.SIGCONT)
    bob.wait("group.created", has_group("fast"))
    wait_subscribed(srv, "fast", 2)
    soft = Soft()
    soft.run("bob's live copy of the first group message", bob.got, first,
             timeout=3)
    # Later traffic moves bob's sync cursor past the first message's seq.
    bob.got(alice.send(user="bob", text="later, one-to-one"))
    bob.gw.call("session.reconnect")
    bob.gw.wait_online()
    soft.run("bob's copy after a reconnect (since-sync)", bob.got, first,
             timeout=3)
    soft.eq([m["id"] for m in bob.call("message.history", group="fast")
             ["messages"]], [first], "bob's cached group history")
    soft.done()


# ------------------------------------------------------------ friends

def test_friends_requests_remarks_and_friend_groups(env):
    srv, alice, bob, carol = world(env)
    alice2 = second_gateway(env, srv, "alice", "alice2")
    soft = Soft()

    check_eq(alice.call("friend.request", user="bob", message="你好"),
             {"status": "PENDING"}, "friend.request")
    e = bob.wait("friend.request", lambda e: e["userId"] == "alice")
    check_eq(e["message"], "你好", "bob's friend.request event")
    check_eq([q["userId"] for q in
              bob.call("friend.requests")["incoming"]], ["alice"],
             "bob's incoming requests")
    check_eq([q["userId"] for q in
              alice.call("friend.requests")["outgoing"]], ["bob"],
             "alice's outgoing requests")
    check_eq({x["userId"]: x["relation"] for x in
              alice.call("friend.check", users=["bob", "carol"])},
             {"bob": "REQUESTED", "carol": "NONE"}, "friend.check")

    bob.call("friend.respond", user="alice", accept=True)
    for a, other in ((alice, "bob"), (alice2, "bob"), (bob, "alice")):
        a.wait("friend.added", lambda e: e["userId"] == other)
        cached = a.cached_friends(other)
        check_eq(list(cached), [other], "%s's cached friends" % a.gw.user)
        # What offline friend.list would answer: a whole friend object.
        soft.eq(sorted(cached[other]), ["groups", "remark", "since",
                                        "userId"],
                "fields of %s's cached friend after friend.added"
                % a.gw.user)
    check_eq([f["userId"] for f in alice.call("friend.list")], ["bob"],
             "alice's friend.list")
    check_eq([f["userId"] for f in bob.call("friend.list")], ["alice"],
             "bob's friend.list")
    check_eq(alice.call("friend.check", users=["bob"])[0]["relation"],
             "FRIEND", "relation after accepting")

    # Refuse.
    carol.call("friend.request", user="alice")
    alice.wait("friend.request", lambda e: e["userId"] == "carol")
    alice.call("friend.respond", user="carol", accept=False)
    carol.wait("friend.refused", lambda e: e["userId"] == "alice")
    check_eq(carol.call("friend.list"), [], "carol's friends after refusal")
    check_eq(alice.call("friend.requests")["incoming"], [],
             "alice's incoming after refusing")

    # Remark: the other gateway of alice hears of it; search finds it.
    f = alice.call("friend.remark", user="bob", remark="Bobby")
    check_eq(f["remark"], "Bobby", "remark")
    e = alice2.wait("friend.updated", lambda e: e["friend"]["remark"] ==
                    "Bobby")
    check_eq(e["friend"]["userId"], "bob", "friend.updated")
    for a in (alice, alice2):
        check_eq(list(a.cached_friends("bobby")), ["bob"],
                 "%s's friend.search by remark" % a.gw.user)
    check_eq(bob.cached_friends("Bobby"), {}, "remarks are per user")

    # Friend groups.
    alice.call("friend.group.create", name="work")
    alice.refused("conflict", "friend.group.create", name="work")
    mk = alice2.mark()
    alice.call("friend.group.add", name="work", users=["bob"])
    alice2.wait("friend.updated", lambda e: e["friend"]["groups"] ==
                ["work"], after=mk)
    check_eq(alice.call("friend.group.list"),
             [{"name": "work", "userIds": ["bob"]}], "friend.group.list")
    check_eq(alice2.cached_friends("bob")["bob"].get("groups"), ["work"],
             "alice2's cached friend groups")
    soft.eq(alice.cached_friends("bob")["bob"].get("groups"), ["work"],
            "the acting gateway's cached friend after friend.group.add "
            "(friend.search)")
    alice.call("friend.group.rename", name="work", newName="office")
    check_eq(alice.call("friend.group.list"),
             [{"name": "office", "userIds": ["bob"]}], "after rename")
    check_eq(alice.call("friend.list")[0]["groups"], ["office"],
             "friend.list after rename")
    mk = alice2.mark()
    alice.call("friend.group.remove", name="office", users=["bob"])
    alice2.wait("friend.updated", lambda e: e["friend"]["groups"] == [],
                after=mk)
    check_eq(alice.call("friend.group.list"),
             [{"name": "office", "userIds": []}], "after remove")
    alice.call("friend.group.delete", name="office")
    check_eq(alice.call("friend.group.list"), [], "after delete")
    alice.refused("not_found", "friend.group.add", name="office",
                  users=["bob"])

    # Delete: both sides forget.
    check_eq(bob.call("friend.delete", users=["alice", "carol"]),
             {"removed": ["alice"]}, "friend.delete")
    for a, other in ((alice, "bob"), (alice2, "bob"), (bob, "alice")):
        a.wait("friend.deleted", lambda e: e["userId"] == other)
        check_eq(a.cached_friends(other), {}, "%s's cache after delete"
                 % a.gw.user)
    check_eq(alice.call("friend.list"), [], "alice's friend.list after delete")
    check_eq(alice.call("friend.check", users=["bob"])[0]["relation"],
             "NONE", "relation after delete")
    soft.done()


# ------------------------------------------------------------ blacklist

def test_blacklist_blocks_messages_and_requests(env):
    srv, alice, bob, carol = world(env)
    bob.call("blacklist.add", users=["carol"])
    e = bob.wait("blacklist.changed", lambda e: e["blocked"])
    check_eq(e["userIds"], ["carol"], "blacklist.changed")
    check_eq(bob.call("blacklist.list"), ["carol"], "blacklist.list")
    check_eq(bob.call("friend.check", users=["carol"])[0]["relation"],
             "BLOCKED", "friend.check")

    # carol's message to bob fails; her friend request is refused.
    r = carol.call("message.send", user="bob", text="hello?")
    e = carol.status(r["id"])
    check_eq((e["status"], e.get("error")), ("FAILED", "blocked"),
             "carol's message to the blocker")
    carol.refused("forbidden", "friend.request", "blocked", user="bob")
    # bob still reaches carol; nothing of carol's reached bob.
    carol.got(bob.send(user="carol", text="I can"))
    bob.got(alice.send(user="bob", text="marker"))
    check_eq(bob.events("message.new", lambda e: e["message"]["from"] ==
                        "carol"), [], "bob got nothing from carol")
    check_eq(bob.events("friend.request"), [], "no friend.request for bob")

    bob.call("blacklist.remove", users=["carol"])
    bob.wait("blacklist.changed", lambda e: not e["blocked"])
    check_eq(bob.call("blacklist.list"), [], "blacklist after remove")
    bob.got(carol.send(user="bob", text="thanks"))
    check_eq(carol.call("friend.request", user="bob"), {"status": "PENDING"},
             "friend.request after the unblock")
    bob.wait("friend.request", lambda e: e["userId"] == "carol")


# ------------------------------------------------------------ profiles

def test_profiles_reach_friends_and_their_caches(env):
    srv, alice, bob, carol = world(env)
    befriend(alice, bob)
    empty = carol.call("profile.get", users=["alice"])[0]
    check_eq((empty["nickname"], empty["gender"], empty["custom"]),
             ("", "UNKNOWN", {}), "a profile never set")

    p = alice.call("profile.set", nickname="Alice 爱丽丝", signature="hi",
                   gender="FEMALE", birthday="1990-02-03",
                   custom={"lang": "zh"})
    check_eq((p["nickname"], p["gender"], p["custom"]),
             ("Alice 爱丽丝", "FEMALE", {"lang": "zh"}), "profile.set")
    e = bob.wait("profile.updated")
    check_eq(e["profile"], p, "bob's profile.updated")
    check_eq(list(bob.cached_friends("爱丽丝")), ["alice"],
             "bob's friend.search by the cached nickname")
    check_eq(bob.call("profile.get", users=["alice"]), [p], "profile.get")
    p2 = alice.call("profile.set", avatar="https://cdn.example/a.png")
    check_eq((p2["nickname"], p2["avatar"]),
             ("Alice 爱丽丝", "https://cdn.example/a.png"), "a partial set")
    e = bob.wait("profile.updated", lambda e: e["profile"]["avatar"] != "")
    check_eq(e["profile"], p2, "bob's second profile.updated")
    check_eq(carol.call("profile.get", users=["alice", "bob"])[0], p2,
             "carol's profile.get (online)")
    alice.refused("bad_params", "profile.set", "gender", gender="X")
    # carol, no friend, got no profile.updated: her marker comes after them.
    carol.got(alice.send(user="carol", text="marker"))
    check_eq(carol.events("profile.updated"), [], "carol's profile events")


# ------------------------------------------------------------ offline

def test_offline_reads_from_cache_then_resume_and_replay(env):
    srv, alice, bob, carol = world(env)
    alice2 = second_gateway(env, srv, "alice", "alice2")
    soft = Soft()
    befriend(alice, bob)
    alice.call("friend.remark", user="bob", remark="B")
    alice.call("group.create", name="Keep", group="keep",
               users=["bob", "carol"])
    for a in (bob, carol):
        a.wait("group.created", has_group("keep"))
    alice.call("blacklist.add", users=["mallory"])
    p = alice.call("profile.set", nickname="Al")
    bob.wait("profile.updated")
    # bob asks for the members once (that answer is cached); alice never does.
    members_bob = bob.call("group.members", group="keep")

    # carol's gateway stops; what happens meanwhile must reach it later.
    carol_seq = carol.head
    carol.ev.pump(0.001)
    if carol.ev.events:
        carol_seq = carol.ev.events[-1]["seq"]
    carol.gw.stop()
    alice.call("group.update", group="keep", notice="while carol was away")
    alice.call("friend.request", user="carol", message="be my friend")
    missed = alice.send(user="carol", text="你不在的时候")
    bob.wait("group.updated", lambda e: e["group"]["notice"] ==
             "while carol was away")

    # The truth, read through a gateway whose cache does not matter here
    # (alice2's: an online read refreshes the reader's cache).
    truth = {"groups": alice2.call("group.list"),
             "info": alice2.call("group.info", group="keep"),
             "members": alice2.call("group.members", group="keep"),
             "friends": alice2.call("friend.list"),
             "blacklist": alice2.call("blacklist.list")}
    check_eq(member_ids(truth["members"]), ["alice", "bob", "carol"],
             "members (truth)")
    check_eq([f["remark"] for f in truth["friends"]], ["B"], "friends")
    check_eq(truth["blacklist"], ["mallory"], "blacklist (truth)")

    # The server stops: cached reads answer, the rest says offline.
    check_eq(srv.stop(), 0, "imserver exit status")
    for a in (alice, bob):
        a.gw.wait_state(lambda s: s["state"] != "online", "not online")
    soft.eq(alice.call("group.list"), truth["groups"],
            "alice's offline group.list")
    soft.eq(alice.call("group.info", group="keep"), truth["info"],
            "alice's offline group.info")
    soft.eq(bob.call("group.members", group="keep"), members_bob,
            "bob's offline group.members (asked once online)")
    soft.eq(member_ids(alice.call("group.members", group="keep")),
            member_ids(truth["members"]),
            "alice's offline group.members (never asked online)")
    soft.eq(alice.call("friend.list"), truth["friends"],
            "alice's offline friend.list")
    soft.eq(sorted(f["userId"] for f in alice.call("friend.list")), ["bob"],
            "alice's offline friend.list ids")
    soft.eq(alice.call("blacklist.list"), truth["blacklist"],
            "alice's offline blacklist.list")
    soft.eq(alice.call("profile.get", users=["alice"]), [p],
            "alice's offline profile.get of herself")
    soft.eq(bob.call("profile.get", users=["alice"]), [p],
            "bob's offline profile.get of his friend")
    alice.refused("offline", "group.create", name="New")
    alice.refused("offline", "friend.request", user="dave")
    alice.refused("offline", "message.edit", id=missed, text="x")
    check_eq(alice.call("group.search", text="keep")[0]["groupId"], "keep",
             "group.search offline")
    check_eq(list(alice.cached_friends("B")), ["bob"], "friend.search offline")

    # The server returns: everything resumes.
    srv = srv.restart()
    reconnect_all(alice, bob)
    mk = bob.mark()
    alice.call("group.update", group="keep", name="Keep 2")
    bob.wait("group.updated", lambda e: e["group"]["name"] == "Keep 2",
             after=mk)
    bob.got(alice.send(user="bob", text="back online"))
    g = alice.call("group.create", name="After", group="after",
                   users=["bob"])
    check_eq(g["groupId"], "after", "group.create after the restart")
    bob.wait("group.created", has_group("after"), after=mk)

    # carol's gateway comes back: the events it missed are replayed.
    carol.gw.start()
    carol.gw.wait_online()
    carol.connect(since=carol_seq)
    e = carol.wait("group.updated", lambda e: e["group"]["notice"] ==
                   "while carol was away")
    check_eq(e["group"]["groupId"], "keep", "replayed group.updated")
    e = carol.wait("friend.request", lambda e: e["userId"] == "alice")
    check_eq(e["message"], "be my friend", "replayed friend.request")
    check_eq(carol.got(missed)["content"], "你不在的时候", "missed message")
    carol.wait("group.updated", lambda e: e["group"]["name"] == "Keep 2")
    check_eq(carol.call("group.search", text="keep")[0]["name"], "Keep 2",
             "carol's cache after the replay")
    check_eq([q["userId"] for q in carol.call("friend.requests")["incoming"]],
             ["alice"], "carol's incoming request")
    soft.done()


def test_group_messages_resume_after_reconnect(env):
    """
    After any reconnect (server restart, gateway restart) the gateway must
    follow its groups' channels again (RPC.md: "after each connect").
    """
    srv, alice, bob, carol = world(env)
    alice.call("group.create", name="Live", group="live",
               users=["bob", "carol"])
    for a in (bob, carol):
        a.wait("group.created", has_group("live"))
    wait_subscribed(srv, "live", 3)
    bob.got(alice.send(group="live", text="before"))

    soft = Soft()
    # 1. The server restarts.
    check_eq(srv.stop(), 0, "imserver exit status")
    for a in (alice, bob, carol):
        a.gw.wait_state(lambda s: s["state"] != "online", "not online")
    srv = srv.restart()
    reconnect_all(alice, bob, carol)
    soft.run("the gateways follow the group's channel again",
             wait_subscribed, srv, "live", 3)
    m = alice.send(group="live", text="after the server restart")
    soft.run("bob's live group message after the server restart",
             bob.got, m, timeout=3)

    # 2. bob's gateway restarts.
    bob.gw.restart()
    bob.gw.wait_online()
    bob.connect()
    soft.run("bob's restarted gateway follows the group's channel",
             wait_subscribed, srv, "live", 4)
    m = carol.send(group="live", text="after bob's gateway restarted")
    soft.run("bob's live group message after his gateway restarted",
             bob.got, m, timeout=3)
    # Either way, a since-sync at the next connect brings what was missed.
    bob.gw.call("session.reconnect")
    bob.gw.wait_online()
    soft.run("bob's copy after one more reconnect (since-sync)", bob.got, m)
    soft.done()


# ------------------------------------------------------------ batch

def test_batch_mixes_cache_and_server_calls(env):
    srv, alice, bob = world(env, ("alice", "bob"))
    befriend(alice, bob)
    alice.call("group.create", name="Batch", group="bg", users=["bob"])
    bob.wait("group.created", has_group("bg"))
    calls = [
        {"method": "rpc.ping"},
        {"method": "friend.check", "params": {"users": ["bob", "zed"]}},
        {"method": "group.search", "params": {"text": "bg"}},
        {"method": "conversation.get", "params": {"user": "nobody"}},
        {"method": "group.info", "params": {"group": "nosuch"}},
        {"method": "message.send", "params": {"user": "bob",
                                              "text": "from a batch"}},
        {"method": "no.such.method", "params": {}},
        {"method": "group.members", "params": {"group": "bg"}},
        {"method": "friend.search", "params": {"text": "bob"}},
        {"method": "group.kick", "params": {"group": "bg",
                                            "users": ["alice"]}},
        {"method": "profile.get", "params": {"users": ["bob"]}},
        {"method": "message.send", "params": {"user": "bob"}},
    ]
    res = alice.call("batch", calls=calls)["results"]
    check_eq(len(res), len(calls), "one result per call")

    def result(i):
        check("result" in res[i] and "error" not in res[i],
              "call %d (%s) should succeed: %r" % (i, calls[i]["method"],
                                                    res[i]))
        return res[i]["result"]

    def error(i, code):
        check("error" in res[i], "call %d (%s) should fail: %r"
              % (i, calls[i]["method"], res[i]))
        check_eq(res[i]["error"]["code"], code, "call %d (%s) error"
                 % (i, calls[i]["method"]))

    check_eq(result(0), "pong", "rpc.ping")
    check_eq({x["userId"]: x["relation"] for x in result(1)},
             {"bob": "FRIEND", "zed": "NONE"}, "friend.check")
    check_eq([g["groupId"] for g in result(2)], ["bg"], "group.search")
    error(3, "not_found")
    error(4, "not_found")
    sent = result(5)
    check_eq(sent["status"], "SENDING", "message.send in a batch")
    error(6, "no_such_method")
    check_eq(member_ids(result(7)), ["alice", "bob"], "group.members")
    check_eq([f["userId"] for f in result(8)], ["bob"], "friend.search")
    error(9, "bad_params")	# kicking oneself (the server's 400)
    check_eq(result(10)[0]["userId"], "bob", "profile.get")
    error(11, "bad_params")
    alice.sent(sent["id"])
    check_eq(bob.got(sent["id"])["content"], "from a batch",
             "bob got the batch's message")

    # Offline, the cache items still answer and the server items say so.
    check_eq(srv.stop(), 0, "imserver exit status")
    alice.gw.wait_state(lambda s: s["state"] != "online", "not online")
    calls = [
        {"method": "group.list"},
        {"method": "group.create", "params": {"name": "x"}},
        {"method": "friend.search", "params": {"text": "bob"}},
        {"method": "message.history", "params": {"user": "bob"}},
    ]
    res = alice.call("batch", calls=calls)["results"]
    check_eq([g["groupId"] for g in result(0)], ["bg"], "offline group.list")
    error(1, "offline")
    check_eq([f["userId"] for f in result(2)], ["bob"], "offline search")
    check_eq([m["id"] for m in result(3)["messages"]], [sent["id"]],
             "offline history")


# ------------------------------------------------------------ CLI

def cli_json(acct, *args):
    r = acct.gw.cli("--json", *args)
    check_eq(r.returncode, 0, "imgw %s exit status (stderr %r)"
             % (" ".join(args), r.stderr.strip()))
    return json.loads(r.stdout)


def test_cli_named_arguments(env):
    """imgw DOMAIN VERB --NAME VALUE: arrays, booleans, ids and objects."""
    srv, alice, bob, carol = world(env)
    g = cli_json(alice, "group", "create", "--name", "CLI 组", "--users",
                 '["bob", "carol"]', "--group", "cli-g", "--joinPolicy",
                 "APPROVAL")
    check_eq((g["groupId"], g["memberCount"], g["joinPolicy"]),
             ("cli-g", 3, "APPROVAL"), "group created with the CLI")
    for a in (bob, carol):
        a.wait("group.created", has_group("cli-g"))
    wait_subscribed(srv, "cli-g", 3)
    check_eq(cli_json(bob, "group", "search", "--text", "CLI"),
             [g], "imgw group search")
    cli_json(alice, "friend", "request", "--user", "bob", "--message", "hi")
    bob.wait("friend.request", lambda e: e["userId"] == "alice")
    check_eq(cli_json(bob, "friend", "respond", "--user", "alice",
                      "--accept", "true"), {}, "imgw friend respond")
    alice.wait("friend.added", lambda e: e["userId"] == "bob")
    mk = bob.mark()
    r = cli_json(alice, "message", "send", "--group", "cli-g", "--text",
                 "hi @bob", "--mentions", '["bob"]')
    m = bob.got(r["id"])
    check_eq((m["conversation"], m.get("mentions")),
             ({"group": "cli-g"}, ["bob"]), "bob's copy of the CLI message")
    c = cli_json(bob, "conversation", "pin", "--group", "cli-g")
    check_eq(c["pinned"], True, "imgw conversation pin")
    check_eq(cli_json(alice, "group", "mute", "--group", "cli-g", "--user",
                      "carol", "--seconds", "30")["userId"], "carol",
             "imgw group mute (an int)")
    carol.wait("group.member.muted", about("cli-g", "carol"))
    res = cli_json(bob, "batch", "--calls", json.dumps([
        {"method": "group.search", "params": {"text": "cli-g"}},
        {"method": "friend.check", "params": {"users": ["alice"]}},
        {"method": "group.info", "params": {"group": "nosuch"}}]))["results"]
    check_eq([list(x) for x in res], [["result"], ["result"], ["error"]],
             "imgw batch results")
    check_eq(res[1]["result"][0]["relation"], "FRIEND", "imgw batch item")
    check(bob.mark() > mk, "bob saw events")

    # Object arguments (payload, custom) given as JSON on the command line.
    soft = Soft()
    r = alice.gw.cli("--json", "message", "send", "--user", "bob", "--text",
                     "here", "--type", "LOCATION", "--payload",
                     '{"lat": 31.23, "lng": 121.47, "label": "上海"}')
    if soft.eq(r.returncode, 0, "imgw message send --payload JSON exit "
               "status (stderr %r)" % r.stderr.strip()):
        m = bob.got(json.loads(r.stdout)["id"])
        soft.eq((m["type"], m.get("payload")),
                ("LOCATION", {"lat": 31.23, "lng": 121.47, "label": "上海"}),
                "bob's copy of the CLI location")
    r = alice.gw.cli("--json", "profile", "set", "--nickname", "Al",
                     "--custom", '{"theme": "dark"}')
    if soft.eq(r.returncode, 0, "imgw profile set --custom JSON exit status "
               "(stderr %r)" % r.stderr.strip()):
        soft.eq(json.loads(r.stdout).get("custom"), {"theme": "dark"},
                "custom set with the CLI")
    soft.done()


if __name__ == "__main__":
    run()
