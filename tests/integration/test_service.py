#!/usr/bin/python3
"""
imgwd as an installed service: make install into a staging tree (programs,
library, pkg-config, man pages, units), socket activation and readiness as
systemd does them, the configuration file and its errors, accounts and their
default paths, SIGTERM with clients connected, and the log file.
"""
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import (IMGW, IMGWD, ROOT, STOP_TIMEOUT, TIMEOUT,  # noqa: E402
                     ConnectionClosed, Gateway, Proc, Rpc, TestFailure,
                     _pdeathsig, check, check_eq, is_msg_event, run, skip,
                     wait_for)

MAKE_TIMEOUT = 90	# make install of an already built tree takes seconds

# One log line: time=2026-01-02T03:04:05.678Z level=info prog=imgwd msg="..."
LOG_LINE = re.compile(r'^time=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z '
                      r'level=(error|warn|info|debug) prog=imgwd '
                      r'msg="(?:[^"\\]|\\.)*"$')

PING_C = r"""
#include <stdio.h>
#include <imgw.h>

/* Connect to the default socket ($IMGW_SOCKET) and call rpc.ping. */
int
main(void)
{
	struct imgw	*c;
	char		 err[256], sock[256], *res = NULL;
	int		 rc;

	if (imgw_default_socket(sock, sizeof sock) != 0)
		return 3;
	if ((c = imgw_connect(NULL, err, sizeof err)) == NULL) {
		fprintf(stderr, "connect: %s\n", err);
		return 1;
	}
	rc = imgw_call(c, "rpc.ping", NULL, &res, 5000);
	if (rc != IMGW_OK) {
		fprintf(stderr, "rpc.ping: %d %s (%s)\n", rc,
		    imgw_error_message(c), imgw_error_code(c));
		imgw_close(c);
		return 1;
	}
	printf("%s %s\n", sock, res);
	imgw_free(res);
	imgw_close(c);
	return 0;
}
"""


# Words of the --help texts that are examples, not options.
HELP_EXAMPLES = {"imgw": ("text",)}


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def clean_environ(**extra):
    """os.environ without the variables that pick imgwd's paths, plus extra."""
    e = {k: v for k, v in os.environ.items()
         if k not in ("IMGW_SOCKET", "IMGW_TOKEN", "LISTEN_FDS", "LISTEN_PID",
                      "LISTEN_FDNAMES", "NOTIFY_SOCKET", "XDG_RUNTIME_DIR",
                      "XDG_STATE_HOME", "XDG_CONFIG_HOME")}
    e.update(extra)
    return e


def xdg_environ(env, **extra):
    """An environment whose XDG directories (and HOME) are in the test's."""
    dirs = {"HOME": env.path("home"), "XDG_RUNTIME_DIR": env.path("run"),
            "XDG_STATE_HOME": env.path("state"),
            "XDG_CONFIG_HOME": env.path("config")}
    for d in dirs.values():
        os.makedirs(d, mode=0o700, exist_ok=True)
    return clean_environ(**dirs, **extra)


def answers(path):
    """Whether a daemon answers session.status on path."""
    try:
        r = Rpc(path, timeout=2)
    except OSError:
        return False
    try:
        r.call("session.status", _timeout=2)
        return True
    except (ConnectionClosed, OSError, TestFailure):
        return False
    finally:
        r.close()


def wait_answers(proc, path, what):
    def ready():
        if not proc.alive():
            raise TestFailure("%s exited with status %s while starting: %r"
                              % (what, proc.returncode(), proc.log()[-2000:]))
        return answers(path)
    wait_for(ready, "%s to answer on %s" % (what, path))


def status_at(path):
    r = Rpc(path)
    try:
        return r.call("session.status")
    finally:
        r.close()


def wait_online_at(path, what):
    def online():
        st = status_at(path)
        return st if st["state"] == "online" else None
    return wait_for(online, "%s to be online" % what)


def run_imgwd(args, environ=None, timeout=TIMEOUT):
    """Run imgwd to completion (for --check-config and errors)."""
    return subprocess.run([IMGWD] + args, capture_output=True, text=True,
                          timeout=timeout, env=environ,
                          stdin=subprocess.DEVNULL)


def run_cli(args, environ=None, timeout=20):
    return subprocess.run([IMGW] + args, capture_output=True, text=True,
                          timeout=timeout, env=environ,
                          stdin=subprocess.DEVNULL)


def long_options(help_text):
    """The long options a --help text names."""
    return sorted(set(re.findall(r"--([a-z][a-z-]+)", help_text)))


# ---------------------------------------------------------------- install

def make_install(env):
    """make install into a staging tree with PREFIX=/usr; its (dest, usr)."""
    dest = env.path("dest")
    r = subprocess.run(["make", "-C", ROOT, "install", "DESTDIR=" + dest,
                        "PREFIX=/usr"], capture_output=True, text=True,
                       timeout=MAKE_TIMEOUT, stdin=subprocess.DEVNULL)
    check_eq(r.returncode, 0, "make install exit status (stderr %r)"
             % r.stderr[-2000:])
    return dest, os.path.join(dest, "usr")


def test_install_into_destdir_works(env):
    dest, usr = make_install(env)

    def p(*parts):
        return os.path.join(usr, *parts)

    for f in ("bin/imgwd", "bin/imgw", "bin/imserver"):
        check(os.access(p(f), os.X_OK), "%s installed and executable" % f)
    for f in ("include/imgw.h", "lib/libimgw.a", "lib/libimgw.so.0",
              "lib/libimgw.so", "lib/pkgconfig/imgw.pc",
              "share/man/man1/imgw.1", "share/man/man3/libimgw.3",
              "share/man/man8/imgwd.8", "share/man/man8/imserver.8",
              "lib/systemd/user/imgwd.socket",
              "lib/systemd/user/imgwd.service",
              "lib/systemd/user/imgwd@.socket",
              "lib/systemd/user/imgwd@.service",
              "lib/systemd/system/imserver.service",
              "share/doc/imgw/imgwd.conf.example"):
        check(os.path.isfile(p(f)), "%s installed" % f)
        check_eq(oct(mode(os.path.realpath(p(f))) & 0o022), oct(0),
                 "%s is not group or world writable" % f)

    # The programs run from the staging tree.
    for prog in ("imgw", "imgwd", "imserver"):
        h = subprocess.run([p("bin", prog), "--help"], capture_output=True,
                           text=True, timeout=10, stdin=subprocess.DEVNULL)
        check_eq(h.returncode, 0, "installed %s --help exit status" % prog)
        check("usage:" in h.stdout, "installed %s --help prints a usage: %r"
              % (prog, h.stdout[:200]))

    # Units name the installed programs; nothing is left to substitute.
    units = {}
    for d in ("user", "system"):
        for u in os.listdir(p("lib/systemd", d)):
            with open(p("lib/systemd", d, u)) as f:
                units[u] = f.read()
            check("@BINDIR@" not in units[u] and "@DOCDIR@" not in units[u],
                  "%s has every @...@ substituted" % u)
    check("\nExecStart=/usr/bin/imgwd\n" in units["imgwd.service"],
          "imgwd.service runs /usr/bin/imgwd: %r" % units["imgwd.service"])
    check("\nExecStart=/usr/bin/imgwd --account %i\n" in
          units["imgwd@.service"], "imgwd@.service runs imgwd --account %i")
    check("\nType=notify\n" in units["imgwd.service"], "imgwd.service is "
          "Type=notify")
    check("\nListenStream=%t/imgw/imgwd.sock\n" in units["imgwd.socket"],
          "imgwd.socket listens on %t/imgw/imgwd.sock")
    check("\nListenStream=%t/imgw/%i.sock\n" in units["imgwd@.socket"],
          "imgwd@.socket listens on %t/imgw/%i.sock")
    check("\nExecStart=/usr/bin/imserver " in units["imserver.service"],
          "imserver.service runs /usr/bin/imserver")

    # Man pages name every option (groff renders them in the next cases).
    for prog, page in (("imgwd", "man8/imgwd.8"), ("imgw", "man1/imgw.1"),
                       ("imserver", "man8/imserver.8")):
        h = subprocess.run([p("bin", prog), "--help"], capture_output=True,
                           text=True, timeout=10).stdout
        with open(p("share/man", page)) as f:
            src = f.read().replace("\\-", "-").splitlines()
        # Each option is the tag of an entry (the line after .TP).
        tags = "\n".join(src[i + 1] for i in range(len(src) - 1)
                         if src[i] == ".TP")
        missing = [o for o in long_options(h) if "--" + o not in tags and
                   o not in HELP_EXAMPLES.get(prog, ())]
        check_eq(missing, [], "options of %s --help without an entry in %s"
                 % (prog, page))
    with open(p("share/man/man3/libimgw.3")) as f:
        text = f.read()
    with open(p("include/imgw.h")) as f:
        funcs = sorted(set(re.findall(r"\b(imgw_[a-z_]+)\s*\(", f.read())) -
                       {"imgw_event_fn", "imgw_reply_fn"})
    check(len(funcs) >= 15, "functions found in imgw.h: %r" % funcs)
    check_eq([fn for fn in funcs if fn + "(" not in text or
              ".BR %s ()" % fn not in text], [],
             "imgw.h functions missing from the synopsis or the description "
             "of libimgw(3)")

    # A program built against the installed header and library, found by
    # pkg-config in the staging tree, talks to a live gateway.
    srv = env.server()
    gw = env.gateway("alice", srv)
    src = env.path("ping.c")
    with open(src, "w") as f:
        f.write(PING_C)
    pc_env = clean_environ(PKG_CONFIG_SYSROOT_DIR=dest,
                           PKG_CONFIG_PATH=p("lib/pkgconfig"))
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "imgw"],
                           capture_output=True, text=True, env=pc_env,
                           timeout=10)
    check_eq(flags.returncode, 0, "pkg-config imgw exit status (stderr %r)"
             % flags.stderr)
    check("-I%s" % p("include") in flags.stdout and
          "-L%s" % p("lib") in flags.stdout and "-limgw" in flags.stdout,
          "pkg-config points into the staging tree: %r" % flags.stdout)
    exe = env.path("ping")
    cc = subprocess.run(["cc", "-Wall", "-Wextra", "-Werror", "-o", exe, src] +
                        flags.stdout.split(), capture_output=True, text=True,
                        timeout=60)
    check_eq(cc.returncode, 0, "cc against the installed library (stderr %r)"
             % cc.stderr)
    r = subprocess.run([exe], capture_output=True, text=True, timeout=20,
                       env=clean_environ(IMGW_SOCKET=gw.sock,
                                         LD_LIBRARY_PATH=p("lib")))
    check_eq((r.returncode, r.stdout.strip(), r.stderr),
             (0, '%s "pong"' % gw.sock, ""),
             "the program's status, output (default socket and result) and "
             "errors")
    ldd = subprocess.run(["ldd", exe], capture_output=True, text=True,
                         timeout=10,
                         env=clean_environ(LD_LIBRARY_PATH=p("lib")))
    check(re.search(r"libimgw\.so\.0 => %s" % re.escape(p("lib")), ldd.stdout),
          "the program uses the installed libimgw.so.0: %r" % ldd.stdout)

    # make uninstall takes every file back out.
    r = subprocess.run(["make", "-C", ROOT, "uninstall", "DESTDIR=" + dest,
                        "PREFIX=/usr"], capture_output=True, text=True,
                       timeout=MAKE_TIMEOUT, stdin=subprocess.DEVNULL)
    check_eq(r.returncode, 0, "make uninstall exit status (stderr %r)"
             % r.stderr[-2000:])
    left = [os.path.join(d, f) for d, _, fs in os.walk(dest) for f in fs]
    check_eq(left, [], "files left after make uninstall")


def test_installed_units_pass_systemd_analyze_verify(env):
    if not shutil.which("systemd-analyze"):
        skip("no systemd-analyze (Debian package systemd; "
             "scripts/install-deps installs it)")
    dest, usr = make_install(env)
    verify_units(env, usr)


def test_installed_man_pages_render_without_warnings(env):
    if not shutil.which("groff"):
        skip("no groff (Debian package groff-base; "
             "scripts/install-deps installs it)")
    dest, usr = make_install(env)
    for page in ("man1/imgw.1", "man3/libimgw.3", "man8/imgwd.8",
                 "man8/imserver.8"):
        g = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z",
                            os.path.join(usr, "share/man", page)],
                           capture_output=True, text=True, timeout=20)
        check_eq((g.returncode, g.stderr), (0, ""),
                 "groff -ww of %s (status, warnings)" % page)


def verify_units(env, usr):
    """systemd-analyze verify the installed units (their programs exist)."""
    # verify wants the programs at their installed paths and the man pages
    # of Documentation=; point both into the staging tree.
    tree = env.path("units")
    bindir = os.path.join(usr, "bin")
    for d in ("user", "system"):
        os.makedirs(os.path.join(tree, d))
        for u in os.listdir(os.path.join(usr, "lib/systemd", d)):
            with open(os.path.join(usr, "lib/systemd", d, u)) as f:
                text = f.read().replace("/usr/bin/", bindir + "/")
            name = u.replace("@.", "@test.")
            with open(os.path.join(tree, d, name), "w") as f:
                f.write(text)
    run_dir = env.path("units-run")
    os.makedirs(run_dir, mode=0o700)
    venv = clean_environ(MANPATH=os.path.join(usr, "share/man") + ":",
                         XDG_RUNTIME_DIR=run_dir)
    for d, extra in (("system", []), ("user", ["--user"])):
        names = sorted(os.listdir(os.path.join(tree, d)))
        r = subprocess.run(["systemd-analyze"] + extra + ["verify"] + names,
                           cwd=os.path.join(tree, d), capture_output=True,
                           text=True, timeout=30, env=venv)
        check_eq((r.returncode, r.stdout + r.stderr), (0, ""),
                 "systemd-analyze %sverify %s" % (" ".join(extra + [""]),
                                                  " ".join(names)))


# ---------------------------------------------------------------- activation

class Forked:
    """
    A child the test forks and execs itself (to set up fds as systemd
    does), with Proc's interface so the test's teardown stops it.
    """

    def __init__(self, env, name, argv, environ, log_path, listen_fd=None,
                 listen_pid=None):
        self.env = env
        self.name = name
        self.log_path = log_path
        self.expect_exit = False
        self.status = None
        logfd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND,
                        0o600)
        pid = os.fork()
        if pid == 0:
            try:
                _pdeathsig()
                devnull = os.open(os.devnull, os.O_RDONLY)
                os.dup2(devnull, 0)
                os.dup2(logfd, 1)
                os.dup2(logfd, 2)
                e = dict(environ)
                if listen_fd is not None:
                    # What systemd does: the socket is fd 3, and LISTEN_PID
                    # names the process that execs (this one).
                    os.dup2(listen_fd, 3)
                    os.set_inheritable(3, True)
                    e["LISTEN_FDS"] = "1"
                    e["LISTEN_PID"] = str(listen_pid or os.getpid())
                    os.closerange(4, 1024)
                else:
                    os.closerange(3, 1024)
                os.execve(argv[0], argv, e)
            finally:
                os._exit(127)
        os.close(logfd)
        self.pid = pid
        env.procs.append(self)

    def _reap(self, flags):
        if self.status is None:
            pid, st = os.waitpid(self.pid, flags)
            if pid == self.pid:
                self.status = os.waitstatus_to_exitcode(st)
        return self.status

    def alive(self):
        return self._reap(os.WNOHANG) is None

    def returncode(self):
        return self._reap(os.WNOHANG)

    def wait_exit(self, timeout=TIMEOUT):
        self.expect_exit = True
        wait_for(lambda: not self.alive(), "%s (pid %d) to exit"
                 % (self.name, self.pid), timeout)
        return self.status

    def stop(self, timeout=STOP_TIMEOUT):
        self.expect_exit = True
        if self.alive():
            os.kill(self.pid, signal.SIGTERM)
            try:
                wait_for(lambda: not self.alive(), "exit", timeout)
            except TestFailure:
                os.kill(self.pid, signal.SIGKILL)
                self._reap(0)
                raise TestFailure("%s (pid %d) ignored SIGTERM for %.1fs"
                                  % (self.name, self.pid, timeout))
        return self.status

    def log(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")


def recv_notify(sock, timeout):
    """Datagrams from the notify socket within timeout, as text."""
    got = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return got
        sock.settimeout(left)
        try:
            got.append(sock.recv(4096).decode())
        except socket.timeout:
            return got
        if any("READY=1" in d.split("\n") for d in got):
            return got


def test_socket_activation_without_systemd(env):
    srv = env.server()
    token_file = env.write_token("alice", env.token("alice"))
    sock_dir = env.path("activation")
    os.mkdir(sock_dir, 0o750)
    path = os.path.join(sock_dir, "imgwd.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    os.chmod(path, 0o640)	# not imgwd's 0600: it must leave this alone
    listener.listen(16)
    ino = os.lstat(path).st_ino
    notify_path = env.path("notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)

    environ = xdg_environ(env, NOTIFY_SOCKET=notify_path)
    argv = [IMGWD, "--upstream", srv.url, "--token-file", token_file,
            "--db", env.path("alice.db"), "-v"]
    try:
        d = Forked(env, "imgwd[activated]", argv, environ,
                   env.path("imgwd-activated.1.log"), listener.fileno())
        got = recv_notify(notify, TIMEOUT)
        check(any("READY=1" in m.split("\n") for m in got),
              "READY=1 on NOTIFY_SOCKET within %.0fs (got %r; log %r)"
              % (TIMEOUT, got, d.log()[-1500:]))
        # Ready means serving: a client connects to the test's socket.
        check_eq(status_at(path)["upstream"], srv.url,
                 "session.status through the inherited socket")
        wait_online_at(path, "the activated imgwd")
        r = run_cli(["-s", path, "status"])
        check_eq(r.returncode, 0, "imgw status on the inherited socket "
                 "(stderr %r)" % r.stderr)
        check(not os.path.exists(env.path("run", "imgw", "imgwd.sock")),
              "no socket of its own at the default path")
        check("socket from systemd" in d.log(), "the log says the socket "
              "came from systemd: %r" % d.log()[-1500:])
        check_eq(oct(mode(path)), oct(0o640), "mode of the inherited socket")
        check_eq(oct(mode(sock_dir)), oct(0o750), "mode of its directory")

        t0 = time.monotonic()
        check_eq(d.stop(), 0, "exit status of the activated imgwd on SIGTERM")
        check(time.monotonic() - t0 < 3, "SIGTERM handled in %.1fs"
              % (time.monotonic() - t0))
        check(os.path.exists(path), "the socket imgwd did not create is still "
              "there after it exits")
        check_eq(os.lstat(path).st_ino, ino, "inode of the socket")

        # As with systemd, the socket outlives the daemon: a client that
        # connects in between is served by the next one.
        # This time NOTIFY_SOCKET is an abstract name ("@...").
        early = Rpc(path)
        env.rpcs.append(early)
        msgid = early.request("session.status", [{}])
        abstract = "imgw-test-notify-%d" % os.getpid()
        notify2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify2.bind("\0" + abstract)
        try:
            d2 = Forked(env, "imgwd[activated 2]", argv,
                        dict(environ, NOTIFY_SOCKET="@" + abstract),
                        env.path("imgwd-activated.2.log"), listener.fileno())
            err, res = early.response(msgid)
            check(err is None and res.get("upstream") == srv.url,
                  "a client queued on the socket between two daemons is "
                  "answered by the second: %r %r" % (err, res))
            check(any("READY=1" in m.split("\n")
                      for m in recv_notify(notify2, TIMEOUT)),
                  "READY=1 from the second daemon on an abstract socket")
        finally:
            notify2.close()
        check_eq(d2.stop(), 0, "exit status of the second activated imgwd")
        check(os.path.exists(path), "the socket is still there")

        # LISTEN_PID naming another process: the fds are not ours, so
        # imgwd makes its own socket and leaves fd 3 alone.
        own = env.path("own", "imgwd.sock")
        d3 = Forked(env, "imgwd[not for us]", argv + ["--socket", own],
                    environ, env.path("imgwd-activated.3.log"),
                    listener.fileno(), listen_pid=1)
        wait_answers(d3, own, "imgwd with a foreign LISTEN_PID")
        check("socket from systemd" not in d3.log(), "it did not take the "
              "socket meant for another process: %r" % d3.log()[-1500:])
        check_eq(d3.stop(), 0, "exit status on SIGTERM")
        check(not os.path.exists(own), "its own socket is removed on exit")
    finally:
        notify.close()
        listener.close()


# ---------------------------------------------------------------- config file

def write_conf(env, name, lines):
    p = env.path(name)
    with open(p, "w") as f:
        f.write("\n".join(lines) + "\n")
    return p


def test_config_file_precedence_and_errors(env):
    srv = env.server()
    token = env.token("alice")
    token_file = env.write_token("alice", token)
    environ = xdg_environ(env)
    sock = env.path("cfg", "gw.sock")
    db = env.path("cfg-alice.db")
    conf = write_conf(env, "alice.conf", [
        "# alice's gateway",
        "",
        "upstream = %s" % srv.url,
        "  token-file=%s  " % token_file,
        "socket = %s" % sock,
        "db = %s" % db,
        "ping-interval = 10",
        "stomp-login",
    ])

    # The file alone gives the socket, the database and the upstream.
    gw = Proc(env, "imgwd[config]", [IMGWD, "--config", conf, "-v"],
              env.path("imgwd-config.1.log"), environ=environ)
    wait_answers(gw, sock, "imgwd --config")
    check_eq(status_at(sock)["upstream"], srv.url, "upstream from the file")
    wait_online_at(sock, "imgwd --config")
    check(os.path.exists(db), "database at the file's path %s" % db)
    check(not os.path.exists(env.path("run", "imgw", "imgwd.sock")),
          "nothing at the default socket path")
    check(not os.path.exists(env.path("state", "imgw", "imgw.db")),
          "nothing at the default database path")
    check_eq(gw.stop(), 0, "exit status on SIGTERM")

    # The command line wins over the file, key by key.
    sock2 = env.path("cfg", "other.sock")
    gw2 = Proc(env, "imgwd[config 2]", [IMGWD, "--config", conf, "--socket",
                                        sock2, "-v"],
               env.path("imgwd-config.2.log"), environ=environ)
    wait_answers(gw2, sock2, "imgwd --config --socket")
    check(not os.path.exists(sock), "the file's socket is not made when "
          "--socket overrides it")
    wait_online_at(sock2, "imgwd with --socket over the file")
    check_eq(gw2.stop(), 0, "exit status on SIGTERM")

    # --check-config: the effective configuration, the token masked.
    r = run_imgwd(["--config", conf, "--check-config", "--ping-interval",
                   "20", "--app-id", "tenant_b"], environ)
    check_eq(r.returncode, 0, "--check-config exit status (stderr %r)"
             % r.stderr)
    out = dict(line.split(" = ", 1) for line in r.stdout.splitlines()
               if " = " in line and not line.startswith("#"))
    for key, want in (("config", conf), ("upstream", srv.url),
                      ("socket", sock), ("db", db), ("token-file", token_file),
                      ("ping-interval", "20"), ("app-id", "tenant_b"),
                      ("stomp-login", "yes"), ("ping-timeout", "45")):
        check_eq(out.get(key), want, "--check-config line %r" % key)
    check(token not in r.stdout + r.stderr, "--check-config does not show "
          "the token")
    check(out.get("token", "").startswith("(") and
          str(len(token)) in out.get("token", ""),
          "token line masked, with its length: %r" % out.get("token"))
    # The same with the token in the environment.
    r = run_imgwd(["--config", conf, "--check-config"],
                  dict(environ, IMGW_TOKEN=token))
    check_eq(r.returncode, 0, "--check-config exit status with IMGW_TOKEN")
    check(token not in r.stdout + r.stderr, "--check-config does not show "
          "$IMGW_TOKEN")

    # Errors name the file and the line, and exit 2.
    for what, bad, line, needle in (
            ("an unknown key", "colour = blue", 4, "colour"),
            ("a bad value", "ping-interval = soon", 4, "ping-interval"),
            ("a missing value", "db =", 4, "db"),
            ("a value for a flag", "stomp-login = yes", 4, "stomp-login"),
            ("a token", "token = TOKENVALUE123", 4, "token-file"),
            ("a command-line-only key", "account = work", 4, "account")):
        p = write_conf(env, "bad.conf", [
            "# comment", "upstream = %s" % srv.url, "", bad,
            "db = %s" % env.path("never.db")])
        r = run_imgwd(["--config", p, "--token-file", token_file], environ)
        check_eq(r.returncode, 2, "exit status for %s (stderr %r)"
                 % (what, r.stderr))
        check("%s:%d:" % (p, line) in r.stderr and needle in r.stderr,
              "message for %s names %s:%d: and %r: %r"
              % (what, p, line, needle, r.stderr))
        check(len(r.stderr.strip().splitlines()) == 1,
              "one line of error for %s: %r" % (what, r.stderr))
        check("TOKENVALUE123" not in r.stderr + r.stdout,
              "a refused token line is not echoed")
        check(not os.path.exists(env.path("never.db.lock")),
              "nothing started for %s" % what)
    r = run_imgwd(["--config", env.path("missing.conf"), "--check-config"],
                  environ)
    check_eq(r.returncode, 2, "exit status for a missing --config file")
    check("missing.conf" in r.stderr, "message names the missing file: %r"
          % r.stderr)

    # The example configuration names every option the file may hold, and
    # parses with all of them set.
    with open(os.path.join(ROOT, "contrib", "imgwd.conf.example")) as f:
        example = f.read()
    keys, lines = [], []
    for line in example.splitlines():
        m = re.match(r"^#([a-z][a-z-]*)(?: = (.*))?$", line)
        if not m:
            continue
        key, val = m.group(1), m.group(2)
        keys.append(key)
        if key in ("token-file", "ca-file"):
            val = token_file
        elif key in ("socket", "db", "log-file"):
            val = env.path("example", key)
        elif key == "allow-group":
            val = str(os.getgid())
        lines.append(key if val is None else "%s = %s" % (key, val))
    h = run_imgwd(["--help"]).stdout
    want = [o for o in long_options(h)
            if o not in ("config", "account", "check-config", "help")]
    check_eq(sorted(set(want) - set(keys)), [],
             "options missing from imgwd.conf.example")
    p = write_conf(env, "example.conf", lines)
    r = run_imgwd(["--config", p, "--check-config"], environ)
    check_eq(r.returncode, 0, "--check-config of the example with every key "
             "set (stderr %r)" % r.stderr)

    # What --check-config logs is in imgwd's format too.
    loose = env.path("loose.token")
    with open(loose, "w") as f:
        f.write(token + "\n")
    os.chmod(loose, 0o644)
    r = run_imgwd(["--config", conf, "--token-file", loose, "--check-config"],
                  environ)
    check(r.returncode != 0, "--check-config refuses a 0644 token file")
    why = [x for x in r.stdout.splitlines() if x.startswith("token = ")]
    check(len(why) == 1 and "chmod 600" in why[0] and "0644" in why[0],
          "the refusal of a readable token file says the mode and the fix: "
          "%r" % r.stdout)
    check(token not in r.stdout + r.stderr, "no token with a loose file")


# ---------------------------------------------------------------- accounts

def test_account_paths(env):
    srv = env.server()
    token_file = env.write_token("alice", env.token("alice"))
    environ = xdg_environ(env)
    os.makedirs(env.path("config", "imgw"))
    with open(env.path("config", "imgw", "work.conf"), "w") as f:
        f.write("upstream = %s\ntoken-file = %s\n" % (srv.url, token_file))
    sock = env.path("run", "imgw", "work.sock")
    db = env.path("state", "imgw", "work.db")

    r = run_imgwd(["--account", "work", "--check-config"], environ)
    check_eq(r.returncode, 0, "--account work --check-config (stderr %r)"
             % r.stderr)
    for line in ("config = %s" % env.path("config", "imgw", "work.conf"),
                 "socket = %s" % sock, "db = %s" % db):
        check(line in r.stdout.splitlines(), "--check-config shows %r: %r"
              % (line, r.stdout))

    gw = Proc(env, "imgwd[work]", [IMGWD, "--account", "work", "-v"],
              env.path("imgwd-work.1.log"), environ=environ)
    wait_answers(gw, sock, "imgwd --account work")
    check(os.path.exists(db), "database created at %s" % db)
    check_eq(oct(mode(os.path.dirname(sock))), oct(0o700),
             "mode of $XDG_RUNTIME_DIR/imgw")
    check(not os.path.exists(env.path("run", "imgw", "imgwd.sock")) and
          not os.path.exists(env.path("state", "imgw", "imgw.db")),
          "the default account's files are not touched")

    def cli_online():
        r = run_cli(["-a", "work", "--json", "status"], environ)
        check_eq(r.returncode, 0, "imgw -a work status (stderr %r)" % r.stderr)
        return '"state":"online"' in r.stdout
    wait_for(cli_online, "imgw -a work status to say online")
    r = run_cli(["-a", "work", "status"], environ)
    check_eq(r.returncode, 0, "imgw -a work status exit status")
    check("alice" in r.stdout, "status names the user: %r" % r.stdout)
    r = run_cli(["--account", "work", "call", "rpc.ping"], environ)
    check_eq((r.returncode, r.stdout.strip()), (0, '"pong"'),
             "imgw --account work call rpc.ping")
    # No such account running: a clear failure, not a hang.
    r = run_cli(["-a", "home", "status"], environ)
    check_eq(r.returncode, 1, "imgw -a home status with no daemon")
    check(env.path("run", "imgw", "home.sock") in r.stderr,
          "the error names the account's socket: %r" % r.stderr)
    r = run_cli(["-a", "../x", "status"], environ)
    check_eq(r.returncode, 2, "imgw -a with a bad name")
    check_eq(gw.stop(), 0, "exit status on SIGTERM")
    check(not os.path.exists(sock), "the socket is removed on exit")

    # imgwd and imgw agree on what an account name is: a daemon imgw -a
    # cannot name would be unreachable by name.
    for name in (".work", "..", "a@b", "x-y.z_1"):
        d = run_imgwd(["--account", name, "--check-config", "--upstream",
                       srv.url, "--token-file", token_file], environ)
        c = run_cli(["-a", name, "status"], environ)
        check_eq(c.returncode == 2, d.returncode == 2,
                 "account name %r: imgw -a refuses it (status %d, %r) as "
                 "imgwd --account does (status %d, %r)"
                 % (name, c.returncode, c.stderr.strip(), d.returncode,
                    d.stderr.strip()))


# ---------------------------------------------------------------- SIGTERM

def test_sigterm_with_clients_connected(env):
    srv = env.server()
    alice = env.gateway("alice", srv, args=["--backoff-max", "1"])
    bob = env.gateway("bob", srv, args=["--backoff-max", "1"])
    alice.wait_online()
    bob.wait_online()

    # A subscriber that stopped reading, with more events pending than the
    # socket holds: the daemon must not wait for it.
    stalled = alice.rpc()
    stalled.subscribe()
    for i in range(40):
        alice.call("conversation.draft", user="bob",
                   text=("%02d" % i) * 16384)

    # Online: DISCONNECT with a receipt, a shutdown event to each client.
    sub = alice.rpc()
    sub.subscribe()
    listen = Proc(env, "imgw listen", [IMGW, "-s", alice.sock, "--json",
                                       "listen"], env.path("imgw-listen.log"))
    wait_for(lambda: any(c.get("subscribed") for c in
                         alice.call("client.list")["clients"]
                         if c.get("pid") == listen.pid),
             "imgw listen to subscribe")
    idle = alice.rpc()
    idle.call("rpc.ping")
    t0 = time.monotonic()
    alice.proc.p.send_signal(signal.SIGTERM)
    sub.wait_event(lambda e: e.get("type") == "shutdown", "the shutdown event")
    check(sub.wait_closed(), "the daemon closes the subscriber's connection")
    check(idle.wait_closed(), "the daemon closes an idle connection")
    rc = alice.proc.wait_exit(STOP_TIMEOUT)
    dt = time.monotonic() - t0
    check_eq(rc, 0, "exit status on SIGTERM while online")
    check(dt < 2.0, "exit within 2s while online (the receipt came): %.2fs"
          % dt)
    check("no receipt for DISCONNECT" not in alice.log(),
          "imgwd got the DISCONNECT receipt: %r" % alice.log()[-1500:])
    wait_for(lambda: "DISCONNECT with receipt" in srv.log(),
             "imserver to log a DISCONNECT with receipt")
    check_eq(listen.wait_exit(), 1, "imgw listen exit status when the daemon "
             "goes away")
    check('"type":"shutdown"' in listen.log(), "imgw listen printed the "
          "shutdown event: %r" % listen.log())
    check(not os.path.exists(alice.sock), "the socket is removed")

    # Offline: a message waits in the outbox across a SIGTERM and a restart.
    alice.start()
    alice.wait_online()
    check_eq(srv.stop(), 0, "imserver exit status")
    alice.wait_state(lambda s: s["state"] != "online", "offline")
    msg = alice.call("message.send", user="bob", text="排队中 queued")["id"]
    check_eq(alice.call("db.stats")["outbox"], 1, "outbox before SIGTERM")
    sub = alice.rpc()
    sub.subscribe()
    t0 = time.monotonic()
    alice.proc.p.send_signal(signal.SIGTERM)
    sub.wait_event(lambda e: e.get("type") == "shutdown",
                   "the shutdown event while offline")
    check_eq(alice.proc.wait_exit(STOP_TIMEOUT), 0,
             "exit status on SIGTERM while offline")
    check(time.monotonic() - t0 < 2.0, "exit within 2s while offline: %.2fs"
          % (time.monotonic() - t0))

    alice.start()
    check_eq(alice.call("db.stats")["outbox"], 1, "outbox after the restart")
    check_eq(alice.call("message.get", id=msg)["message"]["status"], "SENDING",
             "status of the queued message after the restart")
    ev = alice.rpc()
    ev.subscribe()
    srv2 = srv.restart()
    check_eq(srv2.port, srv.port, "the server's port after restart")
    ev.wait_event(is_msg_event("message.status", msg), "the queued message "
                  "to be sent", timeout=20)
    check_eq(alice.call("message.get", id=msg)["message"]["status"], "SENT",
             "status of the queued message once the server is back")
    wait_for(lambda: any(m["id"] == msg and m["content"] == "排队中 queued"
                         for m in bob.history("alice")),
             "bob to receive the message queued before the SIGTERM",
             timeout=20)
    check_eq(alice.call("db.stats")["outbox"], 0, "outbox once delivered")


# ---------------------------------------------------------------- log file

def test_log_file_and_format(env):
    srv = env.server()
    token = env.token("alice")
    os.mkdir(env.path("logs"), 0o700)
    log = env.path("logs", "imgwd.log")
    bob_log = env.path("logs", "bob.log")
    # alice logs everything (debug): never a token, at any level. bob logs
    # at info: never message content either.
    alice = Gateway(env, "alice", srv.url, token, verbose=False,
                    args=["--log-file", log, "--log-level", "debug"])
    bob = Gateway(env, "bob", srv.url, env.token("bob"), verbose=False,
                  args=["--log-file", bob_log])
    alice.start()
    bob.start()
    alice.wait_online()
    bob.wait_online()
    secret_text = "机密 content 4711"
    msg = bob.call("message.send", user="alice", text=secret_text)["id"]
    wait_for(lambda: any(m["id"] == msg for m in alice.history("bob")),
             "alice to receive bob's message")

    def lines(p):
        with open(p, encoding="utf-8") as f:
            return f.read().splitlines()

    def malformed(ls):
        return [x for x in ls if not LOG_LINE.match(x)]

    wait_for(lambda: any("serving" in x for x in lines(log)),
             "the start-up line in the log file")
    check_eq(oct(mode(log)), oct(0o600), "mode of the log file")
    first = lines(log)
    check_eq(malformed(first), [], "log lines not of the form time=... "
             "level=... prog=imgwd msg=\"...\"")
    check(any(" level=info " in x for x in first) and
          any(" level=debug " in x for x in first),
          "info and debug lines: %r" % first[:10])
    check_eq(alice.log().strip(), "", "nothing on stderr with --log-file")

    # Rotation: move the file away, SIGHUP, a new file is written.
    os.rename(log, log + ".1")
    alice.signal(signal.SIGHUP)
    wait_for(lambda: os.path.exists(log) and
             any("log reopened" in x for x in lines(log)),
             "a new log file after SIGHUP")
    check_eq(oct(mode(log)), oct(0o600), "mode of the new log file")
    alice.wait_online()
    old = lines(log + ".1")
    check(not any("log reopened" in x for x in old),
          "the moved file gets nothing after SIGHUP")
    check(len(old) >= len(first), "the moved file keeps its lines")
    alice.stop()
    bob.stop()
    new = lines(log)
    check(any("stopped" in x for x in new), "the new file has the last "
          "lines: %r" % new[-5:])
    check_eq(malformed(old + new + lines(bob_log)), [],
             "log lines not of the form time=... level=... prog=imgwd "
             "msg=\"...\"")
    for p in (log, log + ".1", bob_log):
        with open(p, encoding="utf-8") as f:
            text = f.read()
        check(token not in text, "the token is not in %s" % p)
        check(token.split(".")[-1] not in text,
              "the token's signature is not in %s" % p)
    with open(bob_log, encoding="utf-8") as f:
        check(secret_text not in f.read(), "message content is not logged "
              "at info level")


if __name__ == "__main__":
    run()
