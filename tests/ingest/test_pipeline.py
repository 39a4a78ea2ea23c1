"""Identity, URLs, summary and the contract the rest of the service relies on."""

from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timezone

from feeds.ingest import ingest_page

PARAS = [f"Paragraph {i}: the harbour board met on Tuesday to discuss the pontoon, its cost and its timetable."
         for i in range(5)]


def page(canonical: str = "", sidebar: str = "Popular: A, B, C", body: str = "") -> str:
    link = f"<link rel='canonical' href='{canonical}'>" if canonical else ""
    body = body or "".join(f"<p>{p}</p>" for p in PARAS)
    return (f"<html><head><title>Pontoon plan | Gazette</title>{link}"
            "<meta property='article:published_time' content='2026-10-12T07:00:00+01:00'></head><body>"
            f"<aside class='sidebar'><p>{sidebar}</p></aside><article><h1>Pontoon plan</h1>"
            f"<p>See <a href='docs/plan.pdf'>the plan</a> and <img src='img/p.jpg' alt=''>.</p>{body}</article>"
            "</body></html>")


def test_reingesting_gives_an_identical_article(ingest):
    first, second = ingest(page()), ingest(page())
    assert first == second
    assert first.content_hash == second.content_hash and len(first.content_hash) == 64


def test_chrome_changes_do_not_change_the_hash(ingest):
    assert ingest(page(sidebar="Popular: A")).content_hash == ingest(page(sidebar="Popular: Z")).content_hash


def test_body_changes_change_the_hash(ingest):
    changed = "".join(f"<p>{p}</p>" for p in PARAS[:-1]) + "<p>A correction was added to this story later on.</p>"
    assert ingest(page()).content_hash != ingest(page(body=changed)).content_hash


def test_id_is_the_canonical_url(ingest):
    a = ingest(page("https://harbourgazette.example/2026/10/pontoon/"))
    assert a.id == a.url == "https://harbourgazette.example/2026/10/pontoon/"
    assert 'href="https://harbourgazette.example/2026/10/pontoon/docs/plan.pdf"' in a.content_html


def test_id_without_canonical_comes_from_the_source_path(ingest, settings):
    a = ingest(page(), source="file:business/pontoon plan.html")
    assert a.id == a.url == "https://harbourgazette.example/business/pontoon%20plan.html"
    assert ingest(page(), source="file:business/other.html").id != a.id
    assert 'href="https://harbourgazette.example/business/docs/plan.pdf"' in a.content_html
    assert a.source == "file:business/pontoon plan.html"


def test_base_url_is_used_for_links_when_there_is_no_canonical(ingest):
    a = ingest(page(), source="push", base_url="https://other.example/news/item.html")
    assert 'href="https://other.example/news/docs/plan.pdf"' in a.content_html
    assert 'src="https://other.example/news/img/p.jpg"' in a.content_html


def test_pushed_page_without_canonical_gets_a_stable_tag_uri(ingest):
    a, b = ingest(page(), source="push"), ingest(page(), source="push")
    assert a.id == b.id and a.id.startswith("tag:harbourgazette.example,2026-10-12:")
    assert a.source == "push"


def test_source_paths_cannot_escape_the_site(ingest):
    assert ingest(page(), source="file:../../etc/x.html").url == "https://harbourgazette.example/etc/x.html"


def test_summary_from_first_paragraphs(ingest):
    a = ingest(page())
    assert a.summary.startswith("See the plan and . Paragraph 0: the harbour board")
    assert len(a.summary) <= 300 and a.summary in " ".join(a.text.split())


def test_long_summary_is_cut_at_a_word_boundary(ingest):
    a = ingest(page(body="<p>" + "Harbourmaster " * 60 + "</p>" + "".join(f"<p>{p}</p>" for p in PARAS)))
    assert a.summary.endswith("Harbourmaster…") and len(a.summary) <= 301


def test_updated_defaults_to_published(ingest):
    a = ingest(page())
    assert a.updated == a.published == datetime.fromisoformat("2026-10-12T07:00:00+01:00")


def test_article_is_picklable_and_ingest_runs_in_a_process_pool(settings):
    data = page().encode()
    kwargs = dict(source="file:x.html", settings=settings, fallback_time=datetime(2026, 1, 1, tzinfo=timezone.utc))
    local = ingest_page(data, **kwargs)
    assert pickle.loads(pickle.dumps(local)) == local
    with ProcessPoolExecutor(max_workers=1) as pool:
        remote = pool.submit(ingest_page, data, **kwargs).result()
    assert remote == local and remote.content_hash == local.content_hash


def test_text_and_title_carry_no_xml_forbidden_characters(ingest):
    a = ingest(page(body="".join(f"<p>{p}&#1;\x0b&#xFFFE;</p>" for p in PARAS)).replace("Pontoon plan<", "Pontoon\x01 plan<"))
    for value in (a.title, a.text, a.summary, a.content_html):
        assert not any(ord(c) < 32 and c not in "\t\n\r" for c in value)
        assert "\ufffe" not in value


def test_pushed_page_with_base_url_is_identified_by_it(ingest):
    a = ingest(page(), source="push", base_url="https://other.example/news/item.html")
    assert a.id == a.url == "https://other.example/news/item.html"


def test_values_over_their_field_limits_are_trimmed_with_a_warning(ingest):
    from feeds.limits import MAX_NAMES, MAX_TITLE

    headline = " ".join(["Pontoon"] * 100)
    keywords = ", ".join(f"tag{n}" for n in range(60))
    image = "https://harbourgazette.example/" + "i" * 3000 + ".jpg"
    extra = f"<meta name='keywords' content='{keywords}'><meta property='og:image' content='{image}'>"
    a = ingest(page().replace("Pontoon plan | Gazette</title>", f"{headline}</title>{extra}")
               .replace("<h1>Pontoon plan</h1>", f"<h1>{headline}</h1>"))
    assert len(a.title) <= MAX_TITLE and a.title.endswith("Pontoon\u2026")
    assert a.tags == tuple(f"tag{n}" for n in range(MAX_NAMES))
    assert a.image is None
    assert [w.split(" ", 1)[0] for w in a.warnings] == ["title", "tags:", "image"]
