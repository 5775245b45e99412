"""A rating from 0 to 10 in the client's words.

A number means a rating only where the context says so: "/10", "out of 10" (and "von 10",
"sur 10", ...), a cue such as "I'd say", "maybe a", "call it", a rating label, a line that
is only a number, a short reply with one number standing alone ("Yes, 7"), or the answer to
our question 2. Counts, clock times, durations and dates are not ratings: "went twice",
"for 15 minutes", "at 7:30", "on the 3rd", "2 mornings", "with 3 friends".

A range or a half ("between 4 and 5", "4-5", "6.5") gives the lower value, and 7.6 rounds to
8: under-reporting how well it went costs less than over-reporting it.
"""

from __future__ import annotations

import re

from checkin.core.understand import numbers

_NUM = rf"(?P<n>{numbers.DIGITS}|{numbers.ALL_WORDS})"
_NUM_EN = rf"(?P<n>{numbers.DIGITS}|{numbers.ENGLISH_WORDS})"
_UNITS = (
    r"minutes?|mins?|hours?|hrs?|h\b|seconds?|secs?|days?|nights?|mornings?|evenings?"
    r"|afternoons?|weeks?|months?|years?|times?|x\b|am\b|pm\b|a\.m|p\.m|o['’]?clock|%|percent|km"
    r"|k\b|miles?|steps|breaths?|people|kg|lbs?|glasses|cups|pages|reps|sets|calls|tries"
    r"|attempts|sessions|of\s+(?:them|us|the)|st\b|nd\b|rd\b|th\b"
)
# "7ish" and "seven-ish" are ratings; "5-minute" and "7am" are not.
_NOT_AFTER = rf"(?!\s*(?:{_UNITS}|:\d|\.\d\d|[-‐–](?!ish\b)\w)|(?!ish\b)[a-z\d])"
# "5 days out of 7", "two mornings out of five": a count out of a count, not a rating.
_NOT_A_FRACTION = r"(?<!\bout\sof\s)(?<!\bof\s)"
_NOT_BEFORE = (  # "at 7", "for 2", "on the 3rd", "in 5", "every 2": times, counts and dates
    r"(?<![\d:/#$£€.,])(?<!\bat\s)(?<!\bfor\s)(?<!\bthe\s)(?<!\bby\s)(?<!\buntil\s)"
    r"(?<!\bon\s)(?<!\bin\s)(?<!\bafter\s)(?<!\bbefore\s)(?<!\bevery\s)(?<!\bpage\s)"
)
_TEN = r"(?:10|ten|zehn|dix|diez|dieci|tien|dez)"
_OUT_OF_TEN = re.compile(
    rf"\b{_NUM}\s*(?:/|out\s+of|of|von|sur|de|su|op|uit|em)\s*{_TEN}\b{_NOT_AFTER}",
    re.IGNORECASE,
)
_RANGE = re.compile(
    rf"{_NOT_BEFORE}\b(?:between\s+)?{_NUM}\s*(?:-|–|to|or|and|/)\s*"
    rf"(?P<m>{numbers.DIGITS}|{numbers.ENGLISH_WORDS})\b{_NOT_AFTER}",
    re.IGNORECASE,
)
_CUE = re.compile(
    r"(?:\b(?:i['’]?d|i\s+would|i)\s+(?:say|give\s+it|call\s+it|rate\s+it|put\s+it\s+at)"
    r"|\b(?:call\s+it|give\s+it|gave\s+it|rate\s+it|rated\s+it|maybe|perhaps|probably|about"
    r"|around|roughly|like|solid|score\s+of|rating\s+of|it\s+was|it['’]?s|that['’]?s|went"
    r"|felt\s+like|overall)|\brating|\bscore|\bnota|\bbewertung|\bcijfer|\bvoto)"
    r"\s*(?:is\s+|was\s+|[:=-]\s*)?(?:a\s+|an\s+|at\s+)?"
)
# In prose a rating ends its phrase ("maybe a 6, but"); "like 2 more weeks" is a count.
_PHRASE_END = (
    r"(?=\s*(?:$|[.,;:!?)/–—-]|(?:but|and|or|i|overall|maybe|probably|perhaps|really|though"
    r"|tbh|honestly|today|this|that|for|at|in|on|out|if|so|then|which|because|as|now|too"
    r"|kind|sort|ish|haha|lol|x+)\b))"
)
_AFTER_CUE = re.compile(
    rf"{_CUE.pattern}{_NOT_BEFORE}\b{_NUM_EN}\b{_NOT_AFTER}{_PHRASE_END}", re.IGNORECASE
)
_ARTICLE = re.compile(rf"\b(?:a|an)\s+{_NUM_EN}\b{_NOT_AFTER}{_PHRASE_END}", re.IGNORECASE)
_ANY = re.compile(rf"{_NOT_BEFORE}{_NOT_A_FRACTION}\b{_NUM}\b{_NOT_AFTER}", re.IGNORECASE)
_NUM_SAFE = rf"(?P<n>{numbers.DIGITS}|{numbers.SAFE_WORDS})"
_BARE = re.compile(
    rf"^\s*(?:(?:a|an|about|maybe)\s+)?{_NUM_SAFE}\s*(?:[-‐–]?ish)?\s*(?:/\s*10)?[.!]?\s*$", re.I
)


def rating_in(text: str, *, strict: bool) -> int | None:
    """`strict` for prose: only a number the context marks as a rating."""
    text = text[:5_000]
    short = len(text.split()) <= 8  # "4-5 I think": in a short reply a range is the rating
    patterns = (
        [_OUT_OF_TEN, _RANGE, _AFTER_CUE, _ARTICLE] if strict else [_OUT_OF_TEN, _RANGE, _ANY]
    )
    for pattern in patterns:
        for match in pattern.finditer(text):
            if pattern is _RANGE and strict and not _range_cued(text, match) and not short:
                continue
            found = _lower(match)
            if found is not None:
                return found
    if not strict:
        return None
    return _bare_rating_lines(text) or _only_number(text)


_ALONE = re.compile(
    rf"{_NOT_BEFORE}{_NOT_A_FRACTION}\b{_NUM_SAFE}(?:[-‐–]?ish)?"
    rf"(?:\s*[-–]\s*(?P<m>{numbers.DIGITS}))?(?=\s*(?:[.,;!)]|$))"
)


def _only_number(text: str) -> int | None:
    """A short reply with one number standing alone ("Yes, 7", "partly - 5", "4-5 I think"
    has a range): the rating. A number followed by a word ("with 3 friends") is a count.
    A longer reply may start with such a line ("Yes, did it most days. 8")."""
    for candidate in (text, text.strip().split("\n", 1)[0]):
        if len(candidate.split()) > 8:
            continue
        found = list(_ALONE.finditer(candidate.strip()))
        if len(found) == 1:
            return _lower(found[0])
    return None


def _lower(match: re.Match[str]) -> int | None:
    first = numbers.to_rating(numbers.value(match.group("n")))
    if "m" in match.groupdict() and match.group("m") is not None:
        second = numbers.to_rating(numbers.value(match.group("m")))
        if first is None or second is None or second < first or second - first > 2:
            return None
    return first


def _range_cued(text: str, match: re.Match[str]) -> bool:
    if match.group(0).lower().startswith("between"):
        return True
    before = text[max(0, match.start() - 30) : match.start()]
    return bool(re.search(_CUE.pattern + r"\s*$", before, re.IGNORECASE))


def bare_rating(line: str) -> int | None:
    match = _BARE.match(line) if len(line) <= 40 else None
    return numbers.to_rating(numbers.value(match.group("n"))) if match else None


def _bare_rating_lines(text: str) -> int | None:
    """A line that is only a number ("7", "7/10", "eight") is a rating."""
    for line in text.split("\n"):
        found = bare_rating(line)
        if found is not None:
            return found
    return None
