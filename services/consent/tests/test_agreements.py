"""The agreement register and lifecycle over HTTP, and what each state lets a decision do."""

from __future__ import annotations

from datetime import timedelta

from services.consent.tests.conftest import now, outbox_events
from shared.testing import auth

PERSON = "person-agreements-1"


def agreement_body(**kw):
    t = now()
    body = {
        "title": "Safeguarding children: school to children's social care",
        "tier": "specific",
        "providers": ["school-oak"],
        "recipients": ["council-csc"],
        "purposes": ["safeguarding"],
        "categories": ["children", "identity"],
        "fields": ["attendance", "concerns"],
        "legal_basis": {"type": "statutory_duty", "citation": "Children Act 2004 s11"},
        "frequency": "as needed",
        "mechanism": "Casebridge referral",
        "security": "OFFICIAL-SENSITIVE; named staff only",
        "starts_at": (t - timedelta(days=1)).isoformat(),
        "ends_at": (t + timedelta(days=365)).isoformat(),
        "review_at": (t + timedelta(days=180)).isoformat(),
    }
    body.update(kw)
    return body


def ask(client, token, **kw):
    body = {
        "person_id": PERSON,
        "disclosing_agency": "school-oak",
        "recipient_agency": "council-csc",
        "purpose": "safeguarding",
        "categories": ["children.safeguarding"],
        **kw,
    }
    r = client.post("/decisions", json=body, headers=auth(token("service", None)))
    assert r.status_code == 200, r.text
    return r.json()


def make_active(client, token, **kw) -> str:
    school, csc = auth(token("ig_officer", "school-oak")), auth(token("ig_officer", "council-csc"))
    r = client.post("/agreements", json=agreement_body(**kw), headers=school)
    assert r.status_code == 201, r.text
    aid = r.json()["id"]
    assert client.post(f"/agreements/{aid}/approve", headers=school).json()["status"] == "draft"
    assert client.post(f"/agreements/{aid}/approve", headers=csc).json()["status"] == "approved"
    r = client.post(f"/agreements/{aid}/activate", headers=csc)
    assert r.status_code == 200 and r.json()["status"] == "active"
    return aid


def test_lifecycle_needs_every_party_and_only_active_permits(consent, token):
    school, csc = auth(token("ig_officer", "school-oak")), auth(token("ig_officer", "council-csc"))
    r = consent.post("/agreements", json=agreement_body(), headers=school)
    assert r.status_code == 201
    a = r.json()
    assert a["status"] == "draft" and a["awaiting"] == ["school-oak", "council-csc"]
    aid = a["id"]
    assert ask(consent, token)["withheld"][0]["reasons"] == ["agreement_not_active"]
    # one party's approval is not enough to activate
    assert consent.post(f"/agreements/{aid}/approve", headers=school).json()["awaiting"] == [
        "council-csc"
    ]
    r = consent.post(f"/agreements/{aid}/activate", headers=school)
    assert r.status_code == 409 and r.json()["type"].endswith("invalid-transition")
    assert consent.post(f"/agreements/{aid}/approve", headers=csc).json()["status"] == "approved"
    assert consent.post(f"/agreements/{aid}/activate", headers=school).json()["status"] == "active"
    d = ask(consent, token)
    assert d["decision"] == "permit"
    assert d["bases"] == [
        {
            "kind": "agreement",
            "agreement_id": aid,
            "legal_basis": "statutory_duty",
            "citation": "Children Act 2004 s11",
            "categories": ["children.safeguarding"],
        }
    ]
    # suspended: permits nothing, and says so
    assert consent.post(f"/agreements/{aid}/suspend", headers=csc).json()["status"] == "suspended"
    d = ask(consent, token)
    assert d["decision"] == "deny" and d["withheld"][0]["reasons"] == ["agreement_suspended"]
    assert any(s["action"] == "reinstate_agreement" for s in d["suggestions"])
    assert consent.post(f"/agreements/{aid}/reinstate", headers=csc).json()["status"] == "active"
    assert ask(consent, token)["decision"] == "permit"
    assert consent.post(f"/agreements/{aid}/retire", headers=school).json()["status"] == "retired"
    assert ask(consent, token)["withheld"][0]["reasons"] == ["agreement_retired"]
    types = [e["type"] for e in outbox_events(consent) if e["type"].startswith("agreement.")]
    assert types == [
        "agreement.activated.v1",
        "agreement.suspended.v1",
        "agreement.activated.v1",
        "agreement.retired.v1",
    ]
    for e in outbox_events(consent):
        if e["type"].startswith("agreement."):
            assert e["data"]["revision"] > 0


def test_only_an_ig_officer_of_a_party_may_register_approve_or_suspend(consent, token):
    r = consent.post(
        "/agreements", json=agreement_body(), headers=auth(token("ig_officer", "police"))
    )
    assert r.status_code == 403 and r.json()["type"].endswith("not-a-party")
    r = consent.post(
        "/agreements", json=agreement_body(), headers=auth(token("caseworker", "school-oak"))
    )
    assert r.status_code == 403 and r.json()["type"].endswith("missing-role")
    aid = make_active(consent, token)
    r = consent.post(f"/agreements/{aid}/suspend", headers=auth(token("ig_officer", "police")))
    assert r.status_code == 403
    assert ask(consent, token)["decision"] == "permit"


def test_bad_agreements_are_refused_naming_fields_and_nothing_is_written(consent, token):
    school = auth(token("ig_officer", "school-oak"))
    t = now()
    cases = [
        (agreement_body(recipients=["nowhere"]), "body.recipients.0"),
        (agreement_body(purposes=["fishing"]), "body.purposes.0"),
        (agreement_body(categories=["everything"]), "body.categories.0"),
        (agreement_body(ends_at=(t - timedelta(days=2)).isoformat()), "body.ends_at"),
        (
            agreement_body(legal_basis={"type": "because", "citation": "none"}),
            "body.legal_basis.type",
        ),
        (agreement_body(purposes=[]), "body.purposes"),
    ]
    for body, field in cases:
        r = consent.post("/agreements", json=body, headers=school)
        assert r.status_code == 422, (field, r.text)
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())
    assert consent.get("/agreements", headers=school).json() == []


def test_an_agreement_past_its_end_permits_nothing_before_any_sweep(consent, token):
    from services.consent.models import Agreement
    from services.consent.tests.conftest import ctx_of

    aid = make_active(consent, token)
    assert ask(consent, token)["decision"] == "permit"
    ctx = ctx_of(consent)
    with ctx.db.session() as s:  # time passes: the agreement's end is now behind us
        a = s.get(Agreement, aid)
        a.ends_at = now() - timedelta(seconds=1)
        from services.consent import revision

        revision.bump(s, agreements=True)
    d = ask(consent, token)
    assert d["decision"] == "deny" and d["withheld"][0]["reasons"] == ["agreement_expired"]
