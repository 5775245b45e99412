"""scale: one, then two `checkin run` workers on one PostgreSQL database, N check-ins due at once.

    CHECKIN_TEST_POSTGRES_URL=postgresql://... python bench/scale.py [--tiny | --size N]

A generated practice of N clients, each with one check-in due two minutes ago on the real clock
(`checkin run` has no `--at`; see `bench.practice.due_now_dict`), in a fresh PostgreSQL schema
that is migrated before the workers start (workers starting together on an empty schema take
turns migrating, tested in tests/test_migrations.py; migrating first keeps that out of the
figure). Each round starts the `checkin run` processes, and
times from their start until the aiosmtpd sink (in this process, on the same two cores) holds a
message for every check-in; then the workers get SIGTERM, and the sink's messages are matched
to the outbox by Message-ID (chosen once per outbox row, whose unique key is the check-in's):
`duplicates` counts check-in keys seen more than once. Round one: one worker (the floor);
round two: two workers on a fresh schema. `ratio = one_worker_s / two_workers_s` is the
speed-up; the goal is `duplicates == 0` and `sent == N` in both rounds.

Every worker first parses the practice file (about 3 s for 10,000 clients) and plans; that is
part of the wall time, and `*_send_s` (first to last message at the sink) is reported beside it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml

from bench.common import ROOT, Row, Skip, main_for, note, postgres_schema, size_of, started_sink
from bench.practice import due_now_dict

KEY = "scale"
FULL = 10_000
GOAL = "duplicates == 0, sent == N"
ROUND_TIMEOUT = 300.0  # seconds: a stuck round fails loudly instead of hanging `make bench`
_MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass
class KeySink:
    """Counts what it accepted by Message-ID, with the arrival time of each message."""

    seen: Counter[str] = field(default_factory=Counter)
    first_at: float | None = None
    last_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        content = envelope.original_content or envelope.content or b""  # type: ignore[attr-defined]
        head = content.split(b"\r\n\r\n", 1)[0]
        found = _MESSAGE_ID.search(head)
        now = time.perf_counter()
        with self.lock:
            self.seen[found.group(1).decode() if found else "(none)"] += 1
            self.first_at = self.first_at or now
            self.last_at = now
        return "250 OK"

    def distinct(self) -> int:
        with self.lock:
            return len(self.seen)

    def clear(self) -> None:
        with self.lock:
            self.seen.clear()
            self.first_at = self.last_at = None


@dataclass
class Round:
    workers: int
    seconds: float  # from starting the workers to the last check-in at the sink
    send_seconds: float  # first to last check-in at the sink
    first_seconds: float  # start to the first check-in: parsing the practice file, planning
    sent: int  # distinct check-ins the sink received
    messages: int  # everything the sink received
    duplicates: int
    outbox_sent: int
    exit_codes: list[int]
    shares: list[int]  # check-ins each worker logged as sent


def postgres_url() -> str:
    url = os.environ.get("CHECKIN_TEST_POSTGRES_URL")
    if not url:
        raise Skip("set CHECKIN_TEST_POSTGRES_URL (e.g. postgresql://postgres@127.0.0.1/test)")
    return url


@contextmanager
def fresh_schema(base: str) -> Iterator[str]:
    """A schema of its own, migrated, dropped afterwards; the URL that points into it."""
    from checkin.store.db import engine_for, upgrade

    with postgres_schema(base, "bench_scale") as url:
        engine = engine_for(url)
        upgrade(engine)
        engine.dispose()
        yield url


def write_practice(path: Path, smtp_port: int, url: str, clients: int) -> None:
    # CSafeDumper: the pure-Python dumper alone takes seconds at 10,000 clients.
    data = due_now_dict(smtp_port, url, clients=clients)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    with path.open("w", encoding="utf-8") as f:
        yaml.dump(data, f, Dumper=dumper, sort_keys=False, allow_unicode=True)


def worker_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def start_workers(config: Path, count: int, logs: Path) -> list[subprocess.Popen[bytes]]:
    checkin = str(Path(sys.executable).parent / "checkin")
    started = []
    for i in range(count):
        with (logs / f"worker{i}.log").open("wb") as log:
            process = subprocess.Popen(
                [checkin, "--config", str(config), "run"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=worker_env(), cwd=ROOT,
            )  # fmt: skip
        started.append(process)
    return started


def await_running(logs: Path, count: int) -> None:
    """Each worker's service is up (signal handlers in place) before it is asked to stop.

    In a tiny round one worker can send everything while the other is still starting; a
    SIGTERM then would meet Python's default handler and end it with -15, not a clean stop.
    """
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if sum("running:" in p.read_text(errors="replace") for p in logs.glob("*.log")) >= count:
            return
        time.sleep(0.05)


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> list[int]:
    """SIGTERM, as systemd would: each finishes the message in hand and exits 0."""
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    codes = []
    for w in workers:
        try:
            codes.append(w.wait(timeout=60))
        except subprocess.TimeoutExpired:
            w.kill()
            codes.append(w.wait())
    return codes


def await_all(sink: KeySink, n: int, workers: list[subprocess.Popen[bytes]], logs: Path) -> None:
    deadline = time.monotonic() + ROUND_TIMEOUT
    while sink.distinct() < n:
        dead = [w for w in workers if w.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = "a worker exited" if dead else f"timed out after {ROUND_TIMEOUT:.0f} s"
            tails = "\n".join(p.read_text(errors="replace")[-2000:] for p in logs.glob("*.log"))
            raise RuntimeError(f"scale: {why} with {sink.distinct()} of {n} sent\n{tails}")
        time.sleep(0.02)


def outbox_facts(url: str) -> tuple[dict[str, str], int]:
    """Message-ID -> check-in key for every check-in, and how many the outbox marks sent."""
    from sqlalchemy import func, select

    from checkin.store.db import engine_for
    from checkin.store.models import Outbox

    engine = engine_for(url)
    try:
        with engine.connect() as c:
            rows = c.execute(select(Outbox.message_id, Outbox.key).where(Outbox.kind == "checkin"))
            keys = {message_id: key for message_id, key in rows}
            sent = c.execute(
                select(func.count()).where(Outbox.kind == "checkin", Outbox.status == "sent")
            ).scalar_one()
    finally:
        engine.dispose()
    return keys, sent


def one_round(base: str, sink: KeySink, smtp_port: int, n: int, workers: int) -> Round:
    sink.clear()
    with (
        fresh_schema(base) as url,
        tempfile.TemporaryDirectory(prefix="checkin-bench-scale-") as tmp,
    ):
        config, logs = Path(tmp) / "checkin.yaml", Path(tmp)
        write_practice(config, smtp_port, url, n)
        with note(f"scale: {workers} worker(s), {n} check-ins"):
            start = time.perf_counter()
            running = start_workers(config, workers, logs)
            try:
                await_all(sink, n, running, logs)
                await_running(logs, workers)
            finally:
                codes = stop_workers(running)
        keys, outbox_sent = outbox_facts(url)
        shares = [_sent_by(logs / f"worker{i}.log") for i in range(workers)]
    assert sink.first_at is not None and sink.last_at is not None
    per_key = Counter()  # type: Counter[str]
    for message_id, count in sink.seen.items():
        per_key[keys.get(message_id, f"unknown {message_id}")] += count
    return Round(
        workers=workers,
        seconds=sink.last_at - start,
        send_seconds=sink.last_at - sink.first_at,
        first_seconds=sink.first_at - start,
        sent=len(per_key),
        messages=sum(per_key.values()),
        duplicates=sum(c - 1 for c in per_key.values() if c > 1),
        outbox_sent=outbox_sent,
        exit_codes=codes,
        shares=shares,
    )


def _sent_by(log: Path) -> int:
    """Check-ins this worker sent, by its own log ("outbox 12 checkin sent (attempt 1)")."""
    return len(re.findall(r"outbox \d+ checkin sent", log.read_text(errors="replace")))


def run(tiny: bool = False, size: int | None = None) -> dict:
    base = postgres_url()
    n = size_of(tiny, size, FULL)
    sink = KeySink()
    controller = started_sink(sink)
    try:
        one = one_round(base, sink, controller.port, n, 1)
        two = one_round(base, sink, controller.port, n, 2)
    finally:
        controller.stop()
    return figures(n, one, two)


def figures(n: int, one: Round, two: Round) -> dict:
    return {
        "checkins": n,
        "sent": min(one.sent, two.sent),
        "duplicates": one.duplicates + two.duplicates,
        "one_worker_sent": one.sent,
        "two_workers_sent": two.sent,
        "one_worker_duplicates": one.duplicates,
        "two_workers_duplicates": two.duplicates,
        "outbox_sent": [one.outbox_sent, two.outbox_sent],
        "one_worker_s": round(one.seconds, 2),
        "two_workers_s": round(two.seconds, 2),
        "one_worker_send_s": round(one.send_seconds, 2),
        "two_workers_send_s": round(two.send_seconds, 2),
        "one_worker_first_s": round(one.first_seconds, 2),
        "two_workers_first_s": round(two.first_seconds, 2),
        "one_worker_per_s": round(n / one.seconds, 1),
        "two_workers_per_s": round(n / two.seconds, 1),
        "ratio": round(one.seconds / two.seconds, 2),
        "send_ratio": round(one.send_seconds / two.send_seconds, 2) if two.send_seconds else None,
        "exit_codes": one.exit_codes + two.exit_codes,
        "two_workers_shares": two.shares,
        "goal": GOAL,
        "cores": os.cpu_count(),
    }


def rows(f: dict) -> list[Row]:
    n = f["checkins"]
    return [
        Row(KEY, f"two workers, s ({n} check-ins; floor: one)", f["two_workers_s"],
            f["one_worker_s"], f["ratio"]),
        Row(KEY, "  send phase only, s", f["two_workers_send_s"], f["one_worker_send_s"],
            f["send_ratio"]),
        Row(KEY, "  start to first check-in, s", f["two_workers_first_s"],
            f["one_worker_first_s"]),
        Row(KEY, f"sent, fewest of both rounds (of {n})", f["sent"], n, f["sent"] / n,
            "ratio >= 1"),
        Row(KEY, "duplicates, both rounds", f["duplicates"], None, f["duplicates"],
            "duplicates <= 0"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return main_for(KEY, run, rows, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
