"""Settings: files, environment overrides, and one-line errors naming the source."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from feeds.config import ConfigError

from .conftest import ROOT, Project


@pytest.fixture
def project(tmp_path: Path) -> Project:
    """Only the configuration matters here: no database, so one backend is enough."""
    return Project(tmp_path / "project", f"sqlite:///{tmp_path / 'feeds.db'}")


def test_repository_config_loads(project: Project) -> None:
    settings = project.settings(DATABASE_URL="")
    assert settings.title == "The Harbour Gazette"
    assert settings.items_per_feed == 50
    assert {"world", "politics", "business", "technology", "sport", "culture", "news"} <= {
        s.slug for s in settings.sections
    }
    world = settings.section("world")
    assert world is not None and "Global News" in world.aliases
    assert settings.database.startswith("sqlite:///") and settings.database.endswith("instance/feeds.db")


def test_environment_overrides_files(project: Project) -> None:
    settings = project.settings(
        FEEDS_ITEMS_PER_FEED="7",
        FEEDS_SITE_URL="https://example.org/news",
        FEEDS_SCAN_INTERVAL="5",
        PORT="9123",
        DATABASE_URL="postgres://u@db.example/feeds",
    )
    assert settings.items_per_feed == 7
    assert settings.site_url == "https://example.org/news/"
    assert settings.scan_interval == 5
    assert settings.port == 9123
    assert settings.database == "postgresql+psycopg://u@db.example/feeds"


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"FEEDS_ITEMS_PER_FEED": "lots"}, "environment variable FEEDS_ITEMS_PER_FEED: items_per_feed: must be an integer"),
        ({"FEEDS_ITEMS_PER_FEED": "0"}, "items_per_feed: must be between 1 and 1000"),
        ({"PORT": "99999"}, "environment variable PORT: port: must be between 1 and 65535"),
        ({"FEEDS_SITE_URL": "ftp://x"}, "FEEDS_SITE_URL: site_url: must be an absolute http(s) URL"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL: database_url: must be a sqlite:// or postgres(ql):// URL"),
        ({"FEEDS_UNKNOWN_SECTION": "guess"}, "unknown_section: must be one of default, create"),
        ({"FEEDS_LANGUAGE": "english!"}, "language: must be a language tag"),
    ],
)
def test_bad_environment_value_names_variable(project: Project, env: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        project.settings(**env)
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("settings_toml", "expected"),
    [
        ('items_per_feed = "many"\n', "settings.toml: items_per_feed: must be an integer"),
        ("colour = 'blue'\n", "settings.toml: colour: unknown setting"),
        ("title = \n", "settings.toml: (file): not valid TOML"),
        ('default_section = "gossip"\n', "sections.toml: default_section: 'gossip' is not a configured section"),
    ],
)
def test_bad_settings_file_names_file_and_key(project: Project, settings_toml: str, expected: str) -> None:
    (project.root / "config" / "settings.toml").write_text(settings_toml)
    with pytest.raises(ConfigError) as err:
        project.settings()
    assert expected in str(err.value)


@pytest.mark.parametrize(
    ("sections_toml", "expected"),
    [
        ('[[section]]\nslug = "World News"\n', "section[0].slug: must be a lowercase slug"),
        ('[[section]]\nslug = "all"\n', "'all' is reserved"),
        ('[[section]]\nslug = "a"\n[[section]]\nslug = "a"\n', "section[1].slug: 'a' is already used"),
        ('[[section]]\nslug = "a"\naliases = "A"\n', "section[0].aliases: must be a list of strings"),
        ('[[section]]\nslug = "a"\ncolour = 1\n', "section[0].colour: unknown key"),
    ],
)
def test_bad_sections_file(project: Project, sections_toml: str, expected: str) -> None:
    (project.root / "config" / "sections.toml").write_text(sections_toml)
    with pytest.raises(ConfigError) as err:
        project.settings(FEEDS_UNKNOWN_SECTION="create")
    assert expected in str(err.value)


def test_cli_reports_bad_setting_in_one_line_with_status_2(project: Project, tmp_path: Path) -> None:
    env = os.environ | project.environ | {"FEEDS_REBUILD_INTERVAL": "soon"}
    proc = subprocess.run(
        [sys.executable, "-m", "feeds", "build"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "FEEDS_REBUILD_INTERVAL" in lines[0] and "rebuild_interval" in lines[0] and "integer" in lines[0]
    assert "Traceback" not in proc.stderr


def test_cli_reports_a_broken_profiles_file_at_start_up(project: Project) -> None:
    (project.root / "config" / "profiles.toml").write_text('[[profile]]\nname = "x"\nbody = "div[["\n')
    proc = subprocess.run(
        [sys.executable, "-m", "feeds", "build"],
        cwd=ROOT,
        env=os.environ | project.environ,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "profiles.toml: profile[0] is invalid" in proc.stderr
