"""mailbox -> store raw -> move -> understand -> attribute -> act.

Order matters for "nothing lost, nothing twice": a batch is stored (with the folder's
position) in one transaction *before* it is moved out of the watched folder; understanding
works from the database afterwards, one message at a time, each recorded with its effects in
one transaction. A crash anywhere leaves either a message still in the folder (fetched again,
its unique key stops a second copy) or a stored message not yet understood (picked up next).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import parseaddr

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from checkin.clock import Clock
from checkin.core import act
from checkin.core.attribute import Attribution, attribute, token_hash, tokens_in
from checkin.core.understand import Reply as Understood
from checkin.core.understand import understand
from checkin.jobs.send import send_pending
from checkin.mail.compose import Templates, domain_of
from checkin.mail.imap import Mailbox, watch
from checkin.practice import Practice
from checkin.store import inbox, outcomes
from checkin.store.inbox import Fetched
from checkin.store.models import RawMessage, Reply

log = logging.getLogger("checkin.ingest")

# A FETCH carries up to this many messages and this many bytes (a message over the size
# limit counts as its headers): few round trips and commits for a typical backlog, and
# memory bounded by the bytes whatever the backlog or the size of its messages. The byte
# cap is near a typical batch's weight, so that a long backlog (more batches, so a heavier
# heaviest one) does not raise the peak.
FETCH_MESSAGES = 250
FETCH_BYTES = 2 * 1024 * 1024
_HEADER_BYTES = 64 * 1024
SIZES_AT_ONCE = 1000  # UIDs whose sizes are asked for together
# Stored messages read, then recorded in one transaction: up to this many, and this many
# bytes of mail held at once.
UNDERSTAND_BATCH = 200
UNDERSTAND_BYTES = 2 * 1024 * 1024


@dataclass
class IngestReport:
    fetched: int = 0
    stored: int = 0
    understood: int = 0
    flagged: int = 0


def mailbox_name(practice: Practice) -> str:
    imap = practice.mail.imap
    assert imap is not None
    return f"{imap.username or ''}@{imap.host}:{imap.port}/{imap.folder}"


def fetch_new(practice: Practice, engine: Engine, mailbox: Mailbox, clock: Clock) -> IngestReport:
    """Store everything in the folder we have not stored, then move it to the done folder."""
    imap = practice.mail.imap
    assert imap is not None
    name, report = mailbox_name(practice), IngestReport()
    known = inbox.position(engine, name)
    if known is None or known[0] != mailbox.uidvalidity:
        inbox.restart_position(engine, name, mailbox.uidvalidity)
        known = (mailbox.uidvalidity, 0)
    uids = mailbox.all_uids()
    # Stored by an earlier pass that died before moving them: move, don't fetch again.
    mailbox.move([u for u in uids if u <= known[1]], imap.done_folder)
    limit = imap.max_message_bytes
    for group in _chunks([u for u in uids if u > known[1]], SIZES_AT_ONCE):
        sizes = mailbox.sizes(group)
        for batch in _batches(group, sizes, limit):
            fetched = _fetch(mailbox, batch, sizes, limit)
            report.fetched += len(fetched)
            report.stored += inbox.store(engine, name, mailbox.uidvalidity, fetched, clock.now())
            mailbox.move(batch, imap.done_folder)
    return report


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _batches(uids: list[int], sizes: dict[int, int], limit: int) -> Iterator[list[int]]:
    """Consecutive UIDs, up to FETCH_MESSAGES and FETCH_BYTES a batch (at least one)."""
    batch: list[int] = []
    held = 0
    for uid in uids:
        size = sizes.get(uid, 0)
        size = _HEADER_BYTES if size > limit else size
        if batch and (len(batch) >= FETCH_MESSAGES or held + size > FETCH_BYTES):
            yield batch
            batch, held = [], 0
        batch.append(uid)
        held += size
    if batch:
        yield batch


def _fetch(mailbox: Mailbox, uids: list[int], sizes: dict[int, int], limit: int) -> list[Fetched]:
    small = [u for u in uids if sizes.get(u, 0) <= limit]
    large = [u for u in uids if sizes.get(u, 0) > limit]
    bodies = mailbox.fetch(small) if small else {}
    headers = mailbox.fetch_headers(large) if large else {}
    fetched = [Fetched(u, bodies[u], sizes.get(u, len(bodies[u]))) for u in small if u in bodies]
    fetched += [Fetched(u, headers[u], sizes[u], headers_only=True) for u in large if u in headers]
    return sorted(fetched, key=lambda f: f.uid)


def process_stored(practice: Practice, engine: Engine, clock: Clock) -> IngestReport:
    """Understand and act on every stored message that has no reply row yet.

    A batch at a time: each message is read outside any transaction (pure CPU), then the
    batch is attributed and recorded in one transaction, message by message, so that each
    attribution sees what the messages before it answered.
    """
    report = IngestReport()
    addresses = client_addresses(practice)
    domain = domain_of(practice.mail.from_addr)
    for stored in inbox.unprocessed_batches(engine, UNDERSTAND_BATCH, UNDERSTAND_BYTES):
        read = [(raw, _read(raw)) for raw in stored]
        with outcomes.batch(engine, domain, clock.now()) as batch:
            batch.lookup.prefetch(*_questions(u for _, u in read))
            for raw, u in read:
                batch.record(*_outcome(practice, raw, u, batch.lookup, addresses))
        for row in batch.recorded:  # committed: now it is true
            report.understood += 1
            report.flagged += row.needs_review
            log.info(
                "message %s: %s, %s%s",
                row.raw_id,
                row.kind,
                row.attribution,
                ", needs review" if row.needs_review else "",
            )
    return report


def _questions(read: Iterable[Understood | str]) -> tuple[set[str], set[str]]:
    """The token hashes and Message-IDs attribution will look up for these messages."""
    hashes: set[str] = set()
    ids: set[str] = set()
    for u in read:
        if isinstance(u, str):
            continue
        hashes.update(token_hash(t) for t in tokens_in(u.recipients))
        threads = (u.in_reply_to, *u.references, u.bounced_message_id)
        ids.update(i.strip() for i in threads if i)
    return hashes, ids


def client_addresses(practice: Practice) -> dict[str, str]:
    return {e.lower(): c.id for c in practice.clients for e in c.emails}


def _read(raw: RawMessage) -> Understood | str:
    """What the message says, or the name of the error that stopped us reading it."""
    try:
        return understand(raw.raw)
    except Exception as exc:
        return type(exc).__name__


def _outcome(
    practice: Practice,
    raw: RawMessage,
    u: Understood | str,
    lookup: outcomes.StoreLookup,
    addresses: dict[str, str],
) -> tuple[Reply, list[act.Effect]]:
    """The reply row and its effects; an unreadable row when anything fails."""
    if not isinstance(u, str):
        try:
            return _understood(practice, raw, u, lookup, addresses)
        except (SQLAlchemyError, outcomes.BatchFailed):
            raise  # the database's trouble, not the message's: the batch is retried later
        except Exception as exc:
            u = type(exc).__name__
    # Kept raw and shown to the therapist; the exception's text may quote the message, so
    # only its type is logged.
    log.error("message %s could not be understood: %s", raw.id, u)
    return _unreadable(raw, u), []


def _understood(
    practice: Practice,
    raw: RawMessage,
    u: Understood,
    lookup: outcomes.StoreLookup,
    addresses: dict[str, str],
) -> tuple[Reply, list[act.Effect]]:
    if _doctor_probe(practice, raw):
        return _probe(raw), []
    if u.kind == "bounce":
        who = _bounce_owner(u, lookup)
        detail = f"bounce for {', '.join(u.bounce_recipients) or 'an unknown address'}"
        effects = act.bounce_effects(
            u.bounce_permanent, u.bounce_recipients, set(addresses), detail
        )
    else:
        threads = [i for i in (u.in_reply_to, *u.references) if i]
        who = attribute(u.sender, u.recipients, threads, addresses, lookup)
        client = practice.client(who.client_id or "")
        zone = client.timezone if client else None
        effects = act.effects(u.kind, u.command, u.pause_until, who, u.sender, u.message_id, zone)
        if u.risk:
            owner = who.client_id or who.suspected
            recipients = alert_recipients(practice, owner)
            effects += act.risk_effects(u.kind, u.sender, u.message_id, owner, recipients)
    kind = "too_large" if raw.headers_only else u.kind
    return _row(raw, u, who, kind), effects


def _doctor_probe(practice: Practice, raw: RawMessage) -> bool:
    """`checkin doctor`'s test message, from the practice to itself: kept, but nobody's news."""
    ours = parseaddr(practice.mail.from_addr)[1].lower()
    if raw.sender != ours:  # before parsing: nearly every message is a client's
        return False
    headers = BytesHeaderParser().parsebytes(inbox.header_block(raw.raw))
    return headers.get("X-Checkin-Doctor") is not None


def _probe(raw: RawMessage) -> Reply:
    assert raw.id is not None
    return Reply(
        raw_id=raw.id,
        received_at=raw.fetched_at,
        kind="auto_reply",
        attribution="unattributed",
        reason="checkin doctor's test message",
    )


def _unreadable(raw: RawMessage, error: str) -> Reply:
    assert raw.id is not None
    return Reply(
        raw_id=raw.id,
        received_at=raw.fetched_at,
        kind="unreadable",
        attribution="unattributed",
        reason=f"could not be understood ({error}); the raw message is kept",
        needs_review=True,
    )


def alert_recipients(practice: Practice, client_id: str | None) -> list[tuple[str, str | None]]:
    """The client's therapist; for a message nobody can place, every therapist; and the backup."""
    client = practice.client(client_id or "")
    therapists = [practice.therapist(client.therapist)] if client else list(practice.therapists)
    found = [(t.email, t.id) for t in therapists if t is not None]
    if practice.safety.backup_email:
        found.append((practice.safety.backup_email, None))
    return found


def _bounce_owner(u: Understood, lookup: outcomes.StoreLookup) -> Attribution:
    sent = lookup.by_message_id(u.bounced_message_id) if u.bounced_message_id else None
    if sent is None or sent.client_id is None:
        return Attribution("unattributed", reason="bounce for a message we cannot match")
    return Attribution("thread", sent.client_id, None, sent.experiment_id)


def _row(raw: RawMessage, u: Understood, who: Attribution, kind: str) -> Reply:
    assert raw.id is not None
    reason = who.reason
    if kind == "too_large":
        reason = f"over the size limit ({raw.size} bytes): only its headers were stored"
    elif u.problems:
        reason = "; ".join(filter(None, [reason, *u.problems]))
    review = who.how == "unattributed" or kind in ("unreadable", "too_large") or u.risk
    return Reply(
        raw_id=raw.id,
        received_at=raw.fetched_at,
        kind=kind,
        attribution=who.how,
        reason=reason,
        needs_review=review or (kind == "bounce"),
        client_id=who.client_id,
        suspected_client_id=who.suspected,
        experiment_id=who.experiment_id,
        outbox_id=who.outbox_id,
        command=u.command,
        pause_until=u.pause_until,
        text=u.text or None,
        tried=u.tried,
        rating=u.rating,
        noticed=u.noticed,
        next_time=u.next_time,
        risk=u.risk,
        risk_reasons=json.dumps(list(u.risk_reasons)) if u.risk_reasons else None,
        attachments=json.dumps(list(u.attachments)) if u.attachments else None,
        bounced_address=", ".join(u.bounce_recipients) or None if kind == "bounce" else None,
    )


# Between looks for newly stored messages while the fetch is still going: a fetch round trip
# stores a batch every few tenths of a second, and a look is one small query.
_WAIT_FOR_FETCH = 0.05


def one_pass(
    live: Callable[[], Practice], engine: Engine, clock: Clock, mailbox: Mailbox, worker: str
) -> IngestReport:
    """Fetch and store, understand and act, then send the confirmations that asked for."""
    practice = live()
    report, understood = _fetch_while_understanding(practice, engine, clock, mailbox)
    report.understood, report.flagged = understood.understood, understood.flagged
    if understood.understood:
        send_pending(practice, engine, clock, Templates(practice.templates), worker)
    if report.fetched or report.understood:
        log.info(
            "mailbox pass: %d fetched, %d new, %d understood, %d need review",
            report.fetched, report.stored, report.understood, report.flagged,
        )  # fmt: skip
    return report


def _fetch_while_understanding(
    practice: Practice, engine: Engine, clock: Clock, mailbox: Mailbox
) -> tuple[IngestReport, IngestReport]:
    """Fetch and store in a thread while this one understands what is already stored.

    Each side waits on a server (IMAP, the database) much of the time; side by side, a
    backlog goes through in less time, and a risk in it is seen before the rest has been
    fetched. What is fetched is still stored before it is moved; the last round of
    understanding starts after the fetch is over, so nothing stored is left behind. An error
    on either side is raised once both have stopped.
    """
    understood = IngestReport()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fetch") as pool:
        fetching = pool.submit(fetch_new, practice, engine, mailbox, clock)
        while True:
            fetched_all = fetching.done()
            part = process_stored(practice, engine, clock)
            understood.understood += part.understood
            understood.flagged += part.flagged
            if fetched_all:
                break
            if not part.understood:
                wait([fetching], timeout=_WAIT_FOR_FETCH)
    return fetching.result(), understood


def watch_mailbox(
    live: Callable[[], Practice],
    engine: Engine,
    clock: Clock,
    worker: str,
    should_stop: Callable[[], bool],
) -> None:
    """Watch until asked to stop: IDLE (or polling), reconnecting with backoff on failures."""
    imap = live().mail.imap
    assert imap is not None
    watch(
        lambda: Mailbox(imap),
        lambda mailbox: one_pass(live, engine, clock, mailbox, worker),
        should_stop,
    )
