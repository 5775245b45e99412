"""Read the practice file (YAML) into a `Practice`, reporting every mistake at once.

`load` checks everything before anything runs: a practice that sends mail to the wrong
person at the wrong hour is worse than one that refuses to start. Each problem names the
FILE:LINE of the offending key or value and says how to fix it, and all of them are
reported together so the file can be corrected in one pass.

Environment:
    CHECKIN_CONFIG        the practice file when --config is not given (else ./checkin.yaml)
    CHECKIN_DATABASE_URL  overrides `database:`, e.g. to keep a PostgreSQL password out of
                          the file; a relative sqlite path in it is taken from the working
                          directory

Relative paths in the file (sqlite database, templates, password_file) are taken from the
folder the file is in, so the practice works the same from any working directory.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import yaml

from checkin.errors import ConfigError, Problem
from checkin.practice import (
    Cadence,
    Client,
    DigestTime,
    Experiment,
    ImapServer,
    Mail,
    OAuth2,
    Practice,
    QuietHours,
    Safety,
    Server,
    Therapist,
)

__all__ = ["load", "resolve_path"]

T = TypeVar("T")

DEFAULT_PATH = Path("checkin.yaml")
_UTC = ZoneInfo("UTC")
_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_ID = re.compile(r"[a-z0-9][a-z0-9_-]*")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})")
_DURATION = re.compile(r"(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?")
_DEFAULT_DIGEST = DigestTime(6, time(18, 0))
_DEFAULT_CATCH_UP = timedelta(hours=6)
_PORTS = {
    "smtp": {"starttls": 587, "tls": 465, "none": 25},
    "imap": {"tls": 993, "starttls": 143, "none": 143},
}
_PROVIDERS = {
    "microsoft": (
        "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        "https://outlook.office.com/IMAP.AccessAsUser.All "
        "https://outlook.office.com/SMTP.Send offline_access",
    ),
    "google": ("https://oauth2.googleapis.com/token", "https://mail.google.com/"),
}

_TOP_KEYS = (
    "practice", "mail", "database", "templates", "defaults", "safety", "therapists", "clients",
)  # fmt: skip
_SERVER_KEYS = (
    "host", "port", "security", "username", "password_env", "password_file", "oauth2", "timeout",
)  # fmt: skip
_IMAP_KEYS = ("folder", "done_folder", "poll_interval", "max_size")
_OAUTH2_KEYS = (
    "token_command", "provider", "tenant", "token_url", "client_id", "client_secret_env",
    "refresh_token_env", "scope",
)  # fmt: skip
_THERAPIST_KEYS = ("id", "name", "email", "timezone", "digest")
_CLIENT_KEYS = (
    "id", "name", "email", "therapist", "timezone", "consent", "experiments", "quiet_hours",
    "nudge",
)  # fmt: skip
_EXPERIMENT_KEYS = ("id", "title", "cadence", "start", "end", "quiet_hours", "nudge")

_QUIET_EXAMPLE = 'quiet_hours: {start: "21:30", end: "08:00"}, or quiet_hours: off for none'
_NUDGE_EXAMPLE = "nudge: {after: 2d} for one reminder, or nudge: off for none"
_DIGEST_EXAMPLE = 'digest: {day: sunday, time: "18:00"}, or digest: off for none'
_CADENCE_EXAMPLE = 'cadence: {days: [mon, thu], time: "19:00"} or {every: 3d, time: "19:00"}'


def resolve_path(explicit: str | None) -> Path:
    """The practice file: --config if given, else $CHECKIN_CONFIG, else ./checkin.yaml."""
    if explicit:
        return Path(explicit)
    from_env = os.environ.get("CHECKIN_CONFIG")
    return Path(from_env) if from_env else DEFAULT_PATH


def load(path: str | Path) -> Practice:
    """Validate the practice file and build the `Practice`, or raise `ConfigError` listing
    every problem found (file as given, line, and the fix)."""
    file = str(path)
    source = Path(os.path.abspath(path))
    data, duplicate_keys = _parse(file, Path(path))
    reader = _Reader(file, source.parent)
    for line, key, first in duplicate_keys:
        reader.report(line, f"'{key}' is given twice here (first on line {first}); keep one")
    practice = reader.practice(data, source)
    if reader.problems or practice is None:
        raise ConfigError(sorted(reader.problems, key=lambda p: p.line or 0))
    return practice


# --- YAML with line numbers -------------------------------------------------------------


class _LineDict(dict):
    """A mapping that remembers the line of each key and value (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[Any, int] = {}
        self.value_lines: dict[Any, int] = {}


class _LineList(list):
    """A sequence that remembers the line of each item (1-based)."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []


class _Loader(yaml.SafeLoader):
    """SafeLoader that records lines, reports duplicate keys, and keeps `time: 19:00` a
    string: YAML 1.1 would read it as the base-60 number 1140."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, str, int]] = []


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[_LineDict]:
    data = _LineDict(_line(node))
    yield data
    loader.flatten_mapping(node)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping", node.start_mark, "found a key that is not a plain value",
                key_node.start_mark,
            ) from None  # fmt: skip
        if key in data:
            loader.duplicate_keys.append((_line(key_node), str(key), data.key_lines[key]))
        data[key] = loader.construct_object(value_node, deep=True)
        data.key_lines[key] = _line(key_node)
        data.value_lines[key] = _line(value_node)


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> Iterator[_LineList]:
    data = _LineList(_line(node))
    yield data
    for item in node.value:
        data.append(loader.construct_object(item, deep=True))
        data.item_lines.append(_line(item))


def _construct_timestamp(loader: _Loader, node: yaml.ScalarNode) -> object:
    # An impossible date such as 2026-02-30 would otherwise abort the whole parse;
    # keep it as text so it is reported with its line like any other bad date.
    try:
        return yaml.SafeLoader.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


_INT, _FLOAT = "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in (_INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
# PyYAML's own int and float patterns, minus the base-60 forms (19:00, 1:30:00.5).
_Loader.add_implicit_resolver(
    _INT,
    re.compile(
        r"""^(?:[-+]?0b[0-1_]+
            |[-+]?0[0-7_]+
            |[-+]?(?:0|[1-9][0-9_]*)
            |[-+]?0x[0-9a-fA-F_]+)$""",
        re.X,
    ),
    list("-+0123456789"),
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
            |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
            |[-+]?\.(?:inf|Inf|INF)
            |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_seq)
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same reader on libyaml's parser where PyYAML has it (its wheels do): a file of
    10,000 clients parses in seconds instead of tens. Its error messages are libyaml's, so a
    file it rejects is read again by `_Loader` for the explanations users are shown."""

    yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
    yaml_constructors = _Loader.yaml_constructors

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicate_keys: list[tuple[int, str, int]] = []


def _parse(file: str, path: Path) -> tuple[Any, list[tuple[int, str, int]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _fatal(
            file, None, "no such file; create it (start from examples/checkin.yaml) or give "
            "its path with --config or $CHECKIN_CONFIG",
        ) from None  # fmt: skip
    except IsADirectoryError:
        raise _fatal(file, None, "this is a folder; give the path of the YAML file") from None
    except UnicodeDecodeError:
        raise _fatal(file, None, "not UTF-8 text; save the file as UTF-8") from None
    except OSError as exc:
        raise _fatal(
            file, None, f"cannot read it ({exc.strerror}); check its permissions"
        ) from None
    fast = _FastLoader(text)
    try:
        return fast.get_single_data(), fast.duplicate_keys
    except yaml.YAMLError:
        pass  # explained below, by the reader whose messages the explanations are written for
    finally:
        fast.dispose()
    loader = _Loader(text)
    try:
        return loader.get_single_data(), loader.duplicate_keys
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: point where it opened
        raise _fatal(file, mark.line + 1 if mark else None, _yaml_message(exc)) from None
    except yaml.YAMLError as exc:
        raise _fatal(file, None, f"not valid YAML: {exc}") from None
    finally:
        loader.dispose()


def _yaml_message(exc: yaml.MarkedYAMLError) -> str:
    problem = exc.problem or "unreadable"
    if "'\\t'" in problem:
        return "not valid YAML: a tab character; indent with spaces only"
    context = f" {exc.context}" if exc.context else ""
    return (
        f"not valid YAML: {problem}{context}; check the indentation, colons and quotes on "
        "this line and the one before (quote values that contain ': ' or start with { [ * & ! |)"
    )


def _fatal(file: str, line: int | None, message: str) -> ConfigError:
    return ConfigError([Problem(file, line, message)])


# --- values: each parser returns the value or raises _Invalid with the fix ---------------


class _Invalid(Exception):
    """A value that cannot be used; the message says what would work."""


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false (YAML reads yes, no, on and off that way)"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, datetime):
        return "date and time"
    if isinstance(value, date):
        return "date"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    return "text" if isinstance(value, str) else type(value).__name__


def _show(value: object) -> str:
    return f"'{value}'" if isinstance(value, str) else str(value)


def _text(value: object) -> str:
    if not isinstance(value, str):
        quote = "" if isinstance(value, dict | list) else "; put it in quotes"
        raise _Invalid(f"expected text, found a {_kind(value)}{quote}")
    if not value.strip():
        raise _Invalid("is empty; fill it in or remove the line")
    return value.strip()


def _ident(value: object) -> str:
    text = _text(value)
    if _ID.fullmatch(text):
        return text
    suggestion = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_") or "alex"
    raise _Invalid(
        f"'{text}' is not a valid id; use lowercase letters, digits, '-' and '_', starting "
        f"with a letter or digit, e.g. '{suggestion}'"
    )


def _env_name(value: object) -> str:
    # Never echo the value: someone may have pasted the secret itself here.
    if isinstance(value, str) and _ENV_NAME.fullmatch(value.strip()):
        return value.strip()
    raise _Invalid(
        "expected the NAME of an environment variable (letters, digits and _), e.g. "
        "CHECKIN_SMTP_PASSWORD, not the secret itself"
    )


def _address(value: object) -> str:
    """A bare email address, from 'alex@example.net' or 'Alex <alex@example.net>'."""
    raw = _text(value)
    pairs = getaddresses([raw])
    addr = pairs[0][1] if len(pairs) == 1 else ""
    local, _, domain = addr.rpartition("@")
    if local and not re.search(r"[\s<>@,]", local + domain) and _looks_like_domain(domain):
        return addr
    raise _Invalid(f"'{raw}' is not an email address; write one address like alex@example.net")


def _looks_like_domain(domain: str) -> bool:
    return domain == "localhost" or ("." in domain and not domain.startswith("."))


def _sender(value: object) -> str:
    """mail.from is kept as written, display name and all, once it parses."""
    raw = _text(value)
    _, addr = parseaddr(raw)
    try:
        _address(addr)
    except _Invalid:
        raise _Invalid(
            f"'{raw}' is not a sender address; write e.g. "
            '"Harbour check-ins <checkin@harbour.example>"'
        ) from None
    return raw


def _host(value: object) -> str:
    host = _text(value)
    if "://" in host or "/" in host or " " in host:
        raise _Invalid(
            f"'{host}' is not a host name; write just the name, e.g. smtp.harbour.example"
        )
    if ":" in host and not _is_ip(host.strip("[]")):
        raise _Invalid(f"'{host}' has a port in it; write the host alone and the port as port:")
    return host.strip("[]")


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host.lower().rstrip(".") == "localhost":
        return True
    return _is_ip(host) and ipaddress.ip_address(host).is_loopback


def _port(value: object) -> int:
    number = int(value) if isinstance(value, str) and value.strip().isdigit() else value
    if isinstance(number, int) and not isinstance(number, bool) and 0 < number < 65536:
        return number
    raise _Invalid(f"{_show(value)} is not a port; use a number such as 587, 465 or 993")


def _security(value: object) -> str:
    word = _text(value).lower()
    if word in ("tls", "starttls", "none"):
        return word
    hint = "; SSL is now called tls" if word == "ssl" else ""
    raise _Invalid(
        f"unknown security '{word}'{hint}; use tls (usually port 465/993), starttls "
        "(587/143) or none (only for a server on this machine)"
    )


def _duration(value: object, *, zero_ok: bool = False) -> timedelta:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise _Invalid(f"{value} has no unit; write a duration such as 2d or 48h")
    if not isinstance(value, str):
        raise _Invalid(f"expected a duration such as 30m, 6h or 2d, found a {_kind(value)}")
    compact = re.sub(r"\s+", "", value.lower())
    match = _DURATION.fullmatch(compact)
    if not compact or not match:
        raise _Invalid(f"'{value}' is not a duration; write e.g. 30m, 6h, 2d, 1w or 1d12h")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    span = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    if not span and not zero_ok:
        raise _Invalid(f"'{value}' is zero; give a length such as 2d")
    return span


_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?", re.IGNORECASE)
_UNITS = {None: 1, "b": 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}


def _bytes(value: object) -> int:
    """A message size such as 25MB or 500KB (plain numbers are bytes)."""
    match = _SIZE.fullmatch(str(value).strip()) if not isinstance(value, bool) else None
    if not match or float(match[1]) <= 0:
        raise _Invalid(f"'{value}' is not a size; write e.g. 25MB or 500KB")
    return int(float(match[1]) * _UNITS[match[2].lower() if match[2] else None])


def _naming(value: object) -> str:
    if value in ("names", "ids"):
        return str(value)
    raise _Invalid(f"'{value}' is not a naming; write names (clients' names) or ids (their ids)")


def _whole_days(value: object) -> int:
    span = _duration(value)
    if span % timedelta(days=1):
        raise _Invalid(f"'{value}' is not a whole number of days; write e.g. 3d or 1w")
    return span.days


def _seconds(value: object) -> float:
    """timeout: a plain number of seconds, or a duration such as 1m."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if value > 0:
            return float(value)
        raise _Invalid(f"{value} is not a timeout; give a number of seconds above 0, e.g. 30")
    return _duration(value).total_seconds()


def _clock(value: object) -> time:
    if isinstance(value, str) and (match := _CLOCK.fullmatch(value.strip())):
        hour, minute = int(match[1]), int(match[2])
        if hour < 24 and minute < 60:
            return time(hour, minute)
    raise _Invalid(f'{_show(value)} is not a time of day; write 24-hour "HH:MM", e.g. "19:00"')


def _date(value: object) -> date:
    if isinstance(value, datetime):
        raise _Invalid("give just the date, without a time, e.g. 2026-11-20")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _Invalid(f"{_show(value)} is not a date; write YYYY-MM-DD, e.g. 2026-11-20")


def _weekday(value: object) -> int:
    word = value.strip().lower() if isinstance(value, str) else ""
    # Any unambiguous start of a day name: mon, tues, thurs, saturday...
    found = [i for i, name in enumerate(_DAY_NAMES) if len(word) >= 3 and name.startswith(word)]
    if found:
        return found[0]
    raise _Invalid(f"{_show(value)} is not a day; use mon, tue, wed, thu, fri, sat or sun")


@functools.cache
def _zone_names() -> dict[str, str]:
    return {name.lower(): name for name in available_timezones()}


def _zone(value: object) -> ZoneInfo:
    if not isinstance(value, str):
        raise _Invalid(f"expected a time zone name such as 'Europe/London', found a {_kind(value)}")
    name = _text(value)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        pass
    names = _zone_names()
    close = difflib.get_close_matches(name.lower(), names, n=1)
    example = names[close[0]] if close else "Europe/London"
    raise _Invalid(f"unknown time zone '{name}'; use an IANA name such as '{example}'")


def _provider(value: object) -> str:
    word = _text(value).lower()
    if word in _PROVIDERS:
        return word
    raise _Invalid(f"unknown provider '{word}'; use microsoft or google, or give token_url")


def _https(value: object) -> str:
    url = _text(value)
    if url.startswith("https://"):
        return url
    raise _Invalid(f"'{url}' is not an https:// address; tokens must travel encrypted")


def _database_url(value: object, base: Path) -> str:
    # Never echo the value: a PostgreSQL URL may carry a password.
    url = _text(value)
    if url.startswith(("postgresql://", "postgresql+psycopg://")):
        return url
    if url.startswith("postgres://"):
        raise _Invalid("write postgresql:// rather than postgres://")
    if not url.startswith("sqlite:///"):
        raise _Invalid(
            "must start with sqlite:/// (e.g. sqlite:///checkin.db, a file next to this one) "
            "or postgresql:// or postgresql+psycopg://"
        )
    file, sep, query = url.removeprefix("sqlite:///").partition("?")
    if file in ("", ":memory:"):
        return url
    path = Path(os.path.abspath(base / file))
    if not path.parent.is_dir():
        raise _Invalid(f"the folder {path.parent} for the SQLite file does not exist; create it")
    return f"sqlite:///{path}{sep}{query}"


# --- sections --------------------------------------------------------------------------


@dataclass
class _Section:
    """One mapping of the file and how to name it in messages."""

    data: _LineDict
    path: str  # "clients[0].cadence": where values live, for "path.key: problem"
    label: str  # "client 'alex'": how a person would name it
    line: int | None

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def key_line(self, key: str) -> int | None:
        return self.data.key_lines.get(key, self.line)

    def value_line(self, key: str) -> int | None:
        return self.data.value_lines.get(key, self.line)


@dataclass(frozen=True)
class _Defaults:
    quiet_hours: QuietHours | None = None
    nudge_after: timedelta | None = None
    catch_up: timedelta = _DEFAULT_CATCH_UP


class _Reader:
    """Walks the parsed file, collecting problems and building the practice objects.

    Every getter falls back to a default after reporting, so one mistake never hides the
    next; the half-built result is thrown away whenever anything was reported."""

    def __init__(self, file: str, base: Path) -> None:
        self.file = file
        self.base = base
        self.problems: list[Problem] = []

    def report(self, line: int | None, message: str) -> None:
        self.problems.append(Problem(self.file, line, message))

    # generic helpers

    def section(
        self, value: object, path: str, line: int | None, label: str = "", example: str = ""
    ) -> _Section | None:
        if value is None:
            return None  # absent or empty: the owner decides whether that is a problem
        if isinstance(value, _LineDict):
            return _Section(value, path, label or path, value.line)
        hint = f"; write e.g. {example}" if example else ""
        self.report(line, f"{path}: expected key: value lines, found a {_kind(value)}{hint}")
        return None

    def child(self, owner: _Section, key: str, example: str = "") -> _Section | None:
        path = owner.at(key)
        return self.section(owner.data.get(key), path, owner.value_line(key), path, example)

    def check_keys(
        self, sec: _Section, allowed: Iterable[str], required: dict[str, str] | None = None
    ) -> None:
        allowed = tuple(allowed)
        suggested = {self.unknown_key(sec, key, allowed) for key in sec.data if key not in allowed}
        for key, example in (required or {}).items():
            if sec.data.get(key) is not None or key in suggested:
                continue  # a misspelt key already says "did you mean"; once is enough
            if key in sec.data:
                message = f"{sec.at(key)} is empty; fill it in, e.g. {example}"
                self.report(sec.key_line(key), message)
            else:
                self.report(sec.line, f"{sec.label} is missing '{key}'; add it, e.g. {example}")

    def unknown_key(self, sec: _Section, key: Any, allowed: tuple[str, ...]) -> str | None:
        """Report a key that is not allowed here; returns the key it was probably meant to be."""
        line, name = sec.key_line(key), str(key)
        if name == "password" and "password_env" in allowed:
            env = f"CHECKIN_{sec.path.rsplit('.', 1)[-1].upper()}_PASSWORD"
            self.report(
                line,
                f"{sec.at('password')}: a password must not be written in this file; put it in "
                f"an environment variable and write password_env: {env}, or in a file only "
                "checkin can read and write password_file: path/to/file",
            )
            return None
        close = difflib.get_close_matches(name, allowed, n=1)
        if close:
            self.report(line, f"unknown key '{name}' in {sec.label}; did you mean '{close[0]}'?")
            return close[0]
        allowed_list = ", ".join(allowed)
        self.report(
            line, f"unknown key '{name}' in {sec.label}; remove it (allowed: {allowed_list})"
        )
        return None

    def get(
        self, sec: _Section, key: str, parse: Callable[[Any], T], default: T | None = None
    ) -> T | None:
        value = sec.data.get(key)
        if value is None:
            return default
        try:
            return parse(value)
        except _Invalid as exc:
            self.report(sec.value_line(key), f"{sec.at(key)}: {exc}")
            return default

    def items(self, sec: _Section, key: str, empty: str = "") -> list[tuple[Any, str, int]]:
        """(value, path, line) for each item of a list; a lone value is a list of one.
        An empty list is a problem only when `empty` says how to fill it."""
        value = sec.data.get(key)
        if value is None:
            return []
        if not isinstance(value, _LineList):
            return [(value, sec.at(key), sec.value_line(key) or 0)]
        result = []
        for index, (item, line) in enumerate(zip(value, value.item_lines, strict=True)):
            path = f"{sec.at(key)}[{index}]"
            if item is None:
                self.report(line, f"{path}: empty list item; fill it in or remove the '-'")
            else:
                result.append((item, path, line))
        if not value and empty:
            self.report(sec.value_line(key), f"{sec.at(key)}: the list is empty; {empty}")
        return result

    def ident(self, sec: _Section, what: str, seen: dict[str, int]) -> str | None:
        ident = self.get(sec, "id", _ident)
        line = sec.key_line("id") or 0
        if ident is None:
            return None
        if ident in seen:
            self.report(
                line,
                f"{sec.at('id')}: another {what} already has id '{ident}' (line {seen[ident]}); "
                f"give each {what} its own id",
            )
        else:
            seen[ident] = line
        return ident

    # the file, top down

    def practice(self, data: object, source: Path) -> Practice | None:
        if data is None:
            self.report(None, "the file is empty; start from examples/checkin.yaml")
            return None
        if not isinstance(data, _LineDict):
            self.report(1, "expected key: value lines (practice:, mail:, database:, ...); "
                        "start from examples/checkin.yaml")  # fmt: skip
            return None
        top = _Section(data, "", "the file", None)
        self.check_keys(top, _TOP_KEYS, self.top_required())
        if "clients" not in data:
            self.report(None, "the file is missing 'clients'; add it, e.g. clients: [] to start")
        name, zone = self.practice_section(top)
        defaults = self.defaults(top)
        therapists = self.therapists(top, zone)
        return Practice(
            name=name,
            timezone=zone,
            mail=self.mail(top),
            database=self.database(top),
            templates=self.get(top, "templates", self.folder),
            therapists=therapists,
            clients=self.clients(top, zone, defaults, [t.id for t in therapists if t.id]),
            source=source,
            catch_up=defaults.catch_up,
            safety=self.safety(top),
        )

    def safety(self, top: _Section) -> Safety:
        sec = self.child(top, "safety")
        if sec is None:
            return Safety()
        self.check_keys(sec, ("client_message", "backup_email"))
        return Safety(
            client_message=self.get(sec, "client_message", _text),
            backup_email=self.get(sec, "backup_email", _address),
        )

    def top_required(self) -> dict[str, str]:
        required = {
            "practice": "practice: {name: Harbour Counselling, timezone: Europe/London}",
            "mail": 'mail: {from: "Check-ins <checkin@harbour.example>", smtp: {...}}',
            "database": "database: sqlite:///checkin.db",
            "therapists": "therapists: [{id: robin, name: Robin, email: robin@harbour.example}]",
        }
        if os.environ.get("CHECKIN_DATABASE_URL"):
            del required["database"]
        return required

    def practice_section(self, top: _Section) -> tuple[str, ZoneInfo]:
        sec = self.child(top, "practice")
        if sec is None:
            return "", _UTC
        self.check_keys(
            sec,
            ("name", "timezone"),
            {"name": "name: Harbour Counselling", "timezone": "timezone: Europe/London"},
        )
        return self.get(sec, "name", _text, ""), self.get(sec, "timezone", _zone, _UTC)

    def database(self, top: _Section) -> str:
        from_file = self.get(top, "database", lambda v: _database_url(v, self.base), "")
        from_env = os.environ.get("CHECKIN_DATABASE_URL")
        if not from_env:
            return from_file
        try:
            return _database_url(from_env, Path.cwd())
        except _Invalid as exc:
            self.problems.append(Problem("$CHECKIN_DATABASE_URL", None, str(exc)))
            return from_file

    def folder(self, value: object) -> Path:
        path = Path(os.path.abspath(self.base / _text(value)))
        if not path.is_dir():
            raise _Invalid(
                f"no folder at {path}; create it, or remove the line to use the shipped templates"
            )
        return path

    def secret_file(self, value: object) -> Path:
        path = Path(os.path.abspath(self.base / _text(value)))
        if not path.is_file():
            raise _Invalid(
                f"no file at {path}; create it (readable only by checkin) or fix the path, "
                "which is taken from the folder this file is in"
            )
        return path

    # mail

    def mail(self, top: _Section) -> Mail:
        sec = self.child(top, "mail")
        if sec is None:
            return Mail("", Server("", 0, "tls"))
        self.check_keys(
            sec,
            ("from", "smtp", "imap"),
            {
                "from": 'from: "Harbour check-ins <checkin@harbour.example>"',
                "smtp": "smtp: {host: smtp.harbour.example, security: starttls, ...}",
            },
        )
        smtp = self.server(sec, "smtp") or Server("", 0, "tls")
        imap = self.server(sec, "imap")
        assert imap is None or isinstance(imap, ImapServer)
        return Mail(self.get(sec, "from", _sender, ""), smtp, imap)

    def server(self, mail: _Section, kind: str) -> Server | None:
        sec = self.child(mail, kind, f"{kind}: {{host: {kind}.harbour.example, ...}}")
        if sec is None:
            return None
        imap = kind == "imap"
        allowed = _SERVER_KEYS + _IMAP_KEYS if imap else _SERVER_KEYS
        self.check_keys(sec, allowed, {"host": f"host: {kind}.harbour.example"})
        host = self.get(sec, "host", _host, "")
        port = self.get(sec, "port", _port)
        security = self.get(sec, "security", _security) or _default_security(kind, port)
        if security == "none" and host and not _is_loopback(host):
            self.report(
                sec.value_line("security"),
                f"{sec.at('security')}: none would send passwords and client mail unencrypted "
                f"to {host}; use starttls or tls (none is only for localhost/127.0.0.1/::1)",
            )
        fields: dict[str, Any] = {
            "host": host,
            "port": port or _PORTS[kind][security],
            "security": security,
            **self.credentials(sec),
            "timeout": self.get(sec, "timeout", _seconds, 30.0),
        }
        if not imap:
            return Server(**fields)
        return ImapServer(
            **fields,
            folder=self.get(sec, "folder", _text, "INBOX"),
            done_folder=self.get(sec, "done_folder", _text, "Checkin/Done"),
            poll_interval=self.get(sec, "poll_interval", _poll_seconds, 60.0),
            max_message_bytes=self.get(sec, "max_size", _bytes, 25 * 1024 * 1024),
        )

    def credentials(self, sec: _Section) -> dict[str, Any]:
        ways = [
            k for k in ("password_env", "password_file", "oauth2") if sec.data.get(k) is not None
        ]
        if len(ways) > 1:
            self.report(
                sec.key_line(ways[1]),
                f"{sec.path} has both {ways[0]} and {ways[1]}; keep one way to sign in",
            )
        if ways and "username" not in sec.data:
            self.report(
                sec.key_line(ways[0]),
                f"{sec.path} has {ways[0]} but no username; add e.g. "
                "username: checkin@harbour.example",
            )
        return {
            "username": self.get(sec, "username", _text),
            "password_env": self.get(sec, "password_env", _env_name),
            "password_file": self.get(sec, "password_file", self.secret_file),
            "oauth2": self.oauth2(sec),
        }

    def oauth2(self, server: _Section) -> OAuth2 | None:
        sec = self.child(server, "oauth2", "oauth2: {provider: microsoft, client_id: ...}")
        if sec is None:
            return None
        if "token_command" in sec.data:
            self.check_keys(sec, _OAUTH2_KEYS)
            for key in sec.data:
                if key in _OAUTH2_KEYS and key != "token_command":
                    self.report(
                        sec.key_line(key),
                        f"{sec.at(key)}: not used with token_command, which prints the token "
                        "itself; remove one or the other",
                    )
            return OAuth2(token_command=self.get(sec, "token_command", _text))
        return self.oauth2_refresh(sec)

    def oauth2_refresh(self, sec: _Section) -> OAuth2:
        provider = self.get(sec, "provider", _provider)
        tenant = self.get(sec, "tenant", _text)
        if tenant and provider != "microsoft":
            message = "only used with provider: microsoft; remove it"
            self.report(sec.key_line("tenant"), f"{sec.at('tenant')}: {message}")
        url, scope = _PROVIDERS.get(provider or "", (None, None))
        url = url.format(tenant=tenant or "common") if url else None
        required = {
            "client_id": "client_id: <the app registration's id>",
            "refresh_token_env": "refresh_token_env: CHECKIN_OAUTH_REFRESH_TOKEN",
        }
        if not provider:
            required["token_url"] = "token_url: https://..., or provider: microsoft or google"
        self.check_keys(sec, _OAUTH2_KEYS, required)
        return OAuth2(
            token_url=self.get(sec, "token_url", _https, url),
            client_id=self.get(sec, "client_id", _text),
            client_secret_env=self.get(sec, "client_secret_env", _env_name),
            refresh_token_env=self.get(sec, "refresh_token_env", _env_name),
            scope=self.get(sec, "scope", _text, scope),
        )

    # defaults, inherited by clients and experiments

    def defaults(self, top: _Section) -> _Defaults:
        sec = self.child(top, "defaults")
        if sec is None:
            return _Defaults()
        self.check_keys(sec, ("quiet_hours", "nudge", "catch_up"))
        catch_up = self.get(sec, "catch_up", lambda v: _duration(v, zero_ok=True))
        return _Defaults(
            quiet_hours=self.quiet_hours(sec, None),
            nudge_after=self.nudge(sec, None),
            catch_up=_DEFAULT_CATCH_UP if catch_up is None else catch_up,
        )

    def quiet_hours(self, owner: _Section, inherited: QuietHours | None) -> QuietHours | None:
        """The owner's own quiet hours; absent inherits, null or off means none."""
        if "quiet_hours" not in owner.data:
            return inherited
        value = owner.data["quiet_hours"]
        if value is None or value is False:
            return None
        sec = self.child(owner, "quiet_hours", _QUIET_EXAMPLE)
        if sec is None:
            return None
        self.check_keys(sec, ("start", "end"), {"start": 'start: "21:30"', "end": 'end: "08:00"'})
        start, end = self.get(sec, "start", _clock), self.get(sec, "end", _clock)
        if start is None or end is None:
            return None
        if start == end:
            message = "start and end are the same; for no quiet hours write quiet_hours: off"
            self.report(sec.line, f"{sec.path}: {message}")
            return None
        return QuietHours(start, end)

    def nudge(self, owner: _Section, inherited: timedelta | None) -> timedelta | None:
        """How long to wait before the one reminder; absent inherits, null or off means none."""
        if "nudge" not in owner.data:
            return inherited
        value = owner.data["nudge"]
        if value is None or value is False:
            return None
        if isinstance(value, str):  # shorthand: nudge: 2d
            return self.get(owner, "nudge", _duration)
        sec = self.child(owner, "nudge", _NUDGE_EXAMPLE)
        if sec is None:
            return None
        self.check_keys(sec, ("after",), {"after": "after: 2d"})
        return self.get(sec, "after", _duration)

    # therapists

    def therapists(self, top: _Section, zone: ZoneInfo) -> tuple[Therapist, ...]:
        seen: dict[str, int] = {}
        result = []
        each = "add at least one therapist: each client's digest goes to one"
        for value, path, line in self.items(top, "therapists", each):
            sec = self.section(value, path, line, example="- {id: robin, name: Robin, email: ...}")
            if sec is not None:
                result.append(self.therapist(sec, zone, seen))
        return tuple(result)

    def therapist(self, sec: _Section, zone: ZoneInfo, seen: dict[str, int]) -> Therapist:
        ident = self.ident(sec, "therapist", seen)
        sec.label = f"therapist '{ident}'" if ident else sec.path
        self.check_keys(
            sec,
            _THERAPIST_KEYS,
            {"id": "id: robin", "name": "name: Robin", "email": "email: robin@harbour.example"},
        )
        return Therapist(
            id=ident or "",
            name=self.get(sec, "name", _text, ""),
            email=self.get(sec, "email", _address, ""),
            timezone=self.get(sec, "timezone", _zone, zone),
            digest=self.digest(sec),
        )

    def digest(self, owner: _Section) -> DigestTime | None:
        if "digest" not in owner.data:
            return _DEFAULT_DIGEST
        if owner.data["digest"] is None or owner.data["digest"] is False:
            return None
        sec = self.child(owner, "digest", _DIGEST_EXAMPLE)
        if sec is None:
            return None
        self.check_keys(sec, ("day", "time", "names"))
        return DigestTime(
            self.get(sec, "day", _weekday, _DEFAULT_DIGEST.weekday),
            self.get(sec, "time", _clock, _DEFAULT_DIGEST.time),
            self.get(sec, "names", _naming, "names"),
        )

    # clients and their experiments

    def clients(
        self, top: _Section, zone: ZoneInfo, defaults: _Defaults, therapist_ids: list[str]
    ) -> tuple[Client, ...]:
        seen_ids: dict[str, int] = {}
        seen_emails: dict[str, tuple[str, str, int]] = {}
        result = []
        for value, path, line in self.items(top, "clients"):
            sec = self.section(
                value, path, line, example="- {id: alex, email: ..., therapist: ...}"
            )
            if sec is None:
                continue
            ident = self.ident(sec, "client", seen_ids)
            sec.label = f"client '{ident}'" if ident else sec.path
            result.append(self.client(sec, ident, zone, defaults, therapist_ids, seen_emails))
        return tuple(result)

    def client(
        self,
        sec: _Section,
        ident: str | None,
        zone: ZoneInfo,
        defaults: _Defaults,
        therapist_ids: list[str],
        seen_emails: dict[str, tuple[str, str, int]],
    ) -> Client:
        self.check_keys(
            sec,
            _CLIENT_KEYS,
            {"id": "id: alex", "email": "email: alex@example.net", "therapist": "therapist: robin"},
        )
        inherited = _Defaults(
            self.quiet_hours(sec, defaults.quiet_hours),
            self.nudge(sec, defaults.nudge_after),
            defaults.catch_up,
        )
        return Client(
            id=ident or "",
            name=self.get(sec, "name", _text),
            emails=self.emails(sec, seen_emails),
            therapist=self.therapist_ref(sec, therapist_ids),
            timezone=self.get(sec, "timezone", _zone, zone),
            consent=self.get(sec, "consent", _date),
            experiments=self.experiments(sec, inherited),
        )

    def emails(self, sec: _Section, seen: dict[str, tuple[str, str, int]]) -> tuple[str, ...]:
        """Each address may belong to one client only: a reply is matched by its sender."""
        result: list[str] = []
        for raw, path, line in self.items(sec, "email", "give at least one address"):
            try:
                addr = _address(raw)
            except _Invalid as exc:
                self.report(line, f"{path}: {exc}")
                continue
            if addr.lower() not in seen:
                seen[addr.lower()] = (sec.path, sec.label, line)
                result.append(addr)
                continue
            owner_path, owner, first = seen[addr.lower()]
            if owner_path == sec.path:
                where = f" (line {first})" if first != line else ""
                self.report(line, f"{path}: {addr} is listed twice{where}; remove one")
            else:
                self.report(
                    line,
                    f"{path}: {addr} also belongs to {owner} (line {first}); replies from it "
                    "could not be told apart, so give each address to one client only",
                )
        return tuple(result)

    def therapist_ref(self, sec: _Section, therapist_ids: list[str]) -> str:
        ref = self.get(sec, "therapist", _text, "")
        if ref and therapist_ids and ref not in therapist_ids:
            close = difflib.get_close_matches(ref, therapist_ids, n=1)
            guess = f"did you mean '{close[0]}'? " if close else ""
            self.report(
                sec.value_line("therapist"),
                f"{sec.at('therapist')}: no therapist has id '{ref}'; {guess}"
                f"the therapists are: {', '.join(therapist_ids)}",
            )
        return ref

    def experiments(self, client: _Section, inherited: _Defaults) -> tuple[Experiment, ...]:
        seen: dict[str, int] = {}
        result = []
        for value, path, line in self.items(client, "experiments"):
            sec = self.section(value, path, line, example="- {id: breathing, title: ..., ...}")
            if sec is None:
                continue
            ident = self.ident(sec, "experiment", seen)
            sec.label = f"experiment '{ident}' of {client.label}" if ident else sec.path
            result.append(self.experiment(sec, ident, inherited))
        return tuple(result)

    def experiment(self, sec: _Section, ident: str | None, inherited: _Defaults) -> Experiment:
        self.check_keys(
            sec,
            _EXPERIMENT_KEYS,
            {
                "id": "id: breathing",
                "title": "title: Notice your breathing for one minute",
                "cadence": _CADENCE_EXAMPLE,
                "start": "start: 2026-11-20",
            },
        )
        start, end = self.get(sec, "start", _date), self.get(sec, "end", _date)
        if start and end and end < start:
            self.report(
                sec.value_line("end"),
                f"{sec.at('end')}: {end} is before start {start}; end on or after the start "
                "date, or remove end",
            )
        quiet = self.quiet_hours(sec, inherited.quiet_hours)
        return Experiment(
            id=ident or "",
            title=self.get(sec, "title", _text, ""),
            cadence=self.cadence(sec, quiet),
            start=start or date.min,
            end=end,
            quiet_hours=quiet,
            nudge_after=self.nudge(sec, inherited.nudge_after),
            catch_up=inherited.catch_up,
        )

    def cadence(self, owner: _Section, quiet: QuietHours | None) -> Cadence:
        sec = self.child(owner, "cadence", _CADENCE_EXAMPLE)
        if sec is None:
            return Cadence(time(0, 0))
        self.check_keys(sec, ("days", "every", "time"), {"time": 'time: "19:00"'})
        has_days, has_every = (sec.data.get(k) is not None for k in ("days", "every"))
        if has_days and has_every:
            self.report(sec.key_line("every"), f"{sec.path} has both days and every; keep one")
        elif not (has_days or has_every):
            message = "needs days (e.g. days: [mon, thu]) or every (e.g. every: 3d)"
            self.report(sec.line, f"{sec.path} {message}")
        at = self.get(sec, "time", _clock)
        if at is not None and quiet is not None and quiet.contains(at):
            self.report(
                sec.value_line("time"),
                f"{sec.at('time')}: check-in at {at:%H:%M} falls inside quiet hours "
                f"{quiet.start:%H:%M}-{quiet.end:%H:%M}; choose a time outside them or change "
                "quiet_hours",
            )
        return Cadence(
            time=at or time(0, 0),
            days=self.days(sec) if has_days else None,
            every_days=self.get(sec, "every", _whole_days) if has_every else None,
        )

    def days(self, sec: _Section) -> frozenset[int]:
        result: set[int] = set()
        for raw, path, line in self.items(sec, "days", "give at least one day, or daily"):
            if isinstance(raw, str) and raw.strip().lower() == "daily":
                result.update(range(7))
                continue
            try:
                result.add(_weekday(raw))
            except _Invalid as exc:
                self.report(line, f"{path}: {exc}")
        return frozenset(result)


def _default_security(kind: str, port: int | None) -> str:
    # Never fall back to "none": an unencrypted default would leak client mail silently.
    if kind == "smtp":
        return "tls" if port == 465 else "starttls"
    return "starttls" if port == 143 else "tls"


def _poll_seconds(value: object) -> float:
    return _duration(value).total_seconds()
