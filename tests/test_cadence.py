"""The schedule: wall-clock slots across DST, quiet hours, catch-up, consent/pause/stop, nudges."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checkin.core.cadence import (
    ClientState,
    Due,
    OpenCheckin,
    after_quiet_hours,
    can_send,
    checkins_due,
    next_slot,
    nudges_due,
    recipient,
    slot_instant,
    slots,
    upcoming,
)
from checkin.practice import (
    Cadence,
    Client,
    Experiment,
    Mail,
    Practice,
    QuietHours,
    Server,
)

MAIL = Mail(from_addr="x <x@p.example>", smtp=Server(host="127.0.0.1", port=25, security="none"))
LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
NIGHT = QuietHours(start=time(21), end=time(8))
TEN_MINUTES = timedelta(minutes=10)

ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "America/New_York",
    "America/Los_Angeles",
    "America/St_Johns",
    "America/Santiago",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Australia/Sydney",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tehran",
    "Africa/Casablanca",
)


# --- builders ---------------------------------------------------------------------------------


def experiment(
    at: time = time(19),
    *,
    id_: str = "walk",
    days: frozenset[int] | None = None,
    every_days: int | None = None,
    start: date = date(2026, 1, 1),
    end: date | None = None,
    quiet: QuietHours | None = None,
    nudge_after: timedelta | None = None,
    catch_up: timedelta = timedelta(hours=6),
) -> Experiment:
    return Experiment(
        id=id_,
        title=id_.title(),
        cadence=Cadence(time=at, days=days, every_days=every_days),
        start=start,
        end=end,
        quiet_hours=quiet,
        nudge_after=nudge_after,
        catch_up=catch_up,
    )


def client(
    *experiments: Experiment,
    id_: str = "c1",
    zone: ZoneInfo = LONDON,
    emails: tuple[str, ...] = ("ana@c.example",),
    consent: date | None = date(2025, 1, 1),
) -> Client:
    return Client(
        id=id_,
        name=None,
        emails=emails,
        therapist="t1",
        timezone=zone,
        consent=consent,
        experiments=experiments,
    )


def practice(*clients: Client) -> Practice:
    return Practice(
        name="Harbour",
        timezone=LONDON,
        mail=MAIL,
        database="sqlite://",
        templates=None,
        therapists=(),
        clients=clients,
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wall(zone: ZoneInfo, *args: int) -> datetime:
    """A local wall time (fold=0) as aware UTC."""
    return datetime(*args, tzinfo=zone).astimezone(UTC)


def run(
    p: Practice,
    since: datetime,
    until: datetime,
    step: timedelta = TEN_MINUTES,
    states: dict[str, ClientState] | None = None,
    latest: dict[tuple[str, str], str] | None = None,
) -> list[tuple[datetime, Due]]:
    """Tick like the scheduler does, feeding created slots back as the store would."""
    latest = {} if latest is None else latest
    sent = []
    tick = since
    while tick <= until:
        for due in checkins_due(p, tick, latest, states or {}):
            latest[(due.client_id, due.experiment_id)] = due.slot
            sent.append((tick, due))
        tick += step
    return sent


def local_hm(instant: datetime, zone: ZoneInfo) -> tuple[int, int]:
    shown = instant.astimezone(zone)
    return shown.hour, shown.minute


# --- slot_instant -----------------------------------------------------------------------------


def test_gap_time_is_read_with_the_offset_before_the_gap() -> None:
    at = slot_instant(date(2026, 3, 8), time(2, 30), NEW_YORK)
    assert at == utc(2026, 3, 8, 7, 30)
    assert local_hm(at, NEW_YORK) == (3, 30)
    london = slot_instant(date(2026, 3, 29), time(1, 30), LONDON)
    assert local_hm(london, LONDON) == (2, 30)


def test_ambiguous_time_is_its_first_occurrence() -> None:
    assert slot_instant(date(2026, 10, 25), time(1, 30), LONDON) == utc(2026, 10, 25, 0, 30)
    assert slot_instant(date(2026, 11, 1), time(1, 30), NEW_YORK) == utc(2026, 11, 1, 5, 30)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        checkins_due(practice(), datetime(2026, 1, 1, 12), {}, {})


# --- DST weeks --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("zone", "change"),
    [
        (LONDON, date(2026, 3, 29)),
        (LONDON, date(2026, 10, 25)),
        (NEW_YORK, date(2026, 3, 8)),
        (NEW_YORK, date(2026, 11, 1)),
    ],
)
def test_daily_checkin_stays_at_local_time_through_a_dst_week(zone: ZoneInfo, change: date) -> None:
    week = [change + timedelta(days=d) for d in range(-3, 4)]
    p = practice(client(experiment(time(19), start=week[0], end=week[-1]), zone=zone))
    sent = run(
        p,
        utc(*(week[0] - timedelta(days=1)).timetuple()[:3]),
        utc(*week[-1].timetuple()[:3]) + timedelta(days=2),
    )
    assert [due.slot for _, due in sent] == [f"{day}T19:00" for day in week]
    for (tick, due), day in zip(sent, week, strict=True):
        assert due.due_at.astimezone(zone).date() == day
        assert local_hm(due.due_at, zone) == (19, 0)
        assert tick == due.due_at == due.send_after  # on a 10-minute grid: sent on the dot
    assert len({due.due_at.hour for _, due in sent}) == 2  # the UTC instant moved by an hour


def test_fall_back_night_checkin_happens_once_at_first_occurrence() -> None:
    day = date(2026, 10, 25)
    p = practice(client(experiment(time(1, 30), start=day, end=day)))
    sent = run(p, utc(2026, 10, 24, 12), utc(2026, 10, 25, 12), step=timedelta(minutes=5))
    assert [(tick, due.slot) for tick, due in sent] == [
        (utc(2026, 10, 25, 0, 30), "2026-10-25T01:30")
    ]


def test_spring_forward_night_checkin_still_happens_once() -> None:
    day = date(2026, 3, 29)
    p = practice(client(experiment(time(1, 30), start=day, end=day)))
    sent = run(p, utc(2026, 3, 28, 12), utc(2026, 3, 29, 12), step=timedelta(minutes=5))
    assert [(tick, due.slot) for tick, due in sent] == [
        (utc(2026, 3, 29, 1, 30), "2026-03-29T01:30")
    ]
    assert local_hm(sent[0][1].due_at, LONDON) == (2, 30)


# --- quiet hours ------------------------------------------------------------------------------


def test_after_quiet_hours_moves_to_the_end_of_a_wrapping_period() -> None:
    assert after_quiet_hours(utc(2026, 1, 5, 23), NIGHT, LONDON) == utc(2026, 1, 6, 8)
    assert after_quiet_hours(utc(2026, 1, 6, 3), NIGHT, LONDON) == utc(2026, 1, 6, 8)
    assert after_quiet_hours(utc(2026, 1, 6, 8), NIGHT, LONDON) == utc(2026, 1, 6, 8)
    assert after_quiet_hours(utc(2026, 1, 6, 12), NIGHT, LONDON) == utc(2026, 1, 6, 12)
    assert after_quiet_hours(utc(2026, 1, 6, 3), None, LONDON) == utc(2026, 1, 6, 3)


def test_after_quiet_hours_ends_at_local_time_across_dst() -> None:
    # Spring-forward night: 08:00 BST is 07:00 UTC.
    assert after_quiet_hours(utc(2026, 3, 28, 23), NIGHT, LONDON) == utc(2026, 3, 29, 7)
    # Fall-back night, quiet until 01:30: the repeated hour's second pass ends at 01:30 GMT.
    early = QuietHours(start=time(0), end=time(1, 30))
    assert after_quiet_hours(utc(2026, 10, 24, 23, 40), early, LONDON) == utc(2026, 10, 25, 0, 30)
    assert after_quiet_hours(utc(2026, 10, 25, 1, 10), early, LONDON) == utc(2026, 10, 25, 1, 30)


def test_checkin_in_quiet_hours_is_moved_not_dropped() -> None:
    p = practice(
        client(experiment(time(7), quiet=NIGHT, start=date(2026, 1, 5), end=date(2026, 1, 5)))
    )
    sent = run(p, utc(2026, 1, 5), utc(2026, 1, 6))
    assert len(sent) == 1
    tick, due = sent[0]
    assert (due.due_at, due.send_after, tick) == (
        utc(2026, 1, 5, 7),
        utc(2026, 1, 5, 8),
        utc(2026, 1, 5, 8),
    )


def test_quiet_hours_within_a_day() -> None:
    lunch = QuietHours(start=time(12), end=time(14))
    p = practice(
        client(experiment(time(12, 30), quiet=lunch, start=date(2026, 1, 5), end=date(2026, 1, 5)))
    )
    [(tick, due)] = run(p, utc(2026, 1, 5), utc(2026, 1, 6))
    assert tick == due.send_after == utc(2026, 1, 5, 14)


# --- catch-up after downtime ------------------------------------------------------------------

MONDAY = {("c1", "walk"): "2026-01-05T19:00"}


def test_after_downtime_only_the_latest_missed_slot_within_catch_up() -> None:
    p = practice(client(experiment(time(19))))
    [due] = checkins_due(p, utc(2026, 1, 8, 22), MONDAY, {})
    assert (due.slot, due.due_at, due.send_after) == (
        "2026-01-08T19:00",
        utc(2026, 1, 8, 19),
        utc(2026, 1, 8, 22),
    )
    assert checkins_due(p, utc(2026, 1, 9, 1, 30), MONDAY, {}) == []  # 6.5 h late: skipped


def test_long_catch_up_still_sends_only_one() -> None:
    p = practice(client(experiment(time(19), catch_up=timedelta(days=3))))
    assert [d.slot for d in checkins_due(p, utc(2026, 1, 8, 22), MONDAY, {})] == [
        "2026-01-08T19:00"
    ]


def test_catch_up_during_quiet_hours_waits_for_the_morning() -> None:
    p = practice(client(experiment(time(19), quiet=NIGHT)))
    [due] = checkins_due(p, utc(2026, 1, 8, 23), MONDAY, {})
    assert (due.due_at, due.send_after) == (utc(2026, 1, 8, 19), utc(2026, 1, 9, 8))


def test_a_newer_slot_going_out_as_soon_supersedes_the_catch_up() -> None:
    # 22:00 slots wait for 08:00; with a two-day catch-up both Tuesday's and Wednesday's would
    # be "due" at Thursday 08:00. Only Wednesday's goes.
    p = practice(client(experiment(time(22), quiet=NIGHT, catch_up=timedelta(days=2))))
    latest = {("c1", "walk"): "2026-01-05T22:00"}
    assert checkins_due(p, utc(2026, 1, 8, 7), latest, {}) == []
    assert [d.slot for d in checkins_due(p, utc(2026, 1, 8, 8), latest, {})] == ["2026-01-07T22:00"]


def test_already_created_slot_is_not_returned_again() -> None:
    p = practice(client(experiment(time(19))))
    assert checkins_due(p, utc(2026, 1, 8, 20), {("c1", "walk"): "2026-01-08T19:00"}, {}) == []


# --- which days -------------------------------------------------------------------------------


def keys(
    p: Practice, since: datetime, until: datetime, states: dict[str, ClientState] | None = None
) -> list[str]:
    return [due.slot for _, due in run(p, since, until, states=states)]


def test_nothing_before_start_or_after_end() -> None:
    p = practice(client(experiment(time(9), start=date(2026, 1, 6), end=date(2026, 1, 8))))
    assert keys(p, utc(2026, 1, 1), utc(2026, 1, 12)) == [
        "2026-01-06T09:00",
        "2026-01-07T09:00",
        "2026-01-08T09:00",
    ]


def test_weekdays() -> None:
    p = practice(client(experiment(time(9), days=frozenset({0, 3}))))  # Mon, Thu
    assert keys(p, utc(2026, 1, 5), utc(2026, 1, 16)) == [
        "2026-01-05T09:00",
        "2026-01-08T09:00",
        "2026-01-12T09:00",
        "2026-01-15T09:00",
    ]


def test_every_days_counts_from_start() -> None:
    exp = experiment(time(9), every_days=3, start=date(2026, 1, 2))
    p = practice(client(exp))
    assert keys(p, utc(2026, 1, 1), utc(2026, 1, 9)) == [
        "2026-01-02T09:00",
        "2026-01-05T09:00",
        "2026-01-08T09:00",
    ]
    # Far from the start, the count still lines up (and without walking from the start).
    found = [k for k, _ in slots(exp, LONDON, utc(2030, 6, 1), utc(2030, 6, 10))]
    assert all((date.fromisoformat(k[:10]) - date(2026, 1, 2)).days % 3 == 0 for k in found)
    assert len(found) == 3


def test_nothing_before_consent_or_without_it() -> None:
    p = practice(client(experiment(time(9)), consent=date(2026, 1, 7)))
    assert keys(p, utc(2026, 1, 5), utc(2026, 1, 8)) == ["2026-01-07T09:00"]
    assert (
        keys(practice(client(experiment(time(9)), consent=None)), utc(2026, 1, 5), utc(2026, 1, 8))
        == []
    )


def test_slot_before_consent_is_not_caught_up_on_consent_day() -> None:
    p = practice(client(experiment(time(23, 30)), consent=date(2026, 1, 7)))
    assert checkins_due(p, utc(2026, 1, 7, 1), {}, {}) == []


# --- client state -----------------------------------------------------------------------------


def test_stopped_client_gets_nothing() -> None:
    p = practice(client(experiment(time(9))))
    assert keys(p, utc(2026, 1, 5), utc(2026, 1, 8), states={"c1": ClientState(stopped=True)}) == []


def test_paused_until_resumed() -> None:
    p = practice(client(experiment(time(9))))
    paused = {"c1": ClientState(paused=True)}
    assert keys(p, utc(2026, 1, 5), utc(2026, 1, 8), states=paused) == []
    assert can_send(
        p.clients[0], ClientState(paused=False, paused_until=utc(2026, 1, 9)), utc(2026, 1, 5)
    )


def test_dated_pause_resumes_with_the_next_slot_not_a_missed_one() -> None:
    p = practice(client(experiment(time(10))))
    paused = {"c1": ClientState(paused=True, paused_until=utc(2026, 1, 7, 12))}
    # Wednesday 10:00 fell due during the pause: not sent at 12:00 when it lifts.
    assert keys(p, utc(2026, 1, 5), utc(2026, 1, 9, 12), states=paused) == [
        "2026-01-08T10:00",
        "2026-01-09T10:00",
    ]
    assert not can_send(p.clients[0], paused["c1"], utc(2026, 1, 7, 11, 59))
    assert can_send(p.clients[0], paused["c1"], utc(2026, 1, 7, 12))


def test_bouncing_first_address_falls_back_to_second() -> None:
    c = client(experiment(time(9)), emails=("Ana@C.example", "ana@home.example"))
    p = practice(c)
    bounced = ClientState(bouncing=frozenset({"ana@c.example"}))
    [due] = checkins_due(p, utc(2026, 1, 5, 9), {}, {"c1": bounced})
    assert due.to == "ana@home.example"
    assert recipient(c, ClientState()) == "Ana@C.example"
    both = ClientState(bouncing=frozenset({"ana@c.example", "ana@home.example"}))
    assert recipient(c, both) is None
    assert checkins_due(p, utc(2026, 1, 5, 9), {}, {"c1": both}) == []


def test_clients_are_independent() -> None:
    a = client(experiment(time(9)), id_="a")
    b = client(experiment(time(9), id_="talk"), id_="b", zone=NEW_YORK)
    due = checkins_due(practice(a, b), utc(2026, 1, 5, 14), {}, {"a": ClientState(stopped=True)})
    assert [(d.client_id, d.experiment_id, d.slot) for d in due] == [
        ("b", "talk", "2026-01-05T09:00")
    ]


# --- nudges -----------------------------------------------------------------------------------


def open_checkin() -> OpenCheckin:
    """Monday's 19:00 check-in, sent two minutes late and not answered."""
    return OpenCheckin("c1", "walk", "2026-01-05T19:00", sent_at=utc(2026, 1, 5, 19, 2))


def test_nudge_once_after_the_delay() -> None:
    exp = experiment(time(19), days=frozenset({0, 3}), nudge_after=timedelta(hours=24))
    p = practice(client(exp))
    pending = [open_checkin()]
    nudges = []
    tick = utc(2026, 1, 5, 19)
    while tick < utc(2026, 1, 8, 12):
        for due in nudges_due(p, tick, pending, {}):
            nudges.append((tick, due))
            pending = []  # the store marks it nudged
        tick += timedelta(minutes=1)
    [(tick, due)] = nudges
    assert tick == due.due_at == due.send_after == utc(2026, 1, 6, 19, 2)
    assert (due.kind, due.slot, due.to) == ("nudge", "2026-01-05T19:00", "ana@c.example")


def test_nudge_window_is_bounded_by_catch_up() -> None:
    exp = experiment(time(19), days=frozenset({0, 3}), nudge_after=timedelta(hours=24))
    p = practice(client(exp))
    assert nudges_due(p, utc(2026, 1, 6, 19, 1), [open_checkin()], {}) == []
    assert len(nudges_due(p, utc(2026, 1, 7, 1, 2), [open_checkin()], {})) == 1
    assert nudges_due(p, utc(2026, 1, 7, 1, 3), [open_checkin()], {}) == []


def test_no_nudge_when_the_next_checkin_comes_first() -> None:
    p = practice(client(experiment(time(19), nudge_after=timedelta(hours=30))))
    assert nudges_due(p, utc(2026, 1, 7, 1, 2), [open_checkin()], {}) == []


def test_no_nudge_when_nudge_after_is_none() -> None:
    p = practice(client(experiment(time(19), days=frozenset({0}))))
    assert nudges_due(p, utc(2026, 1, 6, 19, 2), [open_checkin()], {}) == []


def test_nudge_waits_out_quiet_hours() -> None:
    p = practice(client(experiment(time(19), quiet=NIGHT, nudge_after=timedelta(hours=3))))
    assert nudges_due(p, utc(2026, 1, 5, 22, 2), [open_checkin()], {}) == []
    [due] = nudges_due(p, utc(2026, 1, 6, 9), [open_checkin()], {})
    assert (due.due_at, due.send_after) == (utc(2026, 1, 6, 8), utc(2026, 1, 6, 9))


def test_nudge_respects_state_and_skips_what_is_gone() -> None:
    p = practice(client(experiment(time(19), days=frozenset({0}), nudge_after=timedelta(hours=24))))
    at = utc(2026, 1, 6, 19, 5)
    assert nudges_due(p, at, [open_checkin()], {"c1": ClientState(stopped=True)}) == []
    assert nudges_due(p, at, [open_checkin()], {"c1": ClientState(paused=True)}) == []
    gone = [
        OpenCheckin("nobody", "walk", "2026-01-05T19:00", utc(2026, 1, 5, 19)),
        OpenCheckin("c1", "retired", "2026-01-05T19:00", utc(2026, 1, 5, 19)),
    ]
    assert nudges_due(p, at, gone, {}) == []


# --- upcoming ---------------------------------------------------------------------------------


def test_upcoming_lists_the_next_slots() -> None:
    p = practice(
        client(experiment(time(19), quiet=NIGHT), experiment(time(22), id_="read", quiet=NIGHT))
    )
    due = upcoming(p, utc(2026, 1, 5, 20), {}, per_experiment=2)
    assert [(d.experiment_id, d.slot, d.send_after) for d in due] == [
        ("read", "2026-01-05T22:00", utc(2026, 1, 6, 8)),
        ("walk", "2026-01-06T19:00", utc(2026, 1, 6, 19)),
        ("read", "2026-01-06T22:00", utc(2026, 1, 7, 8)),
        ("walk", "2026-01-07T19:00", utc(2026, 1, 7, 19)),
    ]


def test_upcoming_respects_pause_stop_consent_and_end() -> None:
    now = utc(2026, 1, 5, 20)
    p = practice(client(experiment(time(19), end=date(2026, 1, 10))))
    dated = {"c1": ClientState(paused=True, paused_until=utc(2026, 1, 8))}
    assert [d.slot for d in upcoming(p, now, dated)] == ["2026-01-08T19:00"]
    assert upcoming(p, now, {"c1": ClientState(paused=True)}) == []
    assert upcoming(p, now, {"c1": ClientState(stopped=True)}) == []
    assert [d.slot for d in upcoming(p, now, {}, per_experiment=9)][-1] == "2026-01-10T19:00"
    assert upcoming(p, utc(2026, 1, 11), {}) == []
    later = practice(client(experiment(time(19)), consent=date(2026, 3, 1)))
    assert [d.slot for d in upcoming(later, now, {})] == ["2026-03-01T19:00"]
    assert upcoming(practice(client(experiment(time(19)), consent=None)), now, {}) == []


# --- properties over many zones ---------------------------------------------------------------


def reference_instants(day: date, at: time, zone: ZoneInfo) -> list[datetime]:
    """Every UTC instant at which the clock in `zone` shows `at` on `day`, by brute force.

    All these zones' offsets are whole quarter hours between -12:00 and +14:00.
    """
    shown = datetime.combine(day, at)
    found = []
    for quarters in range(-12 * 4, 14 * 4 + 1):
        instant = (shown - timedelta(minutes=15 * quarters)).replace(tzinfo=UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == shown:
            found.append(instant)
    return sorted(found)


def assert_slot_instant_policy(due_at: datetime, day: date, at: time, zone: ZoneInfo) -> None:
    occurrences = reference_instants(day, at, zone)
    if occurrences:
        assert due_at == occurrences[0]  # the wall time, first occurrence
        return
    # In a gap: the wall time read with the pre-gap offset lands gap-length past it.
    before = (due_at - timedelta(hours=3)).astimezone(zone)
    gap = due_at.astimezone(zone).utcoffset() - before.utcoffset()  # type: ignore[operator]
    shown = due_at.astimezone(zone).replace(tzinfo=None)
    assert timedelta(0) < gap <= timedelta(hours=1)
    assert shown - datetime.combine(day, at) == gap


@cache
def dst_changes(zone_name: str, year: int) -> tuple[date, ...]:
    zone = ZoneInfo(zone_name)
    days = [date(year, 1, 1) + timedelta(days=n) for n in range(366)]
    offsets = [datetime.combine(d, time(12), tzinfo=zone).utcoffset() for d in days]
    return tuple(d for d, a, b in zip(days[1:], offsets, offsets[1:], strict=False) if a != b)


TRICKY_TIMES = [
    time(0),
    time(0, 30),
    time(1),
    time(1, 30),
    time(2),
    time(2, 15),
    time(2, 30),
    time(3),
    time(23, 30),
]
any_time = st.builds(time, st.integers(0, 23), st.integers(0, 59))
times = st.one_of(st.sampled_from(TRICKY_TIMES), any_time)


@st.composite
def start_dates(draw: st.DrawFn, zone_name: str) -> date:
    """A date, often in the week of a DST change of the zone."""
    year = draw(st.integers(2019, 2032))
    changes = dst_changes(zone_name, year)
    if changes and draw(st.booleans()):
        return draw(st.sampled_from(changes)) - timedelta(days=draw(st.integers(0, 6)))
    return date(year, 1, 1) + timedelta(days=draw(st.integers(0, 364)))


@st.composite
def quiet_hours(draw: st.DrawFn) -> QuietHours:
    start = draw(st.integers(0, 24 * 60 - 1))
    length = draw(st.integers(30, 16 * 60))  # longer quiet hours could hold two slots at once
    end = (start + length) % (24 * 60)
    return QuietHours(start=time(start // 60, start % 60), end=time(end // 60, end % 60))


@st.composite
def cadences(draw: st.DrawFn) -> Cadence:
    at = draw(times)
    return draw(
        st.one_of(
            st.just(Cadence(time=at)),
            st.builds(
                lambda d: Cadence(time=at, days=d), st.frozensets(st.integers(0, 6), min_size=1)
            ),
            st.builds(lambda n: Cadence(time=at, every_days=n), st.integers(1, 4)),
        )
    )


def on_cadence(cadence: Cadence, start: date, day: date) -> bool:
    if cadence.every_days is not None:
        return (day - start).days % cadence.every_days == 0
    return cadence.days is None or day.weekday() in cadence.days


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.dates(date(2019, 1, 1), date(2032, 12, 31)), times)
def test_slot_instant_shows_the_wall_time_or_the_documented_gap_choice(
    zone_name: str, day: date, at: time
) -> None:
    zone = ZoneInfo(zone_name)
    assert_slot_instant_policy(slot_instant(day, at, zone), day, at, zone)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.datetimes(datetime(2019, 1, 1), datetime(2032, 12, 31), timezones=st.just(UTC)),
    quiet_hours(),
)
def test_after_quiet_hours_is_the_end_of_the_quiet_period(
    zone_name: str, instant: datetime, quiet: QuietHours
) -> None:
    zone = ZoneInfo(zone_name)
    moved = after_quiet_hours(instant, quiet, zone)
    assert moved >= instant
    assert not quiet.contains(moved.astimezone(zone).time())
    assert moved - instant <= timedelta(hours=17)
    probe = instant
    while probe < moved:  # every moment skipped really was quiet
        assert quiet.contains(probe.astimezone(zone).time())
        probe += timedelta(minutes=5)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_ticking_sends_every_slot_exactly_once_at_its_wall_time(data: st.DataObject) -> None:
    zone_name = data.draw(st.sampled_from(ZONES), label="zone")
    zone = ZoneInfo(zone_name)
    start = data.draw(start_dates(zone_name), label="start")
    cadence = data.draw(cadences(), label="cadence")
    quiet = data.draw(st.one_of(st.none(), quiet_hours()), label="quiet")
    end = start + timedelta(days=7)
    exp = Experiment("walk", "Walk", cadence, start, end, quiet, None, timedelta(hours=6))
    p = practice(client(exp, zone=zone, consent=start - timedelta(days=10)))

    step = timedelta(minutes=data.draw(st.integers(5, 15), label="step"))
    first_tick = slot_instant(start, time(0), zone) - timedelta(
        days=1, minutes=data.draw(st.integers(0, 14))
    )
    sent = run(p, first_tick, slot_instant(end, time(0), zone) + timedelta(days=3), step=step)

    expected = [
        start + timedelta(days=n)
        for n in range(8)
        if on_cadence(cadence, start, start + timedelta(days=n))
    ]
    assert [due.slot for _, due in sent] == [f"{d}T{cadence.time:%H:%M}" for d in expected]
    for (tick, due), day in zip(sent, expected, strict=True):
        assert_slot_instant_policy(due.due_at, day, cadence.time, zone)
        effective = after_quiet_hours(due.due_at, quiet, zone)
        assert effective <= tick < effective + step  # at the first tick it may go, not later
        assert due.send_after >= tick
        if quiet is not None:
            assert not quiet.contains(due.send_after.astimezone(zone).time())


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_next_slot_agrees_with_slots(data: st.DataObject) -> None:
    zone_name = data.draw(st.sampled_from(ZONES))
    zone = ZoneInfo(zone_name)
    start = data.draw(start_dates(zone_name))
    exp = experiment(start=start, quiet=None)
    exp = Experiment(
        exp.id, exp.title, data.draw(cadences()), start, None, None, None, exp.catch_up
    )
    after = slot_instant(start, time(0), zone) + timedelta(
        minutes=data.draw(st.integers(-3000, 20000))
    )
    found = next_slot(exp, zone, after)
    assert found is not None
    assert found == next(
        iter(slots(exp, zone, after + timedelta(microseconds=1), after + timedelta(days=9)))
    )
