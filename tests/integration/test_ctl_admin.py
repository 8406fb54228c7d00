"""ankicollabctl's database commands: user add|passwd|del|list, deck list,
maintainer add|remove|list, against a running suite and without one.

Fixture rows go straight into the SQLite file with python's sqlite3, as
another writer would, respecting the schema's foreign keys.
"""
import ctypes
import ctypes.util
import json
import os
import sqlite3
import stat
import subprocess
import threading
import time

import pytest

from suite import BUILD, DAEMONS

PHC_PREFIX = "$argon2id$v=19$m=19456,t=2,p=1$"
NAME_RULE = "use 1 to 254 letters, digits, '_', '-', '.' or '@'"
UPDATED = 1718031234.567891          # 2024-06-10 14:53:54 UTC
UPDATED_TEXT = "2024-06-10 14:53:54"


def db_path(s):
    return os.path.join(s.data_dir, "ankicollab.db")


def connect(s, **kw):
    con = sqlite3.connect(db_path(s), timeout=10, isolation_level=None, **kw)
    con.execute("PRAGMA foreign_keys = ON")
    return con


def q(s, sql, *args):
    con = connect(s)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def add_user(s, name, password="pw"):
    r = s.ctl("user", "add", name, "--password-stdin", input_=password + "\n")
    return int(r.stdout.rsplit("(id ", 1)[1].rstrip(")\n"))


def with_stdin(s):
    """Gives s.ctl an input_ argument: Suite.ctl passes no standard input."""
    def ctl(*args, input_="", check=True):
        r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", s.conf, *args],
                           input=input_, capture_output=True, text=True, timeout=30,
                           env=s.env)
        if check:
            assert r.returncode == 0, f"{args} -> {r.returncode}: {r.stdout}{r.stderr}"
        return r
    s.ctl = ctl
    return s


def errline(r):
    """stderr without the db layer's own log lines (<N>ankicollabctl: ...)."""
    return "".join(l for l in r.stderr.splitlines(True) if not l.startswith("<"))


@pytest.fixture
def fresh(make_suite):
    """A config and a data dir that does not exist yet; no supervisor at all."""
    return with_stdin(make_suite(start=False))


@pytest.fixture
def running(make_suite):
    return with_stdin(make_suite())


def make_deck(con, owner, hash_, name, parent=None, full_path=None):
    cur = con.execute(
        "INSERT INTO decks (name, owner, last_update, parent, human_hash, full_path) "
        "VALUES (?, ?, ?, ?, ?, ?)", (name, owner, UPDATED, parent, hash_, full_path or name))
    return cur.lastrowid


def make_note(con, deck, notetype, guid, reviewed=1, deleted=0):
    return con.execute(
        "INSERT INTO notes (guid, notetype, deck, last_update, reviewed, deleted) "
        "VALUES (?, ?, ?, ?, ?, ?)", (guid, notetype, deck, UPDATED, reviewed, deleted)).lastrowid


def make_notetype(con, owner, guid):
    return con.execute("INSERT INTO notetype (guid, owner) VALUES (?, ?)",
                       (guid, owner)).lastrowid


def contribute(con, user, deck, note, content):
    """An approved field on note that came from user's commit."""
    commit = con.execute("INSERT INTO commits (deck, user_id) VALUES (?, ?)",
                         (deck, user)).lastrowid
    return con.execute(
        "INSERT INTO fields (note, position, content, reviewed, commit_id) "
        "VALUES (?, 0, ?, 1, ?)", (note, content, commit)).lastrowid


def add_token(con, user, n):
    con.execute("INSERT INTO auth_tokens (user_id, token_hash, expires_at) "
                "VALUES (?, ?, unixepoch() + 3600)", (user, bytes([n]) * 32))


def argon2_verify(phc, password):
    lib = ctypes.util.find_library("argon2")
    if lib is None:
        pytest.skip("libargon2 not found")
    argon2 = ctypes.CDLL(lib)
    argon2.argon2_verify.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t,
                                     ctypes.c_int]
    pw = password.encode()
    return argon2.argon2_verify(phc.encode(), pw, len(pw), 2) == 0   # Argon2_id


# ---- users ------------------------------------------------------------------

def test_user_round_trip_while_running(running):
    s = running
    r = s.ctl("user", "add", "Alice", "--password-stdin", input_="correct horse\n")
    assert r.stdout == "user alice added (id 1)\n"
    assert s.ctl("user", "add", "bob", "--password-stdin", input_="pw").stdout == \
        "user bob added (id 2)\n"

    lines = s.ctl("user", "list").stdout.splitlines()
    assert lines[0].split() == ["ID", "NAME", "CREATED", "(UTC)", "DECKS", "DELETED"]
    assert [l.split()[:2] + l.split()[4:] for l in lines[1:]] == \
        [["1", "alice", "0", "no"], ["2", "bob", "0", "no"]]
    users = json.loads(s.ctl("user", "list", "--json").stdout)["users"]
    assert [(u["id"], u["name"], u["decks"], u["deleted"]) for u in users] == \
        [(1, "alice", 0, False), (2, "bob", 0, False)]
    created = q(s, "SELECT created_at FROM users WHERE id = 1")[0][0]
    assert users[0]["created"] == time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(created))

    (old,) = q(s, "SELECT password FROM users WHERE username = 'bob'")[0]
    r = s.ctl("user", "passwd", "BOB", "--password-stdin", input_="new pw\n")
    assert r.stdout == \
        "password of user bob changed; 0 auth tokens revoked (logged out everywhere)\n"
    (new,) = q(s, "SELECT password FROM users WHERE username = 'bob'")[0]
    assert new != old and new.startswith(PHC_PREFIX)

    assert s.ctl("user", "del", "bob").stdout == "user bob deleted; 0 auth tokens revoked\n"
    users = json.loads(s.ctl("user", "list", "--json").stdout)["users"]
    assert [(u["name"], u["deleted"]) for u in users] == [("alice", False), ("bob", True)]
    assert s.ctl("user", "list").stdout.splitlines()[2].split()[-1] == "yes"
    assert q(s, "SELECT password, deleted_at IS NOT NULL FROM users WHERE id = 2") == [("", 1)]
    # The suite did not notice anything.
    assert all(d["state"] == "running" for n, d in s.status().items() if n in DAEMONS)


def test_password_is_argon2id_of_the_first_line(fresh):
    s = fresh
    s.ctl("user", "add", "alice", "--password-stdin", input_="s3cret pass\nsecond line\n")
    s.ctl("user", "add", "bob", "--password-stdin", input_="no newline")
    (a,), (b,) = q(s, "SELECT password FROM users ORDER BY id")
    assert a.startswith(PHC_PREFIX) and b.startswith(PHC_PREFIX)
    assert argon2_verify(a, "s3cret pass")
    assert not argon2_verify(a, "s3cret pass\nsecond line")
    assert argon2_verify(b, "no newline")


@pytest.mark.parametrize("name", ["bad name", "", "   ", "a/b", "bob!", "caf\u00e9",
                                  "x" * 255, "tab\there"])
def test_bad_names_are_refused(fresh, name):
    r = fresh.ctl("user", "add", name, "--password-stdin", input_="pw\n", check=False)
    assert r.returncode == 1
    assert r.stdout == ""
    assert errline(r) == f"ankicollabctl: invalid user name '{name}': {NAME_RULE}\n"


@pytest.mark.parametrize("given,stored", [(" Alice ", "alice"), ("a.b-c_d@e.org", "a.b-c_d@e.org"),
                                          ("X" * 254, "x" * 254)])
def test_names_are_stored_trimmed_and_lower_cased(fresh, given, stored):
    r = fresh.ctl("user", "add", given, "--password-stdin", input_="pw\n")
    assert r.stdout == f"user {stored} added (id 1)\n"
    assert q(fresh, "SELECT username FROM users") == [(stored,)]


def test_taken_names_and_empty_passwords(fresh):
    s = fresh
    add_user(s, "alice")
    for name in ("alice", "ALICE", " alice"):
        r = s.ctl("user", "add", name, "--password-stdin", input_="other\n", check=False)
        assert (r.returncode, r.stdout, errline(r)) == \
            (1, "", "ankicollabctl: user alice already exists\n")
    for stdin in ("", "\n", "\nsecond line\n"):
        r = s.ctl("user", "add", "bob", "--password-stdin", input_=stdin, check=False)
        assert (r.returncode, r.stdout, errline(r)) == (1, "", (
            "ankicollabctl: empty password refused "
            "(the first line of standard input is the password)\n"))
    r = s.ctl("user", "passwd", "alice", "--password-stdin", input_="", check=False)
    assert r.returncode == 1 and "empty password refused" in r.stderr
    assert q(s, "SELECT username FROM users") == [("alice",)]
    # A deleted user's name stays taken.
    s.ctl("user", "del", "alice")
    r = s.ctl("user", "add", "alice", "--password-stdin", input_="pw\n", check=False)
    assert (r.returncode, errline(r)) == \
        (1, "ankicollabctl: the name alice belongs to a deleted user and stays taken\n")


def test_unknown_and_deleted_users(fresh):
    s = fresh
    for args in (("user", "passwd", "carol", "--password-stdin"), ("user", "del", "carol")):
        r = s.ctl(*args, input_="pw\n", check=False)
        assert (r.returncode, r.stdout, errline(r)) == \
            (1, "", "ankicollabctl: no user named 'carol'\n")
    add_user(s, "carol")
    s.ctl("user", "del", "carol")
    for args in (("user", "passwd", "carol", "--password-stdin"), ("user", "del", "carol")):
        r = s.ctl(*args, input_="pw\n", check=False)
        assert (r.returncode, errline(r)) == (1, "ankicollabctl: user carol is deleted\n")


@pytest.mark.parametrize("args", [("user",), ("user", "frob"), ("user", "add", "alice"),
                                  ("user", "add", "--password-stdin"),
                                  ("user", "add", "a", "b", "--password-stdin"),
                                  ("user", "passwd", "alice"), ("user", "del"),
                                  ("user", "del", "alice", "--password-stdin"),
                                  ("user", "list", "extra"), ("deck",), ("deck", "frob"),
                                  ("maintainer", "add", "x"), ("maintainer", "remove"),
                                  ("maintainer", "list", "a", "b")])
def test_usage_errors(fresh, args):
    r = fresh.ctl(*args, input_="pw\n", check=False)
    assert r.returncode == 100
    assert r.stdout == "" and r.stderr.startswith("usage: ankicollabctl ")
    assert not os.path.exists(db_path(fresh))


def test_passwd_revokes_every_token(fresh):
    s = fresh
    alice, bob = add_user(s, "alice"), add_user(s, "bob")
    con = connect(s)
    for i in range(3):
        add_token(con, alice, i + 1)
    add_token(con, bob, 9)
    con.close()
    r = s.ctl("user", "passwd", "alice", "--password-stdin", input_="fresh\n")
    assert r.stdout == \
        "password of user alice changed; 3 auth tokens revoked (logged out everywhere)\n"
    assert q(s, "SELECT user_id FROM auth_tokens") == [(bob,)]
    (phc,) = q(s, "SELECT password FROM users WHERE id = ?", alice)[0]
    assert argon2_verify(phc, "fresh")


def test_del_keeps_content_in_other_peoples_decks(fresh):
    s = fresh
    a, b = add_user(s, "alice"), add_user(s, "bob")
    con = connect(s)
    deck = make_deck(con, a, "alpha-bravo-charlie-delta-echo-fox", "Alice's deck")
    nt = make_notetype(con, a, "nt-1")
    note = make_note(con, deck, nt, "guid-1")
    field = contribute(con, b, deck, note, "Bob's approved answer")
    con.execute("INSERT INTO maintainers (deck, user_id) VALUES (?, ?)", (deck, b))
    con.execute("INSERT INTO subscriptions (user_hash, deck_id) VALUES ("
                "'81b637d8fcd2c6da6359e6963113a1170de795e4b725b84d1e0b4cfd9ec58ce9', ?)",
                (deck,))                     # sha256("bob")
    add_token(con, b, 1)
    add_token(con, b, 2)
    con.close()

    # alice owns a deck: refused, nothing changes.
    r = s.ctl("user", "del", "alice", check=False)
    assert (r.returncode, r.stdout, errline(r)) == (1, "", (
        "ankicollabctl: user alice still owns 1 deck; "
        "pass --with-decks to delete them and their notes too\n"))
    assert q(s, "SELECT deleted_at FROM users WHERE id = ?", a) == [(None,)]

    assert s.ctl("user", "del", "bob").stdout == "user bob deleted; 2 auth tokens revoked\n"
    assert q(s, "SELECT id, owner FROM decks") == [(deck, a)]
    assert q(s, "SELECT content, reviewed FROM fields WHERE id = ?", field) == \
        [("Bob's approved answer", 1)]
    assert q(s, "SELECT user_id FROM commits") == [(b,)]       # authorship kept
    assert q(s, "SELECT count(*) FROM auth_tokens") == [(0,)]
    assert q(s, "SELECT count(*) FROM maintainers") == [(0,)]
    assert q(s, "SELECT count(*) FROM subscriptions") == [(0,)]
    assert q(s, "PRAGMA foreign_key_check") == []


def test_del_with_decks(fresh):
    s = fresh
    a, b = add_user(s, "alice"), add_user(s, "bob")
    con = connect(s)
    root = make_deck(con, a, "alpha-one", "Alice")
    sub = make_deck(con, a, "alpha-two", "Sub", parent=root, full_path="Alice::Sub")
    nt_a = make_notetype(con, a, "nt-a")
    note_a = make_note(con, sub, nt_a, "ga")
    contribute(con, b, sub, note_a, "Bob in Alice's deck")
    other = make_deck(con, b, "bravo-one", "Bob's")
    nt_b = make_notetype(con, b, "nt-b")
    note_b = make_note(con, other, nt_b, "gb")
    field = contribute(con, a, other, note_b, "Alice in Bob's deck")
    # A note in Bob's deck inherits from Alice's: deleting hers is refused.
    inh = con.execute("INSERT INTO note_inheritance (subscriber_note_id, base_note_id) "
                      "VALUES (?, ?)", (note_b, note_a)).lastrowid
    con.close()

    r = s.ctl("user", "del", "alice", "--with-decks", check=False)
    assert (r.returncode, errline(r)) == (1, (
        "ankicollabctl: alice's decks are the base of 1 note in other users' decks; "
        "nothing was deleted\n"))
    assert q(s, "SELECT count(*) FROM decks") == [(3,)]

    q(s, "DELETE FROM note_inheritance WHERE inheritance_id = ?", inh)
    r = s.ctl("user", "del", "--with-decks", "alice")
    assert r.stdout == "user alice deleted with 1 deck; 0 auth tokens revoked\n"
    assert q(s, "SELECT id FROM decks") == [(other,)]
    assert q(s, "SELECT count(*) FROM notes WHERE deck IN (?, ?)", root, sub) == [(0,)]
    assert q(s, "SELECT content FROM fields WHERE id = ?", field) == [("Alice in Bob's deck",)]
    assert q(s, "SELECT user_id FROM commits") == [(a,)]
    assert q(s, "PRAGMA foreign_key_check") == []
    users = json.loads(s.ctl("user", "list", "--json").stdout)["users"]
    assert [(u["name"], u["decks"], u["deleted"]) for u in users] == \
        [("alice", 0, True), ("bob", 1, False)]


# ---- decks and maintainers ----------------------------------------------------

ROOT = "white-berlin-nineteen-white-lima-hot"
SUB = "red-paris-one-red-kilo-cold"
LEAF = "blue-rome-two-blue-juliet-warm"


@pytest.fixture
def tree(fresh):
    """alice owns ROOT > SUB > LEAF; bob and carol exist."""
    s = fresh
    s.ids = {n: add_user(s, n) for n in ("alice", "bob", "carol")}
    con = connect(s)
    root = make_deck(con, s.ids["alice"], ROOT, "Medicine A")
    sub = make_deck(con, s.ids["alice"], SUB, "Cardio", root, "Medicine A::Cardio")
    make_deck(con, s.ids["alice"], LEAF, "Valves", sub, "Medicine A::Cardio::Valves")
    con.close()
    return s


def test_deck_list(tree):
    s = tree
    con = connect(s)
    (root,), (sub,), (leaf,) = con.execute("SELECT id FROM decks ORDER BY id").fetchall()
    nt = make_notetype(con, s.ids["alice"], "nt")
    make_note(con, root, nt, "n1")
    make_note(con, sub, nt, "n2")
    make_note(con, leaf, nt, "n3")
    make_note(con, leaf, nt, "pending", reviewed=0)
    make_note(con, leaf, nt, "gone", deleted=1)
    for h in ("a" * 64, "b" * 64):
        con.execute("INSERT INTO subscriptions (user_hash, deck_id) VALUES (?, ?)", (h, root))
    make_deck(con, s.ids["bob"], "bravo-deck-one", "Bob's empty deck")
    con.close()

    decks = json.loads(s.ctl("deck", "list", "--json").stdout)["decks"]
    assert decks == [
        {"hash": ROOT, "name": "Medicine A", "owner": "alice", "notes": 3,
         "subscribers": 2, "last_update": UPDATED_TEXT},
        {"hash": "bravo-deck-one", "name": "Bob's empty deck", "owner": "bob", "notes": 0,
         "subscribers": 0, "last_update": UPDATED_TEXT},
    ]
    lines = s.ctl("deck", "list").stdout.splitlines()
    assert lines[0].split() == ["HASH", "OWNER", "NOTES", "SUBSCRIBERS", "LAST", "UPDATE",
                                "(UTC)", "NAME"]
    assert lines[1].split() == [ROOT, "alice", "3", "2", *UPDATED_TEXT.split(), "Medicine", "A"]
    assert lines[2].endswith("  Bob's empty deck")
    # Columns line up: every row's NAME starts where the heading's does.
    col = lines[0].index("NAME")
    assert lines[1][col:] == "Medicine A" and lines[2][col:] == "Bob's empty deck"
    users = {u["name"]: u["decks"] for u in json.loads(s.ctl("user", "list", "--json").stdout)["users"]}
    assert users == {"alice": 1, "bob": 1, "carol": 0}


def test_maintainer_add_remove_list(tree):
    s = tree
    assert s.ctl("maintainer", "add", SUB, "Bob").stdout == \
        f"bob now maintains deck {SUB} and its subdecks\n"
    assert q(s, "SELECT d.human_hash, m.user_id FROM maintainers m JOIN decks d ON d.id = m.deck") \
        == [(SUB, s.ids["bob"])]

    def refused(args, message):
        r = s.ctl("maintainer", *args, check=False)
        assert (r.returncode, r.stdout, errline(r)) == (1, "", "ankicollabctl: " + message + "\n")

    refused(("add", SUB, "bob"), f"bob already maintains deck {SUB}")
    refused(("add", LEAF, "bob"), f"bob already maintains deck {SUB}, which contains {LEAF}")
    refused(("add", ROOT, "alice"), f"alice owns deck {ROOT}; an owner needs no maintainer entry")
    refused(("add", LEAF, "alice"),
            f"alice owns deck {LEAF}; an owner needs no maintainer entry")
    refused(("add", "no-such-deck", "bob"), "no deck with hash 'no-such-deck'")
    refused(("add", ROOT, "dave"), "no user named 'dave'")
    refused(("remove", LEAF, "bob"),
            f"bob maintains deck {SUB}, which contains {LEAF}; remove them from {SUB} instead")
    refused(("remove", ROOT, "carol"), f"carol is not a maintainer of deck {ROOT}")
    refused(("remove", "no-such-deck", "carol"), "no deck with hash 'no-such-deck'")

    s.ctl("maintainer", "add", ROOT, "carol")
    listing = json.loads(s.ctl("maintainer", "list", "--json").stdout)["maintainers"]
    assert listing == [
        {"deck": ROOT, "user": "carol", "deck_name": "Medicine A"},
        {"deck": SUB, "user": "bob", "deck_name": "Medicine A::Cardio"},
    ]
    lines = s.ctl("maintainer", "list", LEAF).stdout.splitlines()
    assert [l.split()[:2] for l in lines] == [["DECK", "USER"], [ROOT, "carol"], [SUB, "bob"]]
    assert json.loads(s.ctl("maintainer", "list", ROOT, "--json").stdout) == \
        {"maintainers": [{"deck": ROOT, "user": "carol", "deck_name": "Medicine A"}]}
    r = s.ctl("maintainer", "list", "no-such-deck", check=False)
    assert (r.returncode, errline(r)) == (1, "ankicollabctl: no deck with hash 'no-such-deck'\n")

    assert s.ctl("maintainer", "remove", SUB, "BOB").stdout == \
        f"bob no longer maintains deck {SUB}\n"
    refused(("remove", SUB, "bob"), f"bob is not a maintainer of deck {SUB}")
    # Deleting a maintainer drops the entry; deleted users cannot be added.
    s.ctl("user", "del", "carol")
    assert q(s, "SELECT count(*) FROM maintainers") == [(0,)]
    refused(("add", ROOT, "carol"), "user carol is deleted")
    assert json.loads(s.ctl("maintainer", "list", "--json").stdout) == {"maintainers": []}


# ---- with and without a suite -------------------------------------------------

def test_without_any_supervisor(fresh):
    s = fresh
    assert not os.path.exists(s.data_dir)
    # Listing creates nothing.
    for args, out in ((("user", "list"), "ID  NAME  CREATED (UTC)  DECKS  DELETED\n"),
                      (("user", "list", "--json"), '{"users":[]}\n'),
                      (("deck", "list", "--json"), '{"decks":[]}\n'),
                      (("maintainer", "list", "--json"), '{"maintainers":[]}\n')):
        r = s.ctl(*args)
        assert r.stdout == out
        assert r.stderr == f"ankicollabctl: no database at {db_path(s)} yet\n"
    assert not os.path.exists(s.data_dir)

    assert s.ctl("user", "add", "alice", "--password-stdin", input_="pw\n").stdout == \
        "user alice added (id 1)\n"
    assert stat.S_IMODE(os.stat(s.data_dir).st_mode) == 0o750
    assert q(s, "PRAGMA journal_mode") == [("wal",)]
    assert q(s, "PRAGMA user_version")[0][0] >= 1
    assert "alice" in s.ctl("user", "list").stdout
    r = s.ctl("status", check=False)
    assert r.returncode == 111


def test_waits_for_a_writer_and_reads_beside_it(fresh):
    s = fresh
    add_user(s, "alice")
    con = connect(s, check_same_thread=False)
    con.execute("BEGIN IMMEDIATE")
    con.execute("INSERT INTO users (username, password) VALUES ('held', '')")
    released = threading.Timer(1.0, lambda: con.execute("COMMIT"))
    released.start()
    try:
        # A reader is not blocked by the writer (WAL), and sees the last commit.
        r = s.ctl("user", "list", "--json")
        assert [u["name"] for u in json.loads(r.stdout)["users"]] == ["alice"]
        # A writer waits for the lock within the busy timeout.
        t0 = time.monotonic()
        r = s.ctl("user", "add", "bob", "--password-stdin", input_="pw\n")
        assert r.stdout == "user bob added (id 3)\n"
        assert time.monotonic() - t0 >= 0.5
    finally:
        released.join()
        con.close()


def test_gives_up_on_a_lock_held_too_long(fresh):
    s = fresh
    add_user(s, "alice")
    con = connect(s)
    con.execute("BEGIN IMMEDIATE")
    try:
        r = s.ctl("user", "del", "alice", check=False)
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert (r.returncode, r.stdout, errline(r)) == (1, "", (
        "ankicollabctl: the database stayed locked for 5 s; nothing was changed, "
        "try again\n"))
    assert q(s, "SELECT deleted_at FROM users") == [(None,)]
