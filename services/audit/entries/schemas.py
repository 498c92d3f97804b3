"""Entries as auditors and clients see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from services.audit.ledger import entry_from_row


class EntryOut(BaseModel):
    """One access, every field as recorded, with its place in the chain."""

    position: int
    event_id: str
    source: str
    sequence: int | None
    service: str
    action: str
    resource: str
    decision: str
    actor: dict[str, Any]
    person_id: str | None
    person_ref: str | None
    categories: list[str]
    purpose: str | None
    basis: dict[str, Any]
    reason: str | None
    trace_id: str | None
    occurred_at: str
    recorded_at: str
    leaf_hash: str = Field(description="SHA-256(0x00 || canonical entry), hex.")
    chain_hash: str = Field(description="SHA-256(previous chain hash || canonical entry), hex.")

    @classmethod
    def of(cls, row: Any) -> EntryOut:
        return cls(
            **entry_from_row(row), leaf_hash=row.leaf_hash.hex(), chain_hash=row.chain_hash.hex()
        )


class AccessSeen(BaseModel):
    """What a client sees of one access to their data: who as agency and role, not by name."""

    occurred_at: datetime
    agency: str | None = Field(description="The agency whose staff or system made the access.")
    agency_name: str | None
    roles: list[str]
    official: str | None = Field(
        None, description="Only where the service is configured to show it."
    )
    service: str
    action: str
    categories: list[str]
    purpose: str | None
    purpose_name: str | None
    basis: dict[str, Any]
    decision: str
