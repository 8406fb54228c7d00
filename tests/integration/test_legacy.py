"""Routes of the older fork that old add-ons still call (spec/api.md §15)."""
import requests

from addon import Addon, add_user


def get(suite, path, method="GET"):
    return requests.request(method, suite.url("apid", path), timeout=10)


def test_old_logout_by_path(suite):
    add_user(suite, "alice")
    pid = suite.health("apid")["pid"]
    phone, laptop = Addon(suite, "alice"), Addon(suite, "alice")
    r = get(suite, f"/removeToken/{phone.token}")
    assert (r.status_code, r.text) == (200, "Token successfully removed")
    assert phone.post_empty("/CheckUserToken").text == "false"
    assert laptop.post_empty("/CheckUserToken").text == "true"  # only that device's pair
    # the old fork said 500 "Error" here; a client's mistake is no server fault
    for path in (f"/removeToken/{phone.token}", "/removeToken/", "/removeToken/" + "x" * 2000,
                 "/removeToken/a/b"):
        r = get(suite, path)
        assert (r.status_code, r.text) == (200, "Token not found")
    r = get(suite, f"/removeToken/{laptop.token}", method="POST")
    assert r.status_code == 405 and "GET" in r.headers["Allow"]
    # the current logout is untouched
    r = requests.post(suite.url("apid", "/removeToken"),
                      headers={"Authorization": f"Bearer {laptop.token}"}, timeout=10)
    assert (r.status_code, r.text) == (200, "Token successfully removed")
    assert suite.health("apid")["pid"] == pid
