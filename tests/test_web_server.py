"""The web server as deployed: the Procfile's ``web`` line (Granian, :mod:`feeds.web.server`)
serving a real store, checked on the wire.

test_http.py pins the HTTP contract with the app in-process under Werkzeug's
server. The server a PaaS runs decides part of what reaches a reader too: how
HEAD and 304 answers are framed, keep-alive, limits on request heads, what slow,
idle and hostile clients get, and whether a worker still answers while a push is
being taken. So the same contract is checked here through that server, on both
database backends.
"""

from __future__ import annotations

import gzip
import http.client
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote

import feedparser
import pytest

from feeds.intake import take_pushes
from feeds.schedule import Jobs
from tests.conftest import Project
from tests.pages import news_page, story
from tests.procs import Proc, start_web, wait_until
from tests.test_http import FEEDS, ODD_PATHS

TOKEN = "web-server-token"
CLIENT_TIMEOUT = 2  # seconds (FEEDS_CLIENT_TIMEOUT): short, so closing slow clients is quick to see


@dataclass
class Web:
    project: Project
    proc: Proc
    port: int

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, http.client.HTTPMessage, bytes]:
        conn = self.connect()
        try:
            return exchange(conn, method, path, headers, body)
        finally:
            conn.close()


def exchange(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One request on ``conn`` with exactly this target (nothing normalised, no default Accept-Encoding)."""
    conn.putrequest(method, path, skip_accept_encoding=True)
    for name, value in (headers or {}).items():
        conn.putheader(name, value)
    if body is not None:
        conn.putheader("Content-Length", str(len(body)))
    conn.endheaders(body)
    resp = conn.getresponse()
    return resp.status, resp.headers, resp.read()


@pytest.fixture
def web(project: Project) -> Iterator[Web]:
    """Twelve stories in three sections, ingested and built, served by the Procfile's web line."""
    for n in range(1, 13):
        project.add_page(f"story-{n}.html", story(n, ["World", "Sport", "Business"][n % 3]))
    assert not project.ingest().rejected
    project.build()
    env = project.env(FEEDS_INGEST_TOKEN=TOKEN, WEB_CONCURRENCY="1", FEEDS_CLIENT_TIMEOUT=str(CLIENT_TIMEOUT))
    proc, port = start_web(env, project.root)
    try:
        yield Web(project, proc, port)
    finally:
        proc.stop()


def stop_cleanly(web: Web) -> None:
    """SIGTERM, as a platform sends on deploy: the server exits 0 and nothing was logged as a traceback."""
    web.proc.popen.send_signal(signal.SIGTERM)
    assert web.proc.wait(30) == 0, web.proc.output()
    assert "Traceback" not in web.proc.output(), web.proc.output()


@pytest.mark.parametrize("path", sorted(FEEDS))
def test_feed_answers_on_one_kept_alive_connection(web: Web, path: str) -> None:
    conn = web.connect()
    try:
        status, headers, body = exchange(conn, "GET", path)
        sock = conn.sock  # the same socket must carry every answer below
        assert status == 200
        assert headers["Content-Type"] == FEEDS[path]
        assert headers["Content-Length"] == str(len(body))
        etag, last_modified = headers["ETag"], headers["Last-Modified"]
        assert etag.startswith('"') and etag.endswith('"')
        assert headers["Cache-Control"].startswith("public, max-age=")
        assert headers["Access-Control-Allow-Origin"] == "*"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "Accept-Encoding" in headers["Vary"]
        if path.endswith(".json"):
            assert len(json.loads(body)["items"]) > 0
        elif not path.endswith(".opml"):
            parsed = feedparser.parse(body)
            assert not parsed.bozo and len(parsed.entries) > 0

        status, zheaders, zbody = exchange(conn, "GET", path, {"Accept-Encoding": "gzip"})
        assert (status, zheaders["Content-Encoding"]) == (200, "gzip")
        assert zheaders["Content-Length"] == str(len(zbody)) and gzip.decompress(zbody) == body
        assert zheaders["ETag"] != etag

        for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": last_modified},
                            {"If-None-Match": zheaders["ETag"], "Accept-Encoding": "gzip"}):
            status, h304, body304 = exchange(conn, "GET", path, conditional)
            assert (status, body304) == (304, b""), conditional
            assert h304["ETag"] == conditional.get("If-None-Match", etag)
            assert h304.get("Content-Length") in (None, "0")

        status, hhead, head_body = exchange(conn, "HEAD", path)
        assert (status, head_body) == (200, b"")
        assert (hhead["Content-Length"], hhead["ETag"], hhead["Content-Type"]) == (str(len(body)), etag, FEEDS[path])

        assert exchange(conn, "GET", path)[2] == body  # the stream stayed in step after HEAD and 304s
        assert conn.sock is sock, "the connection was not kept alive"
    finally:
        conn.close()
    stop_cleanly(web)


def test_odd_requests_get_short_4xx_never_an_error(web: Web) -> None:
    for path in ODD_PATHS:
        for method in ("GET", "HEAD"):
            status, headers, body = web.request(method, path)
            assert status == 404, (method, path, status)
            assert len(body) < 100
    status, headers, _ = web.request("OPTIONS", "/feeds/world.rss")
    assert status == 204 and headers["Access-Control-Allow-Origin"] == "*"
    status, headers, _ = web.request("POST", "/feeds/world.rss", body=b"x")
    assert status == 405 and headers["Allow"] == "GET, HEAD, OPTIONS"
    status, _, body = web.request("GET", "/feeds/" + "x" * 20_000)
    assert status == 404 and len(body) < 100
    assert web.request("GET", "/feeds/world.rss")[0] == 200
    stop_cleanly(web)


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> tuple[bytes, bool]:
    """Send ``data`` as it is on a new connection; (everything answered, whether the server closed it)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except TimeoutError:
            return answer, False
        return answer, True


@pytest.mark.parametrize(
    "head",
    [
        b"POST /api/articles HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /api/articles HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"GET /feeds/world.rss HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ],
    ids=["length-and-chunked", "two-lengths", "feed-length-and-chunked"],
)
def test_ambiguous_framing_closes_the_connection_unread(web: Web, head: bytes) -> None:
    """Two framings of one body are how requests get smuggled past a proxy. Two lengths
    get 400; a length with chunked is framed by the chunks (RFC 9112 6.3; hyper takes
    the Content-Length out before the app sees it) and answered once. Either way the
    server closes the connection, so nothing after it is read as a request."""
    smuggled = b"GET /feeds/world.rss HTTP/1.1\r\nHost: t\r\n\r\n"
    answer, closed = raw_exchange(web.port, head + smuggled)
    assert closed and answer.count(b"HTTP/1.1 ") == 1, answer
    if b"Content-Length: 6" in head:
        assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]


@pytest.mark.parametrize("extra", [b"X-Big: " + b"a" * 300_000 + b"\r\n",
                                   b"".join(b"X-%d: a\r\n" % i for i in range(200))], ids=["one-huge", "too-many"])
def test_oversized_request_heads_get_431(web: Web, extra: bytes) -> None:
    answer, closed = raw_exchange(web.port, b"GET /feeds/world.rss HTTP/1.1\r\nHost: t\r\n" + extra + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 ") and closed, answer[:200]
    assert web.request("GET", "/feeds/world.rss")[0] == 200


def test_idle_and_slow_clients_are_closed_and_delay_no_reader(web: Web) -> None:
    """Thousands of connections that never finish a request (idle, or slowloris: headers
    begun, never ended; more than Granian's default backpressure) hold no slot a reader needs, and the server closes them after
    ``client_timeout``; a kept-alive reader's idle connection too."""
    held: list[socket.socket] = []
    try:
        for n in range(5000):
            sock = socket.create_connection(("127.0.0.1", web.port), timeout=10)
            if n % 2:
                sock.sendall(b"GET /feeds/world.rss HTTP/1.1\r\nHost: t\r\nX-Slow: ")
            held.append(sock)
        reader = web.connect()
        for _ in range(20):
            started = time.monotonic()
            assert exchange(reader, "GET", "/feeds/world.rss")[0] == 200
            # A reader left waiting for a slot would wait until client_timeout frees one.
            assert time.monotonic() - started < CLIENT_TIMEOUT / 2, "a reader waited behind idle connections"

        def all_closed() -> bool:
            return all(_closed_by_server(sock) for sock in held)

        wait_until(all_closed, CLIENT_TIMEOUT + 15, "the server to close idle and slow connections")
        # The reader went idle last: its connection closes last, one client_timeout after its last answer.
        wait_until(lambda: _closed_by_server(reader.sock), CLIENT_TIMEOUT + 5, "the server to close an idle reader")
        reader.close()
    finally:
        for sock in held:
            sock.close()
    assert web.request("GET", "/feeds/world.rss")[0] == 200
    stop_cleanly(web)


def _closed_by_server(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        data = sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        return True
    return data == b"" or data.startswith(b"HTTP/1.1 408")


def test_workers_go_when_the_master_is_killed(web: Web) -> None:
    """A master killed outright (SIGKILL, the OOM killer) leaves no orphan worker on the port."""
    web.proc.popen.kill()
    web.proc.wait(10)

    def port_free() -> bool:
        try:
            socket.create_connection(("127.0.0.1", web.port), timeout=1).close()
            return False
        except OSError:
            return True

    wait_until(port_free, 15, "the orphaned worker to exit")


def test_index_and_health(web: Web) -> None:
    status, headers, body = web.request("GET", "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'rel="alternate" type="application/rss+xml"' in body and b"/feeds/world.rss" in body
    status, headers, head_body = web.request("HEAD", "/")
    assert (status, head_body) == (200, b"")
    status, _, body = web.request("GET", "/healthz")
    assert status == 200, body
    stop_cleanly(web)


def test_push_is_served_while_polls_keep_being_answered(web: Web) -> None:
    """A push is queued by the worker (202) while its other connections are answered; once
    the clock's rebuild has taken it, the served feed carries the pushed story."""
    _, headers, _ = web.request("GET", "/feeds/all.rss")
    etag = headers["ETag"]
    polls: list[int] = []
    stop = threading.Event()

    def poll() -> None:
        conn = web.connect()
        try:
            while not stop.is_set():
                polls.append(exchange(conn, "GET", "/feeds/all.rss", {"If-None-Match": etag})[0])
        finally:
            conn.close()

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        wait_until(lambda: len(polls) >= 5, 10, "the first polls")
        status, _, data = web.request(
            "POST", "/api/articles", {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/html"},
            story(99, "World").encode(),
        )
        assert status == 202, data
        pushed = "https://harbourgazette.example/story/99"
        done = len(polls)
        wait_until(lambda: len(polls) >= done + 5, 10, "polls after the push")
    finally:
        stop.set()
        poller.join(10)
    assert set(polls) == {304}

    Jobs(web.project.engine, web.project.settings()).rebuild()  # what the clock does: intake, then build

    def served_ids() -> set[str]:
        status, _, body = web.request("GET", "/feeds/world.rss")
        return {e.id for e in feedparser.parse(body).entries} if status == 200 else set()

    wait_until(lambda: pushed in served_ids(), 15, "the pushed story in the served feed")
    stop_cleanly(web)


@pytest.fixture
def api_web(project: Project) -> Iterator[Web]:
    """The Procfile's web line over an empty store, with the push API on."""
    proc, port = start_web(project.env(FEEDS_INGEST_TOKEN=TOKEN, WEB_CONCURRENCY="1"), project.root)
    try:
        yield Web(project, proc, port)
    finally:
        proc.stop()


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def push(web: Web, url: str, n: int) -> tuple[str, str]:
    """Push a page whose canonical URL is ``url`` and let the intake take it; the article's
    id and location, from the push's receipt."""
    page = news_page(url=url, headline=f"Quay story number {n}").encode()
    status, headers, body = web.request("POST", "/api/articles", {**AUTH, "Content-Type": "text/html"}, page)
    assert status == 202, body
    take_pushes(web.project.engine, web.project.settings())
    status, _, body = web.request("GET", headers["Location"], AUTH)
    receipt = json.loads(body)
    assert (status, receipt["state"]) == (200, "ingested"), receipt
    return receipt["article"]["id"], receipt["location"]


def test_delete_by_location_removes_exactly_that_article(api_web: Web) -> None:
    """Ids that differ only after a "?" are told apart: the Location names its own article,
    percent-encoded as one path segment; an id sent with a raw "?" is refused, not cut short."""
    base = "https://harbourgazette.example/story"
    plain_id, _ = push(api_web, base, 1)
    first_id, first = push(api_web, f"{base}?id=1", 2)
    second_id, second = push(api_web, f"{base}?id=2", 3)
    assert first == "/api/articles/" + quote(first_id, safe="")

    status, _, body = api_web.request("DELETE", f"/api/articles/{first_id}", AUTH)  # the "?" unencoded
    assert status == 400 and "percent-encode" in json.loads(body)["error"]

    status, _, body = api_web.request("DELETE", first, AUTH)
    assert (status, json.loads(body)) == (200, {"id": first_id, "deleted": True})
    status, _, body = api_web.request("DELETE", first, AUTH)
    assert status == 404 and first_id in json.loads(body)["error"]
    for kept, location in ((second_id, second), (plain_id, "/api/articles/" + quote(plain_id, safe=""))):
        status, _, body = api_web.request("DELETE", location, AUTH)
        assert (status, json.loads(body)["id"]) == (200, kept)
    stop_cleanly(api_web)


def test_an_id_holding_percent_escapes_round_trips_from_its_location(api_web: Web) -> None:
    article_id, location = push(api_web, "https://harbourgazette.example/news/café-ouvre-sur-le-quai", 1)
    assert article_id == "https://harbourgazette.example/news/caf%C3%A9-ouvre-sur-le-quai"
    assert unquote(location.removeprefix("/api/articles/")) == article_id
    status, _, body = api_web.request("DELETE", location, AUTH)
    assert (status, json.loads(body)) == (200, {"id": article_id, "deleted": True})
    stop_cleanly(api_web)


def read_head(stream: Any) -> tuple[bytes, dict[str, str]]:
    """A response's status line and headers, read off a raw socket's stream."""
    status = stream.readline()
    headers = {}
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


@pytest.mark.parametrize("path", ["/feeds/nope.rss", "/feeds/sports.rss", "/feeds/", "/nope", "/api/articles"])
def test_head_sends_no_body_and_the_connection_stays_in_step(api_web: Web, path: str) -> None:
    """HEAD on a 404, a 301 (an old slug), a Flask error and the API, then a GET on the same
    connection: a body sent after the HEAD's headers would be read as the GET's status line."""
    sock = socket.create_connection(("127.0.0.1", api_web.port), timeout=10)
    with sock, sock.makefile("rb") as stream:  # both closed, or the server waits on the connection
        sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: feeds.test\r\n\r\n".encode())
        status, _ = read_head(stream)
        assert status.split()[1] in (b"301", b"401", b"404", b"405"), status
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: feeds.test\r\n\r\n")
        status, headers = read_head(stream)
        assert status.startswith(b"HTTP/1.1 200 "), status
        assert json.loads(stream.read(int(headers["content-length"])))["database"] == "ok"
    stop_cleanly(api_web)
