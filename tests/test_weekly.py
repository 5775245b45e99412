"""When the weekly digest is due and which days it covers, in the therapist's own zone."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from checkin.core.weekly import latest_window, window_for_week
from checkin.practice import DigestTime, Therapist


def therapist(zone: str = "Europe/London", day: int = 6, at: time = time(18)) -> Therapist:
    return Therapist("robin", "Robin", "robin@p.test", ZoneInfo(zone), DigestTime(day, at))


def test_the_latest_window_ends_at_the_digest_time_and_covers_seven_days() -> None:
    w = latest_window(therapist(), datetime(2026, 11, 25, 12, tzinfo=UTC))  # a Wednesday
    assert (w.start, w.end) == (
        datetime(2026, 11, 15, 18, tzinfo=UTC),
        datetime(2026, 11, 22, 18, tzinfo=UTC),
    )
    assert w.week == "2026-W47" and w.key == "digest:robin:2026-W47"


def test_at_the_digest_moment_it_is_that_weeks_digest() -> None:
    assert latest_window(therapist(), datetime(2026, 11, 22, 18, tzinfo=UTC)).week == "2026-W47"
    assert latest_window(therapist(), datetime(2026, 11, 22, 17, 59, tzinfo=UTC)).week == "2026-W46"


def test_the_therapists_zone_decides() -> None:
    # 18:00 on Sunday in New York is 23:00 UTC (EST).
    w = latest_window(therapist("America/New_York"), datetime(2026, 11, 22, 23, 0, tzinfo=UTC))
    assert w.end == datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def test_a_week_spanning_a_dst_change_is_seven_local_days() -> None:
    w = window_for_week(therapist(), "2026-W13")  # Sunday 29 March 2026: clocks go forward
    assert w.end - w.start == (
        datetime(2026, 3, 29, 17, tzinfo=UTC) - datetime(2026, 3, 22, 18, tzinfo=UTC)
    )
    assert w.end.astimezone(ZoneInfo("Europe/London")).hour == 18


def test_week_argument_names_the_iso_week_of_the_digest_day() -> None:
    w = window_for_week(therapist(day=0, at=time(8)), "2026-W48")  # Mondays at 08:00
    assert w.end == datetime(2026, 11, 23, 8, tzinfo=UTC)
