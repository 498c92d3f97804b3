"""Proofs over HTTP, for auditors; the JSON they return is what `casebridge audit verify
--proof` checks offline."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from services.audit.proofs.service import consistency, inclusion
from shared.access_log import record_access
from shared.app import Events
from shared.auth import Auditor
from shared.db import SessionDep

router = APIRouter(prefix="/proofs", tags=["proofs"])


@router.get("/inclusion")
def inclusion_proof(
    auditor: Auditor,
    session: SessionDep,
    events: Events,
    position: Annotated[int | None, Query(ge=1)] = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    size: Annotated[int | None, Query(ge=1, description="Default: the latest checkpoint.")] = None,
) -> dict[str, Any]:
    """That one entry is in the log a checkpoint signed (RFC 9162 2.1.3)."""
    proof = inclusion(session, position=position, event_id=event_id, size=size)
    record_access(
        session,
        events,
        auditor,
        action="audit.inclusion_proof.read",
        resource=f"audit:entries/{proof['entry']['position']}",
        person_id=proof["entry"]["person_id"],
    )
    return proof


@router.get("/consistency")
def consistency_proof(
    auditor: Auditor,
    session: SessionDep,
    first: Annotated[int, Query(ge=1)],
    second: Annotated[
        int | None, Query(ge=1, description="Default: the latest checkpoint.")
    ] = None,
) -> dict[str, Any]:
    """That the log of `first` entries is a prefix of the one of `second` (RFC 9162 2.1.4).

    Hashes only, no personal data: not itself an audited access.
    """
    return consistency(session, first=first, second=second)
