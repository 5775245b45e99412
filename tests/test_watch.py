"""The watcher as it runs for real: IDLE latency, dropped sessions, restarts, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from imapclient import IMAPClient
from sqlalchemy import func, select

from checkin.store.db import engine_for, session
from checkin.store.models import RawMessage, Reply
from tests.conftest import SmtpServer, practice_dict, write_practice
from tests.dovecot import Dovecot, MailUser
from tests.test_ingest import DONE, with_mailbox
from tests.test_run import eventually, running


@pytest.fixture
def config(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, mailbox_user: MailUser,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:  # fmt: skip
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
    data = with_mailbox(practice_dict(smtp_server, database_url), mailbox_user)
    return write_practice(tmp_path / "checkin.yaml", data)


def note(n: int) -> bytes:
    msg = EmailMessage()
    msg["From"] = "alex@client.test"
    msg["To"] = "checkin@practice.test"
    msg["Subject"] = f"note {n}"
    msg["Message-ID"] = f"<note-{n}@client.test>"  # the same message when delivered again
    msg.set_content(f"Note number {n}: it went fine, maybe a 6.")
    return msg.as_bytes()


def counts(database_url: str) -> tuple[int, int, int]:
    """(raw messages, distinct keys, replies) stored so far."""
    engine = engine_for(database_url)
    try:
        with session(engine) as s:
            raws = s.execute(select(func.count()).select_from(RawMessage)).scalar_one()
            keys = s.execute(select(func.count(func.distinct(RawMessage.key)))).scalar_one()
            replies = s.execute(select(func.count()).select_from(Reply)).scalar_one()
    except Exception:  # the schema may not exist yet while the watcher is starting
        return 0, 0, 0
    finally:
        engine.dispose()
    return raws, keys, replies


@pytest.fixture
def watcher(config: Path, tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    log = (tmp_path / "watch.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "checkin.cli", "--config", str(config), "poll"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        log.close()


def test_idle_stores_a_reply_within_two_seconds(
    watcher: subprocess.Popen[bytes], dovecot: Dovecot, mailbox_user: MailUser, database_url: str
) -> None:
    dovecot.deliver(mailbox_user.user, note(0))
    eventually(lambda: counts(database_url)[2] == 1, "the watcher to start and store", 30)
    delivered = time.monotonic()
    dovecot.deliver(mailbox_user.user, note(1))
    eventually(lambda: counts(database_url)[2] == 2, "the reply to be stored", timeout=2)
    assert time.monotonic() - delivered <= 2


def test_a_kicked_session_reconnects_and_gets_the_next_reply(
    watcher: subprocess.Popen[bytes], dovecot: Dovecot, mailbox_user: MailUser, database_url: str
) -> None:
    dovecot.deliver(mailbox_user.user, note(0))
    eventually(lambda: counts(database_url)[2] == 1, "the first reply")
    dovecot.kick(mailbox_user.user)
    dovecot.deliver(mailbox_user.user, note(1))
    eventually(lambda: counts(database_url)[2] == 2, "the reply after the kick", 30)
    assert watcher.poll() is None


def test_a_server_restart_is_survived(
    watcher: subprocess.Popen[bytes], dovecot: Dovecot, mailbox_user: MailUser, database_url: str
) -> None:
    dovecot.deliver(mailbox_user.user, note(0))
    eventually(lambda: counts(database_url)[2] == 1, "the first reply")
    dovecot.stop()
    try:
        time.sleep(2)  # the watcher is now failing to reconnect, with backoff
    finally:
        dovecot.start()
    dovecot.deliver(mailbox_user.user, note(1))
    eventually(lambda: counts(database_url)[2] == 2, "the reply after the restart", 60)
    assert counts(database_url) == (2, 2, 2)


def test_a_new_uidvalidity_rescans_without_doubling(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, mailbox_user: MailUser,
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from tests.test_ingest import poll

    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
    data = with_mailbox(practice_dict(smtp_server, database_url), mailbox_user, folder="Replies")
    config = write_practice(tmp_path / "checkin.yaml", data)
    dovecot.create_mailbox(mailbox_user.user, "Replies")
    for n in range(3):
        dovecot.deliver(mailbox_user.user, note(n), mailbox="Replies")
    assert "3 fetched, 3 new" in poll(config).output
    before = dovecot.uidvalidity(mailbox_user.user, "Replies")
    dovecot.delete_mailbox(mailbox_user.user, "Replies")
    dovecot.create_mailbox(mailbox_user.user, "Replies")
    assert dovecot.uidvalidity(mailbox_user.user, "Replies") != before
    for n in range(4):  # the same three again, and one new
        dovecot.deliver(mailbox_user.user, note(n), mailbox="Replies")
    assert "4 fetched, 1 new" in poll(config).output
    assert counts(database_url) == (4, 4, 4)


def append_many(user: MailUser, count: int) -> None:
    """Fill the folder quickly over IMAP APPEND, as a holiday's backlog would."""
    with IMAPClient(user.host, user.port, ssl=False, timeout=30) as client:
        client.login(user.user, user.password)
        for n in range(count):
            client.append("INBOX", note(n))


def test_a_thousand_waiting_messages_are_all_stored_once(
    config: Path, mailbox_user: MailUser, dovecot: Dovecot, database_url: str
) -> None:
    from tests.test_ingest import poll

    append_many(mailbox_user, 1000)
    assert "1000 fetched, 1000 new, 1000 understood" in poll(config).output
    assert counts(database_url) == (1000, 1000, 1000)
    assert dovecot.mailbox_uids(mailbox_user.user, "INBOX") == []
    assert len(dovecot.mailbox_uids(mailbox_user.user, DONE)) == 1000


def test_kill_9_at_any_point_loses_nothing_and_doubles_nothing(
    config: Path, mailbox_user: MailUser, dovecot: Dovecot, database_url: str
) -> None:
    total = 300
    append_many(mailbox_user, total)
    command = [sys.executable, "-m", "checkin.cli", "--config", str(config), "poll", "--once"]
    seen: list[int] = []
    # Kill at growing delays: during start-up, fetch, store, move and understanding.
    for delay in (0.2, 0.8, 1.2, 1.6, 2.0, 2.5, 3.0, 3.5):
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
        seen.append(counts(database_url)[0])
    assert max(seen) > 0, "no kill happened after anything was stored"
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, timeout=300)
    assert counts(database_url) == (total, total, total)
    assert dovecot.mailbox_uids(mailbox_user.user, "INBOX") == []
    assert len(dovecot.mailbox_uids(mailbox_user.user, DONE)) == total


def test_run_watches_the_mailbox_beside_the_schedule(
    config: Path, tmp_path: Path, dovecot: Dovecot, mailbox_user: MailUser, database_url: str
) -> None:
    with running(config, tmp_path / "run.log"):
        dovecot.deliver(mailbox_user.user, note(0))
        eventually(lambda: counts(database_url)[2] == 1, "run to store the reply", 30)


def test_a_worker_run_with_no_watch_leaves_the_mailbox_alone(
    config: Path, tmp_path: Path, dovecot: Dovecot, mailbox_user: MailUser, database_url: str
) -> None:
    """Several senders share one database; only the one without --no-watch reads replies."""
    log_path = tmp_path / "run.log"
    dovecot.deliver(mailbox_user.user, note(0))
    with running(config, log_path, "--no-watch"):
        eventually(lambda: "running:" in log_path.read_text(), "the worker to start", 30)
        # A watching worker stores a waiting reply within a second (the test above); give
        # this one longer, then the reply must still be waiting for the watcher.
        time.sleep(2)
        assert counts(database_url)[0] == 0
        assert len(dovecot.mailbox_uids(mailbox_user.user, "INBOX")) == 1
    assert "only sends" in log_path.read_text()
