"""Members' preferences beyond flag defaults: Remix, what V1–V4 do, results sent privately.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 03:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("user_settings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("remix", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("variation_mode", sa.String(length=8), nullable=False, server_default="strong"))
        batch_op.add_column(sa.Column("private_results", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("user_settings", schema=None) as batch_op:
        batch_op.drop_column("private_results")
        batch_op.drop_column("variation_mode")
        batch_op.drop_column("remix")
