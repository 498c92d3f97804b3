"""Helpers for the referral flows: real services, real broker, calls as agencies make them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from shared.events.envelope import CloudEvent
from shared.settings import Settings
from shared.testing import RunningSystem, auth


class Casebridge:
    """The running system, driven through its HTTP APIs by named agencies."""

    def __init__(self, system: Any, token: Callable[..., str]) -> None:
        self.system = system
        self.token = token
        self.http = httpx.Client(timeout=20)

    def caseworker(self, agency: str) -> dict[str, str]:
        return auth(self.token("caseworker", agency, sub=f"cw@{agency}"))

    def officer(self, agency: str) -> dict[str, str]:
        return auth(self.token("ig_officer", agency, sub=f"ig@{agency}"))

    def service(self) -> dict[str, str]:
        return auth(self.token("service", None, sub="service:test"))

    def url(self, service: str, path: str) -> str:
        return f"{self.system.url(service)}{path}"

    # --- identity --------------------------------------------------------------------
    def register(self, agency: str, local_id: str, **fields: Any) -> str:
        """Register a client record; returns the agency's pseudonym for the person."""
        body = {
            "local_id": local_id,
            "given_name": "Jane",
            "family_name": "Doe",
            "birth_date": "1984-03-12",
            "sex": "female",
            "postcode": "NS1 4AB",
            **fields,
        }
        r = self.http.post(
            self.url("identity", "/records"), json=body, headers=self.caseworker(agency)
        )
        assert r.status_code in (200, 201), r.text
        return str(r.json()["person"])

    def person_id(self, agency: str, pseudonym: str) -> str:
        r = self.http.get(
            self.url("identity", "/internal/resolve"),
            params={"agency": agency, "pseudonym": pseudonym},
            headers=self.service(),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["person_id"])

    def pseudonym(self, agency: str, person_id: str) -> str:
        r = self.http.get(
            self.url("identity", "/internal/pseudonym"),
            params={"agency": agency, "person_id": person_id},
            headers=self.service(),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["pseudonym"])

    def merge(self, survivor: str, merged: str) -> str:
        """Merge two of housing's persons (by housing's pseudonyms); returns the merge id."""
        r = self.http.post(
            self.url("identity", "/persons/merge"),
            json={"survivor": survivor, "merged": merged, "reason": "same person, confirmed"},
            headers=self.officer("housing"),
        )
        assert r.status_code == 201, r.text
        return str(r.json()["merge_id"])

    def unmerge(self, merge_id: str) -> None:
        r = self.http.post(
            self.url("identity", f"/merges/{merge_id}/unmerge"),
            json={"reason": "two people after all"},
            headers=self.officer("housing"),
        )
        assert r.status_code == 200, r.text

    # --- consent ---------------------------------------------------------------------
    def consent(
        self,
        agency: str,
        person: str,
        *,
        purposes: list[str],
        categories: list[str],
        recipients: list[str],
        expires_at: datetime | None = None,
    ) -> dict[str, Any]:
        body = {
            "person": person,
            "purposes": purposes,
            "categories": categories,
            "recipients": recipients,
            "expires_at": (expires_at or datetime.now(UTC) + timedelta(days=90)).isoformat(),
            "evidence": {"method": "written", "reference": "form-7", "captured_by": "cw"},
        }
        r = self.http.post(
            self.url("consent", "/consents"), json=body, headers=self.caseworker(agency)
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    def withdraw_consent(self, agency: str, consent_id: str, **parts: list[str]) -> dict[str, Any]:
        r = self.http.post(
            self.url("consent", f"/consents/{consent_id}/withdraw"),
            json=parts,
            headers=self.caseworker(agency),
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def agreement(
        self,
        providers: list[str],
        recipients: list[str],
        *,
        purposes: list[str],
        categories: list[str],
        basis: str,
        citation: str,
    ) -> dict[str, Any]:
        """Register, have every party approve, and activate an agreement."""
        now = datetime.now(UTC)
        body = {
            "title": f"{basis} sharing {providers} -> {recipients}",
            "tier": "specific",
            "providers": providers,
            "recipients": recipients,
            "purposes": purposes,
            "categories": categories,
            "legal_basis": {"type": basis, "citation": citation},
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=365)).isoformat(),
            "review_at": (now + timedelta(days=180)).isoformat(),
        }
        parties = sorted(set(providers) | set(recipients))
        r = self.http.post(
            self.url("consent", "/agreements"), json=body, headers=self.officer(parties[0])
        )
        assert r.status_code == 201, r.text
        agreement_id = r.json()["id"]
        for party in parties:
            r = self.http.post(
                self.url("consent", f"/agreements/{agreement_id}/approve"),
                headers=self.officer(party),
            )
            assert r.status_code == 200, r.text
        return self.agreement_action(agreement_id, "activate", parties[0])

    def agreement_action(self, agreement_id: str, action: str, agency: str) -> dict[str, Any]:
        r = self.http.post(
            self.url("consent", f"/agreements/{agreement_id}/{action}"),
            headers=self.officer(agency),
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def object(self, agency: str, person: str, **scope: list[str]) -> dict[str, Any]:
        r = self.http.post(
            self.url("consent", "/objections"),
            json={"person": person, "kind": "objection", **scope},
            headers=self.caseworker(agency),
        )
        assert r.status_code == 201, r.text
        return dict(r.json())

    # --- referral --------------------------------------------------------------------
    def refer(
        self, agency: str, person: str, to: str, details: dict[str, Any], **kw: Any
    ) -> httpx.Response:
        body = {
            "person": person,
            "to_agency": to,
            "purpose": kw.pop("purpose", "housing_support"),
            "urgency": kw.pop("urgency", "urgent"),
            "summary": kw.pop("summary", "Needs support to keep the tenancy."),
            "details": details,
            **kw,
        }
        return self.http.post(
            self.url("referral", "/referrals"), json=body, headers=self.caseworker(agency)
        )

    def read(self, agency: str, referral_id: str) -> httpx.Response:
        return self.http.get(
            self.url("referral", f"/referrals/{referral_id}"), headers=self.caseworker(agency)
        )

    def act(self, agency: str, referral_id: str, action: str, body: Any = None) -> httpx.Response:
        return self.http.post(
            self.url("referral", f"/referrals/{referral_id}/{action}"),
            json=body,
            headers=self.caseworker(agency),
        )

    def decide_status(self, person_id: str) -> int:
        """The status of the consent service's answer about an internal person id."""
        r = self.http.post(
            self.url("consent", "/decisions"),
            json={
                "person_id": person_id,
                "disclosing_agency": "housing",
                "recipient_agency": "council-asc",
                "purpose": "housing_support",
                "categories": ["housing"],
            },
            headers=self.service(),
        )
        return r.status_code

    def projection_lag(self) -> int | None:
        """How many events the referral service's projection has yet to apply."""
        ready = self.http.get(self.url("referral", "/readyz")).json()
        return ready["checks"]["consumers"]["referral-projection"]["lag"]

    def box(self, agency: str, side: str, **params: Any) -> httpx.Response:
        return self.http.get(
            self.url("referral", f"/referrals/{side}"),
            params=params,
            headers=self.caseworker(agency),
        )


@pytest.fixture
def cb(system, token) -> Casebridge:  # type: ignore[no-untyped-def]
    c = Casebridge(system, token)
    yield c
    c.http.close()


@pytest.fixture
def lagging_cb(settings, token) -> Casebridge:  # type: ignore[no-untyped-def]
    """The system with the referral projection applying each batch seconds late, so the
    consent service follows identity events well before the referral service does."""
    lag = {"CASEBRIDGE_REFERRAL_PROJECTION_DELAY_SECONDS": "6"}
    running = RunningSystem(settings, extra_env=lag).start()
    c = Casebridge(running, token)
    yield c
    c.http.close()
    running.stop()


def topic_events(
    settings: Settings,
    producer: str,
    until: Callable[[list[CloudEvent]], bool],
    timeout: float = 20,
) -> list[CloudEvent]:
    """Read a producer's topic from the start until `until(events)` holds (or fail)."""

    async def read() -> list[CloudEvent]:
        consumer = AIOKafkaConsumer(
            settings.topic(producer),
            bootstrap_servers=settings.kafka_bootstrap_servers,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        events: list[CloudEvent] = []
        try:
            deadline = asyncio.get_running_loop().time() + timeout
            while asyncio.get_running_loop().time() < deadline:
                batches = await consumer.getmany(timeout_ms=200)
                for records in batches.values():
                    events += [CloudEvent.from_bytes(r.value) for r in records]
                if until(events):
                    return events
        finally:
            await consumer.stop()
        pytest.fail(f"events on {producer} never met the condition; saw {[e.type for e in events]}")

    return asyncio.run(read())


def audits(events: list[CloudEvent], **match: Any) -> list[dict[str, Any]]:
    """The audit records among `events` whose data has every `match` field."""
    found = []
    for e in events:
        if e.type != "audit.access.v1":
            continue
        if all(e.data.get(k) == v for k, v in match.items()):
            found.append(e.data)
    return found
