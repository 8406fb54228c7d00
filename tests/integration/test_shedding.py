"""Issue 6: under a flood of /createDeck, two run, four wait their turn, and the
rest get 503 with Retry-After, while /health and /CheckDeckAlive keep answering."""
import json
import socket
import threading
import time

import pytest
import requests

from addon import Addon, add_user, deck, note, notetype, ungzb64
from suite import SANITIZED, wait_for

NO_LIMITS = pytest.mark.skipif(SANITIZED, reason="memory limits are off under sanitizers")


def open_upload(suite, token):
    """Starts a /createDeck whose body trickles: it stays in flight."""
    s = socket.create_connection(("127.0.0.1", suite.ports["apid"]), timeout=5)
    s.sendall((f"POST /createDeck HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
               "Content-Type: text/plain\r\nContent-Length: 1000000\r\n\r\nH4sI").encode())
    return s


def answer_of(s, timeout=2):
    s.settimeout(timeout)
    try:
        return s.recv(4096).decode(errors="replace")
    except socket.timeout:
        return ""


def test_flood_of_create_deck_is_shed_while_cheap_routes_answer(make_suite):
    suite = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "0"})
    add_user(suite, "alice")
    token = Addon(suite, "alice").token
    socks = [open_upload(suite, token) for _ in range(8)]
    try:
        answers = [answer_of(s, 1) for s in socks]
        refused = [a for a in answers if a.startswith("HTTP/1.1 503")]
        waiting = [a for a in answers if a == ""]
        assert len(waiting) == 6, answers          # 2 running, 4 queued
        assert len(refused) == 2, answers
        for a in refused:
            assert "\r\nRetry-After: 5\r\n" in a and a.endswith("Server busy, please retry")
        t0 = time.monotonic()
        for _ in range(20):
            assert requests.get(suite.url("apid", "/health"), timeout=2).status_code == 200
            r = requests.post(suite.url("apid", "/CheckDeckAlive"),
                              json={"deck_hashes": []}, timeout=2)
            assert (r.status_code, r.text) == (200, "[]")
        assert time.monotonic() - t0 < 5
    finally:
        for s in socks:
            s.close()
    # Once the flood is gone, publishing works again.
    time.sleep(0.3)
    s = open_upload(suite, token)
    try:
        assert answer_of(s, 1) == ""
    finally:
        s.close()


def test_a_queued_publish_runs_when_a_slot_frees(make_suite):
    suite = make_suite()
    add_user(suite, "alice")
    a = Addon(suite, "alice")
    running = [open_upload(suite, a.token) for _ in range(2)]
    m = notetype("Basic", ["Front", "Back"])
    result = {}

    def publish():
        result["r"] = a.create_deck(deck("Queued", notes=[note(m, ["q", "a"])],
                                         note_models=[m]))

    t = threading.Thread(target=publish)
    t.start()
    try:
        time.sleep(1)
        assert "r" not in result           # waiting, not refused
    finally:
        for s in running:
            s.close()
    t.join(10)
    status, body = result["r"]
    assert status == 200 and body["status"] == 1


@NO_LIMITS
def test_full_pulls_are_heavy(make_suite):
    """A fresh subscriber's pull (the magic timestamp) is shed like /createDeck; a
    pull of recent changes and the cheap routes are not."""
    suite = make_suite()
    add_user(suite, "alice")
    a = Addon(suite, "alice")
    m = notetype("Basic", ["Front", "Back"])
    status, body = a.create_deck(deck("Heavy", notes=[note(m, ["q", "a"])], note_models=[m]))
    assert status == 200, body
    h = body["message"]
    assert a.pull({h: "2022-12-31 23:59:59"})[0]["deck_hash"] == h
    # apid past its memory_high from now on: heavy work is refused.
    suite.write_config({"apid": {"memory_high": "1M"}})
    suite.ctl("reload")
    r = a.post_json("/pullChanges", {h: {"timestamp": "2022-12-31 23:59:59", "deckId": 0}},
                    auth=False)
    assert (r.status_code, r.text) == (503, "Server busy, please retry")
    assert r.headers["Retry-After"] == "5"
    r = a.post_json("/pullChanges", {h: {"timestamp": "2023-01-01 00:00:00", "deckId": 0}},
                    auth=False)
    assert r.status_code == 200
    r = a.post_json("/CheckDeckAlive", {"deck_hashes": [h]}, auth=False)
    assert (r.status_code, r.json()) == (200, [])


@NO_LIMITS
def test_media_uploads_are_shed_near_the_memory_limit(make_suite):
    import hashlib
    import os

    from test_mediad import Media, sample
    suite = make_suite(extra={"mediad": {"memory_high": "1M"}})
    media = Media(suite)
    data = sample("png")
    h = hashlib.md5(data).hexdigest()
    r = media.put(h, data)
    assert (r.status_code, r.text) == (503, "Server busy, please retry")
    assert r.headers["Retry-After"] == "5"
    assert not os.path.exists(media.stored(h)) and media.spool() == []
    # A bad token still gets its 401 first.
    r = media.put(h, data, token="bad")
    assert r.status_code == 401
    suite.write_config({})
    suite.ctl("reload")
    assert media.put(h, data).status_code == 200


def test_full_pulls_run_eight_at_once(make_suite):
    """Eight fresh subscribers that read slowly hold the eight full-pull slots: the
    ninth gets 503 with Retry-After, a pull of recent changes is served, and once the
    slow ones go, full pulls are served again."""
    from test_metrics import scrape, val
    from test_pull import MAGIC, Seed, big_deck
    suite = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "0"})
    seed = Seed(suite)
    h = big_deck(seed, seed.user("alice"), 4000)
    seed.close()
    body = json.dumps({h: {"timestamp": MAGIC, "deckId": 0}}).encode()
    req = (b"POST /pullChanges HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\n\r\n" % len(body)) + body
    slow = []
    try:
        for _ in range(8):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.connect(("127.0.0.1", suite.ports["apid"]))
            s.sendall(req)
            slow.append(s)
        wait_for(lambda: val(scrape(suite), "ankicollab_heavy_requests",
                             state="full_pull") == 8, 10, what="eight full pulls streaming")
        r = requests.post(suite.url("apid", "/pullChanges"), data=body,
                          headers={"Content-Type": "application/json"}, timeout=10)
        assert (r.status_code, r.text) == (503, "Server busy, please retry")
        assert r.headers["Retry-After"] == "5"
        r = requests.post(suite.url("apid", "/pullChanges"), timeout=10,
                          json={h: {"timestamp": "2999-01-01 00:00:00", "deckId": 0}})
        assert (r.status_code, ungzb64(r.text)) == (200, [])
    finally:
        for s in slow:
            s.close()
    wait_for(lambda: val(scrape(suite), "ankicollab_heavy_requests", state="full_pull") == 0,
             10, what="the slots freed")
    r = requests.post(suite.url("apid", "/pullChanges"), data=body,
                      headers={"Content-Type": "application/json"}, timeout=60)
    assert r.status_code == 200 and ungzb64(r.text)[0]["deck_hash"] == h
