"""Accounts as the add-on uses them: /login, /refreshToken, /removeToken,
/CheckUserToken, /GetUserHashFromToken (spec/api.md §2.8, §6.19–6.23)."""
import hashlib
import os
import sqlite3
import subprocess

import pytest
import requests

from suite import BUILD


def add_user(s, name, password):
    r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", s.conf, "user", "add", name,
                        "--password-stdin"], input=password + "\n", capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 0, r.stderr


def post(s, path, **kw):
    return requests.post(s.url("apid", path), timeout=10, **kw)


def login(s, name="alice", password="correct horse battery"):
    return post(s, "/login", json={"username": name, "password": password})


@pytest.fixture
def acct(suite):
    add_user(suite, "alice", "correct horse battery")
    return suite


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


def test_login_issues_a_token_pair(acct):
    r = login(acct, "Alice")  # user names are case-insensitive
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"token", "refresh_token", "expires_at", "user_id"}
    assert len(body["token"]) == 48 and body["token"].isalnum()
    assert len(body["refresh_token"]) == 64 and body["refresh_token"].isalnum()
    assert isinstance(body["expires_at"], int) and isinstance(body["user_id"], int)
    r = post(acct, "/CheckUserToken", headers=bearer(body["token"]))
    assert (r.status_code, r.text) == (200, "true")


@pytest.mark.parametrize("name,password", [("alice", "wrong"), ("nobody", "x"),
                                           (" alice", "correct horse battery")])
def test_login_refused(acct, name, password):
    r = login(acct, name, password)
    assert (r.status_code, r.text) == (401, "Invalid username or password")


def test_login_body_errors(acct):
    r = post(acct, "/login", data='{"username": "alice"', headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.text.startswith("Failed to parse the request body as JSON: ")
    r = post(acct, "/login", data='{"username":"alice","password":"x"}',
             headers={"Content-Type": "text/plain"})
    assert (r.status_code, r.text) == (415, "Expected request with `Content-Type: application/json`")
    r = post(acct, "/login", json={"username": "alice"})
    assert r.status_code == 422
    assert r.text == "Failed to deserialize the JSON body into the target type: missing field `password`"
    r = post(acct, "/login", json={"username": "alice", "password": 5})
    assert r.status_code == 422
    r = post(acct, "/login", data="", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    r = post(acct, "/login", data='{"username":"a","password":"b"} x',
             headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_several_devices_stay_logged_in(acct):
    a = login(acct).json()["token"]
    b = login(acct).json()["token"]
    for t in (a, b):
        assert post(acct, "/CheckUserToken", headers=bearer(t)).text == "true"


def test_check_user_token_never_401(acct):
    for headers in ({}, bearer("nope"), {"Authorization": "Basic x"}, bearer("")):
        r = post(acct, "/CheckUserToken", headers=headers)
        assert (r.status_code, r.text) == (200, "false")


@pytest.mark.parametrize("headers,text", [
    ({}, "Missing or invalid Authorization header"),
    ({"Authorization": "bearer abc"}, "Missing or invalid Authorization header"),
    ({"Authorization": "Bearer "}, "Malformed token"),
    ({"Authorization": "Bearer " + "a" * 1025}, "Malformed token"),
    ({"Authorization": "Bearer " + "a" * 48}, "Invalid or expired token"),
    ({"Authorization": "Bearer caf\u00e9".encode("utf-8")}, "Missing or invalid Authorization header"),
])
def test_required_auth_401_texts(acct, headers, text):
    r = post(acct, "/GetUserHashFromToken", headers=headers)
    assert (r.status_code, r.text) == (401, text)


def test_user_hash(acct):
    tok = login(acct).json()["token"]
    r = post(acct, "/GetUserHashFromToken", headers=bearer(tok))
    assert r.status_code == 200
    assert r.text == '"' + hashlib.sha256(b"alice").hexdigest() + '"'


def test_refresh_rotates(acct):
    first = login(acct).json()
    r = post(acct, "/refreshToken", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200
    second = r.json()
    assert second["token"] != first["token"]
    assert post(acct, "/CheckUserToken", headers=bearer(second["token"])).text == "true"
    # the old pair is gone, refresh token included
    assert post(acct, "/CheckUserToken", headers=bearer(first["token"])).text == "false"
    r = post(acct, "/refreshToken", json={"refresh_token": first["refresh_token"]})
    assert (r.status_code, r.text) == (401, "Error")
    r = post(acct, "/refreshToken", json={"refresh_token": "x" * 64})
    assert (r.status_code, r.text) == (401, "Error")
    r = post(acct, "/refreshToken", json={})
    assert r.status_code == 422


def test_expired_token(acct):
    body = login(acct).json()
    db = sqlite3.connect(os.path.join(acct.data_dir, "ankicollab.db"))
    db.execute("UPDATE auth_tokens SET expires_at = unixepoch() - 1")
    db.commit()
    db.close()
    r = post(acct, "/GetUserHashFromToken", headers=bearer(body["token"]))
    assert (r.status_code, r.text) == (401, "Invalid or expired token")
    assert post(acct, "/CheckUserToken", headers=bearer(body["token"])).text == "false"
    # the refresh token outlives the access token
    assert post(acct, "/refreshToken", json={"refresh_token": body["refresh_token"]}).status_code == 200


def test_logout_ends_only_this_device(acct):
    a = login(acct).json()["token"]
    b = login(acct).json()["token"]
    r = post(acct, "/removeToken", headers=bearer(a))
    assert (r.status_code, r.text) == (200, "Token successfully removed")
    assert post(acct, "/CheckUserToken", headers=bearer(a)).text == "false"
    assert post(acct, "/CheckUserToken", headers=bearer(b)).text == "true"
    r = post(acct, "/removeToken", headers=bearer(a))
    assert (r.status_code, r.text) == (401, "Invalid or expired token")


def test_deleted_user_is_logged_out(acct):
    tok = login(acct).json()["token"]
    acct.ctl("user", "del", "alice")
    assert post(acct, "/CheckUserToken", headers=bearer(tok)).text == "false"
    assert login(acct).status_code == 401


def test_passwd_takes_effect(acct):
    r = subprocess.run([os.path.join(BUILD, "ankicollabctl"), "-c", acct.conf, "user", "passwd",
                        "alice", "--password-stdin"], input="new secret\n", text=True,
                       capture_output=True, timeout=30)
    assert r.returncode == 0
    assert login(acct).status_code == 401
    assert login(acct, password="new secret").status_code == 200
