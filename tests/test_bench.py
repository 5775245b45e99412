"""Each benchmark in bench/ runs once on tiny inputs, so none rots between `make bench` runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import common


def test_merge_keeps_other_keys(tmp_path: Path) -> None:
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"trim": {"exact": 59}}))
    common.merge_results(path, "send", {"per_s": 1.0})
    common.merge_results(path, "send", {"per_s": 2.0})
    assert json.loads(path.read_text()) == {"trim": {"exact": 59}, "send": {"per_s": 2.0}}


def test_table_and_goal() -> None:
    rows = [
        common.Row("send", "check-ins/s", 400.0, 1000.0, 0.4, "ratio >= 0.5"),
        common.Row("digest", "seconds", 2.0, 1.0, 2.0, "ratio <= 5"),
        common.Row("trim", "exact", 55, 33, None, "exact >= 56"),
        common.Row("latency", "p50 s", 0.3),
    ]
    assert [r.met for r in rows] == ["NO", "yes", "NO", ""]
    lines = common.table(rows).splitlines()
    assert lines[0].split() == ["benchmark", "figure", "value", "floor", "ratio", "goal", "met"]
    assert len(lines) == 6


def test_trims_figures_join_the_table(tmp_path: Path) -> None:
    from bench import run

    results = tmp_path / "results.json"
    assert run.trim_rows(results) == []
    results.write_text(json.dumps({"trim": {"of": 64, "exact": 59, "talon_exact": 33,
                                            "per_s": 5000.0, "talon_per_s": 4000.0}}))  # fmt: skip
    exact, speed = run.trim_rows(results)
    assert (exact.value, exact.floor, exact.met) == (59, 33, "yes")
    assert (speed.ratio, speed.met) == (1.25, "yes")


def test_child_peak_rss_is_its_own() -> None:
    import sys

    big = common.run_child(
        [sys.executable, "-c", "b = bytearray(80 * 2**20); b[::4096] = b'x' * len(b[::4096])"]
    )
    small = common.run_child([sys.executable, "-c", "print('hi')"])
    assert big.returncode == 0 and small.stdout.strip() == "hi"
    assert big.peak_rss_mb > 80 > small.peak_rss_mb


def _figures(module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    import importlib

    mod = importlib.import_module(f"bench.{module}")
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"trim": {"exact": 59}}))
    assert mod.main(["--tiny", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    data = json.loads(results.read_text())
    assert data["trim"] == {"exact": 59}
    if "skipped" in out:
        pytest.skip(out.strip())
    assert "benchmark" in out
    return data[mod.KEY]


def test_send_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _figures("send", tmp_path, capsys)
    assert f["messages"] == 20
    assert f["per_s"] > 0 and f["floor_per_s"] > 0
    assert f["ratio"] == pytest.approx(f["per_s"] / f["floor_per_s"], rel=0.01)


def test_digest_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = _figures("digest", tmp_path, capsys)
    assert f["checkins"] == 21 and 0 < f["replies"] <= 21
    assert f["rows_read_by_floor"] == 21 and f["rendered_chars"] > 0
    assert f["ratio"] == pytest.approx(f["seconds"] / f["floor_seconds"], rel=0.05)


def test_digest_sees_the_inserted_week(tmp_path: Path) -> None:
    """The populated rows land inside the digest window, so the benchmark measures real work."""
    from bench.digest import WEEK, populate
    from bench.practice import practice_dict, write_and_load
    from checkin.core.weekly import window_for_week
    from checkin.jobs.digest import digest_for
    from checkin.store.db import engine_for, upgrade

    url = f"sqlite:///{tmp_path / 'c.db'}"
    practice = write_and_load(tmp_path / "c.yaml", practice_dict(1025, url, 1, 2, 1))
    engine = engine_for(url)
    upgrade(engine)
    n = populate(engine, 2, 1)
    digest = digest_for(practice, engine, window_for_week(practice.therapists[0], WEEK))
    weeks = [e for c in digest.clients for e in c.experiments]
    assert sum(e.sent for e in weeks) == 14
    assert sum(e.answered for e in weeks) == n > 0
    engine.dispose()


def test_run_all_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bench import run

    results = tmp_path / "results.json"
    results.write_text(json.dumps({"trim": {"exact": 59}}))
    # The others run on tiny inputs in their own test files; here, that run.py merges and tables.
    assert (
        run.main(["--tiny", "--only", "send", "--only", "digest", "--results", str(results)]) == 0
    )
    data = json.loads(results.read_text())
    assert {"trim", "send", "digest"} <= set(data)
    out = capsys.readouterr().out
    assert "send" in out and "digest" in out


def test_run_lists_every_benchmark_in_the_folder() -> None:
    import importlib

    from bench import run

    here = Path(run.__file__).parent
    keyed = {
        p.stem
        for p in here.glob("*.py")
        if hasattr(importlib.import_module(f"bench.{p.stem}"), "KEY")
    }
    assert keyed == set(run.BENCHMARKS)
