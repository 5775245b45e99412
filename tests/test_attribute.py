"""Whose message is it: the right client, or nobody, never the wrong one."""

from __future__ import annotations

from checkin.core.attribute import Attribution, Sent, attribute, token_hash, tokens_in

TOKEN = "abcdefghijklmnopqrstuvwxyz"[:26].replace("a", "2")
CHECKIN = Sent(1, "checkin", "alex", "breathing", TOKEN)
NUDGE = Sent(2, "nudge", "alex", "breathing", None, parent_id=1)
ADDRESSES = {"alex@example.net": "alex", "alex@work.example": "alex", "sam@example.org": "sam"}


class Lookup:
    def __init__(self, *sent: Sent, message_ids: dict[str, Sent] | None = None, open_=None):
        self.sent = {s.outbox_id: s for s in sent}
        self.message_ids = message_ids or {}
        self.open = open_ or {}

    def by_token_hash(self, digest: str) -> Sent | None:
        return next(
            (s for s in self.sent.values() if s.token and token_hash(s.token) == digest), None
        )

    def by_message_id(self, message_id: str) -> Sent | None:
        return self.message_ids.get(message_id)

    def by_id(self, outbox_id: int) -> Sent | None:
        return self.sent.get(outbox_id)

    def open_checkin(self, client_id: str) -> Sent | None:
        return self.open.get(client_id)


def test_tokens_are_found_in_any_case_and_only_in_our_shape() -> None:
    assert tokens_in([f"Checkin+{TOKEN.upper()}@harbour.example"]) == [TOKEN]
    assert tokens_in(["checkin+short@harbour.example", "alex@example.net"]) == []


def test_token_from_the_clients_address_attributes_to_that_checkin() -> None:
    who = attribute(
        "alex@example.net", [f"checkin+{TOKEN}@h.example"], [], ADDRESSES, Lookup(CHECKIN)
    )
    assert who == Attribution("token", "alex", 1, "breathing")


def test_second_address_of_the_same_client_counts() -> None:
    who = attribute(
        "ALEX@work.example", [f"checkin+{TOKEN}@h.example"], [], ADDRESSES, Lookup(CHECKIN)
    )
    assert who.client_id == "alex" and who.outbox_id == 1


def test_a_valid_token_from_someone_else_is_not_attributed() -> None:
    for sender in ("sam@example.org", "mallory@evil.example"):
        who = attribute(sender, [f"checkin+{TOKEN}@h.example"], [], ADDRESSES, Lookup(CHECKIN))
        assert who.how == "unattributed" and who.client_id is None
        assert "alex" in (who.reason or "") and "not one of their addresses" in (who.reason or "")
        assert who.suspected == "alex"


def test_a_wrong_token_falls_back_to_the_sender() -> None:
    wrong = "z" * 26
    who = attribute("alex@example.net", [f"checkin+{wrong}@h.example"], [], ADDRESSES,
                    Lookup(CHECKIN, open_={"alex": CHECKIN}))  # fmt: skip
    assert who == Attribution("sender", "alex", 1, "breathing")


def test_thread_ids_match_when_the_token_was_stripped() -> None:
    lookup = Lookup(CHECKIN, NUDGE, message_ids={"<nudge@h.example>": NUDGE})
    who = attribute(
        "alex@example.net", ["checkin@h.example"], ["<nudge@h.example>"], ADDRESSES, lookup
    )
    assert who == Attribution("thread", "alex", 1, "breathing")  # the nudge's check-in


def test_sender_without_an_open_checkin_is_an_out_of_session_note() -> None:
    who = attribute("sam@example.org", ["checkin@h.example"], [], ADDRESSES, Lookup())
    assert who == Attribution("note", "sam")


def test_unknown_sender_is_unattributed() -> None:
    who = attribute("someone@else.example", ["checkin@h.example"], [], ADDRESSES, Lookup())
    assert who.how == "unattributed" and who.reason == "sender is not a client's address"
