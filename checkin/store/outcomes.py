"""Replies and their effects, written together: a message is acted on once, or not at all."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Select, bindparam, func, select, update
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
from checkin.store.db import insert_new, insert_new_returning, session
from checkin.store.models import Outbox, RawMessage, Reply
from checkin.store.outbox import NewMessage, message_row

# What attribution needs to know of a sent message, read as plain columns (no ORM objects).
_SENT = (Outbox.id, Outbox.kind, Outbox.client_id, Outbox.experiment_id, Outbox.token,
         Outbox.parent_id)  # fmt: skip


class StoreLookup:
    """The attribution's questions, answered from the outbox, a short session for each."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def _first(self, statement: Select[Any]) -> Sent | None:
        with session(self.engine) as s:
            row = s.execute(statement).first()
        return Sent(*row) if row else None

    def _one(self, *where: object) -> Sent | None:
        return self._first(select(*_SENT).where(*where).limit(1))

    def by_token_hash(self, digest: str) -> Sent | None:
        return self._one(Outbox.token_hash == digest)

    def by_message_id(self, message_id: str) -> Sent | None:
        return self._one(Outbox.message_id == message_id)

    def by_id(self, outbox_id: int) -> Sent | None:
        return self._one(Outbox.id == outbox_id)

    def open_checkin(self, client_id: str) -> Sent | None:
        return self._first(
            select(*_SENT)
            .where(
                Outbox.client_id == client_id,
                Outbox.kind == "checkin",
                Outbox.status == "sent",
                Outbox.answered_at.is_(None),
            )
            .order_by(Outbox.sent_at.desc(), Outbox.id.desc())
            .limit(1)
        )


class SessionLookup(StoreLookup):
    """The same questions inside a batch's transaction: no session (and, on SQLite, no lock
    hand-over) per question, and each answer sees the effects of the messages before it.

    `prefetch` answers a whole batch's token and thread questions with a query or two: a
    sent message's token and Message-ID never change, so those answers cannot go stale.
    """

    def __init__(self, s: Session, before_live: Callable[[str], None] = lambda _client: None):
        self.s = s
        self.before_live = before_live
        self._by_hash: dict[str, Sent | None] = {}
        self._by_message_id: dict[str, Sent | None] = {}

    def _first(self, statement: Select[Any]) -> Sent | None:
        row = self.s.execute(statement).first()
        return Sent(*row) if row else None

    def prefetch(self, token_hashes: Iterable[str], message_ids: Iterable[str]) -> None:
        for column, wanted, known in (
            (Outbox.token_hash, token_hashes, self._by_hash),
            (Outbox.message_id, message_ids, self._by_message_id),
        ):
            missing = sorted(set(wanted) - known.keys())
            for start in range(0, len(missing), _IN_LIST):
                chunk = missing[start : start + _IN_LIST]
                rows = self.s.execute(select(column, *_SENT).where(column.in_(chunk)))
                found = {key: Sent(*rest) for key, *rest in rows}
                known.update({key: found.get(key) for key in chunk})

    def by_token_hash(self, digest: str) -> Sent | None:
        if digest in self._by_hash:
            return self._by_hash[digest]
        return super().by_token_hash(digest)

    def by_message_id(self, message_id: str) -> Sent | None:
        if message_id in self._by_message_id:
            return self._by_message_id[message_id]
        return super().by_message_id(message_id)

    def open_checkin(self, client_id: str) -> Sent | None:
        self.before_live(client_id)  # what the messages before this one answered must show
        return super().open_checkin(client_id)


_IN_LIST = 500  # values per IN (...): well inside every driver's parameter limit


class BatchFailed(Exception):
    """Writing a batch's queued replies failed while a later message was being attributed:
    the whole batch must roll back, not that message be called unreadable."""


class Batch:
    """Several messages' replies and effects in one transaction.

    One commit (on SQLite, one fsync) per batch instead of per message, and the writes
    themselves in a few statements: replies are queued and written together (one INSERT,
    one UPDATE for the check-ins they answer) before any question whose answer they could
    change, and at the end. A message is still recorded with all its effects or not at all
    (the batch commits or rolls back as one), and once: its reply is inserted only if its
    raw message has none, and its effects are applied only then. `recorded` lists the
    replies written, in order.
    """

    def __init__(self, s: Session, domain: str, now: datetime):
        self.s, self.domain, self.now = s, domain, now
        self.lookup = SessionLookup(s, before_live=self._before_open_checkin)
        self.recorded: list[Reply] = []
        self._queued: list[tuple[Reply, list[Effect]]] = []
        self._answering: set[str] = set()  # clients whose queued replies answer a check-in

    def record(self, reply: Reply, effects: list[Effect]) -> None:
        self._queued.append((reply, effects))
        if reply.client_id and any(isinstance(e, Answered) for e in effects):
            self._answering.add(reply.client_id)

    def _before_open_checkin(self, client_id: str) -> None:
        """Only a queued answer of this client's can change which check-in is open."""
        if client_id in self._answering:
            try:
                self.flush()
            except Exception as exc:  # the queued messages' trouble, not this message's
                raise BatchFailed from exc

    def flush(self) -> None:
        queued, self._queued = self._queued, []
        self._answering.clear()
        if not queued:
            return
        ids = _insert_new(self.s, [reply for reply, _ in queued])
        answered: list[int] = []
        others: list[tuple[Effect, int]] = []
        for reply, effects in queued:
            reply.id = ids.get(reply.raw_id)
            if reply.id is None:  # another process recorded this message first
                continue
            self.recorded.append(reply)
            for effect in effects:
                if isinstance(effect, Answered):
                    answered.append(effect.outbox_id)
                else:
                    others.append((effect, reply.id))
        if answered:  # the first answer wins, whatever the order
            params = [{"outbox_id": i, "now": self.now} for i in answered]
            self.s.connection().execute(_ANSWER, params)
        for effect, reply_id in others:  # in the messages' order: a pause, then a resume
            _apply(self.s, effect, self.domain, self.now, reply_id)


_REPLY = Reply.__table__  # type: ignore[attr-defined]
_OUTBOX = Outbox.__table__  # type: ignore[attr-defined]
_ANSWER = (
    update(_OUTBOX)
    .where(_OUTBOX.c.id == bindparam("outbox_id"), _OUTBOX.c.answered_at.is_(None))
    .values(answered_at=bindparam("now"))
)


def _insert_new(s: Session, replies: list[Reply]) -> dict[int, int]:
    """INSERT ... ON CONFLICT (raw_id) DO NOTHING for all of them: raw id -> new reply id, for
    the ones no other process recorded first."""
    columns = [c.name for c in _REPLY.columns if c.name != "id"]
    rows = [{name: getattr(reply, name) for name in columns} for reply in replies]
    new = insert_new_returning(s, Reply, rows, "raw_id", ("raw_id", "id"))
    return {raw_id: id_ for raw_id, id_ in new}


@contextmanager
def batch(engine: Engine, domain: str, now: datetime) -> Iterator[Batch]:
    """A Batch, written and committed when the block ends; an exception rolls every message
    back."""
    with session(engine) as s:
        b = Batch(s, domain, now)
        yield b
        b.flush()
        s.commit()


def record(engine: Engine, reply: Reply, effects: list[Effect], domain: str, now: datetime) -> bool:
    """Store the reply and apply its effects in one transaction.

    False when another process recorded this message first (nothing is applied twice).
    """
    with batch(engine, domain, now) as b:
        b.record(reply, effects)
    return bool(b.recorded)


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
                .where(Reply.needs_review, Reply.reviewed_at.is_(None))
                .order_by(Reply.received_at.desc(), Reply.id.desc())
                .limit(limit)
            ).scalars()
        )


def mark_reviewed(
    engine: Engine, raw_id: int, now: datetime, note: str | None = None
) -> tuple[str, Reply | None]:
    """A message that needed review is dealt with: "done", or why not ("unknown": no such
    message, or not yet understood; "not flagged"; "already", with when)."""
    with session(engine) as s:
        reply = s.execute(select(Reply).where(Reply.raw_id == raw_id)).scalar_one_or_none()
        if reply is None:
            return "unknown", None
        if not reply.needs_review:
            return "not flagged", reply
        if reply.reviewed_at is not None:
            return "already", reply
        reply.reviewed_at, reply.review_note = now, note
        s.add(reply)
        s.commit()
        return "done", reply


def get_reply(engine: Engine, reply_id: int) -> Reply | None:
    with session(engine) as s:
        return s.get(Reply, reply_id)


def get_raw(engine: Engine, raw_id: int) -> RawMessage | None:
    with session(engine) as s:
        return s.get(RawMessage, raw_id)
