"""The clock: one active scheduler per database, standby takeover, SIGTERM and SIGKILL mid-build,
and /healthz freshness."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text, update

from feeds.schedule import Clock, Jobs
from feeds.store import db
from feeds.store.articles import upsert_article
from feeds.store.schema import feed_documents, state
from tests.pages import story
from tests.procs import Proc, wait_until

CLOCK_ENV = {"FEEDS_LEASE_INTERVAL": "1", "FEEDS_REBUILD_INTERVAL": "1", "FEEDS_SCAN_INTERVAL": "3600"}


def push(project, n: int, section: str = "News") -> None:
    from feeds.ingest import ingest_page

    article = ingest_page(story(n, section).encode(), source="push", settings=project.settings(),
                          fallback_time=datetime.now(UTC))
    with project.engine.begin() as conn:
        upsert_article(conn, article, datetime.now(UTC))


def published(project) -> dict[str, bytes]:
    with project.engine.connect() as conn:
        return {r.path: bytes(r.body) for r in conn.execute(select(feed_documents.c.path, feed_documents.c.body))}


def versions(project) -> dict[str, int]:
    with project.engine.connect() as conn:
        return {k: db.get_version(conn, k) for k in (db.ARTICLES_VERSION, db.BUILT_VERSION, db.DOCUMENTS_VERSION)}


@contextmanager
def builds_blocked(project) -> Iterator[object]:
    """Hold what a build needs to commit, so a build that starts stays in the middle.

    PostgreSQL: lock the ``documents_version`` row; a build renders, writes its
    documents, then waits to bump the counter: uncommitted rows written. SQLite:
    hold the write lock; a build waits at BEGIN IMMEDIATE.
    """
    conn = project.engine.connect()
    if project.backend == "postgresql":
        conn.begin()
        conn.execute(select(state.c.value).where(state.c.key == db.DOCUMENTS_VERSION).with_for_update())
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


def build_waiting_in(project, proc: Proc) -> bool:
    """True once ``proc``'s build is inside its transaction, waiting on the blocked row."""
    if project.backend == "sqlite":
        return proc.saw("building")  # the next thing it does is wait at BEGIN IMMEDIATE
    with project.engine.connect() as conn:
        return bool(conn.execute(text(
            "SELECT count(*) FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "WHERE NOT l.granted AND a.application_name = :name"), {"name": f"feeds clock {proc.pid}"}).scalar())


def start_clock(project, name: str) -> Proc:
    return Proc.feeds("clock", env=project.env(**CLOCK_ENV), cwd=project.root, name=name)


def test_one_clock_active_the_other_standby_then_takeover_in_process(project):
    settings = project.settings(**CLOCK_ENV)
    a, b = Clock(project.engine, settings), Clock(project.engine, settings)
    stop_a, stop_b = threading.Event(), threading.Event()
    ta = threading.Thread(target=a.run, args=(stop_a,))
    ta.start()
    wait_until(a.active.is_set, 10, "clock a to become active")
    tb = threading.Thread(target=b.run, args=(stop_b,))
    tb.start()
    try:
        push(project, 1)
        wait_until(lambda: published(project), 10, "the active clock to build")
        assert not b.active.is_set()
        stop_a.set()
        ta.join(10)
        wait_until(b.active.is_set, settings.lease_interval + 5, "clock b to take over")
        push(project, 2)
        wait_until(lambda: b"Story number 2" in published(project).get("feeds/all.rss", b""), 10, "b to build")
    finally:
        stop_a.set()
        stop_b.set()
        ta.join(10)
        tb.join(10)
    assert not ta.is_alive() and not tb.is_alive()


def test_sigterm_mid_build_lets_the_build_finish_then_exits(project):
    push(project, 1)
    with builds_blocked(project):
        clock = start_clock(project, "clock")
        try:
            clock.wait_for_line("clock: active")
            clock.wait_for_line("building")
            wait_until(lambda: build_waiting_in(project, clock), 20, "the build to wait mid-transaction")
            clock.popen.send_signal(signal.SIGTERM)
            clock.wait_for_line("SIGTERM received")
            assert clock.popen.poll() is None  # still finishing its build
        except BaseException:
            clock.stop()
            raise
    assert clock.wait(30) == 0, clock.output()
    assert clock.saw("build: done") and clock.saw("clock: stopped"), clock.output()
    v = versions(project)
    assert v[db.BUILT_VERSION] == v[db.ARTICLES_VERSION] == 1 and v[db.DOCUMENTS_VERSION] == 1
    docs = published(project)
    assert b"Story number 1" in docs["feeds/all.rss"] and "feeds.opml" in docs


def test_sigkill_mid_build_rolls_back_and_the_standby_takes_over(project):
    push(project, 1)
    push(project, 2, "Sport")
    with builds_blocked(project):
        active = start_clock(project, "clock-a")
        try:
            active.wait_for_line("clock: active")
            standby = start_clock(project, "clock-b")
            standby.wait_for_line("clock: standby")
            wait_until(lambda: build_waiting_in(project, active), 20, "a's build to wait mid-transaction")
            active.popen.send_signal(signal.SIGKILL)
            assert active.wait(10) == -signal.SIGKILL
        except BaseException:
            active.stop()
            raise
        # The standby takes over within one lease interval, while the dead build's
        # transaction (on PostgreSQL, with rows written) is still open.
        standby.wait_for_line("clock: active", timeout=1 + 5)
    try:
        wait_until(lambda: versions(project)[db.BUILT_VERSION] == 2, 20, "the new active clock to build")
        docs = published(project)
        assert set(docs) >= {"feeds/all.rss", "feeds/news.rss", "feeds/sport.rss", "feeds.opml"}
        assert versions(project)[db.DOCUMENTS_VERSION] == 1  # one publish: the dead build left nothing
        assert b"Story number 2" in docs["feeds/sport.rss"] and b"Story number 1" in docs["feeds/all.rss"]
    finally:
        standby.popen.send_signal(signal.SIGTERM)
        assert standby.wait(30) == 0, standby.output()


def test_clock_processes_agree_on_one_active(project):
    clocks = [start_clock(project, f"clock-{i}") for i in range(3)]
    try:
        wait_until(lambda: sum(c.saw("clock: active") for c in clocks) == 1
                   and sum(c.saw("clock: standby") for c in clocks) == 2, 20, "one active, two standby")
        push(project, 1)
        wait_until(lambda: "feeds/news.rss" in published(project), 10, "the pushed article published")
        active = [c for c in clocks if c.saw("clock: active")]
        assert [c for c in clocks if c.saw("building")] == active
    finally:
        for c in clocks:
            c.popen.send_signal(signal.SIGTERM)
        assert [c.wait(30) for c in clocks] == [0, 0, 0]


# -- /healthz ------------------------------------------------------------------------


def _age(project, key: str, seconds: float) -> None:
    with project.engine.begin() as conn:
        conn.execute(update(state).where(state.c.key == key)
                     .values(changed_at=datetime.now(UTC) - timedelta(seconds=seconds)))


def test_healthz_fresh_then_stale_with_retry_after(project):
    app = project.app(FEEDS_MAX_FEED_AGE="600")
    client = app.test_client()
    never = client.get("/healthz")
    assert never.status_code == 503 and never.headers["Retry-After"]
    assert never.get_json()["status"] == "stale" and never.get_json()["last_build"] is None

    push(project, 1)
    Jobs(project.engine, project.settings()).rebuild()
    ok = client.get("/healthz")
    assert ok.status_code == 200, ok.get_json()
    body = ok.get_json()
    assert body["status"] == "ok" and body["database"] == "ok" and body["feeds_age_seconds"] < 60

    _age(project, db.BUILT_VERSION, 3600)
    _age(project, db.CHECKED_VERSION, 3600)
    stale = client.get("/healthz")
    assert stale.status_code == 503 and stale.headers["Retry-After"] == "30"
    assert stale.get_json()["status"] == "stale" and stale.get_json()["feeds_age_seconds"] >= 3600

    # A quiet night is not staleness: the clock's check with nothing to build counts.
    Jobs(project.engine, project.settings()).rebuild()
    assert client.get("/healthz").status_code == 200


def test_healthz_without_a_limit_is_ok_whatever_the_age(project):
    client = project.app().test_client()
    resp = client.get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["status"] == "ok"


def test_healthz_503_when_the_database_does_not_answer(tmp_path):
    from feeds.config import load_settings
    from feeds.store.db import make_engine
    from feeds.web import create_app

    settings = load_settings({"FEEDS_CONFIG_DIR": str(tmp_path), "FEEDS_UNKNOWN_SECTION": "create"})
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1")
    resp = create_app(settings, engine).test_client().get("/healthz")
    assert resp.status_code == 503
    assert resp.headers["Retry-After"] and resp.get_json()["database"].startswith("error")


def test_a_missing_articles_folder_is_reported_once(project, tmp_path, caplog):
    """With only the push API there may be no folder: one warning, not one a minute."""
    jobs = Jobs(project.engine, project.settings(FEEDS_ARTICLES_DIR=str(tmp_path / "none")))
    with caplog.at_level("INFO", logger="feeds.schedule"):
        for _ in range(3):
            jobs.scan()
    warnings = [r for r in caplog.records if "does not exist" in r.getMessage()]
    assert len(warnings) == 1 and "push API" in warnings[0].getMessage()
