#!/usr/bin/python3
"""
test_python_binding: the Python package (bindings/python) installs with
pip and no package index (a venv on Debian's python3-setuptools and
python3-msgpack), and its pytest suite passes against live daemons. Prints
one "ok"/"FAIL" line per pytest case, for tests/run.

The package is installed from a copy of bindings/python in a temporary
directory, so that pip's build/ and *.egg-info stay out of the tree.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

ROOT = os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "..")
ROOT = os.path.abspath(ROOT)
PKG = os.path.join(ROOT, "bindings", "python")
TESTS = os.path.join(PKG, "tests")


def indent(text, limit=40):
    lines = text.rstrip().splitlines()
    if len(lines) > limit:
        lines = lines[:limit // 2] + ["..."] + lines[-limit // 2:]
    return "\n".join("    " + x for x in lines)


def sh(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, **kw)


def main():
    tmp = tempfile.mkdtemp(prefix="imgw-python.")
    try:
        return run(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(tmp):
    src = os.path.join(tmp, "src")
    venv = os.path.join(tmp, "venv")
    py = os.path.join(venv, "bin", "python")
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns(
        "build", "*.egg-info", "__pycache__", "tests"))
    environ = dict(os.environ, PYTHONDONTWRITEBYTECODE="1",
                   PIP_DISABLE_PIP_VERSION_CHECK="1",
                   IMGW_EXPECT_PACKAGE_UNDER=venv)
    steps = [
        ["/usr/bin/python3", "-m", "venv", "--system-site-packages", venv],
        # --no-index: nothing may come from a package index.
        [py, "-m", "pip", "install", "--no-index", "--no-build-isolation",
         src],
        [py, "-c", "import imgw, sys; sys.exit(not imgw.__file__"
         ".startswith(%r))" % venv],
    ]
    collect = None
    for argv in steps:
        r = sh(argv, env=environ, cwd=tmp, timeout=120)
        if r.returncode != 0:
            break
    else:
        collect = sh([py, "-m", "pytest", "--collect-only", "-q",
                      "-p", "no:cacheprovider", TESTS], env=environ,
                     cwd=tmp, timeout=60)
    if collect is None or collect.returncode != 0:
        print("plan 1")
        print("FAIL pip_install")
        print(indent("%s\n%s%s" % (" ".join(argv), r.stdout, r.stderr)
                     if collect is None else collect.stdout + collect.stderr))
        return 1
    cases = [x for x in collect.stdout.splitlines() if "::" in x]
    print("plan %d" % (1 + len(cases)), flush=True)
    print("ok pip_install", flush=True)

    junit = os.path.join(tmp, "junit.xml")
    r = sh([py, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "--junitxml", junit, TESTS], env=environ, cwd=tmp, timeout=600)
    if not os.path.exists(junit):
        print(indent(r.stdout + r.stderr))
        return 1
    failed = 0
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = "%s::%s" % (case.get("classname", "").rsplit(".", 1)[-1],
                           case.get("name"))
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        if case.find("skipped") is not None:
            print("FAIL %s" % name)
            print("    skipped: %s" % case.find("skipped").get("message"))
            failed += 1
        elif bad is not None:
            failed += 1
            print("FAIL %s" % name)
            print(indent((bad.get("message") or "") + "\n" + (bad.text or "")
                         + "\n" + (case.findtext("system-out") or "")))
        else:
            print("ok %s" % name)
        sys.stdout.flush()
    return 1 if failed or r.returncode != 0 else 0


if __name__ == "__main__":
    sys.exit(main())
