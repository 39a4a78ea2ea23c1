"""``feeds inspect`` and ``feeds sanitize`` as the command line runs them."""

from __future__ import annotations

import io
import json

import pytest

from feeds.cli import build_parser

ARTICLE = ("<html><head><title>Quay opens</title><meta name='author' content='Jo Bloggs'>"
           "<meta property='article:published_time' content='2026-10-12T07:00:00+01:00'></head><body><article>"
           "<h1>Quay opens</h1>" + "".join(f"<p>The harbour master said quay {i} would open in spring, on time.</p>"
                                  for i in range(5)) +
           "</article></body></html>")


def run(argv: list[str], settings) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args, settings)


def test_inspect_json_one_object_per_path(tmp_path, settings, capsys):
    first, second = tmp_path / "a.html", tmp_path / "b.html"
    first.write_text(ARTICLE)
    second.write_text(ARTICLE.replace("Quay opens", "Quay closes"))
    assert run(["inspect", str(first), str(second), "--json"], settings) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    obj = json.loads(lines[0])
    assert set(obj) == {"id", "url", "title", "section", "authors", "published", "updated", "summary",
                        "content_html", "text", "image", "tags", "language", "word_count", "warnings"}
    assert obj["title"] == "Quay opens" and json.loads(lines[1])["title"] == "Quay closes"
    assert obj["published"] == "2026-10-12T07:00:00+01:00"
    assert obj["authors"] == ["Jo Bloggs"]
    assert obj["word_count"] == len(obj["text"].split())
    assert "\n\n" in obj["text"]


def test_inspect_human_readable(tmp_path, settings, capsys):
    path = tmp_path / "a.html"
    path.write_text(ARTICLE)
    assert run(["inspect", str(path)], settings) == 0
    out = capsys.readouterr().out
    assert "Title:     Quay opens" in out and "The harbour master said" in out


def test_inspect_not_an_article_exits_1_naming_the_file(tmp_path, settings, capsys):
    good, bad = tmp_path / "good.html", tmp_path / "empty.html"
    good.write_text(ARTICLE)
    bad.write_bytes(b"")
    assert run(["inspect", str(bad), str(good), "--json"], settings) == 1
    captured = capsys.readouterr()
    assert captured.err.strip() == f"{bad}: empty page"
    assert len(captured.out.splitlines()) == 1


@pytest.mark.parametrize(
    ("failure", "reason"),
    [(KeyError("boom"), "the ingester failed (KeyError); this is a bug, please report it"),
     (RecursionError(), "page is nested too deeply to parse")],
    ids=["bug", "recursion"],
)
def test_inspect_reports_a_failure_inside_the_ingester_in_one_line(tmp_path, settings, capsys, monkeypatch,
                                                                    failure, reason):
    from feeds.ingest import pipeline

    def broken(data):  # a stage deep inside the ingester
        raise failure

    monkeypatch.setattr(pipeline, "decode_html", broken)
    path = tmp_path / "a.html"
    path.write_text(ARTICLE)
    assert run(["inspect", str(path)], settings) == 1
    assert capsys.readouterr().err.strip() == f"{path}: {reason}"


def test_inspect_missing_file(tmp_path, settings, capsys):
    assert run(["inspect", str(tmp_path / "nope.html")], settings) == 1
    assert "nope.html" in capsys.readouterr().err


def test_sanitize_reads_stdin(settings, capsys, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("<p onclick=x>Hi <a href='/a'>a</a><script>x</script></p>"))
    assert run(["sanitize", "--base-url", "https://ex.example/d/"], settings) == 0
    assert capsys.readouterr().out.strip() == '<p>Hi <a href="https://ex.example/a">a</a></p>'


@pytest.mark.parametrize("flag", [[], ["--base-url", "https://ex.example/"]])
def test_sanitize_default_base_is_the_site(settings, capsys, monkeypatch, flag):
    monkeypatch.setattr("sys.stdin", io.StringIO("<img src='x.png'>"))
    run(["sanitize", *flag], settings)
    assert capsys.readouterr().out.strip() == f'<img src="{(flag[1] if flag else settings.site_url)}x.png">'
