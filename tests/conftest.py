"""Shared fixtures: a throw-away project (config, articles folder, SQLite file) and a live server.

Everything is real: the config files are the repository's own, copied; the
store is a SQLite file; feeds are fetched over HTTP from a real server thread
bound to 127.0.0.1.
"""

from __future__ import annotations

import shutil
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, make_server

from feeds.config import Settings, load_settings
from feeds.store.db import init_db, make_engine

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


def http_get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
    """One real HTTP request; error statuses come back as responses, not exceptions."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as resp:
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        return None


@dataclass
class Project:
    root: Path
    environ: dict[str, str] = field(default_factory=dict)

    @property
    def articles(self) -> Path:
        return self.root / "articles"

    def settings(self, **env: str) -> Settings:
        return load_settings(self.environ | env)


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """A copy of the repository's config and sample articles in a temporary folder."""
    shutil.copytree(REPO / "config", tmp_path / "config")
    shutil.copytree(REPO / "sample_articles", tmp_path / "articles")
    environ = {
        "FEEDS_CONFIG_DIR": str(tmp_path / "config"),
        "FEEDS_ARTICLES_DIR": str(tmp_path / "articles"),
        "FEEDS_INSTANCE_DIR": str(tmp_path / "instance"),
    }
    return Project(tmp_path, environ)


@pytest.fixture
def engine(project: Project) -> Iterator[Engine]:
    eng = make_engine(project.settings().database)
    init_db(eng)
    yield eng
    eng.dispose()


class LiveServer:
    """A real threaded HTTP server on 127.0.0.1, bound before the app exists so the
    app's settings can carry the server's own URL (feeds' self links)."""

    def __init__(self) -> None:
        self.server: BaseWSGIServer = make_server("127.0.0.1", 0, _not_ready, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self, app: object) -> LiveServer:
        self.server.app = app  # type: ignore[assignment]
        self.thread.start()
        return self

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        return http_get(self.url + path.lstrip("/"), headers, method)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


def _not_ready(environ: object, start_response):  # type: ignore[no-untyped-def]
    start_response("503 Service Unavailable", [("Retry-After", "1")])
    return [b"starting"]


@pytest.fixture
def live() -> Iterator[LiveServer]:
    server = LiveServer()
    yield server
    server.stop()
