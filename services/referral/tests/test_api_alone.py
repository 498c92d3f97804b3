"""The referral service on its own (real database and broker): validation, roles, and fail
closed when identity or consent cannot be reached. Cross-service flows are in tests/referral."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from casebridge.broker import free_port
from shared.db import Database
from shared.events.tables import outbox
from shared.testing import auth, service_client

GOOD = {
    "person": "psn_AAAAAAAAAAAAAAAAAAAAAAAAAA",
    "to_agency": "council-asc",
    "purpose": "housing_support",
    "urgency": "urgent",
    "summary": "Tenant at risk of eviction; needs a care assessment.",
    "details": {"housing": {"tenancy": "secure"}, "health.summary": {"note": "diabetic"}},
}


@pytest.fixture
def alone(settings):
    # Nothing listens on these ports: identity and consent are unreachable.
    dead = settings.model_copy(
        update={
            "identity_url": f"http://127.0.0.1:{free_port()}",
            "consent_url": f"http://127.0.0.1:{free_port()}",
        }
    )
    with service_client("referral", dead) as client:
        yield client, Database(dead.database_url_for("referral"))


def audit_records(db: Database) -> list[dict]:
    with db.session() as s:
        rows = s.execute(select(outbox.c.envelope)).scalars().all()
    events = [json.loads(r) for r in rows]
    return [e["data"] for e in events if e["type"] == "audit.access.v1"]


def test_invalid_referral_is_422_naming_fields_and_writes_nothing(alone, token):
    client, db = alone
    body = {
        **GOOD,
        "to_agency": "nowhere",
        "purpose": "fishing",
        "urgency": "whenever",
        "details": {"secrets": {"x": 1}},
    }
    del body["summary"]
    r = client.post("/referrals", json=body, headers=auth(token("caseworker", "housing")))
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"] for e in r.json()["errors"]}
    assert {
        "body.to_agency",
        "body.purpose",
        "body.urgency",
        "body.details",
        "body.summary",
    } <= fields
    headers = auth(token("caseworker", "housing"))
    r = client.post("/referrals", json={**GOOD, "details": {}}, headers=headers)
    assert r.status_code == 422
    r = client.post("/referrals", json={**GOOD, "details": {"housing": {}}}, headers=headers)
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.details"
    r = client.post("/referrals", json={**GOOD, "to_agency": "housing"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["type"] == "urn:casebridge:problem:same-agency"
    with db.session() as s:
        assert s.execute(select(outbox)).first() is None


def test_only_caseworkers_refer_and_read(alone, token):
    client, _ = alone
    assert client.get("/referrals/inbox").status_code == 401
    for role in ["auditor", "client", "partner_system", "ig_officer", "service"]:
        kw = {"person": "psn_X"} if role == "client" else {}
        headers = auth(token(role, "housing", **kw))
        for r in (
            client.post("/referrals", json=GOOD, headers=headers),
            client.get("/referrals/outbox", headers=headers),
            client.get("/referrals/some-id", headers=headers),
            client.post("/referrals/some-id/accept", headers=headers),
        ):
            assert r.status_code == 403, (role, r.request.url)
            assert r.json()["type"] == "urn:casebridge:problem:missing-role"


def test_identity_unreachable_refuses_creation_with_503_and_audits_it(alone, token):
    client, db = alone
    r = client.post("/referrals", json=GOOD, headers=auth(token("caseworker", "housing")))
    assert r.status_code == 503
    assert r.json()["type"] == "urn:casebridge:problem:identity-unavailable"
    [record] = audit_records(db)
    assert record["decision"] == "denied"
    assert record["action"] == "referral.create"
    assert record["reason"] == "identity-unavailable"
    assert record["person_ref"] == GOOD["person"]
    assert sorted(record["categories"]) == ["health.summary", "housing"]
    r = client.get("/referrals/outbox", headers=auth(token("caseworker", "housing")))
    assert r.json()["items"] == []


def test_unknown_referral_is_404_and_the_attempt_audited(alone, token):
    client, db = alone
    r = client.get("/referrals/nope", headers=auth(token("caseworker", "police")))
    assert r.status_code == 404
    assert r.json()["type"] == "urn:casebridge:problem:referral-not-found"
    [record] = audit_records(db)
    assert (record["decision"], record["action"], record["actor"]["agency"]) == (
        "denied",
        "referral.read",
        "police",
    )
    assert client.get("/projection", headers=auth(token("caseworker"))).status_code == 403
    r = client.get("/projection", headers=auth(token("service", None)))
    assert r.status_code == 200
    assert r.json()["applied_revision"] == 0


def test_lists_refuse_a_forged_cursor_and_bad_filters(alone, token):
    client, _ = alone
    headers = auth(token("caseworker", "housing"))
    r = client.get("/referrals/inbox", params={"cursor": "garbage"}, headers=headers)
    assert r.status_code == 422
    assert r.json()["type"] == "urn:casebridge:problem:bad-cursor"
    r = client.get("/referrals/outbox", params={"status": "lost", "limit": 0}, headers=headers)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"query.status", "query.limit"}
