"""
aio: the asyncio client of imgwd. One Client is one connection (made again
after the daemon lags it) with one reader task: answers complete futures,
events wait in a bounded queue for listen(). Use it from one event loop.

    c = await imgw.aio.connect(account="work")
    await c.message.send(user="bob", text="hi")
    async for ev in c.listen(since=0):
        ...
    await c.close()
"""
import asyncio

import msgpack

from ._proto import (MAX_MESSAGE, MAX_MSGID, ConnectionClosed, ImgwError,
                     Namespace, classify, error_of, pack_request, socket_path)

__all__ = ["Client", "connect"]

_END = object()		# ends a connection's event queue
_SUBSCRIBED = object()	# in the event queue where a subscription took effect


class _Conn:
    """One socket and its reader task."""

    def __init__(self, reader, writer, max_events):
        self.reader = reader
        self.writer = writer
        self.next_id = 1
        self.waiting = {}			# msgid -> (future, method)
        self.closed = None			# a ConnectionClosed once gone
        # Bounded: when nobody takes events the reader stops reading, and
        # the daemon lags this connection (listen() then resumes).
        self.events = asyncio.Queue(max_events)
        self.task = asyncio.ensure_future(self._read_loop())

    @classmethod
    async def open(cls, path, timeout, max_events):
        reader, writer = await asyncio.wait_for(
            asyncio.open_unix_connection(path), timeout)
        return cls(reader, writer, max_events)

    def request(self, method, args):
        """Send a request now; a future of (error, result)."""
        if self.closed is not None:
            raise self.closed
        while True:
            msgid = self.next_id
            self.next_id = msgid + 1 if msgid < MAX_MSGID else 1
            if msgid not in self.waiting:
                break
        fut = asyncio.get_running_loop().create_future()
        self.waiting[msgid] = (fut, method)
        self.writer.write(pack_request(msgpack.packb, msgid, method, args))
        return fut

    async def next_event(self, timeout):
        """An event, None on timeout, or _END once the connection is gone."""
        try:
            ev = await asyncio.wait_for(self.events.get(), timeout)
        except asyncio.TimeoutError:
            return None
        if ev is _END:
            self.events.put_nowait(_END)	# later calls see the end too
        return ev

    def drain(self):
        """Drop the events queued and not taken."""
        while not self.events.empty():
            if self.events.get_nowait() is _END:
                self.events.put_nowait(_END)
                return

    async def close(self, why):
        self.gone(ConnectionClosed(why))
        self.task.cancel()
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except OSError:
            pass

    async def _read_loop(self):
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                    max_buffer_size=MAX_MESSAGE)
        why = "imgwd closed the connection"
        try:
            while True:
                data = await self.reader.read(1 << 16)
                if not data:
                    break
                unpacker.feed(data)
                for msg in unpacker:
                    c = classify(msg)
                    if c is None:
                        continue
                    if c[0] == "response":
                        fut, method = self.waiting.pop(c[1], (None, None))
                        if method == "events.subscribe" and c[2] is None:
                            # Events after it are the new subscription's.
                            await self.events.put(_SUBSCRIBED)
                        if fut is not None and not fut.done():
                            fut.set_result((c[2], c[3], method))
                    elif c[0] == "events":
                        for ev in c[1]:
                            await self.events.put(ev)
                    else:
                        why = c[1]
        except (OSError, ValueError, msgpack.ExtraData,
                msgpack.FormatError, msgpack.StackError) as e:
            why = "read from imgwd: %s" % e
        self.gone(ConnectionClosed(why))
        await self.events.put(_END)

    def gone(self, exc):
        # Fail every waiting call once.
        if self.closed is not None:
            return
        self.closed = exc
        waiting, self.waiting = self.waiting, {}
        for fut, _ in waiting.values():
            if not fut.done():
                fut.set_exception(exc)


class Client:
    """
    A connection to imgwd; made by connect(), which also fetches
    rpc.describe so that methods are attributes:
    await c.message.send(user="bob", text="hi").
    """

    def __init__(self, path, timeout, name, max_events):
        self.path = path
        self.timeout = timeout
        self.name = name
        self.max_events = max_events
        self.reconnects = 0	# how many times listen() connected again
        self.lagged = 0		# how many "lagged" events it resumed after
        self._conn = None
        self._methods = {}
        self._listener = None

    async def _open(self):
        self._conn = await _Conn.open(self.path, self.timeout, self.max_events)
        if self.name is not None:
            await self.call("client.hello", name=self.name)

    async def _reconnect(self):
        await self._conn.close("reconnecting")
        await self._open()
        self.reconnects += 1

    # ------------------------------------------------------------ lifetime

    async def close(self):
        """Close the connection; waiting calls fail with ConnectionClosed."""
        await self._conn.close("connection closed by the client")

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc):
        await self.close()

    @property
    def closed(self):
        """None while connected, else the ConnectionClosed saying why."""
        return self._conn.closed

    # ------------------------------------------------------------ calls

    def call(self, method, _timeout=None, **args):
        """
        Send a request at once and return an awaitable of its result, which
        raises ImgwError (the daemon's code), ConnectionClosed, or
        asyncio.TimeoutError after _timeout seconds (default: the client's).
        Calls may be pipelined: send many, then gather them.
        """
        fut = self._conn.request(method, args)
        wait = self.timeout if _timeout is None else _timeout
        return self._answer(fut, method, wait)

    @staticmethod
    async def _answer(fut, method, wait):
        try:
            err, res, _ = await asyncio.wait_for(fut, wait)
        except asyncio.TimeoutError:
            raise asyncio.TimeoutError("no answer to %s within %ss"
                                       % (method, wait))
        if err is not None:
            raise error_of(err, method)
        return res

    async def describe(self):
        """rpc.describe (fetched again): methods, events and error codes."""
        d = await self.call("rpc.describe")
        self._methods = {m["name"]: m for m in d.get("methods", [])}
        return d

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(Namespace(self.call, self._methods), attr)

    def __dir__(self):
        return sorted(set(super().__dir__()) |
                      set(dir(Namespace(self.call, self._methods))))

    # ------------------------------------------------------------ events

    async def subscribe(self, since=None, topics=None):
        """events.subscribe; the head seq at the call (see listen)."""
        args = {}
        if since is not None:
            args["since"] = since
        if topics:
            args["topics"] = list(topics)
        return (await self.call("events.subscribe", **args))["seq"]

    def listen(self, since=None, topics=None, timeout=None):
        """
        Subscribe and iterate (async for) over events: those logged after
        seq since first (None: only new ones), then live ones, limited to
        the type prefixes in topics. When the daemon lags this client or
        the connection drops, the client reconnects and subscribes again
        from the "lagged" event's resumeFrom (or the last seq it yielded):
        nothing is lost or repeated, and "lagged" is not yielded. Ends when
        the daemon stops (after its "shutdown" event) or cannot be reached
        again, or when no event came for timeout seconds (None: never).
        """
        # The request goes out now, not at the first iteration: nothing
        # after this call is missed.
        self._conn.drain()	# what an earlier listen() left
        token = self._listener = object()	# the latest listen() is the one
        args = {} if since is None else {"since": since}
        if topics:
            args["topics"] = list(topics)
        return self._listen(token, self.call("events.subscribe", **args),
                            since, topics, timeout)

    async def _listen(self, token, subscribed, last, topics, timeout):
        head = (await subscribed)["seq"]
        if last is None:
            last = head
        stopping, progressed, current = False, True, False
        try:
            while True:
                ev = await self._conn.next_event(timeout)
                if ev is None:
                    return
                if ev is _SUBSCRIBED:
                    current = True
                    continue
                if not current and ev is not _END:
                    continue	# queued for an earlier subscription
                if ev is _END or ev.get("type") == "lagged":
                    if ev is not _END:
                        last = ev.get("resumeFrom", last)
                        self.lagged += 1
                    elif stopping or not progressed:
                        return
                    try:
                        await self._reconnect()
                        await self.subscribe(last, topics)
                    except (OSError, ConnectionClosed):
                        return
                    progressed, current = ev is not _END, False
                    continue
                if ev.get("type") == "shutdown":
                    stopping = True
                seq = ev.get("seq")
                if isinstance(seq, int):
                    if last is not None and seq <= last:
                        continue
                    last = seq
                progressed = True
                yield ev
        finally:
            # An async generator left by break is closed later: by then a
            # newer listen() may own the subscription.
            if self._conn.closed is None and self._listener is token:
                try:
                    await self.call("events.unsubscribe")
                    self._conn.drain()
                except ImgwError:
                    pass


async def connect(path=None, *, account=None, timeout=10.0, name=None,
                  max_events=10000):
    """
    Connect to imgwd (the socket found as imgw(1) finds it, see
    socket_path) and fetch rpc.describe; a Client. Raises OSError when the
    socket cannot be reached.
    """
    c = Client(path or socket_path(account), timeout, name, max_events)
    await c._open()
    await c.describe()
    return c
