"""HTTP behaviour of the feed URLs, over a real socket: validators, 304s, HEAD,
gzip, headers, redirects, odd paths, and what happens when a build fails."""

from __future__ import annotations

import gzip
import http.client
import time
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from lxml import etree

from feeds.publish import build as publish
from feeds.web.documents import DocumentCache, FeedResponder
from tests.fixtures_serve import LiveServer, Project, Response, Served, make_article, served  # noqa: F401

FEEDS = {
    "/feeds/world.rss": "application/rss+xml; charset=utf-8",
    "/feeds/world.atom": "application/atom+xml; charset=utf-8",
    "/feeds/world.json": "application/feed+json; charset=utf-8",
    "/feeds/all.rss": "application/rss+xml; charset=utf-8",
    "/feeds.opml": "text/x-opml; charset=utf-8",
}


@pytest.mark.parametrize("path", sorted(FEEDS))
def test_every_feed_has_validators_and_cache_headers(served: Served, path: str) -> None:
    r = served.server.get(path)
    assert r.status == 200
    assert r.header("Content-Type") == FEEDS[path]
    etag = r.header("ETag")
    assert etag and etag.startswith('"') and etag.endswith('"'), "a strong ETag"
    assert parsedate_to_datetime(r.header("Last-Modified") or "").tzinfo is not None
    assert r.header("Cache-Control") == f"public, max-age={served.settings.cache_max_age}"
    assert r.header("Vary") == ("Accept-Encoding" if path == "/feeds.opml" else "Accept-Encoding, Accept")
    assert r.header("Access-Control-Allow-Origin") == "*"
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("Content-Length") == str(len(r.body))
    assert r.header("Content-Encoding") is None


def test_last_modified_is_the_newest_item(served: Served) -> None:
    r = served.server.get("/feeds/world.rss")
    newest = make_article(7).updated
    assert parsedate_to_datetime(r.header("Last-Modified") or "") == newest


def test_if_none_match_gets_304_without_body(served: Served) -> None:
    first = served.server.get("/feeds/world.rss")
    etag = first.header("ETag") or ""
    r = served.server.get("/feeds/world.rss", If_None_Match=etag)
    assert (r.status, r.body) == (304, b"")
    assert r.header("ETag") == etag
    assert r.header("Last-Modified") == first.header("Last-Modified")
    assert r.header("Cache-Control") == first.header("Cache-Control")
    # a list of tags, and the weak form a proxy may have made of ours, match too
    assert served.server.get("/feeds/world.rss", If_None_Match=f'"other", W/{etag}').status == 304
    assert served.server.get("/feeds/world.rss", If_None_Match="*").status == 304
    other = served.server.get("/feeds/world.rss", If_None_Match='"not-it"')
    assert other.status == 200 and other.body == first.body


def test_if_modified_since_gets_304_and_earlier_dates_get_200(served: Served) -> None:
    first = served.server.get("/feeds/world.atom")
    lm = first.header("Last-Modified") or ""
    r = served.server.get("/feeds/world.atom", If_Modified_Since=lm)
    assert (r.status, r.body) == (304, b"")
    earlier = format_datetime(parsedate_to_datetime(lm).replace(year=2000), usegmt=True)
    assert served.server.get("/feeds/world.atom", If_Modified_Since=earlier).status == 200
    assert served.server.get("/feeds/world.atom", If_Modified_Since="yesterday-ish").status == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.2.2)
    r = served.server.get("/feeds/world.atom", If_Modified_Since=lm, If_None_Match='"changed"')
    assert r.status == 200


def test_gzip_is_prepared_with_its_own_etag_and_304(served: Served) -> None:
    plain = served.server.get("/feeds/world.rss")
    r = served.server.get("/feeds/world.rss", Accept_Encoding="gzip, deflate, br")
    assert r.status == 200 and r.header("Content-Encoding") == "gzip"
    assert gzip.decompress(r.body) == plain.body
    assert r.header("Content-Length") == str(len(r.body)) and len(r.body) < len(plain.body)
    assert "Accept-Encoding" in (r.header("Vary") or "")
    zetag = r.header("ETag") or ""
    assert zetag != plain.header("ETag") and not zetag.startswith("W/")
    nm = served.server.get("/feeds/world.rss", Accept_Encoding="gzip", If_None_Match=zetag)
    assert (nm.status, nm.body, nm.header("ETag")) == (304, b"", zetag)
    # gzip refused explicitly
    for refuse in ("gzip;q=0", "identity", "gzip;q=0, *;q=0", ""):
        r = served.server.get("/feeds/world.rss", Accept_Encoding=refuse)
        assert r.header("Content-Encoding") is None and r.body == plain.body, refuse
    assert served.server.get("/feeds/world.rss", Accept_Encoding="*").header("Content-Encoding") == "gzip"
    assert served.server.get("/feeds/world.rss", Accept_Encoding="GZIP;q=0.5").header("Content-Encoding") == "gzip"


def test_head_has_the_get_headers_and_no_body(served: Served) -> None:
    for encoding in ("identity", "gzip"):
        get = served.server.get("/feeds/world.json", Accept_Encoding=encoding)
        head = served.server.request("/feeds/world.json", "HEAD", {"Accept-Encoding": encoding})
        assert head.status == 200 and head.body == b""
        for name in ("Content-Type", "Content-Length", "ETag", "Last-Modified", "Content-Encoding", "Vary"):
            assert head.header(name) == get.header(name), name


def test_other_methods(served: Served) -> None:
    r = served.server.request("/feeds/world.rss", "POST", {"Content-Length": "0"})
    assert r.status == 405 and "GET" in (r.header("Allow") or "")
    pre = served.server.request(
        "/feeds/world.rss",
        "OPTIONS",
        {"Origin": "https://reader.example", "Access-Control-Request-Headers": "if-none-match"},
    )
    assert pre.status == 204 and pre.header("Access-Control-Allow-Origin") == "*"
    assert "If-None-Match" in (pre.header("Access-Control-Allow-Headers") or "")


ODD_PATHS = [
    "/feeds/",
    "/feeds/nosuch.rss",
    "/feeds/world.xml",
    "/feeds/world.RSS",
    "/feeds/World.rss",
    "/feeds/world.rss/",
    "/feeds/world",
    "/feeds/world.rss.gz",
    "/feeds/world.rss.html",
    "/previews/feeds/world.rss",
    "/index.html",
    "/feeds/style-rss.xsl",
    "/feeds/../feeds/world.rss",
    "/feeds/%2e%2e/x",
    "/feeds/%2E%2E/%2E%2E/etc/passwd",
    "/feeds/..%2fconfig%2fsettings.toml",
    "/feeds/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/feeds/%252e%252e/x",
    "/feeds/..\\..\\x",
    "/feeds/world.rss%00",
    "/feeds/world.rss%0d%0aSet-Cookie:%20x=1",
    "/feeds/%ff%fe.rss",
    "/feeds/%E2%80%AEssr.dlrow",
    "/feeds/-world.rss",
    "/feeds/" + "a" * 70 + ".rss",
    "/feeds/" + "x" * 8000,
    "/" + "feeds/" * 1000,
    "/feeds.opml/",
    "/feeds.opml.gz",
    "/feeds//world.rss",
    "//feeds",
    "/feeds",
    "/nosuch",
    "/static/../config/settings.toml",
]


@pytest.mark.parametrize("path", ODD_PATHS)
def test_odd_paths_are_short_404s(served: Served, path: str) -> None:
    for method in ("GET", "HEAD"):
        r = served.server.request(path, method)
        assert r.status == 404, (method, path, r.status)
        assert len(r.body) < 100
        if method == "GET":
            assert r.header("Content-Type", ).startswith("text/plain")  # type: ignore[union-attr]
            assert b"<" not in r.body


def test_double_slash_is_never_an_error(served: Served) -> None:
    # Werkzeug's server folds a leading "//"; a production server passes it on, and then it is a 404.
    r = served.server.get("//feeds/world.rss")
    assert r.status == 404 or r.body == served.server.get("/feeds/world.rss").body


def test_old_slugs_redirect_permanently(served: Served) -> None:
    for fmt in ("rss", "atom", "json"):
        r = served.server.get(f"/feeds/sports.{fmt}")
        assert r.status == 301
        assert r.header("Location") == served.url(f"feeds/sport.{fmt}")
        target = served.server.get(f"/feeds/sport.{fmt}")
        assert target.status == 200 and b"Story 12" in target.body


def test_unpublished_section_is_404_never_an_empty_200(served: Served) -> None:
    # "culture" is configured but has no stories: no feed, no empty document
    assert served.server.get("/feeds/culture.rss").status == 404
    # retracting the last business stories takes their feeds away, not to zero items
    served.project.remove(make_article(20, "business").id)
    served.project.remove(make_article(21, "business").id)
    served.project.build()
    for fmt in ("rss", "atom", "json"):
        assert served.server.get(f"/feeds/business.{fmt}").status == 404
    assert b"business.rss" not in served.server.get("/feeds.opml").body


def test_a_failing_build_keeps_the_last_good_documents(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    before = {p: served.server.get(p).body for p in ("/feeds/world.rss", "/feeds/world.atom", "/feeds/all.json")}
    version = served.project.documents_version()
    served.project.add(make_article(8, title="Story 8: never published"))

    def broken(*args: object) -> bytes:
        raise RuntimeError("renderer exploded")

    monkeypatch.setitem(publish.RENDERERS, "atom", broken)
    jobs = served.project.jobs()
    with pytest.raises(RuntimeError):
        publish.build(served.project.engine, served.settings)
    jobs.rebuild()  # the scheduler's job logs the failure and carries on
    assert served.project.documents_version() == version, "nothing published"
    cache = served.project.app.extensions["feeds"]["cache"]
    cache.refresh()
    for path, body in before.items():
        r = served.server.get(path)
        assert r.status == 200 and r.body == body
    # once the renderer works again, the next rebuild publishes the story
    monkeypatch.undo()
    jobs.rebuild()
    assert b"Story 8: never published" in served.server.get("/feeds/world.atom").body


def test_database_gone_keeps_serving_from_memory(served: Served) -> None:
    body = served.server.get("/feeds/world.rss").body
    served.project.engine.dispose()
    cache = served.project.app.extensions["feeds"]["cache"]
    cache.engine = _broken_engine(served.project.root)
    assert cache.refresh() is False
    r = served.server.get("/feeds/world.rss")
    assert r.status == 200 and r.body == body


def test_a_stuck_check_of_the_database_holds_no_request_up(served: Served) -> None:
    cache = served.project.app.extensions["feeds"]["cache"]
    body = served.server.get("/feeds/world.rss").body
    with cache._lock:  # the cache's thread is checking the database, and it hangs
        for _ in range(5):
            started = time.monotonic()
            r = served.server.get("/feeds/world.rss")
            assert r.status == 200 and r.body == body
            assert time.monotonic() - started < 0.5


def _broken_engine(root: Path):  # type: ignore[no-untyped-def]
    from feeds.store.db import make_engine

    return make_engine(f"sqlite:///{root / 'no-such-dir' / 'x' / 'gone.db'}")


def test_feeds_not_loaded_yet_is_a_503_with_retry_after(tmp_path: Path, database_url: str) -> None:
    project = Project(tmp_path, database_url)
    cache = DocumentCache(_broken_engine(tmp_path), project.settings)
    assert cache.refresh() is False and not cache.loaded

    def rest(environ: object, start_response):  # type: ignore[no-untyped-def]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"x"]

    server = LiveServer()
    server.app = FeedResponder(rest, cache, project.settings)
    try:
        r = server.get("/feeds/world.rss")
        assert r.status == 503 and r.header("Retry-After") == "30"
        assert server.get("/feeds.opml").status == 503
        assert server.get("/feeds/../x").status == 404
        assert server.get("/").status == 503  # the front page is published with the feeds
    finally:
        server.stop()


# What real clients send. Browsers navigating to a link: the HTML preview.
BROWSER_ACCEPTS = {
    "chrome": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
              "application/signed-exchange;v=b3;q=0.7",
    "firefox": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    "firefox-old": "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
    "safari": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
}
# Feed readers, libraries and command-line tools: the feed itself.
READER_ACCEPTS = {
    "curl": "*/*",
    "none": None,
    "feedparser": "application/atom+xml,application/rdf+xml,application/rss+xml,application/x-netcdf,"
                  "application/xml;q=0.9,text/xml;q=0.2,*/*;q=0.1",
    "feedly-inoreader-netnewswire-miniflux": "application/rss+xml, application/atom+xml, application/json, */*",
    "tiny-tiny-rss": "application/rss+xml, application/rdf+xml;q=0.8, application/atom+xml;q=0.6, "
                     "application/xml;q=0.4, text/xml;q=0.4, text/html;q=0.2, */*;q=0.1",
    "json-feed-reader": "application/feed+json, application/json;q=0.9, */*;q=0.1",
    "html-named-last-as-high": "application/xml, text/html",
    "html-refused": "text/html;q=0, */*",
}
FEED_URLS = [f"/feeds/{slug}.{fmt}" for slug in ("world", "all") for fmt in ("rss", "atom", "json")]


def _get(served: Served, path: str, accept: str | None, **headers: str) -> Response:
    return served.server.get(path, **headers) if accept is None else served.server.get(path, Accept=accept, **headers)


@pytest.mark.parametrize("path", FEED_URLS)
def test_readers_get_the_feed_bytes_with_their_validators(served: Served, path: str) -> None:
    feed = served.server.get(path)
    assert feed.header("Content-Type") == FEEDS.get(path, FEEDS[path.replace("/all.", "/world.")])
    assert feed.header("Vary") == "Accept-Encoding, Accept"
    etag = feed.header("ETag") or ""
    zipped = served.server.get(path, Accept_Encoding="gzip")
    for name, accept in READER_ACCEPTS.items():
        r = _get(served, path, accept)
        assert (r.status, r.body, r.header("ETag")) == (200, feed.body, etag), name
        assert r.header("Content-Type") == feed.header("Content-Type"), name
        assert _get(served, path, accept, If_None_Match=etag).status == 304, name
        z = _get(served, path, accept, Accept_Encoding="gzip")
        assert (z.body, z.header("ETag")) == (zipped.body, zipped.header("ETag")), name
        assert _get(served, path, accept, Accept_Encoding="gzip", If_None_Match=z.header("ETag") or "").status == 304
    assert b"xml-stylesheet" not in feed.body, "no XSLT: browsers are removing it"


@pytest.mark.parametrize("path", FEED_URLS)
def test_browsers_get_the_html_preview_with_its_own_validators(served: Served, path: str) -> None:
    feed = served.server.get(path)
    page = served.server.get(path, Accept=BROWSER_ACCEPTS["firefox"])
    assert page.status == 200 and page.header("Content-Type") == "text/html; charset=utf-8"
    assert page.header("Vary") == "Accept-Encoding, Accept"
    assert page.header("Cache-Control") == feed.header("Cache-Control")
    etag = page.header("ETag") or ""
    assert etag.startswith('"') and etag != feed.header("ETag"), "a strong ETag of its own"
    assert page.body.startswith(b"<!doctype html>")
    assert served.url(path).encode() in page.body, "the address to subscribe to"
    for name, accept in BROWSER_ACCEPTS.items():
        r = served.server.get(path, Accept=accept)
        assert (r.body, r.header("ETag")) == (page.body, etag), name
        again = served.server.get(path, Accept=accept, If_None_Match=etag)
        assert (again.status, again.body, again.header("ETag")) == (304, b"", etag), name
        # the feed's ETag is not the page's: a browser holding it gets the page
        assert served.server.get(path, Accept=accept, If_None_Match=feed.header("ETag") or "").status == 200
    zipped = served.server.get(path, Accept=BROWSER_ACCEPTS["chrome"], Accept_Encoding="gzip, deflate, br, zstd")
    assert zipped.header("Content-Encoding") == "gzip" and gzip.decompress(zipped.body) == page.body
    zetag = zipped.header("ETag") or ""
    assert zetag not in (etag, feed.header("ETag"), served.server.get(path, Accept_Encoding="gzip").header("ETag"))
    nm = served.server.get(path, Accept=BROWSER_ACCEPTS["chrome"], Accept_Encoding="gzip", If_None_Match=zetag)
    assert nm.status == 304
    head = served.server.request(path, "HEAD", {"Accept": BROWSER_ACCEPTS["safari"]})
    assert (head.status, head.body, head.header("ETag")) == (200, b"", etag)
    lm = page.header("Last-Modified") or ""
    assert served.server.get(path, Accept=BROWSER_ACCEPTS["safari"], If_Modified_Since=lm).status == 304


def test_a_preview_shows_every_item_and_how_to_subscribe(served: Served) -> None:
    page = served.server.get("/feeds/world.atom", Accept=BROWSER_ACCEPTS["chrome"])
    doc = etree.fromstring(page.body, etree.HTMLParser())
    assert doc.get("lang") == "en"
    assert doc.findtext(".//main/h1") == "World"
    titles = [a.text for a in doc.iterfind(".//main//article/h3/a")]
    assert titles == [f"Story {n}: ferries & cranes <return>" for n in range(7, 2, -1)]  # 5 items per feed here
    links = [a.get("href") for a in doc.iterfind(".//main//article/h3/a")]
    assert links == [make_article(n).url for n in range(7, 2, -1)]
    metas = [" ".join("".join(p.itertext()).split()) for p in doc.iterfind(".//main//article/p[@class='meta']")]
    assert metas[0] == "1 March 2024, 15:00 UTC · By Ann Lee and Bo Chan"
    assert [p.text for p in doc.iterfind(".//main//article/p[2]")][0] == "The short version of story 7."
    field = doc.find(".//input[@id='feed-url']")
    assert field is not None and field.get("readonly") is not None and field.get("value") == served.url("feeds/world.atom")
    assert doc.find(".//label[@for='feed-url']") is not None
    encoded = quote(served.url("feeds/world.atom"), safe="")
    readers = {a.text: a.get("href") for a in doc.iterfind(".//ul[@class='inline readers']/li/a")}
    assert readers == {
        "Feedly": f"https://feedly.com/i/subscription/feed/{encoded}",
        "Inoreader": f"https://www.inoreader.com/?add_feed={encoded}",
        "NewsBlur": f"https://www.newsblur.com/?url={encoded}",
        "The Old Reader": f"https://theoldreader.com/feeds/subscribe?url={encoded}",
        "Feedbin": f"https://feedbin.com/?subscribe={encoded}",
    }
    others = {a.text: a.get("href") for a in doc.iterfind(".//ul[@class='inline formats']/li/a")}
    assert others == {"RSS": "world.rss", "JSON Feed": "world.json"}
    for label, href in others.items():  # relative links that resolve to the other formats' URLs
        assert served.server.get("/feeds/" + href, Accept=BROWSER_ACCEPTS["chrome"]).status == 200, label


def test_previews_and_the_front_page_have_no_urls_of_their_own(served: Served) -> None:
    for path in ("/previews/feeds/world.rss", "/feeds/world.rss.html", "/index.html", "/previews/"):
        assert served.server.get(path, Accept=BROWSER_ACCEPTS["chrome"]).status == 404, path


def test_opml_is_the_same_for_everyone(served: Served) -> None:
    opml = served.server.get("/feeds.opml")
    page = served.server.get("/feeds.opml", Accept=BROWSER_ACCEPTS["chrome"])
    assert (page.body, page.header("ETag"), page.header("Vary")) == (opml.body, opml.header("ETag"), "Accept-Encoding")


def test_the_front_page_is_served_like_a_feed(served: Served) -> None:
    r = served.server.get("/", Accept=BROWSER_ACCEPTS["chrome"])
    assert r.status == 200 and r.header("Content-Type") == "text/html; charset=utf-8"
    assert r.header("Vary") == "Accept-Encoding"
    etag = r.header("ETag") or ""
    assert etag.startswith('"') and served.server.get("/", If_None_Match=etag).status == 304
    assert served.server.get("/").body == r.body, "one page for everyone"
    zipped = served.server.get("/", Accept_Encoding="gzip")
    assert gzip.decompress(zipped.body) == r.body and zipped.header("ETag") != etag
    head = served.server.request("/", "HEAD")
    assert (head.status, head.body) == (200, b"")


def test_the_front_page_follows_each_publish(served: Served) -> None:
    before = served.server.get("/")
    served.project.add(make_article(9, title="Story 9: the new pier opens"))
    served.project.build()
    after = served.server.get("/")
    assert b"Story 9: the new pier opens" in after.body and b"Story 9" not in before.body
    assert after.header("ETag") != before.header("ETag")
    assert served.server.get("/", If_None_Match=before.header("ETag") or "").status == 200


def test_index_page_shows_headlines_autodiscovery_and_subscribe_links(served: Served) -> None:
    r = served.server.get("/")
    assert r.status == 200 and r.header("Content-Type") == "text/html; charset=utf-8"
    doc = etree.fromstring(r.body, etree.HTMLParser())
    alternates = {(link.get("type"), link.get("href")) for link in doc.iterfind(".//head/link[@rel='alternate']")}
    opml = served.server.get("/feeds.opml")
    opml_urls = {o.get("xmlUrl") for o in etree.fromstring(opml.body).iter("outline") if o.get("xmlUrl")}
    assert {href for _, href in alternates} == opml_urls
    for slug in ("all", "world", "sport", "business"):
        for fmt, mime in (("rss", "application/rss+xml"), ("atom", "application/atom+xml"),
                          ("json", "application/feed+json")):
            assert (mime, served.url(f"feeds/{slug}.{fmt}")) in alternates
    assert not any("culture" in href for _, href in alternates)
    hrefs = {a.get("href") for a in doc.iter("a")}
    assert {"feeds/world.rss", "feeds/sport.atom", "feeds/all.json", "feeds.opml"} <= hrefs
    groups = {g.findtext("h2"): g for g in doc.iterfind(".//main/section")}
    assert list(groups) == ["Sections", "Topics", "Authors"]
    feeds = {"".join(h3.itertext()): h3.getparent() for h3 in groups["Sections"].iterfind("section[@class='feed']/h3")}
    assert list(feeds) == ["All sections", "World", "Business", "Sport"]  # as configured
    topics = ["".join(h3.itertext()) for h3 in groups["Topics"].iterfind("section[@class='feed']/h3")]
    assert topics == ["Ports"]  # busiest first; every story carries it
    assert groups["Authors"].find("section[@class='feed']/h3/a").get("href") == "feeds/authors/ann-lee.rss"
    headlines = {name: [a.text for a in box.iterfind(".//ul[@class='headlines']/li/a")] for name, box in feeds.items()}
    assert headlines["World"] == [f"Story {n}: ferries & cranes <return>" for n in (7, 6, 5)]
    assert headlines["Business"] == [f"Story {n}: ferries & cranes <return>" for n in (21, 20)]
    assert headlines["All sections"] == [f"Story {n}: ferries & cranes <return>" for n in (21, 20, 12)]


def test_healthz_and_flask_errors_are_short(served: Served) -> None:
    assert served.server.get("/healthz").status == 200
    r = served.server.request("/healthz", "DELETE")
    assert r.status == 405 and len(r.body) < 100


def test_304_over_keep_alive(served: Served) -> None:
    """A reader reusing its connection: 304 has no body, so the next response parses."""
    conn = http.client.HTTPConnection("127.0.0.1", served.server.port, timeout=10)
    try:
        conn.request("GET", "/feeds/world.rss")
        first = conn.getresponse()
        first.read()
        etag = first.getheader("ETag") or ""
        for _ in range(3):
            conn.request("GET", "/feeds/world.rss", headers={"If-None-Match": etag})
            r = conn.getresponse()
            assert (r.status, r.read()) == (304, b"")
    finally:
        conn.close()
