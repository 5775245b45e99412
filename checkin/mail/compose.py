"""Template triplets + data -> an EmailMessage with every header set in one place.

A template set is `NAME-subject.txt`, `NAME-body.txt` and `NAME-body.html`. The practice's
own folder is searched first, then the shipped one, so any single file can be overridden.
Client words only ever arrive as variables: escaped in HTML, never parsed as a template.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
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
        )

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        def one(suffix: str) -> str:
            return self.env.get_template(f"{name}-{suffix}").render(context)

        subject = " ".join(one("subject.txt").split())  # a subject is one line, whatever the file
        return Rendered(subject=subject, text=one("body.txt"), html=one("body.html"))


def domain_of(address: str) -> str:
    return parseaddr(address)[1].rpartition("@")[2]


def reply_address(from_addr: str, token: str) -> str:
    """`checkin+TOKEN@domain`: plus-addressing lands in the same mailbox on common providers."""
    local, _, domain = parseaddr(from_addr)[1].rpartition("@")
    return f"{local.split('+')[0]}+{token}@{domain}"


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
) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _address(from_addr)
    msg["To"] = _address(to, to_name)
    msg["Subject"] = rendered.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id
    if reply_to:
        msg["Reply-To"] = _address(reply_to)
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    if auto_submitted:
        # RFC 3834: out-of-office robots should not answer us ("auto-replied" for our answers
        # to a client's command), and we can tell their mail apart from a person's.
        msg["Auto-Submitted"] = auto_submitted
        msg["X-Auto-Response-Suppress"] = "All"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<mailto:{unsubscribe}?subject=STOP>"
    msg.set_content(rendered.text, cte="quoted-printable")
    msg.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    # The bodies are encoded by now; lift the 78-column header fold so single long tokens
    # (List-Unsubscribe, Message-ID) stay on their own line: some parsers keep the fold's space.
    msg.policy = msg.policy.clone(max_line_length=998)
    return msg


def _address(value: str, name: str | None = None) -> Address:
    parsed_name, addr = parseaddr(value)
    local, _, domain = addr.rpartition("@")
    return Address(display_name=name or parsed_name, username=local, domain=domain)
