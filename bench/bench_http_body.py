"""A 100 MB request body through the HTTP layer: wall time and the server's peak RSS.

Ours: build/tests/http_test_server's POST /md5, which hashes the body as it
streams in. Reference, measured in the same run: build/bench/evhttp_ref_server,
libevent 2.1's evhttp, which buffers the whole body before its handler runs.
Each is sent the body once with Content-Length and once chunked, each time by
a fresh process, whose VmHWM (/proc/PID/status) is read after the answer.
The body is made on the fly from a 1 MiB block; it never sits in memory whole.

Goal: peak RSS under 8 MB for ours, whatever the body's size.
"""
import hashlib
import os
import random
import select
import socket
import subprocess
import sys
import time

from benchlib import BUILD, ROOT, status_kb

OURS = [os.path.join(BUILD, "tests", "http_test_server")]
REF = [os.path.join(BUILD, "bench", "evhttp_ref_server")]
BLOCK = random.Random(1).randbytes(1 << 20)
BLOCKS = 100
GOAL_KB = 8 * 1024


def start(cmd):
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline().decode() if ready else ""
    if not line.startswith("port "):
        p.kill()
        p.wait()
        raise RuntimeError(f"{cmd[0]} did not start: {line!r}")
    return p, int(line.split()[1])


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("server closed before answering")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(int(l.split(b":")[1]) for l in head.split(b"\r\n")
                  if l.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += s.recv(65536)
    return head.split(b"\r\n")[0].decode(), body.decode()


def send_body(port, path, chunked):
    """Streams BLOCKS blocks; returns (status line, answer, seconds)."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as s:
        framing = (b"Transfer-Encoding: chunked" if chunked
                   else b"Content-Length: %d" % (len(BLOCK) * BLOCKS))
        s.sendall(b"POST " + path + b" HTTP/1.1\r\nHost: bench\r\n" + framing + b"\r\n\r\n")
        for _ in range(BLOCKS):
            if chunked:
                s.sendall(b"%x\r\n" % len(BLOCK) + BLOCK + b"\r\n")
            else:
                s.sendall(BLOCK)
        if chunked:
            s.sendall(b"0\r\n\r\n")
        status, answer = read_response(s)
    return status, answer, time.monotonic() - t0


def measure(cmd, path, chunked, expect):
    p, port = start(cmd)
    try:
        idle = status_kb(p.pid, "VmRSS")
        status, answer, secs = send_body(port, path, chunked)
        if status != "HTTP/1.1 200 OK" or answer != expect:
            raise RuntimeError(f"{cmd[0]}: {status} {answer!r}, want {expect!r}")
        return secs, status_kb(p.pid, "VmHWM"), idle
    finally:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    for exe in (OURS[0], REF[0]):
        if not os.access(exe, os.X_OK):
            sys.exit(f"missing {exe}: make {os.path.relpath(exe, ROOT)}")
    h = hashlib.md5()
    for _ in range(BLOCKS):
        h.update(BLOCK)
    expect = f"{h.hexdigest()} {len(BLOCK) * BLOCKS}"

    print(f"{BLOCKS} MiB request body, POST; ours = http_test_server /md5 (streamed), "
          "ref = evhttp_ref_server (libevent 2.1 evhttp, buffered)")
    ok = True
    for chunked in (False, True):
        mode = "chunked" if chunked else "Content-Length"
        o_secs, o_hwm, o_idle = measure(OURS, b"/md5", chunked, expect)
        r_secs, r_hwm, r_idle = measure(REF, b"/md5", chunked, expect)
        print(f"{mode + ' wall time':<34} ours {o_secs:8.2f} s    ref {r_secs:8.2f} s"
              f"    ratio {o_secs / r_secs:6.2f}")
        print(f"{mode + ' peak RSS (VmHWM)':<34} ours {o_hwm / 1024:8.1f} MB   ref "
              f"{r_hwm / 1024:8.1f} MB   ratio {o_hwm / r_hwm:6.2f}"
              f"   (idle before: ours {o_idle / 1024:.1f} MB, ref {r_idle / 1024:.1f} MB)")
        ok = ok and o_hwm < GOAL_KB
    print(f"goal: peak RSS under {GOAL_KB // 1024} MB for ours: {'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
