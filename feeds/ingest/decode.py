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
        raise IngestError(f"page is {len(data) / 2**20:.0f} MB, above the {MAX_BYTES // 2**20} MB limit")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return _check_text(data[len(bom):].decode(encoding, errors="replace"))
    if b"\x00" in data[:4096]:
        raise IngestError("binary data, not an HTML page (NUL bytes)")
    declared = _declared_charset(data[:4096])
    if declared and declared != "utf-8":
        return _check_text(data.decode(declared, errors="replace"))
    try:  # also when UTF-8 is declared: a page that is not valid UTF-8 lies about it
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
    return None if name.startswith(("utf-16", "utf-32")) else name


def _detect(data: bytes) -> str:
    """Detection for undeclared, non-UTF-8 pages.

    charset-normalizer tells scripts apart well (Cyrillic, Greek, CJK) but picks
    among Latin code pages almost at random on short pages (cp775 or cp1250 for
    English with curly quotes); a legacy Latin page is windows-1252 in practice.
    """
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000]).best()
    if best is not None and best.encoding in _NON_LATIN:
        return best.encoding
    return "cp1252"


_NON_LATIN = frozenset({
    "cp1251", "koi8_r", "koi8_u", "iso8859_5", "mac_cyrillic", "cp866", "cp855", "cp1253", "iso8859_7",
    "cp1255", "iso8859_8", "cp1256", "iso8859_6", "tis_620", "cp874", "shift_jis", "cp932", "euc_jp",
    "iso2022_jp", "gb2312", "gbk", "gb18030", "big5", "big5hkscs", "euc_kr", "cp949", "johab", "hz",
})


def _check_text(text: str) -> str:
    sample = text[:8192]
    controls = sum(1 for c in sample if c < " " and c not in "\t\n\r\f")
    if "\x00" in sample or controls > len(sample) // 20 or sample.count("\ufffd") > len(sample) // 10:
        raise IngestError("binary data, not an HTML page")
    if "<" not in text:
        raise IngestError("not an HTML page (no markup)")
    return text
