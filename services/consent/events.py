"""Events on the consent topic. Each carries the policy `revision` it produced, and
`person_id` when it is about a person, so a consumer can tell how current it is (P6).

They carry ids and vocabulary terms only: no names, no free text, no case details.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from shared.events import event_type


class Scope(BaseModel):
    """A set of purposes, categories and recipients (ids from the vocabulary)."""

    purposes: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list, description="Agency ids.")
    recipient_types: list[str] = Field(default_factory=list, description="Agency types.")


@event_type("consent.granted.v1")
class ConsentGranted(BaseModel):
    consent_id: str
    version: int
    person_id: str = Field(description="Internal person id (consumers are Casebridge services).")
    agency: str = Field(description="The agency that recorded it, or 'client'.")
    scope: Scope
    source_agencies: list[str]
    starts_at: datetime
    expires_at: datetime
    data_life_days: int
    revision: int


@event_type("consent.withdrawn.v1")
class ConsentWithdrawn(BaseModel):
    consent_id: str
    version: int = Field(description="The version that records the withdrawal.")
    person_id: str
    whole: bool = Field(description="True when nothing of the consent remains.")
    withdrawn: Scope = Field(description="What was withdrawn by this change.")
    revision: int


@event_type("consent.renewed.v1")
class ConsentRenewed(BaseModel):
    consent_id: str
    version: int
    person_id: str
    expires_at: datetime
    revision: int


@event_type("consent.expired.v1")
class ConsentExpired(BaseModel):
    consent_id: str
    version: int
    person_id: str
    expired_at: datetime = Field(description="When it took effect (decisions used it from then).")
    revision: int


@event_type("objection.recorded.v1")
class ObjectionRecorded(BaseModel):
    objection_id: str
    person_id: str
    kind: str = Field(description="objection (by the client) or refusal (declined to consent).")
    scope: Scope = Field(description="Empty lists mean: all.")
    revision: int


@event_type("objection.lifted.v1")
class ObjectionLifted(BaseModel):
    objection_id: str
    person_id: str
    revision: int


class AgreementFacts(BaseModel):
    agreement_id: str
    providers: list[str]
    recipients: list[str]
    purposes: list[str]
    categories: list[str]
    legal_basis: str
    citation: str
    starts_at: datetime
    ends_at: datetime
    revision: int


@event_type("agreement.activated.v1")
class AgreementActivated(AgreementFacts):
    pass


@event_type("agreement.suspended.v1")
class AgreementSuspended(AgreementFacts):
    pass


@event_type("agreement.expired.v1")
class AgreementExpired(AgreementFacts):
    pass


@event_type("agreement.retired.v1")
class AgreementRetired(AgreementFacts):
    pass


@event_type("agreement.review_due.v1")
class AgreementReviewDue(BaseModel):
    agreement_id: str
    review_at: datetime
    parties: list[str]
    revision: int


@event_type("consent.break_glass_used.v1")
class BreakGlassUsed(BaseModel):
    """An alert: emergency access was granted. The justification stays in the consent
    service and the audit log, not on the topic."""

    grant_id: str
    person_id: str
    disclosing_agency: str
    recipient_agency: str
    purpose: str
    categories: list[str]
    granted_by: str
    until: datetime
    revision: int
