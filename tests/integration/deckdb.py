"""Decks, notetypes and notes written straight into a suite's database
(common/db_schema.c), so that deck routes can be tested without /createDeck."""
import hashlib
import json
import os
import sqlite3

import requests

from addon import Addon, add_user


def connect(suite):
    conn = sqlite3.connect(os.path.join(suite.data_dir, "ankicollab.db"), timeout=10,
                           isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def user_hash(name):
    return hashlib.sha256(name.encode()).hexdigest()


def login(suite, conn, name):
    """A new account logged in: (Addon, user id)."""
    add_user(suite, name)
    uid = conn.execute("SELECT id FROM users WHERE username = ?", (name,)).fetchone()[0]
    return Addon(suite, name), uid


def add_deck(conn, owner, human_hash, name=None, parent=None, last_update=1000.0):
    name = name or human_hash.split("-")[0].title()
    path = name
    if parent is not None:
        path = conn.execute("SELECT full_path FROM decks WHERE id = ?", (parent,)).fetchone()[0] \
            + "::" + name
    cur = conn.execute(
        "INSERT INTO decks (name, owner, last_update, parent, human_hash, full_path)"
        " VALUES (?, ?, ?, ?, ?, ?)", (name, owner, last_update, parent, human_hash, path))
    return cur.lastrowid


def add_maintainer(conn, deck, user):
    conn.execute("INSERT INTO maintainers (deck, user_id) VALUES (?, ?)", (deck, user))


def add_notetype(conn, owner, fields, protected=(), guid=None):
    """fields: names in order; protected: positions."""
    cur = conn.execute("INSERT INTO notetype (guid, owner, name) VALUES (?, ?, 'Basic')",
                       (guid or os.urandom(8).hex(), owner))
    nt = cur.lastrowid
    for i, f in enumerate(fields):
        conn.execute("INSERT INTO notetype_field (notetype, name, ord, position, protected)"
                     " VALUES (?, ?, ?, ?, ?)", (nt, f, i, i, int(i in protected)))
    return nt


def add_note(conn, deck, notetype, guid, fields=("front", "back"), tags=(), reviewed=1,
             deleted=0, last_update=1000.0):
    cur = conn.execute(
        "INSERT INTO notes (guid, notetype, deck, last_update, reviewed, deleted)"
        " VALUES (?, ?, ?, ?, ?, ?)", (guid, notetype, deck, last_update, reviewed, deleted))
    note = cur.lastrowid
    for i, content in enumerate(fields):
        if content is not None:
            conn.execute("INSERT INTO fields (note, position, content, reviewed)"
                         " VALUES (?, ?, ?, 1)", (note, i, content))
    for t in tags:
        conn.execute("INSERT INTO tags (note, content, reviewed) VALUES (?, ?, 1)", (note, t))
    return note


def rows(conn, sql, *args):
    return conn.execute(sql, args).fetchall()


def last_updates(conn, table="decks"):
    return dict(rows(conn, f"SELECT id, last_update FROM {table}"))


def post(suite, path, body, token=None, ctype="application/json", headers=None, **kw):
    """A raw POST: body is JSON-encoded unless it is bytes or str."""
    headers = dict(headers or {})
    if ctype:
        headers["Content-Type"] = ctype
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if not isinstance(body, (bytes, str)):
        body = json.dumps(body)
    return requests.post(suite.url("apid", path), data=body, headers=headers, timeout=30, **kw)


def apid_pid(suite):
    return suite.health("apid")["pid"]
