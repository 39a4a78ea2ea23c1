"""Render one feed's items as RSS 2.0, Atom 1.0 (feedgen) and JSON Feed 1.1, and the OPML list.

Rendering is a pure function of the items and the settings: feed-level dates
come from the newest item, never from the clock, so an unchanged feed renders
to identical bytes and keeps its ETag. feedgen's traps are handled here:

- ``lastBuildDate``/``updated`` default to *now*: set them from the newest item;
- ``add_entry`` prepends by default, reversing the order: append;
- the RSS ``<channel><link>`` is the last link added: add ``rel=self`` (and the
  hub) first, the site's ``alternate`` link last;
- RSS output drops ``rel=hub`` links, and Atom entry links lose their ``rel``
  and ``type``: both are put back on the lxml tree after feedgen is done;
- lxml refuses control characters: text is cleaned before it reaches feedgen,
  so one odd article cannot fail a whole build.

A person opening a feed in a browser gets an HTML page rendered beside the
feed (:mod:`feeds.publish.preview`), not the feed styled by XSLT, which
browsers are removing: the feeds carry no ``xml-stylesheet`` instruction.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape, quoteattr

from feedgen.feed import FeedGenerator
from lxml import etree

from feeds.publish.catalog import FORMAT_LABELS, FORMATS, MEDIA_TYPES, FeedSpec
from feeds.config import Settings
from feeds.model import Article

GENERATOR = "feeds"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
ATOM_NS = "http://www.w3.org/2005/Atom"
FH_NS = "http://purl.org/syndication/history/1.0"  # RFC 5005's fh:archive
# The date part of the tag: URIs minted for ids that are not URLs (RFC 4151). It
# is part of every such id, so it must never change.
TAG_DATE = "2026"
SUMMARY_CHARS = 300

# Characters XML 1.0 cannot carry (lxml raises on them) and the C1 controls
# validators flag; removed from every string before rendering.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# RSS plain-text elements: "&" and "<" as hexadecimal references (RSS Best
# Practices Profile; the W3C validator warns otherwise), so no reader mistakes
# the text for escaped HTML.
_RSS_PLAIN = re.compile(rb"(<(title|category|dc:creator)>)([^<]*)(</\2>)")
_PARSER = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)


@dataclass(frozen=True)
class Page:
    """Where a document sits in its feed's RFC 5005 chain: the subscription document
    (``number`` None) or archive page ``number`` (1 = the oldest) of ``pages``."""

    number: int | None = None
    pages: int = 0

    def links(self, settings: Settings, spec: FeedSpec, fmt: str) -> list[tuple[str, str]]:
        """``(rel, href)`` of the archive links: ``prev-archive`` (older), ``next-archive``
        (newer) and ``current`` (the subscription document)."""
        url = settings.base_url
        if self.number is None:
            return [("prev-archive", url + spec.path(fmt, self.pages))] if self.pages else []
        links = [("current", url + spec.path(fmt))]
        if self.number > 1:
            links.append(("prev-archive", url + spec.path(fmt, self.number - 1)))
        if self.number < self.pages:
            links.append(("next-archive", url + spec.path(fmt, self.number + 1)))
        return links

    def older(self) -> int | None:
        """The page holding the items just older than this document's, if any (JSON Feed's ``next_url``)."""
        if self.number is None:
            return self.pages or None
        return self.number - 1 or None


SUBSCRIPTION = Page()


def newest_update(items: Sequence[Article]) -> datetime:
    """The feed's own modification time: the latest ``updated`` of its items."""
    return max((a.updated for a in items), default=EPOCH)


def feed_url(settings: Settings, spec: FeedSpec, fmt: str, page: Page = SUBSCRIPTION) -> str:
    return settings.base_url + spec.path(fmt, page.number)


def clean(value: str) -> str:
    return _NOT_XML.sub("", value)


def _host(settings: Settings) -> str:
    return urlsplit(settings.site_url).hostname or "localhost"


def item_id(settings: Settings, article: Article) -> str:
    """The id every format uses for an article: its canonical URL, else a tag: URI.

    Atom requires an IRI, and readers key their "seen" lists on it, so an id
    that is not a URL (a source path, a push id) becomes a tag: URI on the
    site's host, the same in every build and every format.
    """
    if _is_web_url(article.id):
        return article.id
    return f"tag:{_host(settings)},{TAG_DATE}:{quote(clean(article.id), safe='/:@!$&()*+,;=-._~')}"


def feed_id(settings: Settings, spec: FeedSpec) -> str:
    """A feed's Atom id: tied to the newsroom's domain, not to where this service runs."""
    return f"tag:{_host(settings)},{TAG_DATE}:feeds/{spec.slug}"


def _is_web_url(value: str) -> bool:
    parts = urlsplit(value)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and value == value.strip()


def summary_of(article: Article) -> str:
    """The article's summary, else the start of its text cut at a word boundary."""
    if article.summary.strip():
        return clean(article.summary.strip())
    text = " ".join(clean(article.text).split())
    if len(text) <= SUMMARY_CHARS:
        return text
    cut = text[:SUMMARY_CHARS].rsplit(" ", 1)[0]
    return cut.rstrip(",;:.-") + "\u2026"


def section_title(settings: Settings, slug: str) -> str:
    section = settings.section(slug)
    return section.title if section else slug.replace("-", " ").title()


def _categories(settings: Settings, article: Article) -> list[tuple[str, str]]:
    """``(term, label)`` pairs: the section first, then the article's own tags, no repeats."""
    out = [(article.section, section_title(settings, article.section))]
    seen = {out[0][1].casefold()}
    for tag in article.tags:
        tag = clean(tag).strip()
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append((tag, tag))
    return out


def _generator(settings: Settings, spec: FeedSpec, items: Sequence[Article], fmt: str, page: Page) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=True, rss=True)
    self_url = feed_url(settings, spec, fmt, page)
    fg.id(feed_id(settings, spec))
    fg.title(clean(spec.title))
    fg.description(clean(spec.description) or clean(spec.title))
    fg.subtitle(clean(spec.description) or clean(spec.title))
    fg.language(settings.language)
    fg.author({"name": clean(settings.title), "uri": settings.site_url})
    fg.generator(GENERATOR)
    # Order matters: RSS <channel><link> is the last link added (feedgen).
    fg.link(href=self_url, rel="self", type=MEDIA_TYPES[fmt])
    if settings.hub_url:
        fg.link(href=settings.hub_url, rel="hub")
    fg.link(href=settings.site_url, rel="alternate", type="text/html")
    fg.ttl(max(1, settings.cache_max_age // 60))
    last = newest_update(items)
    fg.updated(last)  # also RSS lastBuildDate; feedgen's default is the clock
    for article in items:
        fe = fg.add_entry(order="append")  # feedgen's default prepends
        ident = item_id(settings, article)
        fe.id(ident)
        fe.guid(ident, permalink=ident == article.url)
        fe.title(clean(article.title))
        fe.link(href=article.url, rel="alternate", type="text/html")
        fe.published(article.published)
        fe.updated(article.updated)
        summary = summary_of(article)
        if summary:
            fe.summary(summary)
            fe.description(summary)
        fe.content(clean(article.content_html), type="html")
        authors = [clean(name) for name in article.authors if clean(name).strip()]
        for name in authors:
            fe.author({"name": name})
        if authors:
            fe.dc.dc_creator(", ".join(authors))
        # the section only: tags are the newsroom's keywords, carried in JSON Feed's tags
        fe.category(term=article.section, label=section_title(settings, article.section))
        if article.image:
            fe.media.content({"url": article.image, "medium": "image"}, group=None)
            fe.media.thumbnail({"url": article.image}, group=None)
    return fg


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root.getroottree(), pretty_print=True, xml_declaration=True, encoding="UTF-8")


def _archive_links(anchor: etree._Element, links: list[tuple[str, str]], fmt: str,
                   archived: bool) -> None:
    """RFC 5005 links after ``anchor`` (the self link, or the hub link after it) as
    ``atom:link`` (in RSS too), and ``fh:archive`` on an archive page."""
    for rel, href in reversed(links):
        anchor.addnext(etree.Element(f"{{{ATOM_NS}}}link", href=href, rel=rel, type=MEDIA_TYPES[fmt]))
    if archived:
        anchor.addnext(etree.Element(f"{{{FH_NS}}}archive"))


def _archived(root: etree._Element, page: Page) -> etree._Element:
    """``root``, re-made with RFC 5005's ``fh`` namespace declared on it for an archive page
    (lxml cannot add a declaration in place); as it is for the subscription document."""
    if page.number is None:
        return root
    new = etree.Element(root.tag, attrib=dict(root.attrib), nsmap={**root.nsmap, "fh": FH_NS})
    new.text = root.text
    new.extend(list(root))
    return new


def render_rss(settings: Settings, spec: FeedSpec, items: Sequence[Article], page: Page = SUBSCRIPTION) -> bytes:
    fg = _generator(settings, spec, items, "rss", page)
    root = _archived(etree.fromstring(fg.rss_str(), _PARSER), page)
    anchor = root.find(f"channel/{{{ATOM_NS}}}link[@rel='self']")
    assert anchor is not None
    if settings.hub_url:  # feedgen's RSS drops rel=hub: put it after the self link
        hub = etree.Element(f"{{{ATOM_NS}}}link", href=settings.hub_url, rel="hub")
        anchor.addnext(hub)
        anchor = hub
    _archive_links(anchor, page.links(settings, spec, "rss"), "rss", page.number is not None)
    return _RSS_PLAIN.sub(_hex_references, _serialize(root))


def _hex_references(match: re.Match[bytes]) -> bytes:
    text = match.group(3).replace(b"&amp;", b"&#x26;").replace(b"&lt;", b"&#x3C;")
    return match.group(1) + text + match.group(4)


def render_atom(settings: Settings, spec: FeedSpec, items: Sequence[Article], page: Page = SUBSCRIPTION) -> bytes:
    fg = _generator(settings, spec, items, "atom", page)
    root = _archived(etree.fromstring(fg.atom_str(), _PARSER), page)
    anchor = root.find(f"{{{ATOM_NS}}}link[@rel='self']")
    assert anchor is not None
    _archive_links(anchor, page.links(settings, spec, "atom"), "atom", page.number is not None)
    # feedgen loses rel/type on entry links; RFC 4287 defaults rel to alternate,
    # but readers and validators are happier when it is said.
    for link in root.iterfind(f"{{{ATOM_NS}}}entry/{{{ATOM_NS}}}link"):
        link.set("rel", "alternate")
        link.set("type", "text/html")
    return _serialize(root)


def iso_utc(value: datetime) -> str:
    """RFC 3339 in UTC with ``Z``: JSON Feed's dates, and the pages' ``<time datetime>``."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_json(settings: Settings, spec: FeedSpec, items: Sequence[Article], page: Page = SUBSCRIPTION) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/); ``next_url`` leads to the older items."""
    feed: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": clean(spec.title),
        "home_page_url": settings.site_url,
        "feed_url": feed_url(settings, spec, "json", page),
        "description": clean(spec.description) or clean(spec.title),
        "language": settings.language,
        "authors": [{"name": clean(settings.title), "url": settings.site_url}],
    }
    if (older := page.older()) is not None:
        feed["next_url"] = settings.base_url + spec.path("json", older)
    if settings.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": settings.hub_url}]
    entries: list[dict[str, object]] = []
    for a in items:
        item: dict[str, object] = {
            "id": item_id(settings, a),
            "url": a.url,
            "title": clean(a.title),
            "content_html": clean(a.content_html),
            "summary": summary_of(a),
            "date_published": iso_utc(a.published),
            "date_modified": iso_utc(a.updated),
        }
        if a.image:
            item["image"] = a.image
        authors = [clean(name) for name in a.authors if clean(name).strip()]
        if authors:
            item["authors"] = [{"name": name} for name in authors]
        item["tags"] = [label for _, label in _categories(settings, a)]
        if a.language:
            item["language"] = a.language
        entries.append(item)
    feed["items"] = entries
    return json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}


def render_opml(settings: Settings, specs: Sequence[FeedSpec], what: str = "feeds") -> bytes:
    """OPML 2.0 listing every feed (RSS and Atom and JSON), for importing into a reader.

    No dates in it: it changes only when the list of feeds does. No ``<docs>``
    and folders with ``text`` alone: the W3C validator flags anything more.
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(settings.title)} {_text(what)}</title>",
        f"    <ownerName>{_text(settings.title)}</ownerName>",
        "  </head>",
        "  <body>",
    ]
    for spec in specs:
        lines.append(f"    <outline text={quoteattr(clean(spec.title))}>")  # a folder: text only
        for fmt in FORMATS:
            kind = "rss" if fmt != "json" else "json"
            label = f"{clean(spec.title)} ({FORMAT_LABELS[fmt]})"
            lines.append(
                f"      <outline type={quoteattr(kind)} text={quoteattr(label)} title={quoteattr(label)}"
                f" xmlUrl={quoteattr(feed_url(settings, spec, fmt))} htmlUrl={quoteattr(settings.site_url)}/>"
            )
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _text(value: str) -> str:
    return escape(clean(value))
