"""The asyncio client against a live imgwd."""
import asyncio

import pytest

import imgw
from harness import wait_for


def test_calls_attributes_errors_and_pipelining(pair):
    srv, alice, bob = pair

    async def main():
        async with await imgw.aio.connect(alice.sock, name="aio") as c:
            assert await c.rpc.ping() == "pong"
            assert await c.call("rpc.ping") == "pong"
            sent = await c.message.send(user="bob", text="from asyncio")
            assert sent["status"] == "SENDING"
            assert "exactly one of user, group" in c.message.send.__doc__
            with pytest.raises(imgw.ImgwError) as e:
                await c.message.get(id="nope")
            assert (e.value.code, e.value.method) == ("not_found", "message.get")
            with pytest.raises(imgw.ImgwError) as e:
                await c.call("no.such.method")
            assert e.value.code == "no_such_method"
            with pytest.raises(TypeError):
                c.message.get(idd="x")
            pongs = await asyncio.gather(*[c.rpc.ping() for _ in range(1000)])
            assert pongs == ["pong"] * 1000
            assert await c.friend.group.list() is not None
            return sent["id"]
    mid = asyncio.run(main())
    wait_for(lambda: mid in [m["id"] for m in bob.history("alice")],
             "bob to get the message")

    async def closed():
        c = await imgw.aio.connect(alice.sock)
        await c.close()
        with pytest.raises(imgw.ConnectionClosed):
            await c.rpc.ping()
        with pytest.raises(FileNotFoundError):
            await imgw.aio.connect(alice.sock + ".nothing")
    asyncio.run(closed())


def test_listen_replays_then_live(pair):
    srv, alice, bob = pair

    async def main():
        async with await imgw.aio.connect(alice.sock) as c:
            states = []
            async for ev in c.listen(since=0, topics=["session.state"],
                                     timeout=5):
                states.append(ev["state"])
                if len(states) == 3:
                    break
            assert states == ["connecting", "syncing", "online"]
            it = c.listen(topics=["message"], timeout=10)
            sent = await c.message.send(user="bob", text="live")
            ev = await it.__anext__()
            assert (ev["type"], ev["message"]["id"]) == ("message.new", sent["id"])
            ev = await it.__anext__()
            assert (ev["type"], ev["id"]) == ("message.status", sent["id"])
            await it.aclose()
    asyncio.run(main())


def test_listen_resumes_after_lagged_without_loss(env):
    srv = env.server()
    alice = env.gateway("alice", srv, args=["--client-stall", "1"])
    bob = env.gateway("bob", srv)
    alice.wait_online()
    bob.wait_online()

    async def main():
        c = await imgw.aio.connect(alice.sock, name="slow", max_events=4)
        sender = await imgw.aio.connect(alice.sock)
        it = c.listen(topics=["message.new"], timeout=15)
        ids = [(await sender.message.send(user="bob", text="first"))["id"]]
        first = await it.__anext__()
        assert first["message"]["id"] == ids[0]
        text = "慢" * (20 * 1024)
        for _ in range(80):
            ids.append((await sender.message.send(user="bob", text=text))["id"])
        deadline = asyncio.get_running_loop().time() + 15
        while "lagged at seq" not in alice.log():
            assert asyncio.get_running_loop().time() < deadline, "never lagged"
            await asyncio.sleep(0.05)
        seen, seqs = [ids[0]], [first["seq"]]
        async for ev in it:
            seen.append(ev["message"]["id"])
            seqs.append(ev["seq"])
            if len(seen) == len(ids):
                break
        assert seen == ids, "lost or repeated: %d of %d" % (len(set(seen)),
                                                            len(ids))
        assert seqs == sorted(set(seqs))
        assert c.reconnects >= 1
        await c.close()
        await sender.close()
    asyncio.run(main())


def test_listen_ends_when_the_daemon_stops(pair):
    srv, alice, bob = pair

    async def main():
        c = await imgw.aio.connect(alice.sock)
        it = c.listen()
        await c.rpc.ping()
        loop = asyncio.get_running_loop()
        stopper = loop.run_in_executor(None, alice.stop)
        got = [ev async for ev in it]
        await stopper
        assert got and got[-1]["type"] == "shutdown"
        await c.close()
    asyncio.run(main())
