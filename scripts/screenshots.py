"""Make the README's pictures: the front page and a feed preview, as a browser shows them.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--chromium /usr/bin/chromium]

Ingests ``sample_articles/`` into a scratch SQLite store in a temporary folder,
builds, serves it with ``feeds serve`` on a free port, and photographs ``/`` and
``/feeds/world.rss`` (opened as a browser opens it, so the preview) with Playwright
driving the system's Chromium, JavaScript on, 1000 px wide, and a preview as a phone
in dark mode shows it. Needs the test extra
(``pip install -e '.[test]'``) and Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# file -> (path, viewport, colour scheme): the two pages on a desktop, and a preview on a phone at night
SHOTS = {
    "front.png": ("", {"width": 1000, "height": 900}, "light"),
    "preview.png": ("feeds/world.rss", {"width": 1000, "height": 900}, "light"),
    "preview-phone-dark.png": ("feeds/all.atom", {"width": 360, "height": 740}, "dark"),
}
PUBLIC_URL = "https://feeds.harbourgazette.example/"  # what the pictures show as the address to subscribe to


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _feeds(*args: str, env: dict[str, str], cwd: Path) -> None:
    subprocess.run([sys.executable, "-m", "feeds", *args], env=env, cwd=cwd, check=True, stdout=subprocess.DEVNULL)


def _wait_until_served(url: str, server: subprocess.Popen[bytes], timeout: float = 30) -> None:
    """Poll the front page until it answers 200 (the server is up and has read the build)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"feeds serve exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.1)
    raise SystemExit(f"{url} did not answer within {timeout:g} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="feeds-shots-") as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "config", work / "config")
        port = _free_port()
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p),
            "FEEDS_CONFIG_DIR": str(work / "config"),
            "FEEDS_INSTANCE_DIR": str(work / "instance"),
            "FEEDS_ARTICLES_DIR": str(ROOT / "sample_articles"),
            "FEEDS_PUBLIC_URL": PUBLIC_URL,
            "DATABASE_URL": f"sqlite:///{work / 'feeds.db'}",
        }
        _feeds("ingest", env=env, cwd=work)
        _feeds("build", env=env, cwd=work)
        server = subprocess.Popen([sys.executable, "-m", "feeds", "serve", "--port", str(port)], env=env, cwd=work,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}/"
        try:
            _wait_until_served(base, server)
            args.out.mkdir(parents=True, exist_ok=True)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=args.chromium)
                for name, (path, viewport, scheme) in SHOTS.items():
                    page = browser.new_page(viewport=viewport, color_scheme=scheme)  # type: ignore[arg-type]
                    page.goto(base + path)
                    page.screenshot(path=str(args.out / name))
                    page.close()
                    print(f"{args.out / name}: {base}{path}")
                browser.close()
        finally:
            server.terminate()
            server.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
