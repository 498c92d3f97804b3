"""Recording and lifting objections. An objection stops sharing on consent, statutory power
or public task; a statutory duty still applies (see policy/decide.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field
from sqlmodel import Session, select

from services.consent import revision
from services.consent.events import ObjectionLifted, ObjectionRecorded, Scope
from services.consent.models import Objection
from services.consent.policy.terms import ObjectionTerms
from services.consent.policy.validate import FieldErrors, check_terms
from shared.auth import Principal
from shared.errors import NotFound
from shared.events.outbox import EventWriter
from shared.vocabulary import load_vocabulary


class ObjectionScope(BaseModel):
    """What the objection covers; an empty list means all (purposes, recipients, categories)."""

    purposes: list[str] = Field(default_factory=list)
    recipients: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)


class ObjectionIn(ObjectionScope):
    person: str = Field(min_length=1, max_length=128, description="Your agency's pseudonym.")
    kind: Literal["objection", "refusal"] = "objection"


class ObjectionOut(ObjectionScope):
    id: str
    kind: str
    status: str
    recorded_by_agency: str
    recorded_at: datetime
    lifted_at: datetime | None
    revision: int


def to_out(o: Objection) -> ObjectionOut:
    return ObjectionOut(
        id=o.id,
        kind=o.kind,
        status=o.status,
        purposes=o.purposes,
        recipients=o.recipients,
        categories=o.categories,
        recorded_by_agency=o.recorded_by_agency,
        recorded_at=o.recorded_at,
        lifted_at=o.lifted_at,
        revision=o.revision,
    )


def record(
    session: Session,
    events: EventWriter,
    by: Principal,
    *,
    person_id: str,
    kind: str,
    scope: ObjectionScope,
    now: datetime,
) -> Objection:
    errors = FieldErrors()
    check_terms(
        errors,
        load_vocabulary(),
        purposes=scope.purposes,
        categories=scope.categories,
        agencies={"recipients": scope.recipients},
    )
    errors.raise_if_any()
    rev = revision.bump(session, person_id=person_id)
    objection = Objection(
        person_id=person_id,
        kind=kind,
        purposes=scope.purposes,
        recipients=scope.recipients,
        categories=scope.categories,
        status="active",
        recorded_by=by.sub,
        recorded_by_agency=by.agency or "client",
        recorded_at=now,
        revision=rev,
    )
    session.add(objection)
    session.flush()
    events.emit(
        session,
        ObjectionRecorded(
            objection_id=objection.id,
            person_id=person_id,
            kind=kind,
            scope=Scope(
                purposes=scope.purposes, categories=scope.categories, recipients=scope.recipients
            ),
            revision=rev,
        ),
        key=person_id,
    )
    return objection


def lift(
    session: Session, events: EventWriter, by: Principal, objection: Objection, *, now: datetime
) -> Objection:
    """Lift an objection (idempotent: lifting a lifted objection announces nothing)."""
    if objection.status == "lifted":
        return objection
    objection.status = "lifted"
    objection.lifted_at = now
    objection.lifted_by = by.sub
    objection.revision = revision.bump(session, person_id=objection.person_id)
    session.add(objection)
    session.flush()
    events.emit(
        session,
        ObjectionLifted(
            objection_id=objection.id, person_id=objection.person_id, revision=objection.revision
        ),
        key=objection.person_id,
    )
    return objection


def get(session: Session, objection_id: str) -> Objection:
    objection = session.get(Objection, objection_id)
    if objection is None:
        raise NotFound("No such objection.", slug="objection-not-found")
    return objection


def for_person(session: Session, person_id: str) -> list[Objection]:
    return list(
        session.exec(
            select(Objection)
            .where(Objection.person_id == person_id)
            .order_by(Objection.recorded_at)  # type: ignore[arg-type]
        ).all()
    )


def active_terms(session: Session, person_id: str) -> list[ObjectionTerms]:
    rows = session.execute(
        select(
            Objection.id,
            Objection.kind,
            Objection.purposes,
            Objection.recipients,
            Objection.categories,  # type: ignore[call-overload]
        ).where(Objection.person_id == person_id, Objection.status == "active")
    ).all()
    return [
        ObjectionTerms(
            objection_id=r.id,
            person_id=person_id,
            kind=r.kind,
            purposes=frozenset(r.purposes),
            recipients=frozenset(r.recipients),
            categories=tuple(r.categories),
        )
        for r in rows
    ]
