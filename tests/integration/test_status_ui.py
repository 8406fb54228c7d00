"""Issue 6: /ui/status is a page with the suite's figures and inline SVG charts of the
last hour, no external assets, public and never rate-limited; its script fetches
/ui/status.json, whose figures and charts follow the suite."""
import re
import time
import xml.dom.minidom

import requests

from suite import DAEMONS, wait_for


def test_page_renders_figures_and_svg_charts(make_suite):
    s = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "1"})
    st = s.status()
    time.sleep(1.1)   # a rate needs apid up for a second (time() resolution)
    r = requests.get(s.url("apid", "/ui/status"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    page = r.text
    assert page.lower().startswith("<!doctype html>")
    svgs = re.findall(r"<svg .*?</svg>", page, re.S)
    assert len(svgs) == 3
    for svg in svgs:          # each chart is well-formed SVG with a line for now
        doc = xml.dom.minidom.parseString(svg)
        assert doc.getElementsByTagName("polyline")
    for name in DAEMONS:
        assert f'<td id="f-{name}-state">running</td>' in page
        assert f'<td id="f-{name}-pid">{st[name]["pid"]}</td>' in page
    # Nothing is fetched from elsewhere: every src and href is a path of ours,
    # and the CSP runs only our own script, which polls the JSON.
    for ref in re.findall(r"\b(?:src|href)\s*=\s*\"?([^\" >]+)", page):
        assert ref.startswith("/ui/"), ref
    assert "script-src 'self'" in r.headers["Content-Security-Policy"]
    assert '<script src="/ui/status.js"></script>' in page
    js = requests.get(s.url("apid", "/ui/status.js"), timeout=5)
    assert js.status_code == 200 and "fetch('/ui/status.json'" in js.text
    # Public and never limited, like /health.
    for _ in range(5):
        assert requests.get(s.url("apid", "/ui/status"), timeout=5).status_code == 200


def test_json_updates(suite):
    def get():
        r = requests.get(suite.url("apid", "/ui/status.json"), timeout=5)
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
        return r.json()

    first = get()
    assert first["healthy"] is True
    assert set(first["charts"]) == {"memory", "requests", "storage"}
    assert all(c.startswith("<svg ") and c.endswith("</svg>") for c in first["charts"].values())
    page = requests.get(suite.url("apid", "/ui/status"), timeout=5).text
    for key in first["figures"]:       # every figure has its place on the page
        assert f'id="f-{key}"' in page
    for _ in range(5):
        requests.post(suite.url("apid", "/CheckDeckAlive"), json={"deck_hashes": []}, timeout=5)
    later = wait_for(lambda: (j := get())["figures"]["updated"] != first["figures"]["updated"]
                     and j, 5, interval=0.2, what="a newer view")
    assert int(later["figures"]["requests"]) >= int(first["figures"]["requests"]) + 5
    suite.ctl("stop", "gcd")
    down = wait_for(lambda: (j := get())["figures"]["gcd-state"] == "stopped" and j, 5,
                    what="gcd stopped on the status page")
    assert down["healthy"] is False and down["figures"]["status"] == "degraded"
    assert down["figures"]["gcd-pid"] == "0"
