"""What routing remembers: notifications made, who knows whom, and the parties to a scope."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field

from services.partner.base import Base
from shared.models import UTCDateTime


class Notification(Base, table=True):
    """One event, filtered and pseudonymised for one partner: what its feed serves."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("partner_id", "event_id", name="uq_notification_event"),)

    position: int | None = Field(default=None, primary_key=True)
    id: str = Field(unique=True, max_length=40)
    partner_id: str = Field(index=True, max_length=40)
    agency: str = Field(max_length=64)
    event_id: str = Field(max_length=64)
    event_type: str = Field(max_length=100)
    ordering_key: str = Field(max_length=100)
    body: str = Field(sa_column=Column(Text, nullable=False))
    event_time: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class KnownPerson(Base, table=True):
    """An agency has been told about this person: a merge of the person concerns it."""

    __tablename__ = "known_persons"

    agency: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(primary_key=True, max_length=64)
    since: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))


class PseudonymCache(Base, table=True):
    """A pseudonym as identity issued it for (agency, person): stable, so kept once fetched.

    It also keeps a merged person's pseudonym as the agency knew it before the merge.
    """

    __tablename__ = "pseudonym_cache"

    agency: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(primary_key=True, max_length=64)
    pseudonym: str = Field(max_length=40)


class ScopeParties(Base, table=True):
    """The agencies named by a consent or objection, for its later events that name none."""

    __tablename__ = "scope_parties"

    subject_id: str = Field(primary_key=True, max_length=64)
    agencies: list[str] = Field(sa_column=Column(JSON, nullable=False))
