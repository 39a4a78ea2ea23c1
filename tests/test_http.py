"""HTTP behaviour of the feed URLs, over a real socket: validators, 304s, HEAD,
gzip, headers, redirects, odd paths, and what happens when a build fails."""

from __future__ import annotations

import gzip
import http.client
import time
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest
from lxml import etree

from feeds.publish import build as publish
from feeds.web.documents import DocumentCache, FeedResponder
from tests.fixtures_serve import LiveServer, Project, Served, make_article, served  # noqa: F401

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
    assert r.header("Vary") == ("Accept-Encoding, Accept" if path.endswith((".rss", ".atom")) else "Accept-Encoding")
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
        # the stylesheets are package files: served whatever the database does
        assert server.get("/feeds/style-rss.xsl").status == 200
    finally:
        server.stop()


def test_stylesheets_turn_feeds_into_readable_pages(served: Served) -> None:
    for fmt in ("rss", "atom"):
        feed = served.server.get(f"/feeds/world.{fmt}")
        assert feed.header("Content-Type", ).startswith(f"application/{fmt}+xml")  # type: ignore[union-attr]
        pi = feed.body.split(b"\n")[1]
        assert pi == f'<?xml-stylesheet type="text/xsl" href="style-{fmt}.xsl"?>'.encode()
        xsl = served.server.get(f"/feeds/style-{fmt}.xsl")
        assert xsl.status == 200 and xsl.header("Content-Type") == "text/xsl; charset=utf-8"
        assert xsl.header("ETag") and xsl.header("X-Content-Type-Options") == "nosniff"
        assert served.server.get(f"/feeds/style-{fmt}.xsl", If_None_Match=xsl.header("ETag") or "").status == 304
        transform = etree.XSLT(etree.fromstring(xsl.body))
        page = str(transform(etree.fromstring(feed.body)))
        assert "This is a web feed" in page
        assert "Story 7: ferries &amp; cranes &lt;return&gt;" in page
        assert served.url(f"feeds/world.{fmt}") in page
        assert page.index("Story 7") < page.index("Story 3")


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
READER_ACCEPTS = ["application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.8", "*/*", ""]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_browsers_get_the_same_bytes_as_xml_so_the_stylesheet_applies(served: Served, fmt: str) -> None:
    path = f"/feeds/world.{fmt}"
    reader = served.server.get(path)
    page = served.server.get(path, Accept=BROWSER_ACCEPT)
    assert page.header("Content-Type") == "application/xml; charset=utf-8"
    assert page.body == reader.body and page.header("ETag") != reader.header("ETag")
    assert page.header("Vary") == "Accept-Encoding, Accept"
    again = served.server.get(path, Accept=BROWSER_ACCEPT, If_None_Match=page.header("ETag") or "")
    assert again.status == 304
    zipped = served.server.get(path, Accept=BROWSER_ACCEPT, Accept_Encoding="gzip, deflate, br, zstd")
    assert zipped.header("Content-Type") == "application/xml; charset=utf-8"
    assert gzip.decompress(zipped.body) == reader.body
    for accept in READER_ACCEPTS:
        r = served.server.get(path, Accept=accept)
        assert r.header("Content-Type") == f"application/{fmt}+xml; charset=utf-8", accept
    json_feed = served.server.get("/feeds/world.json", Accept=BROWSER_ACCEPT)
    assert json_feed.header("Content-Type") == "application/feed+json; charset=utf-8"


def test_index_page_autodiscovery_and_subscribe_links(served: Served) -> None:
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
    assert {"/feeds/world.rss", "/feeds/sport.atom", "/feeds/all.json", "/feeds.opml"} <= hrefs


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
