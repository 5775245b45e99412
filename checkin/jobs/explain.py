"""`checkin explain`: core.understand on a file, printed for a person or as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from checkin.core.attribute import tokens_in
from checkin.core.understand import Reply, understand


class NotMail(ValueError):
    """The file is not a mail message, or is broken beyond use."""


def explain_file(name: str, as_json: bool) -> str:
    reply = understand(Path(name).read_bytes())
    if reply.kind == "unreadable":
        raise NotMail("; ".join(reply.problems) or "not a mail message")
    fields = explained(name, reply)
    return json.dumps(fields, ensure_ascii=False) if as_json else _readable(fields)


def explained(name: str, r: Reply) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "file": name,
        "kind": r.kind,
        "command": r.command,
        "text": r.text,
        "tried": r.tried,
        "rating": r.rating,
        "noticed": r.noticed,
        "next_time": r.next_time,
        "risk": r.risk,
        "risk_reasons": list(r.risk_reasons),
        "token": next(iter(tokens_in(r.recipients)), None),
        "attachments": list(r.attachments),
    }
    if r.command == "pause":
        fields["until"] = r.pause_until.isoformat() if r.pause_until else None
    if r.kind == "bounce":
        fields["bounce_recipients"] = list(r.bounce_recipients)
        fields["bounce_permanent"] = r.bounce_permanent
    if r.problems:
        fields["problems"] = list(r.problems)
    return fields


def _readable(fields: dict[str, Any]) -> str:
    lines = [f"== {fields['file']}"]
    for key, value in fields.items():
        if key in ("file", "text") or value in (None, [], ""):
            continue
        lines.append(f"{key:>13}: {value}")
    text = fields.get("text") or ""
    lines += ["         text:"] + [f"    {line}" for line in text.splitlines()]
    return "\n".join(lines)
