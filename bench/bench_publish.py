"""Publishing a 30,000-note deck: apid's wall time, peak RSS and responsiveness.

The deck is what the add-on would send for a big collection: one notetype of
six fields, ~1.5 KB of HTML per note, 20 subdecks of 1,500 notes, the root's
note_models after every subdeck (CrowdAnki's sorted keys). It is made piece by
piece into a gzip stream, so the client holds only the compressed payload.

References, measured in the same run:
 - wall time: the client's own work to make the body (JSON, gzip level 9 as
   the add-on's gzip.compress, base64) — the add-on pays that before sending;
 - peak RSS: build/bench/evhttp_ref_server (libevent 2.1 evhttp) receiving the
   same bytes, i.e. what merely buffering the body costs a simple server;
 - /health latency while publishing: /health latency of the idle apid.
Goal: apid peak RSS (VmHWM) under 32 MB.
"""
import base64
import json
import os
import random
import select
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zlib

import requests

from benchlib import BUILD, ROOT, Suite, row, status_kb

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from addon import Addon, add_user  # noqa: E402

NDECKS = 20
NOTES_PER_DECK = 1500
GOAL_KB = 32 * 1024
WORDS = ("cardiac output stroke volume preload afterload contractility ventricle atrium "
         "systole diastole murmur valve aortic mitral tricuspid pulmonary stenosis "
         "regurgitation ischemia infarction troponin rhythm sinus block axis lead "
         "pressure flow resistance compliance").split()


def html(rnd, n):
    """About n bytes of the markup Anki fields hold."""
    out = []
    size = 0
    while size < n:
        w = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(3, 9)))
        k = rnd.randrange(6)
        piece = (w if k == 0 else f"<b>{w}</b>" if k == 1 else
                 f'<span style="color: #{rnd.randrange(1 << 24):06x};">{w}</span>' if k == 2 else
                 f"<div>{w}&nbsp;{rnd.randrange(1000)}</div>" if k == 3 else
                 f'<img src="img_{rnd.randrange(10**6):06d}.webp"> {w}' if k == 4 else
                 f"<ul><li>{w}</li></ul><br>")
        out.append(piece)
        size += len(piece) + 1
    return " ".join(out)


def model():
    names = ["Front", "Back", "Extra", "Source", "Image", "Notes"]
    return {"__type__": "NoteModel", "crowdanki_uuid": str(uuid.uuid4()),
            "css": ".card { font-family: arial; }",
            "flds": [{"name": f, "ord": i, "font": "Arial", "size": 20, "rtl": False,
                      "sticky": False, "description": "", "id": 5000 + i, "tag": None}
                     for i, f in enumerate(names)],
            "latexPost": "\\end{document}", "latexPre": "\\documentclass{article}",
            "latexsvg": False, "name": "Bench six", "originalStockKind": 1,
            "req": [[0, "any", [0]]], "sortf": 0, "type": 0,
            "tmpls": [{"name": "Card 1", "ord": 0, "qfmt": "{{Front}}",
                       "afmt": "{{FrontSide}}<hr id=answer>{{Back}}", "bqfmt": "",
                       "bafmt": "", "bfont": "", "bsize": 0, "id": 6000}]}


def dumps(obj):
    return json.dumps(obj, sort_keys=True, indent=4, ensure_ascii=False)


def deck_pieces(rnd, m):
    """The inner deck text in pieces, in CrowdAnki's key order."""
    yield '{\n    "__type__": "Deck",\n    "children": ['
    for k in range(NDECKS):
        yield ("," if k else "") + (
            '{"__type__": "Deck", "children": [], "crowdanki_uuid": "%s", "desc": "", '
            '"dyn": 0, "name": "Chapter %d", "notes": [' % (uuid.uuid4(), k + 1))
        for i in range(NOTES_PER_DECK):
            n = {"__type__": "Note", "guid": f"b{k:02d}{i:05d}",
                 "id": 1700000000000 + k * 10**5 + i,
                 "note_model_uuid": m["crowdanki_uuid"], "flags": 0, "data": "",
                 "fields": [html(rnd, s) for s in (300, 500, 300, 100, 150, 150)],
                 "tags": ["bench", f"chapter::{k + 1}"]}
            yield ("," if i else "") + dumps(n)
        yield "]}"
    yield ('], "crowdanki_uuid": "%s", "deck_configurations": [], "desc": "A bench deck", '
           '"name": "Bench deck", "note_models": [%s], "notes": []}' % (uuid.uuid4(), dumps(m)))


def make_body():
    """base64(gzip({"deck": "<deck>"})) as the add-on sends it; returns (body, seconds)."""
    t0 = time.monotonic()
    rnd = random.Random(7)
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [gz.compress(b'{"deck": "')]
    for piece in deck_pieces(rnd, model()):
        parts.append(gz.compress(json.dumps(piece)[1:-1].encode()))
    parts.append(gz.compress(b'"}'))
    parts.append(gz.flush())
    body = base64.b64encode(b"".join(parts))
    return body, time.monotonic() - t0


def reference_rss(body):
    """evhttp_ref_server's VmHWM after receiving body."""
    p = subprocess.Popen([os.path.join(BUILD, "bench", "evhttp_ref_server")],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([p.stdout], [], [], 10)
        line = p.stdout.readline().decode() if ready else ""
        if not line.startswith("port "):
            raise RuntimeError(f"evhttp_ref_server did not start: {line!r}")
        port = int(line.split()[1])
        r = requests.post(f"http://127.0.0.1:{port}/createDeck", data=body, timeout=120)
        r.raise_for_status()
        return status_kb(p.pid, "VmHWM")
    finally:
        p.kill()
        p.wait()


class HealthProbe(threading.Thread):
    """Polls apid's /health during the publish; keeps the slowest answer."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url, self.worst, self.n = url, 0.0, 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            requests.get(self.url, timeout=30)
            self.worst = max(self.worst, time.monotonic() - t0)
            self.n += 1
            time.sleep(0.02)


def idle_health(url):
    worst = 0.0
    for _ in range(20):
        t0 = time.monotonic()
        requests.get(url, timeout=5)
        worst = max(worst, time.monotonic() - t0)
    return worst


def main():
    body, make_s = make_body()
    print(f"/createDeck body: {NDECKS * NOTES_PER_DECK} notes in {NDECKS} subdecks, "
          f"{len(body) / 1e6:.1f} MB of GZB64", flush=True)
    ref_kb = reference_rss(body)
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        s = Suite(tmp).start()
        try:
            add_user(s, "bench")
            a = Addon(s, "bench")
            pid = s.status()["apid"]["pid"]
            # The login's Argon2 verification (tens of MB) set the peak so far:
            # start a new one (Linux: "5" resets VmHWM to the current RSS).
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
            idle_kb = status_kb(pid, "VmHWM")
            health = s.url("apid", "/health")
            idle_lat = idle_health(health)
            probe = HealthProbe(health)
            probe.start()
            t0 = time.monotonic()
            r = requests.post(s.url("apid", "/createDeck"), data=body, timeout=600,
                              headers={"Content-Type": "text/plain",
                                       "Authorization": f"Bearer {a.token}"})
            wall = time.monotonic() - t0
            probe.stop.set()
            probe.join()
            hwm_kb = status_kb(pid, "VmHWM")
            if r.status_code != 200 or '"status": 1' not in r.text:
                raise RuntimeError(f"publish failed: {r.status_code} {r.text}")
            with sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db")) as c:
                notes = c.execute("SELECT count(*) FROM notes").fetchone()[0]
            if notes != NDECKS * NOTES_PER_DECK:
                raise RuntimeError(f"{notes} notes stored")
        finally:
            s.stop()
    row("publish wall time", wall, "s", make_s, "client JSON+gzip+base64")
    row("publish rate", notes / wall, "notes/s")
    row("apid peak RSS (VmHWM) publishing", hwm_kb / 1024, "MB", ref_kb / 1024,
        "evhttp buffering the body", goal="< 32 MB")
    row("apid peak RSS (VmHWM) before publishing", idle_kb / 1024, "MB")
    row(f"slowest /health while publishing (of {probe.n})", probe.worst * 1000, "ms",
        idle_lat * 1000, "idle apid")
    print(f"goal: apid peak RSS under {GOAL_KB // 1024} MB: "
          f"{'met' if hwm_kb < GOAL_KB else 'NOT MET'}", flush=True)
    return 0 if hwm_kb < GOAL_KB else 1


if __name__ == "__main__":
    sys.exit(main())
