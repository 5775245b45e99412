"""A therapist's week, read in a handful of queries (never one per client)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Select, and_, or_, select
from sqlalchemy.orm import Session

from checkin.core.digest import ReplyItem, SentItem, StatusItem
from checkin.store.db import session
from checkin.store.models import AddressStatus, ClientStatus, Outbox, RawMessage, Reply

HISTORY_WEEKS = 4


@dataclass(frozen=True)
class Week:
    sent: list[SentItem]
    replies: list[ReplyItem]
    statuses: dict[str, StatusItem]
    history: dict[tuple[str, str], list[int]]


def read_week(
    engine: Engine, client_addresses: dict[str, Sequence[str]], start: datetime, end: datetime
) -> Week:
    """`client_addresses`: the therapist's clients and their addresses."""
    ids = list(client_addresses)
    with session(engine) as s:
        sent = [_sent(o) for o in s.execute(_sent_query(ids, start, end)).scalars()]
        replies = [_reply(r, sender) for r, sender in s.execute(_reply_query(ids, start, end))]
        statuses = _statuses(s, client_addresses, end)
        history = _history(s, ids, start)
    return Week(sent, replies, statuses, history)


def _sent_query(ids: list[str], start: datetime, end: datetime) -> Select:
    return (
        select(Outbox)
        .where(
            Outbox.client_id.in_(ids),
            or_(
                and_(Outbox.sent_at >= start, Outbox.sent_at < end),
                and_(Outbox.status == "failed", Outbox.due_at >= start, Outbox.due_at < end),
            ),
        )
        .order_by(Outbox.due_at, Outbox.id)
    )


def _reply_query(ids: list[str], start: datetime, end: datetime) -> Select:
    placed = or_(
        Reply.client_id.in_(ids),
        Reply.suspected_client_id.in_(ids),
        # Nobody can place it: every therapist sees that it came (never its words).
        and_(Reply.client_id.is_(None), Reply.suspected_client_id.is_(None)),
    )
    return (
        select(Reply, RawMessage.sender)
        .join(RawMessage, RawMessage.id == Reply.raw_id)
        .where(placed, Reply.received_at >= start, Reply.received_at < end)
        .order_by(Reply.received_at, Reply.id)
    )


def _sent(o: Outbox) -> SentItem:
    assert o.id is not None
    return SentItem(
        outbox_id=o.id, client_id=o.client_id or "", experiment_id=o.experiment_id,
        kind=o.kind, slot=o.slot, status=o.status, sent_at=o.sent_at,
        answered_at=o.answered_at, last_error=o.last_error,
    )  # fmt: skip


def _reply(r: Reply, sender: str | None) -> ReplyItem:
    assert r.id is not None
    return ReplyItem(
        reply_id=r.id, client_id=r.client_id, suspected_client_id=r.suspected_client_id,
        experiment_id=r.experiment_id, outbox_id=r.outbox_id, received_at=r.received_at,
        kind=r.kind, attribution=r.attribution, reason=r.reason, needs_review=r.needs_review,
        command=r.command, pause_until=r.pause_until, text=r.text, tried=r.tried,
        rating=r.rating, noticed=r.noticed, next_time=r.next_time, risk=r.risk,
        risk_reasons=tuple(json.loads(r.risk_reasons)) if r.risk_reasons else (),
        bounced_address=r.bounced_address, sender=sender,
    )  # fmt: skip


def _statuses(
    s: Session, client_addresses: dict[str, Sequence[str]], end: datetime
) -> dict[str, StatusItem]:
    rows = {
        row.client_id: row
        for row in s.execute(
            select(ClientStatus).where(ClientStatus.client_id.in_(list(client_addresses)))
        ).scalars()
    }
    wanted = [a.lower() for addresses in client_addresses.values() for a in addresses]
    bouncing = set(
        s.execute(
            select(AddressStatus.address).where(
                AddressStatus.address.in_(wanted), AddressStatus.bouncing
            )
        ).scalars()
    )
    return {
        cid: StatusItem(
            client_id=cid,
            status=_status_at(rows.get(cid), end),
            paused_until=rows[cid].paused_until if cid in rows else None,
            bouncing=tuple(a for a in addresses if a.lower() in bouncing),
        )
        for cid, addresses in client_addresses.items()
    }


def _status_at(row: ClientStatus | None, end: datetime) -> str:
    """A dated pause that ran out before the week ended is over, whatever the row says."""
    if row is None:
        return "active"
    if row.status == "paused" and row.paused_until is not None and row.paused_until <= end:
        return "active"
    return row.status


def _history(s: Session, ids: list[str], start: datetime) -> dict[tuple[str, str], list[int]]:
    """Ratings of the weeks before, oldest first, for the trend."""
    rows = s.execute(
        select(Reply.client_id, Reply.experiment_id, Reply.rating)
        .where(
            Reply.client_id.in_(ids),
            Reply.rating.is_not(None),
            Reply.received_at >= start - timedelta(weeks=HISTORY_WEEKS),
            Reply.received_at < start,
        )
        .order_by(Reply.received_at, Reply.id)
    )
    history: dict[tuple[str, str], list[int]] = defaultdict(list)
    for client_id, experiment_id, rating in rows:
        history[(client_id, experiment_id or "")].append(rating)
    return dict(history)
