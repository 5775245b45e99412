"""STOP / PAUSE (optionally until a date) / RESUME, in the client's own words.

A command must be the point of the message: a line (or the subject) that is nothing but the
command, give or take a greeting, "please", "thanks" and a name. A sentence inside a longer
line counts only when it names what to stop ("Please stop sending these emails. They don't
help."). Mentions do not count: "I didn't stop to breathe", "I'll pause before answering",
"Stop, breathe, notice". Lines that answer one of our questions ("> 4) What might you do
differently?" then "Stop.") are answers, not commands.

A stop that is temporary is a pause: "stop for now", "stop until January", "stop these for
two weeks". When several commands appear, STOP wins (ending mail is always the client's
right), then PAUSE, then RESUME.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from checkin.core.understand import dates
from checkin.core.understand.trim import Segment

MAX_LINE = 200  # a command is short; and the patterns stay cheap

_GREETING = r"(?:hi|hello|hey|dear|hallo|bonjour|hola|ciao|hoi|olá|morning|good\s+morning)"
_POLITE = (
    r"(?:ok(?:ay)?|yes|so|sorry|please|pls|plz|kindly|bitte|por\s+favor|s'il\s+vous\s+pla[iî]t"
    r"|per\s+favore|alsjeblieft|graag|svp|just|um|hmm)"
)
_THANKS = (
    r"(?:please|pls|plz|thanks?|thank\s+you|thx|ty|cheers|bitte|danke|merci|gracias|grazie"
    r"|obrigad[oa]|bedankt|por\s+favor|s'il\s+vous\s+pla[iî]t|per\s+favore|svp|asap|x+"
    r"|(?:best|regards|love)(?:\s+\w+)?)"
)
_LEADING = re.compile(
    rf"^(?:{_GREETING}(?:\s+\w+)?\s*[,!.:;-]\s*|(?:{_GREETING}|{_POLITE})(?:\s+|\s*[,!.:;-]\s*))+",
    re.IGNORECASE,
)
_TRAILING = re.compile(rf"(?:[\s,!.;-]+{_THANKS}(?:[\s,]+[a-z]\w*)?)+$", re.IGNORECASE)
_ASK = (
    r"(?:(?:could|can|would|will)\s+(?:you|we)\s+(?:please\s+)?"
    r"|i(?:'d|\s+would)\s+like\s+(?:you\s+)?to\s+|i\s+(?:want|wish|need)\s+(?:you\s+)?to\s+"
    r"|let'?s\s+|please\s+)?"
)
_THESE = (
    r"(?:\s+(?:all\s+)?(?:these|this|them|the|my|our|your|all|any|those|it|that))?"
    r"(?:\s+(?:e-?mails?|mails?|messages?|check-?ins?|reminders?|nudges?))?"
)
_FOR_A_WHILE = r"\s+(?:for\s+now|for\s+a\s+(?:while|bit)|temporarily|for\s+the\s+time\s+being)"
_UNTIL = (
    r"\s+(?P<when>(?:until|till|til|through|to|for|bis|für|jusqu'(?:au|à|en)|pendant|hasta"
    r"|durante|tot|voor|fino\s+(?:al|a)|per|até|por)\s+.{1,40})"
)
_UNTIL_PEEK = _UNTIL.replace("?P<when>", "")
_STOP = re.compile(
    rf"^{_ASK}(?:stop(?:\s+(?:sending|emailing|mailing|contacting)(?:\s+me)?)?{_THESE}"
    rf"(?:\s+(?:for\s+good|altogether|permanently|completely|now|please))?"
    rf"|unsubscribe(?:\s+me)?(?:\s+from{_THESE}(?:\s+list)?)?|opt(?:\s+me)?\s+out"
    rf"|(?:no\s+more|enough)(?:\s+of)?{_THESE}(?:\s+for\s+me)?"
    rf"|(?:take|remove)\s+me\s+off{_THESE}(?:\s+mailing)?\s*(?:list)?"
    rf"|remove\s+me(?:\s+from{_THESE}(?:\s+mailing)?\s*(?:list)?)?"
    rf"|end{_THESE}|i\s+(?:don'?t|do\s+not)\s+want\s+(?:any\s*more\s+|these\s+|this\s+|the\s+"
    rf"|more\s+|any\s+)?(?:e-?mails?|mails?|messages?|check-?ins?)(?:\s+any\s*more)?"
    rf"|stopp(?:en)?|abmelden|abbestellen|keine\s+(?:e-?mails?|mails|nachrichten)\s+mehr"
    rf"|aufhören|arr[êe]te[rz]?|d[ée]sinscri(?:re|vez-moi|s-moi|ption)|dar(?:me)?\s+de\s+baja"
    rf"|no\s+más\s+(?:correos|emails|mensajes)|afmelden|uitschrijven|geen\s+(?:e-?mails?|mails"
    rf"|berichten)\s+meer|disiscrivi(?:mi|ti)|cancellami|descadastrar|sair\s+da\s+lista"
    rf"|não\s+quero\s+mais\s+(?:e-?mails?|mensagens))$",
    re.IGNORECASE,
)
_PAUSE = re.compile(
    rf"^{_ASK}(?:(?:pause|pausieren|pausar|pauzeren|mettre\s+en\s+pause|pausa|pauze){_THESE}"
    rf"|hold(?:\s+off)?{_THESE}|put{_THESE}\s+on\s+hold|suspend{_THESE}"
    rf"|(?:have|take|need)\s+a\s+(?:short\s+|little\s+)?break(?:\s+from{_THESE})?"
    rf"|i\s+need\s+a\s+(?:short\s+|little\s+)?break(?:\s+from{_THESE})?|break"
    rf"|(?=stop\b.*(?:{_FOR_A_WHILE}|{_UNTIL_PEEK})$)stop(?:\s+(?:sending|emailing))?{_THESE})"
    rf"(?:{_FOR_A_WHILE})?(?:{_UNTIL})?$",
    re.IGNORECASE,
)
_RESUME = re.compile(
    rf"^{_ASK}(?:resume{_THESE}|unpause{_THESE}|restart{_THESE}|continue{_THESE}"
    rf"|(?:i'?m\s+|i\s+am\s+)?ready\s+to\s+(?:start|begin|go|continue)(?:\s+again)?{_THESE}"
    rf"|(?:start|begin)(?:\s+sending)?{_THESE}\s+again|send{_THESE}\s+again|(?:i'?m|i\s+am)\s+back"
    rf"|fortsetzen|weitermachen|wieder\s+starten|reprendre|reanudar|hervatten|riprendere"
    rf"|ricominciare|retomar|recomeçar)$",
    re.IGNORECASE,
)
# Inside a longer line a sentence must say what it is about, not just "Stop." or "Pause.".
_EXPLICIT = re.compile(
    r"e-?mails?|mails?\b|messages?|check-?ins?|reminders?|unsubscribe|opt\s+out|list\b"
    r"|\buntil\b|\btill\b|\bagain\b|\bweeks?\b|\bdays?\b|\bmonths?\b|fortnight|break\b",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_REPLY_PREFIX = re.compile(r"^(?:\s*(?:re|aw|sv|vs|antw|rif|r|res|fw|fwd|wg|tr)\s*:\s*)+", re.I)


@dataclass(frozen=True)
class Command:
    name: str  # "stop", "pause", "resume"
    until: date | None = None
    problem: str | None = None  # e.g. a pause date we could not read
    line: str = ""  # the line that said it, so it is not also read as an answer


def detect(
    segments: tuple[Segment, ...], subject: str | None, reference: date | None
) -> Command | None:
    lines = [without_reply_prefix(subject or "")]
    for segment in segments:
        if segment.question is None:
            lines += segment.text.split("\n")[:200]
    found = [c for c in (_in_line(line, reference) for line in lines) if c]
    for name in ("stop", "pause", "resume"):
        match = next((c for c in found if c.name == name), None)
        if match:
            return match
    return None


def without_reply_prefix(subject: str) -> str:
    return _REPLY_PREFIX.sub("", subject)


def _in_line(line: str, reference: date | None) -> Command | None:
    if len(line) > MAX_LINE:
        return None
    whole = _command(line, reference)
    if whole:
        return whole
    sentences = _SENTENCE_END.split(line.strip())
    for sentence in sentences if len(sentences) > 1 else ():
        found = _command(sentence, reference)
        if found and _EXPLICIT.search(sentence):
            return Command(found.name, found.until, found.problem, line)
    return None


def _command(line: str, reference: date | None) -> Command | None:
    text = _normalise(line)
    if not text:
        return None
    if _STOP.match(text):
        return Command("stop", line=line)
    match = _PAUSE.match(text)
    if match:
        return _pause(match.group("when"), reference, line)
    if _RESUME.match(text):
        return Command("resume", line=line)
    return None


def _normalise(line: str) -> str:
    text = " ".join(line.replace("\u2019", "'").split()).strip(" \t*_\"'()[]")
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING.sub("", _LEADING.sub("", text)).strip(" ,.!?:;-")
    return text


def _pause(when: str | None, reference: date | None, line: str) -> Command:
    if not when:
        return Command("pause", line=line)
    until = dates.until(when.strip(), reference)
    problem = None if until else "pause date not understood"
    return Command("pause", until, problem, line)
