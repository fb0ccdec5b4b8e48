#!/usr/bin/python3
"""
The imgw command-line client against real daemons: every command's output
for people and with --json, exit statuses (0 ok, 1 failure, 2 usage), and
one-line errors on stderr.
"""
import json
import os
import re
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (IMGW, TestFailure, check, check_eq, run,  # noqa: E402
                     wait_for)


def ok(r, what):
    check_eq(r.returncode, 0, "%s: exit status (stderr %r)" % (what, r.stderr))
    return r.stdout


def one_line_error(r, status, what, contains=None):
    check_eq(r.returncode, status, "%s: exit status (stdout %r, stderr %r)"
             % (what, r.stdout, r.stderr))
    lines = r.stderr.strip().splitlines()
    check_eq(len(lines), 1, "%s: lines on stderr (%r)" % (what, r.stderr))
    check(lines[0].startswith("imgw: "), "%s: stderr starts with 'imgw: ': %r"
          % (what, lines[0]))
    if contains:
        check(contains in lines[0], "%s: stderr mentions %r: %r"
              % (what, contains, lines[0]))
    check_eq(r.stdout, "", "%s: nothing on stdout" % what)


def test_cli_commands(env):
    srv, alice, bob = env.pair()

    # status, for people and for programs
    out = ok(alice.cli("status"), "imgw status")
    check(re.search(r"^state:\s+online$", out, re.M), "status shows online: %r" % out)
    check(re.search(r"^user:\s+alice$", out, re.M), "status shows alice: %r" % out)
    check(srv.url in out, "status shows the upstream: %r" % out)
    st = json.loads(ok(alice.cli("--json", "status"), "imgw --json status"))
    check_eq((st["state"], st["user"], st["upstream"], st["appId"]),
             ("online", "alice", srv.url, "ak_demo_chat"), "imgw --json status")

    # The default socket comes from $IMGW_SOCKET.
    r = subprocess.run([IMGW, "--json", "status"], capture_output=True,
                       text=True, timeout=20,
                       env=dict(os.environ, IMGW_SOCKET=bob.sock))
    check_eq(json.loads(ok(r, "imgw status via IMGW_SOCKET"))["user"], "bob",
             "user via IMGW_SOCKET")

    # A listener started first sees everything that follows.
    listen_out = env.path("listen.out")
    with open(listen_out, "wb") as f:
        listener = subprocess.Popen([IMGW, "-s", bob.sock, "--json", "listen",
                                     "--since", "0"], stdout=f,
                                    stderr=subprocess.STDOUT)
    try:
        # send: prints the id; --json prints {id, status}
        out = ok(alice.cli("send", "bob", "命令行你好"), "imgw send")
        mid = out.strip()
        check(re.fullmatch(r"[0-9a-f]{32}", mid), "imgw send prints an id: %r" % out)
        r = json.loads(ok(alice.cli("--json", "send", "bob", "第二条"),
                          "imgw --json send"))
        check(r["status"] in ("SENDING", "SENT") and r["id"],
              "imgw --json send result: %r" % r)
        mid2 = r["id"]
        # --id: the caller's id; the same id again is the same message.
        out = ok(alice.cli("send", "--id", "cli-msg-1", "bob", "第三条"),
                 "imgw send --id")
        check_eq(out.strip(), "cli-msg-1", "id printed by imgw send --id")
        out = ok(alice.cli("send", "--id", "cli-msg-1", "bob", "第三条"),
                 "imgw send --id again")
        check_eq(out.strip(), "cli-msg-1", "id printed by a repeated send --id")
        ids = [mid, mid2, "cli-msg-1"]

        def bob_has_all():
            h = json.loads(ok(bob.cli("--json", "history", "alice"),
                              "bob's imgw --json history"))
            got = [m["id"] for m in h["messages"]]
            return all(i in got for i in ids) and h
        h = wait_for(bob_has_all, "bob's history to have the 3 messages")
        got = [m["id"] for m in h["messages"]]
        check_eq(got, ids, "ids in bob's history (each once, in order)")
        check_eq([m["content"] for m in h["messages"]],
                 ["命令行你好", "第二条", "第三条"], "contents in bob's history")
        check_eq(h["more"], False, "more in bob's history")

        def listened():
            with open(listen_out, encoding="utf-8", errors="replace") as f:
                lines = [json.loads(x) for x in f.read().splitlines() if x]
            new = [e["message"]["id"] for e in lines if e["type"] == "message.new"]
            return all(i in new for i in ids) and lines
        lines = wait_for(listened, "imgw listen --json to print the 3 messages")
        check_eq([e["seq"] for e in lines], list(range(1, len(lines) + 1)),
                 "seqs printed by imgw listen --since 0")
    finally:
        listener.send_signal(signal.SIGTERM)
        listener.wait(10)

    # history for people, oldest first, with paging hint
    wait_for(lambda: all(m["status"] == "SENT" for m in alice.history("bob")),
             "alice's messages to be SENT")
    out = ok(alice.cli("history", "bob"), "imgw history")
    lines = out.splitlines()
    check_eq(len(lines), 3, "lines of imgw history (%r)" % out)
    for line, text, i in zip(lines, ["命令行你好", "第二条", "第三条"], ids):
        check("alice -> bob" in line and text in line and i in line,
              "history line for %s: %r" % (i, line))
        check("[" not in line, "a SENT message has no status mark: %r" % line)
    out = ok(alice.cli("history", "bob", "--limit", "1"), "imgw history --limit 1")
    check("第三条" in out and "第二条" not in out, "--limit 1 shows the newest: %r"
          % out)
    check("--before %s" % "cli-msg-1" in out, "--limit 1 says how to page: %r" % out)
    out = ok(alice.cli("history", "bob", "--limit", "5", "--before", "cli-msg-1"),
             "imgw history --before")
    check("第二条" in out and "第三条" not in out, "--before pages back: %r" % out)

    # revoke: the sender may; the other side gets a one-line refusal.
    r = bob.cli("revoke", mid)
    one_line_error(r, 1, "bob revoking alice's message", "forbidden")
    out = ok(alice.cli("revoke", mid), "imgw revoke")
    check_eq(out.strip(), "revoked %s" % mid, "imgw revoke output")
    wait_for(lambda: "(revoked)" in bob.cli("history", "alice").stdout,
             "bob's history to show the revoke")
    out = bob.cli("history", "alice").stdout
    check("命令行你好" not in out, "revoked text is gone from bob's history: %r" % out)

    # call: any method with a JSON object; errors are one line, status 1.
    m = json.loads(ok(alice.cli("call", "message.get", json.dumps({"id": mid2})),
                      "imgw call message.get"))
    check_eq(m["message"]["content"], "第二条", "imgw call message.get result")
    one_line_error(alice.cli("call", "no.such.method", "{}"), 1,
                   "imgw call of an unknown method", "no_such_method")
    one_line_error(alice.cli("call", "message.history", "{}"), 1,
                   "imgw call with a missing argument", "bad_params")
    out = ok(alice.cli("methods"), "imgw methods")
    check("message.send" in out and "events.subscribe" in out,
          "imgw methods lists methods: %r" % out)

    # Usage errors: status 2.
    one_line_error(alice.cli("frobnicate"), 2, "unknown command", "frobnicate")
    one_line_error(alice.cli("send", "bob"), 2, "send with one argument")
    one_line_error(alice.cli("history", "bob", "--limit", "0"), 2,
                   "history --limit 0", "--limit")
    r = env.cli()
    check_eq(r.returncode, 2, "imgw without a command: exit status")
    check("usage:" in r.stderr, "imgw without a command prints usage on stderr")
    r = env.cli("--help")
    check_eq(r.returncode, 0, "imgw --help: exit status")
    check("usage:" in r.stdout, "imgw --help prints usage on stdout")

    # No daemon: one line, non-zero, whatever the command.
    missing = env.path("nowhere", "imgwd.sock")
    for args in (["status"], ["send", "bob", "hi"], ["history", "bob"],
                 ["frobnicate"]):
        r = env.cli("-s", missing, *args)
        check(r.returncode != 0, "imgw %s without a daemon: exit status %d"
              % (args[0], r.returncode))
        one_line_error(r, r.returncode, "imgw %s without a daemon" % args[0])
        check(missing in r.stderr or "No such file" in r.stderr,
              "the error names the socket or the cause: %r" % r.stderr)

    # reconnect: answers at once, and the session comes back by itself.
    r = json.loads(ok(alice.cli("reconnect"), "imgw reconnect"))
    check("state" in r, "imgw reconnect prints the state: %r" % r)
    alice.wait_online()

    # A daemon that stops: a running listen ends with status 1, one line;
    # later commands fail the same way.
    subs = bob.log().count("events.subscribe")
    with open(env.path("listen2.out"), "wb") as f, \
            open(env.path("listen2.err"), "wb") as ferr:
        listener = subprocess.Popen([IMGW, "-s", bob.sock, "listen"],
                                    stdout=f, stderr=ferr)
    try:
        wait_for(lambda: bob.log().count("events.subscribe") > subs,
                 "imgw listen to subscribe")
        heard = alice.call("message.send", user="bob", text="听到了吗")["id"]

        def printed():
            with open(env.path("listen2.out"), encoding="utf-8") as f:
                return [x for x in f.read().splitlines() if heard in x]
        lines = wait_for(printed, "imgw listen to print the new message")
        check(lines[0].startswith("[") and "new message:" in lines[0] and
              "alice -> bob" in lines[0] and "听到了吗" in lines[0],
              "imgw listen's line for a new message: %r" % lines[0])
        bob.stop()
        try:
            rc = listener.wait(10)
        except subprocess.TimeoutExpired:
            raise TestFailure("imgw listen did not end when the daemon stopped")
    finally:
        if listener.poll() is None:
            listener.kill()
            listener.wait()
    check_eq(rc, 1, "exit status of imgw listen when the daemon stops")
    with open(env.path("listen2.err")) as f:
        err = f.read()
    check_eq(len(err.strip().splitlines()), 1,
             "lines on stderr from imgw listen (%r)" % err)
    one_line_error(bob.cli("status"), 1, "imgw status after the daemon stopped")


if __name__ == "__main__":
    run()
