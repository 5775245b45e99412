"""What a understood, attributed message makes happen. Pure: a list of effects, no I/O.

Machines are never answered (RFC 3834): an auto-reply is stored and ignored, a bounce marks
the address. A client's own STOP, PAUSE or RESUME changes their check-ins and gets one short
confirmation; a plain answer marks its check-in answered (no more nudges for it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from checkin.core.attribute import Attribution

STATUS_FOR = {"stop": "stopped", "pause": "paused", "resume": "active"}


@dataclass(frozen=True)
class SetStatus:
    client_id: str
    status: str  # active, paused, stopped
    until: datetime | None = None  # aware UTC: a dated pause ends by itself


@dataclass(frozen=True)
class Confirm:
    client_id: str
    command: str
    to: str
    in_reply_to: str | None
    until: date | None = None


@dataclass(frozen=True)
class Answered:
    outbox_id: int


@dataclass(frozen=True)
class MarkBouncing:
    address: str
    detail: str


@dataclass(frozen=True)
class RiskAlert:
    """Tell a therapist (or the backup) now, not in next week's digest."""

    to: str
    therapist_id: str | None
    client_id: str | None


@dataclass(frozen=True)
class SafetyMessage:
    """The practice's safety message, once per flagged reply, to whoever wrote it."""

    client_id: str | None
    to: str
    in_reply_to: str | None


Effect = SetStatus | Confirm | Answered | MarkBouncing | RiskAlert | SafetyMessage


def effects(
    kind: str,
    command: str | None,
    pause_until: date | None,
    who: Attribution,
    sender: str | None,
    message_id: str | None,
    zone: ZoneInfo | None,
) -> list[Effect]:
    if kind == "command" and command in STATUS_FOR and who.client_id and sender:
        return _command(command, pause_until, who.client_id, sender, message_id, zone)
    if kind == "answer" and who.outbox_id is not None:
        return [Answered(who.outbox_id)]
    return []


def _command(
    command: str,
    until: date | None,
    client_id: str,
    sender: str,
    message_id: str | None,
    zone: ZoneInfo | None,
) -> list[Effect]:
    dated = until if command == "pause" else None
    end = datetime.combine(dated, time(0), zone).astimezone(ZoneInfo("UTC")) if dated else None
    return [
        SetStatus(client_id, STATUS_FOR[command], end),
        Confirm(client_id, command, sender, message_id, dated),
    ]


def risk_effects(
    kind: str,
    sender: str | None,
    message_id: str | None,
    client_id: str | None,
    alert_to: list[tuple[str, str | None]],
) -> list[Effect]:
    """Risk language from a person: alert every recipient and send the safety message.

    Safety comes before attribution: a flagged message from an address not on file still
    alerts (its client may be writing from a new address) and still gets the safety message.
    """
    if kind not in ("answer", "command"):
        return []
    alerts: list[Effect] = [RiskAlert(to, therapist_id, client_id) for to, therapist_id in alert_to]
    safety: list[Effect] = [SafetyMessage(client_id, sender, message_id)] if sender else []
    return alerts + safety


def bounce_effects(
    permanent: bool, failed: tuple[str, ...], client_addresses: set[str], detail: str
) -> list[Effect]:
    """Only a permanent failure for an address of one of our clients stops mail to it."""
    if not permanent:
        return []
    return [MarkBouncing(a.lower(), detail) for a in failed if a.lower() in client_addresses]
