"""Replies and their effects, written together: a message is acted on once, or not at all."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from sqlalchemy import Engine, Select, and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from checkin.core.act import (
    Answered,
    Confirm,
    Effect,
    MarkBouncing,
    RiskAlert,
    SafetyMessage,
    SetStatus,
)
from checkin.core.attribute import Sent
from checkin.store import clients
from checkin.store.db import insert_new, session
from checkin.store.models import Outbox, RawMessage, Reply
from checkin.store.outbox import NewMessage, message_row


class StoreLookup:
    """The attribution's questions, answered from the outbox, a short session for each."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def _first(self, statement: Select[tuple[Outbox]]) -> Outbox | None:
        with session(self.engine) as s:
            return s.execute(statement).scalar_one_or_none()

    def _one(self, *where: object) -> Sent | None:
        row = self._first(select(Outbox).where(*where).limit(1))
        return _sent(row) if row else None

    def by_token_hash(self, digest: str) -> Sent | None:
        return self._one(Outbox.token_hash == digest)

    def by_message_id(self, message_id: str) -> Sent | None:
        return self._one(Outbox.message_id == message_id)

    def by_id(self, outbox_id: int) -> Sent | None:
        return self._one(Outbox.id == outbox_id)

    def open_checkin(self, client_id: str) -> Sent | None:
        row = self._first(
            select(Outbox)
            .where(
                Outbox.client_id == client_id,
                Outbox.kind == "checkin",
                Outbox.status == "sent",
                Outbox.answered_at.is_(None),
            )
            .order_by(Outbox.sent_at.desc(), Outbox.id.desc())
            .limit(1)
        )
        return _sent(row) if row else None


class SessionLookup(StoreLookup):
    """The same questions inside a batch's transaction: no session (and, on SQLite, no lock
    hand-over) per question, and each answer sees the effects of the messages before it."""

    def __init__(self, s: Session):
        self.s = s

    def _first(self, statement: Select[tuple[Outbox]]) -> Outbox | None:
        return self.s.execute(statement).scalar_one_or_none()


def _sent(row: Outbox) -> Sent:
    assert row.id is not None
    return Sent(row.id, row.kind, row.client_id, row.experiment_id, row.token, row.parent_id)


class Batch:
    """Several messages' replies and effects in one transaction, each under a savepoint.

    One commit (on SQLite, one fsync) per batch instead of per message; each message is
    still recorded with all its effects or not at all, and once: a reply another process
    recorded first is rolled back to its savepoint alone.
    """

    def __init__(self, s: Session, domain: str, now: datetime):
        self.s, self.domain, self.now = s, domain, now
        self.lookup = SessionLookup(s)

    def record(self, reply: Reply, effects: list[Effect]) -> bool:
        """False when this message's reply is already stored (nothing is applied twice)."""
        savepoint = self.s.begin_nested()
        try:
            self.s.add(reply)
            self.s.flush()
        except IntegrityError:
            savepoint.rollback()
            return False
        assert reply.id is not None
        for effect in effects:
            _apply(self.s, effect, self.domain, self.now, reply.id)
        savepoint.commit()
        return True


@contextmanager
def batch(engine: Engine, domain: str, now: datetime) -> Iterator[Batch]:
    """A Batch, committed when the block ends; an exception rolls every message back."""
    with session(engine) as s:
        yield Batch(s, domain, now)
        s.commit()


def record(engine: Engine, reply: Reply, effects: list[Effect], domain: str, now: datetime) -> bool:
    """Store the reply and apply its effects in one transaction.

    False when another process recorded this message first (nothing is applied twice).
    """
    with batch(engine, domain, now) as b:
        return b.record(reply, effects)


def _apply(s: Session, effect: Effect, domain: str, now: datetime, reply_id: int) -> None:
    match effect:
        case Answered(outbox_id):
            s.execute(
                update(Outbox)
                .where(Outbox.id == outbox_id, Outbox.answered_at.is_(None))
                .values(answered_at=now)
            )
        case SetStatus(client_id, status, until):
            clients.write_status(s, client_id, status, now, until)
        case MarkBouncing(address, detail):
            clients.write_bouncing(s, address, now, detail)
        case Confirm():
            _confirm(s, effect, domain, now)
        case RiskAlert(to, therapist_id, client_id):
            # One alert per reply and recipient, whatever happens to the process.
            alert = NewMessage(
                key=f"alert:{reply_id}:{to.lower()}", kind="alert", recipient=to,
                due_at=now, send_after=now, client_id=client_id, therapist_id=therapist_id,
                detail=str(reply_id),
            )  # fmt: skip
            _enqueue(s, alert, domain, now)
        case SafetyMessage(client_id, to, in_reply_to):
            safety = NewMessage(
                key=f"safety:{reply_id}", kind="safety", recipient=to, due_at=now,
                send_after=now, client_id=client_id, detail=str(reply_id), in_reply_to=in_reply_to,
            )  # fmt: skip
            _enqueue(s, safety, domain, now)


def _confirm(s: Session, c: Confirm, domain: str, now: datetime) -> None:
    """One confirmation per client, command and day: never a conversation with a loop."""
    key = f"confirm:{c.client_id}:{c.command}:{now:%Y-%m-%d}"
    message = NewMessage(
        key=key,
        kind="confirm",
        recipient=c.to,
        due_at=now,
        send_after=now,
        client_id=c.client_id,
        detail=f"{c.command}:{c.until.isoformat()}" if c.until else c.command,
        in_reply_to=c.in_reply_to,
    )
    _enqueue(s, message, domain, now)


def _enqueue(s: Session, message: NewMessage, domain: str, now: datetime) -> None:
    insert_new(s, Outbox, [message_row(message, domain, now)])


def last_plan(engine: Engine, client_id: str, experiment_id: str) -> str | None:
    """What the client last said they might do differently next time, for this experiment."""
    with session(engine) as s:
        return s.execute(
            select(Reply.next_time)
            .where(
                and_(
                    Reply.client_id == client_id,
                    Reply.experiment_id == experiment_id,
                    Reply.next_time.is_not(None),
                )
            )
            .order_by(Reply.received_at.desc(), Reply.id.desc())
            .limit(1)
        ).scalar_one_or_none()


def last_plans(engine: Engine, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """`last_plan` for many (client, experiment) pairs in one query: the sender's batch."""
    if not pairs:
        return {}
    newest = func.row_number().over(
        partition_by=(Reply.client_id, Reply.experiment_id),
        order_by=(Reply.received_at.desc(), Reply.id.desc()),
    )
    ranked = (
        select(Reply.client_id, Reply.experiment_id, Reply.next_time, newest.label("n"))
        .where(
            Reply.client_id.in_(sorted({c for c, _ in pairs})),
            Reply.next_time.is_not(None),
        )
        .subquery()
    )
    wanted = set(pairs)
    with session(engine) as s:
        rows = s.execute(
            select(ranked.c.client_id, ranked.c.experiment_id, ranked.c.next_time).where(
                ranked.c.n == 1
            )
        ).all()
    return {(c, e): plan for c, e, plan in rows if (c, e) in wanted}


def needing_review(engine: Engine, limit: int = 50) -> list[Reply]:
    with session(engine) as s:
        return list(
            s.execute(
                select(Reply)
                .where(Reply.needs_review)
                .order_by(Reply.received_at.desc(), Reply.id.desc())
                .limit(limit)
            ).scalars()
        )


def get_reply(engine: Engine, reply_id: int) -> Reply | None:
    with session(engine) as s:
        return s.get(Reply, reply_id)


def get_raw(engine: Engine, raw_id: int) -> RawMessage | None:
    with session(engine) as s:
        return s.get(RawMessage, raw_id)
