"""Template triplets + data -> an EmailMessage with every header set in one place.

A template set is `NAME-subject.txt`, `NAME-body.txt` and `NAME-body.html`. The practice's
own folder is searched first, then the shipped one, so any single file can be overridden.
Client words only ever arrive as variables: escaped in HTML, never parsed as a template.
"""

from __future__ import annotations

import binascii
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined, select_autoescape


def shipped_templates() -> Path:
    """Inside an installed wheel the templates sit in the package; in a checkout, beside it."""
    packaged = Path(str(resources.files("checkin"))) / "templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


class Templates:
    def __init__(self, practice_dir: Path | None = None):
        folders = [str(p) for p in (practice_dir, shipped_templates()) if p is not None]
        self.env = Environment(
            loader=ChoiceLoader([FileSystemLoader(f) for f in folders]),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            # A Templates lives for one send pass (each tick makes a new one, so an edited
            # file is read on the next); checking every file's mtime per message is waste.
            auto_reload=False,
        )

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        def one(suffix: str) -> str:
            return self.env.get_template(f"{name}-{suffix}").render(context)

        subject = " ".join(one("subject.txt").split())  # a subject is one line, whatever the file
        return Rendered(subject=subject, text=one("body.txt"), html=one("body.html"))


@lru_cache(maxsize=64)
def _bare(address: str) -> str:
    """The addr-spec of 'Name <a@b>' (the practice's own From, parsed once per process)."""
    return parseaddr(address)[1]


def domain_of(address: str) -> str:
    return _bare(address).rpartition("@")[2]


def reply_address(from_addr: str, token: str) -> str:
    """`checkin+TOKEN@domain`: plus-addressing lands in the same mailbox on common providers."""
    local, _, domain = _bare(from_addr).rpartition("@")
    return f"{local.split('+')[0]}+{token}@{domain}"


@dataclass(frozen=True)
class Outgoing:
    """A message ready for SMTP: the envelope and the exact bytes of DATA (CRLF lines)."""

    sender: str
    recipient: str
    data: bytes
    smtputf8: bool = False

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]


def build_message(
    *,
    from_addr: str,
    to: str,
    rendered: Rendered,
    to_name: str | None = None,
    message_id: str,
    now: datetime,
    reply_to: str | None = None,
    in_reply_to: str | None = None,
    unsubscribe: str | None = None,
    auto_submitted: str | None = "auto-generated",
) -> Outgoing:
    """A multipart/alternative message, written out directly.

    The standard library's EmailMessage parses every header it is given and flattens the tree
    again to send it: two thirds of the cost of a check-in. Here each header is encoded once
    with the same standard library pieces (RFC 2047 words, quoted-printable bodies).
    """
    sender = _addr_spec(_bare(from_addr))
    recipient = _addr_spec(to)
    headers = [
        ("From", _mailbox(from_addr)),
        ("To", _mailbox(to, to_name)),
        ("Subject", _encoded(rendered.subject, "Subject")),
        ("Date", format_datetime(now)),
        ("Message-ID", _token(message_id)),
    ]
    if reply_to:
        headers.append(("Reply-To", _addr_spec(_token(reply_to))))
    if in_reply_to:
        # A client's own Message-ID: whatever it holds, it must stay one header line.
        headers += [("In-Reply-To", _token(in_reply_to)), ("References", _token(in_reply_to))]
    if auto_submitted:
        # RFC 3834: out-of-office robots should not answer us ("auto-replied" for our answers
        # to a client's command), and we can tell their mail apart from a person's.
        headers += [("Auto-Submitted", auto_submitted), ("X-Auto-Response-Suppress", "All")]
    if unsubscribe:
        headers.append(
            ("List-Unsubscribe", f"<mailto:{_addr_spec(_token(unsubscribe))}?subject=STOP>")
        )
    boundary = f"=_checkin_{secrets.token_hex(12)}"
    lines = [f"{name}: {value}" for name, value in headers]
    lines += [
        "MIME-Version: 1.0",
        f'Content-Type: multipart/alternative; boundary="{boundary}"',
        "",
        _part(boundary, "plain", rendered.text),
        _part(boundary, "html", rendered.html),
        f"--{boundary}--",
        "",
    ]
    data = "\r\n".join(lines).encode("utf-8")
    return Outgoing(sender, recipient, data, smtputf8=not (sender + recipient).isascii())


def _part(boundary: str, subtype: str, body: str) -> str:
    text = body.replace("\r\n", "\n").replace("\r", "\n")
    if not text.endswith("\n"):
        text += "\n"
    encoded = binascii.b2a_qp(text.encode("utf-8"), quotetabs=False, istext=True).decode("ascii")
    return "\r\n".join(
        [
            f"--{boundary}",
            f'Content-Type: text/{subtype}; charset="utf-8"',
            "Content-Transfer-Encoding: quoted-printable",
            "",
            # The line break before the next boundary belongs to the boundary (RFC 2046), so
            # the body keeps its own last one.
            encoded.replace("\n", "\r\n"),
        ]
    )


def _token(value: str) -> str:
    """An id or address as one header word: no space, and above all no line break."""
    return "".join(value.split())


def _encoded(value: str, name: str) -> str:
    """An unstructured header: as is when it is short ASCII, otherwise RFC 2047 words, folded."""
    value = " ".join(value.split())
    if value.isascii() and len(name) + len(value) < 76:
        return value
    charset = "us-ascii" if value.isascii() else "utf-8"
    return Header(value, charset, header_name=name).encode(linesep="\r\n")


@lru_cache(maxsize=4096)
def _mailbox(value: str, name: str | None = None) -> str:
    # The practice file holds bare addresses: parse only what could hold a name or comment.
    bare = not any(c in value for c in '<"(')
    parsed_name, addr = ("", value.strip()) if bare else parseaddr(value)
    display = " ".join((name or parsed_name).split())
    spec = _addr_spec(addr)
    if not display:
        return spec
    # One encoded word however long the name: readers join a name split over several words
    # with a space (Python's own parser does), so a long name would come back changed.
    return formataddr((display, spec), charset="utf-8")


def _addr_spec(addr: str) -> str:
    """An international domain is sent as IDNA (any server takes it); a non-ASCII local part
    cannot be, so it stays UTF-8 and the message goes with SMTPUTF8."""
    local, _, domain = addr.strip().rpartition("@")
    if not domain.isascii():
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"
