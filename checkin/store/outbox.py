"""The outbox: rows are created once (unique key) and claimed by one sender at a time.

Order of a send: claim (status `sending`, a lease) -> render -> send -> mark. A process that
dies after claiming leaves a row whose lease runs out; the next sender takes it again and sends
it with the same Message-ID, so a message that did go out threads as one.
"""

from __future__ import annotations

import secrets
from base64 import b32encode
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    and_,
    bindparam,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from checkin.core.attribute import token_hash
from checkin.store.db import insert_new, session
from checkin.store.models import Outbox

LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class NewMessage:
    key: str
    kind: str
    recipient: str
    due_at: datetime
    send_after: datetime
    client_id: str | None = None
    experiment_id: str | None = None
    therapist_id: str | None = None
    slot: str | None = None
    parent_id: int | None = None
    with_token: bool = False
    detail: str | None = None
    in_reply_to: str | None = None


def new_token() -> str:
    """128 random bits in lower-case base32: safe in an address's local part, any case rules."""
    return b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def enqueue(engine: Engine, messages: list[NewMessage], domain: str, now: datetime) -> int:
    """Insert the rows that do not exist yet; return how many were new."""
    rows = [message_row(m, domain, now) for m in messages]
    with session(engine) as s:
        created = insert_new(s, Outbox, rows)
        s.commit()
        return created


def message_row(m: NewMessage, domain: str, now: datetime) -> dict[str, object]:
    token = new_token() if m.with_token else None
    return {
        "key": m.key,
        "kind": m.kind,
        "recipient": m.recipient,
        "client_id": m.client_id,
        "experiment_id": m.experiment_id,
        "therapist_id": m.therapist_id,
        "slot": m.slot,
        "parent_id": m.parent_id,
        "token": token,
        "token_hash": token_hash(token) if token else None,
        "detail": m.detail,
        "in_reply_to": m.in_reply_to,
        "message_id": f"<{secrets.token_hex(16)}@{domain}>",
        "status": "pending",
        "attempts": 0,
        "due_at": m.due_at,
        "send_after": m.send_after,
        "created_at": now,
    }


def _claimable(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Outbox.status == "pending", Outbox.send_after <= now),
        and_(Outbox.status == "sending", Outbox.claimed_until < now),
    )


def claim_batch(
    engine: Engine, now: datetime, worker: str, limit: int, lease: timedelta = LEASE
) -> list[Outbox]:
    """Take up to `limit` of the oldest due rows in one transaction, oldest first.

    PostgreSQL skips rows another worker holds; SQLite serialises writers (BEGIN IMMEDIATE).
    The conditional UPDATE is the real guard: only rows it changed to ours come back.
    """
    with session(engine) as s:
        chosen = list(
            s.execute(
                select(Outbox.id)
                .where(_claimable(now))
                .order_by(Outbox.send_after, Outbox.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            ).scalars()
        )
        if not chosen:
            return []
        s.execute(
            update(Outbox)
            .where(Outbox.id.in_(chosen), _claimable(now))
            .values(
                status="sending",
                claimed_until=now + lease,
                claimed_by=worker,
                attempts=Outbox.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        won = s.execute(
            select(Outbox)
            .where(Outbox.id.in_(chosen), Outbox.status == "sending", Outbox.claimed_by == worker)
            .order_by(Outbox.send_after, Outbox.id)
        ).scalars()
        rows = list(won)
        s.commit()
        return rows


def _finish(engine: Engine, row_id: int, worker: str, **values: object) -> bool:
    """Change a row we still hold; False when our lease was lost to another sender."""
    with engine.begin() as conn:
        result = conn.execute(
            update(Outbox)
            .where(Outbox.id == row_id, Outbox.status == "sending", Outbox.claimed_by == worker)
            .values(claimed_until=None, **values)
        )
        return result.rowcount == 1


_table = Outbox.__table__  # type: ignore[attr-defined]
# Built once: marking a row sent runs once per message, and building the statement (not
# running it) was most of its cost.
_MARK_SENT = (
    update(_table)
    .where(
        _table.c.id == bindparam("row_id"),
        _table.c.status == "sending",
        _table.c.claimed_by == bindparam("worker"),
    )
    .values(status="sent", sent_at=bindparam("now"), claimed_until=None, last_error=None)
)


def mark_sent_on(conn: Connection, row_id: int, worker: str, now: datetime) -> bool:
    """On the sender's own connection (see `repeatable_writes`), one transaction per message."""
    with conn.begin():
        result = conn.execute(_MARK_SENT, {"row_id": row_id, "worker": worker, "now": now})
        return result.rowcount == 1


def mark_retry(engine: Engine, row_id: int, worker: str, at: datetime, error: str) -> bool:
    return _finish(engine, row_id, worker, status="pending", send_after=at, last_error=error)


def mark_failed(engine: Engine, row_id: int, worker: str, error: str) -> bool:
    return _finish(engine, row_id, worker, status="failed", last_error=error)


def cancel(engine: Engine, row_id: int, worker: str, reason: str) -> bool:
    return _finish(engine, row_id, worker, status="cancelled", last_error=reason)


def release_many(engine: Engine, row_ids: list[int], worker: str) -> int:
    """Give claimed rows back untouched; how many were still ours."""
    if not row_ids:
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            update(Outbox)
            .where(Outbox.id.in_(row_ids), Outbox.status == "sending", Outbox.claimed_by == worker)
            .values(
                status="pending", claimed_until=None, claimed_by=None, attempts=Outbox.attempts - 1
            )
        )
        return result.rowcount


def latest_slots(engine: Engine, kind: str = "checkin") -> dict[tuple[str, str], str]:
    """The newest slot already created per (client, experiment): the schedule's memory."""
    with session(engine) as s:
        rows = s.execute(
            select(Outbox.client_id, Outbox.experiment_id, func.max(Outbox.slot))
            .where(Outbox.kind == kind)
            .group_by(Outbox.client_id, Outbox.experiment_id)
        ).all()
    return {(c, e): slot for c, e, slot in rows if c and e and slot}


def get(engine: Engine, row_id: int) -> Outbox | None:
    with session(engine) as s:
        return s.get(Outbox, row_id)


def get_many(engine: Engine, row_ids: list[int]) -> dict[int, Outbox]:
    if not row_ids:
        return {}
    with session(engine) as s:
        rows = s.execute(select(Outbox).where(Outbox.id.in_(sorted(set(row_ids))))).scalars()
        return {row.id: row for row in rows if row.id is not None}


def by_key(engine: Engine, key: str) -> Outbox | None:
    with session(engine) as s:
        return s.execute(select(Outbox).where(Outbox.key == key)).scalar_one_or_none()


def open_checkins(engine: Engine) -> list[tuple[int, str, str, str, datetime]]:
    """Sent check-ins still waiting for a reply and a nudge: the newest per experiment only.

    Returns (row id, client id, experiment id, slot, sent at).
    """
    nudge = aliased(Outbox)
    newest = (
        select(Outbox.client_id, Outbox.experiment_id, func.max(Outbox.slot).label("slot"))
        .where(Outbox.kind == "checkin")
        .group_by(Outbox.client_id, Outbox.experiment_id)
        .subquery()
    )
    query = (
        select(Outbox.id, Outbox.client_id, Outbox.experiment_id, Outbox.slot, Outbox.sent_at)
        .join(
            newest,
            and_(
                newest.c.client_id == Outbox.client_id,
                newest.c.experiment_id == Outbox.experiment_id,
                newest.c.slot == Outbox.slot,
            ),
        )
        .where(
            Outbox.kind == "checkin",
            Outbox.status == "sent",
            Outbox.answered_at.is_(None),
            ~exists().where(nudge.parent_id == Outbox.id),
        )
    )
    with session(engine) as s:
        return [tuple(row) for row in s.execute(query).all()]  # type: ignore[misc]


def last_sent(engine: Engine) -> list[Outbox]:
    """The newest sent message of each kind per client and experiment."""
    newest = (
        select(func.max(Outbox.id))
        .where(Outbox.status == "sent")
        .group_by(Outbox.client_id, Outbox.experiment_id, Outbox.kind)
    )
    with session(engine) as s:
        query = select(Outbox).where(Outbox.id.in_(newest)).order_by(Outbox.client_id, Outbox.id)
        return list(s.execute(query).scalars())


def troubles(engine: Engine) -> list[Outbox]:
    """Failed rows, and rows waiting to be retried after an error: what an operator must see."""
    with session(engine) as s:
        query = (
            select(Outbox)
            .where(
                or_(
                    Outbox.status == "failed",
                    and_(Outbox.status == "pending", Outbox.last_error.is_not(None)),
                )
            )
            .order_by(Outbox.id)
        )
        return list(s.execute(query).scalars())


def first_created(engine: Engine) -> datetime | None:
    """When this database first planned anything: the practice's first day with checkin."""
    with session(engine) as s:
        return s.execute(select(func.min(Outbox.created_at))).scalar_one_or_none()
