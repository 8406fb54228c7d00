"""/CreateDeckLink and /CreateNewNoteLink (spec/api.md §6.9, §6.10). Upstream
answers every refusal with 401, which logs the add-on out; here only token
faults are 401 and not being owner or maintainer is 403 "Forbidden"."""
import json

import pytest

from deckdb import (add_deck, add_maintainer, add_note, add_notetype, apid_pid, connect,
                    last_updates, login, post, rows)

SUB = "quebec-seven-ohio-lemon-sierra"
SUB2 = "quebec-seven-ohio"
BASE = "alabama-coffee-lima-yankee-mike"
BASE2 = "alabama-coffee-lima"
UNKNOWN = "zulu-zulu-zulu-zulu-zulu-zulu"

CIRCULAR = ("Circular subscription detected: the base deck (or one of its subscribed decks) "
            "already subscribes to the subscriber deck. This would create a circular dependency.")
NO_SUBSCRIPTION = ("No subscription found between the specified decks. Please create a deck "
                   "subscription first.")
NO_POLICY = ("Please check the notetypes on the Website and ensure they have the correct "
             "subscription fields set.")
NOT_UPLOADED = "Please upload the notes before linking them."


@pytest.fixture
def env(suite):
    """alice owns SUB (SUB2 below it), dave owns BASE (BASE2 below it); bob maintains
    SUB; carol is a stranger. Notes sharing GUIDs on both sides."""
    s = suite
    db = s.db = connect(s)
    s.alice, s.alice_id = login(s, db, "alice")
    s.bob, s.bob_id = login(s, db, "bob")
    s.carol, _ = login(s, db, "carol")
    s.dave, s.dave_id = login(s, db, "dave")
    s.sub = add_deck(db, s.alice_id, SUB, "Cardiology")
    s.sub2 = add_deck(db, s.alice_id, SUB2, "ECG", parent=s.sub)
    s.base = add_deck(db, s.dave_id, BASE, "Medicine")
    s.base2 = add_deck(db, s.dave_id, BASE2, "Heart", parent=s.base)
    add_maintainer(db, s.sub, s.bob_id)
    s.nt_a = add_notetype(db, s.alice_id, ["Front", "Back"])
    s.nt_p = add_notetype(db, s.alice_id, ["Front", "Back", "Extra"], protected=[2])
    s.nt_x = add_notetype(db, s.alice_id, ["Q", "A"])
    s.nt_unused = add_notetype(db, s.alice_id, ["Front", "Back"])
    nt_b = add_notetype(db, s.dave_id, ["Front", "Back"])
    nt_bp = add_notetype(db, s.dave_id, ["Front", "Back", "Extra"])
    s.n = {
        "s1": add_note(db, s.sub, s.nt_a, "g1", ["f1", "b1"], tags=["mine", "shared"]),
        "s2": add_note(db, s.sub, s.nt_p, "g2", ["f2", "b2", "x2"]),
        "s3": add_note(db, s.sub, s.nt_x, "g3", ["q3", "a3"]),
        "s4": add_note(db, s.sub, s.nt_a, "g4"),
        "s5": add_note(db, s.sub2, s.nt_a, "g5", [None, "b5"]),
        "s6": add_note(db, s.sub, s.nt_unused, "g6", deleted=1),
        "s7": add_note(db, s.sub, s.nt_a, "g7", reviewed=0),
        "b1": add_note(db, s.base, nt_b, "g1", ["F1", "B1"], tags=["shared", "base"]),
        "b2": add_note(db, s.base, nt_bp, "g2", ["F2", "B2", "X2"]),
        "b3": add_note(db, s.base, nt_b, "g3"),
        "b5": add_note(db, s.base2, nt_b, "g5"),
        "b7": add_note(db, s.base, nt_b, "g7"),
    }
    pid = apid_pid(s)
    yield s
    assert apid_pid(s) == pid, "apid restarted"
    db.close()


def deck_link(addon, sub=SUB, base=BASE):
    return addon.post_json("/CreateDeckLink", {"subscriber_deck_hash": sub, "base_deck_hash": base})


def note_link(addon, guids, sub=SUB, base=BASE):
    return addon.post_json("/CreateNewNoteLink", {"subscriber_deck_hash": sub,
                                                  "base_deck_hash": base, "note_guids": guids})


def snapshot(env):
    """Everything the link routes may write."""
    return [rows(env.db, f"SELECT * FROM {t} ORDER BY 1") for t in (
        "deck_subscriptions", "subscription_field_policy", "note_inheritance", "fields", "tags")] \
        + [last_updates(env.db), last_updates(env.db, "notes")]


# ---- shared request errors ------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/CreateDeckLink", "/CreateNewNoteLink"])
def test_request_errors(env, path):
    body = {"subscriber_deck_hash": SUB, "base_deck_hash": BASE, "note_guids": ["g1"]}
    before = snapshot(env)
    r = post(env, path, body)
    assert (r.status_code, r.text) == (401, "Missing or invalid Authorization header")
    r = post(env, path, body, headers={"Authorization": "Bearer " + "x" * 48})
    assert (r.status_code, r.text) == (401, "Invalid or expired token")
    tok = env.alice.token
    r = post(env, path, body, token=tok, ctype="text/plain")
    assert r.status_code == 415
    r = post(env, path, "{", token=tok)
    assert r.status_code == 400 and r.text.startswith("Failed to parse the request body as JSON")
    for key in ("subscriber_deck_hash", "base_deck_hash"):
        r = post(env, path, {k: v for k, v in body.items() if k != key}, token=tok)
        assert (r.status_code, r.text) == (
            422, f"Failed to deserialize the JSON body into the target type: missing field `{key}`")
        r = post(env, path, {**body, key: "white-berlin"}, token=tok)
        assert (r.status_code, r.text) == (400, "Invalid deck hash format")
    assert snapshot(env) == before


# ---- /CreateDeckLink ---------------------------------------------------------------------------

def test_deck_link(env):
    before = last_updates(env.db)
    for _ in range(2):  # an existing link is success too
        r = deck_link(env.alice)
        assert (r.status_code, r.text) == (200, "Success")
    assert rows(env.db, "SELECT subscriber_deck_id, base_deck_id FROM deck_subscriptions") == [
        (env.sub, env.base)]
    # every notetype of a live note in the subscriber subtree; NULL = all fields
    assert sorted(rows(env.db, "SELECT subscriber_deck_id, base_deck_id, notetype_id,"
                               " subscribed_fields FROM subscription_field_policy")) == sorted([
        (env.sub, env.base, env.nt_a, None),
        (env.sub, env.base, env.nt_p, "[0,1]"),
        (env.sub, env.base, env.nt_x, None)])
    assert last_updates(env.db) == before  # a deck link alone changes no pull


def test_deck_link_by_maintainer_of_an_ancestor(env):
    r = deck_link(env.bob, sub=SUB2, base=BASE2)
    assert (r.status_code, r.text) == (200, "Success")
    assert rows(env.db, "SELECT notetype_id, subscribed_fields FROM subscription_field_policy") \
        == [(env.nt_a, None)]


@pytest.mark.parametrize("who,sub,base,status,text", [
    ("carol", SUB, BASE, 403, "Forbidden"),
    ("dave", SUB, BASE, 403, "Forbidden"),           # owns the base, not the subscriber
    ("alice", UNKNOWN, BASE, 403, "Forbidden"),      # nobody owns an unknown deck
    ("alice", SUB, SUB, 422, "Cannot subscribe a deck to itself. This feature is still in "
                             "development. Please don't use it without instructions."),
    ("alice", SUB, UNKNOWN, 404, f"Base deck '{UNKNOWN}' not found"),
])
def test_deck_link_refused(env, who, sub, base, status, text):
    before = snapshot(env)
    r = deck_link(getattr(env, who), sub, base)
    assert (r.status_code, r.text) == (status, text)
    assert snapshot(env) == before
    assert getattr(env, who).post_empty("/CheckUserToken").text == "true"


def test_deck_link_circular(env):
    assert deck_link(env.alice).text == "Success"                  # SUB follows BASE
    assert deck_link(env.dave, BASE2, SUB2).text == "Success"      # BASE2 follows SUB2
    before = snapshot(env)
    r = deck_link(env.dave, BASE, SUB)
    assert (r.status_code, r.text) == (422, CIRCULAR)
    # through a chain: SUB2 → BASE2 → SUB2 would loop
    r = deck_link(env.alice, SUB2, BASE2)
    assert (r.status_code, r.text) == (422, CIRCULAR)
    assert snapshot(env) == before


# ---- /CreateNewNoteLink ------------------------------------------------------------------------

def test_note_link(env):
    assert deck_link(env.alice).text == "Success"
    n = env.n
    before_decks = last_updates(env.db)
    r = note_link(env.bob, ["g1", "g2", "g3", "g4", "g5"])
    assert r.status_code == 200
    # g3: field names differ; g4: no base note
    assert r.text == '{"linked":3,"skipped":["g3","g4"]}'
    assert sorted(rows(env.db, "SELECT subscriber_note_id, base_note_id, subscribed_fields,"
                               " removed_base_tags FROM note_inheritance")) == sorted([
        (n["s1"], n["b1"], None, "[]"), (n["s2"], n["b2"], "[0,1]", "[]"),
        (n["s5"], n["b5"], None, "[]")])
    # local copies of what is now inherited are gone
    assert rows(env.db, "SELECT content FROM tags WHERE note = ?", n["s1"]) == [("mine",)]
    assert rows(env.db, "SELECT position, content FROM fields WHERE note = ? ORDER BY position",
                n["s1"]) == [(0, "f1")]
    assert rows(env.db, "SELECT position, content FROM fields WHERE note = ? ORDER BY position",
                n["s2"]) == [(0, "f2"), (2, "x2")]
    assert rows(env.db, "SELECT position, content FROM fields WHERE note = ?", n["s5"]) == [
        (1, "b5")]
    assert rows(env.db, "SELECT count(*) FROM fields WHERE note = ?", n["s3"]) == [(2,)]
    # linked notes and their decks up to the root pull again; nothing else moves
    notes = last_updates(env.db, "notes")
    assert all(notes[n[k]] > 1.7e9 for k in ("s1", "s2", "s5"))
    assert all(notes[n[k]] == 1000.0 for k in ("s3", "s4", "b1", "b2"))
    decks = last_updates(env.db)
    assert decks[env.sub] > 1.7e9 and decks[env.sub2] > 1.7e9
    assert decks[env.base] == before_decks[env.base] and decks[env.base2] == 1000.0

    # a repeat keeps the links and counts them again
    r = note_link(env.alice, ["g4", "g1"])
    assert (r.status_code, r.text) == (200, '{"linked":1,"skipped":["g4"]}')
    assert len(rows(env.db, "SELECT * FROM note_inheritance")) == 3


def test_note_link_skips_a_loop(env):
    assert deck_link(env.alice).text == "Success"
    assert deck_link(env.dave, BASE, SUB2).text == "Success"
    assert note_link(env.alice, ["g5"]).text == '{"linked":1,"skipped":[]}'
    # b5 → s5 would close a loop with s5 → b5; guids are reported as sent
    r = note_link(env.dave, ["g5"], sub=BASE, base=SUB2)
    assert (r.status_code, r.text) == (200, '{"linked":0,"skipped":["g5"]}')


@pytest.mark.parametrize("who,sub,base,guids,status,text", [
    ("carol", SUB, BASE, ["g1"], 403, "Forbidden"),
    ("dave", SUB, BASE, ["g1"], 403, "Forbidden"),
    ("alice", SUB, UNKNOWN, ["g1"], 404, f"Deck hash {UNKNOWN} not found"),
    ("alice", SUB2, BASE, ["g5"], 422, NO_SUBSCRIPTION),
    ("alice", SUB, BASE, ["g1", "nope"], 422, NOT_UPLOADED),
    ("alice", SUB, BASE, ["g1", "g1"], 422, NOT_UPLOADED),     # duplicates count
    ("alice", SUB, BASE, [], 422, NOT_UPLOADED),
    ("alice", SUB, BASE, ["g6"], 422, NOT_UPLOADED),           # deleted
    ("alice", SUB, BASE, ["g7"], 422, NOT_UPLOADED),           # not reviewed
])
def test_note_link_refused(env, who, sub, base, guids, status, text):
    assert deck_link(env.alice).text == "Success"
    before = snapshot(env)
    r = note_link(getattr(env, who), guids, sub, base)
    assert (r.status_code, r.text) == (status, text)
    assert snapshot(env) == before


def test_note_link_needs_a_policy(env):
    assert deck_link(env.alice).text == "Success"
    env.db.execute("DELETE FROM subscription_field_policy WHERE notetype_id = ?", (env.nt_p,))
    before = snapshot(env)
    r = note_link(env.alice, ["g1", "g2"])
    assert (r.status_code, r.text) == (422, NO_POLICY)
    assert snapshot(env) == before  # g1 alone would have linked: all or nothing
    # without any base note in the request, no policy is needed
    r = note_link(env.alice, ["g4"])
    assert (r.status_code, r.text) == (200, '{"linked":0,"skipped":["g4"]}')


def test_note_link_body_shapes(env):
    assert deck_link(env.alice).text == "Success"
    prefix = "Failed to deserialize the JSON body into the target type: "
    for guids, why in ((None, "missing field `note_guids`"),
                       ("g1", "note_guids: invalid type: expected a sequence"),
                       (["g1", 5], "note_guids[1]: invalid type: expected a string")):
        body = {"subscriber_deck_hash": SUB, "base_deck_hash": BASE}
        if guids is not None:
            body["note_guids"] = guids
        r = env.alice.post_json("/CreateNewNoteLink", body)
        assert (r.status_code, r.text) == (422, prefix + why)


def test_note_link_many(env):
    """More GUIDs than one chunk of 1000."""
    assert deck_link(env.alice).text == "Success"
    nt_b = rows(env.db, "SELECT notetype FROM notes WHERE id = ?", env.n["b1"])[0][0]
    guids = [f"bulk{i:05d}" for i in range(2500)]
    env.db.execute("BEGIN")
    for i, g in enumerate(guids):
        add_note(env.db, env.sub2, env.nt_a, g)
        if i % 7:
            add_note(env.db, env.base2, nt_b, g)
    env.db.execute("COMMIT")
    r = note_link(env.alice, guids)
    assert r.status_code == 200
    body = json.loads(r.text)
    assert body["skipped"] == [g for i, g in enumerate(guids) if i % 7 == 0]
    assert body["linked"] == 2500 - len(body["skipped"])
    assert rows(env.db, "SELECT count(*) FROM note_inheritance")[0][0] == body["linked"]
