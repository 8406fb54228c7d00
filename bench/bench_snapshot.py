"""Deck snapshots (§10): gcd building the cache archive of a 30,000-note deck with
media, and what a fresh subscriber then costs.

Figures and their same-run references:
  - `gc run snapshots` wall time for the 30k-note deck and MEDIA files, beside
    `gzip -6` of the same deck JSON (what the archive's main member costs at
    least: the JSON has to be compressed once);
  - gcd's peak RSS (VmHWM, reset just before), beside gzip's peak RSS on the
    same JSON: gcd streams apid's answer and the archive, so its peak must not
    grow with the deck; goal < 16 MB (gcd's memory_max);
  - a fresh subscription's /pullChanges answered from the snapshot (the
    bootstrap entry), beside the live pull of the same deck.
The deck is published as bench_pull.py publishes it.
"""
import base64
import gzip
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

import requests

from benchlib import Suite, row, status_kb, wait_for
from bench_pull import (NOTES, SUBDECKS, deck_json, has_create_deck, publish, reset_peak,
                        seed_sql, wait_published)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from addon import Addon, add_user  # noqa: E402

MAGIC = "2022-12-31 23:59:59"
MEDIA = 200
MEDIA_SIZE = 50000


def add_media(s, h):
    """MEDIA stored files referenced by the deck's first notes, as confirmation leaves them."""
    rnd = random.Random(3)
    db = sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db"), isolation_level=None,
                         timeout=30)
    notes = [r[0] for r in db.execute(
        "WITH RECURSIVE tree(id) AS (SELECT id FROM decks WHERE human_hash = ?"
        " UNION SELECT d.id FROM decks d JOIN tree ON d.parent = tree.id)"
        " SELECT id FROM notes WHERE deck IN (SELECT id FROM tree) LIMIT ?", (h, MEDIA))]
    db.execute("BEGIN")
    total = 0
    for i, nid in enumerate(notes):
        data = b"\x89PNG\r\n\x1a\n" + rnd.randbytes(MEDIA_SIZE)
        import hashlib
        md5 = hashlib.md5(data).hexdigest()
        d = os.path.join(s.data_dir, "media", md5[:2])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, md5), "wb") as f:
            f.write(data)
        mid = db.execute("INSERT INTO media_files (hash, file_size) VALUES (?, ?) RETURNING id",
                         (md5, len(data))).fetchone()[0]
        db.execute("INSERT INTO media_references (media_id, note_id, file_name) VALUES (?,?,?)",
                   (mid, nid, f"img_{i:04d}.png"))
        total += len(data)
    db.execute("COMMIT")
    db.close()
    return len(notes), total


def main():
    rnd = random.Random(7)
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        s = Suite(tmp, {"apid": {"standard_rate_per_minute": "0"},
                        "gcd": {"snapshots_interval": "24h"}}).start()
        try:
            run(s, rnd, tmp)
        except Exception:
            print(s.logs()[-4000:], file=sys.stderr)
            raise
        finally:
            s.stop()


def run(s, rnd, tmp):
    add_user(s, "publisher")
    big = deck_json(rnd, "Bench deck", NOTES, SUBDECKS)
    if has_create_deck(s):
        h = publish(s, Addon(s, "publisher"), big)
        wait_published(s, h, NOTES - NOTES % (SUBDECKS + 1))
    else:
        h = seed_sql(s, big, "publisher")
    nmedia, media_bytes = add_media(s, h)
    print(f"deck of {NOTES} notes, {nmedia} media files ({media_bytes / 2**20:.1f} MB)",
          flush=True)

    # The live pull, and the JSON it carries: the reference's input.
    t0 = time.monotonic()
    r = requests.post(s.url("apid", "/pullChanges"), json={h: {"timestamp": MAGIC}}, timeout=600)
    live_wall = time.monotonic() - t0
    live = json.loads(gzip.decompress(base64.b64decode(r.text)))
    assert live and "deck" in live[0]
    raw = json.dumps(live).encode()
    src = os.path.join(tmp, "deck.json")
    with open(src, "wb") as f:
        f.write(raw)

    gcd = s.status()["gcd"]["pid"]
    reset_peak(gcd)
    t0 = time.monotonic()
    out = s.ctl("gc", "run", "snapshots", timeout=60).stdout.strip()
    if out.startswith("snapshots: still building"):
        # Longer than the ctl waits: the end shows in the log.
        wait_for(lambda: "gc snapshots: 1 built" in s.logs() or "failed" in out, 900,
                 interval=0.2, what="the snapshot")
        out = [ln for ln in s.logs().splitlines() if "gc snapshots: 1 built" in ln][-1]
    wall = time.monotonic() - t0
    hwm = status_kb(gcd, "VmHWM")
    assert "snapshots: 1 built, 0 failed" in out, out

    t0 = time.monotonic()
    p = subprocess.Popen(["gzip", "-6", "-c", src], stdout=subprocess.DEVNULL)
    # Its own peak, read while it runs: rusage would report this big Python's,
    # which a child inherits until exec.
    gz_rss = 0
    while p.poll() is None:
        try:
            gz_rss = max(gz_rss, status_kb(p.pid, "VmHWM"))
        except (OSError, KeyError):
            pass
        time.sleep(0.01)
    gz_wall = time.monotonic() - t0
    assert p.returncode == 0

    db = sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db"))
    size = db.execute("SELECT archive_size FROM deck_cache").fetchone()[0]
    db.close()
    row("snapshot of 30k notes + media: build time", wall, "s", gz_wall,
        "gzip -6 of its deck JSON")
    row("snapshot: archive size", size / 2**20, "MB", (len(raw) + media_bytes) / 2**20,
        "deck JSON + media, raw")
    row("snapshot: gcd peak RSS (VmHWM)", hwm / 1024, "MB", gz_rss / 1024,
        "gzip -6's peak RSS", goal="< 16 MB")

    # A fresh subscriber now: the bootstrap entry, then the two files from mediad.
    t0 = time.monotonic()
    r = requests.post(s.url("apid", "/pullChanges"), json={h: {"timestamp": MAGIC}}, timeout=60)
    entry = json.loads(gzip.decompress(base64.b64decode(r.text)))[0]
    assert entry["mode"] == "cache-bootstrap"
    requests.get(entry["manifest"]["manifest_presigned_url"], timeout=60).json()
    got = 0
    with requests.get(entry["manifest"]["archive_presigned_url"], stream=True, timeout=600) as a:
        for chunk in a.iter_content(1 << 20):
            got += len(chunk)
    boot_wall = time.monotonic() - t0
    assert got == size
    row("fresh subscriber: bootstrap answer + files", boot_wall, "s", live_wall,
        "live pull of the deck")


if __name__ == "__main__":
    main()
