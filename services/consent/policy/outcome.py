"""What a decision says (P5): the verdict, per-category reasons, bases, obligations, revision."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field


class WithheldCategory(BaseModel):
    category: str
    reasons: list[str] = Field(description="Reason codes, e.g. consent_expired, objection.")


class ConsentBasis(BaseModel):
    kind: Literal["consent"] = "consent"
    consent_id: str
    version: int
    categories: list[str] = Field(default_factory=list)


class AgreementBasis(BaseModel):
    kind: Literal["agreement"] = "agreement"
    agreement_id: str
    legal_basis: str
    citation: str = ""
    categories: list[str] = Field(default_factory=list)


class BreakGlassBasis(BaseModel):
    kind: Literal["break_glass"] = "break_glass"
    grant_id: str
    legal_basis: Literal["vital_interests"] = "vital_interests"
    until: datetime
    categories: list[str] = Field(default_factory=list)


Basis = Annotated[ConsentBasis | AgreementBasis | BreakGlassBasis, Field(discriminator="kind")]


class Decision(BaseModel):
    """The answer to one sharing question, computed from one revision of the policy state."""

    decision: Literal["permit", "deny", "partial"]
    permitted: list[str]
    withheld: list[WithheldCategory]
    bases: list[Basis]
    obligations: list[dict[str, Any]]
    reasons: list[str]
    revision: int
    valid_until: datetime | None
    suggestions: list[dict[str, Any]]
    break_glass_granted: BreakGlassBasis | None = Field(
        default=None, description="Set when this decision broke the glass (an alert was raised)."
    )
