"""replies

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:06:28.217997
"""

import hashlib

import sqlalchemy as sa
import sqlmodel
from alembic import op

from checkin.store.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "mailbox_state",
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("last_uid", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox"),
    )
    op.create_table(
        "raw_message",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("message_id", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("sha256", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("sender", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.Column("sent_date", UTCDateTime(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("headers_only", sa.Boolean(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("mailbox", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("uidvalidity", sa.BigInteger(), nullable=False),
        sa.Column("uid", sa.BigInteger(), nullable=False),
        sa.Column("fetched_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_table(
        "reply",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("raw_id", sa.Integer(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("attribution", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("client_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("experiment_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("command", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("pause_until", sa.Date(), nullable=True),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("tried", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("rating", sa.Integer(), nullable=True),
        sa.Column("noticed", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("next_time", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("risk", sa.Boolean(), nullable=False),
        sa.Column("risk_reasons", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("attachments", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("bounced_address", sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
        sa.ForeignKeyConstraint(
            ["outbox_id"],
            ["outbox.id"],
        ),
        sa.ForeignKeyConstraint(
            ["raw_id"],
            ["raw_message.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("raw_id"),
    )
    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reply_client_received", ["client_id", "received_at"], unique=False
        )

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("in_reply_to", sqlmodel.sql.sqltypes.AutoString(length=250), nullable=True)
        )
        batch_op.create_index("ix_outbox_token_hash", ["token_hash"], unique=True)

    # Check-ins sent before this migration must still be matched by their token.
    outbox = sa.table(
        "outbox",
        sa.column("id", sa.Integer),
        sa.column("token", sa.String),
        sa.column("token_hash", sa.String),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(outbox.c.id, outbox.c.token).where(outbox.c.token.is_not(None))
    )
    for row_id, token in rows.all():
        digest = hashlib.sha256(token.encode("ascii")).hexdigest()
        connection.execute(outbox.update().where(outbox.c.id == row_id).values(token_hash=digest))


def downgrade() -> None:

    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_token_hash")
        batch_op.drop_column("in_reply_to")
        batch_op.drop_column("detail")
        batch_op.drop_column("token_hash")

    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_index("ix_reply_client_received")

    op.drop_table("reply")
    op.drop_table("raw_message")
    op.drop_table("mailbox_state")
