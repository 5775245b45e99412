"""`checkin export`: everything stored about clients, as JSON or CSV (also a subject access)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from checkin.practice import Client, Practice
from checkin.store import records
from checkin.store.models import Outbox, RawMessage, Reply

REPLY_FIELDS = (
    "received_at", "kind", "attribution", "command", "pause_until", "tried", "rating",
    "noticed", "next_time", "text", "risk", "risk_reasons", "attachments", "reason",
    "needs_review", "reviewed_at", "review_note",
)  # fmt: skip


def export(practice: Practice, engine: Engine, client_id: str | None, fmt: str) -> str:
    chosen = [c for c in practice.clients if client_id in (None, c.id)]
    data = {
        "practice": practice.name,
        "clients": [_client(engine, c) for c in chosen],
        # Messages no client can be sure of are the practice's, not one client's.
        "unattributed": [_reply(r, m) for r, m in records.unattributed(engine)]
        if client_id is None
        else [],
    }
    return json.dumps(data, indent=2, default=_json) if fmt == "json" else _csv(data)


def _client(engine: Engine, client: Client) -> dict[str, Any]:
    record = records.client_record(engine, client.id, client.emails)
    by_checkin: dict[int, list[dict[str, Any]]] = {}
    notes, commands = [], []
    for reply, raw in record.replies:
        item = _reply(reply, raw)
        if reply.kind == "command":
            commands.append(item)
        elif reply.outbox_id is not None:
            by_checkin.setdefault(reply.outbox_id, []).append(item)
        else:
            notes.append(item)
    return {
        "id": client.id,
        "name": client.name,
        "status": record.status.status if record.status else "active",
        "checkins": [_sent(o, by_checkin.get(o.id or 0, [])) for o in record.sent],
        "notes": notes,
        "commands": commands,
    }


def _sent(o: Outbox, replies: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": o.kind,
        "experiment": o.experiment_id,
        "slot": o.slot,
        "status": o.status,
        "sent_at": o.sent_at,
        "message_id": o.message_id,
        "replies": replies,
    }


def _reply(reply: Reply, raw: RawMessage) -> dict[str, Any]:
    item: dict[str, Any] = {f: getattr(reply, f) for f in REPLY_FIELDS}
    for name in ("risk_reasons", "attachments"):
        item[name] = json.loads(item[name]) if item[name] else []
    item.update(client=reply.client_id, sender=raw.sender, message_id=raw.message_id)
    return item


def _json(value: object) -> str:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(type(value).__name__)


CSV_COLUMNS = ("client", "experiment", "slot", "sent_at", "checkin_message_id", "section")


def _csv(data: dict[str, Any]) -> str:
    """One row per reply (and per check-in without one), flat for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*CSV_COLUMNS, "sender", "message_id", *REPLY_FIELDS])
    for client in data["clients"]:
        for checkin in client["checkins"]:
            head = [client["id"], checkin["experiment"], checkin["slot"], checkin["sent_at"],
                    checkin["message_id"], checkin["kind"]]  # fmt: skip
            for reply in checkin["replies"] or [None]:
                writer.writerow(head + _reply_cells(reply))
        for section in ("notes", "commands"):
            for reply in client[section]:
                writer.writerow([client["id"], "", "", "", "", section, *_reply_cells(reply)])
    for reply in data["unattributed"]:
        writer.writerow(["", "", "", "", "", "unattributed", *_reply_cells(reply)])
    return out.getvalue()


def _reply_cells(reply: dict[str, Any] | None) -> list[object]:
    if reply is None:
        return [""] * (2 + len(REPLY_FIELDS))
    cells = [reply["sender"], reply["message_id"]]
    for f in REPLY_FIELDS:
        value = reply[f]
        cells.append("; ".join(value) if isinstance(value, list) else _json_or(value))
    return cells


def _json_or(value: object) -> object:
    return value.isoformat() if isinstance(value, datetime | date) else value
