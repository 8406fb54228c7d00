"""pytest fixtures: suites that are stopped and cleaned up whatever the test did."""
import tempfile

import pytest

from suite import BUILD, DAEMONS, SANITIZED, Suite, free_port, pid_alive, wait_for  # noqa: F401


@pytest.fixture
def make_suite():
    """make_suite(extra={section: {key: value}}, env={...}, start=True) -> Suite"""
    suites = []
    tmps = []

    def make(extra=None, env=None, start=True):
        tmp = tempfile.TemporaryDirectory(prefix="ankicollab-test-")
        tmps.append(tmp)
        s = Suite(tmp.name, extra, env)
        suites.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in suites:
        try:
            s.stop()
        finally:
            if getattr(s, "log", None):
                s.log.close()
    for t in tmps:
        t.cleanup()


@pytest.fixture
def suite(make_suite):
    return make_suite()
