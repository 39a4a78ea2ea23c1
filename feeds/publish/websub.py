"""WebSub: tell the hub which feeds changed after a publish (``hub.mode=publish``).

Feeds carry ``rel="hub"`` and ``rel="self"`` links (see :mod:`feeds.publish.render`);
subscribers register with the hub, and the hub fetches a feed and pushes it to
them when we ping it. One POST per changed feed URL (the form every hub
accepts), each with a short timeout: a slow or absent hub is logged, never
raised, and never holds up serving.

Web processes follow the database with a short poll (``DocumentCache``), so a
ping from another process (``feeds build``, the ``clock``) waits that long
first: the hub's fetch must see the new bytes, not the old ones.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable

from feeds.publish.catalog import FORMATS, is_archive
from feeds.config import Settings

log = logging.getLogger(__name__)

TIMEOUT = 5.0
BUDGET = 30.0  # seconds for one batch of pings; a hanging hub cannot hold a build for minutes
# Seconds a ping from a process without the web cache waits: more than
# DocumentCache's poll_interval (2 s), so every web process serves the new bytes.
GRACE = 2.5
USER_AGENT = "feeds-websub/1 (+https://www.w3.org/TR/websub/)"


def changed_feed_urls(settings: Settings, changed: Iterable[str], removed: Iterable[str] = ()) -> list[str]:
    """Public URLs of the feeds among ``changed`` document paths (not OPML, not removed ones,
    not archive pages: a hub's subscribers follow the subscription documents)."""
    gone = set(removed)
    suffixes = tuple("." + fmt for fmt in FORMATS)
    return [
        settings.base_url + path
        for path in changed
        if path.startswith("feeds/") and path.endswith(suffixes) and path not in gone and not is_archive(path)
    ]


def ping(hub_url: str, urls: Iterable[str], timeout: float = TIMEOUT) -> dict[str, str]:
    """POST ``hub.mode=publish&hub.url=<url>`` for each URL; ``{url: "ok" | problem}``.

    Each request has ``timeout``; once the batch has taken ``BUDGET`` seconds the
    remaining URLs are skipped (the hub polls anyway, and the next publish pings again).
    """
    results: dict[str, str] = {}
    deadline = time.monotonic() + BUDGET
    for url in urls:
        if time.monotonic() > deadline:
            results[url] = "skipped: the hub is too slow"
            continue
        data = urllib.parse.urlencode({"hub.mode": "publish", "hub.url": url}).encode("ascii")
        request = urllib.request.Request(
            hub_url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": USER_AGENT},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                response.read(65536)
                results[url] = "ok" if 200 <= response.status < 300 else f"HTTP {response.status}"
        except urllib.error.HTTPError as exc:
            results[url] = f"HTTP {exc.code}"
        except (OSError, ValueError) as exc:  # URLError, timeouts, refused connections
            results[url] = f"{exc.__class__.__name__}: {getattr(exc, 'reason', exc)}"
    failed = {u: r for u, r in results.items() if r != "ok"}
    if failed:
        reasons: dict[str, list[str]] = {}
        for url, reason in sorted(failed.items()):
            reasons.setdefault(reason, []).append(url)
        detail = "; ".join(f"{reason} ({urls[0]}{f' and {len(urls) - 1} more' if len(urls) > 1 else ''})"
                           for reason, urls in reasons.items())
        log.warning("websub: hub %s did not accept %d of %d ping(s): %s", hub_url, len(failed), len(results), detail)
    elif results:
        log.info("websub: pinged %s for %d feed(s)", hub_url, len(results))
    return results


def notify(
    settings: Settings,
    changed: Iterable[str],
    removed: Iterable[str] = (),
    *,
    delay: float = 0.0,
    background: bool = False,
) -> threading.Thread | dict[str, str] | None:
    """Ping the configured hub for the changed feeds; nothing without ``hub_url``.

    ``delay``: seconds to wait first, so that web processes polling the database
    serve the new bytes before the hub fetches. ``background``: do it in a daemon
    thread (returned) instead of the caller's.
    """
    urls = changed_feed_urls(settings, changed, removed)
    if not settings.hub_url or not urls:
        return None
    hub = settings.hub_url

    def run() -> dict[str, str]:
        if delay > 0:
            time.sleep(delay)  # a grace period for other processes, not synchronisation
        return ping(hub, urls)

    if not background:
        return run()
    thread = threading.Thread(target=run, name="websub-ping", daemon=True)
    thread.start()
    return thread
