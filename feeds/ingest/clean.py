"""Remove what is not the article: chrome blocks around it and promos inside it.

Two passes, because extractors keep different leftovers: ``prune_page`` drops
whole chrome regions from the page before extraction (share bars, newsletter
boxes, related lists, comments, ads, promos while their links still exist), and
``prune_body`` drops what slipped into the extracted body: inline promos
("[Read More: ...]", "Related: ...") and the trailing blocks that start with a
chrome heading ("You may also like", "More in: ...", "Comments are closed.").
The remaining helpers tidy the top of the body (byline, dateline, standfirst)
and the layout tables of old templates.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lxml import etree
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
    r"(?:copyright\b|\u00a9).{0,200}|back to top|tell us what you think.*|comments|"
    # the same in the other languages of our wire and partner sites
    r"voc\u00ea (?:pode|tamb\u00e9m pode) gostar.*|leia (?:tamb\u00e9m|mais).*|te puede interesar.*|"
    r"(?:art\u00edculos|noticias) relacionad[oa]s|lee tambi\u00e9n.*|vous aimerez aussi.*|\u00e0 lire aussi.*|"
    r"articles similaires|das k\u00f6nnte sie auch interessieren|mehr zum thema.*|weitere artikel|"
    r"potrebbe interessarti.*|leggi anche.*|\u95a2\u9023\u8a18\u4e8b|\u76f8\u5173\u6587\u7ae0)\s*:?\s*$",
    re.IGNORECASE,
)
# A paragraph that is only a pointer to another article.
_PROMO_RE = re.compile(
    r"^\s*[\[(]?\s*(?:read more|read also|also read|related|see also|more|watch|listen|recommended|"
    r"don't miss|do not miss|click here|read|also on \w+|more on this|related roundup|tags?|tagged|"
    r"filed under|posted in|see more)\s*[:\-\u2013\u2014|>]",
    re.IGNORECASE,
)

# Controls and labels of page furniture that extractors keep as text of their own.
UI_TEXT = re.compile(
    r"^\s*(?:\.{3}\s*)?(?:less|more|\[\+\]|advertisement|advert|ad|story continues below(?: advertisement)?|"
    r"continue reading(?: below)?|skip to (?:main )?content|post comment(?: \(\+\))?|show more|read more|"
    r"click to expand|view comments?|print|email|share|order reprints|print (?:this )?article|text size|"
    r"listen to (?:this )?article|save (?:this )?article|gift (?:this )?article|don'?t miss|must read)\s*$",
    re.IGNORECASE,
)

# Lines that point readers elsewhere: social accounts, subscriptions, newsletters.
_ELSEWHERE_RE = re.compile(
    r"^(?:follow (?:us|him|her|them|me|[\w@ ]{1,40}) on (?:twitter|facebook|instagram|linkedin)|"
    r"(?:reach|contact|email) the (?:reporters?|writers?|authors?)\b|(?:want|need) more [\w ]{1,30}\?|"
    r"have a (?:news )?tip\?|(?:get|sign up for) (?:our|the) [\w ]{0,30}newsletter|subscribe to (?:our|the)\b|"
    r".{0,80}\bsubscribe to [\w.\u2019' ]{1,40}newsletters?\b)",
    re.IGNORECASE,
)

# Byline and dateline lines at the top of a body.
_LEADING_META_RE = re.compile(
    rf"^(?:(?:written |words |story )?by\s+\S|(?:first\s+)?(?:published|posted|updated|last updated|modified)\b)"
    rf"|^(?:{VISIBLE_DATE_RE.pattern})",
    re.IGNORECASE,
)

# Body words an end marker must follow: a page that *starts* with "Comments" is not over yet.
_MIN_WORDS_BEFORE_END = 30


_LAZY_SRC = ("data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-hi-res-src")
_PLACEHOLDER_SRC = re.compile(r"^data:|placeholder|blank|spacer|transparent|lazy|1x1|pixel\.", re.IGNORECASE)


def load_lazy_images(tree: lhtml.HtmlElement) -> None:
    """Give lazy-loaded images their real ``src``/``srcset`` (scripts would have swapped them in)."""
    for img in tree.iter("img", "source"):
        src = img.get("src", "")
        if not src or _PLACEHOLDER_SRC.search(src):
            real = next((img.get(a) for a in _LAZY_SRC if img.get(a, "").strip()), None)
            if real:
                img.set("src", real.strip())
        lazy_srcset = img.get("data-srcset") or img.get("data-lazy-srcset")
        if lazy_srcset and (not img.get("srcset") or _PLACEHOLDER_SRC.search(img.get("srcset", ""))):
            img.set("srcset", lazy_srcset)


def prune_page(tree: lhtml.HtmlElement) -> None:
    """Drop script/nav/aside/forms and blocks whose class or id says chrome (in place)."""
    # Comments go first, their neighbouring text joined: trafilatura loses text that follows one.
    etree.strip_tags(tree, etree.Comment, etree.ProcessingInstruction)
    with dropping() as drop:
        for el in tree.xpath("//" + " | //".join(_CODE_TAGS)):
            drop(el)
    with dropping() as drop:
        for el in tree.xpath("//" + " | //".join(_REGION_TAGS)):
            if not _is_big(el):
                drop(el)
    with dropping() as drop:
        for el in tree.xpath("//*[@class or @id]"):
            if el.tag in _NEVER_CHROME or not isinstance(el.tag, str):
                continue
            if _CHROME_ATTR_RE.search(f"{el.get('class', '')} {el.get('id', '')}") and not _is_big(el):
                drop(el)
    # Promos are judged here, where their links still exist; extractors often drop the <a>.
    with dropping() as drop:
        for el in tree.iter("p", "li", "div"):
            if el.getparent() is not None and len(el) < 8 and _is_promo(el, " ".join(el.text_content().split())):
                drop(el)


def _is_big(el: lhtml.HtmlElement) -> bool:
    """A block with a lot of paragraph text is the article wrapper, not chrome, whatever its class says."""
    return sum(len((p.text_content() or "").split()) for p in el.iter("p")) > 150


def prune_body(body: lhtml.HtmlElement) -> None:
    """Drop inline promos and everything from the first end-of-article marker on (in place)."""
    seen_words = 0
    with dropping() as drop:
        for el in list(body.iter("p", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "span", "strong", "section")):
            text = " ".join(el.text_content().split())
            if not text or el is body:
                continue
            if _END_MARKERS.match(text):
                if seen_words >= _MIN_WORDS_BEFORE_END:
                    _drop_from(el, body)
                    drop(el)
                    return
                drop(el)
                continue
            if el.tag == "p":
                seen_words += len(text.split())
            if el.tag in ("p", "li", "div", "h2", "h3", "h4") and (_is_promo(el, text) or UI_TEXT.match(text)):
                following = el.getnext()
                if following is not None and following.tag in ("ul", "ol") and _is_link_list(following):
                    drop(following)  # "Related:" followed by its list of links
                drop(el)


def _is_link_list(el: lhtml.HtmlElement) -> bool:
    items = list(el.iter("li"))
    return bool(items) and all(
        sum(len(a.text_content().strip()) for a in li.iter("a")) >= 0.8 * len(li.text_content().strip())
        for li in items
    )


def _is_promo(el: lhtml.HtmlElement, text: str) -> bool:
    """A short block that only sends the reader to another page, account or subscription."""
    if _ELSEWHERE_RE.search(text) and len(text) < 300:
        return True
    if len(text) > 200 or not _PROMO_RE.match(text):
        return False
    if text.startswith("[") and text.endswith("]"):
        return True
    link_text = sum(len(" ".join(a.text_content().split())) for a in el.iter("a"))
    return link_text >= 0.4 * len(text)


def _drop_from(el: lhtml.HtmlElement, root: lhtml.HtmlElement) -> None:
    """Remove every later sibling of ``el`` and of its ancestors up to ``root`` (``el`` is the caller's)."""
    node = el
    while node is not None and node is not root:
        parent = node.getparent()
        if parent is None:
            break
        for sibling in list(node.itersiblings()):
            parent.remove(sibling)
        node = parent


def unwrap_layout_tables(body: lhtml.HtmlElement) -> None:
    """Replace tables used for page layout by their cells' content (data tables stay).

    A cell holding several paragraphs or a long text is layout: old CMS templates
    put the whole story in one cell, which would make a feed item one big table.
    """
    for table in reversed(list(body.iter("table"))):
        cells = table.xpath(".//td | .//th")
        if not any(len(cell.xpath(".//p | .//div | .//h2 | .//h3 | .//ul | .//ol")) >= 2
                   or len(cell.text_content().split()) > 60 for cell in cells):
            continue
        if table.getparent() is None:
            continue
        for cell in cells:
            wrapper = lhtml.Element("div")
            wrapper.text = cell.text
            wrapper.extend(list(cell))
            table.addprevious(wrapper)  # not insert(index(table)): both count the siblings before it
        drop_element(table)


def find_standfirst(tree: lhtml.HtmlElement, description: str) -> str:
    """The description's text when the page also shows it as a standfirst (a heading or header line).

    Such a dek sits between headline and body and extractors keep it as the first
    paragraph; the feed already carries it as the summary. A lead paragraph that
    merely repeats the description (a common CMS default) is body text and stays.
    """
    key = " ".join(description.split())
    if len(key) < 20:
        return ""
    for el in tree.xpath("//h2 | //h3 | //h4 | //header//p | //header//div | //*[contains(@class,'dek') "
                         "or contains(@class,'standfirst') or contains(@class,'sub-head') or "
                         "contains(@class,'subhead') or contains(@class,'subtitle')]"):
        if " ".join(el.text_content().split()) == key:
            return key
    return ""


def drop_leading_block(body: lhtml.HtmlElement, text: str) -> None:
    """Drop the body's first block if its text is exactly ``text``."""
    for el in body.iter("p", "h2", "h3", "h4", "div"):
        content = " ".join(el.text_content().split())
        if content == text:
            drop_element(el)
            return
        if content and el.find(".//p") is None and el.find(".//div") is None:
            return  # the first real block is something else


def drop_leading_meta(body: lhtml.HtmlElement) -> None:
    """Drop byline and dateline blocks ("By X", "Published: 14 October 2026") at the top of the body."""
    with dropping() as drop:
        for el in list(body.iter("p", "div", "span", "font", "li", "time", "address", "small")):
            if el.getparent() is None or el.find(".//p") is not None or el.find(".//div") is not None:
                continue  # a wrapper: judge its blocks one by one
            text = " ".join(el.text_content().split())
            if not text:
                continue
            if len(text.split()) > 16 or len(text) > 160 or not _LEADING_META_RE.search(text):
                return
            drop(el)


@contextmanager
def dropping() -> Iterator[Callable[[lhtml.HtmlElement], None]]:
    """``drop_element`` for a pass that drops elements in document order, in linear time.

    drop_element appends the tail to the previous sibling's tail (or the parent's text):
    a pass dropping thousands of neighbours would copy that growing string thousands of
    times. Here the tails bound for one place are collected and joined once, when the
    pass ends; a dropped element still waiting for tails takes them along. The text is
    the same as drop_element's as long as the pass goes in document order and reads
    nothing from earlier in the document: a place still waiting is earlier than every
    element the pass has yet to judge, and inside none of them.
    """
    pending: dict[tuple[lhtml.HtmlElement, str], list[str]] = {}

    def drop(el: lhtml.HtmlElement) -> None:
        parent = el.getparent()
        if parent is None:
            return
        waiting = pending.pop((el, "tail"), None)
        tail = "".join(waiting) if waiting is not None else el.tail
        if tail and tail.strip():
            prev = el.getprevious()
            place = (prev, "tail") if prev is not None else (parent, "text")
            if place not in pending:
                pending[place] = [getattr(*place) or ""]
            pending[place].append(tail)
        parent.remove(el)

    try:
        yield drop
    finally:
        for (target, attr), parts in pending.items():
            setattr(target, attr, "".join(parts))


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
