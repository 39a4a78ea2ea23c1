"""What a person sees: the front page and the feed previews in a real browser.

Chromium (Debian's package, ``/usr/bin/chromium``) driven by Playwright, against the
Procfile's web process (Granian) serving a built project, with JavaScript off (the
pages must not need it) and on (the copy button), at a phone's 360 px width, in
light and dark mode, and checked by axe-core for serious and critical violations.
Without Chromium or Playwright the module is skipped with the reason (under
``CI=true`` it fails instead: ``.ci/run`` installs Chromium).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from feeds.publish.build import build
from feeds.publish.preview import READERS
from tests.conftest import _in_ci
from tests.fixtures_serve import Project, make_article
from tests.procs import Proc, start_web

CHROMIUM = os.environ.get("FEEDS_TEST_CHROMIUM", "/usr/bin/chromium")


def _missing() -> str | None:
    if shutil.which(CHROMIUM) is None:
        return f"no Chromium at {CHROMIUM} (apt-get install chromium, or set FEEDS_TEST_CHROMIUM)"
    try:
        import axe_playwright_python  # noqa: F401
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        return f"{exc.name} is not installed (pip install -e '.[test]')"
    return None


if (_problem := _missing()) is not None:
    if _in_ci():
        pytest.fail(f"{_problem}; CI=true, so this is a failure, not a skip", pytrace=False)
    pytest.skip(_problem, allow_module_level=True)

from axe_playwright_python.sync_playwright import Axe  # noqa: E402
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright  # noqa: E402

PUBLIC_URL = "http://feeds.test/"  # the feeds' own address, as a deployment names it
PHONE = {"width": 360, "height": 740}
LONG = "Harbourmasterscommitteeonthereconstructionofthenorthernbreakwater" * 2  # no place to break
WORLD = [make_article(n) for n in range(1, 6)] + [
    make_article(6, title=f"Story 6: {LONG}", url=f"https://harbourgazette.example/world/{LONG}",
                 authors=("Ann Lee", "Bo Chan", "Cy Dunmore-Fitzgerald")),
]
SPORT = [make_article(n, "sport") for n in range(10, 13)]


@dataclass
class Site:
    base: str
    web: Proc


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Stories in two sections, built into a SQLite store and served by the Procfile's web line
    (the pages are the same on either database: the HTTP tests cover both)."""
    root = tmp_path_factory.mktemp("browser")
    project = Project(root, f"sqlite:///{root / 'feeds.db'}", {"FEEDS_PUBLIC_URL": PUBLIC_URL, "FEEDS_ITEMS_PER_FEED": "50"})
    project.add(*WORLD, *SPORT)
    build(project.engine, project.settings)
    project.engine.dispose()
    pythonpath = os.pathsep.join(p for p in (str(Path(__file__).resolve().parent.parent),
                                             os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": pythonpath, **project.environ, "WEB_CONCURRENCY": "1"}
    web, port = start_web(env, root)
    try:
        yield Site(f"http://127.0.0.1:{port}/", web)
    finally:
        web.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        try:
            yield b
        finally:
            b.close()


def _context(browser: Browser, *, javascript: bool, dark: bool = False) -> BrowserContext:
    return browser.new_context(java_script_enabled=javascript, viewport=PHONE,
                               color_scheme="dark" if dark else "light")


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A phone-sized tab with JavaScript off."""
    context = _context(browser, javascript=False)
    try:
        yield context.new_page()
    finally:
        context.close()


def _no_horizontal_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide at {PHONE['width']} px"


def _titles(articles: list[Any]) -> list[str]:
    return [a.title for a in sorted(articles, key=lambda a: a.published, reverse=True)]


@pytest.mark.parametrize("fmt", ["rss", "atom", "json"])
def test_a_feed_url_opens_as_a_readable_page_without_javascript(site: Site, page: Page, fmt: str) -> None:
    response = page.goto(f"{site.base}feeds/world.{fmt}")
    assert response is not None and response.status == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    expect(page.get_by_role("heading", level=1)).to_have_text("World")
    main = page.get_by_role("main")
    stories = main.get_by_role("article")
    expect(stories).to_have_count(len(WORLD))
    for n, title in enumerate(_titles(WORLD)):
        expect(stories.nth(n).get_by_role("link", name=title, exact=True)).to_be_visible()
    expect(stories.first.locator("time")).to_be_visible()
    expect(stories.first).to_contain_text("By Ann Lee, Bo Chan and Cy Dunmore-Fitzgerald")
    # how to subscribe: the address in a labelled field to select and copy, readers, other formats
    subscribe = page.get_by_role("region", name="How to subscribe")
    expect(subscribe).to_be_visible()
    field = subscribe.get_by_label("Feed address")
    expect(field).to_be_visible()
    expect(field).to_have_value(f"{PUBLIC_URL}feeds/world.{fmt}")
    expect(field).not_to_be_editable()
    expect(subscribe.get_by_role("button", name="Copy address")).to_be_hidden()  # needs JavaScript
    for name, _ in READERS:
        expect(subscribe.get_by_role("link", name=name, exact=True)).to_be_visible()
    for landmark in ("banner", "main", "contentinfo"):
        expect(page.get_by_role(landmark)).to_have_count(1)
    assert page.evaluate("document.documentElement.lang") == "en"
    _no_horizontal_scroll(page)


def test_other_formats_and_the_front_page_are_a_click_away(site: Site, page: Page) -> None:
    page.goto(f"{site.base}feeds/world.rss")
    page.get_by_role("region", name="How to subscribe").get_by_role("link", name="JSON Feed").click()
    expect(page).to_have_url(f"{site.base}feeds/world.json")
    expect(page.get_by_role("textbox", name="Feed address")).to_have_value(f"{PUBLIC_URL}feeds/world.json")
    page.get_by_role("banner").get_by_role("link").click()
    expect(page).to_have_url(site.base)
    expect(page.get_by_role("heading", level=1)).to_contain_text("news feeds")


def test_the_front_page_shows_the_news_without_javascript(site: Site, page: Page) -> None:
    page.goto(site.base)
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=2, name="Sections")).to_be_visible()
    feeds = main.get_by_role("region", name="Sections", exact=True).get_by_role("heading", level=3)
    expect(feeds).to_have_text(["All sections", "World", "Sport"])
    expect(main.get_by_role("heading", level=2)).to_have_text(["Sections", "Topics", "Authors"])
    newest = _titles(WORLD)[:3]
    world = main.get_by_role("region", name="World", exact=True)
    expect(world.get_by_role("list").first.get_by_role("link")).to_have_text(newest)
    everything = main.get_by_role("region", name="All sections")
    expect(everything.get_by_role("list").first.get_by_role("link")).to_have_text(_titles(WORLD + SPORT)[:3])
    expect(main.get_by_role("link", name="every feed as an OPML list")).to_have_attribute("href", "feeds.opml")
    _no_horizontal_scroll(page)
    # a section's link is its feed's URL, which a browser gets as the preview
    world.get_by_role("link", name="World", exact=True).click()
    expect(page).to_have_url(f"{site.base}feeds/world.rss")
    expect(page.get_by_role("heading", level=1)).to_have_text("World")


def test_the_copy_button_copies_the_address_with_javascript(site: Site, browser: Browser) -> None:
    context = _context(browser, javascript=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site.base.rstrip("/"))
    try:
        page = context.new_page()
        page.goto(f"{site.base}feeds/all.atom")
        button = page.get_by_role("button", name="Copy address")
        expect(button).to_be_visible()
        button.click()
        expect(page.get_by_role("status")).to_have_text("Copied.")
        assert page.evaluate("navigator.clipboard.readText()") == f"{PUBLIC_URL}feeds/all.atom"
        _no_horizontal_scroll(page)
    finally:
        context.close()


def test_keyboard_focus_is_visible(site: Site, page: Page) -> None:
    page.goto(f"{site.base}feeds/world.rss")
    page.keyboard.press("Tab")  # the first stop: the skip link, shown when focused
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()
    for _ in range(3):
        style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
        assert style == "solid", page.evaluate("document.activeElement.outerHTML")
        page.keyboard.press("Tab")


def test_the_topic_and_author_lists_lead_to_their_feeds(site: Site, page: Page) -> None:
    for path, heading in (("topics", "Topics"), ("authors", "Authors")):
        page.goto(f"{site.base}{path}")
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        feeds = page.get_by_role("main").get_by_role("list").first.get_by_role("listitem")
        expect(feeds.first).to_be_visible()
        _no_horizontal_scroll(page)
    feeds.first.get_by_role("link").first.click()
    expect(page).to_have_url(re.compile(re.escape(f"{site.base}feeds/authors/") + r"[a-z0-9-]+\.rss$"))
    expect(page.get_by_role("region", name="How to subscribe")).to_be_visible()


PAGES = ["", "topics", "authors", "feeds/all.rss", "feeds/world.rss", "feeds/world.atom", "feeds/sport.json"]


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
def test_axe_finds_nothing_serious(site: Site, browser: Browser, dark: bool) -> None:
    context = _context(browser, javascript=True, dark=dark)
    axe = Axe()
    try:
        page = context.new_page()
        problems = []
        for path in PAGES:
            page.goto(site.base + path)
            results = axe.run(page)
            for violation in results.response["violations"]:
                if violation["impact"] in ("serious", "critical"):
                    nodes = [n["html"][:120] for n in violation["nodes"][:3]]
                    problems.append(f"/{path}: {violation['id']} ({violation['impact']}): {violation['help']} {nodes}")
        assert problems == []
    finally:
        context.close()
