"""``feeds inspect`` and ``feeds sanitize``: see what the ingester makes of a page or fragment."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from feeds.config import Settings
from feeds.ingest.errors import IngestError
from feeds.ingest.pipeline import ingest_page
from feeds.ingest.sanitize import sanitize_html
from feeds.model import Article


def run_inspect(paths: list[Path], settings: Settings, *, base_url: str | None, as_json: bool) -> int:
    """Print each page's article (or its rejection on stderr); 1 if any page was rejected."""
    status = 0
    now = datetime.now(timezone.utc)
    for path in paths:
        try:
            data = path.read_bytes()
            article = ingest_page(data, source=f"inspect:{path.as_posix()}", settings=settings,
                                  base_url=base_url, fallback_time=now)
        except (IngestError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            print(f"{path}: {reason}", file=sys.stderr)
            status = 1
            continue
        if as_json:
            print(json.dumps(article.as_json(), ensure_ascii=False))
        else:
            _print_human(article)
    return status


def _print_human(article: Article) -> None:
    print(f"Title:     {article.title}")
    for label, value in (("URL", article.url), ("Section", article.section),
                         ("Authors", ", ".join(article.authors)), ("Published", article.published.isoformat()),
                         ("Updated", article.updated.isoformat()), ("Image", article.image or ""),
                         ("Tags", ", ".join(article.tags)), ("Language", article.language or ""),
                         ("Words", str(article.word_count)), ("Summary", article.summary)):
        print(f"{label + ':':<10} {value}")
    for warning in article.warnings:
        print(f"Warning:   {warning}")
    print()
    print(article.text)
    print()


def run_sanitize(settings: Settings, *, base_url: str | None) -> int:
    fragment = sys.stdin.read()
    print(sanitize_html(fragment, base_url or settings.site_url))
    return 0
