"""Keep the store in step with the articles folder: new, edited and removed pages.

Only files whose size or mtime moved since the last scan are read, so a scan
of an unchanged folder costs one ``stat`` per file. Parsing runs in a process
pool when there is enough of it to pay for one; results are written in small
transactions so memory stays flat however large the folder is. A page that
fails to ingest is reported and skipped, and what it published before stays.

Only a file that is gone retracts its article. A place the scan cannot look into
(a folder it cannot list, a file it cannot stat: permissions, a network mount
gone) is reported as rejected with the reason, and the articles under it stay;
an articles folder that cannot be listed at all stops the scan (SyncError).

Only regular files are read, links followed to what they point at: a FIFO named
``*.html`` would block the scan (and every rebuild waiting on its lock), a link to
``/dev/zero`` would never end. Those, and pages over ``MAX_PAGE_BYTES`` (the push
API's limit too), are rejected with the reason, without being opened.

Two kinds of unchanged file are read again: one an older ingester read
(``INGESTER_VERSION`` moved), at most ``REREAD`` a scan so an upgrade re-reads a
large archive in the background; and one the ingester failed on with a bug (not
the page's fault), at every scan, so a fixed install or release reaches it. A
re-read that ends in the same rejection is not news (``newly_rejected``).

A page is never published half-written. A page cut short inside ``<html>`` is
rejected by the ingester, but one without the wrapper looks like a shorter
article, so the scan decides by the file: one modified less than SETTLE_NS ago
(2 s; or as little ahead of this clock) is not read, and one whose size or mtime
differs from the listing's, before or after it is read, is dropped unread. Either
is "deferred": nothing is recorded, what it published before stays, and the next
scan tries again. A writer pausing longer than that mid-file defeats both; write
to a temporary name and rename (``*.tmp`` is not a page) to be safe.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
import os
import stat
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from feeds.config import Settings
from feeds.ingest import INGESTER_VERSION, IngestError, IngesterBug, ingest_page
from feeds.limits import MAX_PAGE_BYTES, MAX_URL, FieldTooLong, too_long
from feeds.model import FILE_SOURCE_PREFIX, Article
from feeds.store.articles import Change, forget_source, known_sources, record_source, upsert_article

PAGE_SUFFIXES = (".html", ".htm")
POOL_THRESHOLD = 32  # below this many changed files a process pool costs more than it saves
BATCH = 200
WINDOW = 512  # pages in flight in the process pool at once
REREAD = 500  # unchanged files an older ingester read, re-read per scan
SETTLE_NS = 2 * 10**9  # a page modified this recently may still be being written: read it next scan


class SyncError(Exception):
    """The folder itself cannot be scanned (missing, unreadable): nothing is changed."""


@dataclass
class ScanReport:
    ingested: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: list[tuple[str, str]] = field(default_factory=list)
    already_rejected: int = 0  # the first entries of ``rejected``: unchanged since an earlier scan rejected them
    deferred: list[str] = field(default_factory=list)  # being written: read at the next scan
    bugs: int = 0  # rejections that are the ingester's own failure, not the page's
    # Files read again although unchanged, whose rejection is the same as before: not news.
    same_rejection: set[str] = field(default_factory=set)

    @property
    def newly_rejected(self) -> list[tuple[str, str]]:
        """Rejections this scan made (new or edited files, or a new reason), for a caller
        that reports only news: each rejected page is logged once, not every scan."""
        return [r for r in self.rejected[self.already_rejected :] if r[0] not in self.same_rejection]

    def count(self, change: Change) -> None:
        """A page older than the stored version of its article (another file or a push
        holds a newer one) left the store as it was: it counts as unchanged."""
        name = Change.UNCHANGED.value if change is Change.STALE else change.value
        setattr(self, name, getattr(self, name) + 1)

    @property
    def changed(self) -> bool:
        return bool(self.ingested or self.updated or self.removed)

    def summary(self) -> str:
        return (
            f"ingested {self.ingested}, updated {self.updated}, unchanged {self.unchanged}, "
            f"removed {self.removed}, rejected {len(self.rejected)}, deferred {len(self.deferred)}"
            + (f" ({self.bugs} rejected by an ingester bug: please report it)" if self.bugs else "")
        )


@dataclass(frozen=True)
class _Parsed:
    source: str
    mtime_ns: int
    size: int
    article: Article | None
    error: str | None
    deferred: bool = False  # being written: nothing recorded, so the next scan reads it again
    bug: bool = False  # rejected by the ingester's own failure: retried at every scan


@dataclass
class _Listing:
    """What a walk of the folder found: each page with its stat, and its problems with
    the reason: the places it could not look into (a folder it cannot list, whose name
    ends with "/", a file it cannot stat), and paths too long to record."""

    pages: dict[str, os.stat_result] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)

    def vanished(self, known: Iterable[str]) -> list[str]:
        """The known sources that are gone. Never one where the walk could not look: a
        folder gone unreadable (permissions, a network mount gone) is not a folder emptied."""
        unseen = tuple(rel for rel, _ in self.problems)
        return sorted(
            source
            for source in known
            if (rel := source[len(FILE_SOURCE_PREFIX) :]) not in self.pages
            and not any(rel == place or (place.endswith("/") and rel.startswith(place)) for place in unseen)
        )


def _list_pages(root: Path) -> _Listing:
    listing = _Listing()

    def unlistable(exc: OSError) -> None:  # os.walk skips what it cannot list unless told
        folder = Path(exc.filename) if exc.filename else root
        if folder == root:
            raise SyncError(f"{root}: cannot list the articles folder ({exc.strerror})") from exc
        reason = f"cannot list this folder ({exc.strerror}); its articles are kept"
        listing.problems.append((folder.relative_to(root).as_posix() + "/", reason))

    for dirpath, dirnames, filenames in os.walk(root, onerror=unlistable):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in filenames:
            if name.startswith(".") or not name.lower().endswith(PAGE_SUFFIXES):
                continue
            path = Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if (length := len(FILE_SOURCE_PREFIX + rel)) > MAX_URL:  # the store could not even record it
                listing.problems.append((rel, f"path is too long: {too_long('source', length, MAX_URL)}"))
                continue
            try:
                listing.pages[rel] = path.stat()
            except FileNotFoundError:
                continue  # vanished between listing and stat, or a link to nothing: gone
            except OSError as exc:
                listing.problems.append((rel, f"cannot look at this file ({exc.strerror}); its article is kept"))
    return listing


_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def _not_a_page(st: os.stat_result) -> str | None:
    """Why a file is not read at all (None: it is read). Links are followed, so this is
    about what a link points at: a FIFO would block the scan, a device never end."""
    if not stat.S_ISREG(st.st_mode):
        return f"not a regular file ({_KINDS.get(stat.S_IFMT(st.st_mode), 'a special file')})"
    if st.st_size > MAX_PAGE_BYTES:
        return f"page is {st.st_size} bytes; the limit is {MAX_PAGE_BYTES}"
    return None


def _settling(st: os.stat_result, now_ns: int) -> bool:
    """Modified within SETTLE_NS of now (either side: a mount's clock may run a little
    ahead): the writer may not have finished. Further ahead is a clock not worth waiting for."""
    return abs(now_ns - st.st_mtime_ns) < SETTLE_NS


class _Unsettled(Exception):
    """The file is not as the listing saw it, or changed while it was read."""


def _version(st: os.stat_result) -> tuple[int, int] | None:
    return (st.st_mtime_ns, st.st_size) if stat.S_ISREG(st.st_mode) else None


def _read_page(path: Path, listed: tuple[int, int]) -> bytes:
    """The bytes of the regular file the listing saw as ``listed`` (mtime_ns, size), which
    _not_a_page found fit to read; _Unsettled if it is no longer that file or changed while
    read. Opened without blocking and checked after opening, so a FIFO or a device put in its
    place since the listing cannot stall the scan; read no further than its listed size + 1."""
    with open(os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC), "rb") as fh:
        if _version(os.fstat(fh.fileno())) != listed:
            raise _Unsettled
        data = fh.read(listed[1] + 1)
        if len(data) != listed[1] or _version(os.fstat(fh.fileno())) != listed:
            raise _Unsettled
    return data


def _parse(path: Path, rel: str, listed: tuple[int, int], settings: Settings) -> _Parsed:
    """Read and ingest one file; may run in a worker process, so it returns plain data."""
    source = FILE_SOURCE_PREFIX + rel
    try:
        data = _read_page(path, listed)
    except _Unsettled:
        return _Parsed(source, *listed, None, None, deferred=True)
    except OSError as exc:
        return _Parsed(source, 0, 0, None, f"cannot read: {exc.strerror}")
    observed = datetime.fromtimestamp(listed[0] / 1e9, UTC)
    try:
        article = ingest_page(data, source=source, settings=settings, fallback_time=observed)
    except IngestError as exc:  # a bug in the ingester too (IngesterBug): one page, not the whole scan
        return _Parsed(source, *listed, None, str(exc), bug=isinstance(exc, IngesterBug))
    return _Parsed(source, *listed, article, None)


_worker_settings: Settings | None = None


def _init_worker(settings: Settings) -> None:
    """Pool initialiser: the settings travel to each worker once, not with every page."""
    global _worker_settings
    _worker_settings = settings


def _parse_in_worker(job: tuple[Path, str, tuple[int, int]]) -> _Parsed:
    assert _worker_settings is not None
    return _parse(*job, _worker_settings)


def _parse_all(jobs: list[tuple[Path, str, tuple[int, int]]], settings: Settings, workers: int) -> Iterator[_Parsed]:
    if workers <= 1 or len(jobs) < POOL_THRESHOLD:
        yield from (_parse(*job, settings) for job in jobs)
        return
    # forkserver, not fork: the scheduler calls this from a thread of a threaded
    # server, and forking a process that holds other threads' locks can hang.
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_init_worker, initargs=(settings,)) as pool:
        # A window at a time: pool.map submits everything it is given at once, and
        # results wait in memory until consumed, so unbounded it would hold a whole
        # folder's articles; windowed, memory stays flat however many pages there are.
        for start in range(0, len(jobs), WINDOW):
            yield from pool.map(_parse_in_worker, jobs[start : start + WINDOW], chunksize=8)


def _batches(items: Iterable[_Parsed], size: int) -> Iterator[list[_Parsed]]:
    batch: list[_Parsed] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def scan_folder(
    engine: Engine,
    settings: Settings,
    *,
    workers: int | None = None,
    show_progress: bool = False,
) -> ScanReport:
    """Bring the store in line with ``settings.articles_dir``; return what happened."""
    root = settings.articles_dir
    if not root.is_dir():
        raise SyncError(f"{root}: articles folder does not exist or is not a folder")
    now_ns = time.time_ns()
    listing = _list_pages(root)
    pages = listing.pages
    progress = _progress_bar(len(pages)) if show_progress else None
    with engine.connect() as conn:
        known = known_sources(conn, FILE_SOURCE_PREFIX)
    report = ScanReport()
    jobs = []
    refused = []  # not pages (see _not_a_page): rejected without being opened
    previous_errors: dict[str, str] = {}  # unchanged files read again, and their recorded rejection
    rereads_of_stored: set[str] = set()  # unchanged files read again whose article is stored: see upsert_article
    rereads = 0
    for rel, st in sorted(pages.items()):
        seen = known.get(FILE_SOURCE_PREFIX + rel)
        if seen is None or (seen.mtime_ns, seen.size) != (st.st_mtime_ns, st.st_size):
            if reason := _not_a_page(st):
                refused.append(_Parsed(FILE_SOURCE_PREFIX + rel, st.st_mtime_ns, st.st_size, None, reason))
            elif _settling(st, now_ns):
                report.deferred.append(rel)
            else:
                jobs.append((root / rel, rel, (st.st_mtime_ns, st.st_size)))
        elif seen.bug or (seen.ingester != INGESTER_VERSION and rereads < REREAD):
            rereads += not seen.bug
            jobs.append((root / rel, rel, (st.st_mtime_ns, st.st_size)))
            if seen.error is not None:
                previous_errors[rel] = seen.error
            else:
                rereads_of_stored.add(FILE_SOURCE_PREFIX + rel)
        elif seen.error is not None:  # still the page that was rejected: report it, don't retry it
            report.rejected.append((rel, seen.error))
        else:
            report.unchanged += 1
    if progress and len(pages) > len(jobs) + len(refused):
        progress(len(pages) - len(jobs) - len(refused))  # unchanged, already rejected, deferred
    report.already_rejected = len(report.rejected)
    report.rejected.extend(listing.problems)  # news at every scan: nothing records them

    results = itertools.chain(refused, _parse_all(jobs, settings, workers or os.cpu_count() or 1))
    for batch in _batches(results, BATCH):
        for parsed, change in _store_batch(engine, batch, rereads_of_stored):
            rel = parsed.source[len(FILE_SOURCE_PREFIX) :]
            if parsed.deferred:
                report.deferred.append(rel)
            elif change is None:
                error = parsed.error or "rejected"
                report.rejected.append((rel, error))
                report.bugs += parsed.bug
                if previous_errors.get(rel) == error:
                    report.same_rejection.add(rel)
            else:
                report.count(change)
        if progress:
            progress(len(batch))

    vanished = listing.vanished(known)
    if vanished:
        with engine.begin() as conn:
            report.removed = sum(forget_source(conn, source) for source in vanished)
    return report


def _store(conn: Connection, parsed: _Parsed, rereads: set[str]) -> Change | None:
    """Write one result: its article, and what the scan saw of the file (None: no article).
    ``rereads``: the sources read again unchanged, whose stored article they gave."""
    if parsed.deferred:
        return None
    if parsed.article is None:
        record_source(conn, parsed.source, parsed.mtime_ns, parsed.size, None, parsed.error,
                      bug=parsed.bug, ingester=INGESTER_VERSION)
        return None
    change = upsert_article(conn, parsed.article, datetime.fromtimestamp(parsed.mtime_ns / 1e9, UTC),
                            reread=parsed.source in rereads)
    record_source(conn, parsed.source, parsed.mtime_ns, parsed.size, parsed.article.id, None,
                  ingester=INGESTER_VERSION)
    return change


def _store_batch(engine: Engine, batch: list[_Parsed], rereads: set[str]) -> list[tuple[_Parsed, Change | None]]:
    """One transaction for the batch; if the store refuses something in it, one transaction
    a page, so a page the store refuses is rejected, and the others are written."""
    try:
        with engine.begin() as conn:
            return [(parsed, _store(conn, parsed, rereads)) for parsed in batch]
    except (FieldTooLong, SQLAlchemyError) as exc:
        if _unavailable(exc):
            raise
    return [_store_alone(engine, parsed, rereads) for parsed in batch]


def _store_alone(engine: Engine, parsed: _Parsed, rereads: set[str]) -> tuple[_Parsed, Change | None]:
    try:
        with engine.begin() as conn:
            return parsed, _store(conn, parsed, rereads)
    except (FieldTooLong, SQLAlchemyError) as exc:
        if _unavailable(exc):
            raise
        why = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        refused = dataclasses.replace(parsed, article=None, error=f"cannot store: {why}")
    with engine.begin() as conn:
        return refused, _store(conn, refused, rereads)


def _unavailable(exc: Exception) -> bool:
    """The database is down or busy, not refusing one row: the scan stops, to try again later."""
    return isinstance(exc, (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)) or bool(
        getattr(exc, "connection_invalidated", False)
    )


def _progress_bar(total: int) -> Callable[[int], None] | None:
    """A tqdm bar on an interactive terminal, nothing otherwise (logs and CI stay clean)."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="page", file=sys.stderr, leave=False)
    return bar.update

