"""`checkin doctor`: check a real practice file end to end, sending nothing to clients.

Each check prints one line: `ok   WHAT`, `FAIL WHAT: HOW TO FIX IT` or `skip WHAT: WHY`.
Checks that depend on a failed one are skipped (no IMAP folder check after a refused login).
The only message sent goes from the practice address to itself, and is moved to the done
folder as soon as it arrives, so the reply watcher never stores it.
"""

from __future__ import annotations

import contextlib
import secrets
import smtplib
import socket
import ssl
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from checkin import config
from checkin.errors import ConfigError, DeliveryError
from checkin.mail.imap import ConnectionLost, LoginFailed, Mailbox
from checkin.mail.smtp import SmtpSender
from checkin.practice import ImapServer, Practice, Server

HEADER = "X-Checkin-Doctor"
TEMPLATE_SETS = ("checkin", "nudge", "confirm", "safety", "alert", "digest")
_PARTS = ("subject.txt", "body.txt", "body.html")
_USUAL_PORTS = {"tls": "465", "starttls": "587", "none": "25 or 1025 on loopback"}
_USUAL_IMAP_PORTS = {"tls": "993", "starttls": "143", "none": "143"}

Echo = Callable[[str], Any]


@dataclass
class Report:
    echo: Echo
    failures: int = 0
    lines: list[str] = field(default_factory=list)

    def _say(self, line: str) -> None:
        self.lines.append(line)
        self.echo(line)

    def ok(self, what: str) -> None:
        self._say(f"ok   {what}")

    def fail(self, what: str, fix: str) -> None:
        self.failures += 1
        self._say(f"FAIL {what}: {fix}")

    def skip(self, what: str, why: str) -> None:
        self._say(f"skip {what}: {why}")

    def note(self, text: str) -> None:
        self._say(f"     {text}")


def run_doctor(path: Path, echo: Echo, wait: float = 60.0) -> bool:
    """Run every check in order; True when none failed."""
    report = Report(echo)
    practice = _check_config(report, path)
    if practice is None:
        for what in ("DNS", "SMTP", "IMAP", "round trip", "database", "templates"):
            report.skip(what, "the practice file did not load")
        return _summary(report)
    smtp = practice.mail.smtp
    imap = practice.mail.imap
    smtp_ok = _check_dns(report, "mail.smtp", smtp.host)
    imap_ok = imap is not None and _check_dns(report, "mail.imap", imap.host)
    if smtp_ok:
        smtp_ok = _check_smtp(report, smtp)
    else:
        report.skip("SMTP", "its host does not resolve")
    with contextlib.ExitStack() as stack:
        mailbox = None
        if imap is None:
            report.skip("IMAP", "no mail.imap block, so replies are not read")
        elif not imap_ok:
            report.skip("IMAP", "its host does not resolve")
        else:
            mailbox = _check_imap(report, imap)
            if mailbox is not None:
                stack.callback(mailbox.close)
        if mailbox is None or imap is None:
            report.skip("round trip", "needs a working IMAP mailbox")
        elif not smtp_ok:
            report.skip("round trip", "needs a working SMTP login")
        else:
            _check_round_trip(report, practice, mailbox, imap, wait)
    _check_database(report, practice)
    _check_templates(report, practice)
    return _summary(report)


def _summary(report: Report) -> bool:
    if report.failures:
        report.echo(f"{report.failures} check(s) failed; nothing was sent to clients.")
        return False
    report.echo("All checks passed; nothing was sent to clients.")
    return True


# -- 1. the practice file --------------------------------------------------------------------


def _check_config(report: Report, path: Path) -> Practice | None:
    try:
        practice = config.load(path)
    except ConfigError as exc:
        report.fail(
            f"practice file {path}",
            f"{len(exc.problems)} problem(s); fix each one (also shown by `checkin check`)",
        )
        for problem in exc.problems:
            report.note(str(problem))
        return None
    except OSError as exc:
        report.fail(f"practice file {path}", f"cannot read it ({exc.strerror or exc})")
        return None
    report.ok(
        f"practice file {path}: {len(practice.therapists)} therapist(s), "
        f"{len(practice.clients)} client(s)"
    )
    return practice


# -- 2. DNS ----------------------------------------------------------------------------------


def _check_dns(report: Report, key: str, host: str) -> bool:
    try:
        found = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        report.fail(
            f"DNS {key}.host {host}",
            f"does not resolve ({exc}): check the spelling of {key}.host and this machine's DNS",
        )
        return False
    addresses = sorted({str(info[4][0]) for info in found})
    report.ok(f"DNS {key}.host {host} resolves to {', '.join(addresses[:3])}")
    return True


# -- 3. SMTP ---------------------------------------------------------------------------------


def _secret_hint(server: Server, key: str) -> str:
    if server.oauth2 is not None:
        return f"the OAuth2 settings under {key}.oauth2"
    if server.password_env:
        return f"the password in ${server.password_env}"
    if server.password_file:
        return f"the password in {server.password_file}"
    return f"{key}.password_env"


def _missing_secret(server: Server, key: str) -> str | None:
    """Why the login cannot even be tried, or None."""
    if server.oauth2 is not None or not server.username:
        return None
    try:
        password = server.password()
    except OSError as exc:
        return (
            f"cannot read {server.password_file} ({exc.strerror or exc}): fix {key}.password_file"
        )
    if not password:
        if server.password_env:
            return f"${server.password_env} is not set or empty: set it to the {key} password"
        return f"no password: set {key}.password_env (or password_file)"
    return None


def _check_smtp(report: Report, server: Server) -> bool:
    where = f"{server.host}:{server.port}"
    what = f"SMTP {where} ({server.security}"
    what += f", login as {server.username})" if server.username else ", no login)"
    missing = _missing_secret(server, "mail.smtp")
    if missing:
        report.fail(what, missing)
        return False
    sender = SmtpSender(server)
    try:
        sender._connect()
    except smtplib.SMTPAuthenticationError as exc:
        report.fail(
            what,
            f"SMTP login refused ({exc.smtp_code}): check mail.smtp username and "
            f"{_secret_hint(server, 'mail.smtp')}",
        )
        return False
    except smtplib.SMTPNotSupportedError as exc:
        report.fail(what, f"{_smtp_words(exc)}: {_port_hint(server, _USUAL_PORTS)}")
        return False
    except ssl.SSLCertVerificationError as exc:
        report.fail(what, _cert_fix(where, exc))
        return False
    except ssl.SSLError as exc:
        report.fail(
            what,
            f"TLS with {where} failed ({exc.reason or exc}): {_port_hint(server, _USUAL_PORTS)}",
        )
        return False
    except smtplib.SMTPResponseException as exc:
        report.fail(what, f"the server answered {exc.smtp_code} {_smtp_words(exc)}")
        return False
    except DeliveryError as exc:  # an OAuth2 token that could not be had
        report.fail(what, str(exc))
        return False
    except (smtplib.SMTPException, OSError) as exc:
        report.fail(
            what,
            f"cannot connect to {where} ({type(exc).__name__}: {exc}): "
            f"{_port_hint(server, _USUAL_PORTS)}",
        )
        return False
    finally:
        sender.close()
    report.ok(f"{what}: connected{' and logged in' if server.username else ''}")
    return True


def _smtp_words(exc: smtplib.SMTPException) -> str:
    words = getattr(exc, "smtp_error", None) or str(exc)
    return words.decode("utf-8", "replace") if isinstance(words, bytes) else str(words)


def _port_hint(server: Server, usual: dict[str, str]) -> str:
    return (
        f"is the port right for security: {server.security} "
        f"(usually {usual.get(server.security, '?')})? is the host right?"
    )


def _cert_fix(where: str, exc: ssl.SSLCertVerificationError) -> str:
    return (
        f"certificate of {where} not trusted ({exc.verify_message or exc}): use the host name "
        "the certificate is issued for, or install the CA on this machine"
    )


# -- 4. IMAP ---------------------------------------------------------------------------------


def _check_imap(report: Report, server: ImapServer) -> Mailbox | None:
    """Connect, log in, select the folder and make sure the done folder exists.

    Returns the connected mailbox for the round trip, or None after a failure."""
    where = f"{server.host}:{server.port}"
    what = f"IMAP {where} ({server.security}, login as {server.username})"
    missing = _missing_secret(server, "mail.imap")
    if missing:
        report.fail(what, missing)
        return None
    mailbox = Mailbox(server)
    try:
        mailbox.connect()
    except LoginFailed:
        report.fail(
            what,
            f"IMAP login refused: check mail.imap username and {_secret_hint(server, 'mail.imap')}",
        )
        return None
    except ConnectionLost as exc:
        cause = exc.__cause__
        if isinstance(cause, ssl.SSLCertVerificationError):
            report.fail(what, _cert_fix(where, cause))
        elif str(exc).startswith(f"imap select {server.folder}") and not isinstance(
            cause, (OSError, IMAPClient.AbortError)
        ):
            report.ok(f"{what}: connected and logged in")
            _folder_problem(report, server)
        else:
            report.fail(
                what,
                f"cannot connect to {where} ({exc}): {_port_hint(server, _USUAL_IMAP_PORTS)}",
            )
        return None
    except DeliveryError as exc:  # an OAuth2 token that could not be had
        report.fail(what, str(exc))
        return None
    report.ok(f"{what}: connected and logged in")
    report.ok(f"IMAP folder {server.folder!r} selected")
    try:
        with mailbox._guard("list") as client:
            existed = client.folder_exists(_server_name(mailbox, server.done_folder))
        name = mailbox._ensure_folder(server.done_folder)
    except (ConnectionLost, IMAPClient.Error) as exc:
        report.fail(
            f"IMAP done folder {server.done_folder!r}",
            f"cannot create it ({exc}): create it by hand or fix mail.imap.done_folder",
        )
        mailbox.close()
        return None
    shown = f" (on the server: {name!r})" if name != server.done_folder else ""
    report.ok(
        f"IMAP done folder {server.done_folder!r}{shown} "
        + ("exists" if existed else "was missing and has been created")
    )
    return mailbox


def _server_name(mailbox: Mailbox, target: str) -> str:
    from checkin.mail.imap import _personal_naming, server_folder_name

    with mailbox._guard("namespace") as client:
        if mailbox._naming is None:
            mailbox._naming = _personal_naming(client)
    return server_folder_name(target, *mailbox._naming)


def _folder_problem(report: Report, server: ImapServer) -> None:
    """SELECT failed: say whether the folder is missing or just refused."""
    what = f"IMAP folder {server.folder!r}"
    try:
        with Mailbox(server, "INBOX") as inbox, inbox._guard("list") as client:
            exists = client.folder_exists(server.folder)
    except (ConnectionLost, LoginFailed, IMAPClient.Error):
        exists = False
    if not exists:
        report.fail(
            what, f"folder {server.folder!r} does not exist on the server: create it or fix "
            "mail.imap.folder",
        )  # fmt: skip
    else:
        report.fail(what, "it exists but cannot be selected: check its permissions")


# -- 5. round trip ---------------------------------------------------------------------------


def _check_round_trip(
    report: Report, practice: Practice, mailbox: Mailbox, imap: ImapServer, wait: float
) -> None:
    address = parseaddr(practice.mail.from_addr)[1]
    token = secrets.token_hex(6)
    what = f"round trip {address} -> {address} (test {token})"
    try:
        before = max(mailbox.all_uids(), default=0)
        with SmtpSender(practice.mail.smtp) as sender:
            sender.send(_test_message(address, token))
    except DeliveryError as exc:
        report.fail(what, f"could not send the test message: {exc}")
        return
    started = time.monotonic()
    try:
        uid = _await_message(mailbox, before, token, started + wait)
    except DeliveryError as exc:
        report.fail(what, f"lost the IMAP connection while waiting ({exc})")
        return
    if uid is None:
        report.fail(
            what,
            f"sent, but not seen in folder {imap.folder!r} after {wait:g} s: does the "
            f"mailbox deliver mail from itself to {imap.folder!r}? check filters/spam",
        )
        return
    took = time.monotonic() - started
    try:
        mailbox.move([uid], imap.done_folder)
    except DeliveryError as exc:
        report.fail(
            what,
            f"arrived after {took:.1f} s but could not be moved to {imap.done_folder!r} "
            f"({exc}); delete it by hand (subject 'checkin doctor test {token}')",
        )
        return
    report.ok(
        f"{what}: arrived in {imap.folder!r} after {took:.1f} s and was moved to "
        f"{imap.done_folder!r}, so the watcher will not store it"
    )


def _test_message(address: str, token: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = address
    msg["To"] = address
    msg["Subject"] = f"checkin doctor test {token}"
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid("doctor", domain=address.rpartition("@")[2] or None)
    msg[HEADER] = token
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-Auto-Response-Suppress"] = "All"
    msg.set_content(
        "This message was sent by `checkin doctor` to check that mail sent from this address\n"
        "comes back to the mailbox checkin reads. It can be deleted.\n"
    )
    return msg


def _await_message(mailbox: Mailbox, before: int, token: str, deadline: float) -> int | None:
    parser = BytesHeaderParser()
    seen = before
    while True:
        new = mailbox.uids_after(seen)
        if new:
            for uid, raw in mailbox.fetch_headers(new).items():
                if (parser.parsebytes(raw).get(HEADER) or "").strip() == token:
                    return uid
            seen = max(new)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        time.sleep(min(0.5, remaining))


# -- 6. database -----------------------------------------------------------------------------


def _check_database(report: Report, practice: Practice) -> None:
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from checkin.store.db import current_revision, engine_for, upgrade

    try:
        shown = make_url(practice.database).render_as_string(hide_password=True)
    except Exception:
        shown = "the configured database"
    what = f"database {shown}"
    engine = None
    try:
        engine = engine_for(practice.database)
        upgrade(engine)
        revision = current_revision(engine)
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                connection.execute(text("UPDATE alembic_version SET version_num = version_num"))
            finally:
                transaction.rollback()
    except (SQLAlchemyError, OSError, ImportError) as exc:
        words = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        report.fail(
            what,
            f"cannot open, migrate or write it ({type(exc).__name__}: {words}): check the "
            "database line (or $CHECKIN_DATABASE_URL), the folder's permissions and the server",
        )
        return
    finally:
        if engine is not None:
            engine.dispose()
    report.ok(f"{what}: migrated to {revision}, writable (test write rolled back)")


# -- 7. templates ----------------------------------------------------------------------------


def _check_templates(report: Report, practice: Practice) -> None:
    from jinja2 import TemplateError, TemplateSyntaxError

    from checkin.mail.compose import Templates

    templates = Templates(practice.templates)
    broken = 0
    for name in TEMPLATE_SETS:
        try:
            context = _sample_context(practice, name)
        except Exception as exc:  # no therapist for a digest, for instance
            report.skip(f"template {name}", f"no sample data ({exc})")
            continue
        for part in _PARTS:
            file = f"{name}-{part}"
            try:
                templates.env.get_template(file).render(context)
            except TemplateSyntaxError as exc:
                broken += 1
                where = f"{exc.filename or _source(templates, file)}:{exc.lineno}"
                report.fail(f"template {file}", f"{where}: {exc.message}: fix or remove it")
            except TemplateError as exc:
                broken += 1
                path = _source(templates, file)
                line = _template_line(exc, path)
                where = f"{path}:{line}" if line else path
                report.fail(f"template {file}", f"{where}: {exc}: fix or remove it")
    if not broken:
        origin = f"{practice.templates} over the shipped ones" if practice.templates else "shipped"
        report.ok(f"templates: {', '.join(TEMPLATE_SETS)} render ({origin})")


def _source(templates: Any, file: str) -> str:
    try:
        _text, path, _uptodate = templates.env.loader.get_source(templates.env, file)
    except Exception:
        return file
    return str(path or file)


def _template_line(exc: BaseException, path: str) -> int | None:
    """Jinja rewrites tracebacks so that a template's frames carry its file and line."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if f.filename == path]
    return lines[-1] if lines else None


def _sample_context(practice: Practice, name: str) -> dict[str, Any]:
    therapist = practice.therapists[0] if practice.therapists else None
    client = practice.clients[0] if practice.clients else None
    client_name = (client.name if client else None) or "Alex"
    therapist_name = therapist.name if therapist else "your therapist"
    if name in ("checkin", "nudge"):
        experiment = next((e for c in practice.clients for e in c.experiments), None)
        return {
            "practice_name": practice.name,
            "client_name": client_name,
            "therapist_name": therapist_name,
            "experiment_title": experiment.title if experiment else "Notice your breathing",
            "day": "Thursday 26 November",
            "last_plan": "take a walk at lunch",
        }
    if name == "confirm":
        return {
            "practice_name": practice.name,
            "client_name": client_name,
            "command": "pause",
            "until": "Sunday 3 January 2027",
        }
    if name == "safety":
        return {
            "practice_name": practice.name,
            "client_name": client_name,
            "paragraphs": [p.strip() for p in practice.safety.message.split("\n\n") if p.strip()],
        }
    if name == "alert":
        return {
            "practice_name": practice.name,
            "therapist_name": therapist_name,
            "client_label": client_name,
            "client_id": client.id if client else "alex",
            "attributed": True,
            "sender": "alex@client.example",
            "received": "Thursday 26 November, 19:30 (Europe/London)",
            "reasons": ["sample reason"],
            "safety_sent": True,
            "message_ref": 1,
        }
    from checkin.core.digest import build_digest, digest_context

    if therapist is None:
        raise LookupError("the practice has no therapist")
    end = datetime.now(UTC)
    digest = build_digest(practice, therapist.id, end - timedelta(days=7), end, [], [], {})
    return digest_context(digest)
