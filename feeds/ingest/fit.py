"""Fit an article to the field limits (``feeds/limits.py``) before it leaves the ingester.

What can be trimmed is trimmed, with a warning: a headline cut at a word, a language
list cut to its first tag, names beyond the limit left out, an image URL too long to
be one dropped. What makes the article's identity (``url`` and ``id``, ``source``)
cannot be cut without making another article's, so the page is rejected, naming the field.
"""

from __future__ import annotations

import re

from feeds.ingest.errors import IngestError
from feeds.limits import MAX_LANGUAGE, MAX_NAME, MAX_NAMES, MAX_TITLE, MAX_URL, FieldTooLong, check_limits
from feeds.model import Article

_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*")


def fit_article(article: Article) -> Article:
    """``article`` within every limit, or IngestError naming the field that cannot be cut."""
    warnings: list[str] = []
    fitted = article.replace(
        title=_cut(article.title, MAX_TITLE, "title", warnings),
        language=_language(article.language, warnings),
        authors=_names(article.authors, "authors", warnings),
        tags=_names(article.tags, "tags", warnings),
        image=_image(article.image, warnings),
    )
    try:
        check_limits(fitted)
    except FieldTooLong as exc:
        raise IngestError(str(exc)) from None
    return fitted.replace(warnings=article.warnings + tuple(warnings)) if warnings else fitted


def _cut(text: str, limit: int, field: str, warnings: list[str]) -> str:
    """``text`` cut at the last word that fits, with an ellipsis, if it is over ``limit``."""
    if len(text) <= limit:
        return text
    warnings.append(f"{field} was {len(text)} characters; cut to {limit}")
    head = text[: limit - 1]
    return (head.rsplit(" ", 1)[0] if " " in head else head).rstrip(",;:-\u2013\u2014 ") + "\u2026"


def _language(tag: str | None, warnings: list[str]) -> str | None:
    """A tag over the limit is usually a list ("en-GB, fr-FR, ..."): keep its first tag, cut
    to the subtags that fit; anything else is no language tag at all, and dropped."""
    if tag is None or len(tag) <= MAX_LANGUAGE:
        return tag
    first = re.split(r"[\s,;]+", tag.strip(), maxsplit=1)[0]
    while len(first) > MAX_LANGUAGE and re.search(r"[-_]", first):
        first = re.split(r"[-_](?=[^-_]*$)", first)[0]
    kept = first if len(first) <= MAX_LANGUAGE and _LANGUAGE_TAG.fullmatch(first) else None
    warnings.append(f"language was {len(tag)} characters (the limit is {MAX_LANGUAGE}); {f'kept {kept!r}' if kept else 'dropped'}")
    return kept


def _names(names: tuple[str, ...], field: str, warnings: list[str]) -> tuple[str, ...]:
    if len(names) > MAX_NAMES:
        warnings.append(f"{field}: {len(names)} given; kept the first {MAX_NAMES}")
    return tuple(_cut(name, MAX_NAME, f"an entry of {field}", warnings) for name in names[:MAX_NAMES])


def _image(url: str | None, warnings: list[str]) -> str | None:
    if url is None or len(url) <= MAX_URL:
        return url
    warnings.append(f"image URL is {len(url)} characters (the limit is {MAX_URL}); dropped")
    return None
