"""Replies in, against a real Dovecot: stored once, attributed right, acted on, moved."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from click.testing import Result

from tests.conftest import SmtpServer, practice_dict, write_practice
from tests.dovecot import Dovecot, MailUser
from tests.test_send import SLOT_UTC, cli

DONE = "Checkin/Done"


@pytest.fixture
def imap_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")


def with_mailbox(data: dict, user: MailUser, **imap: object) -> dict:
    data["mail"]["imap"] = {
        "host": user.host, "port": user.port, "security": "none", "username": user.user,
        "password_env": "TEST_IMAP_PASSWORD", "folder": "INBOX", "done_folder": DONE, **imap,
    }  # fmt: skip
    data["clients"][0]["email"] = ["alex@client.test", "alex@work.test"]
    data["clients"].append(
        {**data["clients"][0], "id": "sam", "name": "Sam", "email": "sam@client.test"}
    )
    return data


@pytest.fixture
def config(
    tmp_path: Path,
    smtp_server: SmtpServer,
    database_url: str,
    mailbox_user: MailUser,
    imap_env: None,
) -> Path:
    data = with_mailbox(practice_dict(smtp_server, database_url), mailbox_user)
    return write_practice(tmp_path / "checkin.yaml", data)


def reply(
    checkin: EmailMessage | None,
    body: str,
    sender: str = "alex@client.test",
    to: str | None = None,
    **headers: str,
) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to or (checkin["Reply-To"] if checkin else "checkin@practice.test")
    msg["Subject"] = "Re: " + (checkin["Subject"] if checkin else "hello")
    msg["Date"] = format_datetime(datetime(2026, 11, 27, 9, 0, tzinfo=UTC))
    msg["Message-ID"] = make_msgid(domain="client.test")
    if checkin is not None:
        msg["In-Reply-To"] = checkin["Message-ID"]
        msg["References"] = checkin["Message-ID"]
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def poll(config: Path) -> Result:
    result = cli(config, "poll", "--once")
    assert result.exit_code == 0, result.output
    return result


def exported(config: Path) -> dict:
    return json.loads(cli(config, "export", "--format", "json").output)


def alex(data: dict) -> dict:
    return next(c for c in data["clients"] if c["id"] == "alex")


def first_checkin(config: Path, smtp_server: SmtpServer) -> EmailMessage:
    assert "2 sent" in cli(config, "send-due", "--at", SLOT_UTC).output
    return next(m for m in smtp_server.sink.messages if "alex" in m["To"])


ANSWER = "Yes, tried it. I'd give it a 7.\nMy shoulders were tight.\n\nOn Thu, 26 Nov 2026 at 19:00, Harbour wrote:\n> Did you try it?\n"


def test_a_reply_is_stored_understood_attributed_and_moved(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, ANSWER))
    assert "1 fetched, 1 new, 1 understood" in poll(config).output
    [answered] = [c for c in alex(exported(config))["checkins"] if c["replies"]]
    assert answered["message_id"] == checkin["Message-ID"]
    [stored] = answered["replies"]
    assert (stored["kind"], stored["attribution"], stored["tried"], stored["rating"]) == (
        "answer",
        "token",
        "yes",
        7,
    )
    assert "shoulders were tight" in stored["text"] and "Did you try it?" not in stored["text"]
    assert dovecot.mailbox_uids(mailbox_user.user, "INBOX") == []
    assert len(dovecot.mailbox_uids(mailbox_user.user, DONE)) == 1
    assert "0 fetched" in poll(config).output


def test_the_same_message_delivered_twice_is_stored_once(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    raw = reply(first_checkin(config, smtp_server), ANSWER)
    dovecot.deliver(mailbox_user.user, raw)
    poll(config)
    dovecot.deliver(mailbox_user.user, raw)
    assert "1 fetched, 0 new" in poll(config).output
    replies = [r for c in alex(exported(config))["checkins"] for r in c["replies"]]
    assert len(replies) == 1
    assert dovecot.mailbox_uids(mailbox_user.user, "INBOX") == []


def test_a_valid_token_from_a_stranger_is_kept_unattributed(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, "Yes, 9!", sender="mallory@evil.test"))
    poll(config)
    data = exported(config)
    assert all(not c["replies"] for c in alex(data)["checkins"])
    [kept] = data["unattributed"]
    assert kept["sender"] == "mallory@evil.test" and "not one of their addresses" in kept["reason"]
    status = cli(config, "status").output
    assert "Messages needing review (1)" in status and "Yes, 9" not in status


def test_a_message_dealt_with_leaves_the_review_list_and_stays_stored(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, "Yes, 9!", sender="mallory@evil.test"))
    dovecot.deliver(mailbox_user.user, reply(checkin, "Yes, a 7."))
    poll(config)
    status = cli(config, "status").output
    [number] = re.findall(r"message (\d+) ", status)
    done = cli(config, "review", "done", number, "--note", "phoned Alex: not from her")
    assert done.exit_code == 0 and f"message {number}: reviewed" in done.output
    assert "Messages needing review (0)" in cli(config, "status").output
    [kept] = exported(config)["unattributed"]
    assert kept["needs_review"] and kept["reviewed_at"]
    assert kept["review_note"] == "phoned Alex: not from her"
    again = cli(config, "review", "done", number)
    assert again.exit_code == 0 and "already reviewed on" in again.output
    [answer] = [r for c in alex(exported(config))["checkins"] for r in c["replies"]]
    unknown = cli(config, "review", "done", "999999")
    assert unknown.exit_code == 1 and "no such message" in unknown.output
    assert answer["needs_review"] is False


def test_a_reply_from_the_clients_second_address_counts(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(
        mailbox_user.user, reply(checkin, "Partly. 4 out of 10.", sender="Alex@Work.test")
    )
    poll(config)
    [stored] = [r for c in alex(exported(config))["checkins"] for r in c["replies"]]
    assert (stored["tried"], stored["rating"], stored["attribution"]) == ("partly", 4, "token")


def test_without_a_token_the_sender_decides_and_a_note_is_a_note(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    first_checkin(config, smtp_server)
    # A fresh message, not a reply: goes to Alex's open check-in.
    dovecot.deliver(mailbox_user.user, reply(None, "I did it twice, maybe a 6."))
    poll(config)
    # Now nothing is open: the next one is an out-of-session note.
    dovecot.deliver(mailbox_user.user, reply(None, "Had a hard day at work today."))
    poll(config)
    assert_answer_then_note(config)


def assert_answer_then_note(config: Path) -> None:
    """Alex's "maybe a 6" answered the open check-in; "hard day" found none open: a note."""
    data = alex(exported(config))
    [answered] = [r for c in data["checkins"] for r in c["replies"]]
    assert answered["attribution"] == "sender" and answered["rating"] == 6
    [note] = data["notes"]
    assert note["attribution"] == "note" and "hard day" in note["text"]


def test_stop_stops_and_is_confirmed_once(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    stop = reply(checkin, "STOP")
    dovecot.deliver(mailbox_user.user, stop)
    dovecot.deliver(mailbox_user.user, reply(checkin, "Please stop sending these."))
    poll(config)
    confirmations = [m for m in smtp_server.sink.messages if m["Auto-Submitted"] == "auto-replied"]
    assert len(confirmations) == 1
    [confirmation] = confirmations
    assert confirmation["Subject"] == "Your check-ins have stopped"
    assert confirmation["To"].addresses[0].addr_spec == "alex@client.test"
    assert confirmation["In-Reply-To"] is not None
    before = len(smtp_server.sink.messages)
    cli(config, "send-due", "--at", "2026-11-28T00:00:10Z")
    to_alex = [m for m in smtp_server.sink.messages[before:] if "alex" in str(m["To"])]
    assert to_alex == []
    assert alex(exported(config))["status"] == "stopped"


def test_pause_until_a_date_and_resume(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, "PAUSE until 2026-12-01"))
    poll(config)
    [confirmation] = [m for m in smtp_server.sink.messages if m["Auto-Submitted"] == "auto-replied"]
    assert "until Tuesday 1 December 2026" in confirmation.get_body(("plain",)).get_content()
    assert "paused until 2026-12-01" in cli(config, "status", "--at", SLOT_UTC).output


def test_machines_are_stored_and_never_answered(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    sent = len(smtp_server.sink.messages)
    ooo = reply(checkin, "I am out of the office until Monday.", Auto_Submitted="auto-replied")
    dovecot.deliver(mailbox_user.user, ooo)
    assert "1 understood" in poll(config).output
    assert len(smtp_server.sink.messages) == sent  # no answer to a machine
    [stored] = [r for c in alex(exported(config))["checkins"] for r in c["replies"]]
    assert stored["kind"] == "auto_reply"


def bounce_for(address: str, original: EmailMessage) -> bytes:
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.client.test>\r\n"
        "To: checkin@practice.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        f"Message-ID: {make_msgid(domain='mx.client.test')}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.client.test\r\n\r\n"
        f"Final-Recipient: rfc822; {address}\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {original['Message-ID']}\r\nTo: {address}\r\n"
        "--b1--\r\n"
    ).encode()


def test_a_bounce_stops_mail_to_that_address(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, bounce_for("alex@client.test", checkin))
    poll(config)
    before = len(smtp_server.sink.messages)
    cli(config, "send-due", "--at", "2026-11-28T00:00:10Z")
    to_alex = [m["To"].addresses[0].addr_spec for m in smtp_server.sink.messages[before:]
               if "alex" in str(m["To"])]  # fmt: skip
    assert to_alex == ["alex@work.test"]  # the second address still works
    assert "bounce" in cli(config, "status").output


def test_a_message_over_the_size_limit_is_kept_as_headers_and_flagged(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, mailbox_user: MailUser,
    dovecot: Dovecot, imap_env: None,
) -> None:  # fmt: skip
    data = with_mailbox(practice_dict(smtp_server, database_url), mailbox_user, max_size="20KB")
    config = write_practice(tmp_path / "checkin.yaml", data)
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, "A photo of my journal.\n" + "x" * 40_000))
    assert "1 fetched, 1 new" in poll(config).output
    [kept] = (
        [r for c in alex(exported(config))["checkins"] for r in c["replies"]]
        or alex(exported(config))["notes"]
        or exported(config)["unattributed"]
    )
    assert kept["kind"] == "too_large" and "size limit" in kept["reason"]
    assert "0 fetched" in poll(config).output  # never retried
    assert dovecot.mailbox_uids(mailbox_user.user, "INBOX") == []


def test_forget_erases_a_client(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, ANSWER))
    poll(config)
    result = cli(config, "forget", "alex", "--yes")
    assert "erased 1 sent message(s), 1 reply record(s), 1 raw message(s)" in result.output
    data = alex(exported(config))
    assert data["checkins"] == [] and data["notes"] == []
    sam = next(c for c in exported(config)["clients"] if c["id"] == "sam")
    assert len(sam["checkins"]) == 1  # others untouched


def test_export_csv_has_a_row_per_reply(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, ANSWER))
    poll(config)
    text = cli(config, "export", "--client", "alex", "--format", "csv").output
    header, *rows = list(csv.reader(io.StringIO(text)))
    assert header[:6] == [
        "client",
        "experiment",
        "slot",
        "sent_at",
        "checkin_message_id",
        "section",
    ]
    [row] = rows
    record = dict(zip(header, row, strict=True))
    assert (record["client"], record["kind"], record["rating"]) == ("alex", "answer", "7")
    assert "shoulders were tight" in record["text"]


RISK = "Didn't try it. Honestly I've been thinking of ending it all, I can't go on like this."


def test_risk_language_alerts_the_therapist_once_and_sends_the_safety_message(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    checkin = first_checkin(config, smtp_server)
    before = len(smtp_server.sink.messages)
    dovecot.deliver(mailbox_user.user, reply(checkin, RISK))
    poll(config)
    poll(config)
    new = smtp_server.sink.messages[before:]
    alerts = [m for m in new if m["Subject"].startswith("Safety alert")]
    assert [a["To"].addresses[0].addr_spec for a in alerts] == ["robin@practice.test"]
    body = alerts[0].get_body(("plain",)).get_content()
    assert "Alex (alex)" in body and "ending it all" in body
    assert "Alex" not in alerts[0]["Subject"]
    [safety] = [m for m in new if m["To"].addresses[0].addr_spec == "alex@client.test"]
    assert "emergency" in safety.get_body(("plain",)).get_content()
    assert safety["Auto-Submitted"] == "auto-replied"
    assert "RISK LANGUAGE" in cli(config, "status").output


def test_risk_from_an_unknown_address_still_alerts(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    dovecot.deliver(mailbox_user.user, reply(None, RISK, sender="friend@elsewhere.test"))
    poll(config)
    alerts = [m for m in smtp_server.sink.messages if m["Subject"].startswith("Safety alert")]
    assert [a["To"].addresses[0].addr_spec for a in alerts] == ["robin@practice.test"]
    assert "not matched to any client" in alerts[0].get_body(("plain",)).get_content()


def test_the_backup_gets_every_alert_and_a_failed_alert_is_retried_and_shown(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, mailbox_user: MailUser,
    dovecot: Dovecot, imap_env: None,
) -> None:  # fmt: skip
    data = with_mailbox(practice_dict(smtp_server, database_url), mailbox_user)
    data["safety"] = {"client_message": "Call 999 now.\n\nWe will be in touch.",
                      "backup_email": "duty@practice.test"}  # fmt: skip
    config = write_practice(tmp_path / "checkin.yaml", data)
    checkin = first_checkin(config, smtp_server)
    dovecot.deliver(mailbox_user.user, reply(checkin, RISK))
    smtp_server.sink.replies = ["451 4.3.0 Try later"]  # the first alert attempt fails
    poll(config)
    assert "retrying at" in cli(config, "status").output
    later = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    cli(config, "send-due", "--at", later)  # the retry goes
    alerts = [m for m in smtp_server.sink.messages if m["Subject"].startswith("Safety alert")]
    assert sorted(a["To"].addresses[0].addr_spec for a in alerts) == [
        "duty@practice.test",
        "robin@practice.test",
    ]
    [safety] = [m for m in smtp_server.sink.messages if m["Subject"].startswith("We read")]
    assert "Call 999 now." in safety.get_body(("plain",)).get_content()


def test_doctors_test_message_is_kept_but_needs_nobody(
    config: Path, smtp_server: SmtpServer, dovecot: Dovecot, mailbox_user: MailUser
) -> None:
    probe = reply(None, "checkin doctor round trip", sender="checkin@practice.test",
                  X_Checkin_Doctor="abc123", Auto_Submitted="auto-generated")  # fmt: skip
    dovecot.deliver(mailbox_user.user, probe)
    assert "1 fetched, 1 new, 1 understood, 0 need review" in poll(config).output
    assert "Messages needing review (0)" in cli(config, "status").output
