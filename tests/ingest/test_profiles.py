"""Site profiles: CSS selectors for the body and for parts to drop, by host or by template marker."""

from __future__ import annotations

import dataclasses

import pytest

from feeds.ingest import IngestError

PARAS = [f"Paragraph {i} of a story about the new ferry timetable, which starts in the spring." for i in range(4)]


def page(canonical: str, body_class: str) -> str:
    paras = "".join(f"<p>{p}</p>" for p in PARAS)
    return (f"<html><head><title>Timetable</title><link rel='canonical' href='{canonical}'></head><body>"
            f"<h1>Timetable</h1><div class='{body_class}'>{paras}<div class='app-box'><p>Our app is out now "
            "and you should download it today for the latest ferry times on your phone.</p></div></div>"
            "<div class='teasers'><p>" + "Teaser text from another story that is long enough to look like a body. " * 6
            + "</p></div></body></html>")


@pytest.fixture
def profiled(settings, tmp_path):
    (tmp_path / "profiles.toml").write_text(
        '[[profile]]\nname = "courier"\nhosts = ["courier.example"]\nbody = "div.story"\ndrop = ["div.app-box"]\n'
        '[[profile]]\nname = "cms"\nmarker = "div.cms-body"\nbody = "div.cms-body"\n', encoding="utf-8")
    return dataclasses.replace(settings, config_dir=tmp_path)


def test_profile_by_host(ingest, profiled):
    a = ingest(page("https://www.courier.example/x", "story"), settings=profiled)
    assert a.text == "\n\n".join(PARAS)


def test_profile_by_marker(ingest, profiled):
    a = ingest(page("https://elsewhere.example/x", "cms-body"), settings=profiled)
    assert a.text.startswith(PARAS[0]) and "Teaser" not in a.text


def test_repository_profiles_file_is_valid(settings):
    from feeds.ingest.extract import load_profiles

    profiles = load_profiles(settings.config_dir / "profiles.toml")
    assert any(p.name == "wordpress" for p in profiles)


def test_broken_profiles_file_is_a_clear_error(ingest, settings, tmp_path):
    (tmp_path / "profiles.toml").write_text('[[profile]]\nname = "bad"\nbody = "div[["\n', encoding="utf-8")
    with pytest.raises(IngestError, match="profile"):
        ingest(page("https://x.example/", "story"), settings=dataclasses.replace(settings, config_dir=tmp_path))
