#!/usr/bin/env python3
"""Serving at nginx's level? The Procfile's own web line against nginx, side by side, in one run.

- **feeds**: the Procfile's ``web`` line as a platform runs it (``WEB_CONCURRENCY=1``,
  ``PORT``), on a SQLite store holding the repository's sample articles, built;
- **nginx**: the same bytes of the all-sections RSS feed as static files, with
  ``gzip_static`` for the prepared gzip twin (one worker process);
- for reference, not as a target, **nginx with sendfile off**: the same, but
  copying each body through user space into the socket, as any server must that
  holds the bodies in memory (Granian copies each one once more, from the
  Python bytes into its own buffer); where feeds trails nginx on 200s and
  matches it on 304s, this row shows how much of the gap is nginx's zero-copy
  ``sendfile``.

Both are pinned to CPU 0 (``taskset``), the load generator to CPU 1, on 127.0.0.1.
What is measured, with the targets of issue 10:

1. req/s for plain GET, gzip GET and conditional GET (304) of ``/feeds/all.rss``,
   wrk with ``--connections`` keep-alive connections, best of ``--rounds``
   interleaved rounds: feeds >= 0.9 x nginx on each. Shared virtual machines
   slow a process down by a fifth or more for seconds at a time, so many short
   rounds, the servers taking turns, find each one's capacity better than a few
   long ones; the median of the rounds' ratios is printed beside, for the spread;
2. a burst of ``--burst`` concurrent connections sending If-None-Match:
   feeds >= 0.9 x nginx, no socket error, no 5xx (on either);
3. a publish while feeds is under that 304 load (an article edited, the feeds
   rebuilt, the web process swapping the new documents in): no error, and the
   new document served by the end;
4. the latency of a reader's 304s (a poller at ~200 req/s on CPU 1) while a CMS
   pushes 10 pages a second through the push API: p99 < 20 ms (and without the
   pushes, for scale); the Procfile's clock runs beside, as deployed;
5. the resident memory of the web worker process after all of that: < 120 MB;
6. the same reader's 304 latency while 5,000 other connections sit idle or
   have sent half their headers (slowloris): p99 < 50 ms.

    python bench/serve_bench.py [--duration 2] [--rounds 10] [--connections 64] [--burst 1000]

Needs wrk and nginx (Debian packages). Exit status 0 when every target is met, 1 if not.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
KINDS = ("plain", "gzip", "304")
FEED = "/feeds/all.rss"
TOKEN = "bench-token"
TARGET_RATIO = 0.9
TARGET_P99_MS = 20.0
TARGET_RSS_MB = 120.0
TARGET_HELD_P99_MS = 50.0
HELD = 5000  # idle and slowloris connections held open at once


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET",
            body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def wait_up(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"bench: {what} exited with {proc.returncode}")
        try:
            if request(port, FEED)[0] == 200:
                return
        except OSError:
            time.sleep(0.1)  # polling a port that is not up yet
    raise SystemExit(f"bench: {what} not serving {FEED} after {timeout:g}s")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen[bytes]
    etag: str = ""
    samples: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in (*KINDS, "burst")})

    def best(self, kind: str) -> float:
        return max(self.samples[kind], default=0.0)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def project_env(tmp: Path, port: int) -> dict[str, str]:
    """A project folder beside the repository's config, its store filled with the
    sample articles and the feeds built; returns the environment that points at it."""
    shutil.copytree(ROOT / "config", tmp / "config")
    shutil.copytree(ROOT / "sample_articles", tmp / "articles")
    env = {
        **os.environ,
        "FEEDS_CONFIG_DIR": str(tmp / "config"),
        "FEEDS_INSTANCE_DIR": str(tmp / "instance"),
        "FEEDS_ARTICLES_DIR": str(tmp / "articles"),
        "FEEDS_PUBLIC_URL": f"http://127.0.0.1:{port}/",
        "FEEDS_INGEST_TOKEN": TOKEN,
        "FEEDS_REBUILD_INTERVAL": "1",
        "FEEDS_SCAN_INTERVAL": "3600",
        "PORT": str(port),
        "WEB_CONCURRENCY": "1",
    }
    for step in (["ingest"], ["build"]):
        subprocess.run([PY, "-m", "feeds", *step], cwd=ROOT, env=env, check=True, capture_output=True)
    return env


def procfile(kind: str) -> str:
    line = next(x for x in (ROOT / "Procfile").read_text().splitlines() if x.startswith(f"{kind}: "))
    # The platform's python is this interpreter; servers here bind 127.0.0.1 only.
    return line.removeprefix(f"{kind}: ").replace("python ", f"{PY} ", 1).replace("0.0.0.0", "127.0.0.1")


def start(line: str, env: dict[str, str], cpu: str | None, log: Path) -> subprocess.Popen[bytes]:
    pin = f"taskset -c {cpu} " if cpu is not None else ""
    return subprocess.Popen(["bash", "-c", f"exec {pin}{line}"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=log.open("wb"), stderr=subprocess.STDOUT)


def nginx_line(root: Path, port: int, tmp: Path, *, sendfile: bool = True) -> str:
    tmp.mkdir(exist_ok=True)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
daemon off;
user root;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
worker_rlimit_nofile 8192;
events {{ worker_connections 4096; }}
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
    sendfile {"on" if sendfile else "off"};
    tcp_nopush on;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {root};
        gzip_static on;
        gzip_vary on;
        add_header Cache-Control "public, max-age=300";
    }}
}}
""")
    return f"nginx -c {conf} -p {tmp}"


def process_tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and its children."""
    pids = [pid]
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    pids += [int(p) for p in children]
    ticks = 0
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            ticks += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


def settle(servers: list[Server], timeout: float = 20.0) -> None:
    """Wait until the servers are idle, so no one's tail runs in the next one's measurement."""
    deadline = time.monotonic() + timeout
    before = sum(process_tree_cpu(s.proc.pid) for s in servers)
    while time.monotonic() < deadline:
        time.sleep(0.25)  # a sampling interval: CPU time moves in clock ticks
        now = sum(process_tree_cpu(s.proc.pid) for s in servers)
        if now - before < 0.02:
            return
        before = now


@dataclass
class WrkResult:
    rate: float
    problems: list[str]


def wrk(port: int, headers: dict[str, str], connections: int, duration: int, cpu: str) -> WrkResult:
    cmd = ["taskset", "-c", cpu, "wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--timeout", "10s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    run = subprocess.run([*cmd, f"http://127.0.0.1:{port}{FEED}"], capture_output=True, text=True,
                         timeout=duration + 60)
    out = run.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    problems = re.findall(r"(Non-2xx or 3xx responses: \d+|Socket errors: .*)", out)
    if rate is None:
        return WrkResult(0.0, [f"wrk failed: {run.stderr.strip() or out.strip()}"])
    return WrkResult(float(rate.group(1)), problems)


def headers_for(kind: str, server: Server) -> dict[str, str]:
    if kind == "gzip":
        return {"Accept-Encoding": "gzip"}
    if kind in ("304", "burst"):
        return {"If-None-Match": server.etag}
    return {}


def publish_during_load(feeds: Server, env: dict[str, str], args: argparse.Namespace) -> list[str]:
    """An edited article rebuilt while wrk polls for 304s: every answer a 200 or a 304."""
    page = Path(env["FEEDS_ARTICLES_DIR"]) / "ld-drone-lifeboat-trial.html"
    result: list[WrkResult] = []
    load = threading.Thread(target=lambda: result.append(
        wrk(feeds.port, {"If-None-Match": feeds.etag}, args.connections, args.duration + 2, args.client_cpu)))
    load.start()
    time.sleep(1)
    page.write_text(page.read_text(encoding="utf-8").replace("swimmers", "swimmers and kayakers"), encoding="utf-8")
    written = time.time() - 10  # a page written moments ago may be half-written: the scan would defer it
    os.utime(page, (written, written))
    for step in (["ingest"], ["build"]):
        subprocess.run([PY, "-m", "feeds", *step], cwd=ROOT, env=env, check=True, capture_output=True)
    load.join()
    problems = list(result[0].problems)
    deadline = time.monotonic() + 10
    while request(feeds.port, FEED)[1].get("etag") == feeds.etag:
        if time.monotonic() > deadline:
            problems.append("the web process still serves the old document 10 s after the publish")
            break
        time.sleep(0.1)  # the web process follows the database every 2 s
    return problems


def poll_latencies(port: int, etag: str, seconds: float, interval: float = 0.005) -> list[float]:
    """A reader's conditional GETs on one kept-alive connection, every ``interval`` s; milliseconds each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        conn.request("GET", FEED, headers={"If-None-Match": etag})
        resp = conn.getresponse()
        resp.read()
        latencies.append((time.perf_counter() - t0) * 1000)
        if resp.status not in (200, 304):
            raise SystemExit(f"bench: a poll answered {resp.status}")
        time.sleep(max(0.0, interval - (time.perf_counter() - t0)))
    conn.close()
    return sorted(latencies)


def pushes(port: int, per_second: float, stop: threading.Event, statuses: list[int]) -> None:
    """A CMS pushing new pages at a steady rate."""
    page = (ROOT / "sample_articles" / "ld-drone-lifeboat-trial.html").read_bytes()
    n = 0
    while not stop.is_set():
        t0 = time.monotonic()
        body = page.replace(b"lifeboat-crew-trials-drone", b"bench-push-%d-lifeboat-drone" % n)
        status, _, _ = request(port, "/api/articles", {"Authorization": f"Bearer {TOKEN}",
                                                       "Content-Type": "text/html"}, "POST", body)
        statuses.append(status)
        n += 1
        stop.wait(max(0.0, 1 / per_second - (time.monotonic() - t0)))


def hold_connections(port: int, count: int) -> list[socket.socket]:
    """``count`` connections that never finish a request: half idle, half slowloris (headers begun)."""
    held = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        if n % 2:
            sock.sendall(b"GET /feeds/all.rss HTTP/1.1\r\nHost: bench\r\nX-Slow: ")
        held.append(sock)
    return held


def median_ratio(ours: list[float], theirs: list[float]) -> float:
    """The median of round-by-round ratios: each round's pair ran a few seconds apart."""
    ratios = sorted(a / b for a, b in zip(ours, theirs, strict=True) if b)
    return ratios[len(ratios) // 2] if ratios else 0.0


def p99(latencies: list[float]) -> float:
    return latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]


def worker_rss_mb(master: int) -> float:
    """Resident memory of the web worker: the Python process that holds the listening socket's app."""
    rss = []
    for pid in subprocess.run(["pgrep", "-f", "multiprocessing.spawn", "-s", str(os.getpgid(master))],
                              capture_output=True, text=True).stdout.split():
        status = Path(f"/proc/{pid}/status").read_text()
        found = re.search(r"VmRSS:\s+(\d+) kB", status)
        if found:
            rss.append(int(found.group(1)) / 1024)
    return max(rss, default=0.0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=int, default=2, help="seconds per wrk run (default 2)")
    ap.add_argument("--rounds", type=int, default=10, help="interleaved rounds; the best of each is kept (default 10)")
    ap.add_argument("--connections", type=int, default=64, help="wrk connections (default 64)")
    ap.add_argument("--burst", type=int, default=1000, help="connections in the burst (default 1000)")
    ap.add_argument("--server-cpu", default="0")
    ap.add_argument("--client-cpu", default="1")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    for tool in ("wrk", "nginx", "taskset"):
        if shutil.which(tool) is None:
            print(f"bench: {tool} not found (apt-get install -y wrk nginx util-linux)", file=sys.stderr)
            return 2

    tmp = Path(tempfile.mkdtemp(prefix="serve-bench-"))
    tmp.chmod(0o755)
    servers: list[Server] = []
    clock = None
    try:
        port = free_port()
        env = project_env(tmp / "project", port)
        feeds = Server("feeds", port, start(procfile("web"), env, args.server_cpu, tmp / "web.log"))
        servers.append(feeds)
        wait_up(feeds.port, feeds.proc, "the Procfile's web line")
        _, headers, body = request(feeds.port, FEED)
        _, _, zbody = request(feeds.port, FEED, {"Accept-Encoding": "gzip"})
        static = tmp / "static" / "feeds"
        static.mkdir(parents=True)
        (static / "all.rss").write_bytes(body)
        (static / "all.rss.gz").write_bytes(zbody)
        feeds.etag = headers["etag"]
        nginx_port = free_port()
        ngx = Server("nginx", nginx_port, start(nginx_line(tmp / "static", nginx_port, tmp), env, args.server_cpu,
                                                tmp / "nginx.log"))
        servers.append(ngx)
        wait_up(ngx.port, ngx.proc, "nginx")
        ngx.etag = request(ngx.port, FEED)[1]["ETag"]
        copying_port = free_port()
        copying = Server("nginx, sendfile off", copying_port,
                         start(nginx_line(tmp / "static", copying_port, tmp / "copying", sendfile=False), env,
                               args.server_cpu, tmp / "nginx-copying.log"))
        servers.append(copying)
        wait_up(copying.port, copying.proc, "nginx with sendfile off")
        copying.etag = request(copying.port, FEED)[1]["ETag"]
        for server in servers:
            assert request(server.port, FEED, {"If-None-Match": server.etag})[0] == 304, server.name

        print(f"feed: {FEED}, {len(body):,} bytes ({len(zbody):,} gzipped), {body.count(b'<item>')} items")
        print(f"feeds: Procfile web line `{procfile('web')}`, WEB_CONCURRENCY=1; nginx: 1 worker, gzip_static "
              f"(and again with sendfile off); all on CPU {args.server_cpu}; wrk -t1 on CPU {args.client_cpu}, 127.0.0.1")
        print(f"steady: {args.connections} connections, {args.duration}s a run; burst: {args.burst} connections "
              f"with If-None-Match; best of {args.rounds} interleaved rounds")
        print()
        notes: list[str] = []
        for server in servers:
            wrk(server.port, {}, args.connections, 1, args.client_cpu)  # warm-up
        for _ in range(args.rounds):
            for kind in (*KINDS, "burst"):
                for server in servers:
                    settle(servers)
                    connections = args.burst if kind == "burst" else args.connections
                    result = wrk(server.port, headers_for(kind, server), connections, args.duration, args.client_cpu)
                    server.samples[kind].append(result.rate)
                    notes += [f"{server.name} {kind}: {p}" for p in result.problems]

        ok = not notes
        width = 34
        kinds = (*KINDS, "burst")
        print(f"{f'req/s, best of {args.rounds}':<{width}}" + "".join(f"{k:>12}" for k in (*KINDS, "burst 304")))
        for server in servers:
            print(f"{server.name:<{width}}" + "".join(f"{server.best(k):>12,.0f}" for k in kinds))
        ratios = [feeds.best(k) / (ngx.best(k) or 1) for k in kinds]
        met = all(r >= TARGET_RATIO for r in ratios)
        ok &= met
        print(f"{'feeds / nginx':<{width}}" + "".join(f"{r:>12.2f}" for r in ratios)
              + f"   target >= {TARGET_RATIO}: {'met' if met else 'NOT MET'}")
        print(f"{'  median of the rounds':<{width}}"
              + "".join(f"{median_ratio(feeds.samples[k], ngx.samples[k]):>12.2f}" for k in kinds))
        print(f"{'nginx sendfile off / nginx':<{width}}"
              + "".join(f"{copying.best(k) / (ngx.best(k) or 1):>12.2f}" for k in kinds) + "   (reference)")
        print()

        settle(servers)
        problems = publish_during_load(feeds, env, args)
        ok &= not problems
        print("publish under 304 load: " + ("no error, new document served" if not problems else "; ".join(problems)))
        feeds.etag = request(feeds.port, FEED)[1]["etag"]

        clock = start(procfile("clock"), env, None, tmp / "clock.log")
        settle(servers)
        quiet = poll_latencies(feeds.port, feeds.etag, args.duration * 2)
        stop, statuses = threading.Event(), []
        pusher = threading.Thread(target=pushes, args=(feeds.port, 10.0, stop, statuses))
        pusher.start()
        try:
            busy = poll_latencies(feeds.port, feeds.etag, args.duration * 2)
        finally:
            stop.set()
            pusher.join()
        accepted = sum(s in (200, 201, 202) for s in statuses)
        met = p99(busy) < TARGET_P99_MS and accepted == len(statuses)
        ok &= met
        print(f"304 latency, {len(busy)} polls: p50 {busy[len(busy) // 2]:.2f} ms, p99 {p99(busy):.2f} ms, "
              f"max {busy[-1]:.1f} ms with {len(statuses)} pushes at 10/s ({accepted} accepted); "
              f"without pushes p99 {p99(quiet):.2f} ms; target p99 < {TARGET_P99_MS:g} ms: {'met' if met else 'NOT MET'}")

        rss = worker_rss_mb(feeds.proc.pid)
        met = 0 < rss < TARGET_RSS_MB
        ok &= met
        print(f"web worker resident memory: {rss:.0f} MB; target < {TARGET_RSS_MB:g} MB: {'met' if met else 'NOT MET'}")

        settle(servers)
        held = hold_connections(feeds.port, HELD)
        try:
            # within client_timeout (10 s), before the server closes them
            crowded = poll_latencies(feeds.port, feeds.etag, 5)
            held_rss = worker_rss_mb(feeds.proc.pid)
        finally:
            for sock in held:
                sock.close()
        met = p99(crowded) < TARGET_HELD_P99_MS
        ok &= met
        print(f"304 latency with {HELD:,} idle and slowloris connections held: p50 {crowded[len(crowded) // 2]:.2f} ms, "
              f"p99 {p99(crowded):.2f} ms (worker memory meanwhile {held_rss:.0f} MB); "
              f"target p99 < {TARGET_HELD_P99_MS:g} ms: {'met' if met else 'NOT MET'}")
        for note in notes:
            print("problem:", note)
        return 0 if ok else 1
    finally:
        if clock is not None and clock.poll() is None:
            os.killpg(clock.pid, signal.SIGTERM)
            clock.wait(20)
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
