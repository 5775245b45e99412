"""A real Dovecot IMAP server on loopback, driven like an MTA and an admin would.

Used by `checkin demo` (when /usr/sbin/dovecot is installed) and by the test suite, which
runs one server per session and gives every test its own user, so tests never see each
other's mail. `doveadm` delivers mail (which wakes IDLE), kicks sessions and inspects
mailboxes from outside the IMAP connection under test.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

DOVECOT = Path("/usr/sbin/dovecot")
DOVEADM = "doveadm"
HOST = "127.0.0.1"
_NO_USERS_KICKED = 68  # doveadm kick's exit status when the user had no session


def installed() -> bool:
    return DOVECOT.exists()


@dataclass(frozen=True)
class MailUser:
    user: str
    password: str
    host: str
    port: int
    tls_port: int | None = None


class Dovecot:
    """Writes a config under `root` and runs `dovecot -F` in a process group of its own.

    `stop()` / `start()` keep the same port and mail, as a server restart would.
    """

    def __init__(
        self, root: Path, port: int, tls: tuple[Path, Path] | None = None, tls_port: int = 0
    ) -> None:
        self.root = root
        self.host = HOST
        self.port = port
        self.tls_port = tls_port if tls else None
        self.conf = root / "dovecot.conf"
        self.log_path = root / "dovecot.log"
        self.stderr_path = root / "dovecot.stderr"
        self._users_dir = root / "users"
        self._process: subprocess.Popen[bytes] | None = None
        # Mail is written by the unprivileged mail user, which must reach it through root.
        root.chmod(0o755)
        (root / "mail").mkdir(exist_ok=True)
        (root / "mail").chmod(0o777)
        self._users_dir.mkdir(exist_ok=True)
        self.conf.write_text(self._config(tls), encoding="utf-8")

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        if self.running:
            return
        with self.stderr_path.open("ab") as stderr:
            self._process = subprocess.Popen(
                [str(DOVECOT), "-F", "-c", str(self.conf)],
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # its children join our group, so stop() finds them all
            )
        self._await_greeting(timeout)

    def stop(self, hard: bool = False) -> None:
        """Stop the master and every child. `hard` kills without a BYE, as a crash would."""
        process, self._process = self._process, None
        if process is None:
            return
        group = process.pid
        if hard:
            _signal_group(group, signal.SIGKILL)
        else:
            process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            _signal_group(group, signal.SIGKILL)
            process.wait(timeout=10)
        # The master leaves running imap and imap-login processes behind; a real restart
        # drops them (they answer SIGTERM with "* BYE"), and they would keep the port bound.
        _signal_group(group, signal.SIGKILL if hard else signal.SIGTERM)
        if not _await_group_exit(group, 5.0):
            _signal_group(group, signal.SIGKILL)
            _await_group_exit(group, 5.0)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _await_greeting(self, timeout: float) -> None:
        """A bare connect can reach a listener that is already shutting down: wait for "* OK"."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"dovecot exited at start:\n{self.diagnostics()}")
            try:
                with socket.create_connection((self.host, self.port), timeout=1) as s:
                    if s.recv(200).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"dovecot did not greet within {timeout} s:\n{self.diagnostics()}")

    def diagnostics(self, lines: int = 30) -> str:
        parts = []
        for path in (self.stderr_path, self.log_path):
            if path.exists():
                tail = path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path}\n" + "\n".join(tail))
        return "\n".join(parts)

    # -- users and mail ------------------------------------------------------------------------

    def add_user(self, user: str, password: str) -> MailUser:
        # A file per user: Dovecot re-reads a changed passwd-file at most once a second, so a
        # user added to a shared file right after another test's login could stay unknown.
        path = self._users_dir / user
        tmp = path.with_suffix(".tmp")
        tmp.write_text(f"{user}:{{PLAIN}}{password}\n", encoding="utf-8")
        tmp.replace(path)  # in one step: the auth process never reads half a file
        return MailUser(user, password, self.host, self.port, self.tls_port)

    def deliver(self, user: str, raw: bytes, mailbox: str | None = None) -> None:
        """Save a message as the MTA would; IMAP sessions in IDLE hear of it at once."""
        args = ["save", "-u", user] + (["-m", mailbox] if mailbox else [])
        self.doveadm(*args, stdin=raw)

    def kick(self, user: str) -> None:
        """Drop the user's sessions as a server restart would ("* BYE Server shutting down.")."""
        self.doveadm("kick", user, allow=(0, _NO_USERS_KICKED))

    def mailbox_uids(self, user: str, folder: str = "INBOX") -> list[int]:
        out = self.doveadm("search", "-u", user, "mailbox", folder, "ALL")
        return sorted(int(line.split()[1]) for line in out.splitlines() if line.strip())

    def flags(self, user: str, folder: str, uid: int) -> set[str]:
        out = self.doveadm("fetch", "-u", user, "flags", "mailbox", folder, "uid", str(uid))
        words = out.partition("flags:")[2].split()
        return set(words)

    def mailboxes(self, user: str) -> list[str]:
        return self.doveadm("mailbox", "list", "-u", user).splitlines()

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        out = self.doveadm("mailbox", "status", "-u", user, "uidvalidity", folder)
        return int(out.rpartition("uidvalidity=")[2].split()[0])

    def create_mailbox(self, user: str, folder: str) -> None:
        self.doveadm("mailbox", "create", "-u", user, folder)

    def delete_mailbox(self, user: str, folder: str) -> None:
        self.doveadm("mailbox", "delete", "-u", user, folder)

    def doveadm(self, *args: str, stdin: bytes | None = None, allow: tuple[int, ...] = (0,)) -> str:
        done = subprocess.run(
            [DOVEADM, "-c", str(self.conf), *args],
            input=stdin,
            capture_output=True,
            timeout=20,
            check=False,
        )
        if done.returncode not in allow:
            raise RuntimeError(
                f"doveadm {args[0]} failed ({done.returncode}): "
                f"{done.stderr.decode(errors='replace')}\n{self.diagnostics(10)}"
            )
        return done.stdout.decode(errors="replace")

    # -- configuration -------------------------------------------------------------------------

    def _config(self, tls: tuple[Path, Path] | None) -> str:
        r = self.root
        if os.geteuid() == 0:
            accounts = "mail_uid = nobody\nmail_gid = nogroup\n"
        else:
            # Rootless (a developer's machine): everything runs as us, and nothing can chroot.
            me, group = pwd.getpwuid(os.getuid()).pw_name, grp.getgrgid(os.getgid()).gr_name
            accounts = (
                f"mail_uid = {me}\nmail_gid = {group}\n"
                f"default_internal_user = {me}\ndefault_internal_group = {group}\n"
                f"default_login_user = {me}\n"
            )
        chroot = "" if os.geteuid() == 0 else "  chroot =\n"
        ssl = f"ssl = yes\nssl_cert = <{tls[0]}\nssl_key = <{tls[1]}\n" if tls else "ssl = no\n"
        return f"""\
protocols = imap
listen = {HOST}
base_dir = {r}/run
state_dir = {r}/state
log_path = {self.log_path}
{ssl}disable_plaintext_auth = no
# xoauth2: with a passwd-file passdb the bearer token is checked like a password.
auth_mechanisms = plain login xoauth2
auth_verbose = yes
# Tests log in wrongly on purpose: no 2 s delay per failure, no growing penalty per IP.
auth_failure_delay = 0
service anvil {{
{chroot}  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
mail_location = maildir:{r}/mail/%u/Maildir
{accounts}first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self._users_dir}/%u
}}
userdb {{
  driver = static
  args = home={r}/mail/%u
}}
service imap-login {{
{chroot}  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
  inet_listener imaps {{
    address = {HOST}
    port = {self.tls_port or 0}
  }}
}}
namespace inbox {{
  inbox = yes
  separator = /
}}
"""


def _signal_group(group: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, sig)


def _await_group_exit(group: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _live_members(group):
            return True
        time.sleep(0.02)
    return False


def _live_members(group: int) -> list[int]:
    """Zombies still count for killpg(0), so read /proc and skip them."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the parenthesised command: state ppid pgrp ...
        fields = stat.rpartition(")")[2].split()
        if int(fields[2]) == group and fields[0] != "Z":
            alive.append(int(entry.name))
    return alive
