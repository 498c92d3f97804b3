"""The platform every service is built on, exercised through a small probe service.

The probe runs with the identity service's migrations (any service's would do) and a router
of its own, on the real broker and database.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from services.identity.models import metadata
from shared.access_log import AccessRecorded, record_access
from shared.app import Events, ServiceSpec, create_app
from shared.auth import Caseworker
from shared.db import SessionDep
from shared.errors import Conflict
from shared.events import CloudEvent
from shared.testing import auth

router = APIRouter()


@router.post("/probe/{person}")
def probe(person: str, user: Caseworker, session: SessionDep, events: Events) -> dict[str, str]:
    record_access(
        session, events, user, action="probe.read", resource=f"probe/{person}", person_id=person
    )
    return {"ok": person}


@router.post("/conflict")
def conflict(user: Caseworker) -> None:
    raise Conflict("Already done.", slug="already-done", hint="try another")


@router.post("/crash")
def crash(user: Caseworker, session: SessionDep, events: Events) -> None:
    record_access(session, events, user, action="probe.crash", resource="probe/crash")
    raise RuntimeError("boom with secret detail")


def probe_app(settings) -> FastAPI:
    spec = ServiceSpec(name="identity", metadata=metadata, routers=[router])
    return create_app(spec, settings)


@pytest.fixture
def client(settings):
    with TestClient(probe_app(settings), raise_server_exceptions=False) as c:
        yield c


async def read_topic(settings, count: int, within: float = 20.0) -> list[CloudEvent]:
    consumer = AIOKafkaConsumer(
        settings.topic("identity"),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"probe-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[CloudEvent] = []
    try:
        deadline = asyncio.get_running_loop().time() + within
        while len(found) < count and asyncio.get_running_loop().time() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(CloudEvent.from_bytes(m.value) for m in msgs)
    finally:
        await consumer.stop()
    return found


def test_trace_context_flows_from_request_to_event_and_audit_record(client, settings, token):
    trace_id = uuid.uuid4().hex
    headers = {**auth(token("caseworker")), "traceparent": f"00-{trace_id}-{'1' * 16}-01"}
    assert client.post("/probe/p-1", headers=headers).status_code == 200
    events = asyncio.run(read_topic(settings, 1))
    assert len(events) == 1
    event = events[0]
    assert event.type == "audit.access.v1"
    assert event.traceparent is not None and event.traceparent.split("-")[1] == trace_id
    assert AccessRecorded.model_validate(event.data).trace_id == trace_id
    assert event.sequence == 1 and event.partitionkey == "p-1"


def test_problem_json_carries_type_and_extra_fields(client, token):
    r = client.post("/conflict", headers=auth(token("caseworker")))
    assert r.status_code == 409
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json() == {
        "type": "urn:casebridge:problem:already-done",
        "title": "Conflict",
        "status": 409,
        "detail": "Already done.",
        "instance": "/conflict",
        "hint": "try another",
    }


def test_unknown_route_and_method_are_problems(client, token):
    assert client.get("/nowhere").json()["type"] == "urn:casebridge:problem:not-found"
    r = client.get("/conflict", headers=auth(token("caseworker")))
    assert r.status_code == 405
    assert r.headers["content-type"] == "application/problem+json"


def test_an_unexpected_error_is_a_bare_500_and_writes_nothing(client, settings, token):
    r = client.post("/crash", headers=auth(token("caseworker")))
    assert r.status_code == 500
    assert "secret" not in r.text
    assert r.json()["type"] == "urn:casebridge:problem:internal"
    # The audit record staged before the crash was rolled back with the request.
    assert asyncio.run(read_topic(settings, 1, within=3)) == []


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"]["database"]["ok"] is True


def test_not_ready_when_the_broker_is_unreachable(settings, token):
    from casebridge.broker import free_port

    nowhere = settings.model_copy(update={"kafka_bootstrap_servers": f"127.0.0.1:{free_port()}"})
    with TestClient(probe_app(nowhere), raise_server_exceptions=False) as c:
        r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["checks"]["broker"]["ok"] is False
        # Writes still commit: the event waits in the outbox for the broker.
        assert c.post("/probe/p-2", headers=auth(token("caseworker"))).status_code == 200
        assert c.get("/readyz").json()["checks"]["outbox"]["unsent"] == 1
