"""The latency and scale benchmarks run once on tiny inputs, so neither rots between runs."""

from __future__ import annotations

import importlib
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bench.practice import _midday_zone, due_now_dict, write_and_load


def tiny_figures(module: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    mod = importlib.import_module(f"bench.{module}")
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"trim": {"exact": 59}}))
    assert mod.main(["--tiny", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    if "skipped" in out:
        pytest.skip(out.strip())
    data = json.loads(results.read_text())
    assert data["trim"] == {"exact": 59}  # merged beside, not over, the other keys
    assert "benchmark" in out and mod.KEY in out
    return data[mod.KEY]


def test_latency_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tiny_figures("latency", tmp_path, capsys)
    assert f["n"] == 10  # every delivered reply had its outcome seen
    assert 0 < f["p50_s"] <= f["p95_s"] <= f["max_s"]
    assert f["fetched_p50_s"] <= f["p50_s"]  # stored raw before understood
    assert f["answers"] == f["attributed_by_token"] == 10
    assert f["exit_code"] == 0 and f["stopped_cleanly"]
    assert 4 <= f["rate_per_s"] <= 6
    assert f["dovecot_idle_notice_s"] > 0


@pytest.mark.skipif(
    not os.environ.get("CHECKIN_TEST_POSTGRES_URL"),
    reason="set CHECKIN_TEST_POSTGRES_URL to run the scale benchmark on PostgreSQL",
)
def test_scale_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    f = tiny_figures("scale", tmp_path, capsys)
    assert f["checkins"] == f["sent"] == 20
    assert f["one_worker_sent"] == f["two_workers_sent"] == 20
    assert f["duplicates"] == 0
    assert f["outbox_sent"] == [20, 20]
    assert sum(f["two_workers_shares"]) == 20
    assert f["exit_codes"] == [0, 0, 0]
    assert f["ratio"] == pytest.approx(f["one_worker_s"] / f["two_workers_s"], rel=0.02)


def test_scale_without_postgres_is_skipped_with_a_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bench import scale

    monkeypatch.delenv("CHECKIN_TEST_POSTGRES_URL", raising=False)
    results = tmp_path / "results.json"
    assert scale.main(["--tiny", "--results", str(results)]) == 0
    assert "scale: skipped: set CHECKIN_TEST_POSTGRES_URL" in capsys.readouterr().out
    assert not results.exists()


@pytest.mark.parametrize("hour", range(24))
def test_the_midday_zone_reads_midday(hour: int) -> None:
    moment = datetime(2026, 11, 26, hour, 59, tzinfo=UTC)
    assert moment.astimezone(ZoneInfo(_midday_zone(moment))).hour == 12


def test_a_due_now_practice_is_due_now_and_out_of_quiet_hours(tmp_path: Path) -> None:
    """What `checkin run` will plan on the real clock: one check-in a client, to go at once."""
    from checkin.core.cadence import checkins_due

    now = datetime.now(UTC)
    data = due_now_dict(1025, f"sqlite:///{tmp_path / 'c.db'}", clients=3, now=now)
    practice = write_and_load(tmp_path / "c.yaml", data)
    due = checkins_due(practice, now, {}, {})
    assert [d.client_id for d in due] == ["c00000", "c00001", "c00002"]
    for d in due:
        assert now - timedelta(minutes=3) <= d.due_at <= now - timedelta(minutes=2)
        assert d.send_after == now  # not held back by quiet hours
