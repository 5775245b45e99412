"""Which way round a client writes dates ("3/1": 3 January or 1 March?), from what their mail
says about them: the language tags their mail program adds, the time zone of the Date
header, and the language of their words.

Only a slash date with both numbers at most 12 needs this, and the reading is always reported
to the therapist. Month first is the United States' (and the Philippines') habit; nearly
everyone else writes the day first.
"""

from __future__ import annotations

import re

from checkin.core.understand import mime

_MONTH_FIRST_REGIONS = frozenset({"us", "ph", "fm", "mh", "pw"})
_TAG = re.compile(r"\b([a-z]{2,3})(?:[-_]([a-z]{2}))?\b", re.IGNORECASE)
# UTC offsets of the continental United States (and Alaska, Hawaii) in summer and winter.
_US_OFFSETS = frozenset({-4 * 60, -5 * 60, -6 * 60, -7 * 60, -8 * 60, -9 * 60, -10 * 60})
_NOT_ENGLISH = re.compile(
    r"\b(?:und|ich|nicht|bitte|bis|je|pas|merci|jusqu|pero|hasta|gracias|por|favor|grazie"
    r"|fino|ik|niet|tot|graag|não|até|obrigad[oa]|você)\b",
    re.IGNORECASE,
)


def day_first(parsed: mime.Parsed, words: str) -> bool | None:
    """True for day/month, False for month/day, None when nothing tells."""
    for name in ("content-language", "accept-language", "x-accept-language"):
        tag = _TAG.search(parsed.headers.get(name, ""))
        if tag:
            region = (tag.group(2) or "").lower()
            if region:
                return region not in _MONTH_FIRST_REGIONS
            if tag.group(1).lower() != "en":
                return True  # "de", "fr": day first wherever they are spoken
    if _NOT_ENGLISH.search(words[:2_000]):
        return True
    when = mime.parse_date(parsed.headers.get("date"))
    offset = when.utcoffset() if when else None
    if offset is None:
        return None
    return int(offset.total_seconds() // 60) not in _US_OFFSETS
