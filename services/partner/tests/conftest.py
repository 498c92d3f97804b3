"""Fixtures for the partner gateway's tests: a loopback webhook receiver, identity, events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from shared.events.envelope import CloudEvent, source_of
from shared.events.kafka import ensure_topics, make_producer
from shared.settings import Settings
from shared.testing import RunningSystem, auth, service_client

FAST = {
    "CASEBRIDGE_PARTNER_RETRY_SCHEDULE_SECONDS": "[0.05, 0.1]",
    "CASEBRIDGE_PARTNER_RETRY_JITTER": "0.1",
    "CASEBRIDGE_PARTNER_POLL_SECONDS": "0.05",
    "CASEBRIDGE_PARTNER_DELIVERY_TIMEOUT_SECONDS": "2",
}


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    @property
    def json(self) -> dict[str, Any]:
        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class Receiver:
    """A real HTTP server on loopback. `answers[path]` is a list of statuses to give in turn
    (the last one repeats); unknown paths get 200."""

    port: int = 0
    answers: dict[str, list[int]] = field(default_factory=dict)
    # Or a rule: (path, parsed body) -> status, taking precedence over `answers`.
    rules: dict[str, Callable[[dict[str, Any]], int]] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(self, path: str, body: bytes) -> int:
        with self.lock:
            rule = self.rules.get(path)
            if rule is not None:
                return rule(json.loads(body))
            queue = self.answers.get(path)
            if not queue:
                return 200
            return queue.pop(0) if len(queue) > 1 else queue[0]

    def at(self, path: str, ok_only: bool = False) -> list[Received]:
        with self.lock:
            return [
                r
                for r in self.received
                if r.path == path and (not ok_only or 200 <= r.status < 300)
            ]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server hook's name
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            status = state.answer(self.path, body)
            with state.lock:
                state.received.append(
                    Received(self.path, dict(self.headers.items()), body, time.time(), status)
                )
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Fast retry schedule; extra CASEBRIDGE_PARTNER_* values by keyword."""
    for key, value in FAST.items():
        monkeypatch.setenv(key, value)

    def more(**values: Any) -> None:
        for key, value in values.items():
            monkeypatch.setenv(f"CASEBRIDGE_PARTNER_{key.upper()}", str(value))

    return more


@pytest.fixture
def identity(settings: Settings) -> Iterator[RunningSystem]:
    """The real identity service as a process (partner asks it for pseudonyms)."""
    running = RunningSystem(settings, services=("identity",)).start()
    yield running
    running.stop()


@pytest.fixture
def partner_settings(settings: Settings, identity: RunningSystem) -> Settings:
    return settings.model_copy(update={"identity_url": identity.url("identity")})


@pytest.fixture
def partner(partner_settings: Settings, fast: Callable[..., None]) -> Iterator[TestClient]:
    with service_client("partner", partner_settings) as client:
        yield client


def publish(settings: Settings, producer: str, events: list[tuple[str, dict[str, Any], str]]):
    """Publish (type, data, key) events on `producer`'s topic as that service would."""

    async def send() -> list[CloudEvent]:
        await ensure_topics(settings)
        kafka = make_producer(settings)
        await kafka.start()
        sent = []
        try:
            for event_type, data, key in events:
                envelope = CloudEvent(
                    source=source_of(producer), type=event_type, partitionkey=key, data=data
                )
                await kafka.send_and_wait(
                    settings.topic(producer), envelope.to_bytes(), key=key.encode()
                )
                sent.append(envelope)
        finally:
            await kafka.stop()
        return sent

    return asyncio.run(send())


def new_person(
    identity_url: str, token: Callable[..., str], agency: str, local_id: str
) -> tuple[str, str]:
    """Register a record at identity: (internal person id, the agency's pseudonym)."""
    registered = httpx.post(
        f"{identity_url}/records",
        json={"local_id": local_id, "family_name": f"Person{local_id}", "given_name": "Test"},
        headers=auth(token("caseworker", agency=agency)),
        timeout=10,
    )
    assert registered.status_code == 201, registered.text
    pseudonym = registered.json()["person"]
    resolved = httpx.get(
        f"{identity_url}/internal/resolve",
        params={"agency": agency, "pseudonym": pseudonym},
        headers=auth(token("service", agency=None)),
        timeout=10,
    )
    assert resolved.status_code == 200, resolved.text
    return resolved.json()["person_id"], pseudonym


def pseudonym_for(identity_url: str, token: Callable[..., str], agency: str, person_id: str):
    got = httpx.get(
        f"{identity_url}/internal/pseudonym",
        params={"agency": agency, "person_id": person_id},
        headers=auth(token("service", agency=None)),
        timeout=10,
    )
    assert got.status_code == 200, got.text
    return got.json()["pseudonym"]


def register_partner(
    client: TestClient,
    token: Callable[..., str],
    agency: str,
    types: list[str],
) -> dict[str, Any]:
    """A registered partner with a fresh access token under `access`."""
    created = client.post(
        "/partners",
        json={"agency": agency, "name": f"{agency} system", "allowed_types": types},
        headers=auth(token("admin", agency="council-asc")),
    )
    assert created.status_code == 201, created.text
    partner = created.json()
    issued = client.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
        },
    )
    assert issued.status_code == 200, issued.text
    partner["access"] = issued.json()["access_token"]
    return partner


def subscribe(client: TestClient, partner: dict[str, Any], url: str, types: list[str]):
    created = client.post(
        "/endpoints", json={"url": url, "event_types": types}, headers=auth(partner["access"])
    )
    assert created.status_code == 201, created.text
    return created.json()


@pytest.fixture
def gateway(settings: Settings, fast: Callable[..., None]) -> Iterator[TestClient]:
    """The partner service alone (for tests that route no events)."""
    with service_client("partner", settings) as client:
        yield client
