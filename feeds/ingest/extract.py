"""Find the article body: a site profile's selectors first, trafilatura as fallback.

Profiles (``config/profiles.toml``) are for sites whose templates we know; they
are exact and cheap. For everything else trafilatura's extractor scored best on
our corpus (see ``bench/extract_bench.py``); we give it the tree we already
parsed so the page is parsed once, and convert its XML body to plain HTML.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree
from lxml import html as lhtml
from lxml.cssselect import CSSSelector, SelectorError

from feeds.ingest.budget import parse_fragment
from feeds.ingest.errors import IngestError


@dataclass(frozen=True)
class Profile:
    """One site template: where its body is and which parts of it to drop."""

    name: str
    hosts: tuple[str, ...]
    marker: CSSSelector | None
    body: CSSSelector
    drop: tuple[CSSSelector, ...]


@lru_cache(maxsize=8)
def load_profiles(path: Path) -> tuple[Profile, ...]:
    """Read and compile the profiles file once per process (missing file: no profiles)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return ()
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise IngestError(f"{path}: cannot read site profiles: {exc}") from None
    profiles = []
    for i, entry in enumerate(data.get("profile", [])):
        try:
            profiles.append(Profile(
                name=str(entry.get("name", f"profile {i}")),
                hosts=tuple(h.lower() for h in entry.get("hosts", [])),
                marker=CSSSelector(entry["marker"]) if entry.get("marker") else None,
                body=CSSSelector(entry["body"]),
                drop=tuple(CSSSelector(s) for s in entry.get("drop", [])),
            ))
        except (KeyError, SelectorError, TypeError) as exc:
            raise IngestError(f"{path}: profile[{i}] is invalid: {exc}") from None
    return tuple(profiles)


def _matching_profile(tree: lhtml.HtmlElement, profiles: tuple[Profile, ...], url: str) -> Profile | None:
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    for profile in profiles:
        if host and any(host == h.removeprefix("www.") or host.endswith("." + h) for h in profile.hosts):
            return profile
        if profile.marker is not None and profile.marker(tree):
            return profile
    return None


def extract_body(tree: lhtml.HtmlElement, profiles: tuple[Profile, ...], url: str) -> lhtml.HtmlElement | None:
    """Return a detached element holding the body, or None when no body was found."""
    profile = _matching_profile(tree, profiles, url)
    if profile is not None:
        found = profile.body(tree)
        if found:
            body = copy.deepcopy(found[0])
            for selector in profile.drop:
                for el in selector(body):
                    if el.getparent() is not None:
                        el.getparent().remove(el)
            return body
    body = _trafilatura_body(tree)
    if body is not None:
        _add_split_parts(tree, body)
        _restore_image_attributes(tree, body)
    if body is None or _too_short(body):
        marked = _marked_body(tree)
        return marked if marked is not None else body
    return body


FALLBACK_BELOW_WORDS = 40
_MARKED_BODY = ("//*[@itemprop='articleBody']", "//article", "//*[@role='main']", "//main")


def _marked_body(tree: lhtml.HtmlElement) -> lhtml.HtmlElement | None:
    """The element the markup itself calls the article, when the extractor found (almost) nothing.

    trafilatura gives up on some short or oddly built pages that still say plainly
    where their text is; a copy of that element is better than no article.
    """
    for xpath in _MARKED_BODY:
        found = tree.xpath(xpath)
        if found and not _too_short(found[0]):
            return copy.deepcopy(found[0])
    return None


def _too_short(el: lhtml.HtmlElement) -> bool:
    """Fewer than a short brief's words; characters count too for languages written without spaces."""
    words = el.text_content().split()
    return len(words) < FALLBACK_BELOW_WORDS and len("".join(words)) < 6 * FALLBACK_BELOW_WORDS


# Above this many elements (three times the largest page of our corpus) trafilatura runs in
# its fast mode, without its second opinions (readability, justext): justext's paragraph
# classification looks for each short paragraph's nearest long one, which costs the square
# of the paragraphs on a page of thousands of short blocks (minutes for 1 MiB of them), in a
# loop the time budget cannot interrupt, as it never touches the tree (see feeds.ingest.budget).
FULL_EXTRACTION_MAX_ELEMENTS = 5_000


def load_extractor() -> None:
    """Import trafilatura (a second or so, once per process; later calls cost nothing).

    Imported when first needed, so that the commands that ingest nothing start fast;
    the pipeline calls this before a page's clock starts, so that the first page of a
    process is not charged for it.
    """
    import trafilatura.htmlprocessing  # noqa: F401


def _trafilatura_body(tree: lhtml.HtmlElement) -> lhtml.HtmlElement | None:
    from trafilatura import bare_extraction
    from trafilatura.htmlprocessing import convert_to_html

    # No url= on purpose: trafilatura would resolve relative links against the site root, not the page.
    document = bare_extraction(
        tree, favor_recall=True, include_comments=False, include_tables=True, include_images=True,
        include_links=True, include_formatting=True, with_metadata=False,
        fast=tree.xpath("count(//*)") > FULL_EXTRACTION_MAX_ELEMENTS,
    )
    if document is None or document.body is None:
        return None
    root = convert_to_html(document.body)
    body = root.find("body")
    # trafilatura's XML is plain etree; re-parse as HTML so the rest works on one element type,
    # with the page's parser, so that walks over the body check the page's time budget.
    return parse_fragment(etree.tostring(body, encoding="unicode"), tree.getroottree().parser)


_IMAGE_ATTRIBUTES = ("srcset", "sizes", "width", "height")


def _restore_image_attributes(tree: lhtml.HtmlElement, body: lhtml.HtmlElement) -> None:
    """Give extracted images back the srcset and size attributes trafilatura drops (matched by src)."""
    originals = {img.get("src"): img for img in tree.iter("img") if img.get("src")}
    for img in body.iter("img"):
        original = originals.get(img.get("src"))
        if original is None:
            continue
        for name in _IMAGE_ATTRIBUTES:
            if original.get(name) and not img.get(name):
                img.set(name, original.get(name))


def _key(text: str) -> str:
    return " ".join(text.split())


def _add_split_parts(tree: lhtml.HtmlElement, body: lhtml.HtmlElement) -> None:
    """Append the rest of an article that the page splits into several same-class containers.

    Some sites cut the body into sibling blocks (``div.body__inner-container`` x N,
    with ads between them); the extractor keeps the first. Siblings of the
    container that share its tag and class are the same kind of block, so their
    paragraphs are the article's too.
    """
    extracted = {_key(p.text_content()) for p in body.iter("p")}
    extracted.discard("")
    if not extracted:
        return
    parents: dict[lhtml.HtmlElement, int] = {}
    for p in tree.iter("p"):
        if _key(p.text_content()) in extracted:
            parent = p.getparent()
            if parent is not None:
                parents[parent] = parents.get(parent, 0) + 1
    if not parents:
        return
    node = max(parents, key=parents.get)
    for _ in range(2):  # the chunk may be the paragraphs' parent or its parent
        if node is None or node.tag in ("body", "html", "article", "main") or node.getparent() is None:
            return
        chunks = [sib for sib in node.itersiblings() if sib.tag == node.tag and sib.get("class") == node.get("class")]
        if chunks and node.get("class"):
            for chunk in chunks:
                for p in chunk.iter("p"):
                    text = _key(p.text_content())
                    if text and text not in extracted:
                        extracted.add(text)
                        part = copy.deepcopy(p)
                        part.tail = None
                        body.append(part)
            return
        node = node.getparent()
