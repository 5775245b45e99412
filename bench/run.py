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
    print()
    print(table(rows))
    for line in skipped:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
