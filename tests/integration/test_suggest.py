"""Suggesting: /submitCard and /requestRemoval (spec/api.md §6.3, §6.12;
client.md §7.2), on real daemons, checked through the API and the rows."""
import base64
import gzip
import json
import os
import sqlite3
import time

import pytest

from addon import Addon, add_user, deck, note, notetype


def db(suite):
    c = sqlite3.connect(os.path.join(suite.data_dir, "ankicollab.db"), timeout=10,
                        isolation_level=None)
    return c


def q(suite, sql, *args):
    c = db(suite)
    try:
        return c.execute(sql, args).fetchall()
    finally:
        c.close()


def submit_body(remote, deck_path, new_name, d, rationale=2, text="", force=False):
    """The outer object in the add-on's key order, the deck as CrowdAnki writes it."""
    return {"remote_deck": remote, "deck_path": deck_path, "new_name": new_name,
            "deck": json.dumps(d, sort_keys=True, indent=4, ensure_ascii=False),
            "rationale": rationale, "commit_text": text, "force_overwrite": force}


def submit(addon, remote, deck_path, new_name, d, **kw):
    return addon.post_gzip("/submitCard", submit_body(remote, deck_path, new_name, d, **kw))


def utc(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


class World:
    """alice publishes "Cardiology" (two notes, a subdeck "ECG" with one); bob and carol
    are subscribers."""

    def __init__(self, suite):
        self.suite = suite
        for u in ("alice", "bob", "carol"):
            add_user(suite, u)
        self.alice = Addon(suite, "alice")
        self.bob = Addon(suite, "bob")
        self.carol = Addon(suite, "carol")
        self.model = notetype("Basic", ["Front", "Back"])
        self.n1 = note(self.model, ["Aspirin?", "COX inhibitor"], ["cardio"], guid="g-one")
        self.n2 = note(self.model, ["Heparin?", "Antithrombin"], guid="g-two")
        self.n3 = note(self.model, ["QT?", "Interval"], guid="g-ecg")
        self.ecg = deck("ECG", [self.n3])
        self.root = deck("Cardiology", [self.n1, self.n2], [self.ecg], note_models=[self.model])
        status, body = self.alice.create_deck(self.root)
        assert status == 200 and body["status"] == 1, body
        self.hash = body["message"]
        # A pull timestamp after the publish: the next whole second, once it has passed.
        t = int(time.time()) + 1
        while time.time() < t + 0.01:
            time.sleep(0.05)
        self.t0 = utc(t)

    def suggestion(self, notes, children=(), models=None):
        """The deck the add-on sends: only the suggested notes, with the root's models."""
        return deck("Cardiology", notes, children,
                    note_models=[self.model] if models is None else models)


@pytest.fixture
def world(suite):
    return World(suite)


def test_edit_tags_and_new_note_become_one_pending_commit(world):
    s = world.suite
    edited = dict(world.n1, fields=["Aspirin?", "Irreversible COX inhibitor"],
                  tags=["cardio", "pharm"])
    new = note(world.model, ["Warfarin?", "Vitamin K antagonist"], ["pharm"], guid="g-new")
    before = q(s, "SELECT last_update FROM decks ORDER BY id")
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology",
               world.suggestion([edited, new]), rationale=5, text="<b>typo</b> fix")
    assert (r.status_code, r.text) == (200, "Success")

    [(cid, rationale, info, user)] = q(
        s, "SELECT commit_id, rationale, info, (SELECT username FROM users WHERE id = user_id)"
        " FROM commits WHERE rationale <> 1")
    assert (rationale, info, user) == (5, "<b>typo</b> fix", "bob")
    # The edit: one unreviewed row at position 1; the reviewed one is untouched.
    assert q(s, "SELECT f.position, f.content, f.reviewed FROM fields f JOIN notes n"
             " ON n.id = f.note WHERE n.guid = 'g-one' ORDER BY f.reviewed, f.position") == [
        (1, "Irreversible COX inhibitor", 0), (0, "Aspirin?", 1), (1, "COX inhibitor", 1)]
    assert q(s, "SELECT t.content, t.action, t.reviewed, t.commit_id FROM tags t JOIN notes n"
             " ON n.id = t.note WHERE n.guid = 'g-one' AND t.reviewed = 0") == [
        ("pharm", 1, 0, cid)]
    # The new note is pending, with its fields and tag under the same commit.
    assert q(s, "SELECT reviewed FROM notes WHERE guid = 'g-new'") == [(0,)]
    assert q(s, "SELECT count(*), min(commit_id) FROM fields f JOIN notes n ON n.id = f.note"
             " WHERE n.guid = 'g-new'") == [(2, cid)]
    # Suggestions move no timestamp: a pull sees nothing new.
    assert q(s, "SELECT last_update FROM decks ORDER BY id") == before
    assert world.bob.pull({world.hash: world.t0}) == []

    # The same suggestion again adds nothing (identical pending rows exist).
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology", world.suggestion([edited]))
    assert r.status_code == 200
    assert q(s, "SELECT count(*) FROM fields WHERE reviewed = 0") == [(3,)]


def test_anonymous_suggestion_and_removal(world):
    s = world.suite
    anon = Addon(s)
    edited = dict(world.n2, fields=["Heparin?", "Antithrombin III"])
    r = submit(anon, world.hash, "Cardiology", "Cardiology", world.suggestion([edited]))
    assert (r.status_code, r.text) == (200, "Success")
    assert q(s, "SELECT user_id FROM commits WHERE rationale = 2") == [(None,)]

    r = anon.post_json("/requestRemoval", {"remote_deck": world.hash,
                                           "note_guids": ["g-two", "g-ecg", "nope"],
                                           "commit_text": "dup", "force_overwrite": False},
                       auth=False)
    assert (r.status_code, r.text) == (200, "Success")
    rows = q(s, "SELECT n.guid, c.rationale, c.info, d.human_hash FROM card_deletion_suggestions"
             " x JOIN notes n ON n.id = x.note JOIN commits c ON c.commit_id = x.commit_id"
             " JOIN decks d ON d.id = c.deck ORDER BY n.guid")
    assert rows == [("g-ecg", 11, "dup", world.hash), ("g-two", 11, "dup", world.hash)]
    # One pending request per note: asking again adds none.
    r = world.bob.post_json("/requestRemoval", {"remote_deck": world.hash,
                                                "note_guids": ["g-two"], "commit_text": "",
                                                "force_overwrite": True})
    assert r.status_code == 200
    assert q(s, "SELECT count(*) FROM card_deletion_suggestions") == [(2,)]
    # force_overwrite does not delete (§6.12): nothing is deleted yet.
    assert q(s, "SELECT count(*) FROM notes WHERE deleted = 1") == [(0,)]


def test_request_removal_errors(world):
    b = world.bob
    r = b.post_json("/requestRemoval", {"remote_deck": "Not a hash", "note_guids": ["x"],
                                        "commit_text": "", "force_overwrite": False})
    assert (r.status_code, r.text) == (400, "Invalid deck hash format")
    r = b.post_json("/requestRemoval", {"remote_deck": world.hash, "note_guids": [],
                                        "commit_text": "", "force_overwrite": False})
    assert (r.status_code, r.text) == (400, "No notes provided")
    r = b.post_json("/requestRemoval", {"remote_deck": "alpha-bravo-charlie-delta-echo",
                                        "note_guids": ["g-one"], "commit_text": "",
                                        "force_overwrite": False})
    assert (r.status_code, r.text) == (404, "Could not create removal request.")
    r = b.post_json("/requestRemoval", {"remote_deck": world.hash, "note_guids": ["g-one"]})
    assert r.status_code == 422
    assert q(world.suite, "SELECT count(*) FROM card_deletion_suggestions") == [(0,)]


def test_force_overwrite_by_owner_applies_and_subscribers_pull_it(world):
    s = world.suite
    edited = dict(world.n1, fields=["Aspirin?", "COX-1 and COX-2"], tags=["pharm"])
    new = note(world.model, ["Clopidogrel?", "P2Y12"], guid="g-clop")
    r = submit(world.alice, world.hash, "Cardiology", "Cardiology",
               world.suggestion([edited, new]), rationale=10, force=True)
    assert (r.status_code, r.text) == (200, "Success")
    assert q(s, "SELECT count(*) FROM fields WHERE reviewed = 0") == [(0,)]
    assert q(s, "SELECT count(*) FROM tags WHERE reviewed = 0") == [(0,)]
    # No notification to oneself.
    assert q(s, "SELECT count(*) FROM notifications") == [(0,)]
    [res] = world.bob.pull({world.hash: world.t0})
    got = {n["guid"]: (n["fields"], sorted(n["tags"])) for n in res["deck"]["notes"]}
    assert got == {"g-one": (["Aspirin?", "COX-1 and COX-2"], ["pharm"]),
                   "g-clop": (["Clopidogrel?", "P2Y12"], [])}
    assert res["deck"]["children"] == []   # ECG was not touched
    # The timestamp clients compare moved too.
    assert float(world.bob.get(f"/GetDeckTimestamp/{world.hash}").text) > time.time() - 60


def test_force_overwrite_in_a_subdeck_bumps_every_ancestor(world):
    s = world.suite
    edited = dict(world.n3, fields=["QT interval?", "Interval"])
    sub = deck("ECG", [edited], note_models=[world.model])
    r = submit(world.alice, world.hash, "Cardiology::ECG", "Cardiology", sub, rationale=10,
               force=True)
    assert (r.status_code, r.text) == (200, "Success")
    [res] = world.carol.pull({world.hash: world.t0})
    assert res["deck"]["notes"] == []
    [child] = res["deck"]["children"]
    assert [n["fields"] for n in child["notes"]] == [["QT interval?", "Interval"]]


def test_force_overwrite_needs_owner_or_maintainer(world):
    s = world.suite
    edited = dict(world.n1, fields=["Aspirin?", "forced"])
    r = submit(world.carol, world.hash, "Cardiology", "Cardiology", world.suggestion([edited]),
               force=True)
    assert r.status_code == 200
    assert q(s, "SELECT count(*) FROM fields WHERE reviewed = 0") == [(1,)]
    assert world.bob.pull({world.hash: world.t0}) == []
    # A maintainer may.
    world.suite.ctl("maintainer", "add", world.hash, "carol")
    edited = dict(world.n2, fields=["Heparin?", "forced by maintainer"])
    r = submit(world.carol, world.hash, "Cardiology", "Cardiology", world.suggestion([edited]),
               force=True)
    assert r.status_code == 200
    [res] = world.bob.pull({world.hash: world.t0})
    assert [n["fields"] for n in res["deck"]["notes"]] == [["Heparin?", "forced by maintainer"]]


def test_new_subdeck(world):
    s = world.suite
    n = note(world.model, ["Digoxin?", "Na/K ATPase"], guid="g-dig")
    sub = deck("Drugs (AnkiCollab)", [n])
    r = submit(world.bob, world.hash, "Cardiology (AnkiCollab)", "Cardiology",
               world.suggestion([], [sub]), rationale=9)
    assert (r.status_code, r.text) == (200, "Success")
    [(path, owner, parent)] = q(s, "SELECT d.full_path, u.username, p.human_hash FROM decks d"
                                " JOIN users u ON u.id = d.owner JOIN decks p ON p.id = d.parent"
                                " WHERE d.name = 'Drugs'")
    assert (path, owner, parent) == ("Cardiology::Drugs", "alice", world.hash)
    assert q(s, "SELECT n.reviewed, d.name FROM notes n JOIN decks d ON d.id = n.deck"
             " WHERE guid = 'g-dig'") == [(0, "Drugs")]
    # With subdecks restricted, the add-on's sentinel.
    q(s, "UPDATE decks SET restrict_subdecks = 1")
    sub = deck("Other", [note(world.model, ["a", "b"])])
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology", world.suggestion([], [sub]))
    assert (r.status_code, r.text) == (422, "Subdecks are not allowed")


def test_moving_a_note_is_a_suggestion(world):
    s = world.suite
    moved = dict(world.n3)
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology", world.suggestion([moved]))
    assert r.status_code == 200
    assert q(s, "SELECT o.name, t.name FROM note_move_suggestions m JOIN decks o"
             " ON o.id = m.original_deck JOIN decks t ON t.id = m.target_deck") == [
        ("ECG", "Cardiology")]


def test_notetype_error_sentinel(world):
    other = notetype("Basic (other)", ["Front", "Back", "Extra"])
    n = note(other, ["a", "b", "c"])
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology",
               world.suggestion([n], models=[world.model, other]))
    assert r.status_code == 422
    assert r.text == "Notetype Error: " + other["crowdanki_uuid"]
    assert "Notetype Error: " in r.text
    assert q(world.suite, "SELECT count(*) FROM commits WHERE rationale <> 1") == [(0,)]
    # Same notetype under another uuid: matched by structure, accepted.
    twin = dict(world.model, crowdanki_uuid="00000000-0000-4000-8000-000000000001")
    n = note(twin, ["x", "y"], guid="g-twin")
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology", world.suggestion([n], models=[twin]))
    assert (r.status_code, r.text) == (200, "Success")


def test_bad_input_gets_a_clear_status(world):
    b = world.bob
    url = b.url("/submitCard")
    import requests
    hdr = {"Content-Type": "text/plain", **b.headers()}

    def raw(body):
        return requests.post(url, data=body, headers=hdr, timeout=30)

    def gz(text):
        return base64.b64encode(gzip.compress(text.encode()))

    assert (raw(b"not base64 at all!").status_code, raw(b"!!").text) == (400, "Invalid data")
    r = raw(gz('{"remote_deck": "x", '))
    assert (r.status_code, r.text) == (400, "Invalid data")
    r = raw(gz('[1, 2]'))
    assert (r.status_code, r.text) == (400, "Invalid data")
    body = submit_body(world.hash, "Cardiology", "Cardiology", world.suggestion([]))
    del body["force_overwrite"]
    r = raw(gz(json.dumps(body)))
    assert (r.status_code, r.text) == (400, "Invalid data")
    body = submit_body(world.hash, "Cardiology", "Cardiology", world.suggestion([]))
    body["rationale"] = "two"
    assert raw(gz(json.dumps(body))).text == "Invalid data"
    r = submit(b, "Not-A-Hash!", "Cardiology", "Cardiology", world.suggestion([]))
    assert (r.status_code, r.text) == (400, "Invalid deck hash format")
    body = submit_body(world.hash, "Cardiology", "Cardiology", world.suggestion([]))
    body["deck"] = '{"name": "Cardiology", "children": [}'
    r = raw(gz(json.dumps(body)))
    assert (r.status_code, r.text) == (400, "Invalid deck data")
    bad = world.suggestion([{"guid": "x", "fields": ["a"]}])   # no id, no model
    r = submit(b, world.hash, "Cardiology", "Cardiology", bad)
    assert (r.status_code, r.text) == (400, "Invalid deck data")
    r = submit(b, "alpha-bravo-charlie-delta-echo", "Cardiology", "Cardiology",
               world.suggestion([]))
    assert (r.status_code, r.text) == (404, "Invalid Deck Name")
    r = submit(b, world.hash, " (AnkiCollab)", "x", world.suggestion([]))
    assert (r.status_code, r.text) == (422, "Invalid Deck Name")
    r = submit(b, world.hash, "Elsewhere::Deep::Down", "x", world.suggestion([]))
    assert r.status_code == 422 and r.text.startswith("Deck not found.")
    empty = dict(world.n1, fields=["", " "])
    r = submit(b, world.hash, "Cardiology", "Cardiology", world.suggestion([empty]))
    assert (r.status_code, r.text) == (
        422, "All fields are empty; refusing to apply an empty update")
    # None of it left a commit or a row behind, and apid is fine.
    assert q(world.suite, "SELECT count(*) FROM commits WHERE rationale <> 1") == [(0,)]
    assert b.get("/health").status_code == 200


def test_failure_after_many_windows_leaves_nothing(world):
    """The deck is read a window at a time, each in its own transaction: a note
    refused near the end still takes back every row written before it."""
    s = world.suite
    notes_before = q(s, "SELECT count(*) FROM notes")
    many = [note(world.model, [f"new {i} " + "x" * 1000, "back"], ["t"], guid=f"many{i}")
            for i in range(300)]
    sub = deck("Brand new", [note(world.model, ["a", "b"], guid="in-new-deck")])
    bad = dict(world.n1, fields=["", ""])
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology",
               world.suggestion(many + [bad], [sub]))
    assert (r.status_code, r.text) == (
        422, "All fields are empty; refusing to apply an empty update")
    assert q(s, "SELECT count(*) FROM notes") == notes_before
    assert q(s, "SELECT count(*) FROM commits WHERE rationale <> 1") == [(0,)]
    assert q(s, "SELECT count(*) FROM fields WHERE reviewed = 0") == [(0,)]
    assert q(s, "SELECT count(*) FROM decks WHERE name = 'Brand new'") == [(0,)]
    # The same without the bad note goes through, and is listed for review.
    r = submit(world.bob, world.hash, "Cardiology", "Cardiology", world.suggestion(many, [sub]))
    assert (r.status_code, r.text) == (200, "Success")
    [c] = json.loads(s.ctl("review", "list", world.hash, "--json").stdout)
    assert len(c["guids"]) == 200 and c["more_guids"] == 101
