"""Replies understood in one pass are recorded a batch to a transaction, yet each one sees
what the replies before it did, exactly as if they had come one pass at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from checkin.config import load
from checkin.core.act import SetStatus
from checkin.store import outcomes
from checkin.store.db import engine_for
from checkin.store.models import Reply
from tests.conftest import SmtpServer, practice_dict, write_practice
from tests.dovecot import Dovecot, MailUser
from tests.test_ingest import (
    alex,
    assert_answer_then_note,
    exported,
    first_checkin,
    poll,
    reply,
    with_mailbox,
)


@pytest.fixture
def config(
    tmp_path: Path,
    smtp_server: SmtpServer,
    database_url: str,
    mailbox_user: MailUser,
    monkeypatch: pytest.MonkeyPatch,
) -> Path:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
    data = with_mailbox(practice_dict(smtp_server, database_url), mailbox_user)
    return write_practice(tmp_path / "checkin.yaml", data)


def test_two_fresh_messages_in_one_pass_answer_then_note(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(None, "I did it twice, maybe a 6."))
    dovecot.deliver(mailbox_user.user, reply(None, "Had a hard day at work today."))
    assert "2 fetched, 2 new, 2 understood" in poll(config).output
    # The first answered the open check-in, so nothing was open for the second.
    assert_answer_then_note(config)


def test_pause_then_resume_in_one_pass_ends_active(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, "PAUSE until 2026-12-20"))
    dovecot.deliver(mailbox_user.user, reply(checkin, "RESUME"))
    poll(config)
    assert alex(exported(config))["status"] == "active"


def test_a_reply_recorded_already_applies_nothing_again(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, "Yes, a 7."))
    poll(config)
    engine = engine_for(load(config).database)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    with engine.connect() as c:
        [raw_id] = c.execute(select(Reply.raw_id)).scalars().all()
    again = Reply(raw_id=raw_id, received_at=now, kind="command", attribution="token")
    with outcomes.batch(engine, "practice.test", now) as batch:
        batch.record(again, [SetStatus("alex", "stopped", None)])
    assert batch.recorded == [] and again.id is None
    with engine.connect() as c:
        assert len(c.execute(select(Reply.id)).all()) == 1
    engine.dispose()
    assert alex(exported(config))["status"] == "active"


def test_a_connection_lost_mid_backlog_still_understands_what_was_stored(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The fetch runs beside the understanding; when the server drops us after the first
    batch, what was stored is understood, the rest waits in the folder, and the error is
    raised (the watcher reconnects on it) rather than lost."""
    from checkin.clock import FixedClock
    from checkin.errors import DeliveryError
    from checkin.jobs.ingest import FETCH_MESSAGES, one_pass
    from checkin.mail.imap import Mailbox

    checkin = first_checkin(config, smtp_server)
    total = FETCH_MESSAGES + 20
    for i in range(total):
        dovecot.deliver(mailbox_user.user, reply(checkin, f"Tried it, a {i % 11}."))
    calls = []
    fetch = Mailbox.fetch

    def dropped_on_the_second(self: Mailbox, uids: object) -> dict[int, bytes]:
        calls.append(1)
        if len(calls) == 2:
            dovecot.kick(mailbox_user.user)  # the server ends the session, as on a restart
        return fetch(self, uids)  # type: ignore[arg-type]

    monkeypatch.setattr(Mailbox, "fetch", dropped_on_the_second)
    practice = load(config)
    engine = engine_for(practice.database)
    clock = FixedClock(datetime(2026, 11, 27, 1, tzinfo=UTC))
    with pytest.raises(DeliveryError), Mailbox(practice.mail.imap) as mailbox:  # type: ignore[arg-type]
        one_pass(lambda: practice, engine, clock, mailbox, "w")
    with engine.connect() as c:
        recorded = len(c.execute(select(Reply.id)).all())
    engine.dispose()
    assert recorded == FETCH_MESSAGES
    assert len(dovecot.mailbox_uids(mailbox_user.user, "INBOX")) == total - FETCH_MESSAGES
    monkeypatch.setattr(Mailbox, "fetch", fetch)
    assert f"{total - FETCH_MESSAGES} fetched" in poll(config).output
    assert len(alex(exported(config))["checkins"][0]["replies"]) == total
