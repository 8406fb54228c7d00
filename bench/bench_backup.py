"""Backing up and restoring the data dir of the 30,000-note deck (bench_publish's deck)
plus 2,000 media files of 32 KB: `ankicollabctl backup` while the suite serves, again
(incremental), and `restore` into an empty data dir, with the peak RSS of each.

References, measured in the same run on the same files:
 - backup: `cp -a` of the data dir (an offline copy, which neither takes a consistent
   snapshot while apid writes nor writes a manifest);
 - restore: `cp -a` of the backup (restore also reads every byte to check it).
Goal: peak RSS under 16 MB, gcd's memory_max, since gcd runs the periodic backups.
"""
import hashlib
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time

import requests

from benchlib import BUILD, ROOT, Suite, row
from bench_publish import make_body

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from addon import Addon, add_user  # noqa: E402

NMEDIA = 2000
MEDIA_SIZE = 32 * 1024
GOAL_KB = 16 * 1024


def timed(cmd):
    """Runs cmd; (seconds, its peak RSS in KiB). GNU time forks it: Linux carries a
    parent's high-water mark into a child's ru_maxrss, and ours is a big Python."""
    t0 = time.monotonic()
    r = subprocess.run(["/usr/bin/time", "-f", "peak_rss_kb %M", *cmd],
                       capture_output=True, text=True)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.returncode}: {r.stdout} {r.stderr}")
    return wall, int(r.stderr.strip().splitlines()[-1].split()[1])


def add_media(s):
    rnd = random.Random(11)
    db = sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db"), timeout=30)
    with db:
        for _ in range(NMEDIA):
            data = rnd.randbytes(MEDIA_SIZE)
            h = hashlib.md5(data).hexdigest()
            d = os.path.join(s.data_dir, "media", h[:2])
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, h), "wb") as f:
                f.write(data)
            db.execute("INSERT INTO media_files (hash, file_size) VALUES (?, ?)", (h, len(data)))
    db.close()


def main():
    body, _ = make_body()
    ctl = os.path.join(BUILD, "ankicollabctl")
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        s = Suite(tmp).start()
        try:
            add_user(s, "bench")
            a = Addon(s, "bench")
            r = requests.post(s.url("apid", "/createDeck"), data=body, timeout=900,
                              headers={"Content-Type": "text/plain",
                                       "Authorization": f"Bearer {a.token}"})
            if r.status_code != 200:
                raise RuntimeError(f"publish failed: {r.status_code} {r.text}")
            add_media(s)
            dbfile = os.path.join(s.data_dir, "ankicollab.db")
            size_mb = os.path.getsize(dbfile) / 1e6
            print(f"data dir: database {size_mb:.1f} MB, {NMEDIA} media files of "
                  f"{MEDIA_SIZE // 1024} KB", flush=True)

            bdir = os.path.join(tmp, "backup")
            b_wall, b_kb = timed([ctl, "-c", s.conf, "backup", bdir])
            i_wall, i_kb = timed([ctl, "-c", s.conf, "backup", bdir])

            t0 = time.monotonic()
            subprocess.run(["cp", "-a", s.data_dir, os.path.join(tmp, "cp-data")], check=True)
            cp_wall = time.monotonic() - t0
        finally:
            s.stop()

        os.makedirs(os.path.join(tmp, "r2"))
        r2 = Suite(os.path.join(tmp, "r2"))
        r_wall, r_kb = timed([ctl, "-c", r2.conf, "restore", bdir])
        t0 = time.monotonic()
        subprocess.run(["cp", "-a", bdir, os.path.join(tmp, "cp-backup")], check=True)
        rcp_wall = time.monotonic() - t0

    row("backup while serving (media hard-linked)", b_wall, "s", cp_wall, "cp -a data dir")
    row("backup again (incremental)", i_wall, "s", cp_wall, "cp -a data dir")
    row("restore (every checksum checked)", r_wall, "s", rcp_wall, "cp -a backup")
    peak = max(b_kb, i_kb, r_kb)
    row("ankicollabctl backup peak RSS", b_kb / 1024, "MB", GOAL_KB / 1024, "gcd memory_max",
        goal="< 16 MB")
    row("ankicollabctl restore peak RSS", r_kb / 1024, "MB", GOAL_KB / 1024, "gcd memory_max",
        goal="< 16 MB")
    if peak > GOAL_KB:
        print(f"GOAL MISSED: peak RSS {peak / 1024:.1f} MB", flush=True)


if __name__ == "__main__":
    main()
