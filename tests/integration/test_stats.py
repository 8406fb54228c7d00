"""/UploadDeckStats (spec/api.md §6.11, spec/client.md §7.8): GZB64 bodies of
{deck_hash, review_history: {local deck name: {guid: {retention, reps, lapses}}}}."""
import base64
import gzip
import json

import pytest

from addon import gzb64
from deckdb import add_deck, add_note, add_notetype, apid_pid, connect, login, post, rows, user_hash

DECK = "quebec-seven-ohio-lemon-sierra"
OTHER = "alabama-coffee-lima-yankee-mike"
THANKS = (200, "Thanks for sharing!")


@pytest.fixture
def env(suite):
    """alice's deck DECK (with a subdeck) and another deck OTHER; bob uploads."""
    s = suite
    db = s.db = connect(s)
    s.alice, alice = login(s, db, "alice")
    s.bob, _ = login(s, db, "bob")
    s.deck = add_deck(db, alice, DECK, "Cardiology")  # stats_enabled is 0: not checked
    s.sub = add_deck(db, alice, "quebec-seven-ohio", "ECG", parent=s.deck)
    s.other = add_deck(db, alice, OTHER, "Other")
    s.nt = add_notetype(db, alice, ["Front", "Back"])
    s.n = {"g1": add_note(db, s.deck, s.nt, "f>Q2w&x#1P"),
           "g2": add_note(db, s.sub, s.nt, "Ab3$kL9:qz"),
           "gone": add_note(db, s.deck, s.nt, "gone", deleted=1),
           "elsewhere": add_note(db, s.other, s.nt, "elsewhere")}
    pid = apid_pid(s)
    yield s
    assert apid_pid(s) == pid, "apid restarted"
    db.close()


def stats(env):
    return sorted(rows(env.db, "SELECT note_id, user_hash, retention, lapses, reps FROM note_stats"))


def upload(env, history, deck=DECK, who="bob"):
    return getattr(env, who).post_gzip("/UploadDeckStats",
                                       {"deck_hash": deck, "review_history": history})


def fig(retention, lapses, reps):
    return {"retention": retention, "lapses": lapses, "reps": reps}


def test_upload(env):
    r = upload(env, {"Cardiology::ECG": {"Ab3$kL9:qz": fig(87, 1, 12)},
                     "Cardiology": {"f>Q2w&x#1P": fig(100, 0, 5), "gone": fig(1, 2, 3),
                                    "elsewhere": fig(4, 5, 6), "unknown": fig(7, 8, 9)}})
    assert (r.status_code, r.text) == THANKS
    bob = user_hash("bob")
    assert stats(env) == sorted([(env.n["g1"], bob, 100, 0, 5), (env.n["g2"], bob, 87, 1, 12)])
    # an upsert: the newest figures replace, other users add rows
    assert upload(env, {"x": {"f>Q2w&x#1P": fig(50, 3, 9)}}).text == THANKS[1]
    assert upload(env, {"x": {"f>Q2w&x#1P": fig(-1, 2147483647, -2147483648)}},
                  who="alice").text == THANKS[1]
    assert stats(env) == sorted([(env.n["g1"], bob, 50, 3, 9), (env.n["g2"], bob, 87, 1, 12),
                                 (env.n["g1"], user_hash("alice"), -1, 2147483647, -2147483648)])
    # a subdeck's hash covers its subtree only
    assert upload(env, {"x": {"f>Q2w&x#1P": fig(1, 1, 1), "Ab3$kL9:qz": fig(2, 2, 2)}},
                  deck="quebec-seven-ohio").text == THANKS[1]
    assert (env.n["g1"], bob, 50, 3, 9) in stats(env)
    assert (env.n["g2"], bob, 2, 2, 2) in stats(env)


def test_unknown_deck_stores_nothing(env):
    r = upload(env, {"x": {"f>Q2w&x#1P": fig(100, 0, 5)}}, deck="zulu-zulu-zulu")
    assert (r.status_code, r.text) == THANKS
    assert upload(env, {}).text == THANKS[1]
    assert stats(env) == []


def test_deck_hash_after_history(env):
    """The add-on sends deck_hash first; the other order works as well."""
    body = ('{"review_history": {"a": {"f>Q2w&x#1P": {"reps": 5, "lapses": 0, "retention": 99,'
            ' "extra": [1, {"retention": "x"}]}}}, "ignored": null, "deck_hash": "%s"}' % DECK)
    r = post(env, "/UploadDeckStats", base64.b64encode(gzip.compress(body.encode())),
             token=env.bob.token, ctype="text/plain")
    assert (r.status_code, r.text) == THANKS
    assert stats(env) == [(env.n["g1"], user_hash("bob"), 99, 0, 5)]


def test_many_entries(env):
    """Far more entries than one write batch, most of them unknown GUIDs."""
    history = {f"deck{d}": {f"guid{d}-{i}": fig(i % 101, i % 7, i) for i in range(5000)}
               for d in range(4)}
    history["deck3"]["Ab3$kL9:qz"] = fig(42, 4, 2)
    r = upload(env, history)
    assert (r.status_code, r.text) == THANKS
    assert stats(env) == [(env.n["g2"], user_hash("bob"), 42, 4, 2)]


@pytest.mark.parametrize("doc", [
    {"deck_hash": DECK},
    {"review_history": {}},
    {"deck_hash": None, "review_history": {}},
    {"deck_hash": DECK, "review_history": None},
    {"deck_hash": DECK, "review_history": []},
    {"deck_hash": DECK, "review_history": {"a": []}},
    {"deck_hash": DECK, "review_history": {"a": {"g": 5}}},
    {"deck_hash": DECK, "review_history": {"a": {"f>Q2w&x#1P": {"retention": 1, "reps": 2}}}},
    {"deck_hash": DECK, "review_history": {"a": {"f>Q2w&x#1P": fig(87.5, 1, 2)}}},
    {"deck_hash": DECK, "review_history": {"a": {"f>Q2w&x#1P": fig(1e2, 1, 2)}}},
    {"deck_hash": DECK, "review_history": {"a": {"f>Q2w&x#1P": fig("87", 1, 2)}}},
    {"deck_hash": DECK, "review_history": {"a": {"f>Q2w&x#1P": fig(2 ** 31, 1, 2)}}},
    {"deck_hash": DECK, "review_history": {"a": {"f>Q2w&x#1P": fig(1, None, 2)}}},
    [DECK],
])
def test_invalid_data(env, doc):
    r = env.bob.post_gzip("/UploadDeckStats", doc)
    assert (r.status_code, r.text) == (400, "Invalid data")
    assert stats(env) == []


@pytest.mark.parametrize("body", [
    b"", b"not base64!", base64.b64encode(b"not gzip"),
    base64.b64encode(gzip.compress(b"{\"deck_hash\": ")),
    base64.b64encode(gzip.compress(b"")),
    base64.b64encode(gzip.compress(json.dumps({"deck_hash": DECK, "review_history": {}})
                                   .encode() + b" x")),
])
def test_invalid_encoding(env, body):
    r = post(env, "/UploadDeckStats", body, token=env.bob.token, ctype="text/plain")
    assert (r.status_code, r.text) == (400, "Invalid data")


def test_invalid_deck_hash(env):
    r = upload(env, {"x": {"f>Q2w&x#1P": fig(100, 0, 5)}}, deck="quebec-seven")
    assert (r.status_code, r.text) == (400, "Invalid deck hash format")
    assert stats(env) == []


def test_token_faults(env):
    body = gzb64({"deck_hash": DECK, "review_history": {}})
    r = post(env, "/UploadDeckStats", body, ctype="text/plain")
    assert (r.status_code, r.text) == (401, "Missing or invalid Authorization header")
    r = post(env, "/UploadDeckStats", body, ctype="text/plain",
             headers={"Authorization": "Bearer " + "q" * 48})
    assert (r.status_code, r.text) == (401, "Invalid or expired token")
