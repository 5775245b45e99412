"""Recognising quoted history in plain text: `>` lines, reply headers, forwarded blocks.

Each function answers one question about lines of text; `trim` decides what to do with them.
Every pattern is bounded (no nested unbounded quantifiers) and only ever sees a short window
of short lines, so a hostile mail cannot make matching slow.

A reply header ("On Tue, 3 Jan 2026, Robin <r@x> wrote:") counts only when it names a writer
(a "wrote" word in one of many languages, not in the first person) *and* carries an email
address or a year: "On Tuesday I tried it" or "My sister wrote:" are the client's words.
Weaker forms are trusted only with more evidence: a lead word and a clock time
(`timed_header`: "Am Dienstag um 19:00 schrieb Robin:"), or `>` lines or our own check-in
right below (`soft_header`, decided in trim).
"""

from __future__ import annotations

import html
import re

MAX_LINE = 400  # longer lines are never headers
WINDOW = 6  # a reply header spans at most this many lines (wrapped by the client)

# `>` after any indentation; Supercite's "Name>" only near the margin.
_QUOTE = re.compile(r"^(?:[ \t]*>|[ \t]{0,3}[A-Za-z]{1,12}>(?:\s|$))")

_LEAD = re.compile(
    r"^(?:on|am|le|el|em|il|op|den|dnia|w\s+dniu|at|pada|dne|στις|в|vào|ngày|kun|op)\s",
    re.IGNORECASE,
)
# Portuguese Thunderbird starts with the time: "Às 19:00 de 01/12/2026, X escreveu:".
_LEAD_ANY = re.compile(rf"{_LEAD.pattern}|^(?:às|as|a\s+las)\s", re.IGNORECASE)
_WROTE = (
    r"(?:wrote|writes|schrieb|geschrieben|a\s+[ée]crit|escribi[óo]|escreveu|ha\s+scritto|scrisse|schreef"
    r"|geschreven|skrev|pisze|napisa[łl]a?|napsal|kirjoitti|написала?|написав|пише|писал|έγραψε"
    r"|yazd[ıi]|írta|a\s+scris|je\s+napisao|rašė|rakstīja|kirjutas|写道|寫道|작성|כתב|كتب)"
)
_WROTE_END = re.compile(
    rf"(?:^|[\s\"'>)])(?P<who>\S*)\s*{_WROTE}(?:\s*\(a\))?"
    r"(?P<tail>(?:\s.{0,150}?)?)\s*(?P<colon>[:：])?\s*$",
    re.IGNORECASE,
)
_END_HINT = re.compile(rf"[:：>]\s*$|{_WROTE}|GMT[+-]", re.IGNORECASE)
_WROTE_ANYWHERE = re.compile(_WROTE, re.IGNORECASE)
# The longest literal piece of each "wrote" above, lower-cased: a line holding none of them
# cannot match, and asking `in` thirty times is four times cheaper than the regex search (this
# runs on every line of every reply).
_WROTE_STEMS = tuple(
    max(re.split(r"\\s\+|\[[^\]]*\]\??|.\?|\(\?:|\)", alternative), key=len).lower()
    for alternative in _WROTE[3:-1].split("|")
)


def _may_say_wrote(text: str) -> bool:
    lower = text.lower()
    for stem in _WROTE_STEMS:  # a plain loop: a generator here cost a third of the time
        if stem in lower:
            return bool(_WROTE_ANYWHERE.search(text))
    return False


_FIRST_PERSON = frozenset(
    {"i", "ich", "je", "j'ai", "yo", "eu", "io", "ik", "jag", "jeg", "я", "ja", "we", "wir"}
)
_EMAIL = re.compile(r"@[\w-]|mailto:", re.IGNORECASE)
_YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|年")
_TIME = re.compile(r"\d{1,2}[:.h]\d{2}")
_GMAIL_DATE = re.compile(
    r"^\d{4}(?:[-/.]|年)\d{1,2}(?:[-/.]|月)\d{1,2}.{0,160}?(?:GMT[+-]\d|<[^>]*@[^>]*>?:?\s*$|@\S+>?:\s*$)"
)
_EMAIL_COLON_END = re.compile(r"<[^<>@\s]{1,64}@[^<>\s]{1,255}>\s*[:：]$")
_SENTENCE_END = re.compile(r"(?:[!?…]|\b[a-z]{3,}\.|\.\.\.)\s*$")
_DASH_EDGES = re.compile(r"^[\s*_-]+|[\s*_-]+$")

_SEPARATOR_WORDS = re.compile(
    r"original|forward|weitergeleitet|ursprüngliche|nachricht|mensaje|message|messaggio"
    r"|bericht|mensagem|meddelande|meddelelse|melding|wiadomo|viesti|zpráva|сообщени"
    r"|üzenet|mesaj|μήνυμα|邮件|郵件|メッセージ",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"^[\s*_>]*-{2,}[\s*_]*(?P<words>[^-]{3,60}?)[\s*_]*-{2,}[\s*_]*$")
_BEGIN_FORWARD = re.compile(
    r"^[\s*_]*(?:begin\s+forwarded\s+message|anfang\s+der\s+weitergeleiteten\s+nachricht"
    r"|début\s+du\s+message\s+réexpédié|inicio\s+del\s+mensaje\s+reenviado"
    r"|inizio\s+messaggio\s+inoltrato|begin\s+doorgestuurd\s+bericht"
    r"|início\s+da\s+mensagem\s+reencaminhada|början\s+på\s+vidarebefordrat\s+meddelande)"
    r"\s*:?[\s*_]*$",
    re.IGNORECASE,
)
_WRAPPED_ADDRESS = re.compile(r"^\s*(?:\S+\s+){0,3}<?[\w.+-]+@[\w.-]+>?[,;]?\s*$")
_RULE = re.compile(r"^\s*(?:[-_=*~+#.]\s*){3,}$|^\s*ᐧ\s*$")

_LABELS = {
    "from": r"from|von|de|da|van|från|fra|od|lähettäjä|от|feladó|kimden|από|发件人|寄件者"
    r"|差出人|보낸\s*사람|afzender|remitente|expéditeur|mittente|odesílatel",
    "sent": r"sent|date|gesendet|datum|envoyé|envoyé\s+le|enviado|enviado\s+el|enviada\s+em"
    r"|inviato|data|verzonden|skickat|sendt|wysłano|lähetetty|отправлено|дата|elküldve"
    r"|gönderildi|tarih|στάλθηκε|发送时间|日期|送信日時|보낸\s*날짜|fecha|odesláno|verstuurd",
    "to": r"to|an|à|a|para|aan|till|til|do|vastaanottaja|кому|címzett|kime|προς|收件人|宛先"
    r"|받는\s*사람|destinatario|destinataire|komu",
    "cc": r"cc|kopie|copie|copia|kopia|kopio|копия|másolat|bilgi|κοιν|抄送|副本",
    "subject": r"subject|betreff|objet|asunto|oggetto|onderwerp|ämne|emne|temat|aihe|тема"
    r"|tárgy|konu|θέμα|主题|主旨|件名|제목|assunto|sujet|předmět",
    "reply-to": r"reply-to|risposta|antwort\s+an|responder\s+a|répondre\s+à",
}
_LABEL = re.compile(
    r"^[\s*_]{0,4}(?:"
    + "|".join(f"(?P<{k.replace('-', '_')}>{v})" for k, v in _LABELS.items())
    + r")[\s*_]{0,4}[:：]",
    re.IGNORECASE,
)


def is_quote(line: str) -> bool:
    return bool(_QUOTE.match(line))


def is_plain_quote(line: str) -> bool:
    """Quoted with `>` (not Supercite's `Name>`, which also starts many a signature)."""
    return line.lstrip(" \t").startswith(">")


def is_rule(line: str) -> bool:
    return bool(_RULE.match(line))


def is_separator(line: str) -> bool:
    """Lines like "-----Original Message-----" or "---------- Forwarded message ---------"."""
    if len(line) > 200:
        return False
    match = _SEPARATOR.match(line)
    if match and _SEPARATOR_WORDS.search(match.group("words")):
        return True
    return bool(_BEGIN_FORWARD.match(line))


# --- reply headers ----------------------------------------------------------------------------


def header_at(lines: list[str], end: int) -> int | None:
    """The first line of a reply header that ends on line `end`, if one does."""
    if not _could_end_header(lines[end]):
        return None
    start = None
    for s in range(end, max(-1, end - WINDOW), -1):
        if s != end and not _may_continue(lines[s]):
            if lines[s].strip():
                break
            continue
        if lines[s].strip() and is_header(_join(lines, s, end)):
            start = s
            break
    if start is None:
        return None
    return _extend_to_lead(lines, start, end)


def _could_end_header(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > MAX_LINE:
        return False
    if is_quote(line):  # only a wrapped tail like "> wrote:" or ">:" may look quoted
        tail = stripped.lstrip("> ")
        return len(stripped) <= 20 and (tail in (":", "：") or bool(_WROTE_END.search(tail)))
    # What _END_HINT finds, cheapest test first.
    if stripped[-1] in ":：>":
        return True
    if "GMT" in stripped.upper() and _END_HINT.search(stripped):
        return True
    return _may_say_wrote(stripped)


def _may_continue(line: str) -> bool:
    """Can this line be an inner line of a wrapped header?"""
    stripped = line.strip()
    return (
        bool(stripped)
        and len(stripped) <= MAX_LINE
        and not is_quote(line)
        and not _SENTENCE_END.search(stripped)
    )


def _extend_to_lead(lines: list[str], start: int, end: int) -> int:
    """Gmail and others wrap "Le 4 janv. 2016, X\n<x@y>\na écrit :": reach back to the lead."""
    if _LEAD.match(lines[start].strip()) or _GMAIL_DATE.match(lines[start].strip()):
        return start
    for k in range(start - 1, max(-1, end - WINDOW), -1):
        line = lines[k].strip()
        if not line:
            continue
        if not _may_continue(lines[k]):
            break
        if (_LEAD.match(line) or line[0].isdigit()) and _YEAR.search(line) and _TIME.search(line):
            return k
    return start


def _join(lines: list[str], start: int, end: int) -> str:
    parts = [
        lines[i].strip().lstrip("> ") if i == end else lines[i].strip()
        for i in range(start, end + 1)
    ]
    text = " ".join(p for p in parts if p)
    return _DASH_EDGES.sub("", html.unescape(text))


def is_header(text: str) -> bool:
    if not text or len(text) > 350:
        return False
    if _GMAIL_DATE.match(text):
        return True
    if _EMAIL_COLON_END.search(text) and _YEAR.search(text) and _TIME.search(text):
        return True  # "вт, 1 дек. 2026 г. в 19:00, Robin <r@x.example>:" (Gmail, no verb)
    match = _WROTE_END.search(text) if _may_say_wrote(text) else None
    if not match or match.group("who").lower() in _FIRST_PERSON:
        return False
    if not (_EMAIL.search(text) or _YEAR.search(text)):
        return False
    return bool(match.group("colon")) or not match.group("tail")


_CLOCK = re.compile(r"(?<!\d)\d{1,2}[:.h]\d{2}(?!\d)")


def timed_header(line: str) -> bool:
    """An attribution with a lead word and a clock time but neither year nor address
    ("On Tue at 19:00, Robin wrote:", "Am Dienstag um 19:00 schrieb Robin:"): clients write
    "On Tuesday I wrote:", never the minute it happened."""
    text = line.strip()
    if not text or len(text) > 300 or is_quote(line) or not _LEAD_ANY.match(text):
        return False
    match = _WROTE_END.search(text)
    if not match or not match.group("colon") or match.group("who").lower() in _FIRST_PERSON:
        return False
    return bool(_CLOCK.search(text[: match.start("tail")])) and len(text.split()) <= 25


def soft_header(line: str) -> bool:
    """A weaker attribution, trusted only right above a `>` quote: "Robin wrote:", or any
    line naming an address and ending in a colon (languages we have no word for)."""
    text = line.strip()
    if not text or len(text) > 300 or not text.endswith((":", "：")) or is_quote(line):
        return False
    match = _WROTE_END.search(text)
    if match and match.group("who").lower() not in _FIRST_PERSON and len(text.split()) <= 12:
        return True
    return bool(_EMAIL.search(text)) and any(ch.isdigit() for ch in text)


# --- forwarded / Outlook header blocks --------------------------------------------------------


def label_of(line: str) -> str | None:
    if len(line) > MAX_LINE:
        return None
    match = _LABEL.match(line)
    if not match:
        return None
    return next(k for k, v in match.groupdict().items() if v is not None)


def header_block_at(lines: list[str], start: int) -> int | None:
    """The last line of a "From: / Sent: / To: / Subject:" block starting at `start`."""
    if label_of(lines[start]) is None:
        return None
    seen: set[str] = set()
    last = start
    loose = 0  # wrapped values and blank lines since the last label line
    for i in range(start, min(len(lines), start + 16)):
        label = label_of(lines[i])
        if label:
            seen.add(label)
            last, loose = i, 0
            continue
        loose += 1
        if loose > 2 or is_quote(lines[i]):
            break
    if "from" not in seen or len(seen) < 3:
        return None
    for i in range(last + 1, min(len(lines), last + 3)):  # an address wrapped off the last line
        if len(lines[i]) > MAX_LINE or not _WRAPPED_ADDRESS.match(lines[i]):
            break
        last = i
    return last
