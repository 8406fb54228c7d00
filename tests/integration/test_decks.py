"""/AddSubscription, /RemoveSubscription, /submitChangelog, /resolveNoteForReview
(spec/api.md §6.5, §6.6, §6.8, §6.18) against the real suite; decks are written
straight into the database. DESIGN.md: permission failures are 403, not 401."""
import pytest

from deckdb import (add_deck, add_maintainer, add_note, add_notetype, apid_pid, connect,
                    last_updates, login, post, rows, user_hash)

ROOT = "white-berlin-nineteen-white-lima-hot"
CHILD = "august-yankee-lima-coffee-pip-hot"
OTHER = "red-robin-seven-kilo-lake-fish"
WEBSITE = "http://127.0.0.1:9/site/"


@pytest.fixture
def env(make_suite):
    """alice owns ROOT (with CHILD under it); bob is logged in and owns nothing."""
    s = make_suite(extra={"": {"website_base_url": WEBSITE}})
    conn = connect(s)
    s.alice, s.alice_id = login(s, conn, "alice")
    s.bob, s.bob_id = login(s, conn, "bob")
    s.root = add_deck(conn, s.alice_id, ROOT, "Pharmacology")
    s.child = add_deck(conn, s.alice_id, CHILD, "Antibiotics", parent=s.root)
    s.db = conn
    pid = apid_pid(s)
    yield s
    assert apid_pid(s) == pid, "apid restarted"
    conn.close()


# ---- shared request errors ------------------------------------------------------------

AUTH_ROUTES = ["/AddSubscription", "/RemoveSubscription", "/submitChangelog"]


@pytest.mark.parametrize("path", AUTH_ROUTES)
@pytest.mark.parametrize("headers,text", [
    ({}, "Missing or invalid Authorization header"),
    ({"Authorization": "Bearer "}, "Malformed token"),
    ({"Authorization": "Bearer " + "a" * 48}, "Invalid or expired token"),
])
def test_token_faults_are_401(env, path, headers, text):
    r = post(env, path, {"deck_hash": ROOT, "changelog": "x"}, ctype="application/json",
             headers=headers)
    assert (r.status_code, r.text) == (401, text)
    assert rows(env.db, "SELECT count(*) FROM subscriptions")[0][0] == 0
    assert rows(env.db, "SELECT count(*) FROM changelogs")[0][0] == 0


@pytest.mark.parametrize("path", AUTH_ROUTES + ["/resolveNoteForReview"])
def test_body_errors(env, path):
    tok = env.alice.token
    r = post(env, path, {"deck_hash": ROOT}, token=tok, ctype="text/plain")
    assert (r.status_code, r.text) == (415, "Expected request with `Content-Type: application/json`")
    r = post(env, path, '{"deck_hash": ', token=tok)
    assert r.status_code == 400 and r.text.startswith("Failed to parse the request body as JSON: ")
    r = post(env, path, {}, token=tok)
    assert (r.status_code, r.text) == (
        422, "Failed to deserialize the JSON body into the target type: missing field `deck_hash`")
    r = post(env, path, {"deck_hash": 5, "changelog": "x", "guid": "g"}, token=tok)
    assert r.status_code == 422
    assert r.text.startswith("Failed to deserialize the JSON body into the target type: deck_hash")
    r = post(env, path, [ROOT], token=tok)
    assert r.status_code == 422


@pytest.mark.parametrize("path", AUTH_ROUTES + ["/resolveNoteForReview"])
@pytest.mark.parametrize("bad", ["white-berlin", "white-berlin-nineteen-white",
                                 "white-berlin-9ineteen", "white--berlin", "", "a-b-c-d-e-f-g"])
def test_invalid_deck_hash(env, path, bad):
    r = post(env, path, {"deck_hash": bad, "changelog": "x", "guid": "g"},
             token=env.alice.token)
    assert (r.status_code, r.text) == (400, "Invalid deck hash format")


# ---- /AddSubscription, /RemoveSubscription -----------------------------------------------

def test_subscription_counter(env):
    before = last_updates(env.db)
    for _ in range(2):  # a repeat changes nothing
        r = env.bob.post_json("/AddSubscription", {"deck_hash": ROOT})
        assert (r.status_code, r.text) == (200, "()")
    assert rows(env.db, "SELECT user_hash, deck_id FROM subscriptions") == [
        (user_hash("bob"), env.root)]
    r = env.alice.post_json("/AddSubscription", {"deck_hash": CHILD, "extra": [1]})
    assert (r.status_code, r.text) == (200, "()")
    assert len(rows(env.db, "SELECT id FROM subscriptions")) == 2

    for _ in range(2):  # "()" also when there was nothing to delete
        r = env.bob.post_json("/RemoveSubscription", {"deck_hash": ROOT})
        assert (r.status_code, r.text) == (200, "()")
    assert rows(env.db, "SELECT user_hash, deck_id FROM subscriptions") == [
        (user_hash("alice"), env.child)]
    assert last_updates(env.db) == before  # §6.1: subscriptions do not move last_update


def test_subscription_unknown_deck(env):
    r = env.bob.post_json("/AddSubscription", {"deck_hash": OTHER})
    assert (r.status_code, r.text) == (422, "Could not add subscription")
    r = env.bob.post_json("/RemoveSubscription", {"deck_hash": OTHER})
    assert (r.status_code, r.text) == (404, "Subscription not found")
    # legacy 3- and 5-word hashes are valid; an unknown one is just unknown
    r = env.bob.post_json("/AddSubscription", {"deck_hash": "Sunny-Tiger-Ocean"})
    assert (r.status_code, r.text) == (422, "Could not add subscription")
    assert rows(env.db, "SELECT count(*) FROM subscriptions")[0][0] == 0


# ---- /submitChangelog ---------------------------------------------------------------------

def test_changelog_by_owner(env):
    before = last_updates(env.db)
    r = env.alice.post_json("/submitChangelog", {
        "deck_hash": ROOT, "changelog": "Fixed <b>12</b> typos<script>alert(1)</script>"})
    assert (r.status_code, r.text) == (200, "Changelog published successfully!")
    (deck, message, ts), = rows(env.db, "SELECT deck, message, timestamp FROM changelogs")
    assert deck == env.root
    assert message == "Fixed <b>12</b> typos"  # cleaned (§3.6)
    assert ts > 1.7e9
    r = env.alice.post_json("/submitChangelog", {"deck_hash": ROOT, "changelog": "plain & <text"})
    assert r.status_code == 200
    assert rows(env.db, "SELECT message FROM changelogs ORDER BY id")[-1] == ("plain & <text",)
    assert last_updates(env.db) == before  # §6.1: changelogs do not move last_update


def test_changelog_by_maintainer_of_an_ancestor(env):
    add_maintainer(env.db, env.root, env.bob_id)
    r = env.bob.post_json("/submitChangelog", {"deck_hash": CHILD, "changelog": "New chapter"})
    assert (r.status_code, r.text) == (200, "Changelog published successfully!")
    assert rows(env.db, "SELECT deck, message FROM changelogs") == [(env.child, "New chapter")]


@pytest.mark.parametrize("deck", [ROOT, CHILD, OTHER])
def test_changelog_refused_is_403(env, deck):
    # bob maintains a grandchild: that gives nothing above it; OTHER is unknown
    grandchild = add_deck(env.db, env.alice_id, "pip-pip-pip", "Deep", parent=env.child)
    add_maintainer(env.db, grandchild, env.bob_id)
    r = env.bob.post_json("/submitChangelog", {"deck_hash": deck, "changelog": "hijack"})
    assert (r.status_code, r.text) == (
        403, "You are not authorized to add a changelog message to this deck")
    assert rows(env.db, "SELECT count(*) FROM changelogs")[0][0] == 0
    # still logged in: a 403 is not a token fault
    assert env.bob.post_empty("/CheckUserToken").text == "true"


# ---- /resolveNoteForReview ------------------------------------------------------------------

def resolve(env, body):
    return post(env, "/resolveNoteForReview", body, allow_redirects=False)


def test_resolve_note_for_review(env):
    nt = add_notetype(env.db, env.alice_id, ["Front", "Back"])
    add_note(env.db, env.child, nt, "gone#1", deleted=1)  # older, but deleted
    other_tree = add_deck(env.db, env.alice_id, OTHER, "Other")
    add_note(env.db, other_tree, nt, "elsewhere")
    grandchild = add_deck(env.db, env.alice_id, "pip-pip-pip", "Deep", parent=env.child)
    live = add_note(env.db, grandchild, nt, "gone#1")
    add_note(env.db, env.root, nt, "gone#1")  # also live, but newer: the first one wins
    r = resolve(env, {"deck_hash": ROOT, "guid": "gone#1"})  # no token needed
    assert r.status_code == 303
    assert r.headers["Location"] == f"http://127.0.0.1:9/site/review/{live}"
    assert r.content == b""
    r = resolve(env, {"deck_hash": CHILD, "guid": "gone#1"})
    assert (r.status_code, r.headers["Location"]) == (303, f"http://127.0.0.1:9/site/review/{live}")

    for body in ({"deck_hash": ROOT, "guid": "elsewhere"},   # another tree
                 {"deck_hash": ROOT, "guid": "nope"},
                 {"deck_hash": "pip-pip-pip", "guid": "elsewhere"},
                 {"deck_hash": "yankee-yankee-yankee", "guid": "gone#1"}):  # unknown deck
        r = resolve(env, body)
        assert (r.status_code, r.text) == (404, "Note not found in this deck")
        assert "Location" not in r.headers
    r = resolve(env, {"deck_hash": ROOT})
    assert (r.status_code, r.text) == (
        422, "Failed to deserialize the JSON body into the target type: missing field `guid`")
