"""`feeds ingest` at scale: pages per second, cores used, and memory as the folder grows.

Builds folders of N article pages (the sample articles, each copy given its own
canonical URL so every page is a new article), runs ``feeds ingest`` on each in
a fresh SQLite store, and samples the whole process tree's resident memory
while it runs. Printed side by side for each size:

- pages/s (wall clock),
- CPU use = (user + system time of the tree, sampled) / wall time: ~2.0 means both cores busy,
- peak RSS of the tree, and its ratio to the smallest run's: flat memory stays near 1.

    python bench/ingest_bench.py                     # 1,000 and 10,000 pages
    python bench/ingest_bench.py --sizes 500 2000 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CANONICAL = re.compile(rb"https://harbourgazette\.example/")


def make_folder(folder: Path, count: int) -> None:
    samples = sorted((ROOT / "sample_articles").glob("*.html"))
    blobs = [p.read_bytes() for p in samples]
    for n in range(count):
        data = CANONICAL.sub(b"https://harbourgazette.example/copy%d/" % n, blobs[n % len(blobs)])
        sub = folder / f"{n // 1000:03}"
        sub.mkdir(parents=True, exist_ok=True)
        page = sub / f"{n:06}-{samples[n % len(samples)].name}"
        page.write_bytes(data)
        os.utime(page, (time.time() - 60,) * 2)  # finished files: the scan defers pages modified moments ago


def tree(pid: int) -> list[int]:
    """``pid`` and all its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as fh:
                fields = fh.read().rsplit(b")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(entry))
        except (OSError, IndexError):
            continue
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        found.append(p)
        stack.extend(children.get(p, []))
    return found


def usage(pid: int) -> tuple[int, float] | None:
    """(resident bytes, CPU seconds so far) of one process, or None if it is gone."""
    try:
        with open(f"/proc/{pid}/statm") as fh:
            rss = int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return rss, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError):
        return None


def run(count: int, jobs: int | None) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="feeds-ingest-bench-") as tmp:
        folder = Path(tmp, "articles")
        make_folder(folder, count)
        env = os.environ | {
            "FEEDS_CONFIG_DIR": str(ROOT / "config"),
            "FEEDS_ARTICLES_DIR": str(folder),
            "FEEDS_INSTANCE_DIR": str(Path(tmp, "instance")),
        }
        env.pop("DATABASE_URL", None)
        cmd = [sys.executable, "-m", "feeds", "ingest"] + (["--jobs", str(jobs)] if jobs else [])
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        peak = 0
        cpu_seen: dict[int, float] = {}  # CPU seconds last seen per process of the tree
        done = threading.Event()

        def sample() -> None:
            # Pool workers are children of the forkserver, not of this process, so
            # getrusage cannot see them: read every process of the tree from /proc.
            nonlocal peak
            while not done.wait(0.1):
                rss = 0
                for pid in tree(proc.pid):
                    seen = usage(pid)
                    if seen is not None:
                        rss += seen[0]
                        cpu_seen[pid] = seen[1]
                peak = max(peak, rss)

        sampler = threading.Thread(target=sample)
        sampler.start()
        out, err = proc.communicate()
        wall = time.perf_counter() - start
        done.set()
        sampler.join()
        if proc.returncode != 0:
            sys.exit(f"feeds ingest failed ({proc.returncode}): {err.decode()[-500:]}")
        cpu = sum(cpu_seen.values())
        summary = out.decode().strip().splitlines()[-1]
        if not summary.startswith(f"ingested {count},"):
            sys.exit(f"unexpected summary for {count} pages: {summary}")
        return {"pages": count, "wall": wall, "pps": count / wall, "cpu": cpu / wall, "peak": peak / 2**20}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--jobs", type=int, help="worker processes (default: one per core)")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}  jobs: {args.jobs or 'one per core'}")
    print(f"{'pages':>7} {'wall s':>8} {'pages/s':>8} {'CPU use':>8} {'peak RSS MiB':>13} {'RSS vs first':>13}")
    first = None
    for size in args.sizes:
        r = run(size, args.jobs)
        first = first or r["peak"]
        print(f"{r['pages']:>7} {r['wall']:>8.1f} {r['pps']:>8.1f} {r['cpu']:>8.2f} {r['peak']:>13.0f} {r['peak'] / first:>13.2f}")


if __name__ == "__main__":
    main()
