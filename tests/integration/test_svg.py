"""POST /media/sanitize/svg (spec/api.md §6.27, spec/client.md §7.5). Upstream
returns SVGs unchanged; here they are rewritten by apid/svg.c's allow-list,
refused ones are left out (the add-on then does not upload them), and the
hash is the MD5 of the content returned."""
import hashlib
import json

import pytest
import requests

from addon import Addon, add_user
from deckdb import apid_pid

PATH = "/media/sanitize/svg"
PREFIX = "Failed to deserialize the JSON body into the target type: "
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
ROOT = ('<svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink"')
RECT = '<svg xmlns="http://www.w3.org/2000/svg"><rect width="10" height="10"/></svg>'


@pytest.fixture
def env(suite):
    add_user(suite, "alice")
    suite.alice = Addon(suite, "alice")
    pid = apid_pid(suite)
    yield suite
    assert apid_pid(suite) == pid, "apid restarted"


def entry(content, name="diagram.svg"):
    return {"filename": name, "content": content}


def md5(s):
    return hashlib.md5(s.encode("utf-8")).hexdigest()


def test_client_example(env):
    r = env.alice.post_json(PATH, {"svg_files": [entry(RECT)]})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    want = HEAD + ROOT + '><rect width="10" height="10"/></svg>'
    assert r.json() == {"sanitized_files": [
        {"filename": "diagram.svg", "content": want, "hash": md5(want)}]}


def test_hostile_batch(env):
    files = [
        entry('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
              '<script>alert(1)</script><a href="javascript:alert(1)"><text>é</text></a>'
              '<use href="http://evil.example/x.svg#a"/>'
              '<foreignObject><body xmlns="http://www.w3.org/1999/xhtml"/></foreignObject>'
              '<rect style="fill:url(http://evil.example/)" fill="url(#g)"/></svg>', "a.svg"),
        entry('<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY a "aaaa">'
              '<!ENTITY b "&a;&a;&a;&a;">]><svg><text>&b;</text></svg>', "bomb.svg"),
        entry("", "empty.svg"),
        entry("<svg><g>", "broken.svg"),
        entry("<html><script>x()</script></html>", "html.svg"),
        entry(RECT, "ok.svg"),
    ]
    r = env.alice.post_json(PATH, {"svg_files": files})
    assert r.status_code == 200, r.text
    out = r.json()["sanitized_files"]
    assert [f["filename"] for f in out] == ["a.svg", "ok.svg"]
    want = (HEAD + ROOT + '><a><text>é</text></a><use/><rect fill="url(#g)"/></svg>')
    assert out[0]["content"] == want
    assert out[0]["hash"] == md5(want)
    for f in out:
        low = f["content"].lower()
        assert "script" not in low and "onload" not in low and "evil" not in low


def test_auth(env):
    anon = Addon(env)
    r = anon.post_json(PATH, {"svg_files": [entry(RECT)]}, auth=False)
    assert r.status_code == 401
    anon.token = "x" * 48
    r = anon.post_json(PATH, {"svg_files": [entry(RECT)]})
    assert r.status_code == 401


@pytest.mark.parametrize("body,status,text", [
    ({}, 422, PREFIX + "missing field `svg_files`"),
    ([], 422, PREFIX + "invalid type: expected a map"),
    ({"svg_files": None}, 422, PREFIX + "missing field `svg_files`"),
    ({"svg_files": "x"}, 422, PREFIX + "svg_files: invalid type: expected a sequence"),
    ({"svg_files": [1]}, 422, PREFIX + "svg_files[0]: invalid type: expected a map"),
    ({"svg_files": [{"filename": "a.svg"}]}, 422,
     PREFIX + "svg_files[0]: missing field `content`"),
    ({"svg_files": [{"filename": 3, "content": ""}]}, 422,
     PREFIX + "svg_files[0].filename: invalid type: expected a string"),
    ({"svg_files": []}, 400, "No SVG files provided"),
    ({"svg_files": [entry(RECT)] * 251}, 400, "Too many files in single request"),
    ({"svg_files": [entry("x" * 524288), entry("y" * 524289)]}, 400,
     "Total batch size too large"),
])
def test_body_errors(env, body, status, text):
    r = env.alice.post_json(PATH, body)
    assert (r.status_code, r.text) == (status, text)


def test_limits_accepted(env):
    # 250 files and exactly 1 MiB in all are within the limits.
    r = env.alice.post_json(PATH, {"svg_files": [entry(RECT)] * 250})
    assert r.status_code == 200
    assert len(r.json()["sanitized_files"]) == 250
    pad = 1048576 - len(RECT)
    r = env.alice.post_json(PATH, {"svg_files": [entry(RECT), entry(" " * pad)]})
    assert r.status_code == 200
    assert len(r.json()["sanitized_files"]) == 1


def test_malformed_json(env):
    r = requests.post(env.alice.url(PATH), data="{not json",
                      headers={"Content-Type": "application/json", **env.alice.headers()},
                      timeout=30)
    assert r.status_code == 400
    r = requests.post(env.alice.url(PATH), data=json.dumps({"svg_files": []}),
                      headers={"Content-Type": "text/plain", **env.alice.headers()},
                      timeout=30)
    assert r.status_code == 415
