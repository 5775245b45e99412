"""`checkin run` as a user runs it: real clock, real SMTP, signals and live edits."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from checkin.config import load
from checkin.jobs.scheduler import LiveConfig
from tests.conftest import SmtpServer, practice_dict, write_practice


def eventually(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def due_now(data: dict, client: dict) -> dict:
    """Make `client` due this very minute, in UTC, with no quiet hours in the way."""
    now = datetime.now(UTC)
    client.update(timezone="UTC", consent=f"{now:%Y-%m-%d}")
    client["experiments"][0].update(
        start=f"{now:%Y-%m-%d}", cadence={"days": ["daily"], "time": f"{now:%H:%M}"}
    )
    data["defaults"] = {"nudge": {"after": "2d"}}
    return data


@contextmanager
def running(config: Path, log_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """`checkin run` as a user starts it; at the end SIGTERM, which must stop it cleanly."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "checkin.cli", "--config", str(config), "run", *args],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        yield process
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
    assert "stopped cleanly" in log_path.read_text()


def test_run_sends_reloads_and_stops_cleanly(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    due_now(data, data["clients"][0])
    config = write_practice(tmp_path / "checkin.yaml", data)
    log_path = tmp_path / "run.log"
    with running(config, log_path) as process:
        eventually(lambda: len(smtp_server.sink.messages) == 1, "the first check-in")

        sam = {**data["clients"][0], "id": "sam", "name": "Sam", "email": "sam@client.test"}
        data["clients"].append(sam)
        write_practice(config, data)
        process.send_signal(signal.SIGHUP)
        eventually(lambda: len(smtp_server.sink.messages) == 2, "the new client's check-in")
        assert smtp_server.sink.messages[1]["To"] == "Sam <sam@client.test>"

        config.write_text(config.read_text() + "\nsurprise: true\n")
        process.send_signal(signal.SIGHUP)
        eventually(lambda: "not reloaded" in log_path.read_text(), "the bad edit to be refused")
        assert "unknown key 'surprise'" in log_path.read_text()
        assert process.poll() is None  # still running on the last good file
    assert len(smtp_server.sink.messages) == 2


def test_an_edit_is_picked_up_without_a_signal_and_a_bad_one_is_refused(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    data = practice_dict(smtp_server, database_url)
    config = write_practice(tmp_path / "checkin.yaml", data)
    live = LiveConfig(config, load(config))
    assert live.refresh().clients[0].name == "Alex"

    data["clients"][0]["name"] = "Alexandra"
    write_practice(config, data)
    os.utime(config, (1, 1))  # a different mtime, however fast the edit
    assert live.refresh().clients[0].name == "Alexandra"

    config.write_text(config.read_text().replace("19:00", "23:00"))  # inside quiet hours
    os.utime(config, (2, 2))
    assert live.refresh().clients[0].experiments[0].cadence.time.hour == 19
