"""Small article pages the tests write into an articles folder while the service runs."""

from __future__ import annotations

import json


def news_page(
    slug: str,
    title: str,
    *,
    section: str = "Business",
    published: str = "2026-11-20T09:00:00+00:00",
    modified: str | None = None,
    paragraphs: tuple[str, ...] = (),
    author: str = "Robin Tern",
) -> str:
    """A JSON-LD + OpenGraph page with a canonical URL under the sample site."""
    url = f"https://harbourgazette.example/2026/11/20/{slug}/"
    body = paragraphs or (
        f"The harbour board met on Thursday to discuss {title.lower()}, a question that has divided the town.",
        "Members heard from fishermen, shopkeepers and the ferry operator before voting by seven to two.",
        "A full report will be published next month, the board's chair said after the meeting closed.",
    )
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "articleSection": section,
        "datePublished": published,
        "dateModified": modified or published,
        "author": {"@type": "Person", "name": author},
        "mainEntityOfPage": url,
    }
    paras = "\n".join(f"<p>{p}</p>" for p in body)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} | The Harbour Gazette</title>
<link rel="canonical" href="{url}">
<meta property="og:title" content="{title}">
<meta property="article:section" content="{section}">
<meta property="article:published_time" content="{published}">
<script type="application/ld+json">{json.dumps(ld)}</script>
</head><body>
<nav><a href="/">Home</a> <a href="/business/">Business</a></nav>
<article>
<h1>{title}</h1>
<p class="byline">By <a rel="author" href="/author/robin">{author}</a></p>
<time datetime="{published}">20 November 2026</time>
<div class="article-body">
{paras}
</div>
</article>
<footer>© The Harbour Gazette</footer>
</body></html>
"""
