"""Alembic environment: one database URL, from the caller or from JobSettings."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context

from jobs.database import make_engine
from jobs.models import Base
from jobs.settings import JobSettings

config = context.config
if config.config_file_name is not None and "database_url" not in config.attributes:
    fileConfig(config.config_file_name, disable_existing_loggers=False)

url = config.attributes.get("database_url") or JobSettings().sqlalchemy_url
is_sqlite = url.startswith("sqlite")


def run_migrations_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=is_sqlite)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=is_sqlite)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
