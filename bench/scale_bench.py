"""Builds at newsroom scale: a synthetic archive in PostgreSQL and SQLite, then timed builds.

For each size (articles) and each database, it loads a synthetic archive into the real
schema (23 sections; tags drawn from 20,000 topics and bylines from 2,000 authors, both
long-tailed, so most topics are rare and a few are busy), fills the feed memberships
with the build's own code (what the first build after the 0005 migration does), and
prints:

- the membership fill (the upgrade of an existing store): seconds;
- a full rebuild (every document, on all cores): documents, seconds, documents/s
  (skipped above ``--full-up-to`` articles: the documents table would hold hundreds of
  thousands of documents; the rate is the same);
- builds after one article changes: a new story, the newest story edited, an old story
  edited (the page holding it), the newest story retracted; each timed, with the
  documents it rendered and changed (best and worst of ``--repeat``);
- the documents table's rows before and after the repeated changes, and the change log's
  rows after them (both must stay flat);
- EXPLAIN of the queries behind an incremental build;
- gzip level 6 against 9 on the largest subscription document: time and size;
- the web worker at that size: the Procfile's web line (``WEB_CONCURRENCY=1``) started
  on the store, the seconds to its first feed, then every published document asked for
  (feed bytes, gzipped, a browser's preview, and a poll with the ETag that gets a 304),
  and the worker's resident memory after (targets: first feed within 2 s, <= 150 MB).

    python bench/scale_bench.py                                  # 10k and 100k articles, both databases
    python bench/scale_bench.py --sizes 10000 100000 1000000     # the figures in the README
    python bench/scale_bench.py --db postgresql --sizes 1000000 --keep   # keep the loaded archive; reruns reuse it

PostgreSQL: ``--pg`` (default postgresql+psycopg://postgres@127.0.0.1:5432/), one
database per size (``feeds_bench_<n>``). SQLite: files in ``--workdir``. A loaded
archive is reused when its article count matches (loading 1M takes minutes).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select, text  # noqa: E402

from feeds.config import load_settings  # noqa: E402
from feeds.model import Article  # noqa: E402
from feeds.publish import build as publish  # noqa: E402
from feeds.publish.catalog import ALL  # noqa: E402
from feeds.store import feeds as members  # noqa: E402
from feeds.store.articles import delete_article, get_article, upsert_article  # noqa: E402
from feeds.store.db import ARTICLES_VERSION, BUILT_VERSION, get_version, init_db, make_engine, set_version  # noqa: E402
from feeds.store.schema import article_changes, articles, feed_documents, feed_items  # noqa: E402

SECTIONS = 23
TOPICS = 20_000
AUTHORS = 2_000
T0 = datetime(2016, 1, 1, tzinfo=UTC)
SPAN = timedelta(days=3650)
BODY = "".join(f"<p>Paragraph {i}: the harbour board met on a grey morning and talked about ferries.</p>" for i in range(4))


def config_dir(workdir: Path) -> Path:
    folder = workdir / "config"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "settings.toml").write_text('title = "Bench Gazette"\nsite_url = "https://bench.example/"\n'
                                          'default_section = "section-0"\n')
    (folder / "sections.toml").write_text("".join(
        f'[[section]]\nslug = "section-{i}"\ntitle = "Section {i}"\n\n' for i in range(SECTIONS)))
    (folder / "topics.toml").write_text("min_articles = 2\n")
    (folder / "authors.toml").write_text("")
    return folder


def long_tail(rng: random.Random, n: int) -> int:
    """An index in [0, n) drawn log-uniformly: index 0 is common, most are rare."""
    return min(n - 1, int(n ** rng.random()) - 1)


def synthetic(i: int, n: int, rng: random.Random) -> dict[str, Any]:
    published = T0 + SPAN * min(1.0, i / n) + timedelta(seconds=rng.randint(0, 59))
    tags = sorted({f"Topic {long_tail(rng, TOPICS)}" for _ in range(rng.randint(0, 4))})
    authors = sorted({f"Writer {long_tail(rng, AUTHORS)}" for _ in range(rng.choice((1, 1, 1, 2)))})
    url = f"https://bench.example/story/{i}"
    return {
        "id": url, "url": url, "title": f"Story {i} about the harbour", "section": f"section-{i % SECTIONS}",
        "published": published, "updated": published + timedelta(minutes=30),
        "summary": f"The short version of story {i}.", "content_html": BODY, "text": f"Story {i}.",
        "authors": authors, "image": None, "tags": tags, "language": "en", "source": "push",
        "content_hash": f"h{i}",
    }


COLUMNS = ["id", "url", "title", "section", "published", "updated", "summary", "content_html", "text", "authors",
           "image", "tags", "language", "source", "content_hash"]


def load(engine: Any, n: int) -> float:
    """Insert ``n`` synthetic articles (COPY on PostgreSQL, executemany on SQLite); seconds."""
    started = time.perf_counter()
    rng = random.Random(n)
    batch = 20_000
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if engine.dialect.name == "postgresql":
            with cur.copy(f"COPY articles ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for i in range(n):
                    row = synthetic(i, n, rng)
                    row["published"] = row["published"].replace(tzinfo=None)
                    row["updated"] = row["updated"].replace(tzinfo=None)
                    row["authors"], row["tags"] = json.dumps(row["authors"]), json.dumps(row["tags"])
                    copy.write_row([row[c] for c in COLUMNS])
        else:
            marks = ", ".join("?" for _ in COLUMNS)
            for start in range(0, n, batch):
                rows = []
                for i in range(start, min(n, start + batch)):
                    row = synthetic(i, n, rng)
                    for key in ("published", "updated"):
                        row[key] = row[key].replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
                    row["authors"], row["tags"] = json.dumps(row["authors"]), json.dumps(row["tags"])
                    rows.append([row[c] for c in COLUMNS])
                cur.executemany(f"INSERT INTO articles ({', '.join(COLUMNS)}) VALUES ({marks})", rows)
        raw.commit()
    finally:
        raw.close()
    return time.perf_counter() - started


def prepare(url: str, n: int, settings: Any, full_up_to: int) -> tuple[Any, dict[str, float]]:
    """A store holding ``n`` articles and their feed memberships, built once; figures."""
    engine = make_engine(url)
    init_db(engine)
    figures: dict[str, float] = {}
    with engine.connect() as conn:
        have = conn.execute(select(func.count()).select_from(articles)).scalar_one()
        marked = members.get_mark(conn, publish.MEMBERS_MARK) == publish.members_fingerprint(settings)
    if abs(have - n) > 1000 or not marked:  # a kept archive drifts by a few stories per run
        with engine.begin() as conn:
            for table in ("feed_documents", "feed_items", "feed_stats", "article_changes", "articles"):
                conn.execute(text(f"DELETE FROM {table}"))
        figures["load_s"] = load(engine, n)
        started = time.perf_counter()
        with engine.begin() as conn:  # what the first build after the 0005 migration does
            publish.rebuild_memberships(conn, settings)
            members.set_mark(conn, publish.MEMBERS_MARK, publish.members_fingerprint(settings))
        figures["memberships_s"] = time.perf_counter() - started
        analyze(engine)
    if n <= full_up_to:
        result = publish.build(engine, settings, full=True)
        figures["full_s"] = result.seconds
        figures["full_docs"] = result.rendered
    else:  # as if a full build had run: the incremental builds below render what they touch
        with engine.begin() as conn:
            members.set_mark(conn, publish.RENDER_MARK, publish.render_fingerprint(settings))
            set_version(conn, BUILT_VERSION, get_version(conn, ARTICLES_VERSION))
    return engine, figures


def analyze(engine: Any) -> None:
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def article(i: int, n: int, **changes: Any) -> Article:
    row = synthetic(i, n, random.Random(i))
    row.update(authors=tuple(row["authors"]), tags=tuple(row["tags"]))
    row.update(changes)
    return Article(**row)


def timed_build(engine: Any, settings: Any) -> tuple[float, int, int]:
    result = publish.build(engine, settings)
    return result.seconds, result.rendered, len(result.changed)


def one_article_builds(engine: Any, settings: Any, n: int, repeat: int) -> dict[str, Any]:
    """Builds after one article changes, by kind of change: (seconds, rendered, changed) each.
    Each run picks its own stories, so a rerun on a kept archive changes something too."""
    out: dict[str, list[tuple[float, int, int]]] = {}
    rng = random.Random(time.time_ns())
    run = rng.randrange(1_000_000)
    stamp = T0 + SPAN + timedelta(days=1 + run / 1000)

    def stored(conn: Any) -> Article:
        while (found := get_article(conn, f"https://bench.example/story/{rng.randrange(n)}")) is None:
            pass
        return found

    for r in range(repeat):
        i = n + 10_000_000 + run * 100 + r  # ids beyond the loaded ones
        new = article(i, n, published=stamp + timedelta(hours=r), updated=stamp + timedelta(hours=r),
                      section="section-1", tags=("Topic 1", "Topic 777"), authors=("Writer 3",))
        with engine.begin() as conn:
            upsert_article(conn, new, new.updated)
        out.setdefault("new story", []).append(timed_build(engine, settings))
        with engine.begin() as conn:
            upsert_article(conn, new.replace(title=f"{new.title}, corrected", content_hash=f"e{run}-{r}",
                                             updated=new.updated + timedelta(minutes=5)), None)
        out.setdefault("newest story edited", []).append(timed_build(engine, settings))
        with engine.begin() as conn:
            old = stored(conn)
            upsert_article(conn, old.replace(title=f"{old.title}, corrected", content_hash=f"o{run}-{r}",
                                             updated=stamp + timedelta(days=2, minutes=r)), None)
        out.setdefault("old story edited", []).append(timed_build(engine, settings))
        with engine.begin() as conn:
            delete_article(conn, new.id)
        out.setdefault("newest story retracted", []).append(timed_build(engine, settings))
        with engine.begin() as conn:
            delete_article(conn, stored(conn).id)
        out.setdefault("old story retracted", []).append(timed_build(engine, settings))
        backdated = article(i + 50, n, published=T0 + SPAN * rng.random(), updated=stamp,
                            section="section-2", tags=("Topic 5",), authors=("Writer 9",))
        with engine.begin() as conn:
            upsert_article(conn, backdated, None)
        out.setdefault("a story dated years back, first seen now", []).append(timed_build(engine, settings))
    return out


def explain(engine: Any, n: int) -> list[str]:
    """The plans of the queries an incremental build runs, on the all-sections feed."""
    with engine.connect() as conn:
        mid = conn.execute(select(articles.c.id, articles.c.published).order_by(articles.c.id).limit(1)
                           .offset(n // 2)).one()
        ends = members.boundaries(conn, ALL)
    at = (mid.published, mid.id)
    b1, b2 = ends[len(ends) // 2], ends[len(ends) // 2 + 1]
    f, p, a = feed_items.c.feed == ALL, feed_items.c.published, feed_items.c.article_id
    fp = members.feed_pages.c
    queries = {
        "subscription document (newest 50)": select(a).where(f).order_by(p.desc(), a).limit(50),
        "open page (after the newest sealed page's boundary)": select(a).where(f, members.newer_than(ends[-1]))
        .order_by(p.desc(), a).offset(50).limit(50),
        "a sealed page in the middle (between two boundaries)": select(a).where(
            f, members.newer_than(b1), members.at_or_older(b2)).order_by(p.desc(), a),
        "the sealed page holding a story": select(fp.page).where(
            fp.feed == ALL, (fp.published > at[0]) | ((fp.published == at[0]) & (fp.article_id <= at[1])))
        .order_by(fp.page).limit(1),
        "the open page's size": select(func.count()).select_from(feed_items).where(f, members.newer_than(ends[-1])),
        "memberships of changed articles": select(feed_items).where(a.in_([mid.id])),
        "the change log": select(article_changes).order_by(article_changes.c.seq),
        "articles of a page": select(articles).where(articles.c.id.in_([mid.id])),
    }
    lines = []
    with engine.connect() as conn:
        for name, query in queries.items():
            sql = str(query.compile(engine, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN " if engine.dialect.name == "postgresql" else "EXPLAIN QUERY PLAN "
            plan = [str(row[-1]) for row in conn.exec_driver_sql(prefix + sql)]
            lines.append(f"  {name}:")
            lines += [f"      {line}" for line in plan]
    return lines


def gzip_levels(engine: Any) -> str:
    with engine.connect() as conn:
        body = conn.execute(select(feed_documents.c.body).where(feed_documents.c.path == "feeds/all.rss")).scalar()
    if body is None:
        return "  (no feeds/all.rss published)"
    body = bytes(body)
    parts = []
    for level in (6, 9):
        started = time.perf_counter()
        for _ in range(20):
            size = len(gzip.compress(body, level, mtime=0))
        parts.append(f"level {level}: {size:,} bytes, {(time.perf_counter() - started) / 20 * 1000:.2f} ms")
    return f"  gzip of feeds/all.rss ({len(body):,} bytes): " + "; ".join(parts)


def documents_rows(engine: Any) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(feed_documents)).scalar_one(),
                conn.execute(select(func.count()).select_from(article_changes)).scalar_one())


def run(db: str, n: int, args: argparse.Namespace, settings_env: dict[str, str]) -> None:
    if db == "postgresql":
        import psycopg

        name = f"feeds_bench_{n}"
        with psycopg.connect(args.pg.replace("postgresql+psycopg", "postgresql") + "postgres", autocommit=True) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                c.execute(f'CREATE DATABASE "{name}"')
        url = args.pg + name
    else:
        url = f"sqlite:///{args.workdir / f'bench-{n}.db'}"
    settings = load_settings({**settings_env, "DATABASE_URL": url})
    print(f"\n== {db}, {n:,} articles ==", flush=True)
    engine, figures = prepare(url, n, settings, args.full_up_to)
    with engine.connect() as conn:
        feeds = conn.execute(select(func.count()).select_from(members.feed_stats)).scalar_one()
        items = conn.execute(select(func.count()).select_from(feed_items)).scalar_one()
        listed = {kind: len(members.listed_stats(conn, prefix, publish.min_items(settings, kind)))
                  for kind, prefix in (("section", "section/"), ("topic", "topic/"), ("author", "author/"))}
    print(f"  feeds: {feeds:,} ({listed['section']} sections, {listed['topic']:,} topics and {listed['author']:,} "
          f"authors published, +all); feed_items rows: {items:,}")
    if "load_s" in figures:
        print(f"  load: {figures['load_s']:.1f} s; memberships filled (the upgrade's first build): "
              f"{figures['memberships_s']:.1f} s")
    if "full_s" in figures:
        print(f"  full rebuild on {os.cpu_count()} cores: {figures['full_docs']:,.0f} documents in "
              f"{figures['full_s']:.1f} s = {figures['full_docs'] / figures['full_s']:,.0f} documents/s")
    else:
        print(f"  full rebuild: skipped (over --full-up-to {args.full_up_to:,})")
    before = documents_rows(engine)
    results = one_article_builds(engine, settings, n, args.repeat)
    after = documents_rows(engine)
    print("  builds after one article changes (best / worst of the repeats; documents rendered, changed):")
    for kind, runs in results.items():
        secs = [s for s, _, _ in runs]
        print(f"    {kind:40} {min(secs):6.3f} s / {max(secs):6.3f} s   rendered {max(r for _, r, _ in runs):4}, "
              f"changed {max(c for _, _, c in runs):4}")
    print(f"  documents rows: {before[0]:,} before the changes, {after[0]:,} after; change log rows after: {after[1]}")
    print(gzip_levels(engine))
    print("  query plans:")
    print("\n".join(explain(engine, n)))
    with engine.connect() as conn:
        paths = sorted(conn.execute(select(feed_documents.c.path)).scalars())
    engine.dispose()
    print(web_figures(url, settings_env, paths, args.web_requests))


FIRST_FEED_TARGET_S = 2.0
WORKER_RSS_TARGET_MB = 150.0
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def web_figures(url: str, settings_env: dict[str, str], paths: list[str], limit: int) -> str:
    """Start the Procfile's web line on the store; time its first feed, ask for up to
    ``limit`` published documents each four ways, and read the worker's memory."""
    import http.client
    import re
    import signal
    import socket
    import subprocess

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web: "))
    argv = line.removeprefix("web: ").replace("python", sys.executable, 1).replace("0.0.0.0", "127.0.0.1").split()
    env = {**os.environ, **settings_env, "DATABASE_URL": url, "PORT": str(port), "WEB_CONCURRENCY": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = None
    try:
        while True:  # the first feed: the all-sections feed, as a reader asks for it
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("GET", "/feeds/all.rss")
                resp = conn.getresponse()
                resp.read()
                if resp.status == 200:
                    break
            except OSError:
                pass
            if proc.poll() is not None or time.perf_counter() - started > 60:
                return "  web: the web line did not serve /feeds/all.rss within 60 s"
            time.sleep(0.05)
        first = time.perf_counter() - started
        urls = ["/" if p == "index.html" else "/" + p for p in paths if not p.startswith("previews/")][:limit]
        statuses: dict[int, int] = {}
        for path in urls:
            for headers in ({}, {"Accept-Encoding": "gzip"}, {"Accept": BROWSER}):
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                resp.read()
                statuses[resp.status] = statuses.get(resp.status, 0) + 1
                etag = resp.getheader("ETag")
            conn.request("GET", path, headers={"Accept": BROWSER, "If-None-Match": etag or ""})
            resp = conn.getresponse()
            resp.read()
            statuses[resp.status] = statuses.get(resp.status, 0) + 1
        conn.request("GET", "/healthz")
        health = json.loads(conn.getresponse().read())
        rss = 0.0
        for pid in subprocess.run(["pgrep", "-f", "multiprocessing.spawn", "-s", str(os.getpgid(proc.pid))],
                                  capture_output=True, text=True).stdout.split():
            found = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
            rss = max(rss, int(found.group(1)) / 1024) if found else rss
    finally:
        if conn is not None:
            conn.close()
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    met = first <= FIRST_FEED_TARGET_S and rss <= WORKER_RSS_TARGET_MB and set(statuses) <= {200, 304}
    return (f"  web worker (Procfile web line, WEB_CONCURRENCY=1): first feed {first:.2f} s after start; "
            f"{len(urls):,} documents asked for 4 ways ({', '.join(f'{n:,} x {s}' for s, n in sorted(statuses.items()))}); "
            f"{health['documents']:,} published, {health['documents_in_memory']:,} in memory; worker resident memory "
            f"{rss:.0f} MB; targets first feed <= {FIRST_FEED_TARGET_S:g} s, <= {WORKER_RSS_TARGET_MB:g} MB: "
            + ("met" if met else "NOT MET"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    ap.add_argument("--db", choices=["sqlite", "postgresql"], action="append")
    ap.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/")
    ap.add_argument("--workdir", type=Path, default=None, help="SQLite files and config (default: a temporary folder)")
    ap.add_argument("--full-up-to", type=int, default=100_000, help="run the full rebuild up to this many articles")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the SQLite files (PostgreSQL databases are kept)")
    ap.add_argument("--web-requests", type=int, default=20_000, help="documents the web step asks for, at most")
    args = ap.parse_args()
    temporary = args.workdir is None
    args.workdir = Path(tempfile.mkdtemp(prefix="feeds-scale-")) if temporary else args.workdir
    args.workdir.mkdir(parents=True, exist_ok=True)
    env = {"FEEDS_CONFIG_DIR": str(config_dir(args.workdir)), "FEEDS_PUBLIC_URL": "https://feeds.bench.example/"}
    print(f"scale_bench: {os.cpu_count()} cores; {SECTIONS} sections, {TOPICS:,} topics, {AUTHORS:,} authors; "
          f"items_per_feed 50")
    try:
        for n in args.sizes:
            for db in args.db or ["postgresql", "sqlite"]:
                run(db, n, args, env)
    finally:
        if temporary and not args.keep:
            shutil.rmtree(args.workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
