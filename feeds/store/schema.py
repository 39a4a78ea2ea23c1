"""Tables. One schema for SQLite and PostgreSQL; datetimes are stored as UTC.

Column lengths come from ``feeds/limits.py``, where every field's limit is, and
which the ingester and the store enforce alike on both backends (SQLite would
not). Changing one needs a migration.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    false,
)

from feeds.limits import MAX_HASH, MAX_LANGUAGE, MAX_NAME, MAX_SECTION, MAX_URL

MAX_FEED = 80  # "section/", "topic/" or "author/" and a slug of at most MAX_SECTION


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on every backend.

    SQLite has no time zone type and hands back naive values; normalising to
    UTC on the way in and re-attaching it on the way out keeps comparisons and
    rendered dates identical whichever database is behind the store.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()

articles = Table(
    "articles",
    metadata,
    Column("id", String(MAX_URL), primary_key=True),
    Column("url", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("section", String(MAX_SECTION), nullable=False),
    Column("published", UTCDateTime, nullable=False),
    Column("updated", UTCDateTime, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("content_html", Text, nullable=False),
    Column("text", Text, nullable=False),
    Column("authors", JSON, nullable=False),
    Column("image", Text),
    Column("tags", JSON, nullable=False),
    Column("language", String(MAX_LANGUAGE)),
    Column("source", String(MAX_URL), nullable=False),
    Column("content_hash", String(MAX_HASH), nullable=False),
    Index("ix_articles_section_published", "section", "published"),
    Index("ix_articles_published", "published"),
    Index("ix_articles_source", "source"),
)

# What the folder scan has seen of each file, so an unchanged file is not read
# again, and a rejected one is not retried until it changes: unless the ingester
# that read it is older than the running one (``ingester``), or the rejection was
# the ingester's own bug (``bug``), which every scan retries.
sources = Table(
    "sources",
    metadata,
    Column("source", String(MAX_URL), primary_key=True),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("article_id", String(MAX_URL)),
    Column("error", Text),
    Column("ingester", String(32)),
    Column("bug", Boolean, nullable=False, server_default=false()),
)

# Pages pushed by a CMS, as received, until the clock's intake ingests them: the web
# process only stores a page (one INSERT), so a push never holds up its polls. The
# row stays as the push's receipt (what became of it), without the page, for
# RECEIPT_DAYS (feeds/store/pushes.py).
pushes = Table(
    "pushes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("received_at", UTCDateTime, nullable=False),
    Column("base_url", Text),
    Column("page", LargeBinary),
    Column("state", String(16), nullable=False),
    Column("article_id", String(MAX_URL)),
    Column("error", Text),
    Column("done_at", UTCDateTime),
    Index("ix_pushes_state_id", "state", "id"),
)

# The page each pushed article's stored version came from, compressed, so that a newer
# ingester (``ingester``: the one that read it) can read it again, as it reads the
# articles folder's files again (feeds/intake.py). A row whose article is gone, or now
# comes from elsewhere, is dropped at the next re-read, never read back into the feeds.
pushed_pages = Table(
    "pushed_pages",
    metadata,
    Column("article_id", String(MAX_URL), primary_key=True),
    Column("page", LargeBinary, nullable=False),
    Column("base_url", Text),
    Column("received_at", UTCDateTime, nullable=False),
    Column("ingester", String(32)),
    Index("ix_pushed_pages_ingester", "ingester"),
)

feed_documents = Table(
    "feed_documents",
    metadata,
    Column("path", String(255), primary_key=True),
    Column("content_type", String(100), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("gzip_body", LargeBinary, nullable=False),
    Column("etag", String(100), nullable=False),
    Column("last_modified", UTCDateTime, nullable=False),
)

# Which feeds each article is in, as the last build saw it: one row per (feed, article),
# where ``feed`` is ``all``, ``section/<slug>``, ``topic/<slug>`` or ``author/<slug>``.
# The build keeps it in step with the articles (from ``article_changes``), so a feed's
# newest items, its archive pages and an item's page are index range scans of one
# feed's rows, whatever the size of the archive. ``published`` is the article's, copied
# here so the order needs no join. Every feed's order is (published DESC, article_id): the
# index is scanned backwards by published, ties (rare) sorted as they come.
feed_items = Table(
    "feed_items",
    metadata,
    Column("feed", String(MAX_FEED), primary_key=True),
    Column("article_id", String(MAX_URL), primary_key=True),
    Column("published", UTCDateTime, nullable=False),
    Index("ix_feed_items_order", "feed", "published", "article_id"),
    Index("ix_feed_items_article", "article_id"),
)

# One row per feed in ``feed_items``: how many items, and the label it was first seen
# with (a topic's tag as written, an author's byline), for titles. Whether a feed is
# published (``min_articles``) is decided from ``items`` without counting rows.
feed_stats = Table(
    "feed_stats",
    metadata,
    Column("feed", String(MAX_FEED), primary_key=True),
    Column("items", Integer, nullable=False),
    Column("label", String(MAX_NAME), nullable=False),
)

# The sealed archive pages of each feed: page ``page`` (1 = the oldest) holds the feed's
# items from just after page ``page - 1``'s boundary up to and including this boundary
# item, ``(published, article_id)``. A page is sealed when it fills (``items_per_feed``
# items older than the subscription document's), and never moves after: a retraction
# or a backdated story changes the one page whose range holds it. Only the newest page
# is ever unsealed, when retractions leave the subscription document short.
feed_pages = Table(
    "feed_pages",
    metadata,
    Column("feed", String(MAX_FEED), primary_key=True),
    Column("page", Integer, primary_key=True, autoincrement=False),
    Column("published", UTCDateTime, nullable=False),
    Column("article_id", String(MAX_URL), nullable=False),
)

# Articles changed (upserted, retracted) since the last build, written in the same
# transaction as the change; the build reads them, updates ``feed_items`` and renders
# only the documents they touch, then deletes the rows it read: the table stays small.
article_changes = Table(
    "article_changes",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("article_id", String(MAX_URL), nullable=False),
)

# Counters that let a process tell "something changed" with one cheap query:
# articles_version moves with every article change, built_version records the
# articles_version a build rendered, documents_version moves with every publish.
state = Table(
    "state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("changed_at", UTCDateTime),
)
