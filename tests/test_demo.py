"""`checkin demo`: the sample practice's fortnight through real loopback servers, as a person
runs it, with what it prints and writes checked; and every server stopped afterwards, also
after Ctrl-C."""

from __future__ import annotations

import json
import re
import tempfile
from datetime import date
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from imapclient import IMAPClient

from checkin.cli import main
from checkin.demo import dovecot, servers
from checkin.demo.progress import Day
from checkin.demo.run import Options, run_demo

needs_a_mailbox = pytest.mark.skipif(
    not dovecot.installed() and not servers.pymap_installed(),
    reason="the demo needs Dovecot (apt-get install dovecot-imapd) or pymap (pip install -e '.[demo]')",
)


def demo(out: Path, *args: str) -> Result:
    result = CliRunner().invoke(main, ["demo", "--out", str(out), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def addresses(output: str) -> list[tuple[str, int]]:
    """The servers the demo said it started."""
    found = re.findall(r"server \(\w+\) on ([\d.]+):(\d+)", output)
    assert len(found) == 2, output
    return [(host, int(port)) for host, port in found]


def mail(out: Path, pattern: str) -> list[EmailMessage]:
    return [
        message_from_bytes(p.read_bytes(), policy=policy.default)  # type: ignore[misc]
        for p in sorted((out / "mail").glob(pattern))
    ]


def checkin_demo_dirs() -> set[Path]:
    return set(Path(tempfile.gettempdir()).glob("checkin-demo-*"))


def assert_the_fortnight(out: Path, output: str) -> None:
    # A line per simulated day, in order, with what went out and what came back.
    days = re.findall(r"^Week ([12]), (\w{3} \d+ \w{3}):", output, re.MULTILINE)
    assert len(days) == 14 and days[0] == ("1", "Mon 23 Nov") and days[-1] == ("2", "Sun 6 Dec")
    assert re.search(r"^Week 1, Mon 23 Nov: \d+ check-ins sent; \d+ replies stored", output, re.M)
    assert "1 out-of-office" in output and "1 PAUSE" in output and "1 bounce" in output
    assert "answer with risk language" in output
    assert re.search(r"2 risk alerts and 1 safety message sent", output)
    assert "bounce for noor@oldmail.example" in output
    # One therapist's digest, printed.
    assert "The weekly digest 2026-W49 that Maren Holt <maren@lakeside.example> received" in output
    assert "Weekly check-in digest, 30 Nov - 6 Dec" in output and "NEEDS ATTENTION" in output
    assert "Risk language: Lena" in output
    # The HTML digests of both therapists, for both weeks.
    html = sorted(p.name for p in (out / "digests").glob("*.html"))
    assert html == [f"digest-{t}-2026-W{w}.html" for t in ("maren", "tomas") for w in (48, 49)]
    assert "<html" in (out / "digests" / "digest-tomas-2026-W49.html").read_text().lower()
    # Every mail as a numbered .eml, named by kind and address.
    checkins = mail(out, "*-checkin-to-*.eml")
    assert len(checkins) >= 25 and {m["From"].addresses[0].addr_spec for m in checkins} == {
        "checkin@lakeside.example"
    }
    [confirm] = mail(out, "*-confirm-to-kofi@work.example.eml")
    assert confirm["Subject"] == "Your check-ins are paused"
    assert "until Friday 4 December 2026" in confirm.get_body(("plain",)).get_content()
    alerts = mail(out, "*-alert-to-*.eml")
    assert sorted(str(a["To"]) for a in alerts) == [
        "duty@lakeside.example",
        "maren@lakeside.example",
    ]
    assert all(a["Subject"].startswith("Safety alert") for a in alerts)
    [safety] = mail(out, "*-safety-to-lena@post.example.eml")
    assert "local emergency number" in safety.get_body(("plain",)).get_content()
    [dsn] = mail(out, "*-bounce-from-MAILER-DAEMON.eml")
    assert dsn.get_content_type() == "multipart/report"
    assert len(mail(out, "*-reply-*-from-*.eml")) >= 15
    # After the bounce, Noor's check-ins go to her second address.
    assert len(mail(out, "*-checkin-to-noor@oldmail.example.eml")) == 1
    assert len(mail(out, "*-checkin-to-noor@newmail.example.eml")) >= 4
    exported = json.loads((out / "export.json").read_text())
    lena = next(c for c in exported["clients"] if c["id"] == "lena")
    assert any(r["risk"] for c in lena["checkins"] for r in c["replies"])
    assert "Every server the demo started has stopped." in output


@needs_a_mailbox
def test_the_demo_runs_a_fortnight_through_real_servers_and_stops_them(tmp_path: Path) -> None:
    before = checkin_demo_dirs()
    result = demo(tmp_path / "out")
    expected = "Dovecot" if dovecot.installed() else "pymap"
    assert f"IMAP server ({expected}) on 127.0.0.1:" in result.output
    assert_the_fortnight(tmp_path / "out", result.output)
    for host, port in addresses(result.output):
        assert not servers.port_open(host, port)
    assert checkin_demo_dirs() <= before  # the temporary folders are gone too


@needs_a_mailbox
def test_the_demo_on_the_pure_python_imap_server(tmp_path: Path) -> None:
    pytest.importorskip("pymap", reason="pymap is not installed: pip install -e '.[demo]'")
    result = demo(tmp_path / "out", "--imap", "pymap")
    assert "IMAP server (pymap) on 127.0.0.1:" in result.output
    assert_the_fortnight(tmp_path / "out", result.output)
    for host, port in addresses(result.output):
        assert not servers.port_open(host, port)


@needs_a_mailbox
def test_keep_leaves_the_servers_up_for_a_mail_client_until_ctrl_c(tmp_path: Path) -> None:
    lines: list[str] = []
    seen: list[int] = []

    def person_looks_then_presses_ctrl_c() -> None:
        said = "\n".join(lines)
        imap = re.search(r"IMAP +([\d.]+):(\d+) .* user (\S+) +password (\S+)", said)
        assert imap, said
        host, port, user, password = imap.groups()
        with IMAPClient(host, int(port), ssl=False) as client:
            client.login(user, password)
            client.select_folder("Checkin/Done", readonly=True)
            seen.extend(client.search("ALL"))
        raise KeyboardInterrupt

    run_demo(Options(tmp_path / "out", keep=True), lines.append, person_looks_then_presses_ctrl_c)
    assert len(seen) >= 20  # every reply the watcher read, moved to the done folder
    for host, port in addresses("\n".join(lines)):
        assert not servers.port_open(host, port)


@needs_a_mailbox
def test_ctrl_c_in_the_middle_stops_every_server(tmp_path: Path) -> None:
    before = checkin_demo_dirs()
    lines: list[str] = []

    def echo(line: str) -> None:
        lines.append(line)
        if line.startswith("Week 1, Wed"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_demo(Options(tmp_path / "out"), echo, lambda: None)
    for host, port in addresses("\n".join(lines)):
        assert not servers.port_open(host, port)
    assert checkin_demo_dirs() <= before


def test_an_output_folder_with_files_in_it_is_refused(tmp_path: Path) -> None:
    (tmp_path / "keep-me.txt").write_text("mine")
    result = CliRunner().invoke(main, ["demo", "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "not an empty folder" in result.output
    assert (tmp_path / "keep-me.txt").read_text() == "mine"


def test_a_day_line_says_what_went_out_and_what_came_back() -> None:
    day = Day(date(2026, 12, 1), 2)
    day.sent.update({"checkin": 3, "nudge": 1, "alert": 2, "safety": 1})
    day.stored = 2
    day.understood.update({"answer": 1, "answer with risk language": 1})
    day.events.append("! risk")
    assert day.line() == (
        "Week 2, Tue 1 Dec: 3 check-ins and 1 reminder sent; 2 replies stored (1 answer, "
        "1 answer with risk language); 2 risk alerts and 1 safety message sent\n    ! risk"
    )
    assert Day(date(2026, 12, 2), 2).line() == "Week 2, Wed 2 Dec: nothing due"
