"""Static export: every feed, its gzip twin, the OPML list and the front page as files, for a
CDN or static host.

Rendered afresh from the store with this process's settings (so set
``FEEDS_PUBLIC_URL`` to where the files will be served: the feeds' self links
use it), from one consistent read. Each file is written beside its final name
and renamed into place, so a host serving the folder never sees half a file;
feeds no longer produced are removed.

The feeds' HTML previews are left out: they share their feed's URL, told apart by
the request's ``Accept`` header, which a folder of files cannot do.
"""

from __future__ import annotations

import os
from pathlib import Path

from sqlalchemy import Engine

from feeds.publish.catalog import FORMATS, PREVIEWS
from feeds.publish.build import render_documents
from feeds.config import Settings
from feeds.store.db import build_transaction

FEED_SUFFIXES = tuple("." + fmt for fmt in FORMATS)
CLEANED_SUFFIXES = (*FEED_SUFFIXES, ".opml")  # what may be cleaned up under out/feeds/


def _write_atomically(path: Path, data: bytes, mtime: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)


class _Discard(Exception):
    """Raised to roll back the export's transaction: what it wrote was for its own reading."""


def _render(engine: Engine, settings: Settings) -> list:
    """Every document, rendered from one snapshot. Rendering brings the feed memberships in
    step with the articles first; that is the build's to publish, so it is rolled back."""
    documents: list = []
    try:
        with build_transaction(engine) as conn:
            documents = render_documents(conn, settings)
            raise _Discard
    except _Discard:
        pass
    return documents


def export(engine: Engine, settings: Settings, out: Path) -> tuple[int, int]:
    """Write the documents under ``out``; return (documents written, stale files removed).

    Nothing is written when the store has no articles (no feeds to list).
    """
    documents = [doc for doc in _render(engine, settings) if not doc.path.startswith(PREVIEWS)]
    if not any(doc.path.endswith(FEED_SUFFIXES) for doc in documents):  # no feeds: the lists alone
        return 0, 0
    written: set[Path] = set()
    for doc in documents:
        target = out / doc.path
        mtime = doc.last_modified.timestamp()
        for path, data in ((target, doc.body), (target.with_name(target.name + ".gz"), doc.gzip_body)):
            _write_atomically(path, data, mtime)
            written.add(path)
    removed = 0
    for path in (out / "feeds").rglob("*"):
        if path.is_file() and path not in written and path.name.removesuffix(".gz").endswith(CLEANED_SUFFIXES):
            path.unlink()
            removed += 1
    return len(documents), removed
