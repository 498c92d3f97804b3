"""What the referral API accepts: vocabulary terms only, bounded sections (P10)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.referral.schemas import MAX_FIELDS_PER_SECTION, CompleteIn, DeclineIn, ReferralIn

GOOD = {
    "person": "psn_A",
    "to_agency": "council-asc",
    "purpose": "housing_support",
    "summary": "s",
    "details": {"housing": {"tenancy": "secure"}, "health.mental": {"note": "x"}},
}


def fields_of(exc: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in exc.errors()}


def test_a_good_referral_defaults_to_routine():
    assert ReferralIn.model_validate(GOOD).urgency == "routine"


@pytest.mark.parametrize(
    "change, field",
    [
        ({"to_agency": "mi5"}, "to_agency"),
        ({"purpose": "fishing_expedition"}, "purpose"),
        ({"urgency": "asap"}, "urgency"),
        ({"details": {"health.dental": {"x": 1}}}, "details"),
        ({"details": {}}, "details"),
        ({"details": {"housing": {}}}, "details"),
        (
            {"details": {"housing": {f"f{i}": i for i in range(MAX_FIELDS_PER_SECTION + 1)}}},
            "details",
        ),
        ({"details": {"housing": {"blob": "x" * 70_000}}}, "details"),
        ({"summary": ""}, "summary"),
        ({"person": ""}, "person"),
    ],
)
def test_refused_fields_are_named(change, field):
    with pytest.raises(ValidationError) as err:
        ReferralIn.model_validate({**GOOD, **change})
    assert field in fields_of(err.value)


def test_decline_needs_a_reason_and_completion_a_known_outcome():
    with pytest.raises(ValidationError):
        DeclineIn.model_validate({"reason": ""})
    with pytest.raises(ValidationError):
        CompleteIn.model_validate({"outcome": "sorted"})
    assert CompleteIn.model_validate({"outcome": "referred_on"}).note is None
