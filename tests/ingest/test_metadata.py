"""Metadata sources, each on its own, and their order of trust."""

from __future__ import annotations

import json

import pytest

BODY = "".join(f"<p>Paragraph {i} says the harbour board met on Tuesday to discuss the new pontoon and its cost.</p>"
               for i in range(6))


def page(head: str = "", header: str = "", body: str = BODY, footer: str = "") -> str:
    return (f"<!DOCTYPE html><html lang='en-GB'><head><meta charset='utf-8'>{head}</head><body>"
            f"<article>{header}<div class='story-body'>{body}</div>{footer}</article></body></html>")


def ld(obj: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(obj)}</script>'


def test_jsonld_newsarticle(ingest):
    head = ld({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": "Pontoon plan approved",
        "datePublished": "2026-10-12T07:00:00+01:00", "dateModified": "2026-10-12T09:30:00+01:00",
        "author": [{"@type": "Person", "name": "Lowenna Hartley"}, {"@type": "Person", "name": "Tom Price"}],
        "articleSection": "Money", "keywords": ["harbour", "pontoon"], "inLanguage": "en-GB",
        "image": {"@type": "ImageObject", "url": "/img/pontoon.jpg"}, "description": "The board said yes.",
        "mainEntityOfPage": {"@id": "https://harbourgazette.example/business/pontoon"},
    }) + "<title>Something else | Gazette</title>"
    a = ingest(page(head))
    assert a.title == "Pontoon plan approved"
    assert a.authors == ("Lowenna Hartley", "Tom Price")
    assert a.published.isoformat() == "2026-10-12T07:00:00+01:00"
    assert a.updated.isoformat() == "2026-10-12T09:30:00+01:00"
    assert a.section == "business"
    assert a.tags == ("harbour", "pontoon")
    assert a.summary == "The board said yes."
    assert a.image == "https://harbourgazette.example/img/pontoon.jpg"
    assert a.id == a.url == "https://harbourgazette.example/business/pontoon"
    assert a.language == "en-GB"


def test_jsonld_graph_and_breadcrumbs(ingest):
    head = ld({"@context": "https://schema.org", "@graph": [
        {"@type": "WebSite", "name": "Gazette"},
        {"@type": "BreadcrumbList", "itemListElement": [
            {"@type": "ListItem", "position": 1, "name": "Home"},
            {"@type": "ListItem", "position": 2, "name": "Tech"}]},
        {"@type": ["Article", "BlogPosting"], "headline": "Tide app leaks locations",
         "datePublished": "2026-10-01T15:20:00+01:00", "author": {"@type": "Person", "name": "Joel Abernathy"}},
    ]})
    a = ingest(page(head))
    assert (a.title, a.section, a.authors) == ("Tide app leaks locations", "technology", ("Joel Abernathy",))


def test_opengraph_and_article_meta(ingest):
    head = ("<meta property='og:title' content='Ferry strike called'>"
            "<meta property='og:description' content='Crews walk out.'>"
            "<meta property='og:url' content='https://harbourgazette.example/ferry'>"
            "<meta property='og:image' content='https://cdn.example/ferry.jpg'>"
            "<meta property='article:published_time' content='2026-09-22T07:30:00+01:00'>"
            "<meta property='article:modified_time' content='2026-09-22T13:05:00+01:00'>"
            "<meta property='article:section' content='Local News'>"
            "<meta property='article:tag' content='ferry'><meta property='article:tag' content='strike'>"
            "<meta property='article:author' content='https://facebook.com/someone'>"
            "<meta name='author' content='Morwenna Pascoe'>")
    a = ingest(page(head))
    assert a.title == "Ferry strike called"
    assert a.summary == "Crews walk out."
    assert a.url == "https://harbourgazette.example/ferry"
    assert a.image == "https://cdn.example/ferry.jpg"
    assert a.published.isoformat() == "2026-09-22T07:30:00+01:00"
    assert a.updated.isoformat() == "2026-09-22T13:05:00+01:00"
    assert a.section == "news"
    assert a.tags == ("ferry", "strike")
    assert a.authors == ("Morwenna Pascoe",)


@pytest.mark.parametrize("head,expected", [
    ("<meta name='parsely-title' content='T1'><meta name='parsely-pub-date' content='2026-11-01T10:00:00Z'>"
     "<meta name='parsely-section' content='Sports'><meta name='parsely-author' content='Gareth Nance'>",
     ("T1", "2026-11-01T10:00:00+00:00", "sport", ("Gareth Nance",))),
    ("<meta name='parsely-page' content='{\"title\": \"T2\", \"pub_date\": \"2026-11-02T10:00:00Z\", "
     "\"section\": \"Arts\", \"author\": \"Beatrix Lamb\"}'>",
     ("T2", "2026-11-02T10:00:00+00:00", "culture", ("Beatrix Lamb",))),
    ("<meta name='DC.title' content='T3'><meta name='DC.date.issued' content='2026-11-03'>"
     "<meta name='DC.creator' content='Priya Raman'><meta name='category' content='Elections'>",
     ("T3", "2026-11-03T00:00:00+00:00", "politics", ("Priya Raman",))),
])
def test_other_meta_conventions(ingest, head, expected):
    a = ingest(page(head))
    assert (a.title, a.published.isoformat(), a.section, a.authors) == expected


def test_visible_metadata_only(ingest):
    header = ("<a class='post-category' href='/world/' rel='category tag'>International</a>"
              "<h1>Trawler crew rescued</h1><p class='byline'>By Daniel Okafor and Ingvild Hauge</p>"
              "<time datetime='2026-09-26T08:00:00Z'>26 September</time>"
              "<time class='updated' datetime='2026-09-26T12:00:00Z'>later</time>")
    a = ingest(page("<title>Trawler crew rescued - The Gazette</title>", header))
    assert a.title == "Trawler crew rescued"
    assert a.authors == ("Daniel Okafor", "Ingvild Hauge")
    assert a.published.isoformat() == "2026-09-26T08:00:00+00:00"
    assert a.updated.isoformat() == "2026-09-26T12:00:00+00:00"
    assert a.section == "world"
    assert not a.text.startswith(("By ", "International", "Trawler"))


@pytest.mark.parametrize("line,iso", [
    ("Published: 14 October 2026", "2026-10-14T00:00:00+00:00"),
    ("Monday, 2 November 2026, 10:40 GMT", "2026-11-02T10:40:00+00:00"),
    ("October 14, 2026 at 3:45 pm EDT", "2026-10-14T15:45:00-04:00"),
    ("Posted 2026-10-14 08:00", "2026-10-14T08:00:00+00:00"),
])
def test_plain_text_dates(ingest, line, iso):
    header = f"<h1>Derby won in the mud</h1><p>By Hywel Jory</p><p>{line}</p>"
    a = ingest(page("", header))
    assert a.published.isoformat() == iso
    assert a.updated == a.published
    assert a.text.startswith("Paragraph 0")


def test_last_updated_line(ingest):
    header = ("<h1>Chandlery to close</h1><p>By Lowenna Hartley</p><p>Thursday, 19 November 2026, 08:20 GMT</p>"
              "<p>Last updated: Thursday, 19 November 2026, 13:05 GMT</p>")
    a = ingest(page("", header))
    assert a.published.isoformat() == "2026-11-19T08:20:00+00:00"
    assert a.updated.isoformat() == "2026-11-19T13:05:00+00:00"


def test_no_date_uses_fallback_with_warning(ingest, fallback_time):
    a = ingest(page("", "<h1>Undated story</h1>"))
    assert a.published == a.updated == fallback_time
    assert any("fallback" in w for w in a.warnings)


def test_naive_dates_become_utc(ingest):
    a = ingest(page("<meta property='article:published_time' content='2026-10-01T09:00:00'>", "<h1>Naive</h1>"))
    assert a.published.isoformat() == "2026-10-01T09:00:00+00:00"


def test_jsonld_beats_opengraph_beats_title(ingest):
    head = (ld({"@type": "NewsArticle", "headline": "From JSON-LD"}) +
            "<meta property='og:title' content='From OpenGraph'><title>From title</title>")
    assert ingest(page(head, "<h1>From the page</h1>")).title == "From JSON-LD"
    assert ingest(page("<meta property='og:title' content='From OpenGraph'>", "<h1>H</h1>")).title == "From OpenGraph"


def test_broken_jsonld_is_ignored(ingest):
    head = '<script type="application/ld+json">{"@type": "NewsArticle", "headline": </script>'
    assert ingest(page(head, "<h1>Visible headline</h1>")).title == "Visible headline"


def test_jsonld_entities_are_decoded(ingest):
    head = ld({"@type": "NewsArticle", "headline": "Fish &amp; chips: the town&#8217;s favourite",
               "author": {"name": "Beatrix Lamb"}, "articleSection": "Arts &amp; Culture"})
    a = ingest(page(head))
    assert (a.title, a.section) == ("Fish & chips: the town’s favourite", "culture")


def test_jsonld_escapes_cannot_bring_characters_xml_forbids(ingest):
    head = ld({
        "@context": "https://schema.org", "@type": "NewsArticle", "headline": "Pontoon\u0001 plan\u0008 approved",
        "datePublished": "2026-10-12T07:00:00+01:00", "inLanguage": "en\u0001", "description": "Short\u000b one.",
        "author": {"@type": "Person", "name": "Jo\u0002 Bloggs"}, "keywords": ["harbour\u0007"],
    })
    a = ingest(page(head))
    assert (a.title, a.language, a.summary) == ("Pontoon plan approved", "en", "Short one.")
    assert a.authors == ("Jo Bloggs",) and a.tags == ("harbour",)
