#!/usr/bin/python3
"""
An upstream session that survives the real world: a server killed and
restarted mid-stream, a frozen server caught by the ping watchdog or by
negotiated STOMP heart-beats, an expired token replaced without a reconnect
storm, TLS with a private CA (and a wrong one), a clean DISCONNECT on
shutdown, and session.reconnect cutting a long back-off short.
"""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (IMSERVER, Gateway, check, check_eq,  # noqa: E402
                     hold_for, is_msg_event, run, wait_for)

STREAM = 200		# messages in the killed-server stream
HB = 300		# ms of STOMP heart-beat in the heart-beat tests
# s allowed on top of twice the heart-beat interval: room for a busy 2-core
# machine and the sanitizer build, still far below the 120 s watchdog the
# heart-beat tests leave as the only other way to notice.
HB_MARGIN = 4.0


# ---------------------------------------------------------------- helpers

def online_pair(env, srv, users=("alice", "bob"), args=()):
    """One started, online gateway per user on srv, all with args."""
    gws = [Gateway(env, u, srv.url, env.token(u), args=args) for u in users]
    for g in gws:
        g.spawn()
    for g in gws:
        g.wait_ready()
        g.wait_online()
    return gws


def sessions_of(srv, user):
    """imserver's session numbers for user, in connect order (its log)."""
    pat = re.compile(r"session (\d+): user %s of app \S+ connected"
                     % re.escape(user))
    return [int(m.group(1)) for m in pat.finditer(srv.log())]


def count_lines(proc, needle):
    return sum(1 for line in proc.log().splitlines() if needle in line)


def stored(srv):
    """Chat messages imserver has stored (its -v log)."""
    return len(re.findall(r'msg="session \d+: message \S+ seq \d+ ', srv.log()))


def ws_opens(srv):
    """WebSocket sessions imserver has accepted (its log: 'open from')."""
    return count_lines(srv, ": open from ")


def round_trip(a, b, text):
    """a sends text to b: SENT at a, stored once at b."""
    ev = a.rpc()
    ev.subscribe()
    mid = a.call("message.send", user=b.user, text=text)["id"]
    e = ev.wait_event(is_msg_event("message.status", mid),
                      "%s's message.status for %r" % (a.user, text),
                      timeout=15)
    check_eq(e["status"], "SENT", "status of %r from %s" % (text, a.user))
    wait_for(lambda: any(m["id"] == mid for m in b.history(a.user)),
             "%s to receive %r" % (b.user, text), timeout=15)
    check_eq([m["id"] for m in b.history(a.user)].count(mid), 1,
             "copies of %r at %s" % (text, b.user))
    return mid


def time_until(cond, what, timeout):
    """Seconds until cond() holds (fails after timeout)."""
    t0 = time.monotonic()
    wait_for(cond, what, timeout=timeout)
    return time.monotonic() - t0


def openssl(env, *args):
    """Run the openssl command line in the test directory."""
    r = subprocess.run(["openssl"] + list(args), cwd=env.dir, timeout=30,
                       capture_output=True, text=True,
                       stdin=subprocess.DEVNULL)
    check_eq(r.returncode, 0, "openssl %s exit status (stderr %r)"
             % (args[0], r.stderr[-500:]))


def make_ca(env, name):
    """A self-signed CA: (certificate path, key path)."""
    openssl(env, "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", "/CN=imgw test %s" % name,
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", name + ".key", "-out", name + ".pem")
    return env.path(name + ".pem"), env.path(name + ".key")


def make_server_cert(env, ca, name, san):
    """A server certificate for san signed by ca: (cert path, key path)."""
    with open(env.path(name + ".ext"), "w") as f:
        f.write("subjectAltName=%s\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature\n"
                "extendedKeyUsage=serverAuth\n" % san)
    openssl(env, "req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=imgw test server",
            "-keyout", name + ".key", "-out", name + ".csr")
    openssl(env, "x509", "-req", "-in", name + ".csr", "-CA", ca + ".pem",
            "-CAkey", ca + ".key", "-set_serial", str(time.time_ns()),
            "-days", "2", "-extfile", name + ".ext", "-out", name + ".pem")
    return env.path(name + ".pem"), env.path(name + ".key")


def check_refused(env, srv, user, args, what):
    """A gateway for user with args never comes online; its status."""
    gw = env.gateway(user, srv, args=args)
    wait_for(lambda: count_lines(gw.proc, "cannot connect") >= 1,
             "%s: imgwd to fail to connect" % what)
    hold_for(lambda: gw.status()["state"] != "online", 1.0,
             "%s: the gateway came online" % what)
    check_eq(sessions_of(srv, user), [], "%s: sessions at imserver" % what)
    st = gw.status()
    failures = [line.split("msg=", 1)[-1] for line in gw.log().splitlines()
                if "cannot connect" in line or "SSL error" in line]
    return st, failures


# ---------------------------------------------------------------- tests

def test_server_killed_and_restarted_during_a_stream(env):
    srv = env.server()
    alice, bob = online_pair(env, srv, args=["--backoff-max", "1"])
    ev = alice.rpc()
    ev.subscribe()
    conn = alice.rpc()

    # Most of the stream is pipelined; the server dies as soon as it has
    # stored a few, so the rest of it is in flight or still queued.
    first = STREAM * 3 // 4
    reqs = [conn.request("message.send",
                         [{"user": "bob", "text": "流 %d" % i}])
            for i in range(first)]
    wait_for(lambda: stored(srv) >= 5,
             "imserver to store the first messages of the stream",
             interval=0.002)
    srv.kill()
    stored_before = stored(srv)
    ids = []
    for r in reqs:
        err, res = conn.response(r)
        check(err is None, "message.send: %r" % (err,))
        ids.append(res["id"])

    # The rest is sent while the server is down and coming back.
    reqs = []
    for i in range(first, STREAM):
        reqs.append(conn.request("message.send",
                                 [{"user": "bob", "text": "流 %d" % i}]))
        if i == (first + STREAM) // 2:
            srv = srv.restart()
    for r in reqs:
        err, res = conn.response(r)
        check(err is None, "message.send: %r" % (err,))
        ids.append(res["id"])
    check(0 < stored_before < first, "the server died mid-stream (it had "
          "stored %d of the %d sent)" % (stored_before, first))

    def all_sent():
        ev.pump(0)
        done = {e["id"]: e["status"] for e in ev.events
                if e.get("type") == "message.status"}
        return len([i for i in ids if i in done]) == STREAM and done
    done = wait_for(all_sent, "alice's message.status for all %d messages"
                    % STREAM, timeout=30)
    check_eq(sorted(set(done[i] for i in ids)), ["SENT"],
             "statuses of alice's messages")

    wait_for(lambda: len(bob.history_all("alice")) >= STREAM,
             "bob to have all %d messages" % STREAM, timeout=30)
    got = [m["id"] for m in bob.history_all("alice")]
    dup = sorted(set(i for i in got if got.count(i) > 1))
    check_eq(dup, [], "messages bob has more than once")
    check_eq(sorted(got), sorted(ids), "the set of messages bob has")
    check_eq(got, ids, "the order of bob's history")
    mine = alice.history_all("bob")
    check_eq([m["id"] for m in mine], ids, "alice's history")
    check_eq(sorted(set(m["status"] for m in mine)), ["SENT"],
             "statuses in alice's history")


def test_server_sigstop_detected_by_watchdog(env):
    srv = env.server()
    gws = online_pair(env, srv, args=["--ping-interval", "0.5",
                                      "--ping-timeout", "1.5"])
    alice, bob = gws
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        for g in gws:
            g.wait_state(lambda s: s["state"] != "online", "to leave online "
                         "with the server frozen", timeout=5)
        for g in gws:
            check(count_lines(g.proc, "server silent for") >= 1,
                  "%s's imgwd says the server was silent" % g.user)
    finally:
        os.kill(srv.pid, signal.SIGCONT)
    for g in gws:
        g.wait_online(timeout=20)
    round_trip(alice, bob, "解冻之后")
    round_trip(bob, alice, "回复")


def test_stomp_heartbeats_negotiated_and_silence_detected(env):
    srv = env.server(args=["--heartbeat", "%d,%d" % (HB, HB)])
    # A ping watchdog far too slow to be what notices anything here.
    slow = ["--ping-interval", "60", "--ping-timeout", "120"]
    alice, = online_pair(env, srv, ("alice",),
                         args=["--heartbeat", "%d,%d" % (HB, HB)] + slow)
    bob, = online_pair(env, srv, ("bob",), args=["--heartbeat", "500,200"] +
                       slow)
    carol, = online_pair(env, srv, ("carol",), args=slow)
    a, = sessions_of(srv, "alice")
    b, = sessions_of(srv, "bob")
    c, = sessions_of(srv, "carol")

    # STOMP 1.2: the server sends every max(sx, cy), expects max(cx, sy).
    for sid, cl, tx, rx in ((a, "300,300", 300, 300), (b, "500,200", 300, 500),
                            (c, "0,0", 0, 0)):
        line = "session %d: heart-beat client %s server %d,%d: send every " \
            "%dms, expect every %dms" % (sid, cl, HB, HB, tx, rx)
        check(line in srv.log(), "imserver's log has %r" % line)
    check("heart-beats: send every 0.300s, expect every 0.300s" in
          alice.log(), "alice's imgwd negotiated 300 ms both ways")

    # Idle for several intervals: beats both ways, nobody drops anybody.
    sent0 = count_lines(srv, "session %d: heart-beat sent" % a)
    recv0 = count_lines(srv, "session %d: heart-beat received" % a)
    window = 8 * HB / 1000.0
    opens = ws_opens(srv)
    hold_for(lambda: alice.status()["state"] == "online" and
             bob.status()["state"] == "online" and ws_opens(srv) == opens,
             window, "a session dropped while idle with heart-beats")
    sent = count_lines(srv, "session %d: heart-beat sent" % a) - sent0
    recv = count_lines(srv, "session %d: heart-beat received" % a) - recv0
    check(sent >= 4, "imserver sent alice %d heart-beats in %.1fs"
          % (sent, window))
    check(recv >= 4, "imserver received %d heart-beats from alice in %.1fs"
          % (recv, window))
    check_eq(count_lines(srv, "session %d: heart-beat sent" % c) +
             count_lines(srv, "session %d: heart-beat received" % c), 0,
             "heart-beat lines for carol, who offered 0,0")

    # A frozen server: alice (expecting beats every 300 ms) drops it within
    # about twice that; the watchdog would take 120 s.
    os.kill(srv.pid, signal.SIGSTOP)
    try:
        dt = time_until(lambda: alice.status()["state"] != "online",
                        "alice's gateway to leave online", 10)
        check(dt <= 2 * HB / 1000.0 + HB_MARGIN,
              "alice left online %.2fs after the server froze (bound %.2fs)"
              % (dt, 2 * HB / 1000.0 + HB_MARGIN))
        check(count_lines(alice.proc, "server silent for") >= 1,
              "alice's imgwd says the server was silent")
        # carol negotiated no heart-beat: only the slow watchdog applies.
        check_eq(carol.status()["state"], "online",
                 "carol's state with the server frozen")
    finally:
        os.kill(srv.pid, signal.SIGCONT)
    alice.wait_online(timeout=20)
    round_trip(alice, bob, "心跳之后")


def test_server_drops_client_silent_past_heartbeat(env):
    srv = env.server(args=["--heartbeat", "%d,%d" % (HB, HB)])
    slow = ["--ping-interval", "60", "--ping-timeout", "120"]
    alice, bob = online_pair(env, srv,
                             args=["--heartbeat", "%d,%d" % (HB, HB)] + slow)
    a, = sessions_of(srv, "alice")
    os.kill(alice.pid, signal.SIGSTOP)
    try:
        dt = time_until(lambda: "session %d: client silent for" % a in
                        srv.log(), "imserver to drop alice's silent session",
                        10)
        check(dt <= 2 * HB / 1000.0 + HB_MARGIN,
              "imserver dropped alice %.2fs after she froze (bound %.2fs)"
              % (dt, 2 * HB / 1000.0 + HB_MARGIN))
        wait_for(lambda: "session %d: closed" % a in srv.log(),
                 "imserver to close alice's session")
        check_eq(bob.status()["state"], "online", "bob's state meanwhile")
    finally:
        os.kill(alice.pid, signal.SIGCONT)
    alice.wait_online(timeout=20)
    round_trip(bob, alice, "你回来了")


def test_token_expired_recovers_after_session_login(env):
    srv = env.server()
    alice = env.gateway("alice", srv, token=env.token("alice", ttl=0))
    alice.wait_state(lambda s: s["state"] == "auth_failed", "auth_failed")
    wait_for(lambda: "unauthorized: expired token" in srv.log(),
             "imserver to log the refusal")
    hold_for(lambda: ws_opens(srv) <= 2 and
             alice.status()["state"] == "auth_failed", 2.0,
             lambda: "reconnect storm: %d WebSocket opens, state %s"
             % (ws_opens(srv), alice.status()["state"]))

    r = alice.call("session.login", token=env.token("alice"))
    check(r["state"] in ("connecting", "syncing", "online"),
          "state answered by session.login: %r" % r)
    alice.wait_online()

    # The token-file route: no RPC but status polling.
    bob = env.gateway("bob", srv, token=env.token("bob", ttl=0))
    bob.wait_state(lambda s: s["state"] == "auth_failed", "auth_failed")
    bob.replace_token_atomically(env.token("bob"))
    wait_for(lambda: sessions_of(srv, "bob"),
             "bob to connect after his token file was replaced", timeout=10)
    bob.wait_online()
    round_trip(alice, bob, "新令牌")


def test_tls_with_own_certificate(env):
    ca_pem, _ = make_ca(env, "ca")
    other_pem, _ = make_ca(env, "other-ca")
    cert, key = make_server_cert(env, "ca", "server",
                                 "IP:127.0.0.1,DNS:localhost")
    r = subprocess.run([IMSERVER, "--listen", "127.0.0.1:0", "--db",
                        env.path("x.db"), "--secret-file", env.secret,
                        "--cert", cert], capture_output=True, text=True,
                       timeout=10)
    check(r.returncode == 2 and "--cert and --key go together" in r.stderr,
          "imserver --cert without --key: status %d, %r"
          % (r.returncode, r.stderr))

    srv = env.server(args=["--cert", cert, "--key", key])
    check(srv.url.startswith("wss://"), "server URL %r" % srv.url)
    alice, bob = online_pair(env, srv, args=["--ca-file", ca_pem])
    round_trip(alice, bob, "加密的")
    round_trip(bob, alice, "收到")

    # The right CA, but a certificate for another name: never online.
    cert2, key2 = make_server_cert(env, "ca", "elsewhere", "DNS:example.com")
    srv2 = env.server(db=env.path("imserver2.db"),
                      args=["--cert", cert2, "--key", key2])
    st, log = check_refused(env, srv2, "dave", ["--ca-file", ca_pem],
                            "certificate for another host")
    check(any("mismatch" in x for x in log),
          "dave's log says the address does not match: %r" % log)

    # A CA that did not sign the server's certificate: never online, and
    # the gateway says why where its user looks (session.status).
    st, log = check_refused(env, srv, "carol", ["--ca-file", other_pem],
                            "untrusted CA")
    check(any(re.search(r"issuer|verif", x) for x in log),
          "carol's log says the certificate was not trusted: %r" % log)
    why = re.compile(r"certificate|verif|\bCA\b|issuer|trust", re.I)
    check(why.search(st["reason"]), "session.status reason says the server's "
          "certificate was not trusted: state %r, reason %r (the log says "
          "%r)" % (st["state"], st["reason"], log[:2]))


def test_clean_shutdown_sends_disconnect(env):
    srv = env.server()
    alice, = online_pair(env, srv, ("alice",))
    a, = sessions_of(srv, "alice")
    t0 = time.monotonic()
    rc = alice.proc.stop()
    dt = time.monotonic() - t0
    check_eq(rc, 0, "imgwd's exit status after SIGTERM")
    # Without the RECEIPT it would wait 2 s, then log so: the log is the
    # condition; the bound only catches a hang, with room for a busy machine.
    check(dt < 4.0, "imgwd took %.2fs to exit after SIGTERM" % dt)
    check(count_lines(alice.proc, "no receipt for DISCONNECT") == 0,
          "imgwd got its RECEIPT")
    wait_for(lambda: "session %d: DISCONNECT with receipt" % a in srv.log(),
             "imserver to log alice's DISCONNECT with a receipt")
    wait_for(lambda: "session %d: closed" % a in srv.log(),
             "imserver to close alice's session")


def test_reconnect_now_from_client(env):
    srv = env.server()
    alice, = online_pair(env, srv, ("alice",), args=["--backoff-max", "30"])
    srv.kill()

    # Refused attempts double the wait; take one of several seconds.
    def long_backoff():
        st = alice.status()
        left = st["retryAt"] / 1000.0 - time.time()
        return st if st["state"] == "backoff" and left >= 3.0 else None
    st = wait_for(long_backoff, "a back-off of 3 s or more", timeout=20)
    srv = srv.restart()
    check_eq(alice.status()["state"], "backoff", "state with the server back")
    t0 = time.time()
    r = alice.call("session.reconnect")
    check(r["state"] in ("connecting", "syncing", "online", "backoff"),
          "state answered by session.reconnect: %r" % r)
    alice.wait_online(timeout=5)
    dt = time.time() - t0
    check(time.time() < st["retryAt"] / 1000.0 - 1.0,
          "online %.2fs after session.reconnect, not well before the retry "
          "due %.2fs after it" % (dt, st["retryAt"] / 1000.0 - t0))


if __name__ == "__main__":
    run()
