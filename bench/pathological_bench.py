"""The ingester on pathological pages: seconds per MiB at 1, 2 and 4 MiB, to show linearity.

Usage (from the repository root)::

    .venv/bin/python bench/pathological_bench.py [--sizes 1 2 4] [--shapes br p ...] [--budget]

Each shape is a page built to stress one part of the pipeline (many tiny blocks,
deep nesting, thousands of promos or layout tables...). Pages go through the whole
``ingest_page`` in this process, by default without the time budget, so that the
figures show the cost itself: a flat seconds-per-MiB column is linear, a growing
one is not. ``--budget`` applies the ingester's budget (``BUDGET_SECONDS``) and
shows where pages are cut off instead.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEAD = b"<!doctype html><html><head><title>A pathological page</title></head><body><h1>A pathological page</h1>"
TAIL = b"</body></html>"
SENTENCE = b"The harbour board met on Tuesday to discuss the ferry timetable and the winter sailings. "


def repeat(unit: bytes) -> Callable[[int], bytes]:
    """A page of ``unit`` repeated to ``size`` bytes."""
    return lambda size: HEAD + unit * max(1, (size - len(HEAD) - len(TAIL)) // len(unit)) + TAIL


SHAPES: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "br": ("w<br> repeated", repeat(b"w<br>")),
    "p": ("<p> repeated (empty paragraphs)", repeat(b"<p>")),
    "line": ("one line: an article's paragraphs, no newline", repeat(b"<p>" + SENTENCE * 3 + b"</p>")),
    "nested": ("divs nested 250 deep, repeated", repeat(b"<div>" * 250 + b"<p>" + SENTENCE + b"</p>" + b"</div>" * 250)),
    "tables": ("layout tables with two paragraphs each", repeat(b"<table><tr><td><p>one</p><p>two</p></td></tr></table>")),
    "promos": ("promo blocks with text after each", repeat(b"<div>Advertisement</div>more text ")),
    "captions": ("one caption of many parts", lambda size: HEAD + b"<figure><img src='/a.jpg'><figcaption>" + b"".join(
        b"<span class='caption'>part %d</span>" % i for i in range(size // 34)) + b"</figcaption></figure>" + TAIL),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4], help="MiB")
    ap.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=list(SHAPES))
    ap.add_argument("--budget", action="store_true", help="apply the ingester's time budget")
    args = ap.parse_args(argv)

    from feeds.config import load_settings
    from feeds.ingest import IngestError, ingest_page
    from feeds.ingest.budget import BUDGET_SECONDS

    settings = load_settings({"FEEDS_CONFIG_DIR": str(ROOT / "config")})
    budget = BUDGET_SECONDS if args.budget else float("inf")
    print(f"budget: {'%g s' % budget if args.budget else 'off'}")
    print(f"{'shape':<9} {'MiB':>4} {'seconds':>8} {'s/MiB':>6}  outcome")
    for name in args.shapes:
        label, make = SHAPES[name]
        for mib in args.sizes:
            page = make(int(mib * 2**20))
            start = time.perf_counter()
            try:
                ingest_page(page, source="push", settings=settings, fallback_time=datetime.now(UTC), budget=budget)
                outcome = "article"
            except IngestError as exc:
                outcome = f"rejected: {exc}"
            seconds = time.perf_counter() - start
            print(f"{name:<9} {mib:>4g} {seconds:>8.2f} {seconds / mib:>6.2f}  {outcome[:60]}", flush=True)
        print(f"{'':<9} ({label})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
