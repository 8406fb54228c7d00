"""Notifications (spec/api.md §6.13–§6.16): shapes, paging, marking, the
commit snapshot's permission, and every error answer."""
import json

import pytest

from addon import Addon
from test_suggest import World, q, submit


@pytest.fixture
def world(suite):
    return World(suite)


def decided(w, n):
    """n suggestions by bob on the root, alternately approved and denied by the admin;
    returns their commit ids, oldest first."""
    ids = []
    for i in range(n):
        edited = dict(w.n1, fields=["Aspirin?", f"version {i}"])
        assert submit(w.bob, w.hash, "Cardiology", "Cardiology", w.suggestion([edited]),
                      text=f"s{i}").status_code == 200
        [c] = json.loads(w.suite.ctl("review", "list", w.hash, "--json").stdout)
        w.suite.ctl("review", "approve" if i % 2 == 0 else "deny", str(c["commit_id"]))
        ids.append(c["commit_id"])
    return ids


def test_auth_required(world):
    anon = Addon(world.suite)
    for path in ("/GetNotifications", "/GetNotificationsHistory", "/GetCommitSnapshot/1"):
        assert anon.get(path).status_code == 401
    r = anon.post_json("/MarkNotificationsRead", {"ids": []}, auth=False)
    assert r.status_code == 401


def test_empty(world):
    b = world.bob
    r = b.get("/GetNotifications", auth=True)
    assert (r.status_code, r.json()) == (200, {"unread_count": 0, "groups": []})
    r = b.get("/GetNotificationsHistory", auth=True)
    assert r.json() == {"total": 0, "offset": 0, "limit": 50, "items": []}
    assert b.post_json("/MarkNotificationsRead", {"ids": []}).json() == {"updated": 0}


def test_items_and_history_paging(world):
    w = world
    commits = decided(w, 5)
    got = w.bob.get("/GetNotifications", auth=True).json()
    assert got["unread_count"] == 5
    [g] = got["groups"]
    assert (g["approved_count"], g["denied_count"]) == (3, 2)
    items = g["notifications"]
    # Newest first; every key of §6.13 with its type.
    assert [i["commit_id"] for i in items] == commits[::-1]
    one = items[0]
    assert set(one) == {"id", "commit_id", "deck_id", "deck_name", "status", "reason",
                        "created_at", "is_read"}
    assert one["deck_name"] == "Cardiology" and one["is_read"] is False
    assert len(one["created_at"]) == 25 and one["created_at"].endswith("+00:00")
    assert one["created_at"][10] == "T"

    h = w.bob.get("/GetNotificationsHistory?offset=1&limit=2", auth=True).json()
    assert (h["total"], h["offset"], h["limit"]) == (5, 1, 2)
    assert [i["commit_id"] for i in h["items"]] == commits[::-1][1:3]
    # Clamped and defaulted; unknown parameters ignored.
    h = w.bob.get("/GetNotificationsHistory?offset=-5&limit=0&x=y", auth=True).json()
    assert (h["offset"], h["limit"], len(h["items"])) == (0, 1, 1)
    h = w.bob.get("/GetNotificationsHistory?limit=999", auth=True).json()
    assert h["limit"] == 200
    r = w.bob.get("/GetNotificationsHistory?offset=abc", auth=True)
    assert r.status_code == 400 and r.text.startswith("Failed to deserialize query string")

    # Only one's own are marked; marked ones leave the unread list, not the history.
    first = [i["id"] for i in items[:2]]
    assert w.carol.post_json("/MarkNotificationsRead", {"ids": first}).json() == {"updated": 0}
    assert w.bob.post_json("/MarkNotificationsRead", {"ids": first}).json() == {"updated": 2}
    assert w.bob.post_json("/MarkNotificationsRead", {"ids": first}).json() == {"updated": 0}
    assert w.bob.get("/GetNotifications", auth=True).json()["unread_count"] == 3
    h = w.bob.get("/GetNotificationsHistory", auth=True).json()
    assert [i["is_read"] for i in h["items"]] == [True, True, False, False, False]


def test_mark_errors(world):
    b = world.bob
    r = b.post_json("/MarkNotificationsRead", {"ids": list(range(1001))})
    assert (r.status_code, r.json()) == (400, {"error": "Too many IDs (max 1000)"})
    assert b.post_json("/MarkNotificationsRead", {"ids": ["x"]}).status_code == 422
    assert b.post_json("/MarkNotificationsRead", {"nope": []}).status_code == 422
    assert b.post_json("/MarkNotificationsRead", {"ids": [2**40]}).status_code == 422


def test_snapshot(world):
    w = world
    [c] = decided(w, 1)
    snap = w.bob.get(f"/GetCommitSnapshot/{c}", auth=True)
    assert snap.status_code == 200 and snap.headers["Content-Type"].startswith(
        "application/json")
    snap = snap.json()
    assert set(snap) == {"commit_id", "rationale", "info", "timestamp", "deck_name", "author",
                         "field_changes", "tag_changes", "deleted_note_ids", "move_changes",
                         "events", "decision_status", "decision_reason"}
    assert (snap["info"], snap["decision_status"], snap["decision_reason"]) == (
        "s0", "approved", None)
    types = [e["event_type"] for e in snap["events"]]
    assert types == ["field_updated", "commit_approved_effect"]
    e = snap["events"][0]
    assert set(e) == {"note_id", "note_guid", "version", "event_type", "field_name",
                      "created_at", "old_text", "new_text", "diff_html"}
    assert (e["note_guid"], e["field_name"], e["old_text"], e["new_text"]) == (
        "g-one", "Back", "COX inhibitor", "version 0")
    assert e["diff_html"] == "<del>COX inhibitor</del> <ins>version 0</ins>"
    assert snap["events"][1]["old_text"] is None
    assert snap["events"][1]["new_text"] is None

    assert w.bob.get("/GetCommitSnapshot/abc", auth=True).status_code == 400
    assert w.bob.get("/GetCommitSnapshot/99999999999", auth=True).status_code == 400
    r = w.bob.get("/GetCommitSnapshot/424242", auth=True)
    assert (r.status_code, r.json()) == (404, {"error": "Commit not found"})


def test_diff_html_escapes_markup(world):
    w = world
    edited = dict(w.n1, fields=["Aspirin?", "<b>COX</b> inhibitor &amp; <script>x</script>"])
    assert submit(w.bob, w.hash, "Cardiology", "Cardiology",
                  w.suggestion([edited])).status_code == 200
    [c] = json.loads(w.suite.ctl("review", "list", w.hash, "--json").stdout)
    w.suite.ctl("review", "deny", str(c["commit_id"]), "--reason", "<script>no</script>bad")
    snap = w.bob.get(f"/GetCommitSnapshot/{c['commit_id']}", auth=True).json()
    assert snap["decision_status"] == "denied"
    assert "<script>" not in snap["decision_reason"] and "bad" in snap["decision_reason"]
    [e] = [e for e in snap["events"] if e["event_type"] == "field_change_denied"]
    assert e["old_text"] == "COX inhibitor"
    assert "<script>" not in e["new_text"]
    assert e["diff_html"] is None
