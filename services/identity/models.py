"""The identity service's tables.

A person is the internal identity behind agency records; it is never deleted, only marked
merged (pointing at the survivor) so that old pseudonyms keep resolving and a merge can be
undone. Link decisions, reviews and merges are kept as history.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import JSON, Column, Index, Table, UniqueConstraint
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.events.envelope import utcnow
from shared.models import UTCDateTime, new_id


class Base(SQLModel, registry=registry()):
    """The identity service's tables, in a registry of their own."""


metadata = Base.metadata


def _now_column() -> Any:
    return Field(default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False))


class Person(Base, table=True):
    __tablename__ = "persons"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    status: str = Field(default="active", max_length=16)  # active | merged
    merged_into: str | None = Field(default=None, max_length=36, index=True)
    created_at: datetime = _now_column()


class ClientRecord(Base, table=True):
    """An agency's record of one of its clients, and the person it is linked to."""

    __tablename__ = "client_records"
    __table_args__ = (UniqueConstraint("agency", "local_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    agency: str = Field(max_length=64)
    local_id: str = Field(max_length=128)
    given_name: str | None = Field(default=None, max_length=200)
    family_name: str | None = Field(default=None, max_length=200)
    other_names: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    birth_date: date | None = None
    sex: str | None = Field(default=None, max_length=16)
    postcode: str | None = Field(default=None, max_length=16)
    address_line: str | None = Field(default=None, max_length=300)
    identifiers: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    person_id: str = Field(max_length=36, index=True)
    # A person decided this link (review, unlink): updates no longer move it automatically.
    link_locked: bool = False
    link_explanation: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    version: int = 1
    created_at: datetime = _now_column()
    updated_at: datetime = _now_column()


@dataclass
class NewRecord:
    """A record about to be inserted: the same fields as ClientRecord without the ORM's
    (considerable) construction cost, since registration is the hot path."""

    id: str
    agency: str
    local_id: str
    given_name: str | None
    family_name: str | None
    other_names: list[str]
    birth_date: date | None
    sex: str | None
    postcode: str | None
    address_line: str | None
    identifiers: dict[str, str]
    created_at: datetime
    updated_at: datetime
    person_id: str = ""
    link_locked: bool = False
    link_explanation: dict[str, Any] = field(default_factory=dict)
    version: int = 1

    def columns(self) -> dict[str, Any]:
        # Shallow: `asdict` deep-copies the explanation, which cost more than the insert.
        return {f.name: getattr(self, f.name) for f in fields(self)}


class RecordIdentifier(Base, table=True):
    """Verified strong identifiers, indexed for the deterministic rule."""

    __tablename__ = "record_identifiers"
    __table_args__ = (Index("ix_record_identifiers_value", "kind", "value"),)

    record_id: str = Field(primary_key=True, max_length=36)
    kind: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=64)


class BlockingKey(Base, table=True):
    """One blocking key of one record; candidates are the records sharing a key."""

    __tablename__ = "blocking_keys"

    key: str = Field(primary_key=True, max_length=128)
    record_id: str = Field(primary_key=True, max_length=36, index=True)


class Pseudonym(Base, table=True):
    """Every pseudonym ever issued, so that it can be resolved back (it is a one-way HMAC)."""

    __tablename__ = "pseudonyms"
    __table_args__ = (UniqueConstraint("agency", "person_id"),)

    pseudonym: str = Field(primary_key=True, max_length=40)
    agency: str = Field(primary_key=True, max_length=64)
    person_id: str = Field(max_length=36)


class LinkHistory(Base, table=True):
    """Each time a record's person changed (or was confirmed), with the explanation."""

    __tablename__ = "link_history"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    record_id: str = Field(max_length=36, index=True)
    from_person_id: str | None = Field(default=None, max_length=36)
    to_person_id: str = Field(max_length=36)
    rule: str = Field(max_length=64)
    actor: str = Field(max_length=200)
    reason: str | None = Field(default=None, max_length=1000)
    explanation: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    at: datetime = _now_column()


class ReviewItem(Base, table=True):
    """An uncertain pair waiting for a person: this record, and the person it may belong to."""

    __tablename__ = "review_items"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    record_id: str = Field(max_length=36, index=True)
    agency: str = Field(max_length=64, index=True)
    candidate_person_id: str = Field(max_length=36)
    candidate_record_id: str | None = Field(default=None, max_length=36)
    weight: float
    explanation: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSON, nullable=False)
    )
    status: str = Field(
        default="pending", max_length=16, index=True
    )  # pending|accepted|rejected|superseded
    decided_by: str | None = Field(default=None, max_length=200)
    reason: str | None = Field(default=None, max_length=1000)
    merge_id: str | None = Field(default=None, max_length=36)
    created_at: datetime = _now_column()
    decided_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


class Merge(Base, table=True):
    """Two persons found to be one. Undone by unmerge; never deleted."""

    __tablename__ = "merges"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    survivor_person_id: str = Field(max_length=36, index=True)
    merged_person_id: str = Field(max_length=36, index=True)
    record_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    merged_by: str = Field(max_length=200)
    reason: str = Field(max_length=1000)
    merged_at: datetime = _now_column()
    unmerged_by: str | None = Field(default=None, max_length=200)
    unmerge_reason: str | None = Field(default=None, max_length=1000)
    unmerged_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))


def table(model: type[SQLModel]) -> Table:
    """A model's Core table: the registration path inserts through Core, which caches the
    compiled statement, where an ORM insert with `.values()` is rebuilt for every call."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]
