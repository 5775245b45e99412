"""Real servers on loopback: aiosmtpd for SMTP, SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import create_engine, text

POSTGRES_URL = os.environ.get("CHECKIN_TEST_POSTGRES_URL")


def free_port() -> int:
    """aiosmtpd 1.4 cannot take port 0, so ask the kernel for a free one first."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Sink:
    """Records what the server accepted; `replies` lets a test choose the answer to DATA."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)
    hold: threading.Event | None = None
    arrived: threading.Event = field(default_factory=threading.Event)
    in_data: threading.Event = field(default_factory=threading.Event)
    sessions: set[int] = field(default_factory=set)

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        self.in_data.set()
        self.sessions.add(id(session))
        if self.hold is not None:
            # Keep the client waiting mid-DATA, as a slow server would, until the test lets go.
            while not self.hold.is_set():
                await asyncio.sleep(0.05)
        reply = self.replies.pop(0) if self.replies else "250 OK"
        if reply.startswith("250"):
            content = envelope.original_content or envelope.content or b""
            self.messages.append(message_from_bytes(content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            self.arrived.set()
        return reply

    def message_ids(self) -> list[str]:
        return [m["Message-ID"] for m in self.messages]


@dataclass
class SmtpServer:
    host: str
    port: int
    sink: Sink


def _start(controller: Controller) -> None:
    controller.start()


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    _start(controller)
    try:
        yield SmtpServer("127.0.0.1", controller.port, sink)
    finally:
        if sink.hold is not None:
            sink.hold.set()
        controller.stop()


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(tls_files: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server-side TLS context, and our client made to trust only its test certificate."""
    cert, key = tls_files
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    return context


@pytest.fixture
def starttls_server(server_tls: ssl.SSLContext) -> Iterator[SmtpServer]:
    """A server that insists on STARTTLS and AUTH, as a real submission port does."""
    context = server_tls

    def authenticator(
        server: object, session: Session, envelope: Envelope, mechanism: str, auth_data: object
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login,
            auth_data.password,
        ) == (b"checkin@practice.test", b"s3cret")
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535

    sink = Sink()
    controller = Controller(
        sink,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    _start(controller)
    try:
        yield SmtpServer("127.0.0.1", controller.port, sink)
    finally:
        controller.stop()


def _database_params() -> list[object]:
    params: list[object] = ["sqlite"]
    params.append(
        pytest.param(
            "postgres",
            marks=pytest.mark.skipif(
                not POSTGRES_URL, reason="set CHECKIN_TEST_POSTGRES_URL to run on PostgreSQL"
            ),
        )
    )
    return params


@pytest.fixture(params=_database_params())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh empty database per test: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'checkin.db'}"
        return
    assert POSTGRES_URL
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as c:
        c.execute(text(f"CREATE SCHEMA {schema}"))
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


def practice_dict(smtp: SmtpServer, database_url: str, **overrides: object) -> dict:
    """A small practice: one therapist, one client with one daily 19:00 check-in in New York."""
    data: dict = {
        "practice": {"name": "Harbour Counselling", "timezone": "Europe/London"},
        "mail": {
            "from": "Harbour check-ins <checkin@practice.test>",
            "smtp": {"host": smtp.host, "port": smtp.port, "security": "none", "timeout": 10},
        },
        "database": database_url,
        "defaults": {"quiet_hours": {"start": "21:30", "end": "08:00"}, "nudge": {"after": "2d"}},
        # Digests are off here so that check-in tests count only check-ins; digest tests turn
        # them on.
        "therapists": [
            {"id": "robin", "name": "Robin", "email": "robin@practice.test", "digest": False}
        ],
        "clients": [
            {
                "id": "alex",
                "name": "Alex",
                "email": "alex@client.test",
                "therapist": "robin",
                "timezone": "America/New_York",
                "consent": "2026-11-01",
                "experiments": [
                    {
                        "id": "breathing",
                        "title": "Notice your breathing for one minute before work",
                        "cadence": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                    "time": "19:00"},
                        "start": "2026-11-20",
                        "end": "2027-01-31",
                    }
                ],
            }
        ],
    }  # fmt: skip
    data.update(overrides)
    return data


def write_practice(path: Path, data: dict) -> Path:
    import yaml

    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


# --- IMAP: one Dovecot per session, one fresh mailbox per test ---------------------------------

from tests.dovecot import Dovecot, MailUser, installed  # noqa: E402


@pytest.fixture(scope="session")
def dovecot(request: pytest.FixtureRequest) -> Iterator[Dovecot]:
    """A real IMAP server (IDLE, MOVE, UIDPLUS, STARTTLS/TLS with the test CA) on loopback."""
    import shutil
    import tempfile

    if not installed():
        pytest.skip("Dovecot is not installed: apt-get install dovecot-imapd (CI installs it)")
    tls = request.getfixturevalue("tls_files")
    # Not tmp_path_factory: pytest's base dir is 0700, and the mail user must reach the mail.
    root = Path(tempfile.mkdtemp(prefix="checkin-dovecot-"))
    port = free_port()
    tls_port = free_port()
    while tls_port == port:
        tls_port = free_port()
    server = Dovecot(root, port, tls=tls, tls_port=tls_port)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def mailbox_user(dovecot: Dovecot) -> Iterator[MailUser]:
    """A user of its own (password "secret"), so no test sees another test's mail."""
    if not dovecot.running:  # a test that stopped the server and failed before restarting it
        dovecot.start()
    yield dovecot.add_user(f"u{uuid.uuid4().hex[:12]}@practice.test", "secret")
    if not dovecot.running:
        dovecot.start()
