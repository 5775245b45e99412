"""The demo's mail servers, on loopback: a real SMTP server and a real IMAP mailbox.

The SMTP server (aiosmtpd) plays the Internet: mail for the practice's address, or one of its
plus-addresses, is delivered into the IMAP mailbox, as the practice's provider would; every
other message is recorded as "sent to the outside world", where the simulated clients read it.
Nothing is relayed anywhere. The mailbox is Dovecot when it is installed, otherwise pymap, a
pure-Python IMAP server (`pip install 'checkin[demo]'`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session
from imapclient import IMAPClient

from checkin.demo import DemoSetupError, dovecot

HOST = "127.0.0.1"
log = logging.getLogger("checkin.demo")


def free_port() -> int:
    """aiosmtpd 1.4 cannot take port 0, so ask the kernel for a free one first."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


# -- IMAP --------------------------------------------------------------------------------------


class Mailstore(Protocol):
    """One IMAP mailbox (user and password) on loopback that mail can be delivered into."""

    name: str
    host: str
    port: int
    user: str
    password: str

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def deliver(self, raw: bytes) -> None: ...


class DovecotStore:
    """Dovecot in a folder of its own; delivery with `doveadm save`, as an MTA's LDA would."""

    name = "Dovecot"

    def __init__(self, user: str, password: str) -> None:
        self.host, self.port, self.user, self.password = HOST, free_port(), user, password
        # A folder of its own, not inside the demo's 0700 one: when we are root, Dovecot's
        # mail and auth processes run as other users and must reach their files.
        self._root = Path(tempfile.mkdtemp(prefix="checkin-demo-dovecot-"))
        self._server = dovecot.Dovecot(self._root, self.port)

    def start(self) -> None:
        self._server.start()
        self._server.add_user(self.user, self.password)

    def stop(self) -> None:
        try:
            self._server.stop()
        finally:
            shutil.rmtree(self._root, ignore_errors=True)

    def deliver(self, raw: bytes) -> None:
        self._server.deliver(self.user, raw)


class PymapStore:
    """pymap's in-memory backend in a child process; delivery with IMAP APPEND to INBOX."""

    name = "pymap"

    def __init__(self, root: Path, user: str, password: str) -> None:
        self.host, self.port, self.user, self.password = HOST, free_port(), user, password
        root.mkdir(parents=True, exist_ok=True)
        self._log_path = root / "pymap.log"
        self._process: subprocess.Popen[bytes] | None = None
        self._client: IMAPClient | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        # pymap has no `python -m pymap`; run its console script's function with our Python,
        # so it works from any venv without looking for the script on PATH.
        command = [
            sys.executable, "-c", "from pymap.main import main; main()",
            "--host", self.host, "--port", str(self.port),
            "dict", "--demo-user", self.user, "--demo-password", self.password,
        ]  # fmt: skip
        with self._log_path.open("ab") as out:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                start_new_session=True,  # Ctrl-C reaches only us; our finally stops it
            )  # fmt: skip
        _await_greeting(self.host, self.port, self._process, self._log_path)

    def stop(self) -> None:
        self._close_session()
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    def deliver(self, raw: bytes) -> None:
        # One session for every delivery: each pymap login takes about 0.2 s.
        with self._lock:
            try:
                self._session().append("INBOX", raw)
            except (IMAPClient.Error, OSError):
                self._close_session()  # a dropped session: one fresh try
                self._session().append("INBOX", raw)

    def _session(self) -> IMAPClient:
        if self._client is None:
            self._client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
            self._client.login(self.user, self.password)
        return self._client

    def _close_session(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            with contextlib.suppress(Exception):
                client.shutdown()


def pymap_installed() -> bool:
    return importlib.util.find_spec("pymap") is not None


def choose_store(choice: str, root: Path, user: str, password: str) -> Mailstore:
    """`auto`: Dovecot where it is installed (what production servers run), else pymap."""
    if choice == "dovecot" or (choice == "auto" and dovecot.installed()):
        if not dovecot.installed():
            raise DemoSetupError(
                "Dovecot is not installed (/usr/sbin/dovecot): apt-get install dovecot-imapd, "
                "or use --imap pymap"
            )
        return DovecotStore(user, password)
    if not pymap_installed():
        raise DemoSetupError(
            "the demo needs an IMAP server: install Dovecot (apt-get install dovecot-imapd) "
            "or pymap (.venv/bin/pip install -e '.[demo]')"
        )
    return PymapStore(root / "pymap", user, password)


def _await_greeting(
    host: str, port: int, process: subprocess.Popen[bytes], log_path: Path, timeout: float = 20.0
) -> None:
    """A bare connect can succeed before the server is ready: wait for its "* OK"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_path.read_text(errors="replace")[-2000:]
            raise DemoSetupError(f"the IMAP server exited at start:\n{tail}")
        with contextlib.suppress(OSError), socket.create_connection((host, port), 1) as s:
            if s.recv(200).startswith(b"* OK"):
                return
        time.sleep(0.05)
    raise DemoSetupError(f"the IMAP server did not greet within {timeout:g} s")


# -- SMTP --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Passed:
    """One message the SMTP server accepted, and where it went."""

    number: int
    mail_from: str
    recipients: tuple[str, ...]
    raw: bytes
    into_mailbox: bool


class Router:
    """aiosmtpd handler: the practice's own mail into the mailbox, the rest to `outside`."""

    def __init__(self, practice_address: str, deliver: Callable[[bytes], None]) -> None:
        local, _, domain = parseaddr(practice_address)[1].lower().rpartition("@")
        self._local, self._domain = local, domain
        self._deliver = deliver
        self._lock = threading.Lock()
        self.passed: list[Passed] = []

    def is_ours(self, address: str) -> bool:
        local, _, domain = address.lower().rpartition("@")
        return domain == self._domain and local.split("+")[0] == self._local

    async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        assert isinstance(raw, bytes)
        recipients = tuple(envelope.rcpt_tos)
        ours = any(self.is_ours(r) for r in recipients)
        if ours:
            try:
                # Delivery blocks (a subprocess or an IMAP session): keep the loop free.
                await asyncio.get_running_loop().run_in_executor(None, self._deliver, raw)
            except Exception as exc:
                log.warning("delivery into the mailbox failed: %s", type(exc).__name__)
                return "451 4.3.0 the mailbox is not available; try again later"
        with self._lock:
            number = len(self.passed) + 1
            self.passed.append(Passed(number, envelope.mail_from or "", recipients, raw, ours))
        return "250 OK"

    def since(self, count: int) -> list[Passed]:
        with self._lock:
            return self.passed[count:]


class SmtpServer:
    def __init__(self, router: Router) -> None:
        self.router = router
        self.host, self.port = HOST, free_port()
        self._controller = Controller(router, hostname=self.host, port=self.port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


# -- both together -------------------------------------------------------------------------------


@dataclass
class Servers:
    smtp: SmtpServer
    imap: Mailstore


@contextlib.contextmanager
def running(
    root: Path, practice_address: str, imap_choice: str, password: str
) -> Iterator[Servers]:
    """Start the mailbox, then the SMTP server in front of it; stop both whatever happens."""
    user = parseaddr(practice_address)[1]
    store = choose_store(imap_choice, root, user, password)
    smtp: SmtpServer | None = None
    try:
        store.start()
        smtp = SmtpServer(Router(practice_address, store.deliver))
        smtp.start()
        yield Servers(smtp, store)
    finally:
        if smtp is not None:
            smtp.stop()
        store.stop()


def port_open(host: str, port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
        return True
    return False
