"""The decision rules, as pure logic: fast, no database, no HTTP."""

from __future__ import annotations

from datetime import timedelta

from services.consent.policy.decide import decide
from services.consent.policy.terms import BreakGlassGrant, BreakGlassRequest
from services.consent.tests.factories import NOW, agreement, consent, objection, question, state


def test_no_purpose_denies_everything_even_with_consent():
    d = decide(question(purpose=None), state(consents=[consent()]), now=NOW)
    assert d.decision == "deny"
    assert d.permitted == [] and d.bases == []
    assert d.withheld[0].reasons == ["no_purpose"]
    assert d.reasons == ["no_purpose"]


def test_parent_category_covers_children_and_not_siblings():
    q = question(
        categories=("housing.tenancy", "health.summary", "health.mental", "criminal_justice")
    )
    d = decide(q, state(consents=[consent()]), now=NOW)
    assert d.decision == "partial"
    assert d.permitted == ["housing.tenancy", "health.summary"]
    withheld = {w.category: w.reasons for w in d.withheld}
    assert withheld == {
        "health.mental": ["consent_category_not_covered"],
        "criminal_justice": ["consent_category_not_covered"],
    }
    assert d.bases[0].kind == "consent" and d.bases[0].consent_id == "c1"
    assert d.bases[0].version == 1
    assert d.valid_until == NOW + timedelta(days=90)
    assert d.revision == 7
    assert {"kind": "special_category", "categories": ["health.summary"]} in d.obligations
    assert any(o["kind"] == "discard_after" for o in d.obligations)
    assert any(
        s["action"] == "seek_consent" and s["category"] == "health.mental" for s in d.suggestions
    )


def test_expiry_takes_effect_at_its_time():
    c = consent(expires_at=NOW)
    before = decide(question(), state(consents=[c]), now=NOW - timedelta(seconds=1))
    at = decide(question(), state(consents=[c]), now=NOW)
    assert before.decision == "permit"
    assert at.decision == "deny"
    assert at.withheld[0].reasons == ["consent_expired"]
    assert {
        "category": "housing.tenancy",
        "action": "renew_consent",
        "consent_id": "c1",
    } in at.suggestions


def test_consent_not_started_does_not_permit():
    d = decide(question(), state(consents=[consent(starts_at=NOW + timedelta(hours=1))]), now=NOW)
    assert d.withheld[0].reasons == ["consent_not_started"]


def test_withdrawn_consent_permits_nothing():
    d = decide(question(), state(consents=[consent(status="withdrawn")]), now=NOW)
    assert d.decision == "deny" and d.withheld[0].reasons == ["consent_withdrawn"]


def test_partial_withdrawal_of_a_child_category_and_a_recipient():
    c = consent(
        version=2,
        categories=("housing", "health"),
        withdrawn_categories=("health.mental",),
        recipients=frozenset({"council-asc"}),
        withdrawn_recipients=frozenset({"nhs-mh"}),
    )
    q = question(categories=("health.summary", "health.mental"))
    d = decide(q, state(consents=[c]), now=NOW)
    assert d.permitted == ["health.summary"]
    assert d.withheld[0].reasons == ["consent_withdrawn_in_part"]
    assert d.bases[0].version == 2
    d = decide(
        question(recipient_agency="nhs-mh", recipient_type="health"), state(consents=[c]), now=NOW
    )
    assert d.withheld[0].reasons == ["consent_withdrawn_in_part"]


def test_scope_mismatches_name_what_was_not_covered():
    s = state(consents=[consent()])
    assert decide(question(purpose="safeguarding"), s, now=NOW).withheld[0].reasons == [
        "consent_purpose_not_covered"
    ]
    assert decide(
        question(recipient_agency="police", recipient_type="police"), s, now=NOW
    ).withheld[0].reasons == ["consent_recipient_not_covered"]
    assert decide(question(disclosing_agency="gp-elm"), s, now=NOW).withheld[0].reasons == [
        "consent_source_not_covered"
    ]
    assert decide(question(), state(), now=NOW).withheld[0].reasons == ["no_basis"]


def test_recipient_agency_type_covers_every_agency_of_that_type():
    c = consent(recipients=frozenset(), recipient_types=frozenset({"health"}))
    d = decide(
        question(recipient_agency="gp-elm", recipient_type="health"), state(consents=[c]), now=NOW
    )
    assert d.decision == "permit"


def test_objection_stops_consent_and_statutory_power():
    power = agreement(
        providers=frozenset({"housing"}),
        recipients=frozenset({"council-asc"}),
        purposes=frozenset({"housing_support"}),
        categories=("housing",),
        legal_basis="statutory_power",
    )
    d = decide(
        question(),
        state(consents=[consent()], agreements=[power], objections=[objection()]),
        now=NOW,
    )
    assert d.decision == "deny"
    assert d.withheld[0].reasons == ["objection"]
    assert d.suggestions[0]["action"] == "discuss_objection"


def test_objection_scoped_to_another_recipient_does_not_stop_this_share():
    o = objection(recipients=frozenset({"police"}))
    d = decide(question(), state(consents=[consent()], objections=[o]), now=NOW)
    assert d.decision == "permit"


def test_refusal_recorded_by_caseworker_also_blocks_consent_sharing():
    d = decide(
        question(), state(consents=[consent()], objections=[objection(kind="refusal")]), now=NOW
    )
    assert d.withheld[0].reasons == ["refusal"]


def test_statutory_duty_applies_despite_objection_and_says_why():
    q = question(
        disclosing_agency="school-oak",
        recipient_agency="council-csc",
        purpose="safeguarding",
        categories=("children.safeguarding",),
    )
    d = decide(q, state(agreements=[agreement()], objections=[objection()]), now=NOW)
    assert d.decision == "permit"
    assert d.bases[0].kind == "agreement" and d.bases[0].legal_basis == "statutory_duty"
    assert "objection_overridden:statutory_duty" in d.reasons
    notify = next(o for o in d.obligations if o["kind"] == "notify_client")
    assert notify["citation"] == "Children Act 2004 s11"


def test_agreement_lifecycle_states_permit_nothing_but_active_in_date():
    q = question(
        disclosing_agency="school-oak",
        recipient_agency="council-csc",
        purpose="safeguarding",
        categories=("children",),
    )
    for status, code in [
        ("draft", "agreement_not_active"),
        ("approved", "agreement_not_active"),
        ("suspended", "agreement_suspended"),
        ("expired", "agreement_expired"),
        ("retired", "agreement_retired"),
    ]:
        d = decide(q, state(agreements=[agreement(status=status)]), now=NOW)
        assert d.decision == "deny" and d.withheld[0].reasons == [code], status
    lapsed = agreement(ends_at=NOW)
    assert decide(q, state(agreements=[lapsed]), now=NOW).withheld[0].reasons == [
        "agreement_expired"
    ]
    early = agreement(starts_at=NOW + timedelta(days=1))
    assert decide(q, state(agreements=[early]), now=NOW).withheld[0].reasons == [
        "agreement_not_started"
    ]
    suspended = decide(q, state(agreements=[agreement(status="suspended")]), now=NOW)
    assert {
        "category": "children",
        "action": "reinstate_agreement",
        "agreement_id": "a1",
    } in suspended.suggestions


def test_agreement_between_other_parties_is_irrelevant():
    q = question(categories=("children",), purpose="safeguarding")
    d = decide(q, state(agreements=[agreement()]), now=NOW)
    assert d.withheld[0].reasons == ["no_basis"]


def test_duty_preferred_over_consent_and_valid_until_is_earliest_basis_expiry():
    a = agreement(
        providers=frozenset({"housing"}),
        recipients=frozenset({"council-asc"}),
        purposes=frozenset({"housing_support"}),
        categories=("housing",),
        ends_at=NOW + timedelta(days=10),
    )
    q = question(categories=("housing.tenancy", "health.summary"))
    d = decide(q, state(consents=[consent()], agreements=[a]), now=NOW)
    kinds = {b.kind: b.categories for b in d.bases}
    assert kinds == {"agreement": ["housing.tenancy"], "consent": ["health.summary"]}
    assert d.valid_until == NOW + timedelta(days=10)


def test_break_glass_permits_what_is_withheld_for_a_short_window():
    until = NOW + timedelta(hours=4)
    req = BreakGlassRequest(
        grant_id="g1", justification="unconscious, overdose suspected", until=until
    )
    q = question(
        categories=("housing.tenancy", "health.mental"), break_glass=req, purpose="emergency"
    )
    d = decide(q, state(consents=[consent()], objections=[objection()]), now=NOW)
    assert d.decision == "permit"
    assert d.break_glass_granted is not None and d.break_glass_granted.grant_id == "g1"
    assert d.valid_until == until
    assert "break_glass" in d.reasons
    kinds = {o["kind"] for o in d.obligations}
    assert {"time_limited_access", "notify_client", "review"} <= kinds


def test_break_glass_not_used_when_nothing_is_withheld():
    req = BreakGlassRequest(grant_id="g1", justification="x" * 20, until=NOW + timedelta(hours=1))
    d = decide(question(break_glass=req), state(consents=[consent()]), now=NOW)
    assert d.break_glass_granted is None and [b.kind for b in d.bases] == ["consent"]


def test_no_purpose_is_not_rescued_by_break_glass():
    req = BreakGlassRequest(grant_id="g1", justification="x" * 20, until=NOW + timedelta(hours=1))
    d = decide(question(purpose=None, break_glass=req), state(), now=NOW)
    assert d.decision == "deny" and d.break_glass_granted is None


def test_an_existing_break_glass_grant_permits_until_its_window_ends():
    g = BreakGlassGrant(
        grant_id="g1",
        person_id="p1",
        disclosing_agency="housing",
        recipient_agency="council-asc",
        purpose="emergency",
        categories=("health",),
        until=NOW + timedelta(minutes=30),
    )
    q = question(purpose="emergency", categories=("health.mental",))
    assert decide(q, state(grants=[g]), now=NOW).bases[0].kind == "break_glass"
    assert decide(q, state(grants=[g]), now=NOW + timedelta(minutes=30)).decision == "deny"
