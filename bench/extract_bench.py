"""Main-content extraction: our ingester vs trafilatura vs readability-lxml, F1 and pages/s.

Usage (from the repository root)::

    /work/venv/bin/python bench/extract_bench.py /work/shared/corpus/extraction-dev [--split dev]

Scores with the shared ``extract_eval.py`` metric (imported, so the numbers are
the ones the evaluation tool prints) and times everything in this one process
on one core. Ours runs the whole ``ingest_page`` normalisation (decode,
metadata, extraction, cleaning, sanitising, text); the speed reference is
trafilatura's ``bare_extraction(with_metadata=True)``, which does comparable work.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_EVAL = ROOT.parent / "shared" / "tools" / "extract_eval.py"


def load_eval(path: Path):
    spec = importlib.util.spec_from_file_location("extract_eval", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["extract_eval"] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def ours() -> Callable[[bytes, object], str]:
    from feeds.config import load_settings
    from feeds.ingest import IngestError, ingest_page

    settings = load_settings({"FEEDS_CONFIG_DIR": str(ROOT / "config")})
    now = datetime.now(timezone.utc)

    def run(data: bytes, page) -> str:
        try:
            return ingest_page(data, source=f"file:{page.id}.html", settings=settings, fallback_time=now).text
        except IngestError:
            return ""
    return run


def trafilatura_bare() -> Callable[[bytes, object], str]:
    from trafilatura import bare_extraction

    def run(data: bytes, page) -> str:
        doc = bare_extraction(data.decode("utf-8", "replace"), with_metadata=True, include_comments=False)
        return (doc.text or "") if doc is not None else ""
    return run


def from_eval(ee, name: str) -> Callable[[bytes, object], str]:
    func, _ = ee.PY_EXTRACTORS[name]()
    return lambda data, page: func(data.decode("utf-8", "replace"), page) or ""


def measure(ee, pages, pages_bytes, runners, repeat: int) -> list[tuple[dict, list[float]]]:
    """Score and time every runner; pages are interleaved across runners so that a
    machine busy with other work slows them all alike, and each page's time is the
    best of ``repeat`` runs."""
    warm = b"<html><body><article><h1>Warm up</h1><p>" + b"Warm up text. " * 40 + b"</p></article></body></html>"
    for _, run in runners:
        run(warm, pages[0])
    busy = [0.0] * len(runners)
    scores: list[list] = [[] for _ in runners]
    for page, data in zip(pages, pages_bytes):
        for i, (_, run) in enumerate(runners):
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                text = run(data, page)
                best = min(best, time.perf_counter() - start)
            busy[i] += best
            scores[i].append(ee.score_page(page.truth, text, compat=False))
    results = []
    for i in range(len(runners)):
        metrics = ee.aggregate(scores[i])
        metrics["pages_per_s"] = len(pages) / busy[i] if busy[i] else float("inf")
        results.append((metrics, [s.f1 for s in scores[i]]))
    return results


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--split", choices=("dev", "test", "all"), default="all")
    ap.add_argument("--eval-tool", type=Path, default=DEFAULT_EVAL, help="path of extract_eval.py")
    ap.add_argument("--only-ours", action="store_true", help="skip the reference extractors")
    ap.add_argument("--per-page", type=Path, help="write our per-page F1 (JSON lines) here")
    ap.add_argument("--repeat", type=int, default=1, help="time each page this many times, keep the best")
    args = ap.parse_args(argv)

    ee = load_eval(args.eval_tool)
    pages = [p for p in ee.load_corpus(args.corpus.resolve()) if args.split in ("all", p.split)]
    pages_bytes = [ee.read_html_bytes(p.html_path) for p in pages]
    runners = [("ours (ingest_page)", ours())]
    if not args.only_ours:
        runners += [
            ("trafilatura extract", from_eval(ee, "trafilatura")),
            ("trafilatura bare_extraction+meta", trafilatura_bare()),
            ("readability-lxml", from_eval(ee, "readability-lxml")),
        ]
    print(f"corpus: {args.corpus} split={args.split} pages={len(pages)} repeat={args.repeat}")
    print(f"{'extractor':<34} {'F1':>6} {'P':>6} {'R':>6} {'F1_page':>7} {'pages/s':>8}")
    for (name, _), (metrics, per_page) in zip(runners, measure(ee, pages, pages_bytes, runners, args.repeat)):
        print(f"{name:<34} {metrics['f1']:>6.3f} {metrics['precision']:>6.3f} {metrics['recall']:>6.3f} "
              f"{metrics['f1_page']:>7.3f} {metrics['pages_per_s']:>8.1f}")
        if args.per_page and name.startswith("ours"):
            with args.per_page.open("w", encoding="utf-8") as fh:
                for page, f1 in zip(pages, per_page):
                    fh.write(json.dumps({"id": page.id, "f1": round(f1, 4), "url": page.url}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
