"""Sanitised body HTML -> plain text: one paragraph per block, blank lines between.

Captions are left out on purpose: the text is the body a reader reads, and
feeds that carry text only would otherwise show "Photo: Reuters" as prose.
"""

from __future__ import annotations

from lxml import etree
from lxml import html as lhtml

BLOCKS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "li", "blockquote", "pre", "tr", "dt", "dd",
                    "figure", "table", "ul", "ol", "dl", "div", "caption", "hr", "br"})
SKIP = frozenset({"figcaption", "caption", "iframe", "img", "picture", "source"})


def html_to_text(fragment: str) -> str:
    """Paragraphs of ``fragment`` separated by blank lines, whitespace collapsed."""
    if not fragment.strip():
        return ""
    root = lhtml.fragment_fromstring(fragment, create_parent="div")
    parts: list[str] = []
    _walk(root, parts)
    paragraphs = (" ".join(p.split()) for p in "".join(parts).split("\n\n"))
    return "\n\n".join(p for p in paragraphs if p)


def _walk(el: etree._Element, parts: list[str]) -> None:
    # iterative on purpose: nesting depth is bounded by the parser, not by Python's stack
    stack: list[tuple[etree._Element, bool]] = [(el, False)]
    while stack:
        node, closing = stack.pop()
        tag = node.tag if isinstance(node.tag, str) else ""
        if closing:
            if tag in BLOCKS:
                parts.append("\n\n")
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
            parts.append("\n\n")
        if node.text:
            parts.append(node.text)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(node))
