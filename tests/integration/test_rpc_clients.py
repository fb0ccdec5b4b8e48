#!/usr/bin/python3
"""
The client examples against a live gateway pair (imserver, alice, bob): the
Python and Node.js demos (on the imgw packages in bindings/) send to bob,
read the history and listen for events; both packages call, fail with code
and message, pipeline, and follow the event stream; the default socket path
is found as RPC.md says; and a C program pipelines 10,000 rpc.ping calls
through libimgw's imgw_call_async. The packages' own suites are
test_python_binding.py and test_node_binding.py.
"""
import json
import os
import secrets
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (BUILD, ROOT, TestFailure, check, check_eq,  # noqa: E402
                     run, wait_for)

PY_DIR = os.path.join(ROOT, "examples", "python")
NODE_DIR = os.path.join(ROOT, "examples", "node")
PY_DEMO = [sys.executable, os.path.join(PY_DIR, "demo.py")]
NODE_DEMO = ["node", os.path.join(NODE_DIR, "demo.js")]
DEMOS = (("python", PY_DEMO), ("node", NODE_DEMO))

# The Python package from this checkout; the Node one as the example
# installs it (npm ci in examples/node copies bindings/node).
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import imgw  # noqa: E402
NODE_PKG = os.path.join(NODE_DIR, "node_modules", "imgw", "index.js")


def need_node():
    """Fail clearly if the Node example's dependency is not installed."""
    check(os.path.isfile(NODE_PKG), "%s is missing: run make check (it runs "
          "npm ci in examples/node)" % NODE_PKG)


class Demo:
    """A demo running in the background; its stdout lines are collected."""

    def __init__(self, argv, env=None):
        self.argv = argv
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True, env=env)
        self.lines = []
        self.err = ""
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_line(self, prefix, what):
        def look():
            for ln in self.lines:
                if ln.startswith(prefix):
                    return ln
            if self.p.poll() is not None:
                raise TestFailure("%s exited with %s before printing %r: %r %r"
                                  % (what, self.p.returncode, prefix,
                                     self.lines, self.p.stderr.read()))
            return None
        return wait_for(look, "%s to print %r" % (what, prefix))

    def finish(self, what, timeout=20):
        """Wait for the exit; (status, stdout lines, stderr)."""
        try:
            self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise TestFailure("%s did not finish within %ds: %r" % (
                what, timeout, self.lines))
        self.t.join(5)
        self.err = self.p.stderr.read()
        return self.p.returncode, self.lines, self.err

    def kill(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()


def events_of(lines):
    return [json.loads(ln[len("event "):]) for ln in lines
            if ln.startswith("event ")]


def run_demo(argv, what, timeout=20, env=None):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, env=env)
    check_eq(r.returncode, 0, "%s exit status (stdout %r, stderr %r)"
             % (what, r.stdout, r.stderr))
    return r.stdout.splitlines()


def check_sender_output(lines, text, what):
    """The output of a demo that sent text to bob and listened for 2 events."""
    sent = [ln.split()[1] for ln in lines if ln.startswith("sent ")]
    check(len(sent) == 1, "%s printed one 'sent ID' line: %r" % (what, lines))
    hist = [ln for ln in lines if ln.startswith("history bob ")]
    check(len(hist) == 1, "%s printed a history line: %r" % (what, lines))
    check(any(ln.startswith("  alice: %s (" % text) for ln in lines),
          "%s's history shows %r: %r" % (what, text, lines))
    evs = events_of(lines)
    check_eq([(e["type"], (e.get("message") or {}).get("id", e.get("id")))
              for e in evs], [("message.new", sent[0]),
                              ("message.status", sent[0])],
             "%s's events (topics message)" % what)
    check_eq(evs[0]["message"]["content"], text, "%s's message.new content" % what)
    check(evs[1]["status"] in ("SENT", "FAILED"), "%s's status event: %r"
          % (what, evs[1]))
    check_eq(evs[1]["status"], "SENT", "%s's message status" % what)
    return sent[0]


# ---------------------------------------------------------------- demos

def test_demos_send_read_history_and_listen(env):
    need_node()
    srv, alice, bob = env.pair()
    listeners = []
    try:
        for name, demo in DEMOS:
            d = Demo(demo + ["--socket", bob.sock, "--count", "2", "--topics",
                             "message.new", "--timeout", "30"])
            d.wait_line("subscribed ", "the %s listener on bob" % name)
            listeners.append((name, d))

        texts, ids = {}, {}
        for name, demo in DEMOS:
            texts[name] = "from the %s demo: 你好 %s" % (name, secrets.token_hex(4))
            lines = run_demo(demo + ["--socket", alice.sock, "--to", "bob",
                                     "--text", texts[name], "--count", "2",
                                     "--topics", "message", "--timeout", "20"],
                             "the %s demo sending" % name)
            ids[name] = check_sender_output(lines, texts[name],
                                            "the %s demo" % name)

        # bob's history has both texts, from alice, in order.
        got = wait_for(lambda: [m for m in bob.history("alice")
                                if m["id"] in ids.values()] if len(
                                    [m for m in bob.history("alice")
                                     if m["id"] in ids.values()]) == 2 else None,
                       "bob to have both demo messages")
        check_eq([(m["id"], m["from"], m["content"]) for m in got],
                 [(ids[n], "alice", texts[n]) for n, _ in DEMOS],
                 "bob's history")

        # Each listener printed bob's two message.new events.
        for name, d in listeners:
            rc, lines, err = d.finish("the %s listener" % name)
            check_eq(rc, 0, "the %s listener's exit status (stderr %r)"
                     % (name, err))
            evs = events_of(lines)
            check_eq([(e["type"], e["message"]["id"], e["message"]["from"],
                       e["message"]["content"]) for e in evs],
                     [("message.new", ids[n], "alice", texts[n])
                      for n, _ in DEMOS],
                     "events the %s listener on bob printed" % name)
            check_eq(evs[1]["seq"], evs[0]["seq"] + 1,
                     "the %s listener's seqs" % name)

        # Replay with --since: both demos print the same events again.
        first = events_of(listeners[0][1].lines)[0]["seq"] - 1
        seen = {}
        for name, demo in DEMOS:
            seen[name] = events_of(run_demo(
                demo + ["--socket", bob.sock, "--since", str(first), "--count",
                        "2", "--topics", "message.new", "--timeout", "10"],
                "the %s demo replaying" % name))
        check_eq(seen["node"], seen["python"], "the two demos' replays")
        check_eq([e["message"]["id"] for e in seen["python"]],
                 [ids[n] for n, _ in DEMOS], "replayed message.new events")
    finally:
        for _, d in listeners:
            d.kill()


def test_demo_errors_and_usage(env):
    need_node()
    srv = env.server()
    alice = env.gateway("alice", srv)
    for name, demo in DEMOS:
        r = subprocess.run(demo + ["--socket", alice.sock, "--to", "bad id!",
                                   "--text", "x"], capture_output=True,
                           text=True, timeout=20)
        check_eq(r.returncode, 1, "%s demo exit status for a bad id (stderr %r)"
                 % (name, r.stderr))
        check(r.stderr.startswith("demo: bad_params: "),
              "%s demo says the error code: %r" % (name, r.stderr))
        r = subprocess.run(demo + ["--socket", env.path("nothing.sock")],
                           capture_output=True, text=True, timeout=20)
        check_eq(r.returncode, 1, "%s demo exit status without a daemon" % name)
        check("cannot reach imgwd" in r.stderr, "%s demo says it cannot reach "
              "imgwd: %r" % (name, r.stderr))
        r = subprocess.run(demo + ["--help"], capture_output=True, text=True,
                           timeout=20)
        check(r.returncode == 0 and "--socket" in r.stdout and
              "--count" in r.stdout, "%s demo --help: %r" % (name, r))


def test_default_socket_path(env):
    """$IMGW_SOCKET, else $XDG_RUNTIME_DIR/imgw/imgwd.sock, else /tmp/imgw-UID."""
    need_node()
    srv = env.server()
    xdg = env.path("xdg")
    os.mkdir(xdg, 0o700)
    alice = env.gateway("alice", srv,
                        sock=os.path.join(xdg, "imgw", "imgwd.sock"))
    bob = env.gateway("bob", srv)
    base = {k: v for k, v in os.environ.items()
            if k not in ("IMGW_SOCKET", "XDG_RUNTIME_DIR")}
    cases = (
        ("IMGW_SOCKET", dict(base, IMGW_SOCKET=bob.sock,
                             XDG_RUNTIME_DIR=xdg), bob.sock),
        ("XDG_RUNTIME_DIR", dict(base, XDG_RUNTIME_DIR=xdg), alice.sock),
        ("neither", dict(base), "/tmp/imgw-%d/imgwd.sock" % os.getuid()),
    )
    node_path = ("import(%r).then((m) => console.log(m.socketPath()));"
                 % NODE_PKG)
    py_path = ("import sys; sys.path.insert(0, %r); import imgw; "
               "print(imgw.socket_path())"
               % os.path.join(ROOT, "bindings", "python"))
    for what, environ, want in cases:
        for name, argv in (("python", [sys.executable, "-c", py_path]),
                           ("node", ["node", "-e", node_path])):
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=20, env=environ)
            check_eq(r.stdout.strip(), want, "%s default socket with %s "
                     "(stderr %r)" % (name, what, r.stderr))
        if what == "neither":
            continue
        # And the demos, without --socket, reach that daemon (its log names
        # the demo's pid).
        gw = bob if what == "IMGW_SOCKET" else alice
        for name, demo in DEMOS:
            p = subprocess.Popen(demo + ["--to", "carol"], env=environ,
                                 stdin=subprocess.DEVNULL, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            out, err = p.communicate(timeout=20)
            check_eq((p.returncode, out), (0, "history carol 0\n"),
                     "%s demo with %s (stderr %r)" % (name, what, err))
            wait_for(lambda: "connected (pid %d)" % p.pid in gw.log(),
                     "%s's log to show the %s demo (pid %d)"
                     % (gw.user, name, p.pid))


# ---------------------------------------------------------------- libraries

def test_python_library(env):
    srv, alice, bob = env.pair()
    gw = imgw.connect(alice.sock)
    try:
        check_eq(gw.call("rpc.ping"), "pong", "call rpc.ping")
        check_eq(gw.client.hello(name="lib")["version"], "1.0",
                 "client.hello version")
        for method, args, code in (("message.get", {"id": "nope"}, "not_found"),
                                   ("no.such.method", {}, "no_such_method"),
                                   ("message.send", {"user": "bob"}, "bad_params")):
            try:
                r = gw.call(method, **args)
                raise TestFailure("%s %r answered %r" % (method, args, r))
            except imgw.ImgwError as e:
                check_eq(e.code, code, "code of %s %r" % (method, args))
                check(isinstance(e.message, str) and e.message,
                      "message of %s: %r" % (method, e.message))

        # Pipelined: futures and callbacks, 2,000 in flight at once.
        answered = []
        done = threading.Event()

        def cb(err, res):
            answered.append((err, res))
            if len(answered) == 2000:
                done.set()
        futs = [gw.call_async("rpc.ping", callback=cb) for _ in range(2000)]
        check_eq([f.result(20) for f in futs], ["pong"] * 2000,
                 "results of 2,000 pipelined pings")
        check(done.wait(10), "every callback ran: %d" % len(answered))
        check_eq(answered, [(None, "pong")] * 2000, "callback arguments")
        bad = gw.call_async("message.get", id="nope")
        check_eq(getattr(bad.exception(10), "code", None), "not_found",
                 "a failed future's exception")

        # Events: a replay with topics, then live ones.
        it = gw.listen(since=0, topics=["session.state"], timeout=10)
        states = [next(it)["state"] for _ in range(3)]
        it.close()
        check_eq(states, ["connecting", "syncing", "online"],
                 "session.state events replayed since 0")
        it = gw.listen(topics=["message"], timeout=10)
        mid = gw.message.send(user="bob", text="lib")["id"]
        ev = next(it)
        check(ev and ev["type"] == "message.new" and ev["seq"] > it.head and
              ev["message"]["id"] == mid, "the live message.new: %r" % ev)
        ev = next(it)
        check(ev and ev["type"] == "message.status" and ev["id"] == mid,
              "the live message.status: %r" % ev)
        it.close()
    finally:
        gw.close()
    try:
        gw.call("rpc.ping")
        raise TestFailure("a call after close succeeded")
    except imgw.ConnectionClosed as e:
        check_eq(e.code, "io", "code after close")

    # The daemon going away fails waiting calls and ends the event stream.
    gw = imgw.connect(alice.sock)
    got = []
    t = threading.Thread(target=lambda: got.extend(gw.listen()))
    t.start()
    wait_for(lambda: any(c["subscribed"] for c in
                         alice.call("client.list")["clients"]),
             "the library's subscription")
    alice.stop()
    t.join(10)
    check(not t.is_alive(), "the events iterator ended when imgwd stopped")
    check(isinstance(gw.closed, imgw.ConnectionClosed),
          "closed says why: %r" % gw.closed)
    gw.close()


NODE_LIB_SCRIPT = r"""
const { connect, ImgwError, ConnectionClosed } = await import(process.argv[1]);
const out = {};
const gw = await connect({ path: process.argv[2] });
out.ping = await gw.call('rpc.ping');
out.errors = [];
for (const [m, a] of [['message.get', { id: 'nope' }], ['no.such.method', {}],
                      ['message.send', { user: 'bob' }]]) {
  try { await gw.call(m, a); out.errors.push('answered'); }
  catch (e) { out.errors.push([e instanceof ImgwError, e.code, typeof e.message]); }
}
let callbacks = 0;
const ps = [];
for (let i = 0; i < 2000; i++)
  ps.push(gw.rpc.ping().then((res) => { if (res === 'pong') callbacks++; return res; }));
const res = await Promise.all(ps);
out.pipelined = res.filter((r) => r === 'pong').length;
out.callbacks = callbacks;
out.states = [];
for await (const ev of gw.listen({ since: 0, topics: ['session.state'], timeout: 10000 })) {
  out.states.push(ev.state);
  if (out.states.length === 3) break;
}
const live = [];
const stream = gw.listen({ topics: ['message'], timeout: 10000 });
const head = await stream.head;
const sent = await gw.message.send({ user: 'bob', text: 'node lib' });
for await (const ev of stream) {
  live.push([ev.type, ev.seq > head, (ev.message || {}).id || ev.id]);
  if (live.length === 2) break;
}
out.live = live;
out.sent = sent.id;
gw.close();
try { await gw.call('rpc.ping'); out.afterClose = 'answered'; }
catch (e) { out.afterClose = [e instanceof ConnectionClosed, e.code]; }
console.log(JSON.stringify(out));
"""


def test_node_library(env):
    need_node()
    srv, alice, bob = env.pair()
    r = subprocess.run(["node", "--input-type=module", "-e", NODE_LIB_SCRIPT,
                        NODE_PKG, alice.sock],
                       capture_output=True, text=True, timeout=60)
    check_eq(r.returncode, 0, "the node script's exit status (stderr %r)"
             % r.stderr)
    out = json.loads(r.stdout)
    check_eq(out["ping"], "pong", "call rpc.ping")
    check_eq(out["errors"], [[True, "not_found", "string"],
                             [True, "no_such_method", "string"],
                             [True, "bad_params", "string"]],
             "errors: (ImgwError, code, typeof message)")
    check_eq((out["pipelined"], out["callbacks"]), (2000, 2000),
             "2,000 pipelined pings: results and then-callbacks")
    check_eq(out["states"], ["connecting", "syncing", "online"],
             "session.state events replayed since 0")
    check_eq(out["live"], [["message.new", True, out["sent"]],
                           ["message.status", True, out["sent"]]],
             "live events after sending")
    check_eq(out["afterClose"], [True, "io"], "a call after close")


# ---------------------------------------------------------------- C

def test_c_library_pipelines_10000_pings(env):
    exe = env.path("pipeline")
    libs = subprocess.run(["pkg-config", "--libs", "msgpack", "jansson"],
                          capture_output=True, text=True, timeout=20)
    check_eq(libs.returncode, 0, "pkg-config --libs msgpack jansson")
    cc = subprocess.run(["cc", "-std=c11", "-D_GNU_SOURCE", "-O2", "-Wall",
                         "-Wextra", "-Werror", "-I", os.path.join(ROOT, "client-lib"),
                         "-o", exe, os.path.join(ROOT, "tests", "c", "pipeline.c"),
                         os.path.join(BUILD, "libimgw.a")] + libs.stdout.split(),
                        capture_output=True, text=True, timeout=120)
    check_eq(cc.returncode, 0, "compiling tests/c/pipeline.c against "
             "build/libimgw.a (%s)" % cc.stderr)
    srv, alice, bob = env.pair()
    t0 = time.monotonic()
    r = subprocess.run([exe, alice.sock, "10000"], capture_output=True,
                       text=True, timeout=90)
    check_eq(r.returncode, 0, "pipeline exit status (stdout %r, stderr %r)"
             % (r.stdout, r.stderr))
    check("10000 calls, 10000 answers, 0 missing, 0 answered more than once"
          in r.stdout, "pipeline's summary: %r" % r.stdout)
    check(time.monotonic() - t0 < 60, "took %.1fs" % (time.monotonic() - t0))
    check_eq(alice.call("rpc.ping"), "pong", "the daemon afterwards")


if __name__ == "__main__":
    run()
