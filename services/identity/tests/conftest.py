"""Fixtures for the identity service's HTTP tests: the real app, database and broker."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from shared.db import Database
from shared.events.tables import outbox
from shared.migrations import upgrade
from shared.testing import auth, db_backend, service_client, wait_until


@pytest.fixture
def identity(settings) -> Iterator[TestClient]:
    """The service in-process, shut down only once its relay is idle.

    Python 3.11's `asyncio.wait_for` can swallow a cancellation that lands in the same loop
    turn as the relay's wake-up, and the shared lifespan then waits for the relay forever
    (seen here under load). A long poll interval (commits still wake the relay at once) and a
    drained outbox at shutdown keep the two apart, as the audit service's tests do.
    """
    quiet = settings.model_copy(update={"relay_interval_seconds": 5.0})
    with service_client("identity", quiet) as client:
        yield client
        db = client.app.state.ctx.db  # type: ignore[attr-defined]

        def drained() -> bool:
            with db.engine.connect() as conn:
                pending = select(outbox.c.id).where(outbox.c.sent_at.is_(None))
                return conn.execute(pending).first() is None

        wait_until(drained, timeout=20)
        time.sleep(0.2)


@pytest.fixture
def new_db(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[[str], Database]]:
    """new_db(name): an empty, migrated identity database on the test run's backend."""
    made: list[Database] = []

    def make(name: str) -> Database:
        url = f"sqlite:///{tmp_path.as_posix()}/{name}.db"
        if db_backend() == "postgresql":
            dbs = request.getfixturevalue("pg_databases")
            url = dbs.create(f"cb_{uuid.uuid4().hex[:10]}_{name}")
        db = Database(url)
        upgrade(db, "identity")
        made.append(db)
        return db

    yield make
    for db in made:
        db.dispose()


@pytest.fixture
def as_(token) -> Callable[..., dict[str, str]]:
    """as_("caseworker", "housing") -> Authorization headers."""

    def headers(role: str, agency: str | None = "housing", **kw: Any) -> dict[str, str]:
        return auth(token(role, agency, **kw))

    return headers


@pytest.fixture
def outbox_events(settings) -> Iterator[Callable[[str | None], list[dict[str, Any]]]]:
    """The identity service's outbox: what it has committed to publish, in order."""
    db = Database(settings.database_url_for("identity"))

    def read(event_type: str | None = None) -> list[dict[str, Any]]:
        with db.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.envelope).order_by(outbox.c.id)).scalars()
            envelopes = [json.loads(r) for r in rows]
        return [e for e in envelopes if event_type is None or e["type"] == event_type]

    yield read
    db.dispose()


def record(local_id: str = "L-1", **overrides: Any) -> dict[str, Any]:
    """A client record body; by default Jonathan Smith of Manchester."""
    body: dict[str, Any] = {
        "local_id": local_id,
        "given_name": "Jonathan",
        "family_name": "Smith",
        "birth_date": "1980-03-04",
        "sex": "male",
        "postcode": "M1 4BT",
        "address_line": "10 Mill Lane",
    }
    body.update(overrides)
    return body
