"""Date strings in the shapes news pages use -> timezone-aware datetimes.

Machine dates (ISO 8601, RFC 822) come first because they are unambiguous;
visible dates ("Monday, 2 November 2026, 10:40 GMT") go through dateutil with
day-first parsing, as most of our sources write dates that way. Naive results
are taken as UTC so that every date can be compared and serialised with an offset.
"""

from __future__ import annotations

import re
import warnings
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

from dateutil import parser as dateparser
from dateutil import tz

_TZINFOS = {
    "UTC": tz.UTC, "GMT": tz.UTC, "Z": tz.UTC,
    "BST": tz.tzoffset("BST", 3600), "CET": tz.tzoffset("CET", 3600),
    "CEST": tz.tzoffset("CEST", 7200), "EET": tz.tzoffset("EET", 7200),
    "EST": tz.tzoffset("EST", -5 * 3600), "EDT": tz.tzoffset("EDT", -4 * 3600),
    "CST": tz.tzoffset("CST", -6 * 3600), "CDT": tz.tzoffset("CDT", -5 * 3600),
    "MST": tz.tzoffset("MST", -7 * 3600), "MDT": tz.tzoffset("MDT", -6 * 3600),
    "PST": tz.tzoffset("PST", -8 * 3600), "PDT": tz.tzoffset("PDT", -7 * 3600),
    "IST": tz.tzoffset("IST", 5 * 3600 + 1800), "JST": tz.tzoffset("JST", 9 * 3600),
    "AEST": tz.tzoffset("AEST", 10 * 3600), "AEDT": tz.tzoffset("AEDT", 11 * 3600),
    "HST": tz.tzoffset("HST", -10 * 3600), "AKST": tz.tzoffset("AKST", -9 * 3600),
    "AKDT": tz.tzoffset("AKDT", -8 * 3600), "AST": tz.tzoffset("AST", -4 * 3600),
    "ADT": tz.tzoffset("ADT", -3 * 3600), "NZST": tz.tzoffset("NZST", 12 * 3600),
    "NZDT": tz.tzoffset("NZDT", 13 * 3600), "SGT": tz.tzoffset("SGT", 8 * 3600),
    "HKT": tz.tzoffset("HKT", 8 * 3600), "KST": tz.tzoffset("KST", 9 * 3600),
    "MSK": tz.tzoffset("MSK", 3 * 3600), "SAST": tz.tzoffset("SAST", 2 * 3600),
    "WAT": tz.tzoffset("WAT", 3600), "EAT": tz.tzoffset("EAT", 3 * 3600),
}
_MONTHS = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
           r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\.?,?\s+)?"
_TIME = r"(?:,?\s*(?:at\s+)?\d{1,2}[:.]\d{2}(?:\s*[ap]\.?m\.?)?(?:\s*(?:[A-Z]{2,4}|[+-]\d{2}:?\d{2}))?)?"
# "14 October 2026", "October 14, 2026", "2026-10-14", each optionally with a weekday and a time.
VISIBLE_DATE_RE = re.compile(
    rf"\b{_WEEKDAY}(?:\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTHS}\s+\d{{4}}|{_MONTHS}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}){_TIME}",
    re.IGNORECASE,
)


def parse_date(value: object) -> datetime | None:
    """Parse a machine or human date; None when it is not one (never raises)."""
    if not isinstance(value, str):
        return None
    text = " ".join(value.split())
    if not text or len(text) > 80:
        return None
    result: datetime | None = None
    try:
        result = datetime.fromisoformat(text)  # Python 3.11+ reads a trailing "Z" too
    except ValueError:
        pass
    if result is None and re.match(r"^[A-Za-z]{3}, \d", text):
        try:
            result = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            pass
    if result is None:
        try:
            with warnings.catch_warnings():  # an unknown zone name: dateutil warns and gives naive (UTC below)
                warnings.simplefilter("ignore", dateparser.UnknownTimezoneWarning)
                result = dateparser.parse(text, dayfirst=True, tzinfos=_TZINFOS)
        except (ValueError, OverflowError, TypeError, dateparser.UnknownTimezoneWarning):
            return None
    if result is None or not 1990 <= result.year <= 2100:
        return None
    if result.tzinfo is None:
        result = result.replace(tzinfo=timezone.utc)
    return result


def find_visible_date(text: str) -> datetime | None:
    """The first date written out in running text, e.g. a "Published: ..." line."""
    for match in VISIBLE_DATE_RE.finditer(text):
        found = parse_date(match.group(0).replace(" at ", " "))
        if found:
            return found
    return None
