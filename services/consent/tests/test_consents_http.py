"""Consents over HTTP with the real identity service: record, version, withdraw, renew,
client self-service, and every refusal."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from services.consent.models import Consent, ConsentVersion
from services.consent.tests.conftest import ctx_of, now, outbox_events
from shared.testing import auth


def consent_body(person: str, **kw):
    body = {
        "person": person,
        "purposes": ["housing_support"],
        "categories": ["housing", "health.summary"],
        "recipients": ["council-asc", "nhs-mh"],
        "source_agencies": ["housing"],
        "expires_at": (now() + timedelta(days=180)).isoformat(),
        "data_life_days": 60,
        "given_by": {"kind": "client"},
        "evidence": {
            "method": "written",
            "reference": "HSG-FORM-7/123",
            "captured_by": "J. Officer",
        },
    }
    body.update(kw)
    return body


def count_consents(client) -> int:
    with ctx_of(client).db.session() as s:
        return int(s.execute(select(func.count()).select_from(Consent)).scalar_one())


def decide(stack, person, **kw):
    body = {
        "person": person,
        "disclosing_agency": "housing",
        "recipient_agency": "council-asc",
        "purpose": "housing_support",
        "categories": ["housing.tenancy", "health.summary"],
        **kw,
    }
    r = stack.consent.post(
        "/decisions", json=body, headers=auth(stack.token("caseworker", "housing"))
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_record_then_decide_by_pseudonym(stack):
    person = stack.register("housing", "H-100")
    housing = auth(stack.token("caseworker", "housing"))
    r = stack.consent.post("/consents", json=consent_body(person), headers=housing)
    assert r.status_code == 201, r.text
    c = r.json()
    assert c["version"] == 1 and c["status"] == "active" and c["agency"] == "housing"
    assert c["person"] == person and c["data_life_days"] == 60
    person_id = stack.person_id("housing", person)
    granted = outbox_events(stack.consent, "consent.granted.v1")
    assert len(granted) == 1
    assert (
        granted[0]["data"]["person_id"] == person_id
        and granted[0]["data"]["revision"] == c["revision"]
    )
    assert granted[0]["partitionkey"] == person_id
    audit = [e["data"] for e in outbox_events(stack.consent, "audit.access.v1")]
    assert audit[-1]["action"] == "consent.record" and audit[-1]["person_id"] == person_id
    d = decide(stack, person, categories=["housing.tenancy", "health.summary", "criminal_justice"])
    assert d["decision"] == "partial"
    assert d["permitted"] == ["housing.tenancy", "health.summary"]
    assert d["bases"][0]["consent_id"] == c["id"] and d["bases"][0]["version"] == 1
    listed = stack.consent.get("/consents", params={"person": person}, headers=housing).json()
    assert [x["id"] for x in listed] == [c["id"]]
    reads = [
        e["data"]
        for e in outbox_events(stack.consent, "audit.access.v1")
        if e["data"]["action"] == "consent.list"
    ]
    assert reads[-1]["person_id"] == person_id
    assert reads[-1]["basis"]["consents"] == [{"id": c["id"], "version": 1}]


def test_bad_consents_are_422_naming_the_field_and_write_nothing(stack):
    person = stack.register("housing", "H-101")
    housing = auth(stack.token("caseworker", "housing"))
    t = now()
    cases = [
        (consent_body(person, purposes=[]), "body.purposes"),
        ({k: v for k, v in consent_body(person).items() if k != "expires_at"}, "body.expires_at"),
        (consent_body(person, categories=["housing", "gossip"]), "body.categories.1"),
        (
            consent_body(
                person,
                starts_at=(t + timedelta(days=10)).isoformat(),
                expires_at=(t + timedelta(days=5)).isoformat(),
            ),
            "body.expires_at",
        ),
        (consent_body(person, expires_at=(t + timedelta(days=400)).isoformat()), "body.expires_at"),
        (consent_body(person, recipients=["council-asc", "nowhere"]), "body.recipients.1"),
        (consent_body(person, recipients=[], recipient_types=["aliens"]), "body.recipient_types.0"),
        (consent_body(person, given_by={"kind": "representative"}), "body.given_by"),
        (
            consent_body(
                person, evidence={"method": "telepathy", "reference": "x", "captured_by": "y"}
            ),
            "body.evidence.method",
        ),
    ]
    for body, field in cases:
        r = stack.consent.post("/consents", json=body, headers=housing)
        assert r.status_code == 422, (field, r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())
    assert count_consents(stack.consent) == 0
    assert outbox_events(stack.consent, "consent.granted.v1") == []
    r = stack.consent.post(
        "/consents",
        json=consent_body(person, expires_at=(t + timedelta(days=400)).isoformat()),
        headers=housing,
    )
    assert "365 days" in r.json()["errors"][0]["message"]


def test_representative_consent_keeps_name_and_relationship(stack):
    person = stack.register("housing", "H-102")
    body = consent_body(
        person, given_by={"kind": "representative", "name": "Pat Doe", "relationship": "parent"}
    )
    r = stack.consent.post(
        "/consents", json=body, headers=auth(stack.token("caseworker", "housing"))
    )
    assert r.status_code == 201
    assert r.json()["given_by"] == {
        "kind": "representative",
        "name": "Pat Doe",
        "relationship": "parent",
    }


def test_caseworker_cannot_record_for_another_agencys_client(stack):
    person = stack.register("housing", "H-103")
    police = auth(stack.token("caseworker", "police"))
    r = stack.consent.post(
        "/consents", json=consent_body(person, source_agencies=["police"]), headers=police
    )
    assert r.status_code == 403 and r.json()["type"].endswith("not-your-client")
    assert count_consents(stack.consent) == 0
    refusals = [
        e["data"]
        for e in outbox_events(stack.consent, "audit.access.v1")
        if e["data"]["decision"] == "denied"
    ]
    assert refusals[-1]["action"] == "consent.record"


def test_another_agency_cannot_read_or_withdraw(stack):
    person = stack.register("housing", "H-104")
    c = stack.consent.post(
        "/consents", json=consent_body(person), headers=auth(stack.token("caseworker", "housing"))
    ).json()
    police = auth(stack.token("caseworker", "police"))
    assert stack.consent.get(f"/consents/{c['id']}", headers=police).status_code == 403
    r = stack.consent.post(f"/consents/{c['id']}/withdraw", headers=police)
    assert r.status_code == 403 and r.json()["type"].endswith("wrong-agency")
    assert outbox_events(stack.consent, "consent.withdrawn.v1") == []


def test_withdraw_whole_is_immediate_and_idempotent(stack):
    person = stack.register("housing", "H-105")
    housing = auth(stack.token("caseworker", "housing"))
    c = stack.consent.post("/consents", json=consent_body(person), headers=housing).json()
    assert decide(stack, person)["decision"] == "permit"
    r = stack.consent.post(f"/consents/{c['id']}/withdraw", headers=housing)
    assert r.status_code == 200
    w = r.json()
    assert w["version"] == 2 and w["status"] == "withdrawn" and w["change"] == "withdrawn"
    d = decide(stack, person)
    assert d["decision"] == "deny" and d["withheld"][0]["reasons"] == ["consent_withdrawn"]
    again = stack.consent.post(f"/consents/{c['id']}/withdraw", headers=housing)
    assert again.status_code == 200 and again.json()["version"] == 2
    events = outbox_events(stack.consent, "consent.withdrawn.v1")
    assert len(events) == 1
    assert events[0]["data"]["whole"] is True
    assert events[0]["data"]["withdrawn"]["recipients"] == ["council-asc", "nhs-mh"]
    r = stack.consent.post(
        f"/consents/{c['id']}/renew",
        json={"expires_at": (now() + timedelta(days=30)).isoformat()},
        headers=housing,
    )
    assert r.status_code == 409
    history = stack.consent.get(f"/consents/{c['id']}/versions", headers=housing).json()
    assert [(v["version"], v["status"]) for v in history] == [(1, "active"), (2, "withdrawn")]
    assert history[0]["recipients"] == ["council-asc", "nhs-mh"]


def test_partial_withdrawal_supersedes_the_old_version(stack):
    person = stack.register("housing", "H-106")
    housing = auth(stack.token("caseworker", "housing"))
    c = stack.consent.post("/consents", json=consent_body(person), headers=housing).json()
    r = stack.consent.post(
        f"/consents/{c['id']}/withdraw",
        json={"recipients": ["nhs-mh"], "categories": ["health.summary"]},
        headers=housing,
    )
    assert r.status_code == 200, r.text
    v2 = r.json()
    assert v2["version"] == 2 and v2["status"] == "active"
    assert v2["recipients"] == ["council-asc"] and v2["categories"] == ["housing"]
    assert v2["withdrawn"]["recipients"] == ["nhs-mh"]
    d = decide(stack, person)
    assert d["decision"] == "partial" and d["permitted"] == ["housing.tenancy"]
    assert d["bases"][0]["version"] == 2
    assert d["withheld"] == [
        {"category": "health.summary", "reasons": ["consent_withdrawn_in_part"]}
    ]
    d = decide(stack, person, recipient_agency="nhs-mh", categories=["housing"])
    assert d["decision"] == "deny" and d["withheld"][0]["reasons"] == ["consent_withdrawn_in_part"]
    event = outbox_events(stack.consent, "consent.withdrawn.v1")[0]["data"]
    assert event["whole"] is False
    assert event["withdrawn"]["recipients"] == ["nhs-mh"] and event["withdrawn"]["categories"] == [
        "health.summary"
    ]
    # the same partial withdrawal again changes nothing
    stack.consent.post(
        f"/consents/{c['id']}/withdraw", json={"recipients": ["nhs-mh"]}, headers=housing
    )
    assert len(outbox_events(stack.consent, "consent.withdrawn.v1")) == 1


def test_renewal_is_a_new_version_within_the_maximum(stack):
    person = stack.register("housing", "H-107")
    housing = auth(stack.token("caseworker", "housing"))
    c = stack.consent.post("/consents", json=consent_body(person), headers=housing).json()
    too_long = (now() + timedelta(days=366)).isoformat()
    r = stack.consent.post(
        f"/consents/{c['id']}/renew", json={"expires_at": too_long}, headers=housing
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.expires_at"
    new_expiry = now() + timedelta(days=300)
    r = stack.consent.post(
        f"/consents/{c['id']}/renew", json={"expires_at": new_expiry.isoformat()}, headers=housing
    )
    assert r.status_code == 200
    assert r.json()["version"] == 2 and r.json()["change"] == "renewed"
    renewed = outbox_events(stack.consent, "consent.renewed.v1")
    assert len(renewed) == 1 and renewed[0]["data"]["version"] == 2
    d = decide(stack, person)
    assert d["bases"][0]["version"] == 2


def test_consent_history_cannot_be_rewritten_in_the_database(stack):
    import pytest
    from sqlalchemy import update
    from sqlalchemy.exc import DatabaseError

    person = stack.register("housing", "H-108")
    stack.consent.post(
        "/consents", json=consent_body(person), headers=auth(stack.token("caseworker", "housing"))
    )
    with pytest.raises(DatabaseError, match="append-only"):
        with ctx_of(stack.consent).db.session() as s:
            s.execute(update(ConsentVersion.__table__).values(purposes=["evaluation"]))
