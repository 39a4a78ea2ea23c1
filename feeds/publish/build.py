"""Build every feed document from the store and publish the changed ones in one transaction."""

from __future__ import annotations

import gzip
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine

from feeds.publish.catalog import FORMATS, INDEX_PATH, OPML_PATH, OPML_TYPE, feed_specs, preview_path
from feeds.publish.preview import HTML_TYPE, Group, render_index, render_preview
from feeds.publish.render import EPOCH, RENDERERS, newest_update, render_opml
from feeds.config import Settings
from feeds.model import FeedDocument
from feeds.store.articles import recent_articles, sections_in_use
from feeds.store.db import ARTICLES_VERSION, BUILT_VERSION, build_transaction, get_version, set_version
from feeds.store.documents import publish_documents

log = logging.getLogger(__name__)


@dataclass
class BuildResult:
    """``changed``: every path published or removed; ``removed``: the paths no longer served."""

    built: bool
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def make_document(path: str, content_type: str, body: bytes, last_modified: datetime) -> FeedDocument:
    """Bytes plus everything a response needs: a strong ETag over the bytes and a
    gzip twin compressed once here (mtime 0, so it is as stable as the body)."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    return FeedDocument(path, content_type, body, gzip.compress(body, 9, mtime=0), etag, last_modified)


def render_documents(conn: Connection, settings: Settings) -> list[FeedDocument]:
    """Every feed in every format with its HTML preview, the OPML list and the front
    page, from one consistent read.

    A feed whose query comes back empty (its last article went between the two
    reads) is left out, and so out of the OPML: a feed is never published empty.
    """
    selected = [
        (spec, recent_articles(conn, spec.section, settings.items_per_feed))
        for spec in feed_specs(settings, sections_in_use(conn))
    ]
    specs = [spec for spec, items in selected if items]
    documents: list[FeedDocument] = []
    newest_overall = EPOCH
    for spec, items in selected:
        if spec not in specs:
            continue
        last = newest_update(items)
        newest_overall = max(newest_overall, last)
        for fmt, content_type in FORMATS.items():
            body = RENDERERS[fmt](settings, spec, items)
            documents.append(make_document(spec.path(fmt), content_type, body, last))
            preview = render_preview(settings, spec, items, fmt)
            documents.append(make_document(preview_path(spec.path(fmt)), HTML_TYPE, preview, last))
    documents.append(make_document(OPML_PATH, OPML_TYPE, render_opml(settings, specs), newest_overall))
    groups = [Group("Sections", [(spec, items) for spec, items in selected if spec in specs])]
    documents.append(make_document(INDEX_PATH, HTML_TYPE, render_index(settings, groups), newest_overall))
    return documents


def build(engine: Engine, settings: Settings, *, force: bool = False) -> BuildResult:
    """Rebuild if articles changed since the last build (or ``force``), publishing atomically.

    The read of the articles and the write of the documents share one
    transaction, so a web process sees either the old set or the new set,
    never a mix, and a failure leaves the last good documents in place.
    ``build_transaction`` makes that read one snapshot and keeps two builds
    (two processes) from interleaving, on PostgreSQL and SQLite alike.
    """
    with build_transaction(engine) as conn:
        articles_version = get_version(conn, ARTICLES_VERSION)
        if not force and articles_version == get_version(conn, BUILT_VERSION):
            return BuildResult(built=False)
        documents = render_documents(conn, settings)
        changed = publish_documents(conn, documents)
        set_version(conn, BUILT_VERSION, articles_version)
    if changed:
        log.info("published %d changed document(s): %s", len(changed), ", ".join(changed))
    rendered = {doc.path for doc in documents}
    return BuildResult(built=True, changed=changed, removed=[p for p in changed if p not in rendered])
