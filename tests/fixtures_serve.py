"""Fixtures for the feed format, HTTP and WebSub tests: a project in a temporary
folder with articles put straight into its store, served over real HTTP on
127.0.0.1 by the real app (``create_app``), and a tiny real WebSub hub.

Articles go into the store directly (not through the ingester) so these tests
pin down what the build and the web layer do with every field of an article.
"""

from __future__ import annotations

import http.client
import shutil
import threading
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from feeds.publish.build import BuildResult, build
from feeds.config import Settings, load_settings
from feeds.model import Article
from feeds.schedule import Jobs
from feeds.store.articles import delete_article, upsert_article
from feeds.store.db import DOCUMENTS_VERSION, get_version, init_db, make_engine
from feeds.web import create_app

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://harbourgazette.example/"
T0 = datetime(2024, 3, 1, 8, 0, tzinfo=UTC)


def make_article(n: int, section: str = "world", **changes: Any) -> Article:
    """Article number ``n``: a later ``n`` is newer; every field filled in."""
    url = f"{SITE}{section}/story-{n}"
    published = T0 + timedelta(hours=n)
    body = "".join(
        f"<p>Paragraph {i} of story {n}: the harbour board met on a grey morning &amp; talked ferries.</p>"
        for i in range(1, 4)
    )
    values: dict[str, Any] = {
        "id": url,
        "url": url,
        "title": f"Story {n}: ferries & cranes <return>",
        "section": section,
        "published": published,
        "updated": published + timedelta(minutes=30),
        "content_html": body,
        "text": f"Paragraph 1 of story {n}.",
        "summary": f"The short version of story {n}.",
        "authors": ("Ann Lee", "Bo Chan"),
        "image": f"{SITE}images/story-{n}.jpg",
        "tags": ("Ports",),
        "language": "en",
        "source": f"file:{section}/story-{n}.html",
        "content_hash": f"hash-{n}",
    }
    values.update(changes)
    return Article(**values)


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class Project:
    """A project folder (config copied from the repository), its store, settings and app."""

    def __init__(self, tmp_path: Path, database_url: str, env: Mapping[str, str] | None = None) -> None:
        self.root = tmp_path
        shutil.copytree(ROOT / "config", tmp_path / "config")
        (tmp_path / "articles").mkdir()
        environ = {
            "FEEDS_CONFIG_DIR": str(tmp_path / "config"),
            "FEEDS_INSTANCE_DIR": str(tmp_path / "instance"),
            "FEEDS_ARTICLES_DIR": str(tmp_path / "articles"),
            "FEEDS_ITEMS_PER_FEED": "5",
            "DATABASE_URL": database_url,
            **(env or {}),
        }
        self.environ = environ
        self.settings: Settings = load_settings(environ)
        self.engine = make_engine(self.settings.database)
        init_db(self.engine)
        self.app: Any = None

    def add(self, *articles: Article) -> None:
        with self.engine.begin() as conn:
            for article in articles:
                upsert_article(conn, article, article.updated)

    def remove(self, article_id: str) -> None:
        with self.engine.begin() as conn:
            delete_article(conn, article_id)

    def build(self, force: bool = False) -> BuildResult:
        """Build and let the app's cache see it at once (as ``feeds run`` does)."""
        result = build(self.engine, self.settings, force=force)
        if self.app is not None:
            self.app.extensions["feeds"]["cache"].refresh()
        return result

    def jobs(self) -> Jobs:
        cache = self.app.extensions["feeds"]["cache"] if self.app is not None else None
        return Jobs(self.engine, self.settings, on_publish=cache.refresh if cache else None)

    def documents_version(self) -> int:
        with self.engine.connect() as conn:
            return get_version(conn, DOCUMENTS_VERSION)


class LiveServer:
    """A WSGI app on a real socket on 127.0.0.1, in a thread."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None
        self.server = make_server("127.0.0.1", 0, self._dispatch, threaded=True)
        self.port = self.server.port
        self.base_url = f"http://127.0.0.1:{self.port}/"
        # a short poll so that stop() returns at once (the default waits up to half a second)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def _dispatch(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)

    def request(self, path: str, method: str = "GET", headers: Mapping[str, str] | None = None) -> Response:
        """One request with exactly this target (nothing normalised), on a fresh connection."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.putrequest(method, path, skip_host=False, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                conn.putheader(name, value)
            conn.endheaders()
            resp = conn.getresponse()
            body = resp.read()
            return Response(resp.status, resp.headers, body)
        finally:
            conn.close()

    def get(self, path: str, **headers: str) -> Response:
        return self.request(path, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@dataclass
class Served:
    project: Project
    server: LiveServer

    @property
    def settings(self) -> Settings:
        return self.project.settings

    def url(self, path: str) -> str:
        return self.server.base_url + path.lstrip("/")


def serve_project(
    tmp_path: Path, database_url: str, env: Mapping[str, str] | None = None
) -> tuple[Project, LiveServer]:
    server = LiveServer()
    project = Project(tmp_path, database_url, {"FEEDS_PUBLIC_URL": server.base_url, **(env or {})})
    project.app = create_app(project.settings, project.engine)
    server.app = project.app
    return project, server


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[Served]:
    """A served project with seven world, three sport and two business stories, built,
    on each database backend (``database_url`` comes from conftest)."""
    project, server = serve_project(tmp_path, database_url)
    project.add(*(make_article(n) for n in range(1, 8)))
    project.add(*(make_article(n, "sport") for n in range(10, 13)))
    project.add(*(make_article(n, "business") for n in range(20, 22)))
    project.build()
    try:
        yield Served(project, server)
    finally:
        server.stop()


# -- a tiny WebSub hub ------------------------------------------------------------


@dataclass
class Ping:
    form: dict[str, list[str]]
    content_type: str
    fetched: Response | None = None


@dataclass
class Hub:
    """A hub on 127.0.0.1 that records ``hub.mode=publish`` pings and, like a real
    hub, fetches each announced feed at once."""

    server: ThreadingHTTPServer
    url: str
    pings: list[Ping] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)
    status: int = 204

    def wait_for(self, predicate: Callable[[list[Ping]], bool], timeout: float = 10.0) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: predicate(self.pings), timeout)

    def urls(self) -> list[str]:
        with self.changed:
            return [u for p in self.pings for u in p.form.get("hub.url", [])]


def start_hub() -> Hub:
    hub: Hub

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = urllib.parse.parse_qs(self.rfile.read(length).decode("ascii"))
            ping = Ping(form, self.headers.get("Content-Type", ""))
            self.send_response(hub.status)
            self.send_header("Content-Length", "0")
            self.end_headers()
            for url in form.get("hub.url", []):
                parts = urllib.parse.urlsplit(url)
                conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
                try:
                    conn.request("GET", parts.path)
                    r = conn.getresponse()
                    ping.fetched = Response(r.status, r.headers, r.read())
                except OSError:
                    ping.fetched = None  # nothing serves the feed (a command-line build)
                finally:
                    conn.close()
            with hub.changed:
                hub.pings.append(ping)
                hub.changed.notify_all()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    hub = Hub(server, f"http://127.0.0.1:{server.server_address[1]}/hub")
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    return hub


@pytest.fixture
def hub() -> Iterator[Hub]:
    h = start_hub()
    try:
        yield h
    finally:
        h.server.shutdown()
        h.server.server_close()
