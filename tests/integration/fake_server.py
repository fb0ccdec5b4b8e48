"""
fake_server: a scriptable upstream for imgwd, for servers imserver will not
imitate (strict brokers, broken or hostile ones). A real WebSocket server on
127.0.0.1 (RFC 6455: handshake, masked client frames, ping/pong, close),
one thread per connection; STOMP frames are handed to a behaviour:

    def on_frame(conn, frame): ...      # frame: stomp_client.Frame

conn.send(command, headers, body) writes a frame, conn.send_raw(bytes)
writes text as it is (split into WebSocket messages by the caller),
conn.send_frames(list) batches encoded frames into messages,
conn.send_split(bytes, size) cuts bytes into size-byte messages (1: one
byte each), conn.send_wire(bytes) writes the socket as it is, and
conn.close() hangs up. Every connection and every frame is recorded, so a
test waits on conditions: server.connections, conn.frames.
"""
import base64
import hashlib
import socket
import struct
import threading
import time

from stomp_client import Frame, _unescape, encode_frame

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Conn:
    """One WebSocket connection from imgwd."""

    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.frames = []        # STOMP frames received, in order
        self.pings = 0
        self.opened = time.monotonic()
        self.closed = False
        self._lock = threading.Lock()
        self._buf = b""

    # ------------------------------------------------------------ output
    def _ws_write(self, opcode, payload):
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
        with self._lock:
            try:
                self.sock.sendall(head + payload)
            except OSError:
                self.closed = True

    def send_raw(self, data):
        """Write bytes as one WebSocket text message."""
        self._ws_write(0x1, data if isinstance(data, bytes) else data.encode())

    def send(self, command, headers=None, body=""):
        """Write one STOMP frame (with content-length) as one message."""
        self.send_raw(encode_frame(command, headers or {}, body))

    def send_wire(self, data):
        """Write bytes to the socket as they are (already WebSocket-framed)."""
        with self._lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.closed = True

    def send_split(self, data, size=1, chunk=1 << 16):
        """
        Write data as WebSocket text messages of size bytes each (a STOMP
        frame split across many messages), chunk bytes of wire per write.
        Returns False once the peer is gone.
        """
        head = struct.pack("!BB", 0x81, size) if size < 126 else None
        for i in range(0, len(data), chunk):
            piece = data[i:i + chunk]
            if head is not None and len(piece) % size == 0:
                wire = b"".join(head + piece[j:j + size]
                                for j in range(0, len(piece), size))
                self.send_wire(wire)
            else:
                for j in range(0, len(piece), size):
                    self.send_raw(piece[j:j + size])
            if self.closed:
                return False
        return True

    def send_frames(self, frames, per_message=100):
        """Write encoded STOMP frames, per_message of them to a message."""
        for i in range(0, len(frames), per_message):
            self.send_raw(b"".join(frames[i:i + per_message]))
            if self.closed:
                return False
        return True

    def close(self):
        """Hang up at once (no close handshake)."""
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    # ------------------------------------------------------------- input
    def _read_exact(self, n):
        while len(self._buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self._buf += chunk
        out, self._buf = self._buf[:n], self._buf[n:]
        return out

    def _ws_message(self):
        b0, b1 = self._read_exact(2)
        opcode, n = b0 & 0x0F, b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read_exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read_exact(8))[0]
        mask = self._read_exact(4) if b1 & 0x80 else b"\0\0\0\0"
        data = bytes(c ^ mask[i % 4] for i, c in enumerate(self._read_exact(n)))
        return opcode, data

    def _handshake(self):
        req = b""
        while b"\r\n\r\n" not in req:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError
            req += chunk
        head, self._buf = req.split(b"\r\n\r\n", 1)
        key = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        self.request = head.decode("latin-1")
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        self.sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\n"
                          b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                          b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")

    def run(self):
        stomp = b""
        try:
            self._handshake()
            while not self.closed:
                opcode, data = self._ws_message()
                if opcode == 0x9:               # ping: pong, as RFC 6455 says
                    self.pings += 1
                    if self.server.pong:
                        self._ws_write(0xA, data)
                    continue
                if opcode == 0x8:
                    break
                stomp += data
                while True:
                    stomp = stomp.lstrip(b"\r\n")
                    end = stomp.find(b"\0")
                    if end == -1:
                        break
                    f = _parse(stomp[:end])
                    stomp = stomp[end + 1:]
                    self.frames.append(f)
                    self.server.on_frame(self, f)
        except (EOFError, OSError, ValueError):
            pass
        finally:
            self.closed = True
            try:
                self.sock.close()
            except OSError:
                pass


def _parse(raw):
    """A STOMP frame without its NUL (bodies here never hold one)."""
    head, _, body = raw.partition(b"\n\n")
    lines = head.decode().split("\n")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if lines[0] not in ("CONNECT", "STOMP"):
            k, v = _unescape(k), _unescape(v)
        headers.setdefault(k, v)
    return Frame(lines[0], headers, body.decode(errors="replace"))


class FakeServer:
    """Listen on 127.0.0.1:0; on_frame(conn, frame) is the behaviour."""

    def __init__(self, on_frame, pong=True):
        self.on_frame = on_frame
        self.pong = pong
        self.connections = []
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.url = "ws://127.0.0.1:%d/ws/im" % self.port
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self._stop:
            try:
                s, _ = self.sock.accept()
            except OSError:
                return
            c = Conn(self, s)
            self.connections.append(c)
            threading.Thread(target=c.run, daemon=True).start()

    def stop(self):
        self._stop = True
        self.sock.close()
        for c in self.connections:
            c.close()


def connected(conn, user, extra=None):
    """Answer CONNECT as the vendor's server does (plus extra headers)."""
    h = {"version": "1.2", "heart-beat": "0,0", "user-name": user}
    h.update(extra or {})
    conn.send("CONNECTED", h)
