"""Issue 6: whole JSON and text answers are gzipped for clients that accept it
(the add-on's requests sends Accept-Encoding: gzip); already compressed bodies
are left alone."""
import base64
import gzip
import http.client
import json

WORDS = ["alpha", "beta", "gamma", "delta", "echo"]


def unknown_hashes(n):
    return ["-".join(WORDS + ["".join(chr(97 + int(d)) for d in f"{i:02d}")]) for i in range(n)]


def ask(suite, accept, body):
    c = http.client.HTTPConnection("127.0.0.1", suite.ports["apid"], timeout=5)
    headers = {"Content-Type": "application/json"}
    if accept is not None:
        headers["Accept-Encoding"] = accept
    c.request("POST", "/CheckDeckAlive", body=body, headers=headers)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r, data


def test_gzip_when_accepted(suite):
    body = json.dumps({"deck_hashes": unknown_hashes(40)})
    plain_r, plain = ask(suite, None, body)
    assert plain_r.status == 200 and plain_r.getheader("Content-Encoding") is None
    assert json.loads(plain) == unknown_hashes(40) and len(plain) > 512
    for accept in ("gzip, deflate", "br;q=1, GZIP", "gzip;q=0.5"):
        r, data = ask(suite, accept, body)
        assert r.getheader("Content-Encoding") == "gzip", accept
        assert r.getheader("Vary") == "Accept-Encoding"
        assert int(r.getheader("Content-Length")) == len(data) < len(plain)
        assert gzip.decompress(data) == plain
    for accept in ("deflate", "gzip;q=0", "x-gzip"):
        r, data = ask(suite, accept, body)
        assert r.getheader("Content-Encoding") is None, accept
        assert data == plain


def test_small_answers_stay_plain(suite):
    r, data = ask(suite, "gzip", json.dumps({"deck_hashes": unknown_hashes(1)}))
    assert r.getheader("Content-Encoding") is None
    assert json.loads(data) == unknown_hashes(1)


def test_pull_answers_are_not_gzipped_again(suite):
    c = http.client.HTTPConnection("127.0.0.1", suite.ports["apid"], timeout=5)
    c.request("POST", "/pullChanges", body="{}",
              headers={"Content-Type": "application/json", "Accept-Encoding": "gzip"})
    r = c.getresponse()
    data = r.read()
    c.close()
    assert r.status == 200 and r.getheader("Content-Encoding") is None
    assert json.loads(gzip.decompress(base64.b64decode(data))) == []
