"""The queue of pushed pages, and their receipts.

A push is stored as it came (``receive``: one INSERT, all the web process does);
the clock's intake (:mod:`feeds.intake`) takes the queued ones in order, and
``settle`` records what became of each (the article's change, or the reason it
was rejected) and drops the page. A CMS reads that back by the push's number.
A push the ingester failed on with a bug of its own stays queued with the reason
(``wait``), behind the pushes that have not failed, until an intake takes it.

The page behind each pushed article's stored version is kept apart
(``pushed_pages``, zlib-compressed), for a newer ingester to read again.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from feeds.store.schema import articles, pushed_pages, pushes

QUEUED = "queued"
REJECTED = "rejected"
RECEIPT_DAYS = 7  # a settled push's receipt is kept this long


@dataclass(frozen=True)
class Receipt:
    """What became of a push: ``state`` is queued, rejected, or the article's change."""

    id: int
    state: str
    received_at: datetime
    article_id: str | None
    error: str | None
    done_at: datetime | None


@dataclass(frozen=True)
class Queued:
    id: int
    page: bytes
    base_url: str | None
    received_at: datetime


def receive(conn: Connection, page: bytes, base_url: str | None, now: datetime) -> int:
    """Queue a pushed page; its number."""
    row = conn.execute(
        insert(pushes).values(received_at=now, base_url=base_url, page=page, state=QUEUED).returning(pushes.c.id)
    )
    return int(row.scalar_one())


def receipt(conn: Connection, push_id: int) -> Receipt | None:
    row = conn.execute(
        select(pushes.c.id, pushes.c.state, pushes.c.received_at, pushes.c.article_id, pushes.c.error,
               pushes.c.done_at).where(pushes.c.id == push_id)
    ).first()
    return None if row is None else Receipt(*row)


def queued(conn: Connection, limit: int) -> list[Queued]:
    """The oldest queued pushes first: a CMS's later correction is taken after its first version.
    Those that failed before (``wait``) come after the rest, so they never hold the queue up."""
    rows = conn.execute(
        select(pushes.c.id, pushes.c.page, pushes.c.base_url, pushes.c.received_at)
        .where(pushes.c.state == QUEUED)
        .order_by(pushes.c.error.is_not(None), pushes.c.id)
        .limit(limit)
    )
    return [Queued(r.id, bytes(r.page), r.base_url, r.received_at) for r in rows]


def count_queued(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(pushes).where(pushes.c.state == QUEUED)).scalar_one())


def settle(conn: Connection, push_id: int, state: str, article_id: str | None, error: str | None,
           now: datetime) -> None:
    """Record what became of a push; its page is no longer needed."""
    conn.execute(
        update(pushes).where(pushes.c.id == push_id)
        .values(state=state, article_id=article_id, error=error, done_at=now, page=None)
    )


def wait(conn: Connection, push_id: int, reason: str) -> bool:
    """Leave a push queued, page and all, saying why; whether the reason is new."""
    before = conn.execute(select(pushes.c.error).where(pushes.c.id == push_id)).scalar_one_or_none()
    conn.execute(update(pushes).where(pushes.c.id == push_id).values(error=reason))
    return before != reason


def prune(conn: Connection, now: datetime) -> int:
    """Forget receipts settled more than RECEIPT_DAYS ago; how many."""
    cutoff = now - timedelta(days=RECEIPT_DAYS)
    return conn.execute(delete(pushes).where(pushes.c.state != QUEUED, pushes.c.done_at < cutoff)).rowcount


@dataclass(frozen=True)
class KeptPage:
    article_id: str
    page: bytes
    base_url: str | None
    received_at: datetime


def keep_page(conn: Connection, article_id: str, push: Queued, ingester: str) -> None:
    """Keep the page a push's article was stored from, replacing the one it came from before."""
    conn.execute(delete(pushed_pages).where(pushed_pages.c.article_id == article_id))
    conn.execute(insert(pushed_pages).values(article_id=article_id, page=zlib.compress(push.page), ingester=ingester,
                                             base_url=push.base_url, received_at=push.received_at))


def pages_to_reread(conn: Connection, ingester: str, limit: int, source: str) -> tuple[list[KeptPage], list[str]]:
    """Up to ``limit`` kept pages another ingester read: those whose article still comes
    from ``source`` (a push), to read again, and the ids of those whose article is gone or
    comes from elsewhere now, to drop, so that a re-read never brings back a retracted or
    superseded version. Reads only: an intake with nothing to do writes nothing."""
    rows = conn.execute(
        select(pushed_pages.c.article_id, pushed_pages.c.page, pushed_pages.c.base_url, pushed_pages.c.received_at,
               articles.c.id.label("current"))
        .outerjoin(articles, (articles.c.id == pushed_pages.c.article_id) & (articles.c.source == source))
        .where(pushed_pages.c.ingester.is_(None) | (pushed_pages.c.ingester != ingester))
        .order_by(pushed_pages.c.article_id).limit(limit)
    ).all()
    kept = [KeptPage(r.article_id, zlib.decompress(r.page), r.base_url, r.received_at) for r in rows if r.current]
    return kept, [r.article_id for r in rows if r.current is None]


def mark_read(conn: Connection, article_id: str, ingester: str) -> None:
    conn.execute(update(pushed_pages).where(pushed_pages.c.article_id == article_id).values(ingester=ingester))


def drop_pages(conn: Connection, article_ids: list[str]) -> None:
    conn.execute(delete(pushed_pages).where(pushed_pages.c.article_id.in_(article_ids)))
