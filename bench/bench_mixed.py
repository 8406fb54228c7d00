"""A mixed load shaped like 32 add-on workers against the whole suite.

32 threads, each with its own keep-alive session, one of 4 logged-in users,
loop for MIXED_SECONDS (default 60) over what the add-on does: incremental
pulls, a fresh subscriber's full pull, /CheckDeckAlive, /GetDeckTimestamp,
media checks (/media/check/bulk of files already stored), uploads (check,
PUT to mediad, confirm), downloads (/media/manifest, then GET from mediad)
and suggestions (/submitCard, when apid has the route; else skipped and said).
Rate limits are off: one machine plays many clients.

Figures: requests per second, p50/p99 latency per route, errors (goal: no 5xx
other than deliberate 503s with Retry-After; 4xx are counted too: a download
token is good for three uses, and workers of one user fetching one file in the
same second get the same token), and the peak RSS and PSS of each
process (supervisor, apid, mediad, gcd) and of their sum, sampled every 0.2 s
(goal: sum under 48 MB).

Reference, in the same run: the same client (32 threads, keep-alive sessions)
against bench/evhttp_ref_server (a minimal libevent evhttp server) doing GET /
for min(MIXED_SECONDS, 10) s: what the client and loopback alone allow.
"""
import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

from benchlib import BUILD, ROOT, Suite, free_port, pss_kb, row, status_kb, wait_for

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from addon import Addon, add_user, deck, gzb64, note, notetype  # noqa: E402

SECONDS = float(os.environ.get("MIXED_SECONDS", "60"))
WORKERS = 32
USERS = 4
NOTES = 300
FILES_PER_DECK = 20
MAGIC = "2022-12-31 23:59:59"
GOAL_MB = 48
MIX = [  # (operation, weight)
    ("pull", 30), ("full_pull", 4), ("alive", 12), ("timestamp", 10), ("media_check", 14),
    ("download", 12), ("upload", 8), ("suggest", 10),
]


def png(seed, size=4000):
    head = b"\x89PNG\r\n\x1a\n"
    return head + random.Random(seed).randbytes(size - len(head))


def md5(b):
    return hashlib.md5(b).hexdigest()


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lat = {}           # route → [seconds]
        self.codes = {}         # (route, status) → n
        self.bad5xx = []
        self.deliberate = 0

    def add(self, route, t, r):
        with self.lock:
            self.lat.setdefault(route, []).append(t)
            self.codes[(route, r.status_code)] = self.codes.get((route, r.status_code), 0) + 1
            if r.status_code == 503 and "Retry-After" in r.headers:
                self.deliberate += 1
            elif r.status_code >= 500:
                self.bad5xx.append(f"{route} {r.status_code} {r.text[:80]!r}")


def timed(stats, route, fn):
    t0 = time.perf_counter()
    r = fn()
    stats.add(route, time.perf_counter() - t0, r)
    return r


class World:
    """Users, their decks and the media already stored."""

    def __init__(self, s):
        self.s = s
        self.basic = notetype("Basic", ["Front", "Back"])
        self.users = []
        self.decks = []          # (owner index, hash, [guids], {filename: bytes})
        self.notes = {}          # hash: the deck's notes as published
        for u in range(USERS):
            add_user(s, f"user{u}")
            self.users.append(Addon(s, f"user{u}"))
        for u, a in enumerate(self.users):
            files = {f"img{u}_{i}.png": png(u * 1000 + i) for i in range(FILES_PER_DECK)}
            names = list(files)
            notes = [note(self.basic, [f"Q{u}.{i} <img src=\"{names[i % len(names)]}\">",
                                       f"A{u}.{i} " + "x" * 200]) for i in range(NOTES)]
            status, body = a.create_deck(deck(f"Deck {u}", notes=notes, note_models=[self.basic]))
            assert status == 200, body
            h = body["message"]
            guids = [n["guid"] for n in notes]
            self.decks.append((u, h, guids, files))
            self.notes[h] = notes
            self.upload(a, h, [(n, files[n], guids[i]) for i, n in enumerate(names)],
                        body["bulk_operation_id"])
        self.has_submit = requests.post(s.url("apid", "/submitCard"), data="",
                                        timeout=10).status_code != 404

    def upload(self, a, h, items, op="", session=None, stats=None):
        """check/bulk, PUT each missing file to mediad, confirm/bulk."""
        http = session or requests
        files = [{"hash": md5(d), "filename": n, "note_guid": g, "file_size": len(d)}
                 for n, d, g in items]

        def post(path, payload):
            return http.post(a.url(path), data=json.dumps(payload), timeout=60,
                             headers={"Content-Type": "application/json", **a.headers()})
        call = (lambda route, fn: timed(stats, route, fn)) if stats else (lambda r, fn: fn())
        r = call("/media/check/bulk", lambda: post("/media/check/bulk", {
            "deck_hash": h, "files": files, "bulk_operation_id": op}))
        if r.status_code != 200:
            return r
        body = r.json()
        data = {md5(d): (n, d) for n, d, _ in items}
        for m in body["missing_files"]:
            n, d = data[m["hash"]]
            hdr = {"Authorization": f"Bearer {a.token}", "Content-Type": "image/png",
                   "Content-MD5": base64.b64encode(hashlib.md5(d).digest()).decode()}
            r = call("PUT /v1/media/*", lambda: http.put(m["upload_url"], data=d, headers=hdr,
                                                         timeout=60))
            if r.status_code != 200:
                return r
        if body["batch_id"]:
            r = call("/media/confirm/bulk", lambda: post("/media/confirm/bulk", {
                "batch_id": body["batch_id"], "confirmed_files": [m["hash"] for m in
                                                                  body["missing_files"]],
                "bulk_operation_id": op}))
        return r


def worker(world, i, deadline, stats, seq):
    rnd = random.Random(i)
    s = world.s
    a = world.users[i % USERS]
    http = requests.Session()
    ops = [op for op, w in MIX for _ in range(w)]
    api = s.url("apid", "")
    auth = {"Authorization": f"Bearer {a.token}"}
    json_h = {"Content-Type": "application/json"}
    while time.monotonic() < deadline:
        op = rnd.choice(ops)
        u, h, guids, files = world.decks[rnd.randrange(len(world.decks))]
        if op == "pull":
            body = json.dumps({h: {"timestamp": time.strftime(
                "%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - 3600)), "deckId": 1}})
            timed(stats, "/pullChanges", lambda: http.post(api + "/pullChanges", data=body,
                                                             headers=json_h, timeout=60))
        elif op == "full_pull":
            body = json.dumps({h: {"timestamp": MAGIC, "deckId": 0}})
            timed(stats, "/pullChanges (full)", lambda: http.post(
                api + "/pullChanges", data=body, headers=json_h, timeout=60))
        elif op == "alive":
            body = json.dumps({"deck_hashes": [d[1] for d in world.decks]})
            timed(stats, "/CheckDeckAlive", lambda: http.post(
                api + "/CheckDeckAlive", data=body, headers=json_h, timeout=60))
        elif op == "timestamp":
            timed(stats, "/GetDeckTimestamp/*", lambda: http.get(
                api + f"/GetDeckTimestamp/{h}", timeout=60))
        elif op == "media_check":
            if u != i % USERS:
                h = world.decks[i % USERS][1]
                guids, files = world.decks[i % USERS][2], world.decks[i % USERS][3]
            names = rnd.sample(sorted(files), 5)
            body = json.dumps({"deck_hash": h, "bulk_operation_id": "", "files": [
                {"hash": md5(files[n]), "filename": n, "note_guid": guids[0],
                 "file_size": len(files[n])} for n in names]})
            timed(stats, "/media/check/bulk", lambda: http.post(
                api + "/media/check/bulk", data=body, headers={**json_h, **auth}, timeout=60))
        elif op == "download":
            names = rnd.sample(sorted(files), 3)
            r = timed(stats, "/media/manifest", lambda: http.post(
                api + "/media/manifest", data=json.dumps({"deck_hash": h, "filenames": names}),
                headers={**json_h, **auth}, timeout=60))
            if r.status_code == 200:
                for f in r.json()["files"]:
                    timed(stats, "GET /v1/media/*", lambda: http.get(
                        f["download_url"], headers=auth, timeout=60))
        elif op == "upload":
            own = world.decks[i % USERS]
            n = f"new_{i}_{next(seq)}.png"
            d = png(hash(n) & 0xffffffff, rnd.randint(2000, 60000))
            world.upload(a, own[1], [(n, d, rnd.choice(own[2]))], session=http, stats=stats)
        elif op == "suggest" and world.has_submit:
            # As the add-on sends an edit (§6.3): the root deck with the one
            # note, its field changed, under the deck's notetype.
            n = rnd.choice(world.notes[h])
            edited = dict(n, fields=[n["fields"][0], f"suggested by worker {i}"])
            name = f"Deck {u}"
            payload = {"remote_deck": h, "deck_path": name, "new_name": name,
                       "deck": json.dumps(deck(name, notes=[edited],
                                               note_models=[world.basic])),
                       "rationale": 2, "commit_text": "bench", "force_overwrite": False}
            timed(stats, "/submitCard", lambda: http.post(
                api + "/submitCard", data=gzb64(payload),
                headers={"Content-Type": "text/plain", **auth}, timeout=60))


class MemWatch(threading.Thread):
    """Samples RSS and PSS of each process; keeps each peak and the peak of the sums."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = pids
        self.peak = {n: [0, 0] for n in pids}
        self.sum_peak = [0, 0]
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            tot = [0, 0]
            for n, pid in self.pids.items():
                try:
                    v = [status_kb(pid, "VmRSS"), pss_kb(pid)]
                except (OSError, KeyError):
                    continue
                for k in (0, 1):
                    self.peak[n][k] = max(self.peak[n][k], v[k])
                    tot[k] += v[k]
            for k in (0, 1):
                self.sum_peak[k] = max(self.sum_peak[k], tot[k])
            self.stop.wait(0.2)


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p / 100))] if xs else float("nan")


def run_workers(target, seconds):
    stats = Stats()
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=target, args=(i, deadline, stats)) for i in range(WORKERS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return stats, time.monotonic() - t0


def reference(seconds):
    port = free_port()
    p = subprocess.Popen([os.path.join(BUILD, "bench", "evhttp_ref_server"), str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1), 5,
                 what="reference server")

        def target(i, deadline, stats):
            http = requests.Session()
            while time.monotonic() < deadline:
                timed(stats, "GET /", lambda: http.get(f"http://127.0.0.1:{port}/", timeout=30))
        stats, wall = run_workers(target, seconds)
        return stats, wall, status_kb(p.pid, "VmHWM"), pss_kb(p.pid)
    finally:
        p.kill()
        p.wait()


def main():
    ref_seconds = min(SECONDS, 10)
    ref, ref_wall, ref_hwm, ref_pss = reference(ref_seconds)
    ref_n = len(ref.lat["GET /"])
    env = {"STANDARD_API_RATE_LIMIT_PER_MINUTE": "0", "STRICT_API_RATE_LIMIT_PER_MINUTE": "0",
           "MEDIA_API_RATE_LIMIT_PER_MINUTE": "0"}
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        s = Suite(tmp, env=env).start()
        try:
            world = World(s)
            if not world.has_submit:
                print("/submitCard: apid has no such route yet; suggestions skipped", flush=True)
            st = s.status()
            pids = {"supervisor": s.proc.pid} | {n: st[n]["pid"] for n in ("apid", "mediad",
                                                                          "gcd")}
            before = {n: status_kb(pid, "VmRSS") for n, pid in pids.items()}
            watch = MemWatch(pids)
            watch.start()
            seq = iter(range(10 ** 9))
            lock = threading.Lock()

            def next_seq(_it=seq):
                with lock:
                    return next(_it)

            class Seq:
                def __next__(self):
                    return next_seq()
            stats, wall = run_workers(lambda i, d, stt: worker(world, i, d, stt, Seq()),
                                      SECONDS)
            watch.stop.set()
            watch.join()
            after = s.status()
            shed = {}
            for line in s.logs().splitlines():
                if "shed:" in line and "refused: " in line:
                    why = line.split("refused: ", 1)[1]
                    shed[why] = shed.get(why, 0) + 1
        finally:
            s.stop()
    total = sum(len(v) for v in stats.lat.values())
    print(f"{WORKERS} workers for {wall:.0f} s; reference: GET / on evhttp_ref_server "
          f"for {ref_wall:.0f} s with the same client", flush=True)
    row("requests per second, all routes", total / wall, "req/s", ref_n / ref_wall,
        "evhttp GET /")
    ref_p50, ref_p99 = pct(ref.lat["GET /"], 50) * 1000, pct(ref.lat["GET /"], 99) * 1000
    for route in sorted(stats.lat):
        xs = stats.lat[route]
        row(f"{route} ({len(xs)}): p50", pct(xs, 50) * 1000, "ms", ref_p50, "evhttp GET /")
        row(f"{route}: p99", pct(xs, 99) * 1000, "ms", ref_p99, "evhttp GET /")
    codes = {}
    for (route, code), n in sorted(stats.codes.items()):
        codes.setdefault(route, []).append(f"{code}x{n}")
    for route, c in codes.items():
        print(f"  {route}: {' '.join(c)}", flush=True)
    row("5xx other than deliberate 503s", len(stats.bad5xx), "", goal="0")
    for line in stats.bad5xx[:10]:
        print("   ", line)
    row("deliberate 503s (with Retry-After)", stats.deliberate, "")
    for why, n in sorted(shed.items()):
        print(f"    shed because {why}: {n}", flush=True)
    n4xx = sum(n for (route, code), n in stats.codes.items() if 400 <= code < 500)
    row("4xx answers", n4xx, "")
    restarts = sum(after[n]["restarts"] for n in ("apid", "mediad", "gcd"))
    row("daemon restarts during the run", restarts, "", goal="0")
    for n, kb in before.items():
        row(f"RSS {n} before the load (decks published)", kb / 1024, "MB")
    for n, (rss, pss) in watch.peak.items():
        row(f"peak RSS {n}", rss / 1024, "MB", ref_hwm / 1024, "evhttp peak RSS")
        row(f"peak PSS {n}", pss / 1024, "MB", ref_pss / 1024, "evhttp PSS")
    row("peak RSS, sum of the 4 processes", watch.sum_peak[0] / 1024, "MB", ref_hwm / 1024,
        "evhttp peak RSS")
    row("peak PSS, sum of the 4 processes", watch.sum_peak[1] / 1024, "MB", ref_pss / 1024,
        "evhttp PSS", goal=f"< {GOAL_MB} MB")


if __name__ == "__main__":
    main()
