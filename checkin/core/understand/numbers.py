"""Small numbers as clients write them: digits and number words in a few languages."""

from __future__ import annotations

# Words that mean nothing else in running English text; safe wherever a rating is expected.
ENGLISH = {
    "zero": 0, "nought": 0, "nil": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
}  # fmt: skip

# Other languages' words, some of which are ordinary words elsewhere ("sept", "due", "sei",
# "acht", "neuf"); used only where the context already says "a score out of ten".
OTHER = {
    # German
    "null": 0, "eins": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5, "sechs": 6,
    "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    # French
    "zéro": 0, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7, "huit": 8,
    "neuf": 9, "dix": 10,
    # Spanish
    "cero": 0, "uno": 1, "dos": 2, "tres": 3, "cuatro": 4, "cinco": 5, "seis": 6,
    "siete": 7, "ocho": 8, "nueve": 9, "diez": 10,
    # Dutch
    "nul": 0, "een": 1, "twee": 2, "drie": 3, "vijf": 5, "zes": 6, "zeven": 7,
    "negen": 9, "tien": 10,
    # Italian
    "due": 2, "tre": 3, "quattro": 4, "cinque": 5, "sei": 6, "sette": 7, "otto": 8,
    "nove": 9, "dieci": 10,
    # Portuguese
    "um": 1, "dois": 2, "duas": 2, "três": 3, "sete": 7, "oito": 8, "dez": 10,
}  # fmt: skip

ALL = {**OTHER, **ENGLISH}
# Ordinary words elsewhere ("um", "een" = a, "sei", "due", "sept", "null"): never a rating on
# their own, only next to "/10" or a rating label.
AMBIGUOUS = frozenset({"um", "een", "uno", "sei", "due", "sept", "neuf", "null", "nul", "tre"})

# Regex alternations, longest first so "seventeen" never reads as "seven" (with \b around).
DIGITS = r"10|[0-9](?:[.,]\d)?"
ENGLISH_WORDS = "|".join(sorted(ENGLISH, key=len, reverse=True))
ALL_WORDS = "|".join(sorted(ALL, key=len, reverse=True))
SAFE_WORDS = "|".join(sorted(set(ALL) - AMBIGUOUS, key=len, reverse=True))


def value(token: str) -> float | None:
    token = token.strip().lower()
    if token in ALL:
        return float(ALL[token])
    try:
        return float(token.replace(",", "."))
    except ValueError:
        return None


def to_rating(number: float | None) -> int | None:
    """0..10, halves rounded down: "6.5" -> 6 (we would rather under- than over-report)."""
    if number is None or not 0 <= number <= 10:
        return None
    whole = int(number)
    return whole + 1 if number - whole > 0.5 else whole
