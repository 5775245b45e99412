"""The therapist's weekly digest: the week's rows in, a `Digest` (plain data, not HTML) out.

Pure: no I/O, no database, no clock. `checkin.store.week` reads the rows; the `digest`
templates turn `digest_context(d)` into the email; `digest_json(d)` gives the same facts as
JSON. The rules below are deliberate; tests pin each one.

* **Whose.** Only clients whose therapist is `therapist_id`; rows about anyone else are
  ignored even if passed in. An unattributed message is shown when our token or thread
  pointed at one of this therapist's clients (`suspected_client_id`), or when it points at
  nobody at all; then only its sender, time and reason are shown, never its words or risk
  sentences, which may be anyone's.
* **Counts.** "Sent" is check-ins (kind `checkin`, status `sent`) sent within the period;
  "answered" is those of them answered (`answered_at` set, or an answer in the rows points at
  it). Tried counts, ratings and words come from every answer received in the period, so an
  answer to last Sunday's check-in counts in this week's ratings. Automatic replies (out of
  office) are never answers.
* **Own words.** Per answer, what the client noticed when the reply was understood into our
  four questions, otherwise the reply's own text. Whitespace is collapsed, control characters
  dropped, and each quote cut at `QUOTE_CHARS` with an ellipsis; the first
  `QUOTES_PER_EXPERIMENT` answers are quoted and the rest counted. Plans ("next time") keep
  the newest `PLANS_PER_EXPERIMENT`: the latest plan is the one that matters. A busy week
  (more experiments with answers than `QUOTE_BUDGET` / 3) quotes fewer per experiment, down
  to one quote and one plan: the digest is a two-minute read, and mail apps clip long mail.
* **Victories and defeats.** A victory is an answer that tried it ("yes"), or tried it partly
  and rated it 7 or more. A defeat is an answer that did not try it, or rated it 3 or less.
  One answer can be both ("I did it, and it was awful"): both are worth knowing.
* **Trend.** The mean of this week's ratings against the mean of earlier weeks' (`history`):
  a difference of one point or more is "up" or "down", less is "steady"; None when either
  side has no ratings.
* **Gone quiet.** The client's sent check-ins, newest first, counted while unanswered and sent
  after the client last wrote anything at all (answer, note or command): someone who writes
  but skips the questions has not gone quiet. Two or more needs attention, unless the client
  has stopped check-ins (they told us).
* **Quiet week.** Nothing at all arrived in the period from anyone shown in this digest.
* **Names.** `client.name`, unless the therapist's digest says `names: ids` or the client has
  no name: then the id. Dates are shown in the therapist's time zone, a pause's end date in
  the client's (it is the date they asked for).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, date, datetime, timedelta
from statistics import fmean
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from checkin.practice import Client, Practice, Therapist

QUOTE_CHARS = 280  # per quote: enough for a thought, short enough to read twenty of
QUOTES_PER_EXPERIMENT = 3
PLANS_PER_EXPERIMENT = 2  # the newest: the latest plan is the one that matters
QUOTE_BUDGET = 36  # quotes in a whole digest, roughly; busy weeks quote less per experiment
NOTES_PER_CLIENT = 5
RISK_SENTENCES = 3
QUIET_AFTER = 2  # unanswered check-ins in a row
TREND_STEP = 1.0  # points of mean rating that count as a change
VICTORY_RATING = 7
DEFEAT_RATING = 3
BLOCKS = "▁▂▃▄▅▆▇█"
BAR_MAX_PX = 40  # the HTML bar for a 10
BARS_SHOWN = 14  # more would not fit a phone; the newest are kept

HUMAN_KINDS = ("answer", "command")
ALERTED = "you were alerted when it arrived"
NOT_UNDERSTOOD = ("unreadable", "too_large")

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Terminal escapes, and the bidi controls that can make a quote read backwards.
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


# --- rows in ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SentItem:
    """A message we sent to a client in the period."""

    outbox_id: int
    client_id: str
    experiment_id: str | None
    kind: str  # "checkin" | "nudge" | "confirm" | "safety" ...
    slot: str | None
    status: str  # "sent" | "failed" | "pending" | "cancelled" ...
    sent_at: datetime | None
    answered_at: datetime | None
    last_error: str | None


@dataclass(frozen=True)
class ReplyItem:
    """A stored reply received in the period."""

    reply_id: int
    client_id: str | None
    suspected_client_id: str | None  # unattributed: who the token/thread pointed at, if anyone
    experiment_id: str | None
    outbox_id: int | None
    received_at: datetime
    kind: str  # "answer" | "command" | "auto_reply" | "bounce" | "unreadable" | "too_large"
    attribution: str  # "token" | "thread" | "sender" | "note" | "unattributed"
    reason: str | None
    needs_review: bool
    command: str | None
    pause_until: date | None
    text: str | None
    tried: str | None
    rating: int | None
    noticed: str | None
    next_time: str | None
    risk: bool
    risk_reasons: tuple[str, ...]
    bounced_address: str | None
    sender: str | None


@dataclass(frozen=True)
class StatusItem:
    """The client's current standing."""

    client_id: str
    status: str  # "active" | "paused" | "stopped"
    paused_until: datetime | None
    bouncing: tuple[str, ...]  # the client's addresses that bounce


# --- the digest out ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Quote:
    at: datetime
    text: str  # cleaned and capped
    source: str  # "noticed" | "reply" | "next_time" | "note"
    risk: bool = False  # the message was flagged (and alerted at once)


@dataclass(frozen=True)
class Moment:
    """One answer, as a victory or a defeat."""

    at: datetime
    tried: str | None
    rating: int | None


@dataclass(frozen=True)
class Tried:
    yes: int = 0
    partly: int = 0
    no: int = 0


@dataclass(frozen=True)
class ExperimentWeek:
    experiment_id: str
    title: str
    sent: int
    answered: int
    answers: int  # answers received (they may answer earlier check-ins)
    tried: Tried
    ratings: tuple[int, ...]  # in time order
    previous_mean: float | None  # earlier weeks', from history
    trend: str | None  # "up" | "down" | "steady" | None
    quotes: tuple[Quote, ...]
    more_quotes: int
    plans: tuple[Quote, ...]
    victories: tuple[Moment, ...]
    defeats: tuple[Moment, ...]


@dataclass(frozen=True)
class Command:
    at: datetime
    command: str  # "pause" | "stop" | "resume"
    until: date | None  # a dated pause


@dataclass(frozen=True)
class Bounce:
    address: str
    at: datetime | None  # when a bounce came in this week; None: known from before


@dataclass(frozen=True)
class ClientWeek:
    client_id: str
    name: str
    status: str  # "active" | "paused" | "stopped"
    paused_until: date | None  # in the client's zone: the date they asked for
    experiments: tuple[ExperimentWeek, ...]
    notes: tuple[Quote, ...]  # out of session: not an answer to a check-in
    more_notes: int
    commands: tuple[Command, ...]
    bounces: tuple[Bounce, ...]
    auto_replies: tuple[datetime, ...]
    not_understood: tuple[datetime, ...]
    failed: int  # messages to them that could not be sent
    sent: int
    answered: int
    tried: Tried
    unanswered: int  # check-ins unanswered in a row, newest first
    quiet: bool
    risk: bool
    needs_attention: bool
    heard_from: bool  # anything at all arrived from or about them this week


@dataclass(frozen=True)
class Attention:
    kind: str  # "risk" | "quiet" | "bounce" | "failed" | "unattributed" | "not_understood"
    client_id: str | None
    name: str | None
    at: datetime | None
    detail: str
    quotes: tuple[str, ...] = ()  # risk sentences, or a suspected client's words
    sender: str | None = None


@dataclass(frozen=True)
class Digest:
    practice_name: str
    therapist_id: str
    therapist_name: str
    zone: ZoneInfo
    start: datetime
    end: datetime
    week: str  # "16-22 Nov"
    attention: tuple[Attention, ...]
    clients: tuple[ClientWeek, ...]
    quiet_week: bool
    sent: int


Row = TypeVar("Row", SentItem, ReplyItem)


# --- building ---------------------------------------------------------------------------------


def build_digest(
    practice: Practice,
    therapist_id: str,
    start: datetime,
    end: datetime,
    sent: Iterable[SentItem],
    replies: Iterable[ReplyItem],
    statuses: Mapping[str, StatusItem],
    history: Mapping[tuple[str, str], Sequence[int]] | None = None,
) -> Digest:
    therapist = practice.therapist(therapist_id)
    zone = therapist.timezone if therapist else practice.timezone
    mine = {c.id: c for c in practice.clients if c.therapist == therapist_id}
    replies = list(replies)  # read twice: placed and unplaced
    sent_by = _by_client(sent, mine)
    replies_by = _by_client(replies, mine)
    in_period = [r for rs in replies_by.values() for r in rs if _within(r.received_at, start, end)]
    frame = _frame(start, end, history or {}, in_period)
    strays = [r for r in replies if _shown_stray(r, mine) and _within(r.received_at, start, end)]
    weeks = [
        _client_week(
            client,
            _display_name(client, therapist),
            sent_by[client.id],
            replies_by[client.id],
            statuses.get(client.id),
            frame,
        )
        for client in mine.values()
    ]
    weeks.sort(key=lambda w: (w.name.casefold(), w.client_id))
    names = {w.client_id: w.name for w in weeks}
    attention = _attention(weeks, in_period, strays, names)
    return Digest(
        practice_name=practice.name,
        therapist_id=therapist_id,
        therapist_name=therapist.name if therapist else therapist_id,
        zone=zone,
        start=start,
        end=end,
        week=week_label(start, end, zone),
        attention=tuple(attention),
        clients=tuple(weeks),
        quiet_week=not in_period and not strays,
        sent=sum(w.sent for w in weeks),
    )


@dataclass(frozen=True)
class _Frame:
    """What every client's part of the digest is built against."""

    start: datetime
    end: datetime
    history: Mapping[tuple[str, str], Sequence[int]]
    quotes: int  # per experiment
    plans: int


def _frame(
    start: datetime,
    end: datetime,
    history: Mapping[tuple[str, str], Sequence[int]],
    week: list[ReplyItem],
) -> _Frame:
    busy = len(
        {(r.client_id, r.experiment_id) for r in week if r.kind == "answer" and r.experiment_id}
    )
    quotes = max(1, min(QUOTES_PER_EXPERIMENT, QUOTE_BUDGET // max(busy, 1)))
    return _Frame(start, end, history, quotes, min(PLANS_PER_EXPERIMENT, quotes))


def _by_client(rows: Iterable[Row], mine: Mapping[str, Client]) -> dict[str, list[Row]]:
    """Rows of this therapist's clients by client; anyone else's are dropped here."""
    grouped: dict[str, list[Row]] = {cid: [] for cid in mine}
    for row in rows:
        if row.client_id in grouped:
            grouped[row.client_id].append(row)
    return grouped


def _display_name(client: Client, therapist: Therapist | None) -> str:
    by_id = (
        therapist is not None and therapist.digest is not None and therapist.digest.names == "ids"
    )
    return client.id if by_id or not client.name else client.name


def _within(at: datetime | None, start: datetime, end: datetime) -> bool:
    return at is not None and start <= at < end


def _shown_stray(r: ReplyItem, mine: Mapping[str, Client]) -> bool:
    """Unattributed: shown if it points at one of ours, or at nobody (never at someone else's)."""
    if r.client_id is not None:
        return False
    return r.suspected_client_id is None or r.suspected_client_id in mine


def _client_week(
    client: Client,
    name: str,
    sent: list[SentItem],
    replies: list[ReplyItem],
    status: StatusItem | None,
    frame: _Frame,
) -> ClientWeek:
    replies = sorted(replies, key=lambda r: (r.received_at, r.reply_id))
    week = [r for r in replies if _within(r.received_at, frame.start, frame.end)]
    answered_ids = {r.outbox_id for r in replies if r.kind == "answer" and r.outbox_id}
    checkins = [s for s in sent if s.kind == "checkin" and s.status == "sent"]
    this_week = [s for s in checkins if _within(s.sent_at, frame.start, frame.end)]
    experiments = _experiments(client, this_week, week, answered_ids, frame)
    notes = [_note(r) for r in week if _is_note(r)]
    unanswered = _unanswered(checkins, replies, answered_ids)
    state = status.status if status else "active"
    quiet = unanswered >= QUIET_AFTER and state != "stopped"
    bounces = _bounces(week, status)
    failed = sum(1 for s in sent if s.status == "failed")
    risk = any(r.risk for r in week)
    not_understood = tuple(r.received_at for r in week if r.kind in NOT_UNDERSTOOD)
    return ClientWeek(
        client_id=client.id,
        name=name,
        status=state,
        paused_until=_pause_end(status, client) if state == "paused" else None,
        experiments=tuple(experiments),
        notes=tuple(notes[:NOTES_PER_CLIENT]),
        more_notes=max(0, len(notes) - NOTES_PER_CLIENT),
        commands=tuple(_command(r) for r in week if r.kind == "command" and r.command),
        bounces=bounces,
        auto_replies=tuple(r.received_at for r in week if r.kind == "auto_reply"),
        not_understood=not_understood,
        failed=failed,
        sent=sum(e.sent for e in experiments),
        answered=sum(e.answered for e in experiments),
        tried=_sum_tried(e.tried for e in experiments),
        unanswered=unanswered,
        quiet=quiet,
        risk=risk,
        needs_attention=quiet or risk or bool(bounces) or bool(failed) or bool(not_understood),
        heard_from=bool(week),
    )


def _experiments(
    client: Client,
    checkins: list[SentItem],
    replies: list[ReplyItem],
    answered_ids: set[int],
    frame: _Frame,
) -> list[ExperimentWeek]:
    answers = [r for r in replies if r.kind == "answer" and r.experiment_id]
    titles = {e.id: e.title for e in client.experiments}
    # Configured order first, then any that are no longer in the practice file.
    seen = [s.experiment_id for s in checkins] + [r.experiment_id for r in answers]
    ids = [e for e in titles if e in seen] + sorted({e for e in seen if e and e not in titles})
    return [
        _experiment_week(
            eid,
            titles.get(eid, eid),
            [s for s in checkins if s.experiment_id == eid],
            [r for r in answers if r.experiment_id == eid],
            answered_ids,
            frame.history.get((client.id, eid), ()),
            frame,
        )
        for eid in ids
    ]


def _experiment_week(
    experiment_id: str,
    title: str,
    checkins: list[SentItem],
    answers: list[ReplyItem],
    answered_ids: set[int],
    previous: Sequence[int],
    frame: _Frame,
) -> ExperimentWeek:
    ratings = tuple(r.rating for r in answers if r.rating is not None)
    quotes = [q for q in (_words(r) for r in answers) if q is not None]
    plans = [_quote(r, r.next_time, "next_time") for r in answers if _clean(r.next_time)]
    previous_mean = fmean(previous) if previous else None
    return ExperimentWeek(
        experiment_id=experiment_id,
        title=title,
        sent=len(checkins),
        answered=sum(1 for s in checkins if _answered(s, answered_ids)),
        answers=len(answers),
        tried=_tried(answers),
        ratings=ratings,
        previous_mean=previous_mean,
        trend=trend(ratings, previous),
        quotes=tuple(quotes[: frame.quotes]),
        more_quotes=max(0, len(quotes) - frame.quotes),
        plans=tuple(plans[-frame.plans :]),
        victories=tuple(_moment(r) for r in answers if is_victory(r.tried, r.rating)),
        defeats=tuple(_moment(r) for r in answers if is_defeat(r.tried, r.rating)),
    )


def is_victory(tried: str | None, rating: int | None) -> bool:
    good = rating is not None and rating >= VICTORY_RATING
    return tried == "yes" or (tried == "partly" and good)


def is_defeat(tried: str | None, rating: int | None) -> bool:
    return tried == "no" or (rating is not None and rating <= DEFEAT_RATING)


def trend(ratings: Sequence[int], previous: Sequence[int]) -> str | None:
    if not ratings or not previous:
        return None
    change = fmean(ratings) - fmean(previous)
    if change >= TREND_STEP:
        return "up"
    if change <= -TREND_STEP:
        return "down"
    return "steady"


def _answered(s: SentItem, answered_ids: set[int]) -> bool:
    return s.answered_at is not None or s.outbox_id in answered_ids


def _tried(answers: list[ReplyItem]) -> Tried:
    said = [r.tried for r in answers]
    return Tried(yes=said.count("yes"), partly=said.count("partly"), no=said.count("no"))


def _sum_tried(all_tried: Iterable[Tried]) -> Tried:
    items = list(all_tried)
    return Tried(
        yes=sum(t.yes for t in items),
        partly=sum(t.partly for t in items),
        no=sum(t.no for t in items),
    )


def _moment(r: ReplyItem) -> Moment:
    return Moment(r.received_at, r.tried, r.rating)


def _words(r: ReplyItem) -> Quote | None:
    if _clean(r.noticed):
        return _quote(r, r.noticed, "noticed")
    text = _clean(r.text)
    if not text or text == _clean(r.next_time):
        return None  # nothing, or only the plan (quoted as a plan)
    return _quote(r, text, "reply")


def _is_note(r: ReplyItem) -> bool:
    """A person's words that answer no check-in: a note, or a reply to a confirmation."""
    return r.kind == "answer" and not r.experiment_id and bool(_clean(r.text))


def _note(r: ReplyItem) -> Quote:
    return _quote(r, r.text, "note")


def _quote(r: ReplyItem, text: str | None, source: str) -> Quote:
    return Quote(at=r.received_at, text=short(text or ""), source=source, risk=r.risk)


def _command(r: ReplyItem) -> Command:
    until = r.pause_until if r.command == "pause" else None
    return Command(at=r.received_at, command=r.command or "", until=until)


def _pause_end(status: StatusItem | None, client: Client) -> date | None:
    if status is None or status.paused_until is None:
        return None
    return status.paused_until.astimezone(client.timezone).date()


def _bounces(week: list[ReplyItem], status: StatusItem | None) -> tuple[Bounce, ...]:
    found: dict[str, Bounce] = {}
    for r in week:
        if r.kind != "bounce":
            continue
        for address in (r.bounced_address or "").split(","):
            if address.strip():
                found.setdefault(address.strip().lower(), Bounce(address.strip(), r.received_at))
    for address in status.bouncing if status else ():
        found.setdefault(address.lower(), Bounce(address, None))
    return tuple(found.values())


def _unanswered(checkins: list[SentItem], replies: list[ReplyItem], answered_ids: set[int]) -> int:
    wrote = [r.received_at for r in replies if r.kind in HUMAN_KINDS]
    last_wrote = max(wrote) if wrote else None
    count = 0
    for s in sorted(checkins, key=lambda s: s.sent_at or datetime.min.replace(tzinfo=UTC))[::-1]:
        if _answered(s, answered_ids) or (last_wrote and s.sent_at and s.sent_at <= last_wrote):
            break
        count += 1
    return count


# --- attention --------------------------------------------------------------------------------


def _attention(
    weeks: list[ClientWeek],
    replies: list[ReplyItem],
    strays: list[ReplyItem],
    names: Mapping[str, str],
) -> list[Attention]:
    """Risk first, then silence and delivery, then messages nobody could place or read."""
    items = [_risk(r, names) for r in replies if r.risk]
    items += [_stray_risk(r, names) for r in strays if r.risk]
    items += [_quiet(w) for w in weeks if w.quiet]
    items += [_bounce(w) for w in weeks if w.bounces]
    items += [_failed(w) for w in weeks if w.failed]
    items += [_stray(r, names) for r in strays if not r.risk]
    # Only placed messages here: one nobody could place is listed once, above, with its reason.
    items += [_unread(r, names) for r in replies if r.kind in NOT_UNDERSTOOD]
    # Time order within a kind; undated items (quiet, bounce) keep the clients' order.
    return sorted(items, key=lambda a: (_ORDER.index(a.kind), a.at or _EPOCH))


_ORDER = ("risk", "quiet", "bounce", "failed", "unattributed", "not_understood")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _risk(r: ReplyItem, names: Mapping[str, str]) -> Attention:
    cid = r.client_id or r.suspected_client_id
    sentences = tuple(short(s) for s in r.risk_reasons[:RISK_SENTENCES] if _clean(s))
    return Attention("risk", cid, names.get(cid or ""), r.received_at, ALERTED, sentences)


def _quiet(w: ClientWeek) -> Attention:
    detail = f"no answer to the last {w.unanswered} check-ins"
    return Attention("quiet", w.client_id, w.name, None, detail)


def _bounce(w: ClientWeek) -> Attention:
    addresses = ", ".join(b.address for b in w.bounces)
    return Attention("bounce", w.client_id, w.name, None, f"mail to {addresses} bounces")


def _failed(w: ClientWeek) -> Attention:
    plural = "message" if w.failed == 1 else "messages"
    return Attention("failed", w.client_id, w.name, None, f"{w.failed} {plural} could not be sent")


def _stray_risk(r: ReplyItem, names: Mapping[str, str]) -> Attention:
    """A flagged message nobody could place: alerted already; its sentences only if ours."""
    cid = r.suspected_client_id
    sentences = tuple(short(s) for s in r.risk_reasons[:RISK_SENTENCES] if _clean(s))
    detail = f"{ALERTED}; it could not be placed: {_reason(r)}"
    return Attention(
        "risk", cid, names.get(cid or ""), r.received_at, detail,
        sentences if cid else (), r.sender,
    )  # fmt: skip


def _stray(r: ReplyItem, names: Mapping[str, str]) -> Attention:
    """Words are shown only when the message pointed at one of this therapist's clients."""
    cid = r.suspected_client_id
    detail = (
        _reason(r)
        if r.kind == "answer"
        else f"{_KIND_WORDS.get(r.kind, 'a message')}: {_reason(r)}"
    )
    words: tuple[str, ...] = ()
    if cid is not None and r.kind in HUMAN_KINDS and _clean(r.text):
        words = (short(r.text or ""),)
    return Attention(
        "unattributed", cid, names.get(cid or ""), r.received_at, detail, words, r.sender
    )


def _reason(r: ReplyItem) -> str:
    return short(r.reason or "no reason recorded", 200)


def _unread(r: ReplyItem, names: Mapping[str, str]) -> Attention:
    cid = r.client_id
    return Attention("not_understood", cid, names.get(cid or ""), r.received_at, _reason(r))


_KIND_WORDS = {
    "answer": "a message",
    "command": "a command",
    "auto_reply": "an automatic reply",
    "bounce": "a bounce",
    "unreadable": "an unreadable message",
    "too_large": "a message too large to read",
}


# --- text helpers -----------------------------------------------------------------------------


def _clean(text: str | None) -> str:
    """One line of printable text: no terminal escapes, no bidi tricks, single spaces."""
    if not text:
        return ""
    kept = "".join(" " if unicodedata.category(c) == "Cc" else c for c in text)
    return " ".join(_BIDI.sub("", kept).split())


def short(text: str, limit: int = QUOTE_CHARS) -> str:
    """Cleaned, and cut at a word near `limit` characters with an ellipsis."""
    text = _clean(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit * 0.6:  # a long word or URL is cut where it is, not a line early
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"


def sparkline(ratings: Sequence[int]) -> str:
    """One block per rating on a fixed 0-10 scale, so weeks compare at a glance."""
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[-(-top * _clamp(r) // 10)] for r in ratings)


def _clamp(rating: int) -> int:
    return max(0, min(10, rating))


def week_label(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """A label like "16-22 Nov" or "30 Nov - 6 Dec": the local dates at least half inside the
    window [start, end).

    A Sunday-18:00-to-Sunday-18:00 window is the week of Monday to Sunday, not eight days.
    """
    first, last = _days(start, end, zone)
    if first == last:
        return _day_month(first)
    if (first.year, first.month) == (last.year, last.month):
        return f"{first.day}-{last.day} {_MONTHS[last.month - 1]}"
    return f"{_day_month(first)} - {_day_month(last)}"


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> tuple[date, date]:
    half = timedelta(hours=12)
    first = (start + half).astimezone(zone).date()
    last = (end - half).astimezone(zone).date()
    if last < first:
        return start.astimezone(zone).date(), start.astimezone(zone).date()
    return first, last


def _day_month(d: date) -> str:
    return f"{d.day} {_MONTHS[d.month - 1]}"


def day(at: date | datetime, zone: ZoneInfo | None = None, *, month: bool = True) -> str:
    """A day as "Tue 17 Nov" ("Tue 17" inside the week), in English whatever the locale."""
    if isinstance(at, datetime) and zone is not None:
        at = at.astimezone(zone)
    short_day = f"{_WEEKDAYS[at.weekday()]} {at.day}"
    return f"{short_day} {_MONTHS[at.month - 1]}" if month else short_day


def moment(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{day(local)} {local:%H:%M}"


# --- template context -------------------------------------------------------------------------


def digest_context(d: Digest) -> dict[str, Any]:
    """Template variables: ready-made strings and small lists, so templates stay simple."""
    first, last = _days(d.start, d.end, d.zone)
    return {
        "digest": d,
        "practice_name": d.practice_name,
        "therapist_name": d.therapist_name,
        "week": d.week,
        "period": f"{day(first)} to {day(last)}",
        "window": f"{moment(d.start, d.zone)} to {moment(d.end, d.zone)} ({d.zone.key})",
        "zone": d.zone.key,
        "quiet_week": d.quiet_week,
        "sent_total": d.sent,
        "attention": [_attention_context(a, d.zone) for a in d.attention],
        "clients": [_client_context(c, d.zone) for c in d.clients],
    }


_ATTENTION_LABELS = {
    "risk": "Risk language",
    "quiet": "Gone quiet",
    "bounce": "Bouncing",
    "failed": "Not sent",
    "unattributed": "Unmatched message",
    "not_understood": "Unreadable message",
}


def _attention_context(a: Attention, zone: ZoneInfo) -> dict[str, Any]:
    who = a.name or ""
    if a.kind == "unattributed" or a.sender:  # only messages nobody could place carry a sender
        sender = f"from {a.sender}" if a.sender else "from an unknown sender"
        who = f"{sender}, may be {a.name}" if a.name else sender
    when = moment(a.at, zone) if a.at else ""
    line = ", ".join(p for p in (who, when) if p)
    label = _ATTENTION_LABELS[a.kind]
    return {
        "kind": a.kind,
        "label": label,
        "who": who,
        "when": when,
        "detail": a.detail,
        "line": f"{label}: {line} — {a.detail}" if line else f"{label}: {a.detail}",
        "quotes": list(a.quotes),
    }


def _client_context(c: ClientWeek, zone: ZoneInfo) -> dict[str, Any]:
    return {
        "id": c.client_id,
        "name": c.name,
        "status": _status_text(c),
        "status_kind": c.status,
        "needs_attention": c.needs_attention,
        "flags": _flags(c),
        "idle": not c.experiments and not c.heard_from,
        "experiments": [_experiment_context(e, zone) for e in c.experiments],
        "notes": [_quote_context(q, zone) for q in c.notes],
        "more_notes": c.more_notes,
        "events": _events(c, zone),
    }


def _status_text(c: ClientWeek) -> str:
    if c.status == "paused":
        return f"paused until {day(c.paused_until)}" if c.paused_until else "paused until resumed"
    if c.status == "stopped":
        return "stopped check-ins"
    return "active"


def _flags(c: ClientWeek) -> list[str]:
    flags = []
    if c.risk:
        flags.append("risk language (you were alerted)")
    if c.quiet:
        flags.append(f"gone quiet: {c.unanswered} check-ins unanswered")
    if c.bounces:
        flags.append("mail bounces")
    if c.failed:
        flags.append("mail not sent")
    if c.not_understood:
        flags.append("a message could not be read")
    return flags


def _events(c: ClientWeek, zone: ZoneInfo) -> list[str]:
    events = [_command_text(m, zone) for m in c.commands]
    events += [f"Automatic reply (out of office?), {moment(at, zone)}" for at in c.auto_replies]
    events += [
        f"Bounce from {b.address}, {moment(b.at, zone)}" if b.at else f"{b.address} bounces"
        for b in c.bounces
    ]
    events += [f"A message that could not be read, {moment(at, zone)}" for at in c.not_understood]
    return events


def _command_text(m: Command, zone: ZoneInfo) -> str:
    what = {"pause": "Asked to pause", "stop": "Asked to stop", "resume": "Asked to resume"}
    text = what.get(m.command, f"Asked to {m.command}")
    if m.until:
        text += f" until {day(m.until)}"
    return f"{text}, {moment(m.at, zone)}"


def _experiment_context(e: ExperimentWeek, zone: ZoneInfo) -> dict[str, Any]:
    shown = e.ratings[-BARS_SHOWN:]
    return {
        "id": e.experiment_id,
        "title": e.title,
        "summary": _summary(e),
        "counts": f"{e.sent} sent, {e.answered} answered",
        "tried": _tried_text(e.tried),
        "ratings": list(e.ratings),
        "ratings_text": " ".join(str(r) for r in e.ratings),
        "spark": sparkline(e.ratings),
        "trend": e.trend,
        "trend_text": _trend_text(e),
        "bars": [
            {"rating": r, "height": _bar_px(r), "gap": BAR_MAX_PX - _bar_px(r)} for r in shown
        ],
        "went_well": _moments_text(e.victories, zone, "yes"),
        "was_hard": _moments_text(e.defeats, zone, "no"),
        "quotes": [_quote_context(q, zone) for q in e.quotes],
        "more_quotes": e.more_quotes,
        "plans": [_quote_context(q, zone) for q in e.plans],
    }


def _summary(e: ExperimentWeek) -> str:
    """One line: "3 sent, 2 answered; tried: 1 yes, 1 partly; ratings 4 6 ▄▆ (up)"."""
    parts = [f"{e.sent} sent, {e.answered} answered"]
    if e.answers > e.answered:
        parts[0] += f" ({e.answers} answer{'s' if e.answers != 1 else ''} in all)"
    if _tried_text(e.tried):
        parts.append(_tried_text(e.tried))
    if e.ratings:
        trend_part = f" ({e.trend})" if e.trend else ""
        ratings = " ".join(str(r) for r in e.ratings)
        parts.append(f"ratings {ratings} {sparkline(e.ratings)}{trend_part}")
    else:
        parts.append("no ratings")
    return "; ".join(parts)


def _tried_text(t: Tried) -> str:
    said = [f"{n} {word}" for n, word in ((t.yes, "yes"), (t.partly, "partly"), (t.no, "no")) if n]
    return f"tried: {', '.join(said)}" if said else ""


def _trend_text(e: ExperimentWeek) -> str:
    if e.trend is None or e.previous_mean is None:
        return ""
    before = f"{e.previous_mean:.1f}".removesuffix(".0")
    if e.trend == "steady":
        return f"steady (about {before} before)"
    return f"{e.trend} from {before} on average before"


def _bar_px(rating: int) -> int:
    return max(2, round(_clamp(rating) * BAR_MAX_PX / 10))  # a 0 still shows as a line


def _moments_text(moments: Sequence[Moment], zone: ZoneInfo, usual: str) -> list[str]:
    """ "Mon 16 (8/10)": what tried was is said only where it is not the list's usual one."""
    return [f"{day(m.at, zone, month=False)}{_moment_words(m, usual)}" for m in moments]


def _moment_words(m: Moment, usual: str) -> str:
    words = {"yes": "did it", "partly": "partly", "no": "didn't try"}
    tried = words.get(m.tried or "") if m.tried != usual else None
    rating = f"{m.rating}/10" if m.rating is not None else None
    said = ", ".join(p for p in (tried, rating) if p)
    return f" ({said})" if said else ""


def _quote_context(q: Quote, zone: ZoneInfo) -> dict[str, Any]:
    when = day(q.at, zone, month=False)
    return {"when": when, "text": q.text, "source": q.source, "risk": q.risk}


# --- JSON -------------------------------------------------------------------------------------


def digest_json(d: Digest) -> dict[str, Any]:
    """The digest's facts as plain JSON-able data: ISO dates, lists, strings and numbers."""
    data = _plain(d)
    for client in data["clients"]:
        for experiment in client["experiments"]:
            experiment["sparkline"] = sparkline(experiment["ratings"])
    return data


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, ZoneInfo):
        return value.key
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    return value
