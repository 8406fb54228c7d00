"""Speaks to apid as the AnkiCollab add-on does (spec/client.md §1, §7):
the same headers, the same encodings, the same deck JSON shape."""
import base64
import gzip
import json
import os
import subprocess
import uuid

import requests

from suite import BUILD

PASSWORD = "correct horse battery"


def add_user(suite, name, password=PASSWORD):
    r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", suite.conf, "user", "add",
                        name, "--password-stdin"], input=password + "\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def gzb64(obj):
    """base64(gzip(json.dumps(obj))), as api_client.post_gzip sends it."""
    return base64.b64encode(gzip.compress(json.dumps(obj).encode("utf-8")))


def ungzb64(text):
    return json.loads(gzip.decompress(base64.b64decode(text)).decode("utf-8"))


class Addon:
    """One add-on install logged in as one user."""

    def __init__(self, suite, user=None, password=PASSWORD):
        self.suite = suite
        self.token = None
        if user is not None:
            r = self.post_json("/login", {"username": user, "password": password}, auth=False)
            assert r.status_code == 200, r.text
            self.token = r.json()["token"]

    def url(self, path):
        return self.suite.url("apid", path)

    def headers(self, auth=True):
        return {"Authorization": f"Bearer {self.token}"} if auth and self.token else {}

    def post_json(self, path, payload, auth=True, timeout=30):
        return requests.post(self.url(path), data=json.dumps(payload),
                             headers={"Content-Type": "application/json", **self.headers(auth)},
                             timeout=timeout)

    def post_gzip(self, path, payload, timeout=120):
        return requests.post(self.url(path), data=gzb64(payload),
                             headers={"Content-Type": "text/plain", **self.headers()},
                             timeout=timeout)

    def post_empty(self, path, timeout=30):
        return requests.post(self.url(path), headers=self.headers(), timeout=timeout)

    def get(self, path, auth=False, timeout=30):
        return requests.get(self.url(path), headers=self.headers(auth), timeout=timeout)

    def create_deck(self, deck):
        """Publishes; returns (status, parsed body)."""
        r = self.post_gzip("/createDeck", {"deck": json.dumps(deck, sort_keys=True, indent=4,
                                                              ensure_ascii=False)})
        return r.status_code, (r.json() if r.status_code == 200 else r.text)

    def pull(self, timestamps):
        """{deck_hash: "YYYY-MM-DD HH:MM:SS"} → the decoded answer list."""
        r = self.post_json("/pullChanges", {h: {"timestamp": t, "deckId": 0}
                                            for h, t in timestamps.items()}, auth=False)
        assert r.status_code == 200, r.text
        return ungzb64(r.text)


def notetype(name, fields, templates=1, kind=0):
    """A CrowdAnki note model with Anki's positional req form."""
    return {
        "__type__": "NoteModel",
        "crowdanki_uuid": str(uuid.uuid4()),
        "css": ".card { font-family: arial; }",
        "flds": [{"name": f, "ord": i, "font": "Arial", "size": 20, "rtl": False,
                  "sticky": False, "description": "", "id": 1000 + i, "tag": None,
                  "plainText": False, "collapsed": False}
                 for i, f in enumerate(fields)],
        "latexPost": "\\end{document}",
        "latexPre": "\\documentclass[12pt]{article}",
        "latexsvg": False,
        "name": name,
        "originalStockKind": 1,
        "req": [[i, "any", [0]] for i in range(templates)],
        "sortf": 0,
        "tmpls": [{"name": f"Card {i + 1}", "ord": i, "qfmt": "{{%s}}" % fields[0],
                   "afmt": "{{FrontSide}}<hr id=answer>{{%s}}" % fields[-1], "bqfmt": "",
                   "bafmt": "", "bfont": "", "bsize": 0, "id": 2000 + i}
                  for i in range(templates)],
        "type": kind,
    }


def note(model, fields, tags=(), guid=None, anki_id=None):
    return {"__type__": "Note", "data": "", "flags": 0,
            "guid": guid or uuid.uuid4().hex[:10],
            "id": anki_id or (1700000000000 + int(uuid.uuid4().int % 10**9)),
            "note_model_uuid": model["crowdanki_uuid"], "fields": list(fields),
            "tags": list(tags)}


def deck(name, notes=(), children=(), note_models=None):
    d = {"__type__": "Deck", "crowdanki_uuid": str(uuid.uuid4()), "name": name, "desc": "",
         "children": list(children), "notes": list(notes), "media_files": [],
         "deck_config_uuid": str(uuid.uuid4()), "dyn": 0, "extendNew": 10, "extendRev": 50}
    if note_models is not None:
        d["note_models"] = note_models
        d["deck_configurations"] = []
    return d
