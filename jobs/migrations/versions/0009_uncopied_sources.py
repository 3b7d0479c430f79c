"""The jobs whose request names an earlier job's image under DATA_DIR/images/, to be copied under DATA_DIR/sources/.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 10:00:00.000000

From this revision a variation, upscale, zoom, pan or Vary (Region) starts from a copy of its parent's image in
DATA_DIR/sources/, made at submit, so pruning or deleting the parent's folder no longer breaks its 🔄 and
/reproduce. Jobs submitted before it name the parent's own file; this revision lists them, and the service
copies their images (those still there) and names the copies in their requests (`Storage.copy_parent_images`):
a migration cannot do it, since it does not know DATA_DIR.
"""

from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Requests read per round trip while filling the table, so a long history is never all in memory.
CHUNK = 1000

jobs = sa.table("jobs", sa.column("id", sa.Integer()), sa.column("parameters", sa.JSON()))


def upgrade() -> None:
    uncopied = op.create_table(
        "uncopied_sources",
        sa.Column("job_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id"),
    )
    connection = op.get_bind()
    last = 0
    while rows := connection.execute(
        sa.select(jobs.c.id, jobs.c.parameters).where(jobs.c.id > last).order_by(jobs.c.id).limit(CHUNK)
    ).all():
        found = [{"job_id": job_id} for job_id, parameters in rows if _names_a_job_image(parameters)]
        if found:
            connection.execute(uncopied.insert(), found)
        last = rows[-1].id


def _names_a_job_image(parameters: dict[str, Any] | None) -> bool:
    """The source image lies in a job's folder of a folder named `images` (DATA_DIR/images/<public id>/), told by
    folder names as migration 0008 tells sources; the service then checks it is this DATA_DIR's."""
    source = (parameters or {}).get("source_image")
    return bool(source) and PurePath(source).parent.parent.name == "images"


def downgrade() -> None:
    op.drop_table("uncopied_sources")
