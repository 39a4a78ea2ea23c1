"""The push queue: the web stores a page, the clock's intake ingests it and settles its receipt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from feeds.ingest import INGESTER_VERSION
from feeds.intake import take_pushes
from feeds.schedule import Jobs
from feeds.store.articles import Change, get_article
from feeds.store.pushes import QUEUED, REJECTED, count_queued, receipt, receive
from feeds.store.schema import pushed_pages, pushes
from feeds.sync import scan_folder

from .conftest import Project
from .pages import news_page, story

T0 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def push(project: Project, page: str, base_url: str | None = None, at: datetime = T0) -> int:
    with project.engine.begin() as conn:
        return receive(conn, page.encode(), base_url, at)


def test_queued_pushes_are_ingested_in_order_and_their_receipts_say_what_became_of_them(project: Project) -> None:
    first = push(project, story(1))
    bad = push(project, "<html><body><p>no article here</p></body></html>")
    again = push(project, story(1))
    with project.engine.connect() as conn:
        assert receipt(conn, first).state == QUEUED and count_queued(conn) == 3

    report = take_pushes(project.engine, project.settings())
    assert report.changes == [Change.INGESTED, Change.UNCHANGED] and [n for n, _ in report.rejected] == [bad]
    with project.engine.connect() as conn:
        done = receipt(conn, first)
        assert (done.state, done.article_id) == ("ingested", "https://harbourgazette.example/story/1")
        assert done.done_at is not None
        assert receipt(conn, again).state == "unchanged", "a replayed push makes one item"
        rejected = receipt(conn, bad)
        assert rejected.state == REJECTED and rejected.error
        assert count_queued(conn) == 0
        assert conn.execute(pushes.select().where(pushes.c.page.is_not(None))).first() is None, "pages dropped"
        assert get_article(conn, "https://harbourgazette.example/story/1").source == "push"
    assert take_pushes(project.engine, project.settings()).changes == [], "each push is taken once"


def test_a_late_retry_of_an_older_version_is_stale_and_keeps_the_correction(project: Project) -> None:
    url = "https://harbourgazette.example/news/ferry"
    push(project, news_page(url, "Ferry corrected", modified=datetime(2026, 11, 20, 12, 0, tzinfo=UTC)))
    push(project, news_page(url, "Ferry first draft", modified=datetime(2026, 11, 20, 10, 0, tzinfo=UTC)))
    report = take_pushes(project.engine, project.settings())
    assert report.changes == [Change.INGESTED, Change.STALE]
    with project.engine.connect() as conn:
        assert get_article(conn, url).title == "Ferry corrected"


def test_the_clock_takes_pushes_before_it_builds(project: Project) -> None:
    pushed = push(project, story(7, "World"), at=datetime.now(UTC) - timedelta(seconds=5))
    Jobs(project.engine, project.settings()).rebuild()
    with project.engine.connect() as conn:
        assert receipt(conn, pushed).state == "ingested"
    app = project.app().test_client()
    assert "https://harbourgazette.example/story/7" in app.get("/feeds/world.json").get_data(as_text=True)


def test_a_push_an_ingester_bug_failed_stays_queued_until_the_bug_is_fixed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken install must not reject a CMS's page for good: the push keeps its page,
    its receipt says why it waits, later pushes are not held up behind it, and the first
    intake after the fix takes it."""
    from feeds.ingest import pipeline

    monkeypatch.setattr(pipeline, "decode_html", lambda data: {}["boom"])
    stuck = push(project, story(1))
    report = take_pushes(project.engine, project.settings())
    assert report.changes == [] and report.rejected == []
    with project.engine.connect() as conn:
        waiting = receipt(conn, stuck)
        assert waiting.state == QUEUED and "KeyError" in (waiting.error or "")
    monkeypatch.undo()
    with project.engine.begin() as conn:  # more failing pages than a batch holds must not starve a good one
        conn.execute(pushes.update().where(pushes.c.id == stuck).values(error="ingester bug: KeyError 'boom'"))
    fresh = push(project, story(2))
    report = take_pushes(project.engine, project.settings(), limit=1)
    with project.engine.connect() as conn:
        assert receipt(conn, fresh).state == "ingested", "a page that failed before is not taken first"
    take_pushes(project.engine, project.settings())
    with project.engine.connect() as conn:
        taken = receipt(conn, stuck)
        assert (taken.state, taken.error) == ("ingested", None)
        assert get_article(conn, "https://harbourgazette.example/story/1") is not None


def _older_ingester(project: Project) -> None:
    with project.engine.begin() as conn:  # as an older release left them
        conn.execute(pushed_pages.update().values(ingester="older"))


def test_a_newer_ingester_reads_pushed_articles_again(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from feeds.ingest import pipeline

    url = "https://harbourgazette.example/story/1"
    push(project, story(1))
    take_pushes(project.engine, project.settings())
    with project.engine.connect() as conn:
        first = get_article(conn, url)
    real = pipeline.decode_html
    for variant in ("B", "A"):  # better extractions, whichever way their hashes order
        monkeypatch.setattr(pipeline, "decode_html",
                            lambda data, v=variant: real(data).replace("from the harbour", f"from the harbour {v}"))
        _older_ingester(project)
        assert take_pushes(project.engine, project.settings()).changes == [Change.UPDATED]
        with project.engine.connect() as conn:
            article = get_article(conn, url)
            assert article.title == f"Story number 1 from the harbour {variant}"
            assert article.updated == first.updated, "the same version of the page: its date stays"
            assert set(conn.execute(pushed_pages.select().with_only_columns(pushed_pages.c.ingester)).scalars()) == {
                INGESTER_VERSION}
    assert take_pushes(project.engine, project.settings()).changes == [], "read again once"


def test_a_re_read_never_brings_back_a_retracted_or_superseded_push(project: Project) -> None:
    from feeds.store.articles import delete_article

    push(project, story(1))
    push(project, story(2))
    take_pushes(project.engine, project.settings())
    project.add_page("two.html", story(2).replace("from the harbour", "from the file"))
    scan_folder(project.engine, project.settings())  # a file now holds a newer version of story 2
    with project.engine.begin() as conn:
        assert delete_article(conn, "https://harbourgazette.example/story/1")
    _older_ingester(project)
    take_pushes(project.engine, project.settings())
    with project.engine.connect() as conn:
        assert get_article(conn, "https://harbourgazette.example/story/1") is None, "retracted stays retracted"
        assert get_article(conn, "https://harbourgazette.example/story/2").source == "file:two.html"
        assert conn.execute(pushed_pages.select()).first() is None, "pages no article comes from are dropped"
