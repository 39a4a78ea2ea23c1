"""Feed membership: which articles each feed holds (``feed_items``), how many (``feed_stats``),
and the log of article changes the next build reads (``article_changes``).

Every query here is a range of one feed's rows in ``ix_feed_items_order``
(feed, published DESC, article_id) or a lookup by primary key, so its cost follows
the feed's page size or the item's position, not the size of the archive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, bindparam, delete, func, insert, or_, select, update

from feeds.model import Article
from feeds.store.articles import _article
from feeds.store.db import chunks, insert_ignore
from feeds.store.schema import article_changes, articles, feed_items, feed_pages, feed_stats, state

META = (articles.c.id, articles.c.section, articles.c.published, articles.c.tags, articles.c.authors)
STATS = (feed_stats.c.feed, feed_stats.c["items"], feed_stats.c.label)
ROWS_PER_INSERT = 10_000  # rows per executemany when filling the membership tables


def pending_changes(conn: Connection) -> tuple[int, list[str]]:
    """(the highest change seen, the distinct article ids changed), oldest change first."""
    rows = conn.execute(select(article_changes.c.seq, article_changes.c.article_id).order_by(article_changes.c.seq))
    last, ids = 0, {}
    for seq, article_id in rows:
        last = seq
        ids[article_id] = None
    return last, list(ids)


def clear_changes(conn: Connection, up_to: int | None = None) -> None:
    """Forget the changes a build has taken in (all of them, or up to ``up_to``). On
    PostgreSQL a change committed after the build's snapshot is invisible to it, so it is
    not deleted and the next build takes it."""
    statement = delete(article_changes)
    if up_to is not None:
        statement = statement.where(article_changes.c.seq <= up_to)
    conn.execute(statement)


def article_meta(conn: Connection, ids: Sequence[str]) -> list[Any]:
    """``(id, section, published, tags, authors)`` of the articles still stored among ``ids``."""
    out: list[Any] = []
    for chunk in chunks(ids):
        out.extend(conn.execute(select(*META).where(articles.c.id.in_(chunk))).all())
    return out


def all_article_meta(conn: Connection, batch: int = 5000) -> Iterator[Any]:
    """Every article's ``(id, section, published, tags, authors)``, oldest first, streamed."""
    query = select(*META).order_by(articles.c.published, articles.c.id.desc())  # the feeds' order, reversed
    yield from conn.execute(query.execution_options(stream_results=True, yield_per=batch))


def memberships(conn: Connection, ids: Sequence[str]) -> dict[tuple[str, str], datetime]:
    """``{(feed, article_id): published}`` as the last build recorded them, for ``ids``."""
    out: dict[tuple[str, str], datetime] = {}
    columns = (feed_items.c.feed, feed_items.c.article_id, feed_items.c.published)
    for chunk in chunks(ids):
        for feed, article_id, published in conn.execute(select(*columns).where(feed_items.c.article_id.in_(chunk))):
            out[(feed, article_id)] = published
    return out


def remove_items(conn: Connection, pairs: Iterable[tuple[str, str]]) -> None:
    rows = [{"f": feed, "a": article_id} for feed, article_id in pairs]
    if rows:
        conn.execute(
            delete(feed_items).where(feed_items.c.feed == bindparam("f"), feed_items.c.article_id == bindparam("a")),
            rows,
        )


def add_items(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert ``{"feed", "article_id", "published"}`` rows."""
    for chunk in chunks(rows, ROWS_PER_INSERT):
        conn.execute(insert(feed_items), chunk)


def stats(conn: Connection, feeds: Sequence[str] | None = None) -> dict[str, tuple[int, str]]:
    """``{feed: (items, label)}`` for ``feeds`` (all feeds when None)."""
    if feeds is None:
        return {f: (n, label) for f, n, label in conn.execute(select(*STATS))}
    out: dict[str, tuple[int, str]] = {}
    for chunk in chunks(list(feeds)):
        out.update({f: (n, label) for f, n, label in conn.execute(select(*STATS).where(feed_stats.c.feed.in_(chunk)))})
    return out


def _listed(prefix: str, min_items: int) -> list[Any]:
    """Conditions for the feeds whose name starts with ``prefix`` and that hold at least
    ``min_items`` items: those published (``min_articles``)."""
    return [feed_stats.c.feed.startswith(prefix, autoescape=True), feed_stats.c["items"] >= min_items]


def listed_stats(conn: Connection, prefix: str, min_items: int) -> list[tuple[str, int, str]]:
    """``(feed, items, label)`` of the feeds whose name starts with ``prefix`` and that hold
    at least ``min_items`` items."""
    return [tuple(r) for r in conn.execute(select(*STATS).where(*_listed(prefix, min_items)))]  # type: ignore[misc]


def count_listed(conn: Connection, prefix: str, min_items: int) -> int:
    """How many feeds whose name starts with ``prefix`` hold at least ``min_items`` items."""
    query = select(func.count()).select_from(feed_stats).where(*_listed(prefix, min_items))
    return int(conn.execute(query).scalar_one())


def busiest(conn: Connection, prefix: str, min_items: int, limit: int | None) -> list[tuple[str, int, str]]:
    """Like :func:`listed_stats`, the feeds with the most items first (ties by name), at most ``limit``."""
    query = (
        select(*STATS).where(*_listed(prefix, min_items))
        .order_by(feed_stats.c["items"].desc(), feed_stats.c.feed)
        .limit(limit)
    )
    return [tuple(r) for r in conn.execute(query)]  # type: ignore[misc]


def write_stats(conn: Connection, before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> None:
    """Make ``feed_stats`` say ``after`` for its feeds (0 items: the row goes)."""
    gone = [f for f, (n, _) in after.items() if n <= 0 and f in before]
    new = [{"feed": f, "items": n, "label": label} for f, (n, label) in after.items() if n > 0 and f not in before]
    moved = [{"f": f, "n": n} for f, (n, _) in after.items() if n > 0 and f in before and before[f][0] != n]
    for chunk in chunks(gone):
        conn.execute(delete(feed_stats).where(feed_stats.c.feed.in_(chunk)))
    if new:
        conn.execute(insert(feed_stats), new)
    if moved:
        conn.execute(update(feed_stats).where(feed_stats.c.feed == bindparam("f")).values(items=bindparam("n")), moved)


def reset(conn: Connection) -> None:
    """Empty the membership tables (before they are filled again from the articles)."""
    conn.execute(delete(feed_items))
    conn.execute(delete(feed_stats))
    conn.execute(delete(feed_pages))
    clear_changes(conn)


Position = tuple[datetime, str]  # (published, article_id): where an item sits in its feed's order


def newer_than(b: Position) -> Any:
    """Items before ``b`` in the feed's order (newest first; on a tie in ``published``, the
    smaller id first). The redundant bound on ``published`` keeps it an index range."""
    p, a = feed_items.c.published, feed_items.c.article_id
    return and_(p >= b[0], or_(p > b[0], a < b[1]))


def at_or_older(b: Position) -> Any:
    """Items at ``b`` or after it in the feed's order."""
    p, a = feed_items.c.published, feed_items.c.article_id
    return and_(p <= b[0], or_(p < b[0], a >= b[1]))


def boundaries(conn: Connection, feed: str) -> list[Position]:
    """The sealed pages' boundaries of ``feed``, page 1 (the oldest) first."""
    rows = conn.execute(
        select(feed_pages.c.published, feed_pages.c.article_id).where(feed_pages.c.feed == feed)
        .order_by(feed_pages.c.page)
    )
    return [(p, a) for p, a in rows]


def boundary_at(conn: Connection, feed: str, page: int) -> Position | None:
    row = conn.execute(
        select(feed_pages.c.published, feed_pages.c.article_id).where(feed_pages.c.feed == feed, feed_pages.c.page == page)
    ).first()
    return None if row is None else (row.published, row.article_id)


def last_boundary(conn: Connection, feed: str) -> tuple[int, Position | None]:
    """(the number of sealed pages, the newest one's boundary)."""
    row = conn.execute(
        select(feed_pages.c.page, feed_pages.c.published, feed_pages.c.article_id)
        .where(feed_pages.c.feed == feed).order_by(feed_pages.c.page.desc()).limit(1)
    ).first()
    return (0, None) if row is None else (row.page, (row.published, row.article_id))


def page_holding(conn: Connection, feed: str, x: Position) -> int | None:
    """The sealed page whose range holds position ``x`` (None: newer than every sealed page)."""
    fp = feed_pages.c
    return conn.execute(
        select(fp.page).where(fp.feed == feed, or_(fp.published > x[0], and_(fp.published == x[0], fp.article_id <= x[1])))
        .order_by(fp.page).limit(1)
    ).scalar_one_or_none()


def seal(conn: Connection, feed: str, page: int, b: Position) -> None:
    conn.execute(insert(feed_pages).values(feed=feed, page=page, published=b[0], article_id=b[1]))


def unseal(conn: Connection, feed: str, page: int) -> None:
    conn.execute(delete(feed_pages).where(feed_pages.c.feed == feed, feed_pages.c.page == page))


def seal_all(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert ``{"feed", "page", "published", "article_id"}`` boundary rows."""
    for chunk in chunks(rows, ROWS_PER_INSERT):
        conn.execute(insert(feed_pages), chunk)


def in_range(feed: str, newer: Position | None, older: Position | None = None) -> list[Any]:
    """Conditions for the items of ``feed`` newer than ``newer`` and at or older than
    ``older`` (each bound optional): an index range of the feed."""
    conditions = [feed_items.c.feed == feed]
    if newer is not None:
        conditions.append(newer_than(newer))
    if older is not None:
        conditions.append(at_or_older(older))
    return conditions


def count_range(conn: Connection, feed: str, newer: Position | None, older: Position | None = None) -> int:
    """Items of ``feed`` newer than ``newer`` (all when None) and at or older than ``older``."""
    return int(conn.execute(select(func.count()).select_from(feed_items).where(*in_range(feed, newer, older)))
               .scalar_one())


def nth_oldest(conn: Connection, feed: str, newer: Position | None, n: int) -> Position:
    """The position of the ``n``-th oldest item (1-based) among those newer than ``newer``."""
    p, a = feed_items.c.published, feed_items.c.article_id
    row = conn.execute(select(p, a).where(*in_range(feed, newer)).order_by(p, a.desc()).offset(n - 1).limit(1)).one()
    return (row.published, row.article_id)


def feed_page(conn: Connection, feed: str, offset: int, limit: int | None,
              newer: Position | None = None, older: Position | None = None) -> list[Article]:
    """Articles of ``feed`` newest first (ties broken by id, so the order, and so the bytes,
    never depend on the database's whim): those newer than ``newer`` and at or older than
    ``older`` (each bound optional), from ``offset``, at most ``limit``. With bounds, an
    index range of the feed, however deep in the archive."""
    p, a = feed_items.c.published, feed_items.c.article_id
    picked = select(a, p).where(*in_range(feed, newer, older)).order_by(p.desc(), a).offset(offset).limit(limit).subquery()
    query = (
        select(articles)
        .join(picked, articles.c.id == picked.c.article_id)
        .order_by(picked.c.published.desc(), picked.c.article_id)
    )
    return [_article(row) for row in conn.execute(query)]


def feed_articles(conn: Connection, feed: str, batch: int = 500) -> Iterator[Article]:
    """Every article of ``feed``, newest first, streamed."""
    query = (
        select(articles)
        .join(feed_items, and_(feed_items.c.article_id == articles.c.id, feed_items.c.feed == feed))
        .order_by(feed_items.c.published.desc(), feed_items.c.article_id)
    )
    for row in conn.execute(query.execution_options(stream_results=True, yield_per=batch)):
        yield _article(row)


def newest_update(conn: Connection, feed: str, limit: int) -> datetime | None:
    """The latest ``updated`` among ``feed``'s newest ``limit`` items."""
    picked = (
        select(feed_items.c.article_id).where(feed_items.c.feed == feed)
        .order_by(feed_items.c.published.desc(), feed_items.c.article_id).limit(limit).subquery()
    )
    return conn.execute(
        select(func.max(articles.c.updated)).join(picked, articles.c.id == picked.c.article_id)
    ).scalar_one()


def get_mark(conn: Connection, key: str) -> int | None:
    return conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one_or_none()


def set_mark(conn: Connection, key: str, value: int) -> None:
    if not insert_ignore(conn, state, {"key": key, "value": value, "changed_at": None}):
        conn.execute(update(state).where(state.c.key == key).values(value=value))


