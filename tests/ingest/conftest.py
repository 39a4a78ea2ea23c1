"""Shared fixtures: settings from the repository's config folder, pages from tests/ingest/pages."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from feeds.config import load_settings

ROOT = Path(__file__).resolve().parents[2]
PAGES = Path(__file__).resolve().parent / "pages"
FALLBACK = datetime(2026, 1, 1, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def settings():
    return load_settings({"FEEDS_CONFIG_DIR": str(ROOT / "config")})


@pytest.fixture
def ingest(settings):
    """ingest_page with the test settings and a fixed fallback time."""
    from feeds.ingest import ingest_page

    def run(data: bytes | str, source: str = "file:test/page.html", **kw):
        if isinstance(data, str):
            data = data.encode("utf-8")
        kw.setdefault("settings", settings)
        return ingest_page(data, source=source, fallback_time=FALLBACK, **kw)
    return run


@pytest.fixture
def page_bytes():
    """The bytes of a page under tests/ingest/pages."""
    return lambda name: (PAGES / name).read_bytes()


@pytest.fixture
def fallback_time():
    return FALLBACK
