"""What the referral API accepts and returns. Validation at the edge: a bad field is a 422
naming it, and nothing is written (P10)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from services.referral.rules import OUTCOMES
from shared.vocabulary import load_vocabulary

Urgency = Literal["routine", "urgent", "emergency"]
Outcome = Literal[
    "support_provided", "no_further_action", "referred_on", "client_declined", "other"
]
assert set(OUTCOMES) == set(Outcome.__args__)  # type: ignore[attr-defined]

MAX_DETAILS_BYTES = 64_000
MAX_FIELDS_PER_SECTION = 100


class ReferralIn(BaseModel):
    """A referral: who (by the sender agency's pseudonym), to whom, why, and the case details
    as sections keyed by data category."""

    person: str = Field(min_length=1, max_length=128, description="Your agency's pseudonym.")
    to_agency: str = Field(min_length=1, max_length=64)
    purpose: str = Field(min_length=1, max_length=64)
    urgency: Urgency = "routine"
    summary: str = Field(min_length=1, max_length=4000)
    details: dict[str, dict[str, Any]] = Field(
        min_length=1, description="Case details: {category: {field: value}}."
    )

    @field_validator("to_agency")
    @classmethod
    def _known_agency(cls, value: str) -> str:
        if load_vocabulary().agency(value) is None:
            raise ValueError(f"unknown agency {value!r}")
        return value

    @field_validator("purpose")
    @classmethod
    def _known_purpose(cls, value: str) -> str:
        if load_vocabulary().purpose(value) is None:
            raise ValueError(f"unknown purpose {value!r}")
        return value

    @field_validator("details")
    @classmethod
    def _known_categories(cls, value: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        vocabulary = load_vocabulary()
        unknown = sorted(c for c in value if vocabulary.category(c) is None)
        if unknown:
            raise ValueError(f"unknown data categories {unknown}")
        for category, section in value.items():
            if not section:
                raise ValueError(f"section {category!r} has no fields")
            if len(section) > MAX_FIELDS_PER_SECTION:
                raise ValueError(
                    f"section {category!r} has more than {MAX_FIELDS_PER_SECTION} fields"
                )
        if len(json.dumps(value, default=str)) > MAX_DETAILS_BYTES:
            raise ValueError(f"case details exceed {MAX_DETAILS_BYTES} bytes")
        return value


class DeclineIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


class CompleteIn(BaseModel):
    outcome: Outcome
    note: str | None = Field(default=None, max_length=4000)


class WithdrawIn(BaseModel):
    reason: str | None = Field(default=None, max_length=2000)


class WithheldOut(BaseModel):
    category: str
    reasons: list[str]


class DecisionOut(BaseModel):
    """The decision the served details rest on (P5: explainable afterwards)."""

    revision: int
    valid_until: datetime | None
    bases: list[dict[str, Any]]
    decided_at: datetime


class OutcomeOut(BaseModel):
    code: str
    note: str | None


class ChangeOut(BaseModel):
    change: str
    status: str
    at: datetime
    detail: dict[str, Any]


class ReferralOut(BaseModel):
    """A referral as the caller's agency may see it.

    `person` is the caller's own agency's pseudonym. `details` holds only the categories a
    basis permits at the moment of reading (recipient) or that were shared (sender).
    `withheld`, `reasons` and `suggestions` are for the sender only.
    """

    id: str
    from_agency: str
    to_agency: str
    person: str | None
    purpose: str
    urgency: str
    status: str
    status_reason: str | None = None
    summary: str | None
    details: dict[str, dict[str, Any]] | None
    shared_categories: list[str]
    withheld: list[WithheldOut] | None = None
    reasons: list[str] | None = None
    suggestions: list[Any] | None = None
    decision: DecisionOut
    disclosure: Literal["stored-current", "rechecked", "restricted", "none", "sender"] = Field(
        description="How the details served were established: the stored decision proven "
        "current, a fresh decision, a fresh decision that narrowed them, none served, or the "
        "sender's own copy."
    )
    outcome: OutcomeOut | None = None
    history: list[ChangeOut]
    created_at: datetime
    updated_at: datetime


class ReferralItem(BaseModel):
    """A referral in an inbox or outbox: no case details, no summary."""

    id: str
    from_agency: str
    to_agency: str
    person: str | None = Field(None, description="Outbox only: your agency's pseudonym.")
    purpose: str
    urgency: str
    status: str
    shared_categories: list[str]
    outcome: str | None
    created_at: datetime
    updated_at: datetime


class ReferralPage(BaseModel):
    items: list[ReferralItem]
    next_cursor: str | None


class ProjectionOut(BaseModel):
    """How current the local consent projection is (P6)."""

    applied_revision: int
    person_revision: int | None
    person_lag_ms: float | None = Field(
        description="For the person asked about: from their latest consent event's creation "
        "to its application here."
    )
    consumer_lag: int | None
    last_event_lag_ms: float | None
    pending_reevaluations: int
