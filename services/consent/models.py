"""The consent service's tables.

Consent history is append-only: `consent_versions` rows are never updated or deleted (a
trigger refuses it); `consents` is the head that says which version is current. Every change
to consents, objections, agreements or break-glass grants bumps `revision_marks` in the same
transaction (see `revision.py`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.models import UTCDateTime, new_id


class Base(SQLModel, registry=registry()):
    """The consent service's tables, in a registry of their own."""


metadata = Base.metadata


def _when(nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UTCDateTime, nullable=nullable))


def _json() -> Any:
    return Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Consent(Base, table=True):
    """The head of one consent: who it is about, who recorded it, and its current version."""

    __tablename__ = "consents"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=64, index=True)
    agency: str = Field(max_length=64, index=True, description="Recording agency, or 'client'.")
    version: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(max_length=16)
    expires_at: datetime = _when()
    expiry_announced_at: datetime | None = _when(nullable=True)
    created_at: datetime = _when()

    __table_args__ = (Index("ix_consents_due", "status", "expires_at"),)


class ConsentVersion(Base, table=True):
    """One immutable version of a consent's terms; a change writes a new one."""

    __tablename__ = "consent_versions"

    consent_id: str = Field(primary_key=True, max_length=36)
    version: int = Field(sa_column=Column(Integer, primary_key=True))
    person_id: str = Field(max_length=64, index=True)
    status: str = Field(max_length=16)
    change: str = Field(max_length=32, description="granted, renewed, withdrawn, ...")
    purposes: list[str] = _json()
    categories: list[str] = _json()
    recipients: list[str] = _json()
    recipient_types: list[str] = _json()
    source_agencies: list[str] = _json()
    withdrawn: dict[str, list[str]] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    starts_at: datetime = _when()
    expires_at: datetime = _when()
    data_life_days: int
    given_by: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    recorded_by: str = Field(max_length=200)
    recorded_by_agency: str = Field(max_length=64)
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))
    recorded_at: datetime = _when()


class Objection(Base, table=True):
    """An objection to sharing, or a recorded refusal to consent (a fact, not an absence)."""

    __tablename__ = "objections"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=64)
    kind: str = Field(max_length=16)
    purposes: list[str] = _json()
    recipients: list[str] = _json()
    categories: list[str] = _json()
    status: str = Field(max_length=16)
    recorded_by: str = Field(max_length=200)
    recorded_by_agency: str = Field(max_length=64)
    recorded_at: datetime = _when()
    lifted_at: datetime | None = _when(nullable=True)
    lifted_by: str | None = Field(default=None, max_length=200)
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))

    __table_args__ = (Index("ix_objections_person_status", "person_id", "status"),)


class Agreement(Base, table=True):
    """A data sharing agreement or statutory gateway in the central register."""

    __tablename__ = "agreements"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    title: str = Field(max_length=300)
    tier: str = Field(max_length=16)
    parties: list[str] = _json()
    providers: list[str] = _json()
    recipients: list[str] = _json()
    purposes: list[str] = _json()
    categories: list[str] = _json()
    data_fields: list[str] = _json()
    legal_basis: str = Field(max_length=32)
    citation: str = Field(max_length=300)
    frequency: str = Field(default="", max_length=100)
    mechanism: str = Field(default="", max_length=300)
    security: str = Field(default="", max_length=1000)
    starts_at: datetime = _when()
    ends_at: datetime = _when()
    review_at: datetime = _when()
    status: str = Field(max_length=16, index=True)
    created_by: str = Field(max_length=200)
    created_by_agency: str = Field(max_length=64)
    created_at: datetime = _when()
    updated_at: datetime = _when()
    review_announced_for: datetime | None = _when(nullable=True)
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))


class AgreementApproval(Base, table=True):
    """An ig_officer's approval on behalf of one party."""

    __tablename__ = "agreement_approvals"

    agreement_id: str = Field(primary_key=True, max_length=36)
    agency: str = Field(primary_key=True, max_length=64)
    approved_by: str = Field(max_length=200)
    approved_at: datetime = _when()


class BreakGlassGrant(Base, table=True):
    """Emergency access (vital interests): justified, short, and always announced."""

    __tablename__ = "break_glass_grants"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    person_id: str = Field(max_length=64)
    disclosing_agency: str = Field(max_length=64)
    recipient_agency: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    categories: list[str] = _json()
    justification: str = Field(max_length=2000)
    granted_by: str = Field(max_length=200)
    granted_at: datetime = _when()
    until: datetime = _when()
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))

    __table_args__ = (Index("ix_break_glass_person_until", "person_id", "until"),)


class Receipt(Base, table=True):
    """A signed consent receipt, issued for each grant, change and withdrawal."""

    __tablename__ = "receipts"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    consent_id: str = Field(max_length=36, index=True)
    version: int
    person_id: str = Field(max_length=64)
    issued_at: datetime = _when()
    document: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    signature: str = Field(max_length=200)
    key_id: str = Field(max_length=64)


class RevisionMark(Base, table=True):
    """The policy revision: `global`, `agreements`, and `person:<id>` (latest change for them)."""

    __tablename__ = "revision_marks"

    scope: str = Field(sa_column=Column(String(100), primary_key=True))
    revision: int = Field(sa_column=Column(BigInteger, nullable=False))


class PersonMerge(Base, table=True):
    """A person merged into another, until unmerged: a decision about them would be about
    nobody (their consents now live with the survivor), so it is refused, not denied."""

    __tablename__ = "person_merges"

    merged_person_id: str = Field(primary_key=True, max_length=64)
    survivor_person_id: str = Field(max_length=64)
    merged_at: datetime = _when()
