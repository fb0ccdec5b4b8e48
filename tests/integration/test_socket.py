#!/usr/bin/python3
"""
The local socket: private (0600 in a 0700 directory), never stolen from a
running daemon, and reclaimed after a crash.
"""
import os
import stat
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import IMGWD, Proc, check, check_eq, run  # noqa: E402


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def test_socket_is_private(env):
    srv = env.server()
    gw = env.gateway("alice", srv)
    check(stat.S_ISSOCK(os.lstat(gw.sock).st_mode), "%s is a socket" % gw.sock)
    check_eq(oct(mode(gw.sock)), oct(0o600), "mode of the socket")
    check_eq(oct(mode(os.path.dirname(gw.sock))), oct(0o700),
             "mode of the socket's directory")
    check_eq(os.lstat(gw.sock).st_uid, os.getuid(), "owner of the socket")

    # A directory that already exists with a loose mode is made private.
    loose = env.path("loose")
    os.mkdir(loose)
    os.chmod(loose, 0o755)
    gw2 = env.gateway("bob", srv, sock=os.path.join(loose, "imgwd.sock"))
    check_eq(oct(mode(loose)), oct(0o700),
             "mode of a pre-existing 0755 socket directory after start")
    check_eq(oct(mode(gw2.sock)), oct(0o600), "mode of the second socket")


def test_second_daemon_refuses_same_socket(env):
    srv = env.server()
    first = env.gateway("alice", srv)
    first.wait_online()
    ino = os.lstat(first.sock).st_ino
    keep = first.rpc()
    keep.call("session.status")

    # Once with its own database, once with the same one (a double start).
    for n, db in ((1, env.path("second.db")), (2, first.db)):
        second = Proc(env, "imgwd[second %d]" % n, [
            IMGWD, "--upstream", srv.url, "--token-file", first.token_file,
            "--socket", first.sock, "--db", db, "-v"],
            env.path("imgwd-second.%d.log" % n))
        rc = second.wait_exit()
        check(rc != 0, "second imgwd (%d) exit status is non-zero: %r" % (n, rc))
        log = second.log()
        # Its own database: the socket is what is taken. The same one:
        # the database lock refuses first.
        taken = first.sock if n == 1 else first.db
        check("another imgwd" in log and taken in log,
              "second imgwd (%d) says another daemon has %s: %r"
              % (n, taken, log))
        check(len(log.strip().splitlines()) <= 5,
              "second imgwd (%d) says so briefly: %r" % (n, log))

    check(first.proc.alive(), "the first imgwd still runs")
    check(os.path.exists(first.sock), "the socket still exists")
    check_eq(os.lstat(first.sock).st_ino, ino, "inode of the socket (not replaced)")
    check_eq(keep.call("session.status")["state"], "online",
             "the first daemon answers on an existing connection")
    check_eq(first.status()["state"], "online",
             "the first daemon answers a new connection")
    r = first.cli("status")
    check_eq(r.returncode, 0, "imgw status against the first daemon")


def test_restart_after_crash_reclaims_stale_socket(env):
    srv = env.server()
    gw = env.gateway("alice", srv)
    gw.kill()
    check(os.path.exists(gw.sock), "the killed daemon left its socket")
    gw.start()
    check_eq(gw.wait_online()["state"], "online", "state after restart")
    check_eq(oct(mode(gw.sock)), oct(0o600), "mode of the re-created socket")
    check_eq(gw.cli("status").returncode, 0, "imgw status after restart")


if __name__ == "__main__":
    run()
