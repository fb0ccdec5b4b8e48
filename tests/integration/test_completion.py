#!/usr/bin/python3
"""
test_completion: the bash completion of imgw (contrib/bash-completion/imgw).
It completes commands, DOMAIN VERB pairs, full method names and each
method's --NAME options from the running daemon's rpc.describe, and from
its built-in list when no daemon answers; the built-in list must equal
what the daemon describes. make install-completion puts it where
bash-completion looks.
"""
import json
import os
import subprocess

from harness import BUILD, IMGW, ROOT, check, check_eq, run

SCRIPT = os.path.join(ROOT, "contrib", "bash-completion", "imgw")


def complete(*words, script=SCRIPT):
    """COMPREPLY for the command line words (the last one is completed)."""
    r = subprocess.run(
        ["bash", "--norc", "-c", 'source "$1"; shift; COMP_WORDS=("$@"); '
         'COMP_CWORD=$(($# - 1)); _imgw; printf "%s\\n" "${COMPREPLY[@]}"',
         "x", script] + list(words), capture_output=True, text=True,
        timeout=20, stdin=subprocess.DEVNULL)
    check_eq(r.returncode, 0, "bash (stderr %r)" % r.stderr)
    return [x for x in r.stdout.splitlines() if x]


def described(gw):
    """The daemon's methods as the completion's lines: NAME --PARAM..."""
    r = gw.cli("--json", "methods")
    check_eq(r.returncode, 0, "imgw methods --json (stderr %r)" % r.stderr)
    return [" ".join([m["name"]] + ["--" + p["name"] for p in m["params"]])
            for m in json.loads(r.stdout)["methods"]]


def test_builtin_list_is_the_daemons(env):
    gw = env.gateway("alice", env.server())
    want = described(gw)
    r = subprocess.run(["bash", "--norc", "-c", 'source "$1"; '
                        'printf "%s" "$_imgw_builtin_methods"', "x", SCRIPT],
                       capture_output=True, text=True, timeout=20)
    have = [x for x in r.stdout.splitlines() if x]
    check(have == want, "the built-in list in %s differs from rpc.describe; "
          "the daemon's list is:\n%s" % (SCRIPT, "\n".join(want)))


def test_completes_from_the_running_daemon(env):
    gw = env.gateway("alice", env.server())
    s = ["-s", gw.sock]
    words = complete(IMGW, *s, "")
    for w in ("status", "send", "history", "listen", "methods", "call",
              "message", "group", "friend", "conversation", "batch"):
        check(w in words, "%r among the first words: %r" % (w, words))
    check_eq(complete(IMGW, *s, "mes"), ["message"], "imgw mes<TAB>")
    check_eq(sorted(complete(IMGW, *s, "message", "s")), ["search", "send"],
             "imgw message s<TAB>")
    check_eq(complete(IMGW, *s, "message", "send", "--"),
             ["--help", "--user", "--group", "--text", "--type", "--payload",
              "--mentions", "--replyTo", "--id"], "imgw message send --<TAB>")
    check_eq(complete(IMGW, *s, "message", "send", "--user", ""), [],
             "the value of --user")
    check_eq(complete(IMGW, *s, "message", "send", "--user", "bob", "--te"),
             ["--text"], "a second option")
    check_eq(sorted(complete(IMGW, *s, "friend.group.c")),
             ["friend.group.create"], "a full method name")
    check_eq(complete(IMGW, *s, "friend.group.create", "--"),
             ["--help", "--name"], "a full method name's options")
    check_eq(sorted(complete(IMGW, *s, "call", "message.se")),
             ["message.search", "message.send"], "imgw call message.se<TAB>")
    check_eq(complete(IMGW, *s, "send", "--"), ["--id"], "imgw send --<TAB>")
    check_eq(complete(IMGW, *s, "send", ""), [], "imgw send <TAB>")
    check_eq(sorted(complete(IMGW, "--"))[:3], ["--account", "--help", "--json"],
             "global options")


def test_asks_the_daemon_not_the_list(env):
    """A daemon describing another method: the completion offers that one."""
    fake = env.path("imgw")
    describe = {"version": "1.0", "methods": [
        {"name": "zz.top", "params": [{"name": "alpha", "type": "int",
                                        "required": False}],
         "summary": "only here"}], "events": [], "errors": []}
    with open(fake, "w") as f:
        f.write("#!/bin/sh\ncat <<'EOF'\n%s\nEOF\n"
                % json.dumps(describe, separators=(",", ":")))
    os.chmod(fake, 0o755)
    check("zz" in complete(fake, ""), "the daemon's domain zz offered")
    check_eq(complete(fake, "zz", ""), ["top"], "zz's verbs")
    check_eq(complete(fake, "zz", "top", "--"), ["--help", "--alpha"],
             "zz.top's options")
    check_eq(complete(fake, "message", "s"), [], "no built-in methods then")


def test_falls_back_to_the_builtin_list(env):
    s = ["-s", env.path("no-daemon.sock")]
    check_eq(sorted(complete(IMGW, *s, "message", "s")), ["search", "send"],
             "imgw message s<TAB> with no daemon")
    check_eq(complete(IMGW, *s, "group", "create", "--n"), ["--name", "--notice"],
             "options with no daemon")
    a = ["-a", "nosuchaccount"]
    check_eq(sorted(complete(IMGW, *a, "message", "s")), ["search", "send"],
             "with -a and no daemon")


def test_accounts_are_completed(env):
    conf = env.path("config", "imgw")
    os.makedirs(conf)
    for n in ("work.conf", "home.conf", "notes.txt"):
        open(os.path.join(conf, n), "w").close()
    r = subprocess.run(
        ["bash", "--norc", "-c", 'source "$1"; COMP_WORDS=(imgw -a ""); '
         'COMP_CWORD=2; _imgw; printf "%s\\n" "${COMPREPLY[@]}"', "x", SCRIPT],
        capture_output=True, text=True, timeout=20,
        env=dict(os.environ, XDG_CONFIG_HOME=env.path("config")))
    check_eq(sorted(r.stdout.split()), ["home", "work"], "imgw -a <TAB>")


def test_make_install_puts_it_where_bash_completion_looks(env):
    dest = env.path("dest")
    r = subprocess.run(["make", "-s", "-C", ROOT, "install-completion",
                        "DESTDIR=" + dest, "PREFIX=/usr"],
                       capture_output=True, text=True, timeout=60)
    check_eq(r.returncode, 0, "make install-completion (%s)" % r.stderr)
    path = os.path.join(dest, "usr/share/bash-completion/completions/imgw")
    with open(path) as f, open(SCRIPT) as g:
        check(f.read() == g.read(), "the installed file is the script")
    check_eq(oct(os.stat(path).st_mode & 0o777), "0o644", "its mode")
    check_eq(complete(os.path.join(BUILD, "imgw"), "mes", script=path),
             ["message"], "the installed completion works")


if __name__ == "__main__":
    run()
