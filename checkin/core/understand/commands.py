"""STOP / PAUSE (optionally until a date) / RESUME, in the client's own words and language.

A command must be the point of what the client wrote, not a mention:
* a line (or the subject) that is nothing but the command, give or take a greeting,
  "please", "thanks" and a name ("Please stop sending me these emails, thanks");
* or a clause of a longer line (clauses end at . ! ? ; , or a dash) that is the command and
  either names what it is about ("these emails", "the check-ins", "until January", "for
  two weeks"), or stands beside nothing but reasons and small talk ("I'm back, let's
  restart", "Pause please, I'm travelling", "stop\\n\\nSorry, it's all too much").
Mentions do not count: "I didn't stop to breathe", "Stop, breathe, notice", "Start again?
Yes, I'll try mornings", "I'll pause before answering". A clause that asks a question counts
only when it asks us ("Can we pause for a month?"), not when the client asks themselves.
Lines that answer one of our questions ("> 4) What might you do differently?" then "Stop.")
are answers, not commands.

A stop that is temporary is a pause: "stop for now", "stop until January", "no check-ins
for two weeks". When several commands appear, STOP wins (ending mail is always the client's
right), then PAUSE, then RESUME. A pause with no date of its own takes one said beside it
("I'm away until the 15th, could you pause the check-ins?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from checkin.core.understand import dates, template
from checkin.core.understand.trim import Segment

MAX_LINE = 200  # a command is short; and the patterns stay cheap

_GREETING = (
    r"(?:hi|hello|hey|dear|hallo|bonjour|salut|hola|ciao|hoi|olá|oi|morning|good\s+morning"
    r"|guten\s+(?:morgen|tag)|buenos\s+días|buongiorno|goedemorgen|bom\s+dia)"
)
_POLITE = (
    r"(?:ok(?:ay)?|yes|so|sorry|please|pls|plz|kindly|bitte|por\s+favor|s'il\s+vous\s+pla[iî]t"
    r"|s'il\s+te\s+pla[iî]t|per\s+favore|alsjeblieft|alstublieft|graag|svp|just|um|hmm|hi)"
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

# How a request starts, in each language: "could you", "let's", "you can", "können Sie",
# "pouvez-vous", "merci de", "podemos", "possiamo", "kunnen jullie", "pode".
_ASK = (
    r"(?P<ask>(?:could|can|would|will)\s+(?:you|we)\s+(?:please\s+)?"
    r"|i(?:'d|\s+would)\s+like\s+(?:you\s+)?to\s+|i\s+(?:want|wish|need)\s+(?:you\s+)?to\s+"
    r"|let'?s\s+|please\s+|(?:you|we)\s+(?:can|may|could)\s+(?:now\s+)?|feel\s+free\s+to\s+"
    r"|(?:können|könnt|kannst)\s+(?:sie|ihr|du|wir)\s+|(?:wir|sie)\s+können\s+|du\s+kannst\s+"
    r"|ich\s+(?:möchte|will|würde\s+gerne)\s+|bitte\s+"
    r"|(?:pouvez|pourriez)[-\s]vous\s+|vous\s+pouvez\s+|on\s+peut\s+|nous\s+pouvons\s+"
    r"|merci\s+d(?:e\s+|')|veuillez\s+|je\s+(?:voudrais|veux|souhaite)\s+"
    r"|(?:pueden|puede|podéis|podemos|podrían|podría)\s+|quiero\s+|quisiera\s+|me\s+gustaría\s+"
    r"|(?:potete|può|possiamo|potreste)\s+|vorrei\s+|voglio\s+"
    r"|(?:kunnen|kunt|kun)\s+(?:jullie|u|je|we)\s+|(?:we|jullie)\s+kunnen\s+|(?:u|je)\s+kunt\s+"
    r"|ik\s+wil\s+(?:graag\s+)?|graag\s+"
    r"|(?:pode|podem|podemos|poderia|poderiam)\s+|quero\s+|gostaria\s+de\s+)?"
)
# What a command may name: these emails, the check-ins, them (and in other languages).
_OBJECT = (
    r"(?:e-?mails?|mails?|messages?|check-?ins?|reminders?|nudges?|nachrichten|courriels"
    r"|correos|mensajes|messaggi|berichten|mensagens)"
)
_THESE = (
    r"(?:\s+(?:all\s+)?(?:these|this|them|the|my|our|your|all|any|those|it|that|ces|les|mes"
    r"|estos|los|mis|queste|le|mie|deze|de|mijn|estes|os|meus|die|diese|meine))?"
    rf"(?:\s+{_OBJECT})?"
)
_NAMED = (
    r"(?:\s+(?:all\s+)?(?:these|this|them|the|my|those|any|any\s*more|more)"
    rf"(?:\s+{_OBJECT})?|\s+{_OBJECT})"
)
_FOR_A_WHILE = (
    r"\s+(?:for\s+now|for\s+a\s+(?:while|bit)|temporarily|for\s+the\s+time\s+being"
    r"|vorerst|erstmal|vorübergehend|pour\s+l'instant|por\s+ahora|por\s+un\s+tiempo"
    r"|per\s+ora|voorlopig|por\s+enquanto|por\s+agora)"
)
_UNTIL = (
    r"\s+(?P<when>(?:until|till|til|through|to|for|bis|für|jusqu'(?:au|à|en)|pendant|hasta"
    r"|durante|tot|voor|fino\s+(?:al|a)|per|até|por)\s+.{1,40})"
)
_UNTIL_PEEK = _UNTIL.replace("?P<when>", "")
_STOP = re.compile(
    rf"^{_ASK}(?:"
    # English
    rf"stop(?:\s+(?:sending|emailing|mailing|contacting|receiving|getting)(?:\s+me)?)?{_THESE}"
    rf"(?:\s+(?:for\s+good|altogether|permanently|completely|now|please))?"
    rf"|unsubscribe(?:\s+me)?(?:\s+from{_THESE}(?:\s+list)?)?|opt(?:\s+me)?\s+out(?:\s+of{_THESE})?"
    rf"|(?:no\s+more|enough)(?:\s+of)?{_THESE}(?:\s+for\s+me)?"
    rf"|(?:take|remove)\s+me\s+off{_THESE}(?:\s+mailing)?\s*(?:list)?"
    rf"|remove\s+me(?:\s+from{_THESE}(?:\s+mailing)?\s*(?:list)?)?"
    rf"|(?:end|cancel){_NAMED}"
    rf"|i\s+(?:don'?t|do\s+not|no\s+longer)\s+want\s+(?:to\s+(?:receive|get|do)\s+)?"
    rf"(?:any\s*more\s+|these\s+|this\s+|the\s+|more\s+|any\s+)?{_OBJECT}(?:\s+any\s*more)?"
    rf"|(?:don'?t|do\s+not)\s+(?:send|email)(?:\s+me)?(?:\s+(?:any\s*more|more|anything\s+else))"
    rf"(?:\s+of)?{_THESE}|i\s+want\s+out(?:\s+of{_THESE})?"
    rf"|i'?m\s+done\s+with{_NAMED}"
    # German
    rf"|stopp(?:en)?|abmelden|abbestellen|aufhören|austragen"
    rf"|(?:ich\s+)?(?:möchte|will)?\s*keine\s+(?:e-?mails?|mails|nachrichten|check-?ins)\s+mehr"
    rf"(?:\s+(?:bekommen|erhalten|haben))?"
    # French
    rf"|arr[êe]te[rz]?{_THESE}|d[ée]sinscri(?:re|vez-moi|s-moi|ption)"
    rf"|(?:je\s+)?ne\s+(?:veux|souhaite)\s+plus\s+(?:recevoir\s+)?(?:de|d'|ces|les|vos)?\s*"
    rf"(?:e-?mails?|mails?|courriels|messages)|plus\s+d'e-?mails?"
    # Spanish
    rf"|dar(?:me)?\s+de\s+baja|no\s+(?:quiero\s+)?(?:recibir\s+)?más\s+(?:correos|emails|e-mails|mensajes)"
    rf"|(?:dejen|deje|deja|dejad)\s+de\s+(?:enviarme|mandarme)(?:\s+(?:estos|los|más))?"
    rf"(?:\s+(?:correos|emails|e-mails|mensajes))?"
    # Italian
    rf"|disiscrivi(?:mi|ti)|cancellami|non\s+voglio\s+più\s+(?:ricevere\s+)?(?:queste\s+|le\s+|altre\s+)?"
    rf"(?:e-?mail|email|messaggi)|smettete\s+di\s+(?:inviarmi|mandarmi)(?:\s+\w+){{0,2}}"
    # Dutch
    rf"|afmelden|uitschrijven|(?:ik\s+wil\s+)?geen\s+(?:e-?mails?|mails|berichten)\s+meer"
    rf"(?:\s+(?:ontvangen|krijgen))?"
    # Portuguese
    rf"|descadastrar|sair\s+da\s+lista|não\s+quero\s+(?:receber\s+)?mais\s+(?:e-?mails?|mensagens)"
    rf"|parem\s+de\s+(?:enviar|mandar)(?:\s+\w+){{0,2}})$",
    re.IGNORECASE,
)
_PAUSE = re.compile(
    rf"^{_ASK}(?:(?:pause|pausieren|pausar|pauzeren|pauzeer|mettre\s+en\s+pause|pausa|pauze"
    rf"|snooze|aussetzen|suspendre|suspender|sospend(?:ere|ete|i|a)|mettere\s+in\s+pausa){_THESE}"
    rf"|hold(?:\s+off)?(?:\s+on)?{_THESE}|put{_THESE}\s+on\s+hold|suspend{_THESE}"
    rf"|(?:have|take|need)\s+a\s+(?:short\s+|little\s+)?break(?:\s+from{_THESE})?"
    rf"|i\s+need\s+a\s+(?:short\s+|little\s+)?break(?:\s+from{_THESE})?|break"
    rf"|(?:eine\s+)?pause\s+machen|faire\s+une\s+pause|hacer\s+una\s+pausa|fare\s+una\s+pausa"
    rf"|(?=stop\b.*(?:{_FOR_A_WHILE}|{_UNTIL_PEEK})$)stop(?:\s+(?:sending|emailing))?{_THESE}"
    rf"|(?=no\s.*(?:{_FOR_A_WHILE}|{_UNTIL_PEEK})$)no\s+(?:more\s+)?{_OBJECT})"
    rf"(?:{_FOR_A_WHILE})?(?:{_UNTIL})?$",
    re.IGNORECASE,
)
_RESUME = re.compile(
    rf"^{_ASK}(?:resume{_THESE}|unpause{_THESE}|restart{_THESE}|continue{_THESE}"
    rf"|(?:i'?m\s+|i\s+am\s+)?ready\s+to\s+(?:start|begin|go|continue)(?:\s+again)?{_THESE}"
    rf"|(?:start|begin)(?:\s+sending)?{_THESE}\s+again|send{_THESE}\s+again"
    rf"|(?:i'?m|i\s+am)\s+back(?:\s+now)?|back\s+now|pick\s+(?:this|it|these|them)\s+(?:back\s+)?up"
    rf"(?:\s+again)?|turn\s+(?:this|it|these|them)\s+back\s+on|go\s+again"
    # German
    rf"|fortsetzen|weitermachen|wieder\s+(?:starten|anfangen|beginnen|aufnehmen|senden|schicken)"
    rf"|ich\s+bin\s+(?:wieder\s+)?(?:zurück|da)"
    # French
    rf"|reprendre{_THESE}|recommencer|je\s+suis\s+de\s+retour"
    # Spanish
    rf"|reanudar{_THESE}|retomar{_THESE}|volver\s+a\s+empezar|reiniciar|(?:ya\s+)?estoy\s+de\s+vuelta"
    # Italian
    rf"|riprendere|ricominciare|sono\s+tornat[oa]"
    # Dutch
    rf"|hervatten|weer\s+(?:beginnen|starten)|ik\s+ben\s+(?:weer\s+)?terug"
    # Portuguese
    rf"|recomeçar|voltei|estou\s+de\s+volta)$",
    re.IGNORECASE,
)
# Inside a longer line a command clause must say what it is about, unless the rest is asides.
_EXPLICIT = re.compile(
    r"e-?mails?|mails?\b|messages?|check-?ins?|reminders?|unsubscribe|opt\s+out|list\b"
    r"|\buntil\b|\btill\b|\bagain\b|\bweeks?\b|\bdays?\b|\bmonths?\b|fortnight|break\b"
    r"|nachrichten|courriels|correos|mensajes|messaggi|berichten|mensagens|\bbis\b|jusqu"
    r"|\bhasta\b|\bfino\b|\btot\b|\baté\b|\bwieder\b|\bretour\b|\bvuelta\b|\bterug\b",
    re.IGNORECASE,
)
# What may stand beside a bare command: reasons and small talk, not other instructions.
_ASIDE = re.compile(
    r"^(?:i|i'm|i\s+am|i've|i'll|i'd|im|it's|it\s+is|this\s+is|things|life|work|sorry|thanks"
    r"|thank\s+you|because|as|since|just|we're|back|hope|ich|es|das|je|c'est|j'|yo|estoy|esto"
    r"|io|sono|è|ik|het|eu|estou|é|porque|parce|weil|denn|perché|omdat|want|da)\b",
    re.IGNORECASE,
)
_CLAUSE_END = re.compile(r"(?<=[.!?;,])\s+|\s+[-–—]\s+")
_WHEN_ANYWHERE = re.compile(
    r"\b(?P<when>(?:until|till|bis|jusqu'(?:au|à|en)|hasta|fino\s+(?:al|a)|tot|até)\s+.{1,40})",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Command:
    name: str  # "stop", "pause", "resume"
    until: date | None = None
    problem: str | None = None  # e.g. a pause date we could not read
    line: str = ""  # the line that said it, so it is not also read as an answer


def detect(
    segments: tuple[Segment, ...],
    subject: str | None,
    reference: date | None,
    day_first: bool | None = None,
) -> Command | None:
    """`day_first`: how to read "3/1" (see dates.until); None when nothing says."""
    lines = [template.client_subject(subject)]
    for segment in segments:
        if segment.question is None:
            lines += segment.text.split("\n")[:200]
    found: list[Command] = []
    for k, line in enumerate(lines):
        command = _in_line(line, reference, day_first)
        if command and command.name == "pause" and command.until is None:
            command = _dated_nearby(command, lines[k + 1 : k + 2], reference, day_first)
        if command:
            found.append(command)
    for name in ("stop", "pause", "resume"):
        match = next((c for c in found if c.name == name), None)
        if match:
            return match
    return None


def without_reply_prefix(subject: str) -> str:
    return template.without_reply_prefix(subject)


def _in_line(line: str, reference: date | None, day_first: bool | None) -> Command | None:
    if len(line) > MAX_LINE:
        return None
    whole = _command(line, reference, day_first)
    if whole:
        return whole
    clauses = [c for c in _CLAUSE_END.split(line.strip()) if c.strip()]
    if len(clauses) < 2:
        return None
    read = [(clause, _command(clause, reference, day_first)) for clause in clauses]
    said = [(clause, command) for clause, command in read if command]
    for clause, command in said:
        if _EXPLICIT.search(clause):
            return _with_date_beside(command, line, reference, day_first)
    kinds = {command.name for _, command in said}
    asides = [clause for clause, command in read if command is None]
    if len(kinds) == 1 and all(_aside(clause) for clause in asides):
        return _with_date_beside(said[0][1], line, reference, day_first)
    return None


def _aside(clause: str) -> bool:
    text = _normalise(clause)
    return not text or bool(_ASIDE.match(text))


def _command(clause: str, reference: date | None, day_first: bool | None) -> Command | None:
    text = _normalise(clause)
    if not text:
        return None
    asked = clause.rstrip(" *_\"')").endswith("?")
    for name, pattern in (("stop", _STOP), ("pause", _PAUSE), ("resume", _RESUME)):
        match = pattern.match(text)
        if not match:
            continue
        if asked and not match.group("ask"):
            return None  # "Start again?": the client asking themselves, not us
        if name == "pause":
            return _pause(match.group("when"), reference, clause, day_first)
        return Command(name, line=clause)
    return None


def _normalise(line: str) -> str:
    text = " ".join(line.replace("\u2019", "'").split()).strip(" \t*_\"'()[]")
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING.sub("", _LEADING.sub("", text)).strip(" ,.!?:;-")
    return text


def _pause(when: str | None, reference: date | None, line: str, day_first: bool | None) -> Command:
    if not when:
        return Command("pause", line=line)
    until, problem = dates.read_until(when.strip(), reference, day_first)
    return Command("pause", until, problem, line)


def _with_date_beside(
    command: Command, line: str, reference: date | None, day_first: bool | None
) -> Command:
    """The whole line is the command's line; a pause takes a date said beside it."""
    dated = _dated_nearby(command, [line], reference, day_first)
    return Command(dated.name, dated.until, dated.problem, line)


def _dated_nearby(
    command: Command, lines: list[str], reference: date | None, day_first: bool | None
) -> Command:
    if command.name != "pause" or command.until is not None:
        return command
    for line in lines:
        match = _WHEN_ANYWHERE.search(line[:MAX_LINE])
        if match:
            until, problem = dates.read_until(match.group("when"), reference, day_first)
            if until:
                return Command("pause", until, problem, command.line)
    return command
