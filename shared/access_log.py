"""P3: every access to personal data, and every refusal, is recorded in the same transaction.

Services call `record_access` inside the unit of work that reads or writes the data; the
record reaches the audit service through the outbox, so it exists exactly when the access
committed. If it cannot be written, the transaction fails and nothing is returned.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from opentelemetry import trace
from pydantic import BaseModel, Field
from sqlmodel import Session

from shared.auth.principal import Principal
from shared.db import Database
from shared.events.catalog import event_type
from shared.events.envelope import utcnow
from shared.events.outbox import EventWriter


class Actor(BaseModel):
    sub: str
    agency: str | None
    roles: list[str]


class ConsentRef(BaseModel):
    id: str
    version: int


class Basis(BaseModel):
    consents: list[ConsentRef] = Field(default_factory=list)
    agreements: list[str] = Field(default_factory=list)
    break_glass: str | None = None


@event_type("audit.access.v1")
class AccessRecorded(BaseModel):
    """Who did what to whose data, why, on what basis, and whether it was allowed."""

    actor: Actor
    person_id: str | None = None
    person_ref: str | None = None
    action: str
    resource: str
    categories: list[str] = Field(default_factory=list)
    purpose: str | None = None
    basis: Basis = Field(default_factory=Basis)
    decision: Literal["permitted", "denied"]
    reason: str | None = None
    service: str
    trace_id: str | None = None
    occurred_at: datetime = Field(default_factory=utcnow)


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None


def record_access(
    session: Session,
    events: EventWriter,
    principal: Principal,
    *,
    action: str,
    resource: str,
    decision: Literal["permitted", "denied"] = "permitted",
    person_id: str | None = None,
    person_ref: str | None = None,
    categories: list[str] | None = None,
    purpose: str | None = None,
    basis: Basis | None = None,
    reason: str | None = None,
) -> AccessRecorded:
    record = AccessRecorded(
        actor=Actor(sub=principal.sub, agency=principal.agency, roles=sorted(principal.roles)),
        person_id=person_id,
        person_ref=person_ref,
        action=action,
        resource=resource,
        categories=categories or [],
        purpose=purpose,
        basis=basis or Basis(),
        decision=decision,
        reason=reason,
        service=events.service,
        trace_id=current_trace_id(),
    )
    events.emit(session, record, key=person_id or principal.sub, subject=resource)
    return record


def record_refusal(
    db: Database, events: EventWriter, principal: Principal, **fields: object
) -> AccessRecorded:
    """Record a denied attempt in a transaction of its own: the request's is rolled back."""
    with db.session() as session:
        return record_access(session, events, principal, decision="denied", **fields)  # type: ignore[arg-type]
