"""Which feeds exist: one catalogue of feed kinds, each a named, filtered, paged list of articles.

- ``all``: every article, at ``/feeds/all.*``;
- ``section``: one per configured section that has articles (and sections made on
  the fly by ``unknown_section = "create"``), at ``/feeds/<slug>.*``;
- ``topic``: one per tag (folded to a slug, merged and denied by ``config/topics.toml``)
  carried by at least ``min_articles`` articles, at ``/feeds/topics/<slug>.*``;
- ``author``: one per byline name (``config/authors.toml``), at ``/feeds/authors/<slug>.*``.

Each is published as a subscription document (the newest ``items_per_feed``
items) and RFC 5005 archive pages holding the older items, numbered from the
oldest (``<base>/archive/<n>.<fmt>``): a page is sealed when it fills, at a
boundary stored with the feed, so it only changes when an article in it does.

The catalogue is shared by the builder, the OPML lists and the front page, so
all of them always agree on what a subscriber can find.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from feeds.config import Settings

ALL = "all"
KINDS = ("all", "section", "topic", "author")
FORMATS: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
# The bare media types, for type="..." on links (``FORMATS`` says the charset for Content-Type).
MEDIA_TYPES = {fmt: content_type.split(";")[0] for fmt, content_type in FORMATS.items()}
OPML_PATH = "feeds.opml"  # the sections (and all): what a reader imports whole
TOPICS_OPML_PATH = "feeds/topics.opml"
AUTHORS_OPML_PATH = "feeds/authors.opml"
OPML_PATHS = {"section": OPML_PATH, "topic": TOPICS_OPML_PATH, "author": AUTHORS_OPML_PATH}
OPML_TYPE = "text/x-opml; charset=utf-8"
FOLDERS = {"topic": "topics", "author": "authors"}  # kind -> the folder under /feeds/
_ARCHIVE = re.compile(r"^feeds/(?:[a-z0-9-]+/){1,2}archive/[0-9]+\.(?:rss|atom|json)$")


@dataclass(frozen=True)
class FeedSpec:
    """One feed family: ``/feeds/[topics/|authors/]<slug>.rss|.atom|.json`` and its archive pages."""

    slug: str
    title: str
    description: str
    section: str | None  # the section's slug for a section feed, else None
    kind: str = "section"

    @property
    def key(self) -> str:
        """The feed's name in the store (``feed_items.feed``)."""
        return feed_key(self.kind, self.slug)

    @property
    def base(self) -> str:
        folder = FOLDERS.get(self.kind)
        return f"feeds/{folder}/{self.slug}" if folder else f"feeds/{self.slug}"

    def path(self, fmt: str, page: int | None = None) -> str:
        """The subscription document (``page`` None) or archive page ``page`` (from 1, the oldest)."""
        return f"{self.base}.{fmt}" if page is None else f"{self.base}/archive/{page}.{fmt}"


def feed_key(kind: str, slug: str) -> str:
    return ALL if kind == "all" else f"{kind}/{slug}"


def split_key(key: str) -> tuple[str, str]:
    if key == ALL:
        return "all", ALL
    kind, _, slug = key.partition("/")
    return kind, slug


def is_archive(path: str) -> bool:
    """An archive page: its bytes change only when an article in it does (long cache lifetime)."""
    return _ARCHIVE.match(path) is not None


def archive_pages(items: int, settings: Settings) -> int:
    """How many archive pages a feed of ``items`` items has when its pages are sealed from
    scratch (all but the newest ``items_per_feed``, in pages of ``items_per_feed``): the
    count after retractions may differ, as sealed pages keep their boundaries (the build
    reads those from ``feed_pages``; this is for estimates)."""
    size = settings.items_per_feed
    return math.ceil(max(0, items - size) / size)


def min_items(settings: Settings, kind: str) -> int:
    """Articles a feed needs before it is published (a feed is never published empty)."""
    if kind == "topic":
        return settings.topics.min_articles
    if kind == "author":
        return settings.authors.min_articles
    return 1


def spec_for(settings: Settings, key: str, label: str) -> FeedSpec:
    """The spec of the feed stored as ``key``; ``label`` is how it was first written
    (a tag, a byline), the title when the configuration gives none."""
    kind, slug = split_key(key)
    site = settings.title
    if kind == "all":
        return FeedSpec(ALL, f"{site}: all sections", f"Every story from {site}.", None, "all")
    if kind == "section":
        section = settings.section(slug)
        if section is not None:
            return FeedSpec(slug, f"{site}: {section.title}", section.description or section.title, slug)
        title = slug.replace("-", " ").title()
        return FeedSpec(slug, f"{site}: {title}", title, slug)
    names = settings.topics if kind == "topic" else settings.authors
    entry = names.entry(slug)
    name = entry.title if entry is not None else (label.strip() or slug.replace("-", " ").title())
    configured = entry.description if entry is not None else ""
    if kind == "topic":
        return FeedSpec(slug, f"{site}: {name}", configured or f"Stories about {name} from {site}.", None, "topic")
    return FeedSpec(slug, f"{site}: articles by {name}", configured or f"Every article by {name} in {site}.",
                    None, "author")


def order_specs(settings: Settings, specs: list[FeedSpec]) -> list[FeedSpec]:
    """The all-sections feed first, then configured sections in config order, then sections
    created on the fly, then topics and authors by slug."""
    rank = {s.slug: i for i, s in enumerate(settings.sections)}
    kinds = {kind: i for i, kind in enumerate(KINDS)}
    return sorted(specs, key=lambda s: (kinds[s.kind], rank.get(s.slug, len(rank)) if s.kind == "section" else 0,
                                        s.slug))


def busiest_specs(conn: Any, settings: Settings, kind: str, limit: int | None = None) -> list[tuple[FeedSpec, int]]:
    """``(spec, items)`` of the published topic or author feeds, the most items first (the
    index page's list, and the ``/topics`` and ``/authors`` pages)."""
    from feeds.store.feeds import busiest

    rows = busiest(conn, f"{kind}/", min_items(settings, kind), limit)
    return [(spec_for(settings, feed, label), n) for feed, n, label in rows]


# Published documents that are not feeds. The front page is served at "/"; a feed's preview
# (the HTML a browser gets at the feed's own URL) lives under PREVIEWS, a prefix no URL
# reaches: the web layer attaches each preview to its feed, it never serves it by path.
INDEX_PATH = "index.html"
PREVIEWS = "previews/"


def preview_path(feed_path: str) -> str:
    """Where the HTML preview of the document at ``feed_path`` is published."""
    return PREVIEWS + feed_path
