#!/usr/bin/python3
"""
The full IM surface of imserver (UPSTREAM.md "The full IM surface"), driven
directly over STOMP/WebSocket (stomp_client.py), with several users: groups
and their permission rules, group delivery and sync, edit/revoke/read,
history, friends, blacklist, profiles, conversation settings, validation,
and persistence across a restart, apps kept apart.
"""
import os
import sqlite3
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (IMSERVER, check, check_eq, run,  # noqa: E402
                     wait_until_time)
from stomp_client import (QUEUE_EVENTS, QUEUE_MESSAGES,  # noqa: E402
                          StompClient)

TOPIC = "/topic/group/"


def connect(env, srv, user, subscribe=True, token=None, app=None):
    """A session of user, subscribed to the three user queues."""
    c = StompClient(srv.port, token or env.token(user),
                    app=app or "ak_demo_chat")
    env.rpcs.append(c)	# closed by the harness's teardown
    if subscribe:
        c.subscribe_all()
    return c


def token_for_app(env, app, user):
    r = subprocess.run([IMSERVER, "token", "--secret-file", env.secret,
                        "--app", app, user], capture_output=True, text=True,
                       timeout=10)
    check_eq(r.returncode, 0, "imserver token --app (stderr %r)" % r.stderr)
    return r.stdout.strip()


def refused(c, code, words, action, **body):
    """action must be refused with code and a message containing words."""
    msg = c.refused(code, action, **body)
    check(words in (msg or ""), "%s refusal %r should mention %r"
          % (action, msg, words))
    return msg


def group_send(c, gid, text, **kw):
    return c.call("chat.send", toId=gid, chatType="GROUP", content=text, **kw)


def on_topic(c, gid, msg_id, pred=None):
    """Wait until c got message msg_id on the group's topic."""
    return c.wait_message(TOPIC + gid, lambda m: m["id"] == msg_id and
                          (pred is None or pred(m)),
                          "%s on %s%s" % (msg_id, TOPIC, gid))


def member_ids(c, gid):
    return sorted(m["userId"] for m in
                  c.call("group.members", groupId=gid)["members"])


# ------------------------------------------------------------------ groups

def test_group_roles_kick_transfer_dismiss(env):
    srv = env.server()
    alice, bob, carol, dave = (connect(env, srv, u) for u in
                               ("alice", "bob", "carol", "dave"))
    g = alice.call("group.create", name="Team", members=["bob", "carol"],
                   groupId="team", notice="hello", intro="our team")
    check_eq((g["groupId"], g["ownerId"], g["memberCount"], g["joinPolicy"]),
             ("team", "alice", 3, "FREE"), "created group")
    for c in (alice, bob, carol):
        e = c.wait_event("group.created")
        check_eq(e["data"]["group"]["groupId"], "team",
                 "%s's group.created" % c.user)
    refused(alice, 409, "already used", "group.create", name="Again",
            groupId="team")

    # A plain member may not kick; dave, no member, may not see members.
    refused(bob, 403, "only the owner and admins", "group.kick",
            groupId="team", userIds=["carol"])
    refused(dave, 403, "not a member", "group.members", groupId="team")
    check_eq(dave.call("group.info", groupId="team")["name"], "Team",
             "group.info for anyone")

    # Roles: bob becomes an admin; admins kick plain members only.
    m = alice.call("group.role", groupId="team", userId="bob", role="ADMIN")
    check_eq(m["role"], "ADMIN", "bob's role")
    carol.wait_event("group.member.role",
                     lambda d: d["member"]["userId"] == "bob")
    refused(bob, 403, "only the owner", "group.role", groupId="team",
            userId="carol", role="ADMIN")
    refused(alice, 403, "transfer", "group.role", groupId="team",
            userId="alice", role="MEMBER")
    refused(bob, 403, "owner cannot be kicked", "group.kick",
            groupId="team", userIds=["alice"])
    alice.call("group.invite", groupId="team", userIds=["dave"])
    alice.call("group.role", groupId="team", userId="dave", role="ADMIN")
    refused(bob, 403, "admins may kick members only", "group.kick",
            groupId="team", userIds=["dave"])
    r = bob.call("group.kick", groupId="team", userIds=["carol", "nobody"])
    check_eq(r["removed"], ["carol"], "removed by an admin")
    e = carol.wait_event("group.member.kicked")
    check_eq((e["data"]["userId"], e["data"]["by"]), ("carol", "bob"),
             "carol's kicked event")
    alice.wait_event("group.member.kicked")
    check_eq(member_ids(alice, "team"), ["alice", "bob", "dave"],
             "members after the kick")
    refused(carol, 403, "not a member", "group.quit", groupId="team")

    # Quit: the owner cannot; a member can.
    refused(alice, 403, "owner cannot quit", "group.quit", groupId="team")
    dave.call("group.quit", groupId="team")
    alice.wait_event("group.member.left", lambda d: d["userId"] == "dave")

    # Transfer: bob owns it, alice is a plain member and loses her rights.
    g = alice.call("group.transfer", groupId="team", userId="bob")
    check_eq(g["ownerId"], "bob", "owner after transfer")
    bob.wait_event("group.updated", lambda d: d["group"]["ownerId"] == "bob")
    roles = {m["userId"]: m["role"] for m in
             bob.call("group.members", groupId="team")["members"]}
    check_eq(roles, {"bob": "OWNER", "alice": "MEMBER"}, "roles after transfer")
    refused(alice, 403, "only the owner and admins", "group.update",
            groupId="team", name="Mine")
    refused(alice, 403, "only the owner", "group.dismiss", groupId="team")
    g = bob.call("group.update", groupId="team", name="Team 2",
                 notice="new notice")
    check_eq((g["name"], g["notice"], g["intro"]),
             ("Team 2", "new notice", "our team"), "updated group")
    alice.wait_event("group.updated", lambda d: d["group"]["name"] == "Team 2")

    # Dismiss: members are told; the group is gone, its id stays taken.
    bob.call("group.dismiss", groupId="team")
    e = alice.wait_event("group.dismissed")
    check_eq(e["data"]["group"]["groupId"], "team", "dismissed group")
    refused(alice, 404, "no such group", "group.info", groupId="team")
    check_eq(alice.call("group.list"), [], "alice's groups after dismiss")
    refused(bob, 409, "already used", "group.create", name="Team",
            groupId="team")


def test_group_join_policies_requests_invites(env):
    srv = env.server()
    alice, bob, carol, dave = (connect(env, srv, u) for u in
                               ("alice", "bob", "carol", "dave"))
    alice.call("group.create", name="Open", groupId="open")
    check_eq(bob.call("group.join", groupId="open"), {"status": "JOINED"},
             "join FREE")
    alice.wait_event("group.member.joined", lambda d: d["userId"] == "bob")
    bob.wait_event("group.member.joined", lambda d: d["userId"] == "bob")
    refused(bob, 409, "already a member", "group.join", groupId="open")
    # FREE: any member invites.
    check_eq(bob.call("group.invite", groupId="open",
                      userIds=["carol", "bob"])["added"], ["carol"],
             "invited by a member of a FREE group")

    alice.call("group.create", name="Closed", groupId="closed",
               joinPolicy="APPROVAL", members=["bob"])
    check_eq(carol.call("group.join", groupId="closed", message="let me in"),
             {"status": "PENDING"}, "join APPROVAL")
    e = alice.wait_event("group.request")
    check_eq((e["data"]["userId"], e["data"]["message"]),
             ("carol", "let me in"), "group.request event")
    reqs = alice.call("group.requests", groupId="closed")
    check_eq([(q["userId"], q["message"]) for q in reqs],
             [("carol", "let me in")], "pending requests")
    refused(bob, 403, "only the owner and admins", "group.requests",
            groupId="closed")
    refused(bob, 403, "only the owner and admins", "group.approve",
            groupId="closed", userId="carol", accept=True)
    refused(bob, 403, "only the owner and admins may invite",
            "group.invite", groupId="closed", userIds=["dave"])
    alice.call("group.approve", groupId="closed", userId="carol", accept=True)
    e = carol.wait_event("group.member.joined",
                         lambda d: d["groupId"] == "closed")
    check_eq(e["data"]["by"], "alice", "approved by")
    check_eq(alice.call("group.requests", groupId="closed"), [],
             "requests after approval")
    dave.call("group.join", groupId="closed")
    alice.call("group.approve", groupId="closed", userId="dave",
               accept=False)
    refused(alice, 404, "no request", "group.approve", groupId="closed",
            userId="dave", accept=True)
    check_eq(member_ids(alice, "closed"), ["alice", "bob", "carol"],
             "members after approve and refuse")

    alice.call("group.update", groupId="closed", joinPolicy="FORBIDDEN")
    refused(dave, 403, "FORBIDDEN", "group.join", groupId="closed")
    check_eq(alice.call("group.invite", groupId="closed",
                        userIds=["dave"])["added"], ["dave"],
             "the owner invites into a FORBIDDEN group")
    dave.wait_event("group.member.joined",
                    lambda d: d["groupId"] == "closed" and
                    d["userId"] == "dave")
    check_eq(sorted(g["groupId"] for g in dave.call("group.list")),
             ["closed"], "dave's groups")


def test_group_messages_mute_and_topic_rules(env):
    srv = env.server()
    alice, bob, carol, dave = (connect(env, srv, u) for u in
                               ("alice", "bob", "carol", "dave"))
    alice.call("group.create", name="Chat", groupId="chat",
               members=["bob", "carol"])
    for c in (alice, bob, carol):
        c.subscribe(TOPIC + "chat")

    # Delivery on the topic, with the optional fields echoed.
    first = group_send(alice, "chat", "hello group")
    payload = {"url": "https://x/a.png", "size": 10, "mime": "image/png",
               "width": 4, "height": 3}
    m = group_send(bob, "chat", "look", msgType="IMAGE", payload=payload,
                   mentions=["alice", "@all"], replyTo=first["id"])
    for c in (alice, bob, carol):
        got = on_topic(c, "chat", m["id"])
        check_eq((got["chatType"], got["msgType"], got["payload"],
                  got["mentions"], got["replyTo"], got["fromId"]),
                 ("GROUP", "IMAGE", payload, ["alice", "@all"], first["id"],
                  "bob"), "%s's copy on the topic" % c.user)

    # A non-member neither posts nor subscribes (ERROR closes the session).
    refused(dave, 403, "not a member", "chat.send", toId="chat",
            chatType="GROUP", content="intruder")
    f = dave.subscribe(TOPIC + "chat", check=False)
    check_eq(f.command, "ERROR", "dave's SUBSCRIBE answer")
    check("not a member" in f.headers.get("message", ""),
          "ERROR says why: %r" % f.headers)
    check(dave.wait_closed(), "dave's session closed after the ERROR")
    refused(alice, 404, "no such group", "chat.send", toId="nosuch",
            chatType="GROUP", content="x")

    # Mute a member for a while; 0 unmutes. Only the owner mutes an admin.
    refused(bob, 403, "only the owner and admins", "group.mute",
            groupId="chat", userId="carol", seconds=60)
    mm = alice.call("group.mute", groupId="chat", userId="carol", seconds=60)
    check(mm["mutedUntil"] > time.time() * 1000, "mutedUntil in the future")
    bob.wait_event("group.member.muted",
                   lambda d: d["member"]["userId"] == "carol")
    msg = refused(carol, 403, "muted until", "chat.send", toId="chat",
                  chatType="GROUP", content="shh")
    check(str(mm["mutedUntil"]) in msg, "muted until T: %r" % msg)
    alice.call("group.mute", groupId="chat", userId="carol", seconds=0)
    group_send(carol, "chat", "free again")
    refused(alice, 403, "owner cannot be muted", "group.mute",
            groupId="chat", userId="alice", seconds=5)

    # muteAll: members are silenced, owner and admins are not.
    alice.call("group.role", groupId="chat", userId="bob", role="ADMIN")
    g = alice.call("group.muteAll", groupId="chat", muted=True)
    check_eq(g["muteAll"], True, "muteAll set")
    carol.wait_event("group.updated", lambda d: d["group"]["muteAll"])
    refused(carol, 403, "group is muted", "chat.send", toId="chat",
            chatType="GROUP", content="x")
    group_send(alice, "chat", "owner speaks")
    group_send(bob, "chat", "admin speaks")
    refused(carol, 403, "only the owner and admins", "group.muteAll",
            groupId="chat", muted=False)
    bob.call("group.muteAll", groupId="chat", muted=False)
    group_send(carol, "chat", "member speaks")

    # A kicked member gets no more group messages.
    alice.call("group.kick", groupId="chat", userIds=["carol"])
    late = group_send(alice, "chat", "after the kick")
    on_topic(bob, "chat", late["id"])
    marker = alice.call("chat.send", toId="carol", content="marker")
    carol.wait_message(QUEUE_MESSAGES, lambda m: m["id"] == marker["id"],
                       "carol's marker")
    check(not [m for m in carol.messages_on(TOPIC + "chat")
               if m["id"] == late["id"]], "kicked carol got no later message")
    refused(carol, 403, "not a member", "chat.history", groupId="chat")


def test_group_sync_for_offline_member(env):
    srv = env.server()
    alice = connect(env, srv, "alice")
    alice.call("group.create", name="G", groupId="g", members=["bob"])
    alice.subscribe(TOPIC + "g")
    sent = [group_send(alice, "g", "m%d" % i)["id"] for i in range(3)]
    alice.call("group.invite", groupId="g", userIds=["carol"])
    sent.append(group_send(alice, "g", "m3")["id"])
    revoked = alice.call("chat.revoke", messageId=sent[0])

    # bob was offline throughout: a since-sync gives messages and events
    # interleaved in seq order, on their two destinations.
    bob = connect(env, srv, "bob")
    r = bob.call("chat.sync", since=0)
    check_eq(r["more"], False, "one page")
    msgs = bob.messages_on(QUEUE_MESSAGES)
    evs = bob.events()
    check_eq(r["count"], len(msgs) + len(evs), "count = frames pushed")
    check_eq(sorted(m["id"] for m in msgs), sorted(sent),
             "group messages synced to bob")
    check_eq([m["status"] for m in msgs if m["id"] == sent[0]], ["REVOKED"],
             "the revoke replaces the message in a since-sync")
    check_eq([e["type"] for e in evs],
             ["group.created", "group.member.joined"], "bob's events")
    seqs = [f.json()["seq"] for f in bob.frames if f.command == "MESSAGE" and
            f.headers["destination"] in (QUEUE_MESSAGES, QUEUE_EVENTS)]
    check_eq(seqs, sorted(seqs), "messages and events in seq order")
    check_eq(len(set(seqs)), len(seqs), "distinct seqs")
    check_eq(r["seq"], max(seqs), "reply seq is the highest pushed")
    check_eq(revoked["seq"], max(seqs), "the revoke is the last change")
    # Paging by seq with limit.
    bob2 = connect(env, srv, "bob")
    page = bob2.call("chat.sync", since=0, limit=2)
    check_eq((page["count"], page["more"]), (2, True), "first page")
    page = bob2.call("chat.sync", since=page["seq"], limit=100)
    check_eq(page["more"], False, "second page is the last")
    check_eq(len(bob2.messages_on(QUEUE_MESSAGES)) + len(bob2.events()),
             r["count"], "pages add up")

    # sync.next: the pages after a since-sync, asked for before its answer
    # (three requests back to back), each answered after its frames.
    bob3 = connect(env, srv, "bob")
    refused(bob3, 400, "no since-sync", "chat.sync", next=True, limit=2)
    rids = ["p%d" % i for i in range(3)]
    bob3.send("chat.sync", request_id=rids[0], since=0, limit=2)
    for rid in rids[1:]:
        bob3.send("chat.sync", request_id=rid, next=True, limit=2)
    pages, frames = [], 0
    for rid in rids:
        f = bob3.wait_frame(lambda f: f.command == "MESSAGE" and
                            f.headers.get("request-id") == rid, rid)
        got = [g for g in bob3.frames[:bob3.frames.index(f)]
               if g.command == "MESSAGE" and "request-id" not in g.headers]
        check_eq(len(got) - frames, f.json()["data"]["count"],
                 "page %s answered after its own frames" % rid)
        frames = len(got)
        pages.append(f.json()["data"])
    check_eq([(p["count"], p["more"]) for p in pages],
             [(2, True), (2, True), (r["count"] - 4, False)],
             "three pages of a %d-frame sync" % r["count"])
    seqs = [g.json()["seq"] for g in bob3.frames if g.command == "MESSAGE"
            and "request-id" not in g.headers]
    check_eq(seqs, sorted(set(seqs)), "no frame twice, in seq order")
    check_eq(pages[-1]["seq"], max(seqs), "the last page ends at the head")

    # carol joined late and never connected: the seed sync (no since) gives
    # what she was not delivered, only from when she joined.
    carol = connect(env, srv, "carol")
    carol.call("chat.sync")
    got = [m["id"] for m in carol.messages_on(QUEUE_MESSAGES)]
    check_eq(got, [sent[3]], "carol's undelivered group messages")
    hist = carol.call("chat.history", groupId="g")
    check_eq([m["id"] for m in hist["messages"]],
             [sent[0], sent[3], sent[2], sent[1]],
             "group history for a member, newest change first")


# ---------------------------------------------- edit, revoke, read, history

def test_edit_and_revoke_window(env):
    srv = env.server(args=["--revoke-window", "2"])
    alice, bob, carol = (connect(env, srv, u) for u in
                         ("alice", "bob", "carol"))
    m = alice.call("chat.send", toId="bob", content="tpyo",
                   payload={"k": 1})
    bob.wait_message(QUEUE_MESSAGES, lambda x: x["id"] == m["id"], "original")
    e = alice.call("chat.edit", messageId=m["id"], content="typo")
    check(e["seq"] > m["seq"] and e["editedAt"] >= m["createdAt"],
          "edit gives a new seq and editedAt: %r" % e)
    check_eq(e["payload"], {"k": 1}, "payload kept when not given")
    got = bob.wait_message(QUEUE_MESSAGES, lambda x: x["id"] == m["id"] and
                           x.get("editedAt"), "the edit pushed to bob")
    check_eq(got["content"], "typo", "edited content")
    refused(bob, 403, "only the sender may edit", "chat.edit",
            messageId=m["id"], content="mine")
    refused(bob, 404, "no such message", "chat.edit", messageId="nope",
            content="x")

    # Within the window the sender revokes; after it, not.
    quick = alice.call("chat.send", toId="bob", content="oops")
    r = alice.call("chat.revoke", messageId=quick["id"])
    check_eq((r["status"], r["content"]), ("REVOKED", ""), "revoked")
    refused(alice, 409, "revoked", "chat.edit", messageId=quick["id"],
            content="x")
    slow = alice.call("chat.send", toId="bob", content="too late")
    refused(bob, 403, "only the sender", "chat.revoke", messageId=slow["id"])

    # In a group the owner and admins revoke anyone's message at any time.
    alice.call("group.create", name="G", groupId="g",
               members=["bob", "carol"])
    alice.call("group.role", groupId="g", userId="bob", role="ADMIN")
    for c in (alice, bob, carol):
        c.subscribe(TOPIC + "g")
    cm = group_send(carol, "g", "carol says")
    am = group_send(alice, "g", "alice says")
    refused(carol, 403, "owner or an admin", "chat.revoke",
            messageId=am["id"])
    wait_until_time(max(slow["createdAt"], am["createdAt"]) / 1000.0 + 2.3)
    refused(alice, 403, "revoke window", "chat.revoke", messageId=slow["id"])
    refused(carol, 403, "revoke window", "chat.revoke", messageId=cm["id"])
    r = bob.call("chat.revoke", messageId=cm["id"])
    check_eq(r["status"], "REVOKED", "an admin revokes a member's message")
    on_topic(carol, "g", cm["id"], lambda x: x["status"] == "REVOKED")
    r = alice.call("chat.revoke", messageId=am["id"])
    check_eq(r["status"], "REVOKED", "the owner revokes her own, late")
    on_topic(bob, "g", am["id"], lambda x: x["status"] == "REVOKED")
    refused(carol, 409, "revoked", "chat.edit", messageId=cm["id"],
            content="x")
    # An edit in a group goes to the topic like a revoke.
    bm = group_send(bob, "g", "draft")
    bob.call("chat.edit", messageId=bm["id"], content="final")
    got = on_topic(carol, "g", bm["id"], lambda x: x.get("editedAt"))
    check_eq(got["content"], "final", "edited group message")


def test_read_receipts_and_history(env):
    srv = env.server()
    alice = connect(env, srv, "alice")
    bob1 = connect(env, srv, "bob")
    bob2 = connect(env, srv, "bob")
    ids = [alice.call("chat.send", toId="bob", content="n%d" % i)["id"]
           for i in range(5)]
    bob1.wait_message(QUEUE_MESSAGES, lambda m: m["id"] == ids[-1], "last")

    r = bob1.call("chat.read", peerId="alice", messageId=ids[3])
    check_eq((r["conversation"], r["messageId"]), ({"peerId": "alice"},
                                                    ids[3]), "read mark")
    e = bob2.wait_event("conversation.read")
    check_eq(e["data"], r, "conversation.read to bob's other session")
    e = alice.wait_event("message.read")
    check_eq(e["data"], {"by": "bob", "messageId": ids[3],
                         "readAt": r["readAt"]}, "read receipt to alice")
    # An older message leaves the mark where it is.
    r2 = bob1.call("chat.read", peerId="alice", messageId=ids[1])
    check_eq(r2["messageId"], ids[3], "the mark only moves forward")
    refused(bob1, 404, "not in this conversation", "chat.read",
            peerId="carol", messageId=ids[0])
    refused(bob1, 400, "exactly one of peerId and groupId", "chat.read",
            messageId=ids[0])
    check(not bob1.events("conversation.read"),
          "the reading session gets no conversation.read")

    # History: newest first, paged with before.
    h = bob1.call("chat.history", peerId="alice", limit=2)
    check_eq([m["id"] for m in h["messages"]], [ids[4], ids[3]], "page 1")
    check_eq(h["more"], True, "more after page 1")
    h = bob1.call("chat.history", peerId="alice", limit=100,
                  before=h["messages"][-1]["seq"])
    check_eq([m["id"] for m in h["messages"]], [ids[2], ids[1], ids[0]],
             "page 2")
    check_eq(h["more"], False, "no more after page 2")
    check_eq(alice.call("chat.history", peerId="carol")["messages"], [],
             "no conversation with carol")
    refused(bob1, 400, "limit", "chat.history", peerId="alice", limit=101)

    # Group reads tell the reader's other sessions only.
    alice.call("group.create", name="G", groupId="g", members=["bob"])
    gm = group_send(alice, "g", "group text")
    bob1.call("chat.read", groupId="g", messageId=gm["id"])
    e = bob2.wait_event("conversation.read",
                        lambda d: d["conversation"] == {"groupId": "g"})
    check_eq(e["data"]["messageId"], gm["id"], "group read mark")


# ------------------------------------------------------------ friends

def test_friends_requests_remarks_groups(env):
    srv = env.server()
    alice = connect(env, srv, "alice")
    alice2 = connect(env, srv, "alice")
    bob, carol, dave = (connect(env, srv, u) for u in ("bob", "carol", "dave"))

    check_eq(alice.call("friend.request", userId="bob", message="hi bob"),
             {"status": "PENDING"}, "request")
    e = bob.wait_event("friend.request")
    check_eq(e["data"], {"userId": "alice", "message": "hi bob"},
             "friend.request event")
    reqs = bob.call("friend.requests")
    check_eq([(q["userId"], q["message"]) for q in reqs["incoming"]],
             [("alice", "hi bob")], "bob's incoming")
    check_eq([q["userId"] for q in alice.call("friend.requests")["outgoing"]],
             ["bob"], "alice's outgoing")
    rel = {x["userId"]: x["relation"] for x in
           alice.call("friend.check", userIds=["bob", "carol"])}
    check_eq(rel, {"bob": "REQUESTED", "carol": "NONE"}, "alice's relations")
    check_eq(bob.call("friend.check", userIds=["alice"])[0]["relation"],
             "INCOMING", "bob's relation")
    refused(bob, 404, "no friend request", "friend.respond", userId="carol",
            accept=True)
    refused(alice, 400, "yourself", "friend.request", userId="alice")

    bob.call("friend.respond", userId="alice", accept=True)
    for c, other in ((alice, "bob"), (alice2, "bob"), (bob, "alice")):
        e = c.wait_event("friend.added")
        check_eq(e["data"], {"userId": other}, "friend.added for %s" % c.user)
    check_eq([f["userId"] for f in alice.call("friend.list")], ["bob"],
             "alice's friends")
    check_eq(alice.call("friend.request", userId="bob"),
             {"status": "FRIENDS"}, "request to a friend")

    # Remarks and friend groups go to the user's other sessions.
    f = alice.call("friend.remark", userId="bob", remark="Bobby")
    check_eq(f["remark"], "Bobby", "remark")
    e = alice2.wait_event("friend.updated")
    check_eq(e["data"]["friend"]["remark"], "Bobby", "friend.updated")
    check(not alice.events("friend.updated"), "not to the acting session")
    refused(alice, 404, "not a friend", "friend.remark", userId="carol",
            remark="x")
    alice.call("friend.group.create", name="work")
    refused(alice, 409, "exists", "friend.group.create", name="work")
    alice.call("friend.group.add", name="work", userIds=["bob"])
    alice2.wait_event("friend.updated",
                      lambda d: d["friend"]["groups"] == ["work"])
    refused(alice, 404, "not a friend", "friend.group.add", name="work",
            userIds=["carol"])
    refused(alice, 404, "no friend group", "friend.group.add", name="home",
            userIds=["bob"])
    alice.call("friend.group.rename", name="work", newName="office")
    check_eq(alice.call("friend.list")[0]["groups"], ["office"],
             "groups after rename")
    check_eq(alice.call("friend.group.list"),
             [{"name": "office", "userIds": ["bob"]}], "friend.group.list")
    alice.call("friend.group.remove", name="office", userIds=["bob"])
    check_eq(alice.call("friend.list")[0]["groups"], [], "groups after remove")
    alice.call("friend.group.delete", name="office")
    check_eq(alice.call("friend.group.list"), [], "no friend groups left")

    # Refusal, crossing requests, deletion.
    carol.call("friend.request", userId="alice")
    alice.call("friend.respond", userId="carol", accept=False)
    e = carol.wait_event("friend.refused")
    check_eq(e["data"], {"userId": "alice"}, "friend.refused")
    carol.call("friend.request", userId="dave")
    check_eq(dave.call("friend.request", userId="carol"),
             {"status": "FRIENDS"}, "crossing requests make friends")
    carol.wait_event("friend.added", lambda d: d["userId"] == "dave")
    r = carol.call("friend.delete", userIds=["dave", "alice"])
    check_eq(r["removed"], ["dave"], "removed friends")
    dave.wait_event("friend.deleted", lambda d: d["userId"] == "carol")
    check_eq(dave.call("friend.list"), [], "dave's friends after delete")


# ------------------------------------------------------------ blacklist

def test_blacklist_enforcement(env):
    srv = env.server()
    bob, carol = (connect(env, srv, u) for u in ("bob", "carol"))
    bob.call("blacklist.add", userIds=["carol"])
    e = bob.wait_event("blacklist.changed")
    check_eq(e["data"], {"userIds": ["carol"], "blocked": True},
             "blacklist.changed")
    check_eq(bob.call("blacklist.list"), ["carol"], "blacklist.list")
    refused(bob, 400, "yourself", "blacklist.add", userIds=["bob"])

    # carol can neither message nor friend-request bob.
    check_eq(carol.refused(403, "chat.send", toId="bob", content="hey"),
             "blocked", "message to the blocker")
    check_eq(carol.refused(403, "friend.request", userId="bob"), "blocked",
             "friend request to the blocker")
    check_eq(bob.call("friend.check", userIds=["carol"])[0]["relation"],
             "BLOCKED", "relation")
    # bob still reaches carol; nothing of carol's reached bob.
    m = bob.call("chat.send", toId="carol", content="I can")
    carol.wait_message(QUEUE_MESSAGES, lambda x: x["id"] == m["id"],
                       "bob's message to carol")
    check_eq(bob.messages_on(QUEUE_MESSAGES), [], "bob received nothing")
    check_eq(bob.events("friend.request"), [], "no friend.request for bob")

    bob.call("blacklist.remove", userIds=["carol"])
    bob.wait_event("blacklist.changed", lambda d: not d["blocked"])
    check_eq(bob.call("blacklist.list"), [], "empty blacklist")
    m = carol.call("chat.send", toId="bob", content="thanks")
    bob.wait_message(QUEUE_MESSAGES, lambda x: x["id"] == m["id"],
                     "carol's message after unblock")


# ------------------------------------------------ profiles, conversations

def test_profiles_and_conversation_settings(env):
    srv = env.server()
    alice = connect(env, srv, "alice")
    alice2 = connect(env, srv, "alice")
    bob, carol = (connect(env, srv, u) for u in ("bob", "carol"))
    alice.call("friend.request", userId="bob")
    bob.call("friend.respond", userId="alice", accept=True)

    empty = carol.call("profile.get", userIds=["alice"])[0]
    check_eq(empty, {"userId": "alice", "nickname": "", "avatar": "",
                     "signature": "", "gender": "UNKNOWN", "birthday": "",
                     "custom": {}}, "a profile never set")
    p = alice.call("profile.set", nickname="Alice", signature="hi",
                   gender="FEMALE", birthday="1990-02-03",
                   custom={"lang": "zh"})
    check_eq((p["nickname"], p["gender"], p["birthday"], p["custom"]),
             ("Alice", "FEMALE", "1990-02-03", {"lang": "zh"}), "profile")
    for c in (bob, alice2):
        e = c.wait_event("profile.updated")
        check_eq(e["data"]["profile"], p, "profile.updated to %s" % c.user)
    p2 = alice.call("profile.set", avatar="https://x/a.png")
    check_eq((p2["nickname"], p2["avatar"]), ("Alice", "https://x/a.png"),
             "a partial set keeps the rest")
    check_eq(carol.call("profile.get", userIds=["alice", "bob"])[0], p2,
             "profile.get")
    refused(alice, 400, "nickname", "profile.set", nickname="n" * 65)
    refused(alice, 400, "birthday", "profile.set", birthday="1990-13-01")
    refused(alice, 400, "custom", "profile.set", custom=[1])
    refused(alice, 400, "gender", "profile.set", gender="X")
    # carol, no friend, got no profile.updated: her marker comes after it.
    m = alice.call("chat.send", toId="carol", content="marker")
    carol.wait_message(QUEUE_MESSAGES, lambda x: x["id"] == m["id"], "marker")
    check_eq(carol.events("profile.updated"), [], "carol's profile events")

    s = alice.call("conversation.set", peerId="bob", pinned=True,
                   draft="half a thought")
    check_eq(s, {"conversation": {"peerId": "bob"}, "pinned": True,
                 "muted": False, "draft": "half a thought"}, "settings")
    e = alice2.wait_event("conversation.updated")
    check_eq(e["data"], s, "conversation.updated to alice's other session")
    check(not alice.events("conversation.updated"),
          "not to the acting session")
    s2 = alice.call("conversation.set", groupId="g1", muted=True)
    s = alice.call("conversation.set", peerId="bob", pinned=False)
    check_eq(s["draft"], "half a thought", "unchanged fields kept")
    check_eq(alice2.call("conversation.list"), [s, s2], "conversation.list")
    check_eq(bob.call("conversation.list"), [], "settings are per user")


# ------------------------------------------------------------ validation

def test_fields_are_validated(env):
    srv = env.server()
    alice = connect(env, srv, "alice")
    refused(alice, 400, "name is required", "group.create")
    refused(alice, 400, "name: at most 64", "group.create", name="x" * 65)
    alice.call("group.create", name="名" * 64, groupId="g64")
    refused(alice, 400, "notice: at most 1024", "group.create", name="n",
            notice="x" * 1025)
    refused(alice, 400, "control", "group.create", name="a\nb")
    refused(alice, 400, "members: at most 500", "group.create", name="n",
            members=["u%d" % i for i in range(501)])
    refused(alice, 400, "members[1]", "group.create", name="n",
            members=["ok", "bad id"])
    refused(alice, 400, "joinPolicy must be one of", "group.create",
            name="n", joinPolicy="OPEN")
    refused(alice, 400, "groupId", "group.create", name="n", groupId="x/y")
    refused(alice, 400, "message: at most 256", "friend.request",
            userId="bob", message="m" * 257)
    refused(alice, 400, "accept must be true or false", "friend.respond",
            userId="bob", accept="yes")
    refused(alice, 400, "seconds", "group.mute", groupId="g64",
            userId="bob", seconds=-1)
    refused(alice, 400, "userIds must be a non-empty array",
            "blacklist.add", userIds=[])
    refused(alice, 400, "msgType must be one of", "chat.send", toId="bob",
            content="x", msgType="STICKER")
    refused(alice, 400, "chatType must be one of", "chat.send", toId="bob",
            content="x", chatType="ROOM")
    refused(alice, 400, "payload must be a JSON object", "chat.send",
            toId="bob", content="x", payload="str")
    refused(alice, 400, "mentions[1]", "chat.send", toId="bob", content="x",
            mentions=["@all", "not an id"])
    refused(alice, 404, "no such destination", "group.explode")
    refused(alice, 403, "appId", "group.list", appId="other_app")


# ------------------------------------------------- persistence, apps

def test_state_survives_restart_and_apps_stay_apart(env):
    srv = env.server()
    alice, bob = (connect(env, srv, u) for u in ("alice", "bob"))
    alice.call("group.create", name="Keep", groupId="keep", members=["bob"],
               joinPolicy="APPROVAL")
    alice.call("group.mute", groupId="keep", userId="bob", seconds=3600)
    alice.call("friend.request", userId="bob")
    bob.call("friend.respond", userId="alice", accept=True)
    alice.call("friend.remark", userId="bob", remark="B")
    alice.call("blacklist.add", userIds=["mallory"])
    alice.call("profile.set", nickname="Al")
    alice.call("conversation.set", groupId="keep", pinned=True)
    gm = group_send(alice, "keep", "kept")
    alice.call("chat.read", groupId="keep", messageId=gm["id"])
    head = alice.call("chat.sync", since=0)["seq"]

    srv.stop()
    srv = srv.restart()
    alice, bob = (connect(env, srv, u) for u in ("alice", "bob"))
    g = alice.call("group.info", groupId="keep")
    check_eq((g["memberCount"], g["joinPolicy"]), (2, "APPROVAL"),
             "group after restart")
    refused(bob, 403, "muted until", "chat.send", toId="keep",
            chatType="GROUP", content="still muted")
    check_eq([(f["userId"], f["remark"]) for f in alice.call("friend.list")],
             [("bob", "B")], "friends after restart")
    check_eq(alice.call("blacklist.list"), ["mallory"], "blacklist")
    check_eq(alice.call("profile.get", userIds=["alice"])[0]["nickname"],
             "Al", "profile")
    check_eq(alice.call("conversation.list")[0]["pinned"], True,
             "conversation settings")
    check_eq([m["id"] for m in alice.call(
        "chat.history", groupId="keep")["messages"]], [gm["id"]], "history")
    r = alice.call("chat.sync", since=0)
    check_eq(r["seq"], head, "the same changes after restart")
    check("conversation.read" in [e["type"] for e in alice.events()],
          "events replayed after restart")
    nxt = alice.call("chat.send", toId="bob", content="after")
    check(nxt["seq"] > head, "seq goes on after restart")

    # Another app with the same user ids sees none of it.
    other = connect(env, srv, "alice", app="other_app",
                    token=token_for_app(env, "other_app", "alice"))
    refused(other, 404, "no such group", "group.info", groupId="keep")
    check_eq(other.call("group.list"), [], "no groups in the other app")
    check_eq(other.call("friend.list"), [], "no friends in the other app")
    check_eq(other.call("blacklist.list"), [], "no blacklist")
    check_eq(other.call("profile.get", userIds=["alice"])[0]["nickname"], "",
             "no profile")
    check_eq(other.call("chat.sync", since=0)["count"], 0, "nothing to sync")
    other.call("group.create", name="Mine", groupId="keep")
    f = other.subscribe(TOPIC + "keep")
    check_eq(f.command, "RECEIPT", "own group of the same id")
    other2 = connect(env, srv, "bob", app="other_app",
                     token=token_for_app(env, "other_app", "bob"))
    f = other2.subscribe(TOPIC + "keep", check=False)
    check_eq(f.command, "ERROR", "bob is no member in the other app")


def test_old_database_is_migrated(env):
    """A schema-1 database (before this surface) keeps its messages."""
    db = env.path("old.db")
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE messages (app TEXT NOT NULL, id TEXT NOT NULL,
          seq INTEGER NOT NULL UNIQUE, from_id TEXT NOT NULL,
          to_id TEXT NOT NULL, chat_type TEXT NOT NULL,
          msg_type TEXT NOT NULL, content TEXT NOT NULL,
          status TEXT NOT NULL, created_at INTEGER NOT NULL,
          PRIMARY KEY (app, id));
        CREATE INDEX messages_from ON messages (app, from_id, seq);
        CREATE INDEX messages_to ON messages (app, to_id, seq);
        CREATE TABLE deliveries (app TEXT NOT NULL, user_id TEXT NOT NULL,
          msg_id TEXT NOT NULL, delivered INTEGER NOT NULL,
          seq INTEGER NOT NULL, PRIMARY KEY (app, user_id, msg_id));
        CREATE INDEX deliveries_pending ON deliveries
          (app, user_id, delivered, seq);
        INSERT INTO messages VALUES ('ak_demo_chat', 'old1', 7, 'alice',
          'bob', 'SINGLE', 'TEXT', 'from before', 'SENT', 1700000000000);
        INSERT INTO deliveries VALUES ('ak_demo_chat', 'bob', 'old1', 0, 7);
        INSERT INTO messages VALUES ('ak_demo_chat', 'old2', 6, 'alice',
          'g1', 'GROUP', 'TEXT', 'to a group', 'SENT', 1700000000000);
        INSERT INTO deliveries VALUES ('ak_demo_chat', 'bob', 'old2', 1, 6);
        PRAGMA user_version = 1;
    """)
    con.close()
    srv = env.server(db=db)
    bob = connect(env, srv, "bob")
    bob.call("chat.sync")
    got = bob.messages_on(QUEUE_MESSAGES)
    check_eq([(m["id"], m["content"], m["seq"]) for m in got],
             [("old1", "from before", 7)], "the old message")
    check("payload" not in got[0] and "editedAt" not in got[0],
          "no extras on an old message: %r" % got[0])
    m = bob.call("chat.send", toId="alice", content="new")
    check_eq(m["seq"], 8, "seq goes on from the old database")
    con = sqlite3.connect(db)
    check_eq(con.execute("PRAGMA user_version").fetchone()[0], 3,
             "schema version")
    check_eq(con.execute("SELECT msg_id, grp FROM deliveries WHERE user_id ="
                         " 'bob' ORDER BY msg_id").fetchall(),
             [("old1", 0), ("old2", 1)], "group deliveries marked")
    con.close()


if __name__ == "__main__":
    run()
