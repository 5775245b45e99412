"""The ingest benchmark runs once on tiny inputs, and its generated replies are real mail."""

from __future__ import annotations

import json
from collections import Counter
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from bench import ingest, replies
from checkin.core.understand import understand
from tests.dovecot import installed


@pytest.fixture(scope="module")
def generated() -> list[replies.Generated]:
    sent = replies.checkins(clients=60, days=10)
    return list(replies.generate(sent, 600))


def test_every_style_and_language_is_there(generated: list[replies.Generated]) -> None:
    styles = Counter(g.style for g in generated)
    assert set(styles) == {*replies.STYLES, "auto"}
    assert {g.lang for g in generated} == set(replies.LANGS)
    assert {g.intent for g in generated} == set(replies.INTENTS)
    assert {g.addressed for g in generated} == set(replies.ADDRESSED)
    # Each reply answers a check-in of its own.
    assert len({g.checkin.message_id for g in generated}) == len(generated)


def test_replies_parse_and_read_as_intended(generated: list[replies.Generated]) -> None:
    for g in generated:
        msg = message_from_bytes(g.raw, policy=policy.default)
        assert not msg.defects, (g.style, msg.defects)
        assert msg.get_body(("plain", "html")) is not None
        u = understand(g.raw)
        assert not u.problems, (g.style, g.lang, u.problems)
        expected = {"auto_reply": "auto_reply", "command": "command"}.get(g.intent, "answer")
        assert u.kind == expected, (g.style, g.lang, g.intent)
        assert u.risk == (g.intent == "risk"), (g.style, g.lang)
        if g.intent in ("answer", "risk", "stranger"):
            assert u.tried is not None or u.rating is not None, (g.style, g.lang)
        if g.addressed == "token":
            assert g.checkin.reply_to in u.recipients
        if g.addressed != "sender":
            assert u.in_reply_to == g.checkin.message_id


def test_html_only_has_no_text_part_and_attachments_are_200_kb(
    generated: list[replies.Generated],
) -> None:
    for g in generated:
        msg = message_from_bytes(g.raw, policy=policy.default)
        types = {p.get_content_type() for p in msg.walk()}
        if g.style == "html_only":
            assert "text/plain" not in types and "text/html" in types
        if g.style == "attachment":
            [photo] = [p for p in msg.walk() if p.get_content_type() == "image/jpeg"]
            assert len(photo.get_content()) == replies.ATTACHMENT_BYTES
            assert understand(g.raw).attachments


def test_generation_is_deterministic() -> None:
    sent = replies.checkins(5, 4)
    first = [g.raw for g in replies.generate(sent, 20)]
    assert first == [g.raw for g in replies.generate(replies.checkins(5, 4), 20)]
    assert len(set(first)) == 20


def test_outbox_rows_carry_the_tokens_the_replies_use() -> None:
    from checkin.core.attribute import token_hash

    sent = replies.checkins(3, 2)
    rows = replies.outbox_rows(sent)
    assert len({r["key"] for r in rows}) == len(rows) == 6
    assert all(r["token_hash"] == token_hash(str(r["token"])) for r in rows)


@pytest.mark.skipif(
    not installed(), reason="Dovecot is not installed: apt-get install dovecot-imapd"
)
def test_ingest_tiny(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"trim": {"exact": 59}}))
    assert ingest.main(["--tiny", "--results", str(results)]) == 0
    out = capsys.readouterr().out
    data = json.loads(results.read_text())
    assert data["trim"] == {"exact": 59}
    assert "benchmark" in out
    figures = data[ingest.KEY]
    measured = [k for k in ("sqlite", "postgres") if "per_s" in figures[k]]
    assert "sqlite" in measured
    for kind in measured:
        f = figures[kind]
        n = f["msgs"]
        assert n == 20
        # Every waiting message stored once and understood once (checked inside the run too).
        assert f["stored"] == f["understood"] == n
        assert sum(f["attribution"].values()) == sum(f["kinds"].values()) == n
        assert f["per_s"] == pytest.approx(n / f["seconds"], rel=0.01)
        # Figures are rounded (ratio to 3 places): compare within that.
        assert f["ratio"] == pytest.approx(f["per_s"] / f["floor_per_s"], rel=0.01, abs=1e-3)
        small, big = f["rss_msgs"]
        assert (small, big) == (4, 20)
        assert 10 < f[f"peak_rss_mb_{small}"] < 1000 and 10 < f[f"peak_rss_mb_{big}"] < 1000
        assert f["rss_ratio"] == pytest.approx(
            f[f"peak_rss_mb_{big}"] / f[f"peak_rss_mb_{small}"], rel=0.01, abs=1e-3
        )
    if "per_s" not in figures["postgres"]:
        assert "CHECKIN_TEST_POSTGRES_URL" in figures["postgres"]["skipped"]
