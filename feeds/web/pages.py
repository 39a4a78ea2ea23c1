"""The pages Flask renders per request: the index (cheap, cached by the browser) and /healthz."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from feeds.build.catalog import ALL, FORMAT_LABELS, FORMATS, OPML_PATH, feed_specs
from feeds.store.db import BUILT_VERSION, get_changed_at

pages = Blueprint("pages", __name__)


def _feeds() -> dict[str, Any]:
    return current_app.extensions["feeds"]


@pages.get("/")
def index() -> Response:
    ext = _feeds()
    settings = ext["settings"]
    cache = ext["cache"]
    cache.get(OPML_PATH)  # follow the database like the feed URLs do
    published = set(cache.documents)  # the published set alone: no query, and the same list as the OPML
    slugs = [p[len("feeds/") : -len(".rss")] for p in published if p.startswith("feeds/") and p.endswith(".rss")]
    specs = [s for s in feed_specs(settings, [s for s in slugs if s != ALL]) if s.path("rss") in published]
    html = render_template(
        "index.html",
        settings=settings,
        specs=specs,
        formats=[(fmt, FORMAT_LABELS[fmt], FORMATS[fmt].split(";")[0]) for fmt in FORMATS],
    )
    resp = Response(html, mimetype="text/html")
    resp.headers["Cache-Control"] = f"public, max-age={min(settings.cache_max_age, 60)}"
    return resp


@pages.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness and freshness: is the database answering, and how old is the newest build."""
    ext = _feeds()
    settings = ext["settings"]
    body: dict[str, Any] = {"database": "ok", "documents": len(ext["cache"].documents)}
    status = 200
    try:
        with ext["engine"].connect() as conn:
            conn.execute(text("SELECT 1"))
            built_at = get_changed_at(conn, BUILT_VERSION)
    except SQLAlchemyError as exc:
        body["database"] = f"error: {exc.__class__.__name__}"
        resp = jsonify(body | {"status": "unavailable"})
        resp.headers["Retry-After"] = "30"
        return resp, 503
    age = None if built_at is None else (datetime.now(UTC) - built_at).total_seconds()
    body["last_build"] = None if built_at is None else built_at.isoformat()
    body["build_age_seconds"] = None if age is None else round(age, 1)
    if settings.max_feed_age and (age is None or age > settings.max_feed_age):
        status = 503
    body["status"] = "ok" if status == 200 else "stale"
    resp = jsonify(body)
    if status == 503:
        resp.headers["Retry-After"] = "30"
    return resp, status


@pages.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    """Short plain-text errors: no HTML error pages for feed readers to choke on."""
    code = exc.code or 500
    resp = Response(f"{exc.name.lower()}\n", mimetype="text/plain")
    if code == 503:
        resp.headers["Retry-After"] = "30"
    return resp, code
