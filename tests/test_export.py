"""``feeds export DIR``: every feed, gzip twins, OPML and the front page, for a CDN or static host."""

from __future__ import annotations

import gzip
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import feedparser

from feeds.store.articles import delete_article, upsert_article
from tests.pages import story


def push(project, n, section="News"):
    from feeds.ingest import ingest_page

    article = ingest_page(story(n, section).encode(), source="push", settings=project.settings(),
                          fallback_time=datetime.now(UTC))
    with project.engine.begin() as conn:
        upsert_article(conn, article, datetime.now(UTC))
    return article


def test_export_writes_every_feed_gzip_twins_and_opml(project, tmp_path):
    push(project, 1)
    sport = push(project, 2, "Sport")
    out = tmp_path / "site"
    cdn = "https://cdn.harbourgazette.example/"
    result = project.cli("export", str(out), FEEDS_PUBLIC_URL=cdn)
    assert result.returncode == 0, result.stderr
    assert "exported 16 document(s)" in result.stdout

    sections = {f"feeds/{slug}.{fmt}" for slug in ("all", "news", "sport") for fmt in ("rss", "atom", "json")}
    expected = sections | {f"feeds/authors/ada-quayside.{fmt}" for fmt in ("rss", "atom", "json")}
    expected |= {"feeds.opml", "feeds/topics.opml", "feeds/authors.opml", "index.html"}  # no previews: a folder cannot tell a browser from a reader
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert files == expected | {f + ".gz" for f in expected}
    for name in expected:
        body = (out / name).read_bytes()
        assert gzip.decompress((out / (name + ".gz")).read_bytes()) == body
        if name.endswith(".json"):
            assert json.loads(body)["items"]
        elif name == "index.html":
            assert b'href="feeds/sport.rss"' in body and sport.url.encode() in body
        elif not name.endswith(".opml"):
            parsed = feedparser.parse(body)
            assert not parsed.bozo, (name, parsed.bozo_exception)
            assert parsed.entries
    assert len(feedparser.parse((out / "feeds/all.atom").read_bytes()).entries) == 2
    opml = ET.fromstring((out / "feeds.opml").read_bytes())
    urls = {o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")}
    assert urls == {cdn + name for name in sections}  # feeds.opml: the sections, as before
    assert cdn + "feeds/sport.rss" in (out / "feeds/sport.rss").read_text()  # self links follow public_url

    # A section that empties loses its files on the next export; the rest are replaced in place.
    with project.engine.begin() as conn:
        delete_article(conn, sport.id)
    result = project.cli("export", str(out), FEEDS_PUBLIC_URL=cdn)
    assert result.returncode == 0, result.stderr
    assert "removed 6 stale file(s)" in result.stdout
    assert not (out / "feeds/sport.rss").exists() and not (out / "feeds/sport.json.gz").exists()
    assert (out / "feeds/news.rss").exists()
    assert not list(out.rglob("*.tmp"))


def test_export_with_no_articles_says_so(project, tmp_path):
    result = project.cli("export", str(tmp_path / "site"))
    assert result.returncode == 1
    assert "no articles" in result.stderr
