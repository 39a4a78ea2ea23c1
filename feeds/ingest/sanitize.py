"""Allowlist sanitising of article HTML (nh3), absolute URLs, XML-safe characters.

Feeds are read by programs that render HTML, so the content must hold nothing a
browser would run: nh3 (ammonia) keeps only the tags and attributes below, and a
per-attribute filter makes every URL absolute and refuses any scheme other than
http, https and mailto. Iframes survive only for the embed hosts listed here.
nh3 turns ``&#1;`` into a raw control character, which XML 1.0 forbids, so the
characters are stripped again after sanitising.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urljoin, urlsplit, urlunsplit

import nh3

ALLOWED_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "caption", "cite", "code", "dd", "del", "dfn", "dl", "dt",
    "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "iframe", "img", "ins",
    "kbd", "li", "mark", "ol", "p", "picture", "pre", "q", "s", "small", "source", "strong", "sub",
    "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "blockquote": {"cite"},
    "q": {"cite"},
    "del": {"cite"}, "ins": {"cite"},
    "img": {"src", "srcset", "sizes", "alt", "title", "width", "height"},
    "source": {"srcset", "sizes", "media", "type"},
    "iframe": {"src", "width", "height", "title", "allowfullscreen"},
    "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan", "scope"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
}
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})
SAFE_SCHEMES = frozenset({"http", "https", "mailto"})
EMBED_HOSTS = frozenset({
    "www.youtube-nocookie.com", "youtube-nocookie.com", "www.youtube.com", "youtube.com", "player.vimeo.com",
})
# Anything outside the characters XML 1.0 allows and recommends (no C0/C1 controls, surrogates or
# noncharacters); astral characters match too and are sorted out by ``_keep_astral``, because a
# character class listing the astral noncharacters makes this scan ten times slower.
_XML_FORBIDDEN = re.compile("[^\t\n\r\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufdcf\ufdf0-\ufffd]")


def _keep_astral(match: re.Match[str]) -> str:
    code = ord(match.group())
    return match.group() if code > 0xFFFF and code & 0xFFFE != 0xFFFE else ""


_EMPTY_IFRAME = re.compile(r"<iframe(?![^>]*\ssrc=)[^>]*>\s*</iframe>")
_URL_EDGE = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f \u00a0\ufeff"
_URL_INNER = re.compile("[\t\n\r]")


_CHAR_REFERENCE = re.compile(r"&#(?:[xX]([0-9a-fA-F]{1,8})|([0-9]{1,10}));?")


def strip_xml_forbidden(text: str) -> str:
    """Remove characters an XML 1.0 document may not carry, raw or as ``&#...;`` references."""
    if "&#" in text:
        text = _CHAR_REFERENCE.sub(_drop_forbidden_reference, text)
    return _XML_FORBIDDEN.sub(_keep_astral, text)


def _drop_forbidden_reference(match: re.Match[str]) -> str:
    code = int(match.group(1), 16) if match.group(1) else int(match.group(2))
    if 0x80 <= code <= 0x9F:  # as browsers do: legacy pages write &#146; for a windows-1252 apostrophe
        return bytes([code]).decode("cp1252", errors="ignore")
    if code > 0x10FFFF or not _XML_FORBIDDEN.sub(_keep_astral, chr(code)):
        return ""
    return match.group(0)


def absolute_url(value: str, base_url: str) -> str | None:
    """An absolute http(s)/mailto URL for ``value``, or None when it is not safe to keep.

    Browsers ignore tabs, newlines and control characters inside a scheme
    (``java\\tscript:``) and spaces around a URL, so the scheme is judged the same way.
    """
    value = strip_xml_forbidden(_URL_INNER.sub("", value.strip(_URL_EDGE)))
    if not value:
        return None
    try:
        url = urljoin(base_url, value)
        scheme = urlsplit(url).scheme.lower()
    except ValueError:
        return None
    if scheme not in SAFE_SCHEMES:
        return None
    return _escape(url)


def _escape(url: str) -> str:
    """Percent-encode what may not appear raw in a URI (spaces, U+2028, non-ASCII), keeping escapes."""
    if url.isascii() and not re.search(r"[\s\"<>\\^`{|}]", url):
        return url
    parts = urlsplit(url)
    netloc = parts.netloc
    if not netloc.isascii():
        try:
            netloc = netloc.encode("idna").decode("ascii")
        except UnicodeError:
            netloc = quote(netloc, safe=":@[]")
    keep = "/:@!$&'()*+,;=%~"
    return urlunsplit((parts.scheme, netloc, quote(parts.path, safe=keep), quote(parts.query, safe=keep + "?"),
                       quote(parts.fragment, safe=keep + "?#")))


def _srcset(value: str, base_url: str) -> str | None:
    candidates = []
    for part in value.split(","):
        bits = part.split()
        if not bits:
            continue
        url = absolute_url(bits[0], base_url)
        if url is None or urlsplit(url).scheme == "mailto":
            return None  # one bad candidate poisons the whole attribute
        candidates.append(" ".join([url, *bits[1:]]))
    return ", ".join(candidates) or None


def _attribute_filter(base_url: str):
    def keep(tag: str, attribute: str, value: str) -> str | None:
        if attribute not in ALLOWED_ATTRIBUTES.get(tag, ()):
            return None  # ammonia adds generic attributes (lang, title) of its own; ours is the list
        if attribute in URL_ATTRIBUTES:
            url = absolute_url(value, base_url)
            if url is None:
                return None
            if tag == "iframe":
                parts = urlsplit(url)
                return url if parts.scheme == "https" and (parts.hostname or "") in EMBED_HOSTS else None
            if tag in ("img", "source") and urlsplit(url).scheme == "mailto":
                return None
            return url
        if attribute == "srcset":
            return _srcset(value, base_url)
        return strip_xml_forbidden(value)
    return keep


def sanitize_html(fragment: str, base_url: str) -> str:
    """Return ``fragment`` reduced to the allowlist, with absolute, safe URLs."""
    cleaned = nh3.clean(
        strip_xml_forbidden(fragment),
        tags=set(ALLOWED_TAGS),
        clean_content_tags={"script", "style", "noscript", "template", "textarea", "select", "svg", "math",
                            "object", "embed", "applet", "form", "button", "title", "head", "frame",
                            "frameset", "noembed", "noframes", "xmp", "plaintext", "iframe"} - {"iframe"},
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_attribute_filter(base_url),
        url_schemes=set(SAFE_SCHEMES),
        link_rel=None,
        strip_comments=True,
    )
    cleaned = strip_xml_forbidden(cleaned)
    return _EMPTY_IFRAME.sub("", cleaned)
