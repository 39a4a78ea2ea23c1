"""The floor for Python: a bare WSGI callable answering one feed from memory.

The same three answers as feeds gives (plain, prepared gzip, 304 on the ETag),
byte for byte and header for header, with nothing else: no routing, no
negotiation beyond a substring test. Bodies and header lists come from the
files the bench exported (BENCH_BODY, BENCH_GZIP, BENCH_HEADERS).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any

with open(os.environ["BENCH_BODY"], "rb") as fh:
    BODY = fh.read()
with open(os.environ["BENCH_GZIP"], "rb") as fh:
    GZIP = fh.read()
with open(os.environ["BENCH_HEADERS"], encoding="utf-8") as fh:
    _headers = json.load(fh)
PLAIN_HEADERS = [tuple(h) for h in _headers["plain"]]
GZIP_HEADERS = [tuple(h) for h in _headers["gzip"]]
NOT_MODIFIED = [tuple(h) for h in _headers["304"]]
ETAG = dict(PLAIN_HEADERS)["ETag"]


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    if environ.get("HTTP_IF_NONE_MATCH") == ETAG:
        start_response("304 Not Modified", NOT_MODIFIED)
        return []
    if "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""):
        start_response("200 OK", GZIP_HEADERS)
        return [GZIP]
    start_response("200 OK", PLAIN_HEADERS)
    return [BODY]
