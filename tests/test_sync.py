"""The folder scan: what it reads, what it keeps, and the process pool for large folders."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from feeds.ingest import INGESTER_VERSION
from feeds.store.articles import get_article
from feeds.store.schema import articles
from feeds.sync import POOL_THRESHOLD, scan_folder

from .conftest import Project
from .pages import LOREM, news_page, story
from .procs import confined


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
    assert report.bugs == 1 and "1 rejected by an ingester bug" in report.summary()


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



@pytest.mark.parametrize("variants", [("A", "B", "C", "D"), ("D", "C", "B", "A")])
def test_what_a_newer_ingester_makes_of_an_unchanged_file_replaces_what_an_older_one_made(
    project: Project, monkeypatch: pytest.MonkeyPatch, variants: tuple[str, ...]
) -> None:
    """A re-read is the same version of the page read better, not a rival version: it
    replaces the stored article whatever the order of the two content hashes, and keeps
    the article's date (the page did not change, so neither did its ``updated``)."""
    from sqlalchemy import update

    from feeds.ingest import pipeline
    from feeds.store.schema import sources

    real = pipeline.decode_html
    project.add_page("one.html", story(1))
    scan_folder(project.engine, project.settings())
    with project.engine.connect() as conn:
        first = get_article(conn, "https://harbourgazette.example/story/1")
    for variant in variants:  # each a newer ingester that reads the title differently
        monkeypatch.setattr(pipeline, "decode_html",
                            lambda data, v=variant: real(data).replace("from the harbour", f"from the harbour {v}"))
        with project.engine.begin() as conn:
            conn.execute(update(sources).values(ingester="older"))
        assert scan_folder(project.engine, project.settings()).updated == 1, variant
        with project.engine.connect() as conn:
            article = get_article(conn, "https://harbourgazette.example/story/1")
        assert article is not None and article.title == f"Story number 1 from the harbour {variant}"
        assert article.updated == first.updated


def test_a_rewritten_file_is_dated_when_it_was_written_never_in_the_future(project: Project) -> None:
    """A file edited without a new modified date is newer than what it gave before (one file,
    one version at a time), dated by its mtime; an mtime ahead of the clock dates it now."""
    page = project.add_page("one.html", story(1))
    assert scan_folder(project.engine, project.settings()).ingested == 1
    page.write_text(story(1).replace("Story number 1 from", "Story number one from"), "utf-8")
    ahead = time.time() + 3600
    os.utime(page, (ahead, ahead))
    before = datetime.now(UTC)
    assert scan_folder(project.engine, project.settings()).updated == 1
    with project.engine.connect() as conn:
        article = get_article(conn, "https://harbourgazette.example/story/1")
    assert article is not None and article.title == "Story number one from the harbour"
    assert before <= article.updated <= datetime.now(UTC)


def ingest_confined(project: Project, memory: int | None = None) -> subprocess.CompletedProcess[str]:
    """``feeds ingest`` in a child bound by file permissions even as root (see procs.confined)."""
    try:
        return subprocess.run([sys.executable, "-m", "feeds", "ingest"], cwd=project.root, env=project.env(),
                              capture_output=True, text=True, timeout=60, preexec_fn=confined(memory))
    except subprocess.TimeoutExpired:
        pytest.fail("feeds ingest did not finish within 60 s")
    except subprocess.SubprocessError as exc:  # the preexec_fn failed: no CAP_SETPCAP to drop capabilities
        pytest.skip(f"cannot start a child bound by file permissions: {exc}")


def stored_ids(project: Project) -> set[str]:
    with project.engine.connect() as conn:
        return set(conn.execute(select(articles.c.id)).scalars())


def story_id(n: int) -> str:
    return f"https://harbourgazette.example/story/{n}"


def test_a_folder_that_cannot_be_listed_is_reported_and_keeps_its_articles(project: Project) -> None:
    project.add_page("top.html", story(1))
    project.add_page("sub/a.html", story(2))
    project.add_page("sub/deeper/b.html", story(3))
    project.add_page("listed/c.html", story(4))
    project.add_page("gone.html", story(5))
    assert project.ingest().ingested == 5
    (project.articles_dir / "gone.html").unlink()
    project.add_page("new.html", story(6))
    sub, listed = project.articles_dir / "sub", project.articles_dir / "listed"
    sub.chmod(0)  # cannot be listed at all
    listed.chmod(0o444)  # its names can be listed, but not looked at
    try:
        proc = ingest_confined(project)
    finally:
        sub.chmod(0o755)
        listed.chmod(0o755)
    assert proc.returncode == 1, proc
    assert f"{sub}: rejected: cannot list this folder (Permission denied)" in proc.stderr
    assert f"{listed / 'c.html'}: rejected: cannot look at this file (Permission denied)" in proc.stderr
    assert "ingested 1, updated 0, unchanged 1, removed 1," in proc.stdout
    assert stored_ids(project) == {story_id(n) for n in (1, 2, 3, 4, 6)}


def test_an_articles_folder_that_cannot_be_listed_stops_the_scan_and_keeps_everything(project: Project) -> None:
    project.add_page("top.html", story(1))
    project.add_page("sub/a.html", story(2))
    assert project.ingest().ingested == 2
    project.articles_dir.chmod(0)
    try:
        proc = ingest_confined(project)
    finally:
        project.articles_dir.chmod(0o755)
    assert proc.returncode == 2, proc
    assert f"feeds: {project.articles_dir}: cannot list the articles folder (Permission denied)" in proc.stderr
    assert stored_ids(project) == {story_id(1), story_id(2)}


def test_a_fifo_named_like_a_page_is_skipped_not_waited_on(project: Project) -> None:
    """Opening a FIFO for reading waits for a writer: the scan, and every rebuild waiting
    on its lock, would hang. It is not a page: rejected with the reason, once."""
    project.add_page("good.html", story(1))
    fifo = project.articles_dir / "fifo.html"
    os.mkfifo(fifo)
    proc = ingest_confined(project)
    assert proc.returncode == 1, proc
    assert f"{fifo}: rejected: not a regular file (a FIFO)" in proc.stderr
    assert "ingested 1," in proc.stdout
    again = scan_folder(project.engine, project.settings())
    assert (again.rejected, again.already_rejected) == ([("fifo.html", "not a regular file (a FIFO)")], 1)


def test_links_are_followed_to_regular_files_only_and_reads_are_bounded(project: Project, tmp_path) -> None:
    """A link to /dev/zero would be read until memory runs out (the child gets 2 GiB of
    address space, so a regression fails here rather than taking the machine); a page
    over the size limit is rejected without being read; a link to a page is a page."""
    from feeds.limits import MAX_PAGE_BYTES

    project.add_page("good.html", story(1))
    outside = tmp_path / "elsewhere" / "page.html"
    outside.parent.mkdir()
    outside.write_text(story(2), "utf-8")
    os.utime(outside, (time.time() - 60,) * 2)
    (project.articles_dir / "linked.html").symlink_to(outside)
    zero = project.articles_dir / "zero.html"
    zero.symlink_to("/dev/zero")
    big = project.add_page("big.html", story(3))
    os.truncate(big, MAX_PAGE_BYTES + 1)
    proc = ingest_confined(project, memory=2 * 1024**3)
    assert proc.returncode == 1, proc
    assert f"{zero}: rejected: not a regular file (a character device)" in proc.stderr
    assert f"{big}: rejected: page is {MAX_PAGE_BYTES + 1} bytes; the limit is {MAX_PAGE_BYTES}" in proc.stderr
    assert "ingested 2," in proc.stdout and "rejected 2" in proc.stdout
    assert stored_ids(project) == {story_id(1), story_id(2)}


def _fragment(headline: str, *paragraphs: str) -> str:
    """A page as some CMSs write it: no <html> wrapper, so nothing in it says where it ends."""
    page = news_page(url="https://harbourgazette.example/fragment", headline=headline, paragraphs=list(paragraphs))
    return page.replace('<html lang="en">', "").replace("</body></html>", "")


def test_a_page_still_being_written_waits_for_the_next_scan(project: Project) -> None:
    """Caught half-written, a page with no <html> wrapper parses as a shorter article. A file
    modified moments ago may still be being written: the scan leaves it to the next one."""
    lines = [f"Paragraph {n} of the ferry story. {LOREM}" for n in range(1, 4)]
    whole = _fragment("Ferry story in three parts", *lines)
    page = project.articles_dir / "fragment.html"
    engine = project.engine  # the store is ready before the write: the scan runs right after it
    page.write_text(whole[: whole.index("Paragraph 3") + 40], "utf-8")  # the writer is mid-way
    report = scan_folder(engine, project.settings())
    assert stored_ids(project) == set(), "a half-written page was published"
    assert (report.ingested, report.rejected, report.deferred) == (0, [], ["fragment.html"])
    assert report.summary().endswith("rejected 0, deferred 1")

    page.write_text(whole, "utf-8")  # the writer has finished, a while ago
    finished = time.time() - 60
    os.utime(page, (finished, finished))
    assert scan_folder(engine, project.settings()).ingested == 1
    with engine.connect() as conn:
        article = get_article(conn, "https://harbourgazette.example/fragment")
    assert article is not None and article.text.rstrip().endswith(LOREM)
    assert "Paragraph 3" in article.text

    page.write_text(_fragment("Ferry story, rewritten", "Only the start of a new"), "utf-8")  # an edit begins
    report = scan_folder(engine, project.settings())
    assert report.deferred == ["fragment.html"] and report.updated == 0
    with engine.connect() as conn:
        article = get_article(conn, "https://harbourgazette.example/fragment")
    assert article is not None and article.title == "Ferry story in three parts", "what it published stays"


LONG_URL = "https://harbourgazette.example/" + "a" * 2100
LANGUAGES = "en-GB, fr-FR, de-DE, es-ES, it-IT, nl-NL"  # 40 characters, over the 35 of a language tag


def with_language(page: str, language: str) -> str:
    return page.replace('"@type": "NewsArticle"', f'"@type": "NewsArticle", "inLanguage": "{language}"', 1)


def test_values_over_a_field_limit_cost_one_page_never_the_scan(project: Project) -> None:
    """On PostgreSQL one such value failed every scan; on SQLite it was stored. Now the same
    on both: an identity too long is a rejection naming the field, a language is trimmed."""
    project.add_page("gone.html", story(1))
    assert project.ingest().ingested == 1
    (project.articles_dir / "gone.html").unlink()
    project.add_page("good.html", story(2))
    project.add_page("long-url.html", news_page(url=LONG_URL))
    project.add_page("languages.html", with_language(story(3), LANGUAGES))
    deep = "/".join(["d" * 200] * 11) + "/deep.html"  # a folder tree deeper than a source may be
    project.add_page(deep, story(4))
    report = project.ingest()
    assert stored_ids(project) == {story_id(2), story_id(3)}
    assert (report.ingested, report.removed) == (2, 1)
    assert sorted(report.rejected) == [
        (deep, f"path is too long: source is {len('file:' + deep)} characters; the limit is 2048"),
        ("long-url.html", f"url is {len(LONG_URL)} characters; the limit is 2048"),
    ]
    with project.engine.connect() as conn:
        article = get_article(conn, story_id(3))
    assert article is not None and article.language == "en-GB"


def test_a_value_the_store_refuses_costs_one_page_never_the_scan(project: Project, monkeypatch) -> None:
    """Were the ingester to let an over-long value through, the store refuses it alike on
    both databases, and the scan writes every other page of the batch."""
    from feeds.ingest import pipeline

    monkeypatch.setattr(pipeline, "fit_article", lambda article: article)  # an ingester that forgot a limit
    project.add_page("gone.html", story(1))
    assert project.ingest().ingested == 1
    (project.articles_dir / "gone.html").unlink()
    project.add_page("a-good.html", story(2))
    project.add_page("b-long-url.html", news_page(url=LONG_URL))
    project.add_page("c-good.html", story(3))
    report = project.ingest()
    assert stored_ids(project) == {story_id(2), story_id(3)}
    assert (report.ingested, report.removed) == (2, 1)
    assert report.rejected == [("b-long-url.html", f"cannot store: url is {len(LONG_URL)} characters; the limit is 2048")]
    assert project.ingest().rejected == report.rejected, "reported again while unchanged, not retried"




def test_a_page_over_the_time_budget_is_rejected_and_the_scan_goes_on(project: Project, monkeypatch) -> None:
    monkeypatch.setattr("feeds.ingest.budget.BUDGET_SECONDS", 1.0)  # the story takes tens of milliseconds
    project.add_page("breaks.html", "<html><head><title>Breaks</title></head><body><h1>Breaks</h1>"
                     + "w<br>" * 200_000 + "</body></html>")
    project.add_page("story.html", story(1))
    report = project.ingest()
    assert report.rejected == [("breaks.html", "took over 1 s to ingest")]
    assert report.ingested == 1
