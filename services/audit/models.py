"""The audit service's tables. Entries, tree nodes, checkpoints and alerts are append-only:
triggers (second migration) reject UPDATE and DELETE on them, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer, LargeBinary, SmallInteger, Text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from shared.models import UTCDateTime


class Base(SQLModel, registry=registry()):
    """The audit service's tables, in a registry of their own."""


metadata = Base.metadata


class AuditEntry(Base, table=True):
    """One access, as reported by the service that performed it, chained to the one before.

    `position` is the 1-based place in the log (the Merkle leaf index plus one), given by the
    ledger under the head lock, so it has no holes. The columns are the whole entry: the
    canonical JSON that is hashed is rebuilt from them, so editing any of them shows.
    """

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_person", "person_id", "position"),
        Index("ix_audit_entries_actor", "actor_sub", "position"),
        Index("ix_audit_entries_agency", "actor_agency", "position"),
        Index("ix_audit_entries_purpose", "purpose", "position"),
        Index("ix_audit_entries_action", "action", "position"),
        Index("ix_audit_entries_decision", "decision", "position"),
        Index("ix_audit_entries_occurred", "occurred_at"),
    )

    position: int = Field(
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=False
        )
    )
    event_id: str = Field(max_length=64, unique=True)
    source: str = Field(max_length=200)
    sequence: int | None = Field(default=None, sa_column=Column(BigInteger))
    service: str = Field(max_length=64)
    action: str = Field(max_length=200)
    resource: str = Field(max_length=500)
    decision: str = Field(max_length=16)
    actor_sub: str = Field(max_length=200)
    actor_agency: str | None = Field(default=None, max_length=64)
    actor_roles: list[str] = Field(sa_column=Column(JSON, nullable=False))
    person_id: str | None = Field(default=None, max_length=64)
    person_ref: str | None = Field(default=None, max_length=200)
    categories: list[str] = Field(sa_column=Column(JSON, nullable=False))
    purpose: str | None = Field(default=None, max_length=100)
    basis: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    trace_id: str | None = Field(default=None, max_length=64)
    occurred_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    recorded_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    leaf_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    chain_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class MerkleNode(Base, table=True):
    """A complete subtree of 2**level entries starting at entry idx * 2**level (level >= 1).

    Stored once when completed, so proofs read O(log n) rows instead of rehashing the log.
    """

    __tablename__ = "merkle_nodes"

    level: int = Field(sa_column=Column(SmallInteger, primary_key=True, autoincrement=False))
    idx: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))


class LogHead(Base, table=True):
    """The one row saying how long the log is: its size, last chain hash and Merkle frontier.

    Appending locks it (FOR UPDATE on PostgreSQL; SQLite's BEGIN IMMEDIATE) so that every
    replica of the ingest appends to one chain in one order.
    """

    __tablename__ = "log_head"

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    chain_head: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    frontier: bytes = Field(sa_column=Column(LargeBinary, nullable=False))


class Checkpoint(Base, table=True):
    """A signed tree head: Ed25519 over the log's size, Merkle root and chain head."""

    __tablename__ = "checkpoints"

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    size: int = Field(sa_column=Column(BigInteger, nullable=False, index=True))
    root_hash: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    chain_head: bytes = Field(sa_column=Column(LargeBinary(32), nullable=False))
    issued_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    key_id: str = Field(max_length=64)
    signature: bytes = Field(sa_column=Column(LargeBinary(64), nullable=False))


class Alert(Base, table=True):
    """Something an auditor should look at: break-glass, repeated denials, wide reading, gaps."""

    __tablename__ = "alerts"

    id: int | None = Field(
        default=None,
        sa_column=Column(
            BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
    )
    kind: str = Field(max_length=32, index=True)
    actor_sub: str | None = Field(default=None, max_length=200)
    actor_agency: str | None = Field(default=None, max_length=64)
    person_id: str | None = Field(default=None, max_length=64)
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    raised_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
    event_id: str = Field(max_length=64)


class PersonAlias(Base, table=True):
    """A person merged into another (identity's merge events): entries recorded under the
    merged id belong to the survivor's history too. Removed again when the merge is undone."""

    __tablename__ = "person_aliases"

    merged_person_id: str = Field(primary_key=True, max_length=64)
    survivor_person_id: str = Field(max_length=64, index=True)
