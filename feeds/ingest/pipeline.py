"""One HTML page (bytes) -> one Article: decode, metadata, body, clean, sanitise, identify.

Everything here is a pure function of its arguments (profiles are cached per
process), so the caller may run it in a ProcessPoolExecutor and re-ingesting an
unchanged page gives an equal Article with the same content hash.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime
from urllib.parse import quote, urljoin, urlsplit

from lxml import etree
from lxml import html as lhtml

from feeds.config import Settings
from feeds.ingest.budget import Deadline, OverBudget, check_deadline
from feeds.ingest.clean import (
    drop_element,
    drop_leading_block,
    drop_leading_meta,
    find_standfirst,
    load_lazy_images,
    prune_body,
    prune_page,
    unwrap_layout_tables,
)
from feeds.ingest.captions import mark_captions, restore_captions
from feeds.ingest.decode import decode_html
from feeds.ingest.embeds import protect_embeds, restore_embeds
from feeds.ingest.errors import IngestError, IngesterBug
from feeds.ingest.extract import extract_body, load_extractor, load_profiles
from feeds.ingest.fit import fit_article
from feeds.ingest.metadata import Metadata, extract_metadata
from feeds.ingest.sanitize import absolute_url, sanitize_html, strip_xml_forbidden
from feeds.ingest.sections import section_slug
from feeds.ingest.text import html_to_text
from feeds.limits import MAX_SUMMARY
from feeds.model import Article

__all__ = ["INGESTER_VERSION", "IngestError", "IngesterBug", "ingest_page"]

log = logging.getLogger(__name__)

# Bump when the ingester makes different articles of the same pages (or rejects
# differently): the folder scan re-reads, a bounded number per scan, every file an
# older version read, so stored articles follow a better extractor.
INGESTER_VERSION = "2026.12.1"

MIN_WORDS = 20
MIN_CHARS = 200
SUMMARY_CHARS = MAX_SUMMARY
MAX_WORDS_ABOVE_HEADLINE = 150  # navigation, labels and teasers above a headline; more is body text


def ingest_page(data: bytes, *, source: str, settings: Settings,
                base_url: str | None = None, fallback_time: datetime, budget: float | None = None) -> Article:
    """Turn one page into an Article or raise IngestError with a one-line reason.

    That is the whole contract, for every caller (a scan, the push API, ``inspect``):
    a page nested past Python's recursion limit is a reason like any other, and any
    other exception from inside is logged and raised as IngesterBug, so a bug costs
    one page and is reported as such, never as a traceback to the caller's caller.
    So is a page that takes longer than ``budget`` seconds (default
    :data:`feeds.ingest.budget.BUDGET_SECONDS`): "took over 5 s to ingest".
    """
    load_extractor()
    deadline = Deadline(budget)
    try:
        return _ingest_page(data, source=source, settings=settings, base_url=base_url,
                            fallback_time=fallback_time, deadline=deadline)
    except OverBudget as exc:
        raise IngestError(str(exc)) from None
    except IngestError:
        raise
    except RecursionError:
        raise IngestError("page is nested too deeply to parse") from None
    except Exception as exc:
        log.exception("%s: the ingester failed", source)
        raise IngesterBug(f"the ingester failed ({exc.__class__.__name__}); this is a bug, please report it") from exc


def _ingest_page(data: bytes, *, source: str, settings: Settings,
                 base_url: str | None, fallback_time: datetime, deadline: Deadline) -> Article:
    text = strip_xml_forbidden(decode_html(data))
    deadline.check()
    parser = deadline.parser()  # every walk over the page's trees checks the deadline
    tree = _parse(text, parser)
    deadline.check()
    meta = extract_metadata(tree)
    deadline.check()
    warnings: list[str] = []

    derived = _derived_url(source, settings)
    page_base = base_url or derived or settings.site_url
    canonical = absolute_url(meta.canonical, page_base) if meta.canonical else None
    if canonical and urlsplit(canonical).scheme not in ("http", "https"):
        canonical = None
    base = canonical or page_base

    title = meta.title
    if not title:
        raise IngestError("not an article: no headline found")

    body = _article_body(tree, title, meta.description, settings, base)
    content_html = sanitize_html(lhtml.tostring(body, encoding="unicode"), base)
    deadline.check()
    body_text = html_to_text(content_html, parser)
    words = len(body_text.split())
    # Languages written without spaces (Japanese, Chinese) have few "words"; count characters too.
    if words < MIN_WORDS and len("".join(body_text.split())) < MIN_CHARS:
        raise IngestError(f"not an article: body has {words} words (fewer than {MIN_WORDS})")

    published = meta.published
    if published is None:
        published = fallback_time
        warnings.append("no publication date found; used the fallback time")
    updated = meta.updated if meta.updated and meta.updated >= published else published

    pushed_from = absolute_url(base_url, settings.site_url) if base_url else None
    if pushed_from and urlsplit(pushed_from).scheme not in ("http", "https"):
        pushed_from = None
    url = canonical or derived or pushed_from or _push_url(settings, title, published)
    article = Article(
        id=url,
        url=url,
        title=title,
        section=section_slug(meta.section, settings),
        published=published,
        updated=updated,
        content_html=content_html,
        text=body_text,
        summary=_summary(meta, body_text),
        authors=tuple(meta.authors),
        image=absolute_url(meta.image, base) if meta.image else _first_image(content_html),
        tags=tuple(meta.tags),
        language=meta.language or None,
        source=source,
        warnings=tuple(warnings),
    )
    article = fit_article(article)
    return article.replace(content_hash=_content_hash(article))


_HTML_OPEN = re.compile(r"<html[\s>]", re.IGNORECASE)
_HTML_CLOSE = re.compile(r"</(?:html|body)\s*>", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*>")


def _article_body(tree: lhtml.HtmlElement, title: str, description: str, settings: Settings,
                  base: str) -> lhtml.HtmlElement:
    """The body element with chrome, headline, byline and standfirst removed (modifies ``tree``)."""
    # Between steps, the time budget: some scan the whole tree in C without handing Python an element.
    standfirst = find_standfirst(tree, description)
    check_deadline(tree)
    prune_page(tree)
    check_deadline(tree)
    load_lazy_images(tree)
    captions = mark_captions(tree)
    embeds = protect_embeds(tree, base)
    check_deadline(tree)
    body = extract_body(tree, load_profiles(settings.config_dir / "profiles.toml"), base)
    if body is None:
        raise IngestError("not an article: no body text found")
    check_deadline(tree)
    restore_embeds(body, embeds)
    restore_captions(body, captions, base)
    _drop_headline(body, title)
    check_deadline(body)
    prune_body(body)
    unwrap_layout_tables(body)
    drop_leading_meta(body)
    if standfirst:
        drop_leading_block(body, standfirst)
    return body


def _parse(text: str, parser: lhtml.HTMLParser) -> lhtml.HtmlElement:
    # A page that opens <html> but never closes it was cut off (a half-written file, a broken
    # download); publishing it would put a partial article in the feeds until the next edit.
    if _HTML_OPEN.search(text, 0, 4096) and not _HTML_CLOSE.search(text, max(0, len(text) - 65536)):
        raise IngestError("page is truncated: it opens <html> but has no closing </body> or </html>")
    text = _XML_DECLARATION.sub("", text, count=1)  # lxml refuses str input that declares an encoding
    try:
        tree = lhtml.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise IngestError(f"cannot parse HTML: {exc}") from None
    # libxml2 stops nesting at 256 levels and silently drops what is deeper; such a page is either
    # an attack or broken, and half of it would be published. (This bound also keeps every later
    # tree walk far from Python's recursion limit.)
    if any(entry.type_name == "ERR_RESOURCE_LIMIT" for entry in parser.error_log):
        raise IngestError("markup is nested too deeply (more than 256 levels)")
    if tree is None or tree.find("body") is None:
        raise IngestError("cannot parse HTML: no body")
    return tree


def _drop_headline(body: lhtml.HtmlElement, title: str) -> None:
    """Drop a repeated headline and whatever sits above it (kicker, section label, navigation).

    Extractors often start the body with the page header; the feed item carries
    the headline as its title, so the body starts after it. Links are skipped:
    a "more in this section" list may name the article before its headline. If
    much text precedes the match, it is body text and only the match goes.
    """
    key = " ".join(title.split()).casefold()
    for i, el in enumerate(body.iterdescendants()):
        if i > 200:
            return
        if not isinstance(el.tag, str) or el.tag == "a":
            continue
        if " ".join(el.text_content().split()).casefold() != key or next(el.iterancestors("a"), None) is not None:
            continue
        above: list[lhtml.HtmlElement] = []
        node = el
        while node is not None and node is not body:
            above.extend(node.itersiblings(preceding=True))
            node = node.getparent()
        words_above = sum(len(x.text_content().split()) for x in above if isinstance(x.tag, str))
        if words_above <= MAX_WORDS_ABOVE_HEADLINE:
            for x in above:
                drop_element(x)
            for node in el.iterancestors():
                node.text = None
                if node is body:
                    break
        drop_element(el)
        return


def _derived_url(source: str, settings: Settings) -> str | None:
    kind, _, path = source.partition(":")
    if kind in ("file", "inspect") and path:
        clean_path = "/".join(p for p in path.replace("\\", "/").split("/") if p not in ("", ".", ".."))
        return urljoin(settings.site_url, quote(clean_path))
    return None


def _push_url(settings: Settings, title: str, published: datetime) -> str:
    """A tag: URI for a pushed page with no canonical URL: stable for the same headline and date."""
    host = urlsplit(settings.site_url).hostname or "localhost"
    digest = hashlib.sha256(f"{title}\n{published.isoformat()}".encode()).hexdigest()[:16]
    return f"tag:{host},{published:%Y-%m-%d}:push/{digest}"


def _summary(meta: Metadata, body_text: str) -> str:
    summary = meta.description
    if not summary:
        summary = ""
        for paragraph in body_text.split("\n\n"):
            summary = f"{summary} {paragraph}".strip()
            if len(summary) >= SUMMARY_CHARS // 2:
                break
    if len(summary) <= SUMMARY_CHARS:
        return summary
    cut = summary[:SUMMARY_CHARS + 1].rsplit(" ", 1)[0].rstrip(",;:-\u2013\u2014 ")
    return cut + "\u2026"


def _first_image(content_html: str) -> str | None:
    match = re.search(r'<img[^>]*\ssrc="([^"]+)"', content_html)
    return match.group(1).replace("&amp;", "&") if match else None


def _content_hash(article: Article) -> str:
    seen = {
        "title": article.title, "url": article.url, "section": article.section,
        "published": article.published.isoformat(), "updated": article.updated.isoformat(),
        "content_html": article.content_html, "summary": article.summary, "authors": article.authors,
        "image": article.image, "tags": article.tags, "language": article.language,
    }
    return hashlib.sha256(json.dumps(seen, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
