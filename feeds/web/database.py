"""The database on a request's path: an answer within a budget, or ``Unavailable`` at once.

Only a few requests touch the database (a push, a receipt, a retraction,
/healthz); each must still answer in bounded time when the database hangs, so a
platform's health check sees 503, and a CMS's webhook gets 503 with Retry-After
and tries again. Two rules give that:

- while the process knows the database is not answering (its own check of it,
  :class:`DocumentCache`'s thread, failed, or a check or a request has waited on
  it over a second), such a request is answered at once, without a query;
- otherwise its work runs on a thread of its own and the request waits for it
  ``budget`` seconds at most. Work that outlives its budget is abandoned: a
  transaction checks for that before it commits, and rolls back instead; the
  session timeouts and the watchdog (:mod:`feeds.store.timeouts`) end its thread
  soon after. The 503 is then true: nothing was stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import OperationalError

from feeds.store.db import describe

if TYPE_CHECKING:
    from feeds.web.documents import DocumentCache

T = TypeVar("T")


class Unavailable(Exception):
    """The database did not answer, or not in time; ``str()`` says how."""


class Abandoned(Exception):
    """The request stopped waiting: the work must not commit."""


def within(
    cache: DocumentCache,
    budget: float,
    work: Callable[[threading.Event], T],
    unavailable: type[Exception] = OperationalError,
) -> T:
    """``work(abandoned)``'s result within ``budget`` seconds, or ``Unavailable``: also when
    it raises ``unavailable`` (the database's failure, not a bug: by default ``OperationalError``)."""
    if (problem := cache.database_problem()) is not None:
        raise Unavailable(problem)
    done = threading.Event()
    abandoned = threading.Event()
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(work(abandoned))
        except BaseException as exc:  # noqa: BLE001 - handed to the request's thread
            failure.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name="feeds-db-request", daemon=True).start()
    with cache.waiting():
        answered = done.wait(budget)
    if not answered:
        abandoned.set()
        problem = f"no answer within {budget:g} s"
        cache.report_failure(problem)
        raise Unavailable(problem)
    if failure:
        if isinstance(failure[0], unavailable):
            raise Unavailable(describe(failure[0])) from failure[0]
        raise failure[0]
    return outcome[0]


def transaction(engine: Engine, work: Callable[[Connection], T]) -> Callable[[threading.Event], T]:
    """``work`` in a transaction that commits only if the request still waits for it."""

    def run(abandoned: threading.Event) -> T:
        with engine.begin() as conn:
            result = work(conn)
            if abandoned.is_set():
                raise Abandoned  # rolls back
        return result

    return run


def reading(engine: Engine, work: Callable[[Connection], T]) -> Callable[[threading.Event], T]:
    """``work`` on a connection, for reads."""

    def run(abandoned: threading.Event) -> T:
        with engine.connect() as conn:
            return work(conn)

    return run
