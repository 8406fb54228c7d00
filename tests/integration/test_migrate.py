"""ankicollabctl migrate: an upstream AnkiCollab PostgreSQL database and bucket into a
data dir the suite serves, interrupted and resumed, and back into upstream's schema.

A real PostgreSQL (Debian's postgresql) runs as an unprivileged user in a temp dir.
"""
import hashlib
import os
import sqlite3
import subprocess

import pytest
import requests

from addon import Addon, add_user
from pgcluster import PgCluster, bindir
from suite import BUILD, wait_for

ALICE_PW = "alice's old upstream password"
BOB_PW = "bob has another one"
ROOT_HASH = "alpha-bravo-charlie-delta-echo-fox"
CHILD_HASH = "golf-hotel-india-juliet-kilo-lima"
BOB_HASH = "mike-november-oscar-papa-quebec-romeo"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 3
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 200
PNG_MD5 = hashlib.md5(PNG).hexdigest()
MP3_MD5 = hashlib.md5(MP3).hexdigest()
ORPHAN = b"nobody refers to me"
ORPHAN_MD5 = hashlib.md5(ORPHAN).hexdigest()
T = "2024-06-10 14:03:11.123456+00"
T2 = "2024-06-11 09:00:00.5+00"

# Upstream tables compared after the round trip, each in a total order.
TABLES = {
    "public.users": "id", "anki.auth_tokens": "id", "anki.user_quotas": "user_id",
    "anki.decks": "id", "anki.notetype": "id", "anki.notetype_field": "id",
    "anki.notetype_template": "id", "anki.notes": "id", "anki.commits": "commit_id",
    "anki.fields": "id", "anki.tags": "id", "anki.card_deletion_suggestions": "id",
    "anki.note_move_suggestions": "id", "anki.maintainers": "id", "anki.optional_tags": "id",
    "anki.changelogs": "id", "anki.subscriptions": "id", "anki.note_events": "id",
    "anki.notifications": "id", "anki.deck_subscriptions": "subscription_id",
    "anki.subscription_field_policy": "subscriber_deck_id, base_deck_id, notetype_id",
    "anki.note_inheritance": "inheritance_id", "anki.note_stats": "id",
    "anki.calculated_stats": "note_id", "anki.media_files": "id",
    "anki.media_references": "id", "anki.media_operations_log": "id",
}


def ctl(conf, *args, check=True):
    r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", conf, *args],
                       capture_output=True, text=True, timeout=300)
    if check:
        assert r.returncode == 0, f"{args} -> {r.returncode}\n{r.stdout}{r.stderr}"
    return r


@pytest.fixture
def pg():
    if bindir() is None:
        pytest.skip("PostgreSQL binaries (Debian package postgresql) are not installed")
    c = PgCluster()
    try:
        c.start()
    except (RuntimeError, KeyError) as e:
        c.stop()
        pytest.skip(f"cannot start a throwaway PostgreSQL cluster here: {e}")
    yield c
    c.stop()


def phc_strings(make_suite):
    """Argon2 PHC strings made the way our accounts are (apid/password.c)."""
    scratch = make_suite(start=False)
    add_user(scratch, "alice", ALICE_PW)
    add_user(scratch, "bob", BOB_PW)
    db = sqlite3.connect(os.path.join(scratch.data_dir, "ankicollab.db"))
    out = dict(db.execute("SELECT username, password FROM users"))
    db.close()
    return out


def q(s):
    return "'" + s.replace("'", "''") + "'"


def upstream_sql(phc):
    """A small community deck as upstream stores it."""
    tok = "\\x" + "ab" * 32
    ref = "\\x" + "cd" * 32
    return f"""
INSERT INTO public.users (id, username, password, is_admin, signup_ip, created_at, deleted_at)
VALUES (5, 'alice', {q(phc['alice'])}, false, '192.0.2.7', '2023-01-02 03:04:05.25', NULL),
       (9, 'bob', {q(phc['bob'])}, true, '2001:db8::1', '2023-02-03 04:05:06', NULL),
       (12, 'carol', '', false, '198.51.100.3', '2023-03-04 05:06:07', '{T2}');
INSERT INTO anki.auth_tokens (id, user_id, token_hash, refresh_token_hash, expires_at,
  refresh_expires_at, created_at, last_used_at) OVERRIDING SYSTEM VALUE
VALUES (3, 9, '{tok}', '{ref}', '2099-01-01 00:00:00+00', '2099-03-01 00:00:00+00', '{T}', '{T2}');
INSERT INTO anki.user_quotas VALUES (5, 12345, 3, 7, '{T}');
INSERT INTO anki.decks (id, name, description, owner, last_update, parent, crowdanki_uuid,
  human_hash, creator_ip, full_path, private, stats_enabled, retention,
  notes_with_stats_count, restrict_notetypes, restrict_subdecks, deleted_at) VALUES
 (20, 'Biology', 'Cells <b>and</b> genes', 5, '{T}', NULL, 'uuid-root', '{ROOT_HASH}',
  '192.0.2.7', 'Biology', false, true, 80, 2, true, false, NULL),
 (21, 'Cells', '', 5, '{T}', 20, 'uuid-cells', '{CHILD_HASH}', '192.0.2.7',
  'Biology::Cells', true, false, NULL, 0, true, false, NULL),
 (23, 'Genetics', E'tab\\there\\nnewline \\\\ backslash', 5, '{T2}', 20, 'uuid-gen',
  'sierra-tango-uniform-victor-whisky-xray', NULL, 'Biology::Genetics', true, false, NULL, 0, true, true, NULL),
 (40, 'Bob''s Biology', '', 9, '{T}', NULL, 'uuid-bob', '{BOB_HASH}', NULL, 'Bob''s Biology',
  true, false, NULL, 0, true, false, NULL);
INSERT INTO anki.notetype VALUES
 (30, 'nt-basic', '.card {{}}', '\\end{{document}}', '\\documentclass{{article}}', false, 'Basic',
  0, 5, 1, 0, '[[0, "any", [0]]]'),
 (31, 'nt-basic', '.card {{}}', '', '', false, 'Basic', 0, 9, 1, 0, NULL);
INSERT INTO anki.notetype_field VALUES
 (300, 30, '', 'Arial', 'Front', 0, false, 20, false, 0, false, 1000, 0),
 (301, 30, 'the answer', 'Arial', 'Back', 1, false, 20, true, 1, true, 1001, 0),
 (310, 31, '', 'Arial', 'Front', 0, false, 20, false, 0, false, 1000, 0),
 (311, 31, '', 'Arial', 'Back', 1, false, 20, false, 1, false, 1001, 0);
INSERT INTO anki.notetype_template VALUES
 (350, 30, '{{{{Front}}}}', '{{{{FrontSide}}}}<hr id=answer>{{{{Back}}}}', '', '', '', 0,
  'Card 1', 0, 2000, 0),
 (351, 31, '{{{{Front}}}}', '{{{{Back}}}}', '', '', '', 0, 'Card 1', 0, 2000, 0);
INSERT INTO anki.notes VALUES
 (100, 'guid-cell', 30, 21, '{T}', true, '192.0.2.7', false, 1700000000001, 2),
 (101, 'guid-nucleus', 30, 21, '{T}', true, NULL, false, 1700000000002, 1),
 (102, 'guid-dna', 30, 23, '{T2}', true, NULL, false, 1700000000003, 1),
 (103, 'guid-root', 30, 20, '{T}', true, NULL, false, 1700000000004, 1),
 (104, 'guid-gone', 30, 21, '{T2}', true, NULL, true, 1700000000005, 3),
 (105, 'guid-pending', 30, 23, '{T2}', false, '203.0.113.9', false, 0, 0),
 (110, 'guid-bobs', 31, 40, '{T}', true, NULL, false, 1700000000009, 0);
INSERT INTO anki.commits VALUES
 (1, 1, '192.0.2.7', '{T}', 20, 'Deck Creation', 5),
 (2, 2, '203.0.113.9', '{T2}', 20, 'fix the spelling', 9),
 (3, 6, '203.0.113.9', '{T2}', 23, '', NULL);
INSERT INTO anki.fields (id, note, position, content, reviewed, creator_ip, "commit") VALUES
 (1000, 100, 0, 'What is a cell?', true, NULL, 1),
 (1001, 100, 1, 'The unit of life <img src="cell.png">', true, NULL, 1),
 (1002, 101, 0, 'Nucleus', true, NULL, 1),
 (1003, 101, 1, 'Holds the DNA [sound:nucleus.mp3]', true, NULL, 1),
 (1004, 102, 0, 'DNA', true, NULL, 1),
 (1005, 102, 1, E'Deoxyribo\\nnucleic acid\\t\\\\', true, NULL, 1),
 (1006, 103, 0, 'Root note', true, NULL, 1),
 (1007, 103, 1, 'ünïcödé ✓', true, NULL, 1),
 (1008, 104, 0, 'gone', true, NULL, 1),
 (1009, 100, 1, 'The smallest unit of life', false, '203.0.113.9', 2),
 (1010, 105, 0, 'A pending new note', false, '203.0.113.9', 3),
 (1011, 105, 1, '', false, '203.0.113.9', 3),
 (1012, 110, 0, 'Bob front', true, NULL, NULL),
 (1013, 110, 1, 'Bob back', true, NULL, NULL);
INSERT INTO anki.tags VALUES
 (500, 100, 'biology::cells', true, NULL, true, 1),
 (501, 100, 'AnkiCollab_Optional::Extra::deep', true, NULL, true, 1),
 (502, 101, 'biology::cells', true, NULL, true, 1),
 (503, 102, 'genetics', true, NULL, true, 1),
 (504, 100, 'spelling', false, '203.0.113.9', true, 2),
 (505, 101, 'biology::cells', false, '203.0.113.9', false, 2);
INSERT INTO anki.card_deletion_suggestions VALUES (1, 103, '203.0.113.9', 2);
INSERT INTO anki.note_move_suggestions VALUES (1, 21, 23, 101, '203.0.113.9', 2);
INSERT INTO anki.maintainers VALUES (1, 20, 9);
INSERT INTO anki.optional_tags VALUES (1, 20, 'Extra');
INSERT INTO anki.changelogs VALUES (1, 20, 'First release', '{T}'), (2, 20, 'More cells', '{T2}');
INSERT INTO anki.subscriptions VALUES
 (1, '{hashlib.sha256(b"bob").hexdigest()}', 20), (2, 'cafe', 21);
INSERT INTO anki.note_events VALUES
 (1, 100, 1, 'note_created', 5, 1, true, NULL,
  '{{"fields": [{{"position": 0, "content": "What is a cell?"}}], "tags": [], "reviewed": true}}', '{T}'),
 (2, 100, 2, 'field_updated', 9, 2, NULL, '{{"position": 1, "content": "x", "reviewed": true}}',
  '{{"position": 1, "content": "y", "reviewed": false}}', '{T2}');
INSERT INTO anki.notifications VALUES (1, 9, 2, 20, 'approved', NULL, false, '{T2}'),
 (2, 9, 3, 23, 'denied', 'duplicate', true, '{T2}');
INSERT INTO anki.deck_subscriptions VALUES (1, 40, 20, '{T}');
INSERT INTO anki.subscription_field_policy VALUES (40, 20, 30, '{{0}}'), (40, 21, 30, NULL),
 (40, 23, 30, '{{}}');
INSERT INTO anki.note_inheritance VALUES
 (1, 110, 100, '{{0,1}}', '{{"biology::cells","a \\"quoted\\" tag","back\\\\slash"}}', '{T}');
INSERT INTO anki.note_stats VALUES (1, 100, 'cafe', 90, 1, 12), (2, 101, 'beef', 70, 3, 30);
-- As gcd's stats job computes them from note_stats (it runs when the suite starts).
INSERT INTO anki.calculated_stats VALUES (100, 1, 90, 1, 12), (101, 1, 70, 3, 30);
INSERT INTO anki.media_files (id, hash, file_size, created_at) OVERRIDING SYSTEM VALUE VALUES
 (7, '{PNG_MD5}', {len(PNG)}, '{T}'), (8, '{MP3_MD5}', {len(MP3)}, '{T}'),
 (9, '{ORPHAN_MD5}', {len(ORPHAN)}, '{T2}');
INSERT INTO anki.media_references (id, media_id, note_id, file_name) OVERRIDING SYSTEM VALUE
VALUES (70, 7, 100, 'cell.png'), (71, 8, 101, 'nucleus.mp3');
INSERT INTO anki.media_operations_log (id, operation_type, user_id, ip_address, timestamp,
  file_hash, file_name, file_size) OVERRIDING SYSTEM VALUE
VALUES (1, 1, 5, '192.0.2.7', '{T}', '{PNG_MD5}', 'cell.png', {len(PNG)});
INSERT INTO anki.login_logs (user_id, ip_address) VALUES (5, '192.0.2.7');
SELECT setval(pg_get_serial_sequence('public.users', 'id'), 12);
"""


def write_bucket(root, files):
    for data in files:
        h = hashlib.md5(data).hexdigest()
        os.makedirs(os.path.join(root, h[:2]), exist_ok=True)
        with open(os.path.join(root, h[:2], h), "wb") as f:
            f.write(data)


def dump(pg, db):
    """Every compared table's rows, in order, as COPY text."""
    return {t: pg.psql(f"COPY (SELECT * FROM {t} ORDER BY {k}) TO STDOUT", db)
            for t, k in TABLES.items()}


def ours(s):
    return sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db"))


def counts(s):
    db = ours(s)
    got = {t.split(".")[1]: db.execute(f"SELECT count(*) FROM {t.split('.')[1]}").fetchone()[0]
           for t in TABLES}
    db.close()
    return got


def test_migrate_upstream_and_back(pg, make_suite, tmp_path):
    phc = phc_strings(make_suite)
    up = pg.createdb("upstream")
    pg.psql(ctl("/dev/null", "migrate", "upstream-schema").stdout, "upstream")
    pg.psql(upstream_sql(phc), "upstream")
    before = dump(pg, "upstream")
    bucket = str(tmp_path / "bucket")
    write_bucket(bucket, [PNG, MP3, ORPHAN])
    os.makedirs(os.path.join(bucket, "decks", "x"))   # the deck cache: not media

    s = make_suite(start=False)

    # Interrupted: notes are locked upstream, so the run stops right after the
    # tables before them are committed; then it is killed.
    locker = subprocess.Popen([os.path.join(pg.bin, "psql"), "-X", "-q", pg.url("upstream")],
                              stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        locker.stdin.write("BEGIN;\nLOCK TABLE anki.notes IN ACCESS EXCLUSIVE MODE;\n")
        locker.stdin.flush()
        pg.wait_lock("upstream", "anki.notes")
        mig = subprocess.Popen([os.path.join(BUILD, "ankicollabctl"), "-c", s.conf, "migrate",
                                "from-postgres", up, "--media", bucket, "--batch", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        seen = []
        for line in mig.stdout:
            seen.append(line)
            if line.startswith("notetype_template"):
                break
        mig.kill()
        mig.wait()
        assert any(x.startswith("notetype_template") and x.rstrip().endswith("ok")
                   for x in seen), "".join(seen)
    finally:
        locker.stdin.close()
        locker.wait(timeout=30)
    partial = counts(s)
    assert partial["users"] == 3 and partial["decks"] == 4 and partial["notetype_template"] == 2
    assert partial["notes"] == 0 and partial["fields"] == 0
    assert not os.path.exists(os.path.join(s.data_dir, "media", PNG_MD5[:2], PNG_MD5))
    # What a kill inside a table leaves: some committed batches, marked partial.
    db = ours(s)
    db.execute("INSERT INTO notes (id, guid, notetype, deck, last_update, reviewed) "
               "VALUES (100, 'guid-cell', 30, 21, 1, 1), (101, 'guid-nucleus', 30, 21, 1, 1)")
    db.execute("INSERT INTO server_state (key, value) VALUES ('migrate.notes', 2)")
    db.commit()
    db.close()

    # Run again: it resumes and completes; the source is untouched.
    r = ctl(s.conf, "migrate", "from-postgres", up, "--media", bucket, "--batch", "2")
    out = r.stdout
    assert "resuming the migration" in out and "migration complete" in out, out
    assert "notes                              2 row(s) of an interrupted run removed" in out
    # Finished tables are kept as they are; the rest is copied now.
    assert "users                              3 upstream         3 here (0 copied now)  ok" in out
    assert "notes                              7 upstream         7 here (7 copied now)  ok" in out
    assert "MISMATCH" not in out and "foreign keys: ok" in out
    assert "media: 3 copied, 0 already there" in out
    assert "anki.login_logs                    1 upstream, not carried over" in out
    full = counts(s)
    assert full == {t.split(".")[1]: len(rows.splitlines()) for t, rows in before.items()}
    assert dump(pg, "upstream") == before

    # And again: nothing doubles, every file is checked and kept.
    r = ctl(s.conf, "migrate", "from-postgres", up, "--media", bucket)
    assert "checking the migration from" in r.stdout
    assert "media: 0 copied, 3 already there" in r.stdout and counts(s) == full
    for data in (PNG, MP3, ORPHAN):
        h = hashlib.md5(data).hexdigest()
        with open(os.path.join(s.data_dir, "media", h[:2], h), "rb") as f:
            assert f.read() == data
    db = ours(s)
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert db.execute("SELECT hash, refcount, orphaned_at IS NULL FROM media_files "
                      "ORDER BY id").fetchall() == [(PNG_MD5, 1, 1), (MP3_MD5, 1, 1),
                                                    (ORPHAN_MD5, 0, 0)]
    # µs survive: PostgreSQL's 14:03:11.123456 is the REAL 1718028191.123456.
    assert db.execute("SELECT last_update FROM decks WHERE id = 20").fetchone()[0] == \
        1718028191.123456
    db.close()

    # A non-empty data dir that is not this migration is refused.
    other = make_suite(start=False)
    add_user(other, "zed")
    r = ctl(other.conf, "migrate", "from-postgres", up, "--media", bucket, check=False)
    assert r.returncode == 1 and "already holds users or decks" in r.stderr

    # The suite serves the result: old passwords, the same deck, the same media.
    s.start()
    r = requests.post(s.url("apid", "/login"), json={"username": "alice", "password": "wrong"},
                      timeout=30)
    assert r.status_code != 200
    alice = Addon(s, "alice", ALICE_PW)
    bob = Addon(s, "bob", BOB_PW)
    r = requests.post(s.url("apid", "/login"), json={"username": "carol", "password": ""},
                      timeout=30)
    assert r.status_code != 200
    got = alice.pull({ROOT_HASH: "2000-01-01 00:00:00"})
    assert len(got) == 1 and got[0]["deck_hash"] == ROOT_HASH
    deck = got[0]["deck"]
    assert deck["name"] == "Biology" and deck["desc"] == "Cells <b>and</b> genes"
    assert [(n["guid"], n["fields"]) for n in deck["notes"]] == [("guid-root", ["Root note", "ünïcödé ✓"])]
    kids = {c["name"]: c for c in deck["children"]}
    assert set(kids) == {"Cells", "Genetics"}
    assert [(n["guid"], n["fields"], sorted(n["tags"])) for n in kids["Cells"]["notes"]] == [
        ("guid-cell", ["What is a cell?", 'The unit of life <img src="cell.png">'],
         ["AnkiCollab_Optional::Extra::deep", "biology::cells"]),
        ("guid-nucleus", ["Nucleus", "Holds the DNA [sound:nucleus.mp3]"], ["biology::cells"])]
    assert [(n["guid"], n["fields"]) for n in kids["Genetics"]["notes"]] == [
        ("guid-dna", ["DNA", "Deoxyribo\nnucleic acid\t\\"])]
    assert got[0]["deleted_notes"] == ["guid-gone"]
    assert got[0]["optional_tags"] == ["Extra"] and got[0]["stats_enabled"] is True
    assert "More cells" in got[0]["changelog"]
    assert [(p["id"], p["name"], [f["name"] for f in p["fields"]])
            for p in got[0]["protected_fields"]] == [(30, "Basic", ["Back"])]

    r = bob.post_json("/media/manifest", {"deck_hash": ROOT_HASH,
                                          "filenames": ["cell.png", "nucleus.mp3"]})
    assert r.status_code == 200, r.text
    man = r.json()
    assert sorted(f["filename"] for f in man["files"]) == ["cell.png", "nucleus.mp3"]
    want = {"cell.png": PNG, "nucleus.mp3": MP3}
    for f in man["files"]:
        g = requests.get(f["download_url"], headers={"Authorization": f"Bearer {bob.token}"},
                         timeout=30)
        assert g.status_code == 200 and g.content == want[f["filename"]]
    s.stop()

    # The way back, into an empty database: the same rows, table by table.
    back = pg.createdb("back")
    bucket2 = str(tmp_path / "bucket2")
    r = ctl(s.conf, "migrate", "to-postgres", back, "--media", bucket2)
    assert "migration complete" in r.stdout and "MISMATCH" not in r.stdout, r.stdout
    after = dump(pg, "back")
    # Logging in above gave alice and bob new token pairs; upstream keeps one per
    # user, the newest, so theirs differ and only their user ids compare.
    tok = after.pop("anki.auth_tokens")
    assert [ln.split("\t")[1] for ln in tok.splitlines()] == ["5", "9"]
    before.pop("anki.auth_tokens")
    # Bob's downloads above counted against his daily quota (§9): a new row
    # for him; the migrated rows come back as they were.
    quotas = after["anki.user_quotas"].splitlines()
    assert [q for q in quotas if q.split("\t")[0] != "9"] == \
        before.pop("anki.user_quotas").splitlines()
    assert any(q.split("\t")[0] == "9" for q in quotas)
    for t in before:
        assert after[t] == before[t], t
    for data in (PNG, MP3, ORPHAN):
        h = hashlib.md5(data).hexdigest()
        with open(os.path.join(bucket2, h[:2], h), "rb") as f:
            assert f.read() == data
    assert sorted(os.listdir(bucket2)) == sorted({PNG_MD5[:2], MP3_MD5[:2], ORPHAN_MD5[:2]})
    # Sequences moved past the ids: upstream's next deck gets a fresh id.
    assert pg.psql("SELECT nextval(pg_get_serial_sequence('anki.decks', 'id'))", "back") == "41\n"
    assert pg.psql("INSERT INTO anki.media_files (hash) VALUES ('x') RETURNING id", "back") \
        == "10\n"

    # A target that is not empty is refused, and left as it was.
    r = ctl(s.conf, "migrate", "to-postgres", back, "--media", bucket2, check=False)
    assert r.returncode == 1 and "not empty" in r.stderr


def test_refusals(pg, make_suite, tmp_path):
    s = make_suite(start=False)
    db = pg.createdb("plain")
    r = ctl(s.conf, "migrate", "from-postgres", db, "--media", str(tmp_path), check=False)
    assert r.returncode == 1 and "not an AnkiCollab database" in r.stderr
    r = ctl(s.conf, "migrate", "from-postgres", db, "--media", str(tmp_path / "nope"),
            check=False)
    assert r.returncode == 1 and "not a media folder" in r.stderr
    r = ctl(s.conf, "migrate", "from-postgres", "host=/nonexistent dbname=x",
            "--media", str(tmp_path), check=False)
    assert r.returncode == 1 and "cannot connect" in r.stderr
    r = ctl(s.conf, "migrate", "from-postgres", db, check=False)
    assert r.returncode == 100
    # The source is read in a read-only transaction: nothing can be written there.
    assert pg.psql("SELECT count(*) FROM pg_tables WHERE schemaname = 'anki'", "plain") == "0\n"


def test_media_problems_are_reported_then_resumed(pg, make_suite, tmp_path):
    phc = phc_strings(make_suite)
    up = pg.createdb("media")
    pg.psql(ctl("/dev/null", "migrate", "upstream-schema").stdout, "media")
    pg.psql(f"""
INSERT INTO public.users (id, username, password, signup_ip) VALUES (1, 'alice', {q(phc['alice'])},
  '192.0.2.1');
INSERT INTO anki.media_files (hash, file_size) VALUES ('{PNG_MD5}', {len(PNG)}),
  ('{MP3_MD5}', {len(MP3)});
""", "media")
    bucket = str(tmp_path / "bucket")
    write_bucket(bucket, [PNG])
    with open(os.path.join(bucket, PNG_MD5[:2], PNG_MD5), "ab") as f:
        f.write(b"tampered")
    s = make_suite(start=False)
    data_dir = str(tmp_path / "elsewhere")    # --data-dir instead of the config's
    r = ctl(s.conf, "migrate", "from-postgres", up, "--media", bucket, "--data-dir", data_dir,
            check=False)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "media: BAD 1 file(s)" in r.stdout and "media: MISSING 1 file(s)" in r.stdout
    assert "WITH PROBLEMS" in r.stdout and f"media {MP3_MD5}: not in the media folder" in r.stderr
    assert not os.path.exists(os.path.join(data_dir, "media", PNG_MD5[:2], PNG_MD5))
    assert os.listdir(os.path.join(data_dir, "spool")) == []
    assert not os.path.exists(s.data_dir)

    # The admin puts the right files in place and runs it again.
    write_bucket(bucket, [PNG, MP3])
    r = ctl(s.conf, "migrate", "from-postgres", up, "--media", bucket, "--data-dir", data_dir)
    assert "media: 2 copied, 0 already there" in r.stdout and "migration complete" in r.stdout
    for data in (PNG, MP3):
        h = hashlib.md5(data).hexdigest()
        with open(os.path.join(data_dir, "media", h[:2], h), "rb") as f:
            assert f.read() == data


def test_killed_inside_a_table(pg, make_suite, tmp_path):
    """A real kill -9 between two batches of one table: the rerun copies that table
    again from the start, keeps the finished ones, and nothing is doubled."""
    up = pg.createdb("big")
    pg.psql(ctl("/dev/null", "migrate", "upstream-schema").stdout, "big")
    pg.psql("""
INSERT INTO public.users (id, username, password, signup_ip) VALUES (1, 'alice', 'x', '192.0.2.1');
INSERT INTO anki.decks (id, name, owner, last_update, human_hash, full_path)
  VALUES (1, 'Big', 1, now(), 'alpha-bravo-charlie-delta-echo-fox', 'Big');
INSERT INTO anki.notetype (id, guid, owner, name) VALUES (1, 'nt', 1, 'Basic');
INSERT INTO anki.notes (id, guid, notetype, deck, last_update, reviewed)
  SELECT g, 'guid-' || g, 1, 1, now(), true FROM generate_series(1, 2000) g;
INSERT INTO anki.fields (id, note, position, content, reviewed)
  SELECT g, (g - 1) / 10 + 1, (g - 1) % 10, 'field ' || g, true FROM generate_series(1, 20000) g;
""", "big")
    s = make_suite(start=False)
    mig = subprocess.Popen([os.path.join(BUILD, "ankicollabctl"), "-c", s.conf, "migrate",
                            "from-postgres", up, "--media", str(tmp_path), "--batch", "1"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def fields_partial():
            try:
                db = ours(s)
                try:
                    row = db.execute("SELECT value FROM server_state "
                                     "WHERE key = 'migrate.fields'").fetchone()
                finally:
                    db.close()
            except sqlite3.Error:
                return False
            return row is not None and isinstance(row[0], int) and row[0] > 0
        wait_for(fields_partial, 120, 0.005, "fields partly copied")
    finally:
        mig.kill()
        mig.wait()
    db = ours(s)
    done = db.execute("SELECT value FROM server_state WHERE key = 'migrate.notes'").fetchone()
    partial = db.execute("SELECT count(*) FROM fields").fetchone()[0]
    db.close()
    assert done == ("done",) and 0 < partial < 20000

    r = ctl(s.conf, "migrate", "from-postgres", up, "--media", str(tmp_path))
    assert "resuming the migration" in r.stdout and "migration complete" in r.stdout
    assert "row(s) of an interrupted run removed, copying it again" in r.stdout
    assert "notes                           2000 upstream      2000 here (0 copied now)  ok" \
        in r.stdout
    db = ours(s)
    assert db.execute("SELECT count(*), count(DISTINCT id), sum(id) FROM fields").fetchone() \
        == (20000, 20000, 20000 * 20001 // 2)
    db.close()
