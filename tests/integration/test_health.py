"""Issue 6: apid's GET /health shows every daemon's state, pid, RSS, restarts and
OOM kills (as the supervisor sees them), the database, free disk and media bytes;
503 while a daemon is down, 200 again once it is back."""
import os
import signal

import requests

from suite import DAEMONS, wait_for


def get(s):
    return requests.get(s.url("apid", "/health"), timeout=5)


def test_health_shows_the_whole_suite(suite):
    st = suite.status()
    r = get(suite)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "application/json"
    h = r.json()
    assert h["status"] == "ok"
    # apid's own figures stay where they were.
    assert h["daemon"] == "apid" and h["pid"] == st["apid"]["pid"] and h["rss_kb"] > 0
    assert set(h["daemons"]) == set(DAEMONS)
    for name in DAEMONS:
        d = h["daemons"][name]
        assert d["state"] == "running"
        assert d["pid"] == st[name]["pid"] and d["pid"] > 0
        assert d["rss_kb"] > 0
        assert d["restarts"] == 0 and d["oom_kills"] == 0
        assert d["memory_max"] == st[name]["memory_max"]
    assert h["supervisor"] == {"ok": True, "pid": st["_supervisor"]["pid"]}
    db = os.path.join(suite.data_dir, "ankicollab.db")
    assert h["db"]["ok"] is True and h["db"]["bytes"] >= os.path.getsize(db) > 0
    assert h["media"] == {"ok": True, "bytes": 0, "files": 0}
    vfs = os.statvfs(suite.data_dir)
    assert 0 < h["disk"]["free_bytes"] <= h["disk"]["total_bytes"] == vfs.f_blocks * vfs.f_frsize


def test_a_stopped_daemon_is_503_until_started(suite):
    suite.ctl("stop", "mediad")
    # 503 from the moment mediad is not running: "stopping", then "stopped".
    h = wait_for(lambda: (r := get(suite)).status_code == 503 and
                 r.json()["daemons"]["mediad"]["state"] == "stopped" and r.json(), 10,
                 what="/health to say 503 with mediad stopped")
    assert h["status"] == "degraded"
    assert h["daemons"]["mediad"]["state"] == "stopped" and h["daemons"]["mediad"]["pid"] == 0
    assert h["daemons"]["apid"]["state"] == "running"
    assert h["media"] == {"ok": False, "bytes": None, "files": None}
    suite.ctl("start", "mediad")
    h = wait_for(lambda: (r := get(suite)).status_code == 200 and r.json(), 10,
                 what="/health to say 200 again")
    assert h["status"] == "ok" and h["daemons"]["mediad"]["state"] == "running"
    assert h["media"]["ok"] is True


def test_restarts_are_counted(suite):
    old = suite.status()["gcd"]["pid"]
    os.kill(old, signal.SIGKILL)
    h = wait_for(lambda: (h := get(suite).json())["daemons"]["gcd"]["restarts"] == 1
                 and h["status"] == "ok" and h, 10, what="gcd's restart in /health")
    assert h["daemons"]["gcd"]["pid"] not in (0, old)
    assert h["daemons"]["apid"]["restarts"] == 0


def test_health_is_never_rate_limited(make_suite):
    s = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "1",
                        "STRICT_API_RATE_LIMIT_PER_MINUTE": "1"})
    for _ in range(30):
        r = get(s)
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers
