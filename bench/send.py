"""send: due check-ins through the real path to an aiosmtpd sink, beside plain smtplib.

    python bench/send.py [--tiny | --size N]

Real path: a generated practice of N clients (one daily 19:00 check-in each, SQLite), then
`checkin.jobs.plan.plan` and `checkin.jobs.send.send_pending` with a FixedClock at the slot:
claim, compose, SMTP, mark, one row at a time over one connection. `per_s` counts both.
Floor: `smtplib` sending the very same messages (the bytes the sink received) over one
connection. Each is timed three times (a fresh database each round) and the fastest round of
each counts. `ratio = per_s / floor_per_s`; the goal is >= 0.5.
"""

from __future__ import annotations

import smtplib
import sys
import tempfile
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


from bench.common import Row, main_for, note, size_of, started_sink, timed
from bench.practice import SLOT_UTC, practice_dict, write_and_load

KEY = "send"
FULL = 2000
GOAL = ">= 0.5"
# Best of three for both, as timeit does: another process on a 2-core machine slows one
# round, never speeds it up, so the fastest round is the least disturbed measurement.
ROUNDS = 3


class CountingSink:
    """Keeps what it accepted (as bytes) and nothing else."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], bytes]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.original_content or envelope.content  # type: ignore[attr-defined]
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), content))  # type: ignore[attr-defined]
        return "250 OK"


def run(tiny: bool = False, size: int | None = None) -> dict:
    n = size_of(tiny, size, FULL)
    rounds = 1 if tiny else ROUNDS
    sink = CountingSink()
    controller = started_sink(sink)
    try:
        times = []
        for i in range(rounds):
            with note(f"send: {n} check-ins, plan + send_pending (round {i + 1} of {rounds})"):
                times.append(_real_round(controller.port, n, sink))
        messages = list(sink.received)
        floor_times = []
        for i in range(rounds):
            with note(f"send floor: {n} messages with smtplib (round {i + 1} of {rounds})"):
                floor_times.append(_floor_round(controller.port, messages, sink))
    finally:
        controller.stop()
    seconds, floor_seconds = min(times), min(floor_times)
    per_s, floor_per_s = n / seconds, n / floor_seconds
    return {
        "messages": n,
        "rounds": rounds,
        "seconds": round(seconds, 3),
        "per_s": round(per_s, 1),
        "floor_seconds": round(floor_seconds, 3),
        "floor_per_s": round(floor_per_s, 1),
        "ratio": round(per_s / floor_per_s, 3),
        "goal": GOAL,
        "mean_bytes": round(sum(len(m[2]) for m in messages) / n),
        "all_seconds": [round(t, 3) for t in times],
        "all_floor_seconds": [round(t, 3) for t in floor_times],
    }


def _real_round(port: int, n: int, sink: CountingSink) -> float:
    """A fresh database and practice each round: plan and send all n; its wall time."""
    from checkin.clock import FixedClock
    from checkin.jobs.plan import plan
    from checkin.jobs.send import send_pending, worker_id
    from checkin.mail.compose import Templates
    from checkin.store.db import engine_for, upgrade

    sink.received.clear()
    with tempfile.TemporaryDirectory(prefix="checkin-bench-send-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'checkin.db'}"
        practice = write_and_load(Path(tmp) / "checkin.yaml", practice_dict(port, url, clients=n))
        engine = engine_for(url)
        upgrade(engine)
        clock = FixedClock(datetime.fromisoformat(SLOT_UTC))
        templates = Templates(practice.templates)

        def real() -> tuple[int, int]:
            planned = plan(practice, engine, clock.now())
            report = send_pending(practice, engine, clock, templates, worker_id())
            return planned, report.sent

        seconds, (planned, sent) = timed(real)
        engine.dispose()
    if sent != n or len(sink.received) != n:
        raise RuntimeError(f"send: planned {planned}, sent {sent}, sink got "
                           f"{len(sink.received)}; expected {n}")  # fmt: skip
    return seconds


def _floor_round(
    port: int, messages: list[tuple[str, list[str], bytes]], sink: CountingSink
) -> float:
    sink.received.clear()

    def floor() -> None:
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.ehlo()
            for sender, rcpts, content in messages:
                smtp.sendmail(sender, rcpts, content)

    seconds, _ = timed(floor)
    assert len(sink.received) == len(messages)
    return seconds


def rows(f: dict) -> list[Row]:
    return [Row(KEY, f"check-ins/s ({f['messages']})", f["per_s"], f["floor_per_s"], f["ratio"],
                f"ratio {GOAL}")]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return main_for(KEY, run, rows, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
