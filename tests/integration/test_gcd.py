"""gcd against the real suite (schema.md §2, api.md §7.7, §11): orphaned media go after
their grace period, rows first and then the file through mediad; a referenced file
never goes; fully expired auth tokens go; `ankicollabctl gc run [JOB]` runs the jobs
now and prints what they removed; gcd answers heartbeats all along.

The grace period is 2 s here; orphaned_at is whole seconds, so a file orphaned just
now is inside it and one orphaned 4 s ago is past it. Every interval is an hour, so
only `gc run` (and the run at start) acts."""
import os
import time

import pytest

from addon import Addon, add_user, deck, note, notetype
from deckdb import connect, rows
from suite import wait_for
from test_media_api import FILES, md5, upload_all

GCD = {"orphan_grace": "2s", "media_interval": "1h", "tokens_interval": "1h",
       "batches_interval": "1h", "notetypes_interval": "1h", "wal_interval": "1h"}


@pytest.fixture
def env(make_suite):
    s = make_suite(extra={"gcd": GCD})
    add_user(s, "alice")
    s.alice = Addon(s, "alice")
    basic = notetype("Basic", ["Front", "Back"])
    d = deck("Cardiology", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "[sound:murmur.mp3]"], guid="g-media-1"),
        note(basic, ["<img src='diagram.svg'>", "x"], guid="g-media-2"),
        note(basic, ['<img src="never uploaded.jpg">', "y"], guid="g-media-3"),
    ])
    status, body = s.alice.create_deck(d)
    assert status == 200, body
    s.hash, s.op = body["message"], body["bulk_operation_id"]
    s.db = connect(s)
    upload_all(s)
    s.gcd_pid = s.status()["gcd"]["pid"]
    return s


def media_path(s, name):
    h = md5(FILES[name])
    return os.path.join(s.data_dir, "media", h[:2], h)


def media_row(s, name):
    return rows(s.db, "SELECT refcount FROM media_files WHERE hash = ?", md5(FILES[name]))


def unreference(s, name):
    s.db.execute("DELETE FROM media_references WHERE media_id = "
                 "(SELECT id FROM media_files WHERE hash = ?)", (md5(FILES[name]),))


def gc(s, *job):
    return s.ctl("gc", "run", *job).stdout.strip()


def assert_gcd_alive(s):
    st = s.status()["gcd"]
    assert st["state"] == "running" and st["heartbeat_ok"], st
    assert st["pid"] == s.gcd_pid, "gcd restarted"


def test_orphan_goes_after_grace(env):
    s = env
    for name in ("heart.png", "diagram.svg", "murmur.mp3"):
        assert os.path.exists(media_path(s, name)) and media_row(s, name) == [(1,)]
    unreference(s, "heart.png")
    assert media_row(s, "heart.png") == [(0,)]

    # Inside the grace period: nothing goes.
    out = gc(s, "media")
    assert out == "media: 0 rows, 0 files removed", out
    assert os.path.exists(media_path(s, "heart.png")) and media_row(s, "heart.png") == [(0,)]
    assert_gcd_alive(s)

    time.sleep(4)
    out = gc(s, "media")
    assert out == "media: 1 rows, 1 files removed", out
    assert media_row(s, "heart.png") == []
    assert not os.path.exists(media_path(s, "heart.png"))
    # Still referenced: kept, however old.
    for name in ("diagram.svg", "murmur.mp3"):
        assert os.path.exists(media_path(s, name)) and media_row(s, name) == [(1,)]
    assert_gcd_alive(s)


def test_deleted_deck_media_go(env):
    """User deleted with her decks: every note goes, so every file is orphaned."""
    s = env
    s.ctl("user", "del", "alice", "--with-decks")
    assert rows(s.db, "SELECT count(*) FROM media_files WHERE refcount > 0") == [(0,)]
    assert gc(s, "media") == "media: 0 rows, 0 files removed"
    assert os.path.exists(media_path(s, "diagram.svg"))
    time.sleep(4)
    assert gc(s, "media") == "media: 3 rows, 3 files removed"
    assert rows(s.db, "SELECT count(*) FROM media_files") == [(0,)]
    for name in ("heart.png", "diagram.svg", "murmur.mp3"):
        assert not os.path.exists(media_path(s, name))
    # Its notetype is used by no note now, and older than the grace period.
    assert rows(s.db, "SELECT count(*) FROM notes") == [(0,)]
    n = rows(s.db, "SELECT count(*) FROM notetype")[0][0]
    assert n >= 1
    assert gc(s, "notetypes") == f"notetypes: {n} removed"
    assert rows(s.db, "SELECT count(*) FROM notetype") == [(0,)]
    assert_gcd_alive(s)


def test_used_notetype_stays(env):
    s = env
    time.sleep(3)
    n = rows(s.db, "SELECT count(*) FROM notetype")[0][0]
    assert n >= 1 and gc(s, "notetypes") == "notetypes: 0 removed"
    assert rows(s.db, "SELECT count(*) FROM notetype")[0][0] == n


def test_mediad_down_leaves_files(env):
    """The rows go (committed first); the file waits for mediad's sweep."""
    s = env
    unreference(s, "murmur.mp3")
    time.sleep(4)
    s.ctl("stop", "mediad")
    wait_for(lambda: s.status()["mediad"]["state"] == "stopped", 10, what="mediad stopped")
    out = gc(s, "media")
    assert out.startswith("media: 1 rows, 0 files removed (mediad away"), out
    assert media_row(s, "murmur.mp3") == []
    assert os.path.exists(media_path(s, "murmur.mp3"))
    assert_gcd_alive(s)
    s.ctl("start", "mediad")
    s.wait_running()
    assert gc(s, "media") == "media: 0 rows, 0 files removed"


def test_expired_tokens(env):
    s = env
    uid = rows(s.db, "SELECT id FROM users WHERE username = 'alice'")[0][0]
    now = time.time()
    ins = ("INSERT INTO auth_tokens (user_id, token_hash, refresh_token_hash, expires_at,"
           " refresh_expires_at) VALUES (?, randomblob(32), randomblob(32), ?, ?)")
    s.db.execute(ins, (uid, now - 100, now - 50))       # both past: goes
    s.db.execute(ins, (uid, now - 100, now + 3600))     # refresh still valid: stays
    s.db.execute(ins, (uid, now + 3600, now + 7200))    # valid: stays
    before = rows(s.db, "SELECT count(*) FROM auth_tokens")[0][0]
    assert gc(s, "tokens") == "tokens: 1 removed"
    assert rows(s.db, "SELECT count(*) FROM auth_tokens")[0][0] == before - 1
    assert rows(s.db, "SELECT count(*) FROM auth_tokens WHERE refresh_expires_at < ?",
                now) == [(0,)]
    # The add-on's own login still works.
    assert s.alice.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": []}) \
        .status_code != 401
    assert_gcd_alive(s)


def test_stale_batches_and_bulk_operations(env):
    s = env
    now = time.time()
    for i, age in enumerate((2 * 86400, 60)):
        s.db.execute("INSERT INTO media_upload_batches (id, deck_hash, created_at)"
                     " VALUES (?, ?, ?)", (f"00000000-0000-4000-8000-00000000000{i}",
                                           s.hash, now - age))
        s.db.execute("INSERT INTO media_upload_batch_files (batch_id, hash, filename,"
                     " note_id, file_size) VALUES (?, ?, 'a.png', -1, 1)",
                     (f"00000000-0000-4000-8000-00000000000{i}", "0" * 32))
    for i, age in enumerate((7200, 60)):
        s.db.execute("INSERT INTO bulk_operations (id, deck_hash, created_at) VALUES (?, ?, ?)",
                     (f"10000000-0000-4000-8000-00000000000{i}", s.hash, now - age))
    nops = rows(s.db, "SELECT count(*) FROM bulk_operations")[0][0]
    assert gc(s, "batches") == \
        "batches: 1 upload batches, 1 bulk operations, 0 unconfirmed files removed"
    assert rows(s.db, "SELECT id FROM media_upload_batches") == \
        [("00000000-0000-4000-8000-000000000001",)]
    assert rows(s.db, "SELECT batch_id FROM media_upload_batch_files") == \
        [("00000000-0000-4000-8000-000000000001",)]
    assert rows(s.db, "SELECT count(*) FROM bulk_operations")[0][0] == nops - 1
    assert_gcd_alive(s)


def test_run_all_and_errors(env):
    s = env
    out = gc(s)
    for part in ("tokens: ", "batches: ", "notetypes: ", "media: ", "strays: ", "stats: ",
                 "snapshots: ", "wal: checkpoint and "
                 "optimize done"):
        assert part in out, out
    r = s.ctl("gc", "run", "nosuchjob", check=False)
    assert r.returncode != 0
    assert "no such gc job 'nosuchjob'" in r.stderr, r.stderr
    r = s.ctl("gc", "frobnicate", check=False)
    assert r.returncode != 0 and "usage: ankicollabctl gc run" in r.stderr
    assert_gcd_alive(s)

    s.ctl("stop", "gcd")
    r = s.ctl("gc", "run", check=False)
    assert r.returncode != 0 and "gcd is not running" in r.stderr, r.stderr
    # The others are untouched, and gcd comes back and answers again.
    s.ctl("start", "gcd")
    s.wait_running()
    assert "tokens: 0 removed" in gc(s, "tokens")


# ---- files the database does not know, uploads never confirmed ----------------------------


def age(path, seconds):
    t = time.time() - seconds
    os.utime(path, (t, t))


def stray(s, data, suffix=""):
    h = md5(data)
    d = os.path.join(s.data_dir, "media", h[:2])
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, h + suffix)
    with open(path, "wb") as f:
        f.write(data)
    return path


def test_strays_older_than_grace_go_younger_stay(env):
    s = env
    old = stray(s, b"\x89PNG\r\n\x1a\n stray old")
    old_gz = stray(s, b"<svg>stray gzipped</svg>", ".gz")
    young = stray(s, b"\x89PNG\r\n\x1a\n stray young")
    age(old, 60)
    age(old_gz, 60)
    # Referenced files, however old, stay; so do names that are not media files.
    for name in ("heart.png", "diagram.svg", "murmur.mp3"):
        age(media_path(s, name) if os.path.exists(media_path(s, name))
            else media_path(s, name) + ".gz", 3600)
    other = os.path.join(s.data_dir, "media", "zz-not-ours")
    with open(other, "w") as f:
        f.write("x")
    age(other, 3600)
    assert gc(s, "strays") == "strays: 2 files removed"
    assert not os.path.exists(old) and not os.path.exists(old_gz)
    assert os.path.exists(young) and os.path.exists(other)
    for name in ("heart.png", "diagram.svg", "murmur.mp3"):
        assert media_row(s, name) == [(1,)]
        assert os.path.exists(media_path(s, name)) or os.path.exists(media_path(s, name) + ".gz")
    # Past its grace the young one goes too; a second run finds nothing more.
    age(young, 60)
    assert gc(s, "strays") == "strays: 1 files removed"
    assert gc(s, "strays") == "strays: 0 files removed"
    assert_gcd_alive(s)


def announce_and_put(s, name, data, guid):
    from test_media_api import put
    f = {"hash": md5(data), "filename": name, "note_guid": guid, "file_size": len(data)}
    r = s.alice.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": [f],
                                                "bulk_operation_id": ""})
    assert r.status_code == 200, r.text
    body = r.json()
    (m,) = body["missing_files"]
    assert put(s.alice, m["upload_url"], name, data).status_code == 200
    return body["batch_id"], stray_path(s, data)


def stray_path(s, data):
    h = md5(data)
    return os.path.join(s.data_dir, "media", h[:2], h)


def test_never_confirmed_upload_goes_with_its_batch(env):
    s = env
    late = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    waiting = b"\x89PNG\r\n\x1a\n" + os.urandom(2000)
    batch, path = announce_and_put(s, "late.png", late, "g-media-3")
    batch2, path2 = announce_and_put(s, "waiting.png", waiting, "g-media-3")
    assert os.path.exists(path) and os.path.exists(path2)
    age(path, 60)
    age(path2, 60)
    # While its batch may still be confirmed, the sweep leaves it alone.
    assert gc(s, "strays") == "strays: 0 files removed"
    assert os.path.exists(path) and os.path.exists(path2)
    # A day later the batch is stale: it goes, and its never-confirmed file after it.
    s.db.execute("UPDATE media_upload_batches SET created_at = created_at - 2 * 86400"
                 " WHERE id = ?", (batch,))
    out = gc(s, "batches")
    assert out == "batches: 1 upload batches, 0 bulk operations, 1 unconfirmed files removed", out
    assert not os.path.exists(path)
    assert rows(s.db, "SELECT count(*) FROM media_upload_batches WHERE id = ?", batch) == [(0,)]
    # The other batch is young: its file stays, and still confirms.
    assert os.path.exists(path2)
    r = s.alice.post_json("/media/confirm/bulk", {"batch_id": batch2, "bulk_operation_id": "",
                                                  "confirmed_files": [md5(waiting)]})
    assert (r.status_code, r.text) == (200, "Thanks for sharing!")
    assert rows(s.db, "SELECT count(*) FROM media_files WHERE hash = ?", md5(waiting)) == [(1,)]
    assert gc(s, "strays") == "strays: 0 files removed"
    assert os.path.exists(path2)
    assert_gcd_alive(s)


def test_unconfirmed_but_uploaded_again_is_kept(env):
    """The batch goes, but the same bytes were just uploaded for a newer batch."""
    s = env
    data = b"\x89PNG\r\n\x1a\n" + os.urandom(1500)
    batch, path = announce_and_put(s, "again.png", data, "g-media-3")
    age(path, 60)
    s.db.execute("UPDATE media_upload_batches SET created_at = created_at - 2 * 86400"
                 " WHERE id = ?", (batch,))
    batch2, _ = announce_and_put(s, "again.png", data, "g-media-3")   # renews the file
    out = gc(s, "batches")
    assert out == "batches: 1 upload batches, 0 bulk operations, 0 unconfirmed files removed", out
    assert os.path.exists(path)
    # Even when the newer batch is gone too, the file is younger than the grace period.
    s.db.execute("DELETE FROM media_upload_batches WHERE id = ?", (batch2,))
    assert gc(s, "strays") == "strays: 0 files removed"
    assert os.path.exists(path)


def test_stats_refresh(env):
    s = env
    notes = dict(rows(s.db, "SELECT guid, id FROM notes"))
    n1, n2 = notes["g-media-1"], notes["g-media-2"]
    ins = "INSERT INTO note_stats (note_id, user_hash, retention, lapses, reps) VALUES (?,?,?,?,?)"
    s.db.execute(ins, (n1, "a" * 64, 90, 1, 10))
    s.db.execute(ins, (n1, "b" * 64, 70, 3, 20))
    s.db.execute(ins, (n2, "a" * 64, 50, 0, 4))
    assert gc(s, "stats") == "stats: 2 notes, 1 decks refreshed, 0 rows removed"
    assert rows(s.db, "SELECT note_id, sample_size, retention, lapses, reps FROM"
                " calculated_stats ORDER BY note_id") == [(n1, 2, 80.0, 2.0, 15.0),
                                                          (n2, 1, 50.0, 0.0, 4.0)]
    assert rows(s.db, "SELECT notes_with_stats_count, retention FROM decks WHERE human_hash = ?",
                s.hash) == [(2, 65.0)]
    # Unchanged: nothing to write for the deck; a note's stats gone: its row goes.
    assert gc(s, "stats") == "stats: 2 notes, 0 decks refreshed, 0 rows removed"
    s.db.execute("DELETE FROM note_stats WHERE note_id = ?", (n2,))
    assert gc(s, "stats") == "stats: 1 notes, 1 decks refreshed, 1 rows removed"
    assert rows(s.db, "SELECT notes_with_stats_count, retention FROM decks WHERE human_hash = ?",
                s.hash) == [(1, 80.0)]
    assert_gcd_alive(s)
