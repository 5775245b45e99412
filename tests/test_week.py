"""A week of realistic traffic for two therapists, through real SMTP and IMAP, then the digests."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.conftest import SmtpServer, practice_dict, write_practice
from tests.dovecot import Dovecot, MailUser
from tests.test_ingest import bounce_for, reply, with_mailbox
from tests.test_send import cli

DIGEST_AT = "2026-11-29T18:00:30Z"  # Sunday 18:00 in London: the digests of week 48


def week_practice(smtp: SmtpServer, url: str, user: MailUser) -> dict:
    data = with_mailbox(practice_dict(smtp, url), user)  # alex (two addresses) and sam: Robin's
    data["therapists"] = [
        {"id": "robin", "name": "Robin", "email": "robin@practice.test",
         "digest": {"day": "sunday", "time": "18:00"}},
        {"id": "kim", "name": "Kim", "email": "kim@practice.test",
         "digest": {"day": "sunday", "time": "18:00"}},
    ]  # fmt: skip
    data["clients"][1]["email"] = ["sam@client.test", "sam@work.test"]
    for cid, name in (("lee", "Lee"), ("jo", "Jo")):
        data["clients"].append(
            {**data["clients"][0], "id": cid, "name": name, "email": f"{cid}@client.test",
             "therapist": "kim"}
        )  # fmt: skip
    return data


class Week:
    def __init__(self, config: Path, smtp: SmtpServer, dovecot: Dovecot, user: MailUser):
        self.config, self.smtp, self.dovecot, self.user = config, smtp, dovecot, user

    def checkins(self, day: int) -> dict[str, EmailMessage]:
        """Send the day's check-ins (19:00 in New York); return them by client address."""
        before = len(self.smtp.sink.messages)
        cli(self.config, "send-due", "--at", f"2026-11-{day:02d}T00:00:30Z")
        new = self.smtp.sink.messages[before:]
        return {m["To"].addresses[0].addr_spec.split("@")[0]: m for m in new}

    def replies(self, day: int, *messages: bytes) -> list[EmailMessage]:
        before = len(self.smtp.sink.messages)
        for raw in messages:
            self.dovecot.deliver(self.user.user, raw)
        result = cli(self.config, "poll", "--once", "--at", f"2026-11-{day:02d}T02:00:00Z")
        assert result.exit_code == 0, result.output
        return self.smtp.sink.messages[before:]


@pytest.fixture
def week(
    tmp_path: Path, smtp_server: SmtpServer, database_url: str, mailbox_user: MailUser,
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
) -> Week:  # fmt: skip
    monkeypatch.setenv("TEST_IMAP_PASSWORD", "secret")
    data = week_practice(smtp_server, database_url, mailbox_user)
    config = write_practice(tmp_path / "checkin.yaml", data)
    w = Week(config, smtp_server, dovecot, mailbox_user)
    for day in range(23, 30):
        sent = w.checkins(day)
        w.replies(day, *traffic(day, sent))
        if day == 26:
            alerts = [
                m for m in smtp_server.sink.messages if m["Subject"].startswith("Safety alert")
            ]
            assert [a["To"].addresses[0].addr_spec for a in alerts] == ["robin@practice.test"]
    return w


def traffic(day: int, sent: dict[str, EmailMessage]) -> list[bytes]:
    """What came back each day; `sent` holds the day's check-ins by client."""
    out = []
    if day == 23:
        out.append(reply(sent["alex"], "Yes, I'd say a 7. My shoulders were tight at first."))
    if day == 24:
        out.append(
            reply(
                sent["alex"], "Partly, maybe a 5. Sam said yes <script>alert(1)</script> {{ 7*7 }}"
            )
        )
        out.append(
            reply(sent["lee"], "1) yes 2) 8 3) Easier than I thought.", sender="lee@client.test")
        )
        out.append(reply(sent["jo"], "STOP", sender="jo@client.test"))
        out.append(bounce_for("sam@client.test", sent["sam"]))
    if day == 25:
        out.append(reply(sent["alex"], "I am away until Monday.", Auto_Submitted="auto-replied"))
        out.append(reply(sent["lee"], "PAUSE until 2026-12-10", sender="lee@client.test"))
    if day == 26:
        out.append(reply(sent["alex"], "Didn't try it. Honestly I keep thinking of ending it all."))
    if day == 27:
        out.append(reply(sent["alex"], "Yes, 9, loved it", sender="mallory@evil.test"))
        out.append(reply(None, "SECRETWORDS from a stranger", sender="stranger@else.test"))
    return out


def digests(smtp: SmtpServer) -> dict[str, list[EmailMessage]]:
    found: dict[str, list[EmailMessage]] = {}
    for m in smtp.sink.messages:
        if m["Subject"].startswith("Weekly check-in digest"):
            found.setdefault(m["To"].addresses[0].addr_spec, []).append(m)
    return found


def test_each_therapist_gets_one_digest_of_exactly_their_clients(week: Week) -> None:
    cli(week.config, "send-due", "--at", DIGEST_AT)
    cli(week.config, "send-due", "--at", DIGEST_AT)  # a restart at digest time
    sent = digests(week.smtp)
    assert {k: len(v) for k, v in sent.items()} == {
        "robin@practice.test": 1,
        "kim@practice.test": 1,
    }
    [robin], [kim] = sent["robin@practice.test"], sent["kim@practice.test"]
    assert robin["Subject"] == "Weekly check-in digest, 23-29 Nov"
    robin_text = robin.get_body(("plain",)).get_content()
    kim_text = kim.get_body(("plain",)).get_content()
    assert "Alex" in robin_text and "Sam" in robin_text
    assert "Lee" not in robin_text and "Jo " not in robin_text
    assert "Lee" in kim_text and "Jo" in kim_text
    assert "Alex" not in kim_text and "shoulders" not in kim_text and "loved it" not in kim_text
    for text in (robin_text, kim_text):  # an unknown sender: that it came, never its words
        assert "stranger@else.test" in text and "SECRETWORDS" not in text
    html = robin.get_body(("html",)).get_content()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>" not in html
    flat = " ".join(robin_text.split())  # the plain text wraps long quotes
    assert "{{ 7*7 }}" in html and "{{ 7*7 }}" in flat  # shown, never evaluated
    assert "ending it all" in robin_text  # the risk sentence, up top


def test_the_digest_counts_and_flags(week: Week) -> None:
    result = cli(
        week.config, "digest", "--therapist", "robin", "--week", "2026-W48", "--format", "json"
    )
    data = json.loads(result.output)
    clients = {c["client_id"]: c for c in data["clients"]}
    assert set(clients) == {"alex", "sam"}
    alex = clients["alex"]
    [breathing] = alex["experiments"]
    assert (breathing["sent"], breathing["ratings"]) == (7, [7, 5])
    assert breathing["tried"] == {"yes": 1, "partly": 1, "no": 1}
    assert alex["risk"] is True and len(alex["auto_replies"]) == 1
    sam = clients["sam"]
    assert sam["quiet"] is True and sam["bounces"][0]["address"] == "sam@client.test"
    kinds = [a["kind"] for a in data["attention"]]
    assert {"risk", "quiet", "bounce", "unattributed"} <= set(kinds)
    kim = json.loads(cli(week.config, "digest", "--therapist", "kim", "--week", "2026-W48",
                         "--format", "json").output)  # fmt: skip
    commands = {c["client_id"]: [x["command"] for x in c["commands"]] for c in kim["clients"]}
    assert commands == {"lee": ["pause"], "jo": ["stop"]}
    status = {c["client_id"]: c["status"] for c in kim["clients"]}
    assert status == {"lee": "paused", "jo": "stopped"}
    later = json.loads(cli(week.config, "digest", "--therapist", "kim", "--week", "2026-W51",
                           "--format", "json").output)  # fmt: skip
    # Lee's pause ran out on 10 December: that week's digest must not call them paused.
    assert {c["client_id"]: c["status"] for c in later["clients"]} == {
        "lee": "active",
        "jo": "stopped",
    }


def test_send_on_demand_is_still_once(week: Week) -> None:
    send = ("digest", "--therapist", "kim", "--week", "2026-W48", "--send", "--at", DIGEST_AT)
    first = cli(week.config, *send)
    again = cli(week.config, *send)
    assert "sent." in first.output and "not sent again" in again.output
    cli(week.config, "send-due", "--at", DIGEST_AT)
    assert len(digests(week.smtp)["kim@practice.test"]) == 1
