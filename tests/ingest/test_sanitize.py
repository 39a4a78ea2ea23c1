"""The sanitiser against hostile input: nothing a browser would run may survive.

Each output is re-parsed with an HTML parser and every element, attribute and
URL is checked against the allowlist, so a new bypass fails here whatever its shape.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from feeds.ingest.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, EMBED_HOSTS, sanitize_html

BASE = "https://news.example.com/world/story.html"
XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")

HOSTILE = [
    # script and event handlers
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    "<p onclick='alert(1)'>click</p>",
    "<body onload=alert(1)>",
    "<svg onload=alert(1)>",
    "<div onmouseover=\"alert(1)\">hover</div>",
    "<a href=/ ONCLICK=alert(1)>x</a>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=alert(1)></video>",
    "<img src=x:alert(alt) onerror=eval(src) alt=0>",
    # javascript: URLs in disguise
    "<a href=\"javascript:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"jav&#x09;ascript:alert(1)\">x</a>",
    "<a href=\"jav&#x0A;ascript:alert(1)\">x</a>",
    "<a href=\"jav\tascript:alert(1)\">x</a>",
    "<a href=\"java\nscript:alert(1)\">x</a>",
    "<a href=\" &#14;  javascript:alert(1)\">x</a>",
    "<a href=\"&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript:alert(1)\">x</a>",
    "<a href=\"javascript&colon;alert(1)\">x</a>",
    "<a href=\"\u00a0javascript:alert(1)\">x</a>",
    "<a href=\"\u2028javascript:alert(1)\">x</a>",
    "<a href=\"\ufeffjavascript:alert(1)\">x</a>",
    "<img src=\"javascript:alert(1)\">",
    "<blockquote cite=\"javascript:alert(1)\">q</blockquote>",
    "<iframe src=\"javascript:alert(1)\"></iframe>",
    # other schemes
    "<a href=\"vbscript:msgbox(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "<a href=\"file:///etc/passwd\">x</a>",
    "<a href=\"//evil.example/%0aalert(1)\">x</a>",
    # srcset
    "<img src=/a.png srcset=\"javascript:alert(1) 1x\">",
    "<img src=/a.png srcset=\"/ok.png 1x, javascript:alert(1) 2x\">",
    "<picture><source srcset=\"data:image/png;base64,AAAA\"><img src=/a.png></picture>",
    # mutation XSS shapes
    "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mi><mglyph><svg><mtext><textarea><path id=\"</textarea><img onerror=alert(1) src=1>\">",
    "<svg></p><style><a id=\"</style><img src=1 onerror=alert(1)>\">",
    "<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>",
    "<table><td><svg><foreignObject><p>x</p><img src=x onerror=alert(1)></foreignObject></svg>",
    "<xmp><img src=x onerror=alert(1)></xmp>",
    "<title><img src=x onerror=alert(1)></title>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
    "<!--><img src=x onerror=alert(1)>-->",
    "<![CDATA[<img src=x onerror=alert(1)>]]>",
    "<template><img src=x onerror=alert(1)></template>",
    # SVG / MathML with links
    "<svg><a xlink:href=\"javascript:alert(1)\"><text>x</text></a></svg>",
    "<svg><use href=\"data:image/svg+xml,<svg id='x' onload='alert(1)'/>#x\"/></svg>",
    "<math href=\"javascript:alert(1)\">x</math>",
    # page-level tricks
    "<base href=\"https://evil.example/\"><a href=/x>x</a>",
    "<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<form action=https://evil.example/><input name=q><button>go</button></form>",
    "<iframe src=https://evil.example/></iframe>",
    "<iframe src=http://www.youtube.com/embed/x></iframe>",
    "<iframe srcdoc=\"<script>alert(1)</script>\" src=https://www.youtube-nocookie.com/embed/x></iframe>",
    "<frameset><frame src=https://evil.example/></frameset>",
    "<object data=https://evil.example/x.swf></object><embed src=https://evil.example/x.swf>",
    "<applet code=x></applet>",
    # styles
    "<p style=\"background:url(javascript:alert(1))\">x</p>",
    "<style>body{background:url(https://evil.example/track)}</style>",
    "<div style=\"position:fixed;top:0;left:0;width:100%;height:100%\">overlay</div>",
    # characters XML forbids
    "<p>a&#1;b</p>",
    "<p>a&#xFFFE;b&#xFFFF;c</p>",
    "<p>a&#xD800;b</p>",
    "<p title=\"x&#1;y\">a\x01b\x0bc\x1fd</p>",
    "<p>a\ufffeb\uffffc\ufdd0d</p>",
    "<p>\ud800lone surrogate</p>",
    "<a href=\"/x&#1;y\">x</a>",
]


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def assert_safe(output: str) -> None:
    assert not XML_FORBIDDEN.search(output), repr(output)
    assert "&#1;" not in output and "&#x" not in output.lower().replace("&#x27;", "")
    parser = _Collector()
    parser.feed(output)
    parser.close()
    for tag, attrs in parser.elements:
        assert tag in ALLOWED_TAGS, f"tag {tag!r} in {output!r}"
        for name, value in attrs:
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()), f"{tag}@{name} in {output!r}"
            assert not name.startswith("on")
            urls = []
            if name in ("href", "src", "cite"):
                urls = [value or ""]
            elif name == "srcset":
                urls = [part.split()[0] for part in (value or "").split(",") if part.strip()]
            for url in urls:
                scheme = urlsplit(url).scheme
                assert scheme in ("http", "https", "mailto"), f"{url!r} in {output!r}"
                assert url == url.strip() and not re.search(r"[\s\x00-\x1f]", url)
                if tag == "iframe":
                    assert scheme == "https" and urlsplit(url).hostname in EMBED_HOSTS
    # no element that runs, restyles or re-targets the page is left as markup
    lowered = output.lower()
    for needle in ("<script", "<style", "<svg", "<math", "<iframe srcdoc", "<base", "<meta", "<form"):
        assert needle not in lowered, f"{needle} in {output!r}"


def test_there_are_at_least_fifty_hostile_snippets():
    assert len(HOSTILE) >= 50


@pytest.mark.parametrize("snippet", HOSTILE)
def test_hostile_snippet_is_neutralised(snippet):
    assert_safe(sanitize_html(snippet, BASE))


@pytest.mark.parametrize("snippet", HOSTILE)
def test_hostile_snippet_inside_article_markup(snippet):
    assert_safe(sanitize_html(f"<article><p>Intro</p><div>{snippet}</div><p>Outro</p></article>", BASE))


def test_article_structure_is_kept():
    html = (
        "<h2>Sub</h2><p>Text with <a href='/a'>link</a>, <em>em</em> and <strong>strong</strong>.</p>"
        "<figure><img src='img/p.jpg' alt='Pic' srcset='img/p.jpg 1x, img/p2.jpg 2x'><figcaption>Cap</figcaption></figure>"
        "<blockquote cite='/src'><p>Quote</p></blockquote><ul><li>one</li></ul><ol><li>two</li></ol>"
        "<table><thead><tr><th>H</th></tr></thead><tbody><tr><td colspan='2'>C</td></tr></tbody></table>"
        "<iframe src='https://www.youtube-nocookie.com/embed/abc' width='560' height='315'></iframe>"
        "<p><a href='mailto:desk@news.example.com'>mail</a></p>"
    )
    out = sanitize_html(html, BASE)
    assert_safe(out)
    for part in ("<h2>Sub</h2>", '<a href="https://news.example.com/a">link</a>', "<em>em</em>",
                 '<img src="https://news.example.com/world/img/p.jpg" alt="Pic" '
                 'srcset="https://news.example.com/world/img/p.jpg 1x, https://news.example.com/world/img/p2.jpg 2x">',
                 "<figcaption>Cap</figcaption>", '<blockquote cite="https://news.example.com/src">', "<li>one</li>",
                 "<th>H</th>", '<td colspan="2">C</td>',
                 '<iframe src="https://www.youtube-nocookie.com/embed/abc" width="560" height="315"></iframe>',
                 'href="mailto:desk@news.example.com"'):
        assert part in out


def test_relative_and_protocol_relative_urls_become_absolute():
    out = sanitize_html("<a href='../x'>a</a><a href='//cdn.example.com/y'>b</a><a href='#n'>c</a>", BASE)
    assert 'href="https://news.example.com/x"' in out
    assert 'href="https://cdn.example.com/y"' in out
    assert 'href="https://news.example.com/world/story.html#n"' in out


def test_disallowed_iframe_disappears_entirely():
    out = sanitize_html("<p>a</p><iframe src='https://evil.example/'></iframe><p>b</p>", BASE)
    assert "iframe" not in out and "<p>a</p><p>b</p>" == out


def test_text_keeps_unicode_and_escapes_markup():
    out = sanitize_html("<p>“Quotes” — naïve &lt;b&gt; 日本語</p>", BASE)
    assert out == "<p>“Quotes” — naïve &lt;b&gt; 日本語</p>"


def test_c1_references_mean_windows_1252_as_in_browsers():
    assert sanitize_html("<p>don&#146;t &#147;quote&#148; &#150; &#x80;5</p>", BASE) == "<p>don’t “quote” – €5</p>"
