"""A suggestion against a 30,000-note deck: submitted, reviewed, pulled.

The deck is bench_publish.py's (20 subdecks of 1,500 notes, ~1.5 KB of HTML
each). After publishing it, a subscriber sends two suggestions as the add-on
does: an editor's (50 notes of one subdeck edited, 10 new) and a bulk one
(the whole 30,000-note tree again, every 100th note edited, as "Suggest on
AnkiCollab" of the root sends it when the timestamps do not filter). The
owner approves both with `ankicollabctl review approve`; the subscriber
pulls the changes.

References, measured in the same run: the publish of the same deck (wall
time and apid's peak RSS); apid is restarted between the two, so that the
publish's heap does not set the floor. Goal: apid peak RSS (VmHWM) under 32 MB for the
whole suggest, review and pull sequence.
"""
import base64
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
import zlib

import requests

from benchlib import BUILD, ROOT, Suite, row, status_kb

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
sys.path.insert(0, os.path.join(ROOT, "bench"))
from addon import Addon, add_user  # noqa: E402
import bench_publish as bp  # noqa: E402

GOAL_KB = 32 * 1024
EDIT_EVERY = 100
ROOT_NAME = "Bench deck"


def gzb64_pieces(prefix, pieces, suffix):
    """base64(gzip(prefix + json-string(pieces) + suffix)), made piece by piece."""
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [gz.compress(prefix.encode())]
    for piece in pieces:
        parts.append(gz.compress(json.dumps(piece)[1:-1].encode()))
    parts.append(gz.compress(suffix.encode()))
    parts.append(gz.flush())
    return base64.b64encode(b"".join(parts))


def publish_body(m):
    return gzb64_pieces('{"deck": "', bp.deck_pieces(random.Random(7), m), '"}')


def edited_pieces(m, chapters, every, new_notes):
    """The published tree again (same random sequence, so the same notes), with
    every `every`-th note of `chapters` edited, and new notes in the first one."""
    rnd = random.Random(7)
    yield '{\n    "__type__": "Deck",\n    "children": ['
    first = True
    for k in range(bp.NDECKS):
        keep = k in chapters
        if keep:
            yield ("" if first else ",") + (
                '{"__type__": "Deck", "children": [], "crowdanki_uuid": "%s", "desc": "", '
                '"dyn": 0, "name": "Chapter %d", "notes": [' % (uuid.uuid4(), k + 1))
        n_out = 0
        for i in range(bp.NOTES_PER_DECK):
            fields = [bp.html(rnd, s) for s in (300, 500, 300, 100, 150, 150)]
            if not keep or (every > 1 and i % every != 0 and len(chapters) == 1):
                continue
            if i % every == 0:
                fields[1] = "Edited: " + fields[1]
            n = {"__type__": "Note", "guid": f"b{k:02d}{i:05d}",
                 "id": 1700000000000 + k * 10**5 + i, "note_model_uuid": m["crowdanki_uuid"],
                 "flags": 0, "data": "", "fields": fields, "tags": ["bench", f"chapter::{k + 1}"]}
            yield ("," if n_out else "") + bp.dumps(n)
            n_out += 1
        if keep and k == min(chapters):
            for j in range(new_notes):
                n = {"__type__": "Note", "guid": f"new{j:05d}", "id": 1800000000000 + j,
                     "note_model_uuid": m["crowdanki_uuid"], "flags": 0, "data": "",
                     "fields": [bp.html(rnd, 300), bp.html(rnd, 300), "", "", "", ""],
                     "tags": ["bench", "new"]}
                yield ("," if n_out else "") + bp.dumps(n)
                n_out += 1
        if keep:
            yield "]}"
            first = False
    yield ('], "crowdanki_uuid": "%s", "deck_configurations": [], "desc": "", '
           '"name": "%s", "note_models": [%s], "notes": []}' % (uuid.uuid4(), ROOT_NAME,
                                                               bp.dumps(m)))


def suggest_body(remote, m, chapters, every, new_notes, rationale, text):
    prefix = ('{"remote_deck": "%s", "deck_path": "%s", "new_name": "%s", "deck": "'
              % (remote, ROOT_NAME, ROOT_NAME))
    suffix = '", "rationale": %d, "commit_text": "%s", "force_overwrite": false}' % (
        rationale, text)
    return gzb64_pieces(prefix, edited_pieces(m, chapters, every, new_notes), suffix)


def post(s, path, body, token):
    t0 = time.monotonic()
    r = requests.post(s.url("apid", path), data=body, timeout=900,
                      headers={"Content-Type": "text/plain", "Authorization": f"Bearer {token}"})
    return r, time.monotonic() - t0


def ctl(s, *args):
    t0 = time.monotonic()
    r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", s.conf, *args],
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise RuntimeError(f"ankicollabctl {args}: {r.stdout}{r.stderr}")
    return r.stdout, time.monotonic() - t0


def reset_hwm(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def main():
    m = bp.model()
    body = publish_body(m)
    total = bp.NDECKS * bp.NOTES_PER_DECK
    print(f"deck: {total} notes, publish body {len(body) / 1e6:.1f} MB of GZB64", flush=True)
    with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
        s = Suite(tmp).start()
        try:
            add_user(s, "owner")
            add_user(s, "subscriber")
            owner, sub = Addon(s, "owner"), Addon(s, "subscriber")
            pid = s.status()["apid"]["pid"]
            reset_hwm(pid)
            r, pub_s = post(s, "/createDeck", body, owner.token)
            if r.status_code != 200 or '"status": 1' not in r.text:
                raise RuntimeError(f"publish failed: {r.status_code} {r.text}")
            deck_hash = json.loads(r.text)["message"]
            pub_kb = status_kb(pid, "VmHWM")
            t = int(time.time()) + 1
            while time.time() < t + 0.01:
                time.sleep(0.05)
            t_pull = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))

            # The measured sequence starts here, on a fresh apid (the publish's
            # heap would otherwise set the floor).
            s.ctl("restart", "apid")
            pid = s.wait_running()["apid"]["pid"]
            sub.get("/health")
            start_kb = status_kb(pid, "VmRSS")
            reset_hwm(pid)
            small = suggest_body(deck_hash, m, [0], 30, 10, 2, "editor suggestion")
            r, small_s = post(s, "/submitCard", small, sub.token)
            if (r.status_code, r.text) != (200, "Success"):
                raise RuntimeError(f"suggestion failed: {r.status_code} {r.text}")
            bulk = suggest_body(deck_hash, m, list(range(bp.NDECKS)), EDIT_EVERY, 0, 9, "bulk")
            health = s.url("apid", "/health")
            idle_lat = bp.idle_health(health)
            probe = bp.HealthProbe(health)
            probe.start()
            r, bulk_s = post(s, "/submitCard", bulk, sub.token)
            probe.stop.set()
            probe.join()
            if (r.status_code, r.text) != (200, "Success"):
                raise RuntimeError(f"bulk suggestion failed: {r.status_code} {r.text}")
            listed, list_s = ctl(s, "review", "list", deck_hash, "--json")
            commits = json.loads(listed)
            if len(commits) != 2:
                raise RuntimeError(f"{len(commits)} open commits")
            _, show_s = ctl(s, "review", "show", str(commits[0]["commit_id"]), "--json")
            _, appr_small_s = ctl(s, "review", "approve", str(commits[0]["commit_id"]))
            _, appr_bulk_s = ctl(s, "review", "approve", str(commits[1]["commit_id"]))
            t0 = time.monotonic()
            res = sub.pull({deck_hash: t_pull})
            pull_s = time.monotonic() - t0
            seq_kb = status_kb(pid, "VmHWM")
            got = sum(len(c["notes"]) for c in res[0]["deck"]["children"]) if res else 0
            with sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db")) as c:
                pending = c.execute("SELECT count(*) FROM fields WHERE reviewed = 0").fetchone()[0]
        finally:
            s.stop()
    bulk_edits = total // EDIT_EVERY
    small_edits = bp.NOTES_PER_DECK // 30
    # Chapter 1's notes 0, 300, ... are edited alike by both.
    expect = bulk_edits + small_edits - bp.NOTES_PER_DECK // 300 + 10
    if got != expect or pending != 0:
        raise RuntimeError(f"pulled {got} notes (expected {expect}), {pending} pending")
    row("publish of the deck (reference)", pub_s, "s")
    row(f"editor suggestion ({small_edits} edits, 10 new)", small_s, "s", pub_s, "publish")
    row(f"bulk suggestion ({total} notes, {bulk_edits} edits)", bulk_s, "s", pub_s,
        "publish")
    row(f"slowest /health during the bulk one (of {probe.n})", probe.worst * 1000, "ms",
        idle_lat * 1000, "idle apid")
    row("review list --json (ctl)", list_s, "s", pub_s, "publish")
    row("review show --json, editor commit (ctl)", show_s, "s", pub_s, "publish")
    row("approve editor commit (ctl)", appr_small_s, "s", pub_s, "publish")
    row(f"approve bulk commit, {bulk_edits} notes (ctl)", appr_bulk_s, "s", pub_s, "publish")
    row(f"subscriber pull of {got} changed notes", pull_s, "s", pub_s, "publish")
    row("apid peak RSS (VmHWM) suggest+review+pull", seq_kb / 1024, "MB", pub_kb / 1024,
        "publish of the deck", goal="< 32 MB")
    row("apid RSS at the start of the sequence", start_kb / 1024, "MB")
    ok = seq_kb < GOAL_KB
    print(f"goal: apid peak RSS under {GOAL_KB // 1024} MB: {'met' if ok else 'NOT MET'}",
          flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
