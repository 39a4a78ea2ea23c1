"""Article rows: upsert with identity rules, retraction, and the newest-first query feeds use."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import Any, NamedTuple

from sqlalchemy import Connection, Row, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from feeds.limits import check_limits
from feeds.model import FILE_SOURCE_PREFIX, Article
from feeds.store.db import ARTICLES_VERSION, bump_version, insert_ignore
from feeds.store.schema import article_changes, articles, sources


class Change(str, Enum):
    INGESTED = "ingested"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    STALE = "stale"  # an older version than the one stored, which is kept


def note_changes(conn: Connection, article_ids: list[str]) -> None:
    """Log changed articles for the next build (``article_changes``) and move the counter,
    in the caller's transaction: the build re-renders only what these articles touch."""
    if article_ids:
        conn.execute(article_changes.insert(), [{"article_id": i} for i in article_ids])
        bump_version(conn, ARTICLES_VERSION)


def _no_nul(value: str) -> str:
    return value.replace("\x00", "")


def _row_values(article: Article) -> dict[str, Any]:
    """Column values; NUL is dropped from text because PostgreSQL text cannot hold it
    (the ingester never produces one, but the store must act alike on both backends)."""
    text = {
        "title": article.title,
        "summary": article.summary,
        "content_html": article.content_html,
        "text": article.text,
    }
    return {
        **{key: _no_nul(value) for key, value in text.items()},
        "id": article.id,
        "url": article.url,
        "section": article.section,
        "published": article.published,
        "updated": article.updated,
        "authors": [_no_nul(a) for a in article.authors],
        "image": article.image,
        "tags": [_no_nul(t) for t in article.tags],
        "language": article.language,
        "source": article.source,
        "content_hash": article.content_hash,
    }


def _article(row: Row[Any]) -> Article:
    m = row._mapping
    return Article(
        id=m["id"],
        url=m["url"],
        title=m["title"],
        section=m["section"],
        published=m["published"],
        updated=m["updated"],
        summary=m["summary"],
        content_html=m["content_html"],
        text=m["text"],
        authors=tuple(m["authors"]),
        image=m["image"],
        tags=tuple(m["tags"]),
        language=m["language"],
        source=m["source"],
        content_hash=m["content_hash"],
    )


def upsert_article(conn: Connection, article: Article, written_at: datetime | None, *,
                   reread: bool = False) -> Change:
    """Insert an article, or replace the stored version of it with this one if this one is newer.

    Versions are ordered by their date, then by content hash. A page's date is its own
    modified date (else its publication date): a webhook retried late, or two pushes
    crossing, bring versions in any order, and only what the page says orders them; the
    hash breaks a tie so the same version wins whatever the order of arrival (and so
    ``updated`` stays the page's own date instead of moving at every write). A file is
    the one exception: it holds one version at a time, so a rewritten file is newer than
    what it gave before, dated ``written_at`` (its mtime, never later than now) when the
    page itself does not say a later date. An older version changes nothing: STALE.

    ``reread``: the source gave the stored version and has not changed since; a newer
    ingester read it again. That is the same version read better, not a rival one, so it
    replaces what its source gave whatever the hashes say, and keeps its date. A stored
    version from another source is ordered as usual.

    A value over its field's limit raises FieldTooLong before anything is written, on
    SQLite (which would keep it) as on PostgreSQL (which would refuse it).
    """
    check_limits(article)
    # Insert first, ignoring a conflict: two concurrent pushes of a new article
    # cannot both insert (one waits for the other's row, on PostgreSQL and SQLite
    # alike), and the loser falls through to compare with the winner's row. The
    # loop covers the row vanishing (a concurrent retraction) in between.
    while True:
        if insert_ignore(conn, articles, _row_values(article)):
            note_changes(conn, [article.id])
            return Change.INGESTED
        existing = conn.execute(
            select(articles.c.content_hash, articles.c.updated, articles.c.source, articles.c.section)
            .where(articles.c.id == article.id)
            .with_for_update()
        ).first()
        if existing is not None:
            break
    if reread and existing.source == article.source:
        if existing.content_hash == article.content_hash:
            return Change.UNCHANGED
        article = article.replace(updated=existing.updated)
    elif existing.content_hash == article.content_hash:
        if existing.source == article.source and existing.section == article.section:
            return Change.UNCHANGED
        article = article.replace(updated=existing.updated)  # the same version, from elsewhere: same date
    else:
        dated = article.replace(updated=_version_date(article, existing.source, written_at))
        if (dated.updated, dated.content_hash) < (existing.updated, existing.content_hash):
            return Change.STALE
        article = dated
    conn.execute(update(articles).where(articles.c.id == article.id).values(**_row_values(article)))
    note_changes(conn, [article.id])
    return Change.UPDATED


def _version_date(article: Article, stored_source: str, written_at: datetime | None) -> datetime:
    """The date that orders ``article`` against the stored version (see upsert_article)."""
    if written_at is None or article.source != stored_source or not article.source.startswith(FILE_SOURCE_PREFIX):
        return article.updated
    return max(article.updated, min(written_at, datetime.now(UTC)))


def delete_article(conn: Connection, article_id: str) -> bool:
    """Retract an article from every feed; True if it existed."""
    gone = conn.execute(delete(articles).where(articles.c.id == article_id)).rowcount > 0
    if gone:
        note_changes(conn, [article_id])
    return gone


def get_article(conn: Connection, article_id: str) -> Article | None:
    row = conn.execute(select(articles).where(articles.c.id == article_id)).first()
    return None if row is None else _article(row)


def recent_articles(conn: Connection, section: str | None, limit: int) -> list[Article]:
    """The newest ``limit`` articles (of one section, or of all), newest first.

    Ties on ``published`` are broken by id so the order, and so the feed bytes,
    never depend on the database's whim.
    """
    query = select(articles).order_by(articles.c.published.desc(), articles.c.id).limit(limit)
    if section is not None:
        query = query.where(articles.c.section == section)
    return [_article(row) for row in conn.execute(query)]


def sections_in_use(conn: Connection) -> list[str]:
    return sorted(conn.execute(select(articles.c.section).distinct()).scalars())


# -- what the folder scan has seen -------------------------------------------------


class SeenSource(NamedTuple):
    """What the scan recorded of a file: its stat, the rejection (if any), and which ingester read it."""

    mtime_ns: int
    size: int
    error: str | None
    bug: bool
    ingester: str | None


def known_sources(conn: Connection, prefix: str) -> dict[str, SeenSource]:
    """``{source: SeenSource}`` for every file the scan has recorded."""
    columns = (sources.c.mtime_ns, sources.c.size, sources.c.error, sources.c.bug, sources.c.ingester)
    rows = conn.execute(select(sources.c.source, *columns).where(sources.c.source.startswith(prefix)))
    return {r.source: SeenSource(r.mtime_ns, r.size, r.error, bool(r.bug), r.ingester) for r in rows}


def record_source(
    conn: Connection, source: str, mtime_ns: int, size: int, article_id: str | None, error: str | None,
    *, bug: bool = False, ingester: str,
) -> None:
    values = {"mtime_ns": mtime_ns, "size": size, "article_id": article_id, "error": error,
              "bug": bug, "ingester": ingester}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(sources).values(source=source, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=[sources.c.source], set_=values))


def count_ingester_bugs(conn: Connection) -> int:
    """Files the ingester itself failed on (a bug, not the page's fault), for ``/healthz``."""
    return int(conn.execute(select(func.count()).select_from(sources).where(sources.c.bug)).scalar_one())


def forget_source(conn: Connection, source: str) -> bool:
    """Drop a vanished file and the articles it brought; True if an article went."""
    conn.execute(delete(sources).where(sources.c.source == source))
    ids = list(conn.execute(delete(articles).where(articles.c.source == source).returning(articles.c.id)).scalars())
    note_changes(conn, ids)
    return bool(ids)
