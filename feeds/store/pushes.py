"""The queue of pushed pages, and their receipts.

A push is stored as it came (``receive``: one INSERT, all the web process does);
the clock's intake (:mod:`feeds.intake`) takes the queued ones in order, and
``settle`` records what became of each (the article's change, or the reason it
was rejected) and drops the page. A CMS reads that back by the push's number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select, update

from feeds.store.schema import pushes

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
    """The oldest queued pushes first: a CMS's later correction is taken after its first version."""
    rows = conn.execute(
        select(pushes.c.id, pushes.c.page, pushes.c.base_url, pushes.c.received_at)
        .where(pushes.c.state == QUEUED)
        .order_by(pushes.c.id)
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


def prune(conn: Connection, now: datetime) -> int:
    """Forget receipts settled more than RECEIPT_DAYS ago; how many."""
    cutoff = now - timedelta(days=RECEIPT_DAYS)
    return conn.execute(delete(pushes).where(pushes.c.state != QUEUED, pushes.c.done_at < cutoff)).rowcount
