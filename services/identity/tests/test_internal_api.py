"""The internal pseudonym contract, open to the `service` role only."""

from __future__ import annotations

import re

import pytest

from services.identity.tests.conftest import record


@pytest.fixture
def housing_person(identity, as_):
    return identity.post(
        "/records", json=record("H-1"), headers=as_("caseworker", "housing")
    ).json()["person"]


def test_resolve_and_pseudonym_round_trip(identity, as_, housing_person):
    svc = as_("service", None)
    r = identity.get(
        "/internal/resolve", params={"agency": "housing", "pseudonym": housing_person}, headers=svc
    )
    assert r.status_code == 200
    body = r.json()
    assert body["agency"] == "housing" and body["pseudonym"] == housing_person
    person_id = body["person_id"]
    again = identity.get(
        "/internal/pseudonym", params={"agency": "housing", "person_id": person_id}, headers=svc
    )
    assert again.json() == {"pseudonym": housing_person}
    client = identity.get(
        "/internal/pseudonym", params={"agency": "client", "person_id": person_id}, headers=svc
    ).json()
    police = identity.get(
        "/internal/pseudonym", params={"agency": "police", "person_id": person_id}, headers=svc
    ).json()
    assert len({client["pseudonym"], police["pseudonym"], housing_person}) == 3
    assert re.fullmatch(r"psn_[a-z2-7]{26}", client["pseudonym"])
    # A pseudonym issued through the contract resolves back, in its own namespace only.
    back = identity.get(
        "/internal/resolve",
        params={"agency": "client", "pseudonym": client["pseudonym"]},
        headers=svc,
    )
    assert back.json()["person_id"] == person_id
    wrong_ns = identity.get(
        "/internal/resolve",
        params={"agency": "police", "pseudonym": client["pseudonym"]},
        headers=svc,
    )
    assert wrong_ns.status_code == 404


def test_internal_endpoints_refuse_everyone_but_services(identity, as_, housing_person):
    params = {"agency": "housing", "pseudonym": housing_person}
    for role, agency in (
        ("caseworker", "housing"),
        ("ig_officer", "housing"),
        ("auditor", "housing"),
        ("admin", "housing"),
    ):
        r = identity.get("/internal/resolve", params=params, headers=as_(role, agency))
        assert r.status_code == 403, role
        r = identity.get(
            "/internal/pseudonym",
            params={"agency": "housing", "person_id": "x"},
            headers=as_(role, agency),
        )
        assert r.status_code == 403, role
    assert identity.get("/internal/resolve", params=params).status_code == 401


def test_unknowns_are_404_and_bad_agencies_422(identity, as_):
    svc = as_("service", None)
    r = identity.get(
        "/internal/resolve", params={"agency": "housing", "pseudonym": "psn_nope"}, headers=svc
    )
    assert r.status_code == 404 and r.json()["type"].endswith("pseudonym-not-found")
    r = identity.get(
        "/internal/pseudonym", params={"agency": "housing", "person_id": "no-such"}, headers=svc
    )
    assert r.status_code == 404
    r = identity.get("/internal/pseudonym", params={"agency": "mi5", "person_id": "x"}, headers=svc)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "query.agency"
    r = identity.get("/internal/resolve", params={"agency": "housing"}, headers=svc)
    assert r.status_code == 422
