"""Readable ASCII slugs from labels: "Économie" -> ``economie``, "Zoë's Bakery" -> ``zoes-bakery``.

Unicode compatibility decomposition (NFKD) splits accented letters into a base
letter and its marks, and the marks are dropped; the few Latin letters that do
not decompose (ß, æ, ø, ł, ...) are spelled out first. Apostrophes vanish (so a
possessive stays one word), every other run of non-alphanumerics is one hyphen.
Two labels that fold to one slug are one topic (or one author). A label with
nothing ASCII left (a script without a Latin spelling) has no slug: ``""``.
No dependency: the standard library's ``unicodedata`` is enough for this.
"""

from __future__ import annotations

import re
import unicodedata

from feeds.limits import MAX_SECTION

MAX_SLUG = MAX_SECTION  # the same rule as section slugs: at most 64 characters
_SPELLED = str.maketrans({
    "ß": "ss", "ẞ": "ss", "æ": "ae", "Æ": "ae", "œ": "oe", "Œ": "oe", "ø": "o", "Ø": "o",
    "ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ð": "d", "Ð": "d", "þ": "th", "Þ": "th",
    "ı": "i", "&": " and ",
})
_APOSTROPHES = re.compile("['\u2018\u2019\u02bc`\u00b4]")
_OTHER = re.compile(r"[^a-z0-9]+")


def fold(label: str) -> str:
    """The slug of ``label``: lowercase ASCII letters, digits and single hyphens, at most 64
    characters (cut at a hyphen where one is near), or ``""`` when nothing is left."""
    text = unicodedata.normalize("NFKD", label.translate(_SPELLED))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = _APOSTROPHES.sub("", text.lower())
    slug = _OTHER.sub("-", text.encode("ascii", "ignore").decode("ascii")).strip("-")
    if len(slug) > MAX_SLUG:
        cut = slug[:MAX_SLUG]
        slug = cut.rsplit("-", 1)[0] if "-" in cut[MAX_SLUG // 2:] else cut
        slug = slug.strip("-")
    return slug
