"""Realistic replies to check-ins, generated (seeded) for the ingest benchmark.

Nothing is copied from a corpus: each reply is assembled the way the mail program it imitates
writes one, around the check-in it answers (the practice's own text, quoted):

* gmail       text + HTML, "On ... wrote:" and "> " quoting, gmail_quote blockquote
* outlook     text + HTML (Word markup), a "From: / Sent: / To: / Subject:" block above the
              unquoted check-in; a third with the text part in base64
* iphone      text + HTML, "Sent from my iPhone", then "> On ... wrote:" and the quote
* html_only   one text/html part: Thunderbird (moz-cite-prefix) or Outlook on the web
              (divRplyFwdMsg)
* attachment  Gmail's text + HTML with a ~200 KB photo attached (multipart/mixed)

in seven languages (en de fr es it nl pt). Most answer the check-in (tried, a rating, what
they noticed); a few pause or stop, a few carry risk language, some are out-of-office
replies and some come from an address that is no client's. Most are addressed to the
check-in's reply address (`checkin+TOKEN@...`); some only carry In-Reply-To (the mail program
answered the From address); some are new mails from a client's address.
"""

from __future__ import annotations

import base64
import quopri
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime

PRACTICE = "Harbour check-ins"
PRACTICE_ADDR = "checkin@practice.test"
THERAPIST = "Therapist 0"
TITLE = "Notice your breathing for one minute before work"

STYLES = ("gmail", "outlook", "iphone", "html_only", "attachment")
STYLE_WEIGHTS = (32, 22, 22, 22, 2)
LANGS = ("en", "de", "fr", "es", "it", "nl", "pt")
LANG_WEIGHTS = (40, 12, 12, 12, 8, 8, 8)
INTENTS = ("answer", "command", "risk", "auto_reply", "stranger")
INTENT_WEIGHTS = (88, 4, 1, 5, 2)
ADDRESSED = ("token", "thread", "sender")  # how the reply points back at its check-in
ADDRESSED_WEIGHTS = (85, 10, 5)
ATTACHMENT_BYTES = 200 * 1024


@dataclass(frozen=True)
class Checkin:
    """A check-in the practice sent, as the outbox knows it and the client's mail shows it."""

    client_id: str
    address: str
    name: str
    token: str
    message_id: str
    sent_at: datetime  # UTC
    experiment_id: str = "breathing"

    @property
    def reply_to(self) -> str:
        return f"checkin+{self.token}@practice.test"


@dataclass(frozen=True)
class Generated:
    style: str
    lang: str
    intent: str
    addressed: str
    checkin: Checkin
    raw: bytes


FIRST = ("Alex", "Sam", "Maria", "Jonas", "Claire", "Lucía", "Giulia", "Daan", "João",
         "Priya", "Noah", "Emma", "Léa", "Mateo", "Sofia", "Lars", "Tom", "Inès")  # fmt: skip
LAST = ("Smith", "Müller", "Dubois", "García", "Rossi", "de Vries", "Silva", "Patel", "Brown",
        "Schmidt", "Martin", "López", "Bianchi", "Jansen", "Costa", "Nowak")  # fmt: skip


def checkins(clients: int, days: int, seed: int = 8) -> list[Checkin]:
    """`days` daily 19:00 New York check-ins for each of `clients` (ids as bench/practice.py)."""
    rng = random.Random(seed)
    found = []
    for day in range(days):
        # 19:00 in New York (EST) is midnight UTC; the last day is Thursday 26 November 2026.
        sent = datetime(2026, 11, 27 - days + day, 0, 0, 30, tzinfo=UTC)
        for c in range(clients):
            token = base64.b32encode(rng.randbytes(16)).decode().rstrip("=").lower()
            found.append(
                Checkin(
                    client_id=f"c{c:05d}",
                    address=f"c{c:05d}@client.test",
                    name=f"{FIRST[c % len(FIRST)]} {LAST[(c * 7) % len(LAST)]}",
                    token=token,
                    message_id=f"<{rng.getrandbits(128):032x}@practice.test>",
                    sent_at=sent,
                )
            )
    return found


def outbox_rows(sent: list[Checkin]) -> list[dict[str, object]]:
    """The outbox rows of these check-ins (sent, unanswered), for a direct insert."""
    from checkin.core.attribute import token_hash

    return [_outbox_row(c, token_hash(c.token)) for c in sent]


def _outbox_row(c: Checkin, digest: str) -> dict[str, object]:
    return {
        "key": f"checkin:{c.client_id}:{c.experiment_id}:{_slot(c)}",
        "kind": "checkin", "client_id": c.client_id, "experiment_id": c.experiment_id,
        "therapist_id": "t000", "slot": _slot(c), "recipient": c.address, "token": c.token,
        "token_hash": digest, "message_id": c.message_id, "status": "sent",
        "attempts": 1, "due_at": c.sent_at, "send_after": c.sent_at, "sent_at": c.sent_at,
        "created_at": c.sent_at - timedelta(hours=1),
    }  # fmt: skip


def _slot(c: Checkin) -> str:
    local = c.sent_at - timedelta(hours=5)
    return f"{local:%Y-%m-%d}T19:00"


def generate(sent: list[Checkin], n: int, seed: int = 8) -> Iterator[Generated]:
    """`n` replies, each to a different check-in of `sent` (deterministic for a seed)."""
    rng = random.Random(seed)
    order = rng.sample(range(len(sent)), min(n, len(sent)))
    while len(order) < n:  # more replies than check-ins: some answer twice
        order.append(rng.randrange(len(sent)))
    for i, index in enumerate(order):
        style = rng.choices(STYLES, STYLE_WEIGHTS)[0]
        lang = rng.choices(LANGS, LANG_WEIGHTS)[0]
        intent = rng.choices(INTENTS, INTENT_WEIGHTS)[0]
        addressed = rng.choices(ADDRESSED, ADDRESSED_WEIGHTS)[0]
        if intent == "auto_reply":
            style, addressed = "auto", "token"
        c = sent[index]
        raw = _Reply(rng, c, i, style, lang, intent, addressed).build()
        yield Generated(style, lang, intent, addressed, c, raw)


# -- words ------------------------------------------------------------------------------------

ANSWERS = {
    "en": ("Yes, I did it {n} times this week. I'd say {r}/10.\n\n"
           "I noticed my shoulders dropping after the first minute.\n\n"
           "Next time I might try it before the first coffee.",
           "Partly - only on two mornings. Maybe {r} out of 10.\n"
           "It felt awkward at first but easier by the end.",
           "No, I didn't get to it this time. Work was chaos.\n\nI'll set a reminder on my phone.",
           "1) yes\n2) {r}\n3) calmer than usual, slept better\n4) do it a bit earlier"),
    "de": ("Ja, habe ich gemacht. Ich würde sagen {r} von 10.\n\n"
           "Mir ist aufgefallen, dass meine Schultern sinken.",
           "Teilweise, an zwei Morgen. {r}/10.\nNächstes Mal versuche ich es vor dem Frühstück.",
           "Nein, diesmal leider nicht geschafft."),
    "fr": ("Oui, je l'ai fait. Je dirais {r} sur 10.\n\n"
           "J'ai remarqué que je respirais plus lentement.",
           "Pas vraiment, j'ai oublié. {r}/10.",
           "En partie, deux matins sur trois. {r} sur 10.\n"
           "La prochaine fois, je le ferai avant le café."),
    "es": ("Sí, lo hice. Diría que un {r} de 10.\n\nNoté que me sentía más tranquila.",
           "No, esta vez no pude.\nLa próxima vez lo intentaré por la mañana.",
           "Más o menos, solo dos días. {r}/10."),
    "it": ("Sì, ci ho provato due volte. Direi {r} su 10.\n\nHo notato che respiro meglio.",
           "No, questa volta non ci sono riuscito.",
           "In parte. {r}/10, un po' distratto."),
    "nl": ("Ja, gedaan. Ik zou zeggen een {r} van de 10.\n\nIk merkte dat ik rustiger werd.",
           "Nee, het is me deze keer niet gelukt.",
           "Gedeeltelijk, twee ochtenden. {r}/10."),
    "pt": ("Sim, fiz duas vezes. Diria {r} de 10.\n\nReparei que fiquei mais calma.",
           "Não, desta vez não consegui.",
           "Em parte. {r}/10."),
}  # fmt: skip
COMMANDS = {
    "en": ("PAUSE until 3 January", "STOP", "Please stop sending these."),
    "de": ("Bitte pausieren bis 10. Januar", "Bitte keine E-Mails mehr."),
    "fr": ("Je ne veux plus recevoir ces emails", "PAUSE"),
    "es": ("Pausa hasta enero, por favor", "STOP"),
    "it": ("STOP", "PAUSE"),
    "nl": ("STOP", "PAUSE"),
    "pt": ("STOP", "PAUSE"),
}
RISK = {
    "en": "Honestly, some days I just want to disappear.",
    "de": "Ich will nicht mehr leben.",
    "fr": "J'ai envie d'en finir.",
    "es": "A veces pienso en quitarme la vida.",
    "it": "Non voglio più vivere.",
    "nl": "Ik wil niet meer leven.",
    "pt": "Não quero mais viver.",
}
OUT_OF_OFFICE = {
    "en": ("Automatic reply", "I am out of the office until Monday 7 December with limited "
           "access to email."),
    "de": ("Automatische Antwort", "Ich bin bis zum 7. Dezember nicht im Büro."),
    "fr": ("Réponse automatique", "Je suis absente du bureau jusqu'au 7 décembre."),
    "es": ("Respuesta automática", "Estoy fuera de la oficina hasta el 7 de diciembre."),
    "it": ("Risposta automatica", "Sono fuori ufficio fino al 7 dicembre."),
    "nl": ("Automatisch antwoord", "Ik ben tot 7 december afwezig."),
    "pt": ("Resposta automática", "Estou fora do escritório até 7 de dezembro."),
}  # fmt: skip
GMAIL_ATTR = {
    "en": "On {wd}, {d} {mon} {y} at 19:00, {who} wrote:",
    "de": "Am {wd}., {d}. {mon}. {y} um 19:00 Uhr schrieb {who}:",
    "fr": "Le {wd}. {d} {mon}. {y} à 19:00, {who} a écrit :",
    "es": "El {wd}, {d} {mon} {y} a las 19:00, {who} escribió:",
    "it": "Il giorno {wd} {d} {mon} {y} alle ore 19:00 {who} ha scritto:",
    "nl": "Op {wd} {d} {mon} {y} om 19:00 schreef {who}:",
    "pt": "Em {wd}., {d} de {mon}. de {y} às 19:00, {who} escreveu:",
}
IPHONE = {
    "en": ("Sent from my iPhone", "On {d} {mon} {y}, at 19:00, {who} wrote:"),
    "de": ("Von meinem iPhone gesendet", "Am {d}.{m}.{y} um 19:00 schrieb {who}:"),
    "fr": ("Envoyé de mon iPhone", "Le {d} {mon}. {y} à 19:00, {who} a écrit :"),
    "es": ("Enviado desde mi iPhone", "El {d} {mon} {y}, a las 19:00, {who} escribió:"),
    "it": ("Inviato da iPhone", "Il giorno {d} {mon} {y}, alle ore 19:00, {who} ha scritto:"),
    "nl": ("Verstuurd vanaf mijn iPhone",
           "Op {d} {mon}. {y} om 19:00 heeft {who} het volgende geschreven:"),
    "pt": ("Enviado do meu iPhone", "Em {d} de {mon}. de {y}, à(s) 19:00, {who} escreveu:"),
}  # fmt: skip
OUTLOOK = {  # From, Sent, To, Subject; the reply prefix
    "en": ("From", "Sent", "To", "Subject", "RE: "),
    "de": ("Von", "Gesendet", "An", "Betreff", "AW: "),
    "fr": ("De", "Envoyé", "À", "Objet", "RE : "),
    "es": ("De", "Enviado el", "Para", "Asunto", "RE: "),
    "it": ("Da", "Inviato", "A", "Oggetto", "R: "),
    "nl": ("Van", "Verzonden", "Aan", "Onderwerp", "RE: "),
    "pt": ("De", "Enviado", "Para", "Assunto", "RE: "),
}
WEEKDAYS = {
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    "de": ("Mo", "Di", "Mi", "Do", "Fr", "Sa", "So"),
    "fr": ("lun", "mar", "mer", "jeu", "ven", "sam", "dim"),
    "es": ("lun", "mar", "mié", "jue", "vie", "sáb", "dom"),
    "it": ("lun", "mar", "mer", "gio", "ven", "sab", "dom"),
    "nl": ("ma", "di", "wo", "do", "vr", "za", "zo"),
    "pt": ("seg", "ter", "qua", "qui", "sex", "sáb", "dom"),
}
NOVEMBER = {"en": "Nov", "de": "Nov", "fr": "nov", "es": "nov", "it": "nov", "nl": "nov",
            "pt": "nov"}  # fmt: skip
ZONES = {"en": -5, "de": 1, "fr": 1, "es": 1, "it": 1, "nl": 1, "pt": 0}


def checkin_text(c: Checkin) -> str:
    first = c.name.split()[0]
    return (
        f"Hi {first},\n\nHere is your check-in about the small experiment you agreed with "
        f"{THERAPIST}:\n\n    {TITLE}\n\nJust hit reply and answer in your own words, as "
        "briefly as you like:\n\n1) Did you try it? (yes, no, or partly)\n2) How did it go, "
        "from 0 to 10?\n3) What did you notice?\n4) What might you do a little differently "
        'next time?\n\nAny answer helps, including "I didn\'t get to it this time".\n\n'
        'To take a break from these emails, reply PAUSE (or "PAUSE until 3 January"); reply '
        f"RESUME to start again, or STOP to end them.\n\n{PRACTICE}\nThis mailbox is not "
        "watched around the clock. If you are in danger or crisis, call your local emergency "
        "number.\n"
    )


def checkin_html(c: Checkin) -> str:
    first = c.name.split()[0]
    p = '<p style="margin:0 0 16px;">'
    return (
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="background:#f6f5f2;">\n<tr><td align="center" style="padding:16px 8px;">\n'
        '<table role="presentation" width="100%" cellpadding="0" cellspacing="0" '
        'style="max-width:560px; background:#ffffff; border-radius:8px;">\n<tr><td '
        "style=\"padding:24px; font-family:Georgia, 'Times New Roman', serif; font-size:16px; "
        f'line-height:1.5; color:#2b2b2b;">\n{p}Hi {first},</p>\n'
        '<p style="margin:0 0 8px;">Here is your check-in about the small experiment you agreed '
        f"with {THERAPIST}:</p>\n"
        '<p style="margin:0 0 16px; padding:12px 16px; background:#eef3ef; border-radius:6px;">'
        f"{TITLE}</p>\n"
        '<p style="margin:0 0 8px;">Just hit reply and answer in your own words, as briefly as '
        'you like:</p>\n<ol style="margin:0 0 16px; padding-left:24px;">\n'
        "<li>Did you try it? (yes, no, or partly)</li>\n<li>How did it go, from 0 to 10?</li>\n"
        "<li>What did you notice?</li>\n"
        "<li>What might you do a little differently next time?</li>\n</ol>\n"
        f"{p}Any answer helps, including &ldquo;I didn't get to it this time&rdquo;.</p>\n"
        '<p style="margin:0; font-size:14px; color:#4a4a4a;">To take a break from these emails, '
        "reply PAUSE (or &ldquo;PAUSE until 3 January&rdquo;); reply RESUME to start again, or "
        "STOP to end them.</p>\n"
        f'<p style="margin:24px 0 0; font-size:13px; color:#6b6b6b;">{PRACTICE}<br>\n'
        "This mailbox is not watched around the clock. If you are in danger or crisis, call "
        "your local emergency number.</p>\n</td></tr>\n</table>\n</td></tr>\n</table>\n"
    )


def _html_lines(text: str) -> str:
    return "".join(f"<div>{_escape(line) or '<br>'}</div>" for line in text.split("\n"))


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _qp(text: str) -> bytes:
    return quopri.encodestring(text.encode("utf-8"))


def _b64(data: bytes) -> bytes:
    return base64.encodebytes(data)


def _part(ctype: str, text: str, b64: bool = False) -> bytes:
    if b64:
        head = f'Content-Type: {ctype}; charset="utf-8"\nContent-Transfer-Encoding: base64\n\n'
        return head.encode() + _b64(text.encode("utf-8"))
    head = (f"Content-Type: {ctype}; charset=\"UTF-8\"\n"
            "Content-Transfer-Encoding: quoted-printable\n\n")  # fmt: skip
    return head.encode() + _qp(text)


def _multipart(kind: str, boundary: str, parts: list[bytes]) -> bytes:
    body = b"".join(b"--" + boundary.encode() + b"\n" + p + b"\n" for p in parts)
    return (f"Content-Type: multipart/{kind}; boundary=\"{boundary}\"\n\n".encode() + body
            + b"--" + boundary.encode() + b"--\n")  # fmt: skip


class _Reply:
    """One reply being written; `build()` returns its bytes as a maildir file holds them."""

    def __init__(
        self, rng: random.Random, c: Checkin, i: int, style: str, lang: str, intent: str,
        addressed: str,
    ) -> None:  # fmt: skip
        self.rng, self.c, self.i = rng, c, i
        self.style, self.lang, self.intent, self.addressed = style, lang, intent, addressed
        zone = timezone(timedelta(hours=ZONES[lang]))
        self.date = (c.sent_at + timedelta(minutes=rng.randint(5, 900))).astimezone(zone)
        self.sender = f"partner{i}@elsewhere.test" if intent == "stranger" else c.address
        self.subject = f"Your check-in for {self._day_words()}"

    def _day_words(self) -> str:
        local = self.c.sent_at - timedelta(hours=5)
        return f"{local:%A} {local.day} {local:%B}"

    def words(self) -> str:
        rng = self.rng
        if self.intent == "command":
            return rng.choice(COMMANDS[self.lang])
        answer = rng.choice(ANSWERS[self.lang]).format(r=rng.randint(0, 10), n=rng.randint(2, 5))
        if self.intent == "risk":
            return f"{answer}\n\n{RISK[self.lang]}"
        return answer

    def build(self) -> bytes:
        if self.style == "auto":
            return self._auto_reply()
        words = self.words()
        body = getattr(self, f"_{self.style}")(words)
        return self._headers() + body

    # -- headers -------------------------------------------------------------------------------

    def _headers(self, subject: str | None = None, extra: str = "") -> bytes:
        c, to = self.c, self.c.reply_to if self.addressed == "token" else PRACTICE_ADDR
        thread = ""
        if self.addressed != "sender":
            thread = f"In-Reply-To: {c.message_id}\nReferences: {c.message_id}\n"
        if subject is None:
            prefix = OUTLOOK[self.lang][4] if self.style == "outlook" else "Re: "
            subject = "A quick note" if self.addressed == "sender" else prefix + self.subject
        host = {"gmail": "mail.gmail.com", "attachment": "mail.gmail.com",
                "outlook": "EUR03.prod.outlook.com"}.get(self.style, "client.test")  # fmt: skip
        mid = f"<{self.rng.getrandbits(96):024X}.{self.i}@{host}>"
        received = format_datetime(self.date + timedelta(seconds=4))
        return (
            f"Return-Path: <{self.sender}>\nDelivered-To: {to}\n"
            f"Received: from mx.client.test (mx.client.test [203.0.113.{self.i % 250 + 1}])\n"
            f"\tby mx.practice.test with ESMTPS id {self.i:08X}; {received}\n"
            f"MIME-Version: 1.0\n{thread}From: {self.c.name} <{self.sender}>\n"
            f"Date: {format_datetime(self.date)}\nMessage-ID: {mid}\nSubject: {subject}\n"
            f"To: {PRACTICE} <{to}>\n{extra}"
        ).encode()

    def _who(self, html: bool = False) -> str:
        to = self.c.reply_to
        return f"{PRACTICE} &lt;{to}&gt;" if html else f"{PRACTICE} <{to}>"

    def _attr(self, table: dict[str, str], html: bool = False) -> str:
        local = self.c.sent_at - timedelta(hours=5)
        return table[self.lang].format(
            wd=WEEKDAYS[self.lang][local.weekday()], d=local.day, m=f"{local.month:02d}",
            mon=NOVEMBER[self.lang], y=local.year, who=self._who(html),
        )  # fmt: skip

    def _boundary(self) -> str:
        return f"000000000000{self.rng.getrandbits(56):014x}"

    # -- styles --------------------------------------------------------------------------------

    def _gmail_parts(self, words: str) -> bytes:
        quoted = "".join(f"> {line}".rstrip() + "\n" for line in checkin_text(self.c).split("\n"))
        plain = f"{words}\n\n{self._attr(GMAIL_ATTR)}\n\n{quoted}"
        html = (
            f'<div dir="ltr">{_html_lines(words)}</div><br><div class="gmail_quote">'
            f'<div dir="ltr" class="gmail_attr">{self._attr(GMAIL_ATTR, html=True)}<br></div>'
            '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px '
            f'solid rgb(204,204,204);padding-left:1ex">{checkin_html(self.c)}</blockquote></div>\n'
        )
        parts = [_part("text/plain", plain), _part("text/html", html)]
        return _multipart("alternative", self._boundary(), parts)

    def _gmail(self, words: str) -> bytes:
        return self._gmail_parts(words)

    def _attachment(self, words: str) -> bytes:
        photo = b"\xff\xd8\xff\xe0" + self.rng.randbytes(ATTACHMENT_BYTES - 4)
        name = f"IMG_{self.rng.randint(1000, 9999)}.jpg"
        image = (
            f'Content-Type: image/jpeg; name="{name}"\n'
            f'Content-Disposition: attachment; filename="{name}"\n'
            "Content-Transfer-Encoding: base64\n"
            f"X-Attachment-Id: f_{self.rng.getrandbits(40):010x}\n\n"
        ).encode() + _b64(photo)
        inner = self._gmail_parts(f"{words}\n\nA photo of my notes from this week.")
        return _multipart("mixed", self._boundary(), [inner, image])

    def _outlook(self, words: str) -> bytes:
        f, s, t, subj, _ = OUTLOOK[self.lang]
        local = self.c.sent_at - timedelta(hours=5)
        when = f"{local:%d/%m/%Y} 19:00"
        block = (f"{f}: {self._who()}\n{s}: {when}\n{t}: {self.c.name} <{self.c.address}>\n"
                 f"{subj}: {self.subject}\n")  # fmt: skip
        plain = f"{words}\n\n{block}\n{checkin_text(self.c)}"
        hblock = (
            f"<b>{f}:</b> {self._who(html=True)}<br><b>{s}:</b> {when}<br><b>{t}:</b> "
            f"{_escape(self.c.name)} &lt;{self.c.address}&gt;<br><b>{subj}:</b> {self.subject}"
        )
        html = (
            '<html xmlns:v="urn:schemas-microsoft-com:vml" xmlns:o="urn:schemas-microsoft-com:'
            'office:office"><head><meta http-equiv="Content-Type" content="text/html; '
            'charset=utf-8"><meta name="Generator" content="Microsoft Word 15 (filtered medium)">'
            "<style><!-- p.MsoNormal {margin:0cm; font-size:11.0pt;} --></style></head>"
            f'<body lang="{self.lang.upper()}" link="#0563C1"><div class="WordSection1">'
            + "".join(f'<p class="MsoNormal">{_escape(x) or "<o:p>&nbsp;</o:p>"}</p>'
                      for x in words.split("\n"))
            + '<p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;'
            'border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm"><p class="MsoNormal">'
            f"{hblock}<o:p></o:p></p></div></div>{checkin_html(self.c)}</div></body></html>\n"
        )  # fmt: skip
        b64 = self.i % 3 == 0
        parts = [_part("text/plain", plain, b64=b64), _part("text/html", html)]
        extra = (f"Thread-Topic: {self.subject}\nThread-Index: "
                 f"{base64.b64encode(self.rng.randbytes(22)).decode()}\n"
                 "X-MS-Has-Attach:\nX-MS-TNEF-Correlator:\n"
                 f"Content-Language: {self.lang}-{self.lang.upper()}\n").encode()  # fmt: skip
        return extra + _multipart("alternative", self._boundary(), parts)

    def _iphone(self, words: str) -> bytes:
        sent_from, attr = IPHONE[self.lang]
        quoted = "".join(f"> {line}".rstrip() + "\n" for line in checkin_text(self.c).split("\n"))
        plain = f"{words}\n\n{sent_from}\n\n> {self._attr({self.lang: attr})}\n>\n{quoted}"
        if self.i % 2:  # half of them send text only
            return b"X-Mailer: iPhone Mail (22B91)\n" + _part("text/plain", plain)
        html = (
            '<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">'
            f'</head><body dir="auto"><div dir="ltr">{_html_lines(words)}</div>'
            f'<div dir="ltr"><br><div>{sent_from}</div><div dir="ltr"><br>'
            f'<blockquote type="cite">{self._attr({self.lang: attr}, html=True)}<br><br>'
            f'</blockquote></div><blockquote type="cite"><div dir="ltr">{checkin_html(self.c)}'
            "</div></blockquote></div></body></html>\n"
        )
        parts = [_part("text/plain", plain), _part("text/html", html)]
        return b"X-Mailer: iPhone Mail (22B91)\n" + _multipart(
            "alternative", f"Apple-Mail-{self.rng.getrandbits(64):016X}", parts
        )

    def _html_only(self, words: str) -> bytes:
        if self.i % 2:
            attr = self._attr(GMAIL_ATTR, html=True)
            html = (
                '<html><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">'
                f"</head><body><p>{_escape(words).replace(chr(10), '<br>')}</p>"
                f'<div class="moz-cite-prefix">{attr}<br></div><blockquote type="cite" '
                f'cite="mid:{self.c.message_id.strip("<>")}">{checkin_html(self.c)}</blockquote>'
                "</body></html>\n"
            )
            return b"User-Agent: Mozilla Thunderbird\n" + _part("text/html", html)
        f, s, t, subj, _ = OUTLOOK[self.lang]
        html = (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            f'</head><body><div dir="ltr">{_html_lines(words)}</div><div id="appendonsend">'
            '</div><hr style="display:inline-block;width:98%" tabindex="-1"><div '
            'id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt"'
            f' color="#000000"><b>{f}:</b> {self._who(html=True)}<br><b>{s}:</b> 26/11/2026 '
            f"19:00<br><b>{t}:</b> {_escape(self.c.name)} &lt;{self.c.address}&gt;<br>"
            f"<b>{subj}:</b> {self.subject}</font><div>&nbsp;</div></div><div>"
            f"{checkin_html(self.c)}</div></body></html>\n"
        )
        return _part("text/html", html)

    def _auto_reply(self) -> bytes:
        prefix, text = OUT_OF_OFFICE[self.lang]
        extra = "Auto-Submitted: auto-replied\nX-Auto-Response-Suppress: All\n"
        head = self._headers(subject=f"{prefix}: {self.subject}", extra=extra)
        return head + _part("text/plain", f"{text}\n")
