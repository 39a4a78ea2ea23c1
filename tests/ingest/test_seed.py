"""The customer's seed page shape: label, headline, body, inline promo, chrome after the body."""

from __future__ import annotations



def test_seed_page(ingest, page_bytes):
    article = ingest(page_bytes("seed_global_news.html"))
    assert article.title == "Ukraine Asking For NATO Troops To Enter The War"
    assert article.section == "world"
    assert article.authors == ("Jane Doe",)
    assert article.published.isoformat() == "2024-06-13T09:30:00+00:00"
    assert article.id == "https://courier.example/2024/06/ukraine-asking-for-nato-troops/"
    assert article.text.startswith("Over the last few weeks, Ukraine has faced a massive onslaught")
    assert article.text.endswith("Biden has long shown a specific interest in Ukraine for some reason")
    for chrome in ("Global News", "Read More", "Sugar Brother", "You may also like", "More in",
                   "Comments are closed", "Share on", "Daily Courier"):
        assert chrome not in article.text
        assert chrome not in article.content_html
    assert "“ironclad.”" in article.text
