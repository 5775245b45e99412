"""latency: `checkin run` watching with IDLE while replies arrive at 5 a second.

    python bench/latency.py [--tiny | --size REPLIES]

A real Dovecot on loopback holds the practice's mailbox; an aiosmtpd sink takes what checkin
sends; the practice (SQLite) has 20 clients with a check-in due two minutes ago on the real
clock (`bench.practice.due_now_dict`). `checkin run` is started as a subprocess and sends those
check-ins; the benchmark then delivers one warm-up reply and waits for its outcome, so the
watcher is known to be connected and idling, and the one-off costs of a first message (lazy
imports, the done folder's creation) are left out. Then REPLIES replies (default 300: 60 s at
5/s) are delivered with `doveadm save` on a steady 5-a-second schedule: answers to the real
check-ins (their reply token in To, their Message-ID in In-Reply-To), in Gmail, Outlook, iPhone
and HTML-only shapes, one in 30 with risk language (which makes checkin send a safety message
and an alert before it reads on, as it would in practice).

Latency of a reply = when its outcome (the `reply` row) is first seen in the database minus
when `doveadm save` returned. checkin stores no time of its own for the outcome (`received_at`
is the raw message's `fetched_at`), so this process polls the database every 20 ms, and each
figure may be up to one poll late. `fetched_*` use checkin's own `fetched_at` (system clock),
the moment the raw message was stored, so the two show where the time goes. No floor: the
goal is `p95_s <= 2`. Finally `checkin run` gets SIGTERM and must stop cleanly.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from html import escape
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import yaml
from aiosmtpd.smtp import Envelope

from bench.common import ROOT, Row, Skip, free_port, main_for, note, size_of, started_sink
from bench.practice import due_now_dict
from checkin.demo.dovecot import Dovecot, installed

KEY = "latency"
FULL = 300  # replies: 60 s at 5 a second
RATE = 5.0  # replies a second
CLIENTS = 20
POLL = 0.02  # seconds between looks at the database
RISK_EVERY = 30
GOAL = "p95_s <= 2"
USER, PASSWORD, PASSWORD_ENV = "checkin@practice.test", "secret", "CHECKIN_BENCH_IMAP_PASSWORD"
DONE = "Checkin/Done"


@dataclass
class CheckinSink:
    """Keeps every message checkin sends (check-ins, safety messages, alerts), parsed."""

    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: object, session: object, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        parsed = message_from_bytes(content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def checkins(self) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if m["Reply-To"] and "+" in str(m["Reply-To"])]


# --- replies, as mail programs write them ----------------------------------------------------

ANSWERS = (
    "Yes, I did it this morning. I'd say 7/10. Felt calmer afterwards.",
    "Partly - only managed it twice. Maybe a 5. My shoulders were tight all day.",
    "No, not today, I was too tired. Next time I'll try it before breakfast.",
    "Yes! 8 out of 10. I noticed I was less snappy with the kids.",
    "Sort of. 6/10. It helped a bit but I kept getting distracted.",
)
RISK = "I tried, 3/10. Honestly I can't go on like this."


def reply_for(i: int, checkin: EmailMessage, when: datetime) -> tuple[str, bytes]:
    """The i-th reply to `checkin` (its Message-ID and bytes), in one of four common shapes."""
    answer = RISK if i % RISK_EVERY == RISK_EVERY - 1 else ANSWERS[i % len(ANSWERS)]
    original = checkin.get_body(("plain",))
    quoted = "\n".join(
        "> " + line for line in (original.get_content() if original else "").split("\n")
    )
    practice = str(checkin["From"])
    sent = format_datetime(when)
    shape = i % 4
    if shape == 0:  # Gmail
        text = f"{answer}\n\nOn {sent}, {practice} wrote:\n{quoted}\n"
    elif shape == 1:  # Outlook
        text = (f"{answer}\n\n________________________________\nFrom: {practice}\nSent: {sent}\n"
                f"Subject: {checkin['Subject']}\n\n{quoted.replace('> ', '')}\n")  # fmt: skip
    else:  # iPhone (and, for shape 3, an HTML-only message)
        text = f"{answer}\n\nSent from my iPhone\n\n> On {sent}, {practice} wrote:\n{quoted}\n"
    msg = EmailMessage()
    msg["From"] = str(checkin["To"])
    msg["To"] = str(checkin["Reply-To"])
    msg["Subject"] = "Re: " + str(checkin["Subject"])
    msg["Date"] = format_datetime(when)
    message_id = make_msgid(idstring=f"r{i}", domain="client.test")
    msg["Message-ID"] = message_id
    msg["In-Reply-To"] = checkin["Message-ID"]
    msg["References"] = checkin["Message-ID"]
    if shape == 3:
        msg.set_content(_gmail_html(answer, f"On {sent}, {practice} wrote:", original), "html")
    else:
        msg.set_content(text)
    return message_id, msg.as_bytes()


def _gmail_html(answer: str, attribution: str, original: EmailMessage | None) -> str:
    """An HTML-only reply as Gmail's web client writes one: the quote in a blockquote."""
    lines = (original.get_content() if original else "").split("\n")
    quote = "<br>".join(escape(line) for line in lines)
    return (
        f'<html><body><div dir="ltr">{escape(answer)}</div><br>'
        f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{escape(attribution)}'
        f'<br></div><blockquote class="gmail_quote" style="margin:0 0 0 .8ex;'
        f'border-left:1px #ccc solid;padding-left:1ex">{quote}</blockquote></div></body></html>'
    )


# --- the servers and the service ---------------------------------------------------------------


@contextmanager
def dovecot() -> Iterator[Dovecot]:
    if not installed():
        raise Skip("Dovecot is not installed: apt-get install dovecot-imapd")
    # Not a 0700 temporary folder of ours: Dovecot's mail user must reach the mail.
    root = Path(tempfile.mkdtemp(prefix="checkin-bench-dovecot-"))
    server = Dovecot(root, free_port())
    try:
        server.start()
        server.add_user(USER, PASSWORD)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def smtp_sink() -> Iterator[tuple[CheckinSink, int]]:
    sink = CheckinSink()
    controller = started_sink(sink)
    try:
        yield sink, controller.port
    finally:
        controller.stop()


@contextmanager
def checkin_run(config: Path, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env[PASSWORD_ENV] = PASSWORD
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(Path(sys.executable).parent / "checkin"), "--config", str(config), "run"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
        )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()


def eventually(check: Callable[[], bool], what: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"latency: timed out waiting for {what}\n{tail}")
        time.sleep(0.02)


# --- watching the database ---------------------------------------------------------------------


class OutcomeWatcher:
    """Polls the reply table every POLL seconds; notes when each Message-ID's outcome appears."""

    QUERY = (
        "SELECT r.id, m.message_id, m.fetched_at, r.kind, r.attribution, r.risk, r.rating "
        "FROM reply r JOIN raw_message m ON m.id = r.raw_id WHERE r.id > ? ORDER BY r.id"
    )

    def __init__(self, database: Path) -> None:
        self.database = database
        self.seen: dict[str, float] = {}  # Message-ID -> wall time first seen
        # fetched_at, kind, attribution, risk, rating
        self.rows: dict[str, tuple[str, str, str, bool, int | None]] = {}
        self._last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="outcomes", daemon=True)

    def __enter__(self) -> OutcomeWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _loop(self) -> None:
        connection = None
        while not self._stop.wait(POLL):
            try:
                connection = connection or sqlite3.connect(self.database, timeout=5)
                found = connection.execute(self.QUERY, (self._last,)).fetchall()
            except sqlite3.OperationalError:
                continue  # not migrated yet, or briefly locked: look again
            now = time.time()
            for rid, message_id, fetched_at, kind, attribution, risk, rating in found:
                self._last = max(self._last, rid)
                self.seen.setdefault(message_id, now)
                self.rows[message_id] = (fetched_at, kind, attribution, bool(risk), rating)
        if connection is not None:
            connection.close()


def _stored_time(value: str) -> float:
    """checkin stores naive UTC text in SQLite ("2026-11-26 03:10:01.123456")."""
    return datetime.fromisoformat(value).replace(tzinfo=UTC).timestamp()


def idle_notice(server: Dovecot, samples: int) -> float:
    """Dovecot's own delay: delivery to the EXISTS a bare IMAPClient in IDLE hears (median).

    Dovecot batches mailbox change notices (about half a second), so no IDLE watcher on this
    server can hear of mail sooner; measured on a mailbox of its own, before checkin starts.
    """
    from imapclient import IMAPClient

    user = "probe@practice.test"
    server.add_user(user, PASSWORD)
    raw = b"From: a@client.test\r\nTo: probe@practice.test\r\nSubject: probe\r\n\r\nhi\r\n"
    delays = []
    with IMAPClient("127.0.0.1", server.port, ssl=False, timeout=10) as client:
        client.login(user, PASSWORD)
        client.select_folder("INBOX")
        for _ in range(samples):
            client.idle()
            time.sleep(0.1)  # IDLE is under way on the server
            server.deliver(user, raw)
            delivered = time.time()
            heard = client.idle_check(timeout=5)
            delays.append(time.time() - delivered if heard else 5.0)
            client.idle_done()
    return statistics.median(delays)


# --- the run -----------------------------------------------------------------------------------


def deliver_steadily(
    server: Dovecot, checkins: list[EmailMessage], n: int, first: int = 0
) -> dict[str, float]:
    """n replies on a fixed 1/RATE grid (not "sleep after each"), so a slow save never drifts
    the rate; returns Message-ID -> wall time just after `doveadm save` returned."""
    delivered: dict[str, float] = {}
    start = time.monotonic()
    for i in range(n):
        pause = start + i / RATE - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        checkin = checkins[(first + i) % len(checkins)]
        message_id, raw = reply_for(first + i, checkin, datetime.now(UTC))
        server.deliver(USER, raw)
        delivered[message_id] = time.time()
    return delivered


def run(tiny: bool = False, size: int | None = None) -> dict:
    n = size_of(tiny, size, FULL, small=10)
    with (
        tempfile.TemporaryDirectory(prefix="checkin-bench-latency-") as tmp,
        dovecot() as server,
        smtp_sink() as (sink, smtp_port),
    ):
        notice = idle_notice(server, 2 if tiny else 5)
        database = Path(tmp) / "checkin.db"
        config, log = Path(tmp) / "checkin.yaml", Path(tmp) / "run.log"
        imap = {"host": "127.0.0.1", "port": server.port, "security": "none",
                "username": USER, "password_env": PASSWORD_ENV, "folder": "INBOX",
                "done_folder": DONE}  # fmt: skip
        data = due_now_dict(smtp_port, f"sqlite:///{database}", clients=CLIENTS, imap=imap)
        config.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        with checkin_run(config, log) as process, OutcomeWatcher(database) as outcomes:
            eventually(lambda: len(sink.checkins()) >= CLIENTS, "the check-ins to go out", log)
            checkins = sorted(sink.checkins(), key=lambda m: str(m["To"]))
            warm = deliver_steadily(server, checkins, 1, first=n)
            eventually(lambda: set(warm) <= set(outcomes.seen), "the warm-up reply", log)
            with note(f"latency: {n} replies at {RATE:g}/s"):
                began = time.monotonic()
                delivered = deliver_steadily(server, checkins, n)
                span = time.monotonic() - began
                eventually(lambda: set(delivered) <= set(outcomes.seen), "every outcome", log)
            exit_code = stop(process)
        stopped_cleanly = "stopped cleanly" in log.read_text(errors="replace")
        sent_after = len(sink.messages) - CLIENTS
    found = figures(delivered, outcomes, exit_code, stopped_cleanly, sent_after)
    return {**found, "dovecot_idle_notice_s": round(notice, 3), "seconds": round(span, 1)}


def figures(
    delivered: dict[str, float],
    outcomes: OutcomeWatcher,
    exit_code: int,
    stopped_cleanly: bool,
    sent_after: int,
) -> dict:
    waits = sorted(outcomes.seen[m] - t for m, t in delivered.items())
    times = sorted(delivered.values())
    fetched = sorted(_stored_time(outcomes.rows[m][0]) - t for m, t in delivered.items())
    rows = [outcomes.rows[m] for m in delivered]
    risky = [outcomes.seen[m] - t for m, t in delivered.items() if outcomes.rows[m][3]]
    return {
        "n": len(waits),
        "rate_per_s": round((len(times) - 1) / (times[-1] - times[0]), 2)
        if len(times) > 1
        else None,
        "p50_s": round(_quantile(waits, 0.50), 3),
        "p95_s": round(_quantile(waits, 0.95), 3),
        "max_s": round(waits[-1], 3),
        "mean_s": round(statistics.fmean(waits), 3),
        "fetched_p50_s": round(_quantile(fetched, 0.50), 3),
        "fetched_p95_s": round(_quantile(fetched, 0.95), 3),
        "risk_n": len(risky),
        "risk_max_s": round(max(risky), 3) if risky else None,
        "answers": sum(r[1] == "answer" for r in rows),
        "attributed_by_token": sum(r[2] == "token" for r in rows),
        "rated": sum(r[4] is not None for r in rows),
        "sent_by_checkin_meanwhile": sent_after,
        "poll_interval_s": POLL,
        "exit_code": exit_code,
        "stopped_cleanly": stopped_cleanly,
        "goal": GOAL,
    }


def _quantile(values: list[float], q: float) -> float:
    """Nearest-rank: the smallest value with at least q of the values at or below it."""
    rank = max(1, -(-len(values) * q // 1))
    return values[int(rank) - 1]


def rows(f: dict) -> list[Row]:
    n = f["n"]
    return [
        Row(KEY, f"p95 s, delivery to outcome stored ({n})", f["p95_s"], None, f["p95_s"],
            GOAL),
        Row(KEY, "  p50 s", f["p50_s"]),
        Row(KEY, "  max s", f["max_s"]),
        Row(KEY, "  p95 s, delivery to raw stored", f["fetched_p95_s"]),
        Row(KEY, "  Dovecot's own IDLE notice, s (median)", f["dovecot_idle_notice_s"]),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    return main_for(KEY, run, rows, __doc__ or "", argv)


if __name__ == "__main__":
    sys.exit(main())
