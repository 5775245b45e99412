"""The weekly digest: one therapist's week as data, then as an email that names nobody outside."""

from __future__ import annotations

import json
import re
from dataclasses import FrozenInstanceError, fields, is_dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from checkin.core.digest import (
    Digest,
    ReplyItem,
    SentItem,
    StatusItem,
    build_digest,
    digest_context,
    digest_json,
    is_defeat,
    is_victory,
    short,
    sparkline,
    trend,
    week_label,
)
from checkin.mail.compose import Rendered, Templates
from checkin.practice import (
    Cadence,
    Client,
    DigestTime,
    Experiment,
    Mail,
    Practice,
    Server,
    Therapist,
)

LONDON = ZoneInfo("Europe/London")
DUBLIN = ZoneInfo("Europe/Dublin")
NEW_YORK = ZoneInfo("America/New_York")
MAIL = Mail(from_addr="x <x@p.example>", smtp=Server(host="127.0.0.1", port=25, security="none"))
# Robin's digest window: Sunday 15 Nov 18:00 to Sunday 22 Nov 18:00 (London = UTC in November).
START = datetime(2026, 11, 15, 18, tzinfo=UTC)
END = datetime(2026, 11, 22, 18, tzinfo=UTC)
SCRIPT = "<script>alert(1)</script>"
LONG_URL = "https://example.org/" + "averylongpathsegment" * 8  # no break opportunity at all


def experiment(eid: str, title: str) -> Experiment:
    return Experiment(
        id=eid, title=title, cadence=Cadence(time=time(19)), start=date(2026, 11, 1), end=None,
        quiet_hours=None, nudge_after=timedelta(days=2), catch_up=timedelta(hours=6),
    )  # fmt: skip


def client(cid: str, name: str | None, therapist: str, *experiments: Experiment) -> Client:
    return Client(
        id=cid, name=name, emails=(f"{cid}@example.net",), therapist=therapist,
        timezone=NEW_YORK if cid == "kim" else LONDON, consent=date(2026, 11, 1),
        experiments=experiments,
    )  # fmt: skip


ASK = experiment("ask", "Ask one person for something small")
WALK = experiment("walk", "A ten-minute walk after dinner")
PRACTICE = Practice(
    name="Harbour Counselling",
    timezone=LONDON,
    mail=MAIL,
    database="sqlite://",
    templates=None,
    therapists=(
        Therapist("robin", "Robin", "robin@p.test", LONDON, DigestTime(6, time(18))),
        Therapist("sam", "Sam Okafor", "sam@p.test", DUBLIN, DigestTime(6, time(18), "ids")),
    ),
    clients=(
        client("alex", "Alex", "robin", ASK, WALK),
        client("jo", "Jo", "robin", WALK),
        client("kim", "Kim", "robin", ASK),
        client("lee", None, "robin", ASK),
        client("pat", "Pat", "robin", WALK),
        client("dana", "Dana", "robin"),
        client("morgan", "Morgan", "sam", ASK),
        client("riley", "Riley", "sam", WALK),
    ),
)


def at(day: int, hour: int = 19, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


def sent(
    oid: int, cid: str, eid: str | None, when: datetime | None, answered: datetime | None = None,
    *, kind: str = "checkin", status: str = "sent", error: str | None = None,
) -> SentItem:  # fmt: skip
    return SentItem(
        outbox_id=oid, client_id=cid, experiment_id=eid, kind=kind, slot=None, status=status,
        sent_at=when, answered_at=answered, last_error=error,
    )  # fmt: skip


_REPLY_DEFAULTS: dict[str, Any] = dict(
    client_id=None, suspected_client_id=None, experiment_id=None, outbox_id=None,
    kind="answer", attribution="token", reason=None, needs_review=False, command=None,
    pause_until=None, text=None, tried=None, rating=None, noticed=None, next_time=None,
    risk=False, risk_reasons=(), bounced_address=None, sender=None,
)  # fmt: skip


def reply(rid: int, when: datetime, **fields: Any) -> ReplyItem:
    return ReplyItem(reply_id=rid, received_at=when, **{**_REPLY_DEFAULTS, **fields})


SENT = [
    # Alex: three "ask" check-ins, two answered; two "walk" ones, one answered (the risk reply).
    sent(1, "alex", "ask", at(16), at(17, 8)),
    sent(2, "alex", "ask", at(18), None),
    sent(3, "alex", "ask", at(20), at(20, 21)),
    sent(4, "alex", "walk", at(17), at(18, 22)),
    sent(5, "alex", "walk", at(19), None),
    sent(6, "alex", "ask", at(17, 19), kind="nudge"),
    # Jo answered last week, then went quiet for three check-ins.
    sent(10, "jo", "walk", at(13), at(13, 21)),
    sent(11, "jo", "walk", at(16), None),
    sent(12, "jo", "walk", at(18), None),
    sent(13, "jo", "walk", at(20), None),
    # Kim answered once, then paused.
    sent(20, "kim", "ask", at(16), at(16, 20)),
    # Lee: two unanswered, then stopped: they told us, so not "gone quiet".
    sent(30, "lee", "ask", at(15, 19), None),
    sent(31, "lee", "ask", at(16), None),
    # Pat: one went and bounced, one could not be sent at all.
    sent(40, "pat", "walk", at(16), None),
    sent(41, "pat", "walk", None, status="failed", error="550 5.1.1 mailbox unavailable"),
    # Sam's clients.
    sent(50, "morgan", "ask", at(17), at(17, 20)),
    sent(51, "morgan", "ask", at(19), None),
    sent(60, "riley", "walk", at(18), None),
]

REPLIES = [
    reply(1, at(17, 8), client_id="alex", experiment_id="ask", outbox_id=1, tried="partly",
          rating=4, noticed="My chest got tight,\n\nbut I asked anyway.", text="partly, 4. My chest got tight, but I asked anyway."),
    reply(2, at(18, 22), client_id="alex", experiment_id="walk", outbox_id=4, tried="no", rating=2,
          text="Didn't go out. Some days I don't see the point of going on. It was a bad day.",
          risk=True, needs_review=True, risk_reasons=("Some days I don't see the point of going on.",)),
    reply(3, at(19, 9), client_id="alex", kind="auto_reply", outbox_id=5, text="I am out of the office until Monday."),
    reply(4, at(20, 21), client_id="alex", experiment_id="ask", outbox_id=3, tried="yes", rating=6,
          noticed=f"Sam said yes straight away {SCRIPT} {{{{ 7*7 }}}} and I felt silly for worrying",
          next_time="ask earlier in the day"),
    reply(5, at(21, 10), client_id="alex", attribution="note",
          text=f"Just wanted to say the breathing helped on the train. I read {LONG_URL} about it. "
          + "It went on and on. " * 30),
    reply(20, at(16, 20), client_id="kim", experiment_id="ask", outbox_id=20, tried="yes", rating=8,
          noticed="Easier than I thought."),
    reply(21, at(20, 9), client_id="kim", kind="command", command="pause",
          pause_until=date(2026, 12, 3), text="PAUSE until 3 December"),
    reply(30, at(17, 7), client_id="lee", kind="command", command="stop", text="STOP"),
    reply(40, at(16, 19, 5), client_id="pat", kind="bounce", attribution="thread",
          bounced_address="pat@example.net", sender="mailer-daemon@mx.example.net", needs_review=True),
    # Someone else replied with Riley's (Sam's client's) token: never in Robin's digest.
    reply(60, at(18, 12), kind="answer", attribution="unattributed", suspected_client_id="riley",
          reason="token matched client riley, but the sender is not one of their addresses",
          text="Riley's private words", sender="partner@example.org", needs_review=True),
    # Nobody can place this one: every therapist sees that it came, never what it says.
    reply(61, at(19, 14), kind="answer", attribution="unattributed",
          reason="sender is not a client's address", text="A secret from nobody",
          sender="stranger@elsewhere.example", needs_review=True),
    reply(50, at(17, 20), client_id="morgan", experiment_id="ask", outbox_id=50, tried="yes",
          rating=7, noticed="Morgan noticed a thing.", next_time="do it at lunch"),
    reply(51, at(20, 8), client_id="morgan", kind="too_large", attribution="token",
          reason="over the size limit (40000000 bytes): only its headers were stored", needs_review=True),
]  # fmt: skip

STATUSES = {
    "kim": StatusItem("kim", "paused", datetime(2026, 12, 3, 5, tzinfo=UTC), ()),  # NY midnight
    "lee": StatusItem("lee", "stopped", None, ()),
    "pat": StatusItem("pat", "active", None, ("pat@example.net",)),
}
HISTORY = {("alex", "ask"): [2, 3, 3], ("alex", "walk"): [5, 5], ("morgan", "ask"): [7]}


def digest(therapist: str = "robin", **changes: Any) -> Digest:
    rows: dict[str, Any] = dict(sent=SENT, replies=REPLIES, statuses=STATUSES, history=HISTORY)
    rows.update(changes)
    return build_digest(PRACTICE, therapist, START, END, **rows)


def render(d: Digest) -> Rendered:
    return Templates().render("digest", digest_context(d))


def by_id(d: Digest) -> dict[str, Any]:
    return {c.client_id: c for c in d.clients}


# --- whose ------------------------------------------------------------------------------------


def test_each_digest_has_exactly_its_therapists_clients() -> None:
    assert sorted(by_id(digest("robin"))) == ["alex", "dana", "jo", "kim", "lee", "pat"]
    assert sorted(by_id(digest("sam"))) == ["morgan", "riley"]


def test_names_by_default_ids_when_the_therapist_asks_or_there_is_no_name() -> None:
    robin = by_id(digest("robin"))
    assert robin["alex"].name == "Alex" and robin["lee"].name == "lee"
    sam = by_id(digest("sam"))
    assert sam["morgan"].name == "morgan" and sam["riley"].name == "riley"
    text = render(digest("sam")).text
    assert "Morgan" not in text.replace("Morgan noticed", "") and "morgan (active)" in text


def test_another_therapists_suspected_message_never_appears() -> None:
    robin = digest("robin")
    assert all(a.client_id != "riley" for a in robin.attention)
    r = render(robin)
    assert "Riley" not in r.text + r.html and "partner@example.org" not in r.text + r.html
    sam = digest("sam")
    (item,) = [a for a in sam.attention if a.client_id == "riley"]
    assert item.kind == "unattributed" and item.quotes == ("Riley's private words",)
    assert item.sender == "partner@example.org"


def test_an_unknown_senders_message_shows_who_and_when_but_not_its_words() -> None:
    for therapist in ("robin", "sam"):
        d = digest(therapist)
        (item,) = [a for a in d.attention if a.sender == "stranger@elsewhere.example"]
        assert item.kind == "unattributed" and item.quotes == () and item.client_id is None
        assert item.at == at(19, 14) and "sender is not a client's address" in item.detail
        r = render(d)
        assert "stranger@elsewhere.example" in r.text and "stranger@elsewhere.example" in r.html
        assert "A secret from nobody" not in r.text + r.html + json.dumps(digest_json(d))


def test_rows_about_other_clients_are_ignored_even_if_passed_in() -> None:
    d = digest("robin")
    assert d.sent == 5 + 3 + 1 + 2 + 1  # alex, jo (one was last week), kim, lee, pat
    assert "Morgan noticed" not in render(d).text


def test_an_unknown_senders_risk_message_is_listed_as_risk_without_its_sentences() -> None:
    flagged = reply(70, at(19, 15), attribution="unattributed", reason="sender is not a client's address",
                    text="I want to end it", risk=True, risk_reasons=("I want to end it",),
                    sender="someone@else.example")  # fmt: skip
    d = digest("robin", replies=[*REPLIES, flagged])
    (item,) = [a for a in d.attention if a.sender == "someone@else.example"]
    assert item.kind == "risk" and item.quotes == () and "you were alerted" in item.detail
    assert "I want to end it" not in render(d).text


# --- counts and words -------------------------------------------------------------------------


def test_per_experiment_counts_ratings_and_trend() -> None:
    alex = by_id(digest())["alex"]
    ask, walk = alex.experiments
    assert (ask.experiment_id, ask.sent, ask.answered) == (
        "ask",
        3,
        2,
    )  # the nudge is not a check-in
    assert (ask.tried.yes, ask.tried.partly, ask.tried.no) == (1, 1, 0)
    assert ask.ratings == (4, 6) and ask.trend == "up"  # 5.0 against 2.67 before
    assert (walk.sent, walk.answered, walk.ratings, walk.trend) == (2, 1, (2,), "down")
    assert (alex.sent, alex.answered, alex.tried.no) == (5, 3, 1)


def test_an_out_of_office_is_not_an_answer() -> None:
    alex = by_id(digest())["alex"]
    walk = alex.experiments[1]
    assert walk.answers == 1 and walk.answered == 1  # check-in 5 got only the auto-reply
    assert alex.auto_replies == (at(19, 9),)
    assert "out of the office" not in render(digest()).text


def test_the_clients_words_noticed_and_plans() -> None:
    ask = by_id(digest())["alex"].experiments[0]
    assert [q.text for q in ask.quotes] == [
        "My chest got tight, but I asked anyway.",  # whitespace collapsed
        f"Sam said yes straight away {SCRIPT} {{{{ 7*7 }}}} and I felt silly for worrying",
    ]
    assert [q.source for q in ask.quotes] == ["noticed", "noticed"]
    assert [q.text for q in ask.plans] == ["ask earlier in the day"]


def test_victories_and_defeats() -> None:
    alex = by_id(digest())["alex"]
    ask, walk = alex.experiments
    assert [m.at for m in ask.victories] == [at(20, 21)]  # tried yes, 6
    assert ask.defeats == ()  # partly, 4: neither
    assert [(m.tried, m.rating) for m in walk.defeats] == [("no", 2)]
    assert is_victory("partly", 7) and not is_victory("partly", 6) and is_victory("yes", None)
    assert is_defeat("no", 9) and is_defeat(None, 3) and not is_defeat("partly", 4)
    assert is_victory("yes", 2) and is_defeat("yes", 2)  # did it, and it was awful: both


def test_quotes_are_capped_and_only_the_first_few_shown() -> None:
    answers = [
        reply(100 + i, at(16, 8 + i), client_id="jo", experiment_id="walk", tried="yes", text=f"walk {i} " + "x" * 400)
        for i in range(5)
    ]  # fmt: skip
    walk = by_id(digest(replies=answers))["jo"].experiments[0]
    assert len(walk.quotes) == 3 and walk.more_quotes == 2
    assert all(len(q.text) <= 280 and q.text.endswith("…") for q in walk.quotes)
    assert walk.quotes[0].text.startswith("walk 0")
    assert "(and 2 more)" in render(digest(replies=answers)).text


def test_short_cuts_at_a_word_and_drops_control_characters() -> None:
    assert short("one two three", 9) == "one two…"
    assert short("\x1b[31mred\x1b[0m\u202eevil\n\nline") == "[31mred [0mevil line"
    assert len(short("x" * 1000)) == 280


def test_out_of_session_notes_commands_bounces_and_status() -> None:
    d = by_id(digest())
    assert [n.text[:40] for n in d["alex"].notes] == ["Just wanted to say the breathing helped "]
    assert len(d["alex"].notes[0].text) <= 280
    kim = d["kim"]
    assert kim.status == "paused" and kim.paused_until == date(2026, 12, 3)  # Kim's own date
    assert [(c.command, c.until) for c in kim.commands] == [("pause", date(2026, 12, 3))]
    lee = d["lee"]
    assert lee.status == "stopped" and [c.command for c in lee.commands] == ["stop"]
    pat = d["pat"]
    assert [(b.address, b.at) for b in pat.bounces] == [("pat@example.net", at(16, 19, 5))]
    assert pat.failed == 1 and pat.needs_attention
    assert d["dana"].experiments == () and not d["dana"].heard_from


def test_gone_quiet_counts_unanswered_check_ins_newest_first() -> None:
    d = by_id(digest())
    assert (d["jo"].unanswered, d["jo"].quiet, d["jo"].needs_attention) == (3, True, True)
    assert d["alex"].unanswered == 0  # check-in 5 is unanswered, but Alex wrote since
    assert not d["lee"].quiet  # stopped: they told us
    assert not d["kim"].quiet and not d["pat"].quiet  # pat: one sent, one failed


def test_a_client_who_writes_but_skips_the_questions_has_not_gone_quiet() -> None:
    note = reply(200, at(21, 9), client_id="jo", attribution="note", text="Sorry, busy week!")
    assert not by_id(digest(replies=[*REPLIES, note]))["jo"].quiet


# --- attention --------------------------------------------------------------------------------


def test_attention_lists_risk_first_then_silence_bounces_and_strays() -> None:
    d = digest()
    kinds = [(a.kind, a.client_id) for a in d.attention]
    assert kinds == [
        ("risk", "alex"),
        ("quiet", "jo"),
        ("bounce", "pat"),
        ("failed", "pat"),
        ("unattributed", None),
    ]
    risk = d.attention[0]
    assert risk.quotes == ("Some days I don't see the point of going on.",)
    assert risk.at == at(18, 22) and "you were alerted" in risk.detail
    sam = digest("sam")
    assert [(a.kind, a.client_id) for a in sam.attention] == [
        ("unattributed", "riley"),
        ("unattributed", None),
        ("not_understood", "morgan"),
    ]


def test_risk_sentences_not_the_whole_text_in_attention() -> None:
    r = render(digest())
    attention = r.text.split("NEEDS ATTENTION")[1].split("------")[0]
    assert "Some days I don't see the point of going on." in attention
    assert "It was a bad day" not in attention
    assert "you were alerted" in attention


def test_a_quiet_week_says_so_plainly() -> None:
    d = digest(replies=[])
    assert d.quiet_week
    assert not digest().quiet_week
    r = render(d)
    assert "A QUIET WEEK: nothing came back from anyone" in r.text
    assert "A quiet week." in r.html
    nothing = digest(sent=[], replies=[], statuses={})
    assert nothing.quiet_week and nothing.attention == ()
    assert "Nothing this week." in render(nothing).text
    assert "Nothing needs attention this week." in render(nothing).html


# --- JSON -------------------------------------------------------------------------------------


def test_json_carries_the_same_facts() -> None:
    data = json.loads(json.dumps(digest_json(digest())))  # JSON-able all the way down
    assert data["week"] == "16-22 Nov" and data["zone"] == "Europe/London"
    assert data["start"] == "2026-11-15T18:00:00+00:00" and data["quiet_week"] is False
    clients = {c["client_id"]: c for c in data["clients"]}
    alex = clients["alex"]
    assert (alex["sent"], alex["answered"], alex["tried"]) == (
        5,
        3,
        {"yes": 1, "partly": 1, "no": 1},
    )
    ask = alex["experiments"][0]
    assert ask["ratings"] == [4, 6] and ask["trend"] == "up" and ask["sparkline"] == "▄▆"
    assert ask["plans"][0]["text"] == "ask earlier in the day"
    assert ask["plans"][0]["at"] == "2026-11-20T21:00:00+00:00"
    assert alex["notes"][0]["source"] == "note" and alex["risk"] is True
    assert clients["jo"]["quiet"] is True and clients["jo"]["unanswered"] == 3
    assert clients["kim"]["paused_until"] == "2026-12-03"
    assert clients["kim"]["commands"] == [
        {"at": "2026-11-20T09:00:00+00:00", "command": "pause", "until": "2026-12-03"}
    ]
    assert clients["pat"]["bounces"] == [
        {"address": "pat@example.net", "at": "2026-11-16T19:05:00+00:00"}
    ]
    assert data["attention"][0]["kind"] == "risk"


# --- helpers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ratings", "line"),
    [([], ""), ([0, 10], "▁█"), ([4, 6], "▄▆"), ([1, 2, 3, 5, 7, 8], "▂▃▄▅▆▇"), ([-3, 12], "▁█")],
)
def test_sparkline_is_a_fixed_0_to_10_scale(ratings: list[int], line: str) -> None:
    assert sparkline(ratings) == line


def test_trend_needs_a_point_of_change() -> None:
    assert trend([5, 6], [4, 5]) == "up"
    assert trend([5], [5.5, 5.5]) == "steady"  # type: ignore[list-item]
    assert trend([3], [4, 5]) == "down"
    assert trend([], [5]) is None and trend([5], []) is None


@pytest.mark.parametrize(
    ("start", "end", "label"),
    [
        (START, END, "16-22 Nov"),  # Sunday 18:00 to Sunday 18:00: the Monday-to-Sunday week
        (datetime(2026, 11, 16, tzinfo=UTC), datetime(2026, 11, 23, tzinfo=UTC), "16-22 Nov"),
        (
            datetime(2026, 11, 29, 18, tzinfo=UTC),
            datetime(2026, 12, 6, 18, tzinfo=UTC),
            "30 Nov - 6 Dec",
        ),
        (
            datetime(2026, 12, 27, 18, tzinfo=UTC),
            datetime(2027, 1, 3, 18, tzinfo=UTC),
            "28 Dec - 3 Jan",
        ),
        (START, START, "15 Nov"),
    ],
)
def test_week_label(start: datetime, end: datetime, label: str) -> None:
    assert week_label(start, end, LONDON) == label


def test_week_label_is_in_the_therapists_zone() -> None:
    # Sunday 18:00 in Auckland is Sunday 05:00 UTC.
    start, end = datetime(2026, 11, 15, 5, tzinfo=UTC), datetime(2026, 11, 22, 5, tzinfo=UTC)
    assert week_label(start, end, ZoneInfo("Pacific/Auckland")) == "16-22 Nov"


# --- the email --------------------------------------------------------------------------------


def test_subject_and_preview_carry_no_names_or_words() -> None:
    for therapist in ("robin", "sam"):
        r = render(digest(therapist))
        assert r.subject == "Weekly check-in digest, 16-22 Nov"
        preheader = re.search(r'<div style="display:none[^>]*>(.*?)</div>', r.html, re.S)
        assert preheader is not None
        visible = re.sub(r"&#847;|&zwnj;|&nbsp;", "", preheader.group(1))
        assert visible == "Your weekly check-in digest, 16-22 Nov"
        # Apple Mail previews the text part: its first lines name nobody either.
        opening = "\n".join(r.text.splitlines()[:4])
        assert not any(c.name in opening for c in PRACTICE.clients if c.name)


def test_html_escapes_client_words_and_never_evaluates_them() -> None:
    r = render(digest())
    assert SCRIPT not in r.html and "&lt;script&gt;alert(1)&lt;/script&gt;" in r.html
    assert "{{ 7*7 }}" in r.html and "49" not in r.html
    assert "<script" not in r.html.lower()
    assert SCRIPT in r.text and "{{ 7*7 }}" in r.text and "49" not in r.text


def test_html_loads_nothing_from_the_network() -> None:
    html = render(digest()).html
    assert not re.search(r"<(link|img|script|iframe|object|embed|video|audio|source)\b", html, re.I)
    assert not re.search(r"\b(src|href|background|action|poster|srcset)\s*=", html, re.I)
    assert "url(" not in html and "@import" not in html
    without_client_words = html.replace(LONG_URL[:40], "")
    assert "http://" not in without_client_words and "https://" not in without_client_words


def test_html_has_the_layout_facts() -> None:
    html = render(digest()).html
    assert "max-width:600px" in html and "overflow-wrap:anywhere" in html
    assert "word-break:break-word" in html
    assert 'name="viewport"' in html
    # The ratings as bars: one 40px cell per rating whose pale top border is the part not
    # reached, 4px a point. Alex rated 4 and 6, then 2; Kim 8.
    gaps = re.findall(r"border-top:(\d+)px solid #e6ebe7", html)
    assert gaps == ["24", "16", "32", "8"]
    assert [int(g) for g in gaps] == [40 - 4 * r for r in (4, 6, 2, 8)]


def test_plain_text_reads_in_a_terminal() -> None:
    text = render(digest()).text
    assert "3 sent, 2 answered; tried: 1 yes, 1 partly; ratings 4 6 ▄▆ (up)" in text
    assert "2 sent, 1 answered; tried: 1 no; ratings 2 ▃ (down)" in text
    assert not any(line.lstrip().startswith(">") for line in text.splitlines())
    assert text.index("NEEDS ATTENTION") < text.index("Alex (active)")
    assert "Kim (paused until Thu 3 Dec)" in text
    assert "Asked to pause until Thu 3 Dec, Fri 20 Nov 09:00" in text
    assert "lee (stopped check-ins)" in text and "Dana (active)" in text
    assert "Nothing sent or received this week." in text
    assert "\x1b" not in text
    assert max(len(line) for line in text.splitlines() if LONG_URL[:30] not in line) <= 100


def test_a_practice_can_override_one_file(tmp_path: Any) -> None:
    (tmp_path / "digest-subject.txt").write_text("Digest {{ week }}\n")
    r = Templates(tmp_path).render("digest", digest_context(digest()))
    assert r.subject == "Digest 16-22 Nov" and "NEEDS ATTENTION" in r.text


def test_an_experiment_no_longer_configured_keeps_its_id_as_title() -> None:
    gone = replace(REPLIES[0], experiment_id="old-one")
    d = digest(replies=[gone])
    assert [e.title for e in by_id(d)["alex"].experiments] == [
        "Ask one person for something small",
        "A ten-minute walk after dinner",
        "old-one",
    ]


def test_rows_may_come_as_one_shot_iterators() -> None:
    once = build_digest(PRACTICE, "robin", START, END, iter(SENT), iter(REPLIES), STATUSES, HISTORY)
    assert once == digest("robin")


def test_the_digest_is_frozen_data_all_the_way_down() -> None:
    def walk(value: Any) -> None:
        if is_dataclass(value):
            assert type(value).__dataclass_params__.frozen, type(value)  # type: ignore[attr-defined]
            for f in fields(value):
                walk(getattr(value, f.name))
        else:
            assert not isinstance(value, list | dict | set), value

    d = digest()
    walk(d)
    with pytest.raises(FrozenInstanceError):
        d.quiet_week = True  # type: ignore[misc]
    hash(d.clients[0].experiments[0])  # usable as a key: no mutable parts


def busy_week(clients: int, experiments: tuple[Experiment, ...]) -> tuple[Practice, Digest]:
    """Every client answers three check-ins per experiment at length."""
    people = tuple(client(f"c{i:02}", f"Client {i}", "robin", *experiments) for i in range(clients))
    practice = replace(PRACTICE, clients=people)
    rows, answers = [], []
    for c in people:
        for e in experiments:
            for day in (16, 18, 20):
                n = len(rows) + 1
                rows.append(sent(n, c.id, e.id, at(day, 8), at(day, 20)))
                answers.append(reply(n, at(day, 20), client_id=c.id, experiment_id=e.id, outbox_id=n,
                                     tried="partly", rating=day % 11, noticed="n" * 400, next_time="p" * 120))  # fmt: skip
    return practice, build_digest(practice, "robin", START, END, rows, answers, {}, {})


def test_a_busy_week_quotes_less_per_experiment() -> None:
    _, calm = busy_week(4, (ASK, WALK))  # 8 experiments with answers: all three quotes
    assert {(len(e.quotes), len(e.plans)) for c in calm.clients for e in c.experiments} == {(3, 2)}
    _, busy = busy_week(25, (ASK, WALK))  # 50: one quote and the latest plan each
    first = busy.clients[0].experiments[0]
    assert (len(first.quotes), first.more_quotes, len(first.plans)) == (1, 2, 1)
    assert first.plans[0].at == at(20, 20)
    assert first.ratings == (5, 7, 9)  # counts and ratings are never cut


def test_a_full_caseload_stays_under_gmails_clipping_size() -> None:
    _, d = busy_week(15, (ASK,))
    html = render(d).html
    assert len(html.encode()) < 100_000  # Gmail hides the rest of a message past ~102 KB
