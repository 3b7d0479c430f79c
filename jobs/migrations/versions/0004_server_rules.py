"""Server rules and a bot that looks after itself: hidden jobs, job cost, pruned images, flagged images,
each server's content policy.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 01:30:00.000000

Jobs made before this revision cost one unit each (a standard four-image job), which is what they were
counted as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cost", sa.Float(), nullable=False, server_default="1.0"))
        batch_op.add_column(sa.Column("hidden_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hidden_by", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("images_pruned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_jobs_guild_status", ["guild_id", "status"], unique=False)
        batch_op.create_index("ix_jobs_message", ["message_id"], unique=False)
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.add_column(sa.Column("flagged", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_policy", sa.String(length=16), nullable=False, server_default="block"))


def downgrade() -> None:
    with op.batch_alter_table("guild_config", schema=None) as batch_op:
        batch_op.drop_column("content_policy")
    with op.batch_alter_table("images", schema=None) as batch_op:
        batch_op.drop_column("flagged")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_message")
        batch_op.drop_index("ix_jobs_guild_status")
        batch_op.drop_column("images_pruned_at")
        batch_op.drop_column("hidden_by")
        batch_op.drop_column("hidden_at")
        batch_op.drop_column("cost")
