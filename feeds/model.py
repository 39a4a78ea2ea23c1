"""The values that flow between the stages: ingest -> store -> build -> serve.

They are plain frozen dataclasses so that every stage can be tested on its own
and no stage reaches into another's storage details.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

FILE_SOURCE_PREFIX = "file:"  # Article.source of a page from the articles folder: "file:<relative path>"
PUSH_SOURCE = "push"  # the source of an article a CMS pushed through the API


@dataclass(frozen=True)
class Article:
    """One normalised article, as the ingester produces and the store keeps it.

    ``id`` is stable across edits (canonical URL, else the source path), so a
    changed page replaces its item in every feed instead of adding a twin.
    ``source`` says where the article came from (``file:<relative path>`` for
    the articles folder, ``push`` for the HTTP API); the folder scan only
    retracts articles whose source is a file.
    """

    id: str
    url: str
    title: str
    section: str
    published: datetime
    updated: datetime
    content_html: str
    text: str
    summary: str = ""
    authors: tuple[str, ...] = ()
    image: str | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    source: str = ""
    content_hash: str = ""
    warnings: tuple[str, ...] = field(default=(), compare=False)

    @property
    def word_count(self) -> int:
        return len(self.text.split())

    def as_json(self) -> dict[str, object]:
        """The normalised article as ``feeds inspect --json`` prints it and the push API
        answers it: dates in ISO 8601 with their offset."""
        return {
            "id": self.id,
            "url": self.url,
            "title": self.title,
            "section": self.section,
            "authors": list(self.authors),
            "published": self.published.isoformat(),
            "updated": self.updated.isoformat(),
            "summary": self.summary,
            "content_html": self.content_html,
            "text": self.text,
            "image": self.image,
            "tags": list(self.tags),
            "language": self.language,
            "word_count": self.word_count,
            "warnings": list(self.warnings),
        }

    def replace(self, **changes: object) -> Article:
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class FeedDocument:
    """A rendered feed (or OPML list, feed preview, front page) ready to serve: bytes and validators, built once.

    Everything a response needs is computed at build time so that serving is a
    dictionary lookup; ``gzip_body`` is precompressed for the same reason.
    """

    path: str
    content_type: str
    body: bytes
    gzip_body: bytes
    etag: str
    last_modified: datetime
