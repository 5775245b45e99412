"""`checkin demo`: two simulated weeks of a sample practice, through real servers, in seconds.

The clock is a FixedClock moved forward in 15-minute steps. At each step the demo does what
`checkin run` does at each tick (plan, then send what is due) and, when mail came back, what
its mailbox watcher does (one pass: fetch, store, understand, act, send what that asked for).
Between the two, the simulated clients read what reached them and answer in their own time.
"""

from __future__ import annotations

import secrets
import shutil
import smtplib
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import cast

from sqlalchemy import Engine
from sqlmodel import select

from checkin.clock import FixedClock
from checkin.demo import sample, servers
from checkin.demo.clients import Outgoing, World
from checkin.demo.output import Output
from checkin.demo.progress import Day, reply_label
from checkin.jobs.export import export
from checkin.jobs.ingest import one_pass
from checkin.jobs.plan import plan
from checkin.jobs.send import send_pending, worker_id
from checkin.mail.compose import Templates
from checkin.mail.imap import Mailbox
from checkin.practice import Practice
from checkin.store.db import engine_for, session, upgrade
from checkin.store.models import Outbox, Reply

START = datetime(2026, 11, 23, tzinfo=UTC)  # Monday of week 1, midnight in London (GMT)
DAYS = 14
STEP = timedelta(minutes=15)
SHOWN_THERAPIST = "maren"  # whose last digest is printed

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    out: Path
    imap: str = "auto"  # auto, dovecot or pymap
    keep: bool = False


def run_demo(options: Options, echo: Echo, wait: Callable[[], None]) -> None:
    """Start the servers, run the fortnight, write the output, stop the servers.

    `wait` blocks until the person is done (Ctrl-C) when --keep is given.
    """
    began = time.monotonic()
    data = sample.read()
    address = sample.practice_address(data)
    password = secrets.token_urlsafe(12)
    root = Path(tempfile.mkdtemp(prefix="checkin-demo-"))
    try:
        with servers.running(root, address, options.imap, password) as running:
            smtp, imap = running.smtp, running.imap
            echo(f"SMTP server (aiosmtpd) on {smtp.host}:{smtp.port}")
            echo(f"IMAP server ({imap.name}) on {imap.host}:{imap.port}, mailbox {imap.user}")
            path = sample.write(
                root, data, (smtp.host, smtp.port), (imap.host, imap.port), imap.user, password
            )
            practice = sample.load(path)
            echo(f"Practice file {path} loaded: {_describe(practice)}")
            echo(f"Database {practice.database}")
            echo("")
            output = Output(options.out)
            fortnight = Fortnight(practice, running, output, echo)
            fortnight.run()
            fortnight.finish()
            echo(f"Two weeks took {time.monotonic() - began:.1f} s, servers included.")
            if options.keep:
                _keep(running, path, echo, wait)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    echo("Every server the demo started has stopped.")


def _describe(practice: Practice) -> str:
    experiments = sum(len(c.experiments) for c in practice.clients)
    return (
        f"{practice.name}: {len(practice.therapists)} therapists, {len(practice.clients)} "
        f"clients, {experiments} experiments"
    )


class Fortnight:
    """The simulation: the clock, the practice's jobs, and the world answering."""

    def __init__(
        self, practice: Practice, running: servers.Servers, output: Output, echo: Echo
    ) -> None:
        self.practice = practice
        self.running = running
        self.output = output
        self.echo = echo
        self.engine: Engine = engine_for(practice.database)
        upgrade(self.engine)
        self.clock = FixedClock(START)
        self.templates = Templates(practice.templates)
        self.worker = worker_id()
        self.world = World()
        self.pending: list[Outgoing] = []  # the world's mail, not yet handed over
        self.labels: dict[str, tuple[str, str]] = {}  # Message-ID -> (label, sender)
        self.handled = 0  # messages of the SMTP server's log already looked at
        self.last_reply = 0
        self.digests: list[tuple[str, str, EmailMessage]] = []  # therapist, week, message
        self.today = self._new_day(START)
        self.sent_in_pass: list[tuple[str, str]] = []  # (kind, recipient) of one watcher pass

    def run(self) -> None:
        assert self.practice.mail.imap is not None
        with Mailbox(self.practice.mail.imap) as mailbox:
            now = START
            while now < START + timedelta(days=DAYS):
                self.clock.set(now)
                self.step(mailbox)
                now += STEP
                if self._local_day(now) != self.today.day:
                    self.echo(self.today.line())
                    self.today = self._new_day(now)

    def step(self, mailbox: Mailbox) -> None:
        # What `checkin run` does each minute.
        plan(self.practice, self.engine, self.clock.now())
        send_pending(self.practice, self.engine, self.clock, self.templates, self.worker)
        self.collect()
        due = [o for o in self.pending if o.at <= self.clock.now()]
        if not due:
            return
        self.pending = [o for o in self.pending if o.at > self.clock.now()]
        self.hand_over(due)
        self.collect()
        # What the watcher does when IDLE says mail arrived.
        report = one_pass(lambda: self.practice, self.engine, self.clock, mailbox, self.worker)
        self.today.stored += report.stored
        self.sent_in_pass = []
        self.collect()  # confirmations, alerts and safety messages the pass sent
        self.note_replies()

    def hand_over(self, mail: list[Outgoing]) -> None:
        """The clients' mail servers deliver to ours, which puts it into the practice's mailbox."""
        smtp = self.running.smtp
        with smtplib.SMTP(smtp.host, smtp.port, timeout=30) as client:
            for o in mail:
                self.labels[_message_id(o.raw)] = (o.label, o.mail_from or "MAILER-DAEMON")
                client.sendmail(o.mail_from, [o.to], o.raw)

    def collect(self) -> None:
        """File everything the SMTP server took since last time; the world reads its share."""
        for passed in self.running.smtp.router.since(self.handled):
            self.handled = passed.number
            if passed.into_mailbox:
                label, sender = self.labels.get(_message_id(passed.raw), ("incoming", "unknown"))
                self.output.mail(passed.number, label, "from", sender, passed.raw)
                continue
            msg = cast(EmailMessage, message_from_bytes(passed.raw, policy=policy.default))
            row = self._outbox_row(str(msg["Message-ID"]))
            kind = row.kind if row else "mail"
            for recipient in passed.recipients:
                self.output.mail(passed.number, kind, "to", recipient, passed.raw)
                self.pending += self.world.receive(
                    msg, recipient, kind, row.client_id if row else None,
                    row.experiment_id if row else None, passed.mail_from, self.clock.now(),
                )  # fmt: skip
            self.today.sent[kind] += 1
            self.sent_in_pass += [(kind, r) for r in passed.recipients]
            if kind == "digest" and row is not None:
                self._digest_sent(row, msg)

    def finish(self) -> None:
        """Print one therapist's last digest as they would read it; write the export."""
        shown = [(w, m) for t, w, m in self.digests if t == SHOWN_THERAPIST]
        if shown:
            week, msg = shown[-1]
            body = msg.get_body(("plain",))
            self.echo("")
            self.echo(f"The weekly digest {week} that {msg['To']} received (text part):")
            self.echo("-" * 78)
            self.echo(body.get_content().rstrip() if body else "")
            self.echo("-" * 78)
        self.output.export(export(self.practice, self.engine, None, "json"))
        out = self.output.folder
        self.echo("")
        self.echo(f"Written to {out}/:")
        self.echo(f"  mail/     {self.output.mails} messages as .eml, numbered in the order sent")
        self.echo(f"  digests/  {len(self.digests)} weekly digests, as .html and .txt")
        self.echo("  export.json  everything stored about the clients (`checkin export`)")

    def note_replies(self) -> None:
        with session(self.engine) as s:
            rows = s.exec(select(Reply).where(Reply.id > self.last_reply).order_by(Reply.id)).all()  # type: ignore[arg-type]
        for reply in rows:
            self.last_reply = reply.id or self.last_reply
            self.today.understood[reply_label(reply)] += 1
            event = self._event(reply)
            if event:
                self.today.events.append(event)

    def _event(self, reply: Reply) -> str | None:
        who = self._client_name(reply.client_id)
        if reply.risk:
            alerts = [r for k, r in self.sent_in_pass if k == "alert"]
            safety = [r for k, r in self.sent_in_pass if k == "safety"]
            return (
                f"! {who}'s reply has risk language. In the same pass: safety alert to "
                f"{', '.join(alerts) or 'nobody'}; safety message to "
                f"{', '.join(safety) or 'nobody'}"
            )
        if reply.kind == "command":
            day = reply.pause_until
            until = f" until {day:%a} {day.day} {day:%b}" if day else ""
            confirmed = [r for k, r in self.sent_in_pass if k == "confirm"]
            return (
                f"{who} wrote {(reply.command or '').upper()}{until}: done; confirmation to "
                f"{', '.join(confirmed) or 'nobody'}"
            )
        if reply.kind == "bounce":
            return f"bounce for {reply.bounced_address}: no more mail to that address"
        if reply.kind == "auto_reply":
            return f"{who}'s out-of-office reply: stored, never answered"
        return None

    def _digest_sent(self, row: Outbox, msg: EmailMessage) -> None:
        therapist = self.practice.therapist(row.therapist_id or "")
        self.digests.append((row.therapist_id or "", row.slot or "", msg))
        self.output.digest(row.therapist_id or "", row.slot or "", msg)
        name = therapist.name if therapist else row.therapist_id
        self.today.events.append(f"weekly digest {row.slot} sent to {name} ({row.recipient})")

    def _outbox_row(self, message_id: str) -> Outbox | None:
        with session(self.engine) as s:
            return s.exec(select(Outbox).where(Outbox.message_id == message_id)).first()

    def _client_name(self, client_id: str | None) -> str:
        client = self.practice.client(client_id or "")
        return (client.name or client.id) if client else "someone unknown"

    def _local_day(self, at: datetime) -> date:
        return at.astimezone(self.practice.timezone).date()

    def _new_day(self, at: datetime) -> Day:
        day = self._local_day(at)
        return Day(day, (day - self._local_day(START)).days // 7 + 1)


def _message_id(raw: bytes) -> str:
    return str(BytesHeaderParser(policy=policy.default).parsebytes(raw)["Message-ID"] or "")


def _keep(running: servers.Servers, path: Path, echo: Echo, wait: Callable[[], None]) -> None:
    smtp, imap = running.smtp, running.imap
    echo("")
    echo("The servers keep running until Ctrl-C. Point a mail client at them:")
    echo(f"  IMAP  {imap.host}:{imap.port}  no TLS  user {imap.user}  password {imap.password}")
    echo(f"  SMTP  {smtp.host}:{smtp.port}  no TLS, no login (mail to {imap.user} or its")
    echo("        plus-addresses lands in the mailbox; anything else is only recorded)")
    end = (START + timedelta(days=DAYS)).strftime("%Y-%m-%dT%H:%MZ")
    echo(f"  The practice file: {path}; try (the clock as the demo left it):")
    echo(f"    checkin --config {path} status --at {end}")
    try:
        wait()
    except KeyboardInterrupt:
        echo("")
