"""Whole pages in the three template families we publish from: WordPress, JSON-LD, legacy cp1252."""

from __future__ import annotations

WP_TEXT = [
    "Repairs to the storm-damaged harbour wall have finished three weeks ahead of schedule, the harbour "
    "commissioners said on Tuesday.",
    "Contractors replaced 40 metres of granite facing that was torn away in the February storms, and rebuilt "
    "the steps by the lifeboat house.",
    "What comes next",
    "The commissioners will now turn to the north quay, where survey work starts in January.",
    "We were lucky with the weather for once, said harbour master Tamsin Hocking.",
    "Cost: £640,000",
    "Length: 40 metres",
    "Fishing boats have been mooring at the outer pontoon since March and can return to the inner harbour "
    "from next week.",
]


def test_wordpress_page(ingest, page_bytes):
    a = ingest(page_bytes("wp_entry_content.html"))
    assert a.title == "Harbour wall repairs finish early"
    assert a.section == "news"  # "Local" is an alias of news
    assert a.authors == ("Jago Penrose",)
    assert a.published.isoformat() == "2026-11-03T08:00:00+00:00"
    assert a.updated.isoformat() == "2026-11-03T11:20:00+00:00"
    assert a.id == "https://courier.example/2026/11/harbour-wall-repairs-finish-early/"
    assert a.language == "en-GB"
    assert a.text == "\n\n".join(WP_TEXT)
    assert ('<figure><img src="https://courier.example/wp-content/uploads/2026/11/wall.jpg" alt="The repaired wall">'
            "<figcaption>The repaired wall on Monday evening.</figcaption></figure>") in a.content_html
    for chrome in ("Skip to content", "Share this", "Related", "Pier repairs", "Read More", "Storm damage bill",
                   "Tagged", "morning briefing", "Comments are closed", "Popular this week", "Privacy policy",
                   "All rights reserved", "dataLayer", "Kestrel Courier"):
        assert chrome not in a.content_html, chrome
    assert a.image == "https://courier.example/wp-content/uploads/2026/11/wall.jpg"


def test_legacy_cp1252_table_page(ingest, page_bytes):
    data = page_bytes("legacy_cp1252.html")
    assert b"\x93" in data and b"charset" not in data
    a = ingest(data, source="file:archive/lifeboat-slipway.html")
    assert a.title == "Lifeboat station gets a new slipway"
    assert a.section == "news"  # COMMUNITY label
    assert a.authors == ("Hedra Polglase",)
    assert a.published.isoformat() == "2026-11-06T09:15:00+00:00"
    assert a.updated.isoformat() == "2026-11-06T16:40:00+00:00"
    assert a.id == "https://harbourgazette.example/archive/lifeboat-slipway.html"
    assert a.text.startswith("The RNLI station at Kestrel Cove will get a new £1.2m slipway next year, "
                             "the charity said on Friday – the first")
    assert "“The old one has served us well, but it’s worn out,” said coxswain" in a.text
    assert a.text.endswith("the crew will launch from the harbour in the meantime.")
    assert "<table" not in a.content_html
    assert ('<figure><img src="https://harbourgazette.example/images/2026/11/slipway.jpg" alt="The old slipway" width="400">'
            "<figcaption>The old slipway at low tide.</figcaption></figure>") in a.content_html
    for chrome in ("Home", "Weather", "In this section", "Pier repairs", "COMMUNITY", "By Hedra", "GMT",
                   "Email this story", "Printer-friendly", "Copyright", "Back to top", "masthead", "javascript"):
        assert chrome not in a.content_html and chrome not in a.text, chrome


def test_jsonld_page_split_into_chunks(ingest, page_bytes):
    a = ingest(page_bytes("split_chunks.html"))
    assert (a.title, a.section, a.authors) == ("Why the tide tables moved online", "technology", ("Joel Abernathy",))
    assert a.id == "https://courier.example/tech/tide-tables"
    paragraphs = a.text.split("\n\n")
    assert len(paragraphs) == 5
    assert paragraphs[0].startswith("For sixty years") and paragraphs[-1].startswith("The club has asked")
    assert "Advertisement" not in a.content_html
