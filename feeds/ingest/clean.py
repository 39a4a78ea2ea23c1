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

# class/id words that mark a block as chrome (matched as whole dash/underscore-separated words).
_CHROME_WORDS = (
    r"share|sharing|sharebar|share-buttons|social|socials|newsletter|subscribe|subscription|signup|"
    r"related|related-posts|related-articles|relatedposts|recommended|recommendations|more-stories|"
    r"read-next|also-like|you-may-like|outbrain|taboola|comments?|comment-respond|respond|disqus|"
    r"advert|advertisement|ad|ads|adslot|ad-slot|dfp|sponsor|sponsored|promo|paywall|popular|"
    r"trending|most-read|breadcrumbs?|post-navigation|nav-links|tags-links|author-box|newsletter-signup"
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
    r"\d+ comments?|share this(?: article| story)?:?|sign up for .*newsletter.*|most (?:read|popular))\s*:?\s*$",
    re.IGNORECASE,
)
# A paragraph that is only a pointer to another article.
_PROMO_RE = re.compile(
    r"^\s*[\[(]?\s*(?:read more|read also|also read|related|see also|more|watch|listen|recommended|"
    r"don't miss|do not miss|click here|read|also on \w+|more on this)\s*[:\-\u2013\u2014|>]",
    re.IGNORECASE,
)


CAPTION_START, CAPTION_END = "\ue000", "\ue001"
_CAPTION_XPATH = ("//figcaption | //*[@itemprop='caption'] | //*[contains(@class,'caption') or contains(@class,'credit')]")
_CAPTION_MARKS = re.compile(f"[{CAPTION_START}{CAPTION_END}]")
_CAPTION_SPAN = re.compile(f"{CAPTION_START}[^{CAPTION_END}]*{CAPTION_END}")
# Controls and labels of page furniture that extractors keep as text of their own.
_UI_TEXT = re.compile(
    r"^\s*(?:\.{3}\s*)?(?:less|more|\[\+\]|advertisement|ad|story continues below(?: advertisement)?|"
    r"continue reading(?: below)?|skip to (?:main )?content|post comment(?: \(\+\))?|show more|read more|"
    r"click to expand|view comments?|print|email|share)\s*$",
    re.IGNORECASE,
)


def mark_captions(tree: lhtml.HtmlElement) -> None:
    """Wrap caption text in private-use markers (in place) so it can be told apart after extraction.

    Extractors flatten figures: their output shows a caption as an ordinary
    paragraph. The markers survive extraction, and ``restore_captions`` turns
    marked blocks back into figure captions (kept in the HTML, left out of the text).
    """
    for el in tree.xpath(_CAPTION_XPATH):
        if el.tag in _NEVER_CHROME or len(el.text_content().split()) > 100:
            continue
        el.text = CAPTION_START + (el.text or "")
        if len(el):
            el[-1].tail = (el[-1].tail or "") + CAPTION_END
        else:
            el.text += CAPTION_END


def restore_captions(body: lhtml.HtmlElement) -> None:
    """Turn caption-only blocks into ``<figure>`` captions of their image; drop captions without one."""
    blocks = list(body.iter("p", "div", "li", "span", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
                            "blockquote"))
    for el in reversed(blocks):  # innermost first, so an outer block sees its inner captions done
        if el is body or el.getparent() is None:
            continue
        text = el.text_content()
        if CAPTION_START not in text and CAPTION_END not in text:
            continue
        rest = text
        while _CAPTION_SPAN.search(rest):
            rest = _CAPTION_SPAN.sub("", rest)
        if el.tag != "figcaption" and CAPTION_START in rest:
            rest = rest.split(CAPTION_START, 1)[0]  # a caption that runs on past this block
        rest = _CAPTION_MARKS.sub("", rest)
        if rest.strip() and not _UI_TEXT.match(rest):
            continue  # body text with a caption-classed span inside: stays text
        caption = _caption_text(el)
        images = list(el.iter("img"))
        previous = el.getprevious()
        if not images and previous is not None and not previous.text_content().strip():
            images = list(previous.iter("img"))
            if images and previous.tag != "img":
                _drop(previous)
        if not images:
            _drop(el)
            continue
        figure = lhtml.Element("figure")
        for image in images:
            image.tail = None
            figure.append(image)  # moves it
        if caption:
            lhtml.etree.SubElement(figure, "figcaption").text = caption
        if el.tag == "li":  # keep the list well-formed
            el.clear()
            el.append(figure)
        else:
            figure.tail = el.tail
            el.getparent().replace(el, figure)
    for node in body.iter():
        for attr in ("text", "tail"):
            value = getattr(node, attr)
            if value and _CAPTION_MARKS.search(value):
                setattr(node, attr, _CAPTION_MARKS.sub("", value))


def _caption_text(el: lhtml.HtmlElement) -> str:
    """The caption's words, without "less"/"more" toggles and without the truncated twin some sites add."""
    parts = [el.text or ""]
    for child in el.iterdescendants():
        if not _UI_TEXT.match(_CAPTION_MARKS.sub("", child.text or "")):
            parts.append(child.text or "")
        parts.append(child.tail or "")
    segments: list[str] = []
    for segment in _CAPTION_MARKS.split("".join(parts)):
        segment = " ".join(segment.split())
        if segment and not _UI_TEXT.match(segment) and not any(s.startswith(segment) for s in segments):
            segments.append(segment)
    return " ".join(segments)


def prune_page(tree: lhtml.HtmlElement) -> None:
    """Drop script/nav/aside/forms and blocks whose class or id says chrome (in place)."""
    for el in tree.xpath("//" + " | //".join(_CODE_TAGS)):
        _drop(el)
    for el in tree.xpath("//" + " | //".join(_REGION_TAGS)):
        if not _is_big(el):
            _drop(el)
    for el in tree.xpath("//*[@class or @id]"):
        if el.tag in _NEVER_CHROME or not isinstance(el.tag, str):
            continue
        if _CHROME_ATTR_RE.search(f"{el.get('class', '')} {el.get('id', '')}") and not _is_big(el):
            _drop(el)


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
        if el.tag in ("p", "li", "div", "h2", "h3", "h4") and (_is_promo(el, text) or _UI_TEXT.match(text)):
            _drop(el)


def _is_promo(el: lhtml.HtmlElement, text: str) -> bool:
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
    _drop(el)


def _drop(el: lhtml.HtmlElement) -> None:
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
