"""digest: every therapist's weekly digest (text and HTML) beside a one-query read of the week.

    python bench/digest.py [--tiny | --size CLIENTS]

A generated practice of 20 therapists and 1,000 clients with 3 daily check-ins each (SQLite);
a week of sent check-ins and replies (outbox, raw_message and reply rows, ~70% answered, 1% with
a risk flag) is inserted directly through the models. Timed: `digest_for` + `render` for every
therapist's window of that week. Floor: the same week's check-ins with their replies read into
Python objects with one query. `ratio = seconds / floor_seconds`; the goal is <= 5.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, main_for, note, size_of, timed
from bench.practice import EXPERIMENTS, practice_dict, write_and_load

KEY = "digest"
FULL_CLIENTS = 1000
THERAPISTS = 20
WEEK = "2026-W48"  # on-demand digest: Sunday 29 November 2026 18:00 London
GOAL = "<= 5"
RAW = (
    b"From: Client <{addr}>\r\nTo: checkin@practice.test\r\nSubject: Re: Your check-in\r\n"
    b"Message-ID: <{mid}@client.test>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    b"Yes, I did it. 7/10. Felt calmer.\r\n\r\nOn Thu, the practice wrote:\r\n> Did you try it?\r\n"
)
WORDS = ("calmer", "tired but ok", "a bit anxious", "proud of myself", "distracted", "rested")


def populate(engine: object, clients: int, experiments: int, seed: int = 7) -> int:
    """A week of check-ins (local 19:00, 22-28 November) and replies; returns reply count."""
    from sqlalchemy import insert

    from checkin.store.models import Outbox, RawMessage, Reply

    rng = random.Random(seed)
    outbox, raws, replies = [], [], []
    created = datetime(2026, 11, 20, tzinfo=UTC)
    for day in range(22, 29):
        sent_at = datetime(2026, 11, day + 1, 0, 0, 30, tzinfo=UTC)  # 19:00 New York
        for c in range(clients):
            cid = f"c{c:05d}"
            for eid, _ in EXPERIMENTS[:experiments]:
                oid = len(outbox) + 1
                answered = rng.random() < 0.7
                received = sent_at + timedelta(minutes=rng.randint(5, 600))
                outbox.append({
                    "id": oid, "key": f"checkin:{cid}:{eid}:2026-11-{day}T19:00",
                    "kind": "checkin", "client_id": cid, "experiment_id": eid,
                    "slot": f"2026-11-{day}T19:00", "recipient": f"{cid}@client.test",
                    "message_id": f"<o{oid}@practice.test>", "status": "sent", "attempts": 1,
                    "due_at": sent_at, "send_after": sent_at, "sent_at": sent_at,
                    "answered_at": received if answered else None, "created_at": created,
                })  # fmt: skip
                if not answered:
                    continue
                rid = len(raws) + 1
                addr = f"{cid}@client.test"
                raw = RAW.replace(b"{addr}", addr.encode()).replace(b"{mid}", str(rid).encode())
                raws.append({
                    "id": rid, "key": f"<r{rid}@client.test>",
                    "message_id": f"<r{rid}@client.test>",
                    "sha256": f"{rid:064x}", "sender": addr, "sent_date": received,
                    "size": len(raw), "raw": raw, "mailbox": "INBOX", "uidvalidity": 1,
                    "uid": rid, "fetched_at": received,
                })  # fmt: skip
                risk = rng.random() < 0.01
                replies.append({
                    "id": rid, "raw_id": rid, "received_at": received, "kind": "answer",
                    "attribution": "token", "client_id": cid, "experiment_id": eid,
                    "outbox_id": oid, "text": "Yes, I did it. 7/10. Felt calmer.",
                    "tried": rng.choice(("yes", "yes", "partly", "no")),
                    "rating": rng.randint(0, 10), "noticed": rng.choice(WORDS),
                    "next_time": "Same time tomorrow", "risk": risk,
                    "risk_reasons": json.dumps(["I can't go on"]) if risk else None,
                    "needs_review": False,
                })  # fmt: skip
    with engine.begin() as conn:  # type: ignore[attr-defined]
        for model, rows in ((Outbox, outbox), (RawMessage, raws), (Reply, replies)):
            for i in range(0, len(rows), 2000):
                conn.execute(insert(model), rows[i : i + 2000])
    return len(replies)


def run(tiny: bool = False, size: int | None = None) -> dict:
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from checkin.core.weekly import window_for_week
    from checkin.jobs.digest import digest_for, render
    from checkin.mail.compose import Templates
    from checkin.store.db import engine_for, upgrade
    from checkin.store.models import Outbox, Reply

    clients = size_of(tiny, size, FULL_CLIENTS, small=3)  # tiny: 3 clients, ~20 check-ins
    therapists = min(THERAPISTS, clients)
    experiments = 3 if not tiny else 1
    with tempfile.TemporaryDirectory(prefix="checkin-bench-digest-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'checkin.db'}"
        data = practice_dict(1025, url, therapists, clients, experiments)
        practice = write_and_load(Path(tmp) / "checkin.yaml", data)
        engine = engine_for(url)
        upgrade(engine)
        with note(f"digest: inserting a week for {clients} clients x {experiments}"):
            n_replies = populate(engine, clients, experiments)
        templates = Templates(practice.templates)
        windows = [window_for_week(t, WEEK) for t in practice.therapists]

        def real() -> int:
            size = 0
            for w in windows:
                rendered = render(templates, digest_for(practice, engine, w))
                size += len(rendered.text) + len(rendered.html)
            return size

        start, end = min(w.start for w in windows), max(w.end for w in windows)

        def floor() -> int:
            query = (
                select(Outbox, Reply)
                .outerjoin(Reply, Reply.outbox_id == Outbox.id)
                .where(Outbox.sent_at >= start, Outbox.sent_at < end)
            )
            with Session(engine) as s:
                return len(s.execute(query).all())

        real()  # warm: template compilation, SQLAlchemy statement caches, the page cache
        floor()
        with note(f"digest: {len(windows)} digests"):
            seconds, chars = timed(real)
        with note("digest floor: one query"):
            floor_seconds, rows_read = timed(floor)
        engine.dispose()
    return {
        "therapists": len(windows),
        "clients": clients,
        "checkins": clients * experiments * 7,
        "replies": n_replies,
        "rows_read_by_floor": rows_read,
        "rendered_chars": chars,
        "seconds": round(seconds, 6),
        "floor_seconds": round(floor_seconds, 6),
        "ratio": round(seconds / floor_seconds, 3),
        "goal": GOAL,
    }


def rows(f: dict) -> list[Row]:
    figure = f"seconds, {f['therapists']} digests ({f['replies']} replies)"
    return [Row(KEY, figure, f["seconds"], f["floor_seconds"], f["ratio"], f"ratio {GOAL}")]


def main(argv: list[str] | None = None) -> int:
    return main_for(KEY, run, rows, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
