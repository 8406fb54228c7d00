"""Deck snapshots and the cache bootstrap (spec/api.md §6.1 step 1, §6.31, §10;
client.md §2.2.1 (b), §4.2): gcd's `snapshots` job builds, for a deck changed since its
last snapshot, a ZIP (deck/deck.json.gz, media/<name>) and a JSON manifest in
data_dir/cache and records them in deck_cache; a fresh subscription's /pullChanges
(the magic timestamp) then answers with a cache-bootstrap entry while that snapshot is
current, and with a live pull when there is none or the deck changed since.

The bootstrap is followed exactly as the add-on's import_manager does: GET the manifest
URL without auth (.json()), stream the archive URL, read deck_data.path from the ZIP,
gunzip it, take the object (or the first of a list) that must hold "deck", copy the
entries under media.path_prefix, and keep source_last_update as the next timestamp."""
import datetime
import gzip
import io
import json
import os
import time
import zipfile

import pytest
import requests

from addon import Addon, add_user, deck, note, notetype
from deckdb import connect, rows
from test_media_api import FILES, UPLOADED, md5, upload_all

MAGIC = "2022-12-31 23:59:59"
GCD = {"orphan_grace": "2s", "media_interval": "1h", "tokens_interval": "1h",
       "batches_interval": "1h", "notetypes_interval": "1h", "wal_interval": "1h",
       "strays_interval": "1h", "snapshots_interval": "1h"}


@pytest.fixture
def env(make_suite):
    s = make_suite(extra={"gcd": GCD})
    add_user(s, "alice")
    s.alice = Addon(s, "alice")
    s.anon = Addon(s)
    basic = notetype("Basic", ["Front", "Back"])
    d = deck("Cardiology", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "[sound:murmur.mp3]"], guid="g-media-1"),
        note(basic, ["<img src='diagram.svg'>", "x"], guid="g-media-2"),
        note(basic, ['<img src="never uploaded.jpg">', "y"], guid="g-media-3"),
    ], children=[deck("ECG", note_models=[basic], notes=[
        note(basic, ["Sinus rhythm", "P before QRS"], guid="g-ecg-1")])])
    status, body = s.alice.create_deck(d)
    assert status == 200, body
    s.hash, s.op = body["message"], body["bulk_operation_id"]
    s.db = connect(s)
    upload_all(s)
    return s


def gc(s, *job):
    return s.ctl("gc", "run", *job).stdout.strip()


def cache_dir(s):
    return os.path.join(s.data_dir, "cache", "decks", s.hash)


def cache_files(s):
    out = set()
    for root, _dirs, files in os.walk(cache_dir(s)):
        out.update(os.path.relpath(os.path.join(root, f), cache_dir(s)) for f in files)
    return out


def bootstrap(entry):
    """What import_manager._resolve_cache_bootstrap_entries does with an entry."""
    meta = entry["manifest"]
    r = requests.get(meta["manifest_presigned_url"], timeout=30)
    r.raise_for_status()
    manifest = r.json()
    with requests.get(meta["archive_presigned_url"], stream=True, timeout=30) as r:
        r.raise_for_status()
        raw = b"".join(r.iter_content(1024 * 1024))
        assert int(r.headers["Content-Length"]) == len(raw)
        assert r.headers["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(raw))
    info = manifest["deck_data"]
    deck_bytes = archive.read(info["path"])
    assert (info.get("compression") or "none").lower() in {"gzip", "gz"}
    payload = json.loads(gzip.decompress(deck_bytes).decode("utf-8"))
    if isinstance(payload, list):
        payload = next(p for p in payload if isinstance(p, dict))
    assert "deck" in payload
    prefix = manifest["media"]["path_prefix"]
    media = {e.filename[len(prefix):]: archive.read(e) for e in archive.infolist()
             if not e.is_dir() and e.filename.startswith(prefix)}
    return manifest, raw, archive, payload, media


def test_bootstrap_when_current_live_when_missing_or_stale(env):
    s = env
    live = s.anon.pull({s.hash: "1970-01-01 00:00:00"})
    assert len(live) == 1 and live[0]["deck_hash"] == s.hash

    # No snapshot yet: the magic timestamp is a live pull.
    got = s.anon.pull({s.hash: MAGIC})
    assert len(got) == 1 and "deck" in got[0] and "mode" not in got[0]

    assert gc(s, "snapshots") == "snapshots: 1 built, 0 failed, 0 old files removed"
    (row,) = rows(s.db, "SELECT c.version_ts, c.manifest_key, c.archive_key, c.archive_size,"
                  " c.source_last_update, d.last_update FROM deck_cache c"
                  " JOIN decks d ON d.id = c.deck_id WHERE d.human_hash = ?", s.hash)
    version_ts, manifest_key, archive_key, size, cut, last = row
    assert cut == last
    assert manifest_key.startswith(f"decks/{s.hash}/manifest/") and manifest_key.endswith(".json")
    assert archive_key.startswith(f"decks/{s.hash}/") and archive_key.endswith(".zip")
    assert cache_files(s) == {manifest_key.split("/", 2)[2], archive_key.split("/", 2)[2]}
    zpath = os.path.join(s.data_dir, "cache", archive_key)
    assert os.path.getsize(zpath) == size

    # A fresh subscription gets the bootstrap entry; an established one beside it a
    # live pull (or nothing), in the same answer.
    got = s.anon.pull({s.hash: MAGIC})
    assert len(got) == 1
    entry = got[0]
    assert set(entry) == {"deck_hash", "mode", "manifest"}
    assert entry["deck_hash"] == s.hash and entry["mode"] == "cache-bootstrap"
    meta = entry["manifest"]
    assert set(meta) == {"manifest_presigned_url", "archive_presigned_url",
                         "manifest_last_modified"}
    assert meta["manifest_last_modified"] == version_ts
    base = s.url("mediad", "/v1/cache/object?token=")
    assert meta["manifest_presigned_url"].startswith(base)
    assert meta["archive_presigned_url"].startswith(base)

    manifest, raw, archive, payload, media = bootstrap(entry)
    assert manifest == {
        "deck_data": {"path": "deck/deck.json.gz", "compression": "gzip"},
        "source_last_update": datetime.datetime.fromtimestamp(
            int(last), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "media": {"path_prefix": "media/"},
        "archive": {"s3_key": archive_key},
    }
    # The add-on's next timestamp: fromisoformat, then whole seconds in UTC.
    ts = datetime.datetime.fromisoformat(manifest["source_last_update"].replace("Z", "+00:00"))
    assert ts.timestamp() == int(last)

    # The ZIP: its bytes as written, its members, how each is stored.
    with open(zpath, "rb") as f:
        assert f.read() == raw
    assert raw[:4] == b"PK\x03\x04" and archive.testzip() is None
    names = [e.filename for e in archive.infolist()]
    assert names == ["deck/deck.json.gz"] + sorted("media/" + n for n in UPLOADED)
    deck_info = archive.getinfo("deck/deck.json.gz")
    assert deck_info.compress_type == zipfile.ZIP_STORED
    deck_gz = archive.read("deck/deck.json.gz")
    assert deck_gz[:2] == b"\x1f\x8b"
    assert archive.getinfo("media/diagram.svg").compress_type == zipfile.ZIP_DEFLATED
    assert archive.getinfo("media/heart.png").compress_type == zipfile.ZIP_STORED
    for e in archive.infolist():
        if e.filename.startswith("media/"):
            assert e.flag_bits & 0x800   # UTF-8 names
    # The deck is exactly what a live pull of the whole deck answers (shape (a)).
    assert json.loads(gzip.decompress(deck_gz)) == live
    assert payload == live[0]
    assert [c["name"] for c in payload["deck"]["children"]] == ["ECG"]
    assert media == {n: FILES[n] for n in UPLOADED}

    # Three uses per cache token (§8.4), as for every cache object.
    url = meta["manifest_presigned_url"]
    assert requests.get(url, timeout=10).status_code == 200
    assert requests.get(url, timeout=10).status_code == 200
    r = requests.get(url, timeout=10)
    assert (r.status_code, r.text) == (401, "Unauthorized")

    # The deck changes (an approved edit moves last_update): the snapshot is stale,
    # and a fresh subscription gets a live pull again.
    s.db.execute("UPDATE decks SET last_update = last_update + 1 WHERE human_hash = ?",
                 (s.hash,))
    got = s.anon.pull({s.hash: MAGIC})
    assert len(got) == 1 and "deck" in got[0] and "mode" not in got[0]

    # The next run cuts a new one and removes the old version's two files.
    old = cache_files(s)
    assert gc(s, "snapshots") == "snapshots: 1 built, 0 failed, 2 old files removed"
    (row2,) = rows(s.db, "SELECT c.manifest_key, c.archive_key, c.source_last_update,"
                   " d.last_update FROM deck_cache c JOIN decks d ON d.id = c.deck_id")
    assert row2[2] == row2[3] and row2[1] != archive_key
    assert cache_files(s) == {row2[0].split("/", 2)[2], row2[1].split("/", 2)[2]}
    assert not (cache_files(s) & old)
    got = s.anon.pull({s.hash: MAGIC})
    assert got[0]["mode"] == "cache-bootstrap"
    _m, _raw, _a, payload2, media2 = bootstrap(got[0])
    assert payload2["deck"] == payload["deck"] and media2 == media
    # Nothing changed since: nothing to build.
    assert gc(s, "snapshots") == "snapshots: 0 built, 0 failed, 0 old files removed"


def test_established_subscription_and_other_decks_unaffected(env):
    s = env
    assert gc(s, "snapshots").startswith("snapshots: 1 built")
    later = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=2))
    assert s.anon.pull({s.hash: later.strftime("%Y-%m-%d %H:%M:%S")}) == []
    got = s.anon.pull({s.hash: "2023-01-01 00:00:00"})
    assert len(got) == 1 and "deck" in got[0]
    # Subdecks have no snapshot of their own: a live pull.
    sub = rows(s.db, "SELECT human_hash FROM decks WHERE parent IS NOT NULL")[0][0]
    got = s.anon.pull({sub: MAGIC, s.hash: MAGIC})
    modes = {e["deck_hash"]: e.get("mode") for e in got}
    assert modes == {sub: None, s.hash: "cache-bootstrap"}


def test_deck_deleted_snapshot_files_go(env):
    s = env
    assert gc(s, "snapshots").startswith("snapshots: 1 built")
    assert len(cache_files(s)) == 2
    s.ctl("user", "del", "alice", "--with-decks")
    assert rows(s.db, "SELECT count(*) FROM deck_cache") == [(0,)]
    assert gc(s, "snapshots") == "snapshots: 0 built, 0 failed, 2 old files removed"
    assert not os.path.exists(cache_dir(s))
    got = s.anon.pull({s.hash: MAGIC})
    assert got == []


def test_run_all_starts_a_build_and_gcd_stays_up(env):
    """`gc run` of every job starts the build in the background; its result is logged."""
    s = env
    pid = s.status()["gcd"]["pid"]
    out = gc(s)
    assert "snapshots: started" in out or "snapshots: running already" in out, out
    # An explicit run waits for the build in progress (or starts one) and reports it.
    out = gc(s, "snapshots")
    assert out.startswith("snapshots: ") and "failed" in out, out
    assert rows(s.db, "SELECT count(*) FROM deck_cache") == [(1,)]
    st = s.status()["gcd"]
    assert st["pid"] == pid and st["state"] == "running" and st["heartbeat_ok"]


def test_big_deck_streams_through(make_suite):
    """An answer of many pieces (hundreds of KiB of GZB64) arrives whole in the ZIP."""
    import random
    import string
    s = make_suite(extra={"gcd": GCD})
    add_user(s, "alice")
    alice = Addon(s, "alice")
    rnd = random.Random(5)
    basic = notetype("Basic", ["Front", "Back"])

    def text(n):
        return "".join(rnd.choice(string.ascii_letters + " ") for _ in range(n))
    notes = [note(basic, [text(900), text(600)], guid=f"g-big-{i}") for i in range(400)]
    status, body = alice.create_deck(deck("Big", note_models=[basic], notes=notes))
    assert status == 200, body
    h = body["message"]
    anon = Addon(s)
    live = anon.pull({h: "1970-01-01 00:00:00"})
    assert len(live[0]["deck"]["notes"]) == 400
    assert gc(s, "snapshots") == "snapshots: 1 built, 0 failed, 0 old files removed"
    (entry,) = anon.pull({h: MAGIC})
    _manifest, raw, archive, payload, media = bootstrap(entry)
    assert len(raw) > 300000 and media == {}
    assert payload == live[0]
