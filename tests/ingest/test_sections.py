"""Section labels -> configured slugs, and the unknown-section policy."""

from __future__ import annotations

import dataclasses

import pytest

from feeds.ingest.sections import section_slug, slugify


@pytest.mark.parametrize("label,slug", [
    ("Global News", "world"), ("global news", "world"), ("  GLOBAL   NEWS ", "world"), ("World", "world"),
    ("world", "world"), ("Science & Tech", "technology"), ("science &tech", "technology"), ("Sports", "sport"),
    ("sports", "sport"), ("Arts & Culture", "culture"), ("Local News", "news"), ("Community", "news"),
    ("Money", "business"), ("Elections", "politics"),
])
def test_known_labels(settings, label, slug):
    assert section_slug(label, settings) == slug


def test_unknown_label_goes_to_default(settings):
    assert settings.unknown_section == "default"
    assert section_slug("Obituaries", settings) == settings.default_section


def test_unknown_label_creates_a_slug_under_create_policy(settings):
    create = dataclasses.replace(settings, unknown_section="create")
    assert section_slug("Food & Drink", create) == "food-and-drink"
    assert section_slug("Global News", create) == "world"
    assert section_slug("", create) == create.default_section


def test_no_label_goes_to_default(settings):
    assert section_slug("", settings) == settings.default_section


def test_slugify_is_url_safe():
    assert slugify("Café Société!") == "cafe-societe"
    assert slugify("x" * 100) == "x" * 64


@pytest.mark.parametrize("markup,slug", [
    ("<meta property='article:section' content='Sports'>", "sport"),
    ("<nav class='breadcrumb'><a href='/'>Home</a> &gt; <a href='/money/'>Money</a></nav>", "business"),
    ("<span class='kicker'>Tech</span>", "technology"),
    ("<div class='post-categories'><a href='/c/arts/'>Arts</a></div>", "culture"),
    ("<a href='/c/politics/' rel='category tag'>Politics</a>", "politics"),
    ("<ul><li><a href='/category/sports/'>Sports</a></li></ul><div><a href='/category/global-news/'>Global News</a>"
     "</div>", "world"),
])
def test_section_sources_on_a_page(ingest, markup, slug):
    body = "".join(f"<p>Sentence {i} about a story that has enough words to count as an article body.</p>"
                   for i in range(5))
    html = (f"<html><head><title>T</title>{markup if markup.startswith('<meta') else ''}</head><body><article>"
            f"{'' if markup.startswith('<meta') else markup}<h1>Headline here</h1>{body}</article></body></html>")
    assert ingest(html).section == slug
