"""A web worker's memory is bounded whatever the size of the site: documents beyond its
budget are read from the store on demand, by primary key, and a 304 reads no body."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from .conftest import Project

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
ASKS = [{}, {"Accept-Encoding": "gzip"}, {"Accept": BROWSER}, {"Accept": BROWSER, "Accept-Encoding": "gzip"}]


@pytest.fixture
def built(sample_project: Project) -> Project:
    sample_project.ingest()
    sample_project.build()
    return sample_project


def _cache(app: Any) -> Any:
    return app.extensions["feeds"]["cache"]


def test_a_worker_that_holds_nothing_answers_as_one_that_holds_everything(built: Project, live_server: Any) -> None:
    whole = _cache(app := built.app())
    assert whole.complete and whole.by_url, "the sample site fits the default budget: held whole"
    lean_app = built.app(FEEDS_WEB_CACHE_MB="0")
    lean = _cache(lean_app)
    assert not lean.complete and len(lean.by_url) == 0
    full, none = live_server(app), live_server(lean_app)
    urls = sorted(whole.by_url)
    assert "/" in urls and "/feeds/all.rss" in urls and "/feeds.opml" in urls
    for url in urls:
        for ask in ASKS:
            expected, got = full.get(url, ask), none.get(url, ask)
            assert (got.status, got.body) == (expected.status, expected.body), (url, ask)
            assert got.headers["etag"] == expected.headers["etag"]
            assert got.headers.get("vary") == expected.headers.get("vary")
            assert none.get(url, ask | {"If-None-Match": got.headers["etag"]}).status == 304
            assert none.get(url, ask, method="HEAD").body == b""
    assert none.get("/feeds/nowhere.rss").status == 404 and none.get("/feeds/nowhere.rss").status == 404
    assert len(lean.by_url) == 0, "a budget of 0 holds nothing"
    health = lean_app.test_client().get("/healthz").get_json()
    assert health["documents"] == whole.published and health["documents_in_memory"] == 0


def test_a_conditional_request_for_a_document_not_held_reads_no_body(built: Project) -> None:
    app = built.app(FEEDS_WEB_CACHE_MB="0")
    client = app.test_client()
    etag = client.get("/feeds/all.rss").headers["ETag"]
    statements: list[str] = []

    def seen(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(built.engine, "before_cursor_execute", seen)
    try:
        assert client.get("/feeds/all.rss", headers={"If-None-Match": etag}).status_code == 304
        reads = [s for s in statements if "feed_documents" in s]
        assert reads and not any("body" in s for s in reads), reads
        statements.clear()
        stale = client.get("/feeds/all.rss", headers={"If-None-Match": '"an-old-one"'})
        assert stale.status_code == 200 and stale.headers["ETag"] == etag and b"<rss" in stale.data
        assert any("gzip_body" in s for s in statements), "a 200 reads the bodies"
    finally:
        event.remove(built.engine, "before_cursor_execute", seen)


def test_a_site_that_outgrows_the_budget_keeps_the_most_used_and_follows_publishes(built: Project) -> None:
    app = built.app()
    cache = _cache(app)
    client = app.test_client()
    whole = cache.by_url["/feeds/all.rss"].size
    cache.budget = whole + cache.by_url["/feeds/world.rss"].size  # the site grows past what the worker may hold
    built.add_page("late.html", _story("World", "A late world story"))
    built.ingest()
    built.build()
    assert cache.refresh() and not cache.complete
    for url in ("/feeds/world.rss", "/feeds/all.rss", "/feeds/politics.rss", "/feeds/world.rss"):
        assert client.get(url).status_code == 200
    assert cache._held <= cache.budget
    assert "/feeds/world.rss" in cache.by_url and "/feeds/all.rss" not in cache.by_url, "the least recent went"
    held = cache.by_url["/feeds/world.rss"]

    built.add_page("later.html", _story("World", "An even later world story"))
    built.ingest()
    built.build()
    assert cache.refresh()
    assert cache.by_url.get("/feeds/world.rss") is not held, "what a publish changed is not served from memory"
    assert b"An even later world story" in client.get("/feeds/world.rss").data
    assert client.get("/feeds/world.rss", headers={"If-None-Match": held.variants[0].etag}).status_code == 200


def test_a_document_not_held_answers_503_while_the_database_does_not(built: Project) -> None:
    app = built.app(FEEDS_WEB_CACHE_MB="0")
    cache = _cache(app)
    cache.report_failure("no answer for 3.0 s")  # as a check of the database found it
    resp = app.test_client().get("/feeds/all.rss")
    assert resp.status_code == 503 and resp.headers["Retry-After"]


def _story(section: str, headline: str) -> str:
    from .pages import news_page

    return news_page(f"https://harbourgazette.example/{headline.lower().replace(' ', '-')}", headline,
                     section=section)
