"""The blocking client against a live imgwd."""
import inspect
import os
import subprocess
import threading
import time

import pytest

import harness
import imgw
from harness import wait_for


def test_installed_package_is_imported():
    where = os.environ.get("IMGW_EXPECT_PACKAGE_UNDER")
    if where:
        assert imgw.__file__.startswith(where), imgw.__file__


def test_calls_by_name_and_as_attributes(pair):
    srv, alice, bob = pair
    with imgw.connect(alice.sock, name="pytest") as c:
        assert c.call("rpc.ping") == "pong"
        assert c.rpc.ping() == "pong"
        sent = c.message.send(user="bob", text="你好 from an attribute")
        assert sent["status"] == "SENDING"
        other = c.call("message.send", user="bob", text="by name")
        wait_for(lambda: {sent["id"], other["id"]} <=
                 {m["id"] for m in bob.history("alice")}, "bob to get both")
        page = c.message.history(user="bob", limit=5)
        assert [m["id"] for m in page["messages"]][:2] == [other["id"], sent["id"]]
        # Three-part names and the whole surface are there.
        assert c.friend.group.list() is not None
        assert "send" in dir(c.message) and "group" in dir(c.friend)
        assert {"message", "friend", "batch"} <= set(dir(c))
        names = {m["name"] for m in c.describe()["methods"]}
        assert "pytest" in [x["name"] for x in c.client.list()["clients"]]
        for n in names:
            obj = c
            for part in n.split("."):
                obj = getattr(obj, part)
            assert callable(obj) and obj.__qualname__ == n


def test_docstrings_come_from_rpc_describe(pair):
    srv, alice, bob = pair
    with imgw.connect(alice.sock) as c:
        doc = c.message.send.__doc__
        assert doc.startswith("send a message (durably queued)")
        assert "user         id      exactly one of user, group" in doc
        assert "text         string  required" in doc
        sig = inspect.signature(c.message.send)
        assert sig.parameters["text"].default is inspect.Parameter.empty
        assert sig.parameters["user"].default is None
        assert "No arguments." in c.rpc.ping.__doc__
        with pytest.raises(TypeError, match="takes no argument txt"):
            c.message.send(user="bob", txt="typo")
        with pytest.raises(AttributeError):
            c.no_such_domain


def test_errors_are_exceptions_with_the_code(pair):
    srv, alice, bob = pair
    c = imgw.connect(alice.sock)
    for fn, code in ((lambda: c.message.get(id="nope"), "not_found"),
                     (lambda: c.call("no.such.method"), "no_such_method"),
                     (lambda: c.message.send(user="bob"), "bad_params"),
                     (lambda: c.message.send(user="bad id!", text="x"),
                      "bad_params")):
        with pytest.raises(imgw.ImgwError) as e:
            fn()
        assert e.value.code == code
        assert isinstance(e.value.message, str) and e.value.message
    bad = c.call_async("message.get", id="nope")
    assert bad.exception(10).code == "not_found"
    futs = [c.call_async("rpc.ping") for _ in range(1000)]
    assert [f.result(10) for f in futs] == ["pong"] * 1000
    c.close()
    with pytest.raises(imgw.ConnectionClosed) as e:
        c.rpc.ping()
    assert e.value.code == "io"
    with pytest.raises(FileNotFoundError):
        imgw.connect(alice.sock + ".nothing")


def test_socket_found_as_imgw_finds_it(env, monkeypatch):
    run = env.path("run")
    os.mkdir(run, 0o700)
    uid = os.getuid()
    for k in ("IMGW_SOCKET", "XDG_RUNTIME_DIR"):
        monkeypatch.delenv(k, raising=False)
    assert imgw.socket_path() == "/tmp/imgw-%d/imgwd.sock" % uid
    assert imgw.socket_path("work") == "/tmp/imgw-%d/work.sock" % uid
    monkeypatch.setenv("XDG_RUNTIME_DIR", "relative")	# not absolute: unused
    assert imgw.socket_path() == "/tmp/imgw-%d/imgwd.sock" % uid
    monkeypatch.setenv("XDG_RUNTIME_DIR", run)
    assert imgw.socket_path() == run + "/imgw/imgwd.sock"
    monkeypatch.setenv("IMGW_SOCKET", "/x/y.sock")
    assert imgw.socket_path() == "/x/y.sock"
    assert imgw.socket_path("work") == run + "/imgw/work.sock"	# not $IMGW_SOCKET
    with pytest.raises(ValueError):
        imgw.socket_path("../etc")
    # The CLI agrees: imgw --help names the default socket.
    out = subprocess.run([harness.IMGW, "--help"], capture_output=True,
                         text=True, env=dict(os.environ)).stdout
    assert "(default /x/y.sock)" in out

    # connect(account=...) reaches imgwd --account's socket.
    srv = env.server()
    gw = env.gateway("work", srv, sock=os.path.join(run, "imgw", "work.sock"))
    with imgw.connect(account="work") as c:
        assert c.session.status()["state"] in ("connecting", "syncing", "online")
        pid = c.client.list()["you"]
    assert pid is not None and gw.proc.alive()


def test_listen_replays_since_then_live(pair):
    srv, alice, bob = pair
    with imgw.connect(alice.sock) as c:
        states = []
        for ev in c.listen(since=0, topics=["session.state"], timeout=5):
            states.append(ev["state"])
            if len(states) == 3:
                break
        assert states == ["connecting", "syncing", "online"]
        # Leaving the loop unsubscribed: a new listen starts clean.
        it = c.listen(topics=["message"], timeout=10)
        assert isinstance(it.head, int)	# the newest seq at subscribing
        sender = imgw.connect(alice.sock)
        got = []

        def send():
            got.append(sender.message.send(user="bob", text="live")["id"])
        t = threading.Timer(0.2, send)
        t.start()
        ev = next(it)
        t.join()
        assert ev["type"] == "message.new" and ev["message"]["id"] == got[0]
        assert ev["seq"] > it.head
        ev = next(it)
        assert ev["type"] == "message.status" and ev["id"] == got[0]
        it.close()
        sender.close()


def test_listen_resumes_after_lagged_without_loss(env):
    srv = env.server()
    alice = env.gateway("alice", srv, args=["--client-stall", "1"])
    bob = env.gateway("bob", srv)
    alice.wait_online()
    bob.wait_online()
    c = imgw.Client(alice.sock, name="slow", max_events=4)
    it = c.listen(topics=["message.new"], timeout=15)
    sender = imgw.connect(alice.sock)
    ids = [sender.message.send(user="bob", text="first")["id"]]
    first = next(it)
    assert first["message"]["id"] == ids[0]
    # Now stop reading while ~5 MiB of events come: the daemon lags us.
    text = "慢" * (20 * 1024)
    for i in range(80):
        ids.append(sender.message.send(user="bob", text=text)["id"])
    wait_for(lambda: "lagged at seq" in alice.log(),
             "the daemon to lag the slow client", timeout=15)
    seen = [first["message"]["id"]]
    seqs = [first["seq"]]
    for ev in it:
        seen.append(ev["message"]["id"])
        seqs.append(ev["seq"])
        if len(seen) == len(ids):
            break
    assert seen == ids, "lost or repeated: %d of %d" % (len(set(seen)), len(ids))
    assert seqs == sorted(set(seqs))
    assert c.reconnects >= 1
    it.close()
    c.close()
    sender.close()


def test_listen_ends_when_the_daemon_stops(pair):
    srv, alice, bob = pair
    c = imgw.connect(alice.sock)
    got = []
    t = threading.Thread(target=lambda: got.extend(c.listen()))
    t.start()
    wait_for(lambda: any(x["subscribed"] for x in
                         alice.call("client.list")["clients"]),
             "the subscription")
    alice.stop()
    t.join(10)
    assert not t.is_alive()
    assert got and got[-1]["type"] == "shutdown"
    assert isinstance(c.closed, imgw.ConnectionClosed)
    c.close()
