"""Kill -9 a real `checkin send-due` between claim and mark; the next run sends it once."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import select

from checkin.store.db import engine_for, session
from checkin.store.models import Outbox
from tests.conftest import SmtpServer, free_port, practice_dict, write_practice
from tests.test_send import SLOT_UTC, cli

AFTER_LEASE = "2026-11-27T00:06:00Z"  # the dead process's 5-minute claim has run out


def start_send_due(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "checkin.cli",
            "--config",
            str(config),
            "send-due",
            "--at",
            SLOT_UTC,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen[bytes]) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)


def outbox_rows(database_url: str) -> list[Outbox]:
    engine = engine_for(database_url)
    with session(engine) as s:
        rows = list(s.execute(select(Outbox)).scalars())
    engine.dispose()
    return rows


class SilentServer:
    """Accepts connections and never says a word: the sender is stuck after its claim."""

    def __init__(self) -> None:
        self.port = free_port()
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.accepted = threading.Event()
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            self.accepted.set()

    def close(self) -> None:
        for c in self.connections:
            c.close()
        self.listener.close()


def wait_for(event: threading.Event, what: str) -> None:
    assert event.wait(timeout=60), f"timed out waiting for {what}"


def test_killed_after_claim_before_send_sends_once(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    silent = SilentServer()
    data = practice_dict(smtp_server, database_url)
    data["mail"]["smtp"]["port"] = silent.port
    config = write_practice(tmp_path / "checkin.yaml", data)
    process = start_send_due(config)
    try:
        wait_for(silent.accepted, "the sender to connect")
        kill(process)
    finally:
        silent.close()
    [row] = outbox_rows(database_url)
    assert row.status == "sending"  # claimed, then the process died

    data["mail"]["smtp"]["port"] = smtp_server.port
    write_practice(config, data)
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-27T00:01:00Z").output  # lease held
    assert "1 sent" in cli(config, "send-due", "--at", AFTER_LEASE).output
    assert "0 sent" in cli(config, "send-due", "--at", "2026-11-27T00:30:00Z").output
    assert smtp_server.sink.message_ids() == [row.message_id]


def test_killed_during_data_resends_with_the_same_message_id(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str
) -> None:
    config = write_practice(tmp_path / "checkin.yaml", practice_dict(smtp_server, database_url))
    smtp_server.sink.hold = threading.Event()
    process = start_send_due(config)
    wait_for(smtp_server.sink.in_data, "the message data")
    kill(process)
    # aiosmtpd drops a transaction whose client vanished mid-DATA, as real servers do.
    smtp_server.sink.hold.set()
    smtp_server.sink.hold = None

    assert "1 sent" in cli(config, "send-due", "--at", AFTER_LEASE).output
    [row] = outbox_rows(database_url)
    assert row.status == "sent" and row.attempts == 2
    ids = smtp_server.sink.message_ids()
    assert ids and set(ids) == {row.message_id}  # a duplicate, if any, threads as one message
