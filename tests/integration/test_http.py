"""The HTTP layer (common/http*.c) as a client sees it, through build/tests/http_test_server.

Most tests speak raw HTTP over sockets, so that status lines, headers, bodies
and the moment the server closes are checked byte for byte. The server runs
with short timeouts so that the timeout tests take well under a second each.

HTTP_TEST_VALGRIND=1 runs the server under valgrind; the fixture then fails a
test module whose server reported an error or a leak when it exited.
"""
import hashlib
import os
import random
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import requests

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("ANKICOLLAB_BUILD", os.path.join(ROOT, "build"))
SERVER = os.path.join(BUILD, "tests", "http_test_server")
VALGRIND = os.environ.get("HTTP_TEST_VALGRIND") == "1"
# Valgrind runs the server some 20-50 times slower.
SLOW = 4 if VALGRIND else 1

HEADER_MS = 600 * SLOW
BODY_MS = 600 * SLOW
IDLE_MS = 600 * SLOW
TEXT_413 = b"Failed to buffer the request body: length limit exceeded"


class Server:
    """One http_test_server process; stop() always reaps it."""

    def __init__(self, *args):
        cmd = [SERVER, "--header-timeout", str(HEADER_MS), "--body-timeout", str(BODY_MS),
               "--idle-timeout", str(IDLE_MS), "--write-timeout", str(2000 * SLOW), *args]
        if VALGRIND:
            self.vglog = tempfile.NamedTemporaryFile(prefix="vg-http-", suffix=".log", delete=False).name
            cmd = ["valgrind", "--quiet", "--leak-check=full", "--errors-for-leak-kinds=definite,indirect",
                   "--error-exitcode=99", f"--log-file={self.vglog}", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            ready, _, _ = select.select([self.proc.stdout], [], [], 30)
            line = self.proc.stdout.readline().decode() if ready else ""
            if not line.startswith("port "):
                raise RuntimeError(f"http_test_server did not start: {line!r}")
            self.port = int(line.split()[1])
        except BaseException:
            self.stop()
            raise

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def conn(self, timeout=5):
        return Conn(self.port, timeout)

    def figures(self, path):
        """A "key=N key=N" answer as a dict."""
        body = requests.get(self.url(path), timeout=5).text
        return {k: int(v) for k, v in (f.split("=") for f in body.split())}

    def stats(self):
        return self.figures("/stats")

    def rss(self):
        """{"hwm_kb", "rss_kb", "sanitized"}: the server's own memory figures."""
        return self.figures("/rss")

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """SIGTERM (the server drains and exits 0), then SIGKILL if it hangs. Returns the status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10 * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        return self.proc.returncode


def check_clean_exit(srv):
    status = srv.stop()
    if VALGRIND:
        with open(srv.vglog) as f:
            report = f.read()
        os.unlink(srv.vglog)
        assert status == 0, f"valgrind found errors:\n{report}"
    else:
        assert status == 0


@pytest.fixture(scope="module")
def server():
    srv = Server()
    try:
        yield srv
    finally:
        check_clean_exit(srv)


class Conn:
    """A raw client connection that reads responses off a byte buffer."""

    def __init__(self, port, timeout=5):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout * SLOW)
        self.buf = b""

    def close(self):
        self.s.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def send(self, data):
        self.s.sendall(data)

    def _fill(self):
        data = self.s.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.buf += data

    def readline(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def read(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def response(self, head=False):
        """Returns (status line, {lower-case name: value}, body)."""
        status = self.readline().decode()
        headers = {}
        while True:
            line = self.readline()
            if not line:
                break
            name, value = line.decode("latin-1").split(":", 1)
            assert name.lower() not in headers, f"duplicate header {name}"
            headers[name.lower()] = value.strip()
        code = int(status.split()[1])
        if head or code in (100, 204, 304):
            body = b""
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int(self.readline().split(b";")[0], 16)
                if size == 0:
                    assert self.readline() == b""
                    break
                parts.append(self.read(size))
                assert self.read(2) == b"\r\n"
            body = b"".join(parts)
        elif "content-length" in headers:
            body = self.read(int(headers["content-length"]))
        else:
            body = self.read_to_eof()
        return status, headers, body

    def read_to_eof(self):
        try:
            while True:
                self._fill()
        except EOFError:
            pass
        data, self.buf = self.buf, b""
        return data

    def closed(self, timeout=3):
        """True when the server closes (EOF or reset) within timeout with nothing more to say."""
        self.s.settimeout(timeout * SLOW)
        try:
            data = self.s.recv(65536)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        assert data == b"", f"unexpected bytes {data[:200]!r}"
        return True


def get(path, extra=b""):
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n"


def post(path, body, extra=b""):
    return (b"POST " + path.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n" + extra + b"\r\n" + body)


def pattern(n, seed=1):
    """n reproducible bytes, made quickly."""
    block = random.Random(seed).randbytes(65536)
    return (block * (n // len(block) + 1))[:n]


def body_stream(total, piece=256 * 1024):
    """A body as a generator, so 10 MB never sits in one Python object twice."""
    block = pattern(piece)
    sent = 0
    while sent < total:
        n = min(piece, total - sent)
        yield block[:n]
        sent += n


def md5_of_stream(total, piece=256 * 1024):
    h = hashlib.md5()
    for b in body_stream(total, piece):
        h.update(b)
    return h.hexdigest()


# ---- routing ------------------------------------------------------------------


def test_404_has_an_empty_body(server):
    with server.conn() as c:
        c.send(get("/nope"))
        status, headers, body = c.response()
        assert status == "HTTP/1.1 404 Not Found"
        assert headers["content-length"] == "0" and body == b""
        # The connection stays usable.
        c.send(get("/hello"))
        assert c.response()[2] == b"hello"


def test_405_names_the_allowed_methods(server):
    with server.conn() as c:
        c.send(b"DELETE /md5 HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, body = c.response()
        assert status == "HTTP/1.1 405 Method Not Allowed"
        assert headers["allow"] == "POST, PUT" and body == b""
        c.send(post("/hello", b"x"))
        status, headers, body = c.response()
        assert status.startswith("HTTP/1.1 405 ") and headers["allow"] == "GET, HEAD"
        c.send(get("/hello"))
        assert c.response()[2] == b"hello"


def test_unknown_method_gets_405_or_404_then_close(server):
    with server.conn() as c:
        c.send(b"BREW /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, body = c.response()
        assert status == "HTTP/1.1 405 Method Not Allowed"
        assert headers["allow"] == "GET, HEAD" and headers["connection"] == "close"
        assert c.closed()
    with server.conn() as c:
        c.send(b"PROPFIND /nowhere HTTP/1.1\r\nHost: t\r\n\r\n")
        assert c.response()[0] == "HTTP/1.1 404 Not Found"


def test_prefix_route_gives_tail_and_query(server):
    r = requests.get(server.url("/prefix/a/b%20c?x=1&y=2"), timeout=5)
    assert r.status_code == 200 and r.text == "tail=a/b%20c query=x=1&y=2"


def test_head_answers_like_get_without_a_body(server):
    with server.conn() as c:
        c.send(b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, body = c.response(head=True)
        assert status == "HTTP/1.1 200 OK"
        assert headers["content-length"] == "5" and headers["x-test"] == "yes"
        assert headers["x-peer"] == "127.0.0.1"
        c.send(b"HEAD /chunked?n=3 HTTP/1.1\r\nHost: t\r\n\r\n")
        status, headers, _ = c.response(head=True)
        assert headers["transfer-encoding"] == "chunked"
        # Nothing of either body may follow: the next answer comes next.
        c.send(get("/hello"))
        assert c.response()[2] == b"hello"


# ---- keep-alive, pipelining, Connection ------------------------------------


def test_keep_alive_reuses_the_connection(server):
    with server.conn() as c:
        for _ in range(5):
            c.send(get("/hello"))
            status, headers, body = c.response()
            assert status == "HTTP/1.1 200 OK" and body == b"hello"
            assert "connection" not in headers


def test_pipelined_requests_are_answered_in_order(server):
    reqs = (get("/async?ms=80") + post("/md5", b"hello") + get("/prefix/x")
            + b"HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello") + get("/nope"))
    with server.conn() as c:
        c.send(reqs)
        assert c.response()[2] == b"async"
        assert c.response()[2] == hashlib.md5(b"hello").hexdigest().encode() + b" 5"
        assert c.response()[2] == b"tail=x query="
        assert c.response(head=True)[1]["content-length"] == "5"
        assert c.response()[2] == b"hello"
        assert c.response()[0] == "HTTP/1.1 404 Not Found"


def test_connection_close_is_honoured(server):
    with server.conn() as c:
        c.send(get("/hello", b"Connection: close\r\n"))
        status, headers, body = c.response()
        assert body == b"hello" and headers["connection"] == "close"
        assert c.closed()


def test_http10_closes_unless_asked_to_keep_alive(server):
    with server.conn() as c:
        c.send(b"GET /hello HTTP/1.0\r\n\r\n")
        status, headers, body = c.response()
        assert body == b"hello" and headers["connection"] == "close"
        assert c.closed()
    with server.conn() as c:
        c.send(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        assert c.response()[1]["connection"] == "keep-alive"
        # HTTP/1.0 has no chunks: a streamed answer ends with the close.
        c.send(b"GET /chunked?n=3&size=4 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        status, headers, body = c.response()
        assert "transfer-encoding" not in headers and headers["connection"] == "close"
        assert body == b"aaaabbbbcccc"


# ---- request bodies ---------------------------------------------------------


def test_10mb_body_with_content_length_is_streamed(server):
    size = 10 * 1024 * 1024
    data = pattern(size)
    r = requests.post(server.url("/md5"), data=data, timeout=30)
    assert r.status_code == 200
    assert r.text == f"{hashlib.md5(data).hexdigest()} {size}"


def test_10mb_chunked_body_is_streamed(server):
    size = 10 * 1024 * 1024 + 12345
    r = requests.post(server.url("/md5"), data=body_stream(size, 100_000), timeout=30)
    assert r.status_code == 200
    assert r.text == f"{md5_of_stream(size, 100_000)} {size}"


def test_paused_body_arrives_whole(server):
    size = 2 * 1024 * 1024 + 7
    data = pattern(size, seed=3)
    r = requests.post(server.url("/slowmd5"), data=data, timeout=30)
    assert r.text == f"{hashlib.md5(data).hexdigest()} {size}"


@pytest.mark.skipif(VALGRIND, reason="RSS means nothing under valgrind")
def test_large_body_costs_bounded_memory():
    srv = Server()
    try:
        size = 40 * 1024 * 1024
        r = requests.post(srv.url("/md5"), data=body_stream(size), timeout=60)
        assert r.text == f"{md5_of_stream(size)} {size}"
        rss = srv.rss()
        if rss["sanitized"]:
            pytest.skip("RSS means nothing under AddressSanitizer")
        assert rss["hwm_kb"] < 16 * 1024, f"peak RSS {rss['hwm_kb']} kB after a {size >> 20} MB body"
    finally:
        check_clean_exit(srv)


def test_100_continue_when_the_body_fits(server):
    with server.conn() as c:
        c.send(b"POST /md5 HTTP/1.1\r\nHost: t\r\nContent-Length: 11\r\nExpect: 100-continue\r\n\r\n")
        assert c.response() == ("HTTP/1.1 100 Continue", {}, b"")
        c.send(b"hello world")
        status, _, body = c.response()
        assert status == "HTTP/1.1 200 OK"
        assert body == hashlib.md5(b"hello world").hexdigest().encode() + b" 11"


def test_417_when_an_expecting_body_is_too_large(server):
    with server.conn() as c:
        c.send(b"POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 5000\r\nExpect: 100-continue\r\n\r\n")
        status, headers, body = c.response()
        assert status == "HTTP/1.1 417 Expectation Failed"
        assert headers["connection"] == "close"
        assert headers["content-type"] == "text/plain; charset=utf-8" and body
        assert c.closed()


def test_413_small_excess_is_drained_and_the_connection_kept(server):
    with server.conn() as c:
        c.send(b"POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 2000\r\n\r\n")
        status, headers, body = c.response()
        assert status == "HTTP/1.1 413 Payload Too Large"
        assert headers["content-type"] == "text/plain; charset=utf-8"
        assert body == TEXT_413 and "connection" not in headers
        # The body is read past, never parsed as a request.
        c.send(get("/stats").ljust(2000, b"x") + get("/hello"))
        assert c.response()[2] == b"hello"


def test_413_large_excess_closes(server):
    with server.conn() as c:
        c.send(b"POST /small HTTP/1.1\r\nHost: t\r\nContent-Length: 10000000\r\n\r\n" + b"x" * 100000)
        status, headers, body = c.response()
        assert status == "HTTP/1.1 413 Payload Too Large" and body == TEXT_413
        assert headers["connection"] == "close"
        assert c.closed()


def test_413_chunked_body_past_the_limit(server):
    with server.conn() as c:
        c.send(b"POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n")
        c.send(b"200\r\n" + b"y" * 512 + b"\r\n")
        c.send(b"200\r\n" + b"y" * 512 + b"\r\n")
        c.send(b"10\r\n" + b"y" * 16 + b"\r\n")
        status, headers, body = c.response()
        assert status == "HTTP/1.1 413 Payload Too Large" and body == TEXT_413
        assert headers["connection"] == "close"
        assert c.closed()


def test_chunked_body_within_the_limit(server):
    with server.conn() as c:
        c.send(b"POST /small HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n" + get("/hello"))
        assert c.response()[2] == b"abcde"
        assert c.response()[2] == b"hello"


def test_early_answer_drains_a_small_body(server):
    smuggled = get("/stats")
    with server.conn() as c:
        c.send(post("/early", smuggled) + get("/hello"))
        status, headers, body = c.response()
        assert status == "HTTP/1.1 401 Unauthorized" and body == b"no token"
        assert "connection" not in headers
        assert c.response()[2] == b"hello"


def test_early_answer_to_a_large_body_closes(server):
    with server.conn() as c:
        c.send(b"POST /early HTTP/1.1\r\nHost: t\r\nContent-Length: 50000000\r\n\r\n")
        try:
            c.send(b"z" * 1000000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        status, headers, body = c.response()
        assert status == "HTTP/1.1 401 Unauthorized" and headers["connection"] == "close"
        c.read_to_eof()


def test_content_length_with_transfer_encoding_is_refused(server):
    with server.conn() as c:
        c.send(b"POST /md5 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
               b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
        status, headers, body = c.response()
        assert status == "HTTP/1.1 400 Bad Request" and headers["connection"] == "close"
        assert c.closed()


# ---- limits and bad input ---------------------------------------------------


def test_431_for_large_headers(server):
    with server.conn() as c:
        c.send(get("/hello", b"X-Big: " + b"a" * 20000 + b"\r\n"))
        status, headers, body = c.response()
        assert status == "HTTP/1.1 431 Request Header Fields Too Large"
        assert body == b"Request Header Fields Too Large" and headers["connection"] == "close"
    with server.conn() as c:
        c.send(get("/hello", b"".join(b"X-%d: v\r\n" % i for i in range(100))))
        assert c.response()[0] == "HTTP/1.1 431 Request Header Fields Too Large"


@pytest.mark.parametrize("raw", [
    b"GET /hello HTTP/1.1\r\nBad Header\r\n\r\n",
    b"GET /hello HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n",
    b"\x00\x01\x02 garbage\r\n\r\n",
    b"GET hello HTTP/1.1\r\n\r\n",
    b"GET /hello HTTP/9.9\r\n\r\n",
    b"POST /md5 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"POST /md5 HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
    b"POST /md5 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
])
def test_400_for_malformed_requests(server, raw):
    with server.conn() as c:
        c.send(raw)
        status, headers, body = c.response()
        assert status == "HTTP/1.1 400 Bad Request"
        assert body == b"Bad Request" and headers["connection"] == "close"
        assert c.closed()


def test_non_ascii_header_values_reach_the_handler(server):
    value = "Bearer caf\u00e9 \u2603".encode() + b" \xff"
    with server.conn() as c:
        c.send(get("/echo-header?Authorization", b"Authorization: " + value + b"\r\n"
                   b"authorization: second\r\n"))
        status, _, body = c.response()
        assert status == "HTTP/1.1 200 OK" and body == value + b"\n2"


def test_a_second_answer_is_refused(server):
    r = requests.get(server.url("/double"), timeout=5)
    assert r.text == "first"
    assert requests.get(server.url("/hello"), timeout=5).text == "hello"


def test_server_survives_garbage(server):
    rnd = random.Random(7)
    for i in range(30):
        with server.conn() as c:
            c.send(rnd.randbytes(rnd.randrange(1, 3000)) if i % 2 else
                   b"GET /" + rnd.randbytes(rnd.randrange(1, 200)) + b"\r\n\r\n")
            try:
                data = c.read_to_eof()
            except (ConnectionResetError, socket.timeout):
                data = b""
            assert data == b"" or data.startswith(b"HTTP/1.1 4"), data[:100]
    assert server.alive()
    assert requests.get(server.url("/hello"), timeout=5).text == "hello"
    assert server.stats()["responses_5xx"] == 0


# ---- time ------------------------------------------------------------------


def test_408_for_headers_that_do_not_finish(server):
    with server.conn() as c:
        c.send(b"GET /hello HTTP/1.1\r\nHost: t\r\n")
        t0 = time.monotonic()
        status, headers, body = c.response()
        assert status == "HTTP/1.1 408 Request Timeout" and headers["connection"] == "close"
        assert time.monotonic() - t0 < 3 * SLOW
        assert c.closed()


def test_408_for_a_stalled_body(server):
    with server.conn() as c:
        c.send(b"POST /md5 HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        status, headers, body = c.response()
        assert status == "HTTP/1.1 408 Request Timeout" and headers["connection"] == "close"
        assert c.closed()


def test_idle_keep_alive_connection_is_closed(server):
    with server.conn() as c:
        c.send(get("/hello"))
        assert c.response()[2] == b"hello"
        t0 = time.monotonic()
        assert c.closed(timeout=5)
        assert time.monotonic() - t0 >= IDLE_MS / 1000 * 0.8


def test_slowloris_does_not_block_others(server):
    stop = threading.Event()

    def trickle(c):
        try:
            c.send(b"GET /hello HTTP/1.1\r\n")
            while not stop.is_set():
                c.send(b"X: y\r\n")
                time.sleep(0.05)
        except OSError:
            pass

    slow = [server.conn() for _ in range(20)]
    idle = [server.conn() for _ in range(100)]
    threads = [threading.Thread(target=trickle, args=(c,)) for c in slow]
    for t in threads:
        t.start()
    try:
        for _ in range(10):
            t0 = time.monotonic()
            assert requests.get(server.url("/hello"), timeout=5).text == "hello"
            assert time.monotonic() - t0 < 0.5 * SLOW
        # The tricklers get their 408 at the header deadline, however busy they keep.
        status = slow[0].response()[0]
        assert status == "HTTP/1.1 408 Request Timeout"
    finally:
        stop.set()
        for t in threads:
            t.join()
        for c in slow + idle:
            c.close()


def test_async_answers_do_not_block_others(server):
    with server.conn() as slow:
        slow.send(get("/async?ms=400"))
        t0 = time.monotonic()
        assert requests.get(server.url("/hello"), timeout=5).text == "hello"
        assert time.monotonic() - t0 < 0.3 * SLOW
        assert slow.response()[2] == b"async"


# ---- responses ---------------------------------------------------------------


def test_chunked_response(server):
    r = requests.get(server.url("/chunked?n=50&size=1000"), timeout=10)
    assert r.headers["transfer-encoding"] == "chunked"
    assert r.content == b"".join(bytes([97 + k % 26]) * 1000 for k in range(50))


def test_chunked_response_to_a_slow_reader(server):
    # More than the kernel's socket buffers hold: the server must wait for us.
    n, size = 8000, 4096
    with server.conn(timeout=10) as c:
        c.send(get("/chunked?n=%d&size=%d" % (n, size)))
        time.sleep(0.3)
        rss = server.rss()
        if not VALGRIND and not rss["sanitized"]:
            assert rss["rss_kb"] < 16 * 1024, rss
        status, headers, body = c.response()
    assert len(body) == n * size
    assert body[:size] == b"a" * size and body[-size:] == bytes([97 + (n - 1) % 26]) * size


def test_file_response(server):
    data = pattern(3 * 1024 * 1024 + 5, seed=9)
    with tempfile.NamedTemporaryFile(prefix="http-file-") as f:
        f.write(data)
        f.flush()
        r = requests.get(server.url("/file?" + f.name), timeout=10)
        assert r.status_code == 200 and r.content == data
        with server.conn() as c:
            c.send(b"HEAD /file?" + f.name.encode() + b" HTTP/1.1\r\nHost: t\r\n\r\n" + get("/hello"))
            status, headers, _ = c.response(head=True)
            assert headers["content-length"] == str(len(data))
            assert c.response()[2] == b"hello"


# ---- the server as a whole ---------------------------------------------------


def test_listen_on_ipv6_loopback():
    srv = Server("--listen", "[::1]:0")
    try:
        r = requests.get(f"http://[::1]:{srv.port}/hello", timeout=5)
        assert r.text == "hello" and r.headers["x-peer"] == "::1"
    finally:
        check_clean_exit(srv)


def test_bad_listen_address_is_refused():
    for bad in ("::1:80", "127.0.0.1", "127.0.0.1:99999", "[::1]80"):
        p = subprocess.run([SERVER, "--listen", bad], capture_output=True, timeout=10)
        assert p.returncode != 0 and b"listen" in p.stderr, (bad, p.stderr)


def test_connection_limit():
    srv = Server("--max-conn", "4")
    try:
        held = [srv.conn() for _ in range(4)]
        for c in held:
            c.send(get("/hello"))
            assert c.response()[2] == b"hello"
        with srv.conn() as extra:
            data = extra.read_to_eof()
            assert data == b"" or data.startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        held.pop().close()
        time.sleep(0.1 * SLOW)
        assert requests.get(srv.url("/hello"), timeout=5).text == "hello"
        for c in held:
            c.close()
    finally:
        check_clean_exit(srv)


def test_a_client_that_stops_reading_is_dropped():
    srv = Server("--write-timeout", str(300 * SLOW))
    try:
        with srv.conn() as c:
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            c.send(get("/chunked?n=100000&size=4096"))
            # Only the /stats connection itself is left once the write timeout fires.
            deadline = time.monotonic() + 5 * SLOW
            while srv.stats()["connections"] != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            st = srv.stats()
            assert st["connections"] == 1 and st["starts"] == st["frees"] + 1, st
    finally:
        check_clean_exit(srv)


def test_shutdown_finishes_in_flight_and_closes_idle():
    srv = Server()
    try:
        idle = srv.conn()
        idle.send(get("/hello"))
        assert idle.response()[2] == b"hello"
        busy = srv.conn()
        busy.send(get("/async?ms=%d" % (500 * SLOW)))
        time.sleep(0.1 * SLOW)
        srv.proc.send_signal(signal.SIGTERM)
        assert idle.closed()
        status, headers, body = busy.response()
        assert body == b"async" and headers["connection"] == "close"
        assert srv.proc.wait(5 * SLOW) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", srv.port), timeout=1).close()
        idle.close()
        busy.close()
    finally:
        check_clean_exit(srv)


def test_every_started_request_is_freed(server):
    """Last: every on_request so far has had its on_free (the /stats one is live)."""
    deadline = time.monotonic() + 5 * SLOW
    while True:
        st = server.stats()
        if st["starts"] == st["frees"] + 1 or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert st["starts"] == st["frees"] + 1, st
    assert st["responses_5xx"] == 0
    assert st["bytes_in"] > 20 * 1024 * 1024 and st["bytes_out"] > 8 * 1024 * 1024
