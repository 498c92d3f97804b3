"""Objections and refusals over HTTP, the scheduled sweep, and events reaching Kafka."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from aiokafka import AIOKafkaConsumer

from services.consent.models import Agreement, Consent
from services.consent.sweep import BATCH, sweep_once
from services.consent.tests.conftest import ctx_of, now, outbox_events, seed_consent
from services.consent.tests.test_agreements import make_active
from services.consent.tests.test_consents_http import consent_body, decide
from shared.events.envelope import CloudEvent
from shared.testing import auth


def test_client_objection_stops_consent_sharing_until_lifted(stack):
    person = stack.register("housing", "H-300")
    housing = auth(stack.token("caseworker", "housing"))
    stack.consent.post("/consents", json=consent_body(person), headers=housing)
    me = auth(stack.client_token("housing", person))
    r = stack.consent.post("/me/objections", json={"recipients": ["council-asc"]}, headers=me)
    assert r.status_code == 201, r.text
    objection = r.json()
    d = decide(stack, person)
    assert d["decision"] == "deny" and d["withheld"][0]["reasons"] == ["objection"]
    assert decide(stack, person, recipient_agency="nhs-mh")["decision"] == "permit"
    recorded = outbox_events(stack.consent, "objection.recorded.v1")[0]["data"]
    assert (
        recorded["scope"]["recipients"] == ["council-asc"] and recorded["revision"] == d["revision"]
    )
    # a caseworker of another agency may not lift it; the client may
    r = stack.consent.post(
        f"/objections/{objection['id']}/lift", headers=auth(stack.token("caseworker", "police"))
    )
    assert r.status_code == 403
    r = stack.consent.post(f"/me/objections/{objection['id']}/lift", headers=me)
    assert r.status_code == 200 and r.json()["status"] == "lifted"
    stack.consent.post(f"/me/objections/{objection['id']}/lift", headers=me)
    assert len(outbox_events(stack.consent, "objection.lifted.v1")) == 1
    assert decide(stack, person)["decision"] == "permit"


def test_recorded_refusal_is_kept_and_blocks_consent_but_not_a_duty(stack):
    person = stack.register("school-oak", "S-1")
    school = auth(stack.token("caseworker", "school-oak"))
    r = stack.consent.post(
        "/objections",
        json={"person": person, "kind": "refusal", "purposes": ["safeguarding"]},
        headers=school,
    )
    assert r.status_code == 201 and r.json()["kind"] == "refusal"
    listed = stack.consent.get("/objections", params={"person": person}, headers=school).json()
    assert [o["kind"] for o in listed] == ["refusal"]
    make_active(stack.consent, stack.token)
    r = stack.consent.post(
        "/decisions",
        json={
            "person": person,
            "disclosing_agency": "school-oak",
            "recipient_agency": "council-csc",
            "purpose": "safeguarding",
            "categories": ["children.safeguarding", "health.mental"],
        },
        headers=school,
    )
    d = r.json()
    assert d["decision"] == "partial" and d["permitted"] == ["children.safeguarding"]
    assert "refusal_overridden:statutory_duty" in d["reasons"]
    assert d["withheld"] == [
        {"category": "health.mental", "reasons": ["agreement_category_not_covered", "refusal"]}
    ]
    r = stack.consent.post(
        "/objections", json={"person": person, "categories": ["gossip"]}, headers=school
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.categories.0"


def test_sweep_announces_expiry_lapse_and_review_once(consent, token):
    ctx = ctx_of(consent)
    cid, _ = seed_consent(consent, "person-sweep", expires_at=now() + timedelta(minutes=5))
    aid = make_active(consent, token, review_at=(now() + timedelta(days=10)).isoformat())
    later = now() + timedelta(minutes=6)
    counts = sweep_once(ctx.db, ctx.events, now=later, review_notice=timedelta(days=30))
    assert counts == {"consents_expired": 1, "agreements_expired": 0, "reviews_due": 1}
    assert sweep_once(ctx.db, ctx.events, now=later, review_notice=timedelta(days=30)) == {
        "consents_expired": 0,
        "agreements_expired": 0,
        "reviews_due": 0,
    }
    expired = outbox_events(consent, "consent.expired.v1")
    assert [e["data"]["consent_id"] for e in expired] == [cid]
    assert expired[0]["data"]["person_id"] == "person-sweep"
    assert outbox_events(consent, "agreement.review_due.v1")[0]["data"]["agreement_id"] == aid
    with ctx.db.session() as s:
        assert s.get(Consent, cid).expiry_announced_at is not None
        ends = s.get(Agreement, aid).ends_at
    counts = sweep_once(
        ctx.db, ctx.events, now=ends + timedelta(seconds=1), review_notice=timedelta(days=30)
    )
    assert counts["agreements_expired"] == 1
    with ctx.db.session() as s:
        assert s.get(Agreement, aid).status == "expired"
    assert len(outbox_events(consent, "agreement.expired.v1")) == 1


def test_a_backlog_of_expiries_is_announced_a_small_batch_per_transaction_each_once(consent):
    ctx = ctx_of(consent)
    soon = now() + timedelta(minutes=5)
    ids = [seed_consent(consent, f"person-due-{i}", expires_at=soon)[0] for i in range(BATCH + 3)]
    later = now() + timedelta(minutes=6)
    passes = []
    while not passes or passes[-1]:
        counts = sweep_once(ctx.db, ctx.events, now=later, review_notice=timedelta(days=30))
        passes.append(counts["consents_expired"])
    assert passes == [BATCH, 3, 0]
    announced = [e["data"]["consent_id"] for e in outbox_events(consent, "consent.expired.v1")]
    assert sorted(announced) == sorted(ids)


async def read_topic(
    settings, wanted: set[str], within: float = 30.0
) -> list[tuple[bytes | None, CloudEvent]]:
    consumer = AIOKafkaConsumer(
        settings.topic("consent"),
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=f"consent-test-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    found: list[tuple[bytes | None, CloudEvent]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not wanted <= {e.type for _, e in found} and loop.time() < deadline:
            for msgs in (await consumer.getmany(timeout_ms=200)).values():
                found.extend((m.key, CloudEvent.from_bytes(m.value)) for m in msgs)
    finally:
        await consumer.stop()
    return found


def test_consent_events_reach_kafka_keyed_by_person_with_revisions(stack, settings):
    person = stack.register("housing", "H-301")
    housing = auth(stack.token("caseworker", "housing"))
    c = stack.consent.post("/consents", json=consent_body(person), headers=housing).json()
    stack.consent.post(f"/consents/{c['id']}/withdraw", headers=housing)
    person_id = stack.person_id("housing", person)
    found = asyncio.run(
        read_topic(settings, {"consent.granted.v1", "consent.withdrawn.v1", "audit.access.v1"})
    )
    mine = [(k, e) for k, e in found if e.type.startswith("consent.")]
    assert [e.type for _, e in mine] == ["consent.granted.v1", "consent.withdrawn.v1"]
    assert {k for k, _ in mine} == {person_id.encode()}
    revisions = [e.data["revision"] for _, e in mine]
    assert revisions == sorted(revisions) and revisions[0] < revisions[1]
    for _, e in mine:
        assert "Sam" not in e.model_dump_json() and "Doe" not in e.model_dump_json()
