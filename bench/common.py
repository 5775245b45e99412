"""What every benchmark shares: sizes, timing, peak RSS of a child, results.json, the table.

Each benchmark module has `run(tiny: bool, size: int | None) -> dict` returning its figures
(each beside its floor from the same run, and their ratio) and a `main()` that parses the
common arguments, runs, prints its table and merges `{KEY: figures}` into bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "results.json"


class Skip(Exception):
    """A benchmark's server (Dovecot, PostgreSQL) is missing: say so, and go on."""


@dataclass
class Row:
    """One line of the table: a figure beside its floor, and how far from the goal."""

    bench: str
    figure: str
    value: float
    floor: float | None = None
    ratio: float | None = None
    goal: str = ""

    @property
    def met(self) -> str:
        """The goal's last two words are the test; it applies to the ratio, or to the value
        of a figure that has no floor (e.g. "exact >= 56")."""
        if not self.goal:
            return ""
        measured = self.ratio if self.ratio is not None else self.value
        op, bound = self.goal.split()[-2:]
        ok = measured >= float(bound) if op == ">=" else measured <= float(bound)
        return "yes" if ok else "NO"


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--tiny", action="store_true", help="~20 messages: a smoke run (tests)")
    parser.add_argument("--size", type=int, default=None, help="override the main size")
    parser.add_argument("--results", type=Path, default=RESULTS, help="results file to merge")
    parser.add_argument("--no-write", action="store_true", help="print only; leave results")
    return parser.parse_args(argv)


def size_of(tiny: bool, size: int | None, full: int, small: int = 20) -> int:
    if size is not None:
        return size
    return small if tiny else full


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds of wall time for one call, and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def free_port() -> int:
    """aiosmtpd 1.4 cannot take port 0, so ask the kernel for a free one first."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def postgres_schema(base: str, prefix: str = "bench") -> Iterator[str]:
    """A new empty schema in the database at `base`, dropped afterwards: the URL into it.

    Raises Skip, with the reason, when the server refuses (a benchmark then says so and the
    others go on).
    """
    import uuid

    from sqlalchemy import text

    from checkin.store.db import engine_for

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = engine_for(base)
    try:
        with admin.begin() as c:
            c.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:
        admin.dispose()
        raise Skip(f"PostgreSQL at CHECKIN_TEST_POSTGRES_URL: {type(exc).__name__}") from exc
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as c:
            c.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def started_sink(handler: object, tries: int = 5) -> Any:
    """An aiosmtpd Controller on a free loopback port, started.

    Between asking the kernel for a free port and binding it another process may take it;
    try another port rather than fail a two-minute run on "address already in use".
    """
    from aiosmtpd.controller import Controller

    for attempt in range(tries):
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        try:
            controller.start()
            return controller
        except (OSError, RuntimeError):
            if attempt == tries - 1:
                raise
    raise AssertionError("unreachable")


@dataclass
class Child:
    seconds: float
    peak_rss_mb: float
    returncode: int
    stdout: str
    stderr: str


# Linux's ru_maxrss of a child counts the memory of the process it was forked from until exec
# (a 130 MB pytest makes every child look 130 MB). A small fresh Python launches the command
# and reports the command's own peak: only the launcher's few MB are inherited.
_LAUNCHER = """
import os, sys
pid = os.posix_spawn(sys.argv[2], sys.argv[2:], os.environ)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_child(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> Child:
    """Run a command; its wall time and its own peak RSS in MB."""
    import shutil
    import tempfile

    program = shutil.which(cmd[0]) or cmd[0]
    with tempfile.TemporaryDirectory() as folder:
        peak = Path(folder) / "maxrss"
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, str(peak), program, *cmd[1:]]
        start = time.perf_counter()
        done = subprocess.run(launcher, capture_output=True, env=env, cwd=cwd, check=False)
        seconds = time.perf_counter() - start
        kib = int(peak.read_text() or 0) if peak.exists() else 0
    # Linux reports ru_maxrss in KiB.
    return Child(
        seconds,
        kib / 1024,
        done.returncode,
        done.stdout.decode(errors="replace"),
        done.stderr.decode(errors="replace"),
    )


def merge_results(path: Path, key: str, figures: dict[str, Any]) -> None:
    """Replace `key` in the results file, keeping every other key (e.g. `trim`)."""
    data: dict[str, Any] = {}
    if path.exists():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            data = {}
    data[key] = figures
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def table(rows: Sequence[Row]) -> str:
    head = ("benchmark", "figure", "value", "floor", "ratio", "goal", "met")
    body = [
        (r.bench, r.figure, fmt(r.value), fmt(r.floor), fmt(r.ratio), r.goal, r.met) for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(head, *body, strict=True)]
    lines = [
        "  ".join(str(x).ljust(w) for x, w in zip(line, widths, strict=True))
        for line in [head, *body]
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@contextmanager
def note(message: str) -> Iterator[None]:
    """Progress on stderr, so a two-minute run does not look stuck."""
    print(f"[bench] {message} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    yield
    print(f"[bench] {message}: {time.perf_counter() - start:.1f}s", file=sys.stderr, flush=True)


def main_for(key: str, run: Callable[[bool, int | None], dict], rows: Callable[[dict], list[Row]],
             description: str, argv: Sequence[str] | None = None) -> int:  # fmt: skip
    args = parse_args(description, argv)
    try:
        figures = run(args.tiny, args.size)
    except Skip as exc:
        print(f"{key}: skipped: {exc}")
        return 0
    print(table(rows(figures)))
    print(json.dumps({key: figures}, sort_keys=True))
    if not args.no_write:
        merge_results(args.results, key, figures)
    return 0
