#!/usr/bin/python3
"""
A message revoked while still in the outbox is never sent again (RPC.md,
"What SENT proves"). An upstream with replies (fake_server.py) reads
alice's SEND and answers nothing; alice revokes the message, the server
answers the revoke (with no message object) and hangs up: after the
reconnect the message must not go again, while a later message does.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fake_server import FakeServer, connected  # noqa: E402
from harness import check, check_eq, run, wait_for  # noqa: E402


def sends_of(srv):
    """The chat.send bodies received, over every connection, in order."""
    return [json.loads(f.body) for c in srv.connections for f in c.frames
            if f.command == "SEND" and
            f.headers.get("destination") == "/app/chat.send"]


def test_revoked_in_the_outbox_is_not_sent_again(env):
    def reply(conn, f, data=None):
        conn.send("MESSAGE", {
            "destination": "/user/queue/replies", "subscription": "sub-2",
            "message-id": "r", "request-id": f.headers["request-id"],
            "content-type": "application/json"},
            json.dumps({"code": 0, "message": "ok", "data": data}))

    def server(conn, f):
        dest = f.headers.get("destination")
        if f.command == "CONNECT":
            connected(conn, "alice", {"im-extensions": "replies"})
        elif f.command == "SEND" and dest == "/app/chat.sync":
            reply(conn, f)
        elif f.command == "SEND" and dest == "/app/chat.send":
            m = json.loads(f.body)
            if server.conns:        # after the reconnect: stored, answered
                reply(conn, f, {"id": m["messageId"], "createdAt": 2})
            else:                   # read, never answered
                server.conns.append(conn)
        elif f.command == "SEND" and dest == "/app/chat.revoke":
            reply(conn, f)
            conn.close()
    server.conns = []
    srv = FakeServer(server)
    try:
        gw = env.gateway("alice", srv)
        gw.wait_online()
        x = gw.call("message.send", user="bob", text="take this back")["id"]
        wait_for(lambda: server.conns, "the server to read the SEND")
        gw.call("message.revoke", id=x)
        wait_for(lambda: len(srv.connections) >= 2 and
                 gw.status()["state"] == "online", "a new session")
        y = gw.call("message.send", user="bob", text="a later one")["id"]
        wait_for(lambda: y in [m["messageId"] for m in sends_of(srv)],
                 "the later message to go out")
        ids = [m["messageId"] for m in sends_of(srv)]
        check_eq(ids.count(x), 1, "SENDs of the revoked message (%r)" % ids)
        wait_for(lambda: gw.call("db.stats")["outbox"] == 0,
                 "the outbox to drain (the later message proved read)")
    finally:
        srv.stop()


if __name__ == "__main__":
    run()
