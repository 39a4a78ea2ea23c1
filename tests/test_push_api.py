"""The push API: every status, replays and concurrent pushes give one item, retraction."""

from __future__ import annotations

import json
import threading
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta
from urllib.error import HTTPError

import feedparser
import pytest
from sqlalchemy import func, select

import feeds.web.api as api_module
from feeds.intake import take_pushes
from feeds.store.pushes import count_queued
from feeds.store.schema import articles
from tests.pages import news_page, story

TOKEN = "s3cret-token-for-tests"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
URL = "https://harbourgazette.example/news/ferry-timetable"


@pytest.fixture
def app(project):
    return project.app(FEEDS_INGEST_TOKEN=TOKEN)


@pytest.fixture
def client(app):
    return app.test_client()


def push_html(client, html=None, headers=AUTH, content_type="text/html; charset=utf-8"):
    return client.post("/api/articles", data=(html or news_page()).encode(), headers=headers, content_type=content_type)


def count_articles(project) -> int:
    with project.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(articles)).scalar_one()


def feed_items(project, app, path="/feeds/all.rss"):
    project.build()
    app.extensions["feeds"]["cache"].refresh()
    resp = app.test_client().get(path)
    assert resp.status_code == 200
    return feedparser.parse(resp.data).entries


def test_api_is_off_without_a_token(project):
    client = project.app().test_client()
    resp = client.post("/api/articles", data=news_page(), headers=AUTH, content_type="text/html")
    assert resp.status_code == 404
    assert "off" in resp.get_json()["error"]
    assert count_articles(project) == 0


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}, {"Authorization": "Bearer wrong"},
     {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": f"Bearer {TOKEN[:-1]}"}],
    ids=["missing", "basic", "empty", "wrong", "longer", "prefix"],
)
def test_401_for_a_missing_or_wrong_token(project, client, headers):
    resp = push_html(client, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.delete(f"/api/articles/{URL}", headers=headers).status_code == 401
    assert count_articles(project) == 0


def test_token_is_compared_in_constant_time(monkeypatch, client):
    seen = []
    real = api_module.hmac.compare_digest
    monkeypatch.setattr(api_module.hmac, "compare_digest", lambda a, b: seen.append((a, b)) or real(a, b))
    assert push_html(client, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert seen == [(b"nope", TOKEN.encode())]


def test_413_above_the_size_limit(monkeypatch, project, client):
    monkeypatch.setattr(api_module, "MAX_BODY", 1000)
    page = news_page()
    assert len(page) > 1000
    resp = push_html(client, page)
    assert resp.status_code == 413
    assert "limit" in resp.get_json()["error"]
    resp = client.post("/api/articles", data=json.dumps({"html": page, "url": URL}), headers=AUTH,
                       content_type="application/json")
    assert resp.status_code == 413
    assert count_articles(project) == 0


def test_413_for_a_chunked_body_without_length(monkeypatch, project, app, live_server):
    monkeypatch.setattr(api_module, "MAX_BODY", 1000)
    server = live_server(app)

    def chunks():
        for _ in range(10):
            yield b"<p>" + b"x" * 500 + b"</p>"

    req = urllib.request.Request(f"{server.url}/api/articles", data=chunks(), method="POST",
                                 headers={**AUTH, "Content-Type": "text/html", "Transfer-Encoding": "chunked"})
    with pytest.raises(HTTPError) as err:
        urllib.request.urlopen(req, timeout=10)
    assert err.value.code == 413
    assert count_articles(project) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "image/png", ""])
def test_415_for_other_content_types(project, client, content_type):
    resp = client.post("/api/articles", data=news_page().encode(), headers={**AUTH, "Content-Type": content_type})
    assert resp.status_code == 415
    assert count_articles(project) == 0


def test_400_for_json_that_does_not_parse(client):
    resp = client.post("/api/articles", data=b'{"html": ', headers=AUTH, content_type="application/json")
    assert resp.status_code == 400
    assert "JSON" in resp.get_json()["error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [(b"[" * 100_000, "nested"), (b'{"html": "<p>\\ud800</p>", "url": "https://harbourgazette.example/a"}', "surrogate"),
     (b'{"html": "<p>x</p>", "url": "https://harbourgazette.example/\\udfff"}', "surrogate")],
    ids=["deeply-nested", "lone-surrogate-in-html", "lone-surrogate-in-url"],
)
def test_400_json_naming_what_is_wrong_with_the_json(project, client, body, reason):
    resp = client.post("/api/articles", data=body, headers=AUTH, content_type="application/json")
    assert resp.status_code == 400 and resp.is_json
    assert reason in resp.get_json()["error"]
    assert count_articles(project) == 0


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (json.dumps({"url": URL}), "application/json", "html"),
        (json.dumps(["not", "an", "object"]), "application/json", "html"),
        (json.dumps({"html": news_page(), "url": 7}), "application/json", "url"),
        ("", "text/html", "empty"),
    ],
    ids=["json-without-html", "json-not-object", "json-bad-url", "empty"],
)
def test_422_with_the_reason(project, client, body, content_type, reason):
    resp = client.post("/api/articles", data=body.encode(), headers=AUTH, content_type=content_type)
    assert resp.status_code == 422
    assert reason in resp.get_json()["error"]
    assert queued(project) == 0


def queued(project) -> int:
    with project.engine.connect() as conn:
        return count_queued(conn)


def take(project, client, resp) -> dict:
    """A push's 202, then the clock's intake, then the push's receipt."""
    assert resp.status_code == 202, resp.get_json()
    assert resp.get_json()["state"] == "queued"
    location = resp.headers["Location"]
    assert client.get(location, headers=AUTH).get_json()["state"] == "queued"
    take_pushes(project.engine, project.settings())
    receipt = client.get(location, headers=AUTH)
    assert receipt.status_code == 200 and receipt.headers["Cache-Control"] == "no-store"
    return receipt.get_json()


def test_a_push_is_queued_then_its_receipt_gives_the_normalised_article(project, app, client):
    """Nothing is ingested in the web process: 202 at once, the clock's intake does the rest."""
    resp = push_html(client)
    assert count_articles(project) == 0, "a push only queues the page"
    first = take(project, client, resp)
    assert first["state"] == "ingested" and first["done_at"]
    body = first["article"]
    assert body["id"] == URL and body["url"] == URL
    assert body["title"] == "Ferry timetable changes for the winter"
    assert body["section"] == "news" and body["source"] == "push"
    assert body["published"].startswith("2026-11-20T09:00:00")
    assert first["location"] == "/api/articles/" + urllib.parse.quote(URL, safe="")

    assert take(project, client, push_html(client))["state"] == "unchanged"

    later = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # an edit says so in its modified date
    edited = take(project, client, push_html(client, news_page(headline="Ferry timetable changes, again", modified=later)))
    assert edited["state"] == "updated"
    assert edited["article"]["updated"] > body["updated"]
    assert count_articles(project) == 1
    entries = feed_items(project, app)
    assert [e.title for e in entries] == ["Ferry timetable changes, again"]


def test_a_page_that_is_not_an_article_is_rejected_in_its_receipt(project, client):
    page = "<html><body><p>Opening hours: 9 to 5.</p></body></html>"
    receipt = take(project, client, push_html(client, page))
    assert receipt["state"] == "rejected" and "not an article" in receipt["error"]
    assert "article" not in receipt and count_articles(project) == 0


def test_a_receipt_needs_the_token_and_an_unknown_push_is_404(project, client):
    location = push_html(client).headers["Location"]
    assert client.get(location).status_code == 401
    assert client.get("/api/pushes/999999", headers=AUTH).status_code == 404


def test_json_body_with_html_and_url(project, app, client):
    resp = client.post("/api/articles", data=json.dumps({"html": news_page(section="Sport"), "url": URL}),
                       headers=AUTH, content_type="application/json")
    assert take(project, client, resp)["article"]["section"] == "sport"
    assert [e.link for e in feed_items(project, app, "/feeds/sport.rss")] == [URL]


def test_pushed_articles_reach_the_feeds_at_the_next_rebuild(project, app, client):
    from feeds.schedule import Jobs

    for n in range(3):
        assert push_html(client, story(n)).status_code == 202
    assert app.test_client().get("/feeds/all.rss").status_code == 404  # nothing built yet
    Jobs(project.engine, project.settings()).rebuild()  # the clock: intake, then build
    app.extensions["feeds"]["cache"].refresh()
    assert len(feedparser.parse(app.test_client().get("/feeds/all.rss").data).entries) == 3


def _post(server, page: bytes) -> tuple[int, dict]:
    req = urllib.request.Request(f"{server.url}/api/articles", data=page, method="POST",
                                 headers={**AUTH, "Content-Type": "text/html"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except HTTPError as exc:
        return exc.code, json.loads(exc.read())


def post_at_once(server, pages: list[bytes]) -> list[dict]:
    """Every page pushed at the same moment, one thread each, over real HTTP: the 202s' bodies."""
    barrier = threading.Barrier(len(pages))
    answers: list[tuple[int, dict]] = []

    def push(page: bytes) -> None:
        barrier.wait()
        answers.append(_post(server, page))

    threads = [threading.Thread(target=push, args=(page,)) for page in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in answers} == {202}
    return [body for _, body in answers]


def receipts(client, answers: list[dict]) -> list[dict]:
    """The receipts of the pushes the 202s ``answers`` gave, in push order."""
    return [client.get(a["receipt"], headers=AUTH).get_json() for a in sorted(answers, key=lambda a: a["push"])]


def test_replayed_and_concurrent_pushes_give_one_item(project, app, client, live_server):
    """A webhook retried, or fired by two CMS nodes at once, over real HTTP."""
    server = live_server(app)
    page = news_page().encode()
    answers = post_at_once(server, [page] * 10)
    assert len({a["push"] for a in answers}) == 10, "each push its own receipt"
    take_pushes(project.engine, project.settings())
    assert [r["state"] for r in receipts(client, answers)] == ["ingested"] + ["unchanged"] * 9
    assert count_articles(project) == 1
    assert [e.id for e in feed_items(project, app)] == [URL]


def test_delete_retracts_the_article_from_the_feeds(project, app, client, live_server):
    push_html(client)
    push_html(client, story(1))
    take_pushes(project.engine, project.settings())
    assert len(feed_items(project, app)) == 2

    resp = client.delete(f"/api/articles/{URL}", headers=AUTH)
    assert resp.status_code == 200 and resp.get_json() == {"id": URL, "deleted": True}
    assert [e.id for e in feed_items(project, app)] == ["https://harbourgazette.example/story/1"]
    assert client.delete(f"/api/articles/{URL}", headers=AUTH).status_code == 404

    # Over real HTTP, with the id percent-encoded as a careful client sends it.
    server = live_server(app)
    encoded = urllib.request.quote("https://harbourgazette.example/story/1", safe="")
    req = urllib.request.Request(f"{server.url}/api/articles/{encoded}", method="DELETE", headers=AUTH)
    with urllib.request.urlopen(req, timeout=10) as r:
        assert r.status == 200
    assert count_articles(project) == 0


def test_503_with_retry_after_when_the_database_is_unreachable(tmp_path):
    from feeds.config import load_settings
    from feeds.store.db import make_engine
    from feeds.web import create_app
    from tests.conftest import ROOT

    settings = load_settings({"FEEDS_CONFIG_DIR": str(ROOT / "config"), "FEEDS_INGEST_TOKEN": TOKEN})
    engine = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/nowhere?connect_timeout=1")
    client = create_app(settings, engine).test_client()
    resp = push_html(client)
    assert resp.status_code == 503 and resp.headers["Retry-After"]
    assert client.delete(f"/api/articles/{URL}", headers=AUTH).status_code == 503
    assert client.get("/api/pushes/1", headers=AUTH).status_code == 503


def test_an_ingester_bug_leaves_the_push_queued_naming_it_and_stores_nothing(monkeypatch, project, client):
    from feeds.ingest import pipeline

    def broken(data):  # a stage deep inside the ingester breaks
        raise KeyError("boom")

    monkeypatch.setattr(pipeline, "decode_html", broken)
    receipt = take(project, client, push_html(client))
    assert receipt["state"] == "queued"
    assert receipt["error"] == "the ingester failed (KeyError); this is a bug, please report it"
    assert count_articles(project) == 0


def test_a_late_retry_of_an_older_version_keeps_the_newer_one(project, app, client, live_server):
    server = live_server(app)
    published = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    older = news_page(published=published, modified=published + timedelta(hours=1)).encode()
    newer = news_page(headline="Ferry timetable changes for the winter, corrected",
                      published=published, modified=published + timedelta(hours=3)).encode()
    answers = [_post(server, page)[1] for page in (older, newer, older)]  # the first push's retry arrives last
    take_pushes(project.engine, project.settings())
    settled = receipts(client, answers)
    assert [r["state"] for r in settled] == ["ingested", "updated", "stale"]
    kept = settled[-1]["article"]
    assert kept["title"] == "Ferry timetable changes for the winter, corrected", "the newer version is kept"
    assert datetime.fromisoformat(kept["updated"]) == published + timedelta(hours=3)
    assert [e.title for e in feed_items(project, app)] == ["Ferry timetable changes for the winter, corrected"]


def test_alternating_concurrent_pushes_settle_and_never_date_the_future(project, app, client, live_server):
    """28 pushes of two versions with the same modified date, all at once: one version wins
    (the same one whatever the arrival order) and ``updated`` stays the page's own date."""
    server = live_server(app)
    pages = [news_page().encode(), news_page(headline="Ferry timetable changes for winter").encode()]
    post_at_once(server, [pages[n % 2] for n in range(28)])
    take_pushes(project.engine, project.settings())
    with project.engine.connect() as conn:
        stored = conn.execute(select(articles.c.title, articles.c.content_hash, articles.c.updated)).one()
    hashes = {}
    for page in pages:  # each version pushed alone into an empty store: its own hash
        with project.engine.begin() as conn:
            conn.execute(articles.delete())
        article = take(project, client, push_html(client, page.decode()))["article"]
        hashes[article["content_hash"]] = article["title"]
    assert stored.title == hashes[max(hashes)], "the version with the higher content hash wins"
    assert stored.updated.replace(tzinfo=UTC) == datetime(2026, 11, 20, 9, 0, tzinfo=UTC) <= datetime.now(UTC)


def test_a_value_over_a_field_limit_is_rejected_naming_the_field_or_is_trimmed(project, client):
    long_url = "https://harbourgazette.example/" + "a" * 2100
    receipt = take(project, client, push_html(client, news_page(url=long_url)))
    assert receipt["state"] == "rejected"
    assert receipt["error"] == f"url is {len(long_url)} characters; the limit is 2048"
    assert count_articles(project) == 0

    languages = news_page().replace('"@type": "NewsArticle"', '"@type": "NewsArticle", "inLanguage": "en-GB, fr-FR, de-DE, es-ES, it-IT, nl-NL"')
    receipt = take(project, client, push_html(client, languages))
    assert receipt["state"] == "ingested" and receipt["article"]["language"] == "en-GB"


def test_a_page_over_the_time_budget_is_rejected_with_the_reason(monkeypatch, project, client):
    monkeypatch.setattr("feeds.ingest.budget.BUDGET_SECONDS", 0.2)
    page = "<html><head><title>Breaks</title></head><body><h1>Breaks</h1>" + "w<br>" * 200_000 + "</body></html>"
    receipt = take(project, client, push_html(client, page))
    assert (receipt["state"], receipt["error"]) == ("rejected", "took over 0.2 s to ingest")
    assert count_articles(project) == 0
