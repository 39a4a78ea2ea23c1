"""Serve published feed documents from memory, before Flask's dispatch.

Feed readers poll the same few URLs forever, so this path is the hot one: a
WSGI middleware (the way WhiteNoise serves static files) answers ``/feeds/...``
and ``/feeds.opml`` from responses prepared once per publish — bytes, gzip
twin, ETags, Last-Modified — and hands everything else to the Flask app.

Each process keeps its own copy and follows the database with a cheap check
of ``documents_version`` at most every ``poll_interval`` seconds; the full set
is reloaded only when that number moved, and swapped in whole, so a request
sees either the old set or the new one.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from feeds.config import Settings
from feeds.model import FeedDocument
from feeds.store.db import DOCUMENTS_VERSION, get_version
from feeds.store.documents import load_documents

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
FEED_PATH = re.compile(r"^/feeds/([a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)\.(rss|atom|json)$")
OPML_URL = "/feeds.opml"


@dataclass(frozen=True)
class Prepared:
    """A document with its response headers computed once, for both encodings."""

    doc: FeedDocument
    gzip_etag: str
    plain_headers: list[tuple[str, str]]
    gzip_headers: list[tuple[str, str]]
    not_modified_plain: list[tuple[str, str]]
    not_modified_gzip: list[tuple[str, str]]


def prepare(doc: FeedDocument, max_age: int) -> Prepared:
    gzip_etag = doc.etag[:-1] + '-gz"'
    common = [
        ("Cache-Control", f"public, max-age={max_age}"),
        ("Vary", "Accept-Encoding"),
        ("Last-Modified", format_datetime(doc.last_modified, usegmt=True)),
        ("Access-Control-Allow-Origin", "*"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    plain_nm = [("ETag", doc.etag), *common]
    gzip_nm = [("ETag", gzip_etag), *common]
    return Prepared(
        doc=doc,
        gzip_etag=gzip_etag,
        plain_headers=[("Content-Type", doc.content_type), ("Content-Length", str(len(doc.body))), *plain_nm],
        gzip_headers=[
            ("Content-Type", doc.content_type),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(doc.gzip_body))),
            *gzip_nm,
        ],
        not_modified_plain=plain_nm,
        not_modified_gzip=gzip_nm,
    )


class DocumentCache:
    """This process's copy of the published documents, following the database."""

    def __init__(self, engine: Engine, settings: Settings, poll_interval: float = 2.0) -> None:
        self.engine = engine
        self.settings = settings
        self.poll_interval = poll_interval
        self.version = -1
        self.documents: dict[str, Prepared] = {}
        self.checked_at = 0.0
        self._lock = threading.Lock()

    def refresh(self) -> bool:
        """Reload if the published set moved; True if it did. Keeps the old set on error."""
        with self._lock:
            self.checked_at = time.monotonic()
            try:
                with self.engine.connect() as conn:
                    version = get_version(conn, DOCUMENTS_VERSION)
                    if version == self.version:
                        return False
                    docs = load_documents(conn)
            except SQLAlchemyError as exc:
                log.warning("could not check for new feed documents: %s", exc.__class__.__name__)
                return False
            max_age = self.settings.cache_max_age
            self.documents = {path: prepare(doc, max_age) for path, doc in docs.items()}
            self.version = version
            return True

    def get(self, path: str) -> Prepared | None:
        if time.monotonic() - self.checked_at >= self.poll_interval:
            self.refresh()
        return self.documents.get(path)


def _accepts_gzip(header: str) -> bool:
    for part in header.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "x-gzip", "*"):
            q = params.strip()
            if q.startswith("q="):
                try:
                    return float(q[2:]) > 0
                except ValueError:
                    return False
            return True
    return False


def _etag_matches(header: str, etags: tuple[str, ...]) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): ignore ``W/``."""
    if header.strip() == "*":
        return True
    candidates = {t.strip().removeprefix("W/") for t in header.split(",")}
    return any(e in candidates for e in etags)


def _not_modified_since(header: str, prepared: Prepared) -> bool:
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        return False
    return prepared.doc.last_modified.replace(microsecond=0) <= since


class FeedResponder:
    """WSGI middleware: answers feed URLs from the cache, passes the rest on."""

    def __init__(self, app: Callable[..., Iterable[bytes]], cache: DocumentCache, settings: Settings) -> None:
        self.app = app
        self.cache = cache
        self.redirects = {old: s.slug for s in settings.sections for old in s.old_slugs}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == OPML_URL:
            return self._serve(OPML_URL[1:], environ, start_response)
        if not path.startswith("/feeds/"):
            return self.app(environ, start_response)
        match = FEED_PATH.match(path)
        if match is None:
            return _short(start_response, "404 Not Found", b"no such feed\n")
        slug, fmt = match.groups()
        if slug in self.redirects:
            location = f"{self.cache.settings.base_url}feeds/{self.redirects[slug]}.{fmt}"
            return _short(start_response, "301 Moved Permanently", b"moved\n", [("Location", location)])
        return self._serve(f"feeds/{slug}.{fmt}", environ, start_response)

    def _serve(self, key: str, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "HEAD"):
            return _short(start_response, "405 Method Not Allowed", b"method not allowed\n", [("Allow", "GET, HEAD")])
        prepared = self.cache.get(key)
        if prepared is None:
            return _short(start_response, "404 Not Found", b"no such feed\n")
        use_gzip = _accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", ""))
        inm = environ.get("HTTP_IF_NONE_MATCH")
        if inm is not None:
            fresh = _etag_matches(inm, (prepared.doc.etag, prepared.gzip_etag))
        else:
            ims = environ.get("HTTP_IF_MODIFIED_SINCE")
            fresh = ims is not None and _not_modified_since(ims, prepared)
        if fresh:
            start_response("304 Not Modified", prepared.not_modified_gzip if use_gzip else prepared.not_modified_plain)
            return []
        if use_gzip:
            start_response("200 OK", prepared.gzip_headers)
            body = prepared.doc.gzip_body
        else:
            start_response("200 OK", prepared.plain_headers)
            body = prepared.doc.body
        return [] if method == "HEAD" else [body]


def _short(
    start_response: StartResponse, status: str, body: bytes, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("X-Content-Type-Options", "nosniff"),
        *(extra or []),
    ]
    start_response(status, headers)
    return [body]
