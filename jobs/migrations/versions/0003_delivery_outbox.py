"""The outbox: when each job's final message reached Discord, and why it could not when it was gone.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 23:30:00.000000

Jobs that had already ended count as delivered at their end (the bot before this revision kept no
record, and re-editing a whole history at the first start would flood Discord); queued and running
jobs are followed to their final message as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("delivery_note", sa.String(length=300), nullable=True))
        batch_op.create_index("ix_jobs_delivered", ["delivered_at"], unique=False)
    op.execute(
        "UPDATE jobs SET delivered_at = COALESCE(finished_at, created_at) "
        "WHERE status IN ('succeeded', 'failed', 'cancelled')"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_delivered")
        batch_op.drop_column("delivery_note")
        batch_op.drop_column("delivered_at")
