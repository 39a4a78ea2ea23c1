"""Rendered feed documents: published together, read by the web processes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from feeds.model import FeedDocument
from feeds.store.db import DOCUMENTS_VERSION, bump_version, chunks
from feeds.store.schema import feed_documents


def publish_documents(conn: Connection, documents: Iterable[FeedDocument]) -> list[str]:
    """Make ``documents`` the complete published set, in the caller's transaction.

    Only documents whose bytes changed are written (the ETag is a hash of the
    bytes), documents no longer produced are removed, and ``documents_version``
    moves only when something did change, so web processes reload only then.
    Returns the paths that changed.

    Last-Modified never goes back for a path whose bytes change. A feed's is its
    newest item's ``updated``; when that item is retracted the newest remaining
    one is older, and a reader polling with If-Modified-Since alone would be
    told 304 forever. Changed bytes therefore get at least the previous value
    plus one second.
    """
    current = {
        r.path: (r.etag, r.last_modified)
        for r in conn.execute(select(feed_documents.c.path, feed_documents.c.etag, feed_documents.c.last_modified))
    }
    changed: list[str] = []
    wanted: set[str] = set()
    for doc in documents:
        wanted.add(doc.path)
        if _write(conn, doc, current.get(doc.path)):
            changed.append(doc.path)
    obsolete = sorted(set(current) - wanted)
    for chunk in chunks(obsolete):
        conn.execute(delete(feed_documents).where(feed_documents.c.path.in_(chunk)))
    changed.extend(obsolete)
    if changed:
        bump_version(conn, DOCUMENTS_VERSION)
    return changed


def write_documents(conn: Connection, documents: Iterable[FeedDocument], removed: Iterable[str] = ()) -> list[str]:
    """Publish ``documents`` and withdraw ``removed``, leaving every other published document
    as it is (an incremental build): only the rows of these paths are read. Same rules as
    :func:`publish_documents`; returns the paths that changed."""
    docs = list(documents)
    current: dict[str, tuple[str, datetime]] = {}
    paths = [d.path for d in docs]
    for chunk in chunks(paths):
        query = select(feed_documents.c.path, feed_documents.c.etag, feed_documents.c.last_modified)
        current.update({r.path: (r.etag, r.last_modified) for r in conn.execute(query.where(feed_documents.c.path.in_(chunk)))})
    changed = [doc.path for doc in docs if _write(conn, doc, current.get(doc.path))]
    gone = sorted(set(removed) - set(paths))
    for chunk in chunks(gone):
        deleted = conn.execute(delete(feed_documents).where(feed_documents.c.path.in_(chunk)).returning(feed_documents.c.path))
        changed.extend(sorted(deleted.scalars()))
    if changed:
        bump_version(conn, DOCUMENTS_VERSION)
    return changed


def _write(conn: Connection, doc: FeedDocument, published: tuple[str, datetime] | None) -> bool:
    """Write ``doc`` unless ``published`` (its row's ETag and Last-Modified) says the same bytes
    are there; True if written."""
    etag, previous = published or (None, None)
    if etag == doc.etag:
        return False
    last_modified = doc.last_modified
    if previous is not None and last_modified <= previous:
        last_modified = previous.replace(microsecond=0) + timedelta(seconds=1)
    values = {
        "content_type": doc.content_type,
        "body": doc.body,
        "gzip_body": doc.gzip_body,
        "etag": doc.etag,
        "last_modified": last_modified,
    }
    if published is not None:
        conn.execute(update(feed_documents).where(feed_documents.c.path == doc.path).values(**values))
    else:
        conn.execute(insert(feed_documents).values(path=doc.path, **values))
    return True


def load_documents(conn: Connection, known: Mapping[str, FeedDocument] | None = None) -> dict[str, FeedDocument]:
    """The published set. A document in ``known`` whose ETag is still the published
    one is reused, not read again: a publish usually changes a few documents of
    many, and each is a few hundred KB twice over (plain and gzip). Call inside
    ``read_snapshot`` so the ETags and the bodies come from one publish."""
    known = known or {}
    published = conn.execute(select(feed_documents.c.path, feed_documents.c.etag)).all()
    documents = {path: known[path] for path, etag in published if path in known and known[path].etag == etag}
    to_read = [path for path, _ in published if path not in documents]
    for chunk in chunks(to_read):
        for r in conn.execute(select(feed_documents).where(feed_documents.c.path.in_(chunk))):
            documents[r.path] = FeedDocument(
                r.path, r.content_type, bytes(r.body), bytes(r.gzip_body), r.etag, r.last_modified
            )
    return documents


def published_size(conn: Connection) -> tuple[int, int]:
    """How many documents are published, and their bytes (plain and gzip), without reading
    a body: both databases know a value's length from its header."""
    count, size = conn.execute(
        select(func.count(), func.coalesce(func.sum(func.length(feed_documents.c.body)
                                                    + func.length(feed_documents.c.gzip_body)), 0))
    ).one()
    return int(count), int(size)


def published_etags(conn: Connection, paths: Iterable[str]) -> dict[str, str]:
    """The ETag of each of ``paths`` that is published."""
    wanted = sorted(set(paths))
    etags: dict[str, str] = {}
    for chunk in chunks(wanted):
        query = select(feed_documents.c.path, feed_documents.c.etag).where(feed_documents.c.path.in_(chunk))
        etags.update({r.path: r.etag for r in conn.execute(query)})
    return etags


def read_documents(conn: Connection, paths: Iterable[str], *, bodies: bool = True) -> dict[str, FeedDocument]:
    """The published documents among ``paths``, by primary key; with ``bodies=False`` their
    validators and type only (empty bodies), which is all a conditional request needs."""
    columns = [feed_documents.c.path, feed_documents.c.content_type, feed_documents.c.etag,
               feed_documents.c.last_modified]
    if bodies:
        columns += [feed_documents.c.body, feed_documents.c.gzip_body]
    rows = conn.execute(select(*columns).where(feed_documents.c.path.in_(sorted(set(paths)))))
    return {
        r.path: FeedDocument(r.path, r.content_type, bytes(r.body) if bodies else b"",
                             bytes(r.gzip_body) if bodies else b"", r.etag, r.last_modified)
        for r in rows
    }
