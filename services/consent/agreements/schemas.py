"""What callers send and get back about agreements."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

from services.consent.policy.terms import LegalBasisType


class LegalBasis(BaseModel):
    type: LegalBasisType
    citation: str = Field(
        min_length=3, max_length=300, description="e.g. Crime and Disorder Act 1998 s115"
    )


class AgreementIn(BaseModel):
    """A Tier 1 (strategic protocol) or Tier 2 (specific exchange) agreement."""

    title: str = Field(min_length=3, max_length=300)
    tier: Literal["strategic", "specific"]
    providers: list[str] = Field(min_length=1, description="Agencies that may disclose.")
    recipients: list[str] = Field(min_length=1, description="Agencies that may receive.")
    purposes: list[str] = Field(min_length=1)
    categories: list[str] = Field(min_length=1)
    fields: list[str] = Field(default_factory=list, description="Named fields, for Tier 2.")
    legal_basis: LegalBasis
    frequency: str = Field(default="", max_length=100)
    mechanism: str = Field(default="", max_length=300)
    security: str = Field(default="", max_length=1000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    review_at: AwareDatetime

    @model_validator(mode="after")
    def _parties(self) -> AgreementIn:
        if len(set(self.providers) | set(self.recipients)) < 2:
            raise ValueError("an agreement needs at least two parties")
        return self


class AgreementOut(BaseModel):
    id: str
    title: str
    tier: str
    status: str
    parties: list[str]
    providers: list[str]
    recipients: list[str]
    purposes: list[str]
    categories: list[str]
    fields: list[str]
    legal_basis: LegalBasis
    frequency: str
    mechanism: str
    security: str
    starts_at: datetime
    ends_at: datetime
    review_at: datetime
    approvals: list[str] = Field(description="Parties whose ig_officer approved.")
    awaiting: list[str] = Field(description="Parties yet to approve.")
    revision: int
