"""Every sample page, and a page shaped like the customer's seed, comes out exactly right.

The expectations in ``sample_expectations.json`` were written with the pages:
headline, section, byline, dates and canonical URL, the body's first and last
paragraphs and phrases from its middle, and every piece of chrome on the page
that must not reach the article.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from feeds.config import Settings, load_settings
from feeds.ingest import ingest_page
from feeds.model import Article

from .conftest import ROOT

EXPECTED: dict[str, dict] = json.loads((ROOT / "tests" / "sample_expectations.json").read_text("utf-8"))
FILE_TIME = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings() -> Settings:
    return load_settings({"FEEDS_CONFIG_DIR": str(ROOT / "config")})


def _ingest(name: str, settings: Settings) -> Article:
    return ingest_page((ROOT / name).read_bytes(), source=f"file:{Path(name).name}", settings=settings, fallback_time=FILE_TIME)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_metadata(name: str, settings: Settings) -> None:
    exp = EXPECTED[name]
    article = _ingest(name, settings)
    assert article.title == exp["title"]
    assert article.section == exp["section"]
    assert list(article.authors) == exp["authors"]
    if exp["published"]:
        assert article.published == datetime.fromisoformat(exp["published"])
        assert article.published.utcoffset() is not None
    else:
        assert article.published == FILE_TIME
        assert any("date" in w for w in article.warnings)
    expected_updated = exp["updated"] or exp["published"]
    if expected_updated:
        assert article.updated == datetime.fromisoformat(expected_updated)
    if exp["canonical"]:
        assert article.id == article.url == exp["canonical"]
    else:
        assert article.url.startswith("https://harbourgazette.example/")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_body_whole_and_without_chrome(name: str, settings: Settings) -> None:
    exp = EXPECTED[name]
    article = _ingest(name, settings)
    text = article.text
    assert text.startswith(exp["body_first"]), text[:200]
    assert text.rstrip().endswith(exp["body_last"]), text[-200:]
    for phrase in exp["body_contains"]:
        assert phrase in text
    assert exp["title"] not in text, "the headline is not part of the body"
    for chrome in exp["chrome"]:
        assert chrome not in text, f"chrome {chrome!r} leaked into the body"
        assert chrome not in BeautifulSoup(article.content_html, "html.parser").get_text(), chrome
    soup = BeautifulSoup(article.content_html, "html.parser")
    assert len(soup.find_all("img")) == exp["images"]
    for tag in soup.find_all(href=True) + soup.find_all(src=True):
        url = tag.get("href") or tag.get("src")
        assert url.startswith(("https://", "http://", "mailto:")), url


def test_legacy_windows_1252_quotes_come_out_right(settings: Settings) -> None:
    legacy = [n for n, e in EXPECTED.items() if e["template"] == "legacy"]
    assert len(legacy) >= 3
    for name in legacy:
        raw = (ROOT / name).read_bytes()
        assert b"\x93" in raw or b"\x92" in raw
        article = _ingest(name, settings)
        assert "\ufffd" not in article.text and "â€" not in article.text
        assert any(ch in article.text for ch in "“”‘’")


def test_three_templates_and_five_sections() -> None:
    samples = {n: e for n, e in EXPECTED.items() if n.startswith("sample_articles/")}
    assert len(samples) >= 24
    assert {e["template"] for e in samples.values()} == {"wp", "ld", "legacy"}
    assert len({e["section"] for e in samples.values()}) >= 5
    assert sorted(samples) == sorted(f"sample_articles/{p.name}" for p in (ROOT / "sample_articles").glob("*.html"))
