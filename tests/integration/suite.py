"""A real suite (supervisor, apid, mediad, gcd) in a temp dir, for tests and benches.

Each Suite gets its own data dir, runtime dir and loopback ports and starts the
real binaries from $ANKICOLLAB_BUILD (default: ./build).
"""
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ANKICOLLAB_BUILD", os.path.join(ROOT, "build"))
DAEMONS = ("apid", "mediad", "gcd")
# make asan sets this: sanitizer runtimes map terabytes of shadow memory, which
# no RLIMIT_DATA admits and whose RSS says nothing of ours.
SANITIZED = bool(os.environ.get("ANKICOLLAB_SANITIZED"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, timeout, interval=0.02, what="condition"):
    """Polls predicate until it returns a true value; fails the test after timeout."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = predicate()
        except (AssertionError, OSError, requests.RequestException, ValueError,
                KeyError) as e:
            last = e
        if last and not isinstance(last, Exception):
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Suite:
    def __init__(self, tmp, extra=None, env=None):
        self.tmp = tmp
        self.data_dir = os.path.join(tmp, "data")
        self.run_dir = os.path.join(tmp, "run")
        self.ports = {"apid": free_port(), "mediad": free_port()}
        self.conf = os.path.join(tmp, "ankicollab.conf")
        self.log_path = os.path.join(tmp, "suite.log")
        self.env = dict(os.environ)
        self.env.update(env or {})
        self.proc = None
        self.write_config(extra or {})

    def write_config(self, extra):
        sections = {
            "": {"data_dir": self.data_dir, "runtime_dir": self.run_dir},
            "supervisor": {"heartbeat_interval": "200ms"},
            "apid": {"listen": f"127.0.0.1:{self.ports['apid']}"},
            "mediad": {"listen": f"127.0.0.1:{self.ports['mediad']}",
                       "public_url": f"http://127.0.0.1:{self.ports['mediad']}"},
            "gcd": {},
        }
        if SANITIZED:
            for d in DAEMONS:
                sections[d]["memory_max"] = "0"
        for section, keys in extra.items():
            sections.setdefault(section, {}).update(keys)
        with open(self.conf, "w") as f:
            for section, keys in sections.items():
                if section:
                    f.write(f"[{section}]\n")
                for k, v in keys.items():
                    f.write(f"{k} = {v}\n")

    def start(self, wait=True):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [os.path.join(BUILD, "ankicollab-supervisor"), "-c", self.conf],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=self.env)
        if wait:
            self.wait_running()
        return self

    def wait_running(self, names=DAEMONS, timeout=10):
        def ok():
            st = self.status()
            return all(st[n]["state"] == "running" for n in names) and st
        return wait_for(ok, timeout, what=f"{names} running")

    def ctl(self, *args, check=True, timeout=15):
        r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", self.conf, *args],
                           capture_output=True, text=True, timeout=timeout, env=self.env)
        if check and r.returncode != 0:
            raise AssertionError(f"ankicollabctl {' '.join(args)} -> {r.returncode}: "
                                 f"{r.stdout}{r.stderr}")
        return r

    def status(self):
        out = json.loads(self.ctl("status", "--json").stdout)
        return {d["name"]: d for d in out["daemons"]} | {"_supervisor": out["supervisor"]}

    def url(self, daemon, path):
        return f"http://127.0.0.1:{self.ports[daemon]}{path}"

    def health(self, daemon, timeout=2):
        return requests.get(self.url(daemon, "/health"), timeout=timeout).json()

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        pids = []
        try:
            pids = [d["pid"] for n, d in self.status().items() if n in DAEMONS and d["pid"]]
        except Exception:
            pass
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pid in pids:  # never leave a daemon behind, even if the test failed
            if pid_alive(pid):
                os.kill(pid, signal.SIGKILL)


