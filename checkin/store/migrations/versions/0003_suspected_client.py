"""suspected client

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 01:39:15.833200
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

from checkin.store.models import UTCDateTime  # noqa: F401

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "suspected_client_id", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True
            )
        )


def downgrade() -> None:

    with op.batch_alter_table("reply", schema=None) as batch_op:
        batch_op.drop_column("suspected_client_id")
