"""Writing many rows through the driver's own executemany, with values already in its types.

SQLAlchemy's executemany runs every column's bind processor for every row (JSON serialised
by `json.dumps`, datetimes formatted) and builds a parameter dict per row: at ingest rates
that cost more than the database. Here the statement is written once per table and dialect,
JSON values are encoded by the caller once, and each row is a plain tuple. Only datetimes
need the dialect's own spelling (SQLite stores text), taken from the column type itself so
what is read back is exactly what SQLAlchemy would have written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Dialect
from sqlmodel import Session

Row = tuple[Any, ...]


@cache
def _statement(table: Table, columns: tuple[str, ...], paramstyle: str) -> str:
    """Identifiers only from the table's own metadata (a KeyError for any other name)."""
    mark = "?" if paramstyle == "qmark" else "%s"
    names = ", ".join(table.c[c].name for c in columns)
    marks = ", ".join(mark for _ in columns)
    return f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - metadata names


def datetime_converter(table: Table, column: str, dialect: Dialect) -> Callable[[datetime], Any]:
    """The column's bind processing for one datetime (identity where the driver takes it)."""
    # The dialect-specific processor (SQLite's DATETIME text), as SQLAlchemy's own executes use.
    process = table.c[column].type._cached_bind_processor(dialect)
    return process if process is not None else _same


def _same(value: datetime) -> Any:
    return value


def insert_rows(
    session: Session, table: Table, columns: tuple[str, ...], rows: Sequence[Row]
) -> None:
    """INSERT the rows (tuples in `columns` order) in one driver-level executemany."""
    if not rows:
        return
    connection = session.connection()
    sql = _statement(table, columns, connection.dialect.paramstyle)
    connection.exec_driver_sql(sql, list(rows))
