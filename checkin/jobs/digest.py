"""store -> core.digest -> templates -> outbox: each therapist's week, once per week."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from sqlalchemy import Engine

from checkin.core import weekly
from checkin.core.digest import Digest, build_digest, digest_context, digest_json
from checkin.mail.compose import Outgoing, Rendered, Templates, build_message, domain_of
from checkin.practice import Practice
from checkin.store import outbox
from checkin.store.models import Outbox
from checkin.store.outbox import NewMessage
from checkin.store.week import read_week

# After downtime the missed digest still goes, if the week it covers is this recent.
CATCH_UP = timedelta(days=3)


def digest_for(practice: Practice, engine: Engine, window: weekly.DigestWindow) -> Digest:
    mine = {c.id: c.emails for c in practice.clients if c.therapist == window.therapist_id}
    week = read_week(engine, mine, window.start, window.end)
    return build_digest(
        practice, window.therapist_id, window.start, window.end,
        week.sent, week.replies, week.statuses, week.history,
    )  # fmt: skip


def render(templates: Templates, digest: Digest) -> Rendered:
    return templates.render("digest", digest_context(digest))


def as_format(templates: Templates, digest: Digest, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(digest_json(digest), indent=2, ensure_ascii=False)
    rendered = render(templates, digest)
    return rendered.text if fmt == "text" else rendered.html


def plan_digests(practice: Practice, engine: Engine, now: datetime) -> int:
    # A week that ended before checkin first ran (a fresh install) has nothing to report.
    began = outbox.first_created(engine) or now
    rows = [
        _message(practice, w)
        for w in weekly.due(practice, now)
        if now - w.end <= CATCH_UP and w.end >= began
    ]
    return outbox.enqueue(engine, rows, domain_of(practice.mail.from_addr), now)


def enqueue_window(
    practice: Practice, engine: Engine, window: weekly.DigestWindow, now: datetime
) -> int:
    """`checkin digest --send`: the same key as the scheduled one, so it still goes once."""
    return outbox.enqueue(
        engine, [_message(practice, window)], domain_of(practice.mail.from_addr), now
    )


def _message(practice: Practice, w: weekly.DigestWindow) -> NewMessage:
    therapist = practice.therapist(w.therapist_id)
    assert therapist is not None
    return NewMessage(
        key=w.key, kind="digest", recipient=therapist.email, due_at=w.end,
        send_after=w.end, therapist_id=w.therapist_id, slot=w.week,
        detail=f"{w.start.isoformat()}|{w.end.isoformat()}",
    )  # fmt: skip


def compose_digest(
    practice: Practice, engine: Engine, templates: Templates, row: Outbox, now: datetime
) -> Outgoing:
    start, _, end = (row.detail or "").partition("|")
    window = weekly.DigestWindow(
        row.therapist_id or "", row.slot or "", datetime.fromisoformat(start),
        datetime.fromisoformat(end),
    )  # fmt: skip
    therapist = practice.therapist(window.therapist_id)
    return build_message(
        from_addr=practice.mail.from_addr,
        to=row.recipient,
        to_name=therapist.name if therapist else None,
        rendered=render(templates, digest_for(practice, engine, window)),
        message_id=row.message_id,
        now=now,
    )
