"""Figure captions through extraction: kept in the HTML as ``<figcaption>``, left out of the text.

Extractors flatten figures: trafilatura either drops a ``<figcaption>`` or shows
a caption as an ordinary paragraph, which then reads as body text. So captions
are marked with private-use characters before extraction (the marks survive it),
and their text is also remembered per image ``src``; afterwards marked blocks and
bare images are turned back into ``<figure><img><figcaption>``.
"""

from __future__ import annotations

import bisect
import re
from urllib.parse import urljoin

from lxml import etree
from lxml import html as lhtml

from feeds.ingest.clean import UI_TEXT, drop_element

CAPTION_START, CAPTION_END = "\ue000", "\ue001"
_CAPTION_XPATH = ("//figcaption | //*[@itemprop='caption'] | //*[@data-caption] "
                  "| //*[contains(@class,'caption') or contains(@class,'credit')]")
_MARKS = re.compile(f"[{CAPTION_START}{CAPTION_END}]")
_SPAN = re.compile(f"{CAPTION_START}[^{CAPTION_END}]*{CAPTION_END}")
_FIGURE_LIKE = re.compile(r"figure|caption|image|photo|picture|media", re.IGNORECASE)
_NEVER = frozenset({"html", "body", "article", "main"})


def mark_captions(tree: lhtml.HtmlElement) -> dict[str, str]:
    """Mark caption text in place; return each captioned image's ``src`` -> caption."""
    by_src: dict[str, str] = {}
    # A container's first image, looked for once: a figure may hold thousands of caption parts.
    first_image: dict[lhtml.HtmlElement, str | None] = {}
    for el in tree.xpath(_CAPTION_XPATH):
        if el.tag in _NEVER or len(el.text_content().split()) > 100:
            continue
        text = caption_text(el)
        holder = el.getparent()
        for _ in range(3):  # the image sits in the caption's figure-like container
            if holder is None or holder.tag in _NEVER:
                break
            if holder not in first_image:
                first_image[holder] = next((img.get("src") for img in holder.iter("img") if img.get("src")), None)
            src = first_image[holder]
            if src is not None:
                if text:
                    by_src.setdefault(src, text)
                break
            holder = holder.getparent() if holder.tag != "figure" and not _FIGURE_LIKE.search(
                holder.get("class", "")) else None
        el.text = CAPTION_START + (el.text or "")
        if len(el):
            el[-1].tail = (el[-1].tail or "") + CAPTION_END
        else:
            el.text += CAPTION_END
    return by_src


def restore_captions(body: lhtml.HtmlElement, by_src: dict[str, str], base_url: str) -> None:
    """Turn caption blocks and captioned images into figures; drop captions whose image is gone.

    Image URLs are compared resolved against ``base_url``: the extractor may have
    made them absolute.
    """
    blocks = list(body.iter("p", "div", "li", "span", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6",
                            "blockquote"))
    for el in reversed(blocks):  # innermost first, so an outer block sees its inner captions done
        if el is body or el.getparent() is None or not _is_caption_only(el):
            continue
        if el.tag == "figure" or next(el.iterancestors("figure"), None) is not None:
            continue  # already a figure: only the marks go
        images = list(el.iter("img"))
        previous = el.getprevious()
        if not images and previous is not None and not previous.text_content().strip():
            images = list(previous.iter("img"))
            if images and previous.tag != "img":
                drop_element(previous)
        if images:
            _make_figure(el, images, caption_text(el))
        else:
            drop_element(el)
    _caption_beside_image(body)
    resolved = {urljoin(base_url, src): caption for src, caption in by_src.items()}
    for img in list(body.iter("img")):
        caption = resolved.get(urljoin(base_url, img.get("src", "")))
        if caption and next(img.iterancestors("figure"), None) is None:
            _make_figure(img, [img], caption)
    for node in body.iter():
        for attr in ("text", "tail"):
            value = getattr(node, attr)
            if value and _MARKS.search(value):
                setattr(node, attr, _MARKS.sub("", value))


def _caption_beside_image(body: lhtml.HtmlElement) -> None:
    """``<p><img><br><i>The quay in 1926.</i></p>``: an image with a short line in its own block is a figure."""
    for block in list(body.iter("p", "div")):
        images = [el for el in block if el.tag == "img"]
        if len(images) != 1 or next(block.iterancestors("figure"), None) is not None:
            continue
        # only the image, line breaks and a caption set in italics or small type; no loose text
        if any(el.tag not in ("img", "br", "i", "em", "small", "cite") for el in block) or \
                (block.text or "").strip() or any((el.tail or "").strip() for el in block):
            continue
        caption = " ".join(block.text_content().split())
        if caption and len(caption.split()) <= 40:
            _make_figure(block, images, caption)


def _is_caption_only(el: lhtml.HtmlElement) -> bool:
    text = el.text_content()
    if CAPTION_START not in text and CAPTION_END not in text:
        return False
    rest = _SPAN.sub("", text)  # one pass removes every span: a match runs from the leftmost start
    if el.tag != "figcaption" and CAPTION_START in rest:
        rest = rest.split(CAPTION_START, 1)[0]  # a caption that runs on past this block
    rest = _MARKS.sub("", rest)
    return not rest.strip() or bool(UI_TEXT.match(rest))


def _make_figure(replaced: lhtml.HtmlElement, images: list[lhtml.HtmlElement], caption: str) -> None:
    """Put ``images`` and ``caption`` in a new <figure> that takes the place of ``replaced``."""
    figure = lhtml.Element("figure")
    in_list = replaced.tag == "li"
    if not in_list:
        replaced.addprevious(figure)
        figure.tail = replaced.tail
    for image in images:
        image.tail = None
        figure.append(image)  # moves it, possibly ``replaced`` itself
    if caption:
        etree.SubElement(figure, "figcaption").text = caption
    if in_list:  # keep the list well-formed: the figure becomes the item's content
        replaced.clear()
        replaced.append(figure)
    elif replaced not in images:
        replaced.getparent().remove(replaced)


def caption_text(el: lhtml.HtmlElement) -> str:
    """The caption's words, without "less"/"more" toggles and without the truncated twin some sites add."""
    parts = [el.text or ""]
    for child in el.iterdescendants():
        if not isinstance(child.tag, str):  # comments and processing instructions
            parts.append(child.tail or "")
            continue
        if not UI_TEXT.match(_MARKS.sub("", child.text or "")):
            parts.append(child.text or "")
        parts.append(child.tail or "")
    segments: list[str] = []
    seen: list[str] = []  # the same, sorted: the ones starting with a segment sit right after it
    for segment in _MARKS.split("".join(parts)):
        segment = " ".join(segment.split())
        if not segment or UI_TEXT.match(segment):
            continue
        at = bisect.bisect_left(seen, segment)
        if at < len(seen) and seen[at].startswith(segment):
            continue  # a truncated twin of an earlier segment (or the same again)
        segments.append(segment)
        seen.insert(at, segment)
    return " ".join(segments)
