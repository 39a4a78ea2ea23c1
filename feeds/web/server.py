"""The HTTP server in front of the WSGI app: Granian (Rust, on hyper), one process per worker.

Readers poll the same URLs forever, nearly always for a 304 that the app answers
from memory in a few microseconds; what a request costs is then the server's
own parsing, scheduling and writing. Measured side by side with nginx serving
the same bytes (``bench/serve_bench.py``), gevent's pywsgi under gunicorn
answered a sixth of nginx's rate; Granian, with the app unchanged, answers 304s
at nginx's level and 200s within 10-30 % of it (it copies each body once more
than nginx's ``sendfile``, README "Serving"), so the request path below the app
is Rust. Its options, and why:

- ``runtime_mode=st``: one Rust thread runs the connections.
- ``blocking_threads=2``: two Python threads run the app. A feed request holds
  the GIL for microseconds, so one thread would serve them all, a few per cent
  faster; but a request that waits on the database (a push's INSERT waiting for
  SQLite's write lock during a build, ``/healthz`` on a sick database) would stop
  every poll on the worker while it waits. With two, polls go on meanwhile
  (measured: p99 of a 304 under 10 pushes a second on SQLite, 84 ms with one
  thread, see bench/serve_bench.py). A database that hangs keeps the second
  thread free too: once one request has waited on it for a second, the next
  that need it are answered 503 at once (:mod:`feeds.web.database`).
- ``http=1``, no websockets: platforms' routers and feed readers speak HTTP/1.1.
- ``header_read_timeout``: a client gets ``client_timeout`` seconds (setting,
  default 10) to send a request's headers, and an idle kept-alive connection as
  long to start its next one: slowloris and idle connections are closed, not
  kept for ever (feed readers reconnect; a poll every few minutes cannot use a
  connection kept that long anyway).
- ``max_buffer_size``: request heads far beyond :data:`MAX_HEAD` get 431 (a
  request line, 414) and a closed connection; more than 100 headers, 431.
- ``backlog``: a burst of a thousand readers connecting at once waits in the
  kernel's queue instead of being refused.
- ``backpressure``: a worker holds up to :data:`CONNECTIONS` connections. Granian's
  default (the backlog) counts idle and slowloris connections too, so 5,000 of
  those left no room for a reader until ``client_timeout`` closed them (measured).
  The process's open-files limit is raised to its hard limit to match.
- ``respawn_failed_workers``: a worker that dies is replaced; the others keep
  serving meanwhile.

Worker count comes from ``WEB_CONCURRENCY`` and the port from ``PORT``, as
platforms set them. SIGTERM (or SIGINT) lets requests in flight finish, for up to
:data:`SHUTDOWN_GRACE` seconds, then exits.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import resource
import signal
import sys
from typing import TYPE_CHECKING

from feeds.config import Settings

if TYPE_CHECKING:
    from flask import Flask

TARGET = "feeds.web.server:worker_app"
PR_SET_PDEATHSIG = 1  # linux/prctl.h
MAX_HEAD = 64 * 1024  # bytes of request line and headers read at most; far beyond that: 431 (or 414 for the line)
BACKLOG = 4096  # connections the kernel queues before accept (Linux caps it at net.core.somaxconn)
BLOCKING_THREADS = 2  # Python threads per worker running the app: one can wait on the database, one serves polls
CONNECTIONS = 16384  # connections one worker holds open at once (Granian's backpressure), idle ones included
SHUTDOWN_GRACE = 20  # seconds a worker has to finish requests in flight on SIGTERM


class ServerError(Exception):
    """The server cannot start as configured; ``str()`` is the one line to print."""


def web_concurrency(environ: dict[str, str] | None = None) -> int:
    """Worker processes: ``WEB_CONCURRENCY`` as platforms set it for the dyno's size, else 1."""
    raw = (os.environ if environ is None else environ).get("WEB_CONCURRENCY", "").strip()
    if not raw:
        return 1
    try:
        workers = int(raw)
    except ValueError:
        raise ServerError(f"environment variable WEB_CONCURRENCY: must be an integer (got {raw!r})") from None
    if not 1 <= workers <= 64:
        raise ServerError(f"environment variable WEB_CONCURRENCY: must be between 1 and 64 (got {workers})")
    return workers


def worker_app() -> Flask:
    """What each worker serves: the app, in a process that goes when its master goes.

    Granian's master stops its workers on SIGTERM; if the master itself is killed
    (SIGKILL, the OOM killer), the kernel sends the worker SIGTERM too
    (``PR_SET_PDEATHSIG``), so no orphan keeps the port and serves stale feeds.
    """
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() == 1:  # the master died before the line above took effect
            raise SystemExit("feeds: the web server's master process is gone")
    from feeds.cli import configure_logging
    from feeds.web import create_app

    configure_logging()
    return create_app()


def serve(settings: Settings, *, workers: int) -> None:
    """Serve ``feeds.web:create_app()`` on ``settings.host``/``settings.port`` until SIGTERM."""
    from granian import Granian
    from granian.constants import HTTPModes, Interfaces, RuntimeModes
    from granian.http import HTTP1Settings

    # Each worker builds its app from the environment (create_app's settings): pass on
    # what this command was told on its command line, so self links name the real port.
    os.environ["FEEDS_HOST"] = settings.host
    os.environ["PORT"] = str(settings.port)
    # glibc gives each thread that allocates its own heap (arena); documents read on
    # demand by short-lived threads then fragment memory over many of them, and a
    # worker's resident memory grows past its cache budget (142 MB against 118 MB at two
    # arenas, bench/scale_bench.py). Workers read this at start; an operator's value wins.
    os.environ.setdefault("MALLOC_ARENA_MAX", "2")
    # Workers start as new interpreters, not forks: the parent may run threads (the
    # clock in ``feeds run``), and a fork copies their locks in whatever state they are.
    multiprocessing.set_start_method("spawn", force=True)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and (hard == resource.RLIM_INFINITY or soft < hard):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # workers inherit it
    Granian(
        TARGET,
        factory=True,
        address=settings.host,
        port=settings.port,
        interface=Interfaces.WSGI,
        workers=workers,
        runtime_mode=RuntimeModes.st,
        blocking_threads=BLOCKING_THREADS,
        http=HTTPModes.http1,
        websockets=False,
        backlog=BACKLOG,
        backpressure=CONNECTIONS,
        http1_settings=HTTP1Settings(header_read_timeout=settings.client_timeout * 1000, max_buffer_size=MAX_HEAD),
        respawn_failed_workers=True,
        workers_kill_timeout=SHUTDOWN_GRACE,
        log_access=False,
    ).serve()
