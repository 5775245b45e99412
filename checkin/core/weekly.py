"""When each therapist's weekly digest is due, and which seven days it covers. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from checkin.core.cadence import slot_instant
from checkin.practice import DigestTime, Practice, Therapist

WEEK = timedelta(days=7)
ON_DEMAND = DigestTime(weekday=6, time=time(18))  # Sunday 18:00


@dataclass(frozen=True)
class DigestWindow:
    therapist_id: str
    week: str  # ISO week of the send moment in the therapist's zone: "2026-W47"
    start: datetime  # aware UTC, inclusive
    end: datetime  # aware UTC, exclusive: the moment the digest is due

    @property
    def key(self) -> str:
        return f"digest:{self.therapist_id}:{self.week}"


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _when(therapist: Therapist) -> DigestTime:
    """A therapist with `digest: off` gets none by mail, but can still ask for one."""
    return therapist.digest or ON_DEMAND


def window_ending(therapist: Therapist, end_day: date) -> DigestWindow:
    """The digest sent on `end_day` at the therapist's digest time, local wall time."""
    at = _when(therapist).time
    end = slot_instant(end_day, at, therapist.timezone)
    start = slot_instant(end_day - WEEK, at, therapist.timezone)
    return DigestWindow(therapist.id, iso_week(end_day), start, end)


def latest_window(therapist: Therapist, now: datetime) -> DigestWindow:
    """The most recent digest moment at or before `now`: after downtime, only that one."""
    today = now.astimezone(therapist.timezone).date()
    back = (today.weekday() - _when(therapist).weekday) % 7
    window = window_ending(therapist, today - timedelta(days=back))
    if window.end > now:
        window = window_ending(therapist, today - timedelta(days=back + 7))
    return window


def window_for_week(therapist: Therapist, week: str) -> DigestWindow:
    """`--week 2026-W47`: the digest due on the therapist's digest day of that ISO week."""
    year, number = week.upper().split("-W")
    day = date.fromisocalendar(int(year), int(number), _when(therapist).weekday + 1)
    return window_ending(therapist, day)


def due(practice: Practice, now: datetime) -> list[DigestWindow]:
    return [latest_window(t, now) for t in practice.therapists if t.digest is not None]
