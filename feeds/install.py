"""Is this install whole? Checked once when a command starts, before any work.

A package missing from the environment (a resolver that skipped an optional
extra, an old pip, a hand-edited lock) used to surface late and quietly: the
ingester logged a traceback per page and published a third of them, the web
process died in its worker's import. Each command instead imports, up front, the
modules its code paths will need, and a failure stops it with one line naming
the package and the fix (exit status 2, like a configuration error).

The table names *modules the code imports* (including the deep ones a
dependency imports lazily, such as ``lxml.html.clean`` for trafilatura's
jusText, and the web server's worker), each with the distribution that
provides it; ``tests/test_install.py`` keeps it in step with ``pyproject.toml``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

# part -> ((module to import, distribution that provides it), ...)
NEEDS: dict[str, tuple[tuple[str, str], ...]] = {
    "ingest": (
        ("lxml.html", "lxml"),
        ("lxml.cssselect", "cssselect"),
        ("lxml.html.clean", "lxml_html_clean"),  # trafilatura's jusText imports it; lxml 5.2+ ships it apart
        ("trafilatura", "trafilatura"),
        ("nh3", "nh3"),
        ("charset_normalizer", "charset-normalizer"),
        ("dateutil.parser", "python-dateutil"),
        ("tqdm", "tqdm"),
    ),
    "store": (
        ("sqlalchemy", "SQLAlchemy"),
        ("alembic.command", "alembic"),
        ("psycopg", "psycopg"),
    ),
    "build": (
        ("feedgen.feed", "feedgen"),
        ("jinja2", "Jinja2"),  # the HTML previews and front page (feeds.publish.preview)
    ),
    "clock": (("apscheduler.schedulers.background", "APScheduler"),),
    "web": (
        ("flask", "Flask"),
        ("granian", "granian"),  # the HTTP server (feeds.web.server)
    ),
}
FIX = "install the locked set: pip install -r requirements.txt"


class BrokenInstall(Exception):
    """A module a command needs does not import; ``str()`` is the one line to print."""


def check(parts: Iterable[str]) -> None:
    """Import what ``parts`` need; raise :class:`BrokenInstall` naming the first that fails."""
    for part in parts:
        for module, distribution in NEEDS[part]:
            try:
                importlib.import_module(module)
            except ImportError as exc:
                reason = " ".join(str(exc).split())  # one line, whatever the message holds
                raise BrokenInstall(
                    f"broken install: package {distribution} is missing or broken ({module}: {reason}); {FIX}"
                ) from None
