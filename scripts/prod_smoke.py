"""Smoke-test the shipped install: run it with the Python of a production venv.

    python3 -m venv /tmp/prod && /tmp/prod/bin/pip install -r requirements.txt
    /tmp/prod/bin/python scripts/prod_smoke.py [--corpus DIR] [--break PACKAGE ...]

The venv holds the locked production set and nothing else (no test extras), the
way a platform installs it; this script uses only the standard library and what
that set brings (psycopg, to make a scratch database). From the repository root,
as a platform runs it, it starts:

1. the Procfile against PostgreSQL: ``release``, two ``web`` processes and one
   ``clock`` scanning a copy of ``sample_articles/``; every sample article must
   reach both webs' all-sections feed, a page pushed through the API must too,
   no process may log a traceback or a rejected page, and SIGTERM must stop all
   of them with status 0;
2. ``feeds run`` on SQLite, the embedded default: every sample article served,
   then SIGTERM, status 0;
3. with ``--corpus DIR`` (repeatable), ``feeds inspect`` on every page of each folder: no page may
   fail with an ingester bug;
4. with ``--break PACKAGE[=run,web]``, each named package uninstalled in turn: the
   commands named (by default ``run``, ``ingest``, ``clock``, ``web``) must each exit 2
   with one line naming it;
   the locked set is installed again afterwards.

Exit status 0 when everything held; otherwise 1, with what failed.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "smoke-token"
PG_ADMIN = os.environ.get("FEEDS_SMOKE_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
BAD_LOG_WORDS = ("Traceback", ": rejected:", "ingester failed", " ERROR ", "[ERROR]")


class SmokeFailure(Exception):
    pass


def wait_until(check: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SmokeFailure(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Process:
    """A command line run as the platform would (``bash -c``, the venv's bin first on PATH)."""

    def __init__(self, name: str, line: str, env: dict[str, str]) -> None:
        self.name, self.lines = name, []
        self.popen = subprocess.Popen(
            ["bash", "-c", "exec " + line], cwd=ROOT, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.lines.append(line.rstrip("\n"))

    def output(self) -> str:
        return "\n".join(f"  {self.name}| {line}" for line in self.lines)

    def alive(self) -> bool:
        if self.popen.poll() is not None:
            self.reader.join(2)
            raise SmokeFailure(f"{self.name} exited ({self.popen.returncode}):\n{self.output()}")
        return True

    def terminate(self, timeout: float = 30) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
        try:
            code = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            raise SmokeFailure(f"{self.name} did not stop within {timeout:g}s of SIGTERM:\n{self.output()}") from None
        self.reader.join(5)
        if code != 0:
            raise SmokeFailure(f"{self.name} exited {code} on SIGTERM:\n{self.output()}")

    def check_log(self) -> None:
        bad = [line for line in self.lines if any(word in line for word in BAD_LOG_WORDS)]
        if bad:
            raise SmokeFailure(f"{self.name} logged a failure:\n{self.output()}")


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    entries = dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))
    # Servers here bind 127.0.0.1 only; the platform's 0.0.0.0 is the one thing changed.
    return {kind: line.replace("0.0.0.0", "127.0.0.1") for kind, line in entries.items()}


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FEEDS_", "DATABASE_URL", "PORT", "WEB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra


def get_json(port: int, path: str) -> dict | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
            return json.load(resp)
    except (OSError, ValueError):
        return None


def page_status(port: int, path: str) -> int:
    """The status of ``path`` asked for as a browser asks (the HTML pages, previews included)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers={"Accept": "text/html"})
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status if resp.headers.get_content_type() == "text/html" else -resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def feed_titles(port: int) -> set[str]:
    feed = get_json(port, "/feeds/all.json")
    return {item.get("title", "") for item in feed.get("items", [])} if feed else set()


def expected_titles() -> set[str]:
    expectations = json.loads((ROOT / "tests" / "sample_expectations.json").read_text())
    return {entry["title"] for path, entry in expectations.items() if path.startswith("sample_articles/")}


def push(port: int, page: bytes) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/articles", data=page, method="POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "text/html"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as exc:
        raise SmokeFailure(f"push answered {exc.code}: {exc.read()[:300]!r}") from None


def pushed_page() -> tuple[bytes, str]:
    """A sample page made into a new article: another canonical URL and headline."""
    page = (ROOT / "sample_articles" / "ld-drone-lifeboat-trial.html").read_text(encoding="utf-8")
    title = "Smoke test: lifeboat drone trial extended to the winter"
    page = page.replace("Lifeboat crew trials drone that drops buoyancy aids to swimmers", title)
    page = page.replace("lifeboat-crew-trials-drone", "smoke-test-lifeboat-drone")
    return page.encode("utf-8"), title


def procfile_on_postgres(workdir: Path) -> None:
    import psycopg

    name = f"feeds_smoke_{os.getpid()}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    articles = workdir / "articles"
    shutil.copytree(ROOT / "sample_articles", articles)
    env = base_env(
        DATABASE_URL=PG_ADMIN.rsplit("/", 1)[0] + "/" + name,
        FEEDS_INGEST_TOKEN=TOKEN, FEEDS_ARTICLES_DIR=str(articles), FEEDS_ITEMS_PER_FEED="1000",
        FEEDS_SCAN_INTERVAL="2", FEEDS_REBUILD_INTERVAL="1", WEB_CONCURRENCY="2",
    )
    lines = procfile()
    procs: list[Process] = []
    try:
        release = Process("release", lines["release"], env)
        if release.popen.wait(120) != 0:
            release.reader.join(2)
            raise SmokeFailure(f"release failed:\n{release.output()}")
        ports = [free_port(), free_port()]
        procs += [Process(f"web-{i}", lines["web"], env | {"PORT": str(port)}) for i, port in enumerate(ports)]
        procs.append(Process("clock", lines["clock"], env))
        wanted = expected_titles()
        for port in ports:
            try:
                wait_until(lambda: all(p.alive() for p in procs) and wanted <= feed_titles(port), 120,
                           f"every sample article in the all-sections feed of the web on port {port}")
            except SmokeFailure as exc:
                missing = "\n".join(sorted(wanted - feed_titles(port)))
                logs = "\n".join(p.output() for p in procs)
                raise SmokeFailure(f"{exc}; missing:\n{missing}\n{logs}") from None
        print(f"smoke: Procfile on PostgreSQL: all {len(wanted)} sample articles served by both webs")
        page, title = pushed_page()
        state = push(ports[0], page).get("state")
        for port in ports:
            wait_until(lambda: all(p.alive() for p in procs) and title in feed_titles(port), 60,
                       f"the pushed article in the feed of the web on port {port}")
        print(f"smoke: a page pushed to one web ({state}, then taken by the clock) is served by both")
        for proc in procs:
            proc.terminate()
            proc.check_log()
        print("smoke: SIGTERM stopped both webs and the clock, status 0")
    finally:
        for proc in procs:
            if proc.popen.poll() is None:
                proc.popen.kill()
        with psycopg.connect(PG_ADMIN, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def embedded_default(workdir: Path) -> None:
    port = free_port()
    env = base_env(FEEDS_INSTANCE_DIR=str(workdir / "instance"), FEEDS_ITEMS_PER_FEED="1000")
    run = Process("feeds run", f"python -m feeds run --port {port}", env)
    try:
        wanted = expected_titles()
        wait_until(lambda: run.alive() and wanted <= feed_titles(port), 120, "feeds run to serve every sample article")
        pages = {path: page_status(port, path) for path in ("/", "/topics", "/authors", "/feeds/all.rss")}
        if set(pages.values()) != {200}:  # the pages for people: templates shipped with the package
            raise SystemExit(f"smoke: feeds run's pages for a browser answered {pages}")
        run.terminate()
        run.check_log()
    finally:
        if run.popen.poll() is None:
            run.popen.kill()
    print(f"smoke: feeds run on SQLite served all {len(wanted)} sample articles and the pages for a browser "
          "(front page, topic and author lists, a preview), and stopped on SIGTERM")


def inspect_corpus(corpus: Path, workdir: Path) -> None:
    """``feeds inspect`` on every ``.html`` (or ``.html.gz``, unpacked first) page below ``corpus``."""
    pages = []
    for path in sorted(corpus.rglob("*")):
        if path.name.lower().endswith((".html", ".htm")):
            pages.append(path)
        elif path.name.lower().endswith(".html.gz"):
            pages.append(workdir / path.name[: -len(".gz")])
            pages[-1].write_bytes(gzip.decompress(path.read_bytes()))
    if not pages:
        raise SmokeFailure(f"{corpus}: no .html or .html.gz pages")
    bugs, rejected = [], 0
    for start in range(0, len(pages), 50):
        chunk = pages[start : start + 50]
        result = subprocess.run(
            [sys.executable, "-m", "feeds", "inspect", "--json", *map(str, chunk)],
            cwd=ROOT, env=base_env(), capture_output=True, text=True,
        )
        if result.returncode not in (0, 1):
            raise SmokeFailure(f"feeds inspect exited {result.returncode}:\n{result.stderr}")
        rejections = [line for line in result.stderr.splitlines() if line.startswith(tuple(f"{p}: " for p in chunk))]
        rejected += len(rejections)
        bugs += [line for line in result.stderr.splitlines() if "this is a bug" in line or "Traceback" in line]
    if bugs:
        raise SmokeFailure("ingester bugs:\n" + "\n".join(bugs))
    print(f"smoke: feeds inspect on {len(pages)} pages of {corpus}: no ingester bug ({rejected} not articles)")


def broken_install(spec: str) -> None:
    """``PACKAGE[=command,...]``: without PACKAGE, those commands (default: run, ingest,
    clock, web) must refuse to start."""
    package, _, commands = spec.partition("=")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "uninstall", "-y", package], check=True)
    try:
        for command in (commands or "run,ingest,clock,web").split(","):
            result = subprocess.run(
                [sys.executable, "-m", "feeds", command], cwd=ROOT, capture_output=True, text=True,
                env=base_env(FEEDS_INSTANCE_DIR=tempfile.mkdtemp(prefix="feeds-broken-")), timeout=60,
            )
            lines = result.stderr.strip().splitlines()
            if result.returncode != 2 or len(lines) != 1 or package.replace("-", "_") not in lines[0].replace("-", "_"):
                raise SmokeFailure(
                    f"without {package}, feeds {command} exited {result.returncode}, wanted 2 and one line naming it:\n"
                    f"{result.stderr}{result.stdout}"
                )
        print(f"smoke: without {package}: feeds {commands or 'run, ingest, clock and web'} exit 2 with one line: {lines[0]}")
    finally:
        subprocess.run([*pip, "install", "-r", str(ROOT / "requirements.txt")], check=True, stderr=subprocess.DEVNULL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append", default=[],
                        help="a folder of pages for feeds inspect (repeatable)")
    parser.add_argument("--break", dest="broken", action="append", default=[], metavar="PACKAGE[=CMD,...]",
                        help="uninstall PACKAGE and check that those commands refuse to start (repeatable)")
    args = parser.parse_args()
    try:
        with tempfile.TemporaryDirectory(prefix="feeds-smoke-") as tmp:
            procfile_on_postgres(Path(tmp))
            embedded_default(Path(tmp))
            for corpus in args.corpus:
                inspect_corpus(corpus, Path(tmp))
        for package in args.broken:
            broken_install(package)
    except SmokeFailure as exc:
        print(f"smoke: FAILED: {exc}", file=sys.stderr)
        return 1
    print("smoke: the production install works")
    return 0


if __name__ == "__main__":
    sys.exit(main())
