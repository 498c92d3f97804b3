"""Over HTTP: the right status and problem type for each refusal."""

from __future__ import annotations

import pytest

from shared.testing import auth, service_client


@pytest.fixture
def identity(settings):
    with service_client("identity", settings) as client:
        yield client


RECORD = {"local_id": "L-1", "given_name": "Ann", "family_name": "Lee"}


def test_no_token_is_401_problem_json(identity):
    r = identity.post("/records", json=RECORD)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:casebridge:problem:missing-token"


def test_garbage_token_is_401(identity):
    r = identity.post("/records", json=RECORD, headers=auth("not.a.jwt"))
    assert r.status_code == 401
    assert r.json()["type"] == "urn:casebridge:problem:invalid-token"


def test_expired_token_is_401(identity, token):
    r = identity.post("/records", json=RECORD, headers=auth(token("caseworker", ttl_seconds=-60)))
    assert r.status_code == 401
    assert r.json()["type"] == "urn:casebridge:problem:token-expired"


def test_missing_role_is_403(identity, token):
    r = identity.post("/records", json=RECORD, headers=auth(token("auditor")))
    assert r.status_code == 403
    assert r.json()["type"] == "urn:casebridge:problem:missing-role"


def test_foreign_agency_cannot_read_a_record(identity, token):
    assert (
        identity.post(
            "/records", json=RECORD, headers=auth(token("caseworker", "housing"))
        ).status_code
        == 201
    )
    r = identity.get("/records/L-1", headers=auth(token("caseworker", "police")))
    assert r.status_code == 404
    assert (
        identity.get("/records/L-1", headers=auth(token("caseworker", "housing"))).status_code
        == 200
    )


def test_invalid_body_is_422_naming_fields_and_writes_nothing(identity, token):
    headers = auth(token("caseworker"))
    r = identity.post("/records", json={"local_id": "", "given_name": "Ann"}, headers=headers)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.local_id", "body.family_name"} <= fields
    assert identity.get("/records/", headers=headers).status_code in (404, 405)


def test_malformed_json_is_422_not_500(identity, token):
    r = identity.post(
        "/records",
        content=b"{not json",
        headers={**auth(token("caseworker")), "content-type": "application/json"},
    )
    assert r.status_code == 422
