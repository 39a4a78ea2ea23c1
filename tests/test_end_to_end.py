"""The whole path on the embedded default: sample folder -> SQLite -> feeds -> HTTP -> feedparser."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from xml.etree import ElementTree

import feedparser
import pytest
from sqlalchemy import Engine

from feeds.publish.build import build
from feeds.config import Settings
from feeds.store.articles import recent_articles
from feeds.sync import ScanReport, scan_folder
from feeds.web import create_app

from .conftest import ROOT, LiveServer, Project

EXPECTED: dict[str, dict] = json.loads((ROOT / "tests" / "sample_expectations.json").read_text("utf-8"))
SAMPLES = {path.removeprefix("sample_articles/"): exp for path, exp in EXPECTED.items() if path.startswith("sample_articles/")}


class Site:
    def __init__(self, settings: Settings, engine: Engine, live: LiveServer, report: ScanReport) -> None:
        self.settings, self.engine, self.live, self.report = settings, engine, live, report


@pytest.fixture
def site(sample_project: Project, live_server: Callable[[], LiveServer]) -> Site:
    live = live_server()
    settings = sample_project.settings(FEEDS_PUBLIC_URL=live.url)
    engine = sample_project.engine
    report = scan_folder(engine, settings, workers=2)
    build(engine, settings, force=True)
    live.start(create_app(settings, engine))
    return Site(settings, engine, live, report)


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def test_every_sample_page_is_ingested(site: Site) -> None:
    assert site.report.rejected == []
    assert site.report.ingested == len(SAMPLES) >= 24
    assert len({exp["section"] for exp in SAMPLES.values()}) >= 5


def test_every_feed_parses_with_expected_items(site: Site) -> None:
    by_section = Counter(exp["section"] for exp in SAMPLES.values())
    titles = {exp["title"] for exp in SAMPLES.values()}
    for slug in ["all", *by_section]:
        for fmt in ("rss", "atom"):
            resp = site.live.get(f"/feeds/{slug}.{fmt}")
            assert resp.status == 200, (slug, fmt)
            parsed = feedparser.parse(resp.body)
            assert not parsed.bozo, (slug, fmt, parsed.get("bozo_exception"))
            expected_count = len(SAMPLES) if slug == "all" else by_section[slug]
            assert len(parsed.entries) == expected_count, (slug, fmt)
            published = [e.published_parsed for e in parsed.entries]
            assert published == sorted(published, reverse=True), f"{slug}.{fmt} is not newest first"
            ids = [e.id for e in parsed.entries]
            assert len(set(ids)) == len(ids)
            for entry in parsed.entries:
                assert entry.title in titles
                assert entry.link.startswith("https://harbourgazette.example/")
                if slug != "all":
                    section = site.settings.section(slug)
                    assert section is not None
                    assert {t.term for t in entry.tags} & {slug, section.title}, entry.tags


def test_feed_items_carry_the_pages_metadata(site: Site) -> None:
    parsed = feedparser.parse(site.live.get("/feeds/all.atom").body)
    entries = {e.title: e for e in parsed.entries}
    for name, exp in SAMPLES.items():
        entry = entries[exp["title"]]
        if exp["canonical"]:
            assert entry.id == exp["canonical"], name
            assert entry.link == exp["canonical"], name
        if exp["published"]:
            assert _when(entry.published) == _when(exp["published"]), name
        if exp["updated"]:
            assert _when(entry.updated) == _when(exp["updated"]), name
        assert [a.name for a in entry.get("authors", [])] == exp["authors"], name
        section = site.settings.section(exp["section"])
        assert section is not None
        assert {t.term for t in entry.tags} & {exp["section"], section.title}, name


def test_json_feed_matches(site: Site) -> None:
    resp = site.live.get("/feeds/all.json")
    assert resp.status == 200
    assert resp.headers["content-type"] == "application/feed+json; charset=utf-8"
    feed = json.loads(resp.body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == site.settings.base_url + "feeds/all.json"
    assert len(feed["items"]) == len(SAMPLES)
    with site.engine.connect() as conn:
        stored = recent_articles(conn, None, 1000)
    assert [item["id"] for item in feed["items"]] == [a.id for a in stored]
    for item in feed["items"]:
        assert item["content_html"] and item["url"].startswith("https://")
        assert _when(item["date_modified"]) >= _when(item["date_published"])


def test_index_lists_every_feed_with_autodiscovery(site: Site) -> None:
    resp = site.live.get("/")
    assert resp.status == 200 and resp.headers["content-type"].startswith("text/html")
    html = resp.body.decode()
    sections = {exp["section"] for exp in SAMPLES.values()}
    for slug in ["all", *sections]:
        for fmt, mime in (("rss", "application/rss+xml"), ("atom", "application/atom+xml"), ("json", "application/feed+json")):
            assert f'type="{mime}"' in html
            assert f'href="{site.settings.base_url}feeds/{slug}.{fmt}"' in html, (slug, fmt)
            assert f'href="feeds/{slug}.{fmt}"' in html  # relative: right behind any host or path prefix


def test_opml_lists_every_feed(site: Site) -> None:
    resp = site.live.get("/feeds.opml")
    assert resp.status == 200 and resp.headers["content-type"].startswith("text/x-opml")
    root = ElementTree.fromstring(resp.body)
    urls = {o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")}
    sections = {exp["section"] for exp in SAMPLES.values()}
    assert urls == {f"{site.settings.base_url}feeds/{s}.{f}" for s in ["all", *sections] for f in ("rss", "atom", "json")}
    for url in urls:
        assert site.live.get(url.removeprefix(site.live.url)).status == 200


def test_healthz_and_unknown_paths(site: Site) -> None:
    health = site.live.get("/healthz")
    assert health.status == 200
    assert json.loads(health.body)["database"] == "ok"
    for path in ("/feeds/nope.rss", "/feeds/world.xml", "/nothing", "/feeds/", "/feeds/../config/settings.toml"):
        resp = site.live.get(path)
        assert resp.status == 404, path
        assert len(resp.body) < 200
