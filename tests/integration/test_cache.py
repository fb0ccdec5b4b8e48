#!/usr/bin/python3
"""
The local cache through real daemons: delivery bookkeeping across a SIGKILL
under load, search of any length, everything that must answer offline,
unread counts and conversations, a schema-v1 database migrated in place,
and retention by count.
"""
import os
import re
import select
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (RpcError, TestFailure, check, check_eq,  # noqa: E402
                     expect_rpc_error, is_msg_event, run, wait_for)


def history_ids(gw, peer):
    return [m["id"] for m in gw.history_all(peer)]


def has_message(gw, peer, msg_id):
    return any(m["id"] == msg_id for m in gw.history(peer))


def check_unique(ids, what):
    seen, dups = set(), set()
    for i in ids:
        if i in seen:
            dups.add(i)
        seen.add(i)
    check(not dups, "%s: %d ids more than once, e.g. %r"
          % (what, len(dups), sorted(dups)[:5]))


def search_all(gw, text, limit, **filters):
    """Follow message.search cursors to the end; (ids, pages)."""
    ids, pages, cursor = [], 0, None
    while True:
        args = dict(filters, text=text, limit=limit)
        if cursor is not None:
            args["cursor"] = cursor
        r = gw.call("message.search", **args)
        pages += 1
        check(len(r["results"]) <= limit, "page of %d results with limit %d"
              % (len(r["results"]), limit))
        ids += [h["message"]["id"] for h in r["results"]]
        cursor = r["cursor"]
        if cursor is None:
            return ids, pages
        check(pages < 1000, "search %r does not end" % text)


def search_ids(gw, text, **filters):
    r = gw.call("message.search", text=text, limit=500, **filters)
    check(r["cursor"] is None, "one page is all for %r: %r" % (text, r["cursor"]))
    return [h["message"]["id"] for h in r["results"]]


def sqlite(path, sql):
    r = subprocess.run(["sqlite3", path], input=sql, capture_output=True,
                       text=True, timeout=20)
    check_eq(r.returncode, 0, "sqlite3 exit status (stderr %r)" % r.stderr)
    return r.stdout


# ------------------------------------------------------------------ kill -9

class Pipe:
    """message.send requests pipelined on one raw connection, a window at a time."""

    def __init__(self, gw, peer, prefix, window=64):
        self.conn = gw.rpc()
        self.peer = peer
        self.prefix = prefix
        self.window = window
        self.outstanding = {}	# msgid -> index
        self.acked = {}		# index -> message id (answered by the daemon)
        self.next = 0

    def text(self, i):
        return "%s-%04d 并发消息 %d" % (self.prefix, i, i)

    def fill(self, todo):
        """Write requests until the window is full; todo is a list of indexes."""
        while todo and len(self.outstanding) < self.window:
            i = todo.pop(0)
            m = self.conn.request("message.send",
                                  [{"user": self.peer, "text": self.text(i)}])
            self.outstanding[m] = i

    def take(self):
        """Read what has arrived; record answers."""
        if not self.conn.pump(0.001):
            raise TestFailure("%s's daemon closed the connection" % self.prefix)
        for m in [m for m in self.outstanding if m in self.conn.responses]:
            err, res = self.conn.responses.pop(m)
            i = self.outstanding.pop(m)
            check(err is None, "%s message %d: error %r" % (self.prefix, i, err))
            check_eq(res["status"], "SENDING", "status answered to a send")
            self.acked[i] = res["id"]


def settled(gw, peer):
    """Outbox empty and every own message in the conversation SENT."""
    if gw.call("db.stats")["outbox"] != 0:
        return False
    mine = [m for m in gw.history_all(peer) if m["from"] == gw.user]
    return all(m["status"] == "SENT" for m in mine)


def test_kill9_while_sending_and_receiving_1000_each(env):
    n, kill_after = 1000, 300
    srv, alice, bob = env.pair()
    t0 = time.monotonic()
    a, b = Pipe(alice, "bob", "A"), Pipe(bob, "alice", "B")
    a_todo, b_todo = list(range(n)), list(range(n))

    # Both directions at once until alice has acknowledged kill_after sends.
    while len(a.acked) < kill_after:
        a.fill(a_todo)
        b.fill(b_todo)
        r, _, _ = select.select([a.conn.sock, b.conn.sock], [], [], 5)
        check(r, "no answers from either daemon for 5s")
        if a.conn.sock in r:
            a.take()
        if b.conn.sock in r:
            b.take()
    alice.kill()
    killed_at = (len(a.acked), len(b.acked))
    # Requests written but not answered may or may not have been queued:
    # the client sends them again, as new messages (they have no id yet).
    a_todo = sorted(a.outstanding.values()) + a_todo
    a.conn.close()

    # Bob goes on sending while alice is down and while she restarts.
    alice.spawn()
    a_up = False
    while b_todo or b.outstanding or not a_up:
        if not a_up and os.path.exists(alice.sock):
            try:
                alice.wait_ready(timeout=0.5)
                a_up = True
            except TestFailure:
                pass
        b.fill(b_todo)
        r, _, _ = select.select([b.conn.sock], [], [], 0.05)
        if r:
            b.take()
        check(time.monotonic() - t0 < 60, "bob's sends did not finish")
    check_eq(len(b.acked), n, "bob's sends answered")

    a2 = Pipe(alice, "bob", "A")
    a2.acked = a.acked
    while a_todo or a2.outstanding:
        a2.fill(a_todo)
        r, _, _ = select.select([a2.conn.sock], [], [], 5)
        check(r, "no answers from alice's restarted daemon for 5s")
        a2.take()
    a_ids = dict(a2.acked)
    check_eq(sorted(a_ids), list(range(n)), "alice's sends answered")

    # Settle: both outboxes empty, everything SENT, everything delivered.
    wait_for(lambda: settled(alice, "bob"), "alice's outbox to drain",
             timeout=20)
    wait_for(lambda: settled(bob, "alice"), "bob's outbox to drain",
             timeout=20)
    want_at_bob = set(a_ids.values())
    want_at_alice = set(b.acked.values())
    wait_for(lambda: want_at_bob <= set(history_ids(bob, "alice")),
             "bob to have every message alice got an id for", timeout=20)
    wait_for(lambda: want_at_alice <= set(history_ids(alice, "bob")),
             "alice to have every message bob sent", timeout=20)

    a_hist = alice.history_all("bob")
    b_hist = bob.history_all("alice")
    a_list = [m["id"] for m in a_hist]
    b_list = [m["id"] for m in b_hist]
    check_unique(a_list, "alice's conversation with bob")
    check_unique(b_list, "bob's conversation with alice")
    # Both sides hold the same messages: alice's own (including any that
    # were queued just before the kill without an answer) and bob's.
    check_eq(sorted(set(a_list) - set(b_list)), [],
             "in alice's history but not bob's")
    check_eq(sorted(set(b_list) - set(a_list)), [],
             "in bob's history but not alice's")
    from_bob_at_alice = [m["id"] for m in a_hist if m["from"] == "bob"]
    check_eq(len(from_bob_at_alice), n, "bob's messages in alice's history")
    check_eq(set(from_bob_at_alice), want_at_alice,
             "bob's messages in alice's history are the ones he sent")
    from_alice_at_bob = [m for m in b_hist if m["from"] == "alice"]
    check(want_at_bob <= {m["id"] for m in from_alice_at_bob},
          "every answered send of alice reached bob")
    extra = len(from_alice_at_bob) - n
    check(0 <= extra <= a.window,
          "alice's messages at bob: %d for %d answered sends"
          % (len(from_alice_at_bob), n))
    # Every text arrived, and only texts that were sent.
    texts = {m["content"] for m in from_alice_at_bob}
    check_eq(texts, {a.text(i) for i in range(n)}, "texts of alice's messages")
    check(all(m["status"] == "SENT" for m in a_hist + b_hist),
          "every message SENT: %r" % sorted({m["status"]
                                            for m in a_hist + b_hist}))
    check_eq(alice.call("db.check"), {"ok": True}, "alice's db.check")
    dt = time.monotonic() - t0
    queued = re.findall(r"sent (\d+) queued messages", alice.log())
    resends = srv.log().count("resend of ")
    print("    # killed after %d/%d answered sends; %s queued at restart, %d "
          "resends the server recognised; %d sent twice for lack of an "
          "answer; %.1fs" % (killed_at[0], killed_at[1],
                             "+".join(queued) or "none", resends, extra, dt))
    check(dt < 30, "the scenario took %.1fs (budget 30s)" % dt)


# ------------------------------------------------------------------ search

def test_search_through_rpc_and_cli(env):
    srv, alice, bob = env.pair()
    texts = {
        "t1": "今天天气很好",
        "t2": "北京欢迎你",
        "t3": "Hello世界，你好",
        "t4": "明天见",
        "t5": "天",
        "t6": "他说 \"北京\" 很大",
    }
    ids = {}
    for k in sorted(texts):
        ids[k] = alice.call("message.send", user="bob", text=texts[k])["id"]
    wait_for(lambda: all(has_message(bob, "alice", i) for i in ids.values()),
             "bob to receive the messages")
    mine = bob.call("message.send", user="alice", text="我也在北京")["id"]
    wait_for(lambda: settled(bob, "alice"), "bob's message to be SENT")
    i = ids

    # Hits come newest first: the conversation's order reversed (messages
    # of the same millisecond keep the order history gives them).
    newest_first = [m["id"] for m in reversed(bob.history_all("alice"))]

    def hits(*want):
        return [x for x in newest_first if x in want]

    check_eq(search_ids(bob, "天"), hits(i["t5"], i["t4"], i["t1"]), "search 天")
    check_eq(search_ids(bob, "北京"), hits(mine, i["t6"], i["t2"]),
             "search 北京")
    check_eq(search_ids(bob, "天气很"), [i["t1"]], "search 天气很")
    check_eq(search_ids(bob, "北京欢迎"), [i["t2"]], "search 北京欢迎")
    check_eq(search_ids(bob, "o世"), [i["t3"]], "search o世")
    check_eq(search_ids(bob, "HELLO世界"), [i["t3"]], "search HELLO世界")
    check_eq(search_ids(bob, "\"北京\""), [i["t6"]], "search with quotes")
    check_eq(search_ids(bob, "北京", sender="alice"), hits(i["t6"], i["t2"]),
             "search 北京 from alice")
    check_eq(search_ids(bob, "北京", user="alice", sender="bob"), [mine],
             "search 北京 from bob in the conversation with alice")
    check_eq(search_ids(bob, "北京", user="carol"), [],
             "search 北京 with carol")
    t = {m["id"]: m["createdAt"] for m in bob.history_all("alice")}
    lo, hi = t[i["t4"]], t[i["t5"]]
    check_eq(search_ids(bob, "天", **{"from": lo, "to": hi}),
             [x for x in hits(i["t5"], i["t4"], i["t1"]) if lo <= t[x] <= hi],
             "search 天 from t4's time to t5's, inclusive")
    check_eq(search_ids(bob, "天", **{"from": hi + 1}), [],
             "search 天 after t5's time")
    for q in ("不存在", "雨", "zz"):
        r = bob.call("message.search", text=q)
        check_eq((r["results"], r["cursor"]), ([], None), "search %r" % q)
    # The indexes follow in idle turns (DESIGN): once they hold every
    # message, the same searches answer the same.
    wait_for(lambda: bob.call("db.stats")["unindexed"] == 0,
             "the search indexes to catch up")
    check_eq(search_ids(bob, "天"), hits(i["t5"], i["t4"], i["t1"]),
             "search 天, indexed")
    check_eq(search_ids(bob, "北京"), hits(mine, i["t6"], i["t2"]),
             "search 北京, indexed")
    check_eq(search_ids(bob, "HELLO世界"), [i["t3"]],
             "search HELLO世界, indexed")
    hit = bob.call("message.search", text="欢迎")["results"]
    check_eq(len(hit), 1, "hits for 欢迎")
    check_eq(hit[0]["snippet"], "北京«欢迎»你", "snippet for 欢迎")
    check_eq(hit[0]["message"]["content"], texts["t2"], "message of the hit")
    expect_rpc_error("bad_params", "search for blanks", bob.call,
                     "message.search", text="  ")
    expect_rpc_error("bad_params", "search with a bad cursor", bob.call,
                     "message.search", text="天", cursor="nonsense")

    # 25 more hits in one burst (ties on createdAt are likely): every hit
    # exactly once across pages, newest first, for 1, 2 and 3+ characters.
    conn = alice.rpc()
    reqs = [conn.request("message.send", [{"user": "bob",
                                          "text": "第%02d页 page" % k}])
            for k in range(25)]
    page_ids = []
    for r in reqs:
        err, res = conn.response(r)
        check(err is None, "send: %r" % (err,))
        page_ids.append(res["id"])
    wait_for(lambda: all(has_message(bob, "alice", x) for x in page_ids),
             "bob to receive the 25 messages")
    order = [m["id"] for m in bob.history_all("alice")]
    want = [x for x in reversed(order) if x in set(page_ids)]
    tens = set(page_ids[10:20])
    for q in ("页", "第1", "PAGE", "页 pa"):
        want_q = [x for x in want if x in tens] if q == "第1" else want
        for limit in (1, 7, 25, 100):
            got, pages = search_all(bob, q, limit)
            check_eq(got, want_q, "pages of %r with limit %d" % (q, limit))
            check(pages <= len(want_q) // limit + 1,
                  "%d pages for %d hits with limit %d"
                  % (pages, len(want_q), limit))

    # The CLI shows the match between the marks.
    r = bob.cli("search", "北京")
    check_eq(r.returncode, 0, "imgw search exit status (stderr %r)" % r.stderr)
    lines = r.stdout.splitlines()
    check_eq(len(lines), 3, "lines of imgw search 北京: %r" % r.stdout)
    check("«北京»欢迎你" in r.stdout, "imgw search marks the match: %r" % r.stdout)
    check(i["t2"] in r.stdout, "imgw search shows the id: %r" % r.stdout)
    r = bob.cli("search", "天", "--user", "alice", "--limit", "2")
    check_eq(r.returncode, 0, "imgw search --limit exit status (stderr %r)"
             % r.stderr)
    check("«天»" in r.stdout and "more" in r.stdout,
          "imgw search --limit 2 shows two hits and more: %r" % r.stdout)
    r = bob.cli("search", "不存在")
    check_eq((r.returncode, r.stdout), (0, ""), "imgw search with no match")


# ------------------------------------------------------------------ offline

def test_offline_everything_answers(env):
    srv, alice, bob = env.pair()
    bob_ev = bob.rpc()
    bob_ev.subscribe()
    first = alice.call("message.send", user="bob", text="离线之前的北京")["id"]
    bob_ev.wait_event(is_msg_event("message.new", first), "bob's first message")
    wait_for(lambda: alice.call("db.stats")["outbox"] == 0,
             "alice's outbox to drain")

    check_eq(srv.stop(), 0, "imserver exit status after SIGTERM")
    alice.wait_state(lambda s: s["state"] != "online", "not online")

    check_eq([m["id"] for m in alice.history("bob")], [first], "history offline")
    conv = alice.call("conversation.list")
    check_eq([c["conversation"] for c in conv["conversations"]], [{"user": "bob"}],
             "conversation.list offline")
    check_eq(search_ids(alice, "北"), [first], "1-char search offline")
    check_eq(search_ids(alice, "北京"), [first], "2-char search offline")
    check_eq(search_ids(alice, "离线之"), [first], "3-char search offline")
    st = alice.call("db.stats")
    check_eq((st["messages"], st["outbox"]), (1, 0), "db.stats offline")
    check(st["schema"] >= 2, "db.stats schema offline: %r" % st)
    check_eq(alice.call("db.check"), {"ok": True}, "db.check offline")
    check_eq(alice.call("conversation.get", user="bob")["conversation"],
             {"user": "bob"}, "conversation.get offline")
    expect_rpc_error("offline", "revoke offline", alice.call,
                     "message.revoke", id=first)

    texts = ["排队一", "排队二（取消）", "排队三"]
    queued = []
    for t in texts:
        r = alice.call("message.send", user="bob", text=t)
        check_eq(r["status"], "SENDING", "status of a message sent offline")
        queued.append(r["id"])
    check_eq(alice.call("db.stats")["outbox"], 3, "outbox with 3 queued")
    r = alice.call("message.cancel", id=queued[1])
    check_eq(r, {"id": queued[1], "status": "CANCELLED"}, "message.cancel")
    expect_rpc_error("not_found", "message.get of the cancelled message",
                     alice.call, "message.get", id=queued[1])
    expect_rpc_error("not_found", "cancelling it twice", alice.call,
                     "message.cancel", id=queued[1])
    expect_rpc_error("conflict", "cancelling a SENT message", alice.call,
                     "message.cancel", id=first)
    expect_rpc_error("conflict", "deleting a queued message", alice.call,
                     "message.delete", id=queued[0])
    check_eq(alice.call("db.stats")["outbox"], 2, "outbox after the cancel")
    check_eq([(m["id"], m["status"]) for m in alice.history("bob")],
             [(first, "SENT"), (queued[0], "SENDING"), (queued[2], "SENDING")],
             "alice's history after the cancel")
    check_eq(search_ids(alice, "取消"), [], "the cancelled text is not found")
    check_eq(search_ids(alice, "排队"), [queued[2], queued[0]],
             "queued messages are found")

    srv2 = srv.restart()
    alice.wait_online(timeout=20)
    for q in (queued[0], queued[2]):
        bob_ev.wait_event(is_msg_event("message.new", q),
                          "bob's message.new for %s" % q, timeout=20)
    wait_for(lambda: settled(alice, "bob"), "alice's outbox to drain",
             timeout=20)
    bob.wait_online(timeout=20)
    marker = alice.call("message.send", user="bob", text="标记")["id"]
    bob_ev.wait_event(is_msg_event("message.new", marker), "bob's marker",
                      timeout=20)
    got = [m["id"] for m in bob.history("alice")]
    check_eq(got, [first, queued[0], queued[2], marker],
             "bob's history: each delivered once, the cancelled never")
    check_eq(len(bob_ev.find_events(lambda e: e.get("type") == "message.new")),
             4, "message.new events at bob")
    check(not any("排队二" in (m.get("content") or "")
                  for m in bob.history("alice")),
          "the cancelled text never reached bob")
    check(queued[1] not in srv.log() + srv2.log(),
          "the server never saw the cancelled id")


# ------------------------------------------------------------------ unread

def unread_of(gw, peer):
    """A conversation's unread count; -1 before it exists."""
    try:
        return gw.call("conversation.get", user=peer)["unread"]
    except RpcError as e:
        if e.code == "not_found":
            return -1
        raise


def changes(ev, since, what):
    """
    The conversation.changed and then unread.changed events an action made
    after event since: (the newer seq, the conversation, the total).
    """
    c = ev.wait_event(lambda e: e["type"] == "conversation.changed" and
                      e["seq"] > since, "conversation.changed after " + what)
    u = ev.wait_event(lambda e: e["type"] == "unread.changed" and
                      e["seq"] > c["seq"], "unread.changed after " + what)
    return u["seq"], c["conversation"], u["total"]


def test_unread_and_conversations_end_to_end(env):
    srv, alice, bob, carol = env.pair(users=("alice", "bob", "carol"))
    ev = bob.rpc()
    seq = ev.subscribe()

    a_ids = []
    for k in range(1, 4):
        a_ids.append(alice.call("message.send", user="bob",
                                text="未读 %d" % k)["id"])
        wait_for(lambda: unread_of(bob, "alice") == k,
                 "bob's unread count for alice to be %d" % k)
        check(has_message(bob, "alice", a_ids[-1]),
              "the message counted is in the history")
    check_eq(bob.call("conversation.unread"), {"total": 3}, "total unread")
    # Bob's own message does not count.
    own = bob.call("message.send", user="alice", text="我自己的")["id"]
    ev.wait_event(is_msg_event("message.status", own), "bob's own message SENT")
    check_eq(unread_of(bob, "alice"), 3, "unread after bob's own message")

    c_id = carol.call("message.send", user="bob", text="卡罗尔")["id"]
    wait_for(lambda: has_message(bob, "carol", c_id), "bob to have carol's message")
    lst = bob.call("conversation.list")
    check_eq([c["conversation"] for c in lst["conversations"]],
             [{"user": "carol"}, {"user": "alice"}], "order by last activity")
    check_eq(lst["unread"], 4, "conversation.list unread total")
    check_eq(lst["conversations"][0]["lastMessage"]["id"], c_id,
             "carol's last message")

    # Read: the count is reset; the events say so.
    r = bob.call("conversation.read", user="alice")
    check_eq((r["conversation"], r["unread"]), ({"user": "alice"}, 0),
             "conversation.read answer")
    seq, changed, total = changes(ev, seq, "read")
    check_eq((changed["conversation"], changed["unread"]),
             ({"user": "alice"}, 0), "conversation.changed after read")
    check_eq(total, 1, "unread.changed total after read")
    check_eq(bob.call("conversation.unread"), {"total": 1}, "total after read")

    # Pin: alice's conversation first though carol's is newer.
    r = bob.call("conversation.pin", user="alice")
    check_eq(r["pinned"], True, "conversation.pin answer")
    seq, changed, total = changes(ev, seq, "pin")
    check_eq((changed["conversation"], changed["pinned"]),
             ({"user": "alice"}, True), "conversation.changed after pin")
    lst = bob.call("conversation.list")
    check_eq([c["conversation"] for c in lst["conversations"]],
             [{"user": "alice"}, {"user": "carol"}], "pinned first")
    bob.call("conversation.pin", user="alice", pinned=False)
    seq, changed, total = changes(ev, seq, "unpin")
    check_eq(changed["pinned"], False, "conversation.changed after unpin")
    lst = bob.call("conversation.list")
    check_eq([c["conversation"] for c in lst["conversations"]],
             [{"user": "carol"}, {"user": "alice"}], "unpinned order")

    # Mute: carol's conversation leaves the total, still counts on its own.
    r = bob.call("conversation.mute", user="carol")
    check_eq((r["muted"], r["unread"]), (True, 1), "conversation.mute answer")
    seq, changed, total = changes(ev, seq, "mute")
    check_eq((changed["conversation"], changed["muted"]),
             ({"user": "carol"}, True), "conversation.changed after mute")
    check_eq(total, 0, "unread.changed total after mute")
    c2 = carol.call("message.send", user="bob", text="静音中")["id"]
    wait_for(lambda: has_message(bob, "carol", c2), "bob to have carol's 2nd")
    check_eq(unread_of(bob, "carol"), 2, "muted conversation's own count")
    check_eq(bob.call("conversation.unread"), {"total": 0}, "total while muted")
    check_eq(bob.call("conversation.list")["unread"], 0,
             "conversation.list total while muted")
    bob.call("conversation.mute", user="carol", muted=False)
    seq, changed, total = changes(ev, seq, "unmute")
    check_eq(total, 2, "unread.changed total after unmute")
    check_eq(bob.call("conversation.unread"), {"total": 2}, "total unmuted")

    # Read up to a message: the exact count of what is newer.
    more = [alice.call("message.send", user="bob", text="又一条 %d" % k)["id"]
            for k in range(3)]
    wait_for(lambda: has_message(bob, "alice", more[-1]),
             "bob to have alice's next 3")
    bob.call("conversation.read", user="carol", upto=c_id)
    check_eq(unread_of(bob, "carol"), 1, "carol's unread after read upto")
    expect_rpc_error("not_found", "read upto an unknown message", bob.call,
                     "conversation.read", user="carol", upto="no-such-id")

    # After reading everything, new messages count again.
    check_eq(unread_of(bob, "alice"), 3,
             "alice's messages after bob read the conversation count as unread")


# ------------------------------------------------------------------ schema

V1_SCHEMA = """
CREATE TABLE kv(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE messages(
  id TEXT PRIMARY KEY, conv TEXT NOT NULL, from_id TEXT NOT NULL,
  to_id TEXT NOT NULL, msg_type TEXT NOT NULL, content TEXT NOT NULL,
  status TEXT NOT NULL, created_at INTEGER NOT NULL,
  seq INTEGER NOT NULL DEFAULT 0);
CREATE INDEX messages_conv ON messages(conv, created_at);
CREATE TABLE outbox(pos INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE, dest TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT,
  type TEXT NOT NULL, body TEXT NOT NULL, created_at INTEGER NOT NULL);
PRAGMA user_version = 1;
"""


def test_migration_from_v1_database(env):
    srv = env.server()
    alice = env.gateway("alice", srv)
    alice.wait_online()
    bob = env.gateway("bob", srv, start=False)
    now = int(time.time() * 1000) - 3600 * 1000
    sqlite(bob.db, V1_SCHEMA + """
INSERT INTO kv VALUES ('self', 'bob');
INSERT INTO messages VALUES
 ('v1-old-1', 'u:alice', 'alice', 'bob', 'TEXT', '今天天气很好', 'SENT', %d, 0),
 ('v1-old-2', 'u:alice', 'bob', 'alice', 'TEXT', '我在北京 hello', 'SENT', %d, 0),
 ('v1-old-3', 'u:alice', 'alice', 'bob', 'TEXT', '明天见', 'SENT', %d, 0),
 ('v1-old-4', 'u:carol', 'carol', 'bob', 'TEXT', '天下', 'SENT', %d, 0);
""" % (now, now + 1000, now + 2000, now + 1500))
    check_eq(sqlite(bob.db, "PRAGMA user_version;").strip(), "1",
             "user_version of the hand-made database")
    bob.start()
    bob.wait_online()

    old = ["v1-old-1", "v1-old-2", "v1-old-3"]
    check_eq([m["id"] for m in bob.history("alice")], old, "history of old rows")
    check_eq(bob.history("alice")[0]["content"], "今天天气很好", "old content")
    # Search answers in cache order (RPC.md), the latest stored first.
    check_eq(search_ids(bob, "天"), ["v1-old-4", "v1-old-3", "v1-old-1"],
             "1-char search of old rows")
    check_eq(search_ids(bob, "北京"), ["v1-old-2"], "2-char search of old rows")
    check_eq(search_ids(bob, "天气很"), ["v1-old-1"], "3-char search of old rows")
    check_eq(search_ids(bob, "HELLO"), ["v1-old-2"], "ASCII search of old rows")
    st = bob.call("db.stats")
    check_eq((st["messages"], st["conversations"]), (4, 2),
             "db.stats after migration")
    # Schema 2 brought search and conversations; a later one may follow.
    check(isinstance(st["schema"], int) and st["schema"] >= 2,
          "db.stats schema after migration: %r" % st["schema"])
    lst = bob.call("conversation.list")
    check_eq({c["conversation"]["user"]: c["lastMessage"]["id"]
              for c in lst["conversations"]},
             {"alice": "v1-old-3", "carol": "v1-old-4"},
             "conversations of old rows")
    check_eq(bob.call("db.check"), {"ok": True}, "db.check after migration")

    # New messages join the old ones.
    new = alice.call("message.send", user="bob", text="迁移之后的天")["id"]
    wait_for(lambda: has_message(bob, "alice", new), "bob to receive a new one")
    check_eq([m["id"] for m in bob.history("alice")], old + [new],
             "history after a new message")
    check_eq(search_ids(bob, "天")[0], new, "1-char search finds the new one")
    bob.stop()
    check_eq(sqlite(bob.db, "PRAGMA user_version;").strip(), str(st["schema"]),
             "user_version of the file after the migration")


# ------------------------------------------------------------------ retention

def test_retention_by_count(env):
    srv, alice, bob = env.pair()
    ids = []
    for k in range(10):
        ids.append(alice.call("message.send", user="bob",
                              text="保留测试 %d" % k)["id"])
    wait_for(lambda: all(has_message(bob, "alice", x) for x in ids),
             "bob to have the 10 messages")
    wait_for(lambda: settled(alice, "bob"), "alice's outbox to drain")
    check_eq(len(bob.history("alice")), 10, "bob's history before retention")

    bob.stop()
    base_argv = bob.argv
    bob.argv = lambda: base_argv() + ["--retain-count", "5"]
    bob.start()
    wait_for(lambda: len(bob.history("alice")) == 5,
             "bob's history to shrink to 5")
    check_eq([m["id"] for m in bob.history("alice")], ids[5:],
             "bob keeps the newest 5")
    check_eq(search_ids(bob, "保留测试"), list(reversed(ids[5:])),
             "search finds only the kept messages")
    check_eq(search_ids(bob, "保"), list(reversed(ids[5:])),
             "1-char search finds only the kept messages")
    check_eq(bob.call("db.stats")["messages"], 5, "db.stats messages")
    check_eq(bob.call("conversation.get", user="alice")["lastMessage"]["id"],
             ids[-1], "last message after retention")
    check_eq(bob.call("db.check"), {"ok": True}, "db.check after retention")
    # The sync after the restart does not bring the forgotten ones back.
    bob.wait_online()
    marker = alice.call("message.send", user="bob", text="标记")["id"]
    wait_for(lambda: has_message(bob, "alice", marker), "bob's marker")
    check_eq([m["id"] for m in bob.history("alice")], ids[5:] + [marker],
             "bob's history after the marker")
    # Alice's daemon keeps everything.
    check_eq([m["id"] for m in alice.history("bob")], ids + [marker],
             "alice's history")


if __name__ == "__main__":
    run()
