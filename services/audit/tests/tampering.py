"""What an administrator with database access could do behind the service's back."""

from __future__ import annotations

from typing import Any

import psycopg
from sqlalchemy import text

from shared.db import Database
from shared.settings import Settings


def _sqlite_path(db: Database) -> str:
    return db.url.split("sqlite:///", 1)[1]


def admin_sql(settings: Settings, statements: list[tuple[str, dict[str, Any]]]) -> None:
    """Run statements with the append-only triggers out of the way, as an admin could."""
    db = Database(settings.database_url_for("audit"))
    try:
        if db.engine.dialect.name == "sqlite":
            import sqlite3

            conn = sqlite3.connect(_sqlite_path(db))
            with conn:
                conn.execute("DROP TRIGGER audit_entries_no_update")
                for sql, params in statements:
                    conn.execute(sql.replace("%(", ":").replace(")s", ""), params)
            conn.close()
        else:
            url = db.url.replace("postgresql+psycopg://", "postgresql://")
            with psycopg.connect(url) as pg:
                pg.execute("SET session_replication_role = replica")
                for sql, params in statements:
                    pg.execute(sql, params)  # type: ignore[arg-type]
    finally:
        db.dispose()


def try_sql(settings: Settings, sql: str) -> None:
    """Run one statement through the service's own engine, triggers in place."""
    db = Database(settings.database_url_for("audit"))
    try:
        with db.engine.begin() as conn:
            conn.execute(text(sql))
    finally:
        db.dispose()
