"""Sanitised body HTML -> plain text: one paragraph per block, blank lines between.

Captions are left out on purpose: the text is the body a reader reads, and
feeds that carry text only would otherwise show "Photo: Reuters" as prose.
"""

from __future__ import annotations

from lxml import etree
from lxml import html as lhtml

from feeds.ingest.budget import parse_fragment

BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr", "dt", "dd",
                    "figure", "table", "ul", "ol", "dl", "div", "hr"})
SKIP = frozenset({"figcaption", "caption", "iframe", "img", "picture", "source"})
# Breaks are marked with private-use characters while the text is assembled, so that
# newlines in the page source (which are only whitespace) cannot be mistaken for them.
_PARAGRAPH, _LINE = "\ue010", "\ue011"


def html_to_text(fragment: str, parser: lhtml.HTMLParser | None = None) -> str:
    """Paragraphs of ``fragment`` separated by blank lines; ``<br>`` is a line break; spaces collapsed.

    ``parser``: the page's, so that the walk checks its time budget (see :mod:`feeds.ingest.budget`).
    """
    if not fragment.strip():
        return ""
    root = parse_fragment(fragment, parser)
    parts: list[str] = []
    _walk(root, parts)
    paragraphs = []
    for paragraph in "".join(parts).split(_PARAGRAPH):
        lines = (" ".join(line.split()) for line in paragraph.split(_LINE))
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return "\n\n".join(paragraphs)


def _walk(el: etree._Element, parts: list[str]) -> None:
    # iterative on purpose: nesting depth is bounded by the parser, not by Python's stack
    stack: list[tuple[etree._Element, bool]] = [(el, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if closing:
            if tag in BLOCKS:
                parts.append(_PARAGRAPH)
            elif tag in ("td", "th"):
                parts.append(" ")
            if node.tail:
                parts.append(node.tail)
            continue
        if not tag or tag in SKIP:
            if node.tail:
                parts.append(node.tail)
            continue
        if tag in BLOCKS:
            parts.append(_PARAGRAPH)
        elif tag == "br":
            parts.append(_LINE)
        if node.text:
            parts.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
