"""What the served feeds say: RSS 2.0, Atom 1.0, JSON Feed 1.1 and OPML 2.0, read
back over HTTP with feedparser and lxml; feedgen's traps; byte-stable rebuilds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

import feedparser
import pytest
from lxml import etree

from tests.fixtures_serve import SITE, Served, make_article, serve_project, served  # noqa: F401

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "media": "http://search.yahoo.com/mrss/",
}
HUB = "http://127.0.0.1:9/hub"


@pytest.fixture
def with_hub(tmp_path: Path, database_url: str) -> Iterator[Served]:
    """Like ``served`` with a hub configured, and one story whose id is not a URL."""
    project, server = serve_project(tmp_path, database_url, {"FEEDS_HUB_URL": HUB})
    project.add(*(make_article(n) for n in range(1, 4)))
    project.add(make_article(4, id="push:4711", summary="", text="word " * 200, image=None, authors=(), tags=()))
    project.build()
    try:
        yield Served(project, server)
    finally:
        server.stop()


def xml(served: Served, path: str) -> etree._Element:
    r = served.server.get(path)
    assert r.status == 200
    return etree.fromstring(r.body)


def test_rss_channel(with_hub: Served) -> None:
    channel = xml(with_hub, "/feeds/world.rss").find("channel")
    assert channel is not None and channel.getparent().get("version") == "2.0"
    assert channel.findtext("title") == "The Harbour Gazette: World"
    assert channel.findtext("link") == SITE, "channel link is the site, not the last link feedgen saw"
    assert channel.findtext("description") == "International news from our correspondents."
    assert channel.findtext("language") == "en"
    assert channel.findtext("ttl") == str(with_hub.settings.cache_max_age // 60)
    newest = max(make_article(n).updated for n in range(1, 5))
    assert parsedate_to_datetime(channel.findtext("lastBuildDate") or "") == newest
    links = {link.get("rel"): link.get("href") for link in channel.findall("atom:link", NS)}
    assert links == {"self": with_hub.url("feeds/world.rss"), "hub": HUB}
    assert channel.find("atom:link[@rel='self']", NS).get("type") == "application/rss+xml"


def test_rss_items(with_hub: Served) -> None:
    items = xml(with_hub, "/feeds/world.rss").findall("channel/item")
    assert [i.findtext("title") for i in items][:2] == [
        "Story 4: ferries & cranes <return>",
        "Story 3: ferries & cranes <return>",
    ], "newest first (feedgen prepends by default)"
    pushed, item = items[0], items[1]
    a = make_article(3)
    assert item.findtext("link") == a.url
    guid = item.find("guid")
    assert guid is not None and guid.text == a.url and guid.get("isPermaLink") == "true"
    pushed_guid = pushed.find("guid")
    assert pushed_guid is not None and pushed_guid.get("isPermaLink") == "false"
    assert pushed_guid.text == "tag:harbourgazette.example,2026:push:4711"
    pub = item.findtext("pubDate") or ""
    assert pub == "Fri, 01 Mar 2024 11:00:00 +0000" and parsedate_to_datetime(pub) == a.published
    assert item.findtext("description") == a.summary
    assert item.findtext("content:encoded", namespaces=NS) == a.content_html
    assert item.findtext("dc:creator", namespaces=NS) == "Ann Lee, Bo Chan"
    assert [c.text for c in item.findall("category")] == ["World"]
    assert item.find("media:content", NS).attrib == {"url": a.image, "medium": "image"}
    assert item.find("media:thumbnail", NS).get("url") == a.image
    # no summary: the start of the text stands in, cut at a word
    assert (pushed.findtext("description") or "").startswith("word word")
    assert (pushed.findtext("description") or "").endswith("\u2026")
    assert pushed.find("dc:creator", NS) is None and pushed.find("media:content", NS) is None


def test_atom(with_hub: Served) -> None:
    feed = xml(with_hub, "/feeds/world.atom")
    assert feed.tag == "{http://www.w3.org/2005/Atom}feed"
    assert feed.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    assert feed.findtext("atom:id", namespaces=NS) == "tag:harbourgazette.example,2026:feeds/world"
    newest = max(make_article(n).updated for n in range(1, 5))
    assert datetime.fromisoformat(feed.findtext("atom:updated", namespaces=NS) or "") == newest
    links = {(link.get("rel"), link.get("href")) for link in feed.findall("atom:link", NS)}
    assert links == {("self", with_hub.url("feeds/world.atom")), ("hub", HUB), ("alternate", SITE)}
    assert feed.findtext("atom:author/atom:name", namespaces=NS) == "The Harbour Gazette"
    entries = feed.findall("atom:entry", NS)
    entry = entries[1]
    a = make_article(3)
    assert entry.findtext("atom:id", namespaces=NS) == a.url
    assert entries[0].findtext("atom:id", namespaces=NS) == "tag:harbourgazette.example,2026:push:4711"
    assert entry.findtext("atom:title", namespaces=NS) == a.title
    assert datetime.fromisoformat(entry.findtext("atom:published", namespaces=NS) or "") == a.published
    assert datetime.fromisoformat(entry.findtext("atom:updated", namespaces=NS) or "") == a.updated
    assert [n.text for n in entry.findall("atom:author/atom:name", NS)] == list(a.authors)
    link = entry.find("atom:link", NS)
    assert link is not None and link.attrib == {"href": a.url, "rel": "alternate", "type": "text/html"}
    assert entry.findtext("atom:summary", namespaces=NS) == a.summary
    content = entry.find("atom:content", NS)
    assert content is not None and content.get("type") == "html" and content.text == a.content_html
    assert [(c.get("term"), c.get("label")) for c in entry.findall("atom:category", NS)] == [("world", "World")]


def test_json_feed(with_hub: Served) -> None:
    r = with_hub.server.get("/feeds/world.json")
    feed = json.loads(r.body)
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["home_page_url"] == SITE
    assert feed["feed_url"] == with_hub.url("feeds/world.json")
    assert feed["hubs"] == [{"type": "WebSub", "url": HUB}]
    item = feed["items"][1]
    a = make_article(3)
    assert item == {
        "id": a.url,
        "url": a.url,
        "title": a.title,
        "content_html": a.content_html,
        "summary": a.summary,
        "image": a.image,
        "date_published": "2024-03-01T11:00:00Z",
        "date_modified": "2024-03-01T11:30:00Z",
        "authors": [{"name": "Ann Lee"}, {"name": "Bo Chan"}],
        "tags": ["World", "Ports"],
        "language": "en",
    }
    assert feed["items"][0]["id"] == "tag:harbourgazette.example,2026:push:4711"
    assert "authors" not in feed["items"][0] and "image" not in feed["items"][0]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feedparser_reads_every_field(served: Served, fmt: str) -> None:
    parsed = feedparser.parse(served.url(f"feeds/world.{fmt}"))  # feedparser fetches, as readers do
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.status == 200 and parsed.headers["content-encoding"] == "gzip"
    again = feedparser.parse(served.url(f"feeds/world.{fmt}"), etag=parsed.etag, modified=parsed.modified)
    assert again.status == 304 and not again.entries
    assert parsed.feed.title == "The Harbour Gazette: World"
    assert parsed.feed.link == SITE
    assert [e.title for e in parsed.entries] == [make_article(n).title for n in (7, 6, 5, 4, 3)], "items_per_feed=5"
    a, e = make_article(7), parsed.entries[0]
    assert e.id == a.url and e.link == a.url
    assert datetime(*e.published_parsed[:6], tzinfo=UTC) == a.published
    if fmt == "atom":
        assert datetime(*e.updated_parsed[:6], tzinfo=UTC) == a.updated
        assert [x.name for x in e.authors] == ["Ann Lee", "Bo Chan"]
    else:
        assert e.author == "Ann Lee, Bo Chan"
    assert e.summary == a.summary
    assert e.content[0].value == a.content_html
    assert {t.term for t in e.tags} == {"world" if fmt == "atom" else "World"}
    assert e.media_content[0]["url"] == a.image
    assert e.media_thumbnail[0]["url"] == a.image


def test_all_sections_feed_mixes_sections_newest_first(served: Served) -> None:
    feed = json.loads(served.server.get("/feeds/all.json").body)
    assert [i["id"] for i in feed["items"]] == [
        make_article(n, s).url for n, s in ((21, "business"), (20, "business"), (12, "sport"), (11, "sport"), (10, "sport"))
    ]
    assert feed["title"] == "The Harbour Gazette: all sections"


def test_opml_lists_every_feed(served: Served) -> None:
    r = served.server.get("/feeds.opml")
    root = etree.fromstring(r.body)
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "The Harbour Gazette feeds"
    urls = [o.get("xmlUrl") for o in root.iter("outline") if o.get("xmlUrl")]
    assert urls == [served.url(f"feeds/{s}.{f}") for s in ("all", "world", "business", "sport") for f in ("rss", "atom", "json")]
    for outline in root.iter("outline"):
        assert outline.get("text")
        # W3C validator: an outline with more than text needs a type; folders carry text alone
        assert outline.get("type") in ("rss", "json") if outline.get("xmlUrl") else outline.keys() == ["text"]
    assert root.find("head/docs") is None


def test_rebuild_is_byte_stable_and_touches_only_changed_feeds(served: Served) -> None:
    paths = [f"/feeds/{s}.{f}" for s in ("all", "world", "sport", "business") for f in ("rss", "atom", "json")]
    before = {p: served.server.get(p) for p in [*paths, "/feeds.opml"]}
    result = served.project.build(force=True)
    assert result.built and result.changed == []
    for p, r in before.items():
        again = served.server.get(p)
        assert again.body == r.body and again.header("ETag") == r.header("ETag")
        assert again.header("Last-Modified") == r.header("Last-Modified")
    # an edited sport story changes the feeds it is in (sport, all, its topic and its
    # authors' feeds: in each, the subscription document, which holds it), nothing else
    edited = make_article(11, "sport", title="Story 11, corrected", content_hash="hash-11b")
    served.project.add(edited.replace(updated=edited.updated.replace(year=2025)))
    result = served.project.build()
    feeds = [f"feeds/{s}.{f}" for s in ("all", "sport", "topics/ports", "authors/ann-lee", "authors/bo-chan")
             for f in ("rss", "atom", "json")]
    # ... their previews, and the front page, which shows the story among the newest
    assert sorted(result.changed) == sorted([*feeds, *(f"previews/{p}" for p in feeds), "index.html"])
    for p in paths:
        same = served.server.get(p).body == before[p].body
        assert same == ("/sport." not in p and "/all." not in p), p


def test_last_modified_never_goes_back(served: Served) -> None:
    first = served.server.get("/feeds/world.rss")
    served.project.remove(make_article(7).id)  # the newest story goes
    served.project.build()
    r = served.server.get("/feeds/world.rss")
    assert r.body != first.body
    lm0 = parsedate_to_datetime(first.header("Last-Modified") or "")
    assert parsedate_to_datetime(r.header("Last-Modified") or "") > lm0
    # a reader that only sends If-Modified-Since sees the change
    assert served.server.get("/feeds/world.rss", If_Modified_Since=first.header("Last-Modified") or "").status == 200
    # ...while the feed's own dates still come from its items
    channel = etree.fromstring(r.body).find("channel")
    assert parsedate_to_datetime(channel.findtext("lastBuildDate") or "") == make_article(6).updated


def test_feedgen_lastbuilddate_is_never_the_clock(tmp_path: Path, database_url: str) -> None:
    project, server = serve_project(tmp_path, database_url)
    try:
        old = datetime(2001, 9, 9, 1, 46, 40, tzinfo=UTC)
        project.add(make_article(1, published=old, updated=old))
        project.build()
        rss = etree.fromstring(server.get("/feeds/world.rss").body)
        assert rss.findtext("channel/lastBuildDate") == "Sun, 09 Sep 2001 01:46:40 +0000"
        atom = etree.fromstring(server.get("/feeds/world.atom").body)
        assert atom.findtext("atom:updated", namespaces=NS) == "2001-09-09T01:46:40+00:00"
        assert server.get("/feeds/world.rss").header("Last-Modified") == "Sun, 09 Sep 2001 01:46:40 GMT"
    finally:
        server.stop()


def test_rss_plain_text_uses_hex_references(served: Served) -> None:
    rss = served.server.get("/feeds/world.rss").body
    assert b"<title>Story 7: ferries &#x26; cranes &#x3C;return&gt;</title>" in rss
    assert etree.fromstring(rss).findtext("channel/item/title") == make_article(7).title


def test_feedgen_rss_keeps_hub_link_and_channel_link(with_hub: Served) -> None:
    rss = with_hub.server.get("/feeds/world.rss").body
    assert b'<atom:link href="http://127.0.0.1:9/hub" rel="hub"/>' in rss
    channel = etree.fromstring(rss).find("channel")
    assert channel.findtext("link") == SITE


def test_control_characters_do_not_break_the_build(served: Served) -> None:
    served.project.add(
        make_article(9, title="Bad\x08 title\x00", summary="tab\tand\x1b escape", content_html="<p>x\x0c</p>",
                     authors=("A\x01nn",), tags=("T\x7fag",))
    )
    result = served.project.build()
    assert "feeds/world.rss" in result.changed
    for fmt in ("rss", "atom"):
        etree.fromstring(served.server.get(f"/feeds/world.{fmt}").body)
    item = json.loads(served.server.get("/feeds/world.json").body)["items"][0]
    assert item["title"] == "Bad title" and item["summary"] == "tab\tand escape"
    assert item["authors"] == [{"name": "Ann"}]
