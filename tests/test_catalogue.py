"""Topic, author and RFC 5005 archive feeds (issue 11), on SQLite and PostgreSQL: served,
listed, titled; the archive chain reaches every article exactly once; an incremental
build publishes exactly what a full one would, and touches only the pages that change."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import feedparser
import pytest
from lxml import etree
from sqlalchemy import select

from feeds.config import ConfigError, load_settings
from feeds.publish.build import build
from feeds.publish.catalog import is_archive
from feeds.slugs import fold
from feeds.store.schema import articles, feed_documents
from tests.conftest import Project
from tests.fixtures_serve import T0, Served, make_article, serve_project

NS = {"atom": "http://www.w3.org/2005/Atom", "fh": "http://purl.org/syndication/history/1.0"}
FORMATS = ("rss", "atom", "json")


@pytest.mark.parametrize(("label", "slug"), [
    ("Économie", "economie"), ("Zoë's Bakery", "zoes-bakery"), ("Straße & Verkehr", "strasse-and-verkehr"),
    ("  Climate   Change! ", "climate-change"), ("北京", ""), ("Sofía Álvarado", "sofia-alvarado"),
])
def test_labels_fold_to_readable_ascii_slugs(label: str, slug: str) -> None:
    assert fold(label) == slug


def _config(tmp_path: Path, topics: str = "", authors: str = "") -> dict[str, str]:
    config = tmp_path / "config"
    config.mkdir(exist_ok=True)
    (config / "sections.toml").write_text('[[section]]\nslug = "news"\n')
    (config / "topics.toml").write_text(topics)
    (config / "authors.toml").write_text(authors)
    return {"FEEDS_CONFIG_DIR": str(config)}


def test_topic_config_merges_denies_and_sets_a_threshold(tmp_path: Path) -> None:
    settings = load_settings(_config(tmp_path, """
min_articles = 3
deny = ["Breaking News"]
[[topic]]
slug = "climate"
title = "Climate"
aliases = ["Global warming", "Klimawandel"]
""", """
[[author]]
title = "Sofia Alvarado"
aliases = ["S. Alvarado"]
"""))
    topics, authors = settings.topics, settings.authors
    assert topics.min_articles == 3 and authors.min_articles == 1
    assert topics.slug_of("Global Warming") == topics.slug_of("climate") == "climate"
    assert topics.slug_of("breaking news") is None and topics.slug_of("Économie") == "economie"
    assert authors.slug_of("S. Alvarado") == authors.slug_of("Sofía Alvarado") == "sofia-alvarado"


@pytest.mark.parametrize(("topics", "field", "problem"), [
    ("min_articles = 0", "min_articles", "must be an integer from 1"),
    ('deny = "news"', "deny", "must be a list of strings"),
    ('[[topic]]\nslug = "Not A Slug"', "topic[0].slug", "must be a lowercase slug"),
    ('[[topic]]\nslug = "a"\naliases = ["x"]\n[[topic]]\nslug = "b"\naliases = ["X"]', "topic[1].aliases",
     "already used by topic[0]"),
    ("colour = 1", "colour", "unknown key"),
])
def test_a_bad_topics_file_names_the_file_and_field(tmp_path: Path, topics: str, field: str, problem: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_settings(_config(tmp_path, topics))
    assert err.value.source.endswith("topics.toml") and err.value.key == field and problem in err.value.problem


# -- served feeds ---------------------------------------------------------------------------


def story(n: int, section: str = "world", tags: tuple[str, ...] = ("Ports",), authors: tuple[str, ...] = ("Ann Lee",),
          **changes):  # type: ignore[no-untyped-def]
    return make_article(n, section, tags=tags, authors=authors, **changes)


@pytest.fixture
def site(tmp_path: Path, database_url: str) -> Iterator[Served]:
    """23 world stories (items_per_feed = 5: a subscription document and four archive pages),
    tagged with topics written several ways, by two authors; two sport stories."""
    project, server = serve_project(tmp_path, database_url)
    project.add(*(story(n, tags=("Climate change" if n % 2 else "Global Warming", "Économie"),
                        authors=("Sofía Álvarado",) if n % 3 else ("Ann Lee", "Sofia Alvarado"))
                  for n in range(1, 24)))
    project.add(story(30, "sport", tags=("Zoë's Bakery",)), story(31, "sport", tags=("Lonely tag",)))
    project.build()
    try:
        yield Served(project, server)
    finally:
        server.stop()


def test_topic_and_author_feeds_are_served_titled_and_listed(site: Served) -> None:
    climate = feedparser.parse(site.server.get("/feeds/topics/climate.atom").body)
    assert climate.feed.title == "The Harbour Gazette: Climate"  # aliases merged, config title
    assert climate.feed.subtitle == "Climate change, weather extremes and the energy transition."
    economie = json.loads(site.server.get("/feeds/topics/economie.json").body)
    assert economie["title"] == "The Harbour Gazette: Économie"  # the label as first written
    author = feedparser.parse(site.server.get("/feeds/authors/sofia-alvarado.rss").body)
    assert author.feed.title == "The Harbour Gazette: articles by Sofía Álvarado"
    assert len(author.entries) == 5 and not author.bozo
    # under min_articles (2): no feed; a single byline is enough for an author
    assert site.server.get("/feeds/topics/lonely-tag.rss").status == 404
    assert site.server.get("/feeds/topics/zoes-bakery.rss").status == 404
    assert site.server.get("/feeds/authors/ann-lee.json").status == 200

    topics = etree.fromstring(site.server.get("/feeds/topics.opml").body)
    urls = {o.get("xmlUrl") for o in topics.iter("outline") if o.get("xmlUrl")}
    assert urls == {site.url(f"feeds/topics/{t}.{f}") for t in ("climate", "economie") for f in FORMATS}
    authors = etree.fromstring(site.server.get("/feeds/authors.opml").body)
    assert {o.get("text") for o in authors.iter("outline") if not o.get("xmlUrl")} == {
        "The Harbour Gazette: articles by Ann Lee", "The Harbour Gazette: articles by Sofía Álvarado"}
    sections = etree.fromstring(site.server.get("/feeds.opml").body)
    assert {o.get("xmlUrl") for o in sections.iter("outline") if o.get("xmlUrl")} == {
        site.url(f"feeds/{s}.{f}") for s in ("all", "world", "sport") for f in FORMATS}

    index = site.server.get("/").body.decode()
    assert 'href="feeds/topics/climate.rss"' in index and 'href="feeds/authors/ann-lee.atom"' in index
    assert 'rel="alternate" type="application/rss+xml"' in index
    assert "topics/climate" not in index.split("</head>")[0], "autodiscovery: the sections, as feeds.opml"
    assert 'href="feeds/topics/climate.json"' in site.server.get("/topics").body.decode()
    assert 'href="feeds/authors/sofia-alvarado.rss"' in site.server.get("/authors").body.decode()


def _chain(served: Served, path: str, fmt: str) -> list[str]:
    """Every item id reached from the subscription document ``path`` by following the chain."""
    ids: list[str] = []
    url: str | None = served.url(path)
    seen_pages = 0
    while url is not None:
        r = served.server.get("/" + url.removeprefix(served.server.base_url))
        assert r.status == 200, url
        seen_pages += 1
        if fmt == "json":
            doc = json.loads(r.body)
            assert doc["feed_url"] == url
            ids += [item["id"] for item in doc["items"]]
            url = doc.get("next_url")
            continue
        parsed = feedparser.parse(r.body)
        assert not parsed.bozo, (url, parsed.get("bozo_exception"))
        ids += [e.id for e in parsed.entries]
        root = etree.fromstring(r.body)
        links = {link.get("rel"): link.get("href") for link in root.iter(f"{{{NS['atom']}}}link")}
        archived = root.find(".//fh:archive", NS) is not None
        assert archived == ("/archive/" in url), url
        if archived:
            assert links["current"] == served.url(path)
            assert r.header("Cache-Control") == f"public, max-age={served.settings.archive_max_age}"
        else:
            assert r.header("Cache-Control") == f"public, max-age={served.settings.cache_max_age}"
        url = links.get("prev-archive")
        assert seen_pages < 100
    return ids


@pytest.mark.parametrize("fmt", FORMATS)
def test_following_the_archive_chain_reaches_every_article_once(site: Served, fmt: str) -> None:
    world = [story(n).url for n in range(1, 24)]
    everything = world + [story(30, "sport").url, story(31, "sport").url]
    for path, expected in (("feeds/world", world), ("feeds/all", everything),
                           ("feeds/topics/climate", world), ("feeds/authors/sofia-alvarado", world)):
        ids = _chain(site, f"{path}.{fmt}", fmt)
        assert sorted(ids) == sorted(expected), path
    # oldest-anchored: page 1 holds the five oldest, page 4 the three left over
    page1 = json.loads(site.server.get("/feeds/world/archive/1.json").body)
    assert [i["id"] for i in page1["items"]] == [story(n).url for n in (5, 4, 3, 2, 1)]
    assert "next_url" not in page1
    page4 = feedparser.parse(site.server.get("/feeds/world/archive/4.atom").body)
    assert [e.id for e in page4.entries] == [story(n).url for n in (18, 17, 16)]
    rels = {link.rel: link.href for link in page4.feed.links}
    assert rels["prev-archive"] == site.url("feeds/world/archive/3.atom") and "next-archive" not in rels
    page2 = feedparser.parse(site.server.get("/feeds/world/archive/2.rss").body)
    assert {link.rel: link.href for link in page2.feed.links}["next-archive"] == site.url("feeds/world/archive/3.rss")


def test_a_new_story_changes_the_newest_archive_page_only(site: Served) -> None:
    site.project.add(story(24, tags=("Économie",)))  # world: 24 stories, 19 archived: page 4 gains story 19
    result = site.project.build()
    changed = set(result.changed)
    for feed in ("world", "all", "topics/economie", "authors/ann-lee"):
        assert {f"feeds/{feed}.{f}" for f in FORMATS} <= changed, feed
    for feed in ("world", "topics/economie"):
        pages = {p for p in changed if p.startswith(f"feeds/{feed}/archive/")}
        assert pages == {f"feeds/{feed}/archive/4.{f}" for f in FORMATS}, feed
    # all: 26 stories, 21 archived: a fifth page, and page 4 links it (next-archive: RSS and Atom)
    assert {p for p in changed if p.startswith("feeds/all/archive/")} == {
        "feeds/all/archive/4.rss", "feeds/all/archive/4.atom", *(f"feeds/all/archive/5.{f}" for f in FORMATS)}
    assert not any(p.startswith("feeds/topics/climate") for p in changed), "story 24 is not about climate"


def test_editing_an_old_story_changes_only_the_page_holding_it(site: Served) -> None:
    before = _published(site)
    old = story(7, tags=("Climate change", "Économie"), authors=("Sofía Álvarado",))
    site.project.add(old.replace(title="Story 7, corrected", content_hash="hash-7b",
                                 updated=old.updated + timedelta(days=400)))
    result = site.project.build()
    # story 7 is the 7th oldest of world, climate, economie and sofia-alvarado: page 2 of each
    # (and the 7th oldest of all, too: the sport stories are newer)
    pages = {"world", "all", "topics/climate", "topics/economie", "authors/sofia-alvarado"}
    assert set(result.changed) == _with_previews({f"feeds/{p}/archive/2.{f}" for p in pages for f in FORMATS})
    after = _published(site)
    assert {p for p in after if after[p] != before.get(p)} == set(result.changed)


def test_retracting_or_backdating_an_old_story_changes_only_the_page_holding_it(site: Served) -> None:
    site.project.remove(story(3).url)  # world page 1 (stories 1-5) loses story 3
    result = site.project.build()
    # story 3 is on page 1 of every feed it is in (Ann Lee's has 9 stories: page 1 is her open page)
    pages = {"world", "all", "topics/climate", "topics/economie", "authors/sofia-alvarado", "authors/ann-lee"}
    assert set(result.changed) == _with_previews({f"feeds/{p}/archive/1.{f}" for p in pages for f in FORMATS})
    page1 = json.loads(site.server.get("/feeds/world/archive/1.json").body)
    assert [i["id"] for i in page1["items"]] == [story(n).url for n in (5, 4, 2, 1)]
    # a story dated between 7 and 8, first seen now: into page 2 (stories 6-10), nothing else moves
    late = story(40, tags=(), authors=(), published=story(7).published + timedelta(minutes=10))
    site.project.add(late)
    result = site.project.build()
    assert set(result.changed) == _with_previews(
        {f"feeds/{p}/archive/2.{f}" for p in ("world", "all") for f in FORMATS})
    page2 = json.loads(site.server.get("/feeds/world/archive/2.json").body)
    assert [i["id"] for i in page2["items"]] == [story(n).url for n in (10, 9, 8)] + [late.url] + [
        story(n).url for n in (7, 6)]


def test_retractions_of_the_newest_stories_unseal_the_newest_page(site: Served) -> None:
    for n in range(23, 13, -1):  # world: 13 left; the subscription document keeps 5
        site.project.remove(story(n).url)
    site.project.build()
    assert sorted(_chain(site, "feeds/world.json", "json")) == sorted(story(n).url for n in range(1, 14))
    assert len(json.loads(site.server.get("/feeds/world.json").body)["items"]) == 5
    # pages 3 and 2 were unsealed: page 1 (stories 1-5) stays, page 2 is open (6-8), 9-13 subscribed
    page2 = json.loads(site.server.get("/feeds/world/archive/2.json").body)
    assert [i["id"] for i in page2["items"]] == [story(n).url for n in (8, 7, 6)]
    assert site.server.get("/feeds/world/archive/3.json").status == 404


def _with_previews(paths: set[str]) -> set[str]:
    """Documents and their HTML previews (what a browser gets at the same URL)."""
    return paths | {f"previews/{p}" for p in paths}


def _published(served: Served) -> dict[str, str]:
    with served.project.engine.connect() as conn:
        return dict(conn.execute(select(feed_documents.c.path, feed_documents.c.etag)).all())


def test_an_incremental_build_publishes_what_a_full_build_would(site: Served) -> None:
    """Random edits, retractions, re-datings, re-taggings and moves between sections: after
    each incremental build, the published set is exactly what a full build renders."""
    rng = random.Random(11)
    tags = ["Climate change", "Global warming", "Économie", "Ports", "Ferries", "Zoë's Bakery"]
    people = ["Ann Lee", "Sofía Álvarado", "Bo Chan"]
    present = set(range(1, 24))
    for round_ in range(8):
        for _ in range(rng.randint(1, 6)):
            n = rng.randint(1, 40)
            if n in present and rng.random() < 0.3:
                site.project.remove(story(n).url)
                present.discard(n)
                continue
            shift = timedelta(hours=rng.choice([0, 0, -50, 30]))
            a = story(n, tags=tuple(rng.sample(tags, rng.randint(0, 3))),
                      authors=tuple(rng.sample(people, rng.randint(0, 2))),
                      content_hash=f"h{n}-{round_}-{rng.random()}")
            a = a.replace(id=story(n).url, url=story(n).url, section=rng.choice(["world", "sport", "business"]),
                          published=a.published + shift, updated=T0 + timedelta(days=10 + round_))
            site.project.add(a)
            present.add(n)
        result = site.project.build()
        assert not result.full
        incremental = _published(site)
        full = build(site.project.engine, site.settings, full=True)
        assert full.full and full.changed == [], (round_, full.changed)
        assert _published(site) == incremental
        with site.project.engine.connect() as conn:
            stored = conn.execute(select(articles.c.id, articles.c.section)).all()
        for feed, fmt in (("all", "json"), ("world", "atom"), ("sport", "rss")):
            expected = sorted(i for i, section in stored if feed in ("all", section))
            if expected:
                assert sorted(_chain(site, f"feeds/{feed}.{fmt}", fmt)) == expected, (round_, feed)
    assert all(not is_archive(p) or "/archive/" in p for p in incremental)


def test_an_existing_store_gets_its_topics_and_authors_on_upgrade(tmp_path: Path, database_url: str) -> None:
    from feeds.store import db
    from feeds.store.articles import upsert_article

    project, server = serve_project(tmp_path, database_url)
    server.stop()
    with project.engine.begin() as conn:  # as a store at 0004 had them: no feed memberships
        for n in (1, 2):
            upsert_article(conn, story(n), story(n).updated)
        conn.exec_driver_sql("DELETE FROM article_changes")
        conn.exec_driver_sql("DELETE FROM state WHERE key IN ('catalogue_members', 'catalogue_render')")
    db.upgrade(project.engine, "0004")
    db.upgrade(project.engine)
    result = project.build()
    assert result.full and {f"feeds/topics/ports.{f}" for f in FORMATS} <= set(result.changed)
    assert {f"feeds/authors/ann-lee.{f}" for f in FORMATS} <= set(result.changed)


def test_a_release_that_renders_differently_rebuilds_every_document(
    sample_project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No version to remember to bump: a release whose renderers, templates or rendering
    libraries differ makes its first build a full one, though no article changed."""
    from feeds.publish import build as publish

    sample_project.ingest()
    first = sample_project.build()
    assert first.built and first.full
    assert not sample_project.build().built, "the same release, nothing changed: nothing to build"
    assert len(publish.release_fingerprint()) == 64
    monkeypatch.setattr(publish, "release_fingerprint", lambda: "the next release")
    upgraded = sample_project.build()
    assert upgraded.built and upgraded.full and upgraded.rendered == first.rendered
    assert not sample_project.build().built
