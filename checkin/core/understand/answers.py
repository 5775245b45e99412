"""The four answers in the client's words: tried (yes/no/partly), rating 0-10, noticed,
next time.

Where an answer comes from, strongest first:
1. an answer typed under our quoted question (trim tags those blocks);
2. numbered lines ("1) yes", "2. 8", also several on one line: "1) yes 2) 8"; "1 yes" / "2 7"
   as a run from 1), and "Q: ... / A: ..." pairs;
3. labelled lines ("Tried it: sort of", "Score - 3", "rating: 7/10", "How did it go? 7",
   "Next time: ...");
4. a bare list of short lines in our order ("yes" / "7" / ...);
5. prose: "maybe a 5", "I'd call it an eight", "6 out of 10"; "I noticed ...", "next time
   I'll ...".

How a number becomes a rating (and when it does not) is in `rating.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checkin.core.understand import template
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
# "1) yes", "2. 8", "(3) calmer", "1 - no" and "1- no" at the start of a line, "Q1 yes" and
# "#2 7" (the letter says it is a number of ours).
_NUMBERED = re.compile(
    r"(?:^|(?<=\s))(?:(?:q|#)\s?(?P<prefixed>[1-4])(?:\s*[.):-])?"
    r"|\(?(?P<n>[1-4])(?:\s*[.):]|(?<=^\d)\s*[-–]))\s+(?=\S)",
    re.IGNORECASE,
)


def _number(mark: re.Match[str]) -> int:
    return int(mark.group("prefixed") or mark.group("n"))


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
    + r")\s*(?:\?\s*(?:[:=]|[-–—](?=\s))?|[:=]|(?<=\s)[-–—]|-(?=\s*\d)|$)\s*(?P<rest>.*)$",
    re.IGNORECASE,
)


def _slots(segments: tuple[Segment, ...], text: str) -> dict[int, str]:
    """Question number -> the client's answer, from inline, numbered or labelled text."""
    slots: dict[int, str] = {}
    for segment in segments:
        if segment.question and segment.question not in slots:
            slots[segment.question] = segment.text
    found = _numbered(text) + _bare_numbered(text) + _question_and_answer(text)
    for number, answer in found + _labelled(text) + _bare_list(text):
        slots.setdefault(number, answer)
    return slots


_BARE_NUMBER = re.compile(r"^\s*([1-4])\s+(?=\S)")


def _bare_numbered(text: str) -> list[tuple[int, str]]:
    """ "1 yes / 2 7 / 3 calmer": numbers without a bracket count only as a run from 1 in
    order ("2 mornings were fine" alone is a count)."""
    found: list[tuple[int, str]] = []
    for line in text.split("\n")[:200]:
        match = _BARE_NUMBER.match(line) if len(line) <= MAX_LINE else None
        if match and int(match.group(1)) == len(found) + 1:
            found.append((len(found) + 1, line[match.end() :].strip()))
        elif line.strip() and found:
            break
    return found if len(found) >= 2 else []


_Q_LINE = re.compile(
    r"^\s*(?:q|question|frage|pregunta|domanda|vraag|pergunta)\s*(\d)?\s*[:.)]\s*(.*)$",
    re.IGNORECASE,
)
_A_LINE = re.compile(
    r"^\s*(?:a|answer|antwort|réponse|reponse|respuesta|risposta|antwoord|resposta)\s*(\d)?"
    r"\s*[:.)]\s*(.*)$",
    re.IGNORECASE,
)


def _question_and_answer(text: str) -> list[tuple[int, str]]:
    """ "Q: Did you try it? / A: Partly": each answer goes to the question above it (by its
    number, our wording or a label word), else to the next question in order."""
    found: list[tuple[int, str]] = []
    asked: int | None = None
    for line in text.split("\n")[:200]:
        if len(line) > MAX_LINE:
            continue
        q = _Q_LINE.match(line)
        if q:
            asked = int(q.group(1)) if q.group(1) else _question_number(q.group(2))
            continue
        a = _A_LINE.match(line)
        if a and a.group(2).strip():
            number = int(a.group(1)) if a.group(1) else asked or len(found) + 1
            if 1 <= number <= 4:
                found.append((number, a.group(2).strip()))
            asked = None
    return found


def _question_number(question: str) -> int | None:
    """Which of our questions a line asks, in our words or its own ("How did it go?")."""
    ours = template.question(question)
    if ours:
        return ours[0]
    match = _LABEL.match(question)
    if not match:
        return None
    return next(int(k[1]) for k, v in match.groupdict().items() if k[0] == "q" and v)


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
            found.append((_number(mark), [line[mark.end() : end].strip()]))
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
        follows = bool(marks) and _number(mark) == _number(marks[-1]) + 1
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
    # "No problems, did it daily" is not a no.
    r"^(?:no(?!\s+(?:problems?|issues?|trouble|worries|doubt|question)\b)|nope|nah|not\s+really|not\s+yet|not\s+this\s+time|nein|non|nee|não|nao|niet"
    r"|didn['’]?t|did\s+not|haven['’]?t|have\s+not|pas\s+(?:vraiment|encore|du\s+tout)"
    r"|nicht\s+wirklich|noch\s+nicht|leider\s+nicht|todav[ií]a\s+no|a[uú]n\s+no"
    r"|non\s+(?:ancora|proprio)|niet\s+echt|nog\s+niet|ainda\s+n[ãa]o)\b",
    re.IGNORECASE,
)
# At the very start of a reply these answer "Did you try it?", even in prose ("Sort of, it
# was hard"); further in they may describe anything ("it was sort of nice").
_LEADING_PARTLY = re.compile(
    r"^(?:sort\s+of|kind\s+of|kinda|sorta|more\s+or\s+less|half(?:way)?|partly|partially"
    r"|somewhat|mehr\s+oder\s+weniger|teilweise|halb|plus\s+ou\s+moins|à\s+moitié|en\s+partie"
    r"|más\s+o\s+menos|mas\s+o\s+menos|en\s+parte|a\s+medias|più\s+o\s+meno|in\s+parte"
    r"|a\s+metà|min\s+of\s+meer|gedeeltelijk|deels|mais\s+ou\s+menos|em\s+parte|parcialmente)\b",
    re.IGNORECASE,
)
# "No, but I did it once": the but-clause says some of it was done.
_BUT = re.compile(r"\b(?:but|although|though|aber|mais|pero|ma|maar|mas)\b", re.IGNORECASE)
_SOME_DONE = re.compile(
    r"\b(?:did|tried|managed|practi[cs]ed|gave\s+it|had\s+a\s+go|started|once|twice|a\s+bit"
    r"|a\s+little|some|part|einmal|zweimal|versucht|gemacht|une\s+fois|essayé|fait|una\s+vez"
    r"|intenté|probé|hice|una\s+volta|provato|fatto|één\s+keer|een\s+keer|geprobeerd|gedaan"
    r"|uma\s+vez|tentei|fiz)\b",
    re.IGNORECASE,
)
# "Yes, but only once": done, but not all of it.
_ONLY = re.compile(
    r"\b(?:only|just|not|barely|hardly|nur|kaum|seulement|ne\s+\w+\s+que|solo|sólo|solamente"
    r"|soltanto|maar|alleen|só|somente|apenas)\b",
    re.IGNORECASE,
)
_YES = re.compile(
    r"^(?:yes|yeah|yep|yup|yea|ya|sure|definitely|absolutely|of\s+course|i\s+did|did\s+it"
    r"|done|ja|jep|oui|sí|sì|si|sim|jazeker|certo|claro|klar|natürlich|bien\s+sûr|por\s+supuesto"
    r"|certamente|zeker|com\s+certeza)\b",
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
    # Other languages, allowing a word or two between ("Ich habe es dreimal gemacht").
    r"|\bich\s+habe\s+es\s+(?:\w+\s+){0,2}(?:versucht|probiert|gemacht|geschafft)"
    r"|\bj'ai\s+(?:\w+\s+){0,2}(?:essayé|fait)|\bje\s+l'ai\s+(?:\w+\s+){0,2}fait"
    r"|\b(?:lo\s+)?(?:intenté|probé|hice)\b|\bik\s+heb\s+het\s+(?:\w+\s+){0,2}(?:geprobeerd|gedaan)"
    r"|\bho\s+(?:\w+\s+){0,2}provato|\bl'ho\s+fatto|\b(?:eu\s+)?(?:tentei|experimentei|consegui)",
    re.IGNORECASE,
)


# Words a reply may open with before its yes or no ("Honestly no.", "Sadly not really").
_FILLER = re.compile(
    r"^(?:(?:honestly|to\s+be\s+honest|tbh|sadly|unfortunately|well|um+|erm|so|ok(?:ay)?"
    r"|hmm+|leider|ehrlich\s+gesagt|honnêtement|malheureusement|sinceramente"
    r"|desafortunadamente|purtroppo|eerlijk\s+gezegd|helaas|infelizmente)\b[\s,.!:;-]*)+",
    re.IGNORECASE,
)
# A short verdict before the yes: "Très bien, oui", "Pretty good, yes", "Gut, ja".
_LEAD = re.compile(r"^[^,.!?;:\n]{1,24}?(?:[,;:]|\s[–—-])\s*")
_NEGATED_LEAD = re.compile(r"\b(?:not|no|never|nicht|pas|non|nie|niet|nunca|mai)\b", re.I)
# "Tried to, but there was no time": meant to, did not.
_MEANT_TO = re.compile(
    r"^(?:i\s+)?(?:tried|wanted|meant|planned)\s+to\b[\s,.]*(?:but|however)\b", re.IGNORECASE
)
# A reply that opens with the doing: "Tried twice", "Did it every morning".
_OPENS_DONE = re.compile(
    r"^(?:tried(?!\s+to\b)|did\s+it\b|done\s+it\b|managed|practi[cs]ed|gemacht|versucht"
    r"|fait|essayé|hecho|intentado|fatto|provato|gedaan|geprobeerd|feito|tentei)",
    re.IGNORECASE,
)


def _tried(text: str, *, strict: bool) -> str | None:
    """`strict` for prose, where "a bit" or "no" say nothing about trying."""
    head = _FILLER.sub("", text.strip().lstrip("-*•").strip()[:300])
    if not head:
        return None
    first = _first_sentence(head)
    but = _but_clause(head)
    if but:
        return but
    if (_STRONG_PARTLY if strict else _PARTLY).search(first) or _LEADING_PARTLY.match(head):
        return "partly"
    if (_YES.match(head) or _NO.match(head)) and _PARTLY.search(" ".join(first.split()[:4])):
        return "partly"  # "Yes, a bit", "Oui, un peu", "No, sort of"
    if _NO.match(head) or _PROSE_NO.search(head) or _MEANT_TO.match(head):
        return "no"
    if _YES.match(head) or _PROSE_YES.search(head) or _OPENS_DONE.match(head):
        return "yes"
    lead = _LEAD.match(head)
    if lead and _YES.match(head[lead.end() :]) and not _NEGATED_LEAD.search(lead.group()):
        return "yes"
    if not strict and _YES_ANSWER.match(head):
        return "yes"
    return None


def _but_clause(head: str) -> str | None:
    """ "No, but I did it once" and "Yes, but only once" are partly; "No, but I thought
    about it" is still no."""
    start = _NO.match(head) or _YES.match(head)
    if not start:
        return None
    but = _BUT.search(head, start.end(), start.end() + 25)
    if not but:
        return None
    rest = head[but.end() : but.end() + 120]
    if _NO.match(head) and _SOME_DONE.search(rest):
        return "partly"
    if _YES.match(head) and _ONLY.search(rest[:40]):
        return "partly"
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
