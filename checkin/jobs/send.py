"""claim -> compose -> SMTP -> mark, one row at a time over one connection."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from jinja2 import TemplateError
from sqlalchemy import Connection, Engine

from checkin.clock import Clock
from checkin.core import cadence
from checkin.errors import PermanentFailure, TemporaryFailure
from checkin.mail.compose import Outgoing, Templates, build_message, reply_address
from checkin.mail.smtp import SmtpSender
from checkin.practice import Practice
from checkin.store import clients, outbox, outcomes
from checkin.store.db import repeatable_writes
from checkin.store.models import Outbox

log = logging.getLogger("checkin.send")

# A check-in that could not go out within a day is stale: the client would get it out of step.
GIVE_UP_AFTER = timedelta(hours=24)
# Rows claimed per transaction: one commit for a hundred messages instead of a hundred.
BATCH = 100


@dataclass
class SendReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    cancelled: int = 0


def worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4 ... minutes, at most an hour apart."""
    return timedelta(seconds=min(60 * 2 ** max(attempts - 1, 0), 3600))


def send_pending(
    practice: Practice,
    engine: Engine,
    clock: Clock,
    templates: Templates,
    worker: str,
    should_stop: Callable[[], bool] = lambda: False,
) -> SendReport:
    """Send every row that is due now. Stops between messages when asked, never mid-row."""
    report = SendReport()
    with SmtpSender(practice.mail.smtp) as smtp, repeatable_writes(engine) as marks:
        sending = _Sending(practice, engine, clock, templates, smtp, worker, marks, report)
        while not should_stop():
            batch = outbox.claim_batch(engine, clock.now(), worker, BATCH)
            if not batch:
                break
            _send_batch(sending, batch, should_stop)
    return report


@dataclass
class _Sending:
    """Everything a send pass holds for its whole length."""

    practice: Practice
    engine: Engine
    clock: Clock
    templates: Templates
    smtp: SmtpSender
    worker: str
    marks: Connection  # the sent marks' own connection: see `repeatable_writes`
    report: SendReport


def _send_batch(sending: _Sending, batch: list[Outbox], should_stop: Callable[[], bool]) -> None:
    """Rows we hold; any we stop short of (asked to stop, lease half gone) are given back."""
    known = Known(sending.engine, batch)
    lease_ends = sending.clock.now() + outbox.LEASE / 2
    for i, row in enumerate(batch):
        if should_stop() or sending.clock.now() > lease_ends:
            rest = [r.id for r in batch[i:] if r.id is not None]
            outbox.release_many(sending.engine, rest, sending.worker)
            return
        _send_one(sending, known, row)


class Known:
    """What a batch needs from the store, read once for all its rows.

    Client states are read again when they are older than a second, so a STOP or a bounce
    stored by the watcher meanwhile still cancels the next message, as it did row by row.
    """

    FRESH = 1.0

    def __init__(self, engine: Engine, batch: list[Outbox]):
        self.engine = engine
        ids = [r.parent_id for r in batch if r.parent_id]
        self.parents = outbox.get_many(engine, ids)
        pairs = {(r.client_id, r.experiment_id) for r in batch if r.kind in ("checkin", "nudge")}
        self.plans = outcomes.last_plans(engine, [(c, e) for c, e in pairs if c and e])
        self._clients = sorted({r.client_id for r in batch if r.client_id})
        self._states: dict[str, cadence.ClientState] = {}
        self._read_at = -self.FRESH

    def state(self, client_id: str) -> cadence.ClientState:
        if time.monotonic() - self._read_at >= self.FRESH:
            self._states = clients.states(self.engine, self._clients)
            self._read_at = time.monotonic()
        return self._states.get(client_id) or clients.states(self.engine, [client_id])[client_id]

    def parent(self, row: Outbox) -> Outbox | None:
        return self.parents.get(row.parent_id) if row.parent_id else None


def _send_one(sending: _Sending, known: Known, row: Outbox) -> None:
    assert row.id is not None
    engine, worker, clock, report = sending.engine, sending.worker, sending.clock, sending.report
    reason = _why_not(sending.practice, known, row, clock.now())
    if reason:
        outbox.cancel(engine, row.id, worker, reason)
        report.cancelled += 1
        log.info("outbox %s %s cancelled: %s", row.id, row.kind, reason)
        return
    try:
        sending.smtp.send(compose(sending.practice, known, sending.templates, row, clock.now()))
    except PermanentFailure as exc:
        outbox.mark_failed(engine, row.id, worker, str(exc))
        report.failed += 1
        log.warning("outbox %s %s refused permanently: %s", row.id, row.kind, exc.code)
        return
    except (TemporaryFailure, TemplateError) as exc:
        _retry_or_give_up(engine, worker, row, clock.now(), f"{type(exc).__name__}: {exc}", report)
        return
    outbox.mark_sent_on(sending.marks, row.id, worker, clock.now())
    report.sent += 1
    log.info("outbox %s %s sent (attempt %s)", row.id, row.kind, row.attempts)


def _retry_or_give_up(
    engine: Engine, worker: str, row: Outbox, now: datetime, error: str, report: SendReport
) -> None:
    assert row.id is not None
    if now - row.due_at > GIVE_UP_AFTER:
        outbox.mark_failed(engine, row.id, worker, f"gave up after {row.attempts} tries: {error}")
        report.failed += 1
        log.warning("outbox %s %s given up after %s tries", row.id, row.kind, row.attempts)
        return
    at = now + retry_delay(row.attempts)
    outbox.mark_retry(engine, row.id, worker, at, error)
    report.retrying += 1
    log.info("outbox %s %s will retry at %s", row.id, row.kind, at.isoformat(timespec="seconds"))


def _why_not(practice: Practice, known: Known, row: Outbox, now: datetime) -> str | None:
    """Re-check at send time: a STOP or a bounce may have arrived since the row was planned."""
    if row.kind in ("confirm", "safety"):
        # A STOP is confirmed to a client who is, by then, stopped, and the safety message
        # goes whatever their status: only a bounce prevents either.
        bouncing = known.state(row.client_id or "").bouncing
        return "address bounced" if row.recipient.lower() in bouncing else None
    if row.kind == "digest":
        return (
            None
            if practice.therapist(row.therapist_id or "")
            else "therapist no longer in the practice file"
        )
    if row.kind not in ("checkin", "nudge"):
        return None
    client = practice.client(row.client_id or "")
    if client is None or not any(e.id == row.experiment_id for e in client.experiments):
        return "client or experiment no longer in the practice file"
    state = known.state(client.id)
    if not cadence.can_send(client, state, now):
        return "client stopped, paused, without consent or bouncing"
    if row.recipient.lower() in state.bouncing:
        return "address bounced"
    if row.kind == "nudge" and _answered_parent(known, row):
        return "answered before the reminder went out"
    return None


def _answered_parent(known: Known, row: Outbox) -> bool:
    # Read now, not from the batch: the answer may have arrived while the batch was sending.
    parent = outbox.get(known.engine, row.parent_id) if row.parent_id else None
    return parent is not None and parent.answered_at is not None


def compose(
    practice: Practice, known: Known, templates: Templates, row: Outbox, now: datetime
) -> Outgoing:
    from checkin.jobs.digest import compose_digest

    if row.kind == "digest":
        return compose_digest(practice, known.engine, templates, row, now)

    composers = {
        "checkin": _checkin,
        "nudge": _checkin,
        "confirm": _confirmation,
        "safety": _safety,
        "alert": _alert,
    }
    return composers[row.kind](practice, known, templates, row, now)


def _checkin(
    practice: Practice, known: Known, templates: Templates, row: Outbox, now: datetime
) -> Outgoing:
    client = practice.client(row.client_id or "")
    assert client is not None
    experiment = next(e for e in client.experiments if e.id == row.experiment_id)
    therapist = practice.therapist(client.therapist)
    parent = known.parent(row)
    token = (parent.token if parent else row.token) or ""
    context = {
        "practice_name": practice.name,
        "client_name": client.name,
        "therapist_name": therapist.name if therapist else "your therapist",
        "experiment_title": experiment.title,
        "day": _day(row.slot or ""),
        "last_plan": known.plans.get((client.id, experiment.id)),
    }
    reply_to = reply_address(practice.mail.from_addr, token) if token else None
    return build_message(
        from_addr=practice.mail.from_addr,
        to=row.recipient,
        to_name=client.name,
        rendered=templates.render(row.kind, context),
        message_id=row.message_id,
        now=now,
        reply_to=reply_to,
        in_reply_to=parent.message_id if parent else None,
        unsubscribe=reply_to,
    )


def _safety(
    practice: Practice, known: Known, templates: Templates, row: Outbox, now: datetime
) -> Outgoing:
    client = practice.client(row.client_id or "")
    context = {
        "practice_name": practice.name,
        "client_name": client.name if client else None,
        # The practice's own words, passed as data: never read as a template.
        "paragraphs": [p.strip() for p in practice.safety.message.split("\n\n") if p.strip()],
    }
    return build_message(
        from_addr=practice.mail.from_addr,
        to=row.recipient,
        to_name=client.name if client else None,
        rendered=templates.render("safety", context),
        message_id=row.message_id,
        now=now,
        in_reply_to=row.in_reply_to,
        auto_submitted="auto-replied",
    )


def _alert(
    practice: Practice, known: Known, templates: Templates, row: Outbox, now: datetime
) -> Outgoing:
    reply = outcomes.get_reply(known.engine, int(row.detail or 0))
    raw = outcomes.get_raw(known.engine, reply.raw_id) if reply else None
    client = practice.client(row.client_id or "")
    therapist = practice.therapist(row.therapist_id or "")
    zone = therapist.timezone if therapist else practice.timezone
    attributed = reply is not None and reply.client_id is not None
    context = {
        "practice_name": practice.name,
        "therapist_name": therapist.name if therapist else None,
        "client_label": (client.name or client.id) if client else None,
        "client_id": client.id if client else None,
        "attributed": attributed,
        "sender": raw.sender if raw else None,
        "received": f"{reply.received_at.astimezone(zone):%A %d %B, %H:%M} ({zone})"
        if reply
        else "",
        "reasons": json.loads(reply.risk_reasons) if reply and reply.risk_reasons else [],
        "safety_sent": True,
        "message_ref": reply.raw_id if reply else None,
    }
    return build_message(
        from_addr=practice.mail.from_addr,
        to=row.recipient,
        rendered=templates.render("alert", context),
        message_id=row.message_id,
        now=now,
    )


def _confirmation(
    practice: Practice, known: Known, templates: Templates, row: Outbox, now: datetime
) -> Outgoing:
    client = practice.client(row.client_id or "")
    assert client is not None
    command, _, until = (row.detail or "").partition(":")
    context = {
        "practice_name": practice.name,
        "client_name": client.name,
        "command": command,
        "until": _date(until) if until else None,
    }
    return build_message(
        from_addr=practice.mail.from_addr,
        to=row.recipient,
        to_name=client.name,
        rendered=templates.render("confirm", context),
        message_id=row.message_id,
        now=now,
        in_reply_to=row.in_reply_to,
        auto_submitted="auto-replied",
    )


def _date(iso: str) -> str:
    day = date.fromisoformat(iso)
    return f"{day:%A} {day.day} {day:%B %Y}"


def _day(slot: str) -> str:
    """'2026-11-26T19:00' -> 'Thursday 26 November': the client's own local date."""
    day = datetime.fromisoformat(slot)
    return f"{day:%A} {day.day} {day:%B}"
