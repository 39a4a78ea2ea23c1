"""Pushed pages -> the store: the clock ingests what the push API queued.

The push API stores a page and answers at once (202, with a receipt to read
back); ingesting it costs tens of milliseconds of CPU, which in a web process
would hold up every poll behind it. The clock takes the queue instead, oldest
first, before each rebuild, so a push is live within one rebuild interval, as
before. Each push's receipt records the article's change (ingested, updated,
unchanged, stale) or why it was rejected.

A page the ingester failed on with a bug of its own (a broken install, a crash) is
not the page's fault: it stays queued with the reason on its receipt, is logged
once, and is tried again at every intake, after the other pushes, until a fixed
install or release takes it.

Each pushed article keeps the page its stored version came from. When the ingester
is newer than the one that read it (``INGESTER_VERSION``), the intake reads it
again, at most ``REREAD`` an intake, and the better reading replaces the stored
one with its date unchanged, as the folder scan does for files.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from feeds.config import Settings
from feeds.ingest import INGESTER_VERSION, IngestError, IngesterBug, ingest_page
from feeds.limits import FieldTooLong
from feeds.model import PUSH_SOURCE
from feeds.store.articles import Change, upsert_article
from feeds.store.pushes import (
    REJECTED,
    KeptPage,
    Queued,
    drop_pages,
    keep_page,
    mark_read,
    pages_to_reread,
    prune,
    queued,
    settle,
    wait,
)

log = logging.getLogger(__name__)

BATCH = 500  # pushes taken per rebuild at most; the rest wait for the next one
REREAD = 100  # kept pages an older ingester read, read again per intake


@dataclass
class IntakeReport:
    changes: list[Change] = field(default_factory=list)  # of queued pushes, then of re-read pages
    rejected: list[tuple[int, str]] = field(default_factory=list)
    waiting: int = 0  # pushes left queued by an ingester bug

    @property
    def changed(self) -> bool:
        return any(c in (Change.INGESTED, Change.UPDATED) for c in self.changes)


def take_pushes(engine: Engine, settings: Settings, limit: int = BATCH) -> IntakeReport:
    """Ingest up to ``limit`` queued pushes into the store, each settled in its own
    transaction; then read again up to REREAD pages an older ingester read."""
    report = IntakeReport()
    with engine.connect() as conn:
        batch = queued(conn, limit)
    for push in batch:
        _take(engine, settings, push, report)
    if batch:
        with engine.begin() as conn:
            prune(conn, datetime.now(UTC))
    with engine.connect() as conn:
        kept, orphans = pages_to_reread(conn, INGESTER_VERSION, REREAD, PUSH_SOURCE)
    if orphans:
        with engine.begin() as conn:
            drop_pages(conn, orphans)
    for page in kept:
        _reread(engine, settings, page, report)
    return report


def _take(engine: Engine, settings: Settings, push: Queued, report: IntakeReport) -> None:
    try:
        article = ingest_page(push.page, source=PUSH_SOURCE, settings=settings, base_url=push.base_url,
                              fallback_time=push.received_at)
    except IngesterBug as exc:  # the ingester's fault, not the page's: try again at the next intake
        with engine.begin() as conn:
            if wait(conn, push.id, str(exc)):
                log.warning("intake: push %d waits for a fixed ingester: %s", push.id, exc)
        report.waiting += 1
        return
    except IngestError as exc:  # not an article
        _reject(engine, push, str(exc), report)
        return
    try:
        with engine.begin() as conn:
            change = upsert_article(conn, article, None)  # a push's arrival time does not date its version
            settle(conn, push.id, change.value, article.id, None, datetime.now(UTC))
            if change in (Change.INGESTED, Change.UPDATED):
                keep_page(conn, article.id, push, INGESTER_VERSION)
    except FieldTooLong as exc:
        _reject(engine, push, f"cannot store: {exc}", report)
        return
    report.changes.append(change)


def _reject(engine: Engine, push: Queued, reason: str, report: IntakeReport) -> None:
    log.warning("intake: push %d rejected: %s", push.id, reason)
    with engine.begin() as conn:
        settle(conn, push.id, REJECTED, None, reason, datetime.now(UTC))
    report.rejected.append((push.id, reason))


def _reread(engine: Engine, settings: Settings, kept: KeptPage, report: IntakeReport) -> None:
    """Read a kept page with this ingester; its article is replaced by what it makes of it.
    A page it fails on with a bug is tried again next time; one it rejects, or reads as
    another article, leaves the stored article as it is (and is not read again)."""
    try:
        article = ingest_page(kept.page, source=PUSH_SOURCE, settings=settings, base_url=kept.base_url,
                              fallback_time=kept.received_at)
    except IngesterBug:
        return
    except IngestError as exc:
        log.warning("intake: re-read of the page pushed for %s rejected (the article is kept): %s",
                    kept.article_id, exc)
        article = None
    if article is not None and article.id != kept.article_id:
        log.warning("intake: re-read of the page pushed for %s reads as %s; the article is kept as it was",
                    kept.article_id, article.id)
        article = None
    try:
        with engine.begin() as conn:
            if article is None:
                mark_read(conn, kept.article_id, INGESTER_VERSION)
                return
            change = upsert_article(conn, article, None, reread=True)
            if change is Change.STALE:  # the article comes from a newer version elsewhere now
                drop_pages(conn, [kept.article_id])
            else:
                mark_read(conn, kept.article_id, INGESTER_VERSION)
    except FieldTooLong as exc:
        log.warning("intake: re-read of the page pushed for %s cannot be stored: %s", kept.article_id, exc)
        with engine.begin() as conn:
            mark_read(conn, kept.article_id, INGESTER_VERSION)
        return
    if change is not Change.UNCHANGED:
        report.changes.append(change)
