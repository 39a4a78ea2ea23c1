"""The scheduler: scan the articles folder and rebuild the feeds on a timer.

Two interval jobs (APScheduler 3): *scan* brings the store in line with the
folder and builds at once when it changed anything, so a new page is live
within one scan interval; *rebuild* builds only when the articles moved since
the last build (pushed articles, another process's scan). A lock keeps the two
from building at the same moment in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine

from feeds.build import websub
from feeds.build.publish import build
from feeds.config import Settings
from feeds.sync import SyncError, scan_folder

log = logging.getLogger(__name__)


class Jobs:
    """The scheduled work, callable directly too (tests and ``feeds run``'s first pass)."""

    def __init__(self, engine: Engine, settings: Settings, on_publish: Callable[[], object] | None = None) -> None:
        self.engine = engine
        self.settings = settings
        self.on_publish = on_publish
        self._lock = threading.Lock()

    def scan(self) -> None:
        with self._lock:
            try:
                report = scan_folder(self.engine, self.settings)
            except SyncError as exc:
                log.error("scan: %s", exc)
                return
            if report.changed:
                log.info("scan: %s", report.summary())
                self._build()

    def rebuild(self) -> None:
        with self._lock:
            self._build()

    def _build(self) -> None:
        result = build(self.engine, self.settings)
        if result.changed and self.on_publish is not None:
            self.on_publish()
        if result.changed:  # without a cache in this process, give the web processes time to reload
            delay = 0.0 if self.on_publish is not None else websub.GRACE
            websub.notify(self.settings, result.changed, result.removed, delay=delay, background=True)


def make_scheduler(jobs: Jobs, *, blocking: bool = False) -> BaseScheduler:
    scheduler: BaseScheduler = (BlockingScheduler if blocking else BackgroundScheduler)(timezone=UTC)
    settings = jobs.settings
    common = {"max_instances": 1, "coalesce": True, "misfire_grace_time": None}
    scheduler.add_job(jobs.scan, "interval", seconds=settings.scan_interval, id="scan", **common)
    scheduler.add_job(jobs.rebuild, "interval", seconds=settings.rebuild_interval, id="rebuild", **common)
    return scheduler
