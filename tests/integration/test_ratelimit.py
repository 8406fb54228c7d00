"""Rate limits per route class (issue 6; DESIGN.md): N per minute is a burst of
N refilled evenly over the minute; the next request gets 429 with Retry-After."""
import requests

from addon import Addon, add_user


def test_standard_class_lets_exactly_n_through(make_suite):
    s = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "5"})
    url = s.url("apid", "/CheckDeckAlive")
    seen = []
    for _ in range(5):
        r = requests.post(url, json={"deck_hashes": []}, timeout=5)
        seen.append(r.status_code)
        assert r.headers["x-ratelimit-limit"] == "5"
    assert 429 not in seen
    r = requests.post(url, json={"deck_hashes": []}, timeout=5)
    assert r.status_code == 429
    assert r.text == f"Too Many Requests! Wait for {r.headers['Retry-After']}s"
    assert "Content-Type" not in r.headers
    assert 1 <= int(r.headers["Retry-After"]) <= 12  # one token per 12 s at 5/min
    assert r.headers["x-ratelimit-remaining"] == "0"
    # /health is never limited
    for _ in range(20):
        assert requests.get(s.url("apid", "/health"), timeout=5).status_code == 200


def test_classes_and_users_have_their_own_buckets(make_suite):
    s = make_suite(env={"STRICT_API_RATE_LIMIT_PER_MINUTE": "3",
                        "STANDARD_API_RATE_LIMIT_PER_MINUTE": "1000"})
    add_user(s, "alice")
    a = Addon(s, "alice")  # one /login from this address
    for _ in range(2):
        assert a.post_json("/login", {"username": "alice", "password": "x"},
                           auth=False).status_code == 401
    r = a.post_json("/login", {"username": "alice", "password": "x"}, auth=False)
    assert r.status_code == 429
    # a logged-in user is keyed by token, not by address
    assert a.post_empty("/CheckUserToken").text == "true"
    # the standard class is untouched
    assert a.post_json("/CheckDeckAlive", {"deck_hashes": []}).status_code == 200


def test_zero_switches_a_class_off(make_suite):
    s = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "0"})
    for _ in range(50):
        r = requests.post(s.url("apid", "/CheckDeckAlive"), json={"deck_hashes": []}, timeout=5)
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers


def test_web_login_is_strict_and_pages_are_not(make_suite):
    s = make_suite(env={"STRICT_API_RATE_LIMIT_PER_MINUTE": "3"})
    add_user(s, "alice")
    url = s.url("apid", "/ui/login")
    codes = [requests.post(url, data={"username": "alice", "password": "wrong"},
                           allow_redirects=False, timeout=10).status_code for _ in range(4)]
    assert 429 not in codes[:3]
    assert codes[3] == 429
    # the login page itself and the status page stay free
    for _ in range(6):
        assert requests.get(url, timeout=5).status_code == 200
    assert requests.get(s.url("apid", "/ui/status"), timeout=5).status_code == 200
