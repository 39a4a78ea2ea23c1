"""Serve published feed documents from memory, before Flask's dispatch.

Feed readers poll the same few URLs forever, so this path is the hot one: a
WSGI middleware (the way WhiteNoise serves static files) answers ``/feeds/...``,
``/feeds.opml`` and the front page ``/`` from responses prepared once per
publish — bytes, gzip twin, ETags, Last-Modified, every header list — and hands
everything else to the Flask app. A hit costs one dictionary lookup, two
memoised decisions (``Accept-Encoding``: gzip or not; ``Accept``: a browser or
not) and one string comparison for a conditional GET.

A feed URL has two representations, chosen by ``Accept`` (so every answer says
``Vary: Accept-Encoding, Accept``): the feed itself, for feed readers, ``curl``
and anything that does not prefer HTML, and the feed's HTML preview
(:mod:`feeds.publish.preview`), for a browser's navigation. Each has its own
strong ETag and gzip twin. Previews are published under a prefix no URL
reaches, and attached here to their feed.

Each process keeps its own copy, and a thread of its own follows the database:
every ``poll_interval`` seconds a cheap check of ``documents_version``; only when
that number moved does it read the set again, in one snapshot, fetching the
bodies of the documents whose ETag changed, and swap the new set in whole, so a
request sees either the old set or the new one. A request never waits on the
database: a hung or unreachable one delays the next swap, not a reader. If the
database cannot be read, the last good set stays served; a process that has
never read it answers feed URLs 503 with Retry-After, and loads them as soon as
the database answers.

That holds while the published set fits the worker's budget (``web_cache_mb``).
A larger site (tens of thousands of topic, author and archive documents) is held
in part, the most recently asked for, so memory stays bounded: a publish evicts
what it changed, and a document not held is read by primary key when asked for,
its validators only for a conditional request, within ``FETCH_BUDGET`` (503 with
Retry-After when the database does not answer). What readers poll is what stays.

The cache is also the process's judge of the database's health
(:meth:`DocumentCache.database_problem`): while its checks fail, or a check or a
request has waited on the database for over a second, requests that need the
database are told at once instead of waiting their turn to find out
(:mod:`feeds.web.database`).
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from feeds.config import Settings
from feeds.model import FeedDocument
from feeds.publish.catalog import INDEX_PATH, PREVIEWS, is_archive, preview_path
from feeds.store.db import DOCUMENTS_VERSION, describe, get_version, read_snapshot
from feeds.store.documents import load_documents, published_etags, published_size, read_documents
from feeds.web.database import Unavailable, within

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
FEED_PATH = re.compile(r"^/feeds/([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\.(rss|atom|json)$")
OPML_URL = "/feeds.opml"
# Any URL a published document may answer at (but the front page): worth a query when not held.
DOCUMENT_URL = re.compile(r"^/feeds(?:/[a-z0-9][a-z0-9-]*)*\.(?:rss|atom|json|opml)$")
INDEX_URL = "/"
RETRY_AFTER = "30"
REDIRECT_CACHE = "public, max-age=86400"
POLL_INTERVAL = 2.0  # seconds between a process's checks of documents_version
SLOW_CHECK = 1.0  # seconds a check may go unanswered before the database counts as not answering
MAX_MEMO = 512  # distinct Accept-Encoding (and Accept) values remembered
ENTRY_OVERHEAD = 4096  # bytes a URL's prepared responses cost beyond their bodies (headers, objects), about
FETCH_BUDGET = 1.0  # seconds a request for a document not in memory waits on the database, then 503
MAX_MISSING = 4096  # URLs remembered as unpublished (each costs a query the first time)

PLAIN, GZIP = 0, 1
BROWSER = 2  # added to PLAIN/GZIP: the variant for a browser's navigation (the preview, if any)
HTML_TYPES = ("text/html", "application/xhtml+xml")
# Media types a feed reader may name; a client that names one at least as high as HTML gets the feed.
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/feed+json", "application/json",
              "application/rdf+xml", "application/xml", "text/xml")


@dataclass(frozen=True)
class Variant:
    """One variant of a document: its validators, headers for 200 and 304, and body."""

    etag: str
    last_modified: datetime  # to the second, as Last-Modified says
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]
    body: bytes


@dataclass(frozen=True)
class Prepared:
    """A document (and its preview, if it has one) with every variant's response computed once."""

    doc: FeedDocument
    preview: FeedDocument | None
    variants: tuple[Variant, Variant, Variant, Variant]  # PLAIN, GZIP, BROWSER+PLAIN, BROWSER+GZIP
    bodies: bool = True  # False: validators only (read for a conditional request), enough for a 304

    @property
    def size(self) -> int:
        """Bytes held: the bodies, and an estimate of the objects around them."""
        return ENTRY_OVERHEAD + sum(len(d.body) + len(d.gzip_body) for d in (self.doc, self.preview) if d is not None)


def _variants(doc: FeedDocument, max_age: int, vary: str) -> list[Variant]:
    """``doc`` plain and gzipped, each with the ETag that names its bytes."""
    last_modified = doc.last_modified.astimezone(UTC).replace(microsecond=0)
    common = [
        ("Last-Modified", format_datetime(last_modified, usegmt=True)),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Vary", vary),
        ("Access-Control-Allow-Origin", "*"),
        ("Access-Control-Expose-Headers", "ETag"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    variants = []
    for etag, body, encoding in ((doc.etag, doc.body, None), (doc.etag[:-1] + '-gz"', doc.gzip_body, "gzip")):
        not_modified = [("ETag", etag), *common]
        headers = [("Content-Type", doc.content_type), ("Content-Length", str(len(body)))]
        if encoding:
            headers.append(("Content-Encoding", encoding))
        variants.append(Variant(etag, last_modified, headers + not_modified, not_modified, body))
    return variants


def prepare_document(doc: FeedDocument, max_age: int, preview: FeedDocument | None = None, *,
                     bodies: bool = True, archive_max_age: int | None = None) -> Prepared:
    """Every response for ``doc``'s URL: a browser gets ``preview`` where there is one,
    and then every answer varies on ``Accept`` too, so no cache hands one to the other.
    ``bodies=False``: the documents were read without their bodies, for 304s only.
    ``archive_max_age``: the Cache-Control lifetime of an RFC 5005 archive page, whose
    bytes change only when an article in it does (``settings.archive_max_age``)."""
    if archive_max_age is not None and is_archive(doc.path):
        max_age = archive_max_age
    vary = "Accept-Encoding, Accept" if preview is not None else "Accept-Encoding"
    plain, zipped = _variants(doc, max_age, vary)
    page, page_zipped = _variants(preview, max_age, vary) if preview is not None else (plain, zipped)
    return Prepared(doc, preview, (plain, zipped, page, page_zipped), bodies)


def _qualities(header: str) -> dict[str, float]:
    """An ``Accept`` or ``Accept-Encoding`` header's values (lower case) and their q
    values; a bad q counts as 0."""
    qualities: dict[str, float] = {}
    for part in header.lower().split(","):
        media, _, params = part.partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        qualities[media.strip()] = q
    return qualities


def is_browser(accept: str) -> bool:
    """A person's browser navigating, not a feed reader: the client names HTML, and
    prefers it to every feed type it names. Browsers send ``text/html`` first and
    ``application/xml;q=0.9``; readers name a feed type (and ``text/html``, if at
    all, lower), or send ``*/*`` or nothing, which is the feed: a wildcard is no
    preference for a page."""
    qualities = _qualities(accept)
    html = max((qualities.get(t, 0.0) for t in HTML_TYPES), default=0.0)
    return html > 0 and html > max(qualities.get(t, 0.0) for t in FEED_TYPES)


class DocumentCache:
    """This process's copy of the published documents, following the database from a thread.

    A site whose published documents fit in ``web_cache_mb`` (bodies, plain and gzip, and
    previews) is held whole (``complete``): every answer comes from memory. A larger one
    is held in part: the documents asked for, the least recently asked for going first
    when the budget is full, and the rest read on demand by primary key (``fetch``), so a
    worker's memory stays bounded whatever the size of the archive, and it serves its
    first feed as soon as it has read one version number. A conditional request for a
    document not in memory reads its validators only: a 304 never needs the body.
    """

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        poll_interval: float = POLL_INTERVAL,
        prepare: Callable[[Engine], object] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self._wake = threading.Event()
        self._poll_interval = poll_interval
        self.closed = False
        self._thread: threading.Thread | None = None
        self.prepare = prepare  # run once before the first read (the schema's migration); retried until it succeeds
        self.version = -1  # -1: never loaded
        self._lock = threading.Lock()
        self._failing: str | None = None  # why the database was last found not answering; None once it does
        self._outage_logged = False
        self._waits: dict[int, float] = {}  # calls waiting on the database now -> since when (monotonic)
        self._wait_ids = itertools.count()
        self.budget = settings.web_cache_mb * 2**20
        self.complete = False  # every published document is in by_url: a miss is a 404
        self.published = 0  # documents in the store (previews and the front page included)
        # "/feeds/world.rss" -> its responses: the hot lookup. Held whole, or least recently used first.
        self.by_url: OrderedDict[str, Prepared] = OrderedDict()
        self._held = 0  # bytes of body in by_url
        self._missing: dict[str, int] = {}  # URLs found unpublished -> at which version
        self._lru_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        return self.version >= 0

    @property
    def poll_interval(self) -> float:
        return self._poll_interval

    @poll_interval.setter
    def poll_interval(self, seconds: float) -> None:
        self._poll_interval = seconds
        self._wake.set()  # the thread's current wait ends: the new interval applies at once

    def start(self) -> None:
        """Read the published set now (a process serves what it has at once), then follow the
        database from a daemon thread. The thread holds the cache weakly: it ends when the
        cache is gone."""
        self.refresh()
        self._thread = threading.Thread(
            target=_follow, args=(weakref.ref(self), self._wake), name="feeds-documents", daemon=True
        )
        self._thread.start()

    def close(self, timeout: float = 10) -> None:
        """Stop following the database (a check under way finishes first); the documents in
        memory stay served."""
        self.closed = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def refresh(self) -> bool:
        """Reload if the published set moved; True if it did. Keeps the old set on error."""
        with self._lock, self.waiting():
            try:
                if self.prepare is not None:
                    self.prepare(self.engine)
                    self.prepare = None
                changed = self._reload()
            except Exception as exc:  # noqa: BLE001 - whatever it is, the set in memory stays served
                self._failed(exc)
                return False
            if self._outage_logged:
                log.info("the database answers again; %d feed documents published (version %d)", self.published, self.version)
                self._outage_logged = False
            self._failing = None
            return changed

    def _failed(self, exc: Exception) -> None:
        """Log an outage once, when it starts; every failed check keeps the reason."""
        self._failing = describe(exc)
        if self._outage_logged:
            return
        self._outage_logged = True
        serving = f"serving the {len(self.by_url)} feed documents in memory" if self.loaded else (
            "feed URLs answer 503 until the feeds are loaded")
        if isinstance(exc, SQLAlchemyError):
            log.warning("cannot read the published feeds: %s; %s; checking again every %g s",
                        self._failing, serving, self.poll_interval)
        else:
            log.exception("cannot read the published feeds; %s", serving)

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Mark a call waiting on the database (a check, a request's work) for as long as the block runs."""
        call = next(self._wait_ids)
        self._waits[call] = time.monotonic()
        try:
            yield
        finally:
            del self._waits[call]

    def database_problem(self) -> str | None:
        """Why the database is taken as not answering now (None: it answers, as far as this
        process knows): its last check failed, or a call has waited on it too long."""
        if self._failing is not None:
            return self._failing
        oldest = min(list(self._waits.values()), default=None)
        if oldest is not None and (waited := time.monotonic() - oldest) > SLOW_CHECK:
            return f"no answer for {waited:.1f} s"
        return None

    def report_failure(self, problem: str) -> None:
        """A request found the database not answering; so it stays until the next check that succeeds."""
        self._failing = problem

    def _reload(self) -> bool:
        with read_snapshot(self.engine) as conn:
            version = get_version(conn, DOCUMENTS_VERSION)
            if version == self.version:
                return False
            count, size = published_size(conn)
            whole = size + count * ENTRY_OVERHEAD <= self.budget
            if whole:
                known = {p: d for prepared in self.by_url.values() if prepared.bodies for p, d in _published(prepared)}
                docs = load_documents(conn, known=known)
            else:
                held = list(self.by_url.values())
                etags = published_etags(conn, [p for prepared in held for p in _paths(prepared.doc.path)])
        try:
            if whole:
                by_url = self._whole(docs)
            else:  # what is held and still published as it was, the most recently used within the budget
                by_url = OrderedDict((_url(prepared.doc.path), prepared) for prepared in held
                                     if _still_published(prepared, etags))
        except Exception:  # a bad row must not turn every feed request into a 500
            log.exception("could not prepare the published documents; serving the previous set")
            return False
        with self._lru_lock:
            self.by_url, self._held = by_url, sum(prepared.size for prepared in by_url.values())
            self.complete, self.published, self.version = whole, count, version
            self._missing = {}
            self._trim()
        return True

    def _whole(self, docs: dict[str, FeedDocument]) -> OrderedDict[str, Prepared]:
        """Every published document's responses, reusing those whose documents did not change."""
        old = {prepared.doc.path: prepared for prepared in self.by_url.values()}
        previews = {path.removeprefix(PREVIEWS): doc for path, doc in docs.items() if path.startswith(PREVIEWS)}
        by_url: OrderedDict[str, Prepared] = OrderedDict()
        for path, doc in docs.items():
            if path.startswith(PREVIEWS):
                continue
            preview = previews.get(path)
            same = old.get(path)
            if same is not None and same.doc is doc and same.preview is preview:
                by_url[_url(path)] = same
            else:
                by_url[_url(path)] = self._prepare(doc, preview)
        return by_url

    def _prepare(self, doc: FeedDocument, preview: FeedDocument | None, *, bodies: bool = True) -> Prepared:
        return prepare_document(doc, self.settings.cache_max_age, preview, bodies=bodies,
                                archive_max_age=self.settings.archive_max_age)

    def fetch(self, url: str, *, bodies: bool) -> Prepared | None:
        """The responses for ``url`` read from the store now (None: not published), for a
        cache that does not hold every document; kept if read at the version it holds.
        Raises Unavailable when the database does not answer within FETCH_BUDGET."""
        if self._missing.get(url) == self.version:
            return None
        path = INDEX_PATH if url == INDEX_URL else url[1:]

        def read(abandoned: threading.Event) -> tuple[int, dict[str, FeedDocument]]:
            with read_snapshot(self.engine) as conn:
                return get_version(conn, DOCUMENTS_VERSION), read_documents(conn, _paths(path), bodies=bodies)

        version, docs = within(self, FETCH_BUDGET, read, unavailable=SQLAlchemyError)
        doc = docs.get(path)
        with self._lru_lock:
            current = version == self.version
            if doc is None:
                if current:
                    if len(self._missing) >= MAX_MISSING:
                        self._missing = {}
                    self._missing[url] = version
                return None
            prepared = self._prepare(doc, docs.get(preview_path(path)), bodies=bodies)
            if current and not self.complete:
                if (before := self.by_url.pop(url, None)) is not None:
                    self._held -= before.size
                self.by_url[url] = prepared
                self._held += prepared.size
                self._trim()
        return prepared

    def touch(self, url: str) -> None:
        """``url`` was just asked for: it goes last in the line for eviction."""
        try:
            self.by_url.move_to_end(url)
        except KeyError:  # evicted meanwhile by another thread
            pass

    def _trim(self) -> None:
        """Evict the least recently used until the budget holds (called under _lru_lock)."""
        while self._held > self.budget and self.by_url:
            _, evicted = self.by_url.popitem(last=False)
            self._held -= evicted.size


def _paths(path: str) -> tuple[str, str]:
    """A document's path in the store and its preview's (which is there if it has one)."""
    return path, preview_path(path)


def _still_published(prepared: Prepared, etags: dict[str, str]) -> bool:
    """Whether the store still publishes ``prepared``'s document and preview, unchanged."""
    preview = prepared.preview.etag if prepared.preview is not None else None
    return etags.get(prepared.doc.path) == prepared.doc.etag and etags.get(preview_path(prepared.doc.path)) == preview


def _url(path: str) -> str:
    """The URL a published document answers at."""
    return INDEX_URL if path == INDEX_PATH else "/" + path


def _published(prepared: Prepared) -> list[tuple[str, FeedDocument]]:
    """The published documents behind one URL's responses, by their paths in the store."""
    pairs = [(prepared.doc.path, prepared.doc)]
    if prepared.preview is not None:
        pairs.append((prepared.preview.path, prepared.preview))
    return pairs


def _follow(ref: weakref.ref[DocumentCache], wake: threading.Event) -> None:
    """The cache's thread: a check every poll interval, until the cache is closed or gone."""
    while (cache := ref()) is not None:
        interval = cache.poll_interval
        del cache  # not held while waiting, so an app that is gone takes its thread with it
        wake.wait(interval)
        wake.clear()
        if (cache := ref()) is None or cache.closed:
            return
        cache.refresh()
        del cache


def choose_encoding(header: str) -> int:
    """GZIP if ``Accept-Encoding`` allows gzip (q > 0, directly or by ``*``), else PLAIN."""
    qualities = _qualities(header)
    q = qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0)))
    return GZIP if q > 0 else PLAIN


def _etag_matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): ignore ``W/``."""
    if header.strip() == "*":
        return True
    return any(t.strip().removeprefix("W/") == etag for t in header.split(","))


def _not_modified_since(header: str, variant: Variant) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError, OverflowError):
        return False
    if since.tzinfo is None:
        return False
    return variant.last_modified <= since


CORS_PREFLIGHT = [
    ("Access-Control-Allow-Origin", "*"),
    ("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS"),
    ("Access-Control-Allow-Headers", "If-None-Match, If-Modified-Since, Cache-Control"),
    ("Access-Control-Max-Age", "86400"),
    ("Allow", "GET, HEAD, OPTIONS"),
    ("Content-Length", "0"),
]


class FeedResponder:
    """WSGI middleware: answers feed URLs from the cache, passes the rest on.

    Being the outermost callable, it is also where HEAD loses its body, for every
    answer (redirects, errors, Flask's pages, the API): not every server drops it
    (gevent's pywsgi sends whatever the app returns), and a body after a HEAD's
    headers is read as the start of the next response on a kept-alive connection.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]], cache: DocumentCache, settings: Settings) -> None:
        self.app = app
        self.cache = cache
        self.base_url = settings.base_url
        self.redirects = {old: s.slug for s in settings.sections for old in s.old_slugs}
        self._encodings: dict[str, int] = {}
        self._browsers: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        prepared = self.cache.by_url.get(path)
        method = environ.get("REQUEST_METHOD", "GET")
        if prepared is None:
            if path.startswith("/feeds/") or path == OPML_URL or path == INDEX_URL:
                result = self._miss(path, method, environ, start_response)
            else:
                result = self.app(environ, start_response)
            return _without_body(result) if method == "HEAD" else result
        if not self.cache.complete:
            self.cache.touch(path)
        return self._answer(prepared, path, method, environ, start_response)

    def _answer(self, prepared: Prepared, path: str, method: str, environ: dict[str, Any],
                start_response: StartResponse) -> Iterable[bytes]:
        """The response for a published document: 304, 200 or HEAD, in the variant asked for."""
        if method != "GET" and method != "HEAD":
            return self._other_method(method, start_response)
        header = environ.get("HTTP_ACCEPT_ENCODING", "")
        encoding = self._encodings.get(header)
        if encoding is None:
            encoding = choose_encoding(header)
            if len(self._encodings) >= MAX_MEMO:
                self._encodings = {}
            self._encodings[header] = encoding
        accept = environ.get("HTTP_ACCEPT", "")
        browser = self._browsers.get(accept)
        if browser is None:
            browser = BROWSER if is_browser(accept) else 0
            if len(self._browsers) >= MAX_MEMO:
                self._browsers = {}
            self._browsers[accept] = browser
        variant = prepared.variants[encoding + browser]
        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm is not None:
            fresh = inm == variant.etag or _etag_matches(inm, variant.etag)
        else:
            ims = environ.get("HTTP_IF_MODIFIED_SINCE")
            fresh = ims is not None and _not_modified_since(ims, variant)
        if fresh:
            start_response("304 Not Modified", variant.not_modified)
            return []
        if not prepared.bodies:  # read for a conditional request that turned out stale
            return self._fetched(path, method, environ, start_response, bodies=True)
        start_response("200 OK", variant.headers)
        return [] if method == "HEAD" else [variant.body]

    def _fetched(self, path: str, method: str, environ: dict[str, Any], start_response: StartResponse, *,
                 bodies: bool) -> Iterable[bytes]:
        """The answer from the store, for a document this process does not hold (None: 404)."""
        try:
            prepared = self.cache.fetch(path, bodies=bodies)
        except Unavailable:
            return _short(start_response, "503 Service Unavailable", b"the database is not answering; retry shortly\n",
                          [("Retry-After", RETRY_AFTER)])
        if prepared is None:
            return _short(start_response, "404 Not Found", b"no such feed\n")
        return self._answer(prepared, path, method, environ, start_response)

    def _miss(self, path: str, method: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        match = FEED_PATH.match(path)
        if match is not None:
            slug, fmt = match.groups()
            if slug in self.redirects:
                location = f"{self.base_url}feeds/{self.redirects[slug]}.{fmt}"
                return _short(
                    start_response, "301 Moved Permanently", b"moved\n", [("Location", location)], cache=REDIRECT_CACHE
                )
        document = path == INDEX_URL or DOCUMENT_URL.match(path) is not None  # what a publish may hold
        if not self.cache.loaded and document:
            # Nothing could be read yet (database down at start): not "gone", just "later".
            return _short(
                start_response, "503 Service Unavailable", b"feeds not loaded yet\n", [("Retry-After", RETRY_AFTER)]
            )
        if not self.cache.complete and document:
            # published, perhaps, but not held: read it (a 304 needs no body)
            conditional = "HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ
            return self._fetched(path, method, environ, start_response,
                                 bodies=method in ("GET", "HEAD") and not conditional)
        if path == INDEX_URL:  # a new install: nothing built yet
            return _short(start_response, "404 Not Found", b"no feeds published yet\n")
        return _short(start_response, "404 Not Found", b"no such feed\n")

    def _other_method(self, method: str, start_response: StartResponse) -> Iterable[bytes]:
        if method == "OPTIONS":  # CORS preflight: web readers sending If-None-Match
            start_response("204 No Content", CORS_PREFLIGHT)
            return []
        return _short(
            start_response, "405 Method Not Allowed", b"method not allowed\n", [("Allow", "GET, HEAD, OPTIONS")]
        )


def _without_body(result: Iterable[bytes]) -> list[bytes]:
    """No body for HEAD (RFC 9110 9.3.2): the response is consumed, as a lazy app calls
    ``start_response`` only on its first chunk, and closed, as the server would have."""
    try:
        for _ in result:
            pass
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return []


def _short(
    start_response: StartResponse,
    status: str,
    body: bytes,
    extra: list[tuple[str, str]] | None = None,
    cache: str = "no-cache",
) -> list[bytes]:
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", cache),
        *(extra or []),
    ]
    start_response(status, headers)
    return [body]
