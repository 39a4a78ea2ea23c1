"""Bytes -> text: BOM, then the declared charset, then detection.

Detection alone guesses wrong on short legacy pages (cp1252 curly quotes look
like several other code pages), so a strict UTF-8 decode is tried before it,
and among detected code pages the cp1252-compatible ones are preferred.
"""

from __future__ import annotations

import codecs
import re

from feeds.ingest.errors import IngestError

MAX_BYTES = 10 * 1024 * 1024

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE
)
# Labels that browsers treat as windows-1252 (WHATWG Encoding Standard).
_CP1252_LABELS = {"iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "ascii", "us-ascii",
                  "cp1252", "windows-1252", "iso-8859-15", "cp819", "ibm819"}


def decode_html(data: bytes) -> str:
    """Return the page as text or raise IngestError for input that is not an HTML text."""
    if not data or not data.strip():
        raise IngestError("empty page")
    if len(data) > MAX_BYTES:
        raise IngestError(f"page is {len(data) // (1024 * 1024)} MB, above the {MAX_BYTES // (1024 * 1024)} MB limit")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _check_text(data[len(bom):].decode(encoding, errors="replace"))
    if b"\x00" in data[:4096]:
        raise IngestError("binary data, not an HTML page (NUL bytes)")
    declared = _declared_charset(data[:4096])
    if declared:
        return _check_text(data.decode(declared, errors="replace"))
    try:
        return _check_text(data.decode("utf-8"))
    except UnicodeDecodeError:
        pass
    return _check_text(data.decode(_detect(data), errors="replace"))


def _declared_charset(head: bytes) -> str | None:
    match = _META_CHARSET.search(head)
    if not match:
        return None
    label = match.group(1).decode("ascii", "ignore").lower()
    if label in _CP1252_LABELS:
        return "cp1252"
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    # A page that declares UTF-16 in a meta tag cannot really be UTF-16 (the tag was readable).
    return None if name.startswith("utf-16") or name.startswith("utf-32") else name


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    results = from_bytes(data[:200_000])
    for match in results:
        if match.encoding in ("cp1252", "latin_1", "iso8859_15"):
            return "cp1252"
    try:
        data.decode("cp1252")
        return "cp1252"
    except UnicodeDecodeError:
        best = results.best()
        return best.encoding if best else "cp1252"


def _check_text(text: str) -> str:
    sample = text[:8192]
    controls = sum(1 for c in sample if c < " " and c not in "\t\n\r\f")
    if "\x00" in sample or controls > len(sample) // 20 or sample.count("\ufffd") > len(sample) // 10:
        raise IngestError("binary data, not an HTML page")
    if "<" not in text:
        raise IngestError("not an HTML page (no markup)")
    return text
