"""Every limit on what the service reads and stores, in one place.

The push API and the folder scan read a page up to MAX_PAGE_BYTES and no further.
Every field of a stored article has a limit: the columns are sized from these
(``feeds/store/schema.py``; a change there needs a migration), the ingester fits
each article to them (``feeds/ingest/fit.py``: trimming what can be trimmed,
rejecting what cannot), and the store checks them again before writing, so a
value over its limit gets the same answer on SQLite, which would keep it, and on
PostgreSQL, which would refuse it. Lengths are in characters.
"""

from __future__ import annotations

from feeds.model import Article

MAX_PAGE_BYTES = 5 * 1024 * 1024  # a page file or a pushed body; a large article page is well under 1 MiB

MAX_URL = 2048  # id, url and source (identity: over it, rejected); image (over it, dropped)
MAX_SECTION = 64  # a section slug (configured, or made from a label, and cut there)
MAX_LANGUAGE = 35  # a BCP 47 tag (RFC 5646 4.4.1); over it, cut to its first subtags or dropped
MAX_TITLE = 500  # cut at a word, with an ellipsis
MAX_SUMMARY = 300  # cut at a word, with an ellipsis after it
MAX_NAMES = 50  # authors, and tags: the first so many are kept ...
MAX_NAME = 200  # ... each cut to this
MAX_HASH = 64  # content_hash: a SHA-256 in hex
# content_html and text have no limit of their own: they come from a page of at most MAX_PAGE_BYTES.

TEXT_LIMITS = {
    "url": MAX_URL, "id": MAX_URL, "source": MAX_URL, "image": MAX_URL, "section": MAX_SECTION,
    "language": MAX_LANGUAGE, "title": MAX_TITLE, "content_hash": MAX_HASH,
}
LIST_LIMITS = {"authors": MAX_NAMES, "tags": MAX_NAMES}


class FieldTooLong(ValueError):
    """A value over its field's limit; ``str()`` names the field, its length and the limit."""


def too_long(field: str, length: int, limit: int, unit: str = "characters") -> FieldTooLong:
    return FieldTooLong(f"{field} is {length} {unit}; the limit is {limit}")


def check_limits(article: Article) -> None:
    """Raise FieldTooLong for the first field of ``article`` over its limit."""
    for field, limit in TEXT_LIMITS.items():
        value = getattr(article, field)
        if value is not None and len(value) > limit:
            raise too_long(field, len(value), limit)
    for field, limit in LIST_LIMITS.items():
        values = getattr(article, field)
        if len(values) > limit:
            raise too_long(field, len(values), limit, "entries")
        if longest := max(values, key=len, default=""):
            if len(longest) > MAX_NAME:
                raise too_long(f"an entry of {field}", len(longest), MAX_NAME)
