"""A newsroom on the embedded default: 8,000 real-looking pages, 500 long-tail topics, 150 authors.

Writes the pages (full HTML with site chrome, a JSON-LD NewsArticle carrying the
byline and its ``keywords``) into a fresh project folder with the repository's
config, then runs the real commands on SQLite, as ``feeds run`` would:

- ``feeds ingest``: seconds and pages/s;
- ``feeds build``: the first (full) build: documents and seconds;
- one page edited, ``feeds ingest`` + ``feeds build``: the build's seconds and documents changed;
- ``feeds serve``: seconds from start to the first feed answered 200, and the
  topic, author and archive documents it serves.

    python bench/newsroom_bench.py                  # 8,000 pages
    python bench/newsroom_bench.py --pages 2000 --keep
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.pages import LOREM  # noqa: E402

SECTIONS = ["World", "Politics", "Business", "Technology", "Sport", "Culture", "Local News"]
FIRST = ["Sofía", "Ada", "Hywel", "Priya", "Joël", "Morwenna", "Marcus", "Ingvild", "Teodora", "Daniel",
         "Beatrix", "Gareth", "Lowenna", "Zoë", "Tomás"]
LAST = ["Álvarado", "Quayside", "Jory", "Raman", "Abernathy", "Pascoe", "Delaney", "Hauge", "Vance", "Okafor"]
WORDS = ["harbour", "ferry", "tide", "council", "school", "festival", "rugby", "oyster", "budget", "lifeboat",
         "housing", "bus", "library", "coast", "storm", "market", "valley", "choir", "boatyard", "energy"]


def topics(rng: random.Random) -> list[str]:
    """500 topic labels, some with accents and apostrophes."""
    labels = set()
    while len(labels) < 500:
        a, b = rng.sample(WORDS, 2)
        labels.add(rng.choice([f"{a.title()} {b}", f"{a.title()}", f"{a.title()}'s {b}", f"Économie du {a}"]))
    return sorted(labels)


def page(n: int, rng: random.Random, tags: list[str], authors: list[str], when: datetime) -> str:
    section = SECTIONS[n % len(SECTIONS)]
    url = f"https://harbourgazette.example/{section.lower().replace(' ', '-')}/{when:%Y/%m/%d}/story-{n}"
    headline = f"{rng.choice(WORDS).title()} {rng.choice(WORDS)} plans move ahead, story {n}"
    picked = sorted({tags[min(len(tags) - 1, int(len(tags) ** rng.random()) - 1)] for _ in range(rng.randint(1, 4))})
    author = authors[min(len(authors) - 1, int(len(authors) ** rng.random()) - 1)]
    ld = {
        "@context": "https://schema.org", "@type": "NewsArticle", "mainEntityOfPage": url, "headline": headline,
        "articleSection": section, "datePublished": when.isoformat(), "dateModified": when.isoformat(),
        "author": {"@type": "Person", "name": author}, "keywords": picked,
    }
    paragraphs = "\n".join(f"<p>{headline}. {LOREM}</p>" if i == 0 else f"<p>{LOREM}</p>" for i in range(5))
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{headline} | The Harbour Gazette</title>
<link rel="canonical" href="{url}">
<script type="application/ld+json">{json.dumps(ld)}</script></head>
<body><nav><a href="/">Home</a> <a href="/world">World</a> <a href="/sport">Sport</a></nav>
<main><article><h1>{headline}</h1><p class="byline">By {author}</p>
<div class="article-body">
{paragraphs}
</div></article><aside class="related"><h2>More stories</h2><ul><li><a href="/x">Other story</a></li></ul></aside></main>
<footer>© The Harbour Gazette</footer></body></html>
"""


def run(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=3600)
    if out.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(cmd)} failed: {out.stderr[-2000:]}")
    return time.perf_counter() - started, out.stdout


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=8000)
    ap.add_argument("--port", type=int, default=8761)
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()
    rng = random.Random(8000)
    work = Path(tempfile.mkdtemp(prefix="feeds-newsroom-"))
    try:
        shutil.copytree(ROOT / "config", work / "config")
        folder = work / "articles"
        tags = topics(rng)
        authors = [f"{first} {last}" for first in FIRST for last in LAST]  # 150
        rng.shuffle(authors)
        start = datetime(2024, 1, 1, tzinfo=UTC)
        old = time.time() - 120
        for n in range(args.pages):
            path = folder / f"{n // 500:02}" / f"story-{n}.html"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page(n, rng, tags, authors, start + timedelta(hours=n * 2)), "utf-8")
            os.utime(path, (old, old))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "FEEDS_PORT": str(args.port), "FEEDS_ARTICLES_DIR": str(folder),
               "FEEDS_PUBLIC_URL": f"http://127.0.0.1:{args.port}/"}
        env.pop("DATABASE_URL", None)
        feeds = [sys.executable, "-m", "feeds"]
        print(f"newsroom_bench: {args.pages:,} pages, {len(tags)} topic labels, {len(authors)} authors, "
              f"{os.cpu_count()} cores, SQLite (the embedded default)")
        seconds, _ = run(feeds + ["ingest"], env, work)
        print(f"  feeds ingest: {seconds:.1f} s = {args.pages / seconds:.0f} pages/s")
        seconds, out = run(feeds + ["build"], env, work)
        print(f"  feeds build (the first, full): {seconds:.1f} s (process); {out.splitlines()[0]}")
        edited = folder / "00" / "story-7.html"
        edited.write_text(edited.read_text("utf-8").replace("plans move ahead", "plans move ahead, corrected"), "utf-8")
        os.utime(edited, (old + 60, old + 60))
        run(feeds + ["ingest"], env, work)
        seconds, out = run(feeds + ["build"], env, work)
        print(f"  one page edited, feeds build: {seconds:.1f} s (process, with start-up); {out.splitlines()[0]}")
        server = subprocess.Popen(feeds + ["serve"], env=env, cwd=work, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        try:
            started = time.perf_counter()
            base = f"http://127.0.0.1:{args.port}"
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/feeds/all.rss", timeout=2) as resp:
                        if resp.status == 200:
                            break
                except OSError:
                    time.sleep(0.05)
                if time.perf_counter() - started > 60:
                    raise SystemExit("feeds serve did not answer within 60 s")
            print(f"  feeds serve: first feed answered {time.perf_counter() - started:.2f} s after start")
            with urllib.request.urlopen(f"{base}/feeds/topics.opml") as resp:
                topic_feeds = len(re.findall(rb'type="rss"', resp.read())) // 2
            with urllib.request.urlopen(f"{base}/feeds/authors.opml") as resp:
                author_feeds = len(re.findall(rb'type="rss"', resp.read())) // 2
            with urllib.request.urlopen(f"{base}/feeds/all/archive/1.atom") as resp:
                archive = resp.status
            print(f"  served: {topic_feeds} topic feeds, {author_feeds} author feeds; /feeds/all/archive/1.atom {archive}")
        finally:
            server.terminate()
            server.wait(20)
    finally:
        if args.keep:
            print(f"  kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
