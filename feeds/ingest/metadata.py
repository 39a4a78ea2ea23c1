"""Article metadata from a parsed page, best source first.

Order of trust: JSON-LD (what the publisher tells machines), then OpenGraph and
``article:*`` meta, then other meta conventions (parsely, Dublin Core, plain
name=author/date), then what a reader sees (headline, byline, ``<time>``,
written-out dates, category labels). Each field takes the first source that has it.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from lxml import html as lhtml

from feeds.ingest.budget import check_deadline
from feeds.ingest.dates import find_visible_date, parse_date
from feeds.ingest.sanitize import strip_xml_forbidden

ARTICLE_TYPES = frozenset({
    "article", "newsarticle", "reportagenewsarticle", "analysisnewsarticle", "opinionnewsarticle",
    "reviewnewsarticle", "backgroundnewsarticle", "askpublicnewsarticle", "liveblogposting",
    "blogposting", "socialmediaposting", "techarticle", "scholarlyarticle", "report", "satiricalarticle",
})
_BY_RE = re.compile(r"^\s*(?:written\s+)?by[:\s]+(.{2,120}?)\s*$", re.IGNORECASE | re.DOTALL)
_TITLE_SEPARATORS = re.compile(r"\s+(?:[|\u2013\u2014\u00bb\u00b7\u2022-]|::|:)\s+")
_SEP_RE = re.compile(r"\s*(?:,|\band\b|&|\|)\s*")
_CATEGORY_HREF_RE = re.compile(r"/(?:category|categories|section|sections|topics?)/[^/?#]+/?(?:[?#]|$)", re.IGNORECASE)
_UPDATED_RE = re.compile(r"^\s*(?:last\s+)?(?:updated|modified|edited)\b", re.IGNORECASE)
_CATEGORY_CLASS_RE = re.compile(r"(?:^|[\s_-])(?:cat|cats|category|categories|kicker|section|eyebrow|overline|rubric)(?:$|[\s_-])",
                                re.IGNORECASE)


@dataclass
class Metadata:
    """What the page says about itself; empty values mean "not found"."""

    title: str = ""
    canonical: str = ""
    authors: list[str] = field(default_factory=list)
    published: datetime | None = None
    updated: datetime | None = None
    section: str = ""
    description: str = ""
    image: str = ""
    tags: list[str] = field(default_factory=list)
    language: str = ""


def extract_metadata(tree: lhtml.HtmlElement) -> Metadata:
    """Fill a Metadata from one parsed page (the tree is not modified)."""
    meta = Metadata()
    ld = _jsonld_article(tree)
    metas = _meta_tags(tree)

    def first(*values: Any) -> str:
        for value in values:
            text = _clean(value)
            if text:
                return text
        return ""

    # The tree-searching fallbacks run only when the declared metadata gave nothing.
    meta.title = (first(ld.get("headline"), metas.get("og:title"), metas.get("twitter:title"),
                        metas.get("parsely-title"), metas.get("dc.title"), metas.get("dcterms.title"))
                  or first(_visible_headline(tree)) or first(_title_tag(tree)) or first(ld.get("name")))
    meta.canonical = first(_link_href(tree, "canonical"), metas.get("og:url"), _ld_url(ld))
    meta.description = first(ld.get("description"), metas.get("og:description"), metas.get("description"),
                             metas.get("twitter:description"), metas.get("dc.description"))
    meta.image = first(_ld_image(ld.get("image")), metas.get("og:image"), metas.get("og:image:url"),
                       metas.get("twitter:image"), metas.get("twitter:image:src"))
    meta.language = first(ld.get("inLanguage") if isinstance(ld.get("inLanguage"), str) else "",
                          tree.get("lang"), metas.get("content-language"), metas.get("dc.language"),
                          metas.get("og:locale", "").replace("_", "-"))

    meta.authors = (_ld_authors(ld.get("author")) or _names(metas.get_all("article:author"))
                    or _names(metas.get_all("author")) or _names(metas.get_all("parsely-author"))
                    or _names(metas.get_all("dc.creator")) or _names(metas.get_all("dcterms.creator"))
                    or _names(metas.get_all("sailthru.author")) or _visible_authors(tree))

    meta.published = _first_date(ld.get("datePublished"), metas.get("article:published_time"),
                                 metas.get("og:article:published_time"), metas.get("parsely-pub-date"),
                                 metas.get("dc.date.issued"), metas.get("dcterms.issued"), metas.get("dc.date"),
                                 metas.get("dcterms.date"), metas.get("date"), metas.get("pubdate"),
                                 metas.get("publishdate"), metas.get("publish-date"), metas.get("sailthru.date"),
                                 metas.get("article.published"), ld.get("dateCreated"))
    meta.updated = _first_date(ld.get("dateModified"), metas.get("article:modified_time"),
                               metas.get("og:updated_time"), metas.get("dcterms.modified"), metas.get("last-modified"))
    if meta.published is None or meta.updated is None:
        seen_published, seen_updated = _visible_dates(tree)
        meta.published = meta.published or seen_published
        meta.updated = meta.updated or seen_updated

    meta.section = (first(_ld_section(ld.get("articleSection")), metas.get("article:section"),
                          metas.get("parsely-section"), metas.get("section"), metas.get("category"))
                    or first(_breadcrumb_section(tree)) or first(_visible_category(tree)))
    meta.tags = _dedupe(_keywords(ld.get("keywords")) or _keywords(metas.get_all("article:tag"))
                        or _keywords(metas.get("news_keywords")) or _keywords(metas.get("keywords"))
                        or _keywords(metas.get("parsely-tags")))
    return meta


class _Metas(dict[str, str]):
    """First value per lower-cased name/property, plus all values for repeatable ones."""

    def __init__(self) -> None:
        super().__init__()
        self.multi: dict[str, list[str]] = {}

    def get_all(self, key: str) -> list[str]:
        return self.multi.get(key, [])


def _meta_tags(tree: lhtml.HtmlElement) -> _Metas:
    metas = _Metas()
    for el in tree.iter("meta"):
        key = (el.get("property") or el.get("name") or el.get("itemprop") or el.get("http-equiv") or "").strip().lower()
        content = el.get("content")
        if not key or content is None:
            continue
        metas.setdefault(key, content)
        metas.multi.setdefault(key, []).append(content)
    parsely = metas.get("parsely-page")
    if parsely:  # the older parsely convention: one JSON object
        try:
            data = json.loads(parsely)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            for src, dst in (("title", "parsely-title"), ("pub_date", "parsely-pub-date"),
                             ("section", "parsely-section"), ("author", "parsely-author")):
                if isinstance(data.get(src), str):
                    metas.setdefault(dst, data[src])
                    metas.multi.setdefault(dst, [data[src]])
    return metas


def _jsonld_objects(tree: lhtml.HtmlElement) -> Iterator[dict[str, Any]]:
    for script in tree.iter("script"):
        if (script.get("type") or "").strip().lower() != "application/ld+json" or not script.text:
            continue
        try:
            data = _unescape(json.loads(script.text.strip().rstrip(";")))
        except (ValueError, RecursionError):
            continue
        stack = [data]
        while stack:
            item = stack.pop(0)
            if isinstance(item, list):
                stack.extend(item)
            elif isinstance(item, dict):
                yield item
                if "@graph" in item:
                    stack.append(item["@graph"])


def _unescape(value: Any) -> Any:
    """JSON-LD strings often carry HTML entities (``&#8217;``, ``&amp;``) from the CMS templates."""
    if isinstance(value, str):
        return html.unescape(value) if "&" in value else value
    if isinstance(value, list):
        return [_unescape(v) for v in value]
    if isinstance(value, dict):
        return {k: _unescape(v) for k, v in value.items()}
    return value


def _types(obj: dict[str, Any]) -> set[str]:
    value = obj.get("@type", [])
    values = value if isinstance(value, list) else [value]
    return {v.lower().rsplit("/", 1)[-1] for v in values if isinstance(v, str)}


def _jsonld_article(tree: lhtml.HtmlElement) -> dict[str, Any]:
    """The first article-typed JSON-LD object, else a WebPage that has a headline, else {}."""
    fallback: dict[str, Any] = {}
    for obj in _jsonld_objects(tree):
        kinds = _types(obj)
        if kinds & ARTICLE_TYPES:
            return obj
        if not fallback and "webpage" in kinds and obj.get("headline"):
            fallback = obj
    return fallback


def _ld_url(ld: dict[str, Any]) -> str:
    entity = ld.get("mainEntityOfPage")
    if isinstance(entity, dict):
        entity = entity.get("@id") or entity.get("url")
    for value in (entity, ld.get("url")):
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return value
    return ""


def _ld_image(value: Any) -> str:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("url") or value.get("contentUrl") or value.get("@id")
    return value if isinstance(value, str) else ""


def _ld_authors(value: Any) -> list[str]:
    values = value if isinstance(value, list) else [value]
    names: list[str] = []
    for item in values:
        if isinstance(item, dict):
            item = item.get("name")
        if isinstance(item, str):
            names.extend(_names([item]))
    return _dedupe(names)


def _ld_section(value: Any) -> str:
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str) and v.strip()), "")
    return value if isinstance(value, str) else ""


def _keywords(value: Any) -> list[str]:
    if isinstance(value, list):
        return [_clean(v) for v in value if isinstance(v, str) and _clean(v)]
    if isinstance(value, str):
        return [_clean(v) for v in value.split(",") if _clean(v)]
    return []


def _names(values: list[str]) -> list[str]:
    """Person names from author strings: "By A and B", "A, B"; profile URLs are not names."""
    names: list[str] = []
    for value in values:
        value = _clean(value)
        if not value or "://" in value:
            continue
        match = _BY_RE.match(value)
        if match:
            value = match.group(1)
        names.extend(n for n in (_clean(p) for p in _SEP_RE.split(value)) if n and len(n) < 80)
    return _dedupe(names)


def _dedupe(values: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for v in values:
        if v.lower() not in seen:
            seen.add(v.lower())
            out.append(v)
    return out


def _clean(value: Any) -> str:
    """Every metadata string passes here: whitespace collapsed, and no characters XML
    forbids (JSON-LD can spell them as escapes, past the page-level strip)."""
    return " ".join(strip_xml_forbidden(value).split()) if isinstance(value, str) else ""


def _first_date(*values: Any) -> datetime | None:
    for value in values:
        found = parse_date(value)
        if found:
            return found
    return None


def _link_href(tree: lhtml.HtmlElement, rel: str) -> str:
    for el in tree.iter("link"):
        if rel in (el.get("rel") or "").lower().split() and el.get("href"):
            return el.get("href", "").strip()
    return ""


def _content_root(tree: lhtml.HtmlElement) -> lhtml.HtmlElement:
    check_deadline(tree)  # each fallback below starts here; their scans may not call the lookup
    for xpath in ("//article", "//main", "//*[@role='main']"):
        found = tree.xpath(xpath)
        if found:
            return found[0]
    return tree


def _visible_headline(tree: lhtml.HtmlElement) -> str:
    """The headline as a reader sees it: an h1, else what the markup calls a headline, else big bold type."""
    root = _content_root(tree)
    for xpath in (".//h1", "//h1", ".//*[@itemprop='headline']",
                  ".//*[contains(@class,'headline') or contains(@class,'entry-title') or contains(@class,'post-title')]",
                  ".//font[@size='5' or @size='6' or @size='7' or @size='+2' or @size='+3' or @size='+4']"):
        for el in (tree if xpath.startswith("//") else root).xpath(xpath):
            if el.tag in ("meta", "title", "body", "html"):
                continue
            text = _clean(el.text_content())
            if 3 <= len(text) <= 300:
                return text
    return ""


def _title_tag(tree: lhtml.HtmlElement) -> str:
    """The <title> without the site name: the longest of its separated parts."""
    title = tree.find(".//title")
    text = _clean(title.text_content()) if title is not None else ""
    parts = [p for p in _TITLE_SEPARATORS.split(text) if p]
    return max(parts, key=len) if parts else ""


def _visible_authors(tree: lhtml.HtmlElement) -> list[str]:
    """Names from author/byline markup, else from a "By X" line."""
    root = _content_root(tree)
    for el in root.xpath(".//*[@rel='author' or @itemprop='author' or contains(@class,'byline') "
                         "or contains(@class,'author')]"):
        if el.tag in ("script", "style", "meta", "link"):
            continue
        names = el.xpath(".//*[@itemprop='name']/text()") or el.xpath(".//a[@rel='author']//text()")
        text = _clean(" ".join(names) if names else el.text_content())
        if text and len(text) < 120:
            found = _names([re.sub(r"\s*[\u2013\u2014|]\s*.*$", "", text)])
            if found:
                return found
    for el in root.iter("p", "div", "span"):
        text = _clean(el.text_content())
        match = _BY_RE.match(text) if len(text) < 120 else None
        if match:
            return _names([match.group(1)])
    return []


def _visible_dates(tree: lhtml.HtmlElement) -> tuple[datetime | None, datetime | None]:
    """(published, updated) from <time> elements, else from short lines with a written-out date."""
    published = updated = None
    for el in tree.iter("time"):
        value = parse_date(el.get("datetime") or "") or parse_date(el.text_content())
        if value is None:
            continue
        kind = f"{el.get('class', '')} {el.get('itemprop', '')}".lower()
        if "modif" in kind or "updated" in kind:
            updated = updated or value
        elif published is None:
            published = value
    if published is None or updated is None:
        root = _content_root(tree)
        for el in root.iter("p", "span", "div", "small", "li", "font", "em", "i", "b", "strong", "td"):
            text = _clean(el.text_content())
            if not 6 <= len(text) < 120:
                continue
            found = find_visible_date(text)
            if found is None:
                continue
            if _UPDATED_RE.match(text):
                updated = updated or found
            elif published is None:
                published = found
            if published and updated:
                break
    return published, updated


def _breadcrumb_section(tree: lhtml.HtmlElement) -> str:
    """The first crumb after "Home": the section, whatever follows it (sub-sections, the article)."""
    check_deadline(tree)
    for obj in _jsonld_objects(tree):
        if "breadcrumblist" in _types(obj) and isinstance(obj.get("itemListElement"), list):
            names = []
            for item in obj["itemListElement"]:
                if not isinstance(item, dict):
                    continue
                inner = item.get("item") if isinstance(item.get("item"), dict) else {}
                names.append(_clean(item.get("name") or inner.get("name")))
            crumbs = [n for n in names if n and n.lower() not in ("home", "start")]
            if crumbs:
                return crumbs[0]
    for nav in tree.xpath("//*[contains(@class,'breadcrumb') or @aria-label='breadcrumb' or @aria-label='Breadcrumb']"):
        crumbs = [_clean(a.text_content()) for a in nav.iter("a")]
        crumbs = [c for c in crumbs if c and c.lower() not in ("home", "start")]
        if crumbs:
            return crumbs[0]
    return ""


def _visible_category(tree: lhtml.HtmlElement) -> str:
    """A category link (rel="category tag") or a kicker/section label above the headline."""
    root = _content_root(tree)
    for a in root.xpath(".//a[contains(concat(' ', normalize-space(@rel), ' '), ' category ')]"):
        text = _clean(a.text_content())
        if text:
            return text
    closest_link = ""
    for el in root.iter():
        if not isinstance(el.tag, str) or el.tag in ("article", "main", "body", "html", "section"):
            continue
        if el.tag == "h1":
            break  # a label belongs above or beside the headline
        if _CATEGORY_CLASS_RE.search(el.get("class", "")):
            text = _clean(el.text_content())
            if text and len(text) < 40:
                return text
        if el.tag == "a" and _CATEGORY_HREF_RE.search(el.get("href", "")):
            closest_link = _clean(el.text_content()) if len(_clean(el.text_content())) < 40 else closest_link
    return closest_link  # menus come first; the category link nearest the headline is its label
