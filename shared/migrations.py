"""Alembic, one migration history per service, applied at start-up.

Each service keeps `services/<name>/migrations/` whose env.py calls `run_migrations` with the
service's metadata; the platform tables (outbox, processed events, ...) are part of every
service's history.
"""

from __future__ import annotations

from typing import Any

from alembic import command, context
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import Connection, MetaData, engine_from_config, pool

from shared.db import Database
from shared.events.tables import PLATFORM


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"services.{service}:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(db: Database, service: str) -> None:
    cfg = alembic_config(service, db.url)
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def _configure(connection: Connection, metadata: MetaData) -> None:
    context.configure(
        connection=connection,
        target_metadata=[metadata, PLATFORM],
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def run_migrations(metadata: MetaData) -> None:
    """The body of every service's env.py."""
    cfg = context.config
    connection = cfg.attributes.get("connection")
    if connection is not None:
        _configure(connection, metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        cfg.get_section(cfg.config_ini_section)
        or {"sqlalchemy.url": cfg.get_main_option("sqlalchemy.url")},
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        _configure(conn, metadata)
        with context.begin_transaction():
            context.run_migrations()


def pending_changes(db: Database, metadata: MetaData) -> list[Any]:
    """What the models have that the migrations do not (empty when they agree)."""
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(ctx, [metadata, PLATFORM]))  # type: ignore[arg-type]
