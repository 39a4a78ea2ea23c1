"""Video embeds through extraction: trafilatura drops every ``<iframe>``.

Allowlisted embeds (the hosts the sanitiser accepts) are swapped for a
placeholder paragraph before extraction and swapped back afterwards, so a
YouTube or Vimeo video stays where the article placed it. Other iframes are
removed with the page chrome.
"""

from __future__ import annotations

import copy
import re
from urllib.parse import urljoin, urlsplit

from lxml import html as lhtml

from feeds.ingest.sanitize import EMBED_HOSTS

_START, _END = "\ue002", "\ue003"
_PLACEHOLDER = re.compile(f"{_START}embed (\\d+){_END}")


def protect_embeds(tree: lhtml.HtmlElement, base_url: str) -> list[lhtml.HtmlElement]:
    """Replace allowlisted iframes by placeholders (in place); return the iframes by number."""
    embeds: list[lhtml.HtmlElement] = []
    for iframe in list(tree.iter("iframe")):
        src = urljoin(base_url, (iframe.get("src") or "").strip())
        if urlsplit(src).hostname not in EMBED_HOSTS:
            continue
        placeholder = lhtml.Element("p")
        placeholder.text = f"{_START}embed {len(embeds)}{_END}"
        placeholder.tail = iframe.tail
        embeds.append(copy.deepcopy(iframe))
        iframe.getparent().replace(iframe, placeholder)
    return embeds


def restore_embeds(body: lhtml.HtmlElement, embeds: list[lhtml.HtmlElement]) -> None:
    """Put the iframes back where their placeholders ended up; drop stray placeholder text."""
    for el in list(body.iter()):
        if not isinstance(el.tag, str):
            continue
        for attr in ("text", "tail"):
            value = getattr(el, attr)
            if not value or _START not in value:
                continue
            match = _PLACEHOLDER.search(value)
            setattr(el, attr, _PLACEHOLDER.sub("", value))
            if match is None or int(match.group(1)) >= len(embeds):
                continue
            iframe = copy.deepcopy(embeds[int(match.group(1))])
            iframe.tail = None
            if attr == "text" and not el.text_content().strip() and el is not body and len(el) == 0:
                el.getparent().replace(el, iframe)  # the placeholder paragraph itself
            elif attr == "text":
                el.insert(0, iframe)
            else:
                el.addnext(iframe)
