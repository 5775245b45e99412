"""Raw bytes of one incoming mail -> a `Reply`: what the client said, or which machine wrote.

Pure and total: no I/O, no clock (dates come from the mail's own Date header), no logging,
and `understand()` never raises. The steps, in order:

1. mime     parse the bytes; body text (plain, else HTML with quotes marked), attachments,
            headers; problems noted instead of raised
2. machine  auto-replies and bounces are machines: no answers, no risk, never replied to
3. trim     the client's new words: quoted history and signatures set aside
4. commands STOP / PAUSE [until ...] / RESUME, when that is the point of the message (hints:
            which way round the client writes "3/1", from their mail's language and zone)
5. answers  tried, rating, noticed, next time; what the body leaves open, from the subject
6. risk     risk language in the client's words, including signatures and footers, by the
            clinician-editable lexicon risk_lexicon.yaml

Helpers: htmltext (HTML to text, quotes marked), quotes / signature / template (what trim
recognises), dates (pause dates), numbers / rating (answers). A step that fails on a bug
costs only its own result, noted in `problems`; a failed risk check flags the mail.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TypeVar

from checkin.core.understand import answers, commands, hints, machine, mime, risk, template, trim

T = TypeVar("T")


@dataclass(frozen=True)
class Reply:
    kind: str  # "answer", "command", "auto_reply", "bounce", "unreadable"
    command: str | None = None  # "stop", "pause", "resume"
    pause_until: date | None = None
    text: str = ""  # the client's new words (trimmed)
    full_text: str = ""  # decoded text before trimming (for the therapist when trimming is unsure)
    tried: str | None = None  # "yes", "no", "partly"
    rating: int | None = None  # 0..10
    noticed: str | None = None
    next_time: str | None = None
    risk: bool = False
    risk_reasons: tuple[str, ...] = ()
    attachments: tuple[str, ...] = ()
    message_id: str | None = None  # with angle brackets, as stored for our own mail
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    sender: str | None = None  # lower-cased bare address of From
    recipients: tuple[str, ...] = ()  # To, Cc, Delivered-To, X-Original-To, X-Gm-Original-To
    subject: str | None = None
    date: datetime | None = None  # aware
    bounce_recipients: tuple[str, ...] = ()
    bounce_permanent: bool = False
    bounced_message_id: str | None = None
    problems: tuple[str, ...] = field(default=())


def understand(raw: bytes) -> Reply:
    try:
        return _understand(raw)
    except Exception as exc:  # the last line of defence: one bad mail must not stop the inbox
        return Reply(kind="unreadable", problems=(f"could not be read ({type(exc).__name__})",))


def _understand(raw: bytes) -> Reply:
    if not isinstance(raw, (bytes, bytearray)) or not raw.strip():
        return Reply(kind="unreadable", problems=("empty message",))
    parsed = mime.parse(bytes(raw))
    base = _envelope(parsed)
    if not parsed.is_mail:
        return replace(base, kind="unreadable", problems=(*parsed.problems, "no mail headers"))
    problems: list[str] = []
    verdict = _attempt(lambda: machine.classify(parsed), machine.PERSON, problems, "machine check")
    # Should trimming ever fail, the whole text is the client's: never lose their words.
    whole = trim.Trimmed(parsed.text, (trim.Segment(None, parsed.text),), parsed.text, "")
    trimmed = _attempt(lambda: trim.trim(parsed.text), whole, problems, "trimming")
    base = replace(base, text=trimmed.text, problems=base.problems + tuple(problems))
    if verdict.kind:
        return _from_machine(base, verdict)
    return _from_person(base, parsed, trimmed)


def _attempt(step: Callable[[], T], fallback: T, problems: list[str], name: str) -> T:
    """Run one step; if it fails (a bug, not the mail's fault), note it and go on."""
    try:
        return step()
    except Exception as exc:
        problems.append(f"{name} failed ({type(exc).__name__})")
        return fallback


def _envelope(parsed: mime.Parsed) -> Reply:
    h = parsed.headers
    when = mime.parse_date(h.get("date"))
    problems = list(parsed.problems)
    if h.get("date") and when is None:
        problems.append("date unreadable")
    sender = mime.addresses((h.get("from", ""),))
    return Reply(
        kind="answer",
        full_text=parsed.text,
        attachments=parsed.attachments,
        message_id=mime.first_message_id(h.get("message-id")),
        in_reply_to=mime.first_message_id(h.get("in-reply-to")),
        references=mime.message_ids(h.get("references")),
        sender=sender[0] if sender else None,
        recipients=mime.recipients(parsed.all_headers),
        subject=h.get("subject"),
        date=when,
        problems=tuple(problems),
    )


def _from_machine(base: Reply, verdict: machine.Verdict) -> Reply:
    return replace(
        base,
        kind=verdict.kind or "auto_reply",
        bounce_recipients=verdict.bounce_recipients,
        bounce_permanent=verdict.bounce_permanent,
        bounced_message_id=verdict.bounced_message_id,
    )


def _from_person(base: Reply, parsed: mime.Parsed, trimmed: trim.Trimmed) -> Reply:
    problems: list[str] = []
    reference = base.date.date() if base.date else None
    day_first = _attempt(lambda: hints.day_first(parsed, trimmed.plain), None, problems, "hints")
    command = _attempt(
        lambda: commands.detect(trimmed.segments, base.subject, reference, day_first),
        None,
        problems,
        "commands",
    )
    found = _attempt(
        lambda: _answers(trimmed, command, base.subject), answers.Answers(), problems, "answers"
    )
    subject = template.without_reply_prefix(base.subject or "")
    # A failed risk check flags: a therapist reads one mail too many, never one too few.
    failed = ("risk check failed: please read this message",)
    reasons = _attempt(
        lambda: risk.assess(trimmed.plain, trimmed.client_part, subject), failed, problems, "risk"
    )
    return replace(
        base,
        kind="command" if command else "answer",
        command=command.name if command else None,
        pause_until=command.until if command else None,
        tried=found.tried,
        rating=found.rating,
        noticed=found.noticed,
        next_time=found.next_time,
        risk=bool(reasons),
        risk_reasons=reasons,
        problems=base.problems + tuple(problems) + _reading_problems(parsed, trimmed, command),
    )


def _answers(
    trimmed: trim.Trimmed, command: commands.Command | None, subject: str | None
) -> answers.Answers:
    """Answers from everything but the command's own line ("no more emails" is not "no");
    what the body leaves open may be in the subject ("Re: Your check-in ... - yes, 7/10")."""
    said = command.line.strip() if command else ""
    text, segments = trimmed.plain, trimmed.segments
    if said:
        text = "\n".join(x for x in text.split("\n") if x.strip() != said)
        segments = tuple(
            trim.Segment(s.question, "\n".join(x for x in s.text.split("\n") if x.strip() != said))
            for s in segments
        )
    found = answers.extract(segments, text)
    typed = template.client_subject(subject)
    if typed and typed.strip() != said and (found.tried is None or found.rating is None):
        extra = answers.extract((), typed)
        found = replace(
            found,
            tried=found.tried or extra.tried,
            rating=found.rating if found.rating is not None else extra.rating,
        )
    return found


def _reading_problems(
    parsed: mime.Parsed, trimmed: trim.Trimmed, command: commands.Command | None
) -> tuple[str, ...]:
    """What the therapist should know about how sure this reading is."""
    problems = [command.problem] if command and command.problem else []
    if not trimmed.text and parsed.text.strip():
        problems.append("no new text found: everything read as quoted or signature")
    elif trimmed.unsure:
        problems.append("quoted history that is not our check-in was set aside: see full text")
    return tuple(problems)
