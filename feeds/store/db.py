"""Engine creation and the version counters kept in the ``state`` table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from feeds.store.schema import metadata, state

ARTICLES_VERSION = "articles_version"
BUILT_VERSION = "built_version"
DOCUMENTS_VERSION = "documents_version"


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so the web and the
    scheduler can share one file without "database is locked" errors."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def init_db(engine: Engine) -> None:
    """Create missing tables and the counters rows."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        for key in (ARTICLES_VERSION, BUILT_VERSION, DOCUMENTS_VERSION):
            _insert_ignore(conn, key)


def _insert_ignore(conn: Connection, key: str) -> None:
    values = {"key": key, "value": 0, "changed_at": None}
    if conn.dialect.name == "postgresql":
        conn.execute(postgresql.insert(state).values(**values).on_conflict_do_nothing())
    else:
        conn.execute(sqlite.insert(state).values(**values).on_conflict_do_nothing())


def get_version(conn: Connection, key: str) -> int:
    return int(conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one())


def get_changed_at(conn: Connection, key: str) -> datetime | None:
    return conn.execute(select(state.c.changed_at).where(state.c.key == key)).scalar_one()


def bump_version(conn: Connection, key: str) -> int:
    """Increment a counter inside the caller's transaction and return the new value."""
    conn.execute(
        update(state)
        .where(state.c.key == key)
        .values(value=state.c.value + 1, changed_at=datetime.now(UTC))
    )
    return get_version(conn, key)


def set_version(conn: Connection, key: str, value: int) -> None:
    conn.execute(update(state).where(state.c.key == key).values(value=value, changed_at=datetime.now(UTC)))
