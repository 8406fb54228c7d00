"""The web interface under /ui/ (issue 4, item 4): login with the add-on's
accounts, a session cookie and CSRF tokens, the decks I own or maintain, a
commit's field-level diff with approve and deny, and maintainers.

The loop goes through the real routes: A publishes with /createDeck, B
subscribes and suggests with /submitCard, A decides in the browser forms
(plain POSTs here), B pulls with /pullChanges.
"""
import json
import os
import re
import sqlite3
import time

import pytest
import requests

from addon import PASSWORD, Addon, add_user, deck, note, notetype

MAGIC = "2022-12-31 23:59:59"
XSS = '<script>alert("x")</script><img src=x onerror="alert(1)">evil'


def utc(t):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(t))


class UI:
    """One browser: a cookie jar and the session's CSRF token."""

    def __init__(self, suite):
        self.suite = suite
        self.http = requests.Session()
        self.csrf = None

    def url(self, path):
        return self.suite.url("apid", path)

    def get(self, path, **kw):
        return self.http.get(self.url(path), allow_redirects=False, timeout=30, **kw)

    def post(self, path, data=None, csrf=True, **kw):
        data = dict(data or {})
        if csrf is True:
            data["csrf"] = self.csrf
        elif csrf is not None:
            data["csrf"] = csrf
        return self.http.post(self.url(path), data=data, allow_redirects=False, timeout=30,
                              **kw)

    def login(self, user, password=PASSWORD):
        page = self.get("/ui/login")
        assert page.status_code == 200, page.text
        r = self.post("/ui/login", {"username": user, "password": password},
                      csrf=form_csrf(page.text))
        if r.status_code == 303:
            home = self.get("/ui/")
            assert home.status_code == 200, home.text
            self.csrf = form_csrf(home.text)
        return r


def form_csrf(html):
    m = re.search(r'name=csrf value="([0-9a-f]{64})"', html)
    assert m, html
    return m.group(1)


def commit_ids(html):
    return [int(x) for x in dict.fromkeys(re.findall(r'href="/ui/commit/(\d+)"', html))]


def db(suite):
    c = sqlite3.connect(os.path.join(suite.data_dir, "ankicollab.db"), timeout=10,
                        isolation_level=None)
    c.execute("PRAGMA foreign_keys = ON")
    return c


class Loop:
    """A's deck with three notes, B's and C's accounts."""

    def __init__(self, suite):
        self.suite = suite
        for u in ("alice", "bob", "carol"):
            add_user(suite, u)
        self.alice, self.bob = Addon(suite, "alice"), Addon(suite, "bob")
        self.model = notetype("Basic", ["Front", "Back"])
        self.notes = [note(self.model, [f"Front {i} <b>bold</b>", f"Back {i}"], ["t"])
                      for i in range(3)]
        self.root = deck("Pharmacology", self.notes, note_models=[self.model])
        status, body = self.alice.create_deck(self.root)
        assert status == 200 and body["status"] == 1, body
        self.hash = body["message"]
        # Notes are inserted after /createDeck answers (§6.2).
        deadline = time.monotonic() + 30
        while len(self.full_pull()["deck"]["notes"]) < 3:
            assert time.monotonic() < deadline, "notes never arrived"
            time.sleep(0.1)
        r = self.bob.post_json("/AddSubscription", {"deck_hash": self.hash})
        assert (r.status_code, r.text) == (200, "()")

    def full_pull(self):
        got = self.bob.pull({self.hash: MAGIC})
        assert len(got) == 1
        return got[0]

    def suggest(self, who, notes, text, rationale=2):
        """B's add-on submits the deck with edited and new notes (§6.3)."""
        d = deck("Pharmacology", notes, note_models=[self.model])
        payload = {"remote_deck": self.hash, "deck_path": "Pharmacology",
                   "new_name": "Pharmacology", "deck": json.dumps(d), "rationale": rationale,
                   "commit_text": text, "force_overwrite": False}
        r = who.post_gzip("/submitCard", payload)
        assert (r.status_code, r.text) == (200, "Success")


@pytest.fixture
def loop(suite):
    return Loop(suite)


def edited(n, fields):
    return {**n, "fields": list(fields)}


# ---- login, cookies, CSRF -------------------------------------------------------------

def test_login_bad_password_and_cookie_flags(suite):
    add_user(suite, "alice")
    ui = UI(suite)
    # Not logged in: every page leads to the login form.
    r = ui.get("/ui/")
    assert (r.status_code, r.headers["Location"]) == (303, "/ui/login")
    assert ui.get("/ui").headers["Location"] == "/ui/"

    page = ui.get("/ui/login")
    assert page.status_code == 200
    assert page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src" not in page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert '<meta name=viewport content="width=device-width,initial-scale=1">' in page.text
    for outside in ("<link", "<script", "http://", "https://", "url("):
        assert outside not in page.text

    r = ui.post("/ui/login", {"username": "alice", "password": "wrong"},
                csrf=form_csrf(page.text))
    assert r.status_code == 401
    assert "Wrong user name or password." in r.text
    assert "acl_session" not in ui.http.cookies
    r = ui.post("/ui/login", {"username": "nobody", "password": PASSWORD},
                csrf=form_csrf(r.text))
    assert r.status_code == 401 and "acl_session" not in ui.http.cookies

    r = ui.login("alice")
    assert (r.status_code, r.headers["Location"]) == (303, "/ui/")
    cookie = [c for c in r.headers["Set-Cookie"].split(", ") if c.startswith("acl_session=")]
    assert len(cookie) == 1
    flags = [f.strip() for f in cookie[0].split(";")]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/ui" in flags
    assert "Secure" not in flags  # plain http, no proxy configured
    assert "alice" in ui.get("/ui/").text
    # The session is a token pair of the accounts machinery.
    c = db(suite)
    assert c.execute("SELECT count(*) FROM auth_tokens").fetchone()[0] == 1
    c.close()


def test_login_needs_its_form_token(suite):
    add_user(suite, "alice")
    ui = UI(suite)
    page = ui.get("/ui/login")
    good = form_csrf(page.text)
    for csrf in (None, "0" * 64, good[:-1] + ("0" if good[-1] != "0" else "1")):
        r = ui.post("/ui/login", {"username": "alice", "password": PASSWORD}, csrf=csrf)
        assert r.status_code == 400 and "security token" in r.text
        assert "acl_session" not in ui.http.cookies
    # The right token without its nonce cookie (another browser) is refused too.
    other = UI(suite)
    r = other.post("/ui/login", {"username": "alice", "password": PASSWORD}, csrf=good)
    assert r.status_code == 400


def test_secure_cookie_behind_https_proxy(make_suite):
    suite = make_suite(extra={"": {"client_ip_header": "X-Real-IP"}})
    add_user(suite, "alice")
    ui = UI(suite)
    hdr = {"X-Forwarded-Proto": "https", "X-Real-IP": "198.51.100.7"}
    page = ui.http.get(ui.url("/ui/login"), headers=hdr, timeout=30)
    assert "; Secure" in page.headers["Set-Cookie"]
    r = ui.http.post(ui.url("/ui/login"), headers=hdr, allow_redirects=False, timeout=30,
                     data={"csrf": form_csrf(page.text), "username": "alice",
                           "password": PASSWORD},
                     cookies={"acl_login": page.cookies["acl_login"]})
    assert r.status_code == 303
    assert re.search(r"acl_session=\w+; Path=/ui; HttpOnly; SameSite=Strict; Secure",
                     r.headers["Set-Cookie"])


def test_logout_ends_the_session(suite):
    add_user(suite, "alice")
    ui = UI(suite)
    assert ui.login("alice").status_code == 303
    old = ui.http.cookies["acl_session"]
    r = ui.post("/ui/logout", csrf="1" * 64)
    assert r.status_code == 400
    r = ui.post("/ui/logout")
    assert (r.status_code, r.headers["Location"]) == (303, "/ui/login")
    c = db(suite)
    assert c.execute("SELECT count(*) FROM auth_tokens").fetchone()[0] == 0
    c.close()
    again = requests.get(ui.url("/ui/"), cookies={"acl_session": old}, allow_redirects=False)
    assert (again.status_code, again.headers["Location"]) == (303, "/ui/login")


def test_csrf_checked_on_every_post(loop):
    suite = loop.suite
    loop.suggest(loop.bob, [edited(loop.notes[0], ["Front 0 fixed", "Back 0"])], "typo")
    a, c = UI(suite), UI(suite)
    a.login("alice")
    c.login("carol")
    [cid] = commit_ids(a.get(f"/ui/deck/{loop.hash}").text)
    bad = [None, "", "0" * 64, c.csrf, a.csrf.upper(), a.csrf + "0"]
    for path, data in ((f"/ui/commit/{cid}/approve", {}),
                       (f"/ui/commit/{cid}/deny", {}),
                       (f"/ui/deck/{loop.hash}/maintainers",
                        {"action": "add", "username": "carol"}),
                       ("/ui/logout", {})):
        for token in bad:
            r = a.post(path, data, csrf=token)
            assert r.status_code == 400, (path, token, r.text)
            assert "security token" in r.text
    # Nothing happened: the commit is open, carol maintains nothing, alice is logged in.
    assert commit_ids(a.get(f"/ui/deck/{loop.hash}").text) == [cid]
    assert "Pharmacology" not in c.get("/ui/").text


# ---- the loop ---------------------------------------------------------------------------

def test_review_loop_through_the_ui(loop):
    suite = loop.suite
    n0, n1, n2 = loop.notes
    new = note(loop.model, ["Brand new", "card"], ["t"])
    loop.suggest(loop.bob, [edited(n0, ["Front 0 fixed", "Back 0"]),
                            edited(n1, ["Front 1 <b>bold</b>", "Back 1 worse"]),
                            edited(n2, ["Front 2 <b>bold</b>", XSS]), new],
                 "Several fixes")
    r = loop.bob.post_json("/requestRemoval", {"remote_deck": loop.hash,
                                               "note_guids": [n1["guid"]],
                                               "commit_text": "duplicate",
                                               "force_overwrite": False})
    assert (r.status_code, r.text) == (200, "Success")
    before = utc(time.time() + 1)
    time.sleep(1.1)

    a = UI(suite)
    assert a.login("alice").status_code == 303
    home = a.get("/ui/")
    assert f'href="/ui/deck/{loop.hash}"' in home.text and "owner" in home.text
    page = a.get(f"/ui/deck/{loop.hash}")
    assert page.status_code == 200
    cid, removal = commit_ids(page.text)  # oldest first
    assert "Several fixes" in page.text and "bob" in page.text and "duplicate" in page.text
    assert "Note removal" in page.text

    diff = a.get(f"/ui/commit/{cid}")
    assert diff.status_code == 200
    for g in (n0["guid"], n1["guid"], n2["guid"], new["guid"]):
        assert g in diff.text
    # Field-level: the reviewed and the suggested value of the changed field.
    assert "Front 0 fixed" in diff.text and "Back 1 worse" in diff.text
    # Field HTML is shown as (sanitized) markup, escaped.
    assert "Front 0 &lt;b&gt;bold&lt;/b&gt;" in diff.text
    assert "<b>bold</b>" not in diff.text
    assert "<script" not in diff.text and "onerror" not in diff.text
    assert "<img" not in diff.text

    # Approve two notes, then deny the rest.
    for g in (n0["guid"], new["guid"]):
        r = a.post(f"/ui/commit/{cid}/approve", {"note": g})
        assert (r.status_code, r.headers["Location"]) == (303, f"/ui/commit/{cid}")
    after = a.get(f"/ui/commit/{cid}").text
    assert n0["guid"] not in after and new["guid"] not in after and n1["guid"] in after
    r = a.post(f"/ui/commit/{cid}/deny", {"reason": "not better"})
    assert (r.status_code, r.headers["Location"]) == (303, f"/ui/commit/{cid}")
    assert "Nothing is left to review" in a.get(f"/ui/commit/{cid}").text
    assert commit_ids(a.get(f"/ui/deck/{loop.hash}").text) == [removal]
    page = a.get(f"/ui/commit/{removal}").text
    assert n1["guid"] in page and "asks to delete this note" in page
    r = a.post(f"/ui/commit/{removal}/approve")
    assert (r.status_code, r.headers["Location"]) == (303, f"/ui/commit/{removal}")
    assert commit_ids(a.get(f"/ui/deck/{loop.hash}").text) == []
    # Deciding again finds nothing open.
    r = a.post(f"/ui/commit/{cid}/approve")
    assert r.status_code == 409

    # B is told, with the reason given in the form.
    c = db(suite)
    assert c.execute("SELECT n.status, n.reason FROM notifications n JOIN users u"
                     " ON u.id = n.user_id WHERE u.username = 'bob' AND n.commit_id = ?"
                     " ORDER BY n.id", (cid,)).fetchall()[-1] == ("denied", "not better")
    c.close()

    # B's next pull holds exactly the approved changes.
    got = loop.bob.pull({loop.hash: before})
    assert len(got) == 1
    pulled = {n["guid"]: n for n in got[0]["deck"]["notes"]}
    assert set(pulled) == {n0["guid"], new["guid"]}
    assert got[0]["deleted_notes"] == [n1["guid"]]
    assert pulled[n0["guid"]]["fields"] == ["Front 0 fixed", "Back 0"]
    assert pulled[new["guid"]]["fields"] == ["Brand new", "card"]
    full = {n["guid"]: n["fields"] for n in loop.full_pull()["deck"]["notes"]}
    assert n1["guid"] not in full
    assert full[n2["guid"]] == ["Front 2 <b>bold</b>", "Back 2"]


def test_raw_html_in_a_pending_row_is_shown_sanitized(loop):
    """Even a row that did not pass /submitCard's cleaning (an import, an old
    database) reaches the page only as sanitized markup, escaped."""
    suite = loop.suite
    loop.suggest(loop.bob, [edited(loop.notes[0], ["Front 0 <i>x</i>", "Back 0"])], "x")
    c = db(suite)
    c.execute("UPDATE fields SET content = ? WHERE reviewed = 0", (XSS + "<i>x</i>",))
    c.close()
    a = UI(suite)
    a.login("alice")
    [cid] = commit_ids(a.get(f"/ui/deck/{loop.hash}").text)
    diff = a.get(f"/ui/commit/{cid}").text
    assert "<script" not in diff and "onerror" not in diff and "<img" not in diff
    assert "alert" not in diff  # script content is dropped, not shown
    assert "evil&lt;i&gt;x&lt;/i&gt;" in diff


def test_outsider_sees_nothing_and_decides_nothing(loop):
    suite = loop.suite
    loop.suggest(loop.bob, [edited(loop.notes[0], ["Front 0 fixed", "Back 0"])], "typo")
    a = UI(suite)
    a.login("alice")
    [cid] = commit_ids(a.get(f"/ui/deck/{loop.hash}").text)
    for who in ("carol", "bob"):  # bob suggested, but owns nothing
        c = UI(suite)
        assert c.login(who).status_code == 303
        home = c.get("/ui/")
        assert "Pharmacology" not in home.text and loop.hash not in home.text
        assert c.get(f"/ui/deck/{loop.hash}").status_code == 403
        assert c.get(f"/ui/commit/{cid}").status_code == 403
        for verb in ("approve", "deny"):
            r = c.post(f"/ui/commit/{cid}/{verb}")
            assert r.status_code == 403, r.text
            assert "neither own nor maintain" in r.text
            r = c.post(f"/ui/commit/{cid}/{verb}", {"note": loop.notes[0]["guid"]})
            assert r.status_code == 403
        r = c.post(f"/ui/deck/{loop.hash}/maintainers",
                   {"action": "add", "username": who})
        assert r.status_code == 403
    assert commit_ids(a.get(f"/ui/deck/{loop.hash}").text) == [cid]
    full = {n["guid"]: n["fields"] for n in loop.full_pull()["deck"]["notes"]}
    assert full[loop.notes[0]["guid"]] == ["Front 0 <b>bold</b>", "Back 0"]


def test_not_found_pages(loop):
    a = UI(loop.suite)
    a.login("alice")
    for path in ("/ui/deck/no-such-deck-here", "/ui/commit/999999", "/ui/commit/abc",
                 "/ui/commit/0", f"/ui/deck/{loop.hash}/nothing", "/ui/deck/a%22b"):
        r = a.get(path)
        assert r.status_code == 404, path
        assert "<h1>404 Not Found</h1>" in r.text
    assert a.post("/ui/commit/999999/approve").status_code == 404
    assert a.post(f"/ui/deck/{loop.hash}/other").status_code == 404


def test_maintainers_add_and_remove(loop):
    suite = loop.suite
    loop.suggest(loop.bob, [edited(loop.notes[0], ["Front 0 fixed", "Back 0"])], "typo")
    a, c = UI(suite), UI(suite)
    a.login("alice")
    c.login("carol")
    assert loop.hash not in c.get("/ui/").text
    r = a.post(f"/ui/deck/{loop.hash}/maintainers", {"action": "add", "username": "Carol "})
    assert (r.status_code, r.headers["Location"]) == (303, f"/ui/deck/{loop.hash}")
    page = a.get(f"/ui/deck/{loop.hash}").text
    assert "<td>carol</td>" in page
    # Unknown users and the owner herself are refused with a reason.
    r = a.post(f"/ui/deck/{loop.hash}/maintainers", {"action": "add", "username": "nobody"})
    assert r.status_code == 400 and "no user of that name" in r.text
    r = a.post(f"/ui/deck/{loop.hash}/maintainers", {"action": "add", "username": "alice"})
    assert r.status_code == 400
    r = a.post(f"/ui/deck/{loop.hash}/maintainers", {"action": "nope", "username": "bob"})
    assert r.status_code == 400

    # The new maintainer sees the deck and its commits, and may decide...
    home = c.get("/ui/").text
    assert f'href="/ui/deck/{loop.hash}"' in home and "maintainer" in home
    page = c.get(f"/ui/deck/{loop.hash}")
    assert page.status_code == 200
    assert "Add a maintainer" not in page.text  # ... but not change maintainers
    [cid] = commit_ids(page.text)
    assert c.get(f"/ui/commit/{cid}").status_code == 200
    r = c.post(f"/ui/deck/{loop.hash}/maintainers", {"action": "remove", "username": "carol"})
    assert r.status_code == 403 and "Only the deck&#39;s owner" in r.text

    r = a.post(f"/ui/deck/{loop.hash}/maintainers", {"action": "remove", "username": "carol"})
    assert r.status_code == 303
    assert "<td>carol</td>" not in a.get(f"/ui/deck/{loop.hash}").text
    assert loop.hash not in c.get("/ui/").text
    assert c.get(f"/ui/commit/{cid}").status_code == 403
    # Maintainers are stored where the add-on's routes look (§2.9).
    d = db(suite)
    assert d.execute("SELECT count(*) FROM maintainers").fetchone()[0] == 0
    d.close()


def test_form_body_limits(loop):
    a = UI(loop.suite)
    a.login("alice")
    r = a.post("/ui/logout", {"pad": "x" * 20000})
    assert r.status_code == 413
    r = a.http.post(a.url("/ui/logout"), data=b"csrf=%zz", allow_redirects=False,
                    headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.status_code == 400
    r = a.http.put(a.url("/ui/logout"), allow_redirects=False)
    assert r.status_code == 405
