"""Engine creation, migrations, and the version counters kept in the ``state`` table.

The schema is managed by Alembic (``feeds/store/migrations``); :func:`upgrade`
runs it programmatically under a lock, so any number of processes (a release
step, web workers, clocks) may call it at once and exactly one migrates.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event, func, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import Pool

from feeds.store.schema import state
from feeds.store.timeouts import COMMAND, Timeouts

ARTICLES_VERSION = "articles_version"
BUILT_VERSION = "built_version"
DOCUMENTS_VERSION = "documents_version"
# changed_at = the last time the scheduler found the feeds in step with the
# articles (a build, or a check that found nothing to build): /healthz's freshness.
CHECKED_VERSION = "checked_version"
COUNTERS = (ARTICLES_VERSION, BUILT_VERSION, DOCUMENTS_VERSION, CHECKED_VERSION)

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema metadata.create_all made before migrations existed

# PostgreSQL advisory lock keys (any fixed 64-bit numbers, distinct per purpose).
MIGRATE_LOCK = 0x66656564_0001
BUILD_LOCK = 0x66656564_0002
SCHEDULER_LOCK = 0x66656564_0003


def describe(exc: BaseException) -> str:
    """One line saying what went wrong with the database: the driver's own first line
    (``connection failed: ... Connection refused``), else the exception's class."""
    orig = getattr(exc, "orig", None) or exc
    return (str(orig).strip().splitlines() or [exc.__class__.__name__])[0]


def is_sqlite(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "sqlite"


def sqlite_path(engine: Engine) -> Path | None:
    """The database file of a SQLite engine (None for PostgreSQL or in-memory)."""
    if not is_sqlite(engine):
        return None
    database = engine.url.database
    return Path(database) if database and database != ":memory:" else None


def make_engine(
    url: str, *, role: Timeouts = COMMAND, application_name: str | None = None, poolclass: type[Pool] | None = None
) -> Engine:
    """An engine for ``url`` with the timeouts of a process's ``role`` (:mod:`feeds.store.timeouts`).

    SQLite gets WAL and the role's lock wait as its busy timeout, so the web and the
    scheduler can share one file. PostgreSQL gets ``connect_timeout``, keepalives and
    ``tcp_user_timeout`` (unless the URL sets them: an operator's choice wins),
    ``statement_timeout`` and ``lock_timeout`` on every new session, and the
    client-side limit on a server that does not answer (:mod:`feeds.store.watchdog`);
    ``application_name`` shows in ``pg_stat_activity``.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": role.lock})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    from feeds.store import watchdog  # psycopg: imported only for PostgreSQL

    connect_args: dict[str, Any] = {k: v for k, v in role.connect_args().items() if k not in parsed.query}
    connect_args["application_name"] = (application_name or "feeds")[:63]
    options: dict[str, Any] = {"poolclass": poolclass} if poolclass is not None else {}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)
    settings = "; ".join(f"SET {name} = {value}" for name, value in role.session_settings().items())

    @event.listens_for(engine, "do_connect")
    def _watched_connect(_dialect, _record, cargs, cparams):  # type: ignore[no-untyped-def]
        return watchdog.connect(role.answer, *cargs, **cparams)

    @event.listens_for(engine, "connect")
    def _session_timeouts(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        with dbapi_conn.cursor() as cur:
            cur.execute(settings)
        dbapi_conn.commit()

    return engine


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created if missing), released on exit or death."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _alembic_config(conn: Connection) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    cfg = _alembic_config(None)  # type: ignore[arg-type]
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Migrate the schema to ``revision``; returns (before, after) revisions.

    Serialised across processes: a PostgreSQL advisory lock held for the
    migration's transaction (DDL is transactional there, so a failed migration
    leaves nothing behind), or a file lock beside the SQLite file. A database
    made by ``create_all`` before migrations existed is stamped at the baseline.
    """
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    lock_file = sqlite_path(engine)
    with file_lock(lock_file.with_name(lock_file.name + ".migrate.lock")) if lock_file else nullcontext():
        with engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(select(func.pg_advisory_xact_lock(MIGRATE_LOCK)))
            before = MigrationContext.configure(conn).get_current_revision()
            cfg = _alembic_config(conn)
            if before is None and inspect(conn).has_table("articles"):
                command.stamp(cfg, BASELINE)
            command.upgrade(cfg, revision)
            after = MigrationContext.configure(conn).get_current_revision()
    return before, after


def init_db(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to head and make sure the counter rows exist; (before, after)."""
    revisions = upgrade(engine)
    with engine.connect() as conn:  # read first: a started process writes nothing if all is there
        present = set(conn.execute(select(state.c.key)).scalars())
    if missing := [key for key in COUNTERS if key not in present]:
        with engine.begin() as conn:
            for key in missing:
                insert_ignore(conn, state, {"key": key, "value": 0, "changed_at": None})
    return revisions


T = TypeVar("T")
IN_CHUNK = 500  # values per IN (...): well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters


def chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """``values`` in slices of ``size``: one statement each, under every backend's limit."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_ignore(conn: Connection, table: Any, values: dict[str, Any]) -> bool:
    """INSERT ... ON CONFLICT DO NOTHING (race-safe on both backends); True if inserted."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    key = list(table.primary_key.columns)[0]
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(key)
    return conn.execute(statement).first() is not None


@contextmanager
def build_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction for a build: one consistent read of the articles and an atomic
    publish, and never two builds at once (whichever process runs them).

    PostgreSQL: a session advisory lock taken *before* the transaction starts,
    then REPEATABLE READ, so every query of the build sees the same snapshot and
    a build that waited for another sees what that one committed. SQLite:
    ``BEGIN IMMEDIATE`` takes the write lock up front (waiting up to the busy
    timeout), which both serialises builds and fixes the snapshot.
    """
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(select(func.pg_advisory_lock(BUILD_LOCK)))
            conn.commit()
            try:
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
                with conn.begin():
                    yield conn
            finally:
                try:
                    conn.rollback()
                    conn.execute(select(func.pg_advisory_unlock(BUILD_LOCK)))
                    conn.commit()
                except SQLAlchemyError:
                    conn.invalidate()  # a dead session holds no lock; never pool a live one still holding it
        else:
            with conn.begin():
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction whose queries all see one snapshot (nothing is locked)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
            with conn.begin():
                yield conn
        else:
            with conn.begin():
                conn.exec_driver_sql("BEGIN")  # deferred: the snapshot starts at the first read
                yield conn


def get_version(conn: Connection, key: str) -> int:
    return int(conn.execute(select(state.c.value).where(state.c.key == key)).scalar_one())


def get_changed_at(conn: Connection, key: str) -> datetime | None:
    return conn.execute(select(state.c.changed_at).where(state.c.key == key)).scalar_one()


def bump_version(conn: Connection, key: str) -> None:
    """Increment a counter inside the caller's transaction."""
    conn.execute(
        update(state)
        .where(state.c.key == key)
        .values(value=state.c.value + 1, changed_at=datetime.now(UTC))
    )


def set_version(conn: Connection, key: str, value: int) -> None:
    conn.execute(update(state).where(state.c.key == key).values(value=value, changed_at=datetime.now(UTC)))
