"""Real processes over real HTTP against PostgreSQL, started from the Procfile's own lines:
two web servers (the Procfile's line, two workers each) and two clock processes.

Articles are pushed through the API; both servers come to serve them with the
same ETag; the active clock is SIGKILLed in the middle of a build (its
transaction open, feed rows written, waiting on a row this test holds); the
standby takes over; and through all of it pollers on both servers check every
response: no 5xx, never empty or torn, never fewer items than an older version,
and in the end no article lost.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import json
import signal
import threading
from dataclasses import dataclass, field
from pathlib import Path

import feedparser
from sqlalchemy import select, text

from feeds.store import db
from feeds.store.schema import state
from tests.conftest import Project
from tests.pages import story
from tests.procs import Proc, procfile_command, start_web, wait_until

TOKEN = "multiprocess-token"
FEED = "/feeds/all.rss"
ENV = {
    "FEEDS_INGEST_TOKEN": TOKEN,
    "FEEDS_LEASE_INTERVAL": "2",
    "FEEDS_REBUILD_INTERVAL": "1",
    "FEEDS_SCAN_INTERVAL": "3600",
    "FEEDS_ITEMS_PER_FEED": "100",
    "WEB_CONCURRENCY": "2",
}


@dataclass
class Poller:
    """Fetches one server's feed in a loop and checks every response as it comes."""

    name: str
    port: int
    failures: list[str] = field(default_factory=list)
    versions: list[tuple[str, int]] = field(default_factory=list)  # (etag, items), first-seen order
    counts: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    seen_ok: bool = False
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        reused = False
        while not self.stop.is_set():
            gz = self.requests % 2 == 1
            try:
                conn.request("GET", FEED, headers={"Accept-Encoding": "gzip"} if gz else {})
                resp = conn.getresponse()
                body = resp.read()
            except (OSError, http.client.HTTPException) as exc:
                # A keep-alive connection the server closed while idle is retried on a
                # fresh one, as any client does; a fresh connection failing is a failure.
                if not reused:
                    self.failures.append(f"{self.name}: request failed: {exc!r}")
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                reused = False
                continue
            reused = not resp.will_close
            if resp.will_close:
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            self.requests += 1
            self.check(resp, body, gz)

    def check(self, resp: http.client.HTTPResponse, body: bytes, gz: bool) -> None:
        fail = self.failures.append
        if resp.status >= 500:
            fail(f"{self.name}: {resp.status}")
            return
        if resp.status == 404 and not self.seen_ok:
            return  # before the first publish there is no feed yet
        if resp.status != 200:
            fail(f"{self.name}: {resp.status} after the feed existed")
            return
        self.seen_ok = True
        if gz:
            body = gzip.decompress(body)
        etag = resp.getheader("ETag", "").removesuffix('-gz"').strip('"')
        if hashlib.sha256(body).hexdigest()[:32] != etag:
            fail(f"{self.name}: body does not match its ETag (torn or mixed): {len(body)} bytes")
            return
        parsed = feedparser.parse(body)
        if parsed.bozo or not parsed.entries:
            fail(f"{self.name}: empty or unparsable feed: {parsed.get('bozo_exception')!r}")
            return
        n = len(parsed.entries)
        if etag in self.counts:
            return  # an older version still served by a worker that has not polled yet
        if self.versions and n < self.versions[-1][1]:
            fail(f"{self.name}: new version {etag} has {n} items, fewer than {self.versions[-1][1]} before")
        self.counts[etag] = n
        self.versions.append((etag, n))


def http_json(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    conn.close()
    return resp.status, resp.headers, data


def push(port: int, n: int) -> str:
    status, _, data = http_json(port, "POST", "/api/articles", story(n, ["News", "Sport", "World"][n % 3]).encode(),
                                {"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/html"})
    assert status == 202, data  # queued: the active clock takes it at its next rebuild
    return f"https://harbourgazette.example/story/{n}"


def served(port: int) -> tuple[str, set[str]]:
    status, headers, body = http_json(port, "GET", FEED)
    if status != 200:
        return "", set()
    return headers["ETag"], {e.id for e in feedparser.parse(body).entries}


def all_serve(ports: list[int], ids: set[str]) -> bool:
    """Every server (every worker: several requests each) serves exactly ``ids`` under one ETag."""
    etags = set()
    for port in ports:
        for _ in range(6):
            etag, got = served(port)
            if got != ids:
                return False
            etags.add(etag)
    return len(etags) == 1


def pg_waiting_build(engine, pid: int) -> bool:
    """The clock's build is mid-transaction: feed rows written, waiting on the row we hold."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT l.granted, l.mode, c.relname FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid "
            "LEFT JOIN pg_class c ON c.oid = l.relation WHERE a.application_name = :name"),
            {"name": f"feeds clock {pid}"}).all()
    waiting = any(not r.granted for r in rows)
    wrote = any(r.granted and r.relname == "feed_documents" and r.mode == "RowExclusiveLock" for r in rows)
    return waiting and wrote


def test_two_webs_two_clocks_sigkill_mid_build(tmp_path: Path, pg_database: str):
    project = Project(tmp_path / "project", pg_database)
    env = project.env(**ENV)
    procs: list[Proc] = []
    pollers: list[Poller] = []
    threads: list[threading.Thread] = []
    try:
        release = Proc(procfile_command("release"), env=env, cwd=project.root, name="release")
        assert release.wait(60) == 0, release.output()
        assert "upgraded from empty" in release.output()

        webs, ports = [], []
        for i in range(2):
            web, port = start_web(env, project.root, name=f"web-{i}")
            procs.append(web)
            webs.append(web)
            ports.append(port)
        for web in webs:
            wait_until(lambda w=web: sum(line.endswith(("Started worker-1", "Started worker-2")) for line in w.lines) == 2,
                       30, f"{web.name}'s two workers")

        clocks = []
        for i in range(2):
            clock = Proc(procfile_command("clock"), env=env, cwd=project.root, name=f"clock-{i}")
            procs.append(clock)
            clocks.append(clock)
        wait_until(lambda: sum(c.saw("clock: active") for c in clocks) == 1
                   and sum(c.saw("clock: standby") for c in clocks) == 1, 30, "one active clock, one standby")
        active = next(c for c in clocks if c.saw("clock: active"))
        standby = next(c for c in clocks if c is not active)

        for i, port in enumerate(ports):
            poller = Poller(f"web-{i}", port)
            pollers.append(poller)
            threads.append(threading.Thread(target=poller.run, daemon=True))
            threads[-1].start()

        # 1. Pushes through both servers reach both servers' feeds, with one ETag.
        ids = {push(ports[n % 2], n) for n in range(6)}
        wait_until(lambda: all_serve(ports, ids), 30, "both servers to serve the first six articles")

        # 2. The active clock is killed in the middle of a build.
        with project.engine.connect() as holder:
            holder.begin()
            holder.execute(select(state.c.value).where(state.c.key == db.DOCUMENTS_VERSION).with_for_update())
            ids |= {push(ports[n % 2], n) for n in range(6, 12)}
            wait_until(lambda: pg_waiting_build(project.engine, active.pid), 30,
                       "the active clock's build to be mid-transaction")
            active.popen.send_signal(signal.SIGKILL)
            assert active.wait(10) == -signal.SIGKILL
            standby.wait_for_line("clock: active", timeout=2 + 5)  # within a lease interval (+ slack)
            ids |= {push(ports[n % 2], n) for n in range(12, 15)}
            holder.rollback()  # the dead build's transaction rolls back; the new active one builds

        # 3. Everything pushed, before, during and after the kill, is served by both.
        wait_until(lambda: all_serve(ports, ids), 30, "both servers to serve all fifteen articles")
        for port in ports:
            status, _, body = http_json(port, "GET", "/healthz")
            assert status == 200, body
        # Nothing half-written survived the kill: every published document matches its ETag.
        with project.engine.connect() as conn:
            for row in conn.execute(text("SELECT path, body, etag FROM feed_documents")):
                assert '"' + hashlib.sha256(bytes(row.body)).hexdigest()[:32] + '"' == row.etag, row.path
            assert db.get_version(conn, db.BUILT_VERSION) == db.get_version(conn, db.ARTICLES_VERSION)
        # Web processes never ran the scheduler.
        assert not any(w.saw("clock:") or w.saw("build:") for w in webs)
    finally:
        for poller in pollers:
            poller.stop.set()
        for thread in threads:
            thread.join(15)
        for proc in procs:
            if proc.popen.poll() is None:
                proc.popen.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(30)
            except Exception:  # noqa: BLE001
                proc.stop()
        project.close()
        for proc in procs:  # shown by pytest only if the test failed
            print(f"--- {proc.name} (exit {proc.popen.returncode}) ---\n{proc.output()}")
        for poller in pollers:
            print(f"--- poller {poller.name}: {poller.requests} requests, versions {poller.versions}, "
                  f"failures {poller.failures[:10]}")

    for poller in pollers:
        assert poller.failures == [], poller.failures[:10]
        assert poller.requests > 50 and len(poller.versions) >= 2, (poller.requests, poller.versions)
