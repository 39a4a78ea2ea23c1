"""The folder scan: what it reads, what it keeps, and the process pool for large folders."""

from __future__ import annotations

import os

import pytest

from feeds.ingest import INGESTER_VERSION
from feeds.store.articles import get_article
from feeds.sync import POOL_THRESHOLD, scan_folder

from .conftest import Project
from .pages import story


def test_a_large_folder_goes_through_the_process_pool(project: Project) -> None:
    count = POOL_THRESHOLD + 8
    for n in range(count):
        project.add_page(f"batch/story-{n:03}.html", story(n))
    report = scan_folder(project.engine, project.settings(), workers=2)
    assert (report.ingested, report.rejected) == (count, [])
    with project.engine.connect() as conn:
        article = get_article(conn, "https://harbourgazette.example/story/7")
    assert article is not None and article.source == "file:batch/story-007.html"


def test_unchanged_files_are_not_read_again(project: Project) -> None:
    page = project.add_page("one.html", story(1))
    assert scan_folder(project.engine, project.settings()).ingested == 1
    st = page.stat()
    # Same size and mtime, different bytes: only a scan that reads the file could notice.
    page.write_text(story(1).replace("Story number 1", "Story numbr 1X"), "utf-8")
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert page.stat().st_size == st.st_size
    report = scan_folder(project.engine, project.settings())
    assert (report.unchanged, report.updated, report.rejected) == (1, 0, [])
    with project.engine.connect() as conn:
        article = get_article(conn, "https://harbourgazette.example/story/1")
    assert article is not None and article.title == "Story number 1 from the harbour"


def test_a_page_broken_by_an_edit_keeps_what_it_published(project: Project) -> None:
    page = project.add_page("one.html", story(1))
    scan_folder(project.engine, project.settings())
    page.write_text("<html><body><p>oops</p></body></html>", "utf-8")
    os.utime(page, (page.stat().st_mtime + 10,) * 2)
    report = scan_folder(project.engine, project.settings())
    assert [name for name, _ in report.rejected] == ["one.html"]
    with project.engine.connect() as conn:
        article = get_article(conn, "https://harbourgazette.example/story/1")
    assert article is not None and article.title == "Story number 1 from the harbour"


def test_an_ingester_bug_costs_one_page_not_the_scan(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from feeds.ingest import pipeline

    real = pipeline.decode_html

    def flaky(data: bytes) -> str:  # a stage deep inside the ingester breaks on one page
        if b"Story number 1 from" in data:
            raise KeyError("boom")
        return real(data)

    monkeypatch.setattr(pipeline, "decode_html", flaky)
    project.add_page("bad.html", story(1))
    project.add_page("good.html", story(2))
    report = scan_folder(project.engine, project.settings())
    assert report.ingested == 1
    assert [(name, "KeyError" in reason) for name, reason in report.rejected] == [("bad.html", True)]
    assert report.bugs == 1 and "1 by an ingester bug" in report.summary()


def test_a_page_an_ingester_bug_rejected_is_retried_until_the_bug_is_fixed(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A broken install or a bug must not reject a page for good: every scan retries it,
    /healthz counts it meanwhile, and the clock's report names it once, not every scan."""
    from feeds.ingest import pipeline

    monkeypatch.setattr(pipeline, "decode_html", lambda data: {}["boom"])
    project.add_page("one.html", story(1))
    first = scan_folder(project.engine, project.settings())
    assert [name for name, _ in first.newly_rejected] == ["one.html"] and first.bugs == 1
    health = project.app().test_client().get("/healthz").get_json()
    assert health["ingester_bugs"] == 1

    again = scan_folder(project.engine, project.settings())
    assert again.bugs == 1, "retried although the file did not change"
    assert again.newly_rejected == [], "the same failure is not news: logged once"

    monkeypatch.undo()  # the install or the ingester is fixed
    fixed = scan_folder(project.engine, project.settings())
    assert (fixed.ingested, fixed.rejected) == (1, [])
    assert project.app().test_client().get("/healthz").get_json()["ingester_bugs"] == 0


def test_a_newer_ingester_reads_again_what_an_older_one_read(project: Project) -> None:
    from sqlalchemy import update

    from feeds.store.schema import sources

    project.add_page("one.html", story(1))
    project.add_page("empty.html", "")
    scan_folder(project.engine, project.settings())
    with project.engine.begin() as conn:  # as an older release, or one from before the version was kept, left them
        conn.execute(update(sources).values(ingester=None))
    report = scan_folder(project.engine, project.settings())
    assert (report.unchanged, [n for n, _ in report.rejected]) == (1, ["empty.html"])
    assert report.newly_rejected == [], "re-read to the same rejection: not news"
    with project.engine.connect() as conn:
        versions = set(conn.execute(sources.select().with_only_columns(sources.c.ingester)).scalars())
    assert versions == {INGESTER_VERSION}
    # Read again only once: the next scan reads nothing.
    assert scan_folder(project.engine, project.settings()).unchanged == 1
