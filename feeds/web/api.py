"""The push API, for a CMS webhook: ``POST /api/articles`` and ``DELETE /api/articles/<id>``.

Authenticated with ``Authorization: Bearer <FEEDS_INGEST_TOKEN>``, compared in
constant time; with no token configured the API answers 404 (it is off).
A pushed page goes through the same ingester as the articles folder and is
stored with ``source = "push"``; the feeds follow at the clock's next build.

An article's id (its canonical URL) goes in the path percent-encoded as one
segment, ``urllib.parse.quote(id, safe="")``, as the 201's ``Location`` gives it:
``DELETE /api/articles/https%3A%2F%2Fsite%2Fa%3Fp%3D1``. The server decodes the path
once (PEP 3333's ``PATH_INFO``, which every WSGI server fills: gunicorn, Werkzeug and
Granian alike, while ``RAW_URI``/``REQUEST_URI`` are extras Granian does not set), and
the id is that, never decoded again. The older unencoded form
(``/api/articles/https://site/a/b``) still works where it cannot be misread: an id
holding ``?`` must be encoded (a raw one starts a query string, so 400 rather than
retracting the article named by the part before it), and a ``%`` in it is taken as
an escape, so an id holding ``%`` must be encoded too.

Statuses: 201 new article, 200 updated, unchanged (a replay) or stale (an older version
than the stored one, which is kept: the answer is always the article as stored), 401
missing or wrong token, 404 API off or unknown id, 413 body above ``MAX_BODY``, 415 not
HTML or JSON, 400 JSON that does not parse, 422 not an article, or a value over its
field's limit (with the reason, naming the field; see feeds/limits.py), 503 with Retry-After when the database cannot be reached (a webhook should retry),
500 as JSON naming the failure when the ingester itself breaks (a bug: nothing is stored).
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError

from feeds.ingest import IngestError, IngesterBug, ingest_page
from feeds.limits import MAX_PAGE_BYTES, FieldTooLong
from feeds.store.articles import Change, delete_article, get_article, upsert_article

api = Blueprint("api", __name__, url_prefix="/api")

MAX_BODY = MAX_PAGE_BYTES  # the same bound as a page file in the articles folder
HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = ("application/json",)
PUSH_SOURCE = "push"
ENCODE_HINT = 'percent-encode the id as one path segment, as urllib.parse.quote(id, safe="") does'


def _feeds() -> dict[str, Any]:
    return current_app.extensions["feeds"]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    resp = jsonify({"error": message})
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def _unavailable(exc: Exception) -> Response:
    """The database is unreachable or busy: 503 and Retry-After, so the CMS's webhook retries."""
    current_app.logger.warning("push API: database unavailable: %s", exc.__class__.__name__)
    return _error(503, "the database is unavailable; retry shortly", {"Retry-After": "10"})


@api.before_request
def authenticate() -> Response | None:
    token = _feeds()["settings"].ingest_token
    if not token:
        return _error(404, "the push API is off (no FEEDS_INGEST_TOKEN configured)")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="feeds"'}
    if scheme.lower() != "bearer" or not given:
        return _error(401, "missing bearer token", challenge)
    if not hmac.compare_digest(given.strip().encode("utf-8"), token.encode("utf-8")):
        return _error(401, "wrong bearer token", challenge | {"WWW-Authenticate": 'Bearer realm="feeds", error="invalid_token"'})
    return None


def _read_body() -> bytes | Response:
    length = request.content_length
    if length is not None and length > MAX_BODY:
        return _error(413, f"body is {length} bytes; the limit is {MAX_BODY}")
    data = request.stream.read(MAX_BODY + 1)  # also bounds a chunked body with no length
    if len(data) > MAX_BODY:
        return _error(413, f"body is over the limit of {MAX_BODY} bytes")
    return data


def _lone_surrogate(value: str) -> str | None:
    """What is wrong with a JSON string holding a lone UTF-16 surrogate (``"\\ud800"``), or None.

    JSON allows such an escape; no Unicode text holds one, so it cannot be encoded, stored or served.
    """
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"lone surrogate U+{ord(value[exc.start]):04X} at character {exc.start}"
    return None


@api.post("/articles")
def push_article() -> Response:
    ext = _feeds()
    mimetype = request.mimetype
    if mimetype not in HTML_TYPES + JSON_TYPES:
        return _error(415, "send the article page as text/html, or application/json with html and url")
    body = _read_body()
    if isinstance(body, Response):
        return body
    base_url: str | None = None
    if mimetype in JSON_TYPES:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, f"body is not valid JSON: {exc}")
        except RecursionError:  # the parser recurses per level: [[[[... in bulk
            return _error(400, "body is not valid JSON: nested too deeply")
        if not isinstance(payload, dict) or not isinstance(payload.get("html"), str):
            return _error(422, 'JSON body must be an object with "html" (the page) and "url" (where it lives)')
        url = payload.get("url")
        if url is not None and not isinstance(url, str):
            return _error(422, '"url" must be a string')
        for key in ("html", "url"):
            if (problem := _lone_surrogate(payload.get(key) or "")) is not None:
                return _error(400, f'"{key}" is not valid text: {problem}')
        base_url = url or None
        page = payload["html"].encode("utf-8")
    else:
        page = body
    if not page.strip():
        return _error(422, "empty page")
    now = datetime.now(UTC)
    try:
        article = ingest_page(page, source=PUSH_SOURCE, settings=ext["settings"], base_url=base_url, fallback_time=now)
    except IngesterBug as exc:  # not the page's fault: a 500, and nothing stored
        return _error(500, str(exc))
    except IngestError as exc:
        return _error(422, str(exc))
    try:
        with ext["engine"].begin() as conn:
            change = upsert_article(conn, article, None)  # a push's arrival time does not date its version
            stored = get_article(conn, article.id) or article
    except OperationalError as exc:
        return _unavailable(exc)
    except FieldTooLong as exc:  # the ingester fits every field; the store has the last word
        return _error(422, str(exc))
    resp = jsonify(
        stored.as_json() | {"content_hash": stored.content_hash, "source": stored.source, "change": change.value}
    )
    resp.status_code = 201 if change is Change.INGESTED else 200
    if change is Change.INGESTED:
        resp.headers["Location"] = article_location(stored.id)
    return resp


def article_location(article_id: str) -> str:
    """The article's URL in this API: its id percent-encoded as one path segment."""
    return f"{api.url_prefix}/articles/{quote(article_id, safe='')}"


def _raw_query(environ: dict[str, Any]) -> bool:
    """Whether the request target held a raw ``?``: a query string, or an empty one that
    only the raw target shows (where the server gives it)."""
    return bool(environ.get("QUERY_STRING")) or "?" in (environ.get("RAW_URI") or environ.get("REQUEST_URI") or "")


@api.delete("/articles/<path:article_id>", merge_slashes=False)
def retract_article(article_id: str) -> Response:
    """Retract an article from the feeds; ``article_id`` is the path after
    ``/api/articles/`` as the server decoded it, once (see the module docstring)."""
    if _raw_query(request.environ):
        return _error(400, f"the id holds a raw '?', which starts a query string: {ENCODE_HINT}")
    try:
        with _feeds()["engine"].begin() as conn:
            gone = delete_article(conn, article_id)
    except OperationalError as exc:
        return _unavailable(exc)
    if not gone:
        return _error(404, f"no article with id {article_id!r} (to retract an id holding '%' or '?', {ENCODE_HINT})")
    return jsonify({"id": article_id, "deleted": True})
