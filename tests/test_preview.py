"""The HTML pages for people, as rendered: HTML5 without a parse error, hostile text stays
text, the pages are stable from build to build, and the page's Content-Security-Policy
allows exactly what it carries."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import html5lib
import pytest
from lxml import etree

from feeds.config import Settings, load_settings
from feeds.publish.catalog import FeedSpec
from feeds.publish.preview import Group, display_date, render_index, render_preview
from tests.fixtures_serve import ROOT, make_article

HOSTILE = '</a><script>alert("t")</script><img src=x onerror=alert(1)> & "quotes"'


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings({"FEEDS_CONFIG_DIR": str(ROOT / "config"), "FEEDS_INSTANCE_DIR": str(tmp_path),
                          "FEEDS_PUBLIC_URL": "https://feeds.example/news/"})


def _spec(settings: Settings, **changes: str) -> FeedSpec:
    values = {"slug": "world", "title": f"{settings.title}: World", "description": "World news.", "section": "world"}
    return FeedSpec(**(values | changes))  # type: ignore[arg-type]


def _parse(body: bytes) -> etree._Element:
    return etree.fromstring(body, etree.HTMLParser())


@pytest.mark.parametrize("fmt", ["rss", "atom", "json", "index"])
def test_the_pages_parse_as_html5_without_an_error(settings: Settings, fmt: str) -> None:
    items = [make_article(n, authors=("Ann Lee",) * (n % 3)) for n in (3, 2, 1)]  # 0, 1 and 2 authors
    spec = _spec(settings)
    body = (render_index(settings, [Group("Sections", [(spec, items)])]) if fmt == "index"
            else render_preview(settings, spec, items, fmt))
    parser = html5lib.HTMLParser(strict=True)  # raises at the first parse error
    parser.parse(body)
    assert parser.errors == []


def test_hostile_text_stays_text(settings: Settings) -> None:
    article = make_article(1, title=HOSTILE, summary=HOSTILE, authors=(HOSTILE,))
    spec = _spec(settings, title=f"{settings.title}: {HOSTILE}", description=HOSTILE)
    for body in (render_preview(settings, spec, [article], "rss"), render_index(settings, [Group("Sections", [(spec, [article])])])):
        doc = _parse(body)
        assert not doc.xpath("//img") and not doc.xpath("//*[@onerror]")
        assert len(doc.xpath("//script")) <= 1 and b"alert" not in b"".join(
            etree.tostring(s) for s in doc.xpath("//script")
        )
        assert HOSTILE in "".join(doc.xpath("//main//h3//a/text()"))


def test_the_same_items_render_the_same_bytes(settings: Settings) -> None:
    items = [make_article(n) for n in (3, 2, 1)]
    spec = _spec(settings)
    for fmt in ("rss", "atom", "json"):
        assert render_preview(settings, spec, items, fmt) == render_preview(settings, spec, list(items), fmt)
    groups = [Group("Sections", [(spec, items)])]
    assert render_index(settings, groups) == render_index(settings, groups)


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@pytest.mark.parametrize("page", ["preview", "index"])
def test_the_policy_allows_the_inline_style_and_script_and_nothing_else(settings: Settings, page: str) -> None:
    spec = _spec(settings)
    items = [make_article(1)]
    body = (render_preview(settings, spec, items, "atom") if page == "preview"
            else render_index(settings, [Group("Sections", [(spec, items)])])).decode()
    policy = _parse(body.encode()).xpath("//meta[@http-equiv='Content-Security-Policy']/@content")[0]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    style = re.search(r"<style>(.*?)</style>", body, re.S)
    assert style is not None and directives["style-src"] == _hash(style.group(1))
    script = re.search(r"<script>(.*?)</script>", body, re.S)
    if page == "preview":
        assert script is not None and directives["script-src"] == _hash(script.group(1))
    else:
        assert script is None and directives["script-src"] == "'none'"
    # nothing else the policy would block: no style attributes, no event handlers
    attributes = {name for el in _parse(body.encode()).iter() if isinstance(el.tag, str) for name in el.attrib}
    assert not {a for a in attributes if a == "style" or a.startswith("on")}


def test_links_between_pages_are_relative_and_the_address_is_absolute(settings: Settings) -> None:
    spec = _spec(settings)
    doc = _parse(render_preview(settings, spec, [make_article(1)], "json"))
    assert doc.xpath("//header//a/@href") == ["../"]
    assert doc.xpath("//input[@id='feed-url']/@value") == ["https://feeds.example/news/feeds/world.json"]
    index = _parse(render_index(settings, [Group("Sections", [(spec, [make_article(1)])])]))
    assert index.xpath("//main//h3/a/@href") == ["feeds/world.rss"]


def test_a_group_without_feeds_is_not_shown_and_no_feeds_says_so(settings: Settings) -> None:
    body = render_index(settings, [Group("Topics", [])])
    assert b"Topics" not in body and b"No stories have been published yet." in body


def test_dates_read_the_same_everywhere() -> None:
    assert display_date(make_article(1).published) == "1 March 2024, 09:00 UTC"
