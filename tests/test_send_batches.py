"""Rows are claimed fifty at a time: still each sent once, in order, and never to a stopped client."""

from __future__ import annotations

import copy
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from checkin.clock import FixedClock
from checkin.config import load
from checkin.jobs import send
from checkin.jobs.plan import plan
from checkin.jobs.send import send_pending
from checkin.mail.compose import Templates
from checkin.practice import Practice
from checkin.store import clients, outbox
from checkin.store.db import engine_for, session, upgrade
from checkin.store.models import Outbox
from checkin.store.outbox import NewMessage
from tests.conftest import SmtpServer, practice_dict, write_practice

SLOT = datetime.fromisoformat("2026-11-27T00:00:30+00:00")  # 19:00 in New York


def _practice(tmp_path: Path, smtp: SmtpServer, database_url: str, n: int) -> Practice:
    data = practice_dict(smtp, database_url)
    template = data["clients"][0]
    data["clients"] = []
    for i in range(n):
        client = copy.deepcopy(template)
        client.update(id=f"c{i:03d}", name=f"Client {i}", email=f"c{i:03d}@client.test")
        data["clients"].append(client)
    return load(write_practice(tmp_path / "checkin.yaml", data))


@pytest.fixture
def engine(database_url: str):  # type: ignore[no-untyped-def]
    engine = engine_for(database_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def _rows(engine) -> list[Outbox]:  # type: ignore[no-untyped-def]
    with session(engine) as s:
        return list(s.execute(select(Outbox).order_by(Outbox.id)).scalars())


def test_two_workers_claim_disjoint_batches_oldest_first(engine) -> None:  # type: ignore[no-untyped-def]
    now = SLOT
    messages = [
        NewMessage(key=f"k{i}", kind="confirm", recipient=f"c{i}@client.test", due_at=now,
                   send_after=now - timedelta(minutes=i % 7, seconds=i))
        for i in range(120)
    ]  # fmt: skip
    assert outbox.enqueue(engine, messages, "practice.test", now) == 120
    barrier = threading.Barrier(2)
    got: dict[str, list[Outbox]] = {}

    def worker(name: str) -> None:
        barrier.wait()
        got[name] = outbox.claim_batch(engine, now, name, 50)

    threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a, b = ({r.id for r in got[n]} for n in ("a", "b"))
    assert len(a) == len(b) == 50 and not a & b
    for batch in got.values():
        order = [(r.send_after, r.id) for r in batch]
        assert order == sorted(order)
        assert {r.status for r in batch} == {"sending"} and {r.attempts for r in batch} == {1}
    # The hundred oldest went first; twenty remain, then nothing.
    everything = sorted(_rows(engine), key=lambda r: (r.send_after, r.id))
    assert {r.id for r in everything[:100]} == a | b
    assert len(outbox.claim_batch(engine, now, "c", 50)) == 20
    assert outbox.claim_batch(engine, now, "d", 50) == []


def test_stopping_mid_batch_gives_the_rest_back_and_each_goes_once(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, engine
) -> None:  # type: ignore[no-untyped-def]
    practice = _practice(tmp_path, smtp_server, database_url, 8)
    clock = FixedClock(SLOT)
    assert plan(practice, engine, clock.now()) == 8
    templates = Templates(practice.templates)
    first = send_pending(
        practice, engine, clock, templates, "w1", lambda: len(smtp_server.sink.messages) >= 3
    )
    assert first.sent == 3
    left = [r for r in _rows(engine) if r.status != "sent"]
    assert len(left) == 5
    assert {(r.status, r.attempts, r.claimed_by) for r in left} == {("pending", 0, None)}
    assert send_pending(practice, engine, clock, templates, "w2").sent == 5
    recipients = sorted(to for _, [to] in smtp_server.sink.envelopes)
    assert recipients == [f"c{i:03d}@client.test" for i in range(8)]


def test_a_stop_stored_while_a_batch_is_sending_cancels_the_rest(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    # Client states are re-read at most once a second; at 0 every row re-reads them, so the
    # watcher's STOP (stored here by the SMTP server on the first message) must be seen.
    monkeypatch.setattr(send.Known, "FRESH", 0.0)
    practice = _practice(tmp_path, smtp_server, database_url, 4)
    clock = FixedClock(SLOT)
    plan(practice, engine, clock.now())
    original = smtp_server.sink.handle_DATA

    async def stop_c002_on_first(*args: object) -> str:
        if not smtp_server.sink.messages:
            clients.set_status(engine, "c002", "stopped", SLOT)
        return await original(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(smtp_server.sink, "handle_DATA", stop_c002_on_first)
    report = send_pending(practice, engine, clock, Templates(practice.templates), "w")
    assert (report.sent, report.cancelled) == (3, 1)
    assert "c002@client.test" not in [to for _, [to] in smtp_server.sink.envelopes]
    [cancelled] = [r for r in _rows(engine) if r.status == "cancelled"]
    assert cancelled.client_id == "c002"


class Ticking(FixedClock):
    """Each reading moves time on: a slow server eating into the claim's lease."""

    def __init__(self, at: datetime, step: timedelta):
        super().__init__(at)
        self.step = step

    def now(self) -> datetime:
        at = super().now()
        self.set(at + self.step)
        return at


def test_a_batch_outliving_half_its_lease_is_claimed_again_not_sent_twice(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]  # fmt: skip
    practice = _practice(tmp_path, smtp_server, database_url, 6)
    plan(practice, engine, SLOT)
    clock = Ticking(SLOT, timedelta(seconds=40))
    # Each message must leave while its claim is still ours: past the lease, another worker
    # may have taken the row and sent it too.
    still_ours: list[bool] = []
    mark_sent = outbox.mark_sent_on

    def checking(conn, row_id: int, worker: str, now: datetime) -> bool:  # type: ignore[no-untyped-def]
        row = outbox.get(engine, row_id)
        still_ours.append(
            row is not None and row.claimed_until is not None and row.claimed_until > now
        )
        return mark_sent(conn, row_id, worker, now)

    monkeypatch.setattr(outbox, "mark_sent_on", checking)
    report = send_pending(practice, engine, clock, Templates(practice.templates), "w")
    assert report.sent == 6 and still_ours == [True] * 6
    assert len(set(smtp_server.sink.message_ids())) == len(smtp_server.sink.messages) == 6
    rows = _rows(engine)
    assert {r.status for r in rows} == {"sent"}
    # Rows given back were claimed again; the claims that sent nothing were undone.
    assert {r.attempts for r in rows} == {1}


def _durability(conn) -> str:  # type: ignore[no-untyped-def]
    if conn.dialect.name == "sqlite":
        return {2: "full", 1: "relaxed"}[conn.exec_driver_sql("PRAGMA synchronous").scalar()]
    setting = conn.exec_driver_sql("SHOW synchronous_commit").scalar()
    return {"on": "full", "off": "relaxed"}[setting]


def test_only_the_sent_mark_skips_waiting_for_the_disk(engine) -> None:  # type: ignore[no-untyped-def]
    from checkin.store.db import repeatable_writes

    with engine.begin() as conn:
        assert _durability(conn) == "full"
    with repeatable_writes(engine) as conn:
        for _ in range(2):
            with conn.begin():
                assert _durability(conn) == "relaxed"
    # The same pooled connection is back to waiting for the disk for everything else.
    with engine.begin() as conn:
        assert _durability(conn) == "full"
