"""The practice as validated from its YAML file: plain frozen data, no I/O.

`checkin.config` builds a `Practice` (and reports every mistake with file and line);
everything else reads these objects. Defaults are already resolved onto each
experiment, so the schedule never has to look anything up twice.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class QuietHours:
    """A daily span of local wall time with no mail; it may wrap midnight (21:30-08:00)."""

    start: time
    end: time

    def contains(self, t: time) -> bool:
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= t < self.end
        return t >= self.start or t < self.end


@dataclass(frozen=True)
class OAuth2:
    """XOAUTH2 for Microsoft 365 / Google Workspace: a command that prints an access token,
    or a refresh token (from the environment) exchanged at `token_url`."""

    token_command: str | None = None
    token_url: str | None = None
    client_id: str | None = None
    client_secret_env: str | None = None
    refresh_token_env: str | None = None
    scope: str | None = None


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    security: str  # "tls", "starttls" or "none" (loopback only)
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    oauth2: OAuth2 | None = None
    timeout: float = 30.0

    def password(self) -> str | None:
        """Read the secret only when a connection needs it, so it never sits in the config."""
        if self.password_env:
            return os.environ.get(self.password_env)
        if self.password_file:
            return self.password_file.read_text(encoding="utf-8").strip()
        return None


@dataclass(frozen=True)
class ImapServer(Server):
    folder: str = "INBOX"
    done_folder: str = "Checkin/Done"
    poll_interval: float = 60.0
    max_message_bytes: int = 25 * 1024 * 1024  # larger messages are stored as headers only


@dataclass(frozen=True)
class Mail:
    from_addr: str  # as written: "Harbour check-ins <checkin@harbour.example>"
    smtp: Server
    imap: ImapServer | None = None


@dataclass(frozen=True)
class DigestTime:
    weekday: int  # 0 = Monday
    time: time
    names: str = "names"  # "names" or "ids": how clients are called in the digest body


DEFAULT_SAFETY_MESSAGE = (
    "Thank you for writing. Something in your message made us want to check that you are safe.\n\n"
    "This mailbox is not watched around the clock, so please do not wait for a reply here. "
    "If you are in danger now, or might act on thoughts of hurting yourself, call your local "
    "emergency number (999 or 112 in the UK and Europe, 911 in North America) or go to your "
    "nearest emergency department. You can also call a crisis line any time, day or night: "
    "in the UK, Samaritans on 116 123; in the US, 988.\n\n"
    "Your therapist has been told about your message and will be in touch."
)


@dataclass(frozen=True)
class Safety:
    """What happens at once when a reply carries risk language."""

    client_message: str | None = None  # None: the shipped default, and `checkin check` warns
    backup_email: str | None = None  # a second person who gets every alert

    @property
    def message(self) -> str:
        return self.client_message or DEFAULT_SAFETY_MESSAGE


@dataclass(frozen=True)
class Therapist:
    id: str
    name: str
    email: str
    timezone: ZoneInfo
    digest: DigestTime | None = None


@dataclass(frozen=True)
class Cadence:
    """Either fixed weekdays (`days`) or every N days counted from the experiment's start."""

    time: time
    days: frozenset[int] | None = None  # 0 = Monday
    every_days: int | None = None


@dataclass(frozen=True)
class Experiment:
    id: str
    title: str
    cadence: Cadence
    start: date
    end: date | None
    quiet_hours: QuietHours | None
    nudge_after: timedelta | None  # None: never nudge
    catch_up: timedelta


@dataclass(frozen=True)
class Client:
    id: str
    name: str | None
    emails: tuple[str, ...]  # the first is where check-ins go; all are accepted for replies
    therapist: str
    timezone: ZoneInfo
    consent: date | None  # no consent date, no email
    experiments: tuple[Experiment, ...] = ()


@dataclass(frozen=True)
class Practice:
    name: str
    timezone: ZoneInfo
    mail: Mail
    database: str
    templates: Path | None
    therapists: tuple[Therapist, ...]
    clients: tuple[Client, ...]
    source: Path | None = None
    catch_up: timedelta = timedelta(hours=6)
    safety: Safety = Safety()
    _by_id: dict[str, Client] = field(default_factory=dict, compare=False, repr=False)

    def client(self, client_id: str) -> Client | None:
        if not self._by_id:
            self._by_id.update({c.id: c for c in self.clients})
        return self._by_id.get(client_id)

    def therapist(self, therapist_id: str) -> Therapist | None:
        return next((t for t in self.therapists if t.id == therapist_id), None)
