"""Every benchmark in bench/ (trim_accuracy.py runs on its own, in the peers' venv), one table.

    python bench/run.py [--tiny | --size N] [--only NAME ...] [--results FILE] [--no-write]

Merges each benchmark's key into bench/results.json, keeping the others (e.g. `trim`).
A benchmark whose server is missing is skipped with the reason.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Row, Skip, merge_results, parse_args, table

BENCHMARKS = ("send", "digest", "ingest", "latency", "scale")


def trim_rows(results: Path) -> list[Row]:
    """bench-trim runs first, in the peers' own environment; its figures join the table here."""
    try:
        trim = json.loads(results.read_text(encoding="utf-8")).get("trim")
    except (OSError, ValueError):
        return []
    if not trim or trim.get("talon_per_s") is None:
        return []
    of = trim["of"]
    return [
        Row("trim", f"exact of {of} (floor: talon's)", trim["exact"], trim["talon_exact"],
            None, "exact >= 56"),
        Row("trim", "emails/s (floor: talon's)", trim["per_s"], trim["talon_per_s"],
            round(trim["per_s"] / trim["talon_per_s"], 3), "ratio >= 1"),
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    import argparse

    only = argparse.ArgumentParser(add_help=False)
    only.add_argument("--only", action="append", choices=BENCHMARKS, default=None)
    chosen, rest = only.parse_known_args(argv)
    args = parse_args(__doc__ or "", rest)
    rows: list[Row] = []
    skipped: list[str] = []
    for name in chosen.only or BENCHMARKS:
        mod = importlib.import_module(f"bench.{name}")
        try:
            figures = mod.run(args.tiny, args.size)
        except Skip as exc:
            skipped.append(f"{mod.KEY}: skipped: {exc}")
            continue
        rows.extend(mod.rows(figures))
        print(json.dumps({mod.KEY: figures}, sort_keys=True))
        if not args.no_write:
            merge_results(args.results, mod.KEY, figures)
    rows.extend(trim_rows(args.results))
    print()
    print(table(rows))
    for line in skipped:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
