"""How long each kind of process waits on the database, and why: one row per role.

Every session gets all of them. On PostgreSQL:

- ``connect``: ``connect_timeout``, to open a connection (libpq's minimum is 2 s);
- ``statement`` and ``lock``: ``statement_timeout`` and ``lock_timeout``, set on each
  new session (``SET``, which poolers such as PgBouncer pass on, where a startup
  ``options`` parameter is refused): the *server* cancels a statement that runs, or
  waits for a lock, longer, and says so. A cancelled statement stores nothing;
- ``answer``: the *client's* limit on a call the server does not answer at all (a
  server whose processes are stopped, a network that drops packets): see
  :mod:`feeds.store.watchdog`. Always above ``statement``, so a server that is merely
  slow is left to cancel its own statement;
- TCP keepalives on both ends, and ``tcp_user_timeout``, so that either end notices
  a peer that vanished: the client in the pool, the server (which then rolls back
  that session's transaction and drops its locks).

On SQLite ``lock`` is the busy timeout: how long a writer waits for another's lock.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Timeouts:
    """Seconds a process of one role waits on the database (see the module docstring)."""

    connect: int
    statement: float
    lock: float
    answer: float
    keepalive_idle: int = 10  # seconds idle before the first probe
    keepalive_interval: int = 5  # between probes
    keepalive_count: int = 3  # unanswered probes before the connection is dropped

    def session_settings(self) -> dict[str, int]:
        """The server-side settings of a session, as ``SET`` takes them (milliseconds, seconds)."""
        return {
            "statement_timeout": round(self.statement * 1000),
            "lock_timeout": round(self.lock * 1000),
            "tcp_keepalives_idle": self.keepalive_idle,
            "tcp_keepalives_interval": self.keepalive_interval,
            "tcp_keepalives_count": self.keepalive_count,
        }

    def connect_args(self) -> dict[str, int]:
        """libpq's connection parameters for the client's end."""
        return {
            "connect_timeout": self.connect,
            "keepalives": 1,
            "keepalives_idle": self.keepalive_idle,
            "keepalives_interval": self.keepalive_interval,
            "keepalives_count": self.keepalive_count,
            "tcp_user_timeout": round(self.answer * 1000),  # sent data unacknowledged this long: dead peer
        }


# A web worker answers readers from memory; the database is only on the paths of a
# push (one INSERT of a page up to 5 MiB), a receipt, /healthz, and the worker's
# background check of the published set. Each takes milliseconds; a longer one
# means a sick database, and the worker would rather answer 503 and be retried.
# The server cancels a push's INSERT (3 s; 2 s waiting for a lock) before the push
# answers 503 (5 s at most), so a 503 never hides a late insert.
WEB = Timeouts(connect=2, statement=3, lock=2, answer=4)

# The clock's build reads every article in one snapshot and writes the changed
# feeds in one transaction: on a large store one statement takes seconds, and a
# build may wait for another's lock (``feeds build`` from a shell). Nobody waits on
# it, so it gets a minute per statement; the client gives up on a silent server
# a little later. Losing the database costs the clock its lock within a lease
# interval anyway (see :func:`scheduler_lock_timeouts`), and it stops scheduling.
CLOCK = Timeouts(connect=5, statement=60, lock=30, answer=65)

# Commands an operator or the release step runs: ingest, build, export, and
# migrations, which may rewrite a large table. Ten minutes per statement; a minute
# for a lock, so a migration queued behind a stuck session fails instead of
# holding every other session up behind its own lock request.
COMMAND = Timeouts(connect=10, statement=600, lock=60, answer=610)


def scheduler_lock_timeouts(lease_interval: float) -> Timeouts:
    """The clock's scheduler-lock session, derived from the lease interval: its only
    statements (try the lock, ``SELECT 1``) never wait, so a quarter of a lease is
    plenty for the server, and with half a lease for an answer a check every half
    lease notices a lost database within one lease."""
    quarter = max(0.5, lease_interval / 4)
    return Timeouts(
        connect=max(2, int(lease_interval)),
        statement=quarter,
        lock=quarter,
        answer=max(1.0, lease_interval / 2),
        keepalive_idle=max(1, int(lease_interval / 2)),
        keepalive_interval=max(1, int(lease_interval / 6)),
        keepalive_count=3,
    )
