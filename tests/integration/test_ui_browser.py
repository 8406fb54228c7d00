"""The web interface in a real headless browser (issue 4): Debian's chromium,
driven over its DevTools protocol by cdp.py, logs in, opens a commit and
clicks approve on a phone-sized screen; the deck is then checked through
the add-on's API (/pullChanges)."""
import time

import pytest

import cdp
from addon import PASSWORD
from test_ui import Loop, edited, utc


def browser_or_skip():
    if cdp.find_chromium() is None:
        pytest.skip("no Chromium: install Debian's chromium (make deps) to run the browser test")
    if cdp.websocket is None:
        pytest.skip("no python3-websocket: install it (make deps) to run the browser test")
    return cdp.Browser()


def test_approve_in_a_browser(suite):
    loop = Loop(suite)
    n0, n1 = loop.notes[0], loop.notes[1]
    loop.suggest(loop.bob, [edited(n0, ["Front 0 from the browser", "Back 0"])], "typo")
    before = utc(time.time() + 1)
    time.sleep(1.1)
    base = suite.url("apid", "")

    b = browser_or_skip()
    try:
        b.start()
        b.open(base + "/ui/login")
        b.type("#u", "alice")
        b.type("#p", "wrong password")
        b.click("form button")
        b.wait("document.body.innerText.includes('Wrong user name or password')")
        b.eval("document.querySelector('#u').value = ''")
        b.type("#u", "alice")
        b.type("#p", PASSWORD)
        b.click("form button.ok")
        b.wait("location.pathname === '/ui/' && document.readyState === 'complete'")
        assert "alice" in b.text() and "Pharmacology" in b.text()
        # The session cookie is not visible to scripts (HttpOnly).
        assert "acl_session" not in b.eval("document.cookie")

        b.click(f'a[href="/ui/deck/{loop.hash}"]')
        b.wait(f"location.pathname === '/ui/deck/{loop.hash}' && "
               "document.readyState === 'complete'")
        assert "typo" in b.text() and "bob" in b.text()
        b.click('a[href^="/ui/commit/"]')
        b.wait("location.pathname.startsWith('/ui/commit/') && "
               "document.readyState === 'complete'")
        commit_path = b.eval("location.pathname")
        text = b.text()
        assert n0["guid"] in text and "Front 0 from the browser" in text
        # Usable on a phone: nothing wider than the 390 px screen.
        assert b.eval("document.documentElement.scrollWidth") <= 390

        b.click("form[action$='/approve'] button.ok")
        b.wait("document.body.innerText.includes('Nothing is left to review')",
               what="the commit to be closed")
        assert b.eval("location.pathname") == commit_path
    finally:
        b.close()

    got = loop.bob.pull({loop.hash: before})
    assert len(got) == 1
    pulled = {n["guid"]: n["fields"] for n in got[0]["deck"]["notes"]}
    assert pulled == {n0["guid"]: ["Front 0 from the browser", "Back 0"]}
    assert n1["guid"] not in pulled
