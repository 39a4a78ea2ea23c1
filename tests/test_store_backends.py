"""The store on SQLite and PostgreSQL alike: migrations, types, race-safe upsert, atomic builds."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, inspect, select

from feeds.config import ConfigError, load_settings
from feeds.store import db
from feeds.store.articles import Change, delete_article, get_article, upsert_article
from feeds.store.schema import articles, feed_documents, metadata
from tests.conftest import sqlalchemy_url
from tests.pages import news_page, story


def _article(project, html=None, **kw):
    from feeds.ingest import ingest_page

    return ingest_page(
        (html or news_page(**kw)).encode(),
        source="push",
        settings=project.settings(),
        fallback_time=datetime.now(UTC),
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example:5432/feeds", "postgresql+psycopg://u:p@db.example:5432/feeds"),
        ("postgresql://u:p@db.example/feeds?sslmode=require", "postgresql+psycopg://u:p@db.example/feeds?sslmode=require"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_schemes_as_paas_providers_give_them(tmp_path, given, expected):
    settings = load_settings({"FEEDS_CONFIG_DIR": str(tmp_path / "none"), "DATABASE_URL": given,
                              "FEEDS_DEFAULT_SECTION": "news", "FEEDS_UNKNOWN_SECTION": "create"},
                             require_config=False)
    assert settings.database == expected


def test_database_url_other_scheme_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        load_settings({"FEEDS_CONFIG_DIR": str(tmp_path), "DATABASE_URL": "mysql://x/y",
                       "FEEDS_UNKNOWN_SECTION": "create"})


def test_upgrade_creates_the_schema_at_head_and_is_idempotent(database_url):
    engine = db.make_engine(sqlalchemy_url(database_url))
    try:
        assert db.current_revision(engine) is None
        before, after = db.init_db(engine)
        assert (before, after) == (None, db.head_revision())
        assert set(inspect(engine).get_table_names()) >= {"articles", "sources", "feed_documents", "state", "alembic_version"}
        assert db.init_db(engine) == (after, after)
        with engine.connect() as conn:
            assert {k: db.get_version(conn, k) for k in db.COUNTERS} == dict.fromkeys(db.COUNTERS, 0)
    finally:
        engine.dispose()


def test_migrations_match_the_tables_the_code_uses(engine):
    """Alembic's autogenerate finds nothing to do: the migrations and schema.py agree."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    # UTCDateTime is stored as the plain DateTime it decorates.
    assert [d for d in diff if not (d[0] == "modify_type")] == []


def test_database_made_before_migrations_is_stamped_not_recreated(database_url, tmp_path):
    engine = db.make_engine(sqlalchemy_url(database_url))
    try:
        metadata.create_all(engine)  # what init_db did before migrations
        with engine.begin() as conn:
            conn.execute(articles.insert().values(
                id="x", url="x", title="kept", section="news", published=datetime.now(UTC),
                updated=datetime.now(UTC), summary="", content_html="", text="", authors=[], tags=[],
                source="push", content_hash="h"))
        db.init_db(engine)
        assert db.current_revision(engine) == db.head_revision()
        with engine.connect() as conn:
            assert conn.execute(select(articles.c.title)).scalar_one() == "kept"
    finally:
        engine.dispose()


def test_db_upgrade_command_from_many_processes_at_once(project):
    """A release step, web workers and clocks may all migrate at once: one does, none fails."""
    procs = [
        subprocess.Popen([sys.executable, "-m", "feeds", "db", "upgrade"], cwd=project.root,
                         env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, outputs
    upgraded = [out for out, _ in outputs if "upgraded from empty" in out]
    assert len(upgraded) == 1, outputs
    result = project.cli("db", "current")
    assert result.returncode == 0 and db.head_revision() in result.stdout


def test_datetimes_come_back_aware_and_equal(project):
    published = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # a DST night in Europe
    article = _article(project, published=published)
    with project.engine.begin() as conn:
        assert upsert_article(conn, article, datetime.now(UTC)) is Change.INGESTED
    with project.engine.connect() as conn:
        stored = get_article(conn, article.id)
    assert stored is not None
    assert stored.published == published and stored.published.tzinfo is not None
    assert stored.authors == article.authors and stored == article


def test_upsert_replay_is_unchanged_and_edit_moves_updated_forward(project):
    first = _article(project)
    with project.engine.begin() as conn:
        assert upsert_article(conn, first, datetime.now(UTC)) is Change.INGESTED
        assert upsert_article(conn, first, datetime.now(UTC)) is Change.UNCHANGED
    edited = _article(project, headline="Ferry timetable changes again", modified=datetime(2026, 11, 21, tzinfo=UTC))
    with project.engine.begin() as conn:
        assert upsert_article(conn, edited, datetime.now(UTC)) is Change.UPDATED
        stored = get_article(conn, first.id)
        assert stored.title == "Ferry timetable changes again"
        assert stored.updated > first.updated
        assert conn.execute(select(func.count()).select_from(articles)).scalar_one() == 1


def test_concurrent_upserts_of_one_new_article_make_one_row(project):
    article = _article(project)
    changes: list[Change] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def push() -> None:
        try:
            barrier.wait()
            with project.engine.begin() as conn:
                changes.append(upsert_article(conn, article, datetime.now(UTC)))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=push) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(changes) == sorted([Change.INGESTED] + [Change.UNCHANGED] * 7)
    with project.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(articles)).scalar_one() == 1
        assert db.get_version(conn, db.ARTICLES_VERSION) == 1


def test_a_failing_build_publishes_nothing(project, monkeypatch):
    from feeds.publish import build as publish

    for n in range(3):
        project.add_page(f"s{n}.html", story(n))
    project.ingest()
    assert project.build().built
    with project.engine.connect() as conn:
        before = {r.path: r.etag for r in conn.execute(select(feed_documents.c.path, feed_documents.c.etag))}
        docs_version = db.get_version(conn, db.DOCUMENTS_VERSION)
    project.add_page("s9.html", story(9, section="Sport"))
    project.ingest()

    real = publish.write_documents  # an incremental build's publish

    def half_then_fail(conn, documents, removed=()):
        real(conn, list(documents)[:2])  # writes some rows, then dies mid-publish
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(publish, "write_documents", half_then_fail)
    with pytest.raises(RuntimeError):
        project.build()
    with project.engine.connect() as conn:
        after = {r.path: r.etag for r in conn.execute(select(feed_documents.c.path, feed_documents.c.etag))}
        assert after == before
        assert db.get_version(conn, db.DOCUMENTS_VERSION) == docs_version
        assert db.get_version(conn, db.BUILT_VERSION) != db.get_version(conn, db.ARTICLES_VERSION)
    monkeypatch.undo()
    assert "feeds/sport.rss" in project.build().changed


def test_concurrent_builds_do_not_interleave(project):
    for n in range(5):
        project.add_page(f"s{n}.html", story(n))
    project.ingest()
    errors: list[BaseException] = []
    results = []

    def run() -> None:
        try:
            results.append(project.build(force=True))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sum(1 for r in results if r.changed) == 1  # the others found identical bytes
    with project.engine.connect() as conn:
        assert db.get_version(conn, db.DOCUMENTS_VERSION) == 1


def test_build_reads_one_snapshot(project, monkeypatch):
    """An article committed while a build renders lands in the next build, not half of this one."""
    from feeds.publish import build as publish

    project.add_page("a.html", story(1))
    project.ingest()
    project.build()  # the first build fills the feed memberships; the next one is incremental
    project.add_page("c.html", story(3))
    project.ingest()
    with project.engine.connect() as conn:
        built = db.get_version(conn, db.ARTICLES_VERSION)
    real = publish.members.feed_page
    calls = []

    def render_then_push(conn, section, offset, limit, total=None):
        if not calls:
            # Another process commits a new article between the build's queries.
            late = _article(project, html=story(2))
            if project.backend == "sqlite":
                # BEGIN IMMEDIATE: the build holds the write lock, so a writer waits
                # (here, briefly, then gives up) rather than slipping in.
                from sqlalchemy import create_engine
                from sqlalchemy.exc import OperationalError

                impatient = create_engine(project.settings().database, connect_args={"timeout": 0.2})
                with pytest.raises(OperationalError, match="locked"), impatient.begin() as other:
                    upsert_article(other, late, datetime.now(UTC))
                impatient.dispose()
                threading.Thread(target=upsert_later, args=(late,)).start()
            else:
                with project.engine.begin() as other:
                    upsert_article(other, late, datetime.now(UTC))
        calls.append(section)
        return real(conn, section, offset, limit, total)

    done = threading.Event()

    def upsert_later(late):
        with project.engine.begin() as other:  # waits for the build's commit
            upsert_article(other, late, datetime.now(UTC))
        done.set()

    monkeypatch.setattr(publish.members, "feed_page", render_then_push)
    project.build()
    if project.backend == "sqlite":
        assert done.wait(30)
    with project.engine.connect() as conn:
        docs = {r.path: r.body for r in conn.execute(select(feed_documents.c.path, feed_documents.c.body))}
        assert db.get_version(conn, db.BUILT_VERSION) == built
    assert b"Story number 3" in docs["feeds/all.rss"]
    assert b"Story number 2" not in docs["feeds/all.rss"] and b"Story number 2" not in docs["feeds/news.rss"]
    monkeypatch.undo()
    assert project.build().built
    with project.engine.connect() as conn:
        body = conn.execute(select(feed_documents.c.body).where(feed_documents.c.path == "feeds/news.rss")).scalar_one()
    assert b"Story number 2" in bytes(body)


def test_documents_reload_reads_only_what_a_publish_changed(project):
    from feeds.publish.build import make_document
    from feeds.store.documents import load_documents, publish_documents

    when = datetime(2026, 11, 1, tzinfo=UTC)
    first = [make_document(f"feeds/s{n}.rss", "application/rss+xml", f"<rss>{n}</rss>".encode(), when)
             for n in range(4)]
    with project.engine.begin() as conn:
        publish_documents(conn, first)
    with db.read_snapshot(project.engine) as conn:
        known = load_documents(conn)
    assert sorted(known) == [d.path for d in first]

    edited = make_document("feeds/s1.rss", "application/rss+xml", b"<rss>1 edited</rss>", when)
    added = make_document("feeds/s9.rss", "application/rss+xml", b"<rss>9</rss>", when)
    with project.engine.begin() as conn:
        publish_documents(conn, [first[0], edited, first[2], added])  # s3 is gone
    with db.read_snapshot(project.engine) as conn:
        loaded = load_documents(conn, known)
    assert sorted(loaded) == ["feeds/s0.rss", "feeds/s1.rss", "feeds/s2.rss", "feeds/s9.rss"]
    assert loaded["feeds/s0.rss"] is known["feeds/s0.rss"] and loaded["feeds/s2.rss"] is known["feeds/s2.rss"]
    assert loaded["feeds/s9.rss"] == added
    # new bytes at the same path never go back in Last-Modified: a second on from the old value
    assert loaded["feeds/s1.rss"] == dataclasses.replace(edited, last_modified=when + timedelta(seconds=1))


def test_an_older_version_never_replaces_a_newer_one(project):
    """A webhook retried late brings back the page as it was before a correction."""
    published = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    first = _article(project, published=published, modified=published + timedelta(hours=1))
    correction = _article(project, headline="Ferry timetable changes for the winter, corrected",
                          published=published, modified=published + timedelta(hours=3))
    with project.engine.begin() as conn:
        assert upsert_article(conn, first, datetime.now(UTC)) is Change.INGESTED
        assert upsert_article(conn, correction, datetime.now(UTC)) is Change.UPDATED
        version = db.get_version(conn, db.ARTICLES_VERSION)
        change = upsert_article(conn, first, datetime.now(UTC))
        stored = get_article(conn, first.id)
        assert stored is not None and stored.title == correction.title
        assert change.value == "stale"
        assert db.get_version(conn, db.ARTICLES_VERSION) == version, "nothing changed, nothing to rebuild"
    assert stored.updated == correction.updated == published + timedelta(hours=3)


def test_versions_of_one_date_settle_on_one_whatever_the_order(project):
    """Two versions with the same modified date, stored alternately (28 times, as a CMS's
    retries crossing each other): the same one wins in either order, by content hash, and
    ``updated`` stays the page's date instead of creeping a second per write into the future."""
    a = _article(project)
    b = _article(project, headline="Ferry timetable changes for winter")
    assert a.updated == b.updated and a.content_hash != b.content_hash
    winner = max(a, b, key=lambda version: version.content_hash)
    for order in ((a, b), (b, a)):
        with project.engine.begin() as conn:
            for _ in range(14):
                for version in order:
                    upsert_article(conn, version, datetime.now(UTC))
            stored = get_article(conn, a.id)
            assert stored is not None
            assert (stored.title, stored.content_hash) == (winner.title, winner.content_hash)
            assert stored.updated == a.updated <= datetime.now(UTC)
            assert upsert_article(conn, winner, datetime.now(UTC)) is Change.UNCHANGED
            loser = b if winner is a else a
            assert upsert_article(conn, loser, datetime.now(UTC)).value == "stale"
            assert delete_article(conn, a.id)
