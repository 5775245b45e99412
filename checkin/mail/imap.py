"""Fetch replies over IMAP: a thin adapter over imapclient, and the reconnect loop around it.

No parsing and no database here. `Mailbox` lists, fetches and moves raw messages by UID in one
folder; `watch` keeps a connection alive (IDLE where the server offers it) and calls back
whenever mail may have arrived. Every network, TLS or protocol failure surfaces as
`ConnectionLost`, so callers catch one thing; messages name the operation, never mail content.
"""

from __future__ import annotations

import contextlib
import logging
import re
import ssl
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any

from imapclient import DELETED, IMAPClient
from imapclient.exceptions import LoginError, ProtocolError

from checkin.errors import CheckinError, TemporaryFailure
from checkin.mail.oauth2 import access_token
from checkin.practice import ImapServer

log = logging.getLogger("checkin.imap")

IDLE_MAX = 540.0  # re-issue IDLE within 9 min: RFC 2177 allows 29, NAT boxes and proxies less
_STEP = 1.0  # longest blind spell inside wait(), so should_stop() is heard within about 1 s
_BATCH = 500  # UIDs per command: imapclient sends "1,2,3,..." and servers cap line length
_MAX_UID = 4_294_967_295
# imaplib's error and abort (imapclient's Error/AbortError), and OSError, which covers
# socket errors, TimeoutError (socket.timeout) and ssl.SSLError.
_NETWORK_ERRORS = (IMAPClient.Error, OSError)


class ConnectionLost(TemporaryFailure):
    """The connection failed or died (including a dead IDLE): close it, reconnect later."""


class LoginFailed(TemporaryFailure):
    """The server refused our credentials. Retried too: token services and auth backends
    recover, and an operator fixing the secret should not have to restart anything."""


class Mailbox:
    """One IMAP connection with `folder` selected read-write.

    UIDs are only meaningful together with `uidvalidity`: when it changes, the caller rescans.
    `can_idle`, `can_move` and `can_uidplus` reflect the server's capabilities after login;
    a caller (or a test) may clear them to force the fallbacks.
    """

    def __init__(self, server: ImapServer, folder: str | None = None) -> None:
        self.server = server
        self.folder = folder or server.folder
        self.can_idle = False
        self.can_move = False
        self.can_uidplus = False
        self._client: IMAPClient | None = None
        self._broken = False  # after a failure: skip LOGOUT, it would only wait for a timeout
        self._uidvalidity: int | None = None
        self._naming: tuple[str, str | None] | None = None  # personal prefix, delimiter
        self._known_folders: set[str] = set()

    def __enter__(self) -> Mailbox:
        if self._client is None:
            self.connect()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- connection ----------------------------------------------------------------------------

    def connect(self) -> None:
        """Open, secure, log in and select the folder; on any failure nothing stays open."""
        self.close()
        s = self.server
        try:
            self._client = self._open()
        except _NETWORK_ERRORS as exc:
            raise ConnectionLost(
                f"imap connect to {s.host}:{s.port} failed: {_describe(exc)}"
            ) from exc
        self._broken = False
        try:
            self._login()
            with self._guard(f"select {self.folder}") as client:
                selected = client.select_folder(self.folder)
                capabilities = {bytes(c).upper() for c in client.capabilities()}
        except BaseException:
            self._broken = True
            self.close()
            raise
        if b"UIDVALIDITY" not in selected:
            self.close()
            raise ConnectionLost(f"imap select {self.folder}: the server sent no UIDVALIDITY")
        self._uidvalidity = int(selected[b"UIDVALIDITY"])
        self.can_idle = b"IDLE" in capabilities
        self.can_move = b"MOVE" in capabilities
        self.can_uidplus = b"UIDPLUS" in capabilities
        self._naming = None
        self._known_folders = set()
        self._drain_news()  # SELECT's own EXISTS count is not news

    def close(self) -> None:
        """Log out (or just drop a broken connection); never raises."""
        client, self._client = self._client, None
        if client is None:
            return
        try:
            if self._broken:
                client.shutdown()
            else:
                client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()

    @property
    def connected(self) -> bool:
        return self._client is not None and not self._broken

    @property
    def uidvalidity(self) -> int:
        if self._uidvalidity is None:
            raise ConnectionLost("imap: not connected")
        return self._uidvalidity

    def _open(self) -> IMAPClient:
        s = self.server
        if s.security == "tls":
            context = ssl.create_default_context()
            return IMAPClient(s.host, s.port, ssl=True, ssl_context=context, timeout=s.timeout)
        if s.security not in ("starttls", "none"):
            raise ValueError(f"unknown mail.imap security {s.security!r}")
        client = IMAPClient(s.host, s.port, ssl=False, timeout=s.timeout)
        if s.security == "starttls":
            try:
                client.starttls(ssl.create_default_context())
            except BaseException:
                with contextlib.suppress(Exception):
                    client.shutdown()
                raise
        return client

    def _login(self) -> None:
        s = self.server
        hint = "check mail.imap username and password_env / oauth2"
        if not s.username:
            raise LoginFailed(f"imap login: no username; {hint}")
        with self._guard("login") as client:
            try:
                if s.oauth2 is not None:
                    client.oauth2_login(s.username, access_token(s.oauth2))
                    return
                password = s.password()
                if password is None:
                    raise LoginFailed(f"imap login: the password is empty or unset; {hint}")
                client.login(s.username, password)
            except LoginError as exc:
                raise LoginFailed(
                    f"imap login to {s.host} refused ({_describe(exc)}); {hint}"
                ) from exc

    @contextlib.contextmanager
    def _guard(self, operation: str) -> Iterator[IMAPClient]:
        """Run one operation on the live client; turn any transport failure into ConnectionLost."""
        if self._client is None or self._broken:
            raise ConnectionLost(f"imap {operation}: not connected")
        try:
            yield self._client
        except _NETWORK_ERRORS as exc:
            self._broken = True
            raise ConnectionLost(f"imap {operation} failed: {_describe(exc)}") from exc

    # -- reading -------------------------------------------------------------------------------

    def uids_after(self, last_uid: int) -> list[int]:
        """UIDs above `last_uid`, ascending (for "what is new since we last looked")."""
        if last_uid >= _MAX_UID:
            return []
        found = self._search(["UID", f"{last_uid + 1}:*"])
        # "UID n:*" always matches the highest UID, even when it is below n.
        return sorted(uid for uid in found if uid > last_uid)

    def all_uids(self) -> list[int]:
        return sorted(self._search("ALL"))

    def _search(self, criteria: str | list[str]) -> list[int]:
        with self._guard("search") as client:
            found = client.search(criteria)
            # Dovecot answers from the session's view and announces mail that arrived just
            # before the SEARCH only afterwards, with EXISTS: then the view has grown, ask again.
            if self._drain_news():
                found = client.search(criteria)
        return list(found)

    def sizes(self, uids: Iterable[int]) -> dict[int, int]:
        """RFC822.SIZE per UID; UIDs that no longer exist are left out."""
        found = self._fetch(uids, "RFC822.SIZE", b"RFC822.SIZE")
        return {uid: int(value) for uid, value in found.items()}

    def fetch(self, uids: Iterable[int]) -> dict[int, bytes]:
        """The raw messages, byte for byte. BODY.PEEK leaves \\Seen alone until we stored them."""
        return self._fetch(uids, "BODY.PEEK[]", b"BODY[]")

    def fetch_headers(self, uids: Iterable[int]) -> dict[int, bytes]:
        """Only the header section, for messages too big to fetch whole."""
        return self._fetch(uids, "BODY.PEEK[HEADER]", b"BODY[HEADER]")

    def _fetch(self, uids: Iterable[int], item: str, key: bytes) -> dict[int, Any]:
        result: dict[int, Any] = {}
        for batch in _batches(_uid_list(uids)):
            with self._guard(f"fetch {item}") as client:
                response = client.fetch(batch, [item])
            # Unsolicited FETCH responses (flag changes) may lack our item: skip them.
            result.update({uid: data[key] for uid, data in response.items() if key in data})
        return result

    # -- moving --------------------------------------------------------------------------------

    def move(self, uids: Iterable[int], target: str) -> None:
        """Move exactly these UIDs to `target` (created when missing; "/" separates levels).

        UIDs that no longer exist are ignored. Without MOVE: COPY, flag \\Deleted, and
        UID EXPUNGE of just these UIDs (UIDPLUS). Without UIDPLUS either, the originals stay
        flagged \\Deleted: a plain EXPUNGE would also purge what others marked deleted.
        """
        ids = _uid_list(uids)
        if not ids:
            return
        name = self._ensure_folder(target)
        for batch in _batches(ids):
            with self._guard(f"move to {target}") as client:
                if self.can_move:
                    client.move(batch, name)
                    continue
                client.copy(batch, name)
                client.add_flags(batch, [DELETED], silent=True)
                if self.can_uidplus:
                    client.uid_expunge(batch)
        if not self.can_move and not self.can_uidplus:
            log.warning(
                "imap server has neither MOVE nor UIDPLUS: moved mail stays flagged deleted"
            )

    def _ensure_folder(self, target: str) -> str:
        with self._guard(f"create {target}") as client:
            if self._naming is None:
                self._naming = _personal_naming(client)
            name = server_folder_name(target, *self._naming)
            if name in self._known_folders:
                return name
            if not client.folder_exists(name):
                try:
                    client.create_folder(name)
                except IMAPClient.AbortError:
                    raise
                except IMAPClient.Error:
                    if not client.folder_exists(name):  # unless another session just made it
                        raise
                # Subscribed, so the therapist's mail program shows it; not essential.
                with contextlib.suppress(IMAPClient.Error):
                    client.subscribe_folder(name)
        self._known_folders.add(name)
        return name

    # -- waiting -------------------------------------------------------------------------------

    def wait(self, timeout: float, should_stop: Callable[[], bool] | None = None) -> bool:
        """Block until the server reports new mail, `timeout` passes or `should_stop()`.

        True when something may have arrived (spurious Trues are possible, never missed mail
        that the server announced). It first asks with NOOP. With IDLE, one IDLE lasts at
        most 540 s and always ends with DONE. Without IDLE it then just sleeps for `timeout`
        and returns False: the caller polls anyway (pass the poll interval as `timeout`).
        Raises ConnectionLost when the server says BYE or the connection dies while idling.
        """
        stop = should_stop or _never
        with self._guard("noop") as client:
            # Dovecot announces mail delivered since our last command only in reply to the
            # next command: not when IDLE starts, only when it ends. So ask first; EXISTS
            # that came with earlier commands (e.g. a FETCH) are waiting in imaplib too.
            _text, responses = client.noop()
        if _announces_mail(responses) or self._drain_news():
            return True
        if not self.can_idle:
            _nap(timeout, stop)
            return False
        with self._guard("idle") as client:
            client.idle()
            try:
                arrived = self._idle_until(client, min(timeout, IDLE_MAX), stop)
            except BaseException:
                self._broken = True  # still in IDLE or dead: this connection is done
                raise
            _text, responses = client.idle_done()
        return arrived or _announces_mail(responses) or self._drain_news()

    def _idle_until(self, client: IMAPClient, timeout: float, stop: Callable[[], bool]) -> bool:
        deadline = time.monotonic() + timeout
        while not stop():
            remaining = deadline - time.monotonic()
            if remaining < 0.05:
                return False
            step = min(_STEP, remaining)
            started = time.monotonic()
            responses = client.idle_check(step)
            if any(r and r[0] == b"BYE" for r in responses):
                raise ConnectionLost("imap idle: the server closed the connection (BYE)")
            if _announces_mail(responses):
                return True
            # idle_check swallows EOF: on a dead socket it returns [] at once, forever.
            if not responses and time.monotonic() - started < step / 2:
                raise ConnectionLost("imap idle: the connection closed without BYE")
        return False

    def _drain_news(self) -> bool:
        """Did an EXISTS arrive alongside an earlier command? imaplib files those untagged
        responses away (IMAPClient exposes no API for them), and IDLE will not repeat them."""
        if self._client is None:
            return False
        pending = self._client._imap.untagged_responses
        exists = pending.pop("EXISTS", None)
        recent = pending.pop("RECENT", None)
        return bool(exists) or any(_int(v) > 0 for v in recent or ())


def open_mailbox(server: ImapServer, folder: str | None = None) -> Mailbox:
    """A Mailbox, connected."""
    mailbox = Mailbox(server, folder)
    mailbox.connect()
    return mailbox


def server_folder_name(target: str, prefix: str, delimiter: str | None) -> str:
    """Config folder names use "/" between levels; the server may use "." and may want its
    personal namespace prefix (Courier and Cyrus: "INBOX.")."""
    if target.upper() == "INBOX":
        return target
    name = target.replace("/", delimiter) if delimiter else target
    if prefix and not name.startswith(prefix):
        name = prefix + name
    return name


def _personal_naming(client: IMAPClient) -> tuple[str, str | None]:
    if client.has_capability("NAMESPACE"):
        personal = client.namespace().personal
        if personal:
            prefix, delimiter = personal[0]
            return str(prefix), str(delimiter) if delimiter else None
    listed = client.list_folders("", "")  # LIST "" "" reports just the hierarchy delimiter
    delimiter = listed[0][1] if listed else None
    if isinstance(delimiter, bytes):
        delimiter = delimiter.decode()
    return "", delimiter or None


# -- the reconnect loop --------------------------------------------------------------------------


class Backoff:
    """Capped exponential delays: 1, 2, 4 ... 300 s. No jitter: one watcher per mailbox."""

    def __init__(self, first: float = 1.0, cap: float = 300.0) -> None:
        self.first = first
        self.cap = cap
        self._failures = 0

    def next(self) -> float:
        delay = min(self.cap, self.first * 2 ** min(self._failures, 30))
        self._failures += 1
        return delay

    def reset(self) -> None:
        self._failures = 0


def watch(
    connect: Callable[[], Mailbox],
    on_ready: Callable[[Mailbox], None],
    should_stop: Callable[[], bool],
    sleep: Callable[[float], None] | None = None,
    idle_timeout: float = IDLE_MAX,
    poll_interval: float | None = None,
    log: logging.Logger = log,
    backoff: Backoff | None = None,
) -> None:
    """Keep a mailbox connected and call `on_ready` whenever mail may be waiting.

    `connect` returns a Mailbox (e.g. `lambda: Mailbox(server)`), connected here if it is
    not connected yet. `on_ready`
    runs after every (re)connect, so nothing delivered while we were away is missed, and after
    each wait that reports mail; it fetches and stores everything new. Without IDLE it runs
    every `poll_interval` (default: the server's); with IDLE also that often when given, as a
    net under notifications a server forgets to send.

    Failures (ConnectionLost, LoginFailed, any TemporaryFailure or OSError, from us or from
    on_ready) close the mailbox, log one line and sleep `backoff.next()` seconds through
    `sleep` in a single call. The default sleep naps in 1 s steps and wakes early once
    `should_stop()`; pass e.g. `stop_event.wait` for an instant wake-up. Anything else
    propagates. Returns when `should_stop()` is true, checked at least every second.
    """
    pause = sleep or (lambda seconds: _nap(seconds, should_stop))
    backoff = backoff or Backoff()
    failures = 0
    while not should_stop():
        mailbox: Mailbox | None = None
        delay: float | None = None
        try:
            mailbox = connect()
            if not mailbox.connected:
                mailbox.connect()
            on_ready(mailbox)
            if failures:
                log.info("imap connection restored after %d failed attempt(s)", failures)
            failures = 0
            backoff.reset()
            _serve(mailbox, on_ready, should_stop, idle_timeout, poll_interval)
        except (TemporaryFailure, OSError) as exc:
            failures += 1
            delay = backoff.next()
            log.warning("imap connection lost (%s); reconnecting in %g s", _describe(exc), delay)
        finally:
            if mailbox is not None:
                mailbox.close()
        if delay is not None and not should_stop():
            pause(delay)


def _serve(
    mailbox: Mailbox,
    on_ready: Callable[[Mailbox], None],
    should_stop: Callable[[], bool],
    idle_timeout: float,
    poll_interval: float | None,
) -> None:
    if mailbox.can_idle:
        timeout = min(idle_timeout, poll_interval or idle_timeout)
    else:
        timeout = poll_interval or mailbox.server.poll_interval
    timeout = max(timeout, 1.0)  # a zero interval from a typo must not become a busy loop
    while not should_stop():
        arrived = mailbox.wait(timeout, should_stop)
        if should_stop():
            return
        if arrived or not mailbox.can_idle or poll_interval is not None:
            on_ready(mailbox)


# -- helpers -------------------------------------------------------------------------------------


def _describe(exc: BaseException) -> str:
    """Exception type and words for logs, never mail content.

    A server's NO/BAD text is safe (imapclient shows it as a bytes repr: unwrap that). But
    imaplib and imapclient quote the raw line they could not parse ("unexpected response:
    b'...'"), and that line may be part of a message: cut those at the first quote.
    """
    text = str(exc)
    if not isinstance(exc, CheckinError):
        unwrapped = re.fullmatch(r"b?(['\"])(.*)\1", text, re.DOTALL)
        if unwrapped:
            text = unwrapped.group(2)
        elif isinstance(exc, (IMAPClient.AbortError, ProtocolError)) or "nexpected" in text:
            cut = min((i for i in (text.find("'"), text.find('"')) if i >= 0), default=-1)
            if cut >= 0:
                text = text[:cut].rstrip(" :=") + " …"
        if len(text) > 200:
            text = text[:200] + " …"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _uid_list(uids: Iterable[int]) -> list[int]:
    """Sorted distinct ints: a string such as "1:*" fails here, not after the server ran it."""
    return sorted({int(uid) for uid in uids})


def _batches(uids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(uids), _BATCH):
        yield uids[start : start + _BATCH]


def _announces_mail(responses: Iterable[tuple[Any, ...]]) -> bool:
    """EXISTS, or a non-zero RECENT (an EXPUNGE may be followed by "* 0 RECENT")."""
    return any(
        len(r) >= 2
        and isinstance(r[0], int)
        and (r[1] == b"EXISTS" or (r[1] == b"RECENT" and r[0] > 0))
        for r in responses
    )


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return 0


def _nap(seconds: float, should_stop: Callable[[], bool]) -> None:
    deadline = time.monotonic() + seconds
    while not should_stop():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        time.sleep(min(_STEP, remaining))


def _never() -> bool:
    return False
