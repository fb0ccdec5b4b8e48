"""
client: the blocking client of imgwd. One Client is one connection (made
again after the daemon lags it), with one reader thread that decodes what
the daemon sends: answers complete futures, events wait in a bounded queue
for listen(). call(), call_async() and close() may be used from any thread.
"""
import concurrent.futures
import queue
import socket
import threading
import time
import traceback

import msgpack

from ._proto import (MAX_MESSAGE, MAX_MSGID, ConnectionClosed, ImgwError,
                     Namespace, classify, error_of, pack_request, socket_path)

__all__ = ["Client", "connect"]

_END = object()		# ends a connection's event queue
_SUBSCRIBED = object()	# in the event queue where a subscription took effect


def _run_callback(callback, err, result):
    # A failing callback is reported, but must not stop the reader thread.
    if callback is None:
        return
    try:
        callback(err, result)
    except Exception:
        traceback.print_exc()


class _Conn:
    """One socket and its reader thread."""

    def __init__(self, path, timeout, max_events):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.sock.settimeout(timeout)
            self.sock.connect(path)
            self.sock.settimeout(None)
        except OSError:
            self.sock.close()
            raise
        self.lock = threading.Lock()		# guards the fields below
        self.wlock = threading.Lock()		# one writer at a time
        self.next_id = 1
        self.waiting = {}			# msgid -> (future, callback, method)
        self.closed = None			# a ConnectionClosed once gone
        # Bounded: when nobody takes events the reader stops reading, and
        # the daemon lags this connection (listen() then resumes).
        self.events = queue.Queue(max_events)
        self.reader = threading.Thread(target=self._read_loop,
                                       name="imgw-reader", daemon=True)
        self.reader.start()

    def call_async(self, method, callback, args):
        fut = concurrent.futures.Future()
        with self.lock:
            if self.closed is not None:
                raise self.closed
            while True:
                msgid = self.next_id
                self.next_id = msgid + 1 if msgid < MAX_MSGID else 1
                if msgid not in self.waiting:
                    break
            self.waiting[msgid] = (fut, callback, method)
        data = pack_request(msgpack.packb, msgid, method, args)
        try:
            with self.wlock:
                self.sock.sendall(data)
        except OSError as e:
            self.gone(ConnectionClosed("write to imgwd: %s" % e))
        return fut

    def next_event(self, timeout):
        """An event, None on timeout, or _END once the connection is gone."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = 0.2 if deadline is None else \
                min(0.2, max(0.0, deadline - time.monotonic()))
            try:
                return self.events.get(timeout=wait)
            except queue.Empty:
                pass
            # The end: gone, the reader done, and every event taken.
            if self.closed is not None and not self.reader.is_alive() and \
                    self.events.empty():
                return _END
            if deadline is not None and time.monotonic() >= deadline:
                return None

    def drain(self):
        """Drop the events queued and not taken."""
        while True:
            try:
                self.events.get_nowait()
            except queue.Empty:
                return

    def close(self, why):
        self.gone(ConnectionClosed(why))
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        if threading.current_thread() is not self.reader:
            self.reader.join(5)

    def _put(self, ev):
        # Wait for room; give up only when the client closed the connection.
        while True:
            try:
                self.events.put(ev, timeout=0.2)
                return
            except queue.Full:
                if self.closed is not None:
                    return

    def _read_loop(self):
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                    max_buffer_size=MAX_MESSAGE)
        why = "imgwd closed the connection"
        try:
            while self.closed is None:
                data = self.sock.recv(1 << 16)
                if not data:
                    break
                unpacker.feed(data)
                for msg in unpacker:
                    note = self._take(msg)
                    if note:
                        why = note
        except (OSError, ValueError, msgpack.ExtraData,
                msgpack.FormatError, msgpack.StackError) as e:
            if self.closed is None:
                why = "read from imgwd: %s" % e
        self.gone(ConnectionClosed(why))

    def _take(self, msg):
        c = classify(msg)
        if c is None:
            return None
        if c[0] == "response":
            with self.lock:
                waiter = self.waiting.pop(c[1], None)
            if waiter is not None:
                fut, callback, method = waiter
                if method == "events.subscribe" and c[2] is None:
                    self._put(_SUBSCRIBED)	# events after it are the new ones
                err = None if c[2] is None else error_of(c[2], method)
                if err is None:
                    fut.set_result(c[3])
                else:
                    fut.set_exception(err)
                _run_callback(callback, err, None if err else c[3])
        elif c[0] == "events":
            for ev in c[1]:
                self._put(ev)
        elif c[0] == "farewell":
            return c[1]
        return None

    def gone(self, exc):
        # Fail every waiting call once and end the event stream.
        with self.lock:
            if self.closed is not None:
                return
            self.closed = exc
            waiting, self.waiting = self.waiting, {}
        for fut, callback, _ in waiting.values():
            fut.set_exception(exc)
            _run_callback(callback, exc, None)


class Client:
    """
    A connection to imgwd. path is the socket; without it, the one of
    account (imgwd --account NAME), or the default one, found as imgw(1)
    finds it (see socket_path). Raises OSError (FileNotFoundError,
    ConnectionRefusedError, PermissionError) when the socket cannot be
    reached. timeout (seconds, None: forever) is the default wait of call().
    name, if given, is sent with client.hello (client.list shows it).

    Methods are attributes too, built from the daemon's rpc.describe:
    client.message.send(user="bob", text="hi"); help() shows each one's
    arguments.
    """

    def __init__(self, path=None, *, account=None, timeout=10.0, name=None,
                 max_events=10000):
        self.path = path or socket_path(account)
        self.timeout = timeout
        self.name = name
        self.max_events = max_events
        self.reconnects = 0	# how many times listen() connected again
        self.lagged = 0		# how many "lagged" events it resumed after
        self._describe = None
        self._listener = None
        self._conn = _Conn(self.path, timeout, max_events)
        if name is not None:
            self.call("client.hello", name=name)

    # ------------------------------------------------------------ lifetime

    def close(self):
        """Close the connection; waiting calls fail with ConnectionClosed."""
        self._conn.close("connection closed by the client")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        """None while connected, else the ConnectionClosed saying why."""
        return self._conn.closed

    def _reconnect(self):
        self._conn.close("reconnecting")
        self._conn = _Conn(self.path, self.timeout, self.max_events)
        self.reconnects += 1
        if self.name is not None:
            self.call("client.hello", name=self.name)

    # ------------------------------------------------------------ calls

    def call_async(self, method, callback=None, **args):
        """
        Send a request and return a concurrent.futures.Future of its result
        (which raises ImgwError). Calls may be pipelined; callback(error,
        result), if given, runs on the reader thread when the answer comes.
        """
        return self._conn.call_async(method, callback, args)

    def call(self, method, _timeout=None, **args):
        """
        Call method with named arguments; its result. Raises ImgwError (the
        daemon's code and message), ConnectionClosed, or TimeoutError after
        _timeout seconds (default: the client's timeout).
        """
        fut = self.call_async(method, **args)
        wait = self.timeout if _timeout is None else _timeout
        try:
            return fut.result(wait)
        except concurrent.futures.TimeoutError:
            raise TimeoutError("no answer to %s within %ss" % (method, wait))

    def describe(self):
        """rpc.describe (fetched once): methods, events and error codes."""
        if self._describe is None:
            self._describe = self.call("rpc.describe")
        return self._describe

    def _namespace(self):
        methods = {m["name"]: m for m in self.describe().get("methods", [])}
        return Namespace(self.call, methods)

    def __getattr__(self, attr):
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self._namespace(), attr)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(dir(self._namespace())))

    # ------------------------------------------------------------ events

    def subscribe(self, since=None, topics=None):
        """events.subscribe; the head seq at the call (see listen)."""
        args = {}
        if since is not None:
            args["since"] = since
        if topics:
            args["topics"] = list(topics)
        return self.call("events.subscribe", **args)["seq"]

    def listen(self, since=None, topics=None, timeout=None):
        """
        Subscribe and iterate over events (dicts with seq and type): those
        logged after seq since first (None: only new ones), then live ones,
        limited to the type prefixes in topics. When the daemon lags this
        client (it read too slowly) or the connection drops, the client
        reconnects and subscribes again from the "lagged" event's resumeFrom
        (or the last seq it yielded): nothing is lost or repeated, and
        "lagged" itself is not yielded. Ends when the daemon stops (after
        its "shutdown" event) or cannot be reached again, or when no event
        came for timeout seconds (None: never). Leaving the loop
        unsubscribes.
        """
        # Subscribed now, not at the first next(): nothing after this call
        # is missed.
        self._conn.drain()	# what an earlier listen() left
        token = self._listener = object()	# the latest listen() is the one
        head = self.subscribe(since, topics)
        return Events(self._listen(token, since if since is not None else
                                   head, topics, timeout), head)

    def _listen(self, token, last, topics, timeout):
        stopping, progressed, current = False, True, False
        try:
            while True:
                ev = self._conn.next_event(timeout)
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
                        self._reconnect()
                        self.subscribe(last, topics)
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
                    self.call("events.unsubscribe")
                    self._conn.drain()
                except ImgwError:
                    pass


class Events:
    """
    What listen() returns: an iterator of events; head is the newest seq
    when it subscribed, close() unsubscribes.
    """

    def __init__(self, gen, head):
        self._gen = gen
        self.head = head

    def __iter__(self):
        return self

    def __next__(self):
        return next(self._gen)

    def close(self):
        self._gen.close()


def connect(path=None, *, account=None, timeout=10.0, name=None):
    """A Client (see Client)."""
    return Client(path, account=account, timeout=timeout, name=name)
