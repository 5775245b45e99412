"""The practice file: what a correct one becomes, and how each mistake is reported."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from checkin import config
from checkin.errors import ConfigError, Problem
from checkin.practice import QuietHours

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "checkin.yaml"

# Flow-style server blocks keep every server setting on one line, so the line a problem
# should point at is easy to find with line_of().
GOOD = """\
practice:
  name: Harbour Counselling
  timezone: Europe/London
mail:
  from: "Harbour check-ins <checkin@harbour.example>"
  smtp: {host: smtp.harbour.example, security: starttls, username: checkin@harbour.example, password_env: CHECKIN_SMTP_PASSWORD}
  imap: {host: imap.harbour.example, username: checkin@harbour.example, password_env: CHECKIN_IMAP_PASSWORD}
database: sqlite:///data/checkin.db
defaults:
  quiet_hours: {start: "21:30", end: "08:00"}
  nudge: {after: 2d}
therapists:
  - id: robin
    name: Robin
    email: robin@harbour.example
  - id: sam
    name: Sam
    email: sam@harbour.example
    timezone: Europe/Dublin
    digest: off
clients:
  - id: alex
    name: Alex
    email: [alex@example.net, alex@work.example]
    therapist: robin
    timezone: America/New_York
    consent: 2026-11-01
    experiments:
      - id: breathing
        title: Notice your breathing for one minute before work
        cadence: {days: [mon, Thursday], time: 19:00}
        start: 2026-11-20
        end: 2027-01-31
      - id: walk
        title: A short walk
        cadence: {every: 1w, time: "08:30"}
        start: 2026-12-01
        quiet_hours: off
        nudge: off
  - id: sam
    email: sam@example.org
    therapist: sam
    quiet_hours: {start: "23:00", end: "06:00"}
    nudge: {after: 1d12h}
    experiments:
      - id: journal
        title: One line in the journal
        cadence: {days: daily, time: "22:15"}
        start: "2026-11-05"
"""


@pytest.fixture(autouse=True)
def _no_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHECKIN_DATABASE_URL", raising=False)
    monkeypatch.delenv("CHECKIN_CONFIG", raising=False)


def write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data").mkdir(exist_ok=True)
    path = tmp_path / "checkin.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[Problem]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    assert all(p.file == str(path) for p in caught.value.problems)
    return caught.value.problems


def line_of(text: str, needle: str, occurrence: int = 0) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return lines[occurrence]


def plain(value: object) -> object:
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def edit(old: str, new: str) -> str:
    assert GOOD.count(old) == 1, old
    return GOOD.replace(old, new)


# --- a correct file ----------------------------------------------------------------------


def test_the_shipped_example_loads() -> None:
    practice = config.load(EXAMPLE)
    assert len(practice.therapists) == 2
    assert len(practice.clients) == 3
    cadences = [e.cadence for c in practice.clients for e in c.experiments]
    assert any(c.days for c in cadences) and any(c.every_days for c in cadences)
    assert any(len(c.emails) == 2 for c in practice.clients)
    assert any(c.consent is None for c in practice.clients)
    assert practice.database == f"sqlite:///{EXAMPLE.parent / 'checkin.db'}"


def test_practice_zones_servers_and_database(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    practice = config.load(path)
    assert practice.name == "Harbour Counselling"
    assert practice.timezone == ZoneInfo("Europe/London")
    assert practice.mail.from_addr == "Harbour check-ins <checkin@harbour.example>"
    smtp, imap = practice.mail.smtp, practice.mail.imap
    assert (smtp.host, smtp.port, smtp.security, smtp.timeout) == (
        "smtp.harbour.example", 587, "starttls", 30.0,
    )  # fmt: skip
    assert smtp.password_env == "CHECKIN_SMTP_PASSWORD"
    assert imap is not None
    assert (imap.port, imap.security, imap.folder, imap.done_folder, imap.poll_interval) == (
        993, "tls", "INBOX", "Checkin/Done", 60.0,
    )  # fmt: skip
    # Relative to the file, not to wherever the command was run from.
    assert practice.database == f"sqlite:///{tmp_path / 'data' / 'checkin.db'}"
    assert practice.catch_up == timedelta(hours=6)
    assert practice.source == path


def test_therapists_default_zone_and_digest(tmp_path: Path) -> None:
    practice = config.load(write(tmp_path, GOOD))
    robin, sam = practice.therapists
    assert robin.timezone == ZoneInfo("Europe/London")
    assert (robin.digest.weekday, robin.digest.time) == (6, time(18, 0))  # type: ignore[union-attr]
    assert sam.timezone == ZoneInfo("Europe/Dublin")
    assert sam.digest is None


def test_clients_and_experiments_get_resolved_settings(tmp_path: Path) -> None:
    practice = config.load(write(tmp_path, GOOD))
    alex = practice.client("alex")
    sam = practice.client("sam")  # a client may share an id with a therapist
    assert alex is not None and sam is not None
    assert alex.emails == ("alex@example.net", "alex@work.example")
    assert alex.timezone == ZoneInfo("America/New_York")
    assert alex.consent == date(2026, 11, 1)
    assert sam.timezone == ZoneInfo("Europe/London")
    assert sam.consent is None  # allowed: it just means no mail

    breathing, walk = alex.experiments
    assert breathing.cadence.days == frozenset({0, 3})
    assert breathing.cadence.time == time(19, 0)  # written unquoted: not the number 1140
    assert (breathing.start, breathing.end) == (date(2026, 11, 20), date(2027, 1, 31))
    assert breathing.quiet_hours == QuietHours(time(21, 30), time(8, 0))  # from defaults
    assert breathing.nudge_after == timedelta(days=2)
    assert breathing.catch_up == timedelta(hours=6)
    assert walk.cadence.every_days == 7 and walk.cadence.days is None
    assert walk.quiet_hours is None and walk.nudge_after is None  # experiment's own "off"

    (journal,) = sam.experiments
    assert journal.cadence.days == frozenset(range(7))
    assert journal.start == date(2026, 11, 5)
    assert journal.quiet_hours == QuietHours(time(23, 0), time(6, 0))  # client beats defaults
    assert journal.nudge_after == timedelta(days=1, hours=12)


def test_ports_follow_security(tmp_path: Path) -> None:
    text = edit("security: starttls", "security: tls").replace(
        "imap: {host", "imap: {security: starttls, host"
    )
    practice = config.load(write(tmp_path, text))
    assert practice.mail.smtp.port == 465
    assert practice.mail.imap is not None and practice.mail.imap.port == 143


def test_a_file_written_by_yaml_safe_dump_loads(tmp_path: Path) -> None:
    """Scripts generate the file too; safe_dump quotes times and dates, which must work."""
    data = plain(yaml.load(GOOD, Loader=config._Loader))  # keeps 19:00 a string
    practice = config.load(write(tmp_path, yaml.safe_dump(data, sort_keys=False)))
    assert practice.client("alex").experiments[0].cadence.time == time(19, 0)  # type: ignore[union-attr]


def test_oauth2_provider_fills_the_token_endpoint(tmp_path: Path) -> None:
    text = edit(
        "password_env: CHECKIN_SMTP_PASSWORD}",
        "oauth2: {provider: microsoft, tenant: harbour.example, client_id: abc, "
        "refresh_token_env: CHECKIN_REFRESH_TOKEN}}",
    )
    oauth = config.load(write(tmp_path, text)).mail.smtp.oauth2
    assert oauth is not None
    assert oauth.token_url == "https://login.microsoftonline.com/harbour.example/oauth2/v2.0/token"
    assert oauth.scope is not None and "SMTP.Send" in oauth.scope
    assert (oauth.client_id, oauth.refresh_token_env) == ("abc", "CHECKIN_REFRESH_TOKEN")


def test_password_file_is_found_next_to_the_config(tmp_path: Path) -> None:
    (tmp_path / "smtp-password").write_text("s3cret\n", encoding="utf-8")
    text = edit("password_env: CHECKIN_SMTP_PASSWORD", "password_file: smtp-password")
    smtp = config.load(write(tmp_path, text)).mail.smtp
    assert smtp.password_file == tmp_path / "smtp-password"
    assert smtp.password() == "s3cret"


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.5.0.1", "::1"])
def test_security_none_is_allowed_on_this_machine(tmp_path: Path, host: str) -> None:
    text = edit("host: smtp.harbour.example, security: starttls", f'host: "{host}", security: none')
    smtp = config.load(write(tmp_path, text)).mail.smtp
    assert (smtp.security, smtp.port) == ("none", 25)


def test_database_url_from_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECKIN_DATABASE_URL", "postgresql+psycopg://db.harbour.example/checkin")
    practice = config.load(write(tmp_path, GOOD))
    assert practice.database == "postgresql+psycopg://db.harbour.example/checkin"


def test_resolve_path(monkeypatch: pytest.MonkeyPatch) -> None:
    assert config.resolve_path(None) == Path("checkin.yaml")
    monkeypatch.setenv("CHECKIN_CONFIG", "/etc/checkin/practice.yaml")
    assert config.resolve_path(None) == Path("/etc/checkin/practice.yaml")
    assert config.resolve_path("mine.yaml") == Path("mine.yaml")


# --- mistakes: each at its FILE:LINE, each with the fix ----------------------------------

MISTAKES = [
    pytest.param(
        "    email: sam@example.org", "    emial: sam@example.org", "emial",
        ["unknown key 'emial' in client 'sam'; did you mean 'email'?"],
        id="unknown-key",
    ),
    pytest.param(
        "timezone: America/New_York", "timezone: America/New_Yrok", "New_Yrok",
        ["clients[0].timezone: unknown time zone 'America/New_Yrok'", "'America/New_York'"],
        id="time-zone",
    ),
    pytest.param(
        "    therapist: robin", "    therapist: robyn", "robyn",
        ["no therapist has id 'robyn'", "did you mean 'robin'?", "robin, sam"],
        id="unknown-therapist",
    ),
    pytest.param(
        "time: 19:00}", "time: 22:00}", "22:00",
        ["check-in at 22:00 falls inside quiet hours 21:30-08:00",
         "choose a time outside them or change quiet_hours"],
        id="inside-quiet-hours",
    ),
    pytest.param(
        "end: 2027-01-31", "end: 2026-11-01", "end: 2026-11-01",
        ["clients[0].experiments[0].end: 2026-11-01 is before start 2026-11-20",
         "end on or after the start date"],
        id="end-before-start",
    ),
    pytest.param(
        "security: starttls", "security: none", "security: none",
        ["mail.smtp.security", "unencrypted", "use starttls or tls"],
        id="security-none-remote",
    ),
    pytest.param(
        "password_env: CHECKIN_SMTP_PASSWORD", "password: hunter2", "hunter2",
        ["mail.smtp.password", "password_env: CHECKIN_SMTP_PASSWORD", "password_file"],
        id="literal-password",
    ),
    pytest.param(
        "after: 2d}", "after: 2}", "after: 2}",
        ["defaults.nudge.after", "no unit", "2d or 48h"],
        id="bare-number-duration",
    ),
    pytest.param(
        "every: 1w", "every: 36h", "36h",
        ["cadence.every: '36h' is not a whole number of days", "3d or 1w"],
        id="every-in-hours",
    ),
    pytest.param(
        "Thursday", "Thirsday", "Thirsday",
        ["cadence.days[1]: 'Thirsday' is not a day", "mon, tue"],
        id="bad-day",
    ),
    pytest.param(
        "email: sam@example.org", "email: ALEX@example.net", "ALEX@",
        ["also belongs to client 'alex'", "give each address to one client only"],
        id="address-on-two-clients",
    ),
    pytest.param(
        '"Harbour check-ins <checkin@harbour.example>"', '"Harbour check-ins"', "from:",
        ["mail.from", "checkin@harbour.example>"],
        id="sender-without-address",
    ),
    pytest.param(
        "        title: A short walk\n", "", "id: walk",
        ["experiment 'walk' of client 'alex' is missing 'title'", "add it"],
        id="missing-key",
    ),
    pytest.param(
        'start: "2026-11-05"', "start: 2026-02-30", "2026-02-30",
        ["'2026-02-30' is not a date", "YYYY-MM-DD"],
        id="impossible-date",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "needle", "fragments"), MISTAKES)
def test_each_mistake_is_reported_where_it_is(
    tmp_path: Path, old: str, new: str, needle: str, fragments: list[str]
) -> None:
    text = edit(old, new)
    (problem,) = problems(tmp_path, text)
    assert problem.line == line_of(text, needle)
    for fragment in fragments:
        assert fragment in problem.message
    assert str(problem).startswith(f"{tmp_path / 'checkin.yaml'}:{problem.line}: ")


def test_literal_password_is_not_repeated_back(tmp_path: Path) -> None:
    text = edit("password_env: CHECKIN_SMTP_PASSWORD", "password: hunter2")
    assert "hunter2" not in str(problems(tmp_path, text)[0])


def test_duplicate_ids_point_at_the_second_and_name_the_first(tmp_path: Path) -> None:
    text = edit("  - id: sam\n    email", "  - id: alex\n    email")
    (problem,) = problems(tmp_path, text)
    assert problem.line == line_of(text, "- id: alex", occurrence=1)
    assert f"already has id 'alex' (line {line_of(text, '- id: alex')})" in problem.message


def test_duplicate_experiment_ids_within_a_client(tmp_path: Path) -> None:
    text = edit("id: walk", "id: breathing")
    (problem,) = problems(tmp_path, text)
    assert problem.line == line_of(text, "id: breathing", occurrence=1)
    assert "another experiment already has id 'breathing'" in problem.message


def test_a_key_given_twice_is_reported(tmp_path: Path) -> None:
    text = edit("    name: Alex\n", "    name: Alex\n    name: Al\n")
    (problem,) = problems(tmp_path, text)
    assert problem.line == line_of(text, "name: Al\n".strip(), occurrence=1)
    assert "'name' is given twice" in problem.message


def test_several_mistakes_are_all_reported_in_line_order(tmp_path: Path) -> None:
    text = (
        GOOD.replace("Europe/London", "Europe/Londn", 1)
        .replace("security: starttls", "security: none")
        .replace("therapist: robin", "therapist: robyn")
        .replace("end: 2027-01-31", "end: 2026-01-31")
        .replace("    email: sam@example.org", "    emial: sam@example.org")
    )
    found = problems(tmp_path, text)
    assert [p.line for p in found] == [
        line_of(text, "Londn"),
        line_of(text, "security: none"),
        line_of(text, "robyn"),
        line_of(text, "end: 2026-01-31"),
        line_of(text, "emial"),
    ]


def test_yaml_syntax_error_points_at_its_line(tmp_path: Path) -> None:
    text = edit("  name: Harbour Counselling\n", "  name: Harbour Counselling\n   oops: here\n")
    (problem,) = problems(tmp_path, text)
    assert problem.line == line_of(text, "oops")
    assert "not valid YAML" in problem.message and "indentation" in problem.message


def test_tabs_are_explained(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "practice:\n\tname: Harbour\n")
    assert problem.line == 2 and "indent with spaces" in problem.message


def test_missing_file_says_how_to_start(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.yaml"
    with pytest.raises(ConfigError) as caught:
        config.load(path)
    (problem,) = caught.value.problems
    assert problem.file == str(path) and problem.line is None
    assert "examples/checkin.yaml" in problem.message and "--config" in problem.message


def test_an_empty_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    (problem,) = problems(tmp_path, "# nothing yet\n")
    assert "empty" in problem.message


def test_libyaml_and_pure_python_readers_give_the_same_practice_and_lines() -> None:
    """Valid files go through libyaml for speed; what they yield, lines included, must not
    depend on which reader ran."""
    import yaml

    from checkin import config

    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML built without libyaml: only the pure-Python reader exists")

    def read(loader_class: type, text: str) -> tuple[object, list]:
        loader = loader_class(text)
        try:
            return loader.get_single_data(), loader.duplicate_keys
        finally:
            loader.dispose()

    def lines(value: object) -> object:
        if isinstance(value, dict):
            return (value.line, sorted(value.key_lines.items()), sorted(value.value_lines.items()),
                    {k: lines(v) for k, v in value.items()})  # fmt: skip
        if isinstance(value, list):
            return (value.line, value.item_lines, [lines(v) for v in value])
        return value

    root = Path(__file__).resolve().parent.parent / "examples"
    texts = [p.read_text(encoding="utf-8") for p in sorted(root.glob("*.yaml"))]
    texts.append("a: 19:00\nb: 1:30:00\nc: 2026-02-30\nd: 0x1F\ne: .5\na: again\n")
    for text in texts:
        fast, slow = read(config._FastLoader, text), read(config._Loader, text)
        assert fast == slow
        assert lines(fast[0]) == lines(slow[0])
