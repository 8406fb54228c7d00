"""POST /createDeck as the add-on publishes (spec/api.md §6.2, §3.1, §4, §6.3.1):
the exact answers, what lands in the database, and that a failed publish,
whatever its fault, leaves no row behind and apid serving."""
import base64
import gzip
import json
import os
import re
import socket
import sqlite3
import tempfile
import threading
import time
import uuid
import zlib

import pytest
import requests

from addon import Addon, add_user, deck, gzb64, note, notetype
from suite import Suite, wait_for

ROOT_UUID = "bc0f47f9-3dd0-4657-8d7e-ee645999b95e"
ROOT_HASH = "white-berlin-nineteen-white-lima-hot"  # §4's test vector for ROOT_UUID
INVALID_DATA = (400, "Invalid data")
INVALID_DECK = (400, "Invalid Deck. Try again or contact support.")
EXISTS = (200, '{ "status": 0, "message": "Deck already exists. '
               'Please submit suggestions instead." }')
SUCCESS = re.compile(r'\{ "status": 1, "message": "([a-z]+(?:-[a-z]+){5})", '
                     r'"bulk_operation_id": "([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-'
                     r'[89ab][0-9a-f]{3}-[0-9a-f]{12})" \}')
TABLES = ("decks", "notes", "fields", "tags", "notetype", "notetype_field",
          "notetype_template", "commits", "note_events", "bulk_operations",
          "bulk_operation_guids")


@pytest.fixture(scope="module")
def pub():
    """One suite for the module, with two publishers logged in."""
    with tempfile.TemporaryDirectory(prefix="ankicollab-test-") as tmp:
        s = Suite(tmp).start()
        try:
            add_user(s, "alice")
            add_user(s, "bob")
            s.alice, s.bob = Addon(s, "alice"), Addon(s, "bob")
            yield s
        finally:
            s.stop()
            if getattr(s, "log", None):
                s.log.close()


def db(s):
    return sqlite3.connect(f"file:{os.path.join(s.data_dir, 'ankicollab.db')}?mode=ro",
                           uri=True)


def counts(s):
    with db(s) as c:
        return {t: c.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in TABLES}


def settles_to(s, want, what):
    """A failed publish answers first and deletes its rows in steps after."""
    wait_for(lambda: counts(s) == want, 30, what=what)


def apid_pid(s):
    return s.health("apid")["pid"]


def post_raw(s, body, token=None):
    headers = {"Content-Type": "text/plain"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = requests.post(s.url("apid", "/createDeck"), data=body, headers=headers, timeout=120)
    return r.status_code, r.text


def outer(inner_text):
    """The wire body for a deck string (already JSON text, or anything)."""
    return gzb64({"deck": inner_text})


def deck_text(d):
    return json.dumps(d, sort_keys=True, indent=4, ensure_ascii=False)


def valid_hash(h):
    """§2.7's check: 3, 5 or 6 parts of ASCII letters joined by '-'."""
    parts = h.split("-")
    return len(parts) in (3, 5, 6) and all(p.isascii() and p.isalpha() for p in parts)


def tree(name="Cardiology"):
    """Root with two notetypes and notes, a child and a grandchild (CrowdAnki order)."""
    basic = notetype("Basic", ["Front", "Back"])
    cloze = notetype("Cloze+", ["Text", "Extra", "Source"], kind=1)
    leads = deck("Leads", notes=[note(basic, ["aVF?", "inferior"], guid="g-leads-1")])
    ecg = deck("ECG", children=[leads], notes=[
        note(basic, ["ST elevation?", "<b>Inferior MI</b><script>alert(1)</script>"],
             tags=["cardio::ecg", "AnkiCollab_Optional::Extra::Step1"], guid="g-ecg-1"),
        note(cloze, ["{{c1::60}}–100 bpm", "", "Guyton"], tags=["cardio"], guid="g-ecg-2"),
    ])
    root = deck(name, note_models=[basic, cloze], children=[ecg], notes=[
        note(basic, ["Resting rate?", "60–100 bpm"], tags=["cardio", " "], guid="g-root-1",
             anki_id=1717000000001),
        note(basic, ["", "   "], guid="g-root-empty"),  # no field left: not stored
    ])
    root["crowdanki_uuid"] = ROOT_UUID
    root["desc"] = "Community deck <i>x</i><script>bad()</script>"
    return root, basic, cloze


def publish_ok(addon, d):
    status, body = addon.create_deck(d)
    assert status == 200, body
    return body["message"], body["bulk_operation_id"]


def test_publish_two_level_deck(pub):
    before = counts(pub)
    root, basic, cloze = tree()
    r = pub.alice.post_gzip("/createDeck", {"deck": deck_text(root)})
    assert r.status_code == 200
    m = SUCCESS.fullmatch(r.text)
    assert m, r.text
    h, op = m.group(1), m.group(2)
    assert h == ROOT_HASH

    with db(pub) as c:
        alice = c.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()[0]
        decks = {row[0]: row for row in c.execute(
            "SELECT name, id, parent, full_path, human_hash, crowdanki_uuid, owner, description,"
            " last_update FROM decks WHERE owner = ? AND full_path LIKE 'Cardiology%'", (alice,))}
        assert set(decks) == {"Cardiology", "ECG", "Leads"}
        r_, e_, l_ = decks["Cardiology"], decks["ECG"], decks["Leads"]
        assert r_[2] is None and e_[2] == r_[1] and l_[2] == e_[1]
        assert [d[3] for d in (r_, e_, l_)] == ["Cardiology", "Cardiology::ECG",
                                                 "Cardiology::ECG::Leads"]
        assert r_[4] == ROOT_HASH and r_[5] == ROOT_UUID
        ecg = root["children"][0]
        assert e_[5] == ecg["crowdanki_uuid"]
        assert l_[5] == ecg["children"][0]["crowdanki_uuid"]
        for d in decks.values():
            assert valid_hash(d[4]) and len(d[4].split("-")) == 6 and d[4].islower()
        assert len({d[4] for d in decks.values()}) == 3
        assert "<script>" not in r_[7] and "<i>x</i>" in r_[7]
        assert r_[8] >= max(d[8] for d in decks.values()) - 1e-6

        # Notetypes: owned by alice, fields and templates at position = index.
        nts = {g: (i, n, t, req) for i, g, n, t, req in c.execute(
            "SELECT id, guid, name, type, req FROM notetype WHERE owner = ?", (alice,))}
        assert set(nts) == {basic["crowdanki_uuid"], cloze["crowdanki_uuid"]}
        b_id, _, _, b_req = nts[basic["crowdanki_uuid"]]
        assert json.loads(b_req) == [{"card_ord": 0, "kind": "any", "field_ords": [0]}]
        assert nts[cloze["crowdanki_uuid"]][2] == 1
        assert c.execute("SELECT position, name, anki_id, ord FROM notetype_field"
                         " WHERE notetype = ? ORDER BY position", (b_id,)).fetchall() == \
            [(0, "Front", 1000, 0), (1, "Back", 1001, 1)]
        assert c.execute("SELECT position, name, qfmt, anki_id FROM notetype_template"
                         " WHERE notetype = ?", (b_id,)).fetchall() == \
            [(0, "Card 1", "{{Front}}", 2000)]

        # Notes: reviewed, live, in their decks, with their notetypes.
        notes = {g: row for g, *row in c.execute(
            "SELECT n.guid, n.id, d.name, t.guid, n.reviewed, n.deleted, n.anki_id, n.version"
            " FROM notes n JOIN decks d ON d.id = n.deck JOIN notetype t ON t.id = n.notetype"
            " WHERE d.owner = ?", (alice,))}
        assert set(notes) == {"g-root-1", "g-ecg-1", "g-ecg-2", "g-leads-1"}
        assert notes["g-root-1"][1:] == ["Cardiology", basic["crowdanki_uuid"], 1, 0,
                                         1717000000001, 1]
        assert notes["g-ecg-2"][1:3] == ["ECG", cloze["crowdanki_uuid"]]
        assert notes["g-leads-1"][1] == "Leads"

        def fields(g):
            return c.execute("SELECT position, content, reviewed FROM fields WHERE note = ?"
                             " ORDER BY position", (notes[g][0],)).fetchall()

        def tags(g):
            return sorted(t for t, in c.execute(
                "SELECT content FROM tags WHERE note = ? AND reviewed = 1", (notes[g][0],)))

        assert fields("g-root-1") == [(0, "Resting rate?", 1), (1, "60–100 bpm", 1)]
        ecg1 = fields("g-ecg-1")
        assert ecg1[0] == (0, "ST elevation?", 1)
        assert "<b>Inferior MI</b>" in ecg1[1][1] and "script" not in ecg1[1][1]
        assert fields("g-ecg-2") == [(0, "{{c1::60}}–100 bpm", 1), (2, "Guyton", 1)]
        assert tags("g-ecg-1") == ["cardio::ecg"]  # the optional tag group is not registered
        assert tags("g-root-1") == ["cardio"]

        # History, commit and the bulk operation (§7.6).
        ev = c.execute("SELECT event_type, version, approved, new_value, actor_user_id"
                       " FROM note_events WHERE note_id = ?", (notes["g-ecg-2"][0],)).fetchall()
        assert len(ev) == 1 and ev[0][:3] == ("note_created", 1, 1) and ev[0][4] == alice
        assert json.loads(ev[0][3]) == {"fields": [{"position": 0, "content": "{{c1::60}}–100 bpm"},
                                                   {"position": 2, "content": "Guyton"}],
                                        "tags": ["cardio"], "reviewed": True}
        assert c.execute("SELECT rationale, deck, user_id FROM commits WHERE deck = ?",
                         (r_[1],)).fetchall() == [(1, r_[1], alice)]
        assert c.execute("SELECT deck_hash, user_id, note_insertion_done FROM bulk_operations"
                         " WHERE id = ?", (op,)).fetchall() == [(h, alice, 1)]
        assert {g for g, in c.execute("SELECT guid FROM bulk_operation_guids WHERE op_id = ?",
                                      (op,))} == set(notes) | {"g-root-empty"}
        # No placeholder left anywhere.
        assert c.execute("SELECT count(*) FROM decks WHERE human_hash LIKE '~%'").fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM notetype WHERE guid LIKE '~%'").fetchone() == (0,)
    after = counts(pub)
    assert after["decks"] == before["decks"] + 3 and after["notes"] == before["notes"] + 4

    # The same name again (cleaned): refused, nothing added; another user may.
    again, _, _ = tree("Cardiology<script>x()</script>")
    again["crowdanki_uuid"] = str(uuid.uuid4())
    assert post_raw(pub, outer(deck_text(again)), pub.alice.token) == EXISTS
    settles_to(pub, after, "the refused deck's rows gone")
    assert pub.bob.create_deck(again)[0] == 200


def test_notetypes_are_reused(pub):
    """§6.3 matching: the same uuid, or the same notetype under another uuid."""
    basic = notetype("Basic", ["Front", "Back"])
    publish_ok(pub.alice, deck("Reuse 1", note_models=[basic], notes=[note(basic, ["a", "b"])]))
    n = counts(pub)["notetype"]
    publish_ok(pub.alice, deck("Reuse 2", note_models=[basic], notes=[note(basic, ["c", "d"])]))
    twin = dict(basic, crowdanki_uuid=str(uuid.uuid4()))
    publish_ok(pub.alice, deck("Reuse 3", note_models=[twin], notes=[note(twin, ["e", "f"])]))
    assert counts(pub)["notetype"] == n
    with db(pub) as c:
        assert c.execute("SELECT count(DISTINCT n.notetype) FROM notes n JOIN decks d"
                         " ON d.id = n.deck WHERE d.name LIKE 'Reuse %'").fetchone() == (1,)
    other = notetype("Basic", ["Front", "Verso"])  # field 1: another name and id
    other["flds"][1]["id"] = 7777
    publish_ok(pub.alice, deck("Reuse 4", note_models=[other], notes=[note(other, ["g", "h"])]))
    assert counts(pub)["notetype"] == n + 1


def test_uuids_that_do_not_parse(pub):
    """§4: the root gets a fresh v4; a subdeck is dropped, and for a child of the
    root so are its later siblings."""
    m = notetype("Basic", ["Front", "Back"])
    bad_deep = deck("Deep", notes=[note(m, ["x", "y"])])
    bad_deep["crowdanki_uuid"] = "nope"
    a = deck("A", children=[bad_deep], notes=[note(m, ["a", "b"])])
    bad = deck("B", notes=[note(m, ["b", "c"])])
    bad["crowdanki_uuid"] = "not-a-uuid"
    c_ = deck("C", notes=[note(m, ["c", "d"])])
    root = deck("Odd uuids", note_models=[m], children=[a, bad, c_],
                notes=[note(m, ["r", "s"])])
    root["crowdanki_uuid"] = "{definitely not}"
    h, _ = publish_ok(pub.alice, root)
    with db(pub) as c:
        rid, ruuid = c.execute("SELECT id, crowdanki_uuid FROM decks WHERE human_hash = ?",
                               (h,)).fetchone()
        assert uuid.UUID(ruuid).version == 4
        assert sorted(p for p, in c.execute("SELECT full_path FROM decks WHERE id = ?"
                                            " OR parent = ?", (rid, rid))) == \
            ["Odd uuids", "Odd uuids::A"]
        assert c.execute("SELECT count(*) FROM decks WHERE full_path LIKE 'Odd uuids::A::%'"
                         ).fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM notes n JOIN decks d ON d.id = n.deck"
                         " WHERE d.full_path LIKE 'Odd uuids%'").fetchone() == (2,)


def test_fields_past_the_notetype_are_dropped(pub):
    m = notetype("Two", ["Front", "Back"])
    h, _ = publish_ok(pub.alice, deck("Wide notes", note_models=[m], notes=[
        note(m, ["a", "b", "c", "d"], guid="wide-1"), note(m, ["", "", "only extra"],
                                                           guid="wide-2")]))
    with db(pub) as c:
        rows = c.execute("SELECT n.guid, f.position, f.content FROM notes n JOIN decks d"
                         " ON d.id = n.deck JOIN fields f ON f.note = n.id"
                         " WHERE d.human_hash = ? ORDER BY 1, 2", (h,)).fetchall()
        assert rows == [("wide-1", 0, "a"), ("wide-1", 1, "b")]
        ev = c.execute("SELECT new_value FROM note_events e JOIN notes n ON n.id = e.note_id"
                       " WHERE n.guid = 'wide-1'").fetchone()[0]
        assert [f["position"] for f in json.loads(ev)["fields"]] == [0, 1]


# ---- failures: each answers as documented, leaves nothing, and apid serves on ----

def bomb_zeros():
    """A small body whose gzip member inflates past 250 MiB of zero bytes."""
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    out = [co.compress(block) for _ in range(260)]
    return base64.b64encode(b"".join(out) + co.flush())


def bomb_after_deck():
    """A whole valid deck, then 260 MiB of JSON whitespace: inserted, then undone."""
    m = notetype("Basic", ["Front", "Back"])
    d = deck("Bombed", note_models=[m], children=[deck("Sub", notes=[
        note(m, [f"q{i}", f"a{i}"]) for i in range(300)])])
    co = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [co.compress(json.dumps({"deck": deck_text(d)}).encode())]
    block = b" " * (1 << 20)
    out += [co.compress(block) for _ in range(260)]
    return base64.b64encode(b"".join(out) + co.flush())


def inner_variants():
    m = notetype("Basic", ["Front", "Back"])

    def good(**kw):
        d = deck("Shape", note_models=[m], notes=[note(m, ["q", "a"])],
                 children=[deck("Kid", notes=[note(m, [f"k{i}", "v"]) for i in range(50)])])
        d.update(kw)
        return d

    def without(key):
        d = good()
        del d[key]
        return deck_text(d)

    no_id = good()
    del no_id["notes"][0]["id"]
    late_bad = good()
    late_bad["notes"].append({"guid": "x", "note_model_uuid": m["crowdanki_uuid"],
                              "fields": ["a"], "tags": [], "id": "12"})
    orphan = good()
    orphan["children"][0]["notes"][3]["note_model_uuid"] = str(uuid.uuid4())
    bad_model = good()
    del bad_model["note_models"][0]["flds"][0]["ord"]
    dup_guid = good()
    dup_guid["children"][0]["notes"][1]["guid"] = dup_guid["children"][0]["notes"][0]["guid"]
    deep = '{"children": [' * 10000 + ']}' * 10000
    return {
        "not json": "{not json",
        "truncated": deck_text(good())[:-3],
        "an array": "[]",
        "empty": "",
        "missing name": without("name"),
        "missing notes": without("notes"),
        "missing children": without("children"),
        "missing uuid": without("crowdanki_uuid"),
        "name a number": deck_text(good(name=5)),
        "desc null": deck_text(good(desc=None)),
        "children an object": deck_text(good(children={})),
        "note_models a string": deck_text(good(note_models="x")),
        "duplicate key": deck_text(good())[:-1] + ', "name": "again"}',
        "note without id": deck_text(no_id),
        "note id a string, after others": deck_text(late_bad),
        "note of no notetype": deck_text(orphan),
        "notetype without ord": deck_text(bad_model),
        "guid twice in a deck": deck_text(dup_guid),
        "10000 levels": deep,
    }


def outer_variants():
    good = deck_text(deck("Outer", notes=[]))
    return {
        "bad base64": b"H4sI@@@@",
        "embedded newline": gzb64({"deck": good})[:40] + b"\n" + gzb64({"deck": good})[40:],
        "not gzip": base64.b64encode(b"{\"deck\": \"{}\"}"),
        "truncated gzip": base64.b64encode(gzip.compress(b'{"deck": "{}"}')[:-6]),
        "outer truncated": base64.b64encode(gzip.compress(b'{"deck": ')),
        "outer an array": gzb64(["deck"]),
        "deck a number": gzb64({"deck": 5}),
        "deck missing": gzb64({"username": "x"}),
        "deck twice": base64.b64encode(gzip.compress(
            json.dumps({"deck": good}).encode()[:-1] + b', "deck": "{}"}')),
        "trailing garbage": base64.b64encode(gzip.compress(
            json.dumps({"deck": good}).encode() + b" x")),
        "invalid utf-8": base64.b64encode(gzip.compress(b'{"deck": "\xff"}')),
        "10000 levels": base64.b64encode(gzip.compress(
            b'{"a": ' + b"[" * 10000 + b"]" * 10000 + b', "deck": "{}"}')),
        "bad deck and bad outer": base64.b64encode(gzip.compress(b'{"deck": "{}", ')),
        "zero bomb": bomb_zeros(),
        "bomb after a deck": bomb_after_deck(),
    }


def check_failures(s, cases, expect):
    pid = apid_pid(s)
    before = counts(s)
    for name, body in cases.items():
        if isinstance(body, str):
            body = outer(body)
        got = post_raw(s, body, s.alice.token)
        assert got == expect, f"{name}: {got}"
        settles_to(s, before, f"{name}: no rows left behind")
        assert apid_pid(s) == pid, f"{name}: apid restarted"


def test_inner_deck_faults(pub):
    check_failures(pub, inner_variants(), INVALID_DECK)


def test_outer_faults(pub):
    check_failures(pub, outer_variants(), INVALID_DATA)


def test_texts_too_big_or_too_costly(pub):
    """A note over 4 MiB of JSON is not read (Invalid Deck); a field the cleaner gives
    up on (its memory or CPU budget) fails the deck rather than losing content."""
    m = notetype("Basic", ["Front", "Back"])

    def with_field(text):
        return deck_text(deck("Huge", note_models=[m], notes=[note(m, ["ok", "fine"]),
                                                                note(m, [text, "b"])]))

    check_failures(pub, {"5 MiB note": with_field("<b>" + "x" * (5 << 20) + "</b>")},
                   INVALID_DECK)
    check_failures(pub, {"40000 nested divs": with_field("<div>" * 40000)}, INVALID_DATA)


def test_auth_comes_first(pub):
    pid = apid_pid(pub)
    before = counts(pub)
    body = b"not even base64"
    assert post_raw(pub, body) == (401, "Missing or invalid Authorization header")
    assert post_raw(pub, body, "x" * 48) == (401, "Invalid or expired token")
    d = deck("Anon", notes=[])
    assert post_raw(pub, outer(deck_text(d))) == (401, "Missing or invalid Authorization header")
    settles_to(pub, before, "nothing written")
    assert apid_pid(pub) == pid


def test_connection_lost_mid_body(pub):
    """The client goes away after half a deck: its rows go when the request is freed."""
    m = notetype("Basic", ["Front", "Back"])
    d = deck("Half", note_models=[m], children=[deck("Sub", notes=[
        note(m, [f"question {i} " * 20, f"answer {i} " * 20]) for i in range(3000)])])
    body = outer(deck_text(d))
    before = counts(pub)
    with socket.create_connection(("127.0.0.1", pub.ports["apid"])) as sock:
        sock.sendall(b"POST /createDeck HTTP/1.1\r\nHost: t\r\nContent-Type: text/plain\r\n"
                     b"Authorization: Bearer " + pub.alice.token.encode() +
                     b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body[:len(body) // 2])
        time.sleep(0.5)
    settles_to(pub, before, "the half deck's rows gone")


def test_concurrent_publishes_and_logins(pub):
    """Windows of several publishes interleave with each other and with other
    requests' writes (a login) on apid's one connection."""
    m = notetype("Basic", ["Front", "Back"])

    def big(name, n, bad=False):
        d = deck(name, note_models=[m], children=[deck("Sub", notes=[
            note(m, [f"{name} question {i} " * 10, f"answer {i} " * 10]) for i in range(n)])])
        if bad:
            del d["children"][0]["notes"][-1]["id"]
        return d

    before = counts(pub)
    jobs = {"alice": (pub.alice, big("Parallel A", 1500)),
            "bob": (pub.bob, big("Parallel B", 1500)),
            "bad": (pub.alice, big("Parallel bad", 1500, bad=True))}
    results = {}

    def run(key):
        # As the add-on's urllib3 Retry does: a 503 (apid shedding while this
        # machine is busy) is sent again after its Retry-After, three times.
        addon, d = jobs[key]
        for _ in range(4):
            r = addon.post_gzip("/createDeck", {"deck": deck_text(d)})
            if r.status_code != 503:
                break
            time.sleep(int(r.headers.get("Retry-After", "1")))
        results[key] = (r.status_code, r.text)

    threads = [threading.Thread(target=run, args=(k,)) for k in jobs]
    for t in threads:
        t.start()
    logins = [Addon(pub, "bob").token for _ in range(3)]
    for t in threads:
        t.join()
    assert all(logins)
    assert SUCCESS.fullmatch(results["alice"][1]) and SUCCESS.fullmatch(results["bob"][1])
    assert results["bad"] == INVALID_DECK
    want = dict(before, decks=before["decks"] + 4, notes=before["notes"] + 3000,
                fields=before["fields"] + 6000, commits=before["commits"] + 2,
                note_events=before["note_events"] + 3000,
                bulk_operations=before["bulk_operations"] + 2,
                bulk_operation_guids=before["bulk_operation_guids"] + 3000)

    def settled():
        # Notetypes: alice's may match one of hers from an earlier test (§6.3).
        c = counts(pub)
        return all(c[k] == v for k, v in want.items() if not k.startswith("notetype")) and \
            before["notetype"] <= c["notetype"] <= before["notetype"] + 2

    wait_for(settled, 30, what="only the two good decks stay")
