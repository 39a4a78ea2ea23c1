"""The ``feeds`` command as a user runs it: real processes, real files, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import feedparser
import pytest

from .conftest import ROOT, Project, http_get
from .procs import Proc, free_port, wait_until


def _feeds(project: Project, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "feeds", *args],
        cwd=ROOT,
        env=os.environ | project.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ingest_reports_a_broken_page_by_name_and_goes_on(sample_project: Project) -> None:
    project = sample_project
    project.add_page("empty.html", b"")
    project.add_page("binary.html", bytes(range(256)) * 40)
    proc = _feeds(project, "ingest")
    assert proc.returncode == 1
    assert proc.stderr.count("empty.html: rejected:") == 1, "each rejection said once"
    assert proc.stderr.count("binary.html: rejected:") == 1
    assert "Traceback" not in proc.stderr
    pages = len(list(project.articles_dir.glob("*.html")))
    assert f"ingested {pages - 2}," in proc.stdout and "rejected 2" in proc.stdout

    again = _feeds(project, "ingest")
    assert again.returncode == 1, "a page still broken is still reported"
    assert again.stderr.count("empty.html: rejected:") == 1
    assert f"ingested 0, updated 0, unchanged {pages - 2}," in again.stdout


def test_build_publishes_once_then_reports_nothing_changed(sample_project: Project) -> None:
    project = sample_project
    assert _feeds(project, "ingest").returncode == 0
    first = _feeds(project, "build")
    assert first.returncode == 0
    assert "/feeds/all.rss" in first.stdout and "/feeds.opml" in first.stdout
    lines = first.stdout.splitlines()
    assert "  /feeds/all.rss (preview, for browsers)" in lines and "  / (front page)" in lines  # URLs, not paths
    second = _feeds(project, "build")
    assert second.returncode == 0 and "nothing changed" in second.stdout


def _answers(url: str) -> bool:
    try:
        return http_get(url).status == 200
    except OSError:
        return False


@pytest.fixture
def running_service(sample_project: Project) -> Iterator[str]:
    project = sample_project
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "feeds", "run", "--port", str(port)],
        cwd=ROOT,
        env=os.environ | project.environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # blocks until the command says it starts the server
            if line.startswith("serving on"):
                break
        else:
            pytest.fail(f"feeds run exited with {proc.wait()}")
        url = f"http://127.0.0.1:{port}/"
        wait_until(lambda: _answers(url + "healthz"), 30, "feeds run's server to answer")
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0


def test_run_serves_index_and_every_feed(running_service: str) -> None:
    index = http_get(running_service)
    assert index.status == 200
    feed = feedparser.parse(http_get(running_service + "feeds/all.rss").body)
    assert not feed.bozo and len(feed.entries) >= 24
    assert http_get(running_service + "feeds/world.atom").status == 200
    assert http_get(running_service + "feeds/world.json").status == 200
    assert http_get(running_service + "feeds.opml").status == 200


def test_run_renders_everything_once_at_start(sample_project: Project) -> None:
    """The first build before serving is the clock's own first build: its first interval
    finds the feeds in step and renders nothing again."""
    port = free_port()
    proc = Proc([sys.executable, "-m", "feeds", "run", "--port", str(port)],
                env=os.environ | sample_project.environ, cwd=ROOT, name="feeds run")
    try:
        proc.wait_for_line("clock: active")

        def checked_after_build() -> bool:
            if not _answers(f"http://127.0.0.1:{port}/healthz"):
                return False  # the server is still starting
            health = json.loads(http_get(f"http://127.0.0.1:{port}/healthz").body)
            return health["last_check"] > health["last_build"]  # a check that built nothing

        wait_until(checked_after_build, 30, "the clock's first interval")
    finally:
        proc.popen.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    assert proc.count("first build of this process") == 1, proc.output()
    assert proc.count("build: done") == 1, proc.output()


STORE_COMMANDS = [("ingest",), ("build",), ("export", "out"), ("db", "upgrade"), ("db", "current"),
                  ("serve", "--port", "0"), ("run", "--port", "0"), ("clock",)]


def _user_namespace() -> list[str]:
    """A command prefix under which a folder's write bits count even for root: in a user
    namespace of its own, root is a plain owner (no capability over the host's files), so a
    read-only folder refuses it exactly as it refuses an operator's service account."""
    try:
        ok = subprocess.run(["unshare", "--user", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    if not ok:
        pytest.skip("unshare --user is not available here (util-linux, user namespaces)")
    return ["unshare", "--user"]


def _store_cli(tmp_path, instance_dir, prefix: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    """A ``feeds`` command on the SQLite store in ``instance_dir`` (no DATABASE_URL)."""
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {
        "FEEDS_CONFIG_DIR": str(ROOT / "config"), "FEEDS_ARTICLES_DIR": str(tmp_path / "articles"),
        "FEEDS_INSTANCE_DIR": str(instance_dir), "PYTHONPATH": str(ROOT),
    }
    return subprocess.run([*prefix, sys.executable, "-m", "feeds", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def _assert_one_line(proc: subprocess.CompletedProcess[str], *names: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("feeds: "), proc.stderr
    for name in names:
        assert name in lines[0], (name, lines[0])


@pytest.mark.parametrize("args", STORE_COMMANDS, ids=" ".join)
def test_a_read_only_instance_folder_is_one_line_naming_it(tmp_path, args) -> None:
    """The database exists, its folder is not writable: SQLite cannot make its -wal file."""
    instance = tmp_path / "instance"
    assert _store_cli(tmp_path, instance, [], "db", "upgrade").returncode == 0
    instance.chmod(0o555)
    try:
        proc = _store_cli(tmp_path, instance, _user_namespace(), *args)
    finally:
        instance.chmod(0o755)
    _assert_one_line(proc, str(instance), "readonly")


def test_a_read_only_folder_before_the_first_start_is_one_line_naming_it(tmp_path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o555)
    try:
        proc = _store_cli(tmp_path, instance, _user_namespace(), "build")
    finally:
        instance.chmod(0o755)
    _assert_one_line(proc, str(instance), "Permission denied")
    assert not list(instance.iterdir())


def test_an_instance_folder_below_a_file_is_one_line_naming_it(tmp_path) -> None:
    (tmp_path / "instance").write_text("a file where the folder should be")
    proc = _store_cli(tmp_path, tmp_path / "instance" / "state", [], "ingest")
    _assert_one_line(proc, str(tmp_path / "instance"), "Not a directory")
