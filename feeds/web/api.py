"""The push API, for a CMS webhook: ``POST /api/articles``, ``GET /api/pushes/<n>`` and
``DELETE /api/articles/<id>``.

Authenticated with ``Authorization: Bearer <FEEDS_INGEST_TOKEN>``, compared in
constant time; with no token configured the API answers 404 (it is off).

A push is taken, not ingested, here: the page is checked (type, size, JSON shape)
and queued in the store (:mod:`feeds.store.pushes`), and the answer is ``202
Accepted`` with the push's number and, in ``Location``, its receipt
``/api/pushes/<n>``. The clock ingests queued pages in order before each rebuild
(:mod:`feeds.intake`), with the same ingester as the articles folder, stored with
``source = "push"``: ingesting costs tens of milliseconds of CPU, which in a web
process would hold up every poll behind it. The receipt then says what became of
the page: ``queued``; ``ingested``, ``updated``, ``unchanged`` (a replay: one item)
or ``stale`` (an older version than the one stored, which is kept), with the
article as stored; or ``rejected`` with the reason (not an article, a field over its
limit, a page over the time budget). A page the ingester failed on with a bug of its
own stays ``queued``, with the reason in ``error``, and is tried again at every intake.

An article's id (its canonical URL) goes in the path percent-encoded as one
segment, ``urllib.parse.quote(id, safe="")``, as a receipt's ``location`` gives it:
``DELETE /api/articles/https%3A%2F%2Fsite%2Fa%3Fp%3D1``. The server decodes the path
once (PEP 3333's ``PATH_INFO``, which every WSGI server fills: gunicorn, Werkzeug and
Granian alike, while ``RAW_URI``/``REQUEST_URI`` are extras Granian does not set), and
the id is that, never decoded again. The older unencoded form
(``/api/articles/https://site/a/b``) still works where it cannot be misread: an id
holding ``?`` must be encoded (a raw one starts a query string, so 400 rather than
retracting the article named by the part before it), and a ``%`` in it is taken as
an escape, so an id holding ``%`` must be encoded too.

Statuses: 202 a page queued; 200 a receipt or a retraction; 401 missing or wrong
token; 404 API off, unknown push or unknown id; 413 body above ``MAX_BODY``; 415 not
HTML or JSON; 400 JSON that does not parse (or nests too deeply, or holds a lone
surrogate) or an id with a raw ``?``; 422 JSON without ``html``, or an empty page;
503 with Retry-After when the database does not answer within :data:`BUDGET`
seconds, or this process already knows it does not (:mod:`feeds.web.database`):
nothing is queued or retracted, and a webhook should retry.
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection

from feeds.limits import MAX_PAGE_BYTES
from feeds.model import Article
from feeds.store.articles import delete_article, get_article
from feeds.store.pushes import QUEUED, RECEIPT_DAYS, Receipt, receipt, receive
from feeds.web.database import Unavailable, reading, transaction, within

api = Blueprint("api", __name__, url_prefix="/api")

MAX_BODY = MAX_PAGE_BYTES  # the same bound as a page file in the articles folder
HTML_TYPES = ("text/html", "application/xhtml+xml")
JSON_TYPES = ("application/json",)
ENCODE_HINT = 'percent-encode the id as one path segment, as urllib.parse.quote(id, safe="") does'
BUDGET = 4.0  # seconds a request waits on the database: a push is answered (202 or 503) within 5 s
RETRY_AFTER = "10"


def _feeds() -> dict[str, Any]:
    return current_app.extensions["feeds"]


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    resp = jsonify({"error": message})
    resp.status_code = status
    resp.headers.update(headers or {})
    return resp


def _unavailable(exc: Unavailable) -> Response:
    """The database does not answer, or not in time: 503 and Retry-After, so the CMS's webhook retries."""
    current_app.logger.warning("push API: database unavailable: %s", exc)
    return _error(503, "the database is unavailable; retry shortly", {"Retry-After": RETRY_AFTER})


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

    def queue(conn: Connection) -> int:
        return receive(conn, page, base_url, datetime.now(UTC))

    try:
        push_id = within(ext["cache"], BUDGET, transaction(ext["engine"], queue))
    except Unavailable as exc:
        return _unavailable(exc)
    resp = jsonify({"push": push_id, "state": QUEUED, "receipt": push_location(push_id)})
    resp.status_code = 202
    resp.headers["Location"] = push_location(push_id)
    return resp


@api.get("/pushes/<int:push_id>")
def push_receipt(push_id: int) -> Response:
    """What became of a push: queued, rejected (with the reason), or the article's change
    with the article as stored and its location in this API."""

    def read(conn: Connection) -> tuple[Receipt | None, Article | None]:
        found = receipt(conn, push_id)
        return found, get_article(conn, found.article_id) if found and found.article_id else None

    ext = _feeds()
    try:
        found, stored = within(ext["cache"], BUDGET, reading(ext["engine"], read))
    except Unavailable as exc:
        return _unavailable(exc)
    if found is None:
        return _error(404, f"no push {push_id} (receipts are kept {RECEIPT_DAYS} days after the page is taken)")
    body: dict[str, Any] = {"push": found.id, "state": found.state, "received_at": found.received_at.isoformat(),
                            "done_at": found.done_at.isoformat() if found.done_at else None}
    if found.error is not None:  # rejected, or queued behind an ingester bug
        body["error"] = found.error
    if found.article_id is not None:
        body["location"] = article_location(found.article_id)
    if stored is not None:
        body["article"] = stored.as_json() | {"content_hash": stored.content_hash, "source": stored.source}
    resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def push_location(push_id: int) -> str:
    return f"{api.url_prefix}/pushes/{push_id}"


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
    ext = _feeds()
    try:
        gone = within(ext["cache"], BUDGET, transaction(ext["engine"], lambda conn: delete_article(conn, article_id)))
    except Unavailable as exc:
        return _unavailable(exc)
    if not gone:
        return _error(404, f"no article with id {article_id!r} (to retract an id holding '%' or '?', {ENCODE_HINT})")
    return jsonify({"id": article_id, "deleted": True})
