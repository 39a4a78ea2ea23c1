"""Render one feed's items as RSS 2.0, Atom 1.0 (feedgen) and JSON Feed 1.1, and the OPML list.

Rendering is a pure function of the items and the settings: feed-level dates
come from the newest item, never from the clock, so an unchanged feed renders
to identical bytes and keeps its ETag. feedgen's traps are handled here:
entries are appended (its default prepends, reversing the order), the self
link is added before the alternate link (RSS ``<channel><link>`` is the last
link added), and ``lastBuildDate``/``updated`` are set explicitly (its default
is now).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from xml.sax.saxutils import quoteattr

from feedgen.feed import FeedGenerator

from feeds.build.catalog import FORMATS, FeedSpec
from feeds.config import Settings
from feeds.model import Article

GENERATOR = "feeds"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def newest_update(items: Sequence[Article]) -> datetime:
    """The feed's own modification time: the latest ``updated`` of its items."""
    return max((a.updated for a in items), default=EPOCH)


def feed_url(settings: Settings, spec: FeedSpec, fmt: str) -> str:
    return settings.base_url + spec.path(fmt)


def _section_title(settings: Settings, slug: str) -> str:
    section = settings.section(slug)
    return section.title if section else slug.replace("-", " ").title()


def _generator(settings: Settings, spec: FeedSpec, items: Sequence[Article], fmt: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.load_extension("media", atom=True, rss=True)
    self_url = feed_url(settings, spec, fmt)
    fg.id(self_url)
    fg.title(spec.title)
    fg.description(spec.description)
    fg.subtitle(spec.description)
    fg.language(settings.language)
    fg.author({"name": settings.title, "uri": settings.site_url})
    fg.generator(GENERATOR, uri="https://pypi.org/project/feeds/")
    fg.link(href=self_url, rel="self", type=FORMATS[fmt].split(";")[0])
    if settings.hub_url:
        fg.link(href=settings.hub_url, rel="hub")
    fg.link(href=settings.site_url, rel="alternate", type="text/html")
    fg.ttl(max(1, settings.cache_max_age // 60))
    last = newest_update(items)
    fg.updated(last)
    fg.lastBuildDate(last)
    for article in items:
        fe = fg.add_entry(order="append")
        fe.id(article.id)
        fe.guid(article.id, permalink=article.id == article.url)
        fe.title(article.title)
        fe.link(href=article.url, rel="alternate", type="text/html")
        fe.published(article.published)
        fe.updated(article.updated)
        if article.summary:
            fe.summary(article.summary)
            fe.description(article.summary)
        fe.content(article.content_html, type="html")
        for name in article.authors:
            fe.author({"name": name})
        if article.authors:
            fe.dc.dc_creator(", ".join(article.authors))
        fe.category(term=article.section, label=_section_title(settings, article.section))
        if article.image:
            fe.media.content({"url": article.image, "medium": "image"}, group=None)
            fe.media.thumbnail({"url": article.image}, group=None)
    return fg


def render_rss(settings: Settings, spec: FeedSpec, items: Sequence[Article]) -> bytes:
    return _generator(settings, spec, items, "rss").rss_str(pretty=True)


def render_atom(settings: Settings, spec: FeedSpec, items: Sequence[Article]) -> bytes:
    return _generator(settings, spec, items, "atom").atom_str(pretty=True)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def render_json(settings: Settings, spec: FeedSpec, items: Sequence[Article]) -> bytes:
    """JSON Feed 1.1 (https://www.jsonfeed.org/version/1.1/)."""
    feed: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": settings.site_url,
        "feed_url": feed_url(settings, spec, "json"),
        "description": spec.description,
        "language": settings.language,
        "authors": [{"name": settings.title, "url": settings.site_url}],
        "items": [],
    }
    if settings.hub_url:
        feed["hubs"] = [{"type": "WebSub", "url": settings.hub_url}]
    for a in items:
        item: dict[str, object] = {
            "id": a.id,
            "url": a.url,
            "title": a.title,
            "content_html": a.content_html,
            "summary": a.summary,
            "date_published": _iso(a.published),
            "date_modified": _iso(a.updated),
            "authors": [{"name": name} for name in a.authors],
            "tags": [_section_title(settings, a.section), *a.tags],
        }
        if a.image:
            item["image"] = a.image
        if a.language:
            item["language"] = a.language
        feed["items"].append(item)  # type: ignore[attr-defined]
    return json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8") + b"\n"


RENDERERS = {"rss": render_rss, "atom": render_atom, "json": render_json}


def render_opml(settings: Settings, specs: Sequence[FeedSpec]) -> bytes:
    """OPML 2.0 listing every feed (RSS and Atom and JSON), for importing into a reader."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        "  <head>",
        f"    <title>{_text(settings.title)} feeds</title>",
        f"    <ownerName>{_text(settings.title)}</ownerName>",
        "    <docs>http://opml.org/spec2.opml</docs>",
        "  </head>",
        "  <body>",
    ]
    for spec in specs:
        lines.append(f"    <outline text={quoteattr(spec.title)} title={quoteattr(spec.title)}>")
        for fmt in FORMATS:
            kind = "rss" if fmt != "json" else "json"
            lines.append(
                f"      <outline type={quoteattr(kind)} text={quoteattr(spec.title + ' (' + fmt + ')')}"
                f" xmlUrl={quoteattr(feed_url(settings, spec, fmt))} htmlUrl={quoteattr(settings.site_url)}/>"
            )
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

