"""32 concurrent 10 MiB media uploads, then 32 concurrent downloads, through mediad.

Ours: the real suite (supervisor, mediad at its default memory_max of 32M),
PUT /v1/media/{md5}?token= with the add-on's headers (Content-Length,
Content-MD5, Content-Type), then GET of each file, all 32 at once on loopback.
Every answer is checked: 200, and the downloaded bytes hash to the name.

References, measured in the same run:
 - uploads: build/bench/evhttp_ref_server (libevent 2.1 evhttp) receiving the
   same 32 bodies at once, which buffers each body whole before its handler
   runs (and hashes it): what a plain server costs;
 - uploads, disk: the client writing the same 32 bodies to files in the
   data dir and fsyncing them, in 32 threads: what the disk alone costs;
 - downloads: the client reading the 32 stored files straight from disk in
   32 threads (same hashing), i.e. the cost without any server.
Each body is made on the fly from a 1 MiB block with a distinct first bytes,
so the client never holds a whole body.

Then the same for SVG, which mediad keeps gzipped and inflates as it serves:
32 concurrent uploads of a 4 MiB drawing (compressed at the store), 32
concurrent downloads (inflated on the way out), beside the client reading and
gunzipping the same stored files itself.

Goal: mediad's peak RSS (VmHWM) well under its 32 MB memory_max: under 16 MB.
"""
import base64
import gzip
import hashlib
import http.client
import os
import random
import select
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import BUILD, ROOT, Suite, row, status_kb

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from test_mediad import download_payload, mint, upload_payload  # noqa: E402

N = 32
MIB = 1 << 20
BLOCKS = 10
SIZE = BLOCKS * MIB
GOAL_KB = 16 * 1024
BLOCK = random.Random(7).randbytes(MIB)
REF = os.path.join(BUILD, "bench", "evhttp_ref_server")
SVG_BODY = b"".join(b'<circle cx="%d" cy="%d" r="%d" fill="#%02x%02x%02x"/>\n' % (
    BLOCK[k] * 3, BLOCK[k + 1] * 2, BLOCK[k + 2] % 40 + 1, BLOCK[k + 3], BLOCK[k + 4], BLOCK[k + 5])
    for k in range(0, 6 * 100000, 6))
SVG_SIZE = 4 * MIB


def svg(i):
    """A drawing of SVG_SIZE bytes, distinct by its comment."""
    head = b'<svg xmlns="http://www.w3.org/2000/svg"><!-- %08d -->\n' % i
    tail = b"</svg>\n"
    return head + SVG_BODY[:SVG_SIZE - len(head) - len(tail)] + tail


def first_block(i):
    """A PNG signature and the upload's number, then the shared block."""
    head = b"\x89PNG\r\n\x1a\n" + i.to_bytes(8, "big")
    return head + BLOCK[len(head):]


def blocks(i):
    yield first_block(i)
    for _ in range(BLOCKS - 1):
        yield BLOCK


def md5_of(i):
    h = hashlib.md5()
    for b in blocks(i):
        h.update(b)
    return h.digest()


def run_all(fn, n):
    """fn(i) in n threads at once; the wall time and the results."""
    results = [None] * n
    errors = []
    start = threading.Barrier(n + 1)

    def work(i):
        start.wait()
        try:
            results[i] = fn(i)
        except Exception as e:  # reported below, never swallowed
            errors.append(f"{i}: {e!r}")

    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.monotonic()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    if errors:
        raise RuntimeError("; ".join(errors[:5]))
    return secs, results


def send_body(port, method, path, i, headers, body=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.putrequest(method, path)
    for k, v in headers.items():
        c.putheader(k, v)
    c.putheader("Content-Length", str(SIZE if body is None else len(body)))
    c.endheaders()
    for b in (blocks(i) if body is None else [body]):
        c.send(b)
    r = c.getresponse()
    body = r.read()
    c.close()
    if r.status != 200:
        raise RuntimeError(f"{method} {path}: {r.status} {body[:200]!r}")
    return body


def fetch(port, path, want):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.request("GET", path, headers={"Authorization": "Bearer " + "A" * 48})
    r = c.getresponse()
    h = hashlib.md5()
    while (chunk := r.read(128 * 1024)):
        h.update(chunk)
    c.close()
    if r.status != 200 or h.digest() != want:
        raise RuntimeError(f"GET {path}: {r.status}, md5 {h.hexdigest()}")


def read_file(path, want):
    h = hashlib.md5()
    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as f:
        while (chunk := f.read(128 * 1024)):
            h.update(chunk)
    if h.digest() != want:
        raise RuntimeError(f"{path}: bad bytes")


def write_file(path, i):
    with open(path, "wb") as f:
        for b in blocks(i):
            f.write(b)
        f.flush()
        os.fsync(f.fileno())


def start_ref():
    p = subprocess.Popen([REF], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    ready, _, _ = select.select([p.stdout], [], [], 10)
    line = p.stdout.readline().decode() if ready else ""
    if not line.startswith("port "):
        p.kill()
        p.wait()
        raise RuntimeError(f"{REF} did not start: {line!r}")
    return p, int(line.split()[1])


def bench_ref(digests):
    p, port = start_ref()
    try:
        idle = status_kb(p.pid, "VmRSS")
        secs, answers = run_all(lambda i: send_body(port, "POST", "/upload", i, {}), N)
        for i, a in enumerate(answers):
            if a.decode() != f"{digests[i].hex()} {SIZE}":
                raise RuntimeError(f"ref answered {a!r}")
        return secs, status_kb(p.pid, "VmHWM"), idle
    finally:
        p.terminate()
        p.wait()


def main():
    if not os.access(REF, os.X_OK):
        sys.exit(f"missing {REF}: make {os.path.relpath(REF, ROOT)}")
    digests = [md5_of(i) for i in range(N)]
    hexes = [d.hex() for d in digests]
    mb = N * SIZE / MIB

    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        s = Suite(tmp)
        s.start()
        try:
            pid = s.status()["mediad"]["pid"]
            port = s.ports["mediad"]
            with open(os.path.join(s.data_dir, "secrets", "media_token_secret")) as f:
                secret = f.read().strip()
            idle = status_kb(pid, "VmRSS")

            def put(i):
                tok = mint(secret, upload_payload(hexes[i], SIZE, f"img_{i:08x}.png"))
                return send_body(port, "PUT", f"/v1/media/{hexes[i]}?token={tok}", i, {
                    "Authorization": "Bearer " + "A" * 48, "Content-Type": "image/png",
                    "Content-MD5": base64.b64encode(digests[i]).decode()})

            up_secs, _ = run_all(put, N)
            up_hwm = status_kb(pid, "VmHWM")

            def get(i):
                tok = mint(secret, download_payload(hexes[i], f"img_{i:08x}.png"))
                fetch(port, f"/v1/media/{hexes[i]}?token={tok}", digests[i])

            down_secs, _ = run_all(get, N)
            down_hwm = status_kb(pid, "VmHWM")
            media = os.path.join(s.data_dir, "media")
            file_secs, _ = run_all(lambda i: read_file(
                os.path.join(media, hexes[i][:2], hexes[i]), digests[i]), N)
            disk_secs, _ = run_all(lambda i: write_file(
                os.path.join(s.data_dir, f"plain-{i}"), i), N)

            # SVG: stored gzipped, inflated as it is served.
            svg_md5 = [hashlib.md5(svg(i)).digest() for i in range(N)]

            def put_svg(i):
                h = svg_md5[i].hex()
                tok = mint(secret, upload_payload(h, SVG_SIZE, f"d_{i:08x}.svg"))
                return send_body(port, "PUT", f"/v1/media/{h}?token={tok}", i, {
                    "Authorization": "Bearer " + "A" * 48, "Content-Type": "image/svg+xml",
                    "Content-MD5": base64.b64encode(svg_md5[i]).decode()}, svg(i))

            svg_up_secs, _ = run_all(put_svg, N)
            svg_gz_secs, _ = run_all(lambda i: gzip.compress(svg(i), 1), N)

            def get_svg(i):
                h = svg_md5[i].hex()
                tok = mint(secret, download_payload(h, f"d_{i:08x}.svg"))
                fetch(port, f"/v1/media/{h}?token={tok}", svg_md5[i])

            svg_down_secs, _ = run_all(get_svg, N)
            svg_hwm = status_kb(pid, "VmHWM")
            stored = [os.path.join(media, d.hex()[:2], d.hex() + ".gz") for d in svg_md5]
            svg_disk = sum(os.path.getsize(p) for p in stored)
            svg_file_secs, _ = run_all(lambda i: read_file(stored[i], svg_md5[i]), N)
            if s.status()["mediad"]["pid"] != pid:
                raise RuntimeError("mediad restarted during the bench")
        finally:
            s.stop()
            s.log.close()

    ref_secs, ref_hwm, ref_idle = bench_ref(digests)

    print(f"{N} concurrent uploads of {SIZE // MIB} MiB, then {N} concurrent downloads, "
          "loopback; ours = mediad (real suite), refs measured in this run")
    row("upload wall time (32 x 10 MiB)", up_secs, "s", ref_secs, "evhttp buffered")
    row("upload throughput", mb / up_secs, "MiB/s", mb / ref_secs, "evhttp buffered")
    row("upload throughput", mb / up_secs, "MiB/s", mb / disk_secs, "write+fsync files")
    row("download wall time (32 x 10 MiB)", down_secs, "s", file_secs, "direct file read")
    row("download throughput", mb / down_secs, "MiB/s", mb / file_secs, "direct file read")
    row("peak RSS after uploads (VmHWM)", up_hwm / 1024, "MB", ref_hwm / 1024,
        "evhttp buffered", f"< {GOAL_KB // 1024} MB")
    row("peak RSS after downloads (VmHWM)", down_hwm / 1024, "MB", None, "",
        f"< {GOAL_KB // 1024} MB")
    row("idle RSS before (VmRSS)", idle / 1024, "MB", ref_idle / 1024, "evhttp idle")
    svg_mb = N * SVG_SIZE / MIB
    row("SVG upload wall time (32 x 4 MiB, gzipped)", svg_up_secs, "s", svg_gz_secs,
        "client gzips them, level 1")
    row("SVG stored size", svg_disk / MIB, "MiB", svg_mb, "original bytes")
    row("SVG download throughput (inflated)", svg_mb / svg_down_secs, "MiB/s",
        svg_mb / svg_file_secs, "client gunzips the files")
    row("peak RSS after SVG (VmHWM)", svg_hwm / 1024, "MB", None, "", f"< {GOAL_KB // 1024} MB")
    ok = down_hwm < GOAL_KB and svg_hwm < GOAL_KB
    print(f"goal: mediad peak RSS under {GOAL_KB // 1024} MB (memory_max 32 MB): "
          f"{'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
