"""Fixtures: the consent service in-process, and the real identity service beside it.

Identity runs in a uvicorn thread on a free port (its real code and its own database), so
pseudonym flows go over HTTP exactly as in production, without a process per test.
"""

from __future__ import annotations

import importlib
import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from sqlalchemy import select

from casebridge.broker import free_port
from services.consent.consents.schemas import ConsentTermsIn, Evidence, GivenBy
from services.consent.consents.service import Change, grant_consent
from services.consent.runtime import runtime_of
from shared.app import ServiceContext
from shared.auth import Principal
from shared.events.tables import outbox
from shared.settings import Settings
from shared.testing import auth, service_client, wait_until


def now() -> datetime:
    return datetime.now(UTC)


def ctx_of(client: TestClient) -> ServiceContext:
    ctx: ServiceContext = client.app.state.ctx  # type: ignore[attr-defined]
    return ctx


def outbox_events(client: TestClient, type_: str | None = None) -> list[dict[str, Any]]:
    """The events this service staged (committed) in its outbox, oldest first."""
    with ctx_of(client).db.session() as s:
        rows = s.execute(select(outbox.c.envelope).order_by(outbox.c.id)).scalars().all()
    events = [json.loads(r) for r in rows]
    return [e for e in events if type_ is None or e["type"] == type_]


def quiet_relay(settings: Settings) -> Settings:
    """The relay still wakes on every commit; a long idle poll makes the Python 3.11
    `asyncio.wait_for` race that can swallow the relay's cancellation at shutdown (and hang
    the test client's lifespan) very unlikely. Reported to the lead."""
    return settings.model_copy(update={"relay_interval_seconds": 5.0})


def settle(client: TestClient) -> None:
    """Let the relay drain the outbox and go idle before the lifespan cancels it: a wake-up
    landing in the same loop turn as the cancellation is the swallowed-cancel race above."""
    import time

    def drained() -> bool:
        with ctx_of(client).db.session() as s:
            return not s.execute(select(outbox.c.id).where(outbox.c.sent_at.is_(None))).first()

    wait_until(drained, timeout=20)
    time.sleep(0.2)


@pytest.fixture(autouse=True)
def _no_identity_consumer(monkeypatch: pytest.MonkeyPatch) -> None:
    """The merge follower's Kafka consumer adds seconds to every shutdown; its handlers are
    tested directly (test_decisions) and it is on by default everywhere else."""
    monkeypatch.setenv("CASEBRIDGE_CONSENT_FOLLOW_IDENTITY", "false")


@pytest.fixture
def consent(settings: Settings) -> Iterator[TestClient]:
    """The consent service alone (service-role tests need no identity)."""
    with service_client("consent", quiet_relay(settings)) as client:
        yield client
        settle(client)


def seed_consent(client: TestClient, person_id: str, **terms: Any) -> tuple[str, int]:
    """Record a consent through the service logic (real database), for decision tests."""
    ctx = ctx_of(client)
    body = {
        "purposes": ["housing_support"],
        "categories": ["housing", "health.summary"],
        "recipients": ["council-asc", "nhs-mh"],
        "source_agencies": ["housing"],
        "expires_at": now() + timedelta(days=90),
        **terms,
    }
    by = Principal(sub="cw", agency="housing", roles=frozenset({"caseworker"}))
    with ctx.db.session() as s:
        head, v = grant_consent(
            s,
            ctx.events,
            runtime_of(ctx),
            Change(by=by, client_ref="psn_test", now=now()),
            person_id=person_id,
            terms=ConsentTermsIn(**body),
            given_by=GivenBy(),
            evidence=Evidence(method="written", reference="form-1", captured_by="cw"),
        )
    return head.id, v.version


@dataclass
class Stack:
    consent: TestClient
    identity_url: str
    token: Callable[..., str]

    def register(self, agency: str, local_id: str, family_name: str = "Doe") -> str:
        """Register a client record at identity; returns the agency's pseudonym."""
        r = httpx.post(
            f"{self.identity_url}/records",
            json={
                "local_id": local_id,
                "given_name": "Sam",
                "family_name": family_name,
                "birth_date": "1980-02-03",
                "postcode": "NS1 1AA",
            },
            headers=auth(self.token("caseworker", agency)),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["person"])

    def person_id(self, agency: str, pseudonym: str) -> str:
        r = httpx.get(
            f"{self.identity_url}/internal/resolve",
            params={"agency": agency, "pseudonym": pseudonym},
            headers=auth(self.token("service", None)),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["person_id"])

    def client_token(self, agency: str, pseudonym: str) -> str:
        """A client token for the person behind `agency`'s pseudonym."""
        r = httpx.get(
            f"{self.identity_url}/internal/pseudonym",
            params={"agency": "client", "person_id": self.person_id(agency, pseudonym)},
            headers=auth(self.token("service", None)),
        )
        assert r.status_code == 200, r.text
        return self.token("client", None, sub="client-1", person=r.json()["pseudonym"])


@pytest.fixture
def stack(settings: Settings, token: Callable[..., str]) -> Iterator[Stack]:
    port = free_port()
    s = quiet_relay(settings).model_copy(update={"identity_url": f"http://127.0.0.1:{port}"})
    identity = importlib.import_module("services.identity.app").build(
        s.model_copy(update={"service": "identity"})
    )
    server = uvicorn.Server(
        uvicorn.Config(identity, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=60)
        with service_client("consent", s) as client:
            yield Stack(consent=client, identity_url=s.identity_url, token=token)
            settle(client)
    finally:
        server.should_exit = True
        thread.join(15)
