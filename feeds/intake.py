"""Pushed pages -> the store: the clock ingests what the push API queued.

The push API stores a page and answers at once (202, with a receipt to read
back); ingesting it costs tens of milliseconds of CPU, which in a web process
would hold up every poll behind it. The clock takes the queue instead, oldest
first, before each rebuild, so a push is live within one rebuild interval, as
before. Each push's receipt records the article's change (ingested, updated,
unchanged, stale) or why it was rejected; a page the ingester failed on with a
bug is rejected too, with the reason, and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from feeds.config import Settings
from feeds.ingest import IngestError, ingest_page
from feeds.limits import FieldTooLong
from feeds.model import PUSH_SOURCE
from feeds.store.articles import Change, upsert_article
from feeds.store.pushes import REJECTED, Queued, prune, queued, settle

log = logging.getLogger(__name__)

BATCH = 500  # pushes taken per rebuild at most; the rest wait for the next one


@dataclass
class IntakeReport:
    changes: list[Change] = field(default_factory=list)
    rejected: list[tuple[int, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(c in (Change.INGESTED, Change.UPDATED) for c in self.changes)


def take_pushes(engine: Engine, settings: Settings, limit: int = BATCH) -> IntakeReport:
    """Ingest up to ``limit`` queued pushes into the store, each settled in its own transaction."""
    report = IntakeReport()
    with engine.connect() as conn:
        batch = queued(conn, limit)
    for push in batch:
        _take(engine, settings, push, report)
    if batch:
        with engine.begin() as conn:
            prune(conn, datetime.now(UTC))
    return report


def _take(engine: Engine, settings: Settings, push: Queued, report: IntakeReport) -> None:
    try:
        article = ingest_page(push.page, source=PUSH_SOURCE, settings=settings, base_url=push.base_url,
                              fallback_time=push.received_at)
    except IngestError as exc:  # not an article; or a bug in the ingester (IngesterBug), logged there
        _reject(engine, push, str(exc), report)
        return
    try:
        with engine.begin() as conn:
            change = upsert_article(conn, article, None)  # a push's arrival time does not date its version
            settle(conn, push.id, change.value, article.id, None, datetime.now(UTC))
    except FieldTooLong as exc:
        _reject(engine, push, f"cannot store: {exc}", report)
        return
    report.changes.append(change)


def _reject(engine: Engine, push: Queued, reason: str, report: IntakeReport) -> None:
    log.warning("intake: push %d rejected: %s", push.id, reason)
    with engine.begin() as conn:
        settle(conn, push.id, REJECTED, None, reason, datetime.now(UTC))
    report.rejected.append((push.id, reason))
