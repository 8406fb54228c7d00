"""The collaboration loop through ankicollabctl (issue 4): alice publishes, bob
subscribes and suggests an edit, a new note and a deletion, alice approves some
and denies the rest with `ankicollabctl review`, bob's next pull holds exactly
what was approved, and bob is told; carol, neither owner nor maintainer, can
approve nothing."""
import json

import pytest

from addon import Addon, note
from test_suggest import World, q, submit


@pytest.fixture
def world(suite):
    return World(suite)


def suggest_everything(w):
    """bob's commit 1: an edit of g-one (field and tag), an edit of g-ecg, a new note;
    commit 2: the removal of g-two."""
    bob = w.bob
    assert bob.post_json("/AddSubscription", {"deck_hash": w.hash}).text == "()"
    edited = dict(w.n1, fields=["Aspirin?", "Irreversible COX inhibitor"],
                  tags=["cardio", "pharm"])
    ecg = dict(w.n3, fields=["QT?", "Interval (wrong)"])
    new = note(w.model, ["Warfarin?", "Vitamin K antagonist"], ["pharm"], guid="g-new")
    r = submit(bob, w.hash, "Cardiology", "Cardiology",
               w.suggestion([edited, new], [dict(w.ecg, notes=[ecg])]), rationale=2,
               text="fixes")
    assert (r.status_code, r.text) == (200, "Success")
    r = bob.post_json("/requestRemoval", {"remote_deck": w.hash, "note_guids": ["g-two"],
                                          "commit_text": "duplicate", "force_overwrite": False})
    assert (r.status_code, r.text) == (200, "Success")
    listed = json.loads(w.suite.ctl("review", "list", w.hash, "--json").stdout)
    return listed


def test_full_loop_through_ankicollabctl(world):
    s, w = world.suite, world
    listed = suggest_everything(w)
    edit, removal = listed
    assert isinstance(edit["commit_id"], int) and isinstance(removal["commit_id"], int)
    assert (edit["author"], edit["rationale"], edit["text"]) == ("bob", 2, "fixes")
    assert set(edit["guids"]) == {"g-one", "g-ecg", "g-new"}
    assert (removal["author"], removal["rationale"], removal["text"], removal["guids"]) == (
        "bob", 11, "duplicate", ["g-two"])
    c1, c2 = str(edit["commit_id"]), str(removal["commit_id"])

    # The field-level diff, as JSON and as text.
    shown = json.loads(s.ctl("review", "show", c1, "--json").stdout)
    notes = {n["guid"]: n for n in shown["notes"]}
    assert notes["g-one"]["fields"] == [{"position": 1, "name": "Back",
                                         "current": "COX inhibitor",
                                         "suggested": "Irreversible COX inhibitor"}]
    assert notes["g-one"]["tags"] == [{"content": "pharm", "action": "add"}]
    assert notes["g-new"]["new"] is True
    assert [f["current"] for f in notes["g-new"]["fields"]] == [None, None]
    text = s.ctl("review", "show", c1).stdout
    assert "- COX inhibitor" in text and "+ Irreversible COX inhibitor" in text
    assert "note g-new (new)" in text and "tag + pharm" in text
    assert "delete this note" in s.ctl("review", "show", c2).stdout

    # Approve the edit of g-one and the removal; deny the rest.
    r = s.ctl("review", "approve", c1, "--note", "g-one")
    assert "approved 1 note" in r.stdout
    s.ctl("review", "deny", c1, "--note", "g-ecg", "--reason", "Not <i>wrong</i>")
    s.ctl("review", "deny", c1)
    s.ctl("review", "approve", c2)
    assert json.loads(s.ctl("review", "list", w.hash, "--json").stdout) == []
    # Deciding again: nothing to do, a failing exit status and a reason.
    r = s.ctl("review", "approve", c1, check=False)
    assert r.returncode == 1 and "nothing pending" in r.stderr

    # bob's next pull returns exactly the approved changes.
    [res] = w.bob.pull({w.hash: w.t0})
    assert [(n["guid"], n["fields"], sorted(n["tags"])) for n in res["deck"]["notes"]] == [
        ("g-one", ["Aspirin?", "Irreversible COX inhibitor"], ["cardio", "pharm"])]
    assert res["deck"]["children"] == []
    assert res["deleted_notes"] == ["g-two"]
    # The denied new note is gone; g-ecg kept its content.
    assert q(s, "SELECT count(*) FROM notes WHERE guid = 'g-new'") == [(0,)]
    assert q(s, "SELECT content FROM fields f JOIN notes n ON n.id = f.note"
             " WHERE n.guid = 'g-ecg' AND f.position = 1") == [("Interval",)]

    # bob is told: two approvals, two denials, one deck.
    r = w.bob.get("/GetNotifications", auth=True)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("application/json")
    got = r.json()
    assert got["unread_count"] == 4
    [group] = got["groups"]
    assert (group["deck_name"], group["approved_count"], group["denied_count"]) == (
        "Cardiology", 2, 2)
    reasons = {(n["commit_id"], n["status"], n["reason"]) for n in group["notifications"]}
    assert reasons == {(int(c1), "approved", None), (int(c1), "denied", "Not <i>wrong</i>"),
                       (int(c1), "denied", None), (int(c2), "approved", None)}
    ids = [n["id"] for n in group["notifications"]]

    # carol sees none of it and cannot mark bob's.
    assert w.carol.get("/GetNotifications", auth=True).json() == {"unread_count": 0,
                                                                   "groups": []}
    r = w.carol.post_json("/MarkNotificationsRead", {"ids": ids})
    assert r.json() == {"updated": 0}
    assert w.carol.get(f"/GetCommitSnapshot/{c1}", auth=True).status_code == 404

    # The snapshot of the edit commit, as the add-on's notification center reads it.
    snap = w.bob.get(f"/GetCommitSnapshot/{c1}", auth=True).json()
    assert (snap["commit_id"], snap["rationale"], snap["info"], snap["author"],
            snap["deck_name"]) == (int(c1), 2, "fixes", "bob", "Cardiology")
    assert snap["decision_status"] in ("approved", "denied")
    [upd] = [e for e in snap["events"] if e["event_type"] == "field_updated"]
    assert (upd["field_name"], upd["old_text"], upd["new_text"]) == (
        "Back", "COX inhibitor", "Irreversible COX inhibitor")
    assert upd["diff_html"] == "<ins>Irreversible</ins> COX inhibitor"
    assert {"note_id": upd["note_id"], "position": 1, "previous_content": "COX inhibitor",
            "suggested_content": "Irreversible COX inhibitor",
            "reviewed": True} in snap["field_changes"]
    assert any(t["content"] == "pharm" and t["action"] for t in snap["tag_changes"])
    assert any(e["event_type"] == "field_change_denied" for e in snap["events"])
    snap2 = w.bob.get(f"/GetCommitSnapshot/{c2}", auth=True).json()
    assert len(snap2["deleted_note_ids"]) == 1 and snap2["decision_status"] == "approved"

    # Read, then history.
    r = w.bob.post_json("/MarkNotificationsRead", {"ids": ids})
    assert r.json() == {"updated": 4}
    assert w.bob.get("/GetNotifications", auth=True).json() == {"unread_count": 0, "groups": []}
    h = w.bob.get("/GetNotificationsHistory?offset=0&limit=200", auth=True).json()
    assert (h["total"], h["offset"], h["limit"], len(h["items"])) == (4, 0, 200, 4)
    assert all(i["is_read"] for i in h["items"])


def test_pending_changes_survive_partial_decisions(world):
    """Approving one note leaves the rest of the commit open and listed."""
    s, w = world.suite, world
    listed = suggest_everything(w)
    c1 = str(listed[0]["commit_id"])
    s.ctl("review", "approve", c1, "--note", "g-new")
    left = json.loads(s.ctl("review", "list", w.hash, "--json").stdout)
    assert set(left[0]["guids"]) == {"g-one", "g-ecg"}
    [res] = w.bob.pull({w.hash: w.t0})
    assert [n["guid"] for n in res["deck"]["notes"]] == ["g-new"]
    r = s.ctl("review", "approve", c1, "--note", "g-nope", check=False)
    assert r.returncode == 1 and "nothing pending on note g-nope" in r.stderr


def test_ctl_errors(world):
    s = world.suite
    r = s.ctl("review", "list", "alpha-bravo-charlie-delta-echo", check=False)
    assert r.returncode == 1 and "no deck" in r.stderr
    r = s.ctl("review", "show", "999", check=False)
    assert r.returncode == 1 and "no commit 999" in r.stderr
    r = s.ctl("review", "approve", "abc", check=False)
    assert r.returncode == 100
    r = s.ctl("review", "frobnicate", check=False)
    assert r.returncode == 100
    assert s.ctl("review", "list", world.hash).stdout == "no open commits\n"


def test_maintainer_force_and_outsider(world):
    """carol's force_overwrite is a suggestion; once a maintainer, it applies."""
    s, w = world.suite, world
    forced = dict(w.n2, fields=["Heparin?", "carol's version"])
    r = submit(w.carol, w.hash, "Cardiology", "Cardiology", w.suggestion([forced]), force=True)
    assert r.status_code == 200
    assert w.bob.pull({w.hash: w.t0}) == []
    [c] = json.loads(s.ctl("review", "list", w.hash, "--json").stdout)
    assert c["author"] == "carol" and c["guids"] == ["g-two"]
    # alice's own snapshot permission: she has no notification for it.
    assert w.alice.get(f"/GetCommitSnapshot/{c['commit_id']}", auth=True).status_code == 404
