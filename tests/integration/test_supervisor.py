"""The supervisor as an admin and systemd see it: restarts, memory limits,
crash loops, shutdown, sd_notify, and ankicollabctl."""
import json
import os
import signal
import socket
import stat
import subprocess
import time

import pytest

from suite import BUILD, DAEMONS, SANITIZED, pid_alive, wait_for


@pytest.mark.parametrize("victim", DAEMONS)
def test_kill9_restarts_only_that_daemon(make_suite, victim):
    s = make_suite()
    before = s.status()
    old = before[victim]["pid"]
    os.kill(old, signal.SIGKILL)
    killed_at = time.monotonic()

    if victim == "gcd":
        after = wait_for(lambda: (st := s.status())[victim]["pid"] not in (0, old)
                         and st[victim]["state"] == "running" and st, 1.0,
                         what="a new gcd pid through the handshake")
    else:
        h = wait_for(lambda: (h := s.health(victim, timeout=0.5))["pid"] != old and h, 1.0,
                     what=f"/health of {victim} from a new pid")
        assert time.monotonic() - killed_at < 1.0
        after = s.status()
        assert h["pid"] == after[victim]["pid"]
    assert after[victim]["restarts"] == 1
    assert after[victim]["state"] == "running"
    for other in DAEMONS:
        if other != victim:
            assert after[other]["restarts"] == 0
            assert after[other]["pid"] == before[other]["pid"]


@pytest.mark.skipif(SANITIZED, reason="memory limits are off under sanitizers (shadow memory)")
def test_memory_hog_is_killed_and_others_keep_their_pids(make_suite):
    s = make_suite(extra={"gcd": {"exec": os.path.join(BUILD, "tests", "memhog"),
                                  "memory_max": "16M"}},
                   start=False)
    s.start(wait=False)
    s.wait_running(names=("apid", "mediad"))
    others = {n: s.status()[n]["pid"] for n in ("apid", "mediad")}
    st = wait_for(lambda: (st := s.status())["gcd"]["oom_kills"] >= 1 and st, 10,
                  what="an OOM kill of the hog")
    assert st["gcd"]["state"] in ("backoff", "starting", "failed")
    wait_for(lambda: s.status()["gcd"]["restarts"] >= 1, 5, what="the hog restarted")
    mode = st["_supervisor"]["memory_limits"]
    assert mode in ("cgroup", "rlimit")
    assert "killed for memory" in s.logs()
    st = s.status()
    for n, pid in others.items():
        assert st[n]["pid"] == pid and st[n]["state"] == "running"
        assert st[n]["restarts"] == 0 and st[n]["oom_kills"] == 0


def test_crash_loop_goes_failed_and_start_revives_it(make_suite, tmp_path):
    flag = tmp_path / "broken"
    flag.write_text("")
    wrapper = tmp_path / "flaky-gcd.sh"
    wrapper.write_text(f'#!/bin/sh\n[ -e "{flag}" ] && exit 3\n'
                       f'exec "{BUILD}/ankicollab-gcd" "$@"\n')
    wrapper.chmod(0o755)
    s = make_suite(extra={"gcd": {"exec": str(wrapper)}}, start=False)
    s.start(wait=False)
    st = wait_for(lambda: (st := s.status())["gcd"]["state"] == "failed" and st, 10,
                  what="gcd failed")
    assert st["gcd"]["restarts"] == 4  # five deaths: the first start and four restarts
    assert st["apid"]["state"] == "running" and st["mediad"]["state"] == "running"
    time.sleep(0.5)
    assert s.status()["gcd"]["state"] == "failed"  # and it stays there

    flag.unlink()
    r = s.ctl("start", "gcd")
    assert "gcd" in r.stdout
    st = s.wait_running()
    assert st["gcd"]["pid"] > 0


def test_sigterm_stops_everything_with_status_zero(make_suite):
    s = make_suite()
    pids = [s.status()[n]["pid"] for n in DAEMONS]
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=6) == 0
    wait_for(lambda: not any(pid_alive(p) for p in pids), 6 - (time.monotonic() - t0),
             what="every daemon gone")
    assert time.monotonic() - t0 < 6
    assert not os.path.exists(os.path.join(s.run_dir, "control.sock"))
    log = s.logs()
    # apid first, then gcd, then mediad
    assert log.index("apid: pid") < log.index("gcd: pid") < log.index("mediad: pid")


def test_sigterm_kills_a_daemon_that_ignores_shutdown(make_suite, tmp_path):
    stubborn = tmp_path / "stubborn.sh"
    stubborn.write_text("#!/bin/sh\ntrap '' TERM\nwhile :; do sleep 0.1; done\n")
    stubborn.chmod(0o755)
    s = make_suite(extra={"gcd": {"exec": str(stubborn)},
                          "supervisor": {"start_timeout": "60s"}}, start=False)
    s.start(wait=False)
    s.wait_running(names=("apid", "mediad"))
    gcd_pid = wait_for(lambda: s.status()["gcd"]["pid"], 5, what="gcd pid")
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    assert s.proc.wait(timeout=8) == 0
    assert time.monotonic() - t0 < 6.5
    wait_for(lambda: not pid_alive(gcd_pid), 1, what="stubborn gcd gone")


def test_notify_socket_ready_and_watchdog_stops_while_a_daemon_is_stopped(make_suite, tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.1)
    try:
        s = make_suite(env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"},
                       extra={"supervisor": {"heartbeat_interval": "100ms"}}, start=False)
        s.start(wait=False)

        def collect(seconds):
            got = []
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    got.append((time.monotonic(), sock.recv(4096).decode()))
                except socket.timeout:
                    pass
            return got

        msgs = collect(2.0)
        texts = [m for _, m in msgs]
        assert any("READY=1" in m for m in texts), texts
        assert any(m.startswith("STATUS=") and "apid running" in m for m in texts), texts
        pings = [t for t, m in msgs if "WATCHDOG=1" in m]
        assert len(pings) >= 3, texts

        apid = s.status()["apid"]["pid"]
        os.kill(apid, signal.SIGSTOP)
        try:
            collect(0.6)  # the missed heartbeat is noticed
            stopped = [m for _, m in collect(1.5) if "WATCHDOG=1" in m]
            assert stopped == []
        finally:
            os.kill(apid, signal.SIGCONT)
        resumed = [m for _, m in collect(1.5) if "WATCHDOG=1" in m]
        assert len(resumed) >= 1
        assert s.status()["apid"]["pid"] == apid  # not restarted: it answered again

    finally:
        sock.close()


def test_notify_stopping_is_sent(make_suite, tmp_path):
    path = str(tmp_path / "n.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(3)
    try:
        s = make_suite(env={"NOTIFY_SOCKET": path})
        s.proc.send_signal(signal.SIGTERM)
        seen = []
        while not any("STOPPING=1" in m for m in seen):
            seen.append(sock.recv(4096).decode())
        assert s.proc.wait(timeout=6) == 0
    finally:
        sock.close()


def test_status_text_format(suite):
    out = suite.ctl("status").stdout.splitlines()
    assert len(out) == 4
    for line, name in zip(out, DAEMONS):
        fields = line.split()
        assert fields[0] == name and fields[1] == "running"
        assert [f.split("=")[0] for f in fields[2:]] == ["pid", "rss_kb", "restarts", "oom_kills"]
        assert int(fields[2].split("=")[1]) > 0
        assert int(fields[3].split("=")[1]) > 0
    assert out[3].startswith("supervisor running pid=")
    assert "memory_limits=" in out[3]


def test_status_json_format(suite):
    out = json.loads(suite.ctl("status", "--json").stdout)
    assert [d["name"] for d in out["daemons"]] == list(DAEMONS)
    for d in out["daemons"]:
        for key in ("name", "state", "pid", "rss_kb", "restarts", "oom_kills"):
            assert key in d
        assert d["state"] == "running" and d["rss_kb"] > 0
    assert out["supervisor"]["pid"] == suite.proc.pid


def test_stop_start_restart(suite):
    old = suite.status()["apid"]["pid"]
    suite.ctl("stop", "apid")
    st = wait_for(lambda: (st := suite.status())["apid"]["state"] == "stopped" and st, 5,
                  what="apid stopped")
    assert st["apid"]["pid"] == 0 and not pid_alive(old)
    time.sleep(0.3)
    assert suite.status()["apid"]["state"] == "stopped"  # a stop is not a death
    suite.ctl("start", "apid")
    st = suite.wait_running()
    assert st["apid"]["restarts"] == 0, suite.logs()
    mid = st["apid"]["pid"]
    suite.ctl("restart", "apid")
    wait_for(lambda: (st := suite.status())["apid"]["pid"] not in (0, mid)
             and st["apid"]["state"] == "running", 5, what="apid restarted")
    assert suite.health("apid")["pid"] == suite.status()["apid"]["pid"]


def test_ctl_errors(suite, tmp_path):
    r = suite.ctl("start", "nosuch", check=False)
    assert r.returncode == 1 and "no such daemon" in r.stderr
    r = suite.ctl("frobnicate", check=False)
    assert r.returncode == 100 and "unknown command" in r.stderr


def test_ctl_without_a_supervisor(tmp_path):
    conf = tmp_path / "c.conf"
    conf.write_text(f"data_dir = {tmp_path}/data\n")
    r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", str(conf), "status"],
                       capture_output=True, text=True, timeout=5)
    assert r.returncode == 111
    assert "the supervisor is not running" in r.stderr


def test_reload_passes_new_limits_on(suite):
    before = suite.status()
    with open(suite.conf, "a") as f:
        f.write("[gcd]\nmemory_max = 20M\n")
    suite.ctl("reload")
    wait_for(lambda: suite.status()["gcd"]["memory_max"] == 20 * 1024 * 1024, 3,
             what="new memory_max")
    wait_for(lambda: suite.logs().count("config reloaded") >= 4, 3,
             what="every daemon reloaded")
    after = suite.status()
    assert all(after[n]["pid"] == before[n]["pid"] for n in DAEMONS)


@pytest.mark.parametrize("text,reason", [
    ("[supervisor]\ncrash_limit = 0\n", "crash_limit must be 1 to 16"),
    ("[supervisor]\nheartbeat_timeout = 1s\nheartbeat_interval = 2s\n",
     "heartbeat_timeout must be longer than heartbeat_interval"),
    ("[apid]\nlisten =\n", "apid and mediad need a listen address"),
])
def test_inconsistent_config_is_refused(tmp_path, text, reason):
    conf = tmp_path / "c.conf"
    conf.write_text(text)
    r = subprocess.run([os.path.join(BUILD, "ankicollab-supervisor"), "-n", "-c", str(conf)],
                       capture_output=True, text=True, timeout=5)
    assert r.returncode == 1 and reason in r.stderr


def test_bad_config_line_is_reported(tmp_path):
    conf = tmp_path / "bad.conf"
    conf.write_text("data_dir = /tmp/x\n[apid]\nmemory_max = lots\n")
    r = subprocess.run([os.path.join(BUILD, "ankicollab-supervisor"), "-n", "-c", str(conf)],
                       capture_output=True, text=True, timeout=5)
    assert r.returncode == 1
    assert f"{conf}:3: expected a size" in r.stderr


def test_second_supervisor_refuses(suite):
    r = subprocess.run([os.path.join(BUILD, "ankicollab-supervisor"), "-c", suite.conf],
                       capture_output=True, text=True, timeout=10)
    assert r.returncode != 0
    assert suite.status()["apid"]["state"] == "running"


def test_secret_generated_once_with_mode_0600(suite):
    path = os.path.join(suite.data_dir, "secrets", "media_token_secret")
    st = os.stat(path)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert len(open(path).read().strip()) == 64


def test_restarted_daemon_serves_the_same_port_without_refusals(make_suite):
    s = make_suite()
    old = s.status()["apid"]["pid"]
    os.kill(old, signal.SIGKILL)
    # The supervisor holds the listener: a connection made during the restart
    # waits in the backlog instead of being refused.
    h = s.health("apid", timeout=3)
    assert h["status"] == "ok"


def test_reload_reports_a_bad_config_and_keeps_the_old(suite):
    good = open(suite.conf).read()
    pids = {n: suite.status()[n]["pid"] for n in DAEMONS}
    with open(suite.conf, "a") as f:
        f.write("[apid]\nmemory_max = plenty\n")
    r = suite.ctl("reload", check=False)
    assert r.returncode == 1
    assert f"{suite.conf}:" in r.stderr and "expected a size" in r.stderr
    suite.proc.send_signal(signal.SIGHUP)  # the supervisor's own check
    wait_for(lambda: "keeping the old config" in suite.logs(), 3, what="reload refused")
    with open(suite.conf, "w") as f:
        f.write(good)
    st = suite.status()
    assert {n: st[n]["pid"] for n in DAEMONS} == pids


def test_ready_even_when_a_daemon_fails_at_start(make_suite, tmp_path):
    path = str(tmp_path / "ready.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    try:
        s = make_suite(env={"NOTIFY_SOCKET": path}, extra={"gcd": {"exec": "/bin/false"}},
                       start=False)
        s.start(wait=False)
        seen = []
        while not any("READY=1" in m for m in seen):
            seen.append(sock.recv(4096).decode())
        st = s.status()
        assert st["gcd"]["state"] == "failed"
        assert st["apid"]["state"] == "running" and st["mediad"]["state"] == "running"
        assert any("gcd failed" in m for m in seen if m.startswith("STATUS="))
    finally:
        sock.close()


def test_start_of_a_running_daemon_says_so(suite):
    r = suite.ctl("start", "apid")
    assert r.stdout.strip() == "apid: already running"


def test_exec_is_looked_up_in_path(make_suite, tmp_path):
    script = tmp_path / "slot.sh"
    script.write_text("exec sleep 1000\n")
    s = make_suite(extra={"gcd": {"exec": f"sh {script}"},
                          "supervisor": {"start_timeout": "60s"}}, start=False)
    s.start(wait=False)
    pid = wait_for(lambda: s.status()["gcd"]["pid"], 5, what="gcd slot pid")
    time.sleep(0.3)
    st = s.status()
    assert st["gcd"]["pid"] == pid and st["gcd"]["state"] == "starting"
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        assert f.read().split(b"\0")[0] == b"sleep"
