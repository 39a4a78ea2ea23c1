"""Chrome goes, article structure stays: each kind of non-article block on a realistic page."""

from __future__ import annotations

import pytest

PARAS = [
    "The lifeboat crew tested a drone that can drop buoyancy aids to people in the water.",
    "Coxswain Jenna Rowe said the trial off the breakwater went better than expected.",
    "The drone carries two aids and can reach a casualty a mile out in under two minutes.",
    "Volunteers will train with it over the winter before a decision in the spring.",
]
BODY = "".join(f"<p>{p}</p>" for p in PARAS)


def article(inner: str, after: str = "") -> str:
    return ("<html><head><title>Drone trial | Gazette</title></head><body>"
            "<header class='site-header'><nav><a href='/'>Home</a><a href='/news/'>News</a></nav></header>"
            f"<main><article><h1>Drone trial</h1><div class='entry-body'>{inner}</div>{after}</article></main>"
            "<footer class='site-footer'><p>Copyright 2026 The Gazette. All rights reserved.</p></footer>"
            "</body></html>")


CHROME = {
    "related block": ("<div class='related-posts'><h3>Related</h3><ul><li><a href='/a'>Lifeboat day raises £4,000"
                      "</a></li><li><a href='/b'>New boathouse opens</a></li></ul></div>", "Lifeboat day"),
    "you may also like": ("<div><h3>You may also like</h3><ul><li><a href='/c'>Harbour wall repaired</a></li></ul>"
                          "</div>", "Harbour wall"),
    "more in": ("<section><h4>More in:Local</h4><ul><li><a href='/d'>Bus shelter row</a></li></ul></section>",
                "Bus shelter"),
    "share bar": ("<div class='share-buttons'><a href='https://twitter.com/share'>Share on Twitter</a>"
                  "<a href='https://facebook.com/sharer'>Share on Facebook</a></div>", "Share on"),
    "newsletter box": ("<div class='newsletter-signup'><p>Sign up for the morning briefing</p>"
                       "<form><input type='email'><button>Subscribe</button></form></div>", "morning briefing"),
    "comments": ("<div id='comments' class='comments-area'><h3>3 comments</h3><p>Great story! — Bob</p>"
                 "<p>Comments are closed.</p></div>", "Great story"),
    "ads": ("<div class='ad-slot'><p>Advertisement</p><img src='/ads/banner.gif'></div>", "Advertisement"),
    "script": ("<script>document.write('tracking pixel')</script><noscript>Enable JS</noscript>", "tracking"),
    "read more promo": ("<p>[Read More: <a href='/e'>Hunter’s ‘Sugar Brother’ Has Run Out Of Sugar</a>]</p>",
                        "Sugar Brother"),
    "related promo": ("<p>Related: <a href='/f'>Harbour ferry fares to rise in January</a></p>", "ferry fares"),
    "read more uppercase": ("<p><strong>READ MORE:</strong> <a href='/g'>Quay car park to close</a></p>",
                            "car park"),
    "social follow line": ("<p>Follow us on Twitter and Instagram for more harbour news.</p>", "Follow us"),
}


@pytest.mark.parametrize("kind", sorted(CHROME))
def test_chrome_inside_the_body_is_removed(ingest, kind):
    chrome, marker = CHROME[kind]
    middle = BODY.replace("</p><p>Volunteers", f"</p>{chrome}<p>Volunteers") if "promo" in kind else BODY
    tail = "" if "promo" in kind else chrome
    a = ingest(article(middle + tail))
    assert marker not in a.text and marker not in a.content_html
    assert a.text == "\n\n".join(PARAS)


@pytest.mark.parametrize("kind", sorted(k for k in CHROME if "promo" not in k))
def test_chrome_after_the_body_is_removed(ingest, kind):
    chrome, marker = CHROME[kind]
    a = ingest(article(BODY, after=chrome))
    assert marker not in a.text and marker not in a.content_html
    assert a.text == "\n\n".join(PARAS)


def test_site_chrome_never_reaches_the_body(ingest):
    a = ingest(article(BODY))
    for chrome in ("Home", "News", "Copyright", "All rights reserved", "Drone trial"):
        assert chrome not in a.text


def test_structure_is_kept(ingest):
    inner = (BODY +
             "<h2>How it works</h2><p>The drone is launched from the boat.</p>"
             "<figure><img src='/img/drone.jpg' alt='The drone'><figcaption>The drone over the harbour. "
             "Photo: Gazette</figcaption></figure>"
             "<blockquote><p>It could save lives this winter, said the coxswain.</p></blockquote>"
             "<ul><li>Range: one mile</li><li>Payload: two aids</li></ul>"
             "<table><tr><th>Test</th><th>Time</th></tr><tr><td>Run one</td><td>1m50s</td></tr></table>")
    a = ingest(article(inner))
    html = a.content_html
    assert "<h2>How it works</h2>" in html
    assert '<img src="https://harbourgazette.example/img/drone.jpg" alt="The drone">' in html
    assert "<figcaption>The drone over the harbour. Photo: Gazette</figcaption>" in html
    assert "<blockquote>" in html and "<li>Range: one mile</li>" in html and "<td>1m50s</td>" in html
    assert "The drone over the harbour" not in a.text  # captions are not body text
    assert "How it works" in a.text and "Range: one mile" in a.text and "It could save lives" in a.text


def test_text_is_paragraphs_separated_by_blank_lines(ingest):
    a = ingest(article("<p>One  sentence\n here with enough words to matter.</p><p>Two<br>lines</p>" + BODY))
    assert a.text.split("\n\n")[:3] == ["One sentence here with enough words to matter.", "Two", "lines"]
