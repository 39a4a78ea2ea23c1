"""Which feeds exist: one per configured section that has articles, plus the all-sections feed.

The catalogue is shared by the renderers, the OPML list and the front page, so
all three always agree on what a subscriber can find.
"""

from __future__ import annotations

from dataclasses import dataclass

from feeds.config import Settings

ALL = "all"
FORMATS: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
FORMAT_LABELS = {"rss": "RSS", "atom": "Atom", "json": "JSON Feed"}
OPML_PATH = "feeds.opml"
OPML_TYPE = "text/x-opml; charset=utf-8"


@dataclass(frozen=True)
class FeedSpec:
    """One feed family: ``/feeds/<slug>.rss|.atom|.json``; ``section`` None means all sections."""

    slug: str
    title: str
    description: str
    section: str | None

    def path(self, fmt: str) -> str:
        return f"feeds/{self.slug}.{fmt}"


def feed_specs(settings: Settings, sections_with_articles: list[str]) -> list[FeedSpec]:
    """The all-sections feed first, then configured sections in config order, then
    sections created on the fly by the ``unknown_section = "create"`` policy."""
    present = set(sections_with_articles)
    if not present:  # a feed is never published empty
        return []
    specs = [FeedSpec(ALL, f"{settings.title}: all sections", f"Every story from {settings.title}.", None)]
    configured = {s.slug for s in settings.sections}
    for s in settings.sections:
        if s.slug in present:
            specs.append(FeedSpec(s.slug, f"{settings.title}: {s.title}", s.description or s.title, s.slug))
    for slug in sorted(present - configured):
        title = slug.replace("-", " ").title()
        specs.append(FeedSpec(slug, f"{settings.title}: {title}", title, slug))
    return specs

# Published documents that are not feeds. The front page is served at "/"; a feed's preview
# (the HTML a browser gets at the feed's own URL) lives under PREVIEWS, a prefix no URL
# reaches: the web layer attaches each preview to its feed, it never serves it by path.
INDEX_PATH = "index.html"
PREVIEWS = "previews/"


def preview_path(feed_path: str) -> str:
    """Where the HTML preview of the document at ``feed_path`` is published."""
    return PREVIEWS + feed_path
