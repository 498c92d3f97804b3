"""`POST /decisions` and `GET /revision`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import StringConstraints
from sqlmodel import Session

from services.consent import persons, revision
from services.consent.decisions.schemas import DecisionRequest, RevisionOut
from services.consent.decisions.service import PersonMerged, make_decision, validate
from services.consent.policy.outcome import Decision
from services.consent.refusals import refuse
from services.consent.runtime import ConsentRuntime, Runtime
from shared.app import Context, ServiceContext
from shared.auth import Principal, ServiceCaller, require_roles
from shared.db import SessionDep
from shared.errors import Conflict, Forbidden
from shared.events.envelope import utcnow

router = APIRouter(tags=["decisions"])

MAX_REVISION_PERSONS = 100

Asker = Annotated[Principal, Depends(require_roles("service", "caseworker", "ig_officer"))]


@router.post("/decisions", response_model=Decision)
async def post_decision(
    req: DecisionRequest, user: Asker, ctx: Context, runtime: Runtime
) -> Response:
    """May the disclosing agency share these categories about the person with the recipient,
    for this purpose, now, and on what basis? Every answer is audited."""
    # One thread-pool hop for the whole transaction (a sync session dependency and endpoint
    # cost three), and the answer serialised once: it is built and checked as a Decision.
    decision = await run_in_threadpool(_answer, req, user, ctx, runtime)
    return Response(decision.model_dump_json(), media_type="application/json")


def _answer(
    req: DecisionRequest, user: Principal, ctx: ServiceContext, runtime: ConsentRuntime
) -> Decision:
    """The decision and its audit record in one transaction, committed before it is returned
    (P3): a decision whose audit row cannot be committed raises instead."""
    recipient_type = validate(req)
    with ctx.db.session() as session:
        return _decide(session, req, user, ctx, runtime, recipient_type)


def _decide(
    session: Session,
    req: DecisionRequest,
    user: Principal,
    ctx: ServiceContext,
    runtime: ConsentRuntime,
    recipient_type: str,
) -> Decision:
    refusal = None
    if req.person_id is not None and not user.has("service"):
        refusal = Forbidden(
            "Only services may name a person by internal id.", slug="person-id-for-services"
        )
    elif not user.has("service") and user.agency != req.disclosing_agency:
        refusal = Forbidden(
            "You may ask only about sharing by your own agency.", slug="wrong-agency"
        )
    if refusal is not None:
        refuse(
            session,
            ctx,
            user,
            refusal,
            action="consent.decision",
            resource="decision",
            person_ref=req.person,
        )
    person_id = req.person_id
    if person_id is None:
        assert req.person is not None
        try:
            person_id = persons.resolve(ctx, agency=req.disclosing_agency, pseudonym=req.person)
        except Forbidden as exc:
            refuse(
                session,
                ctx,
                user,
                exc,
                action="consent.decision",
                resource="decision",
                person_ref=req.person,
            )
    try:
        return make_decision(
            session,
            ctx.events,
            runtime,
            user,
            req,
            person_id=person_id,
            recipient_type=recipient_type,
            now=utcnow(),
        )
    except PersonMerged:
        refuse(
            session,
            ctx,
            user,
            Conflict(
                "That person was merged into another; ask about the survivor.",
                slug="person-merged",
            ),
            action="consent.decision",
            resource="decision",
            person_id=person_id,
            person_ref=req.person,
        )


PersonIds = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=64)]],
    Query(min_length=1, max_length=MAX_REVISION_PERSONS),
]


@router.get("/revision", response_model=RevisionOut)
def get_revision(user: ServiceCaller, session: SessionDep, person_id: PersonIds) -> RevisionOut:
    """How current the policy state is, overall and for each person asked (P6). Several
    persons in one call, so a service checking many reads at once asks once."""
    return RevisionOut(**revision.for_persons(session, person_id))
