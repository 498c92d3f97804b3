"""Registering partners, their tokens, revocation, subscriptions, and every refusal."""

from __future__ import annotations

import base64

import yaml

from services.partner.tests.conftest import register_partner, subscribe
from shared.testing import auth

REFERRALS = ["referral.sent.v1", "referral.accepted.v1"]


def _register(client, token, role, agency, body_agency="housing", types=REFERRALS):
    return client.post(
        "/partners",
        json={"agency": body_agency, "name": "Housing CRM", "allowed_types": types},
        headers=auth(token(role, agency=agency)),
    )


def test_admin_and_own_ig_officer_register_others_are_refused(gateway, token):
    by_admin = _register(gateway, token, "admin", "council-asc")
    assert by_admin.status_code == 201, by_admin.text
    created = by_admin.json()
    assert created["agency"] == "housing"
    assert created["client_secret"].startswith("cbs_")
    assert created["allowed_types"] == sorted(REFERRALS)

    assert _register(gateway, token, "ig_officer", "housing").status_code == 201
    other = _register(gateway, token, "ig_officer", "police")
    assert other.status_code == 403
    assert other.json()["type"] == "urn:casebridge:problem:wrong-agency"
    wrong_role = _register(gateway, token, "caseworker", "housing")
    assert wrong_role.status_code == 403
    assert wrong_role.json()["type"] == "urn:casebridge:problem:missing-role"
    assert gateway.post("/partners", json={}).status_code == 401

    listed = gateway.get("/partners", headers=auth(token("ig_officer", agency="police")))
    assert listed.status_code == 200 and listed.json() == []
    assert len(gateway.get("/partners", headers=auth(token("admin"))).json()) == 2
    assert (
        "client_secret"
        not in gateway.get(f"/partners/{created['id']}", headers=auth(token("admin"))).json()
    )
    assert (
        gateway.get(
            f"/partners/{created['id']}", headers=auth(token("ig_officer", agency="police"))
        ).status_code
        == 403
    )


def test_bad_registrations_name_their_fields_and_write_nothing(gateway, token):
    unknown_agency = _register(gateway, token, "admin", "housing", body_agency="mi5")
    assert unknown_agency.status_code == 422
    assert [e["field"] for e in unknown_agency.json()["errors"]] == ["body.agency"]
    bad_type = _register(gateway, token, "admin", "housing", types=["audit.access.v1"])
    assert bad_type.status_code == 422
    assert [e["field"] for e in bad_type.json()["errors"]] == ["body.allowed_types"]
    empty = _register(gateway, token, "admin", "housing", types=[])
    assert empty.status_code == 422
    assert gateway.get("/partners", headers=auth(token("admin"))).json() == []


def test_token_exchange_and_its_refusals(gateway, token):
    partner = register_partner(gateway, token, "housing", REFERRALS)
    claims = partner["access"].split(".")[1]
    decoded = yaml.safe_load(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    assert decoded["sub"] == partner["id"]
    assert decoded["agency"] == "housing"
    assert decoded["roles"] == ["partner_system"]
    assert decoded["exp"] - decoded["iat"] == 300

    basic = base64.b64encode(f"{partner['client_id']}:{partner['client_secret']}".encode())
    by_basic = gateway.post(
        "/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic.decode()}"},
    )
    assert by_basic.status_code == 200

    wrong = gateway.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner["client_id"],
            "client_secret": "cbs_guess",
        },
    )
    assert wrong.status_code == 401
    assert wrong.json()["type"] == "urn:casebridge:problem:invalid-client"
    grant = gateway.post("/oauth/token", data={"grant_type": "password"})
    assert grant.status_code == 400
    assert grant.json()["type"] == "urn:casebridge:problem:unsupported-grant-type"


def test_revoked_partner_gets_no_token_and_its_tokens_stop_working(gateway, token):
    partner = register_partner(gateway, token, "housing", REFERRALS)
    assert gateway.get("/endpoints", headers=auth(partner["access"])).status_code == 200
    other_agency = gateway.post(
        f"/partners/{partner['id']}/revoke", headers=auth(token("ig_officer", agency="police"))
    )
    assert other_agency.status_code == 403
    revoked = gateway.post(
        f"/partners/{partner['id']}/revoke", headers=auth(token("ig_officer", agency="housing"))
    )
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked"
    again = gateway.post(f"/partners/{partner['id']}/revoke", headers=auth(token("admin")))
    assert again.status_code == 409

    refused = gateway.get("/endpoints", headers=auth(partner["access"]))
    assert refused.status_code == 403
    assert refused.json()["type"] == "urn:casebridge:problem:partner-revoked"
    assert gateway.get("/feed", headers=auth(partner["access"])).status_code == 403
    no_token = gateway.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": partner["client_id"],
            "client_secret": partner["client_secret"],
        },
    )
    assert no_token.status_code == 401
    assert no_token.json()["type"] == "urn:casebridge:problem:partner-revoked"


def test_partner_routes_need_a_registered_partner_token(gateway, token):
    register_partner(gateway, token, "housing", REFERRALS)
    caseworker = gateway.get("/endpoints", headers=auth(token("caseworker", agency="housing")))
    assert caseworker.status_code == 403
    forged = token("partner_system", agency="housing", sub="prt_unknown")
    unknown = gateway.get("/feed", headers=auth(forged))
    assert unknown.status_code == 403
    assert unknown.json()["type"] == "urn:casebridge:problem:unknown-partner"


def test_subscription_urls_and_types_are_checked(gateway, token, receiver):
    partner = register_partner(gateway, token, "housing", REFERRALS)
    headers = auth(partner["access"])
    for url in (
        "http://example.org/hook",
        "ftp://127.0.0.1/hook",
        "https://user:pw@example.org/hook",
        "not a url",
    ):
        refused = gateway.post(
            "/endpoints", json={"url": url, "event_types": REFERRALS}, headers=headers
        )
        assert refused.status_code == 422, url
        assert [e["field"] for e in refused.json()["errors"]] == ["body.url"]
    outside = gateway.post(
        "/endpoints",
        json={"url": receiver.url("/h"), "event_types": ["consent.withdrawn.v1"]},
        headers=headers,
    )
    assert outside.status_code == 422
    assert [e["field"] for e in outside.json()["errors"]] == ["body.event_types"]
    assert gateway.get("/endpoints", headers=headers).json() == []

    endpoint = subscribe(gateway, partner, "https://crm.housing.example/hooks", REFERRALS)
    assert endpoint["secret"].startswith("whsec_")
    local = subscribe(gateway, partner, receiver.url("/h"), ["referral.sent.v1"])
    assert {e["id"] for e in gateway.get("/endpoints", headers=headers).json()} == {
        endpoint["id"],
        local["id"],
    }


def test_a_partner_never_sees_another_partners_endpoints_or_log(gateway, token, receiver):
    mine = register_partner(gateway, token, "housing", REFERRALS)
    theirs = register_partner(gateway, token, "housing", REFERRALS)
    endpoint = subscribe(gateway, theirs, receiver.url("/theirs"), REFERRALS)
    headers = auth(mine["access"])
    for path in (
        f"/endpoints/{endpoint['id']}",
        f"/endpoints/{endpoint['id']}/deliveries",
    ):
        refused = gateway.get(path, headers=headers)
        assert refused.status_code == 404, path
    assert (
        gateway.post(f"/endpoints/{endpoint['id']}/secret/rotate", headers=headers).status_code
        == 404
    )
    assert gateway.get("/deliveries/1", headers=headers).status_code == 404
    assert gateway.post("/deliveries/1/replay", headers=headers).status_code == 404


def test_the_asyncapi_document_is_served(gateway):
    served = gateway.get("/asyncapi.yaml")
    assert served.status_code == 200
    document = yaml.safe_load(served.text)
    assert document["asyncapi"] == "3.0.0"
    assert "referral.accepted.v1" in document["components"]["messages"]
    assert gateway.get("/asyncapi.json").json() == document


def test_changing_allowed_types_narrows_the_endpoints(gateway, token, receiver):
    partner = register_partner(gateway, token, "housing", REFERRALS)
    endpoint = subscribe(gateway, partner, receiver.url("/h"), REFERRALS)
    path = f"/partners/{partner['id']}/allowed-types"
    body = {"allowed_types": ["referral.accepted.v1", "consent.withdrawn.v1"]}
    other = gateway.put(path, json=body, headers=auth(token("ig_officer", agency="police")))
    assert other.status_code == 403
    bad = gateway.put(path, json={"allowed_types": ["nope.v1"]}, headers=auth(token("admin")))
    assert bad.status_code == 422
    assert [e["field"] for e in bad.json()["errors"]] == ["body.allowed_types"]
    changed = gateway.put(path, json=body, headers=auth(token("ig_officer", agency="housing")))
    assert changed.status_code == 200
    assert changed.json()["allowed_types"] == ["consent.withdrawn.v1", "referral.accepted.v1"]
    narrowed = gateway.get(f"/endpoints/{endpoint['id']}", headers=auth(partner["access"]))
    assert narrowed.json()["event_types"] == ["referral.accepted.v1"]
