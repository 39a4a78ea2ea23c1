"""Build the feed documents from the store and publish the changed ones in one transaction.

A build is incremental: the articles changed since the last build (``article_changes``)
say which feeds they were and are in; only those feeds' subscription documents and the
archive pages whose items moved are rendered, and only documents whose bytes changed are
written. A full build (the first after an upgrade, a changed configuration or release,
``feeds build --force``) renders everything, on all cores when there is much to render,
and makes the result the complete published set.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import importlib.metadata
import logging
import multiprocessing
import os
import time
import zlib
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import Connection, Engine

from feeds.config import Settings
from feeds.model import Article, FeedDocument
from feeds.publish.catalog import (
    ALL,
    FORMATS,
    INDEX_PATH,
    OPML_PATHS,
    OPML_TYPE,
    FeedSpec,
    archive_pages,
    busiest_specs,
    feed_key,
    min_items,
    order_specs,
    spec_for,
    preview_path,
    split_key,
)
from feeds.publish.preview import HEADLINES, HTML_TYPE, Group, render_index, render_preview
from feeds.publish.render import EPOCH, RENDERERS, Page, newest_update, render_opml
from feeds.store import feeds as members
from feeds.store.db import ARTICLES_VERSION, BUILT_VERSION, build_transaction, get_version, set_version
from feeds.store.documents import publish_documents, write_documents

log = logging.getLogger(__name__)

# gzip level of the precompressed twins. Level 9 was the top cost of a build and buys
# under 1% on feed XML over level 6 (bench/scale_bench.py prints both).
GZIP_LEVEL = 6
# What renders a document's bytes besides its items and the settings: these modules and
# the templates of this package, and the libraries that write XML and HTML. A release that
# changes any of them makes its first build a full one (release_fingerprint), by itself.
RENDERING_MODULES = ("catalog.py", "render.py", "preview.py")
RENDERING_LIBRARIES = ("feedgen", "lxml", "jinja2")
MEMBERS_VERSION = 1  # likewise for what puts an article in a feed
MEMBERS_MARK = "catalogue_members"  # state keys: fingerprints of what the last build used
RENDER_MARK = "catalogue_render"
PARALLEL_FROM = 400  # documents in a full build before it renders in a process pool


@dataclass
class BuildResult:
    """``changed``: every path published or removed; ``removed``: the paths no longer served."""

    built: bool
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    rendered: int = 0  # documents rendered (written or found unchanged)
    full: bool = False
    seconds: float = 0.0


def make_document(path: str, content_type: str, body: bytes, last_modified: datetime) -> FeedDocument:
    """Bytes plus everything a response needs: a strong ETag over the bytes and a
    gzip twin compressed once here (mtime 0, so it is as stable as the body)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return FeedDocument(path, content_type, body, gzip.compress(body, GZIP_LEVEL, mtime=0), etag, last_modified)


def render_page(settings: Settings, spec: FeedSpec, page: Page, items: list[Article]) -> list[FeedDocument]:
    """One page of one feed (the subscription document or an archive page) in every format,
    each with its HTML preview (what a browser gets at the same URL)."""
    last = newest_update(items)
    documents = []
    for fmt, content_type in FORMATS.items():
        path = spec.path(fmt, page.number)
        documents.append(make_document(path, content_type, RENDERERS[fmt](settings, spec, items, page), last))
        documents.append(make_document(preview_path(path), HTML_TYPE, render_preview(settings, spec, items, fmt, page),
                                       last))
    return documents


def _render_task(args: tuple[Settings, FeedSpec, Page, list[Article]]) -> list[FeedDocument]:
    return render_page(*args)


# -- which feeds an article is in --------------------------------------------------------


def feeds_of(settings: Settings, section: str, tags: Iterable[str], authors: Iterable[str]) -> dict[str, str]:
    """``{feed: label}``: the all-sections feed, the article's section, its topics, its authors."""
    out = {ALL: ALL, feed_key("section", section): section}
    for kind, names, labels in (("topic", settings.topics, tags), ("author", settings.authors, authors)):
        for label in labels:
            slug = names.slug_of(label)
            if slug is not None:
                out.setdefault(feed_key(kind, slug), label.strip())
    return out


def _fingerprint(*parts: object) -> int:
    return zlib.crc32(repr(parts).encode("utf-8")) & 0x7FFFFFFF


def members_fingerprint(settings: Settings) -> int:
    return _fingerprint(MEMBERS_VERSION, settings.topics.fingerprint(), settings.authors.fingerprint(),
                        settings.items_per_feed)  # the page size: where the sealed pages end


@functools.cache
def release_fingerprint() -> str:
    """A digest of what renders documents in this release (RENDERING_MODULES, the templates,
    GZIP_LEVEL, the versions of RENDERING_LIBRARIES): a release whose renderers write other
    bytes must not leave untouched feeds as the old one wrote them, and nobody has to
    remember to say so."""
    digest = hashlib.sha256(f"gzip {GZIP_LEVEL}".encode())
    package = resources.files("feeds.publish")
    files = [package.joinpath(name) for name in RENDERING_MODULES]
    files += sorted(package.joinpath("templates").iterdir(), key=lambda entry: entry.name)
    for entry in files:
        if entry.is_file():
            digest.update(entry.name.encode() + b"\0" + entry.read_bytes())
    for library in RENDERING_LIBRARIES:
        digest.update(f"{library} {importlib.metadata.version(library)}".encode())
    return digest.hexdigest()


def render_fingerprint(settings: Settings) -> int:
    """What the bytes of a document depend on besides its items."""
    s = settings
    return _fingerprint(release_fingerprint(), members_fingerprint(s), s.title, s.site_url, s.base_url,
                        s.language, s.items_per_feed, s.cache_max_age, s.hub_url, s.sections)


def rebuild_memberships(conn: Connection, settings: Settings) -> None:
    """Fill ``feed_items``, ``feed_stats`` and ``feed_pages`` from every article (after an
    upgrade, or a change to what puts an article in a feed). A feed's label is its oldest
    article's; its archive is sealed in pages of ``items_per_feed`` from the oldest, all
    but the newest ``items_per_feed`` to ``2 * items_per_feed - 1`` items (the subscription
    document and the open page)."""
    members.reset(conn)
    size = settings.items_per_feed
    counts: dict[str, list[Any]] = {}
    ends: dict[str, list[tuple[datetime, str]]] = {}
    batch: list[dict[str, Any]] = []
    for article_id, section, published, tags, authors in members.all_article_meta(conn):  # oldest first
        for feed, label in feeds_of(settings, section, tags, authors).items():
            batch.append({"feed": feed, "article_id": article_id, "published": published})
            entry = counts.setdefault(feed, [0, label])
            entry[0] += 1
            if entry[0] % size == 0:
                ends.setdefault(feed, []).append((published, article_id))
        if len(batch) >= 20_000:
            members.add_items(conn, batch)
            batch = []
    members.add_items(conn, batch)
    members.write_stats(conn, {}, {feed: (n, label[:200]) for feed, (n, label) in counts.items()})
    sealed = []
    for feed, positions in ends.items():
        for page, (published, article_id) in enumerate(positions[: (counts[feed][0] - size) // size], 1):
            sealed.append({"feed": feed, "page": page, "published": published, "article_id": article_id})
    members.seal_all(conn, sealed)


@dataclass
class Dirty:
    """What a build's changes did to one feed: the positions ``(published, article_id)`` that
    changed, each with whether an item was there before and is there now; item counts."""

    positions: list[tuple[tuple[datetime, str], bool, bool]] = field(default_factory=list)
    shifted: bool = False
    before: int = 0
    after: int = 0
    label: str = ""


def apply_changes(conn: Connection, settings: Settings) -> dict[str, Dirty]:
    """Bring ``feed_items`` and ``feed_stats`` in step with the articles changed since the
    last build; return what changed, per feed."""
    last, ids = members.pending_changes(conn)
    if not ids:
        return {}
    old = members.memberships(conn, ids)
    new: dict[tuple[str, str], datetime] = {}
    labels: dict[str, str] = {}
    for article_id, section, published, tags, authors in members.article_meta(conn, ids):
        for feed, label in feeds_of(settings, section, tags, authors).items():
            new[(feed, article_id)] = published
            labels.setdefault(feed, label)
    dirty: dict[str, Dirty] = {}
    gone: list[tuple[str, str]] = []
    added: list[dict[str, Any]] = []
    delta: Counter[str] = Counter()
    for key in old.keys() | new.keys():
        feed, article_id = key
        o, n = old.get(key), new.get(key)
        d = dirty.setdefault(feed, Dirty())
        if o is not None and o == n:
            d.positions.append(((o, article_id), True, True))  # edited in place
        else:
            if o is not None:
                d.positions.append(((o, article_id), True, False))
            if n is not None:
                d.positions.append(((n, article_id), False, True))
        if o != n:
            d.shifted = True
            if o is not None:
                gone.append(key)
            if n is not None:
                added.append({"feed": feed, "article_id": article_id, "published": n})
            delta[feed] += (n is not None) - (o is not None)
    before = members.stats(conn, sorted(dirty))
    after: dict[str, tuple[int, str]] = {}
    for feed, d in dirty.items():
        count, label = before.get(feed, (0, labels.get(feed, "")[:200]))
        d.before, d.label = count, label
        d.after = count + delta[feed]
        after[feed] = (d.after, label)
    members.remove_items(conn, gone)
    members.add_items(conn, added)
    members.write_stats(conn, before, after)
    members.clear_changes(conn, last)
    return dirty


# -- rendering -----------------------------------------------------------------------------


def _listed(settings: Settings, kind: str, count: int) -> bool:
    return count >= min_items(settings, kind)


def _all_paths(spec: FeedSpec, pages: Iterable[int | None]) -> list[str]:
    """The documents of these pages of ``spec``, and their previews."""
    paths = [spec.path(fmt, page) for page in pages for fmt in FORMATS]
    return paths + [preview_path(path) for path in paths]


def _newer(x: tuple[datetime, str], b: tuple[datetime, str] | None) -> bool:
    """Whether position ``x`` comes before boundary ``b`` in the feed's order (newest first)."""
    return b is None or x[0] > b[0] or (x[0] == b[0] and x[1] < b[1])


def render_dirty(conn: Connection, settings: Settings, dirty: dict[str, Dirty]) -> tuple[list[FeedDocument], list[str]]:
    """Seal or unseal each changed feed's newest archive pages, and render the documents the
    changes touch; returns them and the paths they withdraw.

    A feed's items, newest first, are: the subscription document (the newest
    ``items_per_feed``), the open page (the rest of the items newer than the newest
    sealed page), then the sealed pages, newest first. A change renders the subscription
    document, the page whose range holds each changed position (the open page, for the
    newest items), and the pages whose links change when pages are added or removed."""
    size = settings.items_per_feed
    documents: list[FeedDocument] = []
    removed: list[str] = []
    listings: set[str] = set()  # kinds whose OPML list changed
    for feed in sorted(dirty):
        d = dirty[feed]
        kind, _ = split_key(feed)
        spec = spec_for(settings, feed, d.label)
        sealed, last = members.last_boundary(conn, feed)
        tail = members.count_range(conn, feed, last)
        tail_before = tail - sum(1 for x, was_, is_ in d.positions if is_ and not was_ and _newer(x, last)) + sum(
            1 for x, was_, is_ in d.positions if was_ and not is_ and _newer(x, last))
        pages_before = sealed + (1 if tail_before > size else 0)
        touched: set[int] = set()
        tail_touched = False
        for x, _, _ in d.positions:
            if _newer(x, last):
                tail_touched = True
            elif (page := members.page_holding(conn, feed, x)) is not None:
                touched.add(page)
        while sealed > 0 and tail < size:  # retractions left the subscription short: unseal the newest page
            previous = members.boundary_at(conn, feed, sealed - 1) if sealed > 1 else None
            tail += members.count_range(conn, feed, previous, last)
            members.unseal(conn, feed, sealed)
            touched.discard(sealed)
            sealed, last, tail_touched = sealed - 1, previous, True
        while tail >= 2 * size:  # the open page is full: seal it
            last = members.nth_oldest(conn, feed, last, size)
            sealed += 1
            members.seal(conn, feed, sealed, last)
            touched.add(sealed)
            tail -= size
        pages = sealed + (1 if tail > size else 0)
        if tail > size and tail_touched:
            touched.add(sealed + 1)
        if pages != pages_before:  # the newest pages' links change
            touched |= {n for n in (pages_before, pages) if n > 0}
        was, now = _listed(settings, kind, d.before), _listed(settings, kind, d.after)
        if was != now:
            listings.add("section" if kind == "all" else kind)
        if not now:
            if was:
                removed += _all_paths(spec, [None, *range(1, pages_before + 1)])
            continue
        if was:
            removed += _all_paths(spec, range(pages + 1, pages_before + 1))
            numbers = sorted(n for n in touched if 1 <= n <= pages)
        else:
            numbers = list(range(1, pages + 1))
        documents += render_page(settings, spec, Page(None, pages), members.feed_page(conn, feed, 0, size))
        for number in numbers:
            if number > sealed:  # the open page
                items = members.feed_page(conn, feed, size, tail - size, newer=last)
            else:
                older = members.boundary_at(conn, feed, number)
                newer = members.boundary_at(conn, feed, number - 1) if number > 1 else None
                items = members.feed_page(conn, feed, 0, None, newer=newer, older=older)
            documents += render_page(settings, spec, Page(number, pages), items)
    if dirty:
        last = site_updated(conn, settings)
        documents += [render_listing(conn, settings, kind, last) for kind in sorted(listings)]
        documents.append(render_front(conn, settings, last))
    return documents, removed


def listed_specs(conn: Connection, settings: Settings, kind: str) -> list[tuple[FeedSpec, int]]:
    """``(spec, items)`` of the published feeds of one kind ("section" includes all), in catalogue order."""
    if kind == "section":
        rows = members.listed_stats(conn, "section/", 1) + members.listed_stats(conn, ALL, 1)
        rows = [r for r in rows if r[0] == ALL or r[0].startswith("section/")]
    else:
        rows = members.listed_stats(conn, f"{kind}/", min_items(settings, kind))
    counts = {feed: n for feed, n, _ in rows}
    specs = order_specs(settings, [spec_for(settings, feed, label) for feed, _, label in rows])
    return [(spec, counts[spec.key]) for spec in specs]


FRONT_TOPICS = 12  # the busiest topics on the front page; /topics lists them all
FRONT_AUTHORS = 24  # authors on the front page (the most prolific) before /authors lists the rest


def site_updated(conn: Connection, settings: Settings) -> datetime:
    """The Last-Modified of the pages about the whole site (the front page, the OPML lists):
    the all-sections feed's."""
    return members.newest_update(conn, ALL, settings.items_per_feed) or EPOCH


def render_front(conn: Connection, settings: Settings, last: datetime) -> FeedDocument:
    """The front page: the sections (and all) with their newest headlines, then the busiest
    topics and the most prolific authors, each group linking its full list when it is
    longer. Autodiscovery lists the sections only, as ``feeds.opml`` does. ``last``:
    :func:`site_updated`."""
    sections = [(spec, members.feed_page(conn, spec.key, 0, HEADLINES)) for spec, _ in
                listed_specs(conn, settings, "section")]
    groups = [Group("Sections", sections)]
    for kind, title, limit, more in (("topic", "Topics", FRONT_TOPICS, "topics"),
                                     ("author", "Authors", FRONT_AUTHORS, "authors")):
        listed = members.count_listed(conn, f"{kind}/", min_items(settings, kind))
        feeds = [(spec, members.feed_page(conn, spec.key, 0, HEADLINES))
                 for spec, _ in busiest_specs(conn, settings, kind, limit)]
        link = (more, f"Every {kind} ({listed:,})") if listed > limit else None
        groups.append(Group(title, feeds, discover=False, more=link))
    return make_document(INDEX_PATH, HTML_TYPE, render_index(settings, groups), last)


def render_listing(conn: Connection, settings: Settings, kind: str, last: datetime) -> FeedDocument:
    """The OPML list of one kind: ``feeds.opml`` (the sections and all), ``feeds/topics.opml``,
    ``feeds/authors.opml``. ``last``: :func:`site_updated`."""
    specs = [spec for spec, _ in listed_specs(conn, settings, kind)]
    what = {"section": "feeds", "topic": "topic feeds", "author": "author feeds"}[kind]
    return make_document(OPML_PATHS[kind], OPML_TYPE, render_opml(settings, specs, what), last)


def _tasks(conn: Connection, settings: Settings) -> Iterator[tuple[Settings, FeedSpec, Page, list[Article]]]:
    """Every page of every published feed, as render tasks, reading each feed once, newest
    first: the subscription document, the open page, then the sealed pages."""
    size = settings.items_per_feed
    for kind in ("section", "topic", "author"):
        for spec, count in listed_specs(conn, settings, kind):
            ends = members.boundaries(conn, spec.key)
            tail = members.count_range(conn, spec.key, ends[-1]) if ends else count
            pages = len(ends) + (1 if tail > size else 0)
            articles = iter(members.feed_articles(conn, spec.key))
            head = [a for _, a in zip(range(tail), articles)]
            yield settings, spec, Page(None, pages), head[:size]
            if tail > size:
                yield settings, spec, Page(pages, pages), head[size:]
            page: list[Article] = []
            number = len(ends)
            for article in articles:
                while number > 1 and _newer((article.published, article.id), ends[number - 2]) is False:
                    yield settings, spec, Page(number, pages), page  # this article is older: page done
                    page, number = [], number - 1
                page.append(article)
            while number >= 1:  # down to page 1, even a page whose every story was retracted
                yield settings, spec, Page(number, pages), page
                page, number = [], number - 1


def render_everything(conn: Connection, settings: Settings, *, workers: int | None = None) -> Iterator[FeedDocument]:
    """Every document, rendered in a process pool when there are many (``workers``: the
    number of processes, default all cores; 1 renders here)."""
    total = sum(archive_pages(n, settings) + 1 for kind in ("section", "topic", "author")
                for _, n in listed_specs(conn, settings, kind)) * len(FORMATS)
    workers = workers or os.cpu_count() or 1
    if workers == 1 or total < PARALLEL_FROM:
        for task in _tasks(conn, settings):
            yield from render_page(*task)
    else:
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            pending: deque[Future[list[FeedDocument]]] = deque()
            for task in _tasks(conn, settings):
                pending.append(pool.submit(_render_task, task))
                while len(pending) >= workers * 4:
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
    last = site_updated(conn, settings)
    for kind in ("section", "topic", "author"):
        yield render_listing(conn, settings, kind, last)
    yield render_front(conn, settings, last)


def sync_memberships(conn: Connection, settings: Settings) -> tuple[dict[str, Dirty], bool]:
    """Bring the membership tables in step with the articles; (what changed, whether they
    were filled again from scratch, which makes every feed dirty)."""
    fingerprint = members_fingerprint(settings)
    if members.get_mark(conn, MEMBERS_MARK) != fingerprint:
        rebuild_memberships(conn, settings)
        members.set_mark(conn, MEMBERS_MARK, fingerprint)
        return {}, True
    return apply_changes(conn, settings), False


def render_documents(conn: Connection, settings: Settings) -> list[FeedDocument]:
    """Every document, from the store as it is now (``feeds export``): the memberships are
    brought in step first, in the caller's transaction."""
    sync_memberships(conn, settings)
    return list(render_everything(conn, settings, workers=1))


def build(engine: Engine, settings: Settings, *, force: bool = False, full: bool = False,
          workers: int | None = None) -> BuildResult:
    """Rebuild if articles changed since the last build (or ``force``), publishing atomically.

    ``full`` renders every document (as does the first build after a change of
    configuration or release); otherwise only those the changed articles touch.
    The read of the articles and the write of the documents share one
    transaction, so a web process sees either the old set or the new set,
    never a mix, and a failure leaves the last good documents in place.
    ``build_transaction`` makes that read one snapshot and keeps two builds
    (two processes) from interleaving, on PostgreSQL and SQLite alike.
    """
    started = time.perf_counter()
    with build_transaction(engine) as conn:
        articles_version = get_version(conn, ARTICLES_VERSION)
        fingerprint = render_fingerprint(settings)
        renders_as_before = members.get_mark(conn, RENDER_MARK) == fingerprint
        current = members.get_mark(conn, MEMBERS_MARK) == members_fingerprint(settings) and renders_as_before
        if not force and not full and current and articles_version == get_version(conn, BUILT_VERSION):
            return BuildResult(built=False)  # nothing moved, and the configuration renders as it did
        dirty, refilled = sync_memberships(conn, settings)
        full = full or refilled or not renders_as_before
        if full:
            paths: set[str] = set()

            def counted() -> Iterator[FeedDocument]:
                for doc in render_everything(conn, settings, workers=workers):
                    paths.add(doc.path)
                    yield doc

            changed = publish_documents(conn, counted())
            members.set_mark(conn, RENDER_MARK, fingerprint)
            rendered = len(paths)
            gone = [p for p in changed if p not in paths]
        else:
            documents, removed = render_dirty(conn, settings, dirty)
            rendered = len(documents)
            changed = write_documents(conn, documents, removed)
            withdrawn = set(removed)
            gone = [p for p in changed if p in withdrawn]
        set_version(conn, BUILT_VERSION, articles_version)
    seconds = time.perf_counter() - started
    if changed:
        shown = ", ".join(changed[:20]) + (f", ... ({len(changed)} in all)" if len(changed) > 20 else "")
        log.info("published %d changed document(s) in %.2f s: %s", len(changed), seconds, shown)
    return BuildResult(built=True, changed=changed, removed=gone, rendered=rendered, full=full, seconds=seconds)
