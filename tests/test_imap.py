"""The IMAP adapter against a real Dovecot: fetch, move, IDLE, dead connections, reconnects."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from imapclient import IMAPClient

from checkin.errors import TemporaryFailure
from checkin.mail.imap import (
    Backoff,
    ConnectionLost,
    LoginFailed,
    Mailbox,
    open_mailbox,
    server_folder_name,
    watch,
)
from checkin.practice import ImapServer, OAuth2
from tests.conftest import free_port
from tests.dovecot import Dovecot, MailUser

PASSWORD_ENV = "CHECKIN_TEST_IMAP_PASSWORD"
DONE = "Checkin/Done"


def raw_message(n: int, body: str = "Grüße, es ging mir heute besser.") -> bytes:
    """CRLF throughout (as IMAP returns it) and an 8-bit body, so byte-exactness is tested."""
    return (
        f"From: Alex <alex@client.test>\r\n"
        f"To: checkin@practice.test\r\n"
        f"Subject: Re: check-in {n}\r\n"
        f"Message-ID: <reply-{n}@client.test>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n"
        f"\r\n"
        f"{body}\r\n"
    ).encode()


def headers_of(raw: bytes) -> bytes:
    return raw[: raw.index(b"\r\n\r\n") + 4]


@pytest.fixture
def server(mailbox_user: MailUser, monkeypatch: pytest.MonkeyPatch) -> ImapServer:
    monkeypatch.setenv(PASSWORD_ENV, mailbox_user.password)
    return ImapServer(
        host=mailbox_user.host,
        port=mailbox_user.port,
        security="none",
        username=mailbox_user.user,
        password_env=PASSWORD_ENV,
        timeout=5.0,
    )


@pytest.fixture
def mailbox(server: ImapServer) -> Iterator[Mailbox]:
    with Mailbox(server) as mb:
        yield mb


def later(seconds: float, action: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread


def raises_within(seconds: float, action: Callable[[], object]) -> ConnectionLost:
    """A kicked session dies a moment after doveadm returns: retry until the error shows."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            action()
        except ConnectionLost as exc:
            return exc
        if time.monotonic() > deadline:
            pytest.fail(f"no ConnectionLost within {seconds} s")
        time.sleep(0.05)


# -- reading ---------------------------------------------------------------------------------------


def test_fetch_returns_the_delivered_bytes_and_leaves_them_unseen(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    first, second = raw_message(1), raw_message(2, "kurz")
    dovecot.deliver(mailbox_user.user, first)
    dovecot.deliver(mailbox_user.user, second)

    assert mailbox.uids_after(0) == [1, 2]
    assert mailbox.uids_after(1) == [2]
    assert mailbox.uids_after(2) == []  # the server answers "2:*" with 2 as well as "3:*"
    assert mailbox.all_uids() == [1, 2]
    assert mailbox.uidvalidity == dovecot.uidvalidity(mailbox_user.user)

    assert mailbox.fetch([2, 1]) == {1: first, 2: second}
    assert "\\Seen" not in dovecot.flags(mailbox_user.user, "INBOX", 1)
    assert mailbox.sizes([1, 2]) == {1: len(first), 2: len(second)}
    assert mailbox.fetch_headers([1]) == {1: headers_of(first)}


def test_missing_uids_are_left_out_and_ranges_are_refused(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    dovecot.deliver(mailbox_user.user, raw_message(1))
    assert mailbox.uids_after(0) == [1]  # only mail the session was told about can be fetched
    assert mailbox.fetch([1, 99]).keys() == {1}
    assert mailbox.fetch([]) == {}
    with pytest.raises(ValueError):
        mailbox.fetch("1:*")  # type: ignore[arg-type]
    assert mailbox.all_uids() == [1]  # and the connection is still fine


def test_wrong_password_is_login_failed(
    server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "not-the-password")
    with pytest.raises(LoginFailed) as caught:
        open_mailbox(server)
    assert "check mail.imap username and password_env" in str(caught.value)
    assert "not-the-password" not in str(caught.value)


def test_unset_password_is_login_failed(
    server: ImapServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(PASSWORD_ENV)
    with pytest.raises(LoginFailed, match="password"):
        open_mailbox(server)


def test_xoauth2_login(dovecot: Dovecot, mailbox_user: MailUser, server: ImapServer) -> None:
    # The test Dovecot checks an XOAUTH2 bearer token like a password.
    oauth = OAuth2(token_command=f"printf {mailbox_user.password}")
    dovecot.deliver(mailbox_user.user, raw_message(1))
    with Mailbox(replace(server, password_env=None, oauth2=oauth)) as mb:
        assert mb.all_uids() == [1]


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_and_starttls_check_the_certificate(
    security: str,
    mailbox_user: MailUser,
    server: ImapServer,
    tls_files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = mailbox_user.tls_port if security == "tls" else mailbox_user.port
    secure = replace(server, security=security, port=port)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    with pytest.raises(ConnectionLost, match="CERTIFICATE_VERIFY_FAILED"):
        open_mailbox(secure)
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_files[0]))  # trust the test CA
    with Mailbox(secure) as mb:
        assert mb.all_uids() == []


def test_nothing_listening_is_connection_lost() -> None:
    server = ImapServer(host="127.0.0.1", port=free_port(), security="none", username="x")
    with pytest.raises(ConnectionLost, match=r"connect to 127\.0\.0\.1"):
        open_mailbox(server)


def test_uidvalidity_changes_when_the_folder_is_recreated(
    dovecot: Dovecot, mailbox_user: MailUser, server: ImapServer
) -> None:
    user = mailbox_user.user
    dovecot.create_mailbox(user, "Replies")
    dovecot.deliver(user, raw_message(1), mailbox="Replies")
    with Mailbox(server, "Replies") as mb:
        before = mb.uidvalidity
        assert mb.all_uids() == [1]
    dovecot.delete_mailbox(user, "Replies")
    dovecot.create_mailbox(user, "Replies")
    with Mailbox(server, "Replies") as mb:
        assert mb.uidvalidity != before
        assert mb.all_uids() == []


# -- moving ----------------------------------------------------------------------------------------


def test_move_creates_the_done_folder_and_empties_the_inbox(
    dovecot: Dovecot, mailbox_user: MailUser, server: ImapServer, mailbox: Mailbox
) -> None:
    user = mailbox_user.user
    messages = [raw_message(1), raw_message(2)]
    for raw in messages:
        dovecot.deliver(user, raw)
    assert mailbox.uids_after(0) == [1, 2]

    mailbox.move([1, 2], DONE)

    assert DONE in dovecot.mailboxes(user)
    assert dovecot.mailbox_uids(user, "INBOX") == []
    assert len(dovecot.mailbox_uids(user, DONE)) == 2
    with Mailbox(server, DONE) as done:
        assert sorted(done.fetch(done.all_uids()).values()) == sorted(messages)


def test_moving_again_or_missing_uids_is_harmless(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    user = mailbox_user.user
    dovecot.deliver(user, raw_message(1))
    assert mailbox.uids_after(0) == [1]
    mailbox.move([1], DONE)
    mailbox.move([1], DONE)
    mailbox.move([42, 43], DONE)
    mailbox.move([], DONE)
    assert dovecot.mailbox_uids(user, DONE) == [1]
    assert mailbox.all_uids() == []


def test_without_move_copy_and_expunge_touch_only_the_given_uids(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = mailbox_user.user
    for n in (1, 2, 3):
        dovecot.deliver(user, raw_message(n))
    # Someone else marked 2 deleted: a plain EXPUNGE would take it too, UID EXPUNGE must not.
    dovecot.doveadm("flags", "add", "-u", user, "\\Deleted", "mailbox", "INBOX", "uid", "2")

    def no_move(*args: object) -> None:
        raise AssertionError("MOVE used although the server pretends not to offer it")

    assert mailbox.uids_after(0) == [1, 2, 3]
    monkeypatch.setattr(IMAPClient, "move", no_move)
    mailbox.can_move = False
    mailbox.move([1, 3, 99], DONE)
    mailbox.move([1, 3], DONE)  # again: nothing left to copy

    assert dovecot.mailbox_uids(user, "INBOX") == [2]
    assert len(dovecot.mailbox_uids(user, DONE)) == 2


@pytest.mark.parametrize(
    ("target", "prefix", "delimiter", "expected"),
    [
        ("Checkin/Done", "", "/", "Checkin/Done"),
        ("Checkin/Done", "", ".", "Checkin.Done"),
        ("Checkin/Done", "INBOX.", ".", "INBOX.Checkin.Done"),
        ("INBOX.Checkin.Done", "INBOX.", ".", "INBOX.Checkin.Done"),
        ("INBOX", "INBOX.", ".", "INBOX"),
        ("Checkin/Done", "", None, "Checkin/Done"),
    ],
)
def test_folder_names_follow_the_server_hierarchy(
    target: str, prefix: str, delimiter: str | None, expected: str
) -> None:
    assert server_folder_name(target, prefix, delimiter) == expected


# -- waiting ---------------------------------------------------------------------------------------


def test_wait_returns_soon_after_a_delivery(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    assert mailbox.can_idle
    later(0.5, lambda: dovecot.deliver(mailbox_user.user, raw_message(1)))
    started = time.monotonic()
    assert mailbox.wait(10) is True
    assert time.monotonic() - started < 3
    assert mailbox.uids_after(0) == [1]


def test_wait_times_out_quietly(mailbox: Mailbox) -> None:
    started = time.monotonic()
    assert mailbox.wait(1.0) is False
    assert 0.9 < time.monotonic() - started < 2.5
    assert mailbox.all_uids() == []  # IDLE was ended properly: the next command works


def test_wait_stops_when_asked(mailbox: Mailbox) -> None:
    started = time.monotonic()
    assert mailbox.wait(60, should_stop=lambda: time.monotonic() - started > 0.3) is False
    assert time.monotonic() - started < 2
    assert mailbox.all_uids() == []


def test_mail_announced_before_idle_is_not_missed(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    """Dovecot reports new mail in the reply to whatever command runs next, e.g. a FETCH
    of older mail; IDLE would not repeat it."""
    dovecot.deliver(mailbox_user.user, raw_message(1))
    assert mailbox.uids_after(0) == [1]
    dovecot.deliver(mailbox_user.user, raw_message(2))
    mailbox.fetch([1])
    started = time.monotonic()
    assert mailbox.wait(5) is True
    assert time.monotonic() - started < 0.5


def test_mail_delivered_just_before_idle_is_not_missed(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    """Dovecot does not announce it when IDLE starts, only when IDLE ends: wait() asks first."""
    assert mailbox.uids_after(0) == []
    dovecot.deliver(mailbox_user.user, raw_message(1))
    started = time.monotonic()
    assert mailbox.wait(5) is True
    assert time.monotonic() - started < 0.5
    assert mailbox.uids_after(0) == [1]


def test_without_idle_wait_just_sleeps(mailbox: Mailbox) -> None:
    mailbox.can_idle = False
    started = time.monotonic()
    assert mailbox.wait(0.3) is False
    assert 0.25 < time.monotonic() - started < 1.5


def test_kick_during_idle_is_connection_lost(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    later(0.3, lambda: dovecot.kick(mailbox_user.user))
    started = time.monotonic()
    with pytest.raises(ConnectionLost):
        mailbox.wait(10)
    assert time.monotonic() - started < 3
    with pytest.raises(ConnectionLost, match="not connected"):
        mailbox.all_uids()
    mailbox.close()
    mailbox.close()  # closing twice, or a dead connection, never raises


def test_kick_then_fetch_is_connection_lost(
    dovecot: Dovecot, mailbox_user: MailUser, mailbox: Mailbox
) -> None:
    dovecot.deliver(mailbox_user.user, raw_message(1))
    dovecot.kick(mailbox_user.user)
    error = raises_within(3, lambda: mailbox.fetch([1]))
    assert "Grüße" not in str(error)


def test_a_server_that_dies_without_bye_is_noticed_during_idle(
    dovecot: Dovecot, mailbox: Mailbox
) -> None:
    """idle_check() returns [] at once on a closed socket; without care this spins forever."""
    killer = later(0.3, lambda: dovecot.stop(hard=True))
    try:
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="without BYE"):
            mailbox.wait(10)
        assert time.monotonic() - started < 3
    finally:
        killer.join(10)  # the old processes must be gone before the port is bound again
        dovecot.start()


# -- the reconnect loop ----------------------------------------------------------------------------


class Recorder:
    """on_ready as the watcher's caller would write it: fetch everything after the last UID."""

    def __init__(self, deadline: float = 15.0) -> None:
        self.last_uid = 0
        self.seen: list[bytes] = []
        self.calls = 0
        self.delays: list[float] = []
        self.done = False
        self.actions: dict[int, Callable[[], object]] = {}  # on the nth call, after fetching
        self._deadline = time.monotonic() + deadline

    def on_ready(self, mailbox: Mailbox) -> None:
        self.calls += 1
        uids = mailbox.uids_after(self.last_uid)
        fetched = mailbox.fetch(uids)
        self.seen.extend(fetched[uid] for uid in uids)
        self.last_uid = max(uids, default=self.last_uid)
        if action := self.actions.get(self.calls):
            action()

    def sleep(self, seconds: float) -> None:
        self.delays.append(seconds)

    def should_stop(self) -> bool:
        return self.done or time.monotonic() > self._deadline


def test_watch_reconnects_after_a_kick_and_sees_the_next_message(
    dovecot: Dovecot,
    mailbox_user: MailUser,
    server: ImapServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = mailbox_user.user
    first, second = raw_message(1), raw_message(2)
    dovecot.deliver(user, first)
    rec = Recorder()
    rec.actions[1] = lambda: dovecot.kick(user)  # dropped while the watcher idles
    rec.actions[2] = lambda: dovecot.deliver(user, second)  # arrives while connected again

    def until_second() -> bool:
        return rec.should_stop() or second in rec.seen

    with caplog.at_level(logging.INFO, logger="checkin.imap"):
        watch(lambda: open_mailbox(server), rec.on_ready, until_second, sleep=rec.sleep)

    assert rec.seen == [first, second]
    assert rec.delays == [1]
    lost = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(lost) == 1
    assert lost[0].startswith("imap connection lost (ConnectionLost: ")
    assert lost[0].endswith("; reconnecting in 1 s")


def test_watch_backs_off_while_the_server_is_down_and_recovers(
    dovecot: Dovecot, mailbox_user: MailUser, server: ImapServer
) -> None:
    user = mailbox_user.user
    rec = Recorder()

    def sleep(seconds: float) -> None:
        rec.sleep(seconds)
        if len(rec.delays) == 3:
            dovecot.start()

    def finish() -> None:
        rec.done = True

    rec.actions[1] = dovecot.stop  # the server goes away (with BYE, as on a restart)
    rec.actions[2] = lambda: dovecot.kick(user)  # one more loss: the backoff starts over
    rec.actions[3] = finish
    try:
        watch(lambda: open_mailbox(server), rec.on_ready, rec.should_stop, sleep=sleep)
    finally:
        if not dovecot.running:
            dovecot.start()
    assert rec.calls == 3
    assert rec.delays == [1, 2, 4, 1]


def test_watch_never_spins_and_stops_promptly() -> None:
    """Every failure sleeps, through the injected sleep, before the next attempt."""
    attempts: list[float] = []
    delays: list[float] = []

    def connect() -> Mailbox:
        attempts.append(time.monotonic())
        raise ConnectionLost("imap connect failed: refused")

    watch(connect, lambda mb: None, lambda: len(delays) >= 6, sleep=delays.append)
    assert delays == [1, 2, 4, 8, 16, 32]
    assert len(attempts) == 6


def test_watch_default_sleep_wakes_for_shutdown() -> None:
    stop_at = time.monotonic() + 0.3

    def connect() -> Mailbox:
        raise ConnectionLost("imap connect failed: refused")

    started = time.monotonic()
    watch(connect, lambda mb: None, lambda: time.monotonic() > stop_at, backoff=Backoff(first=60))
    assert time.monotonic() - started < 2


def test_watch_retries_after_an_os_error_in_on_ready(server: ImapServer) -> None:
    calls: list[int] = []
    delays: list[float] = []

    def on_ready(mb: Mailbox) -> None:
        calls.append(mb.uidvalidity)
        if len(calls) == 1:
            raise OSError("disk full")

    # A factory of unconnected mailboxes does as well: watch connects them.
    watch(lambda: Mailbox(server), on_ready, lambda: len(calls) >= 2, sleep=delays.append)
    assert delays == [1]


def test_watch_lets_other_errors_through(server: ImapServer) -> None:
    def on_ready(mb: Mailbox) -> None:
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        watch(lambda: open_mailbox(server), on_ready, lambda: False, sleep=lambda s: None)


def test_backoff_doubles_up_to_five_minutes_and_resets() -> None:
    backoff = Backoff()
    assert [backoff.next() for _ in range(11)] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300]
    backoff.reset()
    assert backoff.next() == 1


def test_connection_errors_are_temporary_failures() -> None:
    assert issubclass(ConnectionLost, TemporaryFailure)
    assert issubclass(LoginFailed, TemporaryFailure)
