"""config + store + now -> new outbox rows for the check-ins and nudges that are due."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from checkin.core import cadence
from checkin.jobs.digest import plan_digests
from checkin.mail.compose import domain_of
from checkin.practice import Practice
from checkin.store import clients, outbox
from checkin.store.outbox import NewMessage


def checkin_key(client_id: str, experiment_id: str, slot: str, kind: str = "checkin") -> str:
    return f"{kind}:{client_id}:{experiment_id}:{slot}"


def plan(practice: Practice, engine: Engine, now: datetime) -> int:
    """Create the rows that are due; the unique key makes a second call (or process) harmless."""
    states = clients.states(engine, [c.id for c in practice.clients])
    due = cadence.checkins_due(practice, now, outbox.latest_slots(engine), states)
    rows = [_message(d, with_token=True) for d in due]
    open_rows = outbox.open_checkins(engine)
    parents = {(c, e, slot): row_id for row_id, c, e, slot, _ in open_rows}
    opened = [
        cadence.OpenCheckin(client_id=c, experiment_id=e, slot=slot, sent_at=sent_at)
        for _, c, e, slot, sent_at in open_rows
    ]
    for d in cadence.nudges_due(practice, now, opened, states):
        parent = parents[(d.client_id, d.experiment_id, d.slot)]
        rows.append(_message(d, parent_id=parent))
    created = outbox.enqueue(engine, rows, domain_of(practice.mail.from_addr), now)
    return created + plan_digests(practice, engine, now)


def _message(d: cadence.Due, with_token: bool = False, parent_id: int | None = None) -> NewMessage:
    return NewMessage(
        key=checkin_key(d.client_id, d.experiment_id, d.slot, d.kind),
        kind=d.kind,
        recipient=d.to,
        due_at=d.due_at,
        send_after=d.send_after,
        client_id=d.client_id,
        experiment_id=d.experiment_id,
        slot=d.slot,
        parent_id=parent_id,
        with_token=with_token,
    )
