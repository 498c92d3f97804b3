"""The pure referral rules: lifecycle, currency of a decision (P6), narrowing (P7), cursors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.referral.rules import (
    DISCLOSING,
    STATUSES,
    TRANSITIONS,
    Cursor,
    Decision,
    LifecycleError,
    audit_basis,
    basis_keys,
    decision_is_current,
    event_targets,
    next_status,
    permitted_sections,
    restrict,
    stop_reasons,
)

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def decision(permitted, withheld=(), reasons=(), revision=7, valid_until=None, bases=()):
    return Decision(
        decision="permit" if permitted and not withheld else ("partial" if permitted else "deny"),
        permitted=list(permitted),
        withheld=[{"category": c, "reasons": r} for c, r in withheld],
        reasons=list(reasons),
        revision=revision,
        valid_until=valid_until,
        bases=list(bases),
    )


# --- lifecycle ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "action, current, party, target",
    [
        ("accept", "sent", "recipient", "accepted"),
        ("decline", "sent", "recipient", "declined"),
        ("start", "accepted", "recipient", "in_progress"),
        ("complete", "in_progress", "recipient", "completed"),
        ("complete", "accepted", "recipient", "completed"),
        ("withdraw", "sent", "sender", "withdrawn"),
        ("withdraw", "in_progress", "sender", "withdrawn"),
    ],
)
def test_allowed_moves(action, current, party, target):
    assert next_status(action, current, party) == target


@pytest.mark.parametrize(
    "action, current, party, slug",
    [
        ("accept", "sent", "sender", "wrong-party"),
        ("withdraw", "sent", "recipient", "wrong-party"),
        ("accept", "accepted", "recipient", "invalid-transition"),
        ("accept", "revoked", "recipient", "invalid-transition"),
        ("complete", "sent", "recipient", "invalid-transition"),
        ("start", "declined", "recipient", "invalid-transition"),
        ("withdraw", "completed", "sender", "invalid-transition"),
        ("withdraw", "blocked", "sender", "invalid-transition"),
        ("reopen", "sent", "sender", "unknown-action"),
    ],
)
def test_refused_moves(action, current, party, slug):
    with pytest.raises(LifecycleError) as err:
        next_status(action, current, party)
    assert err.value.slug == slug


def test_no_move_leaves_revoked_blocked_or_withdrawn():
    for move in TRANSITIONS.values():
        assert not {"revoked", "blocked", "withdrawn", "declined"} & move.sources
    assert set(DISCLOSING) < set(STATUSES)
    assert "revoked" not in DISCLOSING and "withdrawn" not in DISCLOSING


# --- is the stored decision current? -------------------------------------------------------


def test_current_when_nothing_changed_for_the_person_and_not_expired():
    assert decision_is_current(10, 10, NOW + timedelta(days=1), NOW)
    assert decision_is_current(10, 3, None, NOW)


def test_stale_when_the_person_changed_since():
    assert not decision_is_current(10, 11, None, NOW)


def test_stale_at_and_after_valid_until():
    assert not decision_is_current(10, 10, NOW, NOW)
    assert not decision_is_current(10, 10, NOW - timedelta(seconds=1), NOW)


def test_a_merge_marks_the_decision_stale_whatever_the_revision():
    assert not decision_is_current(-1, 0, None, NOW)


@given(st.integers(-1, 50), st.integers(0, 50))
def test_current_never_when_consent_is_ahead(stored, person):
    if person > stored:
        assert not decision_is_current(stored, person, None, NOW)


# --- what may be shared ---------------------------------------------------------------------


def test_a_parent_category_covers_its_children_not_its_siblings():
    assert permitted_sections(["health.mental", "housing", "healthcare"], ["health"]) == [
        "health.mental"
    ]


def test_a_child_permission_does_not_cover_the_parent():
    assert permitted_sections(["health"], ["health.summary"]) == []


def test_restrict_keeps_only_what_is_still_permitted_and_never_widens():
    r = restrict(["housing", "health.summary"], decision(["housing", "criminal_justice"]))
    assert r.kept == ["housing"]
    assert r.stopped == ["health.summary"]
    assert r.changed and not r.revoked


def test_restrict_to_nothing_is_a_revocation():
    r = restrict(["housing"], decision([], withheld=[("housing", ["consent_withdrawn"])]))
    assert r.revoked and r.stopped == ["housing"]


def test_unchanged_decision_changes_nothing():
    r = restrict(["housing"], decision(["housing"]))
    assert not r.changed and r.kept == ["housing"]


@given(
    st.sets(st.sampled_from(["housing", "housing.arrears", "health", "health.mental", "finance"])),
    st.sets(st.sampled_from(["housing", "health", "health.mental", "finance", "children"])),
)
def test_restriction_is_a_subset_partition(shared, permitted):
    r = restrict(shared, decision(permitted))
    assert set(r.kept) | set(r.stopped) == shared
    assert not set(r.kept) & set(r.stopped)


def test_stop_reasons_come_from_the_withheld_entry_or_the_general_reasons():
    d = decision([], withheld=[("health", ["consent_withdrawn"])], reasons=["no_basis"])
    assert stop_reasons(["health.mental", "housing"], d) == {
        "health.mental": ["consent_withdrawn"],
        "housing": ["no_basis"],
    }


# --- bases ----------------------------------------------------------------------------------


BASES = [
    {"kind": "consent", "consent_id": "c1", "version": 3},
    {"kind": "agreement", "agreement_id": "a1", "legal_basis": "statutory_duty"},
    {"kind": "consent", "consent_id": "c1", "version": 3},
    {"kind": "other"},
]


def test_audit_basis_names_consent_versions_and_agreements():
    basis = audit_basis(BASES)
    assert [(c.id, c.version) for c in basis.consents] == [("c1", 3), ("c1", 3)]
    assert basis.agreements == ["a1"]


def test_basis_keys_are_unique_and_ignore_unknown_kinds():
    assert sorted(basis_keys(BASES)) == [("agreement", "a1", None), ("consent", "c1", 3)]


def test_event_targets_read_person_consent_agreement_and_revision():
    t = event_targets({"person_id": "p1", "consent_id": "c1", "revision": 12})
    assert (t.person_id, t.consent_id, t.agreement_id, t.revision) == ("p1", "c1", None, 12)
    assert event_targets({"agreement_id": "a9", "revision": "x"}).revision is None


# --- cursors --------------------------------------------------------------------------------


def test_cursor_round_trips():
    c = Cursor(created_at=NOW, id="abc")
    assert Cursor.decode(c.encode()) == c


@pytest.mark.parametrize("bad", ["", "%%%", "bm90IGpzb24", Cursor(NOW, "x").encode()[:-3]])
def test_a_cursor_we_did_not_give_out_is_refused(bad):
    with pytest.raises(ValueError):
        Cursor.decode(bad)
