"""When a pause ends, from the client's words and the date their mail was written.

"until 3 January", "until 2027-01-03", "until January" (the 1st), "till Monday", "until next
week" (its Monday), "for a fortnight", "for two weeks", "bis 3. Januar", "jusqu'au 3 janvier",
"hasta el 3 de enero", "tot 3 januari", "fino al 3 gennaio", "até 3 de janeiro".

A date without a year is the next one on or after the reference date (the mail's own Date
header, so the result never depends on when we read it). Without a reference date only a
date with a year can be read.

Slash dates ("3/1", "1/15/2027"): day and month order differ between countries. A number
above 12 settles it ("15/1", "1/15"); otherwise the caller says which order the client
uses (`day_first`, from their mail program's language tags, time zone and words; see
`__init__`), and the reading is reported as a problem so the therapist can check it. With
no hint an ambiguous slash date is not read: a wrong guess would silence or wake check-ins
on the wrong day.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

_MONTHS_BY_LANGUAGE = (
    "january february march april may june july august september october november december",
    "jan feb mar apr may jun jul aug sep oct nov dec",
    "januar februar märz april mai juni juli august september oktober november dezember",
    "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
    "januari februari maart april mei juni juli augustus september oktober november december",
    "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
)
MONTHS = {
    name: number
    for names in _MONTHS_BY_LANGUAGE
    for number, name in enumerate(names.split(), start=1)
} | {"sept": 9, "jänner": 1, "setiembre": 9, "marz": 3, "fevrier": 2, "aout": 8}
_WEEKDAYS_BY_LANGUAGE = (
    "monday tuesday wednesday thursday friday saturday sunday",
    "montag dienstag mittwoch donnerstag freitag samstag sonntag",
    "lundi mardi mercredi jeudi vendredi samedi dimanche",
    "lunes martes miércoles jueves viernes sábado domingo",
    "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag",
    "lunedì martedì mercoledì giovedì venerdì sabato domenica",
    "segunda terça quarta quinta sexta sábado domingo",
)
WEEKDAYS = {
    name: number for names in _WEEKDAYS_BY_LANGUAGE for number, name in enumerate(names.split())
}
_COUNTS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a couple of": 2, "a few": 3, "couple of": 2,
    "zwei": 2, "drei": 3, "eine": 1, "einen": 1, "deux": 2, "trois": 3, "une": 1, "un": 1,
    "dos": 2, "tres": 3, "una": 1, "twee": 2, "drie": 3, "een": 1, "due": 2, "tre": 3,
    "duas": 2, "dois": 2, "três": 3, "uma": 1, "um": 1,
}  # fmt: skip
_UNIT_DAYS = (
    (r"fortnights?", 14),
    (r"days?|tage?n?|jours?|d[ií]as|dagen|giorni|dias", 1),
    (r"weeks?|wochen?|semaines?|semanas?|weken|settimane?", 7),
    (r"months?|monate?n?|mois|meses|maanden|mesi", 30),
)
_DURATION_WORDS = ("for", "für", "pendant", "durante", "voor", "per", "por")
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_ISO = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b")
_DOTTED = re.compile(r"\b(\d{1,2})\.(\d{1,2})(?:\.(\d{4}|\d{2})?)?(?![\d.])")
_DAY_MONTH = re.compile(
    rf"\b(\d{{1,2}})(?:st|nd|rd|th|er|e|º|\.)?\s+(?:of\s+|de\s+)?({_MONTH})\b\.?(?:,?\s+(\d{{4}}))?"
)
_MONTH_DAY = re.compile(
    rf"\b({_MONTH})\.?\s+(?:the\s+)?(\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(\d{{4}}))?"
)
_MONTH_ONLY = re.compile(rf"\b({_MONTH})\b\.?(?:\s+(\d{{4}}))?")
_DAY_ONLY = re.compile(r"(?:the\s+)?(\d{1,2})(?:st|nd|rd|th)\b")
_PREPOSITION = re.compile(
    r"^(?:until|till|til|through|to|for|bis|für|jusqu'(?:au|à|en)|pendant|hasta|durante|tot"
    r"|voor|fino\s+(?:al|a)|per|até|por)\s+(?:(?:the|el|la|le|il|o|a|de)\s+)?",
)


def until(phrase: str, reference: date | None, day_first: bool | None = None) -> date | None:
    return read_until(phrase, reference, day_first)[0]


def read_until(
    phrase: str, reference: date | None, day_first: bool | None = None
) -> tuple[date | None, str | None]:
    """The date a pause ends, and a problem for the therapist when it is not sure."""
    slash = _SLASH.search(phrase)
    if slash:
        return _slash_date(slash, reference, day_first)
    found = _until(phrase, reference)
    return found, None if found else "pause date not understood"


_SLASH = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")


def _slash_date(
    match: re.Match[str], reference: date | None, day_first: bool | None
) -> tuple[date | None, str | None]:
    first, second, year = int(match[1]), int(match[2]), match[3]
    if first > 12 or second > 12:
        day_first = first > 12
        ambiguous = False
    else:
        ambiguous = first != second
    if day_first is None:
        return None, f"pause date {match[0]} not read: day/month or month/day?"
    day, month = (first, second) if day_first else (second, first)
    found = _next_date(month, day, year, reference)
    if found is None:
        return None, "pause date not understood"
    if not ambiguous:
        return found, None
    order = "day/month" if day_first else "month/day"
    return found, f"pause date {match[0]} read as {found.isoformat()} ({order}): please check"


def _until(phrase: str, reference: date | None) -> date | None:
    text = " ".join(phrase.lower().replace("\u2019", "'").split()).strip(" .!,?")
    preposition = _PREPOSITION.match(text)
    rest = text[preposition.end() :] if preposition else text
    if preposition and preposition.group(0).split()[0] in _DURATION_WORDS:
        found = _duration(rest, reference)
        if found:
            return found
    after = re.match(r"after\s+(?:the\s+)?", rest)
    if after:  # "until after 3 January": the day after
        found = _named(rest[after.end() :], reference)
        return found + timedelta(days=1) if found else None
    return _named(rest, reference)


def _named(text: str, reference: date | None) -> date | None:
    return _month_end(text, reference) or _absolute(text, reference) or _relative(text, reference)


def _month_end(text: str, reference: date | None) -> date | None:
    """ "the end of January" is its last day; "the end of the month" this month's."""
    match = re.match(rf"(?:the\s+)?end\s+of\s+(?:the\s+month|({_MONTH}))\b", text)
    if not match or reference is None:
        return None
    month = MONTHS[match[1]] if match[1] else reference.month
    first = _next_date(month, 1, None, reference) if match[1] else reference.replace(day=1)
    if first is None:
        return None
    following = first.replace(day=28) + timedelta(days=4)
    return following - timedelta(days=following.day)


def _duration(text: str, reference: date | None) -> date | None:
    counts = "|".join(sorted(map(re.escape, _COUNTS), key=len, reverse=True))
    for unit, days in _UNIT_DAYS:
        match = re.match(
            rf"(?:(\d{{1,3}}(?:[.,]\d)?)\s*|({counts})\s+)?(?:more\s+)?(?:{unit})\b", text
        )
        if match and reference:
            number = match.group(1)
            count = float(number.replace(",", ".")) if number else _COUNTS.get(match.group(2), 1)
            return reference + timedelta(days=round(count * days))
    if re.match(r"(?:a\s+)?fortnight\b", text) and reference:
        return reference + timedelta(days=14)
    return None


def _absolute(text: str, reference: date | None) -> date | None:
    match = _ISO.search(text)
    if match:
        return _make(int(match[1]), int(match[2]), int(match[3]))
    match = _DOTTED.search(text)
    if match:
        return _next_date(int(match[2]), int(match[1]), match[3], reference)
    match = _DAY_MONTH.search(text)
    if match:
        return _next_date(MONTHS[match[2]], int(match[1]), match[3], reference)
    match = _MONTH_DAY.search(text)
    if match:
        return _next_date(MONTHS[match[1]], int(match[2]), match[3], reference)
    match = _MONTH_ONLY.search(text)
    if match:  # "January" is its first day, "mid-January" its 15th
        day = 15 if re.search(r"\bmid(?:dle\s+of)?[-\s]*$", text[: match.start()]) else 1
        return _next_date(MONTHS[match[1]], day, match[2], reference)
    return None


def _relative(text: str, reference: date | None) -> date | None:
    if reference is None:
        return None
    if re.match(r"tomorrow|morgen|demain|mañana|morgen|domani|amanhã", text):
        return reference + timedelta(days=1)
    if re.match(
        r"next\s+week|nächste\s+woche|la\s+semaine\s+prochaine|la\s+próxima\s+semana", text
    ):
        return reference + timedelta(days=7 - reference.weekday())
    if re.match(r"next\s+month|nächsten\s+monat|le\s+mois\s+prochain|el\s+próximo\s+mes", text):
        return _make(reference.year + reference.month // 12, reference.month % 12 + 1, 1)
    if re.match(r"(?:the\s+)?new\s+year|neujahr|nouvel\s+an|año\s+nuevo", text):
        return date(reference.year + 1, 1, 1)
    if re.match(r"(?:christmas|xmas|weihnachten|noël|navidad|kerst|natale|natal)\b", text):
        return _next_date(12, 25, None, reference)
    return _weekday(text, reference) or _day_only(text, reference)


def _weekday(text: str, reference: date) -> date | None:
    word = re.sub(r"^(?:next|this|coming|nächsten|prochain)\s+", "", text).split(" ")[0]
    if word not in WEEKDAYS:
        return None
    ahead = (WEEKDAYS[word] - reference.weekday() - 1) % 7 + 1
    return reference + timedelta(days=ahead)


def _day_only(text: str, reference: date) -> date | None:
    match = _DAY_ONLY.match(text)
    if not match:
        return None
    day = int(match[1])
    this_month = _make(reference.year, reference.month, day)
    if this_month and this_month >= reference:
        return this_month
    return _make(reference.year + reference.month // 12, reference.month % 12 + 1, day)


def _next_date(month: int, day: int, year: str | None, reference: date | None) -> date | None:
    if year:
        full = int(year) + (2000 if len(year) == 2 else 0)
        return _make(full, month, day)
    if reference is None:
        return None
    found = _make(reference.year, month, day)
    if found and found >= reference:
        return found
    return _make(reference.year + 1, month, day)


def _make(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None
