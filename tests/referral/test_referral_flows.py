"""Referrals end to end: identity, consent, referral and audit as real processes on the real
broker. Each test is a scenario from the issue; the recipient only ever sees what a basis
permits at the moment it reads, under its own pseudonym."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from shared.testing import wait_until
from tests.referral.conftest import audits, topic_events

HOUSING = {"tenancy": "secure", "arrears_gbp": 420}
HEALTH = {"summary": "Type 2 diabetes; misses appointments when stressed."}
OFFENCES = {"history": "Two cautions, 2019."}


def test_full_consent_referral_is_sent_read_and_worked_to_an_outcome(cb, settings):
    jane = cb.register("housing", "H-1", identifiers={"nhs_number": "943 476 5919"})
    cb.consent(
        "housing",
        jane,
        purposes=["housing_support"],
        categories=["housing", "health.summary"],
        recipients=["council-asc"],
    )
    r = cb.refer("housing", jane, "council-asc", {"housing": HOUSING, "health.summary": HEALTH})
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["status"] == "sent"
    assert sent["shared_categories"] == ["health.summary", "housing"]
    assert sent["withheld"] == []
    assert sent["person"] == jane
    assert [b["kind"] for b in sent["decision"]["bases"]] == ["consent"]
    referral_id = sent["id"]

    inbox = cb.box("council-asc", "inbox").json()
    assert [i["id"] for i in inbox["items"]] == [referral_id]
    assert inbox["items"][0]["person"] is None  # lists carry no person reference

    r = cb.read("council-asc", referral_id)
    assert r.status_code == 200, r.text
    seen = r.json()
    assert seen["details"] == {"housing": HOUSING, "health.summary": HEALTH}
    assert seen["summary"]
    # The recipient sees its own pseudonym: not the sender's, not the internal id.
    person_id = cb.person_id("housing", jane)
    assert seen["person"] == cb.pseudonym("council-asc", person_id)
    assert seen["person"] not in (jane, person_id)
    assert seen["withheld"] is None and seen["suggestions"] is None
    # The same person registered at the recipient agency gets the same pseudonym there.
    assert (
        cb.register("council-asc", "ASC-9", identifiers={"nhs_number": "943 476 5919"})
        == (seen["person"])
    )

    assert cb.act("council-asc", referral_id, "accept").json()["status"] == "accepted"
    assert cb.act("council-asc", referral_id, "start").json()["status"] == "in_progress"
    done = cb.act(
        "council-asc", referral_id, "complete", {"outcome": "support_provided", "note": "Care plan"}
    )
    assert done.json()["status"] == "completed"
    # Closed loop: the sender sees the outcome.
    mine = cb.read("housing", referral_id).json()
    assert mine["outcome"] == {"code": "support_provided", "note": "Care plan"}
    assert [h["change"] for h in mine["history"]] == ["sent", "accept", "start", "complete"]
    outbox = cb.box("housing", "outbox", status="completed").json()["items"]
    assert [(i["id"], i["outcome"]) for i in outbox] == [(referral_id, "support_provided")]

    wanted = {
        "referral.sent.v1",
        "referral.accepted.v1",
        "referral.progressed.v1",
        "referral.completed.v1",
    }
    events = topic_events(
        settings, "referral", lambda evs: wanted <= {e.type for e in evs} and len(audits(evs)) >= 6
    )
    for e in events:
        if e.type.startswith("referral."):
            assert e.data["person_id"] == person_id
            assert (e.data["from_agency"], e.data["to_agency"]) == ("housing", "council-asc")
            assert "tenancy" not in e.model_dump_json()  # events never carry case details
    [read] = audits(events, action="referral.read", decision="permitted", person_ref=seen["person"])
    assert read["person_id"] == person_id
    assert sorted(read["categories"]) == ["health.summary", "housing"]
    assert read["purpose"] == "housing_support"
    assert read["basis"]["consents"]


def test_partial_referral_stores_only_what_is_permitted_and_blocked_one_is_never_sent(cb, settings):
    tom = cb.register(
        "housing", "H-2", given_name="Tom", family_name="Okafor", birth_date="1979-11-02"
    )
    cb.consent(
        "housing",
        tom,
        purposes=["housing_support"],
        categories=["housing"],
        recipients=["council-asc"],
    )
    r = cb.refer(
        "housing", tom, "council-asc", {"housing": HOUSING, "criminal_justice.offences": OFFENCES}
    )
    assert r.status_code == 201, r.text
    partial = r.json()
    assert partial["status"] == "sent"
    assert partial["shared_categories"] == ["housing"]
    assert [w["category"] for w in partial["withheld"]] == ["criminal_justice.offences"]
    assert partial["withheld"][0]["reasons"]
    assert set(partial["details"]) == {"housing"}  # the withheld section was not even kept
    seen = cb.read("council-asc", partial["id"]).json()
    assert seen["details"] == {"housing": HOUSING}
    assert seen["shared_categories"] == ["housing"]
    assert "withheld" not in seen or seen["withheld"] is None

    ann = cb.register(
        "housing", "H-3", given_name="Ann", family_name="Lee", birth_date="1990-01-05"
    )
    r = cb.refer("housing", ann, "council-asc", {"housing": HOUSING, "health.summary": HEALTH})
    assert r.status_code == 201, r.text
    blocked = r.json()
    assert blocked["status"] == "blocked"
    assert blocked["shared_categories"] == [] and blocked["details"] == {}
    assert {w["category"] for w in blocked["withheld"]} == {"housing", "health.summary"}
    assert blocked["reasons"] and blocked["suggestions"]  # what basis would allow it
    inbox = [i["id"] for i in cb.box("council-asc", "inbox").json()["items"]]
    assert inbox == [partial["id"]]
    assert cb.read("council-asc", blocked["id"]).status_code == 404

    # Outbox: filters and cursor pagination, newest first.
    assert [i["id"] for i in cb.box("housing", "outbox", status="blocked").json()["items"]] == [
        blocked["id"]
    ]
    first = cb.box("housing", "outbox", limit=1).json()
    assert [i["id"] for i in first["items"]] == [blocked["id"]] and first["next_cursor"]
    second = cb.box("housing", "outbox", limit=1, cursor=first["next_cursor"]).json()
    assert [i["id"] for i in second["items"]] == [partial["id"]]
    assert second["next_cursor"] is None
    assert cb.box("housing", "outbox", urgency="routine").json()["items"] == []
    today = datetime.now(UTC).date()
    assert len(cb.box("housing", "outbox", created_from=today.isoformat()).json()["items"]) == 2
    yesterday = (today - timedelta(days=1)).isoformat()
    assert cb.box("housing", "outbox", created_to=yesterday).json()["items"] == []
    assert cb.box("council-asc", "inbox", purpose="safeguarding").json()["items"] == []

    events = topic_events(
        settings, "referral", lambda evs: len(audits(evs, action="referral.create")) >= 2
    )
    assert [e.data["referral_id"] for e in events if e.type == "referral.sent.v1"] == [
        partial["id"]
    ]
    [denied] = audits(events, action="referral.create", decision="denied")
    assert denied["person_id"] == cb.person_id("housing", ann)


def test_statutory_duty_shares_despite_an_objection_but_a_power_does_not(cb):
    child = cb.register(
        "school-oak", "S-1", given_name="Mia", family_name="Hart", birth_date="2016-06-01"
    )
    cb.object("school-oak", child)
    duty = cb.agreement(
        ["school-oak"],
        ["council-csc"],
        purposes=["safeguarding"],
        categories=["children"],
        basis="statutory_duty",
        citation="Children Act 1989 s47",
    )
    cb.agreement(
        ["school-oak"],
        ["police"],
        purposes=["safeguarding"],
        categories=["children"],
        basis="statutory_power",
        citation="Crime and Disorder Act 1998 s115",
    )
    concern = {"children.safeguarding": {"concern": "Unexplained bruising, twice this month."}}
    r = cb.refer("school-oak", child, "council-csc", concern, purpose="safeguarding")
    assert r.status_code == 201, r.text
    sent = r.json()
    assert sent["status"] == "sent"
    assert sent["decision"]["bases"][0]["kind"] == "agreement"
    assert sent["decision"]["bases"][0]["agreement_id"] == duty["id"]
    assert any("overridden" in reason for reason in sent["reasons"])
    seen = cb.read("council-csc", sent["id"]).json()
    assert seen["details"] == concern

    r = cb.refer("school-oak", child, "police", concern, purpose="safeguarding")
    assert r.json()["status"] == "blocked"


def test_withdrawal_after_sending_hides_at_the_next_read_and_tells_the_recipient(cb, settings):
    jane = cb.register(
        "housing", "H-4", given_name="Jo", family_name="Park", birth_date="1970-02-02"
    )
    consent = cb.consent(
        "housing",
        jane,
        purposes=["housing_support"],
        categories=["housing", "health.summary"],
        recipients=["council-asc"],
    )
    sent = cb.refer(
        "housing", jane, "council-asc", {"housing": HOUSING, "health.summary": HEALTH}
    ).json()
    assert set(cb.read("council-asc", sent["id"]).json()["details"]) == {
        "housing",
        "health.summary",
    }

    cb.withdraw_consent("housing", consent["id"], categories=["health.summary"])
    # The very next read, with no waiting: the withdrawn category is gone.
    seen = cb.read("council-asc", sent["id"]).json()
    assert seen["details"] == {"housing": HOUSING}
    assert seen["shared_categories"] == ["housing"]
    assert seen["status"] == "sent"

    cb.withdraw_consent("housing", consent["id"])
    seen = cb.read("council-asc", sent["id"]).json()
    assert seen["details"] is None and seen["summary"] is None
    assert seen["status"] == "revoked"
    mine = cb.read("housing", sent["id"]).json()
    assert mine["details"] == {} and mine["status"] == "revoked"

    # The empty reads' audit events are committed before the reads answer but published by
    # the relay afterwards: wait for them as well as for the lifecycle events.
    events = topic_events(
        settings,
        "referral",
        lambda evs: (
            {"referral.disclosure_restricted.v1", "referral.revoked.v1"} <= {e.type for e in evs}
            and len(audits(evs, action="referral.read", categories=[])) == 2
        ),
    )
    [restricted] = [e.data for e in events if e.type == "referral.disclosure_restricted.v1"]
    assert (restricted["stopped"], restricted["remaining"]) == (["health.summary"], ["housing"])
    [revoked] = [e.data for e in events if e.type == "referral.revoked.v1"]
    assert revoked["referral_id"] == sent["id"] and revoked["stopped"] == ["housing"]
    # The recipient's read after the withdrawal is audited as disclosing nothing because the
    # basis ended (denied if that read found it out, permitted if the projection had already
    # revoked the referral: which comes first is a race).
    recipient, sender = audits(events, action="referral.read", categories=[])
    assert recipient["actor"]["agency"] == "council-asc" and sender["actor"]["agency"] == "housing"
    assert recipient["reason"] == "basis_ended"


def test_expiry_between_two_reads(cb, settings):

    kim = cb.register(
        "housing", "H-5", given_name="Kim", family_name="Shaw", birth_date="1988-08-08"
    )
    expires = datetime.now(UTC) + timedelta(seconds=6)
    cb.consent(
        "housing",
        kim,
        purposes=["housing_support"],
        categories=["housing"],
        recipients=["council-asc"],
        expires_at=expires,
    )
    sent = cb.refer("housing", kim, "council-asc", {"housing": HOUSING}).json()
    assert sent["status"] == "sent"
    assert sent["decision"]["valid_until"] is not None
    first = cb.read("council-asc", sent["id"]).json()
    assert first["details"] == {"housing": HOUSING}
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.5)
    second = cb.read("council-asc", sent["id"]).json()
    assert second["details"] is None and second["status"] == "revoked"
    events = topic_events(
        settings, "referral", lambda evs: any(e.type == "referral.revoked.v1" for e in evs)
    )
    assert [e.data["referral_id"] for e in events if e.type == "referral.revoked.v1"] == [
        sent["id"]
    ]


def test_suspending_the_agreement_stops_disclosure_and_the_recipient_is_told(cb, settings):
    lee = cb.register(
        "housing", "H-6", given_name="Lee", family_name="Grant", birth_date="1965-05-05"
    )
    agreement = cb.agreement(
        ["housing"],
        ["council-asc"],
        purposes=["housing_support"],
        categories=["housing"],
        basis="public_task",
        citation="Housing Act 1996 s213",
    )
    sent = cb.refer("housing", lee, "council-asc", {"housing": HOUSING}).json()
    assert sent["status"] == "sent", sent
    assert cb.read("council-asc", sent["id"]).json()["details"] == {"housing": HOUSING}
    cb.agreement_action(agreement["id"], "suspend", "housing")
    # The recipient is told without reading: the projection re-evaluates the referral.
    events = topic_events(
        settings, "referral", lambda evs: any(e.type == "referral.revoked.v1" for e in evs)
    )
    [revoked] = [e.data for e in events if e.type == "referral.revoked.v1"]
    assert revoked["referral_id"] == sent["id"]
    seen = cb.read("council-asc", sent["id"]).json()
    assert seen["details"] is None and seen["status"] == "revoked"


def test_referrals_follow_a_merge_and_an_unmerge(cb):
    survivor, merged = _two_persons(cb)
    survivor_id, merged_id = cb.person_id("housing", survivor), cb.person_id("housing", merged)
    assert survivor_id != merged_id
    for person in (survivor, merged):
        cb.consent(
            "housing",
            person,
            purposes=["housing_support"],
            categories=["housing"],
            recipients=["council-asc"],
        )
    sent = cb.refer("housing", merged, "council-asc", {"housing": HOUSING}).json()
    before = cb.read("council-asc", sent["id"]).json()
    assert before["person"] == cb.pseudonym("council-asc", merged_id)

    merge_id = cb.merge(survivor, merged)
    on_survivor = cb.pseudonym("council-asc", survivor_id)
    after = wait_until(lambda: _read_if(cb, sent["id"], lambda s: s["person"] == on_survivor))
    assert after["details"] == {"housing": HOUSING}
    # Decided afresh, about the survivor (by the read or by the re-evaluation worker).
    assert after["decision"]["decided_at"] > before["decision"]["decided_at"]
    assert "person_merged" in [
        h["change"] for h in cb.read("housing", sent["id"]).json()["history"]
    ]

    cb.unmerge(merge_id)
    on_restored = cb.pseudonym("council-asc", merged_id)
    assert on_restored != on_survivor
    back = wait_until(lambda: _read_if(cb, sent["id"], lambda s: s["person"] == on_restored))
    assert back["details"] == {"housing": HOUSING}


def test_a_merge_or_unmerge_consent_followed_first_is_retried_not_revoked(lagging_cb):
    cb = lagging_cb
    survivor, merged = _two_persons(cb)
    survivor_id, merged_id = cb.person_id("housing", survivor), cb.person_id("housing", merged)
    # Only the merged person consented: a decision about the wrong one of them denies.
    cb.consent(
        "housing",
        merged,
        purposes=["housing_support"],
        categories=["housing"],
        recipients=["council-asc"],
    )
    sent = cb.refer("housing", merged, "council-asc", {"housing": HOUSING}).json()
    assert cb.read("council-asc", sent["id"]).json()["details"] == {"housing": HOUSING}

    def window_read_is_refused(consent_has_followed):
        # Consent has followed; the referral still names the other person. A read now is
        # refused as "try again": neither served on the old decision nor revoked by a
        # decision about the wrong person.
        wait_until(consent_has_followed, timeout=15)
        r = cb.read("council-asc", sent["id"])
        assert r.status_code == 503, r.text
        assert r.json()["type"] == "urn:casebridge:problem:retry"

    wait_until(lambda: cb.projection_lag() == 0, timeout=30)
    merge_id = cb.merge(survivor, merged)
    window_read_is_refused(lambda: cb.decide_status(merged_id) == 409)
    on_survivor = cb.pseudonym("council-asc", survivor_id)
    after = wait_until(
        lambda: _read_if(cb, sent["id"], lambda s: s["person"] == on_survivor), timeout=30
    )
    assert after["status"] == "sent" and after["details"] == {"housing": HOUSING}

    wait_until(lambda: cb.projection_lag() == 0, timeout=30)
    cb.unmerge(merge_id)
    window_read_is_refused(lambda: cb.decide_status(merged_id) == 200)
    on_restored = cb.pseudonym("council-asc", merged_id)
    back = wait_until(
        lambda: _read_if(cb, sent["id"], lambda s: s["person"] == on_restored), timeout=30
    )
    assert back["status"] == "sent" and back["details"] == {"housing": HOUSING}


def _two_persons(cb):
    """Two of housing's clients different enough never to be linked on their own."""
    survivor = cb.register(
        "housing", "H-7", given_name="Sam", family_name="Reed", birth_date="1975-01-01"
    )
    merged = cb.register(
        "housing",
        "H-8",
        given_name="Samira",
        family_name="Okonjo",
        birth_date="1992-07-07",
        postcode="ZZ9 9ZZ",
    )
    return survivor, merged


def _read_if(cb, referral_id, condition):
    r = cb.read("council-asc", referral_id)
    if r.status_code == 503 and r.json()["type"].endswith(":retry"):
        return None  # a merge landed mid-read twice: the service asks to try again
    assert r.status_code == 200, r.text
    seen = r.json()
    return seen if condition(seen) else None


def test_a_third_agency_is_refused_and_a_consent_outage_refuses_rather_than_serves(
    cb, settings, system
):
    pat = cb.register(
        "housing", "H-9", given_name="Pat", family_name="Quinn", birth_date="1981-04-04"
    )
    cb.consent(
        "housing",
        pat,
        purposes=["housing_support"],
        categories=["housing"],
        recipients=["council-asc"],
    )
    sent = cb.refer("housing", pat, "council-asc", {"housing": HOUSING}).json()
    person_id = cb.person_id("housing", pat)

    r = cb.read("police", sent["id"])
    assert r.status_code == 404
    assert r.json()["type"] == "urn:casebridge:problem:referral-not-found"
    assert cb.act("police", sent["id"], "accept").status_code == 404
    assert cb.box("police", "inbox").json()["items"] == []
    r = cb.act("housing", sent["id"], "accept")
    assert (r.status_code, r.json()["type"]) == (403, "urn:casebridge:problem:wrong-party")
    r = cb.act("council-asc", sent["id"], "decline", {})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.reason"
    r = cb.act("council-asc", sent["id"], "complete", {"outcome": "support_provided"})
    assert (r.status_code, r.json()["type"]) == (409, "urn:casebridge:problem:invalid-transition")
    assert cb.read("council-asc", sent["id"]).json()["details"] == {"housing": HOUSING}

    system.processes["consent"].terminate()
    system.processes["consent"].wait(10)
    r = cb.read("council-asc", sent["id"])
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "urn:casebridge:problem:consent-unavailable"
    assert "tenancy" not in r.text
    assert cb.read("housing", sent["id"]).status_code == 200  # the sender's own copy
    r = cb.refer("housing", pat, "council-asc", {"housing": HOUSING})
    assert r.status_code == 503
    # Withdrawn by the sender: the recipient sees the status, no details (and no consent call).
    assert cb.act("housing", sent["id"], "withdraw", {"reason": "moved away"}).status_code == 200
    gone = cb.read("council-asc", sent["id"])
    assert gone.status_code == 200, gone.text
    assert (gone.json()["status"], gone.json()["details"]) == ("withdrawn", None)

    events = topic_events(
        settings,
        "referral",
        lambda evs: (
            bool(audits(evs, reason="consent-unavailable", action="referral.read"))
            and bool(audits(evs, reason="referral-not-found"))
        ),
    )
    assert any(e.type == "referral.withdrawn.v1" for e in events)
    [third] = audits(events, action="referral.read", reason="referral-not-found")
    assert third["actor"]["agency"] == "police" and third["person_id"] == person_id
    assert third["decision"] == "denied"
    [outage] = audits(events, action="referral.read", reason="consent-unavailable")
    assert outage["person_id"] == person_id and outage["decision"] == "denied"
    assert outage["actor"]["agency"] == "council-asc"


def test_a_broker_outage_during_a_withdrawal_never_serves_stale(cb, broker, settings):
    """The projection cannot hear of the withdrawal (the broker is frozen), yet the next read
    hides the case details: the read proves currency with the consent service itself."""
    roy = cb.register(
        "housing", "H-10", given_name="Roy", family_name="Best", birth_date="1958-09-09"
    )
    consent = cb.consent(
        "housing",
        roy,
        purposes=["housing_support"],
        categories=["housing"],
        recipients=["council-asc"],
    )
    sent = cb.refer("housing", roy, "council-asc", {"housing": HOUSING}).json()
    assert cb.read("council-asc", sent["id"]).json()["details"] == {"housing": HOUSING}

    broker.pause()
    try:
        withdrawn = cb.withdraw_consent("housing", consent["id"])
        seen = cb.read("council-asc", sent["id"])
        assert seen.status_code == 200, seen.text
        assert seen.json()["details"] is None and seen.json()["status"] == "revoked"
    finally:
        broker.resume()

    person_id = cb.person_id("housing", roy)

    def projection_caught_up():
        p = cb.http.get(
            cb.url("referral", "/projection"), params={"person_id": person_id}, headers=cb.service()
        ).json()
        # The read above already raised the person's revision from the consent service; the
        # projection's own (global) revision moves only when the consumer applies the event.
        revisions = (p["person_revision"] or 0, p["applied_revision"])
        return p if min(revisions) >= withdrawn["revision"] else None

    projection = wait_until(projection_caught_up, timeout=60)
    assert projection["applied_revision"] >= withdrawn["revision"]
    events = topic_events(
        settings,
        "referral",
        lambda evs: any(e.type == "referral.revoked.v1" for e in evs),
        timeout=60,
    )
    assert [e.data["referral_id"] for e in events if e.type == "referral.revoked.v1"] == [
        sent["id"]
    ]
