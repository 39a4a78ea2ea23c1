"""What we ship is what we test: every module the commands import is declared, and a
broken install stops a command at start with one line, not a traceback per page."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from feeds import install

ROOT = Path(__file__).resolve().parent.parent


def _declared() -> set[str]:
    """Distribution names in pyproject.toml's runtime dependencies, normalised."""
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return {_normalise(re.split(r"[\[<>=!~; ]", dep, maxsplit=1)[0]) for dep in deps}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_the_check_imports_is_a_direct_dependency() -> None:
    checked = {_normalise(dist) for needs in install.NEEDS.values() for _, dist in needs}
    assert checked - _declared() == set(), "imported by the code, not declared in pyproject.toml"


def test_every_declared_dependency_is_checked_except_the_unimported() -> None:
    checked = {_normalise(dist) for needs in install.NEEDS.values() for _, dist in needs}
    # beautifulsoup4 is named by the customer but nothing imports it (the ingester parses with lxml).
    assert _declared() - checked == {"beautifulsoup4"}


def test_the_check_passes_on_this_install() -> None:
    install.check(install.NEEDS)


def _feeds_without(module: str, *argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """``feeds ARGV`` in a real process where ``module`` cannot be imported, as if its
    package were missing (``sys.modules[name] = None`` makes every import of it fail)."""
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        "from feeds.cli import main\n"
        f"sys.exit(main({list(argv)!r}))\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", ["run", "ingest", "clock", "inspect"])  # web queues pushes: no ingester
def test_a_missing_extractor_package_stops_each_command_in_one_line(command: str, tmp_path: Path) -> None:
    argv = [command, str(ROOT / "sample_articles" / "ld-drone-lifeboat-trial.html")] if command == "inspect" else [command]
    proc = _feeds_without("lxml_html_clean", *argv)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "lxml_html_clean" in lines[0] and "pip install -r requirements.txt" in lines[0]
    assert proc.stdout == ""


@pytest.mark.parametrize("command", ["run", "web"])
def test_a_missing_server_package_stops_the_web_in_one_line(command: str) -> None:
    proc = _feeds_without("granian", command)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "package granian is missing" in proc.stderr


def test_a_command_that_needs_no_server_runs_without_one(tmp_path: Path) -> None:
    proc = _feeds_without("granian", "inspect", "--json", str(ROOT / "sample_articles" / "ld-drone-lifeboat-trial.html"))
    assert proc.returncode == 0, proc.stderr
    assert '"title": "Lifeboat crew trials drone' in proc.stdout


def test_inspect_and_sanitize_run_outside_the_project_with_built_in_defaults(tmp_path: Path) -> None:
    page = ROOT / "sample_articles" / "ld-drone-lifeboat-trial.html"
    proc = subprocess.run([sys.executable, "-m", "feeds", "inspect", "--json", str(page)],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    article = json.loads(proc.stdout)
    assert article["title"].startswith("Lifeboat crew trials drone")
    assert article["section"] == "science-and-tech", "with no sections configured, the page's own label, slugged"
    proc = subprocess.run([sys.executable, "-m", "feeds", "sanitize"], input="<p onclick=x>Hi</p>",
                          cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert (proc.returncode, proc.stdout.strip()) == (0, "<p>Hi</p>")


@pytest.mark.parametrize("command", ["build", "ingest", "serve", "clock"])
def test_a_command_that_needs_the_site_configuration_names_where_it_looked(command: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "feeds", command], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60, env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"feeds: configuration error: {tmp_path / 'config'}: (folder): no configuration folder here: run feeds "
        "from the project folder (the one holding config/), or point FEEDS_CONFIG_DIR at one"
    ]


def test_every_file_the_package_reads_is_package_data() -> None:
    """A wheel (``pip install .``) holds the package's Python modules and only the other
    files pyproject.toml's package-data names: a template missing there answers 500 on an
    installed copy while every test, run from the source tree, passes. (It happened: the
    topic and author lists' template.) The globs are expanded as setuptools does, from
    the package's folder."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    package = ROOT / "feeds"
    shipped = {path for pattern in config["feeds"] for path in package.glob(pattern) if path.is_file()}
    data = {
        path for path in package.rglob("*")
        if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts
    }
    assert data, "the package has data files (templates, migration settings)"
    assert sorted(str(p.relative_to(package)) for p in data - shipped) == [], "not in package-data: a wheel lacks them"
