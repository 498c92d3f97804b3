"""The referral service's tables.

A referral keeps the decision it was created under (P5) and the case details only for the
categories that decision permitted: a withheld section is never stored, so it can never be
read by mistake (P7). The projection tables hold what the consent and identity topics told
us, so that the service knows how current it is (P6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.events.envelope import utcnow
from shared.models import UTCDateTime, new_id


class Base(SQLModel, registry=registry()):
    """The referral service's tables, in a registry of their own."""


metadata = Base.metadata


class Referral(Base, table=True):
    """A referral of a person from one agency to another, with the decision it rests on."""

    __tablename__ = "referrals"
    __table_args__ = (
        Index("ix_referrals_inbox", "to_agency", "created_at", "id"),
        Index("ix_referrals_outbox", "from_agency", "created_at", "id"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    from_agency: str = Field(max_length=64)
    to_agency: str = Field(max_length=64)
    created_by: str = Field(max_length=200)
    # Internal person id: never leaves the core services; follows merges and unmerges.
    person_id: str = Field(max_length=64, index=True)
    original_person_id: str = Field(max_length=64)
    # The sender agency's pseudonym (what the sender named the person by).
    sender_person_ref: str = Field(max_length=128)
    # The recipient agency's pseudonym, cached: a pure function of (agency, person_id),
    # cleared whenever person_id changes.
    recipient_person_ref: str | None = Field(default=None, max_length=128)
    purpose: str = Field(max_length=64)
    urgency: str = Field(max_length=16)
    summary: str | None = Field(default=None, max_length=4000)
    status: str = Field(default="sent", max_length=32, index=True)
    requested_categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    shared_categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    withheld: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    bases: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    reasons: list[str] = Field(sa_column=Column(JSON, nullable=False))
    suggestions: list[Any] = Field(sa_column=Column(JSON, nullable=False))
    # The consent service's revision the stored decision was computed at; -1 = must re-decide.
    decision_revision: int
    # Earliest expiry among the bases; indexed so the worker finds lapsed decisions cheaply.
    valid_until: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, index=True))
    decided_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    status_reason: str | None = Field(default=None, max_length=2000)
    outcome_code: str | None = Field(default=None, max_length=32)
    outcome_note: str | None = Field(default=None, max_length=4000)
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class ReferralSection(Base, table=True):
    """The case details of one permitted data category (a section of fields)."""

    __tablename__ = "referral_sections"

    referral_id: str = Field(foreign_key="referrals.id", primary_key=True, max_length=36)
    category: str = Field(primary_key=True, max_length=64)
    fields: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class ReferralBasis(Base, table=True):
    """One basis a referral relies on, indexed so that an event about it finds the referral."""

    __tablename__ = "referral_bases"

    referral_id: str = Field(foreign_key="referrals.id", primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=16)
    basis_id: str = Field(primary_key=True, max_length=64, index=True)
    version: int | None = None


class ReferralChange(Base, table=True):
    """What happened to a referral, when and by whom: its closed-loop history."""

    __tablename__ = "referral_changes"

    id: int | None = Field(default=None, primary_key=True)
    referral_id: str = Field(foreign_key="referrals.id", index=True, max_length=36)
    change: str = Field(max_length=32)
    status: str = Field(max_length=32)
    actor: str = Field(max_length=200)
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class PendingReevaluation(Base, table=True):
    """A referral whose basis an event may have ended: re-decided by the worker, then removed."""

    __tablename__ = "pending_reevaluations"

    referral_id: str = Field(primary_key=True, max_length=36)
    trigger: str = Field(max_length=64)
    revision: int | None = None
    queued_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class PersonRevision(Base, table=True):
    """Per person, the latest consent revision this service has applied from the topic."""

    __tablename__ = "person_revisions"

    person_id: str = Field(primary_key=True, max_length=64)
    revision: int
    event_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    applied_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class ProjectionState(Base, table=True):
    """The global consent revision applied, and when the newest applied event was produced."""

    __tablename__ = "projection_state"

    name: str = Field(primary_key=True, max_length=32)
    revision: int
    event_time: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    applied_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
