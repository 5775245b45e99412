"""When check-ins and nudges are due: pure functions of the practice, the store's facts and `now`.

Policy (clinical software: every rule here is deliberate):

* **Wall time in the client's zone.** A check-in configured for 19:00 happens at 19:00 on the
  client's clock, before and after a DST change. Each slot is named by its local date and
  configured time ("2026-03-29T19:00"); that key, with client, experiment and kind, is what the
  store keeps once-only, so a repeated hour can never produce two check-ins.
* **Odd wall times.** A time that never shows on the clock (spring-forward gap) is read with the
  offset in force before the gap, which lands as far past the gap as it was into it
  (02:30 in New York on the spring-forward day -> 03:30 EDT). A time that shows twice
  (fall-back) means its first occurrence. Both are what `zoneinfo` does with `fold=0`.
* **Which days.** Fixed weekdays (`days`) or every N days counted from the experiment's start
  (`every_days`); neither means every day. Only local dates from the experiment's start to its
  end (inclusive), and not before the client's consent date. No consent date, no email at all.
* **Quiet hours move, never drop.** An instant inside the experiment's quiet hours goes out at
  the end of that quiet period (the next time the client's clock shows `quiet.end`).
* **After downtime, one catch-up at most.** Of the slots that became due in the last
  `catch_up`, only the newest is sent; older missed ones are skipped for good. A newer slot
  that would go out no later than the catch-up supersedes it, so there is never a burst.
* **Pauses.** A pause blocks sending; slots that fell due during a dated pause stay skipped
  after it ends rather than arriving all at once when it lifts.
* **Nudges.** One gentle reminder per unanswered check-in, `nudge_after` later (moved out of
  quiet hours), unless the next check-in comes first: that check-in is the reminder.

Nothing here touches a clock, a database or the network; `now` is always an aware datetime and
every instant returned is aware UTC. Work per call is bounded by a few days around `now`, so a
scheduler can run `checkins_due` every minute for thousands of clients.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from checkin.practice import Cadence, Client, Experiment, Practice, QuietHours

KEY_FORMAT = "%Y-%m-%dT%H:%M"
CHECKIN = "checkin"
NUDGE = "nudge"

# Quiet hours span less than a day of wall time, plus up to an hour of DST shift: a slot can be
# due at most this long after its wall time, so windows reach this far back.
_QUIET_REACH = timedelta(days=1, hours=2)
# A slot's instant can show a neighbouring local date (a gap or repeated hour at midnight), so
# date scans start and stop this much wider than the instants asked for.
_DATE_MARGIN = timedelta(days=1)


@dataclass(frozen=True)
class ClientState:
    """What the store knows about one client."""

    stopped: bool = False
    paused: bool = False
    paused_until: datetime | None = None  # aware UTC; None while paused = until resumed
    bouncing: frozenset[str] = frozenset()  # lower-cased addresses that bounced


@dataclass(frozen=True)
class Due:
    client_id: str
    experiment_id: str
    slot: str  # local wall time "YYYY-MM-DDTHH:MM": the once-only key with client, experiment, kind
    kind: str  # CHECKIN or NUDGE
    due_at: datetime  # aware UTC instant of the slot's wall time (for a nudge: the nudge time)
    send_after: datetime  # aware UTC: not before this (quiet hours)
    to: str


@dataclass(frozen=True)
class OpenCheckin:
    """A sent check-in with no reply yet and no nudge yet."""

    client_id: str
    experiment_id: str
    slot: str
    sent_at: datetime


_NO_STATE = ClientState()


# --- instants ---------------------------------------------------------------------------------


def slot_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of wall time `at` on `day` in `zone`.

    fold=0 gives both documented choices: a gap time is read with the pre-gap offset (so it
    lands past the gap), an ambiguous time is its first occurrence.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None, fold=0), tzinfo=zone)
    return wall.astimezone(UTC)


def slot_key(day: date, at: time) -> str:
    return f"{day.isoformat()}T{at.hour:02d}:{at.minute:02d}"


def after_quiet_hours(instant_utc: datetime, quiet: QuietHours | None, zone: ZoneInfo) -> datetime:
    """`instant_utc` itself, or the end of the quiet period it falls in (never earlier)."""
    local = instant_utc.astimezone(zone)
    if quiet is None or not quiet.contains(local.time()):
        return instant_utc.astimezone(UTC)
    end_day = local.date()
    if quiet.start > quiet.end and local.time() >= quiet.start:
        end_day += timedelta(days=1)  # wrapped past midnight: the period ends tomorrow
    return _next_showing(end_day, quiet.end, zone, instant_utc)


def _next_showing(day: date, at: time, zone: ZoneInfo, after: datetime) -> datetime:
    """The first instant after `after` at which the clock shows `at` on `day`.

    Normally the fold=0 instant; but inside a repeated (fall-back) hour the first showing may
    already be past, and then the second one is the end of the quiet period.
    """
    wall = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)
    for fold in (0, 1):
        candidate = wall.replace(fold=fold).astimezone(UTC)
        if candidate > after:
            return candidate
    return after.astimezone(UTC)  # unreachable for real zones; never move backwards


def _effective(due_at: datetime, experiment: Experiment, zone: ZoneInfo) -> datetime:
    return after_quiet_hours(due_at, experiment.quiet_hours, zone)


# --- slots ------------------------------------------------------------------------------------


def _dates_from(cadence: Cadence, start: date, end: date | None, first: date) -> Iterator[date]:
    """Cadence dates >= `first` within [start, end], ascending; endless when `end` is None.

    `every_days` wins over `days` if both are set; neither means every day.
    """
    first = max(first, start)
    weekdays = cadence.days if cadence.every_days is None else None
    step = 1 if cadence.every_days is None else cadence.every_days
    if step < 1 or weekdays == frozenset():
        return  # nothing would ever match: don't loop forever looking
    day = start + timedelta(days=-(-(first - start).days // step) * step)  # first step >= first
    while end is None or day <= end:
        if weekdays is None or day.weekday() in weekdays:
            yield day
        day += timedelta(days=step)


def _slots_from(
    experiment: Experiment, zone: ZoneInfo, first: date
) -> Iterator[tuple[str, datetime]]:
    at = experiment.cadence.time
    for day in _dates_from(experiment.cadence, experiment.start, experiment.end, first):
        yield slot_key(day, at), slot_instant(day, at, zone)


def slots(
    experiment: Experiment, zone: ZoneInfo, since_utc: datetime, until_utc: datetime
) -> Iterator[tuple[str, datetime]]:
    """(slot key, due_at) for every slot with due_at in [since_utc, until_utc], in order."""
    first = (since_utc.astimezone(zone) - _DATE_MARGIN).date()
    last = (until_utc.astimezone(zone) + _DATE_MARGIN).date()
    end = last if experiment.end is None else min(experiment.end, last)
    at = experiment.cadence.time
    found = []
    for day in _dates_from(experiment.cadence, experiment.start, end, first):
        due_at = slot_instant(day, at, zone)
        if since_utc <= due_at <= until_utc:
            found.append((due_at, slot_key(day, at)))
    return ((key, due_at) for due_at, key in sorted(found))


def next_slot(
    experiment: Experiment, zone: ZoneInfo, after_utc: datetime
) -> tuple[str, datetime] | None:
    """The first slot strictly after `after_utc`, or None when the experiment has ended."""
    first = (after_utc.astimezone(zone) - _DATE_MARGIN).date()
    # Instants never decrease from one slot date to the next, so the first later one is next.
    return next(((k, d) for k, d in _slots_from(experiment, zone, first) if d > after_utc), None)


def _instant_of_key(key: str, zone: ZoneInfo) -> datetime:
    wall = datetime.strptime(key, KEY_FORMAT)
    return slot_instant(wall.date(), wall.time(), zone)


# --- who may be written to --------------------------------------------------------------------


def recipient(client: Client, state: ClientState) -> str | None:
    """The first of the client's addresses that has not bounced."""
    bouncing = {address.lower() for address in state.bouncing}
    return next((e for e in client.emails if e.lower() not in bouncing), None)


def _paused_at(state: ClientState, now: datetime) -> bool:
    return state.paused and (state.paused_until is None or now < state.paused_until)


def can_send(client: Client, state: ClientState, now: datetime) -> bool:
    """Consent given, not stopped, not paused at `now`, and an address that does not bounce.

    The consent *date* is a rule about slots (none dated before it), applied per slot, so a
    client whose consent starts next week is waiting, not blocked.
    """
    _require_aware(now)
    return (
        client.consent is not None
        and not state.stopped
        and not _paused_at(state, now)
        and recipient(client, state) is not None
    )


def _slot_allowed(client: Client, state: ClientState, key: str, due_at: datetime) -> bool:
    """Slot is on/after the consent date and did not fall due during a dated pause."""
    if client.consent is None or key[:10] < client.consent.isoformat():
        return False
    return not (state.paused and state.paused_until and due_at < state.paused_until)


def _require_aware(now: datetime) -> None:
    # A naive `now` would be read as the server's local time and shift every schedule silently.
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError(f"now must be an aware datetime, got {now!r}")


# --- check-ins --------------------------------------------------------------------------------


def checkins_due(
    practice: Practice,
    now: datetime,
    latest: Mapping[tuple[str, str], str],
    states: Mapping[str, ClientState],
) -> list[Due]:
    """The check-ins to create now: per client and experiment at most one, the newest missed.

    `latest[(client_id, experiment_id)]` is the newest slot key already created.
    """
    _require_aware(now)
    due: list[Due] = []
    for client in practice.clients:
        state = states.get(client.id, _NO_STATE)
        to = recipient(client, state)
        if to is None or not can_send(client, state, now):
            continue
        for experiment in client.experiments:
            found = _checkin_for(
                client, state, experiment, now, latest.get((client.id, experiment.id))
            )
            if found is not None:
                key, due_at, send_after = found
                due.append(Due(client.id, experiment.id, key, CHECKIN, due_at, send_after, to))
    return due


def _checkin_for(
    client: Client, state: ClientState, experiment: Experiment, now: datetime, done: str | None
) -> tuple[str, datetime, datetime] | None:
    """(key, due_at, send_after) of the slot to create now, if any."""
    zone = client.timezone
    slot = _newest_in_window(client, state, experiment, now)
    if slot is None or (done is not None and done >= slot[0]):
        return None
    key, due_at = slot
    send_after = _effective(max(due_at, now), experiment, zone)
    if _superseded(client, state, experiment, due_at, send_after):
        return None
    return key, due_at, send_after


def _newest_in_window(
    client: Client, state: ClientState, experiment: Experiment, now: datetime
) -> tuple[str, datetime] | None:
    """The newest allowed slot whose effective time lies in [now - catch_up, now]."""
    zone = client.timezone
    oldest = now - experiment.catch_up
    candidates = list(slots(experiment, zone, oldest - _QUIET_REACH, now))
    for key, due_at in reversed(candidates):
        allowed = _slot_allowed(client, state, key, due_at)
        if allowed and oldest <= _effective(due_at, experiment, zone) <= now:
            return key, due_at
    return None


def _superseded(
    client: Client, state: ClientState, experiment: Experiment, due_at: datetime, send_at: datetime
) -> bool:
    """True when the following slot would go out no later than this one: send that instead.

    Only a catch-up window longer than the gap between slots can get here; without this rule
    it would put two check-ins in the client's inbox together.
    """
    following = next_slot(experiment, client.timezone, due_at)
    if following is None or not _slot_allowed(client, state, *following):
        return False
    return _effective(following[1], experiment, client.timezone) <= send_at


# --- nudges -----------------------------------------------------------------------------------


def nudges_due(
    practice: Practice,
    now: datetime,
    open_checkins: Iterable[OpenCheckin],
    states: Mapping[str, ClientState],
) -> list[Due]:
    """One reminder per unanswered check-in, `nudge_after` after sending, out of quiet hours."""
    _require_aware(now)
    due: list[Due] = []
    for checkin in open_checkins:
        client = practice.client(checkin.client_id)
        experiment = _experiment(client, checkin.experiment_id)
        if client is None or experiment is None or experiment.nudge_after is None:
            continue  # gone from the practice, or this experiment never nudges
        state = states.get(client.id, _NO_STATE)
        nudge = _nudge_for(client, state, experiment, checkin, now)
        if nudge is not None:
            due.append(nudge)
    return due


def _experiment(client: Client | None, experiment_id: str) -> Experiment | None:
    if client is None:
        return None
    return next((e for e in client.experiments if e.id == experiment_id), None)


def _nudge_for(
    client: Client, state: ClientState, experiment: Experiment, checkin: OpenCheckin, now: datetime
) -> Due | None:
    assert experiment.nudge_after is not None
    zone = client.timezone
    at = _effective(checkin.sent_at + experiment.nudge_after, experiment, zone)
    if not (at <= now and now - at <= experiment.catch_up):
        return None
    to = recipient(client, state)
    if to is None or not can_send(client, state, now) or _during_pause(state, at):
        return None
    if _next_checkin_first(experiment, zone, checkin.slot, at):
        return None
    send_after = _effective(max(at, now), experiment, zone)
    return Due(client.id, experiment.id, checkin.slot, NUDGE, at, send_after, to)


def _during_pause(state: ClientState, at: datetime) -> bool:
    return bool(state.paused and state.paused_until and at < state.paused_until)


def _next_checkin_first(
    experiment: Experiment, zone: ZoneInfo, slot: str, nudge_at: datetime
) -> bool:
    """The check-in after `slot` goes out no later than the nudge would: it is the reminder."""
    following = next_slot(experiment, zone, _instant_of_key(slot, zone))
    return following is not None and _effective(following[1], experiment, zone) <= nudge_at


# --- status -----------------------------------------------------------------------------------


def upcoming(
    practice: Practice, now: datetime, states: Mapping[str, ClientState], per_experiment: int = 1
) -> list[Due]:
    """The next check-ins not yet due, per experiment, for a status screen; by send time.

    Same rules as `checkins_due`: nothing for a client without consent, stopped, paused with no
    end, or with every address bouncing; a dated pause or future consent pushes slots later.
    """
    _require_aware(now)
    due: list[Due] = []
    for client in practice.clients:
        state = states.get(client.id, _NO_STATE)
        to = recipient(client, state)
        if to is None or client.consent is None or state.stopped:
            continue
        if state.paused and state.paused_until is None:
            continue
        for experiment in client.experiments:
            for key, due_at, send_after in _future(client, state, experiment, now, per_experiment):
                due.append(Due(client.id, experiment.id, key, CHECKIN, due_at, send_after, to))
    due.sort(key=lambda d: (d.send_after, d.client_id, d.experiment_id))
    return due


def _future(
    client: Client, state: ClientState, experiment: Experiment, now: datetime, count: int
) -> list[tuple[str, datetime, datetime]]:
    """The first `count` allowed slots whose effective time is after `now`."""
    zone = client.timezone
    assert client.consent is not None
    first = max((now.astimezone(zone) - _QUIET_REACH - _DATE_MARGIN).date(), client.consent)
    if state.paused and state.paused_until is not None:
        first = max(first, (state.paused_until.astimezone(zone) - _DATE_MARGIN).date())
    found: list[tuple[str, datetime, datetime]] = []
    for key, due_at in _slots_from(experiment, zone, first):
        if len(found) >= count:
            break
        effective = _effective(due_at, experiment, zone)
        if effective > now and _slot_allowed(client, state, key, due_at):
            found.append((key, due_at, effective))
    return found
