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
    "related promo with list": ("<p><strong>Related:</strong> <a href='/h'>Pier reopens</a></p><ul><li>"
                                "<a href='/i'>Pier history in photos</a></li><li><a href='/j'>Pier cafe</a></li></ul>",
                                "Pier"),
    "portuguese related": ("<h3>Você pode gostar...</h3><ul><li><a href='/k'>Outra notícia</a></li></ul>",
                           "Outra"),
    "tags line": ("<p>Tags: <a href='/t/rnli'>RNLI</a>, <a href='/t/drones'>drones</a></p>", "RNLI"),
    "tip line": ("<p>Have a tip? Jago Penrose may be reached at jago@courier.example. Follow him on Twitter.</p>",
                 "Have a tip"),
    "newsletter line": ("<p>Get the latest updates right in your inbox. Subscribe to the Courier’s newsletters.</p>",
                        "inbox"),
    "reprint tools": ("<p>Order Reprints</p><p>Print Article</p><p>Text size</p>", "Reprints"),
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
    a = ingest(article("<p>One  sentence\n\n here with enough words to matter.</p><p>Two<br>lines</p>" + BODY))
    assert a.text.split("\n\n")[:2] == ["One sentence here with enough words to matter.", "Two\nlines"]


DEK = "A drone that drops buoyancy aids could reach casualties before the boat does."


def test_standfirst_shown_as_a_heading_is_not_body(ingest):
    html = article(BODY).replace("<title>", f"<meta name='description' content='{DEK}'><title>").replace(
        "<h1>Drone trial</h1>", f"<h1>Drone trial</h1><h2 class='sub-head'>{DEK}</h2>")
    a = ingest(html)
    assert a.text == "\n\n".join(PARAS) and a.summary == DEK


def test_lead_paragraph_equal_to_the_description_stays(ingest):
    html = article(f"<p>{DEK}</p>" + BODY).replace("<title>", f"<meta name='description' content='{DEK}'><title>")
    assert ingest(html).text == "\n\n".join([DEK, *PARAS])


def test_end_marker_at_the_very_top_does_not_empty_the_body(ingest):
    a = ingest(article("<h3>Comments</h3>" + BODY))
    assert a.text == "\n\n".join(PARAS)


def test_allowlisted_video_embed_survives_extraction(ingest):
    embed = "<iframe src='https://www.youtube-nocookie.com/embed/abc123' width='560' height='315'></iframe>"
    inner = BODY.replace("</p><p>Volunteers", f"</p>{embed}<iframe src='https://evil.example/'></iframe>"
                                              "<p>Volunteers")
    a = ingest(article(inner))
    assert ('<iframe src="https://www.youtube-nocookie.com/embed/abc123" width="560" height="315"></iframe>'
            '<p>Volunteers') in a.content_html
    assert "evil" not in a.content_html and a.text == "\n\n".join(PARAS)


def test_lazy_loaded_images_get_their_real_source(ingest):
    figure = ("<figure><img src='data:image/gif;base64,R0lGODlhAQABAAAAACw=' data-src='/img/real.jpg' "
              "data-srcset='/img/real.jpg 1x, /img/real2.jpg 2x' alt='Real'><figcaption>Caption here.</figcaption>"
              "</figure>")
    a = ingest(article(BODY.replace("</p><p>Volunteers", f"</p>{figure}<p>Volunteers")))
    assert ('<img src="https://harbourgazette.example/img/real.jpg" alt="Real" srcset="https://harbourgazette.example'
            '/img/real.jpg 1x, https://harbourgazette.example/img/real2.jpg 2x">') in a.content_html
    assert "data:" not in a.content_html


LINES = [f"Line {i} of a story set with line breaks only, which extractors find hard." for i in range(5)]
BR_PAGE = ("<html><head><title>Breaks</title></head><body><article><h1>Breaks</h1>"
           f"<div itemprop='articleBody'><!-- story -->{'<br>'.join(LINES)}</div></article></body></html>")


def test_text_after_a_comment_is_kept(ingest):
    assert ingest(BR_PAGE).text == "\n".join(LINES)


def test_marked_article_body_is_the_fallback_when_extraction_finds_nothing(ingest, monkeypatch):
    import feeds.ingest.extract

    monkeypatch.setattr(feeds.ingest.extract, "_trafilatura_body", lambda tree: None)
    assert ingest(BR_PAGE).text == "\n".join(LINES)


def test_dropping_in_one_pass_leaves_the_text_drop_element_leaves():
    """The batched drops of a pass (tails joined once at its end) give the same tree as
    drop_element one at a time, for any set of elements dropped in document order."""
    import random

    from lxml import html as lhtml

    from feeds.ingest.clean import drop_element, dropping

    rng = random.Random(13)
    for _ in range(300):
        markup = "".join(rng.choice(["<p>a</p>", "<p>b</p> tail ", "<div>c<span>d</span> e </div>", "<i>f</i>  ",
                                     "<div><p>g</p>h<p>i</p> </div>j"]) for _ in range(rng.randint(1, 8)))
        one, batch = (lhtml.fragment_fromstring(markup, create_parent="div") for _ in range(2))
        elements_one, elements_batch = list(one.iter()), list(batch.iter())
        chosen = sorted(rng.sample(range(1, len(elements_one)), rng.randint(0, len(elements_one) - 1)))
        for i in chosen:
            drop_element(elements_one[i])
        with dropping() as drop:
            for i in chosen:
                drop(elements_batch[i])
        assert lhtml.tostring(batch) == lhtml.tostring(one), (markup, chosen)
