"""Bytes -> text: BOMs, declared charsets, detection, and legacy windows-1252 pages."""

from __future__ import annotations

import pytest

from feeds.ingest.decode import decode_html

PAGE = ("<html><head><title>Caf\u00e9</title></head><body><h1>It\u2019s \u201cquoted\u201d \u2013 na\u00efve</h1>"
        "<p>The \u201cfirst\u201d price was \u20ac5 \u2014 or so.</p></body></html>")


def test_undeclared_cp1252_with_curly_quotes():
    data = PAGE.encode("cp1252")
    assert b"\x93" in data and b"\x94" in data
    assert decode_html(data) == PAGE


@pytest.mark.parametrize("declaration", [
    b'<meta charset="windows-1252">', b"<meta charset=iso-8859-1>", b'<meta charset="latin1">',
    b'<meta http-equiv="Content-Type" content="text/html; charset=Windows-1252">',
])
def test_declared_latin_charsets_are_read_as_windows_1252(declaration):
    # WHATWG: browsers read ISO-8859-1 and ASCII labels as windows-1252, so 0x93 is a quote.
    assert decode_html(declaration + PAGE.encode("cp1252")).endswith(PAGE)


def test_utf8_declared_and_undeclared():
    assert decode_html(PAGE.encode("utf-8")) == PAGE
    assert decode_html(b'<meta charset="utf-8">' + PAGE.encode("utf-8")).endswith(PAGE)


def test_page_lying_about_utf8_is_detected():
    assert decode_html(b'<meta charset="utf-8">' + PAGE.encode("cp1252")).endswith(PAGE)


@pytest.mark.parametrize("bom,encoding", [
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
])
def test_bom_wins_over_declaration(bom, encoding):
    data = bom + ('<meta charset="windows-1252">' + PAGE).encode(encoding)
    assert decode_html(data).endswith(PAGE)


def test_other_declared_charset():
    text = '<meta charset="koi8-r"><html><body><p>Привет мир</p></body></html>'
    assert decode_html(text.encode("koi8-r")) == text


def test_undeclared_cyrillic_is_detected():
    text = "<html><body><p>Привет, как дела? Это тестовая страница на русском языке.</p></body></html>"
    assert decode_html(text.encode("cp1251")) == text
