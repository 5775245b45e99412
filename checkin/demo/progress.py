"""One line per simulated day: what went out, what came back, what it made happen."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date

from checkin.store.models import Reply

# Outbox kinds as a person would say them: (one, many).
SENT_WORDS = {
    "checkin": ("check-in", "check-ins"),
    "nudge": ("reminder", "reminders"),
    "confirm": ("confirmation", "confirmations"),
    "alert": ("risk alert", "risk alerts"),
    "safety": ("safety message", "safety messages"),
    "digest": ("weekly digest", "weekly digests"),
}

PLURALS = {
    "answer": "answers",
    "answer with risk language": "answers with risk language",
    "out-of-office": "out-of-offices",
    "bounce": "bounces",
    "unattributed message": "unattributed messages",
}


@dataclass
class Day:
    day: date
    week: int
    sent: Counter[str] = field(default_factory=Counter)
    stored: int = 0
    understood: Counter[str] = field(default_factory=Counter)
    events: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [
            _sent(self.sent, ("checkin", "nudge")),
            _replies(self.stored, self.understood),
            _sent(self.sent, ("confirm", "alert", "safety")),
            _sent(self.sent, ("digest",)),
        ]
        said = "; ".join(p for p in parts if p) or "nothing due"
        head = f"Week {self.week}, {self.day:%a} {self.day.day} {self.day:%b}: {said}"
        return "\n".join([head, *(f"    {e}" for e in self.events)])


def reply_label(reply: Reply) -> str:
    """What a stored message was understood to be, in a word or two."""
    if reply.kind == "command":
        return (reply.command or "command").upper()
    if reply.kind == "answer" and reply.attribution == "unattributed":
        return "unattributed message"
    if reply.kind == "answer":
        return "answer with risk language" if reply.risk else "answer"
    return {"auto_reply": "out-of-office", "bounce": "bounce"}.get(reply.kind, reply.kind)


def _sent(counts: Counter[str], kinds: tuple[str, ...]) -> str:
    words = [_count(counts[k], *SENT_WORDS[k]) for k in kinds if counts[k]]
    if not words:
        return ""
    return (", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]) + " sent"


def _replies(stored: int, understood: Counter[str]) -> str:
    if not stored and not understood:
        return ""
    kinds = ", ".join(_count(n, label, _plural(label)) for label, n in understood.items())
    return f"{_count(stored, 'reply', 'replies')} stored" + (f" ({kinds})" if kinds else "")


def _plural(label: str) -> str:
    """PAUSE and STOP are the client's own words; kinds without a plural here stay as they are."""
    return PLURALS.get(label, label)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"
