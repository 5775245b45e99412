"""`checkin status`: what is coming, what went, and what needs a person."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Engine

from checkin.core import cadence
from checkin.practice import Practice
from checkin.store import clients, outbox, outcomes
from checkin.store.models import Outbox, Reply


def report(practice: Practice, engine: Engine, now: datetime) -> str:
    states = clients.states(engine, [c.id for c in practice.clients])
    lines = [f"{practice.name}: status at {now:%Y-%m-%d %H:%M} UTC", "", "Upcoming check-ins"]
    lines += _upcoming(practice, states, now) or ["  none scheduled"]
    lines += ["", "Last sent"]
    lines += [_row(r, r.sent_at) for r in outbox.last_sent(engine)] or ["  nothing sent yet"]
    troubles = outbox.troubles(engine)
    lines += ["", f"Needs attention ({len(troubles)})"]
    lines += [_trouble(r) for r in troubles] or ["  nothing"]
    review = outcomes.needing_review(engine)
    lines += ["", f"Messages needing review ({len(review)})"]
    lines += [_review(r) for r in review] or ["  nothing"]
    return "\n".join(lines)


def _review(r: Reply) -> str:
    """Ids and reasons only: client words stay in the database and the digest."""
    what = "RISK LANGUAGE" if r.risk else r.kind
    return (
        f"  message {r.raw_id:<6} {r.received_at:%Y-%m-%d %H:%M} UTC  {what:<13} "
        f"{r.client_id or '(no client)':<16} {r.attribution}: {r.reason or ''}"
    ).rstrip()


def _upcoming(
    practice: Practice, states: dict[str, cadence.ClientState], now: datetime
) -> list[str]:
    lines = [
        f"  {c.id:<16} {_held(c.consent, states[c.id])}"
        for c in practice.clients
        if not cadence.can_send(c, states[c.id], now)
    ]
    for due in cadence.upcoming(practice, now, states):
        client = practice.client(due.client_id)
        zone = client.timezone if client else None
        local = due.send_after.astimezone(zone) if zone else due.send_after
        lines.append(
            f"  {due.client_id:<16} {due.experiment_id:<16} {local:%a %d %b %H:%M} {zone} "
            f"(in {_until(due.send_after - now)})"
        )
    return lines


def _held(consent: object, state: cadence.ClientState) -> str:
    if consent is None:
        return "no consent date: no mail"
    if state.stopped:
        return "stopped by the client"
    if state.paused:
        until = f" until {state.paused_until:%Y-%m-%d}" if state.paused_until else ""
        return f"paused{until}"
    return "every address bounces"


def _until(delta: timedelta) -> str:
    hours = int(delta.total_seconds() // 3600)
    return (
        f"{hours // 24}d {hours % 24}h" if hours >= 24 else f"{hours}h {delta.seconds // 60 % 60}m"
    )


def _row(r: Outbox, at: datetime | None) -> str:
    when = f"{at:%Y-%m-%d %H:%M} UTC" if at else "-"
    return f"  {r.client_id or '-':<16} {r.experiment_id or '-':<16} {r.kind:<8} {when}"


def _trouble(r: Outbox) -> str:
    state = "FAILED" if r.status == "failed" else f"retrying at {r.send_after:%Y-%m-%d %H:%M} UTC"
    return f"{_row(r, r.due_at)}  {state} after {r.attempts} tries: {r.last_error}"
