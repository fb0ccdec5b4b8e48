#!/usr/bin/python3
"""
Tokens: a refused token (bad signature or expired) puts the session in
"auth_failed" without a reconnect storm; SIGHUP with a fixed token file
recovers; and a token never shows up in a log or on a command line.
"""
import json
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (IMGWD, Proc, check, check_eq,  # noqa: E402
                     hold_for, is_msg_event, run, token_expiry, wait_for,
                     wait_until_time)

WINDOW = 2.0	# seconds watched for reconnect attempts after the refusal


def ws_opens(srv):
    """WebSocket sessions imserver has accepted (-v log: 'open from')."""
    return sum(1 for line in srv.log().splitlines() if ": open from " in line)


def connecting_events(ev):
    return [e for e in ev.events
            if e.get("type") == "session.state" and e.get("state") == "connecting"]


def check_auth_failed_quietly(env, srv, gw, what):
    """gw ends up unauthorized and makes at most 2 attempts in all."""
    ev = gw.rpc()
    ev.subscribe(since=0)
    st = gw.wait_state(lambda s: s["state"] == "auth_failed", "auth_failed")
    check(st["reason"], "%s: session.status has a reason: %r" % (what, st))
    wait_for(lambda: "unauthorized" in srv.log(), "imserver to log the refusal")

    def quiet():
        ev.pump(0)
        return ws_opens(srv) <= 2 and len(connecting_events(ev)) <= 2 and \
            gw.status()["state"] == "auth_failed"
    hold_for(quiet, WINDOW, interval=0.1, what=lambda:
             "%s: reconnect storm or state change: %d WebSocket opens at the "
             "server, %d 'connecting' events, state %s" % (
                 what, ws_opens(srv), len(connecting_events(ev)),
                 gw.status()["state"]))
    check(ws_opens(srv) >= 1, "%s: imserver saw the attempt" % what)
    states = [(e["state"], e.get("reason")) for e in ev.events
              if e.get("type") == "session.state"]
    check(states and states[-1][0] == "auth_failed",
          "%s: the last session.state event is unauthorized: %r" % (what, states))

    r = gw.cli("status")
    check_eq(r.returncode, 0, "%s: imgw status exit status (stderr %r)"
             % (what, r.stderr))
    check("auth_failed" in r.stdout, "%s: imgw status shows unauthorized: %r"
          % (what, r.stdout))
    r = gw.cli("--json", "status")
    check_eq(r.returncode, 0, "%s: imgw --json status exit status" % what)
    check_eq(json.loads(r.stdout)["state"], "auth_failed",
             "%s: state in imgw --json status" % what)
    return ev


def test_wrong_token_gives_unauthorized_state_without_reconnect_storm(env):
    srv = env.server()
    bad = env.token("alice", secret=env.new_secret())
    gw = env.gateway("alice", srv, token=bad)
    check_auth_failed_quietly(env, srv, gw, "token signed by another secret")
    # Refusals are not sending errors: message.send still queues.
    r = gw.call("message.send", user="bob", text="排队")
    check_eq(r["status"], "SENDING", "message.send while unauthorized")


def test_expired_token_gives_unauthorized_state(env):
    srv = env.server()
    tok = env.token("alice", ttl=1)
    wait_until_time(token_expiry(tok) + 0.05)
    gw = env.gateway("alice", srv, token=tok)
    check_auth_failed_quietly(env, srv, gw, "expired token")
    check("expired" in srv.log(), "imserver logs why: expired")


def test_unauthorized_recovers_after_new_token_and_sighup(env):
    srv = env.server()
    gw = env.gateway("alice", srv, token=env.token("alice",
                                                   secret=env.new_secret()))
    gw.wait_state(lambda s: s["state"] == "auth_failed", "auth_failed")
    gw.replace_token(env.token("alice"))
    gw.signal(signal.SIGHUP)
    st = gw.wait_online()
    check_eq(st.get("user"), "alice", "user once online")


def test_token_never_in_logs_or_argv(env):
    srv, alice, bob = env.pair()
    ev = bob.rpc()
    ev.subscribe()
    mid = alice.call("message.send", user="bob", text="秘密")["id"]
    ev.wait_event(is_msg_event("message.new", mid), "bob's message.new")
    alice.call("message.revoke", id=mid)
    # A reconnect and a token reload also go through the logging paths.
    alice.call("session.reconnect")
    alice.signal(signal.SIGHUP)
    wait_for(lambda: "SIGHUP" in alice.log(), "alice's daemon to log SIGHUP")
    alice.wait_online()
    # Connection failures and the reconnect after a server restart.
    srv.stop()
    alice.wait_state(lambda s: s["state"] != "online", "not online")
    wait_for(lambda: "cannot connect" in alice.log(),
             "alice's daemon to log a failed connection attempt")
    srv = srv.restart()
    alice.wait_online(timeout=20)
    bob.wait_online(timeout=20)
    # And a refused token, logged on both sides.
    other = env.token("carol", secret=env.new_secret())
    carol = env.gateway("carol", srv, token=other)
    carol.wait_state(lambda s: s["state"] == "auth_failed", "auth_failed")

    secrets_ = {"alice's token": alice.token, "bob's token": bob.token,
                "carol's token": other}
    with open(env.secret) as f:
        secrets_["imserver's secret"] = f.read().strip()
    for name, tok in list(secrets_.items()):
        if "." in tok:
            secrets_[name + " signature"] = tok.split(".", 1)[1]

    for gw in (alice, bob, carol):
        with open("/proc/%d/cmdline" % gw.pid, "rb") as f:
            argv = f.read().decode("utf-8", "replace").split("\0")
        check_eq(argv[0], IMGWD, "imgwd's argv[0]")
        for name, s in secrets_.items():
            check(s not in "\0".join(argv),
                  "%s appears on imgwd[%s]'s command line" % (name, gw.user))
        with open("/proc/%d/environ" % gw.pid, "rb") as f:
            environ = f.read().decode("utf-8", "replace")
        for name, s in secrets_.items():
            check(s not in environ, "%s in imgwd[%s]'s environment"
                  % (name, gw.user))
    with open("/proc/%d/cmdline" % srv.pid, "rb") as f:
        sargv = f.read().decode("utf-8", "replace")
    for name, s in secrets_.items():
        check(s not in sargv, "%s on imserver's command line" % name)

    # Stop everything so the logs are complete, then search them all.
    for gw in (alice, bob, carol):
        gw.stop()
    srv.stop()
    logs = env.logs()
    check(len(logs) >= 4, "log files to search: %r" % logs)
    for p in logs:
        with open(p, "rb") as f:
            text = f.read().decode("utf-8", "replace")
        for name, s in secrets_.items():
            check(s not in text, "%s appears in %s" % (name, os.path.basename(p)))
    check(any("debug" in open(p).read() for p in logs),
          "the logs were written with -v (debug lines present)")


def test_token_on_argv_is_refused_without_echo(env):
    srv = env.server()
    tok = env.token("alice")
    p = Proc(env, "imgwd[argv]", [IMGWD, "--upstream", srv.url, "--socket",
                                  env.path("a", "imgwd.sock"), "--db",
                                  env.path("a.db"), tok],
             env.path("imgwd-argv.log"))
    rc = p.wait_exit()
    check_eq(rc, 2, "exit status of imgwd given a token on argv")
    log = p.log()
    check("never taken on the command line" in log,
          "imgwd says why it refuses: %r" % log[:300])
    check(tok not in log, "imgwd echoes the token it refused on stderr: %r"
          % log.splitlines()[0])
    check(not os.path.exists(env.path("a", "imgwd.sock")),
          "no socket was created")


def test_token_from_environment_not_left_in_proc_environ(env):
    srv = env.server()
    gw = env.gateway("alice", srv, token_in_env=True)
    gw.wait_online()
    tok = gw.token
    with open("/proc/%d/cmdline" % gw.pid, "rb") as f:
        check(tok.encode() not in f.read(), "the token is on the command line")
    with open("/proc/%d/environ" % gw.pid, "rb") as f:
        environ = f.read().decode("utf-8", "replace")
    check(tok not in gw.log(), "the token appears in the log")
    check(tok not in environ,
          "the token from IMGW_TOKEN is still readable in /proc/%d/environ "
          "(main.c unsetenv()s it and says /proc/PID/environ readers need not "
          "see it)" % gw.pid)


def test_loose_token_file_is_refused(env):
    """Like ssh with a private key: a token others can read is not used."""
    srv = env.server()
    gw = env.gateway("alice", srv, start=False)
    os.chmod(gw.token_file, 0o640)
    gw.spawn()
    gw.proc.wait_exit()
    check(gw.proc.returncode() != 0, "imgwd exits with a loose token file")
    check("chmod 600" in gw.log() and "0640" in gw.log(),
          "the refusal says the mode and how to fix it: %r" % gw.log()[-400:])
    check(gw.token not in gw.log(), "the token is not in the log")
    # Fixed: it starts.
    os.chmod(gw.token_file, 0o600)
    gw.start()
    gw.wait_online()
    # A token file rewritten loose later is not reloaded; the session stays.
    os.chmod(gw.token_file, 0o644)
    gw.signal(signal.SIGHUP)
    wait_for(lambda: "token not reloaded" in gw.log() and
             "mode 0644" in gw.log(), "imgwd to refuse the loose file")
    gw.wait_online()


def test_cache_files_are_private_whatever_the_umask(env):
    srv = env.server()
    old = os.umask(0)
    try:
        alice, bob = (env.gateway(u, srv) for u in ("alice", "bob"))
    finally:
        os.umask(old)
    alice.wait_online()
    bob.wait_online()
    alice.call("message.send", user="bob", text="hi")
    wait_for(lambda: os.path.exists(alice.db + "-wal") and
             os.path.exists(alice.db + "-shm"), "the WAL and SHM files")
    for path in (alice.db, alice.db + "-wal", alice.db + "-shm"):
        mode = os.stat(path).st_mode & 0o777
        check(mode == 0o600, "%s is mode %04o, want 0600" % (path, mode))


if __name__ == "__main__":
    run()
