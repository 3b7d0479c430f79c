"""Which stored image prompts (DATA_DIR/sources/) each job starts from, so the ones no job needs can go.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 10:00:00.000000

Jobs made before this revision get their rows from their stored requests here: without them the first sweep
would take their sources for orphans.
"""

from collections.abc import Iterator, Sequence
from pathlib import PurePath
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Requests read per round trip while filling the table, so a long history is never all in memory.
CHUNK = 1000

jobs = sa.table("jobs", sa.column("id", sa.Integer()), sa.column("parameters", sa.JSON()))


def upgrade() -> None:
    job_sources = op.create_table(
        "job_sources",
        sa.Column("job_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("job_id", "name"),
    )
    op.create_index(op.f("ix_job_sources_name"), "job_sources", ["name"], unique=False)
    connection = op.get_bind()
    last = 0
    while rows := connection.execute(
        sa.select(jobs.c.id, jobs.c.parameters).where(jobs.c.id > last).order_by(jobs.c.id).limit(CHUNK)
    ).all():
        found = [{"job_id": job_id, "name": name} for job_id, parameters in rows for name in _names(parameters)]
        if found:
            connection.execute(job_sources.insert(), found)
        last = rows[-1].id


def _names(parameters: dict[str, Any] | None) -> Iterator[str]:
    """`jobs.sources.source_names` as it was when this revision was written (a migration must keep doing what it
    did): the files in a folder named `sources` that the request names, each once."""
    parameters = parameters or {}
    single = [parameters["source_image"]] if parameters.get("source_image") else []
    paths = [PurePath(path) for path in (*single, *(parameters.get("image_prompts") or ()))]
    yield from dict.fromkeys(path.name for path in paths if path.parent.name == "sources")


def downgrade() -> None:
    op.drop_index(op.f("ix_job_sources_name"), table_name="job_sources")
    op.drop_table("job_sources")
