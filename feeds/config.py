"""Settings from ``config/*.toml``, overridden by the environment (twelve-factor).

Every setting can come from ``config/settings.toml`` or from ``FEEDS_<NAME>``;
``PORT`` and ``DATABASE_URL`` are honoured as PaaS providers set them. Each
value is validated once at start-up, and a bad one raises :class:`ConfigError`
naming where it came from, so an operator sees one line, not a traceback.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from feeds.limits import MAX_SECTION
from feeds.slugs import fold


class ConfigError(Exception):
    """A setting is missing or wrong; ``str()`` is the one line to print."""

    def __init__(self, source: str, key: str, problem: str) -> None:
        super().__init__(f"{source}: {key}: {problem}")
        self.source, self.key, self.problem = source, key, problem


SLUG_RE = re.compile(rf"^[a-z0-9](?:[a-z0-9-]{{0,{MAX_SECTION - 2}}}[a-z0-9])?$")  # at most MAX_SECTION
RESERVED_SLUGS = frozenset({"all", "topics", "authors"})  # the all-sections feed, and the topic and author folders


@dataclass(frozen=True)
class Section:
    """A section of the site, with one feed per format at ``/feeds/<slug>.*``."""

    slug: str
    title: str
    description: str = ""
    aliases: tuple[str, ...] = ()
    old_slugs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Named:
    """A configured topic or author: its slug, the title its feed shows, and the labels
    (tags, or byline spellings) that are it; each label is folded to a slug to match."""

    slug: str
    title: str
    description: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Names:
    """``config/topics.toml`` or ``config/authors.toml``: configured entries, merged labels,
    a deny-list and the number of articles before a feed is published."""

    entries: tuple[Named, ...] = ()
    deny: frozenset[str] = frozenset()
    min_articles: int = 1
    merged: tuple[tuple[str, str], ...] = ()  # (folded label, slug), from the aliases

    def __post_init__(self) -> None:
        object.__setattr__(self, "_merged", dict(self.merged))  # a tuple keeps Settings hashable

    def slug_of(self, label: str) -> str | None:
        """The feed slug a label belongs to, or None (nothing left after folding, or denied)."""
        folded = fold(label)
        slug = self._merged.get(folded, folded)  # type: ignore[attr-defined]
        return slug if slug and slug not in self.deny else None

    def entry(self, slug: str) -> Named | None:
        return next((e for e in self.entries if e.slug == slug), None)

    def fingerprint(self) -> str:
        return repr((sorted(self.merged), sorted(self.deny), self.min_articles,
                     [(e.slug, e.title, e.description) for e in self.entries]))


@dataclass(frozen=True)
class Settings:
    """Validated settings; field metadata names the parser used for env/TOML values."""

    title: str = field(default="Newsroom Feeds", metadata={"parse": "str"})
    site_url: str = field(default="https://news.example.com/", metadata={"parse": "url"})
    public_url: str = field(default="", metadata={"parse": "url_or_empty"})
    language: str = field(default="en", metadata={"parse": "language"})
    items_per_feed: int = field(default=50, metadata={"parse": "int", "min": 1, "max": 1000})
    archive_max_age: int = field(default=86400, metadata={"parse": "int", "min": 0, "max": 31536000})
    scan_interval: int = field(default=60, metadata={"parse": "int", "min": 1, "max": 86400})
    rebuild_interval: int = field(default=30, metadata={"parse": "int", "min": 1, "max": 86400})
    cache_max_age: int = field(default=300, metadata={"parse": "int", "min": 0, "max": 86400})
    max_feed_age: int = field(default=0, metadata={"parse": "int", "min": 0, "max": 31536000})
    lease_interval: int = field(default=10, metadata={"parse": "int", "min": 1, "max": 600})
    client_timeout: int = field(default=10, metadata={"parse": "int", "min": 1, "max": 60})
    web_cache_mb: int = field(default=32, metadata={"parse": "int", "min": 0, "max": 65536})
    articles_dir: Path = field(default=Path("sample_articles"), metadata={"parse": "path"})
    instance_dir: Path = field(default=Path("instance"), metadata={"parse": "path"})
    database_url: str = field(default="", metadata={"parse": "database_url"})
    unknown_section: str = field(
        default="default", metadata={"parse": "choice", "choices": ("default", "create")}
    )
    default_section: str = field(default="news", metadata={"parse": "slug"})
    hub_url: str = field(default="", metadata={"parse": "endpoint_or_empty"})
    ingest_token: str = field(default="", metadata={"parse": "str"})
    host: str = field(default="127.0.0.1", metadata={"parse": "str"})
    port: int = field(default=8000, metadata={"parse": "int", "min": 1, "max": 65535})
    config_dir: Path = field(default=Path("config"), metadata={"parse": "path"})
    sections: tuple[Section, ...] = field(default=(), metadata={"parse": None})
    topics: Names = field(default=Names(min_articles=2), metadata={"parse": None})
    authors: Names = field(default=Names(), metadata={"parse": None})

    @property
    def database(self) -> str:
        """The SQLAlchemy URL: ``DATABASE_URL``, else a SQLite file in the instance folder."""
        return self.database_url or f"sqlite:///{self.instance_dir / 'feeds.db'}"

    @property
    def base_url(self) -> str:
        """Where this service is reachable, for self links; defaults to the local server."""
        return self.public_url or f"http://{self.host}:{self.port}/"

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)


def _parse_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(f"must be an absolute http(s) URL (got {value!r})")
    return value if value.endswith("/") else value + "/"


def _parse_endpoint(value: str) -> str:
    """An absolute http(s) URL taken as given: an endpoint, so no slash is added."""
    _parse_url(value)
    return value


def _parse_database_url(value: str) -> str:
    if not value:
        return ""
    scheme = value.split(":", 1)[0]
    if scheme == "postgres":  # Heroku-style URLs; SQLAlchemy wants the full name.
        return "postgresql+psycopg" + value[len("postgres") :]
    if scheme == "postgresql":
        return "postgresql+psycopg" + value[len("postgresql") :]
    if scheme.startswith(("sqlite", "postgresql+")):
        return value
    raise ValueError(f"must be a sqlite:// or postgres(ql):// URL (got scheme {scheme!r})")


def _parse_value(f: Any, raw: Any) -> Any:
    kind = f.metadata["parse"]
    if kind == "int":
        if isinstance(raw, bool) or not isinstance(raw, (int, str)):
            raise ValueError(f"must be an integer (got {raw!r})")
        try:
            value = int(raw)
        except ValueError:
            raise ValueError(f"must be an integer (got {raw!r})") from None
        lo, hi = f.metadata["min"], f.metadata["max"]
        if not lo <= value <= hi:
            raise ValueError(f"must be between {lo} and {hi} (got {value})")
        return value
    if not isinstance(raw, str):
        raise ValueError(f"must be a string (got {raw!r})")
    parsers: dict[str, Callable[[str], Any]] = {
        "str": lambda v: v,
        "url": _parse_url,
        "url_or_empty": lambda v: _parse_url(v) if v else "",
        "endpoint_or_empty": lambda v: _parse_endpoint(v) if v else "",
        "database_url": _parse_database_url,
        "path": Path,
        "language": _parse_language,
        "slug": _parse_slug,
        "choice": lambda v: _parse_choice(v, f.metadata["choices"]),
    }
    return parsers[kind](raw.strip() if kind != "str" else raw)


def _parse_language(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ValueError(f"must be a language tag such as 'en' or 'en-GB' (got {value!r})")
    return value


def _parse_slug(value: str) -> str:
    if not SLUG_RE.match(value):
        raise ValueError(f"must be lowercase letters, digits and hyphens (got {value!r})")
    return value


def _parse_choice(value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"must be one of {', '.join(choices)} (got {value!r})")
    return value


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(file)", f"not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None


def _load_sections(path: Path) -> tuple[Section, ...]:
    data = _read_toml(path)
    entries = data.get("section", [])
    if not isinstance(entries, list):
        raise ConfigError(str(path), "section", "must be an array of tables ([[section]])")
    sections: list[Section] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        where = f"section[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(str(path), where, "must be a table")
        unknown = set(entry) - {"slug", "title", "description", "aliases", "old_slugs"}
        if unknown:
            raise ConfigError(str(path), f"{where}.{sorted(unknown)[0]}", "unknown key")
        slug = entry.get("slug")
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise ConfigError(str(path), f"{where}.slug", f"must be a lowercase slug (got {slug!r})")
        if slug in RESERVED_SLUGS:
            raise ConfigError(str(path), f"{where}.slug", f"{slug!r} is reserved for the all-sections feed")
        title = entry.get("title", slug.replace("-", " ").title())
        description = entry.get("description", "")
        aliases = entry.get("aliases", [])
        old_slugs = entry.get("old_slugs", [])
        for key, value in (("title", title), ("description", description)):
            if not isinstance(value, str):
                raise ConfigError(str(path), f"{where}.{key}", "must be a string")
        for key, value in (("aliases", aliases), ("old_slugs", old_slugs)):
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(str(path), f"{where}.{key}", "must be a list of strings")
        for name in [slug, *old_slugs]:
            if not SLUG_RE.match(name):
                raise ConfigError(str(path), f"{where}.old_slugs", f"{name!r} is not a slug")
            if name in seen:
                raise ConfigError(str(path), f"{where}.slug", f"{name!r} is already used by {seen[name]}")
            seen[name] = where
        sections.append(Section(slug, title, description, tuple(aliases), tuple(old_slugs)))
    return tuple(sections)


NAMES_FILES = {"topics": ("topic", 2), "authors": ("author", 1)}  # file stem -> (table name, default min_articles)


def _load_names(path: Path, table: str, default_min: int) -> Names:
    """``[[topic]]``/``[[author]]`` tables plus ``deny`` and ``min_articles``, validated:
    an error names the file and the field."""
    data = _read_toml(path)
    where_file = str(path)
    unknown = set(data) - {table, "deny", "min_articles"}
    if unknown:
        raise ConfigError(where_file, sorted(unknown)[0], "unknown key")
    min_articles = data.get("min_articles", default_min)
    if isinstance(min_articles, bool) or not isinstance(min_articles, int) or not 1 <= min_articles <= 1_000_000:
        raise ConfigError(where_file, "min_articles", f"must be an integer from 1 (got {min_articles!r})")
    deny = data.get("deny", [])
    if not isinstance(deny, list) or not all(isinstance(v, str) for v in deny):
        raise ConfigError(where_file, "deny", "must be a list of strings")
    entries_raw = data.get(table, [])
    if not isinstance(entries_raw, list):
        raise ConfigError(where_file, table, f"must be an array of tables ([[{table}]])")
    entries: list[Named] = []
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for i, entry in enumerate(entries_raw):
        where = f"{table}[{i}]"
        if not isinstance(entry, dict):
            raise ConfigError(where_file, where, "must be a table")
        extra = set(entry) - {"slug", "title", "description", "aliases"}
        if extra:
            raise ConfigError(where_file, f"{where}.{sorted(extra)[0]}", "unknown key")
        title = entry.get("title")
        slug = entry.get("slug", fold(title) if isinstance(title, str) else None)
        if not isinstance(slug, str) or not SLUG_RE.match(slug):
            raise ConfigError(where_file, f"{where}.slug", f"must be a lowercase slug (got {slug!r})")
        if title is None:
            title = slug.replace("-", " ").title()
        description = entry.get("description", "")
        for key, value in (("title", title), ("description", description)):
            if not isinstance(value, str):
                raise ConfigError(where_file, f"{where}.{key}", "must be a string")
        aliases = entry.get("aliases", [])
        if not isinstance(aliases, list) or not all(isinstance(v, str) for v in aliases):
            raise ConfigError(where_file, f"{where}.aliases", "must be a list of strings")
        for label in [slug, title, *aliases]:
            folded = fold(label)
            if not folded:
                raise ConfigError(where_file, f"{where}.aliases", f"{label!r} has no slug (nothing ASCII left)")
            if owner.get(folded, where) != where:
                raise ConfigError(where_file, f"{where}.aliases", f"{label!r} is already used by {owner[folded]}")
            owner[folded] = where
            if folded != slug:
                merged[folded] = slug
        entries.append(Named(slug, title, description, tuple(aliases)))
    denied = frozenset(fold(label) for label in deny) - {""}
    return Names(tuple(entries), denied, min_articles, tuple(sorted(merged.items())))


def load_settings(environ: Mapping[str, str] | None = None, *, require_config: bool = True) -> Settings:
    """Read the config folder, then apply the environment; raise ConfigError on any bad value.

    Relative paths in ``settings.toml`` are taken from the folder that holds the
    config folder (the project root), so the service runs the same from any
    working directory; paths from the environment are taken as given.

    Without a config folder, a command that serves or stores a site stops and says
    where it looked (``require_config``); one that only looks at pages (``inspect``,
    ``sanitize``) gets the built-in defaults, where every section a page names is
    taken as it is, since there is no list of sections to file it under.
    """
    env = os.environ if environ is None else environ
    config_dir = Path(env.get("FEEDS_CONFIG_DIR", "config"))
    if not config_dir.is_dir():
        if require_config:
            raise ConfigError(
                str(config_dir.absolute()),
                "(folder)",
                "no configuration folder here: run feeds from the project folder (the one holding "
                "config/), or point FEEDS_CONFIG_DIR at one",
            )
        env = {key: value for key, value in env.items() if key != "FEEDS_UNKNOWN_SECTION"}
        env["FEEDS_UNKNOWN_SECTION"] = "create"
    settings_path = config_dir / "settings.toml"
    file_values = _read_toml(settings_path)
    by_name = {f.name: f for f in fields(Settings) if f.metadata.get("parse")}
    values: dict[str, Any] = {"config_dir": config_dir}

    for key, raw in file_values.items():
        f = by_name.get(key)
        if f is None or key == "config_dir":
            raise ConfigError(str(settings_path), key, "unknown setting")
        try:
            value = _parse_value(f, raw)
        except ValueError as exc:
            raise ConfigError(str(settings_path), key, str(exc)) from None
        if isinstance(value, Path) and not value.is_absolute():
            value = config_dir.parent / value
        values[key] = value

    env_names = {f"FEEDS_{name.upper()}": name for name in by_name if name != "config_dir"}
    env_names.update({"PORT": "port", "DATABASE_URL": "database_url"})
    for var, name in env_names.items():
        if var in env and (var != "DATABASE_URL" or "FEEDS_DATABASE_URL" not in env):
            try:
                values[name] = _parse_value(by_name[name], env[var])
            except ValueError as exc:
                raise ConfigError(f"environment variable {var}", name, str(exc)) from None

    sections = _load_sections(config_dir / "sections.toml")
    values["sections"] = sections
    for stem, (table, default_min) in NAMES_FILES.items():
        values[stem] = _load_names(config_dir / f"{stem}.toml", table, default_min)
    settings = Settings(**values)
    if settings.unknown_section == "default" and not settings.section(settings.default_section):
        raise ConfigError(
            str(config_dir / "sections.toml"),
            "default_section",
            f"{settings.default_section!r} is not a configured section",
        )
    return settings
