"""
stomp_client: a small STOMP 1.2 over WebSocket client for driving imserver
directly (UPSTREAM.md), standard library only. One StompClient is one
WebSocket session: it keeps every frame it receives, in arrival order, and
waits on conditions with timeouts (never fixed sleeps).

    c = StompClient(port, token)            # WebSocket + CONNECT
    c.subscribe("/user/queue/replies")      # waits for the RECEIPT
    data = c.call("group.create", name="x") # raises StompError on code != 0
    ev = c.wait_event("group.created")      # body of an events MESSAGE
"""
import base64
import itertools
import json
import os
import socket
import struct
import time

try:	# the harness's failure, when run by its scripts
    from harness import TestFailure as Failure
except ImportError:
    Failure = AssertionError

TIMEOUT = 10.0
APP = "ak_demo_chat"

QUEUE_MESSAGES = "/user/queue/messages"
QUEUE_REPLIES = "/user/queue/replies"
QUEUE_EVENTS = "/user/queue/events"


class StompError(Exception):
    """A request was answered with code != 0: .code, .message, .reply."""

    def __init__(self, code, message, reply=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.reply = reply


class Closed(Exception):
    """The server closed the connection."""


class Frame:
    """One STOMP frame: command, headers (first value wins), body (str)."""

    def __init__(self, command, headers, body):
        self.command = command
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "Frame(%s, %r, %r)" % (self.command, self.headers,
                                      self.body[:200])


def _unescape(s):
    """STOMP 1.2 header unescaping."""
    out, i = [], 0
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append({"n": "\n", "r": "\r", "c": ":", "\\": "\\"}.get(
                s[i + 1], s[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _escape(s):
    """STOMP 1.2 header escaping."""
    return (s.replace("\\", "\\\\").replace("\n", "\\n")
            .replace("\r", "\\r").replace(":", "\\c"))


def encode_frame(command, headers=None, body="", content_length=True):
    """A frame as bytes (CONNECT headers unescaped, as STOMP 1.2 says);
    without content_length a body ends at the NUL only, as the seed's."""
    raw = body.encode() if isinstance(body, str) else body
    lines = [command]
    for k, v in (headers or {}).items():
        if command == "CONNECT":
            lines.append("%s:%s" % (k, v))
        else:
            lines.append("%s:%s" % (_escape(k), _escape(str(v))))
    if raw and content_length:
        lines.append("content-length:%d" % len(raw))
    return ("\n".join(lines) + "\n\n").encode() + raw + b"\0"


class StompClient:
    """
    One session to imserver at 127.0.0.1:port as the user of token. With
    connect (the default) the WebSocket is opened and CONNECT answered.
    subprotocol is the one offered in the handshake (None: none offered),
    query_token also puts the token in the URL (?token=, as the seed does),
    content_length=False sends frames without content-length (the seed's).
    """

    _ids = itertools.count(1)

    def __init__(self, port, token, connect=True, timeout=TIMEOUT,
                 app=APP, host="127.0.0.1", subprotocol="v12.stomp",
                 query_token=False, content_length=True):
        self.app = app
        self.timeout = timeout
        self.subprotocol = subprotocol
        self.query = "?token=" + token if query_token else ""
        self.content_length = content_length
        self.frames = []	# every frame received, in order
        self.closed = False
        self.user = None
        self._ws = b""		# undecoded WebSocket bytes
        self._stomp = b""	# undecoded STOMP bytes
        self._text = []		# fragments of a WebSocket message
        self._subs = {}		# destination -> subscription id
        self.sock = socket.create_connection((host, port), timeout)
        self._handshake(host, port)
        if connect:
            self.connect(token)

    # ------------------------------------------------------------ WebSocket

    def _handshake(self, host, port):
        key = base64.b64encode(os.urandom(16)).decode()
        proto = ("Sec-WebSocket-Protocol: %s\r\n" % self.subprotocol
                 if self.subprotocol else "")
        req = ("GET /ws/im%s HTTP/1.1\r\nHost: %s:%d\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "%s\r\n" % (self.query, host, port, key, proto))
        self.sock.sendall(req.encode())
        data = b""
        deadline = time.monotonic() + self.timeout
        while b"\r\n\r\n" not in data:
            if time.monotonic() > deadline:
                raise Closed("no WebSocket handshake answer")
            chunk = self.sock.recv(4096)
            if not chunk:
                raise Closed("connection closed during the handshake")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status + b" ":
            raise Closed("handshake refused: %r" % status)
        self.handshake = head.decode("latin-1")	# the server's answer
        self._ws = rest

    def _send_ws(self, payload, opcode=1):
        """One masked WebSocket frame (clients must mask, RFC 6455)."""
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        try:
            self.sock.sendall(head + mask + body)
        except OSError as e:
            self.closed = True
            raise Closed("send failed: %s" % e)

    def _ws_frames(self):
        """Decode whole WebSocket frames from self._ws."""
        while len(self._ws) >= 2:
            b0, b1 = self._ws[0], self._ws[1]
            n, off = b1 & 0x7f, 2
            if n == 126:
                if len(self._ws) < 4:
                    return
                n, off = struct.unpack("!H", self._ws[2:4])[0], 4
            elif n == 127:
                if len(self._ws) < 10:
                    return
                n, off = struct.unpack("!Q", self._ws[2:10])[0], 10
            if b1 & 0x80:
                off += 4	# a server never masks; skip it if it did
            if len(self._ws) < off + n:
                return
            payload = self._ws[off:off + n]
            self._ws = self._ws[off + n:]
            opcode = b0 & 0x0f
            if opcode in (0, 1, 2):
                self._text.append(payload)
                if b0 & 0x80:
                    self._stomp += b"".join(self._text)
                    self._text = []
            elif opcode == 8:
                self.closed = True
            elif opcode == 9:
                self._send_ws(payload, 10)

    def _stomp_frames(self):
        """Decode whole STOMP frames from self._stomp into self.frames."""
        while True:
            # Heart-beats: EOLs between frames.
            self._stomp = self._stomp.lstrip(b"\r\n")
            end = self._stomp.find(b"\n\n")
            if end < 0:
                return
            head = self._stomp[:end].decode()
            lines = head.replace("\r\n", "\n").split("\n")
            command, headers = lines[0], {}
            for line in lines[1:]:
                k, _, v = line.partition(":")
                if command != "CONNECTED":
                    k, v = _unescape(k), _unescape(v)
                headers.setdefault(k, v)
            start = end + 2
            if "content-length" in headers:
                stop = start + int(headers["content-length"])
                if len(self._stomp) < stop + 1:
                    return
            else:
                stop = self._stomp.find(b"\0", start)
                if stop < 0:
                    return
            body = self._stomp[start:stop].decode()
            self._stomp = self._stomp[stop + 1:]
            self.frames.append(Frame(command, headers, body))

    def pump(self, timeout):
        """Read what arrives within timeout seconds; False once closed."""
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return True
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self._ws += data
        self._ws_frames()
        self._stomp_frames()
        return not self.closed

    def wait_frame(self, pred, what, timeout=None, start=0):
        """The first frame from index start on matching pred; or fail."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for f in self.frames[start:]:
                if pred(f):
                    return f
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure(
                    "timed out waiting for %s; last frames: %r"
                    % (what, self.frames[-5:]))
            if not self.pump(min(left, 0.2)):
                for f in self.frames[start:]:
                    if pred(f):
                        return f
                raise Closed("connection closed while waiting for %s; "
                             "last frames: %r" % (what, self.frames[-5:]))

    def wait_closed(self, timeout=None):
        """Whether the server closes the connection within timeout."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.2))
        return True

    # ---------------------------------------------------------------- STOMP

    def send_frame(self, command, headers=None, body=""):
        self._send_ws(encode_frame(command, headers, body,
                                   self.content_length))

    def connect(self, token):
        """CONNECT with the token; returns CONNECTED, raises on ERROR."""
        self.send_frame("CONNECT", {"accept-version": "1.2",
                                    "heart-beat": "0,0",
                                    "host": "127.0.0.1",
                                    "Authorization": "Bearer " + token})
        f = self.wait_frame(lambda f: f.command in ("CONNECTED", "ERROR"),
                            "CONNECTED")
        if f.command == "ERROR":
            raise Closed("CONNECT refused: %s" % f.headers.get("message"))
        self.user = f.headers.get("user-name")
        return f

    def receipt(self, command, headers):
        """Send a frame with a receipt; return the RECEIPT or ERROR frame."""
        rid = "rcpt-%d" % next(self._ids)
        headers = dict(headers, receipt=rid)
        self.send_frame(command, headers)
        return self.wait_frame(
            lambda f: (f.command == "RECEIPT" and
                       f.headers.get("receipt-id") == rid) or
            f.command == "ERROR", "RECEIPT %s" % rid)

    def subscribe(self, dest, check=True):
        """SUBSCRIBE and wait until the server has it; returns the frame
        answering it (RECEIPT, or ERROR if check is False)."""
        sid = "sub-%d" % next(self._ids)
        f = self.receipt("SUBSCRIBE", {"id": sid, "destination": dest})
        if f.command == "ERROR" and check:
            raise Failure("SUBSCRIBE %s refused: %s"
                                 % (dest, f.headers.get("message")))
        if f.command == "RECEIPT":
            self._subs[dest] = sid
        return f

    def subscribe_all(self):
        """The three user queues."""
        for d in (QUEUE_MESSAGES, QUEUE_REPLIES, QUEUE_EVENTS):
            self.subscribe(d)
        return self

    def send(self, action, request_id=None, **body):
        """SEND /app/<action> with body (appId added unless given)."""
        body.setdefault("appId", self.app)
        headers = {"destination": "/app/" + action,
                   "content-type": "application/json"}
        if request_id is not None:
            headers["request-id"] = request_id
        self.send_frame("SEND", headers, json.dumps(body))

    def request(self, action, **body):
        """SEND with a request-id; the reply body {code, message, data}."""
        rid = "req-%d" % next(self._ids)
        self.send(action, request_id=rid, **body)
        f = self.wait_frame(
            lambda f: f.command == "MESSAGE" and
            f.headers.get("request-id") == rid, "reply to %s" % action)
        return f.json()

    def call(self, action, **body):
        """request(); the data on code 0, else raise StompError."""
        r = self.request(action, **body)
        if r.get("code") != 0:
            raise StompError(r.get("code"), r.get("message"), r)
        return r.get("data")

    def refused(self, code, action, **body):
        """request() that must be refused with code; returns the message."""
        r = self.request(action, **body)
        if r.get("code") != code:
            raise Failure("%s %r: expected code %s, got %r"
                                 % (action, body, code, r))
        return r.get("message")

    # ---------------------------------------------------------- what arrived

    def messages_on(self, dest):
        """Bodies of the MESSAGE frames received on dest, in order."""
        return [f.json() for f in self.frames
                if f.command == "MESSAGE" and f.headers.get("destination") ==
                dest]

    def events(self, kind=None):
        """Bodies of the events received, of type kind if given."""
        return [e for e in self.messages_on(QUEUE_EVENTS)
                if kind is None or e.get("type") == kind]

    def wait_event(self, kind, pred=None, what=None, timeout=None):
        """The body of the first event of type kind matching pred(data)."""
        f = self.wait_frame(
            lambda f: f.command == "MESSAGE" and
            f.headers.get("destination") == QUEUE_EVENTS and
            f.json().get("type") == kind and
            (pred is None or pred(f.json().get("data"))),
            what or "event %s" % kind, timeout)
        return f.json()

    def wait_message(self, dest, pred, what, timeout=None):
        """The body of the first MESSAGE on dest matching pred."""
        f = self.wait_frame(
            lambda f: f.command == "MESSAGE" and
            f.headers.get("destination") == dest and pred(f.json()),
            what, timeout)
        return f.json()

    def wait_error(self, timeout=None):
        """The ERROR frame the server sends, or fail."""
        return self.wait_frame(lambda f: f.command == "ERROR", "ERROR",
                               timeout)

    def close(self):
        """DISCONNECT (best effort) and close the socket."""
        if not self.closed:
            try:
                self.send_frame("DISCONNECT", {"receipt": "bye"})
            except Closed:
                pass
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass
