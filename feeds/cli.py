"""The ``feeds`` command: run (everything), ingest, build, serve, web, clock, db, export.

Every command reads settings the same way (``config/`` then the environment) and
first checks that the packages its code paths need import (:mod:`feeds.install`);
a bad setting or a broken install prints one line and exits with status 2, never
a traceback. So does
a store that cannot be opened (a read-only instance folder, a database that does
not answer): one line naming the file or database and what the system said.

The Procfile's long-running processes are the exception for a PostgreSQL server
that does not answer (down, restarting, unreachable), since it comes back by
itself: ``feeds web`` starts anyway (its workers load the feeds when it answers)
and ``feeds clock`` waits for it, each saying so in one line.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from feeds import install
from feeds.config import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from feeds.store.timeouts import Timeouts

# Commands import the store, builder and server when they run, so that
# ``feeds inspect`` (run once per page by benchmarks and scripts) starts fast.

log = logging.getLogger("feeds")


class StoreError(Exception):
    """The store cannot be opened; ``str()`` is the one line to print. ``transient``: the
    PostgreSQL server did not answer or refused the session, which may pass (a SQLite
    file that cannot be written will not); the line says which it was."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@contextmanager
def _store_errors(settings: Settings) -> Iterator[None]:
    """Turn the errors of opening the store into a StoreError naming it.

    SQLite writes beside its file (a migration lock, the -wal and -shm files), so a
    folder that is not writable fails as an OSError from the lock file or as
    SQLite's "attempt to write a readonly database"; a database server that does not
    answer fails as an OperationalError. Each is the operator's to fix, not a bug.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    from feeds.store.db import describe

    url = make_url(settings.database)
    sqlite = url.get_backend_name() == "sqlite"
    where = f"the SQLite database {url.database}" if sqlite else url.render_as_string(hide_password=True)
    try:
        yield
    except OSError as exc:
        problem = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc)
        raise StoreError(f"cannot open {where}: {problem}") from None
    except OperationalError as exc:
        problem = describe(exc)
        if sqlite:
            problem += f" (SQLite needs to write the file and its folder, {Path(url.database or '.').parent})"
        raise StoreError(f"cannot open {where}: {problem}", transient=not sqlite) from None


def _open_store(settings: Settings, application_name: str | None = None, role: Timeouts | None = None) -> Engine:
    from feeds.store.db import init_db, make_engine
    from feeds.store.timeouts import COMMAND

    with _store_errors(settings):
        engine = make_engine(settings.database, role=role or COMMAND, application_name=application_name)
        init_db(engine)
    return engine


def _wait_for_store(settings: Settings, stop: threading.Event, application_name: str, role: Timeouts) -> Engine | None:
    """Open the store, waiting while a PostgreSQL server does not answer: said once, tried
    again every half lease interval; None if told to stop first."""
    interval = settings.lease_interval / 2
    waiting = False
    while True:
        try:
            engine = _open_store(settings, application_name, role)
        except StoreError as exc:
            if not exc.transient:
                raise
            if not waiting:
                log.warning("clock: %s; waiting for it (trying again every %g s)", exc, interval)
                waiting = True
            if stop.wait(interval):
                return None
            continue
        if waiting:
            log.info("clock: the database answers")
        return engine


def _ingest(settings: Settings, engine: Engine, *, workers: int | None, show_progress: bool) -> int:
    from feeds.sync import SyncError, scan_folder

    try:
        report = scan_folder(engine, settings, workers=workers, show_progress=show_progress)
    except SyncError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return 2
    for name, reason in report.rejected:
        print(f"{settings.articles_dir / name}: rejected: {reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.rejected else 0


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    engine = _open_store(settings)
    return _ingest(settings, engine, workers=args.jobs, show_progress=True)


def cmd_build(args: argparse.Namespace, settings: Settings) -> int:
    from feeds.publish import websub
    from feeds.publish.build import build

    result = build(_open_store(settings), settings, force=args.force, full=args.force)
    if not result.built:
        print("nothing changed since the last build")
    else:
        if result.full:
            how = (f"full build: {result.rendered} rendered in {result.seconds:.1f} s, "
                   f"{result.rendered / max(result.seconds, 1e-9):.0f} documents/s")
        else:
            how = f"{result.rendered} rendered in {result.seconds:.2f} s"
        print(f"built: {len(result.changed)} document(s) changed ({how})")
        for path in result.changed[:200]:
            print(f"  {_served_at(path)}")
        if len(result.changed) > 200:
            print(f"  ... and {len(result.changed) - 200} more")
        websub.notify(settings, result.changed, result.removed, delay=websub.GRACE)
    return 0


def _served_at(path: str) -> str:
    """Where a published document answers: a feed's preview at its feed's URL (to browsers),
    the front page at ``/``; a path under ``previews/`` is no URL."""
    from feeds.publish.catalog import INDEX_PATH, PREVIEWS

    if path == INDEX_PATH:
        return "/ (front page)"
    if path.startswith(PREVIEWS):
        return f"/{path.removeprefix(PREVIEWS)} (preview, for browsers)"
    return f"/{path}"


def _serve(settings: Settings, engine: Engine | None, *, with_scheduler: bool) -> int:
    """Serve until Ctrl-C or SIGTERM, through the production server (:mod:`feeds.web.server`);
    with the scheduler running beside it in this process (as a :class:`Clock`, so a
    ``feeds clock`` or another ``feeds run`` on the same database leaves just one running)."""
    from feeds.schedule import Clock
    from feeds.web.server import ServerError, serve, web_concurrency

    try:
        workers = web_concurrency()
    except ServerError as exc:
        print(f"feeds: configuration error: {exc}", file=sys.stderr)
        return 2
    clock_thread = None
    stop = threading.Event()
    if with_scheduler:
        assert engine is not None
        clock = Clock(engine, settings)
        # The process's first build, before the first request: by the clock's own Jobs, so
        # the clock's first interval knows everything is rendered and does not render it again.
        clock.jobs.rebuild()
        clock_thread = threading.Thread(target=clock.run, args=(stop,), name="clock", daemon=True)
        clock_thread.start()
    print(f"serving on http://{settings.host}:{settings.port}/ (Ctrl-C to stop)", flush=True)
    try:
        serve(settings, workers=workers)  # returns on SIGTERM or SIGINT, requests in flight done
    finally:
        stop.set()
        if clock_thread is not None:
            clock_thread.join()  # a running build commits or rolls back first
    return 0


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest, build, then serve with the scheduler in the same process."""
    from feeds.store.timeouts import CLOCK

    engine = _open_store(settings, role=CLOCK)
    if _ingest(settings, engine, workers=None, show_progress=True) == 2:
        return 2
    return _serve(settings, engine, with_scheduler=True)


def cmd_web(args: argparse.Namespace, settings: Settings) -> int:
    """The Procfile's web process: the production server, ``WEB_CONCURRENCY`` workers on
    ``--host``/``PORT``, no scheduler; SIGTERM finishes requests in flight, then exits.

    The server's own process needs no database: it migrates the store if it can (a
    file that cannot be written is one line, exit 2, as in every command), and if a
    PostgreSQL server does not answer it says so and starts anyway. Each worker
    migrates (a no-op at head) and loads the feeds when the database answers, and
    answers feed URLs 503 until then; the release step is where migrations belong.
    """
    from feeds.store.timeouts import WEB

    try:
        _open_store(settings, role=WEB).dispose()
    except StoreError as exc:
        if not exc.transient:
            raise
        log.warning("web: %s; starting anyway: each worker loads the feeds when it answers", exc)
    return _serve(settings, None, with_scheduler=False)


def cmd_clock(args: argparse.Namespace, settings: Settings) -> int:
    """The scheduler alone, for a PaaS ``clock`` process: active if it holds the scheduler
    lock, standby otherwise. SIGTERM or Ctrl-C lets a running build finish, then exits.
    Started while the database does not answer, it says so once and waits for it."""
    from feeds.schedule import Clock
    from feeds.store.timeouts import CLOCK

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if not stop.is_set():
            log.info("clock: %s received; stopping after the running job", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine = _wait_for_store(settings, stop, f"feeds clock {os.getpid()}", CLOCK)
    if engine is None:
        log.info("clock: stopped")
        return 0
    Clock(engine, settings).run(stop)
    engine.dispose()
    return 0


def cmd_inspect(args: argparse.Namespace, settings: Settings) -> int:
    from feeds.ingest.commands import run_inspect

    return run_inspect(args.paths, settings, base_url=args.base_url, as_json=args.json)


def cmd_sanitize(args: argparse.Namespace, settings: Settings) -> int:
    from feeds.ingest.commands import run_sanitize

    return run_sanitize(settings, base_url=args.base_url)


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    """Schema migrations: ``upgrade`` to the newest revision (the Procfile's release step)."""
    from feeds.store.db import current_revision, head_revision, init_db, make_engine

    with _store_errors(settings):
        engine = make_engine(settings.database)
        try:
            if args.action == "upgrade":
                before, after = init_db(engine)
            else:
                current, head = current_revision(engine), head_revision()
        finally:
            engine.dispose()
    if args.action == "current":
        print(f"revision {current or 'none (empty database)'}; newest {head}")
        return 0 if current == head else 1
    if before == after:
        print(f"database schema is up to date (revision {after})")
    else:
        print(f"database schema upgraded from {before or 'empty'} to {after}")
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from feeds.export import export

    engine = _open_store(settings)
    try:
        written, removed = export(engine, settings, Path(args.dir))
    finally:
        engine.dispose()
    if not written:
        print("feeds: nothing to export: the store has no articles", file=sys.stderr)
        return 1
    print(f"exported {written} document(s) and their .gz twins to {args.dir}" + (f"; removed {removed} stale file(s)" if removed else ""))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feeds", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: object, help: str, parts: tuple[str, ...]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func, parts=parts, needs_config=True)
        return p

    everything = ("ingest", "store", "build", "clock", "web")
    serving = ("store", "build", "web")  # pushed pages are queued here, ingested by the clock
    for name, func, help, parts in (
        ("run", cmd_run, "ingest the articles folder, build, serve, and keep both up to date", everything),
        ("serve", cmd_web, "serve the published feeds, no scheduler (the same as web)", serving),
        ("web", cmd_web, "the Procfile's web process: serve the feeds, WEB_CONCURRENCY workers", serving),
    ):
        p = add(name, func, help, parts)
        p.add_argument("--host", help="address to bind (default: setting host, 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to bind (default: PORT or setting port, 8000)")
    p = add("ingest", cmd_ingest, "ingest the articles folder into the store, once", ("ingest", "store"))
    p.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    p = add("build", cmd_build, "render and publish the feeds that changed", ("store", "build"))
    p.add_argument("--force", action="store_true", help="render every document, even if no article changed")
    add("clock", cmd_clock, "run the scheduler alone (scan and rebuild on a timer); one active per database",
        ("ingest", "store", "build", "clock"))
    p = add("export", cmd_export, "write every feed, gzip twins, OPML and the front page to a folder (for a CDN or static host)",
            ("store", "build"))
    p.add_argument("dir", metavar="DIR", help="the folder to write (created if missing)")
    p = add("db", cmd_db, "database schema: upgrade to the newest migration, or show the current one", ("store",))
    p.add_argument("action", choices=("upgrade", "current"))
    # inspect and sanitize need no site configuration: run anywhere, they use built-in defaults.
    p = add("inspect", cmd_inspect, "print the article the ingester makes of HTML files", ("ingest",))
    p.set_defaults(needs_config=False)
    p.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    p.add_argument("--base-url", help="resolve relative URLs against this when the page has no canonical URL")
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p = add("sanitize", cmd_sanitize, "sanitise an HTML fragment from stdin", ("ingest",))
    p.set_defaults(needs_config=False)
    p.add_argument("--base-url", help="resolve relative URLs against this (default: site_url)")
    return parser


def configure_logging(*, verbose: bool = False) -> None:
    """Log lines as every process of the service writes them (web workers too, which start
    as new interpreters and never run :func:`main`)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(verbose=args.verbose)
    try:
        install.check(args.parts)
    except install.BrokenInstall as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return 2
    from feeds.ingest import IngestError
    from feeds.ingest.extract import load_profiles

    try:
        settings = load_settings(require_config=args.needs_config)
        # Site profiles are compiled once per process; a broken file must stop
        # start-up here, not reject every page later.
        load_profiles(settings.config_dir / "profiles.toml")
    except (ConfigError, IngestError) as exc:
        print(f"feeds: configuration error: {exc}", file=sys.stderr)
        return 2
    overrides = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k, None) is not None}
    settings = dataclasses.replace(settings, **overrides)
    try:
        result: int = args.func(args, settings)
    except StoreError as exc:
        print(f"feeds: {exc}", file=sys.stderr)
        return 2
    return result
