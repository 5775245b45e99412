"""A generated practice file: T therapists, N clients, E daily 19:00 check-ins each.

Written as YAML and read back with `checkin.config.load`, as the real program does.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

from checkin.config import load
from checkin.practice import Practice

# Thursday 26 November 2026, 19:00 in New York (EST, UTC-5) is midnight UTC.
SLOT_UTC = "2026-11-27T00:00:30+00:00"

EXPERIMENTS = (
    ("breathing", "Notice your breathing for one minute before work"),
    ("walk", "Take a ten-minute walk after lunch"),
    ("journal", "Write three lines about your evening"),
)


def practice_dict(
    smtp_port: int,
    database_url: str,
    therapists: int = 1,
    clients: int = 1,
    experiments: int = 1,
    imap: dict | None = None,
    digest: bool = False,
) -> dict:
    data: dict = {
        "practice": {"name": "Harbour Counselling", "timezone": "Europe/London"},
        "mail": {
            "from": "Harbour check-ins <checkin@practice.test>",
            "smtp": {"host": "127.0.0.1", "port": smtp_port, "security": "none", "timeout": 30},
        },
        "database": database_url,
        "defaults": {"quiet_hours": {"start": "21:30", "end": "08:00"}, "nudge": {"after": "2d"}},
        "therapists": [
            {"id": f"t{t:03d}", "name": f"Therapist {t}", "email": f"t{t:03d}@practice.test",
             "digest": digest}
            for t in range(therapists)
        ],
        "clients": [
            {
                "id": f"c{c:05d}",
                "name": f"Client {c}",
                "email": f"c{c:05d}@client.test",
                "therapist": f"t{c % therapists:03d}",
                "timezone": "America/New_York",
                "consent": "2026-11-01",
                "experiments": [
                    {
                        "id": eid,
                        "title": title,
                        "cadence": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                    "time": "19:00"},
                        "start": "2026-11-01",
                        "end": "2027-01-31",
                    }
                    for eid, title in EXPERIMENTS[:experiments]
                ],
            }
            for c in range(clients)
        ],
    }  # fmt: skip
    if imap is not None:
        data["mail"]["imap"] = imap
    return data


def write_and_load(path: Path, data: dict) -> Practice:
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return load(path)


def due_now_dict(
    smtp_port: int,
    database_url: str,
    clients: int = 1,
    imap: dict | None = None,
    now: datetime | None = None,
    ago: timedelta = timedelta(minutes=2),
) -> dict:
    """`practice_dict` with every client's one check-in due `ago` before `now` (default: now).

    `checkin run` reads the system clock and has no `--at`, so the practice is moved to the
    clock instead: each client lives in a fixed-offset zone where it is midday now (never in
    the default quiet hours, never near midnight), with a daily check-in at the minute that
    was `ago` ago, well inside the default six-hour catch-up.
    """
    moment = (now or datetime.now(UTC)) - ago
    zone = _midday_zone(moment)
    local = moment.astimezone(ZoneInfo(zone))
    today = local.date()
    data = practice_dict(smtp_port, database_url, clients=clients, imap=imap)
    for client in data["clients"]:
        client["timezone"] = zone
        client["consent"] = (today - timedelta(days=30)).isoformat()
        for experiment in client["experiments"]:
            experiment["cadence"]["time"] = f"{local:%H:%M}"
            experiment["start"] = (today - timedelta(days=7)).isoformat()
            experiment["end"] = (today + timedelta(days=30)).isoformat()
    return data


def _midday_zone(moment: datetime) -> str:
    """An IANA fixed-offset zone whose clock reads 12:xx at `moment` (Etc/GMT signs are POSIX:
    Etc/GMT-3 is three hours *ahead* of UTC)."""
    offset = 12 - moment.astimezone(UTC).hour  # -11 .. 12 hours
    return "Etc/UTC" if offset == 0 else f"Etc/GMT{-offset:+d}"
