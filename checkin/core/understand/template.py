"""Phrases of the mail we send (templates/checkin-body.txt, nudge-body.txt and the subjects),
to recognise them when a client's mail program quotes them without `>`, and to tell the
client's own words in a subject from ours.

Kept in code rather than read from the template files so that understanding stays pure; a
test checks every phrase still appears in the shipped templates. A practice that overrides the
templates loses only this extra help: quoting rules do not depend on it.
"""

from __future__ import annotations

import re
from functools import lru_cache

# The line each of our mails starts with (after "Hi NAME,"): everything from here on is ours.
OPENINGS = (
    "Here is your check-in about the small experiment you agreed with",
    "Just a gentle reminder about your check-in for",
)

# Fixed lines of ours that may sit between the client's words; each is dropped on its own.
FIXED = (
    "Just hit reply and answer in your own words, as briefly as you like:",
    "Any answer helps, including",
    "To take a break from these emails, reply PAUSE",
    "This mailbox is not watched around the clock.",
    "No pressure, and no need for a long answer",
    "Last time you thought you might:",
)

# Our last line: what follows it in a quote without `>` is the client's (a bottom-post).
CLOSING = "This mailbox is not watched around the clock."

# Where our question block ends: text between the questions and this is the client's.
QUESTIONS_END = ("Any answer helps, including", "To take a break from these emails")

# The four questions, as they appear in the text and the HTML (numbered "1)" or "1.").
QUESTIONS = (
    (1, "Did you try it?"),
    (2, "How did it go, from 0 to 10?"),
    (3, "What did you notice?"),
    (4, "What might you do a little differently next time?"),
)

MAX_LINE = 2_000  # longer lines are never ours
_NUMBERING = r"^[>\s]*(?:\(?\d\s*[.):]\s*)?"
# One pattern for the four, each question in a group named by its number: a line is matched
# once, not four times (it runs on every line of every reply).
_ANY_QUESTION = re.compile(
    _NUMBERING
    + "(?:"
    + "|".join(f"(?P<q{n}>" + r"\s+".join(map(re.escape, q.split())) + ")" for n, q in QUESTIONS)
    + ")",
    re.IGNORECASE,
)
_Q1_HINT = re.compile(r"^\s*\((?:yes, no, or partly)\)", re.IGNORECASE)


_OPENINGS = tuple(o.lower() for o in OPENINGS)
_FIXED = tuple(f.lower() for f in FIXED)
_CLOSING = CLOSING.lower()
_QUESTIONS_END = tuple(f.lower() for f in QUESTIONS_END)


@lru_cache(maxsize=2048)
def _squash(line: str) -> str:
    # Cached: one line is asked "opening? fixed? closing?" in turn, often more than once.
    return " ".join(line.replace("\u201c", '"').replace("\u201d", '"').split()).lower()


def forget_lines() -> None:
    _squash.cache_clear()


def _starts(line: str, phrases: str | tuple[str, ...]) -> bool:
    return len(line) <= MAX_LINE and _squash(line.lstrip("> ")).startswith(phrases)


def is_opening(line: str) -> bool:
    return _starts(line, _OPENINGS)


def is_fixed(line: str) -> bool:
    return _starts(line, _FIXED)


def is_closing(line: str) -> bool:
    return _starts(line, _CLOSING)


def ends_questions(line: str) -> bool:
    return _starts(line, _QUESTIONS_END)


def label(number: int) -> str:
    """How an inline answer's question is shown in front of it: "2) How did it go, from 0
    to 10?"."""
    return f"{number}) {dict(QUESTIONS)[number]}"


def question(line: str) -> tuple[int, str] | None:
    """(number, what follows the question on the same line) when the line is one of ours."""
    if len(line) > MAX_LINE:
        return None
    match = _ANY_QUESTION.match(line)
    if not match:
        return None
    n = int((match.lastgroup or "q0")[1:])
    rest = line[match.end() :]
    if n == 1:
        rest = _Q1_HINT.sub("", rest)
    return n, rest.strip()


# --- subjects ---------------------------------------------------------------------------------

# "Re:", "AW:", "Antw:", "RES:", "Fwd:" ... as many as the thread has collected.
REPLY_PREFIX = re.compile(
    r"^(?:\s*(?:re|aw|sv|vs|antw|rif|r|res|rép|réf|odp|ynt|fw|fwd|wg|tr|enc|rv|doorst)\s*"
    r"(?:\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_MONTHS_EN = "january|february|march|april|may|june|july|august|september|october|november|december"
# Our subjects (checkin-subject.txt, nudge-subject.txt): "Your check-in for Thursday 26
# November", "A gentle reminder: your check-in for Thursday 26 November".
_OUR_SUBJECT = re.compile(
    r"^\s*(?:a\s+gentle\s+reminder\s*:\s*)?your\s+check-?in\s+for(?:\s+[a-z]+day)?"
    rf"(?:\s+\d{{1,2}})?(?:\s+(?:{_MONTHS_EN}))?",
    re.IGNORECASE,
)
_SUBJECT_EDGES = " \t-–—:|,;()[]"


def without_reply_prefix(subject: str) -> str:
    return REPLY_PREFIX.sub("", subject[:MAX_LINE])


def client_subject(subject: str | None) -> str:
    """What the client typed into the subject: ours and the reply prefixes taken off
    ("Re: Your check-in for Thursday 26 November - yes, 7/10" -> "yes, 7/10")."""
    text = without_reply_prefix(subject or "").strip()
    ours = _OUR_SUBJECT.match(text)
    if ours:
        text = text[ours.end() :]
    return text.strip(_SUBJECT_EDGES)
