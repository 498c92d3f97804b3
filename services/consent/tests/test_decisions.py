"""`POST /decisions` and `GET /revision` over HTTP (service role: no identity needed)."""

from __future__ import annotations

from datetime import timedelta

from services.consent.objections.service import ObjectionScope
from services.consent.objections.service import record as record_objection
from services.consent.tests.conftest import ctx_of, now, outbox_events, quiet_relay, seed_consent
from shared.auth import Principal
from shared.testing import auth, service_client

P1, P2 = "person-decisions-1", "person-decisions-2"


def question(**kw):
    return {
        "person_id": P1,
        "disclosing_agency": "housing",
        "recipient_agency": "council-asc",
        "purpose": "housing_support",
        "categories": ["housing.tenancy", "health.summary", "criminal_justice"],
        **kw,
    }


def ask(client, token, **kw):
    r = client.post("/decisions", json=question(**kw), headers=auth(token("service", None)))
    assert r.status_code == 200, r.text
    return r.json()


def audits(client, action="consent.decision"):
    return [
        e["data"] for e in outbox_events(client, "audit.access.v1") if e["data"]["action"] == action
    ]


def test_housing_consent_permits_housing_and_health_summary_not_police_history(consent, token):
    cid, version = seed_consent(consent, P1)
    d = ask(consent, token)
    assert d["decision"] == "partial"
    assert d["permitted"] == ["housing.tenancy", "health.summary"]
    assert d["withheld"] == [
        {"category": "criminal_justice", "reasons": ["consent_category_not_covered"]}
    ]
    assert d["bases"] == [
        {
            "kind": "consent",
            "consent_id": cid,
            "version": version,
            "categories": ["housing.tenancy", "health.summary"],
        }
    ]
    assert d["revision"] >= 1 and d["valid_until"] is not None
    assert any(s["category"] == "criminal_justice" for s in d["suggestions"])
    record = audits(consent)[-1]
    assert record["person_id"] == P1
    assert record["decision"] == "permitted"
    assert record["basis"]["consents"] == [{"id": cid, "version": version}]
    assert record["purpose"] == "housing_support"


def test_no_purpose_is_a_deny_and_is_audited(consent, token):
    seed_consent(consent, P1)
    d = ask(consent, token, purpose=None)
    assert d["decision"] == "deny" and d["reasons"] == ["no_purpose"]
    assert {w["category"] for w in d["withheld"]} == {
        "housing.tenancy",
        "health.summary",
        "criminal_justice",
    }
    assert audits(consent)[-1]["decision"] == "denied"


def test_unknown_terms_are_422_naming_the_field_and_nothing_is_written(consent, token):
    before = len(outbox_events(consent))
    for body, field in [
        (question(categories=["housing", "gossip"]), "body.categories.1"),
        (question(purpose="fishing"), "body.purpose"),
        (question(recipient_agency="nowhere"), "body.recipient_agency"),
        (question(disclosing_agency="nowhere"), "body.disclosing_agency"),
        (question(categories=[]), "body.categories"),
        (question(person="psn_x"), "body"),
    ]:
        r = consent.post("/decisions", json=body, headers=auth(token("service", None)))
        assert r.status_code == 422, r.text
        assert field in {e["field"] for e in r.json()["errors"]}, (field, r.json())
    assert len(outbox_events(consent)) == before


def test_refusals_by_role_and_agency_are_audited(consent, token):
    r = consent.post(
        "/decisions", json=question(), headers=auth(token("client", None, person="psn_a"))
    )
    assert r.status_code == 403 and r.json()["type"].endswith("missing-role")
    body = question()
    del body["person_id"]
    body["person"] = "psn_whatever"
    r = consent.post("/decisions", json=body, headers=auth(token("caseworker", "police")))
    assert r.status_code == 403 and r.json()["type"].endswith("wrong-agency")
    r = consent.post("/decisions", json=question(), headers=auth(token("caseworker", "housing")))
    assert r.status_code == 403 and r.json()["type"].endswith("person-id-for-services")
    denied = [a for a in audits(consent) if a["decision"] == "denied"]
    assert [a["reason"] for a in denied] == ["wrong-agency", "person-id-for-services"]


def test_identity_unreachable_fails_closed(settings, token):
    from casebridge.broker import free_port

    s = quiet_relay(settings).model_copy(update={"identity_url": f"http://127.0.0.1:{free_port()}"})
    with service_client("consent", s) as client:
        body = question()
        del body["person_id"]
        body["person"] = "psn_aaaaaaaaaaaaaaaaaaaaaaaaaa"
        r = client.post("/decisions", json=body, headers=auth(token("caseworker", "housing")))
        assert r.status_code == 503
        assert r.json()["type"].endswith("identity-unavailable")


def test_objection_overrides_consent_but_not_a_statutory_duty(consent, token):
    from services.consent.tests.test_agreements import make_active

    seed_consent(consent, P1)
    ctx = ctx_of(consent)
    with ctx.db.session() as s:
        record_objection(
            s,
            ctx.events,
            Principal(sub="cw", agency="housing", roles=frozenset({"caseworker"})),
            person_id=P1,
            kind="objection",
            scope=ObjectionScope(),
            now=now(),
        )
    d = ask(consent, token, categories=["housing"])
    assert d["decision"] == "deny" and d["withheld"][0]["reasons"] == ["objection"]
    make_active(consent, token)  # school-oak -> council-csc, statutory duty, safeguarding
    d = ask(
        consent,
        token,
        disclosing_agency="school-oak",
        recipient_agency="council-csc",
        purpose="safeguarding",
        categories=["children.safeguarding"],
        person_id=P1,
    )
    assert d["decision"] == "permit"
    assert "objection_overridden:statutory_duty" in d["reasons"]
    assert any(
        o["kind"] == "notify_client" and o["citation"] == "Children Act 2004 s11"
        for o in d["obligations"]
    )


def test_break_glass_needs_a_justification_grants_a_window_and_raises_an_alert(consent, token):
    r = consent.post(
        "/decisions",
        json=question(purpose="emergency", break_glass={"justification": "x"}),
        headers=auth(token("service", None)),
    )
    assert r.status_code == 422 and "body.break_glass.justification" in {
        e["field"] for e in r.json()["errors"]
    }
    d = ask(
        consent,
        token,
        purpose="emergency",
        categories=["health.mental"],
        break_glass={"justification": "Found unresponsive; paramedics need MH history"},
    )
    assert d["decision"] == "permit"
    assert d["bases"][0]["kind"] == "break_glass"
    until = d["valid_until"]
    alerts = outbox_events(consent, "consent.break_glass_used.v1")
    assert len(alerts) == 1
    alert = alerts[0]["data"]
    assert alert["person_id"] == P1 and alert["revision"] == d["revision"]
    assert "justification" not in alert
    assert audits(consent)[-1]["basis"]["break_glass"].startswith("Found unresponsive")
    # within the window the grant itself is the basis; no second alert
    again = ask(consent, token, purpose="emergency", categories=["health.mental"])
    assert again["decision"] == "permit" and again["valid_until"] == until
    assert len(outbox_events(consent, "consent.break_glass_used.v1")) == 1
    # but only for that purpose and recipient
    assert (
        ask(consent, token, purpose="housing_support", categories=["health.mental"])["decision"]
        == "deny"
    )


def test_revision_moves_with_each_change_and_per_person(consent, token):
    svc = auth(token("service", None))

    def revisions(*persons):
        r = consent.get("/revision", params={"person_id": list(persons)}, headers=svc)
        assert r.status_code == 200, r.text
        return r.json()

    assert revisions(P1) == {"revision": 0, "person_revisions": {P1: 0}}
    assert (
        consent.get(
            "/revision", params={"person_id": P1}, headers=auth(token("caseworker"))
        ).status_code
        == 403
    )
    seed_consent(consent, P1)
    after_p1 = revisions(P1)
    seed_consent(consent, P2)
    # one call answers for several persons, each with their own latest change
    assert revisions(P1, P2, P1) == {
        "revision": after_p1["revision"] + 1,
        "person_revisions": {
            P1: after_p1["person_revisions"][P1],
            P2: after_p1["revision"] + 1,
        },
    }
    granted = outbox_events(consent, "consent.granted.v1")
    assert [e["data"]["revision"] for e in granted] == [1, 2]
    d = ask(consent, token)
    assert d["revision"] == 2


def test_revision_refuses_no_person_too_many_or_a_malformed_one(consent, token):
    svc = auth(token("service", None))
    for params in (
        {},
        {"person_id": ""},
        {"person_id": "x" * 65},
        {"person_id": [f"p{i}" for i in range(101)]},
    ):
        r = consent.get("/revision", params=params, headers=svc)
        assert r.status_code == 422, (params, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
    assert (
        consent.get(
            "/revision", params={"person_id": [f"p{i}" for i in range(100)]}, headers=svc
        ).status_code
        == 200
    )


def test_expiry_takes_effect_at_its_time_without_the_sweep(consent, token):
    from services.consent.models import Consent, ConsentVersion

    cid, version = seed_consent(consent, P1)
    assert ask(consent, token)["decision"] == "partial"
    ctx = ctx_of(consent)
    # Time passes. The version rows are append-only, so move the clock by granting a consent
    # whose expiry is moments away instead.
    cid2, _ = seed_consent(consent, P2, expires_at=now() + timedelta(seconds=1))
    import time

    time.sleep(1.1)
    d = ask(consent, token, person_id=P2)
    assert d["decision"] == "deny"
    assert {tuple(w["reasons"]) for w in d["withheld"]} == {
        ("consent_expired",),
        ("consent_category_not_covered",),
    }
    with ctx.db.session() as s:
        assert s.get(Consent, cid2).expiry_announced_at is None
        assert s.get(ConsentVersion, (cid, version)) is not None


def test_consents_follow_an_identity_merge_and_unmerge(consent, token):
    from services.consent.merges import follow_merge, follow_unmerge
    from shared.events.envelope import CloudEvent

    seed_consent(consent, P2)
    assert ask(consent, token, person_id=P1)["decision"] == "deny"
    ctx = ctx_of(consent)
    merged = CloudEvent(
        source="/casebridge/identity",
        type="identity.persons_merged.v1",
        data={"merge_id": "m1", "survivor_person_id": P1, "merged_person_id": P2},
    )
    with ctx.db.session() as s:
        follow_merge(s, merged)
    assert ask(consent, token, person_id=P1)["decision"] == "partial"
    # A service still holding the merged id gets a conflict, not a denial it would act on.
    r = consent.post(
        "/decisions", json=question(person_id=P2), headers=auth(token("service", None))
    )
    assert r.status_code == 409, r.text
    assert r.json()["type"] == "urn:casebridge:problem:person-merged"
    assert audits(consent)[-1]["decision"] == "denied"
    unmerged = CloudEvent(
        source="/casebridge/identity",
        type="identity.person_unmerged.v1",
        data={"person_id": P1, "restored_person_id": P2, "merge_id": "m1"},
    )
    with ctx.db.session() as s:
        follow_unmerge(s, unmerged)
    assert ask(consent, token, person_id=P1)["decision"] == "deny"
    assert ask(consent, token, person_id=P2)["decision"] == "partial"
