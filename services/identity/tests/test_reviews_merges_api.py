"""Review queue, merge, unmerge and unlink: who may, what happens, and what is kept."""

from __future__ import annotations

from services.identity.tests.conftest import record

TWIN_A = record("H-1", given_name="Amy", family_name="Lee", birth_date="2010-05-05", sex="female")
TWIN_B = record("H-2", given_name="Zoe", family_name="Lee", birth_date="2010-05-05", sex="female")


def queue_twins(identity, as_):
    identity.post("/records", json=TWIN_A, headers=as_("caseworker", "housing"))
    r = identity.post("/records", json=TWIN_B, headers=as_("caseworker", "housing")).json()
    assert r["link"]["decision"] == "review" and r["link"]["rule"] == "guard:given-name-differs"
    return r


def resolve(identity, as_, agency, pseudonym):
    return identity.get(
        "/internal/resolve",
        params={"agency": agency, "pseudonym": pseudonym},
        headers=as_("service", None),
    )


def test_uncertain_pair_is_queued_for_the_agencys_ig_officer(identity, as_, outbox_events):
    twin = queue_twins(identity, as_)
    items = identity.get("/reviews", headers=as_("ig_officer", "housing")).json()
    assert len(items) == 1
    item = items[0]
    assert item["local_id"] == "H-2" and item["candidate"]["given_name"] == "Amy"
    assert item["person"] == twin["person"] and item["status"] == "pending"
    [queued] = outbox_events("identity.review_queued.v1")
    assert queued["data"]["review_id"] == item["id"]
    assert identity.get("/reviews", headers=as_("ig_officer", "police")).json() == []
    assert identity.get("/reviews", headers=as_("caseworker", "housing")).status_code == 403
    reads = [
        e for e in outbox_events("audit.access.v1") if e["data"]["action"] == "identity.review.read"
    ]
    assert len(reads) == 2 and all(e["data"]["person_id"] for e in reads)


def test_accepting_a_review_merges_the_persons_with_who_and_why(identity, as_, outbox_events):
    queue_twins(identity, as_)
    [item] = identity.get("/reviews", headers=as_("ig_officer", "housing")).json()
    r = identity.post(
        f"/reviews/{item['id']}/decision",
        json={"decision": "accept", "reason": "same child, two spellings"},
        headers=as_("ig_officer", "housing", sub="ivy.ig"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted" and r.json()["decided_by"] == "ivy.ig"
    h = as_("caseworker", "housing")
    a, b = (identity.get(f"/records/{x}", headers=h).json()["person"] for x in ("H-1", "H-2"))
    assert a == b
    [decided] = outbox_events("identity.review_decided.v1")
    assert decided["data"]["decision"] == "accepted" and decided["data"]["decided_by"] == "ivy.ig"
    [merged] = outbox_events("identity.persons_merged.v1")
    assert merged["data"]["merge_id"] == decided["data"]["merge_id"]
    # Deciding twice is a conflict.
    again = identity.post(
        f"/reviews/{item['id']}/decision",
        json={"decision": "reject", "reason": "oops"},
        headers=as_("ig_officer", "housing"),
    )
    assert again.status_code == 409


def test_rejecting_keeps_them_apart_and_the_pair_is_not_proposed_again(
    identity, as_, outbox_events
):
    twin = queue_twins(identity, as_)
    [item] = identity.get("/reviews", headers=as_("ig_officer", "housing")).json()
    r = identity.post(
        f"/reviews/{item['id']}/decision",
        json={"decision": "reject", "reason": "twins"},
        headers=as_("ig_officer", "housing"),
    )
    assert r.json()["status"] == "rejected"
    again = identity.post("/records", json=TWIN_B, headers=as_("caseworker", "housing")).json()
    assert again["person"] == twin["person"] and again["link"]["decision"] != "review"
    assert identity.get("/reviews", headers=as_("ig_officer", "housing")).json() == []
    assert (
        identity.get(
            "/reviews", params={"status": "rejected"}, headers=as_("ig_officer", "housing")
        ).json()[0]["reason"]
        == "twins"
    )


def test_review_refusals(identity, as_, outbox_events):
    queue_twins(identity, as_)
    [item] = identity.get("/reviews", headers=as_("ig_officer", "housing")).json()
    body = {"decision": "accept", "reason": "looks the same"}
    other = identity.post(
        f"/reviews/{item['id']}/decision", json=body, headers=as_("ig_officer", "police")
    )
    assert other.status_code == 404
    assert (
        identity.post(
            f"/reviews/{item['id']}/decision", json=body, headers=as_("caseworker", "housing")
        ).status_code
        == 403
    )
    bad = identity.post(
        f"/reviews/{item['id']}/decision",
        json={"decision": "maybe", "reason": ""},
        headers=as_("ig_officer", "housing"),
    )
    assert bad.status_code == 422
    assert {"body.decision", "body.reason"} <= {e["field"] for e in bad.json()["errors"]}
    assert outbox_events("identity.review_decided.v1") == []
    denied = [e for e in outbox_events("audit.access.v1") if e["data"]["decision"] == "denied"]
    assert denied and denied[0]["data"]["actor"]["agency"] == "police"


def _two_persons(identity, as_):
    h = as_("caseworker", "housing")
    a = identity.post("/records", json=record("H-1"), headers=h).json()
    b = identity.post(
        "/records",
        json=record(
            "H-2",
            given_name="Mary",
            family_name="Okafor",
            birth_date="1990-01-01",
            sex="female",
            postcode="LS2 9JT",
        ),
        headers=h,
    ).json()
    assert a["person"] != b["person"]
    return a, b


def test_merge_and_unmerge_keep_history_and_resolve_old_pseudonyms(identity, as_, outbox_events):
    a, b = _two_persons(identity, as_)
    ig = as_("ig_officer", "housing")
    r = identity.post(
        "/persons/merge",
        json={"survivor": a["person"], "merged": b["person"], "reason": "same person"},
        headers=ig,
    )
    assert r.status_code == 201, r.text
    merge_id = r.json()["merge_id"]
    survivor_id = resolve(identity, as_, "housing", a["person"]).json()["person_id"]
    # The merged person's pseudonym now resolves to the survivor.
    assert resolve(identity, as_, "housing", b["person"]).json()["person_id"] == survivor_id
    h = as_("caseworker", "housing")
    assert identity.get("/records/H-2", headers=h).json()["person"] == a["person"]
    [merged] = outbox_events("identity.persons_merged.v1")
    assert merged["data"]["survivor_person_id"] == survivor_id
    history = identity.get(f"/persons/{a['person']}/merges", headers=ig).json()
    assert [m["merge_id"] for m in history] == [merge_id]

    undone = identity.post(
        f"/merges/{merge_id}/unmerge", json={"reason": "different people after all"}, headers=ig
    )
    assert undone.status_code == 200 and undone.json()["unmerged_at"] is not None
    restored_id = resolve(identity, as_, "housing", b["person"]).json()["person_id"]
    assert restored_id != survivor_id
    assert identity.get("/records/H-2", headers=h).json()["person"] == b["person"]
    [unmerged] = outbox_events("identity.person_unmerged.v1")
    assert unmerged["data"] == {
        "person_id": survivor_id,
        "restored_person_id": restored_id,
        "merge_id": merge_id,
    }
    # Nothing destroyed: the merge is still listed, now undone; undoing twice is a conflict.
    assert identity.get(f"/persons/{a['person']}/merges", headers=ig).json()[0]["unmerged_at"]
    assert (
        identity.post(
            f"/merges/{merge_id}/unmerge", json={"reason": "again"}, headers=ig
        ).status_code
        == 409
    )


def test_merge_refusals(identity, as_):
    a, b = _two_persons(identity, as_)
    body = {"survivor": a["person"], "merged": b["person"], "reason": "same person"}
    assert (
        identity.post("/persons/merge", json=body, headers=as_("caseworker", "housing")).status_code
        == 403
    )
    # Another agency's officer cannot name housing's pseudonyms.
    assert (
        identity.post("/persons/merge", json=body, headers=as_("ig_officer", "police")).status_code
        == 404
    )
    same = {**body, "merged": a["person"]}
    assert (
        identity.post("/persons/merge", json=same, headers=as_("ig_officer", "housing")).status_code
        == 409
    )
    merge_id = identity.post(
        "/persons/merge", json=body, headers=as_("ig_officer", "housing")
    ).json()["merge_id"]
    assert (
        identity.post(
            f"/merges/{merge_id}/unmerge",
            json={"reason": "nope"},
            headers=as_("ig_officer", "police"),
        ).status_code
        == 404
    )
    assert (
        identity.post(
            "/merges/nope/unmerge", json={"reason": "nope"}, headers=as_("ig_officer", "housing")
        ).status_code
        == 404
    )


def test_unlink_undoes_a_wrong_link(identity, as_, outbox_events):
    identity.post("/records", json=record("H-1"), headers=as_("caseworker", "housing"))
    p = identity.post(
        "/records", json=record("P-1", given_name="Jon"), headers=as_("caseworker", "police")
    ).json()
    assert p["link"]["decision"] == "linked"
    r = identity.post(
        "/records/P-1/unlink", json={"reason": "wrong Jon"}, headers=as_("ig_officer", "police")
    )
    assert r.status_code == 200, r.text
    assert r.json()["person"] != r.json()["previous_person"]
    [ev] = outbox_events("identity.person_unmerged.v1")
    assert ev["data"]["merge_id"] is None
    # The decision sticks: an update does not re-link it.
    again = identity.post(
        "/records", json=record("P-1", given_name="Jon"), headers=as_("caseworker", "police")
    ).json()
    assert again["person"] == r.json()["person"] and again["link"]["rule"] == "manual:locked"
    assert (
        identity.post(
            "/records/P-1/unlink", json={"reason": "again"}, headers=as_("ig_officer", "police")
        ).status_code
        == 409
    )
    assert (
        identity.post(
            "/records/H-1/unlink", json={"reason": "wrong one"}, headers=as_("ig_officer", "police")
        ).status_code
        == 404
    )
