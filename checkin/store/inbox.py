"""Raw messages in, first: stored with their mailbox position before anything else happens."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.parser import BytesHeaderParser
from email.utils import parseaddr, parsedate_to_datetime
from typing import Any

from sqlalchemy import Engine, func, select

from checkin.clock import as_utc
from checkin.store.db import insert_new, session
from checkin.store.models import MailboxState, RawMessage, Reply


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes  # the whole message, or its headers when it is over the size limit
    size: int  # the size the server reported for the whole message
    headers_only: bool = False


def position(engine: Engine, mailbox: str) -> tuple[int, int] | None:
    """(UIDVALIDITY, last stored UID) of a folder, or None before its first pass."""
    with session(engine) as s:
        row = s.get(MailboxState, mailbox)
        return (row.uidvalidity, row.last_uid) if row else None


def restart_position(engine: Engine, mailbox: str, uidvalidity: int) -> None:
    """A new UIDVALIDITY invalidates every UID we knew: rescan from the start."""
    with session(engine) as s:
        row = s.get(MailboxState, mailbox) or MailboxState(mailbox=mailbox, uidvalidity=0)
        row.uidvalidity, row.last_uid = uidvalidity, 0
        s.add(row)
        s.commit()


def store(
    engine: Engine, mailbox: str, uidvalidity: int, batch: list[Fetched], now: datetime
) -> int:
    """Store a batch and advance the folder's position, in one transaction.

    Returns how many were new; a message already stored (same key) is left as it was.
    """
    if not batch:
        return 0
    rows = [_raw_row(f, mailbox, uidvalidity, now) for f in batch]
    with session(engine) as s:
        inserted = insert_new(s, RawMessage, rows)
        state = s.get(MailboxState, mailbox) or MailboxState(mailbox=mailbox, uidvalidity=0)
        state.uidvalidity = uidvalidity
        state.last_uid = max(state.last_uid or 0, max(f.uid for f in batch))
        s.add(state)
        s.commit()
    return inserted


def _raw_row(f: Fetched, mailbox: str, uidvalidity: int, now: datetime) -> dict[str, object]:
    digest = hashlib.sha256(f.raw).hexdigest()
    headers = BytesHeaderParser().parsebytes(header_block(f.raw))
    message_id = _header(headers, "Message-ID")
    return {
        "key": message_id.strip()[:300] if message_id else f"sha256:{digest}",
        "message_id": message_id[:300] if message_id else None,
        "sha256": digest,
        "sender": parseaddr(_header(headers, "From") or "")[1].lower()[:320] or None,
        "sent_date": _date(_header(headers, "Date")),
        "size": f.size,
        "headers_only": f.headers_only,
        "raw": f.raw,
        "mailbox": mailbox,
        "uidvalidity": uidvalidity,
        "uid": f.uid,
        "fetched_at": now,
    }


_BLANK_LINE = re.compile(rb"\r?\n\r?\n")


def header_block(raw: bytes) -> bytes:
    """The message up to its first blank line: all the header parser reads, without making it
    split (and decode) the whole body, a 200 KB photo included, into lines it then ignores."""
    end = _BLANK_LINE.search(raw)
    return raw if end is None else raw[: end.end()]


def _header(headers: object, name: str) -> str | None:
    try:
        value = headers.get(name)  # type: ignore[attr-defined]
    except Exception:  # a malformed header must not stop the message being stored
        return None
    return str(value).strip() or None if value is not None else None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        return None


def unprocessed(engine: Engine, batch: int = 50) -> Iterator[RawMessage]:
    """Stored messages not yet understood, oldest first, a few at a time (memory stays flat)."""
    for rows in unprocessed_batches(engine, batch):
        yield from rows


def unprocessed_batches(
    engine: Engine, batch: int = 50, max_bytes: int | None = None
) -> Iterator[list[RawMessage]]:
    """The same, a list of up to `batch` messages (and, given `max_bytes`, up to that many
    bytes, at least one message) at a time. Each list is read afresh after the caller dealt
    with the one before (keyset on the id), so it never repeats a message."""
    after = 0
    while True:
        with session(engine) as s:
            waiting = s.execute(
                select(RawMessage.id, RawMessage.size)
                .outerjoin(Reply, Reply.raw_id == RawMessage.id)
                .where(Reply.id.is_(None), RawMessage.id > after)
                .order_by(RawMessage.id)
                .limit(batch)
            ).all()
            ids = _within(waiting, max_bytes)
            if not ids:
                return
            chosen = select(RawMessage).where(RawMessage.id.in_(ids)).order_by(RawMessage.id)
            rows = list(s.execute(chosen).scalars())
        if rows:
            yield rows
        after = ids[-1]


def _within(waiting: list[Any], max_bytes: int | None) -> list[int]:
    """Ids from the start of `waiting` whose sizes (the server's, an upper bound of what is
    stored) fit in `max_bytes`; the first always."""
    ids: list[int] = []
    held = 0
    for raw_id, size in waiting:
        if ids and max_bytes is not None and held + size > max_bytes:
            break
        ids.append(raw_id)
        held += size
    return ids


def count_stored(engine: Engine) -> int:
    with session(engine) as s:
        return s.execute(select(func.count()).select_from(RawMessage)).scalar_one()
