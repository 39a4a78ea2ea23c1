"""A sick database (issue 13, items 10 and 11), injected between the real processes and PostgreSQL.

The Procfile's web line and ``feeds clock`` run with ``DATABASE_URL`` naming a proxy
(:mod:`tests.dbproxy`) that passes, refuses (the database is down) or black-holes
(it hangs: accepted, never answered) their connections, while the test sets up and
inspects the database directly. What each test shows is what the README's
Reliability section promises:

- polls are answered from memory, each well under half a second, through a hang
  and an outage, and by a worker replaced during the outage;
- /healthz answers 503 within 2 s, a push 503 with Retry-After within 5 s, and a
  push the database could not finish is never stored, not even once it is back;
- a web or a clock started while the database is down says so once, waits, and
  serves or builds once it answers;
- after a hang, everything recovers by itself within a lease interval.

PostgreSQL only: the faults are a server's, and SQLite has none to inject.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import text

from feeds.store.db import make_engine
from feeds.store.timeouts import CLOCK, COMMAND, WEB, Timeouts
from tests.conftest import PG_HOST, PG_PORT, Project, sqlalchemy_url
from tests.dbproxy import BLACK_HOLE, PASS, REFUSE, DbProxy
from tests.pages import story
from tests.procs import Proc, procfile_command, start_web, wait_until

TOKEN = "faults-token"
FEED = "/feeds/world.rss"
POLL_BOUND = 0.5  # seconds: a poll answered from memory takes milliseconds; this is a bound, not a benchmark
HEALTH_BOUND = 2.0
PUSH_BOUND = 5.0
LEASE = 2  # FEEDS_LEASE_INTERVAL for the clocks here: recovery is promised within one
WEB_RECOVERY = 10  # the default lease interval: a web worker's recovery does not depend on the setting
SLACK = 5  # seconds for a process on a shared machine, on top of a promised bound


@dataclass
class Sick:
    """A project whose processes reach PostgreSQL through the proxy; the test, directly."""

    project: Project
    proxy: DbProxy
    env: dict[str, str]

    def publish(self, count: int = 6) -> None:
        for n in range(1, count + 1):
            self.project.add_page(f"story-{n}.html", story(n, ["World", "Sport"][n % 2]))
        assert not self.project.ingest().rejected
        self.project.build()

    def sessions(self, application: str) -> list[tuple[str, str]]:
        """(state, wait event type) of the database's sessions named ``application...``."""
        with self.project.engine.connect() as conn:
            rows = conn.execute(text("SELECT state, wait_event_type FROM pg_stat_activity "
                                     "WHERE datname = current_database() AND application_name LIKE :name"),
                                {"name": application + "%"}).all()
        return [(r.state or "", r.wait_event_type or "") for r in rows]

    def stored_pages(self) -> list[bytes]:
        with self.project.engine.connect() as conn:
            return [bytes(r.page) for r in conn.execute(text("SELECT page FROM pushes ORDER BY id"))]


@pytest.fixture
def sick(tmp_path: Path, pg_database: str) -> Iterator[Sick]:
    proxy = DbProxy(PG_HOST, PG_PORT)
    project = Project(tmp_path / "project", pg_database)
    env = project.env(DATABASE_URL=proxy.url(pg_database.rsplit("/", 1)[1]), FEEDS_INGEST_TOKEN=TOKEN,
                      FEEDS_SCAN_INTERVAL="3600")
    try:
        yield Sick(project, proxy, env)
    finally:
        proxy.close()
        project.close()


def call(port: int, method: str, path: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    """One request on a new connection: status, headers, body, and the seconds it took."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    return resp.status, resp.headers, data, time.monotonic() - started


def push(port: int, n: int) -> tuple[int, http.client.HTTPMessage, bytes, float]:
    return call(port, "POST", "/api/articles", page(n),
                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/html"})


def page(n: int) -> bytes:
    return story(n, "World").encode()


def assert_unavailable(answer: tuple[int, http.client.HTTPMessage, bytes, float], bound: float) -> None:
    status, headers, body, took = answer
    assert status == 503 and headers["Retry-After"], (status, body)
    assert took < bound, f"answered in {took:.2f} s, over {bound} s"


def serving(port: int, requests: int = 6) -> bool:
    """Every one of ``requests`` requests (spread over the workers) gets the feed."""
    return all(call(port, "GET", FEED)[0] == 200 for _ in range(requests))


def worker_pids(web: Proc) -> dict[str, int]:
    """The live workers' PIDs by name, from Granian's log (the latest spawn of each)."""
    pids = {}
    for line in list(web.lines):
        if match := re.search(r"Spawning (worker-\d+) with PID: (\d+)", line):
            pids[match[1]] = int(match[2])
    return pids


def logged_after(proc: Proc, first: str, then: str) -> bool:
    """``proc`` logged a line holding ``then`` after one holding ``first``."""
    lines = list(proc.lines)
    starts = [i for i, line in enumerate(lines) if first in line]
    return bool(starts) and any(then in line for line in lines[starts[0] + 1:])


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(proc: Proc) -> None:
    """SIGTERM, as a platform sends it: the process exits 0."""
    proc.popen.send_signal(signal.SIGTERM)
    assert proc.wait(40) == 0, proc.output()


@dataclass
class Poller:
    """A feed reader polling one URL on a kept-alive connection, timing every request."""

    port: int
    etag: str
    phase: str = "before"
    samples: list[tuple[str, int, float, str]] = field(default_factory=list)  # phase, status, seconds, detail
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn, reused = None, False
        while not self.stop.is_set():
            if conn is None:
                conn, reused = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10), False
            phase, started = self.phase, time.monotonic()
            try:
                conn.request("GET", FEED, headers={"If-None-Match": self.etag})
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                conn = None
                if not reused:  # a kept-alive connection whose worker went is retried, as any reader does
                    self.samples.append((phase, 0, time.monotonic() - started, repr(exc)))
                continue
            self.samples.append((phase, resp.status, time.monotonic() - started,
                                 f"{resp.getheader('Retry-After')} {body[:40]!r}"))
            reused = True
            if resp.will_close:
                conn.close()
                conn = None

    def count(self, phase: str) -> int:
        return sum(s[0] == phase for s in list(self.samples))


def start_pollers(port: int, count: int = 2) -> list[Poller]:
    etag = call(port, "GET", FEED)[1]["ETag"]
    pollers = [Poller(port, etag) for _ in range(count)]
    for poller in pollers:
        threading.Thread(target=poller.run, daemon=True).start()
    return pollers


def enter(pollers: list[Poller], phase: str, proxy: DbProxy | None = None, mode: str = PASS) -> None:
    for poller in pollers:
        poller.phase = phase
    if proxy is not None:
        proxy.set_mode(mode)


def polled(pollers: list[Poller], phase: str, n: int = 20) -> None:
    wait_until(lambda: all(p.count(phase) >= n for p in pollers), 20, f"polls while {phase}")


def assert_polls(pollers: list[Poller], may_be_unloaded: tuple[str, ...] = (), killed_in: str = "") -> None:
    """Every poll took under POLL_BOUND and got the feed (200) or a 304; in the phases named,
    a 503 "feeds not loaded yet" with Retry-After too (a worker that has never read them).
    In ``killed_in``, the phase a worker is SIGKILLed, a connection it had just accepted
    is reset, as with any process killed outright; the reader's retry is then timed."""
    samples = [s for p in pollers for s in p.samples]
    slow = [s for s in samples if s[2] >= POLL_BOUND]
    assert not slow, f"{len(slow)} of {len(samples)} polls took {POLL_BOUND} s or more: {slow[:5]}"
    for phase, status, _, detail in samples:
        unloaded = phase in may_be_unloaded and detail.startswith("30 b'feeds not loaded yet")
        reset = phase == killed_in and status == 0 and detail.startswith(("ConnectionResetError", "RemoteDisconnected"))
        assert status in (200, 304) or (status == 503 and unloaded) or reset, (phase, status, detail)


def test_polls_are_answered_from_memory_through_a_hang_and_an_outage(sick: Sick) -> None:
    """One worker, so every push and /healthz waits on the same worker the polls are on."""
    sick.publish()
    web, port = start_web({**sick.env, "WEB_CONCURRENCY": "1"}, sick.project.root)
    pollers: list[Poller] = []
    try:
        pollers = start_pollers(port)
        # The database hangs: a push or /healthz finds out, or the worker's own check does;
        # the requests after are told at once.
        enter(pollers, "hanging", sick.proxy, BLACK_HOLE)
        assert_unavailable(push(port, 901), PUSH_BOUND)
        for _ in range(3):
            assert_unavailable(call(port, "GET", "/healthz"), HEALTH_BOUND)
        assert_unavailable(push(port, 902), PUSH_BOUND)
        polled(pollers, "hanging")

        enter(pollers, "down", sick.proxy, REFUSE)
        assert_unavailable(call(port, "GET", "/healthz"), HEALTH_BOUND)
        assert_unavailable(push(port, 903), PUSH_BOUND)
        polled(pollers, "down")

        # The database is back: the worker follows it again by itself.
        enter(pollers, "back", sick.proxy, PASS)
        wait_until(lambda: call(port, "GET", "/healthz")[0] == 200, WEB_RECOVERY + SLACK, "the web to recover")
        status, _, body, _ = push(port, 904)
        assert status == 202, body
        polled(pollers, "back")
    finally:
        for poller in pollers:
            poller.stop.set()
        stop(web)
        print(f"--- web ---\n{web.output()}")  # shown by pytest only if the test failed
    assert_polls(pollers)
    assert "Traceback" not in web.output()
    # Nothing the web gave up on was stored, even once the database was back: every session
    # of the web has ended (so every transaction it began is settled) and only the last push is there.
    wait_until(lambda: not sick.sessions("feeds web"), 20, "the web's sessions to end")
    assert sick.stored_pages() == [page(904)]


def test_a_worker_replaced_during_an_outage_starts_and_the_others_keep_serving(sick: Sick) -> None:
    sick.publish()
    web, port = start_web({**sick.env, "WEB_CONCURRENCY": "2"}, sick.project.root)
    pollers: list[Poller] = []
    try:
        # Granian says "Started worker-N" once the worker's app is made: its feeds loaded.
        wait_until(lambda: sum(line.endswith(("Started worker-1", "Started worker-2")) for line in web.lines) == 2,
                   30, "both workers to load the feeds")
        pollers = start_pollers(port, 4)
        enter(pollers, "down", sick.proxy, REFUSE)
        polled(pollers, "down")
        before = worker_pids(web)
        killed, kept = before["worker-1"], before["worker-2"]
        enter(pollers, "replaced")
        os.kill(killed, signal.SIGKILL)
        wait_until(lambda: worker_pids(web)["worker-1"] != killed, 30, "a replacement worker")
        respawned = f"with PID: {worker_pids(web)['worker-1']}"
        wait_until(lambda: logged_after(web, respawned, "cannot read the published feeds"), 30,
                   "the replacement worker to start and find the database down")
        polled(pollers, "replaced")
        assert alive(kept) and web.popen.poll() is None, "a healthy worker was taken down with the failed one"

        enter(pollers, "recovering", sick.proxy, PASS)
        wait_until(lambda: serving(port, 10) and call(port, "GET", "/healthz")[0] == 200,
                   WEB_RECOVERY + SLACK, "both workers to serve again")
        enter(pollers, "back")
        polled(pollers, "back")
    finally:
        for poller in pollers:
            poller.stop.set()
        stop(web)
        print(f"--- web ---\n{web.output()}")
    assert_polls(pollers, may_be_unloaded=("replaced", "recovering"), killed_in="replaced")
    assert "Traceback" not in web.output()


@pytest.mark.parametrize("fault", ["lock", "hang"])
def test_a_push_the_database_cannot_finish_is_a_503_and_never_stored(sick: Sick, fault: str) -> None:
    """The INSERT waits on a lock (a migration, a VACUUM FULL). ``lock``: the server's
    lock_timeout cancels it, before the push answers 503. ``hang``: the lock is released
    while the database hangs, so the INSERT runs but its answer never comes: the client
    gives up and closes the connection, and the server, once back, rolls it back."""
    sick.publish()
    web, port = start_web({**sick.env, "WEB_CONCURRENCY": "1"}, sick.project.root)
    answers: list[tuple[int, http.client.HTTPMessage, bytes, float]] = []
    try:
        wait_until(lambda: serving(port), 30, "the web serving")
        holder = sick.project.engine.connect()
        holder.begin()
        holder.execute(text("LOCK TABLE pushes IN ACCESS EXCLUSIVE MODE"))
        pushing = threading.Thread(target=lambda: answers.append(push(port, 905)))
        pushing.start()
        wait_until(lambda: ("active", "Lock") in sick.sessions("feeds web"), 5, "the push's INSERT to wait on the lock")
        if fault == "hang":
            sick.proxy.set_mode(BLACK_HOLE)
            holder.rollback()  # the INSERT runs now, and its answer is held
        pushing.join(30)
        assert_unavailable(answers[0], PUSH_BOUND)
        if fault == "lock":
            # The server cancelled the INSERT: nothing of the web's still waits on the lock.
            assert ("active", "Lock") not in sick.sessions("feeds web")
            holder.rollback()
        holder.close()
        sick.proxy.set_mode(PASS)
        wait_until(lambda: call(port, "GET", "/healthz")[0] == 200, WEB_RECOVERY + SLACK, "the web to recover")
    finally:
        stop(web)
        print(f"--- web ---\n{web.output()}")
    wait_until(lambda: not sick.sessions("feeds web"), 20, "the web's sessions to end")
    assert sick.stored_pages() == []


def test_a_web_started_while_the_database_is_down_serves_once_it_answers(sick: Sick) -> None:
    sick.publish()
    sick.proxy.set_mode(REFUSE)
    web, port = start_web({**sick.env, "WEB_CONCURRENCY": "1"}, sick.project.root)
    try:
        for path in (FEED, "/feeds.opml"):
            status, headers, body, took = call(port, "GET", path)
            assert (status, headers["Retry-After"]) == (503, "30") and took < POLL_BOUND, (path, status, body)
        assert_unavailable(call(port, "GET", "/healthz"), HEALTH_BOUND)
        assert_unavailable(push(port, 906), PUSH_BOUND)
        assert web.count("starting anyway") == 1 and web.count("cannot read the published feeds") == 1

        sick.proxy.set_mode(PASS)
        wait_until(lambda: serving(port) and call(port, "GET", "/healthz")[0] == 200,
                   WEB_RECOVERY + SLACK, "the web to load the feeds")
        assert web.saw("the database answers again")
    finally:
        stop(web)
        print(f"--- web ---\n{web.output()}")
    assert "Traceback" not in web.output()


def start_clock(sick: Sick, name: str = "clock") -> Proc:
    # Rebuilds at twice the lease: a rebuild caught by a hang is still waiting when the clock
    # notices the lost lock and stops scheduling, so none is skipped for running late.
    env = {**sick.env, "FEEDS_LEASE_INTERVAL": str(LEASE), "FEEDS_REBUILD_INTERVAL": str(2 * LEASE)}
    return Proc(procfile_command("clock"), env=env, cwd=sick.project.root, name=name)


def published_ids(sick: Sick) -> str:
    with sick.project.engine.connect() as conn:
        return conn.execute(text("SELECT convert_from(body, 'UTF8') FROM feed_documents WHERE path = 'feeds/all.rss'"
                                 )).scalar() or ""


def queue(sick: Sick, n: int) -> None:
    """A pushed page, queued as the push API queues it, for the clock's intake."""
    from datetime import UTC, datetime

    from feeds.store.pushes import receive

    with sick.project.engine.begin() as conn:
        receive(conn, page(n), None, datetime.now(UTC))


def test_a_clock_started_while_the_database_is_down_waits_then_builds(sick: Sick) -> None:
    sick.project.engine  # noqa: B018 - the schema, made directly: the clock reaches it only through the proxy
    queue(sick, 907)
    sick.proxy.set_mode(REFUSE)
    clock = start_clock(sick)
    try:
        clock.wait_for_line("waiting for it")
        wait_until(lambda: sick.proxy.refused >= 3, 10 * LEASE, "the clock to try again")
        assert clock.popen.poll() is None and clock.count("waiting for it") == 1, clock.output()

        sick.proxy.set_mode(PASS)
        clock.wait_for_line("clock: active", timeout=LEASE + SLACK)
        wait_until(lambda: "/story/907" in published_ids(sick), 15, "the queued push built")
    finally:
        stop(clock)
        print(f"--- clock ---\n{clock.output()}")
    assert "Traceback" not in clock.output()


def test_a_clock_through_a_hang_loses_its_lock_then_takes_it_back_and_builds(sick: Sick) -> None:
    sick.publish()
    clock = start_clock(sick)
    try:
        clock.wait_for_line("clock: active")
        clock.wait_for_line("build: done")
        sick.proxy.set_mode(BLACK_HOLE)
        clock.wait_for_line("lost the scheduler lock", timeout=LEASE + SLACK)
        queue(sick, 908)
        sick.proxy.set_mode(PASS)
        wait_until(lambda: clock.count("clock: active") == 2, LEASE + SLACK, "the clock active again")
        wait_until(lambda: "/story/908" in published_ids(sick), 15, "the push queued during the hang built")
    finally:
        stop(clock)
        print(f"--- clock ---\n{clock.output()}")
    assert "Traceback" not in clock.output()
    assert not clock.saw("maximum number of running instances"), clock.output()


@pytest.mark.parametrize("role", [WEB, CLOCK, COMMAND], ids=["web", "clock", "command"])
def test_every_session_gets_its_roles_timeouts(database_url: str, role: Timeouts) -> None:
    engine = make_engine(sqlalchemy_url(database_url), role=role)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == role.lock * 1000
                return
            wanted = role.session_settings()
            shown = dict(conn.execute(text("SELECT name, setting FROM pg_settings WHERE name = ANY(:names)"),
                                      {"names": list(wanted)}).all())
    finally:
        engine.dispose()
    assert shown == {name: str(value) for name, value in wanted.items()}
