"""A client-side limit on every call to PostgreSQL, for a server that says nothing.

``statement_timeout`` and ``lock_timeout`` are the server's: it cancels a statement
that runs or waits too long, and says so. A server that does not answer at all
(its processes stopped, a network that drops packets, a proxy holding the
connection) says nothing, and its kernel may still acknowledge what is sent, so
TCP keepalives and ``tcp_user_timeout`` see a healthy peer while psycopg waits on
the socket for ever: a web request, a worker's check of the published feeds, the
clock's build, all stuck until the server comes back, if it does.

So every call that waits for the server (a statement, a commit, a rollback, the
pool's ping) is watched: when no answer comes within the role's ``answer``
timeout, one watchdog thread per process shuts that connection's socket down. The
call then fails as for a lost connection (``OperationalError``, which SQLAlchemy
takes as a disconnect: the connection is thrown away, the pool opens another next
time), and the server, once it reads again, finds the connection's end and rolls
back whatever transaction it held: what the caller gave up on never commits later.

Connecting is bounded by ``connect_timeout`` already. The watchdog costs a dict
entry per call; its thread wakes only when a deadline falls due.
"""

from __future__ import annotations

import itertools
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg


class Watchdog:
    """Deadlines for calls in flight, each on a socket; shuts the socket of a call past its deadline."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)  # a child has none of the parent's calls, nor its thread

    def _reset(self) -> None:
        self._cond = threading.Condition()
        self._calls: dict[int, tuple[float, int]] = {}  # call -> (deadline, socket's file descriptor)
        self._fired: set[int] = set()
        self._ids = itertools.count()
        self._wake_at = float("inf")  # when the thread wakes next, unless notified
        self._thread: threading.Thread | None = None

    @contextmanager
    def watch(self, fd: int, seconds: float) -> Iterator[None]:
        """Shut ``fd`` down if the block has not ended within ``seconds``; the block's
        error is then an ``OperationalError`` saying so."""
        deadline = time.monotonic() + seconds
        with self._cond:
            call = next(self._ids)
            self._calls[call] = (deadline, fd)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="feeds-db-watchdog", daemon=True)
                self._thread.start()
            elif deadline < self._wake_at:  # calls of one role come in deadline order: rarely
                self._cond.notify()
        try:
            yield
        except psycopg.Error as exc:
            if self._end(call):
                raise psycopg.OperationalError(f"the database did not answer within {seconds:g} s") from exc
            raise
        finally:
            self._end(call)

    def _end(self, call: int) -> bool:
        """Forget a call; whether its deadline fired."""
        with self._cond:
            self._calls.pop(call, None)
            if call in self._fired:
                self._fired.discard(call)
                return True
            return False

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                for call, (deadline, fd) in list(self._calls.items()):
                    if deadline <= now:
                        del self._calls[call]
                        self._fired.add(call)
                        _shut(fd)  # under the lock: the call is still in flight, so fd is still its socket
                self._wake_at = min((deadline for deadline, _ in self._calls.values()), default=float("inf"))
                self._cond.wait(None if self._wake_at == float("inf") else self._wake_at - now)


def _shut(fd: int) -> None:
    """Shut a socket down in both directions (through a duplicate: the owner closes ``fd``).
    A call blocked on it returns at once, seeing the connection end."""
    try:
        sock = socket.socket(fileno=os.dup(fd))
    except OSError:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    finally:
        sock.close()


WATCHDOG = Watchdog()


class WatchedCursor(psycopg.Cursor[Any]):
    """A cursor whose statements are watched (the connection's ``answer_timeout``)."""

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        with WATCHDOG.watch(self.connection.fileno(), self.connection.answer_timeout):  # type: ignore[attr-defined]
            return super().execute(*args, **kwargs)

    def executemany(self, *args: Any, **kwargs: Any) -> None:
        with WATCHDOG.watch(self.connection.fileno(), self.connection.answer_timeout):  # type: ignore[attr-defined]
            super().executemany(*args, **kwargs)


class WatchedConnection(psycopg.Connection[Any]):
    """A connection whose commits, rollbacks and cursors' statements are watched."""

    answer_timeout: float = 60.0

    def commit(self) -> None:
        with WATCHDOG.watch(self.fileno(), self.answer_timeout):
            super().commit()

    def rollback(self) -> None:
        if self.closed:  # nothing to wait for: let psycopg say so as it does
            super().rollback()
            return
        with WATCHDOG.watch(self.fileno(), self.answer_timeout):
            super().rollback()


def connect(answer_timeout: float, *args: Any, **kwargs: Any) -> WatchedConnection:
    """``psycopg.connect`` with every later call watched."""
    conn = WatchedConnection.connect(*args, cursor_factory=WatchedCursor, **kwargs)
    conn.answer_timeout = answer_timeout
    return conn
