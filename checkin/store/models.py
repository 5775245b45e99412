"""The tables. Every timestamp is timezone-aware UTC; every "once" is a unique key."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Column, Date, DateTime, Index, LargeBinary, text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

from checkin.clock import as_utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in, aware UTC out, on every database.

    SQLite has no zone-aware type and hands back naive values; storing naive UTC there and
    re-attaching UTC on the way out keeps comparisons (as ordered strings) correct.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else as_utc(value)


def utc_column(nullable: bool = True, index: bool = False) -> Column:
    return Column(UTCDateTime(), nullable=nullable, index=index)


class Outbox(SQLModel, table=True):
    """One outgoing message. Its `key` makes it exist once; its status makes it go once.

    A check-in's key is `checkin:CLIENT:EXPERIMENT:LOCAL-SLOT`, so two ticks or two
    processes planning the same slot collide on the unique index instead of sending twice.
    The Message-ID is chosen when the row is created, so a retry after a crash reuses it.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        # The send loop looks only at rows still to go; keep that index small.
        Index(
            "ix_outbox_waiting",
            "send_after",
            postgresql_where=text("status IN ('pending', 'sending')"),
            sqlite_where=text("status IN ('pending', 'sending')"),
        ),
        Index("ix_outbox_client_experiment", "client_id", "experiment_id", "kind"),
        Index("ix_outbox_token_hash", "token_hash", unique=True),
    )

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    kind: str = Field(max_length=20)  # checkin, nudge, confirm, digest, alert
    client_id: str | None = Field(default=None, max_length=100)
    experiment_id: str | None = Field(default=None, max_length=100)
    therapist_id: str | None = Field(default=None, max_length=100)
    slot: str | None = Field(default=None, max_length=40)  # local wall time "YYYY-MM-DDTHH:MM"
    recipient: str = Field(max_length=320)
    token: str | None = Field(default=None, unique=True, max_length=64)
    # Replies are matched on the token's hash, so the database never compares the secret itself.
    token_hash: str | None = Field(default=None, max_length=64)
    detail: str | None = Field(
        default=None, max_length=200
    )  # e.g. the command a confirmation confirms
    in_reply_to: str | None = Field(default=None, max_length=250)
    parent_id: int | None = Field(default=None, foreign_key="outbox.id")
    message_id: str = Field(unique=True, max_length=250)
    status: str = Field(
        default="pending", max_length=20
    )  # pending, sending, sent, failed, cancelled
    attempts: int = 0
    due_at: datetime = Field(sa_column=utc_column(nullable=False))
    send_after: datetime = Field(sa_column=utc_column(nullable=False))
    claimed_until: datetime | None = Field(default=None, sa_column=utc_column())
    claimed_by: str | None = Field(default=None, max_length=200)
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    answered_at: datetime | None = Field(default=None, sa_column=utc_column())
    last_error: str | None = None
    created_at: datetime = Field(sa_column=utc_column(nullable=False))


class ClientStatus(SQLModel, table=True):
    """A client's own say over their check-ins: active, paused (until a date or RESUME), stopped."""

    __tablename__ = "client_status"

    client_id: str = Field(primary_key=True, max_length=100)
    status: str = Field(default="active", max_length=20)
    paused_until: datetime | None = Field(default=None, sa_column=utc_column())
    changed_at: datetime = Field(sa_column=utc_column(nullable=False))


class AddressStatus(SQLModel, table=True):
    """An address that bounced gets no more mail until someone clears it."""

    __tablename__ = "address_status"

    address: str = Field(primary_key=True, max_length=320)  # lower-cased
    bouncing: bool = True
    since: datetime = Field(sa_column=utc_column(nullable=False))
    detail: str | None = None


class RawMessage(SQLModel, table=True):
    """Every message fetched from the mailbox, stored before anything else happens to it.

    `key` is the Message-ID, or `sha256:...` of the bytes when there is none: a rescan, a
    redelivery or a second process finds the row already there.
    """

    __tablename__ = "raw_message"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, max_length=300)
    message_id: str | None = Field(default=None, max_length=300)
    sha256: str = Field(max_length=64)
    sender: str | None = Field(default=None, max_length=320)
    sent_date: datetime | None = Field(default=None, sa_column=utc_column())
    size: int
    headers_only: bool = False  # over the size limit: the body was not fetched
    raw: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    mailbox: str = Field(max_length=400)
    # IMAP numbers are unsigned 32-bit: too big for PostgreSQL's INTEGER.
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    uid: int = Field(sa_column=Column(BigInteger, nullable=False))
    fetched_at: datetime = Field(sa_column=utc_column(nullable=False))


class Reply(SQLModel, table=True):
    """What a stored message was understood to be, whose it is, and what was done about it.

    One per raw message (unique `raw_id`), written in the same transaction as its effects, so a
    message is acted on once however often processing is retried.
    """

    __tablename__ = "reply"
    __table_args__ = (Index("ix_reply_client_received", "client_id", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    raw_id: int = Field(foreign_key="raw_message.id", unique=True)
    received_at: datetime = Field(sa_column=utc_column(nullable=False))
    kind: str = Field(max_length=20)  # answer, command, auto_reply, bounce, unreadable, too_large
    attribution: str = Field(max_length=20)  # token, thread, sender, note, unattributed
    reason: str | None = None  # why it is unattributed, or what went wrong
    needs_review: bool = False  # shown to the therapist: unattributed, unreadable, too large
    # When a person dealt with a message that needed review (`checkin review done`), and
    # their note; the flag stays, so what was flagged is never forgotten.
    reviewed_at: datetime | None = Field(default=None, sa_column=utc_column())
    review_note: str | None = None
    client_id: str | None = Field(default=None, max_length=100)
    suspected_client_id: str | None = Field(default=None, max_length=100)  # see Attribution
    experiment_id: str | None = Field(default=None, max_length=100)
    outbox_id: int | None = Field(default=None, foreign_key="outbox.id")
    command: str | None = Field(default=None, max_length=20)
    pause_until: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    text: str | None = None
    tried: str | None = Field(default=None, max_length=10)
    rating: int | None = None
    noticed: str | None = None
    next_time: str | None = None
    risk: bool = False
    risk_reasons: str | None = None  # JSON list of the sentences that raised the flag
    attachments: str | None = None  # JSON list of file names
    bounced_address: str | None = Field(default=None, max_length=320)


class MailboxState(SQLModel, table=True):
    """Where the watcher is in one folder: UIDs up to `last_uid` are stored already."""

    __tablename__ = "mailbox_state"

    mailbox: str = Field(primary_key=True, max_length=400)
    uidvalidity: int = Field(sa_column=Column(BigInteger, nullable=False))
    last_uid: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
