"""Section labels as pages write them ("Global News") -> configured section slugs ("world")."""

from __future__ import annotations

import re
import unicodedata

from feeds.config import Settings
from feeds.limits import MAX_SECTION


def slugify(label: str) -> str:
    """A URL slug for a label the configuration does not know (policy "create")."""
    ascii_label = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_label.lower().replace("&", " and ")).strip("-")
    return slug[:MAX_SECTION].strip("-")


def _key(label: str) -> str:
    return " ".join(label.casefold().replace("&", " & ").split())


def section_slug(label: str, settings: Settings) -> str:
    """Map a label to a slug via slug, title and aliases (case-insensitive), else by policy."""
    key = _key(label)
    if not key:
        return settings.default_section
    for section in settings.sections:
        names = (section.slug, section.title, *section.aliases, *section.old_slugs)
        if key in {_key(n) for n in names}:
            return section.slug
    if settings.unknown_section == "create":
        return slugify(label) or settings.default_section
    return settings.default_section
