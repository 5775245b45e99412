"""Everything stored about a client, to hand over (export) or to erase (forget)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine, delete, or_, select, update

from checkin.store.db import session
from checkin.store.models import AddressStatus, ClientStatus, Outbox, RawMessage, Reply


@dataclass
class ClientRecord:
    client_id: str
    status: ClientStatus | None
    sent: list[Outbox] = field(default_factory=list)
    replies: list[tuple[Reply, RawMessage]] = field(default_factory=list)


def client_record(engine: Engine, client_id: str, addresses: Iterable[str]) -> ClientRecord:
    with session(engine) as s:
        record = ClientRecord(client_id, s.get(ClientStatus, client_id))
        record.sent = list(
            s.execute(
                select(Outbox).where(Outbox.client_id == client_id).order_by(Outbox.id)
            ).scalars()
        )
        record.replies = [
            (r, m)
            for r, m in s.execute(
                select(Reply, RawMessage)
                .join(RawMessage, RawMessage.id == Reply.raw_id)
                .where(_theirs(client_id, addresses))
                .order_by(Reply.received_at, Reply.id)
            ).all()
        ]
    return record


def _theirs(client_id: str, addresses: Iterable[str]):
    """Attributed to them, or sent from one of their addresses (even if unattributed)."""
    lowered = [a.lower() for a in addresses]
    return or_(Reply.client_id == client_id, RawMessage.sender.in_(lowered))


def unattributed(engine: Engine) -> list[tuple[Reply, RawMessage]]:
    with session(engine) as s:
        return [
            (r, m)
            for r, m in s.execute(
                select(Reply, RawMessage)
                .join(RawMessage, RawMessage.id == Reply.raw_id)
                .where(Reply.attribution == "unattributed")
                .order_by(Reply.received_at, Reply.id)
            ).all()
        ]


@dataclass(frozen=True)
class Forgotten:
    messages_sent: int
    replies: int
    raw_messages: int
    statuses: int


def forget(engine: Engine, client_id: str, addresses: Iterable[str]) -> Forgotten:
    """Erase the client's check-ins, replies, raw messages and statuses, in one transaction."""
    addresses = [a.lower() for a in addresses]
    with session(engine) as s:
        raw_ids = list(
            s.execute(
                select(RawMessage.id)
                .outerjoin(Reply, Reply.raw_id == RawMessage.id)
                .where(_theirs(client_id, addresses))
            ).scalars()
        )
        outbox_ids = select(Outbox.id).where(Outbox.client_id == client_id)
        # Another client's reply can only point at this client's check-in if it was
        # misattributed; unlink rather than lose it.
        s.execute(update(Reply).where(Reply.outbox_id.in_(outbox_ids)).values(outbox_id=None))
        replies = s.execute(delete(Reply).where(Reply.raw_id.in_(raw_ids))).rowcount
        raws = s.execute(delete(RawMessage).where(RawMessage.id.in_(raw_ids))).rowcount
        s.execute(update(Outbox).where(Outbox.parent_id.in_(outbox_ids)).values(parent_id=None))
        sent = s.execute(delete(Outbox).where(Outbox.client_id == client_id)).rowcount
        statuses = s.execute(
            delete(ClientStatus).where(ClientStatus.client_id == client_id)
        ).rowcount
        statuses += s.execute(
            delete(AddressStatus).where(AddressStatus.address.in_(addresses))
        ).rowcount
        s.commit()
    return Forgotten(sent, replies, raws, statuses)
