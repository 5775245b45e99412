"""The four answers in the client's words: tried (yes/no/partly), rating 0-10, noticed,
next time.

Where an answer comes from, strongest first:
1. an answer typed under our quoted question (trim tags those blocks);
2. numbered lines ("1) yes", "2. 8", also several on one line: "1) yes 2) 8");
3. labelled lines ("Tried it: sort of", "Score - 3", "rating: 7/10", "Next time: ...");
4. a bare list of short lines in our order ("yes" / "7" / ...);
5. prose: "maybe a 5", "I'd call it an eight", "6 out of 10"; "I noticed ...", "next time
   I'll ...".

How a number becomes a rating (and when it does not) is in `rating.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checkin.core.understand.rating import bare_rating, rating_in
from checkin.core.understand.trim import Segment

MAX_ANSWER = 1_000  # characters kept per free-text answer


@dataclass(frozen=True)
class Answers:
    tried: str | None = None
    rating: int | None = None
    noticed: str | None = None
    next_time: str | None = None


def extract(segments: tuple[Segment, ...], text: str) -> Answers:
    slots = _slots(segments, text)
    tried = _tried(slots[1], strict=False) if 1 in slots else None
    rating = rating_in(slots[2], strict=False) if 2 in slots else None
    noticed = _clip(slots.get(3))
    next_time = _clip(slots.get(4))
    prose = _unnumbered(text)
    if tried is None:
        tried = _tried(prose, strict=True)
    if rating is None:
        rating = rating_in(prose, strict=True)
    if noticed is None:
        noticed = _clip(_sentences_with(prose, _NOTICE, exclude=_NEXT))
    if next_time is None:
        next_time = _clip(_sentences_with(prose, _NEXT))
    return Answers(tried, rating, noticed, next_time)


def _clip(text: str | None) -> str | None:
    text = (text or "").strip()
    return text[:MAX_ANSWER] or None


# --- which text answers which question --------------------------------------------------------

MAX_LINE = 2_000  # longer lines are prose, never a numbered or labelled answer
_NUMBERED = re.compile(
    r"(?:^|(?<=\s))(?:q|#)?\(?([1-4])(?:\s*[.):]|(?<=^\d)\s+[-–])\s+(?=\S)", re.IGNORECASE
)
_LABELS = (
    (
        1,
        r"tried(?:\s+it)?|did\s+you\s+try(?:\s+it)?|try|attempted|versucht|essayé|probado"
        r"|intentado|provato|geprobeerd|tentei",
    ),
    (
        2,
        r"rating|rate|score|scale|how\s+did\s+it\s+go|how\s+it\s+went|grade|bewertung"
        r"|punkte|puntuación|nota|voto|cijfer|0\s*-\s*10",
    ),
    (
        3,
        r"(?:what\s+(?:did\s+)?)?(?:i\s+)?notic(?:ed|e)|observations?|observed|bemerkt|remarqué"
        r"|notado|notato|gemerkt|percebi|notei",
    ),
    (
        4,
        r"(?:what\s+might\s+you\s+do\s+)?differently|next\s+time|next|change|plan"
        r"|nächstes\s+mal|la\s+prochaine\s+fois|la\s+próxima\s+vez|la\s+prossima\s+volta"
        r"|volgende\s+keer|(?:da|na)\s+próxima\s+vez|próxima\s+vez",
    ),
)
_LABEL = re.compile(
    r"^\s*(?:[-*•]\s*)?(?:"
    + "|".join(f"(?P<q{n}>{pattern})" for n, pattern in _LABELS)
    + r")\s*(?:\?\s*)?(?:[:=]|(?<=\s)[-–—]|-(?=\s*\d)|$)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)


def _slots(segments: tuple[Segment, ...], text: str) -> dict[int, str]:
    """Question number -> the client's answer, from inline, numbered or labelled text."""
    slots: dict[int, str] = {}
    for segment in segments:
        if segment.question and segment.question not in slots:
            slots[segment.question] = segment.text
    for number, answer in _numbered(text) + _labelled(text) + _bare_list(text):
        slots.setdefault(number, answer)
    return slots


def _numbered(text: str) -> list[tuple[int, str]]:
    found: list[tuple[int, list[str]]] = []
    open_answer = False
    for line in text.split("\n"):
        marks = _marks(line)
        if not marks:
            if open_answer and line.strip():
                found[-1][1].append(line.strip())
            open_answer = open_answer and bool(line.strip())
            continue
        for k, mark in enumerate(marks):
            end = marks[k + 1].start() if k + 1 < len(marks) else len(line)
            found.append((int(mark.group(1)), [line[mark.end() : end].strip()]))
        open_answer = True
    return [(n, "\n".join(x for x in lines if x)) for n, lines in found if any(lines)]


def _marks(line: str) -> list[re.Match[str]]:
    """Numbering marks: "1) yes 2) 8" splits, "went at 2. It was fine" does not (a number
    must start the line or follow the number before it)."""
    marks: list[re.Match[str]] = []
    if len(line) > MAX_LINE:
        return marks
    for mark in _NUMBERED.finditer(line):
        at_start = not line[: mark.start()].strip()
        follows = bool(marks) and int(mark.group(1)) == int(marks[-1].group(1)) + 1
        if at_start or follows:
            marks.append(mark)
    return marks


def _labelled(text: str) -> list[tuple[int, str]]:
    """Labelled answers ("Score: 7"); a label alone on its line ("What I noticed:") takes the
    lines below it."""
    found: list[tuple[int, list[str]]] = []
    open_label = False
    for line in text.split("\n"):
        match = _LABEL.match(line) if len(line) <= MAX_LINE else None
        if match:
            number = next(int(k[1]) for k, v in match.groupdict().items() if k[0] == "q" and v)
            rest = match.group("rest").strip()
            found.append((number, [rest] if rest else []))
            open_label = not rest
        elif open_label and line.strip():
            found[-1][1].append(line.strip())
        elif open_label:  # a blank line ends the list, unless it comes before the first item
            open_label = not found[-1][1]
    return [(n, "\n".join(lines)) for n, lines in found if lines]


_SIGN_OFF = re.compile(
    r"^(?:thanks?|thank\s+you|cheers|best|regards|kind\s+regards|best\s+wishes|take\s+care"
    r"|bye|love|x+|danke|merci|gracias|grazie|obrigad[oa]|bedankt|groetjes|gruß|liebe\s+grüße)"
    r"\b.{0,30}$",
    re.IGNORECASE,
)


def _bare_list(text: str) -> list[tuple[int, str]]:
    """Short lines in our order ("yes" / "7" / "calmer" / "earlier"), the first two bare."""
    lines = [x.strip() for x in text.split("\n") if x.strip() and not _SIGN_OFF.match(x.strip())]
    if not 2 <= len(lines) <= 5 or len(lines[0].split()) > 3:
        return []
    if _tried(lines[0], strict=False) is None or bare_rating(lines[1]) is None:
        return []
    return list(zip((1, 2, 3, 4), lines, strict=False))


# --- tried ------------------------------------------------------------------------------------

_PARTLY = re.compile(
    r"\b(?:partly|partially|part\s+of\s+it|sort\s+of|kind\s+of|kinda|sorta|somewhat|half"
    r"|halfway|more\s+or\s+less|not\s+(?:fully|completely|entirely|quite|every)|yes\s+and\s+no"
    r"|a\s+bit|a\s+little|some\s+(?:days|of\s+it|of\s+the\s+time)|sometimes|once\s+or\s+twice"
    r"|teilweise|zum\s+teil|halb|en\s+partie|un\s+peu|à\s+moitié|parcialmente|en\s+parte"
    r"|un\s+poco|más\s+o\s+menos|gedeeltelijk|een\s+beetje|deels|half|in\s+parte"
    r"|parzialmente|un\s+po|mais\s+ou\s+menos|um\s+pouco|ish)\b",
    re.IGNORECASE,
)
_STRONG_PARTLY = re.compile(
    r"\b(?:partly|partially|(?:sort|kind)\s+of\s+(?:tried|did)|half(?:way|-heartedly)?"
    r"|tried\s+(?:it\s+)?but|teilweise|en\s+partie|parcialmente|gedeeltelijk|in\s+parte)\b",
    re.IGNORECASE,
)
_NO = re.compile(
    r"^(?:no|nope|nah|not\s+really|not\s+yet|not\s+this\s+time|nein|non|nee|não|nao|niet"
    r"|didn['’]?t|did\s+not|haven['’]?t|have\s+not)\b",
    re.IGNORECASE,
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|ya|sure|definitely|absolutely|of\s+course|i\s+did|did\s+it"
    r"|done|ja|jep|oui|sí|si|sim|jazeker|certo|claro|klar)\b",
    re.IGNORECASE,
)
_YES_ANSWER = re.compile(  # only as the answer to "Did you try it?"
    r"^(?:once|twice|three\s+times|\d+\s+times|every\s+(?:day|morning|evening|time)|daily"
    r"|each\s+day|all\s+week|i\s+tried)\b",
    re.IGNORECASE,
)
_PROSE_NO = re.compile(
    r"\bi\s+(?:didn['’]?t|did\s+not|couldn['’]?t|could\s+not|wasn['’]?t\s+able\s+to|never"
    r"|haven['’]?t|have\s+not|forgot\s+to)\s+(?:get\s+(?:to|round|around)|try|do|manage|practi[cs]e|start)"
    r"|\bdidn['’]?t\s+get\s+(?:to|round|around)\s+(?:it|to\s+it)|\b(?:no|ran\s+out\s+of)\s+time"
    r"\s+to\s+try",
    re.IGNORECASE,
)
_PROSE_YES = re.compile(
    r"\bi\s+(?:tried(?:\s+to\s+(?:do|practi[cs]e)\s+it)?(?!\s+to\b)|did\s+it|did\s+try|managed|practi[cs]ed|gave\s+it\s+a\s+(?:go|try)"
    r"|had\s+a\s+go|went\s+for\s+it|kept\s+at\s+it|stuck\s+(?:with|to)\s+it)"
    r"|\bich\s+habe\s+es\s+(?:versucht|probiert|gemacht)|\bj'ai\s+(?:essayé|fait)"
    r"|\b(?:lo\s+)?(?:intenté|probé|hice)\b|\bik\s+heb\s+het\s+(?:geprobeerd|gedaan)"
    r"|\bho\s+provato|\b(?:eu\s+)?(?:tentei|experimentei)",
    re.IGNORECASE,
)


def _tried(text: str, *, strict: bool) -> str | None:
    """`strict` for prose, where "a bit" or "no" say nothing about trying."""
    head = text.strip().lstrip("-*•").strip()[:300]
    if not head:
        return None
    first = _first_sentence(head)
    if (_STRONG_PARTLY if strict else _PARTLY).search(first):
        return "partly"
    if (_YES.match(head) or _NO.match(head)) and _PARTLY.search(" ".join(first.split()[:4])):
        return "partly"  # "Yes, a bit", "Oui, un peu", "No, sort of"
    if _NO.match(head) or _PROSE_NO.search(head):
        return "no"
    if _YES.match(head) or _PROSE_YES.search(head) or (not strict and _YES_ANSWER.match(head)):
        return "yes"
    return None


def _first_sentence(text: str) -> str:
    return re.split(r"(?<=[.!?])\s|\n", text, maxsplit=1)[0]


# --- noticed / next time ----------------------------------------------------------------------

_NOTICE = re.compile(
    r"\b(?:notic\w*|reali[sz]\w*|felt|feel\w*|found|seem\w*|observ\w*|aware|became|learn\w*"
    r"|surpris\w*|struggl\w*|hard|harder|difficult|easy|easier|anxious|anxiety|calm\w*|relax\w*"
    r"|tense|nervous|helped|helpful|made\s+me|bemerkt|gemerkt|gefühlt|fühlte|aufgefallen"
    r"|festgestellt|remarqué|senti|sentie|constaté|rendu\s+compte|noté|me\s+di\s+cuenta|sentí"
    r"|observé|merkte|voelde|viel\s+me\s+op|notato|sentito|accort[oa]|notei|percebi|senti)\b",
    re.IGNORECASE,
)
_NEXT = re.compile(
    r"\b(?:next\s+time|next\s+week|in\s+(?:the\s+)?future|i['’]?ll|i\s+will|i\s+might|i\s+may"
    r"|i\s+could|i['’]?d\s+like\s+to|i\s+would\s+like\s+to|i\s+want\s+to\s+try|plan\s+to"
    r"|going\s+to\s+try|try\s+to|instead|differently|nächstes\s+mal|beim\s+nächsten\s+mal"
    r"|la\s+prochaine\s+fois|la\s+próxima\s+vez|la\s+prossima\s+volta|volgende\s+keer"
    r"|(?:da|na)\s+próxima\s+vez)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"[^.!?;\n]+[.!?]*")


def _unnumbered(text: str) -> str:
    """The text without "1)" prefixes, for reading as prose."""
    out = []
    for line in text.split("\n"):
        for mark in reversed(_marks(line)):
            line = line[: mark.start()] + " " + line[mark.end() :]
        out.append(line)
    return "\n".join(out)


def _sentences_with(
    text: str, cue: re.Pattern[str], exclude: re.Pattern[str] | None = None
) -> str | None:
    chosen = [
        s.strip()
        for s in _SENTENCE.findall(text[:20_000])
        if cue.search(s) and not (exclude and exclude.search(s))
    ]
    return " ".join(chosen) or None
