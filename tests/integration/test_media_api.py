"""The add-on's media routes (spec/api.md §6.24–§6.26, §6.28, §7), end to end as the
add-on runs them (client.md §2.5, §4.4, §4.5, §7.4): publish a deck whose notes reference
images, an SVG and an MP3; /media/check/bulk; PUT each missing file to the returned
upload_url; /media/confirm/bulk; a second user downloads through /media/manifest.
While mediad is stopped the media routes answer 503 with Retry-After and the rest of
apid still works."""
import base64
import hashlib
import random

import pytest
import requests

from addon import Addon, add_user, deck, note, notetype
from deckdb import add_note, connect, rows

TYPES = {"png": "image/png", "svg": "image/svg+xml", "mp3": "audio/mpeg", "jpg": "image/jpeg"}


def blob(kind, size, seed):
    rnd = random.Random(seed).randbytes(size)
    if kind == "svg":
        return (b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="%d"/></svg>' % seed)
    head = {"png": b"\x89PNG\r\n\x1a\n", "mp3": b"ID3\x03\x00", "jpg": b"\xff\xd8\xff\xe0"}[kind]
    return head + rnd[len(head):]


FILES = {
    "heart.png": blob("png", 3000, 1),
    "diagram.svg": blob("svg", 0, 2),
    "murmur.mp3": blob("mp3", 5000, 3),
    "never uploaded.jpg": blob("jpg", 1000, 4),
}


def md5(data):
    return hashlib.md5(data).hexdigest()


def put(addon, url, name, data):
    """As the add-on uploads (client.md §2.5)."""
    h = {"Authorization": f"Bearer {addon.token}",
         "Content-Type": TYPES[name.rsplit(".", 1)[1]],
         "Content-MD5": base64.b64encode(hashlib.md5(data).digest()).decode()}
    return requests.put(url, data=data, headers=h, timeout=60)


@pytest.fixture
def env(suite):
    s = suite
    add_user(s, "alice")
    add_user(s, "bob")
    s.alice = Addon(s, "alice")
    s.bob = Addon(s, "bob")
    basic = notetype("Basic", ["Front", "Back"])
    s.guids = {"n1": "g-media-1", "n2": "g-media-2", "n3": "g-media-3"}
    d = deck("Cardiology", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "[sound:murmur.mp3]"], guid="g-media-1"),
        note(basic, ["<img src='diagram.svg'>", '<img src="https://x.org/a.png">'],
             guid="g-media-2"),
        note(basic, ['<p>x<img alt="y" SRC="never uploaded.jpg"></p>', "[sound:x"],
             guid="g-media-3"),
    ])
    status, body = s.alice.create_deck(d)
    assert status == 200, body
    s.hash, s.op = body["message"], body["bulk_operation_id"]
    s.db = connect(s)
    return s


def announce(s, names, guid_of, op="", data=FILES):
    files = [{"hash": md5(data[n]), "filename": n, "note_guid": guid_of[n],
              "file_size": len(data[n])} for n in names]
    return s.alice.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": files,
                                                   "bulk_operation_id": op})


GUID_OF = {"heart.png": "g-media-1", "murmur.mp3": "g-media-1", "diagram.svg": "g-media-2",
           "never uploaded.jpg": "g-media-3"}
UPLOADED = ["heart.png", "diagram.svg", "murmur.mp3"]


def upload_all(s):
    r = announce(s, UPLOADED, GUID_OF, s.op)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"existing_files", "missing_files", "failed_files", "batch_id"}
    assert body["existing_files"] == [] and body["failed_files"] == []
    assert len(body["batch_id"]) == 36
    missing = body["missing_files"]
    assert [m["filename"] for m in missing] == UPLOADED
    for m in missing:
        assert set(m) == {"hash", "note_id", "filename", "file_size", "upload_url"}
        assert m["upload_url"].startswith(s.url("mediad", f"/v1/media/{m['hash']}?token="))
        assert m["note_id"] > 0 and m["file_size"] == len(FILES[m["filename"]])
        r = put(s.alice, m["upload_url"], m["filename"], FILES[m["filename"]])
        assert r.status_code == 200, r.text
    confirm = {"batch_id": body["batch_id"], "confirmed_files": [m["hash"] for m in missing],
               "bulk_operation_id": s.op}
    r = s.alice.post_json("/media/confirm/bulk", confirm)
    assert (r.status_code, r.text) == (200, "Thanks for sharing!")
    return body, confirm


def test_upload_and_download(env):
    s = env
    r = s.bob.get(f"/media/missing/{s.hash}", auth=True)
    assert r.status_code == 200 and sorted(r.json()) == sorted(FILES)

    body, confirm = upload_all(s)
    assert len(rows(s.db, "SELECT * FROM media_files")) == 3
    assert len(rows(s.db, "SELECT * FROM media_references")) == 3
    assert rows(s.db, "SELECT count(*) FROM media_upload_batches") == [(0,)]

    # The add-on resends: harmless.
    r = s.alice.post_json("/media/confirm/bulk", confirm)
    assert (r.status_code, r.text) == (200, "Thanks for sharing!")
    assert len(rows(s.db, "SELECT * FROM media_references")) == 3

    # Only what was never uploaded is still missing.
    r = s.bob.get(f"/media/missing/{s.hash}", auth=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain")
    assert r.json() == ["never uploaded.jpg"]

    # A second user downloads byte for byte.
    r = s.bob.post_json("/media/manifest", {"deck_hash": s.hash,
                                            "filenames": list(FILES) + ["other.png"]})
    assert r.status_code == 200, r.text
    man = r.json()
    assert man["file_count"] == 3 and man["expires_at"].endswith("+00:00")
    assert sorted(f["filename"] for f in man["files"]) == sorted(UPLOADED)
    for f in man["files"]:
        g = requests.get(f["download_url"], headers={"Authorization": f"Bearer {s.bob.token}"},
                         timeout=30)
        assert g.status_code == 200 and g.content == FILES[f["filename"]]

    # Announced again: all stored, referenced already, no batch.
    r = announce(s, UPLOADED, GUID_OF)
    assert r.status_code == 200
    again = r.json()
    assert again["missing_files"] == [] and again["batch_id"] is None
    ids = dict(rows(s.db, "SELECT hash, id FROM media_files"))
    assert again["existing_files"] == [{"hash": md5(FILES[n]), "media_id": ids[md5(FILES[n])]}
                                       for n in UPLOADED]


def test_check_refusals(env):
    s = env
    post = s.alice.post_json
    assert (post("/media/check/bulk", {"deck_hash": s.hash, "files": []}).text
            == "No files provided")
    f = {"hash": "0" * 32, "filename": "a.png", "note_guid": "g-media-1", "file_size": 10}
    r = post("/media/check/bulk", {"deck_hash": s.hash, "files": [f] * 101})
    assert (r.status_code, r.text) == (400, "Too many files in single request")
    bad = [dict(f, filename="../x.png"), dict(f, hash="A" * 32), dict(f, filename="x.exe"),
           dict(f, note_guid="nope"), dict(f, file_size=0), dict(f, file_size=10485761)]
    r = post("/media/check/bulk", {"deck_hash": s.hash, "files": bad})
    assert r.status_code == 200
    assert r.json() == {"existing_files": [], "missing_files": [], "failed_files": bad,
                        "batch_id": None}
    r = post("/media/check/bulk", {"deck_hash": s.hash, "files": [f]}, auth=False)
    assert r.status_code == 401
    r = post("/media/manifest", {"deck_hash": s.hash, "filenames": []})
    assert (r.status_code, r.text) == (400, "No filenames provided")
    r = post("/media/manifest", {"deck_hash": s.hash, "filenames": ["a.png"] * 501})
    assert (r.status_code, r.text) == (429, "Too many files requested.")
    assert s.alice.get("/media/missing/Bad_Hash", auth=True).text == "Invalid deck hash format"


def test_storage_cap(make_suite):
    s = make_suite(extra={"apid": {"max_storage": "1000"}})
    add_user(s, "alice")
    alice = Addon(s, "alice")
    basic = notetype("Basic", ["Front", "Back"])
    status, body = alice.create_deck(deck("Big", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "b"], guid="g-big")]))
    assert status == 200, body
    f = {"hash": md5(FILES["heart.png"]), "filename": "heart.png", "note_guid": "g-big",
         "file_size": 3000}
    r = alice.post_json("/media/check/bulk", {"deck_hash": body["message"], "files": [f]})
    assert (r.status_code, r.text) == (
        429, "You reached the upload limit. Please try again tomorrow.")


def test_mediad_down(env):
    s = env
    s.ctl("stop", "mediad")
    f = {"hash": md5(FILES["heart.png"]), "filename": "heart.png", "note_guid": "g-media-1",
         "file_size": 3000}
    for r in (s.alice.post_json("/media/check/bulk", {"deck_hash": s.hash, "files": [f]}),
              s.alice.post_json("/media/manifest", {"deck_hash": s.hash,
                                                    "filenames": ["heart.png"]}),
              s.alice.get(f"/media/missing/{s.hash}", auth=True)):
        assert r.status_code == 503 and r.headers["Retry-After"].isdigit()
    assert s.bob.pull({s.hash: "2022-12-31 23:59:59"})


def test_placeholder_and_inheritance(env):
    """§7.6: a GUID of a live bulk operation whose note is not in yet resolves to -1 and is
    mapped to its note at confirmation; §6.24 step 4: a name in an inherited field is
    owned by the base note."""
    s = env
    db = s.db
    deck_id, nt = rows(db, "SELECT deck, notetype FROM notes WHERE guid = 'g-media-1'")[0]
    op = "11111111-2222-4333-8444-555555555555"
    db.execute("INSERT INTO bulk_operations (id, deck_hash, user_id, created_at)"
               " VALUES (?, ?, NULL, unixepoch())", (op, s.hash))
    db.execute("INSERT INTO bulk_operation_guids (op_id, guid) VALUES (?, 'g-late')", (op,))
    late = blob("png", 2000, 9)
    data = {"late.png": late, "base.png": blob("png", 1500, 10)}
    r = announce(s, ["late.png"], {"late.png": "g-late"}, op, data)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(m["filename"], m["note_id"]) for m in body["missing_files"]] == [("late.png", -1)]
    assert put(s.alice, body["missing_files"][0]["upload_url"], "late.png", late).status_code == 200
    # An unknown operation does not make placeholders.
    r = announce(s, ["late.png"], {"late.png": "g-late"}, "99999999-2222-4333-8444-555555555555",
                 data)
    assert r.json()["failed_files"][0]["filename"] == "late.png"

    nid = add_note(db, deck_id, nt, "g-late", ['<b>x</b><img src="late.png">', "b"])
    r = s.alice.post_json("/media/confirm/bulk", {"batch_id": body["batch_id"],
                                                  "confirmed_files": [md5(late)],
                                                  "bulk_operation_id": op})
    assert (r.status_code, r.text) == (200, "Thanks for sharing!")
    assert rows(db, "SELECT r.note_id, r.file_name FROM media_references r"
                    " JOIN media_files m ON m.id = r.media_id WHERE m.hash = ?",
                md5(late)) == [(nid, "late.png")]

    # Inheritance: g-media-2 inherits field 1 from a base note naming base.png.
    sub = rows(db, "SELECT id FROM notes WHERE guid = 'g-media-2'")[0][0]
    base = add_note(db, deck_id, nt, "g-base", ["q", '<img src="base.png">'])
    db.execute("INSERT INTO note_inheritance (subscriber_note_id, base_note_id,"
               " subscribed_fields) VALUES (?, ?, '[1]')", (sub, base))
    r = announce(s, ["base.png"], {"base.png": "g-media-2"}, "", data)
    assert [m["note_id"] for m in r.json()["missing_files"]] == [base]


def test_existing_file_referenced_at_once(env):
    """§6.24 step 4: a stored file announced for another deck's note is referenced at
    once, with no upload, and that deck's manifest serves it."""
    s = env
    upload_all(s)
    basic = notetype("Basic", ["Front", "Back"])
    status, body = s.bob.create_deck(deck("Bob's", note_models=[basic], notes=[
        note(basic, ['<img src="heart.png">', "b"], guid="g-bob")]))
    assert status == 200, body
    f = {"hash": md5(FILES["heart.png"]), "filename": "heart.png", "note_guid": "g-bob",
         "file_size": len(FILES["heart.png"])}
    r = s.bob.post_json("/media/check/bulk", {"deck_hash": body["message"], "files": [f]})
    assert r.status_code == 200, r.text
    assert r.json()["missing_files"] == [] and len(r.json()["existing_files"]) == 1
    assert s.bob.get(f"/media/missing/{body['message']}", auth=True).json() == []
    r = s.alice.post_json("/media/manifest", {"deck_hash": body["message"],
                                              "filenames": ["heart.png", "murmur.mp3"]})
    assert [x["filename"] for x in r.json()["files"]] == ["heart.png"]
