"""What happens when the SMTP server says no, later, or wants TLS and a password."""

from __future__ import annotations

import base64
import ssl
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult

from tests.conftest import Sink, SmtpServer, free_port, practice_dict, write_practice
from tests.test_send import SLOT_UTC, cli


@pytest.fixture
def config(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> Path:
    return write_practice(tmp_path / "checkin.yaml", practice_dict(smtp_server, database_url))


def test_temporary_failure_is_retried_with_the_same_message_id(
    config: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.sink.replies = ["451 4.3.0 Try again later"]
    first = cli(config, "send-due", "--at", SLOT_UTC)
    assert "0 sent, 1 to retry" in first.output
    assert smtp_server.sink.messages == []
    status = cli(config, "status", "--at", "2026-11-27T00:00:40Z").output
    assert "retrying at" in status and "451 4.3.0 Try again later" in status
    # Not yet: the retry waits its turn.
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-27T00:00:50Z").output
    second = cli(config, "send-due", "--at", "2026-11-27T00:02:00Z")
    assert "1 sent" in second.output
    [msg] = smtp_server.sink.messages
    assert "Needs attention (0)" in cli(config, "status", "--at", "2026-11-27T00:03:00Z").output
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-27T00:05:00Z").output
    assert len(smtp_server.sink.messages) == 1 and msg["Message-ID"]


def test_permanent_failure_is_recorded_and_shown(config: Path, smtp_server: SmtpServer) -> None:
    smtp_server.sink.replies = ["550 5.1.1 No such user here"]
    result = cli(config, "send-due", "--at", SLOT_UTC)
    assert "1 failed" in result.output
    status = cli(config, "status", "--at", "2026-11-27T00:01:00Z").output
    assert "FAILED" in status and "550 5.1.1 No such user here" in status
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-27T01:00:00Z").output
    assert smtp_server.sink.messages == []


def test_unreachable_server_is_a_temporary_failure(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["mail"]["smtp"]["port"] = 1  # nothing listens there
    config = write_practice(tmp_path / "checkin.yaml", data)
    assert "1 to retry" in cli(config, "send-due", "--at", SLOT_UTC).output
    data["mail"]["smtp"]["port"] = smtp_server.port
    write_practice(config, data)
    assert "1 sent" in cli(config, "send-due", "--at", "2026-11-27T00:05:00Z").output


def test_a_checkin_that_cannot_go_out_for_a_day_is_given_up(
    config: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.sink.replies = ["421 4.7.0 Busy"] * 3
    cli(config, "send-due", "--at", SLOT_UTC)
    cli(config, "send-due", "--at", "2026-11-27T06:00:00Z")
    result = cli(config, "send-due", "--at", "2026-11-28T01:00:00Z")
    assert "1 failed" in result.output
    assert "gave up" in cli(config, "status", "--at", "2026-11-28T01:00:00Z").output


def test_starttls_and_login(
    tmp_path: Path, starttls_server: SmtpServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = practice_dict(starttls_server, database_url)
    data["mail"]["smtp"].update(
        security="starttls",
        host="localhost",
        username="checkin@practice.test",
        password_env="TEST_SMTP_PASSWORD",
    )
    data["mail"]["smtp"].pop("timeout")
    config = write_practice(tmp_path / "checkin.yaml", data)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    assert "1 to retry" in cli(config, "send-due", "--at", SLOT_UTC).output
    assert "SMTP login refused" in cli(config, "status", "--at", SLOT_UTC).output
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    assert "1 sent" in cli(config, "send-due", "--at", "2026-11-27T00:05:00Z").output
    assert len(starttls_server.sink.messages) == 1


class OAuthSink(Sink):
    """Accepts XOAUTH2 with one bearer token, as Microsoft 365 and Google do."""

    tokens_seen: list[str]

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        fields = base64.b64decode(args[1]).decode().split("\x01")
        self.tokens_seen = [*getattr(self, "tokens_seen", []), fields[1]]
        ok = fields[0] == "user=checkin@practice.test" and fields[1] == "auth=Bearer tok-123"
        return AuthResult(success=ok, handled=False)


def test_xoauth2_login_with_a_token_command(
    tmp_path: Path, server_tls: ssl.SSLContext, database_url: str
) -> None:
    sink = OAuthSink()
    controller = Controller(
        sink, hostname="127.0.0.1", port=free_port(), tls_context=server_tls,
        require_starttls=True, auth_required=True,
    )  # fmt: skip
    controller.start()
    try:
        server = SmtpServer("127.0.0.1", controller.port, sink)
        data = practice_dict(server, database_url)
        data["mail"]["smtp"].update(
            security="starttls",
            username="checkin@practice.test",
            oauth2={"token_command": "echo tok-123"},
        )
        config = write_practice(tmp_path / "checkin.yaml", data)
        assert "1 sent" in cli(config, "send-due", "--at", SLOT_UTC).output
    finally:
        controller.stop()
    assert sink.tokens_seen == ["auth=Bearer tok-123"]
    assert len(sink.messages) == 1


def test_one_connection_for_a_batch(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["clients"] = [
        {**data["clients"][0], "id": f"c{i}", "email": f"c{i}@client.test"} for i in range(5)
    ]
    config = write_practice(tmp_path / "checkin.yaml", data)
    assert "5 sent" in cli(config, "send-due", "--at", SLOT_UTC).output
    assert len(smtp_server.sink.sessions) == 1


def test_status_shows_whats_coming_in_the_clients_time(
    config: Path, smtp_server: SmtpServer
) -> None:
    cli(config, "send-due", "--at", SLOT_UTC)
    status = cli(config, "status", "--at", "2026-11-27T01:00:00Z").output
    assert "alex" in status and "Fri 27 Nov 19:00 America/New_York (in 23h 0m)" in status
    assert "Last sent" in status and "2026-11-27 00:00 UTC" in status


def test_implicit_tls(tmp_path: Path, server_tls: ssl.SSLContext, database_url: str) -> None:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port(), ssl_context=server_tls)
    controller.start()
    try:
        data = practice_dict(SmtpServer("127.0.0.1", controller.port, sink), database_url)
        data["mail"]["smtp"]["security"] = "tls"
        config = write_practice(tmp_path / "checkin.yaml", data)
        assert "1 sent" in cli(config, "send-due", "--at", SLOT_UTC).output
    finally:
        controller.stop()
    assert len(sink.messages) == 1
