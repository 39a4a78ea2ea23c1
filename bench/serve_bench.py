#!/usr/bin/env python3
"""How fast is a 50-item section feed served? Side by side, in one run:

- **feeds**: ``gunicorn 'feeds.web:create_app()'`` on a store holding the items;
- **bare WSGI**: a callable returning the same bytes with the same headers
  (``bench/bare_wsgi.py``), under the same gunicorn settings: the floor for
  Python, so the ratio is the cost of our dispatch alone;
- **nginx**: the same bytes as a static file (``gzip_static`` for the twin);
- **Django**: its syndication framework rendering the same 50 items from SQLite
  per request, with GZipMiddleware and ConditionalGetMiddleware, under gunicorn.

gunicorn runs feeds and the bare callable as deployed: the options of the
Procfile's ``web`` line (its worker class), with ``--workers`` standing in for
``WEB_CONCURRENCY``; ``--worker-class`` and ``--threads`` override them, to
compare. Django gets what suits it, and what a Django site would run: gthread,
4 threads per worker (its CPU-bound views do worse under an event loop).

Each server is pinned to CPU 0 (``taskset``) and wrk to CPU 1, on 127.0.0.1.
Three kinds of request: plain GET, gzip GET, conditional GET (304).
Targets (issue 4): feeds >= 0.8 x bare WSGI on each kind, >= 50 x Django.

    python bench/serve_bench.py [--duration 3] [--rounds 3] [--connections 16] [--workers 2] [--worker-class gthread --threads 4]

Needs: wrk and nginx (Debian packages); ``pip install -e '.[bench]'`` brings
Django. Exit status 0 when the targets are met, 1 if not.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import json
import os
import random
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
PY = sys.executable
KINDS = ("plain", "gzip", "304")
SECTION = "world"
ITEMS = 50

WORDS = (
    "harbour council ferry pier crane union storm tide port district board said monday tuesday "
    "minister budget vote market shares company quarter profit workers strike season match goal "
    "coach festival gallery novel film museum residents school road bridge plan report night "
    "morning city mayor officials weather forecast fishermen catch boats container ship cargo"
).split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def wait_up(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server for {url} exited with {proc.returncode}")
        try:
            if fetch(url)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)  # polling a port that is not up yet
    raise SystemExit(f"{url} not up after {timeout}s")


def make_items() -> list[dict[str, str]]:
    """50 world stories of ~6 KB each (a ~320 KB RSS feed), plus a few elsewhere."""
    rng = random.Random(4)
    t0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    items = []
    for n in range(ITEMS + 10):
        section = SECTION if n < ITEMS else "sport"
        paragraphs = [
            "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 110))).capitalize() + ".</p>"
            for _ in range(9)
        ]
        published = t0 + timedelta(hours=5 * n)
        items.append(
            {
                "url": f"https://harbourgazette.example/{section}/2026/story-{n}",
                "title": f"Harbour story {n}: " + " ".join(rng.choice(WORDS) for _ in range(7)),
                "section": section,
                "summary": " ".join(rng.choice(WORDS) for _ in range(30)).capitalize() + ".",
                "content_html": "".join(paragraphs),
                "author": rng.choice(["Ann Lee", "Bo Chan", "Cai Moreno"]),
                "published": published.isoformat(),
                "updated": (published + timedelta(minutes=40)).isoformat(),
            }
        )
    return items


def build_feeds_store(tmp: Path, items: list[dict[str, str]], port: int) -> dict[str, str]:
    """A project folder with the items in its store and the feeds built; returns its environment."""
    sys.path.insert(0, str(ROOT))
    from feeds.build.publish import build
    from feeds.config import load_settings
    from feeds.model import Article
    from feeds.store.articles import upsert_article
    from feeds.store.db import init_db, make_engine

    shutil.copytree(ROOT / "config", tmp / "config")
    (tmp / "articles").mkdir()
    env = {
        "FEEDS_CONFIG_DIR": str(tmp / "config"),
        "FEEDS_INSTANCE_DIR": str(tmp / "instance"),
        "FEEDS_ARTICLES_DIR": str(tmp / "articles"),
        "FEEDS_PUBLIC_URL": f"http://127.0.0.1:{port}/",
        "FEEDS_ITEMS_PER_FEED": str(ITEMS),
    }
    settings = load_settings(env)
    engine = make_engine(settings.database)
    init_db(engine)
    with engine.begin() as conn:
        for it in items:
            published = datetime.fromisoformat(it["published"])
            updated = datetime.fromisoformat(it["updated"])
            article = Article(
                id=it["url"], url=it["url"], title=it["title"], section=it["section"], published=published,
                updated=updated, content_html=it["content_html"], text=it["summary"], summary=it["summary"],
                authors=(it["author"],), image=it["url"] + ".jpg", tags=(), language="en", source="push",
                content_hash=str(hash(it["url"])),
            )
            upsert_article(conn, article, updated)
    build(engine, settings, force=True)
    engine.dispose()
    return env


@dataclass
class Server:
    name: str
    url: str
    proc: subprocess.Popen[bytes]
    etag: str = ""
    size: int = 0
    gzip_size: int = 0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def procfile_web_options() -> list[str]:
    """The gunicorn options of the Procfile's web line, less its bind address and app."""
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith("web: "))
    argv = shlex.split(line.removeprefix("web: "))
    assert argv[0] == "gunicorn", line
    options = argv[1:-1]
    if "--bind" in options:
        at = options.index("--bind")
        del options[at : at + 2]
    return options


def gunicorn_options(args: argparse.Namespace) -> list[str]:
    options = [*procfile_web_options(), "--workers", str(args.workers)]
    if args.worker_class:
        options += ["--worker-class", args.worker_class]
    if args.threads:
        options += ["--threads", str(args.threads)]
    return options


def django_options(args: argparse.Namespace) -> list[str]:
    return ["--worker-class", "gthread", "--threads", "4", "--workers", str(args.workers)]


def start_gunicorn(
    app: str, port: int, env: dict[str, str], args: argparse.Namespace, log: Path, options: list[str]
) -> subprocess.Popen[bytes]:
    cmd = [
        "taskset", "-c", args.server_cpu, PY, "-m", "gunicorn", *options,
        "--bind", f"127.0.0.1:{port}", "--log-level", "warning", app,
    ]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def nginx(root: Path, port: int, tmp: Path, args: argparse.Namespace) -> subprocess.Popen[bytes]:
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
worker_processes 1;
daemon off;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/nginx-body;
    proxy_temp_path {tmp}/nginx-proxy;
    fastcgi_temp_path {tmp}/nginx-fastcgi;
    uwsgi_temp_path {tmp}/nginx-uwsgi;
    scgi_temp_path {tmp}/nginx-scgi;
    types {{ application/rss+xml rss; }}
    charset utf-8;
    charset_types application/rss+xml;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        root {root};
        gzip_static on;
        gzip_vary on;
        add_header Cache-Control "public, max-age=300";
    }}
}}
"""
    )
    cmd = ["taskset", "-c", args.server_cpu, "nginx", "-c", str(conf), "-p", str(tmp)]
    return subprocess.Popen(cmd, stdout=(tmp / "nginx.out").open("wb"), stderr=subprocess.STDOUT)


def response_headers(url: str, etag: str) -> dict[str, list[tuple[str, str]]]:
    """feeds' own header lists for the three kinds, as sent (less what gunicorn adds)."""
    parts = urllib.parse.urlsplit(url)
    out = {}
    for kind, headers in (("plain", {}), ("gzip", {"Accept-Encoding": "gzip"}), ("304", {"If-None-Match": etag})):
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        conn.request("GET", parts.path, headers=headers)
        r = conn.getresponse()
        r.read()
        out[kind] = [(k, v) for k, v in r.getheaders() if k.lower() not in ("date", "server", "connection")]
        conn.close()
    return out


def check(server: Server) -> None:
    """Each server must really answer the three kinds before it is timed."""
    status, headers, body = fetch(server.url)
    assert status == 200 and body.startswith(b"<?xml"), (server.name, status)
    server.etag, server.size = headers.get("ETag", ""), len(body)
    status, headers, zbody = fetch(server.url, {"Accept-Encoding": "gzip"})
    assert status == 200 and headers.get("Content-Encoding") == "gzip", (server.name, headers)
    assert gzip.decompress(zbody)[:200] == body[:200]
    server.gzip_size = len(zbody)
    status, _, body304 = fetch(server.url, {"If-None-Match": server.etag})
    assert status == 304 and body304 == b"", (server.name, status)


def server_cpu_seconds(proc: subprocess.Popen[bytes]) -> float:
    """CPU time (user + system) of a server's processes: the master and its workers."""
    pids = [proc.pid]
    try:
        children = subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True, text=True).stdout
        pids += [int(p) for p in children.split()]
    except (OSError, ValueError):
        pass
    ticks = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(servers: list[Server], timeout: float = 30.0) -> None:
    """Wait until no server is using the CPU. When wrk stops, a slow server (Django)
    still has queued requests to render: left alone, that tail would run on the
    server CPU during the next server's measurement."""
    deadline = time.monotonic() + timeout
    before = sum(server_cpu_seconds(s.proc) for s in servers)
    while time.monotonic() < deadline:
        time.sleep(0.25)  # a sampling interval: CPU time moves in clock ticks
        now = sum(server_cpu_seconds(s.proc) for s in servers)
        if now - before < 0.02:
            return
        before = now


def wrk(
    url: str, headers: dict[str, str], args: argparse.Namespace, duration: float, server: Server | None = None
) -> tuple[float, float, str]:
    """``(requests/s, server CPU microseconds per request, problems)`` for one wrk run."""
    cmd = ["taskset", "-c", args.client_cpu, "wrk", "-t", "1", "-c", str(args.connections), "-d", f"{max(1, round(duration))}s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    cpu0 = server_cpu_seconds(server.proc) if server else 0.0
    run = subprocess.run([*cmd, url], capture_output=True, text=True, timeout=duration + 60)
    cpu = (server_cpu_seconds(server.proc) - cpu0) if server else 0.0
    out = run.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    count = re.search(r"(\d+) requests in", out)
    problems = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    if rate is None or count is None:
        problems.append(f"wrk failed: {run.stderr.strip() or out.strip()}")
        return 0.0, 0.0, "; ".join(problems)
    return float(rate.group(1)), cpu / max(1, int(count.group(1))) * 1e6, "; ".join(problems)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run (default 3)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved rounds; the best of each is shown (default 3)")
    ap.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers, as WEB_CONCURRENCY (default 2)")
    ap.add_argument("--worker-class", help="gunicorn worker class for all three (default: the Procfile's)")
    ap.add_argument("--threads", type=int, help="gunicorn gthread threads (default: the Procfile's)")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} not found (apt-get install -y wrk nginx util-linux)", file=sys.stderr)
            return 2
    try:
        import django  # noqa: F401
        import gunicorn  # noqa: F401
    except ImportError as exc:
        print(f"bench: {exc.name} not installed (pip install {exc.name})", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    tmp.chmod(0o755)
    servers: list[Server] = []
    try:
        items = make_items()
        ports = {name: free_port() for name in ("feeds", "bare", "nginx", "django")}
        env = build_feeds_store(tmp / "project", items, ports["feeds"])
        logs = tmp / "logs"
        logs.mkdir()

        path = f"feeds/{SECTION}.rss"
        feeds = Server("feeds", f"http://127.0.0.1:{ports['feeds']}/{path}",
                       start_gunicorn("feeds.web:create_app()", ports["feeds"], env, args, logs / "feeds.log",
                                      gunicorn_options(args)))
        servers.append(feeds)
        wait_up(feeds.url, feeds.proc)
        check(feeds)

        # the same bytes for nginx and the bare callable
        _, _, body = fetch(feeds.url)
        _, _, zbody = fetch(feeds.url, {"Accept-Encoding": "gzip"})
        static = tmp / "static" / "feeds"
        static.mkdir(parents=True)
        (static / f"{SECTION}.rss").write_bytes(body)
        (static / f"{SECTION}.rss.gz").write_bytes(zbody)

        headers_json = tmp / "headers.json"
        headers_json.write_text(json.dumps(response_headers(feeds.url, feeds.etag)))
        bare_env = {"BENCH_BODY": str(static / f"{SECTION}.rss"), "BENCH_GZIP": str(static / f"{SECTION}.rss.gz"),
                    "BENCH_HEADERS": str(headers_json), "PYTHONPATH": str(BENCH)}
        bare = Server("bare WSGI", f"http://127.0.0.1:{ports['bare']}/{path}",
                      start_gunicorn("bare_wsgi:application", ports["bare"], bare_env, args, logs / "bare.log",
                                     gunicorn_options(args)))
        servers.append(bare)

        ngx = Server("nginx static", f"http://127.0.0.1:{ports['nginx']}/{path}",
                     nginx(tmp / "static", ports["nginx"], tmp, args))
        servers.append(ngx)

        items_json = tmp / "items.json"
        items_json.write_text(json.dumps(items))
        django_env = {"BENCH_DJANGO_DB": str(tmp / "django.sqlite3"), "PYTHONPATH": str(BENCH)}
        subprocess.run([PY, "-m", "djangofeed.site", str(items_json)], env={**os.environ, **django_env},
                       check=True, cwd=BENCH)
        dj = Server("Django syndication", f"http://127.0.0.1:{ports['django']}/{path}",
                    start_gunicorn("djangofeed.site:application", ports["django"], django_env, args,
                                   logs / "django.log", django_options(args)))
        servers.append(dj)

        for s in servers[1:]:
            wait_up(s.url, s.proc)
            check(s)

        print(f"feed: /{path}, {ITEMS} items, {feeds.size:,} bytes ({feeds.gzip_size:,} gzipped); "
              f"Django renders {dj.size:,} bytes")
        print(f"gunicorn {shlex.join(gunicorn_options(args))} (Django: {shlex.join(django_options(args))}) "
              f"and nginx (1 worker) on CPU {args.server_cpu}; "
              f"wrk -t1 -c{args.connections} -d{args.duration}s on CPU {args.client_cpu}, best of {args.rounds} "
              "interleaved rounds; 127.0.0.1")
        print()
        results: dict[str, dict[str, float]] = {s.name: dict.fromkeys(KINDS, 0.0) for s in servers}
        cpu_per_request: dict[str, dict[str, list[float]]] = {s.name: {k: [] for k in KINDS} for s in servers}
        notes: list[str] = []
        for s in servers:
            wrk(s.url, {}, args, 1)  # warm-up
        # Interleaved rounds, best of each: the machine is shared, and a burst of
        # someone else's work should cost every server alike, not whoever ran then.
        for _ in range(args.rounds):
            for kind in KINDS:
                for s in servers:
                    headers = {"Accept-Encoding": "gzip"} if kind == "gzip" else {}
                    if kind == "304":
                        headers = {"If-None-Match": s.etag}
                    settle(servers)
                    rate, cpu_us, problems = wrk(s.url, headers, args, args.duration, s)
                    results[s.name][kind] = max(results[s.name][kind], rate)
                    cpu_per_request[s.name][kind].append(cpu_us)
                    if problems:
                        notes.append(f"{s.name} {kind}: {problems}")

        width = max(len(n) for n in results) + 2
        print(f"{'req/s':<{width}}" + "".join(f"{k:>12}" for k in KINDS))
        for name, row in results.items():
            print(f"{name:<{width}}" + "".join(f"{row[k]:>12,.0f}" for k in KINDS))
        print()
        ok = True
        for label, other, target in (("feeds / bare WSGI", "bare WSGI", 0.8), ("feeds / Django", "Django syndication", 50)):
            ratios = [results["feeds"][k] / results[other][k] if results[other][k] else 0.0 for k in KINDS]
            met = all(r >= target for r in ratios)
            ok &= met
            fmt = (lambda r: f"{r:>12.2f}") if target < 10 else (lambda r: f"{r:>11,.0f}x")
            print(f"{label:<{width}}" + "".join(fmt(r) for r in ratios) + f"   target >= {target:g}: {'met' if met else 'NOT MET'}")
        ngx_ratio = [results["feeds"][k] / (results["nginx static"][k] or 1) for k in KINDS]
        print(f"{'feeds / nginx':<{width}}" + "".join(f"{r:>12.2f}" for r in ngx_ratio) + "   (for scale)")
        # Server CPU per request is steadier than req/s when others share the machine.
        print()
        cpu = {n: {k: statistics.median(v) for k, v in row.items()} for n, row in cpu_per_request.items()}
        print(f"{'server CPU us/req':<{width}}" + "".join(f"{k:>12}" for k in KINDS) + "   (median of the rounds)")
        for name, row in cpu.items():
            print(f"{name:<{width}}" + "".join(f"{row[k]:>12,.0f}" for k in KINDS))
        bare_over_feeds = [cpu["bare WSGI"][k] / cpu["feeds"][k] if cpu["feeds"][k] else 0.0 for k in KINDS]
        django_over_feeds = [cpu["Django syndication"][k] / cpu["feeds"][k] if cpu["feeds"][k] else 0.0 for k in KINDS]
        print(f"{'bare / feeds CPU':<{width}}" + "".join(f"{r:>12.2f}" for r in bare_over_feeds)
              + "   (feeds' efficiency relative to bare WSGI)")
        print(f"{'Django / feeds CPU':<{width}}" + "".join(f"{r:>11,.0f}x" for r in django_over_feeds))
        for note in notes:
            print("note:", note)
        return 0 if ok else 1
    finally:
        for s in servers:
            s.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
