"""Our own labelled replies: tests/replies/NAME.eml, with what must come out of each in
tests/replies/labels.json (every field named there is checked; fields not named are free).

The mails are written as the mail programs write them (headers, MIME layout, transfer
encodings, quoting, attribution and separator lines per client and language). Labels:

* any Reply field by name (`kind`, `command`, `text`, `tried`, `rating`, `noticed`,
  `next_time`, `risk`, `risk_reasons`, `bounce_recipients`, `bounce_permanent`,
  `bounced_message_id`); `pause_until` as an ISO date; lists compare as tuples;
* `risk_reasons_include`: words that must appear in the reasons (the client's trigger words);
* `risk_negated`: whether a reason is marked "possibly negated";
* `about`: what the case is, for people.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from checkin.core.understand import Reply, understand

REPLIES = Path(__file__).parent / "replies"
LABELS: dict[str, dict[str, Any]] = json.loads((REPLIES / "labels.json").read_text("utf-8"))


def _check(reply: Reply, field: str, want: Any) -> str | None:
    """None when the field is as labelled, else what is wrong."""
    if field == "about":
        return None
    if field == "risk_reasons_include":
        reasons = " | ".join(reply.risk_reasons).lower()
        missing = [w for w in want if w.lower() not in reasons]
        return f"risk_reasons {reply.risk_reasons!r} lack {missing!r}" if missing else None
    if field == "risk_negated":
        negated = any(r.startswith("possibly negated:") for r in reply.risk_reasons)
        return None if negated == want else f"risk_negated is {negated}"
    got = getattr(reply, field)
    if field == "pause_until":
        want = date.fromisoformat(want) if want else None
    elif isinstance(want, list):
        want = tuple(want)
    return None if got == want else f"{field}: got {got!r}, want {want!r}"


@pytest.mark.parametrize("name", sorted(LABELS))
def test_labelled_reply(name: str) -> None:
    reply = understand((REPLIES / f"{name}.eml").read_bytes())
    wrong = [w for f, v in LABELS[name].items() if (w := _check(reply, f, v))]
    assert not wrong, f"{name} ({LABELS[name]['about']}):\n  " + "\n  ".join(wrong)


def test_every_labelled_file_exists_and_every_file_is_labelled() -> None:
    files = {p.stem for p in REPLIES.glob("*.eml")}
    assert files == set(LABELS)


def test_the_set_covers_each_client_and_language() -> None:
    """The issue's list: each client's quoting in en, de, fr, es, it, nl and pt."""
    for client in ("gmail", "outlook-desktop", "ios", "thunderbird", "yahoo", "samsung"):
        for lang in ("en", "de", "fr", "es", "it", "nl", "pt"):
            assert f"{client}-{lang}" in LABELS
    kinds = {label.get("kind") for label in LABELS.values()}
    assert {"answer", "command", "auto_reply", "bounce"} <= kinds
