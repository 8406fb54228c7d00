"""Migrating the 30,000-note deck from upstream's PostgreSQL schema: time and peak RSS.

The deck of bench_publish.py is published to a suite, moved into a throwaway
PostgreSQL cluster with `ankicollabctl migrate to-postgres`, then timed coming
back with `migrate from-postgres` into a fresh data dir.

Reference, measured in the same run on the same database: `pg_dump` of it
(plain SQL to a file), which reads the same rows the same way but writes none.
Goals: from-postgres peak RSS under 64 MB, wall time within 3x of pg_dump. Peak RSS is each
process's own, measured by build/bench/peak_rss.
"""
import os
import subprocess
import sys
import tempfile
import time

import requests

from benchlib import BUILD, ROOT, Suite, row

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from addon import Addon, add_user  # noqa: E402
from pgcluster import PgCluster, bindir  # noqa: E402
import bench_publish  # noqa: E402

GOAL_KB = 64 * 1024


def run_measured(argv):
    """Runs argv under build/bench/peak_rss; returns (seconds, its peak RSS in KiB, stdout)."""
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(BUILD, "bench", "peak_rss"), *argv],
                       capture_output=True, text=True, timeout=3600)
    wall = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stdout}{r.stderr}")
    kb = [int(ln.split()[1]) for ln in r.stderr.splitlines() if ln.startswith("peak_rss_kb ")]
    return wall, kb[-1], r.stdout


def main():
    if bindir() is None:
        print("bench_migrate: skipped, PostgreSQL (Debian package postgresql) is not installed")
        return
    body, _ = bench_publish.make_body()
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        os.makedirs(os.path.join(tmp, "a"))
        s = Suite(os.path.join(tmp, "a")).start()
        try:
            add_user(s, "bench")
            a = Addon(s, "bench")
            r = requests.post(s.url("apid", "/createDeck"), data=body, timeout=600,
                              headers={"Content-Type": "text/plain",
                                       "Authorization": f"Bearer {a.token}"})
            if r.status_code != 200 or '"status": 1' not in r.text:
                raise RuntimeError(f"publish failed: {r.status_code} {r.text}")
        finally:
            s.stop()
        ctl = os.path.join(BUILD, "ankicollabctl")
        pg = PgCluster().start()
        try:
            url = pg.createdb("upstream")
            to_s, to_kb, _ = run_measured([ctl, "-c", s.conf, "migrate", "to-postgres", url,
                                           "--media", os.path.join(tmp, "bucket")])
            pg.psql("VACUUM ANALYZE", "upstream")
            dump_s, dump_kb, _ = run_measured([os.path.join(pg.bin, "pg_dump"), "-f",
                                               os.path.join(tmp, "dump.sql"), url])
            os.makedirs(os.path.join(tmp, "b"))
            fresh = Suite(os.path.join(tmp, "b"))
            from_s, from_kb, out = run_measured([ctl, "-c", fresh.conf, "migrate",
                                                 "from-postgres", url, "--media",
                                                 os.path.join(tmp, "bucket")])
            notes = int(pg.psql("SELECT count(*) FROM anki.notes", "upstream"))
            rows = int(pg.psql("SELECT (SELECT count(*) FROM anki.notes) + "
                               "(SELECT count(*) FROM anki.fields) + "
                               "(SELECT count(*) FROM anki.tags)", "upstream"))
            if "migration complete" not in out:
                raise RuntimeError(out)
        finally:
            pg.stop()
    print(f"deck: {notes} notes; {rows} rows of notes, fields and tags", flush=True)
    row("from-postgres wall time", from_s, "s", dump_s, "pg_dump", goal="< 3x")
    row("from-postgres peak RSS", from_kb / 1024, "MB", dump_kb / 1024, "pg_dump",
        goal="< 64 MB")
    row("to-postgres wall time", to_s, "s", dump_s, "pg_dump")
    row("to-postgres peak RSS", to_kb / 1024, "MB", dump_kb / 1024, "pg_dump")
    if from_kb > GOAL_KB:
        print(f"bench_migrate: from-postgres peak RSS {from_kb} KiB is over the goal")


if __name__ == "__main__":
    main()
