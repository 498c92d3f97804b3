"""What callers send and get back about consents."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field, model_validator

Term = str  # a vocabulary id; checked against the vocabulary by the logic


class GivenBy(BaseModel):
    """The client, or a representative acting for them (with their name and relationship)."""

    kind: Literal["client", "representative"] = "client"
    name: str | None = Field(default=None, min_length=1, max_length=200)
    relationship: Literal["parent", "guardian", "attorney", "deputy", "other"] | None = None

    @model_validator(mode="after")
    def _representative_named(self) -> GivenBy:
        if self.kind == "representative" and (not self.name or not self.relationship):
            raise ValueError("a representative needs a name and a relationship")
        if self.kind == "client" and (self.name or self.relationship):
            raise ValueError("name and relationship are only for a representative")
        return self


class Evidence(BaseModel):
    """How the consent was obtained: method, a reference to the record, who captured it."""

    method: Literal["written", "verbal", "digital"]
    reference: str = Field(min_length=1, max_length=200)
    captured_by: str = Field(min_length=1, max_length=200)


class ConsentTermsIn(BaseModel):
    purposes: list[Term] = Field(min_length=1, max_length=20)
    categories: list[Term] = Field(min_length=1, max_length=50)
    recipients: list[Term] = Field(default_factory=list, max_length=50)
    recipient_types: list[Term] = Field(default_factory=list, max_length=20)
    source_agencies: list[Term] = Field(default_factory=list, max_length=50)
    starts_at: AwareDatetime | None = None
    expires_at: AwareDatetime = Field(description="Required: every consent expires.")
    data_life_days: int | None = Field(default=None, ge=1, le=3650)

    @model_validator(mode="after")
    def _some_recipient(self) -> ConsentTermsIn:
        if not self.recipients and not self.recipient_types:
            raise ValueError("name at least one recipient agency or recipient agency type")
        return self


class ConsentIn(ConsentTermsIn):
    """A caseworker records a consent their agency's client gave."""

    person: str = Field(min_length=1, max_length=128, description="Your agency's pseudonym.")
    given_by: GivenBy = Field(default_factory=GivenBy)
    evidence: Evidence


class ClientConsentIn(ConsentTermsIn):
    """A client grants a consent themselves (the source agencies must be named)."""

    source_agencies: list[Term] = Field(min_length=1, max_length=50)


class WithdrawIn(BaseModel):
    """Empty: withdraw the whole consent. Otherwise withdraw just these parts."""

    purposes: list[Term] = Field(default_factory=list)
    categories: list[Term] = Field(default_factory=list)
    recipients: list[Term] = Field(default_factory=list)
    recipient_types: list[Term] = Field(default_factory=list)

    @property
    def whole(self) -> bool:
        return not (self.purposes or self.categories or self.recipients or self.recipient_types)


class RenewIn(BaseModel):
    expires_at: AwareDatetime
    evidence: Evidence | None = None


class ConsentOut(BaseModel):
    id: str
    version: int
    status: Literal["active", "withdrawn", "expired"]
    agency: str = Field(description="The agency that recorded it, or 'client'.")
    person: str | None = Field(default=None, description="The caller's pseudonym, when known.")
    change: str
    purposes: list[str]
    categories: list[str]
    recipients: list[str]
    recipient_types: list[str]
    source_agencies: list[str]
    withdrawn: dict[str, list[str]]
    starts_at: datetime
    expires_at: datetime
    data_life_days: int
    given_by: dict[str, Any]
    evidence: dict[str, Any]
    recorded_by_agency: str
    recorded_at: datetime
    revision: int


class ReceiptOut(BaseModel):
    id: str
    consent_id: str
    version: int
    receipt: dict[str, Any]
    signature: str = Field(description="Ed25519 over the canonical JSON of `receipt`, base64url.")
    alg: Literal["EdDSA"] = "EdDSA"
    kid: str
