#!/usr/bin/python3
"""
imserver alone, frame by frame, in its two profiles (UPSTREAM.md "Session",
"Decisions of the reference server"): the full server advertises its
extensions in CONNECTED; `imserver --seed-only` behaves as the vendor's
Spring server with the simple broker (no RECEIPT but DISCONNECT's, no
replies, no events, no seq, unserved destinations dropped, any topic
subscribed, one-to-one messages echoed to the sender only with
--seed-echo); `imserver group` makes groups out of band.

The seed-only clients speak the seed's frames byte for byte: no WebSocket
subprotocol offered, the token in the URL and in CONNECT, no content-length,
compact JSON bodies in the seed's key order. That something does NOT arrive
is shown with a marker: a message from a session to its own user, which the
server queues on that session's ordered stream after everything it did for
the session's earlier frames (and for frames of others it had processed).
"""
import itertools
import json
import os
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import IMSERVER, check, check_eq, run  # noqa: E402
from stomp_client import (APP, QUEUE_EVENTS, QUEUE_MESSAGES,  # noqa: E402
                          QUEUE_REPLIES, StompClient)

EXTENSIONS = ("replies,events,seq,group,friend,conversation,blacklist,"
              "profile,chat.edit,chat.read,chat.history,sync.next")
SEED_FIELDS = ["id", "fromId", "toId", "chatType", "msgType", "content",
               "status", "createdAt"]
TOPIC = "/topic/group/"
MARK = "mark"		# the content of marker messages
BIG = "x" * 60000	# content of a message that fills socket buffers fast
STUCK = 110		# big messages: more than the kernel holds (4 MiB send
			# buffer at most), less than a session's queue (8 MiB)

_ids = itertools.count(1)


# ---------------------------------------------------------------- helpers

def seed_server(env, *args, db="seed.db"):
    """imserver --seed-only with more args, on its own database."""
    return env.server(db=env.path(db), args=["--seed-only"] + list(args))


def session(env, srv, user, seed=True):
    """A session of user. A seed one speaks the seed's frames exactly; it
    is subscribed to nothing yet."""
    if seed:
        c = StompClient(srv.port, env.token(user), subprotocol=None,
                        query_token=True, content_length=False)
    else:
        c = StompClient(srv.port, env.token(user))
    env.rpcs.append(c)	# closed by the harness's teardown
    return c


def subscribe(c, dest, **headers):
    """SUBSCRIBE as the seed does (id, then destination); no wait."""
    sid = "sub-%d" % next(_ids)
    c.send_frame("SUBSCRIBE", dict({"id": sid, "destination": dest},
                                   **headers))
    return sid


def send(c, action, body, headers=None, raw=None):
    """SEND /app/<action> as the seed does: destination, content-type, the
    body compact with appId first (raw: the body as given)."""
    h = dict({"destination": "/app/" + action,
              "content-type": "application/json"}, **(headers or {}))
    if raw is None:
        raw = json.dumps(dict({"appId": APP}, **body), separators=(",", ":"),
                         ensure_ascii=False)
    c.send_frame("SEND", h, raw)


def chat(c, to, content, mid=None, chat_type="SINGLE", headers=None):
    """chat.send in the seed's field order; returns the messageId."""
    mid = mid or "m-%d" % next(_ids)
    send(c, "chat.send", {"messageId": mid, "toId": to, "chatType": chat_type,
                          "msgType": "TEXT", "content": content}, headers)
    return mid


def mark(c):
    """Send c's user a marker from c and wait for it on c (c must be
    subscribed to its messages). Returns the marker's index in c.frames:
    what the server sent c before it is in c.frames[:index]."""
    mid = chat(c, c.user, MARK, "mark-%d" % next(_ids))
    f = c.wait_frame(lambda f: f.command == "ERROR" or
                     (f.command == "MESSAGE" and f.json()["id"] == mid),
                     "%s's marker %s" % (c.user, mid))
    check_eq(f.command, "MESSAGE", "%s's marker (ERROR %r)"
             % (c.user, f.headers))
    return c.frames.index(f)


def ready(c, *dests):
    """Subscribe c to its messages and dests; return once all are in place."""
    subscribe(c, QUEUE_MESSAGES)
    for d in dests:
        subscribe(c, d)
    mark(c)
    return c


def disconnect(c, start=0):
    """DISCONNECT with a receipt: wait for the RECEIPT (the server has let
    the session go: nothing more is delivered to it), then the close."""
    c.send_frame("DISCONNECT", {"receipt": "bye"})
    f = c.wait_frame(lambda f: f.command in ("RECEIPT", "ERROR"),
                     "RECEIPT for DISCONNECT", start=start)
    check_eq((f.command, f.headers), ("RECEIPT", {"receipt-id": "bye"}),
             "%s's DISCONNECT answer" % c.user)
    check(c.wait_closed(), "%s's session closed after DISCONNECT" % c.user)


def not_marks(frames):
    """The frames that are not markers."""
    return [f for f in frames if not (f.command == "MESSAGE" and
                                      f.json().get("content") == MARK)]


def bodies(c, dest, start=0, end=None):
    """The bodies of c's MESSAGEs on dest in c.frames[start:end], markers
    left out."""
    return [f.json() for f in not_marks(c.frames[start:end])
            if f.command == "MESSAGE" and f.headers["destination"] == dest]


def wait_body(c, dest, mid, status="SENT"):
    """Wait for message mid with status on dest at c; its body."""
    return c.wait_message(dest, lambda m: m["id"] == mid and
                          m["status"] == status,
                          "%s %s on %s at %s" % (mid, status, dest, c.user))


def check_seed_body(m, what):
    """A message body carries exactly the seed's fields, in its order."""
    check_eq(list(m), SEED_FIELDS, "fields of %s" % what)


def imserver_group(env, db, *args):
    """Run imserver group on db; (exit status, stdout, stderr)."""
    r = subprocess.run([IMSERVER, "group", "--db", db] + list(args),
                       capture_output=True, text=True, timeout=20,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout, r.stderr


# ---------------------------------------------------------------- tests

def test_connected_headers_in_both_profiles(env):
    full = env.server()
    check("imserver: profile full\n" in full.log(), "full profile logged")
    c = session(env, full, "alice", seed=False)
    f = c.frames[0]
    check_eq(f.command, "CONNECTED", "first frame")
    check_eq(sorted(f.headers), ["heart-beat", "im-extensions", "server",
                                 "user-name", "version"],
             "full CONNECTED headers")
    check_eq(f.headers["im-extensions"], EXTENSIONS, "im-extensions")
    check_eq(f.headers["user-name"], "alice", "user-name")

    seed = seed_server(env)
    check("imserver: profile seed-only (echo off, receipts off)\n" in
          seed.log(), "seed-only profile logged")
    c = session(env, seed, "alice")
    check_eq((c.frames[0].command, c.frames[0].headers),
             ("CONNECTED", {"version": "1.2", "heart-beat": "0,0",
                            "user-name": "alice"}),
             "seed-only CONNECTED, exactly")
    check("sec-websocket-protocol" not in c.handshake.lower(),
          "no subprotocol in the handshake answer: %r" % c.handshake)

    seed = seed_server(env, "--heartbeat", "5000,7000", "--seed-echo",
                       "--seed-receipts", db="seed2.db")
    check("imserver: profile seed-only (echo on, receipts on)\n" in
          seed.log(), "seed-only profile with both options logged")
    c = session(env, seed, "bob")
    check_eq(c.frames[0].headers, {"version": "1.2", "heart-beat": "5000,7000",
                                   "user-name": "bob"},
             "seed-only CONNECTED with --heartbeat")

    # STOMP-level errors stay: a bad token is ERROR Unauthorized, closed.
    c = StompClient(seed.port, env.token("bob"), connect=False,
                    subprotocol=None, content_length=False)
    env.rpcs.append(c)
    c.send_frame("CONNECT", {"accept-version": "1.2", "heart-beat": "0,0",
                             "host": "127.0.0.1",
                             "Authorization": "Bearer not.a-token"})
    e = c.wait_error()
    check_eq((e.headers.get("message"), e.body),
             ("Unauthorized", "Unauthorized"), "ERROR for a bad token")
    check(c.wait_closed(), "closed after Unauthorized")

    # The seed options need --seed-only.
    r = subprocess.run([IMSERVER, "--listen", "127.0.0.1:0", "--db",
                        env.path("x.db"), "--secret-file", env.secret,
                        "--seed-echo"], capture_output=True, text=True,
                       timeout=10, stdin=subprocess.DEVNULL)
    check_eq(r.returncode, 2, "--seed-echo alone: exit status")
    check("need --seed-only" in r.stderr, "why: %r" % r.stderr[:200])


def test_seed_no_receipt_but_disconnect(env):
    srv = seed_server(env)
    c = session(env, srv, "alice")
    subscribe(c, QUEUE_MESSAGES, receipt="r-sub")
    sid = subscribe(c, "/topic/anything", receipt="r-topic")
    c.send_frame("UNSUBSCRIBE", {"id": sid, "receipt": "r-unsub"})
    chat(c, "alice", "to myself", headers={"receipt": "r-send"})
    c.send_frame("ACK", {"id": "x", "receipt": "r-ack"})
    end = mark(c)
    check_eq([f for f in c.frames[:end] if f.command not in ("CONNECTED",
                                                            "MESSAGE")],
             [], "frames but CONNECTED and MESSAGE before the marker")
    check_eq([m["content"] for m in bodies(c, QUEUE_MESSAGES, 0, end)],
             ["to myself"], "the message to myself")
    disconnect(c, end)


def test_seed_receipts_option_answers_every_receipt(env):
    srv = seed_server(env, "--seed-receipts")
    c = session(env, srv, "alice")
    subscribe(c, QUEUE_MESSAGES, receipt="r-sub")
    sid = subscribe(c, "/topic/anything", receipt="r-topic")
    c.send_frame("UNSUBSCRIBE", {"id": sid, "receipt": "r-unsub"})
    chat(c, "alice", "to myself", headers={"receipt": "r-send"})
    end = mark(c)
    check_eq([f.headers["receipt-id"] for f in c.frames[:end]
              if f.command == "RECEIPT"], ["r-sub", "r-topic", "r-unsub",
                                           "r-send"],
             "RECEIPTs before the marker")
    check_seed_body(bodies(c, QUEUE_MESSAGES, 0, end)[0],
                    "a message with --seed-receipts")
    disconnect(c, end)


def test_seed_drops_what_it_does_not_serve(env):
    srv = seed_server(env)
    alice = ready(session(env, srv, "alice"), QUEUE_REPLIES, QUEUE_EVENTS)
    bob = ready(session(env, srv, "bob"))
    start = len(alice.frames)

    # The full surface, bad bodies and refusals: dropped, no ERROR, no reply.
    send(alice, "group.create", {"name": "x"}, {"request-id": "q1"})
    send(alice, "chat.edit", {"messageId": "m", "content": "x"},
         {"request-id": "q2"})
    send(alice, "friend.request", {"userId": "bob"})
    send(alice, "no.such.thing", {}, {"request-id": "q3"})
    send(alice, "chat.send", None, raw="not json")
    send(alice, "chat.send", None, raw="[1,2]")
    send(alice, "chat.send", None, raw='{"appId":"other_app","toId":"bob",'
         '"content":"wrong app"}')
    send(alice, "chat.send", {"content": "no toId"}, {"request-id": "q4"})
    send(alice, "chat.revoke", {"messageId": "nosuch"}, {"request-id": "q5"})
    send(alice, "chat.sync", {}, {"request-id": "q6"})
    # A request-id is ignored: the message goes, nothing answers.
    mid = chat(alice, "bob", "hello", headers={"request-id": "q7"})

    m = wait_body(bob, QUEUE_MESSAGES, mid)
    check_seed_body(m, "bob's message")
    check_eq((m["fromId"], m["toId"], m["chatType"], m["msgType"],
              m["content"]), ("alice", "bob", "SINGLE", "TEXT", "hello"),
             "bob's message")
    end = mark(alice)
    check_eq(not_marks(alice.frames[start:end]), [],
             "what alice got for her SENDs")
    check(not alice.closed, "alice's session is still up")
    check_eq([f for f in alice.frames + bob.frames
              if "request-id" in f.headers or
              f.headers.get("destination") in (QUEUE_REPLIES, QUEUE_EVENTS)],
             [], "frames with a request-id or on replies or events")
    log = srv.log()
    check("SEND to /app/no.such.thing dropped" in log and
          "SEND to /app/group.create dropped" in log,
          "the server logs the SENDs it dropped")


def test_seed_bodies_and_bare_sync(env):
    srv = seed_server(env)
    alice = ready(session(env, srv, "alice"))

    # bob is away: four messages, one of them revoked after the third.
    ids = [chat(alice, "bob", "one"), chat(alice, "bob", "two"),
           chat(alice, "bob", "three")]
    send(alice, "chat.revoke", {"messageId": ids[1]})
    ids.append(chat(alice, "bob", "four"))
    mark(alice)

    # A sync pushes what bob missed, oldest change first, since and limit
    # ignored; then nothing: no reply, no end marker.
    bob = ready(session(env, srv, "bob"))
    live = chat(alice, "bob", "live")
    wait_body(bob, QUEUE_MESSAGES, live)
    start = len(bob.frames)
    send(bob, "chat.sync", {"since": 0, "limit": 1})
    end = mark(bob)
    got = bodies(bob, QUEUE_MESSAGES, start, end)
    check_eq([(m["id"], m["status"], m["content"]) for m in got],
             [(ids[0], "SENT", "one"), (ids[2], "SENT", "three"),
              (ids[1], "REVOKED", ""), (ids[3], "SENT", "four")],
             "what the sync pushed")
    for m in got:
        check_seed_body(m, "synced %s" % m["id"])
    check_eq(len(not_marks(bob.frames[start:end])), len(got),
             "frames pushed by the sync")
    sub = [f.headers for f in bob.frames[start:end]
           if f.command == "MESSAGE"]
    check(all(h["destination"] == QUEUE_MESSAGES and h.get("message-id")
              and h.get("subscription") for h in sub),
          "MESSAGE headers of the sync: %r" % sub[:2])

    # Again: nothing left. A later miss is pushed by a bare sync.
    start = len(bob.frames)
    send(bob, "chat.sync", {})
    end = mark(bob)
    check_eq(not_marks(bob.frames[start:end]), [], "a second sync")
    disconnect(bob, end)
    later = chat(alice, "bob", "later")
    mark(alice)
    bob = ready(session(env, srv, "bob"))
    start = len(bob.frames)
    send(bob, "chat.sync", {})
    end = mark(bob)
    check_eq([m["id"] for m in bodies(bob, QUEUE_MESSAGES, start, end)],
             [later], "the bare sync of bob's new session")
    check_eq(len(not_marks(bob.frames[start:end])), 1,
             "frames pushed by the bare sync")


def test_seed_revoke_reaches_both_sides(env):
    srv = seed_server(env)
    a1 = ready(session(env, srv, "alice"))
    a2 = ready(session(env, srv, "alice"))
    bob = ready(session(env, srv, "bob"))
    mid = chat(a1, "bob", "oops")
    wait_body(bob, QUEUE_MESSAGES, mid)
    send(a1, "chat.revoke", {"messageId": mid})
    for c in (bob, a1, a2):
        m = wait_body(c, QUEUE_MESSAGES, mid, "REVOKED")
        check_seed_body(m, "the revoke at %s" % c.user)
        check_eq((m["fromId"], m["toId"], m["content"]), ("alice", "bob", ""),
                 "the revoke at %s" % c.user)
    # Without echo alice's sessions saw only the revoke of her message.
    for c in (a1, a2):
        check_eq([m["status"] for m in bodies(c, QUEUE_MESSAGES)
                  if m["id"] == mid], ["REVOKED"],
                 "alice's copies of %s" % mid)

    # bob may not revoke alice's message: dropped, nothing pushed.
    other = chat(a1, "bob", "mine")
    wait_body(bob, QUEUE_MESSAGES, other)
    start = len(bob.frames)
    send(bob, "chat.revoke", {"messageId": other})
    end = mark(bob)
    check_eq(not_marks(bob.frames[start:end]), [], "bob's refused revoke")
    end = mark(a1)
    check_eq([m for m in bodies(a1, QUEUE_MESSAGES, 0, end)
              if m["id"] == other], [], "alice after bob's refused revoke")


def test_seed_group_topics_for_anyone(env):
    srv = seed_server(env)
    rc, out, err = imserver_group(env, srv.db, "team", "alice", "bob",
                                  "dave")
    check_eq((rc, out), (0, "team\n"), "imserver group with a server running "
             "(stderr %r)" % err)
    t = TOPIC + "team"
    alice = ready(session(env, srv, "alice"), t)
    bob = ready(session(env, srv, "bob"), t)
    # carol is no member: her SUBSCRIBEs are accepted all the same.
    carol = ready(session(env, srv, "carol"), t, TOPIC + "nosuch")
    check(not [f for f in carol.frames if f.command == "ERROR"],
          "no ERROR for carol's subscriptions")

    g1 = chat(alice, "team", "hello team", chat_type="GROUP")
    for c in (alice, bob, carol):
        m = wait_body(c, t, g1)
        check_seed_body(m, "the group message at %s" % c.user)
        check_eq((m["fromId"], m["toId"], m["chatType"]),
                 ("alice", "team", "GROUP"), "group message at %s" % c.user)

    # carol may not post: dropped for everyone.
    g2 = chat(carol, "team", "intruder", chat_type="GROUP")
    mark(carol)
    for c in (alice, bob, carol):
        end = mark(c)
        check_eq([m["id"] for m in bodies(c, t, 0, end)], [g1],
                 "group messages at %s after carol's attempt" % c.user)

    # Once made a member out of band, she may.
    rc, out, err = imserver_group(env, srv.db, "team", "alice", "carol")
    check_eq((rc, out), (0, "team\n"), "adding carol (stderr %r)" % err)
    g3 = chat(carol, "team", "now a member", chat_type="GROUP")
    for c in (alice, bob, carol):
        wait_body(c, t, g3)

    # A revoke goes the same way, on the topic.
    send(alice, "chat.revoke", {"messageId": g1})
    for c in (alice, bob, carol):
        check_seed_body(wait_body(c, t, g1, "REVOKED"),
                        "the group revoke at %s" % c.user)

    # dave, a member who was away, gets the group's messages by a sync.
    dave = ready(session(env, srv, "dave"))
    start = len(dave.frames)
    send(dave, "chat.sync", {})
    end = mark(dave)
    check_eq([(m["id"], m["status"]) for m in
              bodies(dave, QUEUE_MESSAGES, start, end)],
             [(g3, "SENT"), (g1, "REVOKED")], "dave's sync")


def test_seed_echo_off_and_on(env):
    for echo in (False, True):
        srv = seed_server(env, *(["--seed-echo"] if echo else []),
                          db="echo-%s.db" % echo)
        a1 = ready(session(env, srv, "alice"))
        a2 = ready(session(env, srv, "alice"))
        bob = ready(session(env, srv, "bob"))
        mid = chat(a1, "bob", "echo %s" % echo)
        wait_body(bob, QUEUE_MESSAGES, mid)
        for c in (a1, a2):
            if echo:
                wait_body(c, QUEUE_MESSAGES, mid)
        # The same messageId again: stored once, delivered once.
        chat(a1, "bob", "echo %s" % echo, mid)
        mark(a1)
        for c in (a1, a2, bob):
            end = mark(c)
            n = 1 if echo or c is bob else 0
            check_eq([m["id"] for m in bodies(c, QUEUE_MESSAGES, 0, end)],
                     [mid] * n, "%s with echo %s" % (c.user, echo))


def test_imserver_group_subcommand(env):
    db = env.path("imserver.db")
    rc, out, err = imserver_group(env, db, "team", "alice", "bob", "carol")
    check_eq((rc, out), (0, "team\n"), "creating team (stderr %r)" % err)
    check_eq(err, "", "nothing on stderr")
    srv = env.server()
    alice = session(env, srv, "alice", seed=False)
    alice.subscribe_all()
    g = alice.call("group.info", groupId="team")
    check_eq((g["name"], g["ownerId"], g["memberCount"], g["joinPolicy"]),
             ("team", "alice", 3, "FREE"), "the group")

    # Again, while the server runs: members are added, the owner kept.
    rc, out, err = imserver_group(env, db, "team", "alice", "bob", "dave")
    check_eq((rc, out), (0, "team\n"), "adding dave (stderr %r)" % err)
    roles = {m["userId"]: m["role"] for m in
             alice.call("group.members", groupId="team")["members"]}
    check_eq(roles, {"alice": "OWNER", "bob": "MEMBER", "carol": "MEMBER",
                     "dave": "MEMBER"}, "members after adding dave")
    rc, out, err = imserver_group(env, db, "--app", "other_app", "team",
                                  "erin")
    check_eq((rc, out), (0, "team\n"), "team of another app")
    check_eq(alice.call("group.info", groupId="team")["memberCount"], 4,
             "the other app's team is another group")

    # Refusals: another owner (1), a dismissed id (1), bad usage (2).
    rc, out, err = imserver_group(env, db, "team", "bob")
    check_eq((rc, out), (1, ""), "team with another owner")
    check("its owner is alice" in err, "why: %r" % err)
    alice.call("group.create", name="Old", groupId="old")
    alice.call("group.dismiss", groupId="old")
    rc, out, err = imserver_group(env, db, "old", "alice")
    check_eq((rc, out), (1, ""), "a dismissed group's id")
    check("dismissed" in err, "why: %r" % err)
    for args in (["team"], ["bad id!", "alice"]):
        rc, out, err = imserver_group(env, db, *args)
        check_eq(rc, 2, "imserver group %r" % args)
    r = subprocess.run([IMSERVER, "group", "team", "alice"],
                       capture_output=True, text=True, timeout=10)
    check_eq(r.returncode, 2, "imserver group without --db")


def stall(env, srv, alice):
    """A bob that stops reading, with a small receive buffer, and STUCK
    big messages from alice to him: the server has stored and queued them
    all, the kernel holds some, its output queue the rest. Returns bob and
    the ids."""
    bob = ready(session(env, srv, "bob"))
    bob.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    ids = [chat(alice, "bob", "%d %s" % (i, BIG)) for i in range(STUCK)]
    mark(alice)
    return bob, ids


def test_seed_sigkill_pushes_again_what_was_not_written(env):
    srv = seed_server(env)
    alice = ready(session(env, srv, "alice"))
    bob, ids = stall(env, srv, alice)

    # Killed now: what the kernel took still reaches bob; the rest was
    # never written, so never delivered.
    srv.kill()
    check(bob.wait_closed(), "bob's session closed after the kill")
    old = [m["id"] for m in bodies(bob, QUEUE_MESSAGES)]
    check(0 < len(old) < STUCK, "the server died with pushes unwritten "
          "(bob had %d of %d)" % (len(old), STUCK))
    check_eq(old, ids[:len(old)], "what bob's first session got")

    # A seed sync after the restart pushes the rest, in order, once. It
    # paces itself by bob's queue: a marker could overtake its last rows.
    srv = srv.restart()
    bob = ready(session(env, srv, "bob"))
    start = len(bob.frames)
    send(bob, "chat.sync", {})
    wait_body(bob, QUEUE_MESSAGES, ids[-1])
    end = mark(bob)
    new = [m["id"] for m in bodies(bob, QUEUE_MESSAGES, start, end)]
    check(new and new[0] in ids[:len(old) + 1], "the sync starts where bob "
          "stopped or a little before (%d got, first pushed %s)"
          % (len(old), new[:1]))
    check_eq(new, ids[ids.index(new[0]):], "what the sync pushed")


def test_seed_sync_skips_what_its_session_has_queued(env):
    srv = seed_server(env)
    alice = ready(session(env, srv, "alice"))
    bob, ids = stall(env, srv, alice)

    # Not yet written, so not yet delivered: still, the sync of the same
    # session does not push them a second time.
    start = len(bob.frames)
    send(bob, "chat.sync", {})
    end = mark(bob)
    check_eq([m["id"] for m in bodies(bob, QUEUE_MESSAGES, start, end)], ids,
             "bob's messages, each once, then his sync's (none)")

    # Written now: a new session's sync has nothing to push.
    bob2 = ready(session(env, srv, "bob"))
    start = len(bob2.frames)
    send(bob2, "chat.sync", {})
    end = mark(bob2)
    check_eq(not_marks(bob2.frames[start:end]), [], "a second session's sync")


if __name__ == "__main__":
    run()
