"""Who may ask, what they can ask, and that every question is itself recorded."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from services.audit.tests.factories import access, publish, sequenced
from shared.testing import auth, wait_until


@pytest.fixture
def populated(audit, auditor, settings):
    now = datetime.now(UTC)
    records = [
        access(sub="hana", agency="housing", person_id="anna", occurred_at=now - timedelta(days=2)),
        access(sub="hana", agency="housing", person_id="ben", decision="denied"),
        access(sub="sam", agency="council-asc", person_id="anna", purpose="integrated_care"),
        access(sub="mo", agency="nhs-mh", person_id="anna", action="referral.case.read"),
        access(sub="mo", agency="nhs-mh", person_id="ben", service="referral"),
    ]
    publish(settings, sequenced(settings, records))

    def arrived():
        got = audit.get("/entries", params={"limit": 1000}, headers=auditor).json()
        return len([e for e in got if e["service"] != "audit"]) >= 5

    wait_until(arrived)
    return now


def search(audit, auditor, **params):
    r = audit.get("/entries", params={**params, "limit": 1000}, headers=auditor)
    assert r.status_code == 200, r.text
    return [e for e in r.json() if e["service"] != "audit"]


def test_auditors_search_by_each_field(audit, auditor, populated):
    assert {e["actor"]["sub"] for e in search(audit, auditor, person_id="anna")} == {
        "hana",
        "sam",
        "mo",
    }
    assert {e["person_id"] for e in search(audit, auditor, user="mo")} == {"anna", "ben"}
    assert [e["actor"]["sub"] for e in search(audit, auditor, agency="council-asc")] == ["sam"]
    assert [e["actor"]["sub"] for e in search(audit, auditor, purpose="integrated_care")] == ["sam"]
    assert [e["person_id"] for e in search(audit, auditor, decision="denied")] == ["ben"]
    assert [e["actor"]["sub"] for e in search(audit, auditor, action="referral.case.read")] == [
        "mo"
    ]
    since = (populated - timedelta(days=1)).isoformat()
    recent = search(audit, auditor, person_id="anna", since=since)
    assert {e["actor"]["sub"] for e in recent} == {"sam", "mo"}
    older = search(audit, auditor, person_id="anna", until=since)
    assert [e["actor"]["sub"] for e in older] == ["hana"]
    both = search(audit, auditor, person_id="ben", user="mo", service="referral")
    assert len(both) == 1


def test_pages_follow_the_cursor_without_overlap(audit, auditor, populated):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, "service": "identity", **({"cursor": cursor} if cursor else {})}
        r = audit.get("/entries", params=params, headers=auditor)
        assert r.status_code == 200
        seen += [e["position"] for e in r.json()]
        pages += 1
        cursor = r.headers.get("X-Next-Cursor")
        if cursor is None:
            break
        assert 'rel="next"' in r.headers["Link"]
    assert len(seen) == 4 and len(set(seen)) == 4 and pages == 2
    assert seen == sorted(seen, reverse=True)


def test_bad_questions_get_clear_errors(audit, auditor):
    r = audit.get("/entries", params={"cursor": "not-a-cursor"}, headers=auditor)
    assert r.status_code == 400
    assert r.json()["type"] == "urn:casebridge:problem:bad-cursor"
    r = audit.get("/entries", params={"decision": "maybe", "limit": 0}, headers=auditor)
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert fields == {"query.decision", "query.limit"}
    r = audit.get("/export", params={"format": "xml"}, headers=auditor)
    assert r.status_code == 422


@pytest.mark.parametrize("role", ["caseworker", "ig_officer", "partner_system", "admin"])
def test_no_one_but_an_auditor_may_query_the_log(audit, token, role):
    headers = auth(token(role, "housing"))
    for path in ["/entries", "/export", "/gaps", "/alerts", "/checkpoints", "/me/accesses"]:
        assert audit.get(path, headers=headers).status_code == 403, path
    assert audit.get("/proofs/inclusion?position=1", headers=headers).status_code == 403
    assert audit.post("/checkpoints", headers=headers).status_code == 403
    assert audit.get("/entries").status_code == 401


def test_a_client_cannot_search_the_log(audit, token):
    client = auth(token("client", None, sub="client-1", person="psn_someone"))
    assert audit.get("/entries", headers=client).status_code == 403
    assert audit.get("/export", headers=client).status_code == 403


def test_a_client_is_refused_when_identity_cannot_say_who_they_are(audit, token):
    client = auth(token("client", None, sub="client-1", person="psn_someone"))
    r = audit.get("/me/accesses", headers=client)
    assert r.status_code == 503
    assert r.json()["type"] == "urn:casebridge:problem:identity-unavailable"


def test_each_search_and_export_is_itself_recorded(audit, auditor, populated):
    audit.get("/entries", params={"person_id": "anna"}, headers=auditor)
    audit.get("/export", params={"person_id": "ben", "format": "csv"}, headers=auditor)

    def own_records():
        got = audit.get(
            "/entries", params={"service": "audit", "limit": 1000}, headers=auditor
        ).json()
        actions = {(e["action"], e["person_id"]) for e in got}
        wanted = {("audit.entries.searched", "anna"), ("audit.log.exported", "ben")}
        return got if wanted <= actions else None

    got = wait_until(own_records)
    search_record = next(e for e in got if e["action"] == "audit.entries.searched")
    assert search_record["actor"]["sub"] == "alex.auditor"
    assert search_record["actor"]["roles"] == ["auditor"]


def test_a_filtered_csv_export_carries_proof_material(audit, auditor, populated):
    r = audit.get("/export", params={"person_id": "anna", "format": "csv"}, headers=auditor)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    rows = [row for row in csv.DictReader(io.StringIO(r.text)) if row["service"] != "audit"]
    assert {row["actor_sub"] for row in rows} == {"hana", "sam", "mo"}
    assert all(len(row["chain_hash"]) == 64 and row["inclusion"] for row in rows)
    assert int(r.headers["X-Checkpoint-Size"]) >= max(int(row["position"]) for row in rows)


def test_a_filtered_jsonl_export_verifies_entry_by_entry(audit, auditor, populated):
    from services.audit.checkpoints.signing import public_key_from_text
    from services.audit.verify import verify_export

    key = public_key_from_text(audit.get("/checkpoints/key").json()["public_key"])
    r = audit.get("/export", params={"person_id": "ben"}, headers=auditor)
    report = verify_export(r.content.splitlines(), key)
    assert report.ok, report.problems
    assert report.entries == 2
