"""`checkin explain`: how a raw message is understood, without a database or a config."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from checkin.cli import main

REPLY = (
    "From: Alex <alex@example.net>\r\nTo: checkin+abcdefghijklmnopqrstuvwxyz@harbour.example\r\n"
    "Subject: Re: Your check-in\r\nMessage-ID: <r1@example.net>\r\n\r\n"
    "Yes, 7. My shoulders were tight.\r\n\r\n"
    "On Thu, 26 Nov 2026 at 19:00, Harbour <checkin@harbour.example> wrote:\r\n"
    "> Did you try it?\r\n"
)


def test_json_lines_one_per_file(tmp_path: Path) -> None:
    (tmp_path / "a.eml").write_text(REPLY)
    (tmp_path / "b.eml").write_text(REPLY.replace("Yes, 7.", "PAUSE until 2027-01-03"))
    result = CliRunner().invoke(
        main, ["explain", "--json", str(tmp_path / "a.eml"), str(tmp_path / "b.eml")]
    )
    assert result.exit_code == 0, result.output
    first, second = (json.loads(line) for line in result.output.splitlines())
    assert (first["kind"], first["tried"], first["rating"]) == ("answer", "yes", 7)
    assert first["token"] == "abcdefghijklmnopqrstuvwxyz"
    assert "Did you try it?" not in first["text"] and "shoulders" in first["text"]
    assert (second["kind"], second["command"], second["until"]) == (
        "command",
        "pause",
        "2027-01-03",
    )


def test_not_mail_and_a_missing_file_give_one_line_errors(tmp_path: Path) -> None:
    (tmp_path / "junk.bin").write_bytes(bytes(range(256)) * 40)
    (tmp_path / "a.eml").write_text(REPLY)
    result = CliRunner().invoke(
        main, ["explain", "--json", str(tmp_path / "junk.bin"), str(tmp_path / "a.eml")]
    )
    assert result.exit_code == 1
    error, good = result.output.splitlines()  # the good file is still explained
    assert error.startswith(f"{tmp_path / 'junk.bin'}: not a mail message")
    assert json.loads(good)["kind"] == "answer"
    missing = CliRunner().invoke(main, ["explain", str(tmp_path / "nope.eml")])
    assert missing.exit_code == 1
    assert "nope.eml: cannot read" in missing.output and "Traceback" not in missing.output
