"""A running scheduler follows the articles folder: pages added, edited and removed."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import feedparser
import pytest

from feeds.publish.build import build
from feeds.model import Article
from feeds.schedule import Jobs, make_scheduler
from feeds.store.articles import upsert_article
from feeds.store.documents import load_documents
from feeds.sync import scan_folder
from feeds.web import create_app

from .conftest import LiveServer, Project
from .pages import news_page

WAIT = 20  # seconds: an upper bound, not a sleep; the publish event ends each wait


class Running:
    """The service as ``feeds run`` wires it, with an event set on every publish."""

    def __init__(self, project: Project, live: LiveServer) -> None:
        self.settings = project.settings(FEEDS_PUBLIC_URL=live.url, FEEDS_SCAN_INTERVAL="1", FEEDS_REBUILD_INTERVAL="1")
        self.engine = project.engine
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
        self.folder = project.articles_dir

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
def running(sample_project: Project, live_server: Callable[[], LiveServer]) -> Iterator[Running]:
    service = Running(sample_project, live_server())
    service.scheduler.start()
    yield service
    service.scheduler.shutdown(wait=True)


def test_added_edited_and_removed_pages_follow(running: Running) -> None:
    page = running.folder / "breaking-harbour-dredging.html"
    url = "https://harbourgazette.example/2026/11/20/harbour-dredging/"

    running.change(lambda: page.write_text(news_page(url, "Harbour dredging approved", "Business"), "utf-8"))
    entry = running.entries("business")[url]
    assert entry.title == "Harbour dredging approved"
    assert url in running.entries("all")
    first_updated = datetime.fromisoformat(entry.updated)

    edited = news_page(
        url,
        "Harbour dredging approved after late vote",
        "Business",
        paragraphs=[
            "The vote came after midnight, when the last objector finally sat down and the chair called it.",
            "Dredging will begin in the spring, once the eel migration has passed the harbour mouth.",
            "The contractor expects the work to take eleven weeks and to close the inner basin for two of them.",
        ],
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
    trigger = news_page("https://harbourgazette.example/2026/11/22/scan-trigger/", "Scan trigger for the folder", "News")
    running.change(lambda: extra.write_text(trigger, "utf-8"))
    running.change(extra.unlink)
    assert pushed.id in running.entries("news"), "a folder scan removed an article it did not bring"


def test_a_new_process_republishes_what_its_config_renders_differently(sample_project: Project) -> None:
    settings = sample_project.settings()
    engine = sample_project.engine
    scan_folder(engine, settings)
    Jobs(engine, settings).rebuild()
    published: list[bool] = []
    Jobs(engine, settings, on_publish=lambda: published.append(True)).rebuild()
    assert not published, "same code, config and articles: the same bytes, nothing to publish"

    renamed = (sample_project.config_dir / "sections.toml").read_text().replace('title = "World"', 'title = "Abroad"')
    (sample_project.config_dir / "sections.toml").write_text(renamed)
    Jobs(engine, sample_project.settings(), on_publish=lambda: published.append(True)).rebuild()
    assert published, "a restart with a changed config must republish"
    with engine.connect() as conn:
        body = load_documents(conn)["feeds/world.rss"].body
    assert b"Abroad" in body


def test_the_clock_logs_a_rejected_page_once_not_every_scan(project: Project, caplog: pytest.LogCaptureFixture) -> None:
    project.add_page("bad.html", "<html><body><p>Opening hours: 9 to 5.</p></body></html>")
    jobs = Jobs(project.engine, project.settings())
    with caplog.at_level("WARNING", logger="feeds"):
        jobs.scan()
        jobs.scan()
    said = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(said) == 1 and said[0].endswith("bad.html: rejected: not an article: no headline found")
