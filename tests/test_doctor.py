"""`checkin doctor` against loopback SMTP (aiosmtpd) and a real Dovecot."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from click.testing import CliRunner, Result

from checkin.cli import main
from tests.conftest import Sink, SmtpServer, free_port, practice_dict, write_practice
from tests.dovecot import Dovecot, MailUser
from tests.test_ingest import DONE, with_mailbox

PRACTICE = "checkin@practice.test"


class Delivering(Sink):
    """A sink that also hands mail for the practice address to Dovecot, as an MTA would."""

    def __init__(self, dovecot: Dovecot, user: str) -> None:
        super().__init__()
        self.dovecot = dovecot
        self.user = user

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250") and PRACTICE in envelope.rcpt_tos:
            content = envelope.original_content or envelope.content or b""
            assert isinstance(content, bytes)
            self.dovecot.deliver(self.user, content)
        return reply


@pytest.fixture
def submission(
    server_tls: ssl.SSLContext, dovecot: Dovecot, mailbox_user: MailUser
) -> Iterator[SmtpServer]:
    """STARTTLS + AUTH (checkin@practice.test / s3cret), delivering to the test mailbox."""

    def authenticator(
        server: object, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
            PRACTICE.encode(),
            b"s3cret",
        )
        return AuthResult(success=ok, handled=False)

    sink = Delivering(dovecot, mailbox_user.user)
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", controller.port, sink)
    finally:
        controller.stop()


@pytest.fixture
def secrets_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")


def practice(tmp_path: Path, smtp: SmtpServer, user: MailUser, **imap: object) -> dict:
    data = with_mailbox(practice_dict(smtp, f"sqlite:///{tmp_path / 'checkin.db'}"), user, **imap)
    data["mail"]["smtp"].update(
        security="starttls", username=PRACTICE, password_env="TEST_SMTP_PASSWORD"
    )
    return data


def doctor(tmp_path: Path, data: dict, *args: str) -> Result:
    path = write_practice(tmp_path / "checkin.yaml", data)
    result = CliRunner().invoke(
        main, ["doctor", "--config", str(path), "--wait", "3", *args], catch_exceptions=False
    )
    print(result.output)  # shown when a test fails
    return result


def failures(result: Result) -> list[str]:
    return [line for line in result.output.splitlines() if line.startswith("FAIL")]


def test_all_checks_pass_and_the_test_message_ends_in_the_done_folder(
    tmp_path: Path,
    submission: SmtpServer,
    dovecot: Dovecot,
    mailbox_user: MailUser,
    secrets_env: None,
) -> None:
    result = doctor(tmp_path, practice(tmp_path, submission, mailbox_user))
    assert result.exit_code == 0, result.output
    assert failures(result) == []
    lines = result.output.splitlines()
    for what in ("practice file", "DNS mail.smtp", "DNS mail.imap", "SMTP", "IMAP", "round trip",
                 "database", "templates"):  # fmt: skip
        assert any(line.startswith(f"ok   {what}") for line in lines), (what, result.output)
    # Only the practice's own address got mail, and the watcher will never see it in INBOX.
    assert [rcpts for _sender, rcpts in submission.sink.envelopes] == [[PRACTICE]]
    test = submission.sink.messages[0]
    assert test["Subject"].startswith("checkin doctor test ")
    assert test["Auto-Submitted"] == "auto-generated"
    assert test["X-Checkin-Doctor"] in test["Subject"]
    assert dovecot.mailbox_uids(mailbox_user.user, "INBOX") == []
    assert len(dovecot.mailbox_uids(mailbox_user.user, DONE)) == 1


def test_a_wrong_imap_password_is_named_and_fails(
    tmp_path: Path,
    submission: SmtpServer,
    mailbox_user: MailUser,
    secrets_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "wrong")
    result = doctor(tmp_path, practice(tmp_path, submission, mailbox_user))
    assert result.exit_code == 1
    [fail] = failures(result)
    assert "IMAP login refused" in fail and "$TEST_IMAP_PASSWORD" in fail
    assert "skip round trip" in result.output
    assert submission.sink.messages == []  # nothing sent when it could not come back


def test_a_missing_imap_folder_is_named(
    tmp_path: Path, submission: SmtpServer, mailbox_user: MailUser, secrets_env: None
) -> None:
    result = doctor(tmp_path, practice(tmp_path, submission, mailbox_user, folder="Checkins"))
    assert result.exit_code == 1
    [fail] = failures(result)
    assert "folder 'Checkins' does not exist on the server" in fail
    assert "mail.imap.folder" in fail


def test_a_wrong_smtp_password_is_named_and_fails(
    tmp_path: Path,
    submission: SmtpServer,
    mailbox_user: MailUser,
    secrets_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "nope")
    result = doctor(tmp_path, practice(tmp_path, submission, mailbox_user))
    assert result.exit_code == 1
    [fail] = failures(result)
    assert "SMTP login refused" in fail and "$TEST_SMTP_PASSWORD" in fail
    assert "mail.smtp username" in fail
    assert "ok   IMAP" in result.output  # the other checks still ran
    assert "skip round trip" in result.output


def test_a_broken_template_override_is_named_with_its_line(
    tmp_path: Path, submission: SmtpServer, mailbox_user: MailUser, secrets_env: None
) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "checkin-subject.txt").write_text("Check-in\n{% if %}\n", encoding="utf-8")
    data = practice(tmp_path, submission, mailbox_user)
    data["templates"] = str(folder)
    result = doctor(tmp_path, data)
    assert result.exit_code == 1
    [fail] = failures(result)
    assert fail.startswith("FAIL template checkin-subject.txt")
    assert f"{folder / 'checkin-subject.txt'}:2" in fail


def test_mail_that_never_comes_back_times_out(
    tmp_path: Path, smtp_server: SmtpServer, mailbox_user: MailUser, secrets_env: None
) -> None:
    data = with_mailbox(
        practice_dict(smtp_server, f"sqlite:///{tmp_path / 'checkin.db'}"), mailbox_user
    )
    result = doctor(tmp_path, data, "--wait", "1")
    assert result.exit_code == 1
    [fail] = failures(result)
    assert "not seen in folder 'INBOX' after 1 s" in fail
    assert "filters/spam" in fail


def test_a_bad_practice_file_lists_its_problems_and_skips_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "checkin.yaml"
    path.write_text("practice: {name: X}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["doctor", "--config", str(path)])
    assert result.exit_code == 1
    assert result.output.startswith(f"FAIL practice file {path}")
    assert "skip DNS" in result.output and "skip templates" in result.output


def test_an_unknown_host_fails_dns_and_skips_what_needs_it(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    data = practice_dict(smtp_server, f"sqlite:///{tmp_path / 'checkin.db'}")
    data["mail"]["smtp"].update(host="no-such-host.invalid", security="tls", port=465)
    result = doctor(tmp_path, data)
    assert result.exit_code == 1
    [fail] = failures(result)
    assert fail.startswith("FAIL DNS mail.smtp.host no-such-host.invalid")
    assert "skip IMAP" in result.output  # no imap block at all
    assert "ok   database" in result.output and "ok   templates" in result.output


def test_an_untrusted_smtp_certificate_is_named(
    tmp_path: Path,
    starttls_server: SmtpServer,
    secrets_env: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("SSL_CERT_FILE")  # the test CA is no longer trusted
    data = practice_dict(starttls_server, f"sqlite:///{tmp_path / 'checkin.db'}")
    data["mail"]["smtp"].update(
        security="starttls", username=PRACTICE, password_env="TEST_SMTP_PASSWORD"
    )
    result = doctor(tmp_path, data)
    assert result.exit_code == 1
    [fail] = failures(result)
    assert f"certificate of 127.0.0.1:{starttls_server.port} not trusted" in fail
