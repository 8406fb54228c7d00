"""Backups (`ankicollabctl backup DIR`, `restore DIR`, gcd's periodic backup_dir): a backup
taken while a big /createDeck is half-way through restores elsewhere into a consistent
data dir (integrity and foreign keys ok, every media row's file present with its MD5)
that a suite serves; a tampered or unfinished backup is refused and the target left as
it was; restore is refused while the suite runs; gcd keeps backup_keep backups."""
import hashlib
import http.client
import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time

import pytest

from addon import Addon, add_user, deck, gzb64, note, notetype
from deckdb import connect
from suite import wait_for
from test_media_api import FILES, md5, upload_all


@pytest.fixture
def env(make_suite):
    s = make_suite()
    add_user(s, "alice")
    s.alice = Addon(s, "alice")
    basic = notetype("Basic", ["Front", "Back"])
    d = deck("Cardiology", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "[sound:murmur.mp3]"], guid="g-media-1"),
        note(basic, ["<img src='diagram.svg'>", "x"], guid="g-media-2"),
        note(basic, ['<img src="never uploaded.jpg">', "y"], guid="g-media-3"),
    ])
    for _ in range(20):  # a loaded machine (sanitizers) may be told to come back later
        status, body = s.alice.create_deck(d)
        if status != 503:
            break
        time.sleep(0.5)
    assert status == 200, body
    s.hash, s.op = body["message"], body["bulk_operation_id"]
    s.db = connect(s)
    upload_all(s)
    return s


def tree(path):
    """Every file under path: relative name -> (size, mtime_ns, md5)."""
    out = {}
    for root, _, files in os.walk(path):
        for f in files:
            p = os.path.join(root, f)
            st = os.lstat(p)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, path)] = (st.st_size, st.st_mtime_ns,
                                                 hashlib.md5(fh.read()).hexdigest())
    return out


def file_md5(path):
    with open(path, "rb") as f:
        return hashlib.md5(f.read()).hexdigest()


def assert_consistent(data_dir):
    c = sqlite3.connect(os.path.join(data_dir, "ankicollab.db"))
    try:
        assert c.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert c.execute("PRAGMA foreign_key_check").fetchall() == []
        hashes = [h for (h,) in c.execute("SELECT hash FROM media_files")]
        refs = c.execute("SELECT count(*) FROM media_references").fetchone()[0]
    finally:
        c.close()
    for h in hashes:
        p = os.path.join(data_dir, "media", h[:2], h)
        assert os.path.exists(p), f"media {h} missing"
        assert file_md5(p) == h
    return hashes, refs


class PausedPublish(threading.Thread):
    """/createDeck whose body stops half-way until release(); the add-on's request."""

    def __init__(self, s, n):
        super().__init__(daemon=True)
        m = notetype("Basic", ["Front", "Back"])
        d = deck("Big", note_models=[m], notes=[
            note(m, [f"question {i} " * 8, f"answer {i} " * 8]) for i in range(n)])
        self.body = gzb64({"deck": json.dumps(d, sort_keys=True, indent=4)})
        self.s, self.gate, self.result = s, threading.Event(), None

    def run(self):
        c = http.client.HTTPConnection("127.0.0.1", self.s.ports["apid"], timeout=120)
        c.putrequest("POST", "/createDeck")
        c.putheader("Content-Type", "text/plain")
        c.putheader("Authorization", f"Bearer {self.s.alice.token}")
        c.putheader("Content-Length", str(len(self.body)))
        c.endheaders()
        half = len(self.body) // 2
        c.send(self.body[:half])
        self.gate.wait(60)
        c.send(self.body[half:])
        r = c.getresponse()
        self.result = (r.status, r.read())
        c.close()


def placeholder_notes(conn):
    return conn.execute("SELECT count(*) FROM notes n JOIN decks d ON d.id = n.deck"
                        " WHERE d.human_hash LIKE '~p-%'").fetchone()[0]


def test_backup_during_publish_restores_consistent(env, make_suite, tmp_path):
    s = env
    pub = PausedPublish(s, 6000)
    pub.start()
    try:
        # Half the deck is in, under its placeholder, when the backup is taken.
        wait_for(lambda: placeholder_notes(s.db) > 0, 30, what="a half-published deck")
        bdir = tmp_path / "b1"
        out = s.ctl("backup", str(bdir)).stdout
        assert out.startswith(f"backup {bdir}: database ") and "3 media files" in out, out
    finally:
        pub.gate.set()
        pub.join(120)
    assert pub.result is not None and pub.result[0] == 200, pub.result
    names = sorted(os.listdir(bdir))
    assert names == ["MANIFEST", "ankicollab.db", "media", "secrets"], names
    manifest = (bdir / "MANIFEST").read_text().splitlines()
    assert manifest[0] == "ankicollab-lite-backup 1"
    assert manifest[-1] == f"end {len(manifest) - 4}"
    # The copy stands alone: rollback journal mode, no WAL to carry along.
    with open(bdir / "ankicollab.db", "rb") as f:
        assert f.read(20)[18:20] == b"\x01\x01"

    r = make_suite(start=False)
    out = r.ctl("restore", str(bdir)).stdout
    assert out.startswith(f"restored {bdir} into {r.data_dir}: database "), out
    hashes, refs = assert_consistent(r.data_dir)
    assert sorted(hashes) == sorted(md5(FILES[n]) for n in
                                    ("heart.png", "diagram.svg", "murmur.mp3"))
    assert refs == 3
    c = sqlite3.connect(os.path.join(r.data_dir, "ankicollab.db"))
    assert placeholder_notes(c) > 0  # taken mid-publish: the snapshot has half the deck
    c.close()
    # The restored dir serves: the same deck, the same password, the same secrets.
    assert os.listdir(os.path.join(r.data_dir, "secrets")) == os.listdir(
        os.path.join(s.data_dir, "secrets"))
    r.start()
    ra = Addon(r, "alice")
    # Not the magic first-pull time: gcd has cut a snapshot of the restored
    # deck at start, which a first pull would be sent to (§10); any time
    # before the publish gives the whole deck live.
    pulled = ra.pull({s.hash: "2023-01-01 00:00:00"})
    orig = s.alice.pull({s.hash: "2023-01-01 00:00:00"})
    assert [n["guid"] for n in pulled[0]["deck"]["notes"]] == \
        [n["guid"] for n in orig[0]["deck"]["notes"]]


def test_backup_again_is_incremental(env, tmp_path):
    s = env
    bdir = tmp_path / "b"
    first = s.ctl("backup", str(bdir)).stdout
    assert "(3 linked, 0 copied, 0 kept)" in first, first
    again = s.ctl("backup", str(bdir)).stdout
    assert "(0 linked, 0 copied, 3 kept)" in again, again
    # Same filesystem: the media are the data dir's own inodes.
    h = md5(FILES["heart.png"])
    assert os.stat(bdir / "media" / h[:2] / h).st_ino == \
        os.stat(os.path.join(s.data_dir, "media", h[:2], h)).st_ino


def test_tampered_or_unfinished_backup_refused(env, make_suite, tmp_path):
    s = env
    good = tmp_path / "good"
    s.ctl("backup", str(good))
    r = make_suite(start=False)
    r.ctl("restore", str(good))
    before = tree(r.data_dir)

    def refused(bdir, why):
        out = r.ctl("restore", str(bdir), check=False)
        assert out.returncode == 1, out
        assert out.stderr.startswith("ankicollabctl: restore refused: ") and why in out.stderr, \
            out.stderr
        assert tree(r.data_dir) == before

    # One byte of one media file changed, size kept (a copy, not the shared inode).
    bad = tmp_path / "bad-media"
    shutil.copytree(good, bad)
    h = md5(FILES["murmur.mp3"])
    p = bad / "media" / h[:2] / h
    data = bytearray(p.read_bytes())
    p.unlink()
    data[100] ^= 0xFF
    p.write_bytes(bytes(data))
    refused(bad, "checksum mismatch")

    bad = tmp_path / "bad-db"
    shutil.copytree(good, bad)
    with open(bad / "ankicollab.db", "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 1]))
    refused(bad, "ankicollab.db: checksum mismatch")

    bad = tmp_path / "missing-media"
    shutil.copytree(good, bad)
    (bad / "media" / h[:2] / h).unlink()
    refused(bad, h)

    bad = tmp_path / "unfinished"
    shutil.copytree(good, bad)
    (bad / "MANIFEST").unlink()
    refused(bad, "not a complete backup")

    bad = tmp_path / "cut"
    shutil.copytree(good, bad)
    text = (bad / "MANIFEST").read_text()
    (bad / "MANIFEST").write_text(text[:text.rindex("end ")])
    refused(bad, "cut short")

    bad = tmp_path / "escape"
    shutil.copytree(good, bad)
    (bad / "MANIFEST").write_text(text.replace("secret secrets/", "secret ../../", 1))
    refused(bad, "malformed")


def test_restore_refused_while_running(env, tmp_path):
    s = env
    bdir = tmp_path / "b"
    s.ctl("backup", str(bdir))
    before = tree(os.path.join(s.data_dir, "media"))
    out = s.ctl("restore", str(bdir), check=False)
    assert out.returncode == 1
    assert "restore: the suite is running" in out.stderr, out.stderr
    assert tree(os.path.join(s.data_dir, "media")) == before
    assert s.status()["apid"]["state"] == "running"


def test_backup_refuses_missing_referenced_file(env, tmp_path):
    s = env
    h = md5(FILES["heart.png"])
    os.unlink(os.path.join(s.data_dir, "media", h[:2], h))
    out = s.ctl("backup", str(tmp_path / "b"), check=False)
    assert out.returncode == 1
    assert f"media file {h} is referenced but missing" in out.stderr, out.stderr
    assert not (tmp_path / "b" / "MANIFEST").exists()


def test_periodic_backups_keep_n(make_suite, tmp_path):
    bdir = tmp_path / "periodic"
    s = make_suite(extra={"gcd": {"backup_dir": str(bdir), "backup_interval": "1s",
                                  "backup_keep": "2"}})
    add_user(s, "alice")

    def complete():
        return sorted(n for n in os.listdir(bdir) if not n.endswith(".partial")) \
            if bdir.exists() else []

    def done():
        taken = s.logs().count("gcd: backup: ")
        return taken >= 4 and len(complete()) == 2 and taken
    wait_for(done, 30, interval=0.1, what="four periodic backups")
    names = complete()
    assert all(n.startswith("ankicollab-") and n.endswith("Z") for n in names), names
    r = make_suite(start=False)
    r.ctl("restore", str(bdir / names[-1]))
    c = sqlite3.connect(os.path.join(r.data_dir, "ankicollab.db"))
    assert c.execute("SELECT username FROM users").fetchall() == [("alice",)]
    c.close()
    assert s.status()["gcd"]["heartbeat_ok"]


def test_backup_usage(suite):
    out = suite.ctl("backup", check=False)
    assert out.returncode == 100 and out.stderr == "usage: ankicollabctl backup DIR\n"
    out = suite.ctl("restore", check=False)
    assert out.returncode == 100 and out.stderr == "usage: ankicollabctl restore DIR\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to hand the data dir to another user")
def test_root_acts_as_data_dir_owner(make_suite):
    """sudo ankicollabctl backup/restore write as the data dir's owner, not as root."""
    nobody = 65534
    s = make_suite(start=False)
    add_user(s, "alice")
    os.chmod(s.tmp, 0o711)
    for root, dirs, files in os.walk(s.data_dir):
        for n in [root] + [os.path.join(root, f) for f in files]:
            os.chown(n, nobody, nobody)
    parent = tempfile.mkdtemp(prefix="ankicollab-bk-")
    try:
        os.chmod(parent, 0o711)
        bdir = os.path.join(parent, "b")
        os.mkdir(bdir)
        os.chown(bdir, nobody, nobody)
        s.ctl("backup", bdir)
        for f in ("MANIFEST", "ankicollab.db"):
            assert os.stat(os.path.join(bdir, f)).st_uid == nobody, f
        os.unlink(os.path.join(s.data_dir, "ankicollab.db"))
        s.ctl("restore", bdir)
        st = os.stat(os.path.join(s.data_dir, "ankicollab.db"))
        assert (st.st_uid, st.st_gid) == (nobody, nobody)
        # A backup directory only root may write to is refused, not half-written.
        os.chown(bdir, 0, 0)
        os.chmod(bdir, 0o755)
        out = s.ctl("backup", bdir, check=False)
        assert out.returncode == 1 and "Permission denied" in out.stderr, out.stderr
    finally:
        shutil.rmtree(parent)


def test_overdue_backup_taken_at_start(make_suite, tmp_path):
    """The next backup is due an interval after the newest one, not after gcd's start:
    one from 2020 with a 1 h interval is overdue, so gcd takes one at once and, with
    backup_keep = 1, removes the old one."""
    bdir = tmp_path / "periodic"
    bdir.mkdir()
    old = make_suite(start=False)
    add_user(old, "alice")
    old.ctl("backup", str(bdir / "ankicollab-20200101T000000Z"))
    s = make_suite(extra={"gcd": {"backup_dir": str(bdir), "backup_interval": "1h",
                                  "backup_keep": "1"}})

    def replaced():
        names = os.listdir(bdir)
        return len(names) == 1 and names[0] != "ankicollab-20200101T000000Z" and \
            "1 old backup(s) removed" in s.logs() and names
    names = wait_for(replaced, 30, interval=0.1, what="a new backup replacing the old one")
    assert os.path.exists(bdir / names[0] / "MANIFEST")


def test_backup_inside_data_dir_refused(env):
    s = env
    out = s.ctl("backup", os.path.join(s.data_dir, "backups"), check=False)
    assert out.returncode == 1 and "is inside data_dir" in out.stderr, out.stderr
    assert not os.path.exists(os.path.join(s.data_dir, "backups", "MANIFEST"))


def test_restore_repairs_a_damaged_media_file(env, make_suite, tmp_path):
    """A target file of the right size but the wrong bytes (what a failing card leaves)
    is replaced; a sound one is kept."""
    s = env
    bdir = tmp_path / "b"
    s.ctl("backup", str(bdir))
    r = make_suite(start=False)
    r.ctl("restore", str(bdir))
    h = md5(FILES["murmur.mp3"])
    p = os.path.join(r.data_dir, "media", h[:2], h)
    data = bytearray(open(p, "rb").read())
    os.unlink(p)  # its own inode: the backup's link stays intact
    data[0] ^= 0xFF
    with open(p, "wb") as f:
        f.write(data)
    out = r.ctl("restore", str(bdir)).stdout
    assert "(1 linked, 0 copied, 2 already there)" in out, out
    assert file_md5(p) == h
    assert_consistent(r.data_dir)
