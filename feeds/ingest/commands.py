"""``feeds inspect`` and ``feeds sanitize``: see what the ingester makes of a page or fragment."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

from feeds.config import Settings
from feeds.ingest.errors import IngestError
from feeds.ingest.pipeline import ingest_page
from feeds.ingest.sanitize import sanitize_html
from feeds.model import Article


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``inspect`` and ``sanitize`` subcommands."""
    inspect = subparsers.add_parser("inspect", help="print the article the ingester makes of HTML files")
    inspect.add_argument("paths", nargs="+", metavar="PATH", type=Path)
    inspect.add_argument("--base-url", help="resolve relative URLs against this when the page has no canonical URL")
    inspect.add_argument("--json", action="store_true", help="one JSON object per line")
    inspect.set_defaults(func=run_inspect)

    sanitize = subparsers.add_parser("sanitize", help="sanitise an HTML fragment from stdin")
    sanitize.add_argument("--base-url", help="resolve relative URLs against this (default: site_url)")
    sanitize.set_defaults(func=run_sanitize)


def run_inspect(args: argparse.Namespace, settings: Settings) -> int:
    status = 0
    now = datetime.now(timezone.utc)
    for path in args.paths:
        try:
            data = path.read_bytes()
            article = ingest_page(data, source=f"inspect:{path.as_posix()}", settings=settings,
                                  base_url=args.base_url, fallback_time=now)
        except (IngestError, OSError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else str(exc)
            print(f"{path}: {reason}", file=sys.stderr)
            status = 1
            continue
        if args.json:
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


def run_sanitize(args: argparse.Namespace, settings: Settings) -> int:
    fragment = sys.stdin.read()
    print(sanitize_html(fragment, args.base_url or settings.site_url))
    return 0
