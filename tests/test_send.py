"""Check-ins reach a real SMTP server once, with the right headers, parts and timing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from checkin.cli import main
from tests.conftest import SmtpServer, practice_dict, write_practice

# Thursday 26 November 2026, 19:00 in New York (EST, UTC-5) is midnight UTC.
SLOT_UTC = "2026-11-27T00:00:30Z"


def cli(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["--config", str(config), *args], catch_exceptions=False)
    return result


@pytest.fixture
def config(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> Path:
    return write_practice(tmp_path / "checkin.yaml", practice_dict(smtp_server, database_url))


def test_checkin_arrives_with_headers_and_both_parts(config: Path, smtp_server: SmtpServer) -> None:
    result = cli(config, "send-due", "--at", SLOT_UTC)
    assert result.exit_code == 0, result.output
    assert "1 sent" in result.output
    [msg] = smtp_server.sink.messages
    assert msg["To"] == "Alex <alex@client.test>"
    assert msg["From"] == "Harbour check-ins <checkin@practice.test>"
    assert msg["Subject"] == "Your check-in for Thursday 26 November"
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert msg["Date"] is not None and msg["Message-ID"].endswith("@practice.test>")
    token = re.fullmatch(
        r"checkin\+([a-z2-7]{26})@practice\.test", msg["Reply-To"].addresses[0].addr_spec
    )
    assert token, msg["Reply-To"]
    assert msg["List-Unsubscribe"] == f"<mailto:checkin+{token[1]}@practice.test?subject=STOP>"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Notice your breathing for one minute before work" in body
        assert "PAUSE" in body and "STOP" in body
        assert "0 to 10" in body


def test_send_due_twice_sends_nothing_twice(config: Path, smtp_server: SmtpServer) -> None:
    assert "1 sent" in cli(config, "send-due", "--at", SLOT_UTC).output
    assert "0 planned, 0 sent" in cli(config, "send-due", "--at", SLOT_UTC).output
    assert "0 planned, 0 sent" in cli(config, "send-due", "--at", "2026-11-27T00:20:00Z").output
    assert len(smtp_server.sink.messages) == 1


def test_nothing_before_the_local_time(config: Path, smtp_server: SmtpServer) -> None:
    # 18:59 in New York is already 23:59 in London and UTC: local time is what counts.
    cli(config, "send-due", "--at", "2026-11-26T23:59:00Z")
    assert smtp_server.sink.messages == []


def test_utf8_names_and_subjects(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["practice"]["name"] = "Praxis Grüße & Söhne"
    data["mail"]["from"] = "Praxis Grüße <checkin@practice.test>"
    data["clients"][0]["name"] = "Zoë Łukasiewicz"
    data["clients"][0]["experiments"][0]["title"] = "Atme <b>tief</b> — eine Minute"
    config = write_practice(tmp_path / "checkin.yaml", data)
    cli(config, "send-due", "--at", SLOT_UTC)
    [msg] = smtp_server.sink.messages
    assert msg["To"].addresses[0].display_name == "Zoë Łukasiewicz"
    assert msg["From"].addresses[0].display_name == "Praxis Grüße"
    html = msg.get_body(("html",)).get_content()
    assert "Atme &lt;b&gt;tief&lt;/b&gt; — eine Minute" in html  # escaped, never markup
    assert "Atme <b>tief</b> — eine Minute" in msg.get_body(("plain",)).get_content()
    assert "Praxis Grüße &amp; Söhne" in html


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"consent": None}, "no consent date"),
        ({"consent": "2026-12-01"}, "consent starts later"),
    ],
)
def test_no_mail_without_consent(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, change: dict, why: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["clients"][0].update(change)
    config = write_practice(tmp_path / "checkin.yaml", data)
    cli(config, "send-due", "--at", SLOT_UTC)
    assert smtp_server.sink.messages == [], why


def test_nothing_after_end_or_before_start(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["clients"][0]["experiments"][0]["end"] = "2026-11-25"
    config = write_practice(tmp_path / "checkin.yaml", data)
    cli(config, "send-due", "--at", SLOT_UTC)
    data["clients"][0]["experiments"][0].update(start="2026-11-27", end="2027-01-31")
    write_practice(config, data)
    cli(config, "send-due", "--at", SLOT_UTC)
    assert smtp_server.sink.messages == []


def test_practice_templates_override_the_shipped_ones(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "checkin-subject.txt").write_text("{{ practice_name }}: how did it go?\n")
    data = practice_dict(smtp_server, database_url, templates=str(tmp_path / "mine"))
    config = write_practice(tmp_path / "checkin.yaml", data)
    cli(config, "send-due", "--at", SLOT_UTC)
    [msg] = smtp_server.sink.messages
    assert msg["Subject"] == "Harbour Counselling: how did it go?"
    assert "0 to 10" in msg.get_body(("plain",)).get_content()  # the rest is still shipped


def test_catch_up_sends_only_the_latest_missed_checkin(
    config: Path, smtp_server: SmtpServer
) -> None:
    # Down from before Monday's slot until Thursday 19:00 + 2 h: one check-in, not four.
    result = cli(config, "send-due", "--at", "2026-11-27T02:00:00Z")
    assert "1 sent" in result.output
    [msg] = smtp_server.sink.messages
    assert msg["Subject"] == "Your check-in for Thursday 26 November"


def test_catch_up_window_is_six_hours(config: Path, smtp_server: SmtpServer) -> None:
    # 7 hours after the 19:00 slot it is 02:00 in New York: too stale to send.
    cli(config, "send-due", "--at", "2026-11-27T07:00:00Z")
    assert smtp_server.sink.messages == []
