"""Build sample_articles/*.html, tests/pages/seed-shaped.html and
tests/sample_expectations.json from the article texts in sample_texts.py.

All article text is original and fictional ("The Harbour Gazette").
Run from the repo root:  python scripts/gen_samples.py
The script renders every page, derives the expectations from the same data,
then re-reads the written files and checks every expectation against them.
"""

from __future__ import annotations

import html
import json
import re
import sys
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sample_texts import ARTICLES, POOL  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SITE = "https://harbourgazette.example"
MONTHS = ["January", "February", "March", "April", "May", "June", "July",
          "August", "September", "October", "November", "December"]

WP_NAV = ["Home", "Global News", "Politics", "Money", "Tech", "Sports",
          "Arts & Culture", "Local", "Opinion", "Obituaries"]
LD_NAV = ["World", "Politics", "Business", "Technology", "Sport", "Culture", "Local"]
LEGACY_NAV = ["Home", "News", "Sport", "Business", "What\u2019s On", "Weather"]

E = html.escape


def strip_tags(s: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", s))


def slugify(s: str) -> str:
    s = re.sub(r"[\u2019']", "", s.lower())
    return re.sub(r"[^a-z0-9]+", "-", s).strip("-")


def pub_dt(a):
    return datetime.fromisoformat(a["pub"]) if a.get("pub") else None


def display_date(iso: str) -> str:
    d = datetime.fromisoformat(iso)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def canonical_url(a) -> str | None:
    if a.get("canonical") is False or a["tpl"] == "legacy":
        return None
    d = pub_dt(a)
    slug = a.get("slug") or slugify(a["title"])
    while len(slug) > 60 and "-" in slug:
        slug = slug.rsplit("-", 1)[0]
    if a["tpl"] == "ld":
        return f"{SITE}/{a['section']}/{d:%Y/%m/%d}/{slug}"
    return f"{SITE}/{d:%Y/%m/%d}/{slug}/"


# ---------------------------------------------------------------- body blocks
# A block is a str (paragraph, may hold inline markup) or a tuple:
#   ("h2", text) ("quote", text) ("ul", [items]) ("ol", [items])
#   ("table", caption, [header], [[row], ...]) ("fig", src, alt, caption|None)
#   ("readmore", href, headline) ("related", href, headline)
#   ("newsletter",) ("ad",)
CHROME_BLOCKS = {"readmore", "related", "newsletter", "ad"}


def render_block(b, a) -> str:
    if isinstance(b, str):
        return f"<p>{b}</p>"
    kind = b[0]
    if kind == "h2":
        return f"<h2>{b[1]}</h2>"
    if kind == "quote":
        return f"<blockquote><p>{b[1]}</p></blockquote>"
    if kind in ("ul", "ol"):
        items = "".join(f"<li>{i}</li>" for i in b[1])
        return f"<{kind}>{items}</{kind}>"
    if kind == "table":
        _, cap, head, rows = b
        th = "".join(f"<th>{h}</th>" for h in head)
        trs = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in r) + "</tr>" for r in rows)
        return (f'<table class="data-table"><caption>{cap}</caption>'
                f"<thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>")
    if kind == "fig":
        _, src, alt, cap = b
        if a["tpl"] == "legacy":
            c = f"<br><i>{cap}</i>" if cap else ""
            return f'<p><img src="{src}" width="400" alt="{E(alt)}">{c}</p>'
        c = f"<figcaption>{cap}</figcaption>" if cap else ""
        cls = ' class="wp-block-image size-large"' if a["tpl"] == "wp" else ""
        return f'<figure{cls}><img src="{src}" alt="{E(alt)}" loading="lazy">{c}</figure>'
    if kind == "readmore":
        return f'<p><strong>[Read More: <a href="{b[1]}">{b[2]}</a>]</strong></p>'
    if kind == "related":
        if a["tpl"] == "ld":
            return (f'<p class="inline-related"><strong>Related:</strong> '
                    f'<a href="{b[1]}">{b[2]}</a></p>')
        return f'<p>Related: <a href="{b[1]}">{b[2]}</a></p>'
    if kind == "newsletter":
        return NEWSLETTER
    if kind == "ad":
        return '<div class="ad-slot">Advertisement</div>'
    raise ValueError(kind)


NEWSLETTER = ('<div class="newsletter-box"><p>Sign up for the morning briefing: the '
              'harbour\u2019s news in your inbox before 7am.</p>'
              '<form action="/newsletter/subscribe/" method="post">'
              '<input type="email" name="email" placeholder="Your email address">'
              '<button type="submit">Subscribe</button></form></div>')


def body_html(a) -> str:
    return "\n".join(render_block(b, a) for b in a["body"])


def text_blocks(a):
    """(kind, plain text) for every article block that is real body text."""
    out = []
    for b in a["body"]:
        if isinstance(b, str):
            out.append(("p", strip_tags(b)))
        elif b[0] in ("h2", "quote"):
            out.append((b[0], strip_tags(b[1])))
        elif b[0] in ("ul", "ol"):
            out.extend(("li", strip_tags(i)) for i in b[1])
        elif b[0] == "table":
            out.append(("caption", strip_tags(b[1])))
            out.extend(("cell", strip_tags(c)) for c in b[2])
            out.extend(("cell", strip_tags(c)) for r in b[3] for c in r)
        elif b[0] == "fig" and b[3]:
            out.append(("figcaption", strip_tags(b[3])))
    return out


def authors_html(a, fmt) -> str:
    links = [fmt(n) for n in a["authors"]]
    if len(links) == 1:
        return links[0]
    return ", ".join(links[:-1]) + " and " + links[-1]


# ---------------------------------------------------------------- WordPress
def pool_links(items):
    return "".join(f'<li><a href="{h}">{E(t)}</a></li>' for h, t in items)


def render_wp(a, others) -> tuple[str, list[str]]:
    title = a["title"]
    label = a["label"]
    cat = slugify(label)
    canon = canonical_url(a)
    pid = a["pid"]
    chrome = []
    head = [f"<title>{E(title)} \u2013 The Harbour Gazette</title>"]
    if canon:
        head.append(f'<link rel="canonical" href="{canon}">')
    if a.get("og"):
        img = a.get("og_image", "/wp-content/uploads/default-share.jpg")
        head += [
            '<meta property="og:type" content="article">',
            '<meta property="og:site_name" content="The Harbour Gazette">',
            f'<meta property="og:title" content="{E(title)}">',
            f'<meta property="og:url" content="{canon or ""}">',
            f'<meta property="og:image" content="{SITE}{img}">',
            f'<meta property="article:section" content="{E(label)}">',
            f'<meta property="article:published_time" content="{a["pub"]}">',
        ]
        if a.get("upd"):
            head.append(f'<meta property="article:modified_time" content="{a["upd"]}">')
    nav = "".join(f'<li><a href="/{"" if n == "Home" else "category/" + slugify(n) + "/"}">{E(n)}</a></li>'
                  for n in WP_NAV)
    chrome += WP_NAV + ["Subscribe"]
    upd = ""
    if a.get("upd"):
        upd = (f' <span class="updated-on">Updated <time class="updated" datetime="{a["upd"]}">'
               f'{display_date(a["upd"])}</time></span>')
    byline = authors_html(a, lambda n: f'<span class="author vcard"><a class="url fn n" '
                          f'href="/author/{slugify(n)}/">{E(n)}</a></span>')
    share = ('<div class="share-buttons"><span>Share this:</span> '
             f'<a class="share-facebook" href="https://www.facebook.com/sharer/sharer.php?u={canon or ""}">Share on Facebook</a> '
             f'<a class="share-twitter" href="https://twitter.com/intent/tweet?url={canon or ""}">Share on Twitter</a> '
             f'<a class="share-email" href="mailto:?subject={E(title)}">Share by Email</a></div>')
    chrome += ["Share this:", "Share on Facebook", "Share on Twitter", "Share by Email"]
    after_body = ""
    if a.get("newsletter_after"):
        after_body += NEWSLETTER + "\n"
    if not any(not isinstance(b, str) and b[0] == "ad" for b in a["body"]):
        after_body += '<div class="ad-slot">Advertisement</div>\n'
    chrome.append("Advertisement")
    for b in a["body"]:
        if not isinstance(b, str) and b[0] == "readmore":
            chrome += ["Read More:", b[2]]
        if not isinstance(b, str) and b[0] == "related":
            chrome += ["Related:", b[2]]
    if a.get("newsletter_after") or any(not isinstance(b, str) and b[0] == "newsletter" for b in a["body"]):
        chrome.append("Sign up for the morning briefing")
    also = others[:3]
    more = POOL[a["section"]]
    chrome += ["You may also like", f"More in:{label}", "Comments are closed."]
    chrome += [also[0][1], more[0][1]]
    tags = "".join(f'<a href="/tag/{slugify(t)}/" rel="tag">{E(t)}</a>' for t in a.get("tags", []))
    popular = [others[3], others[4]]
    chrome += ["Popular this week", "Follow us", "Search for:",
               "All rights reserved", "Privacy policy", "Contact us"]
    if tags:
        chrome.append("Tagged")
    page = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{chr(10).join(head)}
<link rel="stylesheet" id="harbour-style-css" href="/wp-content/themes/harbour/style.css?ver=4.2.1" media="all">
<script src="/wp-includes/js/jquery/jquery.min.js?ver=3.7.1" id="jquery-core-js"></script>
<script>window.hgAds = window.hgAds || []; hgAds.push({{slot: "top", category: "{cat}", post: {pid}}});</script>
</head>
<body class="post-template-default single single-post postid-{pid} single-format-standard">
<div id="page" class="site">
<a class="skip-link screen-reader-text" href="#primary">Skip to content</a>
<header id="masthead" class="site-header">
<div class="site-branding"><a href="/" class="custom-logo-link" rel="home"><img class="custom-logo" src="/wp-content/uploads/2025/01/gazette-logo.png" alt="The Harbour Gazette" width="320" height="60"></a>
<p class="site-description">News from the quays, the hills and beyond</p></div>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">{nav}</ul></nav>
<div class="header-subscribe"><a href="/subscribe/">Subscribe</a></div>
</header>
<div id="content" class="site-content">
<div id="primary" class="content-area"><main id="main" class="site-main">
<article id="post-{pid}" class="post-{pid} post type-post status-publish format-standard has-post-thumbnail hentry category-{cat}">
<header class="entry-header">
<div class="cat-links"><a class="cat-label" href="/category/{cat}/" rel="category tag">{E(label)}</a></div>
<h1 class="entry-title">{E(title)}</h1>
<div class="entry-meta"><span class="byline">by {byline}</span> <span class="posted-on"><time class="entry-date published" datetime="{a['pub']}">{display_date(a['pub'])}</time>{upd}</span></div>
{share}
</header>
<div class="entry-content">
{body_html(a)}
</div>
<footer class="entry-footer">{('<span class="tags-links">Tagged ' + tags + '</span>') if tags else ''}</footer>
</article>
{after_body}<section class="related-posts"><h3>You may also like</h3><ul>{pool_links(also)}</ul></section>
<section class="more-in-category"><h3>More in:{E(label)}</h3><ul>{pool_links(more)}</ul></section>
<div id="comments" class="comments-area"><p class="no-comments">Comments are closed.</p></div>
</main></div>
<aside id="secondary" class="widget-area">
<section class="widget widget_search"><form role="search" method="get" action="/"><label>Search for:</label> <input type="search" name="s"></form></section>
<section class="widget widget_popular"><h2 class="widget-title">Popular this week</h2><ul>{pool_links(popular)}</ul></section>
<section class="widget widget_social"><h2 class="widget-title">Follow us</h2><a href="https://social.example/harbourgazette"><img src="/wp-content/uploads/2025/01/follow-icons.png" alt="Follow The Harbour Gazette"></a></section>
</aside>
</div>
<footer id="colophon" class="site-footer"><div class="site-info">\u00a9 2026 The Harbour Gazette. All rights reserved. <a href="/privacy-policy/">Privacy policy</a> | <a href="/contact/">Contact us</a></div></footer>
</div>
<script src="/wp-content/themes/harbour/js/navigation.js?ver=4.2.1" id="harbour-navigation-js"></script>
<script>document.querySelectorAll('.share-buttons a').forEach(function (el) {{ el.addEventListener('click', function () {{ window.hgTrack && hgTrack('share', el.className); }}); }});</script>
</body>
</html>
"""
    return page, chrome


# ---------------------------------------------------------------- JSON-LD
def render_ld(a, others) -> tuple[str, list[str]]:
    title = a["title"]
    canon = canonical_url(a)
    label = a["label"]
    mod = a.get("modified", a["pub"])
    img = a.get("lead_image")
    people = [{"@type": "Person", "name": n,
               "url": f"{SITE}/authors/{slugify(n)}"} for n in a["authors"]]
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": title,
        "articleSection": a.get("ld_section", label),
        "author": people[0] if len(people) == 1 and not a.get("author_list") else people,
        "datePublished": a["pub"],
        "dateModified": mod,
        "mainEntityOfPage": {"@type": "WebPage", "@id": canon},
        "url": canon,
        "keywords": a.get("keywords", []),
        "publisher": {"@type": "Organization", "name": "The Harbour Gazette",
                      "logo": {"@type": "ImageObject", "url": f"{SITE}/static/img/logo-600.png"}},
        "inLanguage": "en-GB",
    }
    if img:
        ld["image"] = ({"@type": "ImageObject", "url": img, "width": 1200, "height": 675}
                       if a.get("image_object", True) else img)
    if a.get("graph"):
        ld = {"@context": "https://schema.org", "@graph": [
            {"@type": "WebPage", "@id": canon, "name": title},
            {k: v for k, v in ld.items() if k != "@context"},
            {"@type": "BreadcrumbList", "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": "Home", "item": SITE + "/"},
                {"@type": "ListItem", "position": 2, "name": label, "item": f"{SITE}/{a['section']}"}]},
        ]}
    ascii_only = not a.get("charset", True)
    ldjson = json.dumps(ld, indent=2, ensure_ascii=ascii_only)
    chrome = []
    head = []
    if a.get("charset", True):
        head.append('<meta charset="utf-8">')
    head += [
        f"<title>{E(title)} | The Harbour Gazette</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<link rel="canonical" href="{canon}">',
        '<meta property="og:type" content="article">',
        '<meta property="og:site_name" content="The Harbour Gazette">',
        f'<meta property="og:title" content="{E(title)}">',
        f'<meta property="og:url" content="{canon}">',
    ]
    if img:
        head.append(f'<meta property="og:image" content="{img}">')
    head += [
        f'<meta property="article:section" content="{E(label)}">',
        f'<meta property="article:published_time" content="{a["pub"]}">',
        f'<meta property="article:modified_time" content="{mod}">',
    ]
    head += [f'<meta property="article:tag" content="{E(k)}">' for k in a.get("keywords", [])]
    head.append('<meta name="twitter:card" content="summary_large_image">')
    nav = " ".join(f'<a href="/{"news" if n == "Local" else n.lower()}">{n}</a>' for n in LD_NAV)
    chrome += LD_NAV + ["Subscribe from \u00a31 a week"]
    byline = authors_html(a, lambda n: f'<a rel="author" href="/authors/{slugify(n)}">{E(n)}</a>')
    dl = f'<time datetime="{a["pub"]}">{display_date(a["pub"])}</time>'
    if mod != a["pub"]:
        dl += f' \u00b7 Updated <time datetime="{mod}">{display_date(mod)}</time>'
    for b in a["body"]:
        if not isinstance(b, str) and b[0] == "related":
            chrome += ["Related:", b[2]]
        if not isinstance(b, str) and b[0] == "ad":
            chrome.append("Advertisement")
        if not isinstance(b, str) and b[0] == "newsletter":
            chrome.append("Sign up for the morning briefing")
    related = others[:3]
    mostread = others[3:8]
    chrome += ["Related stories", related[0][1], "Most read", mostread[0][1],
               "We use cookies", "Accept all", "Manage preferences",
               "Harbour Gazette Media Ltd", "Cookie settings", "Home \u203a " + a["crumb"]]
    page = f"""<!doctype html>
<html lang="en-GB">
<head>
{chr(10).join(head)}
<script type="application/ld+json">
{ldjson}
</script>
<link rel="stylesheet" href="/static/css/app.3f9c1e.css">
<script async src="https://ads.adnetwork.example/tag.js"></script>
</head>
<body class="page-article section-{a['section']}">
<div class="cookie-banner" id="cookie-banner" role="dialog"><p>We use cookies to improve your experience and to measure our audience. <button id="cookie-accept">Accept all</button> <button id="cookie-manage">Manage preferences</button></p></div>
<header class="masthead"><a class="logo" href="/"><img src="/static/img/logo.svg" alt="The Harbour Gazette"></a>
<nav class="primary-nav">{nav}</nav>
<a class="btn-subscribe" href="/subscribe">Subscribe from \u00a31 a week</a></header>
<main id="main">
<nav class="breadcrumb" aria-label="Breadcrumb"><a href="/">Home</a> \u203a <a href="/{a['section']}">{E(a['crumb'])}</a></nav>
<article class="story" id="story-{a['pid']}">
<header class="story-header">
<h1 class="headline">{E(title)}</h1>
<p class="byline">By {byline}</p>
<p class="dateline">{dl}</p>
</header>
<div class="article-body">
{body_html(a)}
</div>
<section class="related-stories"><h2>Related stories</h2><ul>{pool_links(related)}</ul></section>
</article>
<aside class="most-read"><h2>Most read</h2><ol>{pool_links(mostread)}</ol></aside>
</main>
<footer class="site-footer"><p>\u00a9 2026 Harbour Gazette Media Ltd. Registered in England and Wales.</p>
<p><a href="/terms">Terms</a> <a href="/privacy">Privacy</a> <a href="/cookies">Cookie settings</a></p></footer>
<script>document.getElementById('cookie-accept').onclick = function () {{ document.getElementById('cookie-banner').remove(); }};</script>
<script src="/static/js/app.3f9c1e.js" defer></script>
</body>
</html>
"""
    if ascii_only:
        # no charset declared: keep the bytes ASCII, use character references
        page = page.encode("ascii", "xmlcharrefreplace").decode("ascii")
    return page, chrome


# ---------------------------------------------------------------- legacy
def render_legacy(a, others) -> tuple[str, list[str]]:
    title = a["title"]
    chrome = ["Home", "News", "Sport", "What\u2019s On", "Weather",
              "In this section", "Email this story", "Printer-friendly version",
              "Copyright", "Back to top"]
    if a["headline_style"] == "h1":
        h = f"<h1>{E(title, quote=False)}</h1>"
    else:
        h = f'<font size="5" face="Arial"><b>{E(title, quote=False)}</b></font>'
    if a["label_style"] == "font":
        lab = f'<font class="section" color="#990000" size="2">{E(a["label"])}</font><br>'
    else:
        lab = f'<p class="kicker">{E(a["label"])}</p>'
    if len(a["authors"]) == 1:
        by = f"<p>By {E(a['authors'][0])}</p>"
    else:
        by = f"<p>By {E(' and '.join(a['authors']))}</p>"
    date = f"<p>{E(a['date_text'])}</p>" if a.get("date_text") else ""
    meta_rows = [by, date] if a.get("byline_first", True) else [date, by]
    if a.get("updated_text"):
        meta_rows.append(f"<p><i>{E(a['updated_text'])}</i></p>")
    sect = "".join(f'<a href="{h_}">{E(t)}</a><br>' for h_, t in others[:3])
    chrome.append(others[0][1])
    titletag = f"<title>Harbour Gazette :: {E(title, quote=False)}</title>" if a.get("title_tag", True) else ""
    nav = ('<a href="../index.html">Home</a> | <a href="../news/index.html">News</a> | '
           '<a href="../sport/index.html">Sport</a> | <a href="../business/index.html">Business</a> | '
           '<a href="../whatson/index.html">What\u2019s On</a> | <a href="../weather.html">Weather</a>')
    page = f"""<html>
<head>
{titletag}
<link rel="stylesheet" href="../styles/gazette.css" type="text/css">
</head>
<body bgcolor="#FFFFFF" text="#000000" link="#003366" vlink="#663366" topmargin="0" leftmargin="0">
<table width="760" border="0" cellpadding="4" cellspacing="0">
<tr><td colspan="2"><img src="../images/masthead.gif" width="760" height="90" alt="The Harbour Gazette"></td></tr>
<tr><td class="nav" colspan="2" bgcolor="#003366"><font color="#FFFFFF" size="2">{nav}</font></td></tr>
<tr>
<td width="160" valign="top" class="leftcol" bgcolor="#EEEEEE"><font size="2"><b>In this section</b><br>{sect}<br>Weather: showers, 11\u00b0C</font></td>
<td width="600" valign="top" class="story">
{lab}
{h}
{chr(10).join(r for r in meta_rows if r)}
{body_html(a)}
<p><font size="2"><a href="../email.html?story={a['pid']}">Email this story</a> | <a href="javascript:window.print()">Printer-friendly version</a></font></p>
</td>
</tr>
<tr><td colspan="2" align="center" class="footer"><font size="1">Copyright \u00a9 2026 The Harbour Gazette. All rights reserved. | <a href="#top">Back to top</a></font></td></tr>
</table>
</body>
</html>
"""
    return page, chrome


# ---------------------------------------------------------------- expectations
def pick_phrase(text: str, start_word: int = 2, n: int = 7) -> str:
    words = text.split()
    if len(words) <= n + start_word:
        return " ".join(words[:n])
    return " ".join(words[start_word:start_word + n])


def expectations(a, chrome):
    tb = text_blocks(a)
    paras = [t for k, t in tb if k == "p"]
    first, last = paras[0], paras[-1]
    body_first = first if len(first) <= 60 else first[:61].rsplit(" ", 1)[0]
    body_last = last if len(last) <= 60 else last[-61:].split(" ", 1)[1]
    contains = list(a.get("contains", []))
    special = [t for k, t in tb if k in ("quote", "li")]
    if len(contains) < 3:
        mid = paras[1:-1]
        plain = [strip_tags(b) for b in a["body"] if isinstance(b, str) and "<" not in b]
        plain = [p for p in plain if p in mid] or mid
        if special:
            contains.append(pick_phrase(special[0], 1, 6))
        i = len(plain) // 2
        for p in (plain[i], plain[max(i - 2, 0)], plain[-1]):
            ph = pick_phrase(p)
            if ph not in contains and len(contains) < 3:
                contains.append(ph)
    body_text = "\n".join(t for _, t in tb)
    chrome = [c for i, c in enumerate(chrome) if c not in chrome[:i]]
    chrome = [c for c in chrome if c not in body_text]   # nav words that occur in prose
    images = sum(1 for b in a["body"] if not isinstance(b, str) and b[0] == "fig")
    if a["tpl"] == "ld":
        updated = a.get("modified_norm") or a.get("modified") or a["pub"]
    elif a["tpl"] == "wp":
        updated = a.get("upd")
    else:
        updated = a.get("upd")
    return {
        "title": a["title"],
        "section": a["section"],
        "authors": a["authors"],
        "published": a.get("pub"),
        "updated": updated,
        "canonical": canonical_url(a),
        "body_first": body_first,
        "body_last": body_last,
        "body_contains": contains,
        "chrome": chrome,
        "images": images,
        "template": a["tpl"],
    }


# ---------------------------------------------------------------- checking
class TextGrab(HTMLParser):
    """Visible text of a page (no script/style), plus the text and <img> count
    of the element whose class/id matches ``target``."""

    VOID = {"img", "br", "hr", "input", "meta", "link", "col", "source", "wbr"}

    def __init__(self, target_tag, target_cls):
        super().__init__(convert_charrefs=True)
        self.t_tag, self.t_cls = target_tag, target_cls
        self.all, self.body = [], []
        self.skip = 0
        self.depth = None
        self.stack = 0
        self.imgs = 0

    def handle_starttag(self, tag, attrs):
        d = dict(attrs)
        if tag in ("script", "style"):
            self.skip += 1
        if tag in self.VOID:
            if tag == "br":
                self._brk()
            if tag == "img" and self.depth not in (None, -1):
                self.imgs += 1
            return
        self.stack += 1
        if tag in self.BLOCK:
            self._brk()
        if self.depth is None and tag == self.t_tag and self.t_cls in (d.get("class") or "").split():
            self.depth = self.stack

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self.skip -= 1
        if tag in self.VOID:
            return
        if tag in self.BLOCK:
            self._brk()
        if self.depth is not None and self.stack == self.depth:
            self.depth = -1
        self.stack -= 1

    BLOCK = {"p", "div", "li", "ul", "ol", "h1", "h2", "h3", "h4", "td", "th", "tr",
             "table", "caption", "figure", "figcaption", "blockquote", "section",
             "header", "footer", "nav", "aside", "article", "main", "title", "form"}

    def _brk(self):
        self.handle_data("\n")

    def handle_data(self, data):
        if self.skip:
            return
        self.all.append(data)
        if self.depth not in (None, -1):
            self.body.append(data)


def norm(s: str) -> str:
    return re.sub(r"\s+", " ", s).strip()


def check(path: Path, exp, a) -> list[str]:
    errs = []
    raw = path.read_bytes()
    if exp["template"] == "legacy":
        try:
            txt = raw.decode("cp1252")
        except UnicodeDecodeError as e:
            return [f"not cp1252: {e}"]
        for byte in (b"\x93", b"\x94"):
            if byte not in raw:
                errs.append(f"missing cp1252 byte {byte!r}")
        low = txt.lower()
        for bad in ("charset", "<meta", "ld+json", "canonical"):
            if bad in low:
                errs.append(f"legacy page contains {bad!r}")
        try:
            raw.decode("utf-8")
            errs.append("legacy page also decodes as utf-8 (no non-ASCII bytes?)")
        except UnicodeDecodeError:
            pass
        target = ("td", "story")
    else:
        txt = raw.decode("utf-8")
        if b"charset" not in raw and any(c > 127 for c in raw):
            errs.append("non-ASCII bytes without a charset declaration")
        target = ("div", "entry-content") if exp["template"] == "wp" else ("div", "article-body")
    p = TextGrab(*target)
    p.feed(txt)
    page_text = norm("".join(p.all))
    body_text = norm("".join(p.body))
    for key in ("title",):
        if exp[key] not in page_text:
            errs.append(f"{key} not in page text: {exp[key]!r}")
    for n in exp["authors"]:
        if n not in page_text:
            errs.append(f"author not in page: {n}")
    for key in ("body_first", "body_last"):
        if exp[key] not in body_text:
            errs.append(f"{key} not in body: {exp[key]!r}")
    for ph in exp["body_contains"]:
        if ph not in body_text:
            errs.append(f"body_contains not in body: {ph!r}")
    if p.imgs != exp["images"]:
        errs.append(f"images: page body has {p.imgs}, expected {exp['images']}")
    article_text = norm(" ".join(t for _, t in text_blocks(a)))
    for c in exp["chrome"]:
        if c not in page_text:
            errs.append(f"chrome not on page: {c!r}")
        if c in article_text:
            errs.append(f"chrome string inside article text: {c!r}")
    if exp["published"]:
        d = datetime.fromisoformat(exp["published"])
        if exp["template"] != "legacy" and exp["published"] not in txt:
            errs.append("published datetime not in page")
        if exp["template"] == "legacy" and f"{d.day} {MONTHS[d.month - 1]} {d.year}" not in txt:
            errs.append("published date text not in page")
        if a.get("date_text") and "day," in a["date_text"]:
            wd = a["date_text"].split(",")[0]
            if d.strftime("%A") != wd:
                errs.append(f"weekday wrong: {wd} vs {d:%A}")
        if not (datetime.fromisoformat("2026-09-20T00:00:00+00:00") <= d
                <= datetime.fromisoformat("2026-11-25T23:59:59+00:00")):
            errs.append("published outside the date window")
    if exp["updated"] and exp["published"]:
        if datetime.fromisoformat(exp["updated"]) < datetime.fromisoformat(exp["published"]):
            errs.append("updated before published")
    if exp["canonical"] and f'href="{exp["canonical"]}"' not in txt:
        errs.append("canonical href not in page")
    if exp["canonical"] is None and 'rel="canonical"' in txt:
        errs.append("page has a canonical link but expectation is null")
    n_para = sum(1 for b in a["body"] if isinstance(b, str))
    if not 4 <= n_para <= 14:
        errs.append(f"{n_para} body paragraphs")
    return errs


def main() -> int:
    out_dir = ROOT / "sample_articles"
    out_dir.mkdir(exist_ok=True)
    titles = [(canonical_url(a) or "/archive/" + a["file"], a["title"]) for a in ARTICLES]
    exps = {}
    problems = 0
    for i, a in enumerate(ARTICLES):
        others = [t for t in titles[i + 1:] + titles[:i]
                  if t[1] != a["title"]]
        # prefer site-relative links for the "also like" style blocks
        others = [(h.replace(SITE, "") if h.startswith(SITE) else h, t) for h, t in others]
        a.setdefault("pid", 48000 + i * 37)
        render = {"wp": render_wp, "ld": render_ld, "legacy": render_legacy}[a["tpl"]]
        page, chrome = render(a, others)
        rel = a.get("path") or f"sample_articles/{a['file']}"
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if a["tpl"] == "legacy":
            path.write_bytes(page.encode("cp1252"))
        else:
            path.write_bytes(page.encode("utf-8"))
        exps[rel] = expectations(a, chrome)
        errs = check(path, exps[rel], a)
        for e in errs:
            print(f"{rel}: {e}")
        problems += len(errs)
    (ROOT / "tests").mkdir(exist_ok=True)
    (ROOT / "tests" / "sample_expectations.json").write_text(
        json.dumps(exps, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{len(exps)} pages, {problems} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
