"""The audit service running in this process, with an auditor and the log's public key."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from casebridge.broker import free_port
from shared.events.tables import outbox
from shared.settings import Settings
from shared.testing import auth, service_client, wait_until


@contextmanager
def running_audit(settings: Settings) -> Iterator[TestClient]:
    """The service in-process, shut down only once its relay is idle.

    Python 3.11's `asyncio.wait_for` can swallow a cancellation that lands in the same loop
    turn as the relay's wake-up, and the shared lifespan then waits for the relay forever. A
    long poll interval (commits still wake the relay at once) and a drained outbox at
    shutdown keep the two apart.
    """
    quiet = settings.model_copy(
        update={
            "identity_url": f"http://127.0.0.1:{free_port()}",  # unreachable unless started
            "relay_interval_seconds": 5.0,
        }
    )
    with service_client("audit", quiet) as client:
        yield client
        db = client.app.state.ctx.db  # type: ignore[attr-defined]

        def drained() -> bool:
            with db.session() as s:
                return not s.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None))).first()

        wait_until(drained, timeout=20)
        time.sleep(0.2)


@pytest.fixture
def audit(settings: Settings) -> Iterator[TestClient]:
    with running_audit(settings) as client:
        yield client


@pytest.fixture
def auditor(token) -> dict[str, str]:
    return auth(token("auditor", "council-asc", sub="alex.auditor"))
