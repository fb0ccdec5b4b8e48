"""
Fixtures: real imserver and imgwd processes, started the way the
integration tests start them (tests/integration/harness.py), in a private
temporary directory that is removed after a passing test.
"""
import os
import sys

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402


@pytest.fixture
def env(request):
    e = harness.Env(request.node.name)
    yield e
    problems = e.teardown()
    if problems:
        pytest.fail("after the test: " + "; ".join(problems))
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.failed:
        print("kept %s" % e.dir)
        for line in e.log_tails():
            print("| " + line)
    else:
        e.remove()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    out = yield
    rep = out.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def pair(env):
    """imserver and online gateways for alice and bob."""
    return env.pair()
