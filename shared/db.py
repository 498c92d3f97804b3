"""Engines and sessions: the same code on SQLite (embedded default) and PostgreSQL.

One transaction per request or per consumed event: the session scope commits when the
work succeeds and rolls back when it raises, so state, outbox and audit rows land together.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session


def normalise_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use the psycopg 3 driver for them."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the single writer; foreign keys are off by default.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        _queue_writers(engine, database if database != ":memory:" else None)
        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True, **kwargs)


def _queue_writers(engine: Engine, database: str | None) -> None:
    """Every transaction takes SQLite's write lock at BEGIN (BEGIN IMMEDIATE), so two writers
    never deadlock upgrading a read lock. Before that, writers queue on locks of ours: a
    thread lock within the process, and across processes (a second worker, the CLI) an flock
    on `<database>.writers`, tried every millisecond. So the next writer starts the moment the
    last one finishes, where SQLite's busy handler sleeps up to 100 ms between tries (two
    processes registering at 1M persons saw waits of 1.3 s). Past 30 s, as the busy timeout,
    BEGIN IMMEDIATE is tried anyway and fails as before."""
    writer = threading.Lock()
    files: dict[int, int] = {}  # pid -> descriptor: a forked worker opens its own

    def _file() -> int | None:
        if not database:
            return None
        pid = os.getpid()
        if pid not in files:
            files[pid] = os.open(f"{database}.writers", os.O_CREAT | os.O_RDWR, 0o600)
        return files[pid]

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        if not conn.info.get("queued_writer") and writer.acquire(timeout=30):
            conn.info["queued_writer"] = True
            fd = _file()
            if fd is not None and _flock(fd, seconds=30):
                conn.info["queued_file"] = fd
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def _checkin(_dbapi_conn: Any, record: Any) -> None:
        fd = record.info.pop("queued_file", None)
        if fd is not None:
            fcntl.flock(fd, fcntl.LOCK_UN)
        if record.info.pop("queued_writer", False):
            writer.release()

    @event.listens_for(engine, "invalidate")
    def _invalidate(_dbapi_conn: Any, record: Any, _exc: Any) -> None:
        _checkin(_dbapi_conn, record)


def _flock(fd: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)


class Database:
    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        self.engine = make_engine(self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commit on success, roll back on any error."""
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def _request_session(request: Request) -> Iterator[Session]:
    with request.app.state.db.session() as session:
        yield session


# scope="function": the transaction commits before the response is sent, so nothing
# (in particular no personal data) is returned unless its audit record is committed.
SessionDep = Annotated[Session, Depends(_request_session, scope="function")]
