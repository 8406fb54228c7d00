"""Issue 6: GET /metrics parses as the Prometheus text format (with Debian's
python3-prometheus-client) and its counters match the requests a test sent."""
import socket
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from addon import Addon, add_user
from deckdb import connect
from suite import DAEMONS, wait_for

ALIVE = ("POST /CheckDeckAlive HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
         "Content-Length: 18\r\nConnection: close\r\n\r\n{\"deck_hashes\":[]}").encode()


def scrape(s):
    r = requests.get(s.url("apid", "/metrics"), timeout=5)
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = {}
    for fam in text_string_to_metric_families(r.text):
        for smp in fam.samples:
            key = (smp.name, tuple(sorted(smp.labels.items())))
            assert key not in samples, key
            samples[key] = smp.value
    return samples


def val(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0)


def raw(s, request):
    """Sends request bytes as they are; returns every byte of the answer."""
    with socket.create_connection(("127.0.0.1", s.ports["apid"]), timeout=5) as c:
        c.sendall(request)
        out = b""
        while chunk := c.recv(65536):
            out += chunk
    return out


def test_counters_match_the_requests_sent(make_suite):
    s = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "0"})
    before = scrape(s)
    answers = [raw(s, ALIVE) for _ in range(3)]
    for a in answers:
        assert a.startswith(b"HTTP/1.1 200 ") and a.endswith(b"\r\n\r\n[]")
    ts_codes = [requests.get(s.url("apid", "/GetDeckTimestamp/no-such-deck-hash"),
                             timeout=5).status_code for _ in range(2)]
    assert 200 not in ts_codes
    assert requests.get(s.url("apid", "/no/such/path/1"), timeout=5).status_code == 404
    assert requests.get(s.url("apid", "/no/such/path/2"), timeout=5).status_code == 404
    after = scrape(s)

    def delta(name, **labels):
        return val(after, name, **labels) - val(before, name, **labels)

    alive = {"route": "/CheckDeckAlive", "method": "POST"}
    assert delta("ankicollab_http_requests_total", **alive) == 3
    assert delta("ankicollab_http_received_bytes_total", **alive) == 3 * len(ALIVE)
    assert delta("ankicollab_http_sent_bytes_total", **alive) == sum(map(len, answers))
    assert delta("ankicollab_http_request_duration_seconds_count", **alive) == 3
    assert delta("ankicollab_http_request_duration_seconds_bucket", le="+Inf", **alive) == 3
    assert delta("ankicollab_http_request_duration_seconds_sum", **alive) > 0
    ts = {"route": "/GetDeckTimestamp/*", "method": "GET"}
    assert delta("ankicollab_http_requests_total", **ts) == 2
    # Paths no route knows share one row: no label per path.
    assert delta("ankicollab_http_requests_total", route="unmatched", method="") == 2
    assert not any("no/such" in str(k) for k in after)
    # The first scrape is counted once it is done.
    assert delta("ankicollab_http_requests_total", route="/metrics", method="GET") == 1
    assert delta("ankicollab_http_responses_total", code="404") == 2 + ts_codes.count(404)
    assert delta("ankicollab_http_responses_total", code="200") == 3 + 1
    # Histogram buckets are cumulative and end at the count.
    for labels in (alive, ts):
        buckets = sorted((float(dict(k[1])["le"]), v) for k, v in after.items()
                         if k[0] == "ankicollab_http_request_duration_seconds_bucket"
                         and all(dict(k[1]).get(n) == x for n, x in labels.items()))
        counts = [v for _, v in buckets]
        assert counts == sorted(counts) and counts[-1] == val(
            after, "ankicollab_http_requests_total", **labels)


def test_daemons_db_media_and_gc(make_suite):
    s = make_suite(extra={"gcd": {"tokens_interval": "1h"}})
    st = s.status()
    m = scrape(s)
    assert val(m, "ankicollab_supervisor_up") == 1
    for name in DAEMONS:
        assert val(m, "ankicollab_daemon_up", daemon=name) == 1
        assert val(m, "ankicollab_daemon_rss_bytes", daemon=name) > 0
        assert val(m, "ankicollab_daemon_restarts_total", daemon=name) == 0
        assert val(m, "ankicollab_daemon_oom_kills_total", daemon=name) == 0
        assert val(m, "ankicollab_daemon_memory_max_bytes", daemon=name) == \
            st[name]["memory_max"]
    assert val(m, "ankicollab_db_up") == 1 and val(m, "ankicollab_db_size_bytes") > 0
    assert val(m, "ankicollab_media_up") == 1
    assert val(m, "ankicollab_media_size_bytes") == 0 and val(m, "ankicollab_media_files") == 0
    assert val(m, "ankicollab_disk_free_bytes") > 0

    # gcd's removals reach /metrics through the supervisor.
    add_user(s, "alice")
    Addon(s, "alice")
    db = connect(s)
    uid = db.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()[0]
    now = time.time()
    for _ in range(3):
        db.execute("INSERT INTO auth_tokens (user_id, token_hash, refresh_token_hash,"
                   " expires_at, refresh_expires_at) VALUES (?, randomblob(32),"
                   " randomblob(32), ?, ?)", (uid, now - 100, now - 50))
    runs = val(scrape(s), "ankicollab_gc_runs_total", job="tokens")
    assert runs >= 1       # the run at start
    assert s.ctl("gc", "run", "tokens").stdout.strip() == "tokens: 3 removed"
    m = wait_for(lambda: (m := scrape(s)) and
                 val(m, "ankicollab_gc_runs_total", job="tokens") == runs + 1 and m, 5,
                 what="the gc run in /metrics")
    assert val(m, "ankicollab_gc_removed_total", job="tokens") == 3
    assert val(m, "ankicollab_gc_failures_total", job="tokens") == 0

    # A daemon killed is a restart.
    s.ctl("stop", "gcd")
    m = wait_for(lambda: (m := scrape(s)) and
                 val(m, "ankicollab_daemon_up", daemon="gcd") == 0 and m, 5,
                 what="gcd down in /metrics")
    assert val(m, "ankicollab_daemon_up", daemon="apid") == 1
    # Sums survive gcd's absence: the supervisor keeps them.
    assert val(m, "ankicollab_gc_removed_total", job="tokens") == 3


def test_metrics_is_never_rate_limited(make_suite):
    s = make_suite(env={"STANDARD_API_RATE_LIMIT_PER_MINUTE": "1"})
    for _ in range(10):
        r = requests.get(s.url("apid", "/metrics"), timeout=5)
        assert r.status_code == 200 and "x-ratelimit-limit" not in r.headers
