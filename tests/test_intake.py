"""The push queue: the web stores a page, the clock's intake ingests it and settles its receipt."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from feeds.intake import take_pushes
from feeds.schedule import Jobs
from feeds.store.articles import Change, get_article
from feeds.store.pushes import QUEUED, REJECTED, count_queued, receipt, receive
from feeds.store.schema import pushes

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
