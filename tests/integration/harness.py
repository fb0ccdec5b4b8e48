"""
harness: what every integration scenario shares. Starts REAL processes
(imserver, imgwd, the imgw CLI) on loopback in a private temporary directory,
speaks MessagePack-RPC to imgwd's Unix socket, waits on conditions with
timeouts and short polling (never fixed sleeps), and reports one line per test
case: "ok NAME", "FAIL NAME" followed by indented detail, or
"skip NAME: REASON" when a case called skip().

Only the standard library and python3-msgpack (Debian) are used.
"""
import base64
import collections
import ctypes
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.environ.get("IMGW_BUILD", os.path.join(ROOT, "build"))
IMSERVER = os.path.join(BUILD, "imserver")
IMGWD = os.path.join(BUILD, "imgwd")
IMGW = os.path.join(BUILD, "imgw")

POLL = 0.02		# seconds between two looks at a condition
TIMEOUT = 10.0		# default wait for a condition
STOP_TIMEOUT = 5.0	# how long SIGTERM may take before SIGKILL


class TestFailure(AssertionError):
    """A check failed; the message says what was expected and what was seen."""


class RpcError(Exception):
    """The daemon answered a request with an error object {code, message}."""

    def __init__(self, code, message, raw=None):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message
        self.raw = raw


class ConnectionClosed(Exception):
    """The daemon closed the connection."""


class Skip(Exception):
    """The running case cannot run on this machine; the message says why."""


# ---------------------------------------------------------------- checks

def check(cond, what):
    """Fail with what unless cond is true."""
    if not cond:
        raise TestFailure(what)


def skip(reason):
    """
    End the running case as skipped: tests/run counts "skip NAME: reason" as
    a skip, never as a pass. Only for what this machine lacks (a tool
    scripts/install-deps installs), never for a check that failed.
    """
    raise Skip(reason)


def check_eq(actual, expected, what):
    """Fail unless actual == expected, showing both."""
    if actual != expected:
        raise TestFailure("%s: expected %r, got %r" % (what, expected, actual))


def expect_rpc_error(code, what, fn, *args, **kw):
    """Call fn and check it raises RpcError with this code; returns the error."""
    try:
        r = fn(*args, **kw)
    except RpcError as e:
        check_eq(e.code, code, "%s: error code (message %r)" % (what, e.message))
        return e
    raise TestFailure("%s: expected error %r, got result %r" % (what, code, r))


def wait_for(cond, what, timeout=TIMEOUT, interval=POLL):
    """
    Poll cond() every interval seconds until it returns something true and
    return that, or fail after timeout seconds naming what was awaited.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = cond()
        if v:
            return v
        if time.monotonic() >= deadline:
            raise TestFailure("timed out after %.1fs waiting for %s"
                              % (timeout, what))
        time.sleep(interval)


def hold_for(cond, seconds, what, interval=POLL):
    """
    Check that cond() stays true for the whole window (a "nothing bad happens"
    observation, not a wait for an event); fail as soon as it turns false.
    what is the failure message, or a function returning it (called then).
    """
    deadline = time.monotonic() + seconds
    while True:
        if not cond():
            raise TestFailure(what() if callable(what) else what)
        if time.monotonic() >= deadline:
            return
        time.sleep(interval)


def wait_until_time(t, interval=POLL):
    """Poll the wall clock until it reaches t (Unix seconds)."""
    while time.time() < t:
        time.sleep(min(interval, max(0.0, t - time.time())))


def token_expiry(token):
    """The expiry (Unix seconds) inside a token (UPSTREAM.md: Tokens)."""
    payload = token.split(".", 1)[0]
    payload += "=" * (-len(payload) % 4)
    return int(base64.urlsafe_b64decode(payload).decode().split("\n")[2])


def rss_kib(pid):
    """Resident set size of a process, KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _pdeathsig():
    """Child side: die if the test script dies, so nothing is left behind."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except OSError:
        pass


# ---------------------------------------------------------------- RPC client

class Rpc:
    """
    A MessagePack-RPC connection to imgwd's socket: call() for requests,
    subscribe() and wait_event() for the event stream. Every event received is
    kept in self.events (in arrival order); other notifications (such as the
    daemon's "error" before it hangs up) in self.notifications.
    """

    def __init__(self, path, timeout=TIMEOUT):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False,
                                         max_buffer_size=64 << 20)
        self.next_id = 1
        self.responses = {}
        self.events = []
        self.notifications = []
        self.closed = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        self.closed = True

    def send_raw(self, data):
        """Write bytes as they are; returns False if the daemon hung up."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def request(self, method, params):
        """Send [0, msgid, method, params]; returns the msgid."""
        msgid = self.next_id
        self.next_id += 1
        if not self.send_raw(msgpack.packb([0, msgid, method, params],
                                           use_bin_type=True)):
            raise ConnectionClosed("daemon closed the connection")
        return msgid

    def _take(self, obj):
        if not isinstance(obj, list) or not obj:
            self.notifications.append(obj)
            return
        if obj[0] == 1 and len(obj) == 4:
            self.responses[obj[1]] = (obj[2], obj[3])
        elif obj[0] == 2 and len(obj) == 3 and obj[1] == "event":
            for e in obj[2] if isinstance(obj[2], list) else []:
                self.events.append(e)
        else:
            self.notifications.append(obj)

    def pump(self, timeout):
        """Read what arrives within timeout seconds; False on EOF."""
        if self.closed:
            return False
        self.sock.settimeout(max(timeout, 0.001))
        try:
            data = self.sock.recv(1 << 16)
        except socket.timeout:
            return True
        except (ConnectionResetError, BrokenPipeError):
            data = b""
        if not data:
            self.closed = True
            return False
        self.unpacker.feed(data)
        for obj in self.unpacker:
            self._take(obj)
        return True

    def response(self, msgid, timeout=TIMEOUT):
        """Wait for the answer to msgid: (error, result)."""
        deadline = time.monotonic() + timeout
        while msgid not in self.responses:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("no answer to request %d within %.1fs"
                                  % (msgid, timeout))
            if not self.pump(min(left, 0.2)):
                if msgid in self.responses:
                    break
                raise ConnectionClosed("daemon closed the connection before "
                                       "answering request %d" % msgid)
        return self.responses.pop(msgid)

    def call_params(self, method, params, timeout=TIMEOUT):
        """A request with params exactly as given: (error, result)."""
        return self.response(self.request(method, params), timeout)

    def call(self, method, _timeout=TIMEOUT, **args):
        """Call method with named arguments; the result, or raise RpcError."""
        err, res = self.call_params(method, [args], _timeout)
        if err is not None:
            if isinstance(err, dict):
                raise RpcError(err.get("code"), err.get("message"), err)
            raise RpcError(None, repr(err), err)
        return res

    def subscribe(self, since=None):
        """events.subscribe; returns the head seq the daemon reported."""
        args = {} if since is None else {"since": since}
        return self.call("events.subscribe", **args)["seq"]

    def find_events(self, pred):
        return [e for e in self.events if pred(e)]

    def wait_event(self, pred, what, timeout=TIMEOUT):
        """Wait until an event matching pred has arrived; return the first."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events:
                if pred(e):
                    return e
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure("timed out after %.1fs waiting for event: %s"
                                  " (got types %s)" % (timeout, what,
                                  [e.get("type") for e in self.events][-20:]))
            if not self.pump(min(left, 0.2)):
                raise ConnectionClosed("connection closed while waiting for "
                                       "event: %s" % what)

    def wait_closed(self, timeout=TIMEOUT):
        """Whether the daemon closes the connection within timeout seconds."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self.pump(min(left, 0.2))
        return True


def is_msg_event(kind, msg_id):
    """A predicate for a message.* event about message msg_id."""
    def pred(e):
        if e.get("type") != kind:
            return False
        if kind == "message.status":
            return e.get("id") == msg_id
        return (e.get("message") or {}).get("id") == msg_id
    return pred


# ---------------------------------------------------------------- processes

class Proc:
    """A real child process with its output in a log file in the test directory."""

    def __init__(self, env, name, argv, log_path, environ=None):
        self.env = env
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.expect_exit = False	# the test itself stops or expects an exit
        with open(log_path, "ab") as logf:
            self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                      stdout=logf, stderr=logf,
                                      close_fds=True, cwd=env.dir,
                                      env=environ, preexec_fn=_pdeathsig)
        self.pid = self.p.pid
        env.procs.append(self)

    def alive(self):
        return self.p.poll() is None

    def returncode(self):
        return self.p.poll()

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def wait_exit(self, timeout=TIMEOUT):
        """Wait for the process to exit by itself; its status, or fail."""
        self.expect_exit = True
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("%s (pid %d) did not exit within %.1fs"
                              % (self.name, self.pid, timeout))

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; SIGKILL if it hangs (a failure). Its status."""
        self.expect_exit = True
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(timeout)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()
                raise TestFailure("%s (pid %d) ignored SIGTERM for %.1fs"
                                  % (self.name, self.pid, timeout))
        return self.p.returncode

    def kill(self):
        """SIGKILL (crash tests) and reap."""
        self.expect_exit = True
        if self.alive():
            self.p.kill()
        return self.p.wait()


class Server(Proc):
    """
    imserver on 127.0.0.1; port 0 picks a free one, read back from its log.
    args are more options (--cert/--key, --heartbeat), kept on restart.
    """

    def __init__(self, env, port=0, db=None, secret=None, verbose=True,
                 args=()):
        self.db = db or env.path("imserver.db")
        self.secret = secret or env.secret
        self.args = list(args)
        argv = [IMSERVER, "--listen", "127.0.0.1:%d" % port, "--db", self.db,
                "--secret-file", self.secret] + self.args + \
            (["-v"] if verbose else [])
        n = env.next_index("imserver")
        super().__init__(env, "imserver", argv, env.path("imserver.%d.log" % n))
        self.verbose = verbose
        self.port = wait_for(self._port, "imserver to print 'listening on'")

    def _port(self):
        for line in self.log().splitlines():
            if line.startswith("imserver: listening on "):
                return int(line.rsplit(":", 1)[1])
        if not self.alive():
            raise TestFailure("imserver exited with status %s before "
                              "listening" % self.returncode())
        return None

    @property
    def tls(self):
        return "--cert" in self.args

    @property
    def url(self):
        return "%s://127.0.0.1:%d/ws/im" % ("wss" if self.tls else "ws",
                                            self.port)

    def restart(self, timeout=TIMEOUT):
        """A new imserver on the same port, database, secret and options."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return Server(self.env, self.port, self.db, self.secret,
                              self.verbose, self.args)
            except TestFailure:
                # The old port may be briefly unavailable; say so if it stays.
                if time.monotonic() >= deadline:
                    raise
                time.sleep(0.1)


class Gateway:
    """
    One account's imgwd: its socket, database and token file, restartable on
    the same files. start() waits until the socket answers session.status.
    args are more options (--heartbeat, --ping-interval, --ca-file, ...).
    """

    def __init__(self, env, user, upstream, token, verbose=True, sock=None,
                 db=None, token_in_env=False, args=()):
        self.env = env
        self.user = user
        self.upstream = upstream
        self.args = list(args)
        self.verbose = verbose
        self.sock = sock or env.path(user, "imgwd.sock")
        self.db = db or env.path("%s.db" % user)
        # The token goes in a 0600 file, or (token_in_env) in IMGW_TOKEN.
        self.token_file = None if token_in_env else env.write_token(user, token)
        self.token = token
        self.proc = None
        self.starts = 0

    def replace_token(self, token):
        """Rewrite the token file in place (then SIGHUP makes imgwd re-read it)."""
        fd = os.open(self.token_file, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, (token + "\n").encode())
        finally:
            os.close(fd)
        self.token = token

    def replace_token_atomically(self, token):
        """Write a new token file beside the old one and rename it over it."""
        tmp = self.token_file + ".new"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, (token + "\n").encode())
        finally:
            os.close(fd)
        os.rename(tmp, self.token_file)
        self.token = token

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def argv(self):
        tok = ["--token-file", self.token_file] if self.token_file else []
        return [IMGWD, "--upstream", self.upstream] + tok + \
            ["--socket", self.sock, "--db", self.db] + self.args + \
            (["-v"] if self.verbose else [])

    def spawn(self):
        """Start the process without waiting for it (see start)."""
        self.starts += 1
        environ = None
        if self.token_file is None:
            environ = dict(os.environ, IMGW_TOKEN=self.token)
        self.proc = Proc(self.env, "imgwd[%s]" % self.user, self.argv(),
                         self.env.path("imgwd-%s.%d.log"
                                       % (self.user, self.starts)),
                         environ=environ)
        return self.proc

    def wait_ready(self, timeout=TIMEOUT):
        """Wait until the daemon answers on its socket."""
        def ready():
            if not self.proc.alive():
                raise TestFailure("imgwd for %s exited with status %s while "
                                  "starting" % (self.user, self.proc.returncode()))
            try:
                r = Rpc(self.sock, timeout=2)
            except OSError:
                return False
            try:
                r.call("session.status", _timeout=2)
                return True
            except (ConnectionClosed, OSError):
                return False
            finally:
                r.close()
        wait_for(ready, "imgwd for %s to answer on %s" % (self.user, self.sock),
                 timeout)
        return self

    def start(self):
        self.spawn()
        return self.wait_ready()

    def stop(self):
        rc = self.proc.stop()
        check_eq(rc, 0, "exit status of imgwd for %s after SIGTERM" % self.user)
        return rc

    def kill(self):
        return self.proc.kill()

    def restart(self):
        if self.proc is not None and self.proc.alive():
            self.stop()
        return self.start()

    @property
    def pid(self):
        return self.proc.pid

    def log(self):
        return self.proc.log()

    def rpc(self):
        """A new RPC connection, closed with the test."""
        r = Rpc(self.sock)
        self.env.rpcs.append(r)
        return r

    def call(self, method, **args):
        """One call on a short-lived connection."""
        r = Rpc(self.sock)
        try:
            return r.call(method, **args)
        finally:
            r.close()

    def status(self):
        return self.call("session.status")

    def wait_state(self, pred, what, timeout=TIMEOUT):
        """Wait until pred(session.status result); returns that result."""
        def look():
            st = self.status()
            return st if pred(st) else None
        return wait_for(look, "%s's session %s" % (self.user, what), timeout)

    def wait_online(self, timeout=TIMEOUT):
        return self.wait_state(lambda s: s["state"] == "online", "online",
                               timeout)

    def history(self, peer, limit=1000):
        return self.call("message.history", user=peer, limit=limit,
                         order="oldest")["messages"]

    def history_all(self, peer):
        """The whole conversation, paging back with before (oldest first)."""
        out, before = [], None
        while True:
            args = {"user": peer, "limit": 1000, "order": "oldest"}
            if before is not None:
                args["before"] = before
            page = self.call("message.history", **args)
            out = page["messages"] + out
            if not page["more"] or not page["messages"]:
                return out
            before = page["messages"][0]["id"]

    def cli(self, *args, timeout=20):
        """Run the imgw CLI against this daemon; a CompletedProcess (text)."""
        return self.env.cli("-s", self.sock, *args, timeout=timeout)


# ---------------------------------------------------------------- test directory

class Env:
    """One test's private directory, processes and connections."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="imgw-%s." % name)
        self.procs = []
        self.rpcs = []
        self.counters = collections.Counter()
        self.secret = self.write_private("secret", secrets.token_hex(32) + "\n")

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def next_index(self, what):
        self.counters[what] += 1
        return self.counters[what]

    def write_private(self, name, text):
        """Write a file readable by its owner only (0600) from the start."""
        p = self.path(name)
        fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, text.encode())
        finally:
            os.close(fd)
        return p

    def write_token(self, user, token):
        n = self.next_index("token-" + user)
        return self.write_private("%s.%d.token" % (user, n), token + "\n")

    def new_secret(self):
        n = self.next_index("secret")
        return self.write_private("secret.other.%d" % n,
                                  secrets.token_hex(32) + "\n")

    def token(self, user, ttl=None, secret=None):
        """A token from `imserver token` (printed on its stdout)."""
        argv = [IMSERVER, "token", "--secret-file", secret or self.secret]
        if ttl is not None:
            argv += ["--ttl", str(ttl)]
        argv.append(user)
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        check_eq(r.returncode, 0, "imserver token exit status (stderr %r)"
                 % r.stderr)
        tok = r.stdout.strip()
        check(tok and "\n" not in tok, "imserver token printed %r" % r.stdout)
        return tok

    def server(self, **kw):
        return Server(self, **kw)

    def gateway(self, user, server, token=None, start=True, **kw):
        """An imgwd for user with a fresh valid token, started (not yet online)."""
        gw = Gateway(self, user, server.url, token or self.token(user), **kw)
        if start:
            gw.start()
        return gw

    def pair(self, users=("alice", "bob")):
        """imserver and one online gateway per user."""
        srv = self.server()
        gws = [Gateway(self, u, srv.url, self.token(u)) for u in users]
        for g in gws:
            g.spawn()
        for g in gws:
            g.wait_ready()
            g.wait_online()
        return (srv,) + tuple(gws)

    def cli(self, *args, timeout=20):
        return subprocess.run([IMGW] + list(args), capture_output=True,
                              text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)

    def logs(self):
        """Every log file, oldest first."""
        names = [n for n in os.listdir(self.dir) if n.endswith(".log")]
        return sorted((self.path(n) for n in names), key=os.path.getmtime)

    # Lines the harness's own polling makes in imgwd's -v log: not news.
    NOISE = re.compile(r'level=debug prog=imgwd msg="client \d+ (connected '
                       r'\(pid|gone: closed")|level=debug prog=imgwd '
                       r'msg="client \d+: session\.status"$')

    def log_tails(self, lines=8):
        """The last lines of every log, without the harness's polling noise."""
        out = []
        for p in self.logs():
            with open(p, "rb") as f:
                text = f.read().decode("utf-8", "replace").splitlines()
            kept = [x for x in text if not self.NOISE.search(x)]
            out.append("--- %s (last %d of %d lines, polling noise left out)"
                       % (os.path.basename(p), min(lines, len(kept)), len(text)))
            out.extend(kept[-lines:])
        return out

    def teardown(self):
        """
        Close connections and stop every process still running (SIGTERM,
        then SIGKILL). Returns problems seen: a process that died without the
        test asking, or one that ignored SIGTERM.
        """
        problems = []
        for r in self.rpcs:
            r.close()
        for p in self.procs:
            if not p.alive():
                rc = p.returncode()
                if not p.expect_exit:
                    problems.append("%s (pid %d) exited unexpectedly with "
                                    "status %s" % (p.name, p.pid, rc))
                continue
            try:
                rc = p.stop()
                if rc != 0:
                    problems.append("%s (pid %d) exited with status %s on "
                                    "SIGTERM" % (p.name, p.pid, rc))
            except TestFailure as e:
                problems.append(str(e))
        return problems

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)


# ---------------------------------------------------------------- runner

def _on_sigterm(signum, frame):
    raise SystemExit("killed by signal %d" % signum)


def run(tests=None):
    """
    Run the test functions (default: this script's test_* functions in file
    order), each with a fresh Env; print "ok NAME" / "FAIL NAME" /
    "skip NAME: REASON" lines and exit 1 if any failed.
    """
    signal.signal(signal.SIGTERM, _on_sigterm)
    if tests is None:
        main = sys.modules["__main__"]
        tests = [v for k, v in vars(main).items()
                 if k.startswith("test_") and callable(v)]
    only = sys.argv[1:]
    if only:
        tests = [fn for fn in tests if _name(fn) in only]
    # tests/run counts cases that never reported (a crash) from this line.
    print("plan %d" % len(tests), flush=True)
    failed = passed = skipped = 0
    t_all = time.monotonic()
    for fn in tests:
        name = _name(fn)
        env = Env(name)
        t0 = time.monotonic()
        reason = None
        why_skip = None
        try:
            fn(env)
        except Skip as e:
            why_skip = str(e)
        except TestFailure as e:
            reason = [str(e)] + _where(e)
        except (KeyboardInterrupt, SystemExit) as e:
            # Interrupted (the runner's timeout): leave nothing running.
            env.teardown()
            print("FAIL %s" % name)
            print("    interrupted (%s); kept %s" % (e, env.dir), flush=True)
            raise
        except Exception as e:
            reason = ["%s: %s" % (type(e).__name__, e)] + \
                traceback.format_exc().rstrip().splitlines()
        problems = env.teardown()
        if reason is None and problems:
            reason = ["after the test: " + "; ".join(problems)]
        elif problems:
            reason.append("after the test: " + "; ".join(problems))
        dt = time.monotonic() - t0
        if reason is None and why_skip is not None:
            skipped += 1
            print("skip %s: %s" % (name, why_skip), flush=True)
            env.remove()
        elif reason is None:
            passed += 1
            print("ok %s" % name, flush=True)
            if os.environ.get("IMGW_KEEP"):
                print("    # %.2fs; kept %s" % (dt, env.dir), flush=True)
            else:
                print("    # %.2fs" % dt, flush=True)
                env.remove()
        else:
            failed += 1
            print("FAIL %s" % name, flush=True)
            for line in reason:
                print("    " + line)
            print("    # %.2fs; kept %s" % (dt, env.dir))
            for line in env.log_tails():
                print("    | " + line)
            sys.stdout.flush()
    print("# %s: %d passed, %d failed, %d skipped, %.2fs" % (
        os.path.basename(sys.argv[0]), passed, failed, skipped,
        time.monotonic() - t_all), flush=True)
    sys.exit(1 if failed else 0)


def _name(fn):
    """A case's name: its function's, without the test_ prefix."""
    n = fn.__name__
    return n[len("test_"):] if n.startswith("test_") else n


def _where(e):
    """The test-file lines of a failure's traceback (not the harness's)."""
    out = []
    for fs in traceback.extract_tb(e.__traceback__):
        if os.path.basename(fs.filename) != "harness.py":
            out.append("at %s:%d: %s" % (os.path.basename(fs.filename),
                                         fs.lineno, fs.line))
    return out
