"""Objection endpoints: caseworkers record objections and refusals; clients object themselves."""

from __future__ import annotations

from fastapi import APIRouter, Query, status
from sqlmodel import Session

from services.consent.consents.access import caller_person
from services.consent.objections import service
from services.consent.objections.service import ObjectionIn, ObjectionOut, ObjectionScope
from services.consent.refusals import refuse
from shared.access_log import record_access
from shared.app import Context, ServiceContext
from shared.auth import Caseworker, Client, Principal
from shared.db import SessionDep
from shared.errors import Forbidden
from shared.events.envelope import utcnow

router = APIRouter(prefix="/objections", tags=["objections"])
client_router = APIRouter(prefix="/me/objections", tags=["client"])


def _audit(
    session: Session,
    ctx: ServiceContext,
    user: Principal,
    action: str,
    person_id: str,
    resource: str,
) -> None:
    record_access(
        session,
        ctx.events,
        user,
        action=action,
        resource=resource,
        person_id=person_id,
        person_ref=user.person,
    )


def _lift(
    session: Session, ctx: ServiceContext, user: Principal, objection_id: str
) -> ObjectionOut:
    objection = service.get(session, objection_id)
    if user.has("client"):
        allowed = caller_person(session, ctx, user, None, "objection.lift") == objection.person_id
    else:
        allowed = objection.recorded_by_agency == user.agency
    if not allowed:
        problem = Forbidden(
            "You may not lift that objection.",
            slug="wrong-person" if user.has("client") else "wrong-agency",
        )
        refuse(
            session,
            ctx,
            user,
            problem,
            action="objection.lift",
            resource=f"objection/{objection.id}",
            person_id=objection.person_id,
        )
    service.lift(session, ctx.events, user, objection, now=utcnow())
    _audit(session, ctx, user, "objection.lift", objection.person_id, f"objection/{objection.id}")
    return service.to_out(objection)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ObjectionOut)
def record_objection(
    body: ObjectionIn, user: Caseworker, session: SessionDep, ctx: Context
) -> ObjectionOut:
    """Record your agency's client's objection, or that they declined to consent (a refusal)."""
    person_id = caller_person(session, ctx, user, body.person, "objection.record")
    scope = ObjectionScope(
        purposes=body.purposes, recipients=body.recipients, categories=body.categories
    )
    o = service.record(
        session, ctx.events, user, person_id=person_id, kind=body.kind, scope=scope, now=utcnow()
    )
    _audit(session, ctx, user, "objection.record", person_id, f"objection/{o.id}")
    return service.to_out(o)


@router.get("", response_model=list[ObjectionOut])
def list_objections(
    user: Caseworker,
    session: SessionDep,
    ctx: Context,
    person: str = Query(min_length=1, max_length=128),
) -> list[ObjectionOut]:
    person_id = caller_person(session, ctx, user, person, "objection.list")
    _audit(session, ctx, user, "objection.list", person_id, f"person/{person}/objections")
    return [service.to_out(o) for o in service.for_person(session, person_id)]


@router.post("/{objection_id}/lift", response_model=ObjectionOut)
def lift_objection(
    objection_id: str, user: Caseworker, session: SessionDep, ctx: Context
) -> ObjectionOut:
    return _lift(session, ctx, user, objection_id)


@client_router.post("", status_code=status.HTTP_201_CREATED, response_model=ObjectionOut)
def object_myself(
    body: ObjectionScope, user: Client, session: SessionDep, ctx: Context
) -> ObjectionOut:
    """Object to sharing for some purposes, recipients or categories (empty: all)."""
    person_id = caller_person(session, ctx, user, None, "objection.record")
    o = service.record(
        session, ctx.events, user, person_id=person_id, kind="objection", scope=body, now=utcnow()
    )
    _audit(session, ctx, user, "objection.record", person_id, f"objection/{o.id}")
    return service.to_out(o)


@client_router.get("", response_model=list[ObjectionOut])
def my_objections(user: Client, session: SessionDep, ctx: Context) -> list[ObjectionOut]:
    person_id = caller_person(session, ctx, user, None, "objection.list")
    _audit(session, ctx, user, "objection.list", person_id, "me/objections")
    return [service.to_out(o) for o in service.for_person(session, person_id)]


@client_router.post("/{objection_id}/lift", response_model=ObjectionOut)
def lift_my_objection(
    objection_id: str, user: Client, session: SessionDep, ctx: Context
) -> ObjectionOut:
    return _lift(session, ctx, user, objection_id)
