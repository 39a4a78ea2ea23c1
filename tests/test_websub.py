"""WebSub: a real hub on 127.0.0.1 is pinged after each publish that changed
feeds, with every changed feed URL, and fetches the new bytes."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from feeds.publish import websub
from tests.fixtures_serve import ROOT, Hub, Project, Served, hub, make_article, serve_project  # noqa: F401


@pytest.fixture
def with_hub(tmp_path: Path, hub: Hub, database_url: str) -> Iterator[Served]:  # noqa: F811
    project, server = serve_project(tmp_path, database_url, {"FEEDS_HUB_URL": hub.url})
    try:
        yield Served(project, server)
    finally:
        server.stop()


def feed_urls(served: Served, *slugs: str) -> set[str]:
    return {served.url(f"feeds/{s}.{f}") for s in slugs for f in ("rss", "atom", "json")}


def test_publish_pings_the_hub_with_each_changed_feed(with_hub: Served, hub: Hub) -> None:  # noqa: F811
    assert with_hub.settings.hub_url == hub.url, "an endpoint: no slash added"
    jobs = with_hub.project.jobs()
    with_hub.project.add(make_article(1), make_article(10, "sport"))
    jobs.rebuild()
    # every feed: the hub's URL is new to them (and story 10 is new), topics and authors too
    want = feed_urls(with_hub, "all", "world", "sport", "topics/ports", "authors/ann-lee", "authors/bo-chan")
    assert hub.wait_for(lambda pings: len(pings) >= len(want))
    assert set(hub.urls()) == want and len(hub.urls()) == len(want), "each changed feed once, not the OPML"
    for ping in hub.pings:
        assert ping.form["hub.mode"] == ["publish"]
        assert ping.content_type == "application/x-www-form-urlencoded"
        # the hub's fetch, right after the ping, gets the new feed
        assert ping.fetched is not None and ping.fetched.status == 200
        assert b"Story" in ping.fetched.body

    # a second story in sport, with no tags or authors: only the sport and all feeds are announced
    with_hub.project.add(make_article(11, "sport", tags=(), authors=()))
    jobs.rebuild()
    want2 = feed_urls(with_hub, "all", "sport")
    assert hub.wait_for(lambda pings: len(pings) >= len(want) + len(want2))
    assert set(hub.urls()[len(want) :]) == want2
    fetched = [p.fetched.body for p in hub.pings[len(want) :] if p.fetched is not None]
    assert all(b"Story 11" in body for body in fetched)


def test_no_change_no_ping(with_hub: Served, hub: Hub) -> None:  # noqa: F811
    with_hub.project.add(make_article(1))
    result = with_hub.project.build()
    assert websub.notify(with_hub.settings, result.changed, result.removed) is not None
    # all, world and the two authors' feeds (one story is not enough for a topic feed)
    assert hub.wait_for(lambda pings: len(pings) >= 12) and len(hub.pings) == 12
    again = with_hub.project.build(force=True)
    assert again.changed == []
    assert websub.notify(with_hub.settings, again.changed, again.removed) is None


def test_removed_feeds_are_not_announced(with_hub: Served) -> None:
    with_hub.project.add(make_article(1), make_article(10, "sport"))
    with_hub.project.build()
    with_hub.project.remove(make_article(10, "sport").id)
    result = with_hub.project.build()
    # sport goes, and so does the topic, down to one story (under min_articles); a preview goes with its feed
    feeds = {f"feeds/{s}.{f}" for s in ("sport", "topics/ports") for f in ("rss", "atom", "json")}
    assert set(result.removed) == feeds | {f"previews/{p}" for p in feeds}
    urls = websub.changed_feed_urls(with_hub.settings, result.changed, result.removed)
    assert set(urls) == feed_urls(with_hub, "all", "authors/ann-lee", "authors/bo-chan")


def test_feeds_carry_hub_and_self_links(with_hub: Served, hub: Hub) -> None:  # noqa: F811
    with_hub.project.add(make_article(1))
    with_hub.project.build()
    rss = with_hub.server.get("/feeds/world.rss").body.decode()
    atom = with_hub.server.get("/feeds/world.atom").body.decode()
    for body, fmt in ((rss, "rss"), (atom, "atom")):
        assert f'href="{hub.url}" rel="hub"' in body
        assert f'href="{with_hub.url("feeds/world." + fmt)}" rel="self"' in body
    assert f'"url": "{hub.url}"' in with_hub.server.get("/feeds/world.json").body.decode()


def test_a_hub_that_fails_is_logged_not_raised(hub: Hub, caplog: pytest.LogCaptureFixture) -> None:  # noqa: F811
    hub.status = 500
    results = websub.ping(hub.url, ["http://127.0.0.1:9/feeds/world.rss"], timeout=5)
    assert results == {"http://127.0.0.1:9/feeds/world.rss": "HTTP 500"}
    down = websub.ping("http://127.0.0.1:9/hub", ["http://127.0.0.1:9/feeds/world.rss"], timeout=5)
    assert "refused" in down["http://127.0.0.1:9/feeds/world.rss"].lower()
    assert "did not accept" in caplog.text


def test_feeds_build_command_pings(tmp_path: Path, hub: Hub, database_url: str) -> None:  # noqa: F811
    project = Project(tmp_path, database_url, {"FEEDS_HUB_URL": hub.url})
    project.add(make_article(1, authors=()))
    env = {**os.environ, **project.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "feeds", "build"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert hub.wait_for(lambda pings: len(pings) == 6)
    assert set(hub.urls()) == {f"{project.settings.base_url}feeds/{s}.{f}" for s in ("all", "world")
                               for f in ("rss", "atom", "json")}


def test_a_process_without_the_web_cache_pings_after_a_grace(
    with_hub: Served, hub: Hub, monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The clock process: no cache to refresh, so the ping waits out the web poll, in the background."""
    from feeds.schedule import Jobs

    # scaled down: the grace (2.5 s) outlasts the web cache's poll (2 s)
    monkeypatch.setattr(websub, "GRACE", 0.25)
    with_hub.project.app.extensions["feeds"]["cache"].poll_interval = 0.2
    jobs = Jobs(with_hub.project.engine, with_hub.settings)  # no on_publish: like `feeds clock`
    with_hub.project.add(make_article(1))
    jobs.rebuild()
    assert hub.wait_for(lambda pings: len(pings) >= 6)
    # the web process found the new documents by itself (its poll), before the hub fetched
    assert all(p.fetched is not None and p.fetched.status == 200 for p in hub.pings)
