"""The Alembic migrations build exactly the models' schema, and take it down again, on both backends."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import JSON, column, inspect, table, text

from jobs.database import alembic_config, downgrade_to_base, make_engine, upgrade_to_head
from jobs.models import Base
from tests.paths import REPO_ROOT

TABLES = {"jobs", "images", "user_settings", "guild_config", "job_sources", "uncopied_sources"}


def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def _differences(url: str) -> list:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        engine.dispose()


def test_upgrade_builds_the_models_schema_and_downgrade_removes_it(database_url: str) -> None:
    upgrade_to_head(database_url)
    assert _tables(database_url) == TABLES
    assert _differences(database_url) == []

    downgrade_to_base(database_url)
    assert _tables(database_url) == set()

    upgrade_to_head(database_url)
    assert _tables(database_url) == TABLES


def test_alembic_command_line_and_migrate_command_work_from_the_repo_root(tmp_path: Path) -> None:
    env = {"DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    alembic = Path(sys.executable).with_name("alembic")
    subprocess.run([str(alembic), "upgrade", "head"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    url = f"sqlite:///{tmp_path / 'imagine.db'}"
    assert _tables(url) == TABLES

    subprocess.run([str(alembic), "downgrade", "base"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    assert _tables(url) == set()
    subprocess.run([sys.executable, "-m", "jobs", "migrate"], cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    assert _tables(url) == TABLES


def test_the_outbox_migration_counts_jobs_that_had_already_ended_as_delivered(database_url: str) -> None:
    """A bot upgraded to the outbox must not re-edit its whole history at its first start."""
    command.upgrade(alembic_config(database_url), "0002")
    engine = make_engine(database_url)
    columns = "public_id, kind, user_id, raw_prompt, parameters, seed, status, attempts, created_at, finished_at"
    try:
        with engine.begin() as connection:
            for public_id, status, finished in (("ended", "succeeded", "2026-01-02"), ("waiting", "queued", None)):
                connection.execute(
                    text(
                        f"INSERT INTO jobs ({columns}) VALUES (:id, 'imagine', 1, 'x', '{{}}', 1, :status, 1, "
                        "'2026-01-01', :finished)"
                    ),
                    {"id": public_id, "status": status, "finished": finished},
                )
        upgrade_to_head(database_url)
        with engine.connect() as connection:
            delivered = dict(connection.execute(text("SELECT public_id, delivered_at FROM jobs")).all())
    finally:
        engine.dispose()
    assert delivered["ended"] is not None and delivered["waiting"] is None


def _insert_jobs(database_url: str, requests: dict[str, dict]) -> None:
    names = ("public_id", "kind", "user_id", "raw_prompt", "parameters", "seed", "status", "attempts", "created_at")
    jobs = table("jobs", *(column(name) for name in names if name != "parameters"), column("parameters", JSON))
    rows = [
        {"public_id": public_id, "kind": "imagine", "user_id": 1, "raw_prompt": "x", "parameters": parameters}
        | {"seed": 1, "status": "succeeded", "attempts": 1, "created_at": "2026-01-01"}
        for public_id, parameters in requests.items()
    ]
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.execute(jobs.insert(), rows)
    finally:
        engine.dispose()


def test_the_sources_migration_records_what_jobs_made_before_it_start_from(database_url: str) -> None:
    """Otherwise the first sweep would take the image prompts of every older job for orphans."""
    command.upgrade(alembic_config(database_url), "0007")
    fox, cat = "/data/sources/" + "a" * 64 + ".png", "/old/data/sources/" + "b" * 64 + ".png"
    requests = {
        "blend": {"prompt": "", "image_prompts": [fox, cat, fox]},  # one image named twice: one row
        "describe": {"operation": "describe", "prompt": "", "source_image": cat},
        "variation": {"operation": "variation", "prompt": "x", "source_image": "/data/images/blend/1.png"},
        "text": {"prompt": "a fox", "image_prompts": [], "source_image": None},
    }
    _insert_jobs(database_url, requests)
    engine = make_engine(database_url)
    try:
        upgrade_to_head(database_url)
        with engine.connect() as connection:
            found = connection.execute(
                text("SELECT public_id, name FROM job_sources JOIN jobs ON jobs.id = job_id ORDER BY public_id, name")
            ).all()
    finally:
        engine.dispose()
    assert [tuple(row) for row in found] == [
        ("blend", "a" * 64 + ".png"),
        ("blend", "b" * 64 + ".png"),
        ("describe", "b" * 64 + ".png"),
    ]


def test_the_copies_migration_lists_the_jobs_that_start_from_a_job_image(database_url: str) -> None:
    """Jobs made before it name their parent's image in its folder: the service copies those images once the
    revision has listed the jobs (tests/jobs/test_sources.py)."""
    command.upgrade(alembic_config(database_url), "0008")
    requests = {
        "upscale": {"operation": "upscale", "prompt": "x", "source_image": "/data/images/k3q7xw2mza/1.png"},
        "moved": {"operation": "pan", "prompt": "x", "direction": "left", "source_image": "old/images/ab/2.png"},
        "describe": {"operation": "describe", "prompt": "", "source_image": "/data/sources/" + "a" * 64 + ".png"},
        "elsewhere": {"operation": "variation", "prompt": "x", "source_image": "/srv/photos/fox.png"},
        "text": {"prompt": "a fox", "source_image": None},
        "bare": {},
    }
    _insert_jobs(database_url, requests)
    upgrade_to_head(database_url)
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            listed = connection.execute(
                text("SELECT public_id FROM uncopied_sources JOIN jobs ON jobs.id = job_id ORDER BY public_id")
            ).all()
    finally:
        engine.dispose()
    assert [public_id for (public_id,) in listed] == ["moved", "upscale"]
    downgrade_to_base(database_url)
