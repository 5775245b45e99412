"""insert_new stores rows once, as given, on SQLite and PostgreSQL alike (PostgreSQL takes one
array per column; SQLite a row per parameter group)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, StatementError

from checkin.store.db import engine_for, insert_new, session, upgrade
from checkin.store.models import Outbox, RawMessage, Reply
from checkin.store.outbox import NewMessage, message_row

KATHMANDU = ZoneInfo("Asia/Kathmandu")  # +05:45: no whole-hour slip goes unseen
NOW = datetime(2026, 11, 3, 19, 7, 1, 123456, tzinfo=KATHMANDU)
ODD = ['say "hi"', "back\\slash", "{braces},commas", "NULL", "", "  spaced  ", "é ✓ 🙂", "a\nb"]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = engine_for(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def insert(engine: Engine, model: type, rows: list[dict[str, Any]], key: str = "key") -> int:
    with session(engine) as s:
        count = insert_new(s, model, rows, key)
        s.commit()
        return count


def stored(engine: Engine, model: type) -> list[dict[str, Any]]:
    table = model.__table__  # type: ignore[attr-defined]
    with session(engine) as s:
        return [dict(r) for r in s.execute(select(table).order_by(table.c.id)).mappings()]


def raw_row(i: int, **changes: object) -> dict[str, Any]:
    row: dict[str, Any] = {
        "key": f"<m{i}@example.test>",
        "message_id": f"<m{i}@example.test>",
        "sha256": f"{i:064x}",
        "sender": f"client{i}@example.test",
        "sent_date": NOW - timedelta(minutes=i),
        "size": 9000 + i,
        "headers_only": i % 2 == 1,
        # Not UTF-8, with a NUL byte and a backslash: bytes must come back exactly.
        "raw": b"Subject: x\r\n\r\n\xff\xfe\x00\\\x80" + bytes([i % 256]) * (i % 50),
        "mailbox": "INBOX",
        "uidvalidity": 2**32 - 1,  # an unsigned 32-bit IMAP number: BIGINT
        "uid": i + 1,
        "fetched_at": NOW,
    }
    return row | changes


def without_id(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in row.items() if k != "id"} for row in rows]


def test_raw_messages_come_back_as_given(engine: Engine) -> None:
    rows = [raw_row(i) for i in range(len(ODD))]
    rows[0] |= {"message_id": None, "sender": None, "sent_date": None}  # NULLs among values
    rows[1] |= {"sender": ODD[0], "mailbox": ODD[1]}
    rows += [raw_row(100 + i, mailbox=text) for i, text in enumerate(ODD)]
    assert insert(engine, RawMessage, rows) == len(rows)
    back = stored(engine, RawMessage)
    assert without_id(back) == rows  # the same instants, in UTC
    assert all(r["fetched_at"].utcoffset() == timedelta(0) for r in back)
    assert back[0]["fetched_at"] == datetime(2026, 11, 3, 13, 22, 1, 123456, tzinfo=UTC)
    assert [r["id"] for r in back] == sorted(r["id"] for r in back)


def test_a_column_that_is_null_in_every_row(engine: Engine) -> None:
    rows = [raw_row(i, message_id=None, sender=None, sent_date=None) for i in range(3)]
    assert insert(engine, RawMessage, rows) == 3
    assert without_id(stored(engine, RawMessage)) == rows


def test_outbox_rows_come_back_as_given_with_defaults_for_what_they_leave_out(
    engine: Engine,
) -> None:
    messages = [
        NewMessage(key=f"checkin:alex:breathing:{i}", kind="checkin", recipient="a@b.test",
                   due_at=NOW, send_after=NOW + timedelta(hours=i), client_id="alex",
                   experiment_id=None if i else "breathing", slot=f"2026-11-0{i + 1}T19:00",
                   with_token=i % 2 == 0, detail=ODD[i])
        for i in range(4)
    ]  # fmt: skip
    rows = [message_row(m, "practice.test", NOW) for m in messages]
    short = [{k: v for k, v in row.items() if k not in ("status", "attempts")} for row in rows]
    assert insert(engine, Outbox, rows[:2]) == 2
    assert insert(engine, Outbox, short[2:]) == 2  # status and attempts: their defaults
    back = stored(engine, Outbox)
    for row, got in zip(rows, back, strict=True):
        assert {k: got[k] for k in row} == row
        assert got["claimed_until"] is None and got["last_error"] is None


def test_replies_come_back_as_given(engine: Engine) -> None:
    insert(engine, RawMessage, [raw_row(i) for i in range(3)])
    raw_ids = [r["id"] for r in stored(engine, RawMessage)]
    columns = [c.name for c in Reply.__table__.columns if c.name != "id"]  # type: ignore[attr-defined]
    rows = [
        {name: None for name in columns}
        | {"raw_id": raw_id, "received_at": NOW, "kind": "answer", "attribution": "token",
           "needs_review": i == 1, "risk": i == 2, "rating": [None, 0, 10][i],
           "pause_until": date(2026, 12, 20) if i else None, "text": ODD[i], "tried": "yes"}
        for i, raw_id in enumerate(raw_ids)
    ]  # fmt: skip
    assert insert(engine, Reply, rows, key="raw_id") == 3
    assert without_id(stored(engine, Reply)) == rows
    assert insert(engine, Reply, rows, key="raw_id") == 0


def test_only_new_keys_count_and_existing_rows_stay_as_they_were(engine: Engine) -> None:
    first = [raw_row(i) for i in range(5)]
    assert insert(engine, RawMessage, first) == 5
    before = stored(engine, RawMessage)
    again = [raw_row(i, mailbox="Archive", raw=b"other") for i in range(3, 8)]
    assert insert(engine, RawMessage, again) == 3
    after = stored(engine, RawMessage)
    assert after[:5] == before
    assert without_id(after[5:]) == again[2:]


def test_the_same_key_twice_in_one_call_is_stored_once_the_first(engine: Engine) -> None:
    rows = [raw_row(1), raw_row(2), raw_row(1, mailbox="Second"), raw_row(2, uid=99)]
    assert insert(engine, RawMessage, rows) == 2
    assert without_id(stored(engine, RawMessage)) == rows[:2]


def test_a_thousand_rows_in_one_call(engine: Engine) -> None:
    rows = [raw_row(i) for i in range(1000)]
    assert insert(engine, RawMessage, rows) == 1000
    assert insert(engine, RawMessage, rows) == 0
    back = stored(engine, RawMessage)
    assert len(back) == 1000 and without_id(back[::97]) == rows[::97]


def test_a_naive_datetime_is_refused(engine: Engine) -> None:
    with pytest.raises((ValueError, StatementError), match="naive datetime"):
        insert(engine, RawMessage, [raw_row(1, fetched_at=datetime(2026, 11, 3))])
    assert stored(engine, RawMessage) == []


def test_a_value_too_long_for_its_column_is_never_cut(engine: Engine) -> None:
    long_key = "k" * 301
    if engine.dialect.name == "sqlite":  # SQLite keeps any length
        insert(engine, RawMessage, [raw_row(1, key=long_key)])
        assert stored(engine, RawMessage)[0]["key"] == long_key
        return
    with pytest.raises(DBAPIError, match="too long"):
        insert(engine, RawMessage, [raw_row(1, key=long_key)])
