"""Every kind of bad input becomes an IngestError with a one-line reason, never a crash."""

from __future__ import annotations

import pytest

from feeds.ingest import IngestError

ARTICLE_BODY = "<p>" + "The harbour master said the new quay would open in spring. " * 8 + "</p>"


def _page(body: str) -> str:
    return f"<html><head><title>Quay opens</title></head><body><h1>Quay opens</h1>{body}</body></html>"


@pytest.mark.parametrize("data,reason", [
    (b"", "empty"),
    (b"  \n\t ", "empty"),
    (bytes(range(256)) * 40, "binary"),
    (b"\x89PNG\r\n\x1a\n" + bytes(2000), "binary"),
    (b"%PDF-1.7\n" + bytes(range(1, 9)) * 500, "binary"),
    (b"just some words and no markup at all " * 20, "not an HTML page"),
    (_page(ARTICLE_BODY).encode()[:-60], "truncated"),
    (b"<html><head><title>x</title></head><body>" + b"<div>" * 100_000 + b"deep" + b"</div>" * 100_000
     + b"</body></html>", "nested"),
    (b"<html><body>" + b"<span><b><i>" * 40_000 + b"</body></html>", "nested"),
    (_page("<p>Too short to be an article.</p>").encode(), "not an article"),
    (b"<html><head></head><body><p>" + b"Words without any headline at all. " * 40 + b"</p></body></html>",
     "no headline"),
    (b"<html><head><title>Home</title></head><body><nav><a href=/>Home</a></nav></body></html>", "not an article"),
])
def test_bad_input_raises_one_line_reason(ingest, data, reason):
    with pytest.raises(IngestError) as info:
        ingest(data)
    message = str(info.value)
    assert reason in message
    assert "\n" not in message and len(message) < 200


def test_oversized_page_is_rejected_before_parsing(ingest):
    data = _page("<p>word</p>" * (5 * 1024 * 1024)).encode()
    with pytest.raises(IngestError, match=r"above the 10 MB limit"):
        ingest(data)


def test_page_without_closing_tags_but_no_html_start_is_fine(ingest):
    article = ingest(f"<title>Quay opens</title><h1>Quay opens</h1>{ARTICLE_BODY}")
    assert article.title == "Quay opens"


def test_xml_declaration_is_accepted(ingest):
    article = ingest('<?xml version="1.0" encoding="utf-8"?>\n' + _page(ARTICLE_BODY))
    assert article.word_count > 50


def test_deep_but_legal_nesting_is_processed(ingest):
    article = ingest(_page("<div>" * 240 + ARTICLE_BODY + "</div>" * 240))
    assert article.word_count > 50
