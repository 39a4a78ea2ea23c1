"""What Flask answers per request: ``/healthz``, the ``/topics`` and ``/authors`` lists, and
short errors. The front page is not here: it is rendered once per publish
(:mod:`feeds.publish.preview`) and served with the feeds (:mod:`feeds.web.documents`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from feeds.publish.catalog import busiest_specs
from feeds.publish.preview import render_listing
from feeds.store.articles import count_ingester_bugs
from feeds.store.db import BUILT_VERSION, CHECKED_VERSION, get_changed_at
from feeds.store.pushes import count_queued
from feeds.web.database import Unavailable, reading, within

pages = Blueprint("pages", __name__)


def _feeds() -> dict[str, Any]:
    return current_app.extensions["feeds"]


LIST_BUDGET = 1.0  # seconds /topics and /authors wait for their list (without it, an empty one)


@pages.get("/topics")
@pages.get("/authors")
def listing() -> Response:
    """Every topic (or author) feed, the most articles first: the long lists the front page
    links to, read from ``feed_stats`` within a second, in the front page's look."""
    ext = _feeds()
    settings = ext["settings"]
    kind = "topic" if request.path == "/topics" else "author"
    try:
        feeds = within(ext["cache"], LIST_BUDGET,
                       reading(ext["engine"], lambda conn: busiest_specs(conn, settings, kind)),
                       unavailable=SQLAlchemyError)
    except Unavailable:
        feeds = []
    html = render_listing(settings, "Topics" if kind == "topic" else "Authors", kind, feeds)
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = f"public, max-age={min(settings.cache_max_age, 60)}"
    return resp


RETRY_AFTER = "30"
HEALTH_BUDGET = 1.0  # seconds /healthz waits on the database: it answers within 2 s whatever the database does


def _figures(conn: Connection) -> tuple[datetime | None, datetime | None, int, int]:
    """What /healthz reads: last build, last check, ingester bugs, queued pushes."""
    return (get_changed_at(conn, BUILT_VERSION), get_changed_at(conn, CHECKED_VERSION),
            count_ingester_bugs(conn), count_queued(conn))


@pages.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness and freshness: is the database answering, and how old are the feeds.

    The feeds' age is the time since the scheduler last found them in step with
    the articles (a build, or a check that found nothing to build), so a quiet
    night is not "stale" but a dead or stuck clock is. With ``max_feed_age`` set,
    older than that answers 503 with Retry-After, for a PaaS health check or uptime
    monitor; the JSON says which. A database that does not answer within
    :data:`HEALTH_BUDGET` (or that this process already knows does not) is a 503 too.
    """
    ext = _feeds()
    settings = ext["settings"]
    cache = ext["cache"]
    body: dict[str, Any] = {"database": "ok", "documents": cache.published, "documents_in_memory": len(cache.by_url),
                            "documents_version": cache.version}
    try:
        built_at, checked_at, bugs, pushes_queued = within(
            cache, HEALTH_BUDGET, reading(ext["engine"], _figures), unavailable=SQLAlchemyError
        )
    except Unavailable as exc:
        body["database"] = f"error: {exc}"
        resp = jsonify(body | {"status": "unavailable"})
        resp.headers["Retry-After"] = RETRY_AFTER
        resp.headers["Cache-Control"] = "no-store"
        return resp, 503
    current_at = max((t for t in (built_at, checked_at) if t is not None), default=None)
    age = None if current_at is None else max(0.0, (datetime.now(UTC) - current_at).total_seconds())
    body["last_build"] = None if built_at is None else built_at.isoformat()
    body["last_check"] = None if checked_at is None else checked_at.isoformat()
    body["feeds_age_seconds"] = None if age is None else round(age, 1)
    body["max_feed_age"] = settings.max_feed_age or None
    body["ingester_bugs"] = bugs  # pages in the articles folder the ingester failed on: see the clock's log
    body["pushes_queued"] = pushes_queued  # pushed pages the clock has not taken yet: growing, the clock is stuck
    stale = bool(settings.max_feed_age) and (age is None or age > settings.max_feed_age)
    body["status"] = "stale" if stale else "ok"
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    if stale:
        resp.headers["Retry-After"] = RETRY_AFTER
        return resp, 503
    return resp, 200


@pages.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    """Short plain-text errors: no HTML error pages for feed readers to choke on."""
    code = exc.code or 500
    resp = Response(f"{exc.name.lower()}\n", mimetype="text/plain")
    if code == 503:
        resp.headers["Retry-After"] = RETRY_AFTER
    return resp, code
