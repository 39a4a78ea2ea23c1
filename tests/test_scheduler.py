"""A running scheduler follows the articles folder: pages added, edited and removed."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import pytest

from feeds.build.publish import build
from feeds.model import Article
from feeds.schedule import Jobs, make_scheduler
from feeds.store.articles import upsert_article
from feeds.store.db import init_db, make_engine
from feeds.sync import scan_folder
from feeds.web import create_app

from .conftest import LiveServer, Project
from .pages import news_page

WAIT = 20  # seconds: an upper bound, not a sleep; the publish event ends each wait


class Running:
    """The service as ``feeds run`` wires it, with an event set on every publish."""

    def __init__(self, project: Project, live: LiveServer) -> None:
        self.settings = project.settings(FEEDS_PUBLIC_URL=live.url, FEEDS_SCAN_INTERVAL="1", FEEDS_REBUILD_INTERVAL="1")
        self.engine = make_engine(self.settings.database)
        init_db(self.engine)
        scan_folder(self.engine, self.settings)
        build(self.engine, self.settings, force=True)
        app = create_app(self.settings, self.engine)
        cache = app.extensions["feeds"]["cache"]
        self.published = threading.Event()

        def on_publish() -> None:
            cache.refresh()
            self.published.set()

        self.scheduler = make_scheduler(Jobs(self.engine, self.settings, on_publish=on_publish))
        self.live = live.start(app)
        self.folder = project.articles

    def change(self, action) -> None:  # type: ignore[no-untyped-def]
        """Do ``action`` and block until the scheduler has published the result."""
        self.published.clear()
        action()
        assert self.published.wait(WAIT), "the scheduler did not publish the change"

    def entries(self, slug: str) -> dict[str, feedparser.FeedParserDict]:
        resp = self.live.get(f"/feeds/{slug}.atom")
        assert resp.status == 200
        parsed = feedparser.parse(resp.body)
        assert not parsed.bozo
        return {e.id: e for e in parsed.entries}


@pytest.fixture
def running(project: Project, live: LiveServer) -> Iterator[Running]:
    service = Running(project, live)
    service.scheduler.start()
    yield service
    service.scheduler.shutdown(wait=True)
    service.engine.dispose()


def test_added_edited_and_removed_pages_follow(running: Running) -> None:
    page = running.folder / "breaking-harbour-dredging.html"
    url = "https://harbourgazette.example/2026/11/20/harbour-dredging/"

    running.change(lambda: page.write_text(news_page("harbour-dredging", "Harbour dredging approved"), "utf-8"))
    entry = running.entries("business")[url]
    assert entry.title == "Harbour dredging approved"
    assert url in running.entries("all")
    first_updated = datetime.fromisoformat(entry.updated)

    edited = news_page(
        "harbour-dredging",
        "Harbour dredging approved after late vote",
        paragraphs=("The vote came after midnight, when the last objector finally sat down.",) * 3,
    )

    def edit() -> None:
        page.write_text(edited, "utf-8")
        os.utime(page, (datetime.now(UTC).timestamp() + 5,) * 2)

    running.change(edit)
    entries = running.entries("business")
    assert list(entries).count(url) == 1
    assert entries[url].title == "Harbour dredging approved after late vote"
    assert datetime.fromisoformat(entries[url].updated) > first_updated
    assert "after midnight" in entries[url].content[0].value

    running.change(page.unlink)
    assert url not in running.entries("business")
    assert url not in running.entries("all")


def test_scan_leaves_articles_from_other_sources_alone(running: Running) -> None:
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    pushed = Article(
        id="https://harbourgazette.example/2026/11/21/pushed/",
        url="https://harbourgazette.example/2026/11/21/pushed/",
        title="Pushed from the CMS",
        section="news",
        published=now,
        updated=now,
        content_html="<p>Arrived over HTTP, not from the folder.</p>",
        text="Arrived over HTTP, not from the folder.",
        source="push",
        content_hash="pushed-1",
    )
    with running.engine.begin() as conn:
        upsert_article(conn, pushed, now)
    running.published.clear()
    assert running.published.wait(WAIT)
    assert pushed.id in running.entries("news")

    extra = running.folder / "scan-trigger.html"
    running.change(lambda: extra.write_text(news_page("scan-trigger", "Scan trigger"), "utf-8"))
    running.change(extra.unlink)
    assert pushed.id in running.entries("news"), "a folder scan removed an article it did not bring"
