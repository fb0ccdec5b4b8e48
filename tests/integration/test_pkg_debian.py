#!/usr/bin/python3
"""
test_pkg_debian: the Debian packages (debian/), built, checked, installed,
used and purged. dpkg-buildpackage runs on a copy of the source tree in a
temporary directory (it writes ../*.deb, and must leave nothing in the
tree); the installed imserver, imgwd and imgw then carry two accounts end
to end, a C program builds with `pkg-config imgw`, and the packages are
purged at the end even when a case fails or the run is interrupted.

Installing puts programs named imgw* under /usr; the other tests run
build/ programs by absolute path, so they do not notice. A previous
installation of these packages on this machine is purged too.
"""
import os
import shutil
import subprocess
import tempfile

import harness
from harness import ROOT, check, check_eq, run, wait_for

PACKAGES = ("imgw", "libimgw0", "libimgw-dev")
STATE = {}	# what the cases hand on: the temporary directory and the .debs
SUDO = [] if os.geteuid() == 0 else ["sudo", "-n"]

C_PROGRAM = r"""
#include <stdio.h>
#include <string.h>
#include <imgw.h>

int
main(int argc, char **argv)
{
	char		 err[256], *res = NULL;
	struct imgw	*c = imgw_connect(argv[1], err, sizeof err);

	if (c == NULL) {
		fprintf(stderr, "connect: %s\n", err);
		return 1;
	}
	if (imgw_call(c, "rpc.ping", NULL, &res, 5000) != IMGW_OK ||
	    strcmp(res, "\"pong\"") != 0)
		return 1;
	imgw_free(res);
	if (imgw_call(c, "message.history", argv[2], &res, 5000) != IMGW_OK)
		return 1;
	puts(res);
	imgw_free(res);
	imgw_close(c);
	return 0;
}
"""


def sh(argv, what, timeout=120, **kw):
    """Run argv; fail with its output unless it exits 0. Its stdout."""
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                       stdin=subprocess.DEVNULL, **kw)
    if r.returncode != 0:
        tail = (r.stdout + r.stderr).strip().splitlines()[-30:]
        raise harness.TestFailure("%s: exit status %d\n    %s"
                                  % (what, r.returncode, "\n    ".join(tail)))
    return r.stdout


def installed():
    """Which of our packages dpkg knows as installed (or half-installed)."""
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Package} ${Status}\n"]
                       + list(PACKAGES), capture_output=True, text=True)
    return [line.split()[0] for line in r.stdout.splitlines()
            if line.split()[1:2] and "not-installed" not in line]


def purge():
    """Remove our packages, whatever state they are in."""
    if installed():
        subprocess.run(SUDO + ["dpkg", "--purge"] + list(PACKAGES),
                       capture_output=True, timeout=120)


def need_debs():
    check("debs" in STATE, "no packages were built (see build_packages)")
    return STATE["debs"]


def test_build_packages(env):
    """dpkg-buildpackage -us -uc -b on a copy of the tree."""
    top = STATE["dir"] = tempfile.mkdtemp(prefix="imgw-deb.")
    src = os.path.join(top, "imgw")
    os.mkdir(src)
    # The files git knows and new ones not ignored: a fresh clone's tree, or
    # this checkout's work in progress; never build/ or node_modules/.
    files = sh(["git", "-C", ROOT, "ls-files", "-z", "-c", "-o",
                "--exclude-standard"], "git ls-files")
    names = [n for n in files.split("\0")
             if n and os.path.lexists(os.path.join(ROOT, n))]
    tar = subprocess.Popen(["tar", "-C", ROOT, "--null", "-T", "-", "-cf", "-"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    untar = subprocess.Popen(["tar", "-C", src, "-xf", "-"], stdin=tar.stdout)
    tar.stdout.close()
    tar.stdin.write("\0".join(names).encode())
    tar.stdin.close()
    check_eq((tar.wait(60), untar.wait(60)), (0, 0), "copying the tree")
    environ = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2 noddebs")
    sh(["dpkg-buildpackage", "-us", "-uc", "-b"], "dpkg-buildpackage",
       cwd=src, env=environ, timeout=300)
    debs = {}
    for n in os.listdir(top):
        if n.endswith(".deb"):
            debs[n.split("_")[0]] = os.path.join(top, n)
    check_eq(sorted(debs), sorted(PACKAGES), "the packages built")
    STATE["debs"] = debs
    STATE["changes"] = [os.path.join(top, n) for n in os.listdir(top)
                        if n.endswith(".changes")][0]


def test_lintian_reports_no_errors(env):
    """lintian: no errors; only the warnings debian/README.source explains."""
    need_debs()
    r = subprocess.run(["lintian", "--no-tag-display-limit", STATE["changes"]],
                       capture_output=True, text=True, timeout=120)
    with open(os.path.join(ROOT, "debian", "README.source")) as f:
        explained = f.read()
    lines = r.stdout.splitlines()
    check_eq([x for x in lines if x.startswith("E:")], [], "lintian errors")
    check_eq([x for x in lines if x.startswith("W:") and
              x.split()[2] not in explained], [],
             "lintian warnings debian/README.source does not explain")


def test_contents(env):
    """Each package holds what it should, with Debian's paths."""
    debs = need_debs()
    arch = sh(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], "arch").strip()
    lib = "./usr/lib/%s/" % arch
    want = {
        "imgw": ["./usr/bin/imgwd", "./usr/bin/imgw", "./usr/bin/imserver",
                 "./usr/share/man/man1/imgw.1.gz",
                 "./usr/share/man/man8/imgwd.8.gz",
                 "./usr/share/man/man8/imserver.8.gz",
                 "./usr/lib/systemd/user/imgwd.service",
                 "./usr/lib/systemd/user/imgwd.socket",
                 "./usr/lib/systemd/user/imgwd@.service",
                 "./usr/lib/systemd/user/imgwd@.socket",
                 "./lib/systemd/system/imserver.service",
                 "./usr/share/bash-completion/completions/imgw",
                 "./usr/share/doc/imgw/imgwd.conf.example"],
        "libimgw0": [lib + "libimgw.so.0", lib + "libimgw.so.0.1.0"],
        "libimgw-dev": ["./usr/include/imgw.h", lib + "libimgw.so",
                        lib + "libimgw.a", lib + "pkgconfig/imgw.pc",
                        "./usr/share/man/man3/libimgw.3.gz"],
    }
    for pkg, paths in want.items():
        listing = sh(["dpkg-deb", "-c", debs[pkg]], "dpkg-deb -c " + pkg)
        have = {line.split()[5] for line in listing.splitlines()}
        check_eq([p for p in paths if p not in have], [],
                 "paths missing from %s" % pkg)
    so = sh(["dpkg-deb", "-I", debs["libimgw0"], "symbols"], "symbols")
    check("imgw_call@IMGW_1.0" in so, "the symbols file: %r" % so)


def test_install(env):
    """dpkg -i of the three packages."""
    debs = need_debs()
    purge()
    sh(SUDO + ["dpkg", "-i"] + [debs[p] for p in PACKAGES], "dpkg -i")
    check_eq(sorted(installed()), sorted(PACKAGES), "installed packages")
    unit = open("/usr/lib/systemd/user/imgwd.service").read()
    check("ExecStart=/usr/bin/imgwd" in unit, "imgwd.service's ExecStart")
    pc = sh(["pkg-config", "--modversion", "imgw"], "pkg-config").strip()
    check_eq(pc, "0.1.0", "pkg-config --modversion imgw")


def test_installed_end_to_end(env):
    """Installed imserver and two installed imgwd; the installed imgw between them."""
    check_eq(sorted(installed()), sorted(PACKAGES), "installed packages")
    saved = harness.IMSERVER, harness.IMGWD, harness.IMGW
    harness.IMSERVER, harness.IMGWD, harness.IMGW = \
        "/usr/bin/imserver", "/usr/bin/imgwd", "/usr/bin/imgw"
    try:
        srv, alice, bob = env.pair()	# tokens from `imserver token`
        check(alice.proc.argv[0] == "/usr/bin/imgwd", "runs the installed imgwd")
        r = alice.cli("send", "bob", "装好了 from the package")
        check_eq(r.returncode, 0, "imgw send (stderr %r)" % r.stderr)
        mid = r.stdout.strip()
        wait_for(lambda: any(m["id"] == mid for m in bob.history("alice")),
                 "bob to receive alice's message")
        r = bob.cli("--json", "history", "alice")
        check_eq(r.returncode, 0, "imgw history (stderr %r)" % r.stderr)
        check(mid in r.stdout and "装好了 from the package" in r.stdout,
              "bob's history: %r" % r.stdout)

        # A C program built against the installed library.
        c = env.path("app.c")
        with open(c, "w") as f:
            f.write(C_PROGRAM)
        flags = sh(["pkg-config", "--cflags", "--libs", "imgw"],
                   "pkg-config --cflags --libs imgw").split()
        exe = env.path("app")
        sh(["cc", "-Wall", "-Werror", "-o", exe, c] + flags, "cc app.c")
        libs = sh(["ldd", exe], "ldd app")
        found = [line.split()[2] for line in libs.splitlines()
                 if line.split()[:2] == ["libimgw.so.0", "=>"]]
        arch = sh(["dpkg-architecture", "-qDEB_HOST_MULTIARCH"], "arch").strip()
        check_eq([os.path.realpath(p) for p in found],
                 ["/usr/lib/%s/libimgw.so.0.1.0" % arch],
                 "the libimgw app runs with (ldd: %s)" % libs)
        out = sh([exe, bob.sock, '{"user":"alice"}'], "app")
        check(mid in out, "app read bob's history: %r" % out)

        # The installed completion asks the running daemon.
        out = sh(["bash", "-c", 'source /usr/share/bash-completion/completions/'
                  'imgw; COMP_WORDS=(imgw -s "$1" message s); COMP_CWORD=4; '
                  '_imgw; echo "${COMPREPLY[*]}"', "x", bob.sock], "completion")
        check_eq(out.split(), ["send", "search"], "imgw -s SOCK message s<TAB>")
    finally:
        harness.IMSERVER, harness.IMGWD, harness.IMGW = saved


def test_purge(env):
    """dpkg --purge leaves none of the files."""
    check_eq(sorted(installed()), sorted(PACKAGES), "installed packages")
    sh(SUDO + ["dpkg", "--purge"] + list(PACKAGES), "dpkg --purge")
    check_eq(installed(), [], "packages left")
    for p in ("/usr/bin/imgwd", "/usr/bin/imgw", "/usr/bin/imserver",
              "/usr/include/imgw.h", "/usr/lib/systemd/user/imgwd.service"):
        check(not os.path.exists(p), "%s is gone" % p)


if __name__ == "__main__":
    try:
        run([test_build_packages, test_lintian_reports_no_errors, test_contents,
             test_install, test_installed_end_to_end, test_purge])
    finally:
        purge()
        if "dir" in STATE:
            shutil.rmtree(STATE["dir"], ignore_errors=True)
