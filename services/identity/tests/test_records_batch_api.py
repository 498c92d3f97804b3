"""`POST /records/batch`: an agency feed registered in order, in one transaction, all or nothing."""

from __future__ import annotations

from services.identity.records.schemas import MAX_BATCH
from services.identity.tests.conftest import record

MARY = {
    "given_name": "Mary",
    "family_name": "Okafor",
    "birth_date": "1990-01-01",
    "sex": "female",
    "postcode": "LS2 9JT",
    "address_line": "1 Park Road",
}


def audits(outbox_events, action):
    return [e["data"] for e in outbox_events("audit.access.v1") if e["data"]["action"] == action]


def test_batch_registers_each_record_in_order_as_a_single_call_would(identity, as_, outbox_events):
    batch = [
        record("H-1"),
        record("H-2", given_name="Jon", family_name="Smyth", birth_date="1980-04-03"),
        record("H-3", **MARY),
    ]
    r = identity.post("/records/batch", json={"records": batch}, headers=as_("caseworker"))
    assert r.status_code == 200, r.text
    out = r.json()["records"]
    assert [o["local_id"] for o in out] == ["H-1", "H-2", "H-3"]
    assert all(o["created"] and o["version"] == 1 and o["agency"] == "housing" for o in out)
    assert [o["link"]["decision"] for o in out] == ["new_person", "linked", "new_person"]
    assert out[1]["link"]["rule"] == "probabilistic:above-upper"
    assert out[0]["person"] == out[1]["person"] != out[2]["person"]
    # The events and audit records of three single registrations, interleaved the same way.
    assert [e["type"] for e in outbox_events()] == [
        "identity.record_registered.v1",
        "audit.access.v1",
        "identity.person_linked.v1",
        "identity.record_registered.v1",
        "audit.access.v1",
        "identity.record_registered.v1",
        "audit.access.v1",
    ]
    registered = outbox_events("identity.record_registered.v1")
    trail = audits(outbox_events, "identity.record.register")
    assert [a["resource"] for a in trail] == [f"record/{o['record_id']}" for o in out]
    assert [a["person_id"] for a in trail] == [e["data"]["person_id"] for e in registered]
    assert [a["person_ref"] for a in trail] == [o["person"] for o in out]
    # Stored as a single call stores it.
    h = as_("caseworker")
    assert identity.get("/records/H-2", headers=h).json()["person"] == out[1]["person"]
    assert identity.get("/records/H-1/person", headers=h).json()["records"] == ["H-1", "H-2"]
    text = str(outbox_events())
    for secret in ("Jonathan", "Smith", "Okafor", "1980-03-04", "M14BT", "Mill Lane"):
        assert secret not in text


def test_a_record_links_to_an_earlier_record_of_the_same_batch(identity, as_, outbox_events):
    nhs = {"nhs_number": "9434765919"}
    batch = [
        record("H-1", identifiers=nhs),
        record(
            "H-2",
            given_name="Jon",
            family_name="Smythe",
            birth_date="1979-01-01",
            **{"identifiers": nhs},
        ),
    ]
    out = identity.post(
        "/records/batch", json={"records": batch}, headers=as_("caseworker")
    ).json()["records"]
    assert out[0]["link"]["decision"] == "new_person"
    assert out[1]["link"]["decision"] == "linked"
    assert out[1]["link"]["rule"] == "deterministic:nhs_number"
    assert out[0]["person"] == out[1]["person"]
    [linked] = outbox_events("identity.person_linked.v1")
    first, second = outbox_events("identity.record_registered.v1")
    assert linked["data"]["person_id"] == first["data"]["person_id"] == second["data"]["person_id"]


def test_the_same_local_id_twice_in_a_batch_updates_the_first(identity, as_):
    batch = [record("H-1"), record("H-1", family_name="Smith-Jones")]
    out = identity.post(
        "/records/batch", json={"records": batch}, headers=as_("caseworker")
    ).json()["records"]
    assert out[1]["record_id"] == out[0]["record_id"] and out[1]["created"] is False
    assert out[1]["version"] == 2 and out[1]["person"] == out[0]["person"]
    stored = identity.get("/records/H-1", headers=as_("caseworker")).json()
    assert stored["family_name"] == "Smith-Jones"


def test_one_bad_record_is_a_422_naming_its_index_and_nothing_is_written(
    identity, as_, outbox_events
):
    h = as_("caseworker")
    batch = [
        record("H-1"),
        record("H-2", identifiers={"nhs_number": "9434765918"}),
        record("H-3", postcode="NOT A POSTCODE"),
    ]
    r = identity.post("/records/batch", json={"records": batch}, headers=h)
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem")
    assert {e["field"] for e in r.json()["errors"]} == {
        "body.records.1.identifiers.nhs_number",
        "body.records.2.postcode",
    }
    # A schema error (a future date of birth) names the item too.
    r = identity.post(
        "/records/batch",
        json={"records": [record("H-1"), record("H-4", birth_date="2999-01-01")]},
        headers=h,
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.records.1.birth_date"}
    for local_id in ("H-1", "H-2", "H-3", "H-4"):
        assert identity.get(f"/records/{local_id}", headers=h).status_code == 404
    assert outbox_events("identity.record_registered.v1") == []
    assert audits(outbox_events, "identity.record.register") == []


def test_only_caseworkers_register_batches(identity, as_, outbox_events):
    for role in ("auditor", "ig_officer", "partner_system", "admin"):
        r = identity.post("/records/batch", json={"records": [record()]}, headers=as_(role))
        assert r.status_code == 403 and r.json()["type"].endswith("missing-role")
    r = identity.post("/records/batch", json={"records": [record()]}, headers=as_("service", None))
    assert r.status_code == 403
    assert identity.post("/records/batch", json={"records": [record()]}).status_code == 401
    assert outbox_events("identity.record_registered.v1") == []


def test_a_batch_cannot_touch_another_agencys_record(identity, as_):
    housing = identity.post("/records", json=record("H-1"), headers=as_("caseworker")).json()
    # The agency is the caller's (from the token), whatever an item says.
    batch = [record("H-1", family_name="Jones", agency="housing")]
    r = identity.post(
        "/records/batch", json={"records": batch}, headers=as_("caseworker", "police")
    )
    assert r.status_code == 200, r.text
    [police] = r.json()["records"]
    assert police["agency"] == "police" and police["created"] is True
    assert police["record_id"] != housing["record_id"] and police["person"] != housing["person"]
    kept = identity.get("/records/H-1", headers=as_("caseworker")).json()
    assert kept["version"] == 1 and kept["family_name"] == "Smith"


def test_batch_size_is_limited(identity, as_, outbox_events):
    h = as_("caseworker")
    too_many = [record(f"H-{i}") for i in range(MAX_BATCH + 1)]
    r = identity.post("/records/batch", json={"records": too_many}, headers=h)
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.records"]
    r = identity.post("/records/batch", json={"records": []}, headers=h)
    assert r.status_code == 422
    assert outbox_events("identity.record_registered.v1") == []
    full = [record(f"H-{i}", given_name=f"Name{chr(65 + i % 26)}") for i in range(MAX_BATCH)]
    r = identity.post("/records/batch", json={"records": full}, headers=h)
    assert r.status_code == 200, r.text
    assert len(r.json()["records"]) == MAX_BATCH
    assert len(outbox_events("identity.record_registered.v1")) == MAX_BATCH
