"""What the store knows about clients: pauses, stops and addresses that bounce."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from checkin.core.cadence import ClientState
from checkin.store.db import session
from checkin.store.models import AddressStatus, ClientStatus


def states(engine: Engine, client_ids: Iterable[str]) -> dict[str, ClientState]:
    """Every client's state; an address that bounced is blocked whoever lists it."""
    with session(engine) as s:
        statuses = {row.client_id: row for row in s.execute(select(ClientStatus)).scalars()}
        bouncing = frozenset(
            s.execute(select(AddressStatus.address).where(AddressStatus.bouncing)).scalars()
        )
    return {cid: _state(statuses.get(cid), bouncing) for cid in client_ids}


def _state(row: ClientStatus | None, bouncing: frozenset[str]) -> ClientState:
    if row is None:
        return ClientState(bouncing=bouncing)
    return ClientState(
        stopped=row.status == "stopped",
        paused=row.status == "paused",
        paused_until=row.paused_until,
        bouncing=bouncing,
    )


def set_status(
    engine: Engine, client_id: str, status: str, now: datetime, until: datetime | None = None
) -> None:
    with session(engine) as s:
        write_status(s, client_id, status, now, until)
        s.commit()


def write_status(
    s: Session, client_id: str, status: str, now: datetime, until: datetime | None = None
) -> None:
    """Inside the caller's transaction."""
    if status not in {"active", "paused", "stopped"}:
        raise ValueError(f"unknown client status {status!r}")
    row = s.get(ClientStatus, client_id) or ClientStatus(client_id=client_id, changed_at=now)
    row.status, row.paused_until, row.changed_at = status, until, now
    s.add(row)


def mark_bouncing(engine: Engine, address: str, now: datetime, detail: str | None = None) -> None:
    with session(engine) as s:
        write_bouncing(s, address, now, detail)
        s.commit()


def write_bouncing(s: Session, address: str, now: datetime, detail: str | None = None) -> None:
    key = address.strip().lower()
    row = s.get(AddressStatus, key) or AddressStatus(address=key, since=now)
    row.bouncing, row.detail = True, detail
    s.add(row)


def clear_bouncing(engine: Engine, address: str) -> None:
    with session(engine) as s:
        row = s.get(AddressStatus, address.strip().lower())
        if row is not None:
            s.delete(row)
            s.commit()
