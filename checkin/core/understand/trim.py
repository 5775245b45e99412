"""The client's new words: quoted history and signatures set aside, answers between quotes kept.

Rules, in order (each exists because a real mail needed it; see the notes on reading replies):

1. `>` lines (any depth and indentation, and Supercite `Name>`) are quoted; unquoted lines
   between them are the client's inline answers and are kept, each block tagged with the
   question of ours it follows ("> 2) How did it go, from 0 to 10?" then "7"). In `text` such
   an answer starts with its question ("2) How did it go, from 0 to 10? 7") so the therapist
   reads what it answers; `words` has it without. `text` never holds a quoted line: a mail
   that is nothing but quotes has no new words (its problems say so; full_text has it all).
2. Markers of quoted history: reply headers ("On ... wrote:" in many languages, wrapped over
   several lines; one with neither address nor year counts when it gives a clock time, or
   when `>` lines or our own check-in follow it), "-----Original Message-----" and kin,
   Outlook "From:/Sent:/To:/Subject:" blocks, and the first line of our own check-in quoted
   without `>`.
   * A marker with nothing of the client's above it (a bottom-post) is dropped on its own.
   * A reply header followed by `>` lines is dropped on its own: the quote is removed line by
     line and whatever the client typed below or between stays.
   * Otherwise the marker starts the quoted history and everything from it on is set aside,
     except lines typed between our four questions or after our closing line (Outlook
     quotes without `>`, and we know our own text); below the closing line they answer no
     question of ours.
3. Signatures (see signature.py): a `-- ` block at the end of a block of text unless the
   client goes on below it, mobile footers in many languages, contact blocks. Sign-offs
   ("Thanks, Sam") stay.
4. When unsure, keep the words. Nothing is lost: `client_part` keeps everything the client
   wrote above the history, signatures included, and `elided` the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checkin.core.understand import quotes, signature, template

MAX_LINES = 5_000
# Zero-width and direction marks (Hebrew and Arabic attributions are full of them), the
# soft hyphen, and Mixmax's tracking glyph.
_INVISIBLE = dict.fromkeys(
    map(
        ord,
        "\u200b\u200e\u200f\u2060\ufeff\u1427\u00ad\u202a\u202b\u202c\u202d\u202e"
        "\u2066\u2067\u2068\u2069",
    ),
    None,
)
_GREETING = re.compile(r"^\s*(?:hi|hello|hey|dear|hallo|bonjour|hola|ciao|olá|hej)\b.{0,40}$", re.I)


@dataclass(frozen=True)
class Segment:
    question: int | None  # the question of ours this text answers inline, if we can tell
    text: str


@dataclass(frozen=True)
class Trimmed:
    text: str  # the client's new words; an inline answer starts with the question it answers
    segments: tuple[Segment, ...]  # the same words in blocks, question text removed
    client_part: str  # everything unquoted above the quoted history, signatures included
    elided: str  # what was set aside
    unsure: bool = False  # history was cut off that is not our check-in: words may hide there
    words: str | None = None  # `text` without the questions put in front of inline answers

    @property
    def plain(self) -> str:
        return self.text if self.words is None else self.words


def trim(text: str) -> Trimmed:
    # The per-line caches serve one reply (each line is asked the same questions several
    # times); emptied here so a reply's lines are never kept after it, nor their cost hidden.
    template.forget_lines()
    signature.forget_lines()
    lines = prepare(text)
    quoted = [quotes.is_quote(line) for line in lines]
    keep = [not q for q in quoted]
    cut = _apply_markers(lines, quoted, keep)
    client_part = "\n".join(line for i, line in enumerate(lines[:cut]) if keep[i])
    _drop_ours(lines, keep, cut)
    signature.drop(lines, keep, cut)
    blocks = _blocks(lines, keep, quoted, cut) + _rescue(lines, cut)
    elided = "\n".join(line for i, line in enumerate(lines) if i >= cut or not keep[i])
    unsure = cut < len(lines) and not any(_ours(x.lstrip("> ")) for x in lines[cut : cut + 400])
    # A label must never recreate a line the client quoted (they may have typed after our
    # question inside the quote): such an answer is shown without its question.
    was_quoted = {_bare(line) for i, line in enumerate(lines) if quoted[i]}
    text = _render(blocks, was_quoted)
    words = _render(blocks, None)
    return Trimmed(text, _segments(blocks), client_part.strip("\n"), elided, unsure, words)


def prepare(text: str) -> list[str]:
    text = text.replace("\r\n", "\n").replace("\r", "\n").translate(_INVISIBLE)
    lines = [line.replace("\u00a0", " ").rstrip() for line in text.split("\n")]
    return lines[:MAX_LINES]


# --- quoted history ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Marker:
    start: int
    end: int
    kind: str  # "header", "block", "separator", "ours"


def _markers(lines: list[str], quoted: list[bool]) -> list[_Marker]:
    headers = _header_spans(lines)
    found: list[_Marker] = []
    i = 0
    while i < len(lines):
        marker = _marker_at(lines, quoted, i, headers)
        if marker:
            found.append(marker)
            i = marker.end + 1
        else:
            i += 1
    return found


def _header_spans(lines: list[str]) -> dict[int, int]:
    """First line -> last line of every reply header (the shortest, when several end alike)."""
    spans: dict[int, int] = {}
    for end in range(len(lines)):
        start = quotes.header_at(lines, end)
        if start is not None and start not in spans:
            spans[start] = end
    return spans


def _marker_at(
    lines: list[str], quoted: list[bool], i: int, headers: dict[int, int]
) -> _Marker | None:
    line = lines[i]
    if not line.strip():
        return None
    if not quoted[i]:
        if template.is_opening(line):
            return _Marker(i, i, "ours")
        if quotes.is_separator(line):
            return _Marker(i, i, "separator")
        block_end = quotes.header_block_at(lines, i)
        if block_end is not None:
            return _Marker(i, block_end, "block")
    if i in headers and not quoted[i]:
        return _Marker(i, headers[i], "header")
    if quoted[i]:
        return None
    if quotes.timed_header(line):
        return _Marker(i, i, "header")
    if quotes.soft_header(line) and (_next_is_quote(lines, i) or _ours_follows(lines, i)):
        return _Marker(i, i, "header")
    return None


def _next_is_quote(lines: list[str], i: int) -> bool:
    nxt = next((j for j in range(i + 1, min(len(lines), i + 4)) if lines[j].strip()), None)
    return nxt is not None and quotes.is_plain_quote(lines[nxt])


def _ours_follows(lines: list[str], i: int) -> bool:
    """Our check-in starts within a few lines: "On Tuesday, Harbour wrote:" above it is the
    attribution of our mail, whatever its wording lacks (no year, no address)."""
    seen = 0
    for j in range(i + 1, min(len(lines), i + 12)):
        if not lines[j].strip():
            continue
        if _ours(lines[j].lstrip("> ")):
            return True
        seen += 1
        if seen > 3:  # a greeting and a blank or two; more than that is someone's text
            return False
    return False


def _apply_markers(lines: list[str], quoted: list[bool], keep: list[bool]) -> int:
    """Drop markers that stand alone; return where the quoted history starts (or the end)."""
    scanned, above = 0, False
    for marker in _markers(lines, quoted):
        for j in range(scanned, marker.start):
            above = above or (keep[j] and bool(lines[j].strip()) and not quotes.is_rule(lines[j]))
        scanned = marker.end + 1
        if marker.kind != "ours" and (not above or _followed_by_quote(lines, quoted, marker)):
            for j in range(marker.start, marker.end + 1):
                keep[j] = False
            continue
        return _cut_start(lines, keep, marker)
    return len(lines)


def _followed_by_quote(lines: list[str], quoted: list[bool], marker: _Marker) -> bool:
    if marker.kind != "header":
        return False
    nxt = next((j for j in range(marker.end + 1, len(lines)) if lines[j].strip()), None)
    return nxt is not None and quotes.is_plain_quote(lines[nxt])


def _cut_start(lines: list[str], keep: list[bool], marker: _Marker) -> int:
    """Reach back over blank lines and rules ("_____") above the marker, and our greeting."""
    start = marker.start
    while start > 0 and (not lines[start - 1].strip() or quotes.is_rule(lines[start - 1])):
        start -= 1
    if marker.kind == "ours" and start > 0 and _GREETING.match(lines[start - 1]):
        start -= 1
    return start


# --- our own text -----------------------------------------------------------------------------


def _drop_ours(lines: list[str], keep: list[bool], cut: int) -> None:
    """Lines of our check-in the client left in place without `>` (bare questions too)."""
    for i in range(cut):
        if not keep[i]:
            continue
        asked = template.question(lines[i])
        if template.is_fixed(lines[i]) or (asked is not None and not asked[1]):
            keep[i] = False


def _rescue(lines: list[str], cut: int) -> list[_Block]:
    """In quoted history that is our check-in, what sits between our questions or after our
    closing line can only be the client's (Outlook quotes without `>`)."""
    blocks: list[_Block] = []
    current: _Block | None = None
    state = "before"
    for line in lines[cut:]:
        before, state = state, _rescue_state(state, line)
        if state == "after" and before != "after":
            current = None  # below our closing line the client answers no question of ours
        asked = template.question(line)
        if asked is not None:
            current = _Block(asked[0], [asked[1]] if asked[1] else [])
            blocks.append(current)
        elif state in ("questions", "after") and _rescuable(line):
            if current is None:
                current = _Block(None, [])
                blocks.append(current)
            current.lines.append(line)
        elif state == "questions" and line.strip() and quotes.is_quote(line):
            current = None
    return [b for b in blocks if any(x.strip() for x in b.lines)]


def _rescue_state(state: str, line: str) -> str:
    if template.question(line) is not None:
        return "questions"
    if state == "questions" and template.ends_questions(line):
        return "closing"
    if state in ("closing", "questions") and template.is_closing(line):
        return "after"
    if state == "after" and (quotes.is_separator(line) or quotes.label_of(line) == "from"):
        return "done"
    return state


def _rescuable(line: str) -> bool:
    return bool(line.strip()) and not quotes.is_quote(line) and not template.is_fixed(line)


# --- assembling the result --------------------------------------------------------------------


@dataclass
class _Block:
    question: int | None
    lines: list[str]


def _blocks(lines: list[str], keep: list[bool], quoted: list[bool], cut: int) -> list[_Block]:
    blocks: list[_Block] = []
    context: int | None = None
    current: _Block | None = None
    for i in range(cut):
        if keep[i]:
            if current is None:
                current = _Block(context, [])
                blocks.append(current)
            current.lines.append(lines[i])
        elif lines[i].strip(" >\t"):
            current = None
            context = _question_of(lines, i, context, quoted[i])
            typed = _typed_after_question(lines[i])
            if typed:  # "> 2) How did it go, from 0 to 10? 7": typed inside the quote
                blocks.append(_Block(context, [typed]))
    return [b for b in blocks if any(x.strip() for x in b.lines)]


def _typed_after_question(line: str) -> str | None:
    """Words after one of our questions on a once-quoted line (deeper quotes are history)."""
    if not line.startswith(">") or line.startswith(">>") or line.startswith("> >"):
        return None
    asked = template.question(line)
    return asked[1] if asked and asked[1] else None


def _question_of(lines: list[str], i: int, previous: int | None, quoted: bool) -> int | None:
    """The question a set-aside line asks; a wrapped "> partly)" keeps the one above it."""
    asked = template.question(lines[i])
    if asked:
        return asked[0]
    text = lines[i].lstrip("> ").strip()
    if quoted and len(text) < 25 and previous is not None and i > 0:
        above = template.question(lines[i - 1])
        if above:
            return above[0]
    return None


def _ours(line: str) -> bool:
    return bool(
        template.question(line)
        or template.is_opening(line)
        or template.is_fixed(line)
        or template.is_closing(line)
    )


def _render(blocks: list[_Block], was_quoted: set[str] | None) -> str:
    """Blocks apart by a blank line; with `was_quoted` given, an answer to one of our
    questions starts with that question ("2) How did it go, from 0 to 10? 7"), so the
    therapist reads what it answers."""
    parts = []
    for block in blocks:
        lines = _strip_blank_edges(block.lines)
        if lines and was_quoted is not None and block.question is not None:
            lines = _labelled(block.question, lines, was_quoted)
        parts.append("\n".join(lines))
    text = "\n\n".join(p for p in parts if p.strip())
    return _strip_rules_at_end(text)


def _labelled(question: int, lines: list[str], was_quoted: set[str]) -> list[str]:
    if template.question(lines[0]) is not None:
        return lines  # the client's own line already carries the question
    label = f"{template.label(question)} {lines[0].strip()}"
    return lines if _bare(label) in was_quoted else [label, *lines[1:]]


def _bare(line: str) -> str:
    return " ".join(line.lstrip(" \t>").split())


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _strip_rules_at_end(text: str) -> str:
    lines = text.split("\n")
    while lines and (not lines[-1].strip() or quotes.is_rule(lines[-1])):
        lines.pop()
    return "\n".join(lines)


def _segments(blocks: list[_Block]) -> tuple[Segment, ...]:
    """Blocks split where the client kept one of our questions on a line, question removed."""
    out: list[Segment] = []
    for block in blocks:
        question, buf = block.question, []
        for line in block.lines:
            asked = template.question(line)
            if asked:
                out.append(Segment(question, "\n".join(buf).strip()))
                question, buf = asked[0], [asked[1]]
            else:
                buf.append(line)
        out.append(Segment(question, "\n".join(buf).strip()))
    return tuple(s for s in out if s.text)
