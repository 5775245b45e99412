"""Whose message is this? Pure: the message's addresses and ids in, an attribution out.

In this order: our token in a recipient address, or our Message-ID in In-Reply-To/References
-> that check-in; otherwise the sender's address -> that client's open check-in, or an
out-of-session note. A token or thread whose sender is not one of that client's addresses is
*not* given to the client: the message is kept as unattributed, with the reason, for the
therapist to see. Tokens are checked with a constant-time comparison.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Protocol

# Our tokens: 26 characters of lower-case base32 after a '+' in the local part.
_TOKEN = re.compile(r"\+([a-z2-7]{26})@", re.IGNORECASE)


@dataclass(frozen=True)
class Sent:
    """A message we sent, as the store knows it."""

    outbox_id: int
    kind: str  # checkin, nudge, confirm ...
    client_id: str | None
    experiment_id: str | None
    token: str | None
    parent_id: int | None = None


@dataclass(frozen=True)
class Attribution:
    how: str  # token, thread, sender, note, unattributed
    client_id: str | None = None
    outbox_id: int | None = None  # the check-in this answers
    experiment_id: str | None = None
    reason: str | None = None
    suspected: str | None = None  # unattributed, but our token or thread pointed at this client


class Lookup(Protocol):
    def by_token_hash(self, digest: str) -> Sent | None: ...
    def by_message_id(self, message_id: str) -> Sent | None: ...
    def by_id(self, outbox_id: int) -> Sent | None: ...
    def open_checkin(self, client_id: str) -> Sent | None: ...


def token_hash(token: str) -> str:
    return hashlib.sha256(token.lower().encode("ascii", "replace")).hexdigest()


def tokens_in(addresses: Iterable[str]) -> list[str]:
    found = []
    for address in addresses:
        found += [m.lower() for m in _TOKEN.findall(address)]
    return list(dict.fromkeys(found))


def attribute(
    sender: str | None,
    recipients: Iterable[str],
    thread_ids: Iterable[str],
    addresses: Mapping[str, str],
    lookup: Lookup,
) -> Attribution:
    """`addresses` maps every client address (lower case) to its client id."""
    sent, how = _ours(recipients, thread_ids, lookup)
    sender = (sender or "").lower()
    if sent is not None:
        return _checked(sent, how, sender, addresses)
    client_id = addresses.get(sender)
    if client_id is None:
        return Attribution("unattributed", reason="sender is not a client's address")
    checkin = lookup.open_checkin(client_id)
    if checkin is None:
        return Attribution("note", client_id=client_id)
    return Attribution("sender", client_id, checkin.outbox_id, checkin.experiment_id)


def _ours(
    recipients: Iterable[str], thread_ids: Iterable[str], lookup: Lookup
) -> tuple[Sent | None, str]:
    for token in tokens_in(recipients):
        sent = lookup.by_token_hash(token_hash(token))
        if sent is not None and sent.token and hmac.compare_digest(sent.token, token):
            return _checkin_of(sent, lookup), "token"
    for message_id in thread_ids:
        sent = lookup.by_message_id(message_id.strip())
        if sent is not None:
            return _checkin_of(sent, lookup), "thread"
    return None, ""


def _checkin_of(sent: Sent, lookup: Lookup) -> Sent:
    """A reply to a nudge answers the check-in the nudge was about."""
    if sent.kind == "nudge" and sent.parent_id is not None:
        return lookup.by_id(sent.parent_id) or sent
    return sent


def _checked(sent: Sent, how: str, sender: str, addresses: Mapping[str, str]) -> Attribution:
    if sent.client_id is None:
        return Attribution("unattributed", reason=f"{how} matched a message to no client")
    if addresses.get(sender) != sent.client_id:
        return Attribution(
            "unattributed",
            reason=f"{how} matched client {sent.client_id}, but the sender is not one of "
            "their addresses",
            suspected=sent.client_id,
        )
    outbox_id = sent.outbox_id if sent.kind == "checkin" else None
    experiment_id = sent.experiment_id if sent.kind == "checkin" else None
    return Attribution(how, sent.client_id, outbox_id, experiment_id)
