"""For auditors: gaps in producers' sequences, and alerts raised by the ingest."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlmodel import col

from services.audit.ingest import CONSUMER_NAME
from services.audit.models import Alert
from shared.access_log import record_access
from shared.app import Events
from shared.auth import Auditor
from shared.db import Database, SessionDep
from shared.events.tables import sequence_gaps, source_watermarks

router = APIRouter(tags=["oversight"])


def gap_summary(db: Database) -> dict[str, Any]:
    """For readiness: how many gaps were found, and how many sources have sequence numbers
    beyond the last confirmed contiguous one (normal for a moment while events are in flight;
    a gap once it outlives the consumer's grace period)."""
    with db.session() as session:
        found = session.execute(
            select(func.count()).where(sequence_gaps.c.consumer == CONSUMER_NAME)
        ).scalar_one()
        behind = session.execute(
            select(func.count()).where(
                source_watermarks.c.consumer == CONSUMER_NAME,
                source_watermarks.c.max_seen > source_watermarks.c.contiguous,
            )
        ).scalar_one()
    return {"ok": found == 0, "gaps": found, "sources_pending": behind}


class GapOut(BaseModel):
    source: str
    first_missing: int
    last_missing: int
    detected_at: datetime


class SourceOut(BaseModel):
    source: str
    contiguous: int
    max_seen: int


class GapsOut(BaseModel):
    ok: bool
    gaps: list[GapOut]
    sources: list[SourceOut]


@router.get("/gaps", response_model=GapsOut)
def gaps(auditor: Auditor, session: SessionDep, events: Events) -> GapsOut:
    """Sequence numbers missing from any producer, and how far each producer is seen."""
    found = session.execute(
        select(sequence_gaps)
        .where(sequence_gaps.c.consumer == CONSUMER_NAME)
        .order_by(sequence_gaps.c.id)
    ).all()
    sources = session.execute(
        select(source_watermarks)
        .where(source_watermarks.c.consumer == CONSUMER_NAME)
        .order_by(source_watermarks.c.source)
    ).all()
    record_access(session, events, auditor, action="audit.gaps.read", resource="audit:gaps")
    return GapsOut(
        ok=not found,
        gaps=[GapOut.model_validate(g, from_attributes=True) for g in found],
        sources=[SourceOut.model_validate(s, from_attributes=True) for s in sources],
    )


class AlertOut(BaseModel):
    id: int
    kind: str
    actor_sub: str | None
    actor_agency: str | None
    person_id: str | None
    detail: dict[str, Any]
    raised_at: datetime
    event_id: str


@router.get("/alerts", response_model=list[AlertOut])
def alerts(
    auditor: Auditor,
    session: SessionDep,
    events: Events,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    before_id: int | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[Alert]:
    """Alerts, newest first."""
    query = select(Alert).order_by(col(Alert.id).desc()).limit(limit)
    if kind:
        query = query.where(col(Alert.kind) == kind)
    if before_id is not None:
        query = query.where(col(Alert.id) < before_id)
    rows = list(session.execute(query).scalars())
    record_access(session, events, auditor, action="audit.alerts.read", resource="audit:alerts")
    return rows
