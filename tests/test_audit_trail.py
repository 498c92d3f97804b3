"""Every access made at identity, consent and referral arrives at audit, one for one, and a
client sees the accesses to their own data and nobody else's.

Uses only endpoints whose audit records are stable: identity registers and reads records (one
record each), consent answers decisions (one each, refused or not), referral lists an outbox
(one) and refuses an unknown referral (one denied record).
"""

from __future__ import annotations

from collections import Counter

import httpx

from shared.testing import auth, wait_until

PEOPLE = [
    {"local_id": "TR-1", "given_name": "Ada", "family_name": "Quill", "birth_date": "1980-02-03"},
    {"local_id": "TR-2", "given_name": "Bo", "family_name": "Marsh", "birth_date": "1991-07-14"},
    {"local_id": "TR-3", "given_name": "Cy", "family_name": "Venn", "birth_date": "1975-12-30"},
]


def act_everywhere(system, caseworker) -> tuple[Counter[tuple[str, str]], list[str]]:
    """Do the actions; return the audit records expected per (service, action) and pseudonyms."""
    expected: Counter[tuple[str, str]] = Counter()
    pseudonyms = []
    with httpx.Client(headers=caseworker, timeout=15) as http:
        for person in PEOPLE:
            r = http.post(f"{system.url('identity')}/records", json=person)
            assert r.status_code == 201, r.text
            pseudonyms.append(r.json()["person"])
            expected["identity", "identity.record.register"] += 1
            r = http.get(f"{system.url('identity')}/records/{person['local_id']}")
            assert r.status_code == 200, r.text
            expected["identity", "identity.record.read"] += 1
        for pseudonym in pseudonyms:
            r = http.post(
                f"{system.url('consent')}/decisions",
                json={
                    "person": pseudonym,
                    "disclosing_agency": "housing",
                    "recipient_agency": "council-asc",
                    "purpose": "housing_support",
                    "categories": ["housing"],
                },
            )
            assert r.status_code == 200, r.text
            expected["consent", "consent.decision"] += 1
        r = http.post(
            f"{system.url('consent')}/decisions",
            json={
                "person": pseudonyms[0],
                "disclosing_agency": "police",  # not the caller's agency: refused, and recorded
                "recipient_agency": "council-asc",
                "purpose": "safeguarding",
                "categories": ["housing"],
            },
        )
        assert r.status_code == 403, r.text
        expected["consent", "consent.decision"] += 1
        for _ in range(2):
            assert http.get(f"{system.url('referral')}/referrals/outbox").status_code == 200
            expected["referral", "referral.outbox"] += 1
        assert http.get(f"{system.url('referral')}/referrals/no-such-referral").status_code == 404
        expected["referral", "referral.read"] += 1
    return expected, pseudonyms


def test_every_access_arrives_one_for_one_and_clients_see_only_their_own(system, token):
    caseworker_sub = "hana.trail"
    expected, pseudonyms = act_everywhere(
        system, auth(token("caseworker", "housing", sub=caseworker_sub))
    )
    auditor = auth(token("auditor", "council-asc", sub="alex.trail"))
    audit = system.url("audit")

    def arrived():
        r = httpx.get(
            f"{audit}/entries", params={"user": caseworker_sub, "limit": 1000}, headers=auditor
        )
        assert r.status_code == 200, r.text
        entries = r.json()
        return entries if len(entries) >= sum(expected.values()) else None

    entries = wait_until(arrived, timeout=60)
    assert Counter((e["service"], e["action"]) for e in entries) == expected
    assert len({e["event_id"] for e in entries}) == len(entries)
    assert all(e["actor"]["agency"] == "housing" for e in entries)
    denied = {(e["service"], e["action"]) for e in entries if e["decision"] == "denied"}
    assert ("referral", "referral.read") in denied

    # The client behind the first record: their pseudonym in the `client` namespace.
    service = auth(token("service", None, sub="service:test"))
    first = httpx.get(
        f"{system.url('identity')}/internal/resolve",
        params={"agency": "housing", "pseudonym": pseudonyms[0]},
        headers=service,
    ).json()["person_id"]
    mine = httpx.get(
        f"{system.url('identity')}/internal/pseudonym",
        params={"agency": "client", "person_id": first},
        headers=service,
    ).json()["pseudonym"]
    client = auth(token("client", None, sub="client-ada", person=mine))
    r = httpx.get(f"{audit}/me/accesses", params={"limit": 500}, headers=client)
    assert r.status_code == 200, r.text
    seen = [a for a in r.json() if a["service"] != "audit"]
    about_first = [e for e in entries if e["person_id"] == first]  # refused ones too
    assert {(a["service"], a["action"]) for a in seen} == {
        (e["service"], e["action"]) for e in about_first
    }
    assert all(a["agency"] == "housing" and a["roles"] == ["caseworker"] for a in seen)
    assert all(a["official"] is None for a in seen)  # not the official's name by default
    assert all(a["agency_name"] for a in seen)
    # Nothing about the other two people (each had a register, a read and a decision).
    assert len([a for a in seen if a["action"] == "identity.record.register"]) == 1

    stranger = auth(token("client", None, sub="client-x", person="psn_" + "a" * 26))
    assert httpx.get(f"{audit}/me/accesses", headers=stranger).status_code == 404
