"""HTML for people: a preview of each feed document, and the front page.

Browsers are dropping XSLT, so a feed URL opened in a browser can no longer be
styled from the feed itself. Instead every feed document gets an HTML twin,
rendered here at build time from the same items (a pure function of them and
the settings, like the feeds, so an unchanged feed keeps its preview's ETag),
and the web layer answers it to a browser's navigation at the feed's own URL.
The front page (``/``) is rendered in the same build: each feed with its
newest headlines, from the same snapshot as the feeds it lists. The long lists
of topic and author feeds (``/topics``, ``/authors``) share the same look.

The pages need nothing else from the server: one stylesheet, inline and shared
by every page, system fonts, no images; a few lines of inline script only add a
copy button, which is hidden without JavaScript (the address stays in a
selectable field). A Content-Security-Policy in the page allows exactly that
style and script by hash, so it always matches what the page carries.

Links between the pages are relative (``world.atom``, ``../``), so they stay on
this site behind any host or path prefix; the address to subscribe to is the
absolute one the feeds call themselves.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, StrictUndefined

from feeds.config import Settings
from feeds.model import Article
from feeds.publish.catalog import ALL, FORMAT_LABELS, FORMATS, MEDIA_TYPES, FeedSpec
from feeds.publish.render import SUBSCRIPTION, Page, clean, feed_url, iso_utc, section_title, summary_of

HTML_TYPE = "text/html; charset=utf-8"
HEADLINES = 3  # newest stories the front page shows for each feed
# Where a person can subscribe in one click: the reader's "add this feed" URL, given the
# feed's address (percent-encoded, as a query value or a path segment).
READERS: tuple[tuple[str, str], ...] = (
    ("Feedly", "https://feedly.com/i/subscription/feed/{}"),
    ("Inoreader", "https://www.inoreader.com/?add_feed={}"),
    ("NewsBlur", "https://www.newsblur.com/?url={}"),
    ("The Old Reader", "https://theoldreader.com/feeds/subscribe?url={}"),
    ("Feedbin", "https://feedbin.com/?subscribe={}"),
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")  # not strftime's %B: that follows the process's locale

_ENV = Environment(loader=PackageLoader("feeds.publish", "templates"), autoescape=True,
                   undefined=StrictUndefined, keep_trailing_newline=True)
# Our own package files, put in the pages verbatim (the templates mark them safe): the
# Content-Security-Policy hashes must be of exactly these characters.
_STYLE = resources.files("feeds.publish").joinpath("templates/style.css").read_text("utf-8").strip()
_SCRIPT = resources.files("feeds.publish").joinpath("templates/copy.js").read_text("utf-8").strip()


def _source_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy(script: bool) -> str:
    """Nothing but this page's own inline style (and script, if it has one), by hash; links
    lead elsewhere, but the page loads nothing and submits nothing."""
    scripts = _source_hash(_SCRIPT) if script else "'none'"
    return (f"default-src 'none'; style-src {_source_hash(_STYLE)}; script-src {scripts}; "
            "base-uri 'none'; form-action 'none'")


def _page(template: str, *, script: bool, **context: object) -> bytes:
    """A page from ``template`` with the shared stylesheet inline, the copy script when
    ``script``, and the Content-Security-Policy that allows exactly those."""
    html = _ENV.get_template(template).render(
        style=_STYLE, script=_SCRIPT if script else "", csp=content_security_policy(script=script), **context)
    return html.encode("utf-8")


@dataclass(frozen=True)
class Group:
    """A heading on the front page and the feeds under it: sections, topics, authors."""

    title: str
    feeds: Sequence[tuple[FeedSpec, Sequence[Article]]]  # each feed with its items, newest first
    discover: bool = True  # in the page's autodiscovery links (the sections: what feeds.opml lists)
    more: tuple[str, str] | None = None  # (href, label) of the group's full list, when the page shows part


def display_date(value: datetime) -> str:
    """``1 March 2024, 08:30 UTC``: the same for every reader and every build."""
    value = value.astimezone(UTC)
    return f"{value.day} {MONTHS[value.month - 1]} {value.year}, {value:%H:%M} UTC"


def short_name(settings: Settings, spec: FeedSpec) -> str:
    """The feed's title without the site's name in front (the page header carries it)."""
    name = clean(spec.title).removeprefix(f"{clean(settings.title)}: ")
    return name[:1].upper() + name[1:]


def _item(settings: Settings, article: Article, with_section: bool) -> dict[str, str]:
    authors = [clean(a).strip() for a in article.authors if clean(a).strip()]
    return {
        "url": article.url,
        "title": clean(article.title),
        "iso": iso_utc(article.published),
        "date": display_date(article.published),
        "authors": ", ".join(authors[:-1]) + " and " + authors[-1] if len(authors) > 1 else "".join(authors),
        "section": section_title(settings, article.section) if with_section else "",
        "summary": summary_of(article),
    }


def _alternates(settings: Settings, spec: FeedSpec) -> list[dict[str, str]]:
    """Autodiscovery: ``<link rel=alternate>`` for each format of ``spec``."""
    return [
        {"mime": MEDIA_TYPES[fmt], "title": f"{clean(spec.title)} ({FORMAT_LABELS[fmt]})",
         "url": feed_url(settings, spec, fmt)}
        for fmt in FORMATS
    ]


def _format_links(spec: FeedSpec) -> list[dict[str, str]]:
    """A link to each format of ``spec``, relative to the site's root (the front page, the lists)."""
    return [{"href": spec.path(fmt), "mime": MEDIA_TYPES[fmt], "label": FORMAT_LABELS[fmt]} for fmt in FORMATS]


def render_preview(settings: Settings, spec: FeedSpec, items: Sequence[Article], fmt: str,
                   page: Page = SUBSCRIPTION) -> bytes:
    """The page a browser gets at ``spec``'s ``fmt`` URL (or at an archive ``page`` of it):
    what the feed holds and how to subscribe."""
    url = feed_url(settings, spec, fmt, page)
    return _page(
        "preview.html",
        script=True,
        settings=settings,
        spec=spec,
        name=short_name(settings, spec),
        label=FORMAT_LABELS[fmt],
        url=url,
        readers=[(name, pattern.format(quote(url, safe=""))) for name, pattern in READERS],
        others=[
            {"href": spec.path(other, page.number).rpartition("/")[2], "mime": MEDIA_TYPES[other],
             "label": FORMAT_LABELS[other]}
            for other in FORMATS if other != fmt
        ],
        items=[_item(settings, a, with_section=spec.slug == ALL) for a in items],
        alternates=_alternates(settings, spec),
        home="../" * spec.path(fmt, page.number).count("/"),
    )


def render_index(settings: Settings, groups: Sequence[Group]) -> bytes:
    """The front page: each group's feeds with their newest headlines and formats, and
    autodiscovery links for every feed (the same list as the OPML)."""
    shown = [
        {
            "title": group.title,
            "more": {"href": group.more[0], "label": group.more[1]} if group.more else None,
            "feeds": [
                {
                    "name": short_name(settings, spec),
                    "description": clean(spec.description),
                    "href": spec.path("rss"),
                    "headlines": [_item(settings, a, with_section=False) for a in items[:HEADLINES]],
                    "formats": _format_links(spec),
                }
                for spec, items in group.feeds
            ],
        }
        for group in groups
        if group.feeds
    ]
    return _page(
        "index.html",
        script=False,
        settings=settings,
        groups=shown,
        alternates=[link for group in groups if group.discover for spec, _ in group.feeds
                    for link in _alternates(settings, spec)],
        home="./",
    )


def render_listing(settings: Settings, heading: str, noun: str, feeds: Sequence[tuple[FeedSpec, int]]) -> bytes:
    """A page listing feeds with their number of stories (``/topics``, ``/authors``): the
    front page's look, for the lists too long for it."""
    shown = [
        {
            "name": short_name(settings, spec),
            "count": count,
            "href": spec.path("rss"),
            "formats": _format_links(spec),
        }
        for spec, count in feeds
    ]
    return _page("listing.html", script=False, settings=settings, heading=heading, noun=noun, feeds=shown,
                 alternates=[], home="./")
