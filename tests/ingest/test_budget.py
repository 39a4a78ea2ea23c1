"""The time budget per page: a page that takes longer is rejected with the reason, whatever
stage it is in (ours or the extractor's), and a real page is far from it."""

from __future__ import annotations

import pytest

from feeds.ingest import IngestError
from feeds.ingest.budget import BUDGET_SECONDS, Deadline

HEAD = "<html><head><title>A page that never ends</title></head><body><h1>A page that never ends</h1>"
SENTENCE = "The harbour board met on Tuesday to discuss the ferry timetable and the winter sailings. "
# Pages built to take far longer than the budget below (seconds to minutes before the budget existed).
PATHOLOGICAL = {
    "breaks": "w<br>" * 200_000,
    "empty-paragraphs": "<p>" * 300_000,
    "deep-nesting": ("<div>" * 250 + f"<p>{SENTENCE}</p>" + "</div>" * 250) * 300,
    "layout-tables": "<table><tr><td><p>one</p><p>two</p></td></tr></table>" * 20_000,
    "promos": f"<p>{SENTENCE * 3}</p>" + "<div>Advertisement</div>more text " * 30_000,
}


def test_the_default_budget_is_five_seconds_and_says_so():
    assert BUDGET_SECONDS == 5.0
    assert Deadline().reason == "took over 5 s to ingest"


@pytest.mark.parametrize("body", PATHOLOGICAL.values(), ids=PATHOLOGICAL.keys())
def test_a_page_over_its_budget_is_rejected_with_the_reason(ingest, body):
    with pytest.raises(IngestError) as info:
        ingest(HEAD + body + "</body></html>", budget=0.2)
    assert str(info.value) == "took over 0.2 s to ingest"


def test_the_default_budget_is_read_when_the_page_starts(ingest, monkeypatch):
    monkeypatch.setattr("feeds.ingest.budget.BUDGET_SECONDS", 0.2)
    with pytest.raises(IngestError, match=r"^took over 0\.2 s to ingest$"):
        ingest(HEAD + PATHOLOGICAL["breaks"] + "</body></html>")


def test_a_real_page_is_not_near_the_budget(ingest):
    """An article passes with a tenth of the budget (it takes tens of milliseconds)."""
    article = ingest(HEAD + f"<p>{SENTENCE * 5}</p>" * 40 + "</body></html>", budget=BUDGET_SECONDS / 10)
    assert article.word_count > 500
