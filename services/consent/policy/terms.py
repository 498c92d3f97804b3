"""The terms the decision works on: plain values loaded from the store, never ORM objects."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

LegalBasisType = Literal["statutory_duty", "statutory_power", "public_task", "vital_interests"]
AgreementStatus = Literal["draft", "approved", "active", "suspended", "expired", "retired"]

# An objection stops consent-based sharing and sharing under a statutory power or a public
# task (UK GDPR art. 21); a statutory duty, and vital interests, still apply.
OVERRIDES_OBJECTION: frozenset[str] = frozenset({"statutory_duty", "vital_interests"})


@dataclass(frozen=True)
class ConsentTerms:
    """The current version of one consent: what it allows, to whom, from whom, until when."""

    consent_id: str
    version: int
    person_id: str
    status: Literal["active", "withdrawn"]
    purposes: frozenset[str]
    categories: tuple[str, ...]
    recipients: frozenset[str]
    recipient_types: frozenset[str]
    source_agencies: frozenset[str]
    starts_at: datetime
    expires_at: datetime
    data_life_days: int
    withdrawn_purposes: frozenset[str] = frozenset()
    withdrawn_categories: tuple[str, ...] = ()
    withdrawn_recipients: frozenset[str] = frozenset()
    withdrawn_recipient_types: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ObjectionTerms:
    """An active objection (or a recorded refusal to consent); an empty scope means all."""

    objection_id: str
    person_id: str
    kind: Literal["objection", "refusal"]
    purposes: frozenset[str] = frozenset()
    recipients: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class AgreementTerms:
    """A data sharing agreement or statutory gateway: who may send what to whom, and why."""

    agreement_id: str
    title: str
    status: AgreementStatus
    providers: frozenset[str]
    recipients: frozenset[str]
    purposes: frozenset[str]
    categories: tuple[str, ...]
    legal_basis: LegalBasisType
    citation: str
    starts_at: datetime
    ends_at: datetime
    security: str = ""


@dataclass(frozen=True)
class BreakGlassGrant:
    """Emergency access already granted for a short window (vital interests)."""

    grant_id: str
    person_id: str
    disclosing_agency: str
    recipient_agency: str
    purpose: str
    categories: tuple[str, ...]
    until: datetime


@dataclass(frozen=True)
class BreakGlassRequest:
    """A caller's request to break the glass; the id and window are chosen by the caller."""

    grant_id: str
    justification: str
    until: datetime


@dataclass(frozen=True)
class Question:
    """May `disclosing_agency` share `categories` about the person with `recipient_agency`?"""

    person_id: str
    disclosing_agency: str
    recipient_agency: str
    recipient_type: str
    purpose: str | None
    categories: tuple[str, ...]
    break_glass: BreakGlassRequest | None = None


@dataclass
class PolicyState:
    """Everything about one person and the relevant agreements, as of one revision."""

    revision: int
    consents: list[ConsentTerms] = field(default_factory=list)
    objections: list[ObjectionTerms] = field(default_factory=list)
    agreements: list[AgreementTerms] = field(default_factory=list)
    grants: list[BreakGlassGrant] = field(default_factory=list)
