"""Remove what is not the article: chrome blocks around it and promos inside it.

Two passes, because extractors keep different leftovers: ``prune_page`` drops
whole chrome regions from the page before extraction (share bars, newsletter
boxes, related lists, comments, ads), and ``prune_body`` drops what slipped into
the extracted body: inline promos ("[Read More: ...]", "Related: ...") and the
trailing blocks that start with a chrome heading ("You may also like",
"More in: ...", "Comments are closed.").
"""

from __future__ import annotations

import re

from lxml import html as lhtml

from feeds.ingest.dates import VISIBLE_DATE_RE

# class/id words that mark a block as chrome (matched as whole dash/underscore-separated words).
_CHROME_WORDS = (
    r"share|sharing|sharebar|share-buttons|social|socials|newsletter|subscribe|subscription|signup|"
    r"related|related-posts|related-articles|relatedposts|recommended|recommendations|more-stories|"
    r"read-next|also-like|you-may-like|outbrain|taboola|comments?|comment-respond|respond|disqus|"
    r"advert|advertisement|ad|ads|adslot|ad-slot|dfp|sponsor|sponsored|promo|popular|"
    r"trending|most-read|breadcrumbs?|post-navigation|nav-links|tags-links|author-box|newsletter-signup|"
    r"similar|similar-posts|tags|tag-list|post-tags|entry-tags|byline|author-bio"
)
_CHROME_ATTR_RE = re.compile(rf"(?:^|[\s_-])(?:{_CHROME_WORDS})(?:$|[\s_-])", re.IGNORECASE)
_NEVER_CHROME = frozenset({"html", "body", "article", "main"})
_CODE_TAGS = ("script", "style", "noscript", "template", "button", "input", "select", "textarea",
              "iframe[not(contains(@src,'youtube') or contains(@src,'vimeo'))]")
# Chrome by nature, unless a site wraps the whole page in one (ASP.NET pages sit in a <form>).
_REGION_TAGS = ("form", "nav", "aside", "footer")

# A heading or short block with this text ends the article: everything after it is chrome.
_END_MARKERS = re.compile(
    r"^\s*(?:you (?:may|might) (?:also )?(?:like|enjoy)|more in\b.*|related (?:posts|articles|stories|news|content|coverage)|"
    r"read next|recommended(?: for you)?|more (?:from|stories|on this)\b.*|comments are closed\.?|leave a (?:reply|comment)|"
    r"\d+ comments?|share this(?: article| story)?:?|sign up for .*newsletter.*|most (?:read|popular)|"
    r"(?:e-?mail|print|share) this (?:story|article|page)\b.*|printer[- ]friendly(?: version)?\b.*|"
    r"(?:copyright\b|\u00a9).{0,200}|back to top)\s*:?\s*$",
    re.IGNORECASE,
)
# A paragraph that is only a pointer to another article.
_PROMO_RE = re.compile(
    r"^\s*[\[(]?\s*(?:read more|read also|also read|related|see also|more|watch|listen|recommended|"
    r"don't miss|do not miss|click here|read|also on \w+|more on this)\s*[:\-\u2013\u2014|>]",
    re.IGNORECASE,
)


# Controls and labels of page furniture that extractors keep as text of their own.
UI_TEXT = re.compile(
    r"^\s*(?:\.{3}\s*)?(?:less|more|\[\+\]|advertisement|ad|story continues below(?: advertisement)?|"
    r"continue reading(?: below)?|skip to (?:main )?content|post comment(?: \(\+\))?|show more|read more|"
    r"click to expand|view comments?|print|email|share)\s*$",
    re.IGNORECASE,
)


# Closing lines that point readers elsewhere: social accounts, subscriptions, newsletters.
_TAIL_PROMO_RE = re.compile(
    r"^(?:follow (?:us|him|her|them|me|[\w@ ]{1,40}) on (?:twitter|facebook|instagram|linkedin)|"
    r"(?:reach|contact|email) the (?:reporters?|writers?|authors?)\b|want more [\w ]{1,30}\?|"
    r"(?:get|sign up for) (?:our|the) [\w ]{0,30}newsletter|subscribe to (?:our|the)\b)",
    re.IGNORECASE,
)


def prune_page(tree: lhtml.HtmlElement) -> None:
    """Drop script/nav/aside/forms and blocks whose class or id says chrome (in place)."""
    for el in tree.xpath("//" + " | //".join(_CODE_TAGS)):
        drop_element(el)
    for el in tree.xpath("//" + " | //".join(_REGION_TAGS)):
        if not _is_big(el):
            drop_element(el)
    for el in tree.xpath("//*[@class or @id]"):
        if el.tag in _NEVER_CHROME or not isinstance(el.tag, str):
            continue
        if _CHROME_ATTR_RE.search(f"{el.get('class', '')} {el.get('id', '')}") and not _is_big(el):
            drop_element(el)
    # Promos are judged here, where their links still exist; extractors often drop the <a>.
    for el in tree.iter("p", "li", "div"):
        if el.getparent() is not None and len(el) < 8 and _is_promo(el, " ".join(el.text_content().split())):
            drop_element(el)


def _is_big(el: lhtml.HtmlElement) -> bool:
    """A block with a lot of paragraph text is the article wrapper, not chrome, whatever its class says."""
    return sum(len((p.text_content() or "").split()) for p in el.iter("p")) > 150


def prune_body(body: lhtml.HtmlElement) -> None:
    """Drop inline promos and everything from the first end-of-article marker on (in place)."""
    blocks = [el for el in body.iter("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "span", "strong", "section")]
    for el in blocks:
        if el.getparent() is None and el is not body:
            continue
        text = " ".join(el.text_content().split())
        if not text:
            continue
        if _END_MARKERS.match(text) and el is not body:
            _drop_from(el, body)
            return
        if el.tag in ("p", "li", "div", "h2", "h3", "h4") and (_is_promo(el, text) or UI_TEXT.match(text)):
            drop_element(el)


def _is_promo(el: lhtml.HtmlElement, text: str) -> bool:
    """A short block that only sends the reader to another page, account or subscription."""
    if _TAIL_PROMO_RE.search(text) and len(text) < 300:
        return True
    if len(text) > 200 or not _PROMO_RE.match(text):
        return False
    if text.startswith("[") and text.endswith("]"):
        return True
    link_text = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return link_text >= 0.4 * len(text)


def _drop_from(el: lhtml.HtmlElement, root: lhtml.HtmlElement) -> None:
    """Remove ``el`` and every later sibling of it and of its ancestors up to ``root``."""
    node = el
    while node is not None and node is not root:
        parent = node.getparent()
        if parent is None:
            break
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node = parent
    drop_element(el)


def drop_leading_meta(body: lhtml.HtmlElement) -> None:
    """Drop byline and dateline blocks ("By X", "Published: 14 October 2026") at the top of the body."""
    for el in list(body.iter("p", "div", "span", "font", "li", "time", "address", "small")):
        if el.getparent() is None:
            continue
        text = " ".join(el.text_content().split())
        if not text:
            continue
        if len(text.split()) > 16 or len(text) > 160 or not _LEADING_META_RE.search(text):
            return
        drop_element(el)


_LEADING_META_RE = re.compile(
    rf"^(?:(?:written |words |story )?by\s+\S|(?:first\s+)?(?:published|posted|updated|last updated|modified)\b)"
    rf"|^(?:{VISIBLE_DATE_RE.pattern})",
    re.IGNORECASE,
)


def drop_element(el: lhtml.HtmlElement) -> None:
    """Remove an element but keep its tail text in place."""
    parent = el.getparent()
    if parent is None:
        return
    if el.tail and el.tail.strip():
        prev = el.getprevious()
        if prev is not None:
            prev.tail = (prev.tail or "") + el.tail
        else:
            parent.text = (parent.text or "") + el.tail
    parent.remove(el)
