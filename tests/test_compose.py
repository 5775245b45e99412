"""Rendering: the client's words are data, escaped in HTML and never run as a template."""

from __future__ import annotations

from datetime import UTC, datetime

from checkin.mail.compose import Templates, build_message, reply_address


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
    raw = msg.as_bytes()
    assert b"=?utf-8?" in raw  # the name is encoded, not raw 8-bit, in the header
    assert msg.get_content_type() == "multipart/alternative"
    assert msg["Date"] == "Thu, 26 Nov 2026 19:00:00 +0000"
