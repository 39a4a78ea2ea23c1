"""Article pages for tests, shaped like a CMS's output: JSON-LD metadata and an article body."""

from __future__ import annotations

import json
from datetime import UTC, datetime

LOREM = (
    "The harbour authority confirmed the change on Tuesday after a long meeting with local "
    "operators, who had asked for clearer rules on berths and fees for the coming season. "
    "Residents said the decision would matter to families who have worked the quays for "
    "generations, and councillors promised a public session before the end of the month."
)


def news_page(
    url: str = "https://harbourgazette.example/news/ferry-timetable",
    headline: str = "Ferry timetable changes for the winter",
    section: str = "News",
    published: datetime = datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
    modified: datetime | None = None,
    author: str = "Ada Quayside",
    paragraphs: list[str] | None = None,
) -> str:
    """A full HTML page with site chrome, a JSON-LD NewsArticle and an ``.article-body``."""
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "mainEntityOfPage": url,
        "headline": headline,
        "articleSection": section,
        "datePublished": published.isoformat(),
        "dateModified": (modified or published).isoformat(),
        "author": {"@type": "Person", "name": author},
    }
    body = "\n".join(f"<p>{p}</p>" for p in (paragraphs or [f"{headline}. {LOREM}", LOREM]))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{headline} | The Harbour Gazette</title>
<link rel="canonical" href="{url}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a></nav>
<main><article><h1>{headline}</h1><p class="byline">By {author}</p>
<div class="article-body">
{body}
</div></article></main>
<footer>© The Harbour Gazette</footer></body></html>
"""


def story(n: int, section: str = "News") -> str:
    """The n-th of a series of distinct articles."""
    return news_page(
        url=f"https://harbourgazette.example/story/{n}",
        headline=f"Story number {n} from the harbour",
        section=section,
        published=datetime(2026, 11, 1, tzinfo=UTC).replace(hour=n % 24, minute=n % 60),
    )
