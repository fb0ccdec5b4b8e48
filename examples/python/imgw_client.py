"""
imgw_client: a small Python 3 client for imgwd, the local IM gateway.

imgwd speaks MessagePack-RPC on a Unix socket (proto/RPC.md). This module
needs only the standard library and MessagePack (Debian: python3-msgpack).

    from imgw_client import connect, ImgwError

    with connect() as gw:                       # the default socket
        print(gw.call("rpc.ping"))              # "pong"
        r = gw.call("message.send", user="bob", text="hi")
        try:
            gw.call("message.get", id="no-such-id")
        except ImgwError as e:
            print(e.code, e.message)            # not_found ...

        # Pipelining: send many requests, collect the answers as they come.
        futures = [gw.call_async("rpc.ping") for _ in range(100)]
        print([f.result(timeout=10) for f in futures])
        gw.call_async("session.status", callback=lambda err, res: print(res))

        # Events: replay the log after seq 0, then live ones.
        for ev in gw.events(since=0, topics=["message"]):
            print(ev["seq"], ev["type"])

Threads: a connection owns one reader thread that decodes everything the
daemon sends. Answers complete their futures (and run callbacks) on that
thread; events are queued for the events() iterator. call(), call_async()
and close() may be used from any thread.
"""
import concurrent.futures
import os
import queue
import socket
import threading
import traceback

import msgpack

__all__ = ["Client", "ImgwError", "ConnectionClosed", "connect",
           "default_socket_path"]

_REQUEST, _RESPONSE, _NOTIFY = 0, 1, 2
_MAX_MSGID = 0xFFFFFFFF		# msgid is a 32-bit unsigned integer
_MAX_MESSAGE = 64 << 20		# the daemon sends at most 4 MiB a message; room


class ImgwError(Exception):
    """
    The daemon answered a call with an error: code is the stable name
    ("not_found", "bad_params", "offline", ... as in RPC.md), message the
    human-readable text.
    """

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class ConnectionClosed(ImgwError):
    """The connection is gone (code "io"); message says why if the daemon did."""

    def __init__(self, message="imgwd closed the connection"):
        super().__init__("io", message)


def default_socket_path():
    """
    The socket imgwd listens on by default (RPC.md, The socket):
    $IMGW_SOCKET, else $XDG_RUNTIME_DIR/imgw/imgwd.sock, else
    /tmp/imgw-UID/imgwd.sock.
    """
    path = os.environ.get("IMGW_SOCKET")
    if path:
        return path
    run = os.environ.get("XDG_RUNTIME_DIR")
    if run:
        return os.path.join(run, "imgw", "imgwd.sock")
    return "/tmp/imgw-%d/imgwd.sock" % os.getuid()


def connect(path=None, timeout=10.0):
    """Connect to imgwd at path (default: default_socket_path()); a Client."""
    return Client(path, timeout)


def _run_callback(callback, err, result):
    # A failing callback is reported, but must not stop the reader thread.
    if callback is None:
        return
    try:
        callback(err, result)
    except Exception:
        traceback.print_exc()


class _End:
    """Marks the end of the event stream in the queue."""


class Client:
    """
    One connection to imgwd. Raises OSError (FileNotFoundError,
    PermissionError, ConnectionRefusedError) when the socket cannot be
    reached. timeout (seconds, None: forever) is the default wait of call()
    and connect().
    """

    def __init__(self, path=None, timeout=10.0):
        self.path = path or default_socket_path()
        self.timeout = timeout
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self._sock.settimeout(timeout)
            self._sock.connect(self.path)
            self._sock.settimeout(None)
        except OSError:
            self._sock.close()
            raise
        self._lock = threading.Lock()		# guards the fields below
        self._wlock = threading.Lock()		# one writer at a time
        self._next_id = 1
        self._waiting = {}			# msgid -> (future, callback)
        self._closed = None			# a ConnectionClosed once gone
        self._events = queue.Queue()
        self._reader = threading.Thread(target=self._read_loop,
                                        name="imgw-reader", daemon=True)
        self._reader.start()

    # ------------------------------------------------------------ lifetime

    def close(self):
        """Close the connection; waiting calls fail with ConnectionClosed."""
        self._gone(ConnectionClosed("connection closed by the client"))
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()
        if threading.current_thread() is not self._reader:
            self._reader.join(5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def closed(self):
        """None while connected, else the ConnectionClosed saying why."""
        return self._closed

    # ------------------------------------------------------------ calls

    def call_async(self, method, callback=None, **args):
        """
        Send a request without waiting for its answer and return a
        concurrent.futures.Future: its result() is the method's result, or
        raises ImgwError. Any number of calls may be in flight; answers may
        come in any order. callback(error, result), if given, runs on the
        reader thread when the answer arrives (error is an ImgwError or None).
        """
        fut = concurrent.futures.Future()
        with self._lock:
            if self._closed is not None:
                raise self._closed
            msgid = self._take_id()
            self._waiting[msgid] = (fut, callback)
        data = msgpack.packb([_REQUEST, msgid, method, [args]],
                             use_bin_type=True)
        try:
            with self._wlock:
                self._sock.sendall(data)
        except OSError as e:
            self._gone(ConnectionClosed("write to imgwd: %s" % e))
        return fut

    def call(self, method, _timeout=None, **args):
        """
        Call method with named arguments and return its result; raises
        ImgwError with the daemon's code and message, ConnectionClosed, or
        TimeoutError after _timeout seconds (default: the client's timeout).
        """
        fut = self.call_async(method, **args)
        wait = self.timeout if _timeout is None else _timeout
        try:
            return fut.result(wait)
        except concurrent.futures.TimeoutError:
            raise TimeoutError("no answer to %s within %ss" % (method, wait))

    def _take_id(self):
        # The next free msgid, wrapping within 32 bits and skipping 0.
        while True:
            msgid = self._next_id
            self._next_id = msgid + 1 if msgid < _MAX_MSGID else 1
            if msgid not in self._waiting:
                return msgid

    # ------------------------------------------------------------ events

    def subscribe(self, since=None, topics=None):
        """
        events.subscribe: events after seq since (None: only new ones),
        limited to type prefixes in topics. Returns the head seq at the call.
        Events are then read with next_event() or events().
        """
        args = {}
        if since is not None:
            args["since"] = since
        if topics:
            args["topics"] = list(topics)
        return self.call("events.subscribe", **args)["seq"]

    def next_event(self, timeout=None):
        """
        The next event (a dict with seq, type, ...), waiting up to timeout
        seconds (None: forever); None on timeout. Raises ConnectionClosed
        once the connection is gone and every event before that was taken.
        """
        try:
            ev = self._events.get(timeout=timeout)
        except queue.Empty:
            return None
        if ev is _End:
            self._events.put(_End)	# later calls see the end too
            raise self._closed
        return ev

    def events(self, since=None, topics=None, subscribe=True, timeout=None):
        """
        Subscribe (unless subscribe is False) and iterate over events. The
        iteration ends when the connection closes, or when no event came for
        timeout seconds (None: never). A "lagged" event (this client read too
        slowly) is yielded before the daemon hangs up; reconnect and call
        events(since=ev["resumeFrom"]) to lose nothing.
        """
        if subscribe:
            self.subscribe(since, topics)
        while True:
            try:
                ev = self.next_event(timeout)
            except ConnectionClosed:
                return
            if ev is None:
                return
            yield ev

    # ------------------------------------------------------------ reading

    def _read_loop(self):
        unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                    max_buffer_size=_MAX_MESSAGE)
        why = "imgwd closed the connection"
        try:
            while True:
                data = self._sock.recv(1 << 16)
                if not data:
                    break
                unpacker.feed(data)
                for msg in unpacker:
                    note = self._take(msg)
                    if note:
                        why = note
        except (OSError, ValueError, msgpack.ExtraData,
                msgpack.FormatError, msgpack.StackError) as e:
            if self._closed is None:
                why = "read from imgwd: %s" % e
        self._gone(ConnectionClosed(why))

    def _take(self, msg):
        # One decoded message; returns the daemon's farewell text, if any.
        if not isinstance(msg, (list, tuple)) or not msg:
            return None
        if msg[0] == _RESPONSE and len(msg) == 4:
            with self._lock:
                waiter = self._waiting.pop(msg[1], None)
            if waiter is not None:
                self._answer(waiter, msg[2], msg[3])
        elif msg[0] == _NOTIFY and len(msg) == 3:
            params = msg[2] if isinstance(msg[2], (list, tuple)) else []
            if msg[1] == "event":
                for ev in params:
                    self._events.put(ev)
            elif msg[1] == "error" and params and isinstance(params[0], dict):
                # Sent just before the daemon closes a broken stream.
                return "imgwd: %s: %s" % (params[0].get("code"),
                                          params[0].get("message"))
        return None

    @staticmethod
    def _answer(waiter, error, result):
        fut, callback = waiter
        err = None
        if error is not None:
            if isinstance(error, dict):
                err = ImgwError(error.get("code"), error.get("message"))
            else:
                err = ImgwError("internal", repr(error))
        if err is None:
            fut.set_result(result)
        else:
            fut.set_exception(err)
        _run_callback(callback, err, result if err is None else None)

    def _gone(self, exc):
        # Fail every waiting call once and end the event stream.
        with self._lock:
            if self._closed is not None:
                return
            self._closed = exc
            waiting, self._waiting = self._waiting, {}
        for fut, callback in waiting.values():
            fut.set_exception(exc)
            _run_callback(callback, exc, None)
        self._events.put(_End)
