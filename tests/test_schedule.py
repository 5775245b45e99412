"""The schedule as a client lives it: through `checkin send-due` against a real SMTP server."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from checkin.store import clients
from checkin.store.db import engine_for
from tests.conftest import SmtpServer, practice_dict, write_practice
from tests.test_send import SLOT_UTC, cli


def practice(tmp_path: Path, smtp: SmtpServer, url: str, **client: object) -> tuple[Path, dict]:
    data = practice_dict(smtp, url)
    data["clients"][0].update(client)
    return write_practice(tmp_path / "checkin.yaml", data), data


def subjects(smtp: SmtpServer) -> list[str]:
    return [m["Subject"] for m in smtp.sink.messages]


def test_pause_and_resume(tmp_path: Path, smtp_server: SmtpServer, database_url: str) -> None:
    config, _ = practice(tmp_path, smtp_server, database_url)
    assert "alex: paused until resumed" in cli(config, "client", "pause", "alex").output
    cli(config, "send-due", "--at", SLOT_UTC)
    assert "paused" in cli(config, "status", "--at", SLOT_UTC).output
    assert smtp_server.sink.messages == []
    cli(config, "client", "resume", "alex")
    cli(config, "send-due", "--at", "2026-11-28T00:00:10Z")  # Friday 19:00 in New York
    assert subjects(smtp_server) == ["Your check-in for Friday 27 November"]


def test_a_dated_pause_ends_by_itself(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    config, _ = practice(tmp_path, smtp_server, database_url)
    cli(config, "client", "pause", "alex", "--until", "2026-11-28")
    cli(config, "send-due", "--at", SLOT_UTC)
    cli(config, "send-due", "--at", "2026-11-28T00:00:10Z")
    assert smtp_server.sink.messages == []
    cli(config, "send-due", "--at", "2026-11-29T00:00:10Z")  # Saturday 28th, 19:00
    assert subjects(smtp_server) == ["Your check-in for Saturday 28 November"]


def test_stop_means_no_more_mail(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    config, _ = practice(tmp_path, smtp_server, database_url)
    cli(config, "client", "stop", "alex")
    for day in (27, 28, 29):
        cli(config, "send-due", "--at", f"2026-11-{day}T00:00:10Z")
    assert smtp_server.sink.messages == []


def test_a_bouncing_address_is_skipped(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    config, _ = practice(
        tmp_path, smtp_server, database_url, email=["alex@client.test", "alex@work.test"]
    )
    engine = engine_for(database_url)
    cli(config, "db", "upgrade")
    clients.mark_bouncing(engine, "Alex@Client.test", datetime.now(UTC), "550 no such user")
    cli(config, "send-due", "--at", SLOT_UTC)
    assert [m["To"].addresses[0].addr_spec for m in smtp_server.sink.messages] == ["alex@work.test"]
    clients.mark_bouncing(engine, "alex@work.test", datetime.now(UTC))
    cli(config, "send-due", "--at", "2026-11-28T00:00:10Z")
    assert len(smtp_server.sink.messages) == 1
    engine.dispose()
    assert "no address marked as bouncing" in cli(config, "client", "clear-bounce", "alex").output
    cli(config, "send-due", "--at", "2026-11-29T00:00:10Z")
    assert smtp_server.sink.messages[-1]["To"].addresses[0].addr_spec == "alex@client.test"


@pytest.mark.parametrize(
    ("zone", "before_utc", "after_utc", "days"),
    [
        # London: 19:00 GMT is 19:00 UTC, 19:00 BST is 18:00 UTC.
        ("Europe/London", "2026-03-28T19:00:10", "2026-03-29T18:00:10", ("28 March", "29 March")),
        ("Europe/London", "2026-10-24T18:00:10", "2026-10-25T19:00:10", ("24 October", "25 October")),
        # New York: 19:00 EST is 00:00 UTC next day, 19:00 EDT is 23:00 UTC.
        ("America/New_York", "2026-03-08T00:00:10", "2026-03-08T23:00:10", ("7 March", "8 March")),
        ("America/New_York", "2026-10-31T23:00:10", "2026-11-02T00:00:10", ("31 October", "1 November")),
    ],
)  # fmt: skip
def test_dst_change_keeps_the_local_time(
    tmp_path: Path,
    smtp_server: SmtpServer,
    database_url: str,
    zone: str,
    before_utc: str,
    after_utc: str,
    days: tuple[str, str],
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["clients"][0].update(timezone=zone, consent="2026-01-01")
    data["clients"][0]["experiments"][0].update(start="2026-01-01", end="2026-12-31")
    config = write_practice(tmp_path / "checkin.yaml", data)
    for at in (before_utc, after_utc):
        assert "0 sent" in cli(config, "send-due", "--at", shift(at, minutes=-2)).output
        assert "1 sent" in cli(config, "send-due", "--at", at + "Z").output
        assert "0 sent" in cli(config, "send-due", "--at", shift(at, minutes=30)).output
    sent_for = [m["Subject"].split(" ", 4)[-1] for m in smtp_server.sink.messages]
    assert sent_for == [days[0], days[1]]


def shift(at: str, minutes: int) -> str:
    return (datetime.fromisoformat(at + "Z") + timedelta(minutes=minutes)).isoformat()


def test_catch_up_inside_quiet_hours_waits_for_the_morning(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    config, _ = practice(tmp_path, smtp_server, database_url)
    # Back at 22:00 in New York: the 19:00 check-in is 3 h old, but it is quiet time now.
    assert "1 planned, 0 sent" in cli(config, "send-due", "--at", "2026-11-27T03:00:00Z").output
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-27T12:59:00Z").output
    assert "1 sent" in cli(config, "send-due", "--at", "2026-11-27T13:00:10Z").output  # 08:00
    assert subjects(smtp_server) == ["Your check-in for Thursday 26 November"]


def test_one_gentle_nudge_when_unanswered(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    data["clients"][0]["experiments"][0]["cadence"] = {"days": ["thu"], "time": "19:00"}
    config = write_practice(tmp_path / "checkin.yaml", data)
    cli(config, "send-due", "--at", SLOT_UTC)
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-28T23:59:00Z").output
    assert "1 sent" in cli(config, "send-due", "--at", "2026-11-29T00:00:40Z").output  # +2 days
    for at in ("2026-11-29T01:00:00Z", "2026-11-30T00:00:40Z", "2026-12-01T13:00:00Z"):
        assert "0 sent" in cli(config, "send-due", "--at", at).output
    checkin, nudge = smtp_server.sink.messages
    assert nudge["Subject"] == "A gentle reminder: your check-in for Thursday 26 November"
    assert nudge["In-Reply-To"] == checkin["Message-ID"]
    assert nudge["Reply-To"] == checkin["Reply-To"]  # a reply to either is the same answer


def test_two_processes_send_each_checkin_once(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    template = data["clients"][0]
    data["clients"] = [{**template, "id": f"c{i}", "email": f"c{i}@client.test"} for i in range(30)]
    config = write_practice(tmp_path / "checkin.yaml", data)
    cli(config, "db", "upgrade")
    command = [sys.executable, "-m", "checkin.cli", "--config", str(config), "send-due"]
    workers = [subprocess.Popen([*command, "--at", SLOT_UTC]) for _ in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    recipients = [m["To"].addresses[0].addr_spec for m in smtp_server.sink.messages]
    assert sorted(recipients) == sorted(f"c{i}@client.test" for i in range(30))


def test_a_bad_practice_file_stops_every_command_before_it_acts(
    tmp_path: Path, smtp_server: SmtpServer
) -> None:
    database = tmp_path / "never.db"
    config, _ = practice(tmp_path, smtp_server, f"sqlite:///{database}", timezone="Mars/Olympus")
    for command in (["check"], ["send-due", "--at", SLOT_UTC], ["status"], ["run"]):
        result = cli(config, *command)
        assert result.exit_code == 1, command
        assert f"{config}:" in result.output and "Mars/Olympus" in result.output
    assert not database.exists()
    assert smtp_server.sink.messages == []
