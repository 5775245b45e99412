"""Send messages over one reused SMTP connection; map every failure to what happens next."""

from __future__ import annotations

import contextlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from types import TracebackType

from checkin.errors import PermanentFailure, TemporaryFailure
from checkin.mail.compose import Outgoing
from checkin.mail.oauth2 import access_token, xoauth2_string
from checkin.practice import Server

log = logging.getLogger("checkin.smtp")


class SmtpSender:
    """Connects on the first message and keeps the connection for the batch.

    After any error the connection is dropped, so the next message starts clean.
    """

    def __init__(self, server: Server):
        self.server = server
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> SmtpSender:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()

    def send(self, msg: Outgoing | EmailMessage) -> None:
        try:
            smtp = self._smtp or self._connect()
            refused = self._transmit(smtp, msg)
        except smtplib.SMTPRecipientsRefused as exc:
            self.close()
            code, text = next(iter(exc.recipients.values()))
            raise _failure(code, text) from exc
        except smtplib.SMTPAuthenticationError as exc:
            self.close()
            # Our credentials, not the client's address: keep the message and retry later.
            raise TemporaryFailure(
                f"SMTP login refused ({exc.smtp_code}); check the password or token for mail.smtp",
                exc.smtp_code,
            ) from exc
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _failure(exc.smtp_code, exc.smtp_error) from exc
        except (smtplib.SMTPException, OSError) as exc:
            self.close()
            raise TemporaryFailure(f"SMTP connection failed: {type(exc).__name__}: {exc}") from exc
        if refused:
            code, text = next(iter(refused.values()))
            raise _failure(code, text)

    @staticmethod
    def _transmit(smtp: smtplib.SMTP, msg: Outgoing | EmailMessage) -> dict[str, tuple[int, bytes]]:
        if isinstance(msg, EmailMessage):
            return smtp.send_message(msg)
        options = ["SMTPUTF8"] if msg.smtputf8 else []
        return smtp.sendmail(msg.sender, [msg.recipient], msg.data, mail_options=options)

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        s = self.server
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if s.security == "tls":
            smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            smtp.ehlo()
            if s.security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            self._login(smtp)
        except BaseException:
            smtp.close()
            raise
        self._smtp = smtp
        return smtp

    def _login(self, smtp: smtplib.SMTP) -> None:
        s = self.server
        if s.oauth2 is not None and s.username:
            token = access_token(s.oauth2)
            smtp.auth("XOAUTH2", lambda _challenge=None: xoauth2_string(s.username or "", token))
        elif s.username:
            password = s.password()
            if password is None:
                raise TemporaryFailure("no SMTP password: set the variable named by password_env")
            smtp.login(s.username, password)


def _failure(code: int, text: bytes | str) -> TemporaryFailure | PermanentFailure:
    words = text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    message = f"{code} {words}".strip()
    # 552 (mailbox full / too big) is often transient in practice; Mailman treats it so too.
    if code >= 500 and code != 552:
        return PermanentFailure(message, code)
    return TemporaryFailure(message, code)
