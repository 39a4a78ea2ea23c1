"""The scheduler: scan the articles folder and rebuild the feeds on a timer, in one process only.

Two interval jobs (APScheduler 3): *scan* brings the store in line with the
folder and builds at once when it changed anything, so a new page is live
within one scan interval; *rebuild* ingests the pages pushed through the API
(:mod:`feeds.intake`), then builds only when the articles moved since the last
build (pushes, another process's scan). A lock keeps the two
from building at the same moment in this process.

:class:`Clock` makes sure exactly one process runs those jobs however many
were started (``feeds clock`` on a PaaS, ``feeds run`` locally): it holds a
:class:`SchedulerLock` (a PostgreSQL session advisory lock, or an ``flock``
beside the SQLite file) and runs the scheduler only while it does. Others wait
as standbys, trying again every half lease interval. The operating system or
PostgreSQL drops the lock the moment its holder dies, even by SIGKILL in the
middle of a build, and that build's transaction rolls back with it; so a
standby takes over within one lease interval.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool

from feeds.publish import websub
from feeds.publish.build import build
from feeds.config import Settings
from feeds.intake import take_pushes
from feeds.store.db import (
    ARTICLES_VERSION,
    BUILT_VERSION,
    CHECKED_VERSION,
    SCHEDULER_LOCK,
    describe,
    get_version,
    make_engine,
    set_version,
    sqlite_path,
)
from feeds.store.timeouts import scheduler_lock_timeouts
from feeds.sync import SyncError, scan_folder

log = logging.getLogger(__name__)


class Jobs:
    """The scheduled work, callable directly too (tests and ``feeds run``'s first pass).

    A job never raises: a failure is logged, the last good feeds stay
    published, and the next interval tries again.
    """

    def __init__(self, engine: Engine, settings: Settings, on_publish: Callable[[], object] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.on_publish = on_publish
        self._lock = threading.Lock()
        self._scan_problem: str | None = None
        # The first build of a process runs whatever the counters say: a new release or a
        # changed config renders differently from the same articles, and only this process's
        # code and settings know it (the build compares their fingerprint with the one the
        # last build stored, and renders everything when it moved). Unchanged bytes publish nothing.
        self._rendered = False

    def scan(self) -> None:
        with self._lock:
            try:
                report = scan_folder(self.engine, self.settings)
            except SyncError as exc:
                # Said once, not every interval: with only the push API there may be no folder.
                if str(exc) != self._scan_problem:
                    log.warning("scan: %s (articles can still come through the push API)", exc)
                    self._scan_problem = str(exc)
                return
            except Exception as exc:
                _failed("scan", exc, "the next scan tries again")
                return
            self._scan_problem = None
            for name, reason in report.newly_rejected:  # each page once, not at every scan that retries it
                log.warning("scan: %s: rejected: %s", self.settings.articles_dir / name, reason)
            if report.changed:
                log.info("scan: %s", report.summary())
                self._build()

    def rebuild(self) -> None:
        """Take the pushed pages waiting in the queue, then build if the articles moved."""
        with self._lock:
            try:
                report = take_pushes(self.engine, self.settings)
            except Exception as exc:
                _failed("intake", exc, "the pushes stay queued for the next rebuild")
            else:
                if report.changes or report.rejected:
                    log.info("intake: %d push(es) taken, %d rejected", len(report.changes), len(report.rejected))
            self._build()

    def _build(self) -> None:
        try:
            with self.engine.connect() as conn:
                articles, built = get_version(conn, ARTICLES_VERSION), get_version(conn, BUILT_VERSION)
            first = not self._rendered
            if articles != built or first:
                why = "first build of this process" if first else f"articles at version {articles}, feeds at {built}"
                log.info("build: %s; building", why)
            result = build(self.engine, self.settings, force=first)
            self._rendered = True
            with self.engine.begin() as conn:  # the feeds are in step as of now: /healthz
                set_version(conn, CHECKED_VERSION, get_version(conn, BUILT_VERSION))
        except Exception as exc:
            _failed("build", exc, "the last published feeds stay")
            return
        if result.built:
            log.info("build: done, %d document(s) changed", len(result.changed))
        if result.changed and self.on_publish is not None:
            self.on_publish()
        if result.changed:  # without a cache in this process, give the web processes time to reload
            delay = 0.0 if self.on_publish is not None else websub.GRACE
            websub.notify(self.settings, result.changed, result.removed, delay=delay, background=True)


def _failed(job: str, exc: Exception, consequence: str) -> None:
    """A job's failure: one line when the database failed it (down, hung, a timeout: not
    a bug, and it repeats every interval until the database is back), else a traceback."""
    if isinstance(exc, OperationalError):
        log.error("%s failed: the database: %s; %s", job, describe(exc), consequence)
    else:
        log.error("%s failed; %s", job, consequence, exc_info=exc)


def make_scheduler(jobs: Jobs, *, blocking: bool = False, start_now: bool = False) -> BaseScheduler:
    """The two interval jobs; ``start_now`` runs each once at start too (a clock taking over)."""
    scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=UTC)
    settings = jobs.settings
    common: dict[str, Any] = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    if start_now:
        common["next_run_time"] = datetime.now(UTC)
    scheduler.add_job(jobs.scan, "interval", seconds=settings.scan_interval, id="scan", **common)
    scheduler.add_job(jobs.rebuild, "interval", seconds=settings.rebuild_interval, id="rebuild", **common)
    return scheduler


# -- one scheduler at a time -----------------------------------------------------


class SchedulerLock(Protocol):
    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def release(self) -> None: ...


class PostgresLock:
    """A session advisory lock on a connection of its own, kept open while active.

    PostgreSQL releases it when the session ends, which it does at once when
    the process dies (the kernel closes the socket). TCP keepalives, on both
    ends, bound how long a vanished machine can keep it: about one lease interval;
    and the session's timeouts (:func:`scheduler_lock_timeouts`) bound how long a
    check of it waits on a database that does not answer: half a lease.
    """

    def __init__(self, engine: Engine, lease_interval: float) -> None:
        self.engine = make_engine(
            engine.url.render_as_string(hide_password=False),
            role=scheduler_lock_timeouts(lease_interval),
            application_name=f"feeds clock {os.getpid()} lock",
            poolclass=NullPool,
        )
        self.conn: Connection | None = None
        self.unreachable = False  # said once per outage, not at every try

    def try_acquire(self) -> bool:
        conn = None
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            taken = conn.execute(select(func.pg_try_advisory_lock(SCHEDULER_LOCK))).scalar()
        except SQLAlchemyError as exc:
            if not self.unreachable:
                log.warning("clock: cannot reach the database for the scheduler lock: %s; trying again every "
                            "half lease interval", describe(exc))
                self.unreachable = True
            if conn is not None:
                conn.invalidate()
            return False
        if self.unreachable:
            log.info("clock: the database answers again")
            self.unreachable = False
        if not taken:
            conn.close()
            return False
        self.conn = conn
        return True

    def still_held(self) -> bool:
        if self.conn is None:
            return False
        try:
            self.conn.execute(text("SELECT 1"))  # a session lock lives exactly as long as its session
            return True
        except SQLAlchemyError:
            self.conn.invalidate()
            self.conn = None
            return False

    def release(self) -> None:
        if self.conn is not None:
            try:
                self.conn.execute(select(func.pg_advisory_unlock(SCHEDULER_LOCK)))
                self.conn.close()
            except SQLAlchemyError:
                self.conn.invalidate()
            self.conn = None
        self.engine.dispose()


class FileLock:
    """An ``flock`` on a file beside the SQLite database: one active clock per machine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[str] | None = None

    def try_acquire(self) -> bool:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = self.path.open("a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.close()
            return False
        fh.truncate(0)
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self.fh = fh
        return True

    def still_held(self) -> bool:
        return self.fh is not None

    def release(self) -> None:
        if self.fh is not None:
            self.fh.close()  # closing the file drops the flock
            self.fh = None


class NoLock:
    """In-memory SQLite: nothing to share, so nothing to lock."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        pass


def scheduler_lock(engine: Engine, lease_interval: float) -> SchedulerLock:
    if engine.dialect.name == "postgresql":
        return PostgresLock(engine, lease_interval)
    path = sqlite_path(engine)
    if path is None:
        return NoLock()
    return FileLock(path.with_name(path.name + ".scheduler.lock"))


class Clock:
    """Standby until this process holds the scheduler lock, then run the jobs until told to
    stop or the lock is lost (then standby again). ``stop`` lets a running job finish."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        lock: SchedulerLock | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.jobs = Jobs(engine, settings)
        self.lease_interval = float(settings.lease_interval)
        self.lock = lock or scheduler_lock(engine, self.lease_interval)
        self.active = threading.Event()

    @property
    def poll(self) -> float:
        return self.lease_interval / 2

    def run(self, stop: threading.Event) -> None:
        standby_logged = False
        while not stop.is_set():
            if not self.lock.try_acquire():
                if not standby_logged:
                    log.info("clock: standby; another process runs the scheduler (retrying every %gs)", self.poll)
                    standby_logged = True
                stop.wait(self.poll)
                continue
            standby_logged = False
            log.info("clock: active; this process (pid %d) runs the scheduler", os.getpid())
            try:
                self._run_active(stop)
            finally:
                self.active.clear()
                self.lock.release()
        log.info("clock: stopped")

    def _run_active(self, stop: threading.Event) -> None:
        # Jobs run on the scheduler's threads only, never on this one: a signal
        # handler runs on the main thread, which must stay free to take it at once.
        self.active.set()
        scheduler = make_scheduler(self.jobs, start_now=True)
        scheduler.start()
        try:
            while not stop.wait(self.poll):
                if not self.lock.still_held():
                    log.error("clock: lost the scheduler lock (database connection gone); back to standby")
                    break
        finally:
            scheduler.shutdown(wait=True)  # a running build commits or rolls back first
