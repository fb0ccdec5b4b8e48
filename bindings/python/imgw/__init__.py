"""
imgw: a Python client for imgwd, the local XuqmGroup IM gateway, over its
MessagePack-RPC Unix socket (proto/RPC.md). Pure Python; needs msgpack.

    import imgw

    with imgw.connect() as c:                   # or account="work", or a path
        c.call("message.send", user="bob", text="hi")
        c.message.send(user="bob", text="hi")   # the same, built from rpc.describe
        help(c.message.history)                 # the daemon's argument help
        for ev in c.listen(since=0, topics=["message"]):
            print(ev["seq"], ev["type"])

    async with await imgw.aio.connect() as c:   # asyncio
        await c.message.send(user="bob", text="hi")
        async for ev in c.listen(since=0):
            ...

Errors are ImgwError with .code ("not_found", "bad_params", ...) and
.message; ConnectionClosed (code "io") when the connection is gone.
"""
from ._proto import ConnectionClosed, ImgwError, socket_path
from .client import Client, connect
from . import aio

__all__ = ["Client", "ConnectionClosed", "ImgwError", "aio", "connect",
           "socket_path"]
__version__ = "0.1.0"
