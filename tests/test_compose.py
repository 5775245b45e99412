"""Rendering: the client's words are data, escaped in HTML and never run as a template."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from checkin.mail.compose import Rendered, Templates, build_message, reply_address


def context(**extra: object) -> dict[str, object]:
    return {
        "practice_name": "Harbour Counselling",
        "client_name": "Alex",
        "therapist_name": "Robin",
        "experiment_title": "Ask one person for something small",
        "day": "Thursday 26 November",
        "last_plan": None,
        **extra,
    }


def test_last_plan_is_recalled_and_escaped() -> None:
    plan = "ask Sam <b>before</b> lunch {{ 7 * 7 }}"
    rendered = Templates().render("checkin", context(last_plan=plan))
    assert 'Last time you thought you might: "ask Sam <b>before</b> lunch {{ 7 * 7 }}"' in (
        rendered.text
    )
    assert "ask Sam &lt;b&gt;before&lt;/b&gt; lunch {{ 7 * 7 }}" in rendered.html
    assert "49" not in rendered.text + rendered.html


def test_without_a_plan_nothing_is_recalled() -> None:
    rendered = Templates().render("checkin", context())
    assert "Last time" not in rendered.text and "Last time" not in rendered.html


def test_reply_address_keeps_the_mailbox_and_adds_the_token() -> None:
    assert (
        reply_address("Harbour <checkin@harbour.example>", "abc") == "checkin+abc@harbour.example"
    )
    assert reply_address("checkin+old@harbour.example", "abc") == "checkin+abc@harbour.example"


def test_message_is_multipart_alternative_with_utf8_subject() -> None:
    rendered = Templates().render("checkin", context(client_name="Zoë"))
    msg = build_message(
        from_addr="Harbour <checkin@harbour.example>",
        to="zoe@example.net",
        to_name="Zoë",
        rendered=rendered,
        message_id="<x@harbour.example>",
        now=datetime(2026, 11, 26, 19, tzinfo=UTC),
    )
    assert b"=?utf-8?" in msg.data  # the name is encoded, not raw 8-bit, in the header
    assert msg.data.isascii() and not msg.smtputf8
    parsed = msg.parsed()
    assert parsed.get_content_type() == "multipart/alternative"
    assert parsed["Date"] == "Thu, 26 Nov 2026 19:00:00 +0000"
    assert parsed["To"].addresses[0].display_name == "Zoë"
    assert (msg.sender, msg.recipient) == ("checkin@harbour.example", "zoe@example.net")


def test_every_line_ends_in_crlf_and_fits_smtp() -> None:
    rendered = Rendered("Hi", "a line\n" + "long " * 100 + "\n\n.dot first\n", "<p>x</p>")
    msg = build_message(
        from_addr="checkin@harbour.example", to="alex@example.net", rendered=rendered,
        message_id="<x@harbour.example>", now=datetime(2026, 11, 26, 19, tzinfo=UTC),
    )  # fmt: skip
    lines = msg.data.split(b"\r\n")
    assert b"\n" not in b"".join(lines) and b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 998
    body = msg.parsed().get_body(("plain",))
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == rendered.text


def test_international_domain_goes_as_idna_and_a_utf8_mailbox_asks_for_smtputf8() -> None:
    rendered = Rendered("Hi", "x\n", "<p>x</p>")
    common = {"rendered": rendered, "message_id": "<x@h.example>", "now": datetime.now(UTC)}
    idn = build_message(from_addr="c@harbour.example", to="zoe@bücher.example", **common)
    assert idn.recipient == "zoe@xn--bcher-kva.example" and not idn.smtputf8
    utf8 = build_message(from_addr="c@harbour.example", to="zoë@example.net", **common)
    assert utf8.recipient == "zoë@example.net" and utf8.smtputf8


# Names and words as clients and practices write them: any script, quotes, commas, emoji.
_words = st.text(
    st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="\x00"),
    max_size=120,
)


@settings(max_examples=150, deadline=None)
@given(name=_words, subject=_words, text=_words, html=_words)
def test_a_standard_parser_reads_back_exactly_what_was_written(
    name: str, subject: str, text: str, html: str
) -> None:
    subject = " ".join(subject.split())
    rendered = Rendered(subject, text, html)
    msg = build_message(
        from_addr="Harbour Counselling <checkin@harbour.example>", to="alex@example.net",
        to_name=name, rendered=rendered, message_id="<x@harbour.example>",
        now=datetime(2026, 11, 26, 19, tzinfo=UTC), reply_to="checkin+tok@harbour.example",
        in_reply_to="<parent@harbour.example>", unsubscribe="checkin+tok@harbour.example",
    )  # fmt: skip
    parsed = msg.parsed()
    assert not parsed.defects
    assert str(parsed["Subject"]) == subject
    to = parsed["To"].addresses[0]
    assert to.addr_spec == "alex@example.net"
    assert to.display_name == " ".join(name.split())
    assert parsed["Reply-To"].addresses[0].addr_spec == "checkin+tok@harbour.example"
    assert parsed["In-Reply-To"] == "<parent@harbour.example>"
    for subtype, body in (("plain", text), ("html", html)):
        part = parsed.get_body((subtype,))
        assert part is not None and not part.defects
        want = body.replace("\r\n", "\n").replace("\r", "\n")
        want = want if want.endswith("\n") else want + "\n"
        assert part.get_content().replace("\r\n", "\n") == want


def test_a_line_break_in_a_clients_message_id_cannot_add_a_header() -> None:
    msg = build_message(
        from_addr="checkin@harbour.example", to="alex@example.net",
        rendered=Rendered("Hi", "x\n", "<p>x</p>"), message_id="<x@harbour.example>",
        now=datetime(2026, 11, 26, 19, tzinfo=UTC),
        in_reply_to="<a@b>\r\nBcc: mallory@evil.test\rX-Evil: 1",
    )  # fmt: skip
    parsed = msg.parsed()
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert parsed["In-Reply-To"] == "<a@b>Bcc:mallory@evil.testX-Evil:1"
