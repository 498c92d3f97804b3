"""The client's own endpoints, signed receipts, and the FHIR export."""

from __future__ import annotations

from datetime import timedelta

import httpx
from fhir.resources.R4B.consent import Consent as FhirConsent

from services.consent.consents.receipts import verify
from services.consent.tests.conftest import now, outbox_events
from services.consent.tests.test_consents_http import consent_body
from shared.testing import auth


def client_grant(**kw):
    body = {
        "purposes": ["integrated_care"],
        "categories": ["health.summary"],
        "recipients": ["gp-elm"],
        "source_agencies": ["nhs-mh"],
        "expires_at": (now() + timedelta(days=60)).isoformat(),
    }
    body.update(kw)
    return body


def test_client_lists_grants_withdraws_and_renews_their_own(stack):
    person = stack.register("housing", "H-200")
    recorded = stack.consent.post(
        "/consents", json=consent_body(person), headers=auth(stack.token("caseworker", "housing"))
    ).json()
    me = auth(stack.client_token("housing", person))
    mine = stack.consent.get("/me/consents", headers=me).json()
    assert [c["id"] for c in mine] == [recorded["id"]]
    r = stack.consent.post("/me/consents", json=client_grant(), headers=me)
    assert r.status_code == 201, r.text
    own = r.json()
    assert own["agency"] == "client" and own["evidence"]["method"] == "digital"
    r = stack.consent.post(
        f"/me/consents/{own['id']}/renew",
        json={"expires_at": (now() + timedelta(days=700)).isoformat()},
        headers=me,
    )
    assert r.status_code == 200 and r.json()["version"] == 2
    r = stack.consent.post(
        f"/me/consents/{recorded['id']}/withdraw", json={"recipients": ["nhs-mh"]}, headers=me
    )
    assert r.status_code == 200 and r.json()["recipients"] == ["council-asc"]
    assert len(stack.consent.get("/me/consents", headers=me).json()) == 2
    # without source agencies a client grant is refused
    r = stack.consent.post("/me/consents", json=client_grant(source_agencies=[]), headers=me)
    assert r.status_code == 422


def test_a_client_cannot_touch_another_persons_consent(stack):
    alice = stack.register("housing", "H-201", family_name="Alpha")
    bob = stack.register("housing", "H-202", family_name="Bravo-Quentin")
    assert stack.person_id("housing", alice) != stack.person_id("housing", bob)
    c = stack.consent.post(
        "/consents", json=consent_body(alice), headers=auth(stack.token("caseworker", "housing"))
    ).json()
    as_bob = auth(stack.client_token("housing", bob))
    for method, path in [
        ("GET", f"/me/consents/{c['id']}"),
        ("POST", f"/me/consents/{c['id']}/withdraw"),
        ("GET", f"/me/consents/{c['id']}/receipts"),
    ]:
        r = stack.consent.request(method, path, headers=as_bob)
        assert r.status_code == 403 and r.json()["type"].endswith("wrong-person"), (path, r.text)
    assert outbox_events(stack.consent, "consent.withdrawn.v1") == []
    refusals = [
        e["data"]
        for e in outbox_events(stack.consent, "audit.access.v1")
        if e["data"]["decision"] == "denied"
    ]
    assert len(refusals) == 3 and all(
        r["person_id"] == stack.person_id("housing", alice) for r in refusals
    )
    # a caseworker's token is not a client's
    assert (
        stack.consent.get(
            "/me/consents", headers=auth(stack.token("caseworker", "housing"))
        ).status_code
        == 403
    )


def test_every_change_gets_a_receipt_that_verifies_with_the_published_key(stack):
    person = stack.register("housing", "H-203")
    housing = auth(stack.token("caseworker", "housing"))
    c = stack.consent.post("/consents", json=consent_body(person), headers=housing).json()
    stack.consent.post(
        f"/consents/{c['id']}/withdraw",
        json={"purposes": ["housing_support"], "recipients": ["nhs-mh"]},
        headers=housing,
    )
    key = stack.consent.get("/receipts/key").json()["keys"][0]
    assert key["kty"] == "OKP" and key["crv"] == "Ed25519"
    me = auth(stack.client_token("housing", person))
    receipts = stack.consent.get(f"/me/consents/{c['id']}/receipts", headers=me).json()
    assert [r["version"] for r in receipts] == [1, 2]
    first, second = receipts
    for r in receipts:
        assert r["kid"] == key["kid"]
        assert verify(key, r["receipt"], r["signature"])
    doc = first["receipt"]
    assert doc["version"] == "KI-CR-v1.1.0"
    assert (
        doc["piiPrincipalId"]
        == httpx.get(
            f"{stack.identity_url}/internal/pseudonym",
            params={"agency": "client", "person_id": stack.person_id("housing", person)},
            headers=auth(stack.token("service", None)),
        ).json()["pseudonym"]
    )
    assert doc["services"][0]["purposes"][0]["purposeCategory"] == ["housing_support"]
    assert doc["sensitive"] is True and doc["spiCat"] == ["health.summary"]
    assert doc["recordId"] == c["id"] and doc["event"] == "granted"
    assert second["receipt"]["event"] == "withdrawn" and second["receipt"]["state"] == "withdrawn"
    tampered = dict(doc, piiCategory=["everything"])
    assert not verify(key, tampered, first["signature"])
    assert not verify(key, second["receipt"], first["signature"])


def test_fhir_r4_export_validates(stack):
    person = stack.register("housing", "H-204")
    housing = auth(stack.token("caseworker", "housing"))
    body = consent_body(
        person, given_by={"kind": "representative", "name": "Pat Doe", "relationship": "attorney"}
    )
    c = stack.consent.post("/consents", json=body, headers=housing).json()
    stack.consent.post(
        f"/consents/{c['id']}/withdraw", json={"categories": ["health.summary"]}, headers=housing
    )
    r = stack.consent.get(f"/consents/{c['id']}/fhir", headers=housing)
    assert r.status_code == 200, r.text
    resource = FhirConsent.model_validate(r.json())
    assert resource.status == "active"
    assert resource.patient.identifier.value == person
    assert [p.code for p in resource.provision.purpose] == ["housing_support"]
    assert [c.code for c in resource.provision.class_fhir] == ["housing"]
    assert resource.provision.provision[0].type == "deny"
    assert {a.reference.identifier.value for a in resource.provision.actor} >= {
        "council-asc",
        "nhs-mh",
        "housing",
    }
    audit = [
        e["data"]
        for e in outbox_events(stack.consent, "audit.access.v1")
        if e["data"]["action"] == "consent.export"
    ]
    assert audit and audit[-1]["person_id"] == stack.person_id("housing", person)
    stack.consent.post(f"/consents/{c['id']}/withdraw", headers=housing)
    me = auth(stack.client_token("housing", person))
    withdrawn = FhirConsent.model_validate(
        stack.consent.get(f"/me/consents/{c['id']}/fhir", headers=me).json()
    )
    assert withdrawn.status == "inactive"
