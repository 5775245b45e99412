"""Words that a therapist must see today: suicidal thoughts (said outright or indirectly),
self-harm, overdose and other means, danger from another person, harming others.

The words themselves live in `risk_lexicon.yaml` beside this file, written so that a
clinician can read and extend it without programming (its header explains the phrase
syntax). Each entry carries the sentences it must flag and the figures of speech it must not;
one test runs them all. This module only compiles and applies it.

Policy (a false alarm costs a therapist a minute; a miss can cost a life):
* Every match flags, including negated ones. "I'm not suicidal" is still flagged, with the
  reason marked "possibly negated: ...", so the therapist sees the sentence and decides.
* Idioms that only borrow the words are not matched in the first place ("this job will be
  the death of me", "I was dying to try it"): phrases need a person and a harmful object.
  Where a phrase could be borrowed ("I wanted to die of embarrassment"), an `unless` phrase
  that overlaps the match sets it aside.
* Accidental injuries ("I cut myself cooking") are flagged: cheap to dismiss.
* The caller passes only the client's own words (trimmed text, what they wrote above the
  quoted history including signatures, the subject), never the quoted history: our own
  check-in says "danger or crisis", and an experiment's title may name self-harm.

Matching is on words, not characters: case, accents, punctuation and spacing are folded, so
"can't", "cant" and "can’t" are one word and "não" matches "nao". A phrase never reaches
across the end of a sentence. Every compiled pattern is a bounded sequence of literal words,
short alternatives and gaps of at most three words, so no input can make matching slow.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

MAX_REASON = 200  # characters of a sentence shown as the reason
MAX_TEXT = 100_000  # characters read per text
LEXICON = "risk_lexicon.yaml"
GAP_WORDS = 3  # what "..." may skip

# Words that, just before a match, may turn it around ("I'm not suicidal", "I'd never hurt
# myself"). The flag stays; the reason says "possibly negated".
_NEGATORS = frozenset(
    {
        *("not", "never", "no", "don't", "dont", "doesn't", "doesnt", "didn't", "didnt"),
        *("isn't", "isnt", "wasn't", "wasnt", "won't", "wont", "wouldn't", "wouldnt"),
        *("nicht", "nie", "niemals", "kein", "keine", "keinen", "pas", "jamais", "plus"),
        *("nunca", "niet", "nooit", "geen", "non", "mai", "nao", "nem"),
    }
)
_NEGATION_WINDOW = 4  # words before the match that are looked at


@dataclass(frozen=True)
class Entry:
    id: str
    category: str
    language: str
    phrases: tuple[str, ...]
    examples: tuple[str, ...]
    near_misses: tuple[str, ...]
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None


@dataclass(frozen=True)
class Finding:
    entry: str  # the lexicon entry's id
    category: str
    words: str  # the client's words that matched, as written
    sentence: str  # the sentence they are in (shortened around the words when long)
    negated: bool


def assess(*texts: str) -> tuple[str, ...]:
    """The sentences that carry risk language, once each, in order of appearance."""
    reasons: list[str] = []
    for text in dict.fromkeys(texts):  # a text twice adds nothing: its reasons are in already
        for finding in findings(text):
            reason = ("possibly negated: " if finding.negated else "") + finding.sentence
            if reason not in reasons:
                reasons.append(reason)
    return tuple(reasons)


def findings(text: str, entries: tuple[Entry, ...] | None = None) -> list[Finding]:
    """Every match of the lexicon (or of the given entries) in one text, in order."""
    source = text[:MAX_TEXT]
    words = _Words(source)
    if not words.norm.strip():
        return []
    lexicon, global_unless = (entries, None) if entries is not None else load()
    found: list[tuple[int, Finding]] = []
    for entry in lexicon:
        for match in entry.pattern.finditer(words.norm):
            span = (match.start(), match.end())
            if _overlaps(entry.unless, words.norm, span) or _overlaps(
                global_unless, words.norm, span
            ):
                continue
            found.append((span[0], words.finding(entry, span)))
    found.sort(key=lambda pair: pair[0])
    return [f for _, f in found]


def _overlaps(pattern: re.Pattern[str] | None, norm: str, span: tuple[int, int]) -> bool:
    """An `unless` phrase that shares words with the match (searched near it only)."""
    if pattern is None:
        return False
    lo, hi = max(0, span[0] - 120), min(len(norm), span[1] + 120)
    return any(m.start() < span[1] and span[0] < m.end() for m in pattern.finditer(norm, lo, hi))


# --- words ------------------------------------------------------------------------------------

_TOKEN = re.compile(r"(?P<word>[\w']+)|(?P<stop>[.!?…]+(?=\s|$)|\n[ \t]*\n)")
# French and Italian elide articles and pronouns into the next word ("l'automutilation",
# "j'en peux plus", "un'overdose"): the two are two words, in the text and in phrases.
_ELISION = re.compile(
    r"^(?P<head>[cdjlmnst]|qu|jusqu|lorsqu|puisqu|un|dell|dall|nell|sull|all|quest|quell)'"
    r"(?=\w)"
)


def _split_elision(word: str) -> list[str]:
    match = _ELISION.match(word)
    return [match.group(0), word[match.end() :]] if match else [word]


_QUOTES = dict.fromkeys(map(ord, "’‘`´ʼ′"), "'")


@cache
def _fold_char(ch: str) -> str:
    folded = unicodedata.normalize("NFKD", ch.casefold().translate(_QUOTES))
    return "".join(c for c in folded if not unicodedata.combining(c))


def fold(text: str) -> str:
    """Case, accents and apostrophes folded, as the lexicon's phrases are."""
    return "".join(_fold_char(ch) for ch in text)


def _folded(source: str) -> tuple[str, Sequence[int]]:
    """`fold(source)`, and for each of its characters the position it came from."""
    if source.isascii():  # casefold is lower(); of the quotes, only ` is ASCII
        return source.lower().replace("`", "'"), range(len(source))
    chars = [_fold_char(ch) for ch in source]
    stream = "".join(chars)
    if len(stream) == len(source) and "" not in chars:  # one character each
        return stream, range(len(source))
    return stream, [i for i, folded in enumerate(chars) for _ in folded]


class _Words:
    """The text as " word word . word " (a "." ends a sentence), mapped back to the original."""

    def __init__(self, source: str) -> None:
        self.source = source
        stream, origin = _folded(source)
        parts: list[str] = []
        self.starts: list[int] = []  # position of each token in norm
        self.spans: list[tuple[int, int]] = []  # each token's span in the source
        position = 1
        for m in _TOKEN.finditer(stream):
            word = "." if m.lastgroup == "stop" else m.group().strip("'")
            span = (origin[m.start()], origin[m.end() - 1] + 1)
            for part in _split_elision(word) if word else ():
                parts.append(part)
                self.starts.append(position)
                self.spans.append(span)
                position += len(part) + 1
        self.tokens = parts
        self.norm = " " + " ".join(parts) + " "

    def _token_at(self, position: int) -> int:
        return max(0, bisect_right(self.starts, position) - 1)

    def finding(self, entry: Entry, span: tuple[int, int]) -> Finding:
        first = self._token_at(span[0] + 1)
        last = self._token_at(max(span[0] + 1, span[1] - 1))
        start = first
        while start > 0 and self.tokens[start - 1] != ".":
            start -= 1
        end = last
        while end + 1 < len(self.tokens) and self.tokens[end + 1] != ".":
            end += 1
        words = self.source[self.spans[first][0] : self.spans[last][1]]
        before = [t for t in self.tokens[max(start, first - _NEGATION_WINDOW) : first]]
        return Finding(
            entry=entry.id,
            category=entry.category,
            words=" ".join(words.split()),
            sentence=self._sentence(start, end, first, last),
            negated=any(t in _NEGATORS for t in before),
        )

    def _sentence(self, start: int, end: int, first: int, last: int) -> str:
        """The sentence as written; when long, the part around the matched words."""
        stop = self.spans[end][1]
        if end + 1 < len(self.tokens) and self.source[self.spans[end + 1][0]] in ".!?…":
            stop = self.spans[end + 1][1]  # keep the sentence's own full stop
        text = " ".join(self.source[self.spans[start][0] : stop].split())
        if len(text) <= MAX_REASON:
            return text
        lo = max(self.spans[start][0], self.spans[first][0] - 80)
        hi = min(stop, max(self.spans[last][1] + 80, lo + MAX_REASON - 2))
        return "…" + " ".join(self.source[lo:hi].split())[: MAX_REASON - 2] + "…"


# --- the lexicon ------------------------------------------------------------------------------


class LexiconError(ValueError):
    """The lexicon file is not as its header describes: the message names the entry."""


@cache
def load() -> tuple[tuple[Entry, ...], re.Pattern[str] | None]:
    """The shipped lexicon, compiled once (found inside the package, so it works from a wheel)."""
    text = resources.files(__package__).joinpath(LEXICON).read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> tuple[tuple[Entry, ...], re.Pattern[str] | None]:
    data = yaml.safe_load(text)
    if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
        raise LexiconError("the lexicon needs a list called `entries`")
    entries = tuple(_entry(raw, n) for n, raw in enumerate(data["entries"], start=1))
    ids = [e.id for e in entries]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise LexiconError(f"entry ids used twice: {', '.join(duplicates)}")
    return entries, _any_of(_strings(data.get("unless"), "unless", "(top level)"), "(top level)")


def _entry(raw: Any, n: int) -> Entry:
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        raise LexiconError(f"entry {n} needs an `id`")
    name = raw["id"]
    phrases = _strings(raw.get("phrases"), "phrases", name)
    if not phrases:
        raise LexiconError(f"{name}: no phrases")
    pattern = _any_of(phrases, name)
    assert pattern is not None
    return Entry(
        id=name,
        category=str(raw.get("category") or "unspecified"),
        language=str(raw.get("language") or "any"),
        phrases=phrases,
        examples=_strings(raw.get("examples"), "examples", name),
        near_misses=_strings(raw.get("near_misses"), "near_misses", name),
        pattern=pattern,
        unless=_any_of(_strings(raw.get("unless"), "unless", name), name),
    )


def _strings(value: Any, field: str, name: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LexiconError(f"{name}: `{field}` must be a list of quoted phrases")
    return tuple(value)


def _any_of(phrases: tuple[str, ...], name: str) -> re.Pattern[str] | None:
    if not phrases:
        return None
    try:
        body = "|".join(compile_phrase(p) for p in phrases)
    except LexiconError as exc:
        raise LexiconError(f"{name}: {exc}") from None
    return re.compile(f"(?:{body})(?= )")


# --- phrase syntax: words, word*, {a|b c}, [optional], ... -----------------------------------

_PHRASE_TOKEN = re.compile(r"\s*(\.\.\.|[{}\[\]|]|[\w']+\*?|\S)")


def compile_phrase(phrase: str) -> str:
    """A phrase of the lexicon -> a regex over " word word " text (see the file's header)."""
    found = _PHRASE_TOKEN.findall(fold(phrase).replace("-", " "))
    tokens = [part for t in found if t for part in _split_elision(t)]
    body, rest = _sequence(tokens, 0, phrase)
    if rest != len(tokens):
        raise LexiconError(f"unexpected {tokens[rest]!r} in {phrase!r}")
    if not body:
        raise LexiconError(f"empty phrase {phrase!r}")
    return body


def _sequence(tokens: list[str], i: int, phrase: str) -> tuple[str, int]:
    out: list[str] = []
    while i < len(tokens) and tokens[i] not in ("|", "}", "]"):
        token = tokens[i]
        if token == "{":
            options, i = _options(tokens, i + 1, phrase)
            out.append(f"(?:{'|'.join(options)})")
        elif token == "[":
            options, i = _options(tokens, i + 1, phrase, close="]")
            out.append(f"(?:{'|'.join(options)})?")
        elif token == "...":
            out.append(rf"(?: [\w']+){{0,{GAP_WORDS}}}")
            i += 1
        elif re.fullmatch(r"[\w']+\*?", token):
            out.append(_word(token))
            i += 1
        else:
            raise LexiconError(f"unexpected {token!r} in {phrase!r}")
    return "".join(out), i


def _options(tokens: list[str], i: int, phrase: str, close: str = "}") -> tuple[list[str], int]:
    """`{a|b c}`, or `[a|b c]` (the same, but may also be absent)."""
    options: list[str] = []
    while True:
        option, i = _sequence(tokens, i, phrase)
        options.append(option)
        if i < len(tokens) and tokens[i] == "|":
            i += 1
            continue
        _expect(tokens, i, close, phrase)
        return options, i + 1


def _expect(tokens: list[str], i: int, token: str, phrase: str) -> None:
    if i >= len(tokens) or tokens[i] != token:
        raise LexiconError(f"missing {token!r} in {phrase!r}")


def _word(token: str) -> str:
    stem = token.endswith("*")
    word = token.rstrip("*").lstrip("'")
    if not word.strip("'"):
        raise LexiconError(f"empty word {token!r}")
    # "can't" also matches "cant", and an elided "l'" also "l": clients drop apostrophes.
    literal = "'?".join(re.escape(part) for part in word.split("'"))
    return " " + literal + (r"[\w']*" if stem else "")
