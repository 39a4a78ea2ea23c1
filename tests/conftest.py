"""Shared fixtures. Every test that uses ``database_url`` (directly or through
``project``/``engine``) runs once per backend: SQLite, and PostgreSQL on
127.0.0.1:5432 in a database of its own, created for the test and dropped after.

``pytest --db sqlite`` or ``--db postgresql`` runs one backend only. Without a
PostgreSQL answering, its cases skip with the reason, except under ``CI=true``,
where they fail: CI must never pass by skipping.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PG_HOST = os.environ.get("FEEDS_TEST_PGHOST", "127.0.0.1")
PG_PORT = int(os.environ.get("FEEDS_TEST_PGPORT", "5432"))
PG_USER = os.environ.get("FEEDS_TEST_PGUSER", "postgres")
BACKENDS = ("sqlite", "postgresql")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--db",
        action="append",
        choices=BACKENDS,
        help="database backend(s) to run the suite against (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "database_url" in metafunc.fixturenames:
        backends = metafunc.config.getoption("db") or list(BACKENDS)
        metafunc.parametrize("database_url", backends, indirect=True)


@pytest.fixture(autouse=True)
def _document_caches_stop_with_their_test(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every app a test makes follows its database from a thread of its own: stopped when
    the test ends, so none goes on polling a database dropped after it (or logs into the
    next test's records)."""
    from feeds.web.documents import DocumentCache

    started: list[DocumentCache] = []
    start = DocumentCache.start

    def recorded(cache: DocumentCache) -> None:
        started.append(cache)
        start(cache)

    monkeypatch.setattr(DocumentCache, "start", recorded)
    yield
    for cache in started:
        cache.close()


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


_pg_problem: list[str | None] = []


def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used (None if it can); checked once per session."""
    if not _pg_problem:
        try:
            import psycopg

            with psycopg.connect(
                host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3
            ) as conn:
                conn.execute("SELECT 1")
            _pg_problem.append(None)
        except Exception as exc:  # noqa: BLE001 - any failure means "not available"
            first_line = (str(exc).strip().splitlines() or [""])[0]
            _pg_problem.append(f"PostgreSQL at {PG_HOST}:{PG_PORT} does not answer ({exc.__class__.__name__}: {first_line})")
    return _pg_problem[0]


def require_postgres() -> None:
    problem = postgres_problem()
    if problem is None:
        return
    if _in_ci():
        pytest.fail(f"{problem}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(problem)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql)  # type: ignore[arg-type]


@pytest.fixture
def pg_database(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, as a PaaS-style ``postgres://`` URL."""
    selected = request.config.getoption("db")
    if selected and "postgresql" not in selected:
        pytest.skip("PostgreSQL not selected (--db)")
    require_postgres()
    name = f"feeds_test_{uuid.uuid4().hex[:12]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgres://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """``DATABASE_URL`` as an operator would set it, for the backend of this case."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'db' / 'feeds.db'}"
    else:
        yield request.getfixturevalue("pg_database")


def sqlalchemy_url(database_url: str) -> str:
    from feeds.config import _parse_database_url

    return _parse_database_url(database_url)


@pytest.fixture
def engine(database_url: str) -> Iterator[Any]:
    """A migrated store on this case's backend."""
    from feeds.store.db import init_db, make_engine

    eng = make_engine(sqlalchemy_url(database_url))
    init_db(eng)
    yield eng
    eng.dispose()


class Project:
    """A project folder (config copied from the repo, an articles folder, an instance
    folder) and the environment that points the service at it and at the database."""

    def __init__(self, root: Path, database_url: str) -> None:
        self.root = root
        self.config_dir = root / "config"
        shutil.copytree(ROOT / "config", self.config_dir)
        self.articles_dir = root / "articles"
        self.articles_dir.mkdir()
        self.instance_dir = root / "instance"
        self.database_url = database_url
        self.environ: dict[str, str] = {
            "FEEDS_CONFIG_DIR": str(self.config_dir),
            "FEEDS_ARTICLES_DIR": str(self.articles_dir),
            "FEEDS_INSTANCE_DIR": str(self.instance_dir),
            "FEEDS_PUBLIC_URL": "http://feeds.test/",
            "DATABASE_URL": database_url,
        }
        self._engine: Any = None
        self._engine_lock = threading.Lock()

    @property
    def backend(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    def settings(self, **env: str) -> Any:
        from feeds.config import load_settings

        return load_settings(self.environ | env)

    @property
    def engine(self) -> Any:
        with self._engine_lock:
            if self._engine is None:
                from feeds.store.db import init_db, make_engine

                engine = make_engine(self.settings().database)
                init_db(engine)
                self._engine = engine
            return self._engine

    def add_page(self, name: str, html: str | bytes) -> Path:
        """Write a page as a finished file, modified a minute ago: the scan leaves a page
        modified moments ago to the next scan, as it may still be being written."""
        path = self.articles_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(html if isinstance(html, bytes) else html.encode("utf-8"))
        finished = time.time() - 60
        os.utime(path, (finished, finished))
        return path

    def ingest(self) -> Any:
        from feeds.sync import scan_folder

        return scan_folder(self.engine, self.settings(), workers=1)

    def build(self, force: bool = False) -> Any:
        from feeds.publish.build import build

        return build(self.engine, self.settings(), force=force)

    def app(self, **env: str) -> Any:
        from feeds.web import create_app

        app = create_app(self.settings(**env), self.engine)
        app.config["TESTING"] = True
        return app

    def env(self, **extra: str) -> dict[str, str]:
        """The environment for a subprocess: this one plus the project's settings."""
        pythonpath = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
        return {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": pythonpath, **self.environ, **extra}

    def cli(self, *args: str, **env: str) -> Any:
        import subprocess

        return subprocess.run(
            [sys.executable, "-m", "feeds", *args],
            cwd=self.root,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture
def project(tmp_path: Path, database_url: str) -> Iterator[Project]:
    proj = Project(tmp_path / "project", database_url)
    yield proj
    proj.close()


class LiveServer:
    """A WSGI app served over real HTTP on 127.0.0.1 from a thread.

    The socket is bound before the app exists (``LiveServer()`` then
    ``start(app)``), so the app's settings can carry the server's own URL.
    """

    def __init__(self, app: Any = None) -> None:
        from werkzeug.serving import make_server

        self.server = make_server("127.0.0.1", 0, _not_ready, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        if app is not None:
            self.start(app)

    def start(self, app: Any) -> LiveServer:
        self.server.app = app
        self.thread.start()
        return self

    def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
        return http_get(self.url + path, headers, method)

    def stop(self) -> None:
        if self.thread.is_alive():
            self.server.shutdown()
        self.server.server_close()


def _not_ready(environ: Any, start_response: Any) -> list[bytes]:
    start_response("503 Service Unavailable", [("Retry-After", "1")])
    return [b"starting"]


@pytest.fixture
def live_server() -> Iterator[Any]:
    """``live_server(app)`` starts a server for ``app``; ``live_server()`` binds one to start later."""
    servers: list[LiveServer] = []

    def start(app: Any = None) -> LiveServer:
        servers.append(LiveServer(app))
        return servers[-1]

    yield start
    for s in servers:
        s.stop()


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def http_get(url: str, headers: dict[str, str] | None = None, method: str = "GET") -> Response:
    """One real HTTP request; error statuses come back as responses, not exceptions."""
    req = urllib.request.Request(url, headers=headers or {}, method=method)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(req, timeout=10) as resp:
            return Response(resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read())
    except urllib.error.HTTPError as err:
        return Response(err.code, {k.lower(): v for k, v in err.headers.items()}, err.read())


@pytest.fixture
def sample_project(project: Project) -> Project:
    """A project whose articles folder holds a copy of the repository's sample articles."""
    shutil.copytree(ROOT / "sample_articles", project.articles_dir, dirs_exist_ok=True)
    return project

