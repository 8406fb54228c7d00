"""§9 media quotas, answered as the spec says: /media/check/bulk → 429 "You reached the
upload limit. Please try again tomorrow.", /media/manifest → 429 "Download limit
exceeded. Please try again tomorrow.", and nothing recorded by a refused call.

Limits are configured small here ([apid] user_storage, uploads_per_day,
downloads_per_day). Each client sends its address in X-Real-IP (client_ip_header), so
per-user and per-address limits can be told apart. Uploads count when confirmed,
downloads when the manifest hands out their URLs (apid/quota.h)."""
import json

import pytest
import requests

from addon import Addon, add_user, deck, note, notetype
from deckdb import connect, rows
from test_media_api import FILES, md5, put

UPLOAD_DENIED = (429, "You reached the upload limit. Please try again tomorrow.")
DOWNLOAD_DENIED = (429, "Download limit exceeded. Please try again tomorrow.")
GUID_OF = {"heart.png": "g-q-1", "murmur.mp3": "g-q-1", "diagram.svg": "g-q-2"}


class Client(Addon):
    """The add-on behind a proxy that names its address."""

    def __init__(self, suite, user, ip):
        self.ip = ip
        super().__init__(suite, user)

    def post_json(self, path, payload, auth=True, timeout=30):
        h = {"Content-Type": "application/json", "X-Real-IP": self.ip, **self.headers(auth)}
        return requests.post(self.url(path), data=json.dumps(payload), headers=h,
                             timeout=timeout)


def make(make_suite, **apid):
    s = make_suite(extra={"": {"client_ip_header": "X-Real-IP"}, "apid": apid})
    add_user(s, "alice")
    add_user(s, "bob")
    s.alice = Client(s, "alice", "192.0.2.1")
    s.bob = Client(s, "bob", "192.0.2.2")
    basic = notetype("Basic", ["Front", "Back"])
    status, body = s.alice.create_deck(deck("Quota", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "[sound:murmur.mp3]"], guid="g-q-1"),
        note(basic, ['<img src="diagram.svg">', "x"], guid="g-q-2")]))
    assert status == 200, body
    s.hash = body["message"]
    s.db = connect(s)
    return s


def check(s, who, names):
    files = [{"hash": md5(FILES[n]), "filename": n, "note_guid": GUID_OF[n],
              "file_size": len(FILES[n])} for n in names]
    return who.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": files,
                                               "bulk_operation_id": ""})


def upload(s, who, names):
    r = check(s, who, names)
    assert r.status_code == 200, r.text
    body = r.json()
    for m in body["missing_files"]:
        assert put(who, m["upload_url"], m["filename"], FILES[m["filename"]]).status_code == 200
    r = who.post_json("/media/confirm/bulk", {"batch_id": body["batch_id"], "bulk_operation_id": "",
                                              "confirmed_files": [m["hash"] for m in
                                                                  body["missing_files"]]})
    assert (r.status_code, r.text) == (200, "Thanks for sharing!")
    return body


def quota_row(s, user):
    return rows(s.db, "SELECT storage_used, upload_count, download_count FROM user_quotas q"
                " JOIN users u ON u.id = q.user_id WHERE u.username = ?", user)


def test_user_storage(make_suite):
    s = make(make_suite, user_storage="6000")
    png, mp3 = len(FILES["heart.png"]), len(FILES["murmur.mp3"])
    assert png + mp3 > 6000 and png <= 6000
    r = check(s, s.alice, ["heart.png", "murmur.mp3"])
    assert (r.status_code, r.text) == UPLOAD_DENIED
    # Refused: no batch, no log rows, nothing counted.
    assert rows(s.db, "SELECT count(*) FROM media_upload_batches") == [(0,)]
    assert rows(s.db, "SELECT count(*) FROM media_operations_log") == [(0,)]
    assert quota_row(s, "alice") == []

    upload(s, s.alice, ["heart.png"])
    assert quota_row(s, "alice") == [(png, 1, 0)]
    r = check(s, s.alice, ["murmur.mp3"])
    assert (r.status_code, r.text) == UPLOAD_DENIED
    # A file stored already costs nothing: announcing it again is fine.
    r = check(s, s.alice, ["heart.png"])
    assert r.status_code == 200 and r.json()["missing_files"] == []
    # Storage is per user: bob has his own.
    upload(s, s.bob, ["murmur.mp3"])
    assert quota_row(s, "bob") == [(mp3, 1, 0)]
    # And it never decreases, whatever is deleted: 3000 used + 3001 new > 6000.
    s.db.execute("DELETE FROM media_references")
    big = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 12
    big = big[:6000 - png + 1]
    f = {"hash": md5(big), "filename": "big.png", "note_guid": "g-q-2", "file_size": len(big)}
    r = s.alice.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": [f]})
    assert (r.status_code, r.text) == UPLOAD_DENIED
    f["file_size"] = len(big) - 1
    r = s.alice.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": [f]})
    assert r.status_code == 200, r.text
    assert quota_row(s, "alice") == [(png, 1, 0)]


def test_uploads_per_day_user_and_address(make_suite):
    s = make(make_suite, uploads_per_day="3")
    upload(s, s.alice, ["heart.png", "murmur.mp3"])
    assert quota_row(s, "alice")[0][1] == 2
    # 2 + 1 >= 3: the next new file is refused (§9: count + n >= limit).
    r = check(s, s.alice, ["diagram.svg"])
    assert (r.status_code, r.text) == UPLOAD_DENIED
    # bob from another address may.
    r = check(s, s.bob, ["diagram.svg"])
    assert r.status_code == 200 and len(r.json()["missing_files"]) == 1
    # bob from alice's address may not: the address has used its day too.
    bob_there = Client(s, "bob", s.alice.ip)
    r = check(s, bob_there, ["diagram.svg"])
    assert (r.status_code, r.text) == UPLOAD_DENIED
    # A new UTC day: the user's counts start again (the address: from another one).
    s.db.execute("UPDATE user_quotas SET last_reset = unixepoch() - 2 * 86400")
    alice_elsewhere = Client(s, "alice", "192.0.2.9")
    r = check(s, alice_elsewhere, ["diagram.svg"])
    assert r.status_code == 200, r.text


def test_downloads_per_day_user_and_address(make_suite):
    s = make(make_suite, downloads_per_day="3")
    upload(s, s.alice, ["heart.png", "murmur.mp3", "diagram.svg"])

    def manifest(who, names):
        return who.post_json("/media/manifest", {"deck_hash": s.hash, "filenames": names})

    r = manifest(s.bob, ["heart.png", "murmur.mp3"])
    assert r.status_code == 200 and r.json()["file_count"] == 2
    assert quota_row(s, "bob") == [(0, 0, 2)]
    r = manifest(s.bob, ["diagram.svg"])
    assert (r.status_code, r.text) == DOWNLOAD_DENIED
    assert quota_row(s, "bob") == [(0, 0, 2)]
    # Names that match nothing are not downloads.
    r = manifest(s.alice, ["nothing.png"])
    assert r.status_code == 200 and r.json()["file_count"] == 0
    # bob from alice's address: his own day is used up.
    r = manifest(Client(s, "bob", s.alice.ip), ["heart.png"])
    assert (r.status_code, r.text) == DOWNLOAD_DENIED
    # carol from bob's address: the address's day is used up.
    add_user(s, "carol")
    r = manifest(Client(s, "carol", s.bob.ip), ["heart.png"])
    assert (r.status_code, r.text) == DOWNLOAD_DENIED
    r = manifest(Client(s, "carol", "192.0.2.3"), ["heart.png"])
    assert r.status_code == 200 and r.json()["file_count"] == 1
    # The limits survive a restart of apid (per user: in the database).
    s.ctl("restart", "apid")
    s.wait_running()
    r = manifest(Client(s, "bob", "192.0.2.4"), ["diagram.svg"])
    assert (r.status_code, r.text) == DOWNLOAD_DENIED


def test_defaults_allow_normal_use(make_suite):
    s = make(make_suite)
    upload(s, s.alice, ["heart.png", "murmur.mp3", "diagram.svg"])
    r = s.bob.post_json("/media/manifest", {"deck_hash": s.hash,
                                            "filenames": ["heart.png", "diagram.svg"]})
    assert r.status_code == 200 and r.json()["file_count"] == 2
