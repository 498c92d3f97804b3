"""The ingest validates access records as TypedDicts, not as `AccessRecorded` models: the two
must accept the same data and give the same entry, or a record would be hashed differently."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, get_type_hints

import pytest
from pydantic import BaseModel, ValidationError

from services.audit.ledger import Arrival, entry_of
from services.audit.log.chain import canonical, timestamp
from services.audit.records import (
    AccessFields,
    ActorFields,
    BasisFields,
    ConsentRefFields,
    access_fields,
)
from shared.access_log import AccessRecorded, Actor, Basis, ConsentRef

RECORDED = datetime(2026, 12, 3, 10, 0, tzinfo=UTC)


def entry_by_model(data: dict[str, Any]) -> dict[str, Any]:
    """The entry as the ledger built it from the model until 2026-12-03."""
    r = AccessRecorded.model_validate(data)
    return {
        "position": 5,
        "event_id": "e-1",
        "source": "/casebridge/consent",
        "sequence": 9,
        "service": r.service,
        "action": r.action,
        "resource": r.resource,
        "decision": r.decision,
        "actor": {"sub": r.actor.sub, "agency": r.actor.agency, "roles": list(r.actor.roles)},
        "person_id": r.person_id,
        "person_ref": r.person_ref,
        "categories": list(r.categories),
        "purpose": r.purpose,
        "basis": r.basis.model_dump(mode="json"),
        "reason": r.reason,
        "trace_id": r.trace_id,
        "occurred_at": timestamp(r.occurred_at),
        "recorded_at": timestamp(RECORDED),
    }


def entry_by_fields(data: dict[str, Any]) -> dict[str, Any]:
    arrival = Arrival("e-1", "/casebridge/consent", 9, access_fields(data))
    return entry_of(5, arrival, RECORDED)


MINIMAL = {
    "actor": {"sub": "u-1", "agency": None, "roles": []},
    "action": "consent.read",
    "resource": "consents/1",
    "decision": "permitted",
    "service": "consent",
    "occurred_at": "2026-12-03T09:00:00Z",
}
FULL = {
    "actor": {"sub": "u-2", "agency": "housing", "roles": ["caseworker", "lead"]},
    "person_id": "p-1",
    "person_ref": "psn_1",
    "action": "referral.case.read",
    "resource": "referrals/7",
    "categories": ["housing", "health.mental"],
    "purpose": "integrated_care",
    "basis": {
        "consents": [{"id": "c-1", "version": 3}],
        "agreements": ["isa-1"],
        "break_glass": "unconscious, no consent possible",
    },
    "decision": "denied",
    "reason": "withdrawn",
    "service": "referral",
    "trace_id": "ab" * 16,
    "occurred_at": "2026-12-03T10:00:00.123456+01:00",
}
COERCED_AND_EXTRA = {
    **MINIMAL,
    "extra": "ignored",
    "actor": {"sub": "u-3", "agency": "police", "roles": ["x"], "name": "not kept"},
    "basis": {
        "consents": [
            {"id": "c-2", "version": "4", "note": "dropped"},
            {"id": "c-3", "version": 5.0},
        ]
    },
    "occurred_at": 1764752400,
}


@pytest.mark.parametrize(
    "data", [MINIMAL, FULL, COERCED_AND_EXTRA], ids=["minimal", "full", "coerced"]
)
def test_the_entry_and_its_bytes_are_those_the_model_gave(data):
    assert entry_by_fields(data) == entry_by_model(data)
    assert canonical(entry_by_fields(data)) == canonical(entry_by_model(data))


def test_a_record_without_a_time_gets_now_as_the_model_did():
    data = {k: v for k, v in MINIMAL.items() if k != "occurred_at"}
    before = datetime.now(UTC)
    when = access_fields(data)["occurred_at"]
    assert before <= when <= datetime.now(UTC) and when.tzinfo == UTC


@pytest.mark.parametrize(
    "change",
    [
        {"decision": "maybe"},
        {"actor": {"sub": "u"}},
        {"basis": None},
        {"basis": {"consents": [{"id": "c"}]}},
        {"occurred_at": "yesterday"},
        {"categories": "housing"},
        {"service": None},
    ],
)
def test_what_the_model_refuses_is_refused(change):
    data = {**MINIMAL, **change}
    with pytest.raises(ValidationError):
        AccessRecorded.model_validate(data)
    with pytest.raises(ValidationError):
        access_fields(data)


@pytest.mark.parametrize(
    ("typed", "model"),
    [
        (AccessFields, AccessRecorded),
        (ActorFields, Actor),
        (BasisFields, Basis),
        (ConsentRefFields, ConsentRef),
    ],
)
def test_the_typed_dicts_have_the_models_fields(typed: Any, model: type[BaseModel]):
    """A field added to the model must be added here too (and to `entry_of`)."""
    assert set(get_type_hints(typed)) == set(model.model_fields)
    required = {name for name, f in model.model_fields.items() if f.is_required()}
    assert set(typed.__required_keys__) == required
