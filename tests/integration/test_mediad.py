"""mediad against the real suite: /v1/media PUT/GET/HEAD/OPTIONS, /v1/cache/object,
the MEDIA_* proto service on mediad.sock, and crash safety of the media folder.

Tokens are minted here in Python with the suite's own secret
(data_dir/secrets/media_token_secret), in the §8 format, and the minting helper
is itself checked against the spec's test vectors. Uploads are sent as the
add-on sends them (client.md §2.5, §7.4): PUT with the raw bytes,
Authorization: Bearer, Content-Type by extension and Content-MD5.

Every refused request is checked for its status and text, for an empty spool/
and no new file in media/, and mediad is checked to be the same process after.
"""
import base64
import gzip
import hashlib
import hmac
import itertools
import json
import os
import random
import shutil
import signal
import socket
import struct
import time

import pytest
import requests

from suite import Suite, wait_for

VECTOR_SECRET = "0123456789abcdef0123456789abcdef"
DECK = "white-berlin-nineteen-white-lima-hot"
MAX = 10 * 1024 * 1024
API_TOKEN = "A" * 48  # the add-on's Bearer token; mediad does not look at it
CORS = {"Access-Control-Allow-Origin": "*",
        "Access-Control-Allow-Methods": "GET, PUT, OPTIONS",
        "Access-Control-Allow-Headers": "Content-Type, Authorization"}
# The add-on's Content-Type by extension (media_manager).
ADDON_TYPES = {"webp": "image/webp", "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png",
               "gif": "image/gif", "svg": "image/svg+xml", "bmp": "image/bmp",
               "tif": "image/tiff", "tiff": "image/tiff", "mp3": "audio/mpeg", "ogg": "audio/ogg"}

# ---- minting (spec/api.md §8) ------------------------------------------------------------

# Tokens with equal claims are equal strings and share their replay count; a test
# minting several for one file in one second wants distinct ones.
_serial = itertools.count()


def default_exp():
    return int(time.time()) + 900 + next(_serial)



def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def sign(secret, payload_bytes):
    mac = hmac.new(secret.encode(), payload_bytes, hashlib.sha256).digest()
    return b64url(payload_bytes) + "." + b64url(mac)


def payload_json(envelope):
    """Compact JSON in insertion order, escaped as serde_json escapes."""
    return json.dumps(envelope, separators=(",", ":"), ensure_ascii=False).encode()


def upload_payload(hash_, file_size, filename="image.png", exp=None, user_id=42, note_id=9912345,
                   deck_hash=DECK, batch_id="c5b1a3a0-0d55-4c2f-9f0e-2b8c5f3f8f4e"):
    exp = default_exp() if exp is None else exp
    return {"version": 1, "payload": {
        "kind": "upload", "hash": hash_, "user_id": user_id, "note_id": note_id,
        "filename": filename, "file_size": file_size, "deck_hash": deck_hash,
        "batch_id": batch_id, "exp": exp}}


def download_payload(hash_, filename="image.png", exp=None, user_id=42, deck_hash=DECK):
    exp = default_exp() if exp is None else exp
    return {"version": 1, "payload": {
        "kind": "download", "hash": hash_, "user_id": user_id, "deck_hash": deck_hash,
        "filename": filename, "exp": exp}}


def cache_payload(s3_key, content_type="application/json", exp=None, deck_hash=DECK):
    exp = default_exp() if exp is None else exp
    return {"version": 1, "claims": {"deck_hash": deck_hash, "s3_key": s3_key,
                                     "content_type": content_type, "exp": exp}}


def mint(secret, envelope):
    return sign(secret, payload_json(envelope))


def content_md5(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# ---- media samples ---------------------------------------------------------------------------


def sample(kind, size=2000, seed=1):
    rnd = random.Random(seed).randbytes(max(size, 64))
    heads = {
        "png": b"\x89PNG\r\n\x1a\n",
        "jpg": b"\xff\xd8\xff\xe0",
        "gif": b"GIF89a",
        "webp": b"RIFF\x00\x00\x00\x00WEBPVP8 ",
        "mp3": b"ID3\x03\x00",
        "ogg": b"OggS\x00",
        "elf": b"\x7fELF\x02\x01\x01\x00",
        "zip": b"PK\x03\x04",
        "pdf": b"%PDF-1.7\n",
    }
    if kind == "svg":
        body = (b'<?xml version="1.0"?>\n<SVG xmlns="http://www.w3.org/2000/svg">'
                b'<circle r="4"/></SVG>\n')
        return body + b" " * max(0, size - len(body))
    if kind == "mp3frame":  # no tag: an MPEG-1 layer III frame header at offset 100
        data = bytearray(b"\x00" * size)
        data[100:104] = b"\xff\xfb\x90\x64"
        return bytes(data)
    data = heads[kind] + rnd[len(heads[kind]):]
    return data[:size]


# ---- the suite ----------------------------------------------------------------------------------


class Media:
    """One suite's mediad, as the add-on and the website see it."""

    def __init__(self, suite, secret=None):
        self.s = suite
        if secret is None:
            with open(os.path.join(suite.data_dir, "secrets", "media_token_secret")) as f:
                secret = f.read().strip()
        self.secret = secret
        self.http = requests.Session()

    def url(self, path):
        return self.s.url("mediad", path)

    def pid(self):
        return self.s.health("mediad")["pid"]

    def put(self, hash_, data, token=None, filename="image.png", size=None, headers=None,
            md5=True):
        if token is None:
            token = mint(self.secret, upload_payload(hash_, len(data) if size is None else size,
                                                     filename=filename))
        h = {"Authorization": f"Bearer {API_TOKEN}",
             "Content-Type": ADDON_TYPES.get(filename.rsplit(".", 1)[-1].lower(),
                                             "application/octet-stream")}
        if md5:
            h["Content-MD5"] = content_md5(data)
        h.update(headers or {})
        return self.http.put(self.url(f"/v1/media/{hash_}?token={token}"), data=data,
                             headers=h, timeout=60)

    def get(self, hash_, token=None, filename="image.png", headers=None, method="GET"):
        if token is None:
            token = mint(self.secret, download_payload(hash_, filename=filename))
        h = {"Authorization": f"Bearer {API_TOKEN}"}
        h.update(headers or {})
        return self.http.request(method, self.url(f"/v1/media/{hash_}?token={token}"),
                                 headers=h, timeout=60)

    def stored(self, hash_):
        return os.path.join(self.s.data_dir, "media", hash_[:2], hash_)

    def media_files(self):
        out = set()
        for root, _dirs, files in os.walk(os.path.join(self.s.data_dir, "media")):
            out.update(files)
        return out

    def spool(self):
        return os.listdir(os.path.join(self.s.data_dir, "spool"))

    def store(self, data, filename="image.png"):
        h = hashlib.md5(data).hexdigest()
        r = self.put(h, data, filename=filename)
        assert r.status_code == 200, r.text
        return h


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    s = Suite(str(tmp_path_factory.mktemp("mediad")))
    s.start()
    try:
        yield Media(s)
    finally:
        s.stop()
        s.log.close()


@pytest.fixture
def clean(media):
    """Checks after the test that nothing was left behind and mediad did not restart."""
    pid = media.pid()
    yield media
    assert media.spool() == []
    assert media.pid() == pid


def read_stored(media, hash_):
    """The original bytes of a stored file: media/xx/<md5>, or gzipped as <md5>.gz."""
    path = media.stored(hash_)
    if os.path.exists(path):
        assert not os.path.exists(path + ".gz")
        with open(path, "rb") as f:
            return f.read()
    with gzip.open(path + ".gz", "rb") as f:
        return f.read()


def refused(media, r, status, text, hash_=None):
    assert (r.status_code, r.text) == (status, text)
    assert media.spool() == []
    if hash_ is not None:
        assert not os.path.exists(media.stored(hash_))


# ---- the §8 vectors ----------------------------------------------------------------------------


def test_minting_helper_reproduces_the_spec_vectors():
    dl = download_payload("9e107d9d372bb6826bd81d3542a419d6", "heart.png", exp=1750000000)
    assert mint(VECTOR_SECRET, dl) == (
        "eyJ2ZXJzaW9uIjoxLCJwYXlsb2FkIjp7ImtpbmQiOiJkb3dubG9hZCIsImhhc2giOiI5ZTEwN2Q5ZDM3Mm"
        "JiNjgyNmJkODFkMzU0MmE0MTlkNiIsInVzZXJfaWQiOjQyLCJkZWNrX2hhc2giOiJ3aGl0ZS1iZXJsaW4t"
        "bmluZXRlZW4td2hpdGUtbGltYS1ob3QiLCJmaWxlbmFtZSI6ImhlYXJ0LnBuZyIsImV4cCI6MTc1MDAwMD"
        "AwMH19.p_v3U5O5VoJr_ylHzY7RxsB7DZRBMJhJkK_lC-FwzfI")
    up = upload_payload("e4d909c290d0fb1ca068ffaddf22cbd0", 812004, "murmur.mp3", exp=1750000000)
    assert mint(VECTOR_SECRET, up).split(".")[1] == "02Dg62JkDChJCtOTuDT-sGrwubORvtxjdi7XcudIwYA"
    ca = cache_payload(f"decks/{DECK}/manifest/20250610T000000Z.json", exp=1750000000)
    assert mint(VECTOR_SECRET, ca).split(".")[1] == "21okV2Dz5KOoZ5_-9WTaZQl3F3BO9_U13i9Y4xLc-f0"
    assert hashlib.md5(b"The quick brown fox jumps over the lazy dog").hexdigest() == \
        "9e107d9d372bb6826bd81d3542a419d6"
    assert content_md5(b"") == "1B2M2Y8AsgTpgAmY7PhCfg=="


def test_configured_secret_and_website_tokens(make_suite):
    """With the vector secret configured, the vector token itself is expired (401) and a
    website-style download token (filename null) minted the same way works."""
    s = make_suite(extra={"mediad": {"media_token_secret": VECTOR_SECRET}})
    m = Media(s, VECTOR_SECRET)
    data = b"The quick brown fox jumps over the lazy dog"
    h = "9e107d9d372bb6826bd81d3542a419d6"
    r = m.put(h, data, filename="fox.svg")
    assert r.status_code == 400  # not media: no <svg
    svg = b"<svg>" + data + b"</svg>"
    h = m.store(svg, "fox.svg")
    vector = mint(VECTOR_SECRET, download_payload(h, "heart.png", exp=1750000000))
    assert (m.get(h, vector).status_code, m.get(h, vector).text) == (401, "Unauthorized")
    site = mint(VECTOR_SECRET, download_payload(h, None, user_id=7))
    r = m.get(h, site)
    assert r.status_code == 200 and r.content == svg
    assert r.headers["Content-Type"] == "application/octet-stream"
    # A token signed with another secret is refused.
    other = mint("x" * 32, download_payload(h, "fox.svg"))
    assert m.get(h, other).status_code == 401


# ---- uploads and downloads -----------------------------------------------------------------------


@pytest.mark.parametrize("kind,filename,mime", [
    ("png", "heart.png", "image/png"), ("jpg", "photo.JPG", "image/jpeg"),
    ("gif", "anim.gif", "image/gif"), ("webp", "img_47755a48.webp", "image/webp"),
    ("mp3", "sound.mp3", "audio/mpeg"), ("ogg", "voice.ogg", "audio/ogg"),
    ("svg", "diagram.svg", "image/svg+xml"), ("mp3frame", "raw.mp3", "audio/mpeg"),
    ("png", "notes.oga", "audio/ogg"), ("png", "scan.tiff", "image/tiff"),
])
def test_upload_then_download_byte_for_byte(clean, kind, filename, mime):
    m = clean
    data = sample(kind, 5000, seed=hash(filename) & 0xffff)
    h = hashlib.md5(data).hexdigest()
    r = m.put(h, data, filename=filename)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == "application/json"
    assert r.text == ('{"status":"stored","hash":"%s","media_id":0,'
                      '"batch_id":"c5b1a3a0-0d55-4c2f-9f0e-2b8c5f3f8f4e"}' % h)
    for k, v in CORS.items():
        assert r.headers[k] == v
    assert read_stored(m, h) == data

    r = m.get(h, filename=filename)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Type"] == mime
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["ETag"] == f'"{h}"'
    for k, v in CORS.items():
        assert r.headers[k] == v


def test_streamed_download_like_the_addon(clean):
    """stream=True, 128 KiB chunks, into <name>.tmp.<hex>, as media_manager does."""
    m = clean
    data = sample("png", MAX, seed=5)
    h = m.store(data)
    url = m.url(f"/v1/media/{h}?token={mint(m.secret, download_payload(h))}")
    with m.http.get(url, headers={"Authorization": f"Bearer {API_TOKEN}"}, stream=True,
                    timeout=60) as r:
        assert r.status_code == 200
        got = b"".join(r.iter_content(128 * 1024))
    assert got == data


def test_batch_id_null_and_placeholder_note(clean):
    m = clean
    data = sample("png", 300, seed=77)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, len(data), note_id=-1, batch_id=None))
    r = m.put(h, data, tok)
    assert r.status_code == 200
    assert r.json() == {"status": "stored", "hash": h, "media_id": 0, "batch_id": None}


def test_largest_file_and_one_byte_more(clean):
    m = clean
    data = sample("png", MAX, seed=9)
    h = m.store(data)
    assert os.path.getsize(m.stored(h)) == MAX
    big = data + b"x"
    hb = hashlib.md5(big).hexdigest()
    tok = mint(m.secret, upload_payload(hb, MAX + 1))
    refused(m, m.put(hb, big, tok), 413, "File exceeds maximum size", hb)


def test_already_stored_answers_200_and_keeps_one_copy(clean):
    m = clean
    data = sample("png", 4000, seed=11)
    h = m.store(data)
    st = os.stat(m.stored(h))
    r = m.put(h, data)  # another token, as a second user would have
    assert r.status_code == 200 and r.json()["status"] == "stored"
    st2 = os.stat(m.stored(h))
    # The same file, its time renewed: a stray sweep must not take it now.
    assert st.st_ino == st2.st_ino and st2.st_mtime_ns >= st.st_mtime_ns
    assert m.spool() == []


def test_head_and_options(clean):
    m = clean
    data = sample("gif", 3333, seed=3)
    h = m.store(data, "a.gif")
    r = m.get(h, filename="a.gif", method="HEAD")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == "3333"
    assert r.headers["Content-Type"] == "image/gif"
    r = m.http.options(m.url(f"/v1/media/{h}"))
    assert r.status_code == 204
    for k, v in CORS.items():
        assert r.headers[k] == v


def test_upload_without_content_md5_and_chunked(clean):
    m = clean
    data = sample("webp", 200000, seed=4)
    h = hashlib.md5(data).hexdigest()
    assert m.put(h, data, filename="x.webp", md5=False).status_code == 200
    data2 = sample("webp", 200000, seed=44)
    h2 = hashlib.md5(data2).hexdigest()
    tok = mint(m.secret, upload_payload(h2, len(data2), "y.webp"))
    r = m.http.put(m.url(f"/v1/media/{h2}?token={tok}"),
                   data=(data2[i:i + 7000] for i in range(0, len(data2), 7000)), timeout=60)
    assert r.status_code == 200, r.text
    with open(m.stored(h2), "rb") as f:
        assert f.read() == data2


# ---- refusals: status, text, nothing left, same process ---------------------------------------------


def test_wrong_md5(clean):
    m = clean
    data = sample("png", 1000, seed=12)
    wrong = hashlib.md5(b"other").hexdigest()
    refused(m, m.put(wrong, data, headers={"Content-MD5": content_md5(data)}), 400,
            "Upload does not match its MD5 hash", wrong)


def test_wrong_and_malformed_content_md5(clean):
    m = clean
    data = sample("png", 1000, seed=13)
    h = hashlib.md5(data).hexdigest()
    refused(m, m.put(h, data, headers={"Content-MD5": content_md5(b"x")}), 400,
            "Content-MD5 does not match the upload", h)
    refused(m, m.put(h, data, headers={"Content-MD5": h}), 400, "Invalid Content-MD5 header", h)


def test_body_larger_than_the_token_allows(clean):
    m = clean
    data = sample("png", 1000, seed=14)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, 999))
    refused(m, m.put(h, data, tok), 413, "File exceeds maximum size", h)
    # Chunked: no Content-Length to refuse up front; refused once past 999 bytes.
    tok = mint(m.secret, upload_payload(h, 999))
    r = m.http.put(m.url(f"/v1/media/{h}?token={tok}"),
                   data=(data[i:i + 100] for i in range(0, len(data), 100)), timeout=60)
    refused(m, r, 413, "File exceeds maximum size", h)


def test_big_body_refused_before_it_is_read(clean):
    """A used-up or expired token, or a body over the token's size, is answered at
    once; the client, still sending, gets the answer (the layer reads and drops
    the rest for a moment) and nothing is spooled."""
    m = clean
    data = sample("png", 8 * 1024 * 1024, seed=24)
    h = hashlib.md5(data).hexdigest()
    expired = mint(m.secret, upload_payload(h, len(data), exp=int(time.time()) - 5))
    refused(m, m.put(h, data, expired), 401, "Unauthorized", h)
    small = mint(m.secret, upload_payload(h, 1000))
    refused(m, m.put(h, data, small), 413, "File exceeds maximum size", h)


def test_body_shorter_than_announced(clean):
    m = clean
    data = sample("png", 1000, seed=15)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, 1001))
    refused(m, m.put(h, data, tok), 400,
            "Upload length does not match the announced file size", h)


def test_zero_bytes(clean):
    m = clean
    h = hashlib.md5(b"").hexdigest()
    tok = mint(m.secret, upload_payload(h, 10))
    refused(m, m.put(h, b"", tok), 400, "Empty upload body", h)
    tok = mint(m.secret, upload_payload(h, 10))
    r = m.http.put(m.url(f"/v1/media/{h}?token={tok}"), data=iter([]), timeout=10)
    refused(m, r, 400, "Empty upload body", h)


@pytest.mark.parametrize("kind", ["elf", "zip", "pdf"])
def test_disguised_non_media(clean, kind):
    m = clean
    data = sample(kind, 3000, seed=16)
    if kind == "elf":
        data = data[:1000] + b"<svg>" + data[1005:]  # "<svg" does not excuse an executable
    h = hashlib.md5(data).hexdigest()
    refused(m, m.put(h, data, filename="cute.png"), 400,
            "File content is not an image or audio file", h)


def test_real_executable_as_png(clean):
    m = clean
    with open(shutil.which("true") or "/bin/true", "rb") as f:
        data = f.read()[:MAX]
    h = hashlib.md5(data).hexdigest()
    refused(m, m.put(h, data, filename="heart.png"), 400,
            "File content is not an image or audio file", h)


def test_unknown_bytes(clean):
    m = clean
    data = bytes(range(32, 127)) * 20
    h = hashlib.md5(data).hexdigest()
    refused(m, m.put(h, data, filename="x.svg"), 400,
            "File content is not a recognised image or audio format", h)


@pytest.mark.parametrize("path", [
    "9E107D9D372BB6826BD81D3542A419D6", "9e107d9d372bb6826bd81d3542a419d", "9e107d9d372bb6826bd81d3542a419d6a",
    "9e107d9d372bb6826bd81d3542a419dg", "..%2f..%2fsecrets%2fmedia_token_secret", "", "a/b",
])
def test_bad_hash_in_path(clean, path):
    m = clean
    data = sample("png", 100)
    tok = mint(m.secret, upload_payload(path, 100))
    refused(m, m.put(path, data, tok), 400, "Invalid media hash")
    assert m.get(path, mint(m.secret, download_payload(path))).text == "Invalid media hash"


def test_path_traversal_raw(clean):
    """Dot segments sent as they are (requests would not send them)."""
    m = clean
    for target in ("/v1/media/../../secrets/media_token_secret?token=x",
                   "/v1/media/../secrets/x?token=x", "/v1/media/%2e%2e/%2e%2e/etc/passwd?token=x"):
        with socket.create_connection(("127.0.0.1", m.s.ports["mediad"]), timeout=5) as c:
            c.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            got = b""
            while (chunk := c.recv(65536)):
                got += chunk
        head, _, body = got.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400 ") and body == b"Invalid media hash", got


def test_token_refusals(clean):
    m = clean
    data = sample("png", 500, seed=17)
    h = hashlib.md5(data).hexdigest()
    past = int(time.time()) - 5  # time() in C may lag time.time() by a tick
    cases = [
        mint(m.secret, upload_payload(h, 500, exp=past)),                  # expired
        mint(m.secret, download_payload(h)),                               # download token for PUT
        mint(m.secret, upload_payload(hashlib.md5(b"z").hexdigest(), 500)),  # another hash
        mint("y" * 64, upload_payload(h, 500)),                            # another secret
        mint(m.secret, cache_payload("decks/x.json")),                     # a cache token
        "", "abc", "a.b.c",
    ]
    good = mint(m.secret, upload_payload(h, 500))
    p, sig = good.split(".")
    cases += [p[:-1] + ("A" if p[-1] != "A" else "B") + "." + sig,          # tampered claims
              p + "." + sig[:-1] + ("A" if sig[-1] != "A" else "B"),        # tampered MAC
              p + "==." + sig, good + "."]
    tampered = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
    tampered["payload"]["file_size"] = 10 ** 6
    cases.append(b64url(payload_json(tampered)) + "." + sig)              # re-encoded claims, old MAC
    for tok in cases:
        refused(m, m.put(h, data, tok), 401, "Unauthorized", h)
    # The token is still good after all that.
    assert m.put(h, data, good).status_code == 200


def test_upload_token_for_get_and_expired_download(clean):
    m = clean
    data = sample("png", 500, seed=18)
    h = m.store(data)
    assert m.get(h, mint(m.secret, upload_payload(h, 500))).status_code == 401
    r = m.get(h, mint(m.secret, download_payload(h, exp=int(time.time()) - 5)))
    assert (r.status_code, r.text) == (401, "Unauthorized")
    r = m.get(h, mint(m.secret, download_payload(hashlib.md5(b"q").hexdigest())))
    assert (r.status_code, r.text) == (401, "Unauthorized")


def test_bad_file_size_claims(clean):
    m = clean
    data = sample("png", 500, seed=19)
    h = hashlib.md5(data).hexdigest()
    for size in (0, -5):
        refused(m, m.put(h, data, mint(m.secret, upload_payload(h, size))), 400,
                "Invalid file size", h)
    refused(m, m.put(h, data, mint(m.secret, upload_payload(h, MAX + 1))), 413,
            "File exceeds maximum size", h)


def test_query_string_rules(clean):
    m = clean
    data = sample("png", 500, seed=20)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, 500))
    prefix = "Failed to deserialize query string: "
    for q, text in [
        (f"token={tok}&x=1", "unknown field `x`, expected `token`"),
        (f"x=1&token={tok}", "unknown field `x`, expected `token`"),
        (f"token={tok}&token={tok}", "duplicate field `token`"),
        ("", "missing field `token`"),
        ("tok=1", "unknown field `tok`, expected `token`"),
    ]:
        r = m.http.put(m.url(f"/v1/media/{h}?{q}"), data=data, timeout=10)
        refused(m, r, 400, prefix + text, h)
        r = m.http.get(m.url(f"/v1/media/{h}?{q}"), timeout=10)
        assert (r.status_code, r.text) == (400, prefix + text)
    # A NUL does not cut a name or a token short.
    r = m.http.put(m.url(f"/v1/media/{h}?token%00={tok}"), data=data, timeout=10)
    refused(m, r, 400, prefix + "unknown field `token`, expected `token`", h)
    r = m.http.put(m.url(f"/v1/media/{h}?token={tok}%00x"), data=data, timeout=10)
    refused(m, r, 401, "Unauthorized", h)
    # Percent-encoding is decoded, in names and values; "&&" is nothing.
    enc = "".join(f"%{b:02X}" for b in tok.encode())
    r = m.http.put(m.url(f"/v1/media/{h}?&t%6Fken={enc}&"), data=data, timeout=10)
    assert r.status_code == 200, r.text


def test_seventh_upload_use_is_refused(clean):
    m = clean
    data = sample("png", 700, seed=21)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, 700))
    for _ in range(6):
        assert m.put(h, data, tok).status_code == 200
    refused(m, m.put(h, data, tok), 401, "Unauthorized")
    assert os.path.exists(m.stored(h))
    # Failed uses do not count: a fresh token fails 3 times, then works.
    tok = mint(m.secret, upload_payload(h, 700))
    for _ in range(3):
        assert m.put(h, data[:-1] + b"!", tok).status_code == 400
    assert m.put(h, data, tok).status_code == 200


def test_fourth_download_use_is_refused(clean):
    m = clean
    data = sample("png", 800, seed=22)
    h = m.store(data)
    tok = mint(m.secret, download_payload(h))
    for _ in range(3):
        assert m.get(h, tok).content == data
    r = m.get(h, tok)
    assert (r.status_code, r.text) == (401, "Unauthorized")
    # Missing files cost a use too (counted before the lookup) and answer 404.
    missing = hashlib.md5(b"never stored").hexdigest()
    tok = mint(m.secret, download_payload(missing))
    for _ in range(3):
        r = m.get(missing, tok)
        assert (r.status_code, r.text) == (404, "File not found")
    assert m.get(missing, tok).status_code == 401


def test_ranges(clean):
    m = clean
    data = sample("png", 10000, seed=23)
    h = m.store(data)

    def rng(value, **extra):
        return m.get(h, headers={"Range": value, **extra})

    r = rng("bytes=0-9")
    assert r.status_code == 206 and r.content == data[:10]
    assert r.headers["Content-Range"] == "bytes 0-9/10000"
    assert r.headers["Content-Length"] == "10"
    r = rng("bytes=9990-")
    assert r.status_code == 206 and r.content == data[9990:]
    r = rng("bytes=-16")
    assert r.status_code == 206 and r.content == data[-16:]
    assert r.headers["Content-Range"] == "bytes 9984-9999/10000"
    r = rng("bytes=5000-99999")
    assert r.status_code == 206 and r.content == data[5000:]
    r = rng("bytes=10000-")
    assert r.status_code == 416 and r.headers["Content-Range"] == "bytes */10000"
    r = rng("bytes=-0")
    assert r.status_code == 416
    for ignored in ("bytes=5-1", "items=0-1", "bytes=0-1,5-6", "bytes=x"):
        r = rng(ignored)
        assert r.status_code == 200 and r.content == data, ignored
    r = rng("bytes=0-0", **{"If-Range": '"other"'})
    assert r.status_code == 200 and r.content == data
    r = rng("bytes=0-0", **{"If-Range": f'"{h}"'})
    assert r.status_code == 206 and r.content == data[:1]
    r = m.get(h, headers={"If-None-Match": f'"{h}"'})
    assert r.status_code == 304 and r.content == b""
    assert r.headers["ETag"] == f'"{h}"'


def big_svg(seed, n=400):
    rnd = random.Random(seed)
    parts = [b'<?xml version="1.0" encoding="UTF-8"?>\n'
             b'<svg xmlns="http://www.w3.org/2000/svg" width="800" height="600">\n']
    for i in range(n):
        parts.append(b'  <circle cx="%d" cy="%d" r="%d" fill="#%06x"/>\n' % (
            rnd.randrange(800), rnd.randrange(600), rnd.randrange(1, 50), rnd.randrange(1 << 24)))
    parts.append(b"</svg>\n")
    return b"".join(parts)


def test_svg_stored_gzipped_served_as_original(clean):
    """SVG kept as media/xx/<md5>.gz, GET/HEAD/Range give the original bytes, MD5 unchanged."""
    m = clean
    data = big_svg(7)
    h = hashlib.md5(data).hexdigest()
    r = m.put(h, data, filename="diagram.svg")
    assert r.status_code == 200, r.text
    path = m.stored(h)
    assert not os.path.exists(path) and os.path.exists(path + ".gz")
    on_disk = os.path.getsize(path + ".gz")
    assert on_disk < len(data) * 0.9
    with open(path + ".gz", "rb") as f:
        raw = f.read()
    assert raw[:2] == b"\x1f\x8b" and gzip.decompress(raw) == data

    r = m.get(h, filename="diagram.svg")
    assert r.status_code == 200 and r.content == data
    assert hashlib.md5(r.content).hexdigest() == h
    assert r.headers["Content-Length"] == str(len(data))
    assert r.headers["Content-Type"] == "image/svg+xml"
    assert r.headers["ETag"] == f'"{h}"' and "Content-Encoding" not in r.headers
    r = m.get(h, filename="diagram.svg", method="HEAD")
    assert r.status_code == 200 and r.content == b""
    assert r.headers["Content-Length"] == str(len(data))
    n = len(data)
    for value, first, last in (("bytes=0-9", 0, 9), ("bytes=1000-4999", 1000, 4999),
                               (f"bytes={n - 100}-", n - 100, n - 1), ("bytes=-16", n - 16, n - 1),
                               ("bytes=5000-99999999", 5000, n - 1)):
        r = m.get(h, filename="diagram.svg", headers={"Range": value})
        assert r.status_code == 206, value
        assert r.content == data[first:last + 1], value
        assert r.headers["Content-Range"] == f"bytes {first}-{last}/{n}"
        assert r.headers["Content-Length"] == str(last - first + 1)
    r = m.get(h, filename="diagram.svg", headers={"Range": f"bytes={n}-"})
    assert r.status_code == 416 and r.headers["Content-Range"] == f"bytes */{n}"
    # Streamed in small pieces, as the add-on reads, and on a kept-alive connection.
    url = m.url(f"/v1/media/{h}?token={mint(m.secret, download_payload(h, filename='d.svg'))}")
    with m.http.get(url, stream=True, timeout=60) as r:
        assert b"".join(r.iter_content(1000)) == data
    # The proto service tells the original length; a second upload keeps one copy.
    assert Proto(m.s).stat([h]) == [(1, len(data))]
    assert m.put(h, data, filename="diagram.svg").status_code == 200
    assert [f for f in m.media_files() if f.startswith(h)] == [h + ".gz"]
    assert Proto(m.s).delete([h]) == (1, 0, on_disk)
    assert m.get(h, filename="diagram.svg").status_code == 404


def test_big_gzipped_svg_streams_to_concurrent_clients(clean):
    """MiBs inflated as the clients read, several at once, whole and partial."""
    import concurrent.futures
    m = clean
    data = big_svg(9, 70000)
    assert len(data) > 2 * 1024 * 1024
    h = m.store(data, "big.svg")
    assert os.path.exists(m.stored(h) + ".gz")

    def get(i):
        tok = mint(m.secret, download_payload(h, filename="big.svg"))
        hdr = {"Range": f"bytes={i * 1000}-"} if i % 2 else {}
        r = requests.get(m.url(f"/v1/media/{h}?token={tok}"), headers=hdr, timeout=60)
        return r.status_code, hashlib.md5(r.content).hexdigest(), len(r.content)

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        got = list(ex.map(get, range(8)))
    for i, (status, digest, n) in enumerate(got):
        if i % 2:
            assert (status, digest) == (206, hashlib.md5(data[i * 1000:]).hexdigest())
        else:
            assert (status, digest, n) == (200, h, len(data))


def test_small_or_incompressible_svg_stored_plain(clean):
    m = clean
    tiny = b'<svg xmlns="http://www.w3.org/2000/svg"><circle r="2"/></svg>'
    h = m.store(tiny, "tiny.svg")
    assert os.path.exists(m.stored(h)) and read_stored(m, h) == tiny
    png = sample("png", 20000, seed=77)
    h = m.store(png)
    assert os.path.exists(m.stored(h)) and not os.path.exists(m.stored(h) + ".gz")


# ---- /v1/cache/object ------------------------------------------------------------------------------


def test_cache_object(clean):
    m = clean
    key = f"decks/{DECK}/manifest/20250610T000000Z.json"
    path = os.path.join(m.s.data_dir, "cache", key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    body = json.dumps({"archive": {"s3_key": f"decks/{DECK}/a.zip"}}).encode()
    with open(path, "wb") as f:
        f.write(body)
    tok = mint(m.secret, cache_payload(key))
    for _ in range(3):
        r = m.http.get(m.url(f"/v1/cache/object?token={tok}"), timeout=10)
        assert r.status_code == 200 and r.content == body
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["Cache-Control"] == "public, max-age=3600"
        assert r.headers["Access-Control-Allow-Origin"] == "*"
        assert r.headers["Content-Length"] == str(len(body))
    r = m.http.get(m.url(f"/v1/cache/object?token={tok}"), timeout=10)
    assert (r.status_code, r.text) == (401, "Unauthorized")
    # Type by suffix when the claim is null.
    zpath = os.path.join(m.s.data_dir, "cache", "decks", DECK, "a.zip")
    with open(zpath, "wb") as f:
        f.write(b"PK\x05\x06" + b"\0" * 18)
    r = m.http.get(m.url("/v1/cache/object?token=" + mint(
        m.secret, cache_payload(f"decks/{DECK}/a.zip", None))), timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/zip"
    # Media tokens are not cache tokens, and other parameters are refused.
    r = m.http.get(m.url("/v1/cache/object?token=" + mint(m.secret, download_payload("a" * 32))))
    assert r.status_code == 401
    r = m.http.get(m.url(f"/v1/cache/object?token={tok}&a=b"), timeout=10)
    assert r.status_code == 400 and r.text.startswith("Failed to deserialize query string")


def test_cache_object_key_shapes(clean):
    m = clean
    secret_path = os.path.join(m.s.data_dir, "secrets", "media_token_secret")
    link = os.path.join(m.s.data_dir, "cache", "link.json")
    if not os.path.lexists(link):
        os.symlink(secret_path, link)
    os.makedirs(os.path.join(m.s.data_dir, "cache", "dir.json"), exist_ok=True)
    for key in ("../secrets/media_token_secret", "/etc/passwd", "decks/../../secrets/x",
                "decks//x.json", ".hidden", "decks/./x.json", "link.json", "nope.json",
                "dir.json", "a\\b.json", ""):
        r = m.http.get(m.url("/v1/cache/object?token=" + mint(m.secret, cache_payload(key))),
                       timeout=10)
        assert (r.status_code, r.text) == (404, "Not found"), key


# ---- the proto service (mediad.sock) -------------------------------------------------------------------

HDR = struct.Struct("<HHIII")
MEDIA_STAT, MEDIA_STAT_REPLY, MEDIA_DELETE, MEDIA_DELETE_REPLY, MEDIA_USAGE, MEDIA_USAGE_REPLY = \
    range(300, 306)


class Proto:
    def __init__(self, suite):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(5)
        self.sock.connect(os.path.join(suite.run_dir, "mediad.sock"))
        self.id = 0

    def call(self, type_, payload=b""):
        self.id += 1
        self.sock.sendall(HDR.pack(type_, 0, HDR.size + len(payload), self.id, os.getpid())
                          + payload)
        head = self.recv(HDR.size)
        t, flags, length, id_, _pid = HDR.unpack(head)
        assert id_ == self.id and flags == 0
        return t, self.recv(length - HDR.size)

    def recv(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("mediad closed the connection")
            buf += chunk
        return buf

    def stat(self, hashes):
        t, p = self.call(MEDIA_STAT, b"".join(bytes.fromhex(h) for h in hashes))
        assert t == MEDIA_STAT_REPLY and len(p) == 32 * len(hashes)
        out = []
        for i, h in enumerate(hashes):
            md5, size, flags, reserved = struct.unpack_from("<16sQII", p, 32 * i)
            assert md5.hex() == h and reserved == 0
            out.append((flags, size))
        return out

    def delete(self, hashes):
        t, p = self.call(MEDIA_DELETE, b"".join(bytes.fromhex(h) for h in hashes))
        assert t == MEDIA_DELETE_REPLY
        return struct.unpack("<IIQ", p)

    def usage(self):
        t, p = self.call(MEDIA_USAGE)
        assert t == MEDIA_USAGE_REPLY
        return dict(zip(("bytes", "files", "uploads", "upload_bytes", "downloads", "rejected"),
                        struct.unpack("<6Q", p)))


def disk_usage(m):
    total = files = 0
    for root, _dirs, names in os.walk(os.path.join(m.s.data_dir, "media")):
        for n in names:
            total += os.path.getsize(os.path.join(root, n))
            files += 1
    return total, files


def test_proto_stat_delete_usage(clean):
    m = clean
    p = Proto(m.s)
    a = sample("png", 1234, seed=30)
    b = sample("mp3", 4321, seed=31)
    ha, hb = m.store(a), m.store(b, "b.mp3")
    absent = hashlib.md5(b"absent").hexdigest()
    u = p.usage()
    assert (u["bytes"], u["files"]) == disk_usage(m)
    assert u["uploads"] >= 2 and u["upload_bytes"] >= 1234 + 4321
    assert p.stat([ha, absent, hb]) == [(1, 1234), (0, 0), (1, 4321)]
    assert p.stat([ha] * 256) == [(1, 1234)] * 256
    assert p.delete([ha, absent, hb, ha]) == (2, 0, 1234 + 4321)
    assert p.stat([ha, hb]) == [(0, 0), (0, 0)]
    assert not os.path.exists(m.stored(ha))
    u2 = p.usage()
    assert (u2["bytes"], u2["files"]) == disk_usage(m)
    assert u2["bytes"] == u["bytes"] - 1234 - 4321
    assert m.get(ha).status_code == 404


def test_proto_violations_drop_the_peer_only(clean):
    m = clean
    for bad in (HDR.pack(MEDIA_STAT, 0, HDR.size + 17, 1, 0) + b"x" * 17,   # not whole records
                HDR.pack(MEDIA_STAT, 0, HDR.size, 1, 0),                     # no hashes
                HDR.pack(MEDIA_STAT, 0, HDR.size + 16 * 257, 1, 0) + b"x" * 16 * 257,
                HDR.pack(100, 0, HDR.size + 12, 1, 0) + b"x" * 12,           # HELLO: not ours
                HDR.pack(MEDIA_USAGE_REPLY, 0, HDR.size + 48, 1, 0) + b"x" * 48,
                b"\xff" * 40):
        p = Proto(m.s)
        p.sock.sendall(bad)
        assert p.sock.recv(100) == b""
        p.sock.close()
    assert Proto(m.s).usage()["files"] >= 0


def test_usage_is_counted_again_at_start(make_suite):
    s = make_suite()
    m = Media(s)
    for i in range(5):
        m.store(sample("png", 1000 + i, seed=40 + i))
    before = Proto(s).usage()
    assert (before["bytes"], before["files"]) == (sum(1000 + i for i in range(5)), 5)
    s.ctl("restart", "mediad")
    wait_for(lambda: s.status()["mediad"]["state"] == "running", 10, what="mediad back")
    after = wait_for(lambda: Proto(s).usage(), 5, what="mediad.sock back")
    assert (after["bytes"], after["files"]) == (before["bytes"], before["files"])
    assert after["uploads"] == 0


# ---- crash safety ------------------------------------------------------------------------------------


def test_kill9_mid_upload_leaves_no_partial_file(make_suite):
    s = make_suite()
    m = Media(s)
    data = sample("png", 4 * 1024 * 1024, seed=50)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, len(data)))
    old = m.pid()
    c = socket.create_connection(("127.0.0.1", s.ports["mediad"]), timeout=10)
    c.sendall((f"PUT /v1/media/{h}?token={tok} HTTP/1.1\r\nHost: x\r\n"
               f"Content-Type: image/png\r\nContent-MD5: {content_md5(data)}\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode())
    c.sendall(data[:len(data) // 2])
    spool = wait_for(lambda: m.spool(), 5, what="a spool file")
    wait_for(lambda: os.path.getsize(os.path.join(s.data_dir, "spool", spool[0])) > 0, 5,
             what="bytes in the spool file")
    os.kill(old, signal.SIGKILL)
    try:
        c.sendall(data[len(data) // 2:])
        c.recv(100)
    except OSError:
        pass
    c.close()
    wait_for(lambda: m.pid() != old, 10, what="a new mediad")
    assert m.spool() == []
    assert not os.path.exists(m.stored(h))
    assert m.media_files() == set()
    assert "removed 1 unfinished upload(s) from spool/" in s.logs()
    # And the same upload works on the new process.
    assert m.put(h, data, tok).status_code == 200
    assert Proto(s).usage()["files"] == 1


def test_client_gone_mid_upload_leaves_nothing(clean):
    m = clean
    data = sample("png", 2 * 1024 * 1024, seed=51)
    h = hashlib.md5(data).hexdigest()
    tok = mint(m.secret, upload_payload(h, len(data)))
    c = socket.create_connection(("127.0.0.1", m.s.ports["mediad"]), timeout=10)
    c.sendall((f"PUT /v1/media/{h}?token={tok} HTTP/1.1\r\nHost: x\r\n"
               f"Content-Length: {len(data)}\r\n\r\n").encode() + data[:1024 * 1024])
    wait_for(lambda: m.spool(), 5, what="a spool file")
    c.close()
    wait_for(lambda: m.spool() == [], 5, what="the spool file removed")
    assert not os.path.exists(m.stored(h))
