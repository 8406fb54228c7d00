"""/pullChanges: a fresh subscriber's download of a 30,000-note deck, and 50
unchanged decks pulled in one request, over and over.

Figures and their same-run references:
  - full pull wall time, beside Python building the same answer in memory
    from the same database (sqlite3 + json + gzip + base64);
  - apid's peak RSS (VmHWM, reset just before the pull), beside the idle RSS
    of the minimal libevent server bench/evhttp_ref_server.c; goal < 32 MB;
  - the same peak while 50 unchanged decks are pulled per request;
  - the no-change pull rate (requests/s), beside that reference server's
    rate for a small GET /, with the same client (keep-alive http.client
    connections in a few threads).
The deck is published through /createDeck when apid has it, else written
straight into the database as /createDeck stores it.
"""
import base64
import gzip
import http.client
import json
import os
import random
import sqlite3
import string
import subprocess
import sys
import tempfile
import threading
import time
import uuid

import requests

from benchlib import BUILD, ROOT, Suite, free_port, row, status_kb, wait_for

sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))
from addon import Addon, add_user, gzb64  # noqa: E402

NOTES = 30000
SUBDECKS = 20
FIELDS = 6
NOTE_HTML = 1500
DECKS = 50
THREADS = 4
RATE_SECONDS = 3.0
MAGIC = "2022-12-31 23:59:59"


def words(rnd, n):
    return " ".join("".join(rnd.choice(string.ascii_lowercase) for _ in range(rnd.randint(2, 9)))
                    for _ in range(n))


def note_fields(rnd):
    """About NOTE_HTML bytes of HTML over FIELDS fields."""
    per = NOTE_HTML // FIELDS
    out = []
    for _ in range(FIELDS):
        text = f"<div><b>{words(rnd, 3)}</b> {words(rnd, 6)}<br>"
        while len(text) < per - 6:
            text += words(rnd, 1) + " "
        out.append(text[:per - 6] + "</div>")
    return out


def notetype_json():
    names = [f"Field {i}" for i in range(FIELDS)]
    return {
        "__type__": "NoteModel", "crowdanki_uuid": str(uuid.uuid4()), "name": "Bench",
        "css": ".card { font-family: arial; }", "latexPre": "", "latexPost": "",
        "latexsvg": False, "originalStockKind": 1, "req": [[0, "any", [0]]], "sortf": 0,
        "type": 0,
        "flds": [{"name": n, "ord": i, "font": "Arial", "size": 20, "rtl": False,
                  "sticky": False, "description": "", "id": 1000 + i, "tag": None}
                 for i, n in enumerate(names)],
        "tmpls": [{"name": "Card 1", "ord": 0, "qfmt": "{{Field 0}}",
                   "afmt": "{{FrontSide}}<hr id=answer>{{Field 1}}", "bqfmt": "", "bafmt": "",
                   "bfont": "", "bsize": 0, "id": 2000}],
    }


def deck_json(rnd, name, notes, subdecks):
    nt = notetype_json()

    def level(n, k):
        return {"__type__": "Deck", "crowdanki_uuid": str(uuid.uuid4()), "name": n, "desc": "",
                "children": [], "media_files": [], "notes": [
                    {"__type__": "Note", "guid": f"g{k}-{i}", "id": 10**12 + k * 10**6 + i,
                     "note_model_uuid": nt["crowdanki_uuid"], "fields": note_fields(rnd),
                     "tags": [f"tag{i % 13}", "bench"], "flags": 0, "data": ""}
                    for i in range(notes // (subdecks + 1))]}
    root = level(name, 0)
    root["note_models"] = [nt]
    root["children"] = [level(f"Chapter {k}", k) for k in range(1, subdecks + 1)]
    return root


# ---- seeding ---------------------------------------------------------------------------

def has_create_deck(s):
    return requests.post(s.url("apid", "/createDeck"), data=b"x", timeout=10).status_code != 404


def publish(s, addon, d):
    r = addon.post_gzip("/createDeck", {"deck": json.dumps(d, sort_keys=True, indent=4,
                                                           ensure_ascii=False)}, timeout=600)
    body = r.json()
    assert r.status_code == 200 and body["status"] == 1, r.text
    return body["message"]


def seed_sql(s, d, owner_name):
    """The rows /createDeck writes (spec/api.md §6.2, §6.3.1)."""
    db = sqlite3.connect(os.path.join(s.data_dir, "ankicollab.db"), isolation_level=None,
                         timeout=30)
    now = time.time()
    owner = db.execute("SELECT id FROM users WHERE username = ?", (owner_name,)).fetchone()[0]
    db.execute("BEGIN")
    m = d["note_models"][0]
    nt = db.execute("INSERT INTO notetype (guid, owner, css, name, req, original_stock_kind)"
                    " VALUES (?,?,?,?,?,1) RETURNING id",
                    (m["crowdanki_uuid"], owner, m["css"], m["name"],
                     json.dumps([{"card_ord": 0, "kind": "any", "field_ords": [0]}]))).fetchone()[0]
    for i, f in enumerate(m["flds"]):
        db.execute("INSERT INTO notetype_field (notetype, name, font, size, ord, position, anki_id)"
                   " VALUES (?,?,?,?,?,?,?)", (nt, f["name"], f["font"], f["size"], i, i, f["id"]))
    t = m["tmpls"][0]
    db.execute("INSERT INTO notetype_template (notetype, name, qfmt, afmt, position, anki_id)"
               " VALUES (?,?,?,?,0,?)", (nt, t["name"], t["qfmt"], t["afmt"], t["id"]))

    def level(lv, parent, path):
        h = "-".join("".join(random.choice(string.ascii_lowercase) for _ in range(5))
                     for _ in range(6))
        did = db.execute("INSERT INTO decks (name, owner, last_update, parent, crowdanki_uuid,"
                         " human_hash, full_path) VALUES (?,?,?,?,?,?,?) RETURNING id",
                         (lv["name"], owner, now, parent, lv["crowdanki_uuid"], h, path)
                         ).fetchone()[0]
        for n in lv["notes"]:
            nid = db.execute("INSERT INTO notes (guid, notetype, deck, last_update, reviewed,"
                             " anki_id) VALUES (?,?,?,?,1,?) RETURNING id",
                             (n["guid"], nt, did, now, n["id"])).fetchone()[0]
            db.executemany("INSERT INTO fields (note, position, content, reviewed)"
                           " VALUES (?,?,?,1)", [(nid, i, c) for i, c in enumerate(n["fields"])])
            db.executemany("INSERT INTO tags (note, content, reviewed) VALUES (?,?,1)",
                           [(nid, tg) for tg in n["tags"]])
        for c in lv["children"]:
            level(c, did, path + "::" + c["name"])
        return h
    h = level(d, None, d["name"])
    db.execute("COMMIT")
    db.close()
    return h


def wait_published(s, h, notes):
    """Notes of a /createDeck land after its answer (§6.2): wait for all."""
    def count():
        r = requests.post(s.url("apid", "/pullChanges"), json={h: {"timestamp": MAGIC}},
                          timeout=300)
        got = json.loads(gzip.decompress(base64.b64decode(r.text)))
        n = 0
        stack = [got[0]["deck"]] if got else []
        while stack:
            d = stack.pop()
            n += len(d["notes"])
            stack.extend(d["children"])
        return n >= notes
    wait_for(count, 600, interval=1, what="published notes")


# ---- measuring ---------------------------------------------------------------------------

def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def full_pull(port, h):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    t0 = time.monotonic()
    c.request("POST", "/pullChanges", body=json.dumps({h: {"timestamp": MAGIC, "deckId": 0}}),
              headers={"Content-Type": "application/json"})
    r = c.getresponse()
    body = r.read()
    wall = time.monotonic() - t0
    c.close()
    assert r.status == 200
    return wall, body


def count_notes(answer):
    stack, n = [answer[0]["deck"]], 0
    while stack:
        d = stack.pop()
        n += len(d["notes"])
        stack.extend(d["children"])
    return n


def python_build(path, h):
    """The reference: the same answer built whole in memory by Python."""
    t0 = time.monotonic()
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    root = db.execute("SELECT id FROM decks WHERE human_hash = ?", (h,)).fetchone()[0]

    def level(did):
        d = dict(zip(("crowdanki_uuid", "name", "desc"), db.execute(
            "SELECT crowdanki_uuid, name, description FROM decks WHERE id = ?", (did,)).fetchone()))
        d["notes"] = []
        for nid, aid, guid in db.execute("SELECT id, anki_id, guid FROM notes WHERE deck = ?"
                                         " ORDER BY id", (did,)).fetchall():
            f = [""] * FIELDS
            for pos, c in db.execute("SELECT position, content FROM fields WHERE note = ?"
                                     " AND reviewed = 1", (nid,)):
                f[pos] = c
            tags = [t for (t,) in db.execute("SELECT content FROM tags WHERE note = ?", (nid,))]
            d["notes"].append({"id": aid, "guid": guid, "fields": f, "tags": tags})
        d["children"] = [level(c) for (c,) in db.execute(
            "SELECT id FROM decks WHERE parent = ? ORDER BY id", (did,)).fetchall()]
        return d
    text = base64.b64encode(gzip.compress(json.dumps([{"deck": level(root)}]).encode(), 6))
    db.close()
    return time.monotonic() - t0, len(text)


def cpu_s(pid):
    """User + system CPU seconds a process has used."""
    with open(f"/proc/{pid}/stat") as f:
        v = f.read().rsplit(")", 1)[1].split()
    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")


def rate(port, method, path, body, headers, pid):
    """Requests per second over THREADS keep-alive connections, and the
    server's CPU µs per request (the client may be the slower side)."""
    stop = time.monotonic() + RATE_SECONDS
    counts = [0] * THREADS
    errors = []

    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            while time.monotonic() < stop:
                c.request(method, path, body=body, headers=headers)
                r = c.getresponse()
                r.read()
                if r.status != 200:
                    errors.append(r.status)
                    return
                counts[i] += 1
        finally:
            c.close()
    t0, c0 = time.monotonic(), cpu_s(pid)
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:5]
    n = sum(counts)
    return n / (time.monotonic() - t0), (cpu_s(pid) - c0) / n * 1e6


def reference_server():
    port = free_port()
    p = subprocess.Popen([os.path.join(BUILD, "bench", "evhttp_ref_server"), str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: requests.get(f"http://127.0.0.1:{port}/", timeout=1), 5,
             what="reference server")
    return p, port


def main():
    rnd = random.Random(7)
    ref, ref_port = reference_server()
    try:
        for _ in range(50):
            requests.get(f"http://127.0.0.1:{ref_port}/", timeout=1)
        ref_rss = status_kb(ref.pid, "VmRSS")
        with tempfile.TemporaryDirectory(prefix="ankicollab-bench-") as tmp:
            # The rate is the server's, not the std governor's 600/min (0: off).
            # No snapshot may answer the fresh pulls measured here: a live pull.
            s = Suite(tmp, {"apid": {"standard_rate_per_minute": "0"},
                            "gcd": {"snapshots_interval": "24h"}}).start()
            try:
                run(s, rnd, ref_rss, lambda *a: rate(ref_port, *a, ref.pid))
            finally:
                s.stop()
    finally:
        ref.terminate()
        ref.wait()


def run(s, rnd, ref_rss, ref_rate):
    """ref_rate(method, path, body, headers): the reference server's rate."""
    add_user(s, "publisher")
    pid = s.health("apid")["pid"]
    big = deck_json(rnd, "Bench deck", NOTES, SUBDECKS)
    small = [deck_json(rnd, f"Small {i}", 21, 0) for i in range(DECKS)]
    via = "createDeck" if has_create_deck(s) else "direct SQL"
    t0 = time.monotonic()
    if via == "createDeck":
        addon = Addon(s, "publisher")
        h = publish(s, addon, big)
        hashes = [publish(s, addon, d) for d in small]
        wait_published(s, h, NOTES - NOTES % (SUBDECKS + 1))
    else:
        h = seed_sql(s, big, "publisher")
        hashes = [seed_sql(s, d, "publisher") for d in small]
    seeded = time.monotonic() - t0
    print(f"seeded {NOTES} notes in {SUBDECKS + 1} decks and {DECKS} small decks via {via}"
          f" in {seeded:.1f} s", flush=True)
    db_path = os.path.join(s.data_dir, "ankicollab.db")

    reset_peak(pid)
    before = status_kb(pid, "VmRSS")
    wall, body = full_pull(s.ports["apid"], h)
    hwm = status_kb(pid, "VmHWM")
    answer = json.loads(gzip.decompress(base64.b64decode(body)))
    assert count_notes(answer) == NOTES - NOTES % (SUBDECKS + 1)
    ref_wall, ref_len = python_build(db_path, h)
    row("full pull, 30k notes: wall time", wall, "s", ref_wall, "Python builds it in memory")
    row("full pull: answer size (base64 text)", len(body) / 2**20, "MB", ref_len / 2**20,
        "Python's answer")
    row("full pull: apid RSS just before it", before / 1024, "MB")
    row("full pull: apid peak RSS (VmHWM)", hwm / 1024, "MB", ref_rss / 1024,
        "evhttp server idle", goal="< 32 MB")

    # 50 unchanged decks per request: what the add-on sends at every start-up.
    later = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() + 1))
    time.sleep(1.1)
    cfg = {"deckId": 1700000000100, "optional_tags": {"USMLE": True}, "stats_enabled": True,
           "personal_tags": ["leech", "marked", "missing-media"], "last_stats_timestamp": 1,
           "share_stats": True}
    req = json.dumps({x: {"timestamp": later, **cfg} for x in hashes})
    r = requests.post(s.url("apid", "/pullChanges"), data=req,
                      headers={"Content-Type": "application/json"}, timeout=30)
    assert json.loads(gzip.decompress(base64.b64decode(r.text))) == []
    reset_peak(pid)
    ct = {"Content-Type": "application/json"}
    apid_rate, apid_cpu = rate(s.ports["apid"], "POST", "/pullChanges", req, ct, pid)
    hwm = status_kb(pid, "VmHWM")
    get_rate, get_cpu = ref_rate("GET", "/", None, {})
    post_rate, post_cpu = ref_rate("POST", "/", req, ct)
    row(f"no-change pull of {DECKS} decks: rate", apid_rate, "req/s", get_rate,
        "evhttp GET / rate")
    row(f"no-change pull of {DECKS} decks: rate", apid_rate, "req/s", post_rate,
        f"evhttp POST of the same {len(req) // 1024} KB")
    row(f"no-change pull of {DECKS} decks: server CPU", apid_cpu, "us/req", get_cpu,
        "evhttp GET /")
    row(f"no-change pull of {DECKS} decks: apid peak RSS", hwm / 1024, "MB", ref_rss / 1024,
        "evhttp server idle", goal="< 32 MB")


if __name__ == "__main__":
    main()
