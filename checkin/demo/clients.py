"""The outside world of the demo: five made-up clients who read their check-ins and answer the
way people do, and one mail server that bounces.

Every reply quotes the check-in it answers exactly as the client's mail program would: Gmail
puts "On ... wrote:" over `>` lines, Outlook pastes our text unquoted under a From/Sent/To
block, the iPhone quotes its own "On ..., at ..." line, Thunderbird writes a short header.
Answers are scripted per client and experiment: the n-th check-in gets the n-th answer (None:
no reply, so a reminder follows). All names and addresses are fictional.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid, parseaddr
from zoneinfo import ZoneInfo

from checkin.core.understand.template import QUESTIONS


@dataclass(frozen=True)
class Answer:
    words: str = ""
    style: str = ""  # the client's own mail program when empty; or "inline", "out-of-office"
    after: timedelta = timedelta(hours=2)  # after the check-in arrives
    inline: tuple[str, ...] = ()  # for "inline": answers to questions 1..4, typed between them


@dataclass(frozen=True)
class Person:
    client_id: str
    name: str
    address: str  # the address they write from
    program: str  # gmail, outlook, iphone, thunderbird, plain
    zone: str
    answers: dict[str, tuple[Answer | None, ...]]  # experiment id -> answers to its check-ins
    to_reminders: tuple[Answer | None, ...] = ()


@dataclass(frozen=True)
class Outgoing:
    """A message the outside world will hand to our SMTP server at `at`."""

    at: datetime
    mail_from: str  # envelope sender; "" for a bounce (RFC 5321 null reverse-path)
    to: str
    raw: bytes
    label: str  # for the .eml file name: "reply-gmail", "out-of-office", "bounce"


def says(words: str, hours: float = 2, style: str = "", inline: tuple[str, ...] = ()) -> Answer:
    return Answer(words, style, timedelta(hours=hours), inline)


NO_REPLY = None

INES = Person(
    "ines", "Ines Duarte", "ines.duarte@mail.example", "gmail", "Europe/Lisbon",
    answers={
        "breaths": (
            says("Yes, I did it before opening my inbox. Maybe a 7. My shoulders dropped.", 3),
            says("Answers below.", 9, style="inline", inline=(
                "Partly, only on the train", "6", "My breathing was faster than I thought.",
                "Do it at my desk before logging in.",
            )),
            NO_REPLY,
            says("Yes, 8/10 today - calmer before the team meeting.", 4),
            NO_REPLY,
            says("Yes, every morning this week. I'd say 8."),
        ),
    },
    to_reminders=(says("Sorry, busy week! I did it twice, about a 5.", 5),),
)  # fmt: skip

KOFI = Person(
    "kofi", "Kofi Asante", "kofi@work.example", "outlook", "Europe/London",
    answers={
        "ask": (
            says("Partly. I asked once, then bottled it the second time. Maybe a 5."),
            says("I am out of the office until Monday 30 November with limited access to email.",
                 1 / 60, style="out-of-office"),
            says("Yes - asked Sam to cover a call and he just said sure. 7. I noticed I had "
                 "rehearsed it for ages beforehand.", 1),
            says("PAUSE until 4 December", 3),
            says("Yes - asked for help with the slides. 6 out of 10. Good to be back."),
        ),
    },
)  # fmt: skip

LENA = Person(
    "lena", "Lena Vogt", "lena@post.example", "thunderbird", "Europe/Berlin",
    answers={
        "journal": (
            says("1) yes\n2) 6\n3) Writing it down made the day feel smaller.\n"
                 "4) Keep the notebook by the bed.", 1),
            says("1. partly\n2. 4\n3. I skipped two nights but the lines I wrote helped.\n"
                 "4. Write it on my phone if the notebook is not there.", 1),
            NO_REPLY,
            says("1) no\n2) 2\n3) Honestly I keep thinking about ending it all. Everything "
                 "feels too heavy right now.\n4) I don't know.", 1),
            says("1) yes\n2) 5\n3) A bit steadier after talking on Thursday.\n4) Keep going.", 1),
        ),
    },
)  # fmt: skip

NOOR = Person(
    "noor", "Noor Haddad", "noor@newmail.example", "iphone", "Australia/Sydney",
    answers={
        "walk": (
            says("Yes! 8 out of 10. The sun was out and I went round the pond twice.", 5),
            says("Partly - it rained, so I only walked to the shop. 5/10", 3),
            NO_REPLY,
            says("Yes, 7/10. Felt good to get away from the screen."),
        ),
    },
)  # fmt: skip

MATEO = Person(
    "mateo", "Mateo Ruiz", "mateo@mail.example", "plain", "America/Los_Angeles",
    answers={
        "calm": (
            says("I tried it on the bus home. I noticed my jaw unclench when I looked out at "
                 "the water. I'd give it a 6."),
            NO_REPLY,
            says("Yes, twice. 7 out of 10, the second time was easier. Next time I want to try "
                 "it at work too.", 1),
        ),
        "decline": (
            says("Said no to an extra shift. Felt guilty for an hour, then relieved. 6 out of "
                 "10.", 5),
        ),
    },
)  # fmt: skip

PEOPLE = (INES, KOFI, LENA, NOOR, MATEO)

# An address whose mail server no longer knows it: whatever goes there comes back as a DSN.
DEAD_ADDRESSES = frozenset({"noor@oldmail.example"})


class World:
    """Receives what the practice sends to the outside world, and answers in time."""

    def __init__(self, people: tuple[Person, ...] = PEOPLE) -> None:
        self.people = {p.client_id: p for p in people}
        self._seen: dict[tuple[str, str], int] = {}

    def receive(
        self,
        msg: EmailMessage,
        recipient: str,
        kind: str,
        client_id: str | None,
        experiment_id: str | None,
        mail_from: str,
        now: datetime,
    ) -> list[Outgoing]:
        """What comes back for one delivered message: a bounce, an answer, or nothing."""
        if recipient.lower() in DEAD_ADDRESSES:
            at = now + timedelta(minutes=1)
            raw = bounce(msg, recipient, mail_from, at)
            return [Outgoing(at, "", mail_from, raw, "bounce")]
        person = self.people.get(client_id or "")
        if person is None or kind not in ("checkin", "nudge"):
            return []  # confirmations, safety messages, alerts and digests are only read
        answer = self._next_answer(person, kind, experiment_id or "")
        if answer is None:
            return []
        at = now + answer.after
        if answer.style == "out-of-office":
            raw = out_of_office(person, msg, answer, at)
            return [Outgoing(at, person.address, mail_from, raw, "out-of-office")]
        style = answer.style or person.program
        to = parseaddr(msg["Reply-To"] or msg["From"])[1]
        raw = reply(person, msg, answer, style, at)
        return [Outgoing(at, person.address, to, raw, f"reply-{style}")]

    def _next_answer(self, person: Person, kind: str, experiment_id: str) -> Answer | None:
        key = (person.client_id, experiment_id if kind == "checkin" else "reminders")
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        script = person.answers.get(experiment_id, ()) if kind == "checkin" else person.to_reminders
        return script[n] if n < len(script) else None


# -- what mail programs write ------------------------------------------------------------------


def reply(person: Person, ours: EmailMessage, answer: Answer, style: str, at: datetime) -> bytes:
    msg = _envelope(person, ours, at, prefix="RE: " if style == "outlook" else "Re: ")
    msg["To"] = ours["Reply-To"] or ours["From"]
    below = _below_the_answer(style, ours, person, answer)
    msg.set_content(f"{answer.words}\n\n{below}" if below else f"{answer.words}\n")
    if style == "iphone":
        msg["X-Mailer"] = "iPhone Mail (22B91)"
    elif style == "outlook":
        msg["X-Mailer"] = "Microsoft Outlook 16.0"
    return msg.as_bytes(policy=SMTP)


def _below_the_answer(style: str, ours: EmailMessage, person: Person, answer: Answer) -> str:
    """What the client's mail program puts under their words: our check-in, its way."""
    text, sent = _plain(ours), _local(ours, person.zone)
    if style == "gmail":
        return f"{_gmail_header(ours, sent)}\n\n{_quoted(text)}\n"
    if style == "inline":
        return f"{_gmail_header(ours, sent)}\n\n{_inline(text, answer.inline)}"
    if style == "outlook":
        return _outlook_block(ours, person, sent) + text + "\n"
    if style == "iphone":
        attribution = f"On {sent:%d %b %Y}, at {sent:%H:%M}, {ours['From']} wrote:"
        return "Sent from my iPhone\n\n" + _quoted(f"{attribution}\n\n{text}") + "\n"
    if style == "thunderbird":
        who = ours["From"].addresses[0].display_name
        return f"On {sent:%d/%m/%Y %H:%M}, {who} wrote:\n{_quoted(text)}\n"
    return ""  # "plain": the quote deleted, as some people do


def out_of_office(person: Person, ours: EmailMessage, answer: Answer, at: datetime) -> bytes:
    """What an Exchange mailbox sends back while its owner is away (RFC 3834 headers)."""
    msg = _envelope(person, ours, at, prefix="Automatic reply: ")
    msg["To"] = ours["From"]
    msg["Auto-Submitted"] = "auto-replied"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(f"{answer.words}\n\n{person.name}\n")
    return msg.as_bytes(policy=SMTP)


def bounce(ours: EmailMessage, recipient: str, mail_from: str, at: datetime) -> bytes:
    """A delivery status notification (RFC 3464) from the recipient's mail server."""
    domain = recipient.rpartition("@")[2]
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@mx.{domain}>\r\n"
        f"To: {mail_from}\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Date: {format_datetime(at)}\r\n"
        f"Message-ID: {make_msgid(domain=f'mx.{domain}')}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="dsn"\r\n\r\n'
        "--dsn\r\nContent-Type: text/plain\r\n\r\n"
        f"This is the mail system at host mx.{domain}.\r\n\r\n"
        "I'm sorry to have to inform you that your message could not be delivered to one or "
        "more recipients.\r\n\r\n"
        f"<{recipient}>: host mx.{domain} said: 550 5.1.1 <{recipient}>: Recipient address "
        "rejected: User unknown in virtual mailbox table\r\n"
        "--dsn\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.{domain}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\nOriginal-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: User unknown\r\n"
        "--dsn\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: {ours['From']}\r\nTo: {recipient}\r\nSubject: {ours['Subject']}\r\n"
        f"Message-ID: {ours['Message-ID']}\r\n"
        "--dsn--\r\n"
    ).encode()


def _envelope(person: Person, ours: EmailMessage, at: datetime, prefix: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"{person.name} <{person.address}>"
    msg["Subject"] = prefix + str(ours["Subject"])
    msg["Date"] = format_datetime(at.astimezone(ZoneInfo(person.zone)))
    msg["Message-ID"] = make_msgid(domain=person.address.rpartition("@")[2])
    msg["In-Reply-To"] = ours["Message-ID"]
    msg["References"] = ours["Message-ID"]
    return msg


def _plain(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    return body.get_content().replace("\r\n", "\n").strip("\n") if body else ""


def _local(msg: EmailMessage, zone: str) -> datetime:
    return msg["Date"].datetime.astimezone(ZoneInfo(zone))


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.split("\n"))


def _gmail_header(ours: EmailMessage, sent: datetime) -> str:
    return f"On {sent:%a}, {sent.day} {sent:%b %Y} at {sent:%H:%M}, {ours['From']} wrote:"


def _outlook_block(ours: EmailMessage, person: Person, sent: datetime) -> str:
    hour = sent.hour % 12 or 12
    return (
        "________________________________\n"
        f"From: {ours['From']}\n"
        f"Sent: {sent:%A, %B} {sent.day}, {sent.year} {hour}:{sent:%M %p}\n"
        f"To: {person.name} <{person.address}>\n"
        f"Subject: {ours['Subject']}\n\n"
    )


def _inline(text: str, answers: tuple[str, ...]) -> str:
    """Our text quoted, with the client's answer typed under each numbered question."""
    starts = {f"{number}) {question}": i for i, (number, question) in enumerate(QUESTIONS)}
    return "\n".join(_inline_lines(text, answers, starts)) + "\n"


def _inline_lines(text: str, answers: tuple[str, ...], starts: dict[str, int]) -> Iterator[str]:
    for line in text.split("\n"):
        yield f"> {line}".rstrip()
        index = next((i for s, i in starts.items() if line.startswith(s)), None)
        if index is not None and index < len(answers):
            yield ""
            yield answers[index]
            yield ""
