"""The ``feeds`` command: run (everything), ingest, build, serve, clock.

Every command reads settings the same way (``config/`` then the environment);
a bad setting prints one line and exits with status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from typing import TYPE_CHECKING

from feeds.config import ConfigError, Settings, load_settings
from feeds.ingest import commands as ingest_commands

if TYPE_CHECKING:
    from sqlalchemy import Engine

# Commands import the store, builder and server when they run, so that
# ``feeds inspect`` (run once per page by benchmarks and scripts) starts fast.

log = logging.getLogger("feeds")


def _open_store(settings: Settings) -> Engine:
    from feeds.store.db import init_db, make_engine

    engine = make_engine(settings.database)
    init_db(engine)
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
    from feeds.build import websub
    from feeds.build.publish import build

    result = build(_open_store(settings), settings, force=args.force)
    if not result.built:
        print("nothing changed since the last build")
    else:
        print(f"built: {len(result.changed)} document(s) changed")
        for path in result.changed:
            print(f"  /{path}")
        websub.notify(settings, result.changed, result.removed, delay=websub.GRACE)
    return 0


def _serve(settings: Settings, engine: Engine, *, with_scheduler: bool) -> int:
    """Serve until Ctrl-C or SIGTERM; with the scheduler running beside the web in one process."""
    from werkzeug.serving import make_server

    from feeds.schedule import Jobs, make_scheduler
    from feeds.web import create_app

    app = create_app(settings, engine)
    scheduler = None
    if with_scheduler:
        cache = app.extensions["feeds"]["cache"]
        scheduler = make_scheduler(Jobs(engine, settings, on_publish=cache.refresh))
    server = make_server(settings.host, settings.port, app, threaded=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if scheduler is not None:
        scheduler.start()
    print(f"serving on http://{settings.host}:{server.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=True)  # a running build commits or rolls back first
        server.server_close()
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    return _serve(settings, _open_store(settings), with_scheduler=False)


def cmd_run(args: argparse.Namespace, settings: Settings) -> int:
    """Ingest, build, then serve with the scheduler in the same process."""
    from feeds.build import websub
    from feeds.build.publish import build

    engine = _open_store(settings)
    if _ingest(settings, engine, workers=None, show_progress=True) == 2:
        return 2
    result = build(engine, settings, force=True)
    websub.notify(settings, result.changed, result.removed, delay=websub.GRACE, background=True)
    return _serve(settings, engine, with_scheduler=True)


def cmd_clock(args: argparse.Namespace, settings: Settings) -> int:
    """The scheduler alone, for a PaaS ``clock`` process."""
    from feeds.schedule import Jobs, make_scheduler

    engine = _open_store(settings)
    jobs = Jobs(engine, settings)
    jobs.scan()
    jobs.rebuild()
    scheduler = make_scheduler(jobs, blocking=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        scheduler.shutdown(wait=True)  # lets a running build commit or roll back

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="feeds", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, func: object, help: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    for name, func, help in (
        ("run", cmd_run, "ingest the articles folder, build, serve, and keep both up to date"),
        ("serve", cmd_serve, "serve the published feeds (no scheduler)"),
    ):
        p = add(name, func, help)
        p.add_argument("--host", help="address to bind (default: setting host, 127.0.0.1)")
        p.add_argument("--port", type=int, help="port to bind (default: PORT or setting port, 8000)")
    p = add("ingest", cmd_ingest, "ingest the articles folder into the store, once")
    p.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    p = add("build", cmd_build, "render and publish the feeds that changed")
    p.add_argument("--force", action="store_true", help="render even if no article changed")
    add("clock", cmd_clock, "run the scheduler alone (scan and rebuild on a timer)")
    ingest_commands.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"feeds: configuration error: {exc}", file=sys.stderr)
        return 2
    overrides = {k: getattr(args, k) for k in ("host", "port") if getattr(args, k, None) is not None}
    settings = dataclasses.replace(settings, **overrides)
    result: int = args.func(args, settings)
    return result
